//! Transparency-log and certificate attacks against `hallmark verify IMAGE@DIGEST` on the
//! local stack (issue 10): each attack is denied (exit 1, `decision: deny`) with a reason
//! that names it, and the same attestation without the tampering passes.
//!
//! Every image is pushed twice (the same digest in two repositories): the genuine
//! attestation goes beside the first copy, the tampered one beside the others, so the
//! pass and the deny are about the same image and the same logged signature.
//!
//! 1. A forged signed entry timestamp (SET): the legacy `.att` layer's
//!    `dev.sigstore.cosign/bundle` annotation, and a referrer bundle's `inclusionPromise`
//!    (that bundle keeps its valid inclusion proof: a SET that is present must verify).
//! 2. A corrupted inclusion proof in a referrer bundle: one of its hashes, and its root
//!    hash (the SET still verifies).
//! 3. A checkpoint signed by another key: under the log's name and key hint, and under
//!    the other key's own hint.
//! 4. An expired certificate: a leaf certificate minted with the stack's Fulcio CA key
//!    (and an SCT signed with the CT log's key) whose `notAfter` is before the Rekor
//!    integrated time of its signature.
//! 5. No SCT: a certificate minted without the embedded SCT extension is denied, and
//!    passes with `--insecure-ignore-sct`; so is one whose SCT names the stack's CT log
//!    but is signed by another key. A Fulcio certificate (with its SCT from the stack's
//!    CT log) and a minted one with an SCT signed by the CT log's key pass without it.
//!
//! And one found while writing these: an expired certificate's bundle with its SET
//! dropped and its integrated time moved back into the validity (the inclusion proof
//! does not cover the time) has no verified signing time.
//!
//! Needs the stack (`eval "$(tests/stack/env)"`). Without it the test says so and returns,
//! unless `HALLMARK_REQUIRE_STACK=1` (set by `tests/run stack`), where it fails.
#![allow(clippy::panic)] // Tests report failures by panicking.

mod support;

use std::path::Path;
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use der::Decode as _;
use hallmark::bundle::TransparencyLogEntry;
use hallmark::dsse::IN_TOTO_PAYLOAD_TYPE;
use hallmark::oci::{ImageRef, RegistryClient, RegistryOptions};
use hallmark::publish::{Attestation, BundleFormat, Material, OciSink, publish};
use hallmark::rekor::RekorClient;
use hallmark::rekor::upload::{
    DsseEntryKind, SignerMaterial, legacy_bundle_annotation, upload_dsse,
};
use hallmark::signing::{LocalSigner, PublicKey, Signer as _, sign_envelope};
use hallmark::transparency::TlogOptions;
use hallmark::trust::TrustedRoot;
use support::peers::{ok, run, stdout};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;
/// The identity of the certificates minted here.
const EMAIL: &str = "attacker-tests@hallmark.test";

struct Stack {
    registry: String,
    referrers: String,
    rekor: String,
    trusted_root: String,
    crane: String,
    oidc_issuer: String,
    fulcio_url: String,
    fulcio_ca: String,
    fulcio_ca_key: String,
    mint_token: String,
    ctlog_pubkey: String,
    ctlog_key: String,
}

fn stack() -> Option<Stack> {
    let var = |n: &str| std::env::var(n).ok().filter(|v| !v.is_empty());
    let s = (|| {
        Some(Stack {
            registry: var("HALLMARK_STACK_REGISTRY")?,
            referrers: var("HALLMARK_STACK_REGISTRY_REFERRERS")?,
            rekor: var("HALLMARK_STACK_REKOR_URL")?,
            trusted_root: var("HALLMARK_STACK_TRUSTED_ROOT")?,
            crane: var("HALLMARK_STACK_CRANE")?,
            oidc_issuer: var("HALLMARK_STACK_OIDC_ISSUER")?,
            fulcio_url: var("HALLMARK_STACK_FULCIO_URL")?,
            fulcio_ca: var("HALLMARK_STACK_FULCIO_CA")?,
            fulcio_ca_key: var("HALLMARK_STACK_FULCIO_CA_KEY")?,
            mint_token: var("HALLMARK_STACK_MINT_TOKEN")?,
            ctlog_pubkey: var("HALLMARK_STACK_CTLOG_PUBKEY")?,
            ctlog_key: var("HALLMARK_STACK_CTLOG_KEY")?,
        })
    })();
    if s.is_none() {
        assert!(
            std::env::var("HALLMARK_REQUIRE_STACK").as_deref() != Ok("1"),
            "HALLMARK_REQUIRE_STACK=1 but the stack's env is not set (eval \"$(tests/stack/env)\")"
        );
        eprintln!("stack_attacks_log: skipped, no stack (eval \"$(tests/stack/env)\" to run it)");
    }
    s
}

