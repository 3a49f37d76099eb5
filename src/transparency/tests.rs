//! Tests of [`verify_tlog_entry`] and [`EntryBody::check_bundle`] on real bundles: the
//! sigstore-conformance `bundle-verify` cases and a cosign v3 bundle.
#![allow(clippy::panic)] // Tests report failures by panicking.

use std::path::Path;

use super::*;
use crate::bundle::{Bundle, BundleVersion};
use crate::signing::PublicKey;
use crate::test_support::shared_dir;

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
}

/// A fixed "now" after every fixture was logged.
fn now() -> Timestamp {
    ts("2026-11-01T00:00:00Z")
}

fn public_good() -> TrustedRoot {
    TrustedRoot::from_file(&shared_dir().join("sigstore-trust/public-good.trusted_root.json"))
        .unwrap_or_else(|e| panic!("{e}"))
}

struct Case {
    bundle: Bundle,
    root: TrustedRoot,
    key: Option<PublicKey>,
}

fn case(dir: &Path) -> Option<Case> {
    let bundle = Bundle::from_json(&std::fs::read(dir.join("bundle.sigstore.json")).ok()?).ok()?;
    let root_path = dir.join("trusted_root.json");
    let root = if root_path.exists() {
        TrustedRoot::from_file(&root_path).unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
    } else {
        public_good()
    };
    let key = std::fs::read(dir.join("key.pub"))
        .ok()
        .map(|pem| PublicKey::from_pem(&pem).unwrap_or_else(|e| panic!("{e}")));
    Some(Case { bundle, root, key })
}

fn opts(b: &Bundle) -> TlogOptions {
    TlogOptions {
        now: Some(now()),
        signed_time: None,
        require_inclusion_proof: b.version().is_ok_and(|v| v >= BundleVersion::V0_2),
    }
}

/// Verify every entry of the case and match the first body with the bundle.
fn run(c: &Case) -> Result<Vec<VerifiedEntry>, TransparencyError> {
    let vm = c
        .bundle
        .material()
        .map_err(|_| TransparencyError::Missing("material"))?;
    if vm.tlog_entries.is_empty() {
        return Err(TransparencyError::Missing("entries"));
    }
    let mut out = Vec::new();
    for e in &vm.tlog_entries {
        let v = verify_tlog_entry(e, &c.root, &opts(&c.bundle))?;
        v.body.check_bundle(&c.bundle, c.key.as_ref())?;
        out.push(v);
    }
    Ok(out)
}

fn conformance(name: &str) -> Case {
    case(
        &shared_dir()
            .join("sigstore-conformance/bundle-verify")
            .join(name),
    )
    .unwrap_or_else(|| panic!("{name}: unreadable bundle"))
}

