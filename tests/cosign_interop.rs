//! Interoperability with the real cosign v3 (tier 4 peer checks), both directions:
//!
//! - hallmark signs (DSSE envelope, and a v0.3 bundle around it) with Chains' fixture
//!   `cosign.key`; `cosign verify-blob-attestation --key cosign.pub` accepts it with its
//!   claim checks and rejects another blob.
//! - cosign writes bundles (`attest-blob --bundle`, `sign-blob --bundle`) offline;
//!   hallmark verifies them with `cosign.pub`, and rejects them with another key or a
//!   tampered blob.
//!
//! cosign comes from `HALLMARK_STACK_COSIGN`, or `tests/stack/install cosign` (built once
//! and cached). The hallmark side runs through the library and through the built binary
//! (`hallmark verify`, `hallmark generate-key-pair`).
#![allow(clippy::panic)] // Tests report failures by panicking.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use hallmark::bundle::{self, Bundle};
use hallmark::dsse::IN_TOTO_PAYLOAD_TYPE;
use hallmark::signing::{self, LocalSigner};
use hallmark::test_support::{repo_dir, shared_dir};
use hallmark::verify::{
    self, ArtifactRef, BundleOptions, BundleVerification, PredicateType, VerificationKey,
    VerifyError,
};

fn cosign() -> PathBuf {
    if let Some(p) = std::env::var_os("HALLMARK_STACK_COSIGN") {
        return PathBuf::from(p);
    }
    let out = Command::new(repo_dir().join("tests/stack/install"))
        .arg("cosign")
        .output()
        .unwrap_or_else(|e| panic!("running tests/stack/install cosign: {e}"));
    assert!(
        out.status.success(),
        "tests/stack/install cosign failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let path = String::from_utf8_lossy(&out.stdout)
        .lines()
        .last()
        .unwrap_or_default()
        .trim()
        .to_owned();
    assert!(Path::new(&path).is_file(), "cosign not found at `{path}`");
    PathBuf::from(path)
}

fn keys() -> PathBuf {
    shared_dir().join("chains/keys")
}

fn password() -> String {
    std::fs::read_to_string(keys().join("cosign.password"))
        .unwrap_or_else(|e| panic!("cosign.password: {e}"))
}

/// Run cosign offline: its own HOME/TUF cache, no ambient password.
fn run_cosign(dir: &Path, args: &[&str]) -> Output {
    let home = dir.join("home");
    std::fs::create_dir_all(&home).unwrap_or_else(|e| panic!("{e}"));
    Command::new(cosign())
        .args(args)
        .current_dir(dir)
        .env("HOME", &home)
        .env("TUF_ROOT", home.join(".sigstore"))
        .env("COSIGN_PASSWORD", password())
        .env_remove("SIGSTORE_ID_TOKEN")
        .output()
        .unwrap_or_else(|e| panic!("running cosign: {e}"))
}

fn show(o: &Output) -> String {
    format!(
        "status {:?}\nstdout: {}\nstderr: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn random_blob(dir: &Path, name: &str) -> (PathBuf, Vec<u8>) {
    let mut b = vec![0u8; 256];
    aws_lc_rs::rand::fill(&mut b).unwrap_or_else(|e| panic!("{e}"));
    let p = dir.join(name);
    std::fs::write(&p, &b).unwrap_or_else(|e| panic!("{e}"));
    (p, b)
}

fn slsa02_statement(name: &str, blob: &[u8]) -> Vec<u8> {
    let digest = hex::encode(ArtifactRef::Bytes(blob).sha256());
    serde_json::to_vec(&serde_json::json!({
        "_type": "https://in-toto.io/Statement/v0.1",
        "predicateType": "https://slsa.dev/provenance/v0.2",
        "subject": [{"name": name, "digest": {"sha256": digest}}],
        "predicate": {
            "builder": {"id": "https://tekton.dev/chains/v2"},
            "buildType": "tekton.dev/v1beta1/TaskRun",
            "invocation": {"configSource": {}, "parameters": {}},
        },
    }))
    .unwrap_or_else(|e| panic!("{e}"))
}

fn fixture_signer() -> LocalSigner {
    LocalSigner::from_file(&keys().join("cosign.key"), Some(password().as_bytes()))
        .unwrap_or_else(|e| panic!("cosign.key: {e}"))
}

fn fixture_key() -> VerificationKey {
    VerificationKey::from_file(&keys().join("cosign.pub"))
        .unwrap_or_else(|e| panic!("cosign.pub: {e}"))
}

fn other_key(dir: &Path) -> (VerificationKey, PathBuf) {
    let pair = signing::generate_key_pair(b"").unwrap_or_else(|e| panic!("{e}"));
    let p = dir.join("other.pub");
    std::fs::write(&p, &pair.public_pem).unwrap_or_else(|e| panic!("{e}"));
    (
        VerificationKey::from_pem(pair.public_pem.as_bytes()).unwrap_or_else(|e| panic!("{e}")),
        p,
    )
}

/// Exit status of the built `hallmark verify ARGS` (`Some`, for the assertions' sake).
fn hallmark_verify(dir: &Path, args: &[&str]) -> Option<i32> {
    let out = Command::new(env!("CARGO_BIN_EXE_hallmark"))
        .arg("verify")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("running hallmark: {e}"));
    eprintln!("hallmark verify {args:?}: {}", show(&out));
    out.status.code()
}

fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"))
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap_or_else(|| panic!("non-UTF-8 path"))
}

