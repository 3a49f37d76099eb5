//! Fuzz what hallmark reads from registries: image manifests, image indexes (referrers
//! answers and fallback tags), tag lists and their `Link` headers, image references, and
//! cosign's legacy `.att` layers (a DSSE envelope blob with the Rekor bundle and
//! certificate annotations). Any bytes parse or
//! give an error, never a panic; what parses keeps its invariants.
#![no_main]

use std::collections::BTreeMap;

use hallmark::oci::manifest::{
    ANNOTATION_BUNDLE, ANNOTATION_CERTIFICATE, ANNOTATION_CHAIN, Descriptor, ImageIndex,
    ImageManifest,
};
use hallmark::oci::{ImageRef, cosign};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = ImageManifest::from_json("fuzz", data) {
        assert_eq!(m.schema_version, 2);
        for l in &m.layers {
            let _ = l.sha256();
            let _ = l.size_within(1 << 20);
        }
    }
    if let Ok(i) = ImageIndex::from_json("fuzz", data) {
        assert_eq!(i.schema_version, 2);
    }
    if let Ok(tags) = hallmark::oci::client::parse_tags_list("fuzz", data) {
        // Only valid tag names come out (they are put into URLs).
        assert!(tags.iter().all(|t| hallmark::oci::client::is_valid_tag(t)));
        for t in &tags {
            if let Some(d) = hallmark::verify::latest::tag_digest(t) {
                assert!(t.contains(d.hex()));
            }
        }
    }
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Some(next) = hallmark::oci::client::next_link(text) {
        assert!(text.contains(&next));
    }
    if let Ok(r) = ImageRef::parse(text) {
        // What parses prints back to a reference that parses to the same value.
        assert_eq!(ImageRef::parse(&r.to_string()).ok(), Some(r));
    }
    // Split the input into an envelope and three annotations.
    let mut parts = text.splitn(4, '\u{1}');
    let blob = parts.next().unwrap_or_default();
    let mut annotations = BTreeMap::new();
    for key in [ANNOTATION_BUNDLE, ANNOTATION_CERTIFICATE, ANNOTATION_CHAIN] {
        if let Some(v) = parts.next() {
            annotations.insert(key.to_owned(), v.to_owned());
        }
    }
    let layer = Descriptor {
        media_type: "application/vnd.dsse.envelope.v1+json".into(),
        digest: format!("sha256:{}", "00".repeat(32)),
        size: 0,
        artifact_type: None,
        annotations,
    };
    if let Ok(b) = cosign::legacy_layer_bundle(&layer, blob.as_bytes()) {
        assert!(b.dsse_envelope.is_some());
        assert!(b.verification_material.is_some());
    }
});