/// A case name and a test of the error it must give.
type Expected = (&'static str, fn(&TransparencyError) -> bool);

#[test]
fn conformance_cases() {
    // Cases whose failure is a transparency-log failure, with the error expected.
    let tlog_failures: &[Expected] = &[
        ("bundle-from-wrong-instance_fail", |e| {
            matches!(e, TransparencyError::Trust(TrustError::UnknownLog { .. }))
        }),
        ("checkpoint-bad-keyhint_fail", |e| {
            matches!(e, TransparencyError::CheckpointSignature)
        }),
        // Its body records a signature base64-encoded once, not twice as intoto 0.0.2 does.
        ("intoto-log-entry-mismatch_fail", |e| {
            matches!(
                e,
                TransparencyError::BodyMismatch(_) | TransparencyError::MalformedBody(_)
            )
        }),
        ("intoto-missing-inclusion-proof_fail", |e| {
            matches!(e, TransparencyError::Missing(_))
        }),
        ("invalid-inclusion-proof_fail", |e| {
            matches!(e, TransparencyError::InclusionProof(_))
        }),
        ("rekor2-checkpoint-missing-origin_fail", |e| {
            matches!(e, TransparencyError::Checkpoint(_))
        }),
        ("rekor2-checkpoint-missing-root-hash_fail", |e| {
            matches!(e, TransparencyError::Checkpoint(_))
        }),
        ("rekor2-checkpoint-no-matching-signature_fail", |e| {
            matches!(e, TransparencyError::CheckpointSignature)
        }),
        ("rekor2-no-inclusion-proof_fail", |e| {
            matches!(e, TransparencyError::Missing(_))
        }),
        ("set-invalid-signature_fail", |e| {
            matches!(e, TransparencyError::InvalidSet)
        }),
        ("wrong-hashedrekord-entry_fail", |e| {
            matches!(e, TransparencyError::BodyMismatch(_))
        }),
        ("wrong-hashedrekord-cert-and-sig_fail", |e| {
            matches!(e, TransparencyError::BodyMismatch(_))
        }),
        ("dsse-mismatch-envelope_fail", |e| {
            matches!(e, TransparencyError::BodyMismatch(_))
        }),
        ("rekor2-dsse-mismatch-envelope_fail", |e| {
            matches!(e, TransparencyError::BodyMismatch(_))
        }),
        ("message-digest-mismatch_fail", |e| {
            matches!(e, TransparencyError::BodyMismatch(_))
        }),
        ("signature-mismatch_fail", |e| {
            matches!(e, TransparencyError::BodyMismatch(_))
        }),
        ("bundle-negative-log-index_fail", |e| {
            matches!(e, TransparencyError::NegativeIndex)
        }),
        // The body's key was modified: the SET no longer covers it.
        ("incorrect-public-key_fail", |e| {
            matches!(e, TransparencyError::InvalidSet)
        }),
        // No key given for a managed-key bundle: nothing to match the entry with.
        ("managed-key-no-key_fail", |e| {
            matches!(e, TransparencyError::BodyMismatch(_))
        }),
        // The envelope's signature is not the logged one.
        ("dsse-invalid-sig_fail", |e| {
            matches!(e, TransparencyError::BodyMismatch(_))
        }),
        ("rekor2-dsse-invalid-sig_fail", |e| {
            matches!(e, TransparencyError::BodyMismatch(_))
        }),
    ];
    let dir = shared_dir().join("sigstore-conformance/bundle-verify");
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{e}"))
        .flatten()
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let (mut verified, mut rejected) = (Vec::new(), Vec::new());
    for name in &names {
        let Some(c) = case(&dir.join(name)) else {
            continue; // Not a readable bundle: the bundle reader's tests cover these.
        };
        let r = run(&c);
        if let Some((_, want)) = tlog_failures.iter().find(|(n, _)| n == name) {
            match &r {
                Err(e) if want(e) => rejected.push(name.clone()),
                other => panic!("{name}: expected a transparency failure, got {other:?}"),
            }
        } else if name.ends_with("_fail") {
            // Fails for reasons outside this module (certificate, SCT or TSA checks):
            // its log entry itself verifies.
            assert!(r.is_ok(), "{name}: {r:?}");
            verified.push(name.clone());
        } else {
            let v = r.unwrap_or_else(|e| panic!("{name}: {e} ({e:?})"));
            assert!(
                v.iter().all(|v| v.set_verified || v.checkpoint.is_some()),
                "{name}"
            );
            verified.push(name.clone());
        }
    }
    eprintln!("verified: {verified:?}\nrejected: {rejected:?}");
    assert_eq!(rejected.len(), tlog_failures.len(), "{rejected:?}");
    assert!(verified.len() >= 20, "{verified:?}");
}

#[test]
fn rekor_v1_entry_details() {
    let c = conformance("happy-path-v0.3");
    let v = run(&c).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(v.len(), 1);
    assert_eq!(v[0].log_index, 79_571_823);
    assert_eq!(
        v[0].integrated_time,
        Some(Timestamp::from_second(1_710_869_186).unwrap_or_else(|e| panic!("{e}")))
    );
    assert_eq!(v[0].log_url, "https://rekor.sigstore.dev");
    assert!(v[0].set_verified);
    let cp = v[0]
        .checkpoint
        .as_ref()
        .unwrap_or_else(|| panic!("checkpoint"));
    assert_eq!(cp.size, 75_408_393);
    assert_eq!(cp.origin, "rekor.sigstore.dev - 2605736670972794746");
    assert!(matches!(v[0].body, EntryBody::HashedRekordV001 { .. }));
}

#[test]
fn integrated_time_is_verified_only_by_the_set() {
    let c = conformance("happy-path-v0.3");
    let mut e = c
        .bundle
        .material()
        .unwrap_or_else(|e| panic!("{e}"))
        .tlog_entries[0]
        .clone();
    // Without its SET, the entry still verifies by its inclusion proof, but the proof
    // does not cover the integrated time: it is no verified time, whatever it says.
    e.inclusion_promise = None;
    e.integrated_time -= 3600;
    let v = verify_tlog_entry(&e, &c.root, &opts(&c.bundle)).unwrap_or_else(|e| panic!("{e}"));
    assert!(!v.set_verified && v.checkpoint.is_some());
    assert_eq!(v.integrated_time, None);

    // So a keyless bundle whose only entry lost its SET has no signing time for its
    // certificate (it would otherwise be checked at the moved time).
    let mut bundle = c.bundle.clone();
    if let Some(vm) = bundle.verification_material.as_mut() {
        vm.tlog_entries = vec![e];
    }
    let dir = shared_dir().join("sigstore-conformance/bundle-verify");
    let artifact = std::fs::read(dir.join("happy-path-v0.3/artifact"))
        .or_else(|_| std::fs::read(dir.join("a.txt")))
        .unwrap_or_else(|e| panic!("{e}"));
    let verifier = crate::verify::Verifier::new(
        c.root.clone(),
        crate::verify::VerifierOptions {
            now: Some(now()),
            ..crate::verify::VerifierOptions::default()
        },
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let policy = crate::verify::Policy::new(None, None, true).unwrap_or_else(|e| panic!("{e}"));
    let art = crate::verify::ArtifactRef::Bytes(&artifact);
    assert!(verifier.verify(&c.bundle, art, &policy).is_ok());
    let r = verifier.verify(&bundle, art, &policy);
    assert!(
        matches!(r, Err(crate::verify::VerifyError::NoSigningTime)),
        "{r:?}"
    );
}

#[test]
fn rekor_v2_entry_details() {
    let c = conformance("rekor2-happy-path");
    let v = run(&c).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(v[0].integrated_time, None);
    assert!(!v[0].set_verified);
    assert_eq!(v[0].checkpoint.as_ref().map(|c| c.size), Some(736));
    assert!(matches!(v[0].body, EntryBody::HashedRekordV002 { .. }));
    // The log key must be valid at the signed time: before the log existed it is not.
    let e = &c
        .bundle
        .material()
        .unwrap_or_else(|e| panic!("{e}"))
        .tlog_entries[0];
    let early = TlogOptions {
        signed_time: Some(ts("2024-01-01T00:00:00Z")),
        ..opts(&c.bundle)
    };
    assert!(matches!(
        verify_tlog_entry(e, &c.root, &early),
        Err(TransparencyError::Trust(TrustError::NotValidAt { .. }))
    ));
}

#[test]
fn cosign_v3_dsse_bundle() {
    let dir = shared_dir().join("cosign");
    let bundle = Bundle::from_json(
        &std::fs::read(dir.join("oci-attestation.sigstore.json")).unwrap_or_default(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let root = TrustedRoot::from_file(&dir.join("trusted_root_pgi.json"))
        .unwrap_or_else(|e| panic!("{e}"));
    let c = Case {
        bundle,
        root,
        key: None,
    };
    let v = run(&c).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(v[0].log_index, 175_508_996);
    assert!(v[0].set_verified && v[0].checkpoint.is_some());
    assert!(matches!(v[0].body, EntryBody::DsseV001 { .. }));
    // The same entry verifies against the embedded public-good root.
    let embedded = TrustedRoot::public_good().unwrap_or_else(|e| panic!("{e}"));
    let e = &c
        .bundle
        .material()
        .unwrap_or_else(|e| panic!("{e}"))
        .tlog_entries[0];
    assert!(verify_tlog_entry(e, &embedded, &opts(&c.bundle)).is_ok());
}

#[test]
fn tampering_is_detected() {
    let c = conformance("happy-path-v0.3");
    let good = c
        .bundle
        .material()
        .unwrap_or_else(|e| panic!("{e}"))
        .tlog_entries[0]
        .clone();
    let o = opts(&c.bundle);
    assert!(verify_tlog_entry(&good, &c.root, &o).is_ok());

    // A flipped bit in the body: the SET no longer verifies (then the proof would fail).
    let mut e = good.clone();
    let last = e.canonicalized_body.len() - 2;
    e.canonicalized_body[last] ^= 0x01;
    let r = verify_tlog_entry(&e, &c.root, &o);
    assert!(
        matches!(
            r,
            Err(TransparencyError::InvalidSet | TransparencyError::MalformedBody(_))
        ),
        "{r:?}"
    );
    e.inclusion_promise = None;
    e.canonicalized_body = good.canonicalized_body.clone();
    e.canonicalized_body[40] ^= 0x20; // inside a key name: still JSON, other bytes
    let r = verify_tlog_entry(&e, &c.root, &o);
    assert!(r.is_err(), "{r:?}");

    // Wrong global index: the SET covers it.
    let mut e = good.clone();
    e.log_index += 1;
    assert!(matches!(
        verify_tlog_entry(&e, &c.root, &o),
        Err(TransparencyError::InvalidSet)
    ));
    // Wrong shard index in the proof.
    let mut e = good.clone();
    if let Some(p) = e.inclusion_proof.as_mut() {
        p.log_index += 1;
    }
    assert!(matches!(
        verify_tlog_entry(&e, &c.root, &o),
        Err(TransparencyError::InclusionProof(_))
    ));
    // Wrong integrated time.
    let mut e = good.clone();
    e.integrated_time -= 1;
    assert!(matches!(
        verify_tlog_entry(&e, &c.root, &o),
        Err(TransparencyError::InvalidSet)
    ));
    // In the future.
    let past = TlogOptions {
        now: Some(ts("2024-01-01T00:00:00Z")),
        ..o.clone()
    };
    assert!(matches!(
        verify_tlog_entry(&good, &c.root, &past),
        Err(TransparencyError::IntegratedTime(_))
    ));
    // Wrong kindVersion.
    let mut e = good.clone();
    e.kind_version.version = "0.0.2".into();
    assert!(matches!(
        verify_tlog_entry(&e, &c.root, &o),
        Err(TransparencyError::KindMismatch)
    ));
    // Neither SET nor proof: fail closed.
    let mut e = good.clone();
    e.inclusion_promise = None;
    e.inclusion_proof = None;
    let lax = TlogOptions {
        require_inclusion_proof: false,
        ..o.clone()
    };
    assert!(matches!(
        verify_tlog_entry(&e, &c.root, &lax),
        Err(TransparencyError::Missing(_))
    ));
    // Only the proof, or only the SET, each suffices when the caller allows it.
    let mut e = good.clone();
    e.inclusion_promise = None;
    assert!(verify_tlog_entry(&e, &c.root, &lax).is_ok());
    let mut e = good.clone();
    e.inclusion_proof = None;
    assert!(verify_tlog_entry(&e, &c.root, &lax).is_ok());
    assert!(verify_tlog_entry(&e, &c.root, &o).is_err());
}

#[test]
fn wrong_log_key_is_rejected() {
    let c = conformance("happy-path-v0.3");
    let e = &c
        .bundle
        .material()
        .unwrap_or_else(|e| panic!("{e}"))
        .tlog_entries[0];
    // The public-good root with the Rekor v1 log's key replaced by the CT log's key.
    let mut root = c.root.clone();
    let ct_key = root.ctlogs[1].public_key.raw_bytes.clone();
    for l in &mut root.tlogs {
        if l.log_id.key_id == e.log_id.key_id {
            l.public_key.raw_bytes.clone_from(&ct_key);
        }
    }
    let r = verify_tlog_entry(e, &root, &opts(&c.bundle));
    assert!(matches!(r, Err(TransparencyError::InvalidSet)), "{r:?}");
    let mut e2 = e.clone();
    e2.inclusion_promise = None;
    let r = verify_tlog_entry(&e2, &root, &opts(&c.bundle));
    assert!(
        matches!(r, Err(TransparencyError::CheckpointSignature)),
        "{r:?}"
    );
}

#[test]
fn bodies_parse_and_mismatch() {
    let c = conformance("happy-path-intoto-in-dsse-v3");
    let e = &c
        .bundle
        .material()
        .unwrap_or_else(|e| panic!("{e}"))
        .tlog_entries[0];
    let body =
        EntryBody::from_canonical_json(&e.canonicalized_body).unwrap_or_else(|e| panic!("{e}"));
    let EntryBody::DsseV001 {
        payload_hash,
        signatures,
        envelope_hash,
    } = &body
    else {
        panic!("{body:?}")
    };
    assert_eq!(payload_hash.algorithm, "sha256");
    assert_eq!(signatures.len(), 1);
    assert!(envelope_hash.is_some());
    assert!(matches!(
        signatures[0].verifier,
        EntryVerifier::Certificate(_)
    ));
    body.check_bundle(&c.bundle, None)
        .unwrap_or_else(|e| panic!("{e}"));
    // The body of a message-signature bundle does not fit a DSSE bundle.
    let other = conformance("happy-path-v0.3");
    assert!(matches!(
        body.check_bundle(&other.bundle, None),
        Err(TransparencyError::BodyMismatch(_))
    ));

    let intoto = conformance("intoto-with-custom-trust-root");
    let e = &intoto
        .bundle
        .material()
        .unwrap_or_else(|e| panic!("{e}"))
        .tlog_entries[0];
    let body =
        EntryBody::from_canonical_json(&e.canonicalized_body).unwrap_or_else(|e| panic!("{e}"));
    assert!(matches!(
        &body,
        EntryBody::IntotoV002 {
            payload: Some(_),
            ..
        }
    ));

    // Managed key: the recorded key must be the one given.
    let mk = conformance("managed-key-happy-path");
    let e = &mk
        .bundle
        .material()
        .unwrap_or_else(|e| panic!("{e}"))
        .tlog_entries[0];
    let body =
        EntryBody::from_canonical_json(&e.canonicalized_body).unwrap_or_else(|e| panic!("{e}"));
    assert!(body.check_bundle(&mk.bundle, mk.key.as_ref()).is_ok());
    assert!(body.check_bundle(&mk.bundle, None).is_err());
    let other_key = PublicKey::from_spki_der(&c.root.ctlogs[1].public_key.raw_bytes)
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(matches!(
        body.check_bundle(&mk.bundle, Some(&other_key)),
        Err(TransparencyError::BodyMismatch(_))
    ));

    for bad in [
        &b"{}"[..],
        b"[]",
        br#"{"apiVersion":"0.0.1","kind":"rekord","spec":{}}"#,
        br#"{"apiVersion":"0.0.1","kind":"hashedrekord","spec":{}}"#,
        br#"{"apiVersion":"0.0.1","kind":"hashedrekord","spec":{"data":{"hash":{"algorithm":"sha256","value":"zz"}},"signature":{"content":"","publicKey":{"content":""}}}}"#,
        br#"{"apiVersion":"0.0.2","kind":"intoto","spec":{"content":{"envelope":{"signatures":[{"sig":"!!","publicKey":""}]}}}}"#,
    ] {
        assert!(EntryBody::from_canonical_json(bad).is_err(), "{}", String::from_utf8_lossy(bad));
    }
}

#[test]
fn dsse_v002_body_matches_its_envelope() {
    use base64::Engine as _;
    use sha2::Digest as _;
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    let c = conformance("happy-path-intoto-in-dsse-v3");
    let crate::bundle::Content::DsseEnvelope(env) =
        c.bundle.content().unwrap_or_else(|e| panic!("{e}"))
    else {
        panic!("not DSSE")
    };
    let vm = c.bundle.material().unwrap_or_else(|e| panic!("{e}"));
    let cert = &vm
        .certificate
        .as_ref()
        .unwrap_or_else(|| panic!("certificate"))
        .raw_bytes;
    let body = |payload_digest: &[u8], sig: &[u8]| {
        serde_json::json!({
            "apiVersion": "0.0.2",
            "kind": "dsse",
            "spec": {"dsseV002": {
                "payloadHash": {"algorithm": "SHA2_256", "digest": b64(payload_digest)},
                "signatures": [{"content": b64(sig), "verifier": {
                    "keyDetails": "PKIX_ECDSA_P256_SHA_256",
                    "x509Certificate": {"rawBytes": b64(cert)}}}]
            }}
        })
        .to_string()
    };
    let digest = sha2::Sha256::digest(&env.payload);
    let good = EntryBody::from_canonical_json(body(&digest, &env.signatures[0].sig).as_bytes())
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(good.kind_version(), ("dsse", "0.0.2"));
    good.check_bundle(&c.bundle, None)
        .unwrap_or_else(|e| panic!("{e}"));
    let wrong_sig = EntryBody::from_canonical_json(body(&digest, b"x").as_bytes())
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(matches!(
        wrong_sig.check_bundle(&c.bundle, None),
        Err(TransparencyError::BodyMismatch(_))
    ));
    let wrong_hash =
        EntryBody::from_canonical_json(body(&[0; 32], &env.signatures[0].sig).as_bytes())
            .unwrap_or_else(|e| panic!("{e}"));
    assert!(matches!(
        wrong_hash.check_bundle(&c.bundle, None),
        Err(TransparencyError::BodyMismatch(_))
    ));
}

#[test]
fn intoto_v001_body_binds_payload_and_key() {
    use base64::Engine as _;
    use sha2::Digest as _;

    use crate::bundle::{MEDIA_TYPE_V0_1, PublicKeyIdentifier, VerificationMaterial};
    use crate::signing::{LocalSigner, Signer as _, sign_envelope};

    let b64 = base64::engine::general_purpose::STANDARD;
    let signer = LocalSigner::generate_p256().unwrap_or_else(|e| panic!("{e}"));
    let other = LocalSigner::generate_p256().unwrap_or_else(|e| panic!("{e}"));
    let env = sign_envelope(
        &signer,
        crate::dsse::IN_TOTO_PAYLOAD_TYPE,
        br#"{"_type":"x"}"#,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let body = |payload: &[u8], key: &PublicKey| {
        format!(
            r#"{{"apiVersion":"0.0.1","kind":"intoto","spec":{{"content":{{"hash":{{"algorithm":"sha256","value":"{}"}},"payloadHash":{{"algorithm":"sha256","value":"{}"}}}},"publicKey":"{}"}}}}"#,
            hex::encode(sha2::Sha256::digest(b"envelope")),
            hex::encode(sha2::Sha256::digest(payload)),
            b64.encode(key.to_pem())
        )
    };
    let bundle = Bundle {
        media_type: MEDIA_TYPE_V0_1.into(),
        verification_material: Some(VerificationMaterial {
            public_key: Some(PublicKeyIdentifier::default()),
            ..VerificationMaterial::default()
        }),
        message_signature: None,
        dsse_envelope: Some(env.clone()),
    };
    let key = signer.public_key();
    let good = EntryBody::from_canonical_json(body(&env.payload, key).as_bytes())
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(good.kind_version(), ("intoto", "0.0.1"));
    assert!(good.check_bundle(&bundle, Some(key)).is_ok());
    // Another key recorded, another key given, or another payload: not this bundle's entry.
    let wrong_key =
        EntryBody::from_canonical_json(body(&env.payload, other.public_key()).as_bytes())
            .unwrap_or_else(|e| panic!("{e}"));
    assert!(matches!(
        wrong_key.check_bundle(&bundle, Some(key)),
        Err(TransparencyError::BodyMismatch(_))
    ));
    assert!(matches!(
        good.check_bundle(&bundle, Some(other.public_key())),
        Err(TransparencyError::BodyMismatch(_))
    ));
    let wrong_payload = EntryBody::from_canonical_json(body(b"{}", key).as_bytes())
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(matches!(
        wrong_payload.check_bundle(&bundle, Some(key)),
        Err(TransparencyError::BodyMismatch(_))
    ));
    assert!(
        EntryBody::from_canonical_json(
            br#"{"apiVersion":"0.0.1","kind":"intoto","spec":{"content":{}}}"#
        )
        .is_err()
    );
}