fn unique() -> String {
    format!(
        "{}-{}",
        std::process::id(),
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default()
    )
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("tokio: {e}"))
}

/// A new random image in `registry/hallmark-attacks-log/NAME`, copied (same digest) into
/// `NAME-COPY` for each of `copies`: the genuine reference first, then the copies.
fn images(s: &Stack, dir: &Path, registry: &str, name: &str, copies: &[&str]) -> Vec<ImageRef> {
    let tag = unique();
    let file = format!("{name}.bin");
    std::fs::write(dir.join(&file), format!("{name} {tag}\n").repeat(64))
        .unwrap_or_else(|e| panic!("{e}"));
    let tar = format!("{name}.tar");
    ok(&run(dir, "tar", &["-cf", &tar, &file], &[]), "tar");
    let repo = format!("{registry}/hallmark-attacks-log/{name}");
    let tagged = format!("{repo}:{tag}");
    ok(
        &run(dir, &s.crane, &["append", "-f", &tar, "-t", &tagged], &[]),
        "crane append",
    );
    let out = run(dir, &s.crane, &["digest", &tagged], &[]);
    ok(&out, "crane digest");
    let digest = stdout(&out);
    let mut refs = vec![format!("{repo}@{digest}")];
    for copy in copies {
        let to = format!("{repo}-{copy}:{tag}");
        ok(
            &run(dir, &s.crane, &["copy", &refs[0], &to], &[]),
            "crane copy",
        );
        refs.push(format!("{repo}-{copy}@{digest}"));
    }
    refs.iter()
        .map(|r| ImageRef::parse(r).unwrap_or_else(|e| panic!("{r}: {e}")))
        .collect()
}

/// An in-toto Statement v0.1 (SLSA v0.2 provenance) about `image`.
fn statement(image: &ImageRef) -> Vec<u8> {
    serde_json::json!({
        "_type": "https://in-toto.io/Statement/v0.1",
        "subject": [{"name": image.repository.to_string(), "digest": {"sha256": image.digest.hex()}}],
        "predicateType": "https://slsa.dev/provenance/v0.2",
        "predicate": {"builder": {"id": "https://hallmark.test/stack-attacks-log"},
                      "buildType": "https://hallmark.test/v1",
                      "invocation": {"parameters": {"nonce": unique()}},
                      "materials": []}
    })
    .to_string()
    .into_bytes()
}

/// Sign a statement about `image` with `signer`, log it in Rekor v1 (`dsse` 0.0.1) and
/// return the attestation as `hallmark attest` would publish it.
fn logged_attestation(
    s: &Stack,
    trust: &TrustedRoot,
    image: &ImageRef,
    signer: &LocalSigner,
    certificate: Option<&[u8]>,
) -> Attestation {
    let envelope = sign_envelope(signer, IN_TOTO_PAYLOAD_TYPE, &statement(image))
        .unwrap_or_else(|e| panic!("sign: {e}"));
    let (material, signer_material) = match certificate {
        Some(der) => (
            Material::Certificates(vec![der.to_vec()]),
            SignerMaterial::certificate(der).unwrap_or_else(|e| panic!("{e}")),
        ),
        None => (
            Material::Key,
            SignerMaterial::Key(signer.public_key().clone()),
        ),
    };
    let rekor =
        RekorClient::new(&s.rekor, Duration::from_secs(60)).unwrap_or_else(|e| panic!("{e}"));
    let logged = runtime()
        .block_on(upload_dsse(
            &rekor,
            &envelope.to_json(),
            &signer_material,
            DsseEntryKind::Dsse,
            trust,
        ))
        .unwrap_or_else(|e| panic!("upload to Rekor v1: {e}"));
    Attestation {
        envelope,
        predicate_type: "https://slsa.dev/provenance/v0.2".into(),
        material,
        rekor_annotation: Some(
            legacy_bundle_annotation(&logged.entry).unwrap_or_else(|e| panic!("{e}")),
        ),
        tlog_entries: vec![logged.entry],
        timestamps: Vec::new(),
    }
}

