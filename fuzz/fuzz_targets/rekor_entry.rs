//! Fuzz the Rekor entry body parser (hashedrekord, dsse, intoto) and Rekor's API answers
//! (v1 log entries with their proofs and stored attestations, search results, 409
//! answers; v2 protojson log entries and tile entry bundles): any bytes either parse or
//! give an error, never panic; what parses reports its kind, and the Merkle leaf hash and
//! SET payload of the bytes can always be computed.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(entries) = hallmark::rekor::parse_entries(data) {
        for (_, e) in entries {
            assert!(!e.kind_version.kind.is_empty() || !e.canonicalized_body.is_empty());
        }
    }
    if let Ok(entries) = hallmark::rekor::parse_entries_with_attestations(data) {
        // The same entries as without their attestations.
        let plain = hallmark::rekor::parse_entries(data).map(|v| v.len()).ok();
        assert_eq!(plain, Some(entries.len()));
    }
    if let Ok(uuids) = hallmark::rekor::parse_uuids(data) {
        assert!(uuids.len() <= hallmark::rekor::MAX_SEARCH_RESULTS);
    }
    if let Ok(e) = hallmark::rekor::v2::parse_entry(data) {
        assert!(e.inclusion_proof.is_some() && !e.canonicalized_body.is_empty());
    }
    let text = String::from_utf8_lossy(data);
    if let Some(uuid) = hallmark::rekor::upload::conflict_uuid(Some(&text), data) {
        assert!(!uuid.is_empty() && uuid.len() <= 80);
    }
    let _ = hallmark::rekor::v2::conflict_index(&text);
    if let Ok(entries) = hallmark::rekor::tiles::parse_entry_bundle(data) {
        assert!(entries.iter().map(|e| e.len() + 2).sum::<usize>() == data.len());
    }
    let _ = hallmark::transparency::merkle::leaf_hash(data);
    let _ = hallmark::transparency::set::set_payload(data, 1, &[0xc0], 1);
    let Ok(body) = hallmark::transparency::EntryBody::from_canonical_json(data) else {
        return;
    };
    let (kind, version) = body.kind_version();
    assert!(!kind.is_empty() && !version.is_empty());
});