#[test]
fn cosign_verifies_hallmark_envelope_and_bundle() {
    let dir = tempdir();
    let d = dir.path();
    let (blob, bytes) = random_blob(d, "blob");
    let (other_blob, _) = random_blob(d, "other-blob");
    let env = signing::sign_envelope(
        &fixture_signer(),
        IN_TOTO_PAYLOAD_TYPE,
        &slsa02_statement("blob", &bytes),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let env_path = d.join("envelope.json");
    std::fs::write(&env_path, env.to_json()).unwrap_or_else(|e| panic!("{e}"));
    let pub_key = keys().join("cosign.pub");

    let verify = |sig_flag: &str, file: &Path, blob: &Path| {
        run_cosign(
            d,
            &[
                "verify-blob-attestation",
                "--key",
                s(&pub_key),
                "--type",
                "slsaprovenance",
                "--insecure-ignore-tlog",
                sig_flag,
                s(file),
                s(blob),
            ],
        )
    };
    let ok = verify("--signature", &env_path, &blob);
    assert!(
        ok.status.success(),
        "cosign rejected hallmark's envelope:\n{}",
        show(&ok)
    );
    let bad = verify("--signature", &env_path, &other_blob);
    assert!(
        !bad.status.success(),
        "cosign accepted the envelope for another blob:\n{}",
        show(&bad)
    );

    // The same envelope in a v0.3 bundle written by hallmark.
    let b = Bundle {
        media_type: bundle::MEDIA_TYPE_V0_3.into(),
        verification_material: Some(bundle::VerificationMaterial {
            public_key: Some(bundle::PublicKeyIdentifier {
                hint: fixture_key().public_key().sigstore_hint(),
            }),
            ..Default::default()
        }),
        message_signature: None,
        dsse_envelope: Some(env),
    };
    let bundle_path = d.join("hallmark.sigstore.json");
    std::fs::write(&bundle_path, b.to_json()).unwrap_or_else(|e| panic!("{e}"));
    let ok = verify("--bundle", &bundle_path, &blob);
    assert!(
        ok.status.success(),
        "cosign rejected hallmark's bundle:\n{}",
        show(&ok)
    );
    let bad = verify("--bundle", &bundle_path, &other_blob);
    assert!(
        !bad.status.success(),
        "cosign accepted the bundle for another blob:\n{}",
        show(&bad)
    );

    // And hallmark agrees with itself on the envelope, through the CLI when wired.
    if let Some(code) = hallmark_verify(
        d,
        &[
            "--envelope",
            s(&env_path),
            "--key",
            s(&pub_key),
            "--type",
            "slsaprovenance",
            "--insecure-ignore-tlog",
            s(&blob),
        ],
    ) {
        assert_eq!(code, 0);
        let code = hallmark_verify(
            d,
            &[
                "--envelope",
                s(&env_path),
                "--key",
                s(&pub_key),
                "--insecure-ignore-tlog",
                s(&other_blob),
            ],
        );
        assert_eq!(code, Some(1));
    }
}

/// The issue's end-to-end path: a blob's digest becomes a TaskRun's `IMAGE_DIGEST`,
/// `hallmark sign` formats and signs the run with Chains' `cosign.key`, and cosign
/// verifies the envelope against the blob with claim checks on, in both SLSA versions.
#[test]
fn cosign_verifies_hallmark_signed_run() {
    let dir = tempdir();
    let d = dir.path();
    let (blob, bytes) = random_blob(d, "image.tar");
    let (other_blob, _) = random_blob(d, "other.tar");
    let digest = hex::encode(ArtifactRef::Bytes(&bytes).sha256());
    let template =
        std::fs::read_to_string(repo_dir().join("testdata/runs/quickstart-taskrun.yaml"))
            .unwrap_or_else(|e| panic!("{e}"));
    let quickstart = "00c9c46cf9dc40d88583ea0ce63c77d8029a606cac6c23590fab5f152d431ed3";
    assert!(template.contains(quickstart), "template lost its digest");
    let run = d.join("taskrun.yaml");
    std::fs::write(&run, template.replace(quickstart, &digest)).unwrap_or_else(|e| panic!("{e}"));
    let pub_key = keys().join("cosign.pub");

    for (format, cosign_type) in [
        ("slsa/v1", "slsaprovenance"),
        ("slsa/v2alpha4", "slsaprovenance1"),
    ] {
        let env_path = d.join(format!("{}.intoto.json", format.replace('/', "-")));
        let out = Command::new(env!("CARGO_BIN_EXE_hallmark"))
            .args(["sign", s(&run), "--format", format, "--key"])
            .arg(keys().join("cosign.key"))
            .arg("-o")
            .arg(&env_path)
            .env("COSIGN_PASSWORD", password())
            .output()
            .unwrap_or_else(|e| panic!("running hallmark: {e}"));
        assert!(
            out.status.success(),
            "hallmark sign failed:\n{}",
            show(&out)
        );
        let verify = |blob: &Path| {
            run_cosign(
                d,
                &[
                    "verify-blob-attestation",
                    "--key",
                    s(&pub_key),
                    "--type",
                    cosign_type,
                    "--insecure-ignore-tlog",
                    "--signature",
                    s(&env_path),
                    s(blob),
                ],
            )
        };
        let ok = verify(&blob);
        assert!(
            ok.status.success(),
            "cosign rejected hallmark's {format} envelope:\n{}",
            show(&ok)
        );
        let bad = verify(&other_blob);
        assert!(
            !bad.status.success(),
            "cosign accepted the {format} envelope for another blob:\n{}",
            show(&bad)
        );
    }
}

#[test]
fn hallmark_verifies_cosign_attest_blob_bundle() {
    let dir = tempdir();
    let d = dir.path();
    let (blob, bytes) = random_blob(d, "blob");
    let predicate = d.join("predicate.json");
    std::fs::write(&predicate, br#"{"builder":{"id":"https://example.com/builder"},"buildType":"https://example.com/type"}"#)
        .unwrap_or_else(|e| panic!("{e}"));
    let out_path = d.join("attest.sigstore.json");
    let o = run_cosign(
        d,
        &[
            "attest-blob",
            "--key",
            s(&keys().join("cosign.key")),
            "--predicate",
            s(&predicate),
            "--type",
            "slsaprovenance",
            "--tlog-upload=false",
            "--use-signing-config=false",
            "--bundle",
            s(&out_path),
            "--yes",
            s(&blob),
        ],
    );
    assert!(
        o.status.success(),
        "cosign attest-blob failed:\n{}",
        show(&o)
    );
    let raw = std::fs::read(&out_path).unwrap_or_else(|e| panic!("{e}"));
    let b = Bundle::from_json(&raw).unwrap_or_else(|e| panic!("cosign's bundle: {e}"));
    assert!(b.dsse_envelope.is_some(), "expected a DSSE bundle");

    let key = fixture_key();
    let slsa = PredicateType::parse("slsaprovenance").ok();
    let opts = BundleOptions {
        predicate_type: slsa.clone(),
        insecure_ignore_tlog: true,
    };
    let r = verify::verify_bundle(&b, ArtifactRef::Bytes(&bytes), &key, &opts);
    assert!(matches!(r, Ok(BundleVerification::Attestation(_))), "{r:?}");
    // By digest only.
    let r = verify::verify_bundle(
        &b,
        ArtifactRef::Sha256(ArtifactRef::Bytes(&bytes).sha256()),
        &key,
        &opts,
    );
    assert!(r.is_ok(), "{r:?}");
    // Fail closed without --insecure-ignore-tlog (no entries: cosign's semantics).
    let strict = BundleOptions {
        predicate_type: slsa.clone(),
        insecure_ignore_tlog: false,
    };
    assert!(matches!(
        verify::verify_bundle(&b, ArtifactRef::Bytes(&bytes), &key, &strict),
        Err(VerifyError::NoTlogEntries)
    ));
    // Another key, a tampered blob, another predicate type.
    let (other, other_pub) = other_key(d);
    assert!(matches!(
        verify::verify_bundle(&b, ArtifactRef::Bytes(&bytes), &other, &opts),
        Err(VerifyError::SignatureMismatch { .. })
    ));
    let mut tampered = bytes.clone();
    tampered[0] ^= 1;
    assert!(matches!(
        verify::verify_bundle(&b, ArtifactRef::Bytes(&tampered), &key, &opts),
        Err(VerifyError::SubjectMismatch { .. })
    ));
    let v1 = BundleOptions {
        predicate_type: PredicateType::parse("slsaprovenance1").ok(),
        insecure_ignore_tlog: true,
    };
    assert!(matches!(
        verify::verify_bundle(&b, ArtifactRef::Bytes(&bytes), &key, &v1),
        Err(VerifyError::PredicateType { .. })
    ));

    let pub_key = keys().join("cosign.pub");
    let tampered_path = d.join("tampered");
    std::fs::write(&tampered_path, &tampered).unwrap_or_else(|e| panic!("{e}"));
    let base = |key: &Path, artifact: &str| -> Option<i32> {
        hallmark_verify(
            d,
            &[
                "--bundle",
                s(&out_path),
                "--key",
                s(key),
                "--type",
                "slsaprovenance",
                "--insecure-ignore-tlog",
                artifact,
            ],
        )
    };
    if let Some(code) = base(&pub_key, s(&blob)) {
        assert_eq!(code, 0);
        assert_eq!(base(&other_pub, s(&blob)), Some(1));
        assert_eq!(base(&pub_key, s(&tampered_path)), Some(1));
        let digest = format!(
            "sha256:{}",
            hex::encode(ArtifactRef::Bytes(&bytes).sha256())
        );
        assert_eq!(base(&pub_key, &digest), Some(0));
        let no_flag = hallmark_verify(
            d,
            &["--bundle", s(&out_path), "--key", s(&pub_key), s(&blob)],
        );
        assert_eq!(no_flag, Some(1));
    }
}

#[test]
fn hallmark_verifies_cosign_sign_blob_bundle() {
    let dir = tempdir();
    let d = dir.path();
    let (blob, bytes) = random_blob(d, "blob");
    let out_path = d.join("sign.sigstore.json");
    let o = run_cosign(
        d,
        &[
            "sign-blob",
            "--key",
            s(&keys().join("cosign.key")),
            "--tlog-upload=false",
            "--use-signing-config=false",
            "--bundle",
            s(&out_path),
            "--yes",
            s(&blob),
        ],
    );
    assert!(o.status.success(), "cosign sign-blob failed:\n{}", show(&o));
    let raw = std::fs::read(&out_path).unwrap_or_else(|e| panic!("{e}"));
    let b = Bundle::from_json(&raw).unwrap_or_else(|e| panic!("cosign's bundle: {e}"));
    assert!(
        b.message_signature.is_some(),
        "expected a message-signature bundle"
    );

    let key = fixture_key();
    let opts = BundleOptions {
        predicate_type: None,
        insecure_ignore_tlog: true,
    };
    let r = verify::verify_bundle(&b, ArtifactRef::Bytes(&bytes), &key, &opts);
    assert!(
        matches!(r, Ok(BundleVerification::MessageSignature { .. })),
        "{r:?}"
    );
    let r = verify::verify_bundle(
        &b,
        ArtifactRef::Sha256(ArtifactRef::Bytes(&bytes).sha256()),
        &key,
        &opts,
    );
    assert!(r.is_ok(), "{r:?}");
    let (other, other_pub) = other_key(d);
    assert!(matches!(
        verify::verify_bundle(&b, ArtifactRef::Bytes(&bytes), &other, &opts),
        Err(VerifyError::SignatureMismatch { .. })
    ));
    let mut tampered = bytes.clone();
    tampered[0] ^= 1;
    assert!(matches!(
        verify::verify_bundle(&b, ArtifactRef::Bytes(&tampered), &key, &opts),
        Err(VerifyError::MessageDigestMismatch { .. })
    ));

    let pub_key = keys().join("cosign.pub");
    if let Some(code) = hallmark_verify(
        d,
        &[
            "--bundle",
            s(&out_path),
            "--key",
            s(&pub_key),
            "--insecure-ignore-tlog",
            s(&blob),
        ],
    ) {
        assert_eq!(code, 0);
        assert_eq!(
            hallmark_verify(
                d,
                &[
                    "--bundle",
                    s(&out_path),
                    "--key",
                    s(&other_pub),
                    "--insecure-ignore-tlog",
                    s(&blob)
                ]
            ),
            Some(1)
        );
    }
}

#[test]
fn cosign_reads_hallmark_generated_keys() {
    let dir = tempdir();
    let d = dir.path();
    let o = Command::new(env!("CARGO_BIN_EXE_hallmark"))
        .args(["generate-key-pair", "--output-key-prefix", "gen"])
        .current_dir(d)
        .env("COSIGN_PASSWORD", password())
        .output()
        .unwrap_or_else(|e| panic!("running hallmark: {e}"));
    assert!(
        o.status.success(),
        "hallmark generate-key-pair failed:\n{}",
        show(&o)
    );
    let public_pem = std::fs::read(d.join("gen.pub")).unwrap_or_else(|e| panic!("{e}"));
    // Without COSIGN_PASSWORD hallmark refuses (exit 2) instead of prompting.
    let o = Command::new(env!("CARGO_BIN_EXE_hallmark"))
        .args(["generate-key-pair", "--output-key-prefix", "gen2"])
        .current_dir(d)
        .env_remove("COSIGN_PASSWORD")
        .output()
        .unwrap_or_else(|e| panic!("running hallmark: {e}"));
    assert_eq!(o.status.code(), Some(2), "{}", show(&o));
    let (blob, bytes) = random_blob(d, "blob");
    let out_path = d.join("sign.sigstore.json");
    let o = run_cosign(
        d,
        &[
            "sign-blob",
            "--key",
            "gen.key",
            "--tlog-upload=false",
            "--use-signing-config=false",
            "--bundle",
            s(&out_path),
            "--yes",
            s(&blob),
        ],
    );
    assert!(
        o.status.success(),
        "cosign could not sign with hallmark's generated key:\n{}",
        show(&o)
    );
    let b = Bundle::from_json(&std::fs::read(&out_path).unwrap_or_else(|e| panic!("{e}")))
        .unwrap_or_else(|e| panic!("{e}"));
    let key = VerificationKey::from_pem(&public_pem).unwrap_or_else(|e| panic!("{e}"));
    let opts = BundleOptions {
        predicate_type: None,
        insecure_ignore_tlog: true,
    };
    assert!(verify::verify_bundle(&b, ArtifactRef::Bytes(&bytes), &key, &opts).is_ok());
}