/// Publish `attestation` beside `image` in the layouts of `format`.
fn attach(attestation: &Attestation, image: &ImageRef, format: BundleFormat) {
    let registry =
        RegistryClient::new(RegistryOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    let sink = OciSink {
        format,
        repository: None,
    };
    let results = runtime().block_on(publish(
        &registry,
        attestation,
        std::slice::from_ref(image),
        &sink,
    ));
    assert!(!results.is_empty(), "nothing published for {image}");
    for r in results {
        r.outcome
            .unwrap_or_else(|e| panic!("publishing to {image} ({}): {e}", r.sink));
    }
}

/// `hallmark verify IMAGE -o json` with the stack's trusted root: exit code and report.
fn verify(dir: &Path, s: &Stack, image: &ImageRef, args: &[&str]) -> (i32, serde_json::Value) {
    let image = image.to_string();
    let mut all = vec![
        "verify",
        image.as_str(),
        "--trusted-root",
        &s.trusted_root,
        "--type",
        "slsaprovenance",
        "-o",
        "json",
    ];
    all.extend_from_slice(args);
    let out = run(dir, env!("CARGO_BIN_EXE_hallmark"), &all, &[]);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "hallmark verify {image}: no JSON report ({e}):\n{}\n{}",
            stdout(&out),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    eprintln!(
        "hallmark verify {image} {args:?}: exit {:?}, {}",
        out.status.code(),
        report["reasons"]
    );
    (out.status.code().unwrap_or(-1), report)
}

fn assert_pass(what: &str, (code, report): &(i32, serde_json::Value)) {
    assert_eq!(
        (*code, report["decision"].as_str()),
        (0, Some("pass")),
        "{what}: the genuine attestation must pass:\n{report:#}"
    );
}

/// Exit 1, `decision: deny`, and a reason whose `check` is `check` and whose message
/// holds every one of `words` (case-insensitive).
fn assert_denied(
    what: &str,
    (code, report): &(i32, serde_json::Value),
    check: &str,
    words: &[&str],
) {
    assert_eq!(
        (*code, report["decision"].as_str()),
        (1, Some("deny")),
        "{what}: must be denied:\n{report:#}"
    );
    let reasons = report["reasons"].as_array().cloned().unwrap_or_default();
    let named = reasons.iter().any(|r| {
        let message = r["message"].as_str().unwrap_or_default().to_lowercase();
        r["check"].as_str() == Some(check)
            && words.iter().all(|w| message.contains(&w.to_lowercase()))
    });
    assert!(
        named,
        "{what}: no reason with check `{check}` naming {words:?}:\n{report:#}"
    );
}

/// A well-formed signature by a key that is not the log's, over the SET payload of `entry`.
fn forged_set(entry: &TransparencyLogEntry) -> Vec<u8> {
    let forger = LocalSigner::generate_p256().unwrap_or_else(|e| panic!("{e}"));
    let payload = hallmark::transparency::set::set_payload(
        &entry.canonicalized_body,
        entry.integrated_time,
        &entry.log_id.key_id,
        entry.log_index,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    forger.sign(&payload).unwrap_or_else(|e| panic!("{e}"))
}

/// Whether `entry` verifies against `trust` with only its SET (`proof: false`) or only its
/// inclusion proof and checkpoint (`proof: true`).
fn verifies_alone(entry: &TransparencyLogEntry, trust: &TrustedRoot, proof: bool) -> bool {
    let mut e = entry.clone();
    if proof {
        e.inclusion_promise = None;
    } else {
        e.inclusion_proof = None;
    }
    hallmark::transparency::verify_tlog_entry(&e, trust, &TlogOptions::default()).is_ok()
}

fn entry_mut(a: &mut Attestation) -> &mut TransparencyLogEntry {
    a.tlog_entries
        .first_mut()
        .unwrap_or_else(|| panic!("the attestation has no log entry"))
}

#[test]
fn forged_signed_entry_timestamp_is_denied() {
    let Some(s) = stack() else { return };
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let dir = tmp.path();
    let trust =
        TrustedRoot::from_file(Path::new(&s.trusted_root)).unwrap_or_else(|e| panic!("{e}"));
    let signer = LocalSigner::generate_p256().unwrap_or_else(|e| panic!("{e}"));
    let key = dir.join("key.pub");
    std::fs::write(&key, signer.public_key().to_pem()).unwrap_or_else(|e| panic!("{e}"));
    let key_args = ["--key", key.to_str().unwrap_or_default()];

    // The legacy `.att` layer (registry without the referrers API).
    let refs = images(&s, dir, &s.registry, "set-legacy", &["tampered"]);
    let genuine = logged_attestation(&s, &trust, &refs[0], &signer, None);
    attach(&genuine, &refs[0], BundleFormat::Legacy);
    assert_pass("legacy .att", &verify(dir, &s, &refs[0], &key_args));
    let mut forged = genuine.clone();
    let annotation = forged.rekor_annotation.clone().unwrap_or_default();
    let mut rekor_bundle: serde_json::Value =
        serde_json::from_str(&annotation).unwrap_or_else(|e| panic!("{e}"));
    let original = rekor_bundle["SignedEntryTimestamp"].clone();
    rekor_bundle["SignedEntryTimestamp"] = B64.encode(forged_set(&genuine.tlog_entries[0])).into();
    assert_ne!(rekor_bundle["SignedEntryTimestamp"], original);
    forged.rekor_annotation = Some(rekor_bundle.to_string());
    attach(&forged, &refs[1], BundleFormat::Legacy);
    assert_denied(
        "legacy .att with a forged SET",
        &verify(dir, &s, &refs[1], &key_args),
        "transparency-log",
        &["signed entry timestamp does not verify"],
    );

    // A referrer bundle (OCI 1.1 referrers API): the forged SET beside a valid inclusion
    // proof and checkpoint is still an attack.
    let refs = images(&s, dir, &s.referrers, "set-referrer", &["tampered"]);
    let genuine = logged_attestation(&s, &trust, &refs[0], &signer, None);
    attach(&genuine, &refs[0], BundleFormat::Referrers);
    assert_pass("referrer bundle", &verify(dir, &s, &refs[0], &key_args));
    let mut forged = genuine.clone();
    let entry = entry_mut(&mut forged);
    let set = forged_set(entry);
    entry
        .inclusion_promise
        .as_mut()
        .unwrap_or_else(|| panic!("Rekor v1 gave no SET"))
        .signed_entry_timestamp = set;
    assert!(
        verifies_alone(entry, &trust, true) && !verifies_alone(entry, &trust, false),
        "the tampered entry must keep a valid inclusion proof and checkpoint, with a bad SET"
    );
    attach(&forged, &refs[1], BundleFormat::Referrers);
    assert_denied(
        "referrer bundle with a forged SET and a valid inclusion proof",
        &verify(dir, &s, &refs[1], &key_args),
        "transparency-log",
        &["signed entry timestamp does not verify"],
    );
}

#[test]
fn corrupted_inclusion_proof_is_denied() {
    let Some(s) = stack() else { return };
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let dir = tmp.path();
    let trust =
        TrustedRoot::from_file(Path::new(&s.trusted_root)).unwrap_or_else(|e| panic!("{e}"));
    let signer = LocalSigner::generate_p256().unwrap_or_else(|e| panic!("{e}"));
    let key = dir.join("key.pub");
    std::fs::write(&key, signer.public_key().to_pem()).unwrap_or_else(|e| panic!("{e}"));
    let key_args = ["--key", key.to_str().unwrap_or_default()];

    let refs = images(&s, dir, &s.referrers, "proof", &["hash", "root"]);
    let genuine = logged_attestation(&s, &trust, &refs[0], &signer, None);
    attach(&genuine, &refs[0], BundleFormat::Referrers);
    assert_pass("referrer bundle", &verify(dir, &s, &refs[0], &key_args));

    // One hash of the audit path flipped (the SET still verifies).
    let mut tampered = genuine.clone();
    let proof = entry_mut(&mut tampered)
        .inclusion_proof
        .as_mut()
        .unwrap_or_else(|| panic!("Rekor v1 gave no inclusion proof"));
    let hash = proof.hashes.first_mut().unwrap_or_else(|| {
        panic!("the inclusion proof has no hashes (a one-entry log?): cannot corrupt one")
    });
    hash[0] ^= 0x01;
    assert!(
        verifies_alone(&tampered.tlog_entries[0], &trust, false),
        "the SET must still verify"
    );
    attach(&tampered, &refs[1], BundleFormat::Referrers);
    assert_denied(
        "inclusion proof with a flipped hash",
        &verify(dir, &s, &refs[1], &key_args),
        "transparency-log",
        &["inclusion proof"],
    );

    // The proof's root hash flipped (and nothing else).
    let mut tampered = genuine.clone();
    let proof = entry_mut(&mut tampered)
        .inclusion_proof
        .as_mut()
        .unwrap_or_else(|| panic!("Rekor v1 gave no inclusion proof"));
    proof.root_hash[31] ^= 0x80;
    assert!(
        verifies_alone(&tampered.tlog_entries[0], &trust, false),
        "the SET must still verify"
    );
    attach(&tampered, &refs[2], BundleFormat::Referrers);
    assert_denied(
        "inclusion proof with a flipped root hash",
        &verify(dir, &s, &refs[2], &key_args),
        "transparency-log",
        &["inclusion proof"],
    );
}

/// `note` with its signature lines replaced by one line: `name`, `hint` and a signature
/// of the note's body by `key`.
fn resigned_note(note: &str, key: &LocalSigner, name: &str, hint: [u8; 4]) -> String {
    let split = note
        .rfind("\n\n")
        .unwrap_or_else(|| panic!("not a signed note: {note:?}"));
    let body = &note[..=split];
    let mut sig = hint.to_vec();
    sig.extend(key.sign(body.as_bytes()).unwrap_or_else(|e| panic!("{e}")));
    format!("{body}\n\u{2014} {name} {}\n", B64.encode(sig))
}

#[test]
fn checkpoint_signed_by_another_key_is_denied() {
    let Some(s) = stack() else { return };
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let dir = tmp.path();
    let trust =
        TrustedRoot::from_file(Path::new(&s.trusted_root)).unwrap_or_else(|e| panic!("{e}"));
    let signer = LocalSigner::generate_p256().unwrap_or_else(|e| panic!("{e}"));
    let key = dir.join("key.pub");
    std::fs::write(&key, signer.public_key().to_pem()).unwrap_or_else(|e| panic!("{e}"));
    let key_args = ["--key", key.to_str().unwrap_or_default()];

    let refs = images(
        &s,
        dir,
        &s.referrers,
        "checkpoint",
        &["same-hint", "own-hint"],
    );
    let genuine = logged_attestation(&s, &trust, &refs[0], &signer, None);
    attach(&genuine, &refs[0], BundleFormat::Referrers);
    assert_pass("referrer bundle", &verify(dir, &s, &refs[0], &key_args));

    let note = genuine.tlog_entries[0]
        .inclusion_proof
        .as_ref()
        .map(|p| p.checkpoint.envelope.clone())
        .unwrap_or_else(|| panic!("Rekor v1 gave no inclusion proof"));
    let parsed = hallmark::transparency::SignedCheckpoint::parse(&note)
        .unwrap_or_else(|e| panic!("the log's checkpoint: {e}"));
    let line = parsed
        .signatures
        .first()
        .unwrap_or_else(|| panic!("the checkpoint has no signature"));
    let log_id = &genuine.tlog_entries[0].log_id.key_id;
    assert_eq!(
        line.key_hint.as_slice(),
        &log_id[..4],
        "Rekor v1's key hint"
    );
    let other = LocalSigner::generate_p256().unwrap_or_else(|e| panic!("{e}"));
    let own_hint = hallmark::transparency::checkpoint::key_hint(&line.name, other.public_key());
    for (image, hint, what) in [
        (&refs[1], line.key_hint, "the log's name and key hint"),
        (
            &refs[2],
            own_hint,
            "the log's name and the other key's hint",
        ),
    ] {
        let mut tampered = genuine.clone();
        let forged = resigned_note(&note, &other, &line.name, hint);
        assert_ne!(forged, note);
        entry_mut(&mut tampered)
            .inclusion_proof
            .as_mut()
            .unwrap_or_else(|| panic!("no inclusion proof"))
            .checkpoint
            .envelope = forged;
        attach(&tampered, image, BundleFormat::Referrers);
        assert_denied(
            &format!("checkpoint signed by another key under {what}"),
            &verify(dir, &s, image, &key_args),
            "transparency-log",
            &["checkpoint signature"],
        );
    }
}

fn der(v: &impl der::Encode) -> Vec<u8> {
    v.to_der().unwrap_or_else(|e| panic!("DER: {e}"))
}

/// The embedded SCT list (RFC 6962 §3.3) of one SCT for the precertificate `tbs` issued
/// by `ca`, naming the stack's CT log (its log id) and signed by `signer` (§3.2).
fn sct_list(s: &Stack, ca: &x509_cert::Certificate, tbs: &[u8], signer: &LocalSigner) -> Vec<u8> {
    use sha2::Digest as _;
    let pem = std::fs::read_to_string(&s.ctlog_pubkey).unwrap_or_else(|e| panic!("{e}"));
    let (_, spki) = pem_rfc7468::decode_vec(pem.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
    let log_id = sha2::Sha256::digest(&spki);
    let issuer_key_hash = sha2::Sha256::digest(der(&ca.tbs_certificate.subject_public_key_info));
    let ms = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or_default())
        .unwrap_or_default()
        .to_be_bytes();
    let len = |n: usize, width: usize| {
        u32::try_from(n)
            .unwrap_or_else(|e| panic!("{e}"))
            .to_be_bytes()[4 - width..]
            .to_vec()
    };
    // version v1, certificate_timestamp, timestamp, precert_entry, issuer key hash,
    // TBSCertificate<1..2^24-1>, no extensions.
    let mut signed = vec![0, 0];
    signed.extend(ms);
    signed.extend([0, 1]);
    signed.extend(issuer_key_hash);
    signed.extend(len(tbs.len(), 3));
    signed.extend(tbs);
    signed.extend([0, 0]);
    let signature = signer.sign(&signed).unwrap_or_else(|e| panic!("{e}"));
    // version, log id, timestamp, no extensions, sha256 + ecdsa, signature<0..2^16-1>.
    let mut sct = vec![0];
    sct.extend(log_id);
    sct.extend(ms);
    sct.extend([0, 0, 4, 3]);
    sct.extend(len(signature.len(), 2));
    sct.extend(signature);
    let mut entry = len(sct.len(), 2);
    entry.extend(sct);
    let mut list = len(entry.len(), 2);
    list.extend(entry);
    list
}

/// A Fulcio-like leaf certificate for `key`, issued by the stack's Fulcio CA: empty
/// subject, critical email SAN [`EMAIL`], digitalSignature, codeSigning, the OIDC issuer
/// extensions (`1.3.6.1.4.1.57264.1.1` raw, `.1.8` UTF8String); with an embedded SCT
/// signed by `sct` under the stack's CT log id, or none.
fn mint_certificate(
    s: &Stack,
    key: &PublicKey,
    not_before: SystemTime,
    not_after: SystemTime,
    sct: Option<&LocalSigner>,
) -> Vec<u8> {
    use const_oid::ObjectIdentifier;
    use const_oid::db::rfc5280::{
        ID_CE_EXT_KEY_USAGE, ID_CE_KEY_USAGE, ID_CE_SUBJECT_ALT_NAME, ID_KP_CODE_SIGNING,
    };
    use der::asn1::{BitString, Ia5String, OctetString, Utf8StringRef};
    use x509_cert::ext::Extension;
    use x509_cert::ext::pkix::name::GeneralName;
    use x509_cert::ext::pkix::{ExtendedKeyUsage, KeyUsage, KeyUsages, SubjectAltName};

    let ca_pem = std::fs::read_to_string(&s.fulcio_ca).unwrap_or_else(|e| panic!("{e}"));
    let (_, ca_der) =
        pem_rfc7468::decode_vec(ca_pem.as_bytes()).unwrap_or_else(|e| panic!("CA PEM: {e}"));
    let ca = x509_cert::Certificate::from_der(&ca_der).unwrap_or_else(|e| panic!("CA: {e}"));
    let ca_key = LocalSigner::from_pem(
        &std::fs::read(&s.fulcio_ca_key).unwrap_or_else(|e| panic!("{e}")),
        None,
    )
    .unwrap_or_else(|e| panic!("CA key: {e}"));
    let ext = |oid: ObjectIdentifier, critical: bool, value: Vec<u8>| Extension {
        extn_id: oid,
        critical,
        extn_value: OctetString::new(value).unwrap_or_else(|e| panic!("{e}")),
    };
    let san = SubjectAltName(vec![GeneralName::Rfc822Name(
        Ia5String::new(EMAIL).unwrap_or_else(|e| panic!("{e}")),
    )]);
    let issuer_v2 = Utf8StringRef::new(&s.oidc_issuer).unwrap_or_else(|e| panic!("{e}"));
    let extensions = vec![
        ext(
            ID_CE_KEY_USAGE,
            true,
            der(&KeyUsage(KeyUsages::DigitalSignature.into())),
        ),
        ext(
            ID_CE_EXT_KEY_USAGE,
            false,
            der(&ExtendedKeyUsage(vec![ID_KP_CODE_SIGNING])),
        ),
        ext(ID_CE_SUBJECT_ALT_NAME, true, der(&san)),
        ext(
            ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.1"),
            false,
            s.oidc_issuer.as_bytes().to_vec(),
        ),
        ext(
            ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.8"),
            false,
            der(&issuer_v2),
        ),
    ];
    let ecdsa_sha256 = spki::AlgorithmIdentifierOwned {
        oid: const_oid::db::rfc5912::ECDSA_WITH_SHA_256,
        parameters: None,
    };
    let serial = {
        let n = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let mut bytes = n.to_be_bytes().to_vec();
        bytes[0] = 0x01;
        x509_cert::serial_number::SerialNumber::new(&bytes).unwrap_or_else(|e| panic!("{e}"))
    };
    let time = |t: SystemTime| x509_cert::time::Time::try_from(t).unwrap_or_else(|e| panic!("{e}"));
    let mut tbs = x509_cert::TbsCertificate {
        version: x509_cert::Version::V3,
        serial_number: serial,
        signature: ecdsa_sha256.clone(),
        issuer: ca.tbs_certificate.subject.clone(),
        validity: x509_cert::time::Validity {
            not_before: time(not_before),
            not_after: time(not_after),
        },
        subject: x509_cert::name::Name::default(),
        subject_public_key_info: spki::SubjectPublicKeyInfoOwned::from_der(key.spki_der())
            .unwrap_or_else(|e| panic!("{e}")),
        issuer_unique_id: None,
        subject_unique_id: None,
        extensions: Some(extensions),
    };
    if let Some(signer) = sct {
        let list = sct_list(s, &ca, &der(&tbs), signer);
        let value = der(&OctetString::new(list).unwrap_or_else(|e| panic!("{e}")));
        if let Some(exts) = tbs.extensions.as_mut() {
            exts.push(ext(
                ObjectIdentifier::new_unwrap("1.3.6.1.4.1.11129.2.4.2"),
                false,
                value,
            ));
        }
    }
    let signature = ca_key
        .sign(&der(&tbs))
        .unwrap_or_else(|e| panic!("signing the certificate: {e}"));
    der(&x509_cert::Certificate {
        tbs_certificate: tbs,
        signature_algorithm: ecdsa_sha256,
        signature: BitString::from_bytes(&signature).unwrap_or_else(|e| panic!("{e}")),
    })
}

/// The stack's CT log key (signs SCTs that verify).
fn ct_log_signer(s: &Stack) -> LocalSigner {
    LocalSigner::from_pem(
        &std::fs::read(&s.ctlog_key).unwrap_or_else(|e| panic!("{e}")),
        None,
    )
    .unwrap_or_else(|e| panic!("CT log key: {e}"))
}

/// A keyless attestation about `image`, signed with a fresh key certified by
/// [`mint_certificate`] for `validity` (with an SCT signed by `sct`, or none), logged in
/// Rekor v1.
fn minted_attestation(
    s: &Stack,
    trust: &TrustedRoot,
    image: &ImageRef,
    (not_before, not_after): (SystemTime, SystemTime),
    sct: Option<&LocalSigner>,
) -> Attestation {
    let signer = LocalSigner::generate_p256()
        .unwrap_or_else(|e| panic!("{e}"))
        .with_key_id("");
    let cert = mint_certificate(s, signer.public_key(), not_before, not_after, sct);
    logged_attestation(s, trust, image, &signer, Some(&cert))
}

#[test]
fn expired_certificate_is_denied() {
    let Some(s) = stack() else { return };
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let dir = tmp.path();
    let trust =
        TrustedRoot::from_file(Path::new(&s.trusted_root)).unwrap_or_else(|e| panic!("{e}"));
    // Every check on: the minted certificates carry an SCT signed by the CT log's key.
    let args = [
        "--certificate-identity",
        EMAIL,
        "--certificate-oidc-issuer",
        &s.oidc_issuer,
    ];
    let log = ct_log_signer(&s);
    let refs = images(
        &s,
        dir,
        &s.referrers,
        "expired-cert",
        &["expired", "backdated"],
    );
    let now = SystemTime::now();
    let minute = Duration::from_secs(60);
    let valid = minted_attestation(
        &s,
        &trust,
        &refs[0],
        (now - minute, now + 10 * minute),
        Some(&log),
    );
    attach(&valid, &refs[0], BundleFormat::Both);
    assert_pass(
        "a certificate valid at its signing time",
        &verify(dir, &s, &refs[0], &args),
    );
    // Valid for ten minutes, ending a minute ago: Rekor v1 logs it now, so the signing
    // time (the integrated time) is after notAfter.
    let expired = minted_attestation(
        &s,
        &trust,
        &refs[1],
        (now - 11 * minute, now - minute),
        Some(&log),
    );
    let integrated = expired.tlog_entries[0].integrated_time;
    let not_after = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
        - 60;
    assert!(
        u64::try_from(integrated).unwrap_or_default() > not_after,
        "integrated time {integrated} must be after notAfter {not_after}"
    );
    attach(&expired, &refs[1], BundleFormat::Both);
    assert_denied(
        "a certificate expired before its signing time",
        &verify(dir, &s, &refs[1], &args),
        "certificate",
        &["expired"],
    );

    // The same bundle with its integrated time moved back into the certificate's
    // validity and the SET that signs that time dropped: the inclusion proof and its
    // checkpoint still verify, but they do not cover the integrated time, so there is no
    // verified signing time left (as sigstore-go: only a SET makes the time trusted).
    let mut backdated = expired.clone();
    let entry = entry_mut(&mut backdated);
    entry.integrated_time = i64::try_from(not_after).unwrap_or_default() - 30;
    entry.inclusion_promise = None;
    assert!(
        verifies_alone(entry, &trust, true),
        "the inclusion proof must still verify"
    );
    attach(&backdated, &refs[2], BundleFormat::Referrers);
    assert_denied(
        "an expired certificate with a backdated integrated time and no SET",
        &verify(dir, &s, &refs[2], &args),
        "timestamp",
        &[
            "no verified signing time",
            "integrated time signed by its SET",
        ],
    );
}

#[test]
fn certificate_without_sct_is_denied() {
    let Some(s) = stack() else { return };
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let dir = tmp.path();
    let trust =
        TrustedRoot::from_file(Path::new(&s.trusted_root)).unwrap_or_else(|e| panic!("{e}"));
    let refs = images(
        &s,
        dir,
        &s.referrers,
        "sct",
        &["ct-signed", "none", "forged"],
    );

    // Genuine: a Fulcio certificate, with its SCT from the stack's CT log.
    let out = run(dir, &s.mint_token, &[EMAIL], &[]);
    ok(&out, "mint-token");
    let token = stdout(&out);
    std::fs::write(dir.join("predicate.json"), br#"{"builder":{"id":"https://hallmark.test/stack-attacks-log"},"buildType":"https://hallmark.test/v1","invocation":{},"materials":[]}"#)
        .unwrap_or_else(|e| panic!("{e}"));
    let genuine = refs[0].to_string();
    ok(
        &run(
            dir,
            env!("CARGO_BIN_EXE_hallmark"),
            &[
                "attest",
                &genuine,
                "--predicate",
                "predicate.json",
                "--type",
                "slsaprovenance",
                "--keyless",
                "--identity-token",
                &token,
                "--fulcio-url",
                &s.fulcio_url,
                "--trusted-root",
                &s.trusted_root,
                "--rekor-url",
                &s.rekor,
                "--bundle-format",
                "referrers",
            ],
            &[],
        ),
        "hallmark attest --keyless",
    );
    let identity = [
        "--certificate-identity",
        EMAIL,
        "--certificate-oidc-issuer",
        &s.oidc_issuer,
    ];
    assert_pass(
        "a Fulcio certificate with its SCT",
        &verify(dir, &s, &refs[0], &identity),
    );

    // Certificates minted by the same CA, valid at signing time. With an SCT signed by
    // the CT log's own key: passes (the minted SCT is well formed; a control for the next).
    let now = SystemTime::now();
    let validity = (
        now - Duration::from_secs(60),
        now + Duration::from_secs(600),
    );
    let log = ct_log_signer(&s);
    let logged = minted_attestation(&s, &trust, &refs[1], validity, Some(&log));
    attach(&logged, &refs[1], BundleFormat::Referrers);
    assert_pass(
        "a minted certificate with an SCT from the CT log",
        &verify(dir, &s, &refs[1], &identity),
    );

    let mut lax = identity.to_vec();
    lax.push("--insecure-ignore-sct");
    // Without the SCT extension: denied, and passes only with --insecure-ignore-sct.
    let none = minted_attestation(&s, &trust, &refs[2], validity, None);
    attach(&none, &refs[2], BundleFormat::Both);
    assert_denied(
        "a certificate without an SCT",
        &verify(dir, &s, &refs[2], &identity),
        "sct",
        &["no embedded signed certificate timestamps"],
    );
    assert_pass(
        "the same certificate with --insecure-ignore-sct",
        &verify(dir, &s, &refs[2], &lax),
    );

    // An SCT under the CT log's id signed by another key: the log is known (0 unknown
    // logs), its signature does not verify.
    let forger = LocalSigner::generate_p256().unwrap_or_else(|e| panic!("{e}"));
    let forged = minted_attestation(&s, &trust, &refs[3], validity, Some(&forger));
    attach(&forged, &refs[3], BundleFormat::Both);
    assert_denied(
        "a certificate whose SCT another key signed",
        &verify(dir, &s, &refs[3], &identity),
        "sct",
        &[
            "no signed certificate timestamp verifies",
            "0 from unknown logs",
        ],
    );
    assert_pass(
        "the same certificate with --insecure-ignore-sct",
        &verify(dir, &s, &refs[3], &lax),
    );
}
