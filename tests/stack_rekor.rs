//! Rekor v1 and v2 uploads against the real logs of the local stack (issue 7, items 4
//! and 5), checked with the peers' own tools:
//!
//! - Rekor v1, `dsse` 0.0.1 and `intoto` 0.0.2 (attestations) and `hashedrekord` 0.0.1 (a
//!   blob signature): `rekor-cli get --uuid` shows the entry and `rekor-cli search --sha`
//!   finds it; uploading the same envelope again answers 409 and hallmark returns the same
//!   entry, and the log holds one entry for it (counted with `rekor-cli search`, not with
//!   hallmark's own records).
//! - Rekor v2 (`hashedrekord` 0.0.2 over the PAE digest) with an RFC 3161 timestamp from
//!   the stack's TSA.
//! - Keyless: a Fulcio certificate (the stack's OIDC issuer) as the verifier, on Rekor v1
//!   (`dsse`) and on Rekor v2 with a TSA timestamp.
//! - Every bundle built from an uploaded entry verifies with `hallmark verify --bundle`
//!   and with cosign v3 (`verify-blob-attestation` / `verify-blob`, the stack's trusted
//!   root), and both refuse it with another key or identity.
//!
//! Needs the stack (`eval "$(tests/stack/env)"`). Without it the test says so and returns,
//! unless `HALLMARK_REQUIRE_STACK=1` (set by `tests/run stack`), where it fails.
#![allow(clippy::panic)] // Tests report failures by panicking.

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use hallmark::dsse::IN_TOTO_PAYLOAD_TYPE;
use hallmark::rekor::upload::{self, DsseEntryKind, SignerMaterial};
use hallmark::rekor::{RekorClient, v2};
use hallmark::signing::{LocalSigner, Signer as _, sign_envelope};
use hallmark::trust::TrustedRoot;
use sha2::{Digest as _, Sha256};

struct Stack {
    rekor: String,
    rekor_v2: String,
    tsa: String,
    trusted_root: String,
    cosign: String,
    rekor_cli: String,
}

fn stack() -> Option<Stack> {
    let var = |n: &str| std::env::var(n).ok().filter(|v| !v.is_empty());
    let s = (|| {
        Some(Stack {
            rekor: var("HALLMARK_STACK_REKOR_URL")?,
            rekor_v2: var("HALLMARK_STACK_REKOR_V2_URL")?,
            tsa: var("HALLMARK_STACK_TSA_URL")?,
            trusted_root: var("HALLMARK_STACK_TRUSTED_ROOT")?,
            cosign: var("HALLMARK_STACK_COSIGN")?,
            rekor_cli: var("HALLMARK_STACK_REKOR_CLI")?,
        })
    })();
    if s.is_none() {
        assert!(
            std::env::var("HALLMARK_REQUIRE_STACK").as_deref() != Ok("1"),
            "HALLMARK_REQUIRE_STACK=1 but the stack's env is not set (eval \"$(tests/stack/env)\")"
        );
        eprintln!("stack_rekor: skipped, no stack (eval \"$(tests/stack/env)\" to run it)");
    }
    s
}

/// Run a peer with a bound on its time, in `dir`, with its own TUF cache.
fn run(dir: &Path, program: &str, args: &[&str]) -> Output {
    let mut c = Command::new("timeout");
    c.arg("120").arg(program).args(args).current_dir(dir);
    c.env("TUF_ROOT", dir.join("tuf")).env("HOME", dir);
    c.output()
        .unwrap_or_else(|e| panic!("running {program}: {e}"))
}

fn show(out: &Output) -> String {
    format!(
        "({})\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn ok(out: &Output, what: &str) {
    assert!(out.status.success(), "{what} failed {}", show(out));
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"))
}

/// A unique artifact, its SHA-256 and an in-toto statement about it.
fn artifact(dir: &Path, name: &str) -> (std::path::PathBuf, String, Vec<u8>) {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let path = dir.join(name);
    let content = format!(
        "hallmark stack_rekor {name} {nanos} {}\n",
        std::process::id()
    );
    std::fs::write(&path, &content).unwrap_or_else(|e| panic!("{e}"));
    let hex = hex::encode(Sha256::digest(content.as_bytes()));
    let statement = serde_json::json!({
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": name, "digest": {"sha256": hex}}],
        "predicateType": "https://cosign.sigstore.dev/attestation/v1",
        "predicate": {"Data": format!("stack_rekor {name}"), "Timestamp": ""},
    });
    let bytes = serde_json::to_vec(&statement).unwrap_or_else(|e| panic!("{e}"));
    (path, hex, bytes)
}

/// The UUIDs `rekor-cli search --sha` lists for `hex`.
fn rekor_cli_search(dir: &Path, s: &Stack, hex: &str) -> Vec<String> {
    let sha = format!("sha256:{hex}");
    let out = run(
        dir,
        &s.rekor_cli,
        &[
            "search",
            "--sha",
            &sha,
            "--rekor_server",
            &s.rekor,
            "--store_tree_state=false",
        ],
    );
    ok(&out, "rekor-cli search");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::trim)
        .filter(|l| l.len() >= 64 && l.bytes().all(|b| b.is_ascii_hexdigit()))
        .map(str::to_owned)
        .collect()
}

/// The last 64 hex digits of an entry id (the UUID without the tree id).
fn short(uuid: &str) -> &str {
    &uuid[uuid.len().saturating_sub(64)..]
}

/// `--key FILE`.
fn key_args(key: &Path) -> Vec<String> {
    vec!["--key".into(), key.to_string_lossy().into_owned()]
}

/// `--certificate-identity SAN --certificate-oidc-issuer ISSUER`.
fn identity_args(san: &str, issuer: &str) -> Vec<String> {
    vec![
        "--certificate-identity".into(),
        san.into(),
        "--certificate-oidc-issuer".into(),
        issuer.into(),
    ]
}

/// `hallmark verify --bundle` exit code.
fn hallmark_verify(
    dir: &Path,
    s: &Stack,
    bundle: &Path,
    signer: &[String],
    artifact: &Path,
    attestation: bool,
) -> i32 {
    let (b, a) = (bundle.to_string_lossy(), artifact.to_string_lossy());
    let mut args = vec!["verify", "--bundle", &b, "--trusted-root", &s.trusted_root];
    args.extend(signer.iter().map(String::as_str));
    if attestation {
        args.extend_from_slice(&["--type", "custom"]);
    }
    args.push(&a);
    let out = run(dir, env!("CARGO_BIN_EXE_hallmark"), &args);
    eprintln!("hallmark verify --bundle {b} {signer:?}: {}", show(&out));
    out.status.code().unwrap_or(-1)
}

/// cosign v3 `verify-blob-attestation` (or `verify-blob`) success.
fn cosign_verify(
    dir: &Path,
    s: &Stack,
    bundle: &Path,
    signer: &[String],
    artifact: &Path,
    attestation: bool,
) -> bool {
    let (b, a) = (bundle.to_string_lossy(), artifact.to_string_lossy());
    let command = if attestation {
        "verify-blob-attestation"
    } else {
        "verify-blob"
    };
    let mut args = vec![command, "--bundle", &b, "--trusted-root", &s.trusted_root];
    args.extend(signer.iter().map(String::as_str));
    if attestation {
        args.extend_from_slice(&["--type", "custom"]);
    }
    args.push(&a);
    let out = run(dir, &s.cosign, &args);
    eprintln!("cosign {command} {signer:?}: {}", show(&out));
    out.status.success()
}

/// Both verifiers accept `bundle` with the `right` signer and refuse it with `wrong`.
fn both_verify(
    dir: &Path,
    s: &Stack,
    bundle: &Path,
    (right, wrong): (&[String], &[String]),
    artifact: &Path,
    attestation: bool,
) {
    assert_eq!(
        hallmark_verify(dir, s, bundle, right, artifact, attestation),
        0,
        "hallmark verify with the right signer"
    );
    assert!(
        cosign_verify(dir, s, bundle, right, artifact, attestation),
        "cosign with the right signer"
    );
    assert_eq!(
        hallmark_verify(dir, s, bundle, wrong, artifact, attestation),
        1,
        "hallmark verify with another signer"
    );
    assert!(
        !cosign_verify(dir, s, bundle, wrong, artifact, attestation),
        "cosign with another signer"
    );
}

struct Keys {
    signer: LocalSigner,
    key: std::path::PathBuf,
    wrong: std::path::PathBuf,
}

fn keys(dir: &Path) -> Keys {
    let signer = LocalSigner::generate_p256().unwrap_or_else(|e| panic!("{e}"));
    let other = LocalSigner::generate_p256().unwrap_or_else(|e| panic!("{e}"));
    let key = dir.join("key.pub");
    let wrong = dir.join("wrong.pub");
    std::fs::write(&key, signer.public_key().to_pem()).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(&wrong, other.public_key().to_pem()).unwrap_or_else(|e| panic!("{e}"));
    Keys { signer, key, wrong }
}

#[test]
fn rekor_v1_uploads_are_found_verified_and_idempotent() {
    let Some(s) = stack() else { return };
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let dir = tmp.path();
    let trust =
        TrustedRoot::from_file(Path::new(&s.trusted_root)).unwrap_or_else(|e| panic!("{e}"));
    let k = keys(dir);
    let material = SignerMaterial::Key(k.signer.public_key().clone());
    let client =
        RekorClient::new(&s.rekor, Duration::from_secs(30)).unwrap_or_else(|e| panic!("{e}"));
    let rt = runtime();

    for (kind, name) in [
        (DsseEntryKind::Dsse, "dsse"),
        (DsseEntryKind::Intoto, "intoto"),
    ] {
        let (art, hex, statement) = artifact(dir, &format!("artifact-{name}"));
        let env = sign_envelope(&k.signer, IN_TOTO_PAYLOAD_TYPE, &statement)
            .unwrap_or_else(|e| panic!("{e}"));
        let env_json = env.to_json();
        let first = rt
            .block_on(upload::upload_dsse(
                &client, &env_json, &material, kind, &trust,
            ))
            .unwrap_or_else(|e| panic!("{name} upload: {e:?}"));
        assert!(!first.already_logged, "{name}: a new entry");
        assert_eq!(first.entry.kind_version.kind, name);
        assert!(first.entry.inclusion_promise.is_some() && first.entry.inclusion_proof.is_some());
        eprintln!(
            "{name}: logged at index {} as {}",
            first.entry.log_index, first.uuid
        );

        // Again: 409, the same entry.
        let again = rt
            .block_on(upload::upload_dsse(
                &client, &env_json, &material, kind, &trust,
            ))
            .unwrap_or_else(|e| panic!("{name} second upload: {e:?}"));
        assert!(again.already_logged, "{name}: the second upload is a 409");
        assert_eq!(short(&again.uuid), short(&first.uuid));
        assert_eq!(again.entry.log_index, first.entry.log_index);

        // rekor-cli sees it, once.
        let out = run(
            dir,
            &s.rekor_cli,
            &[
                "get",
                "--uuid",
                &first.uuid,
                "--rekor_server",
                &s.rekor,
                "--format",
                "json",
                "--store_tree_state=false",
            ],
        );
        ok(&out, "rekor-cli get");
        let got: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("rekor-cli get: {e}: {}", show(&out)));
        assert_eq!(
            got["LogIndex"].as_i64(),
            Some(first.entry.log_index),
            "{got}"
        );
        let found = rekor_cli_search(dir, &s, &hex);
        assert_eq!(
            found
                .iter()
                .filter(|u| short(u) == short(&first.uuid))
                .count(),
            1,
            "{name}: rekor-cli search --sha lists the entry once: {found:?}"
        );
        assert_eq!(
            found.len(),
            1,
            "{name}: one entry for this subject: {found:?}"
        );

        // The bundle verifies with hallmark and cosign, and not with another key.
        let bundle = upload::dsse_bundle(&env, &material, vec![first.entry.clone()], vec![]);
        let path = dir.join(format!("{name}.sigstore.json"));
        std::fs::write(&path, bundle.to_json()).unwrap_or_else(|e| panic!("{e}"));
        both_verify(
            dir,
            &s,
            &path,
            (&key_args(&k.key), &key_args(&k.wrong)),
            &art,
            true,
        );

        // The legacy annotation reads back as the same entry (without the proof).
        let annotation =
            upload::legacy_bundle_annotation(&first.entry).unwrap_or_else(|e| panic!("{e}"));
        let back = hallmark::oci::cosign::rekor_bundle_entry(&annotation)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back.canonicalized_body, first.entry.canonicalized_body);
        assert_eq!(back.inclusion_promise, first.entry.inclusion_promise);
    }

    // A blob signature as hashedrekord 0.0.1, verified by cosign verify-blob.
    let (art, hex, _) = artifact(dir, "blob");
    let content = std::fs::read(&art).unwrap_or_else(|e| panic!("{e}"));
    let sig = k.signer.sign(&content).unwrap_or_else(|e| panic!("{e}"));
    let mut sha = [0u8; 32];
    sha.copy_from_slice(&Sha256::digest(&content));
    let first = rt
        .block_on(upload::upload_hashedrekord(
            &client, &sha, &sig, &material, &trust,
        ))
        .unwrap_or_else(|e| panic!("hashedrekord upload: {e:?}"));
    let again = rt
        .block_on(upload::upload_hashedrekord(
            &client, &sha, &sig, &material, &trust,
        ))
        .unwrap_or_else(|e| panic!("hashedrekord second upload: {e:?}"));
    assert!(!first.already_logged && again.already_logged);
    assert_eq!(rekor_cli_search(dir, &s, &hex).len(), 1);
    let bundle = upload::message_bundle(&sha, &sig, &material, vec![first.entry], vec![]);
    let path = dir.join("blob.sigstore.json");
    std::fs::write(&path, bundle.to_json()).unwrap_or_else(|e| panic!("{e}"));
    both_verify(
        dir,
        &s,
        &path,
        (&key_args(&k.key), &key_args(&k.wrong)),
        &art,
        false,
    );

    // An envelope the key did not sign is refused before anything is sent.
    let (_, _, statement) = artifact(dir, "foreign");
    let other = LocalSigner::generate_p256().unwrap_or_else(|e| panic!("{e}"));
    let env =
        sign_envelope(&other, IN_TOTO_PAYLOAD_TYPE, &statement).unwrap_or_else(|e| panic!("{e}"));
    let r = rt.block_on(upload::upload_dsse(
        &client,
        &env.to_json(),
        &material,
        DsseEntryKind::Dsse,
        &trust,
    ));
    assert!(
        matches!(r, Err(hallmark::rekor::UploadError::Input(_))),
        "{r:?}"
    );

    // A trusted root without this log: the returned entry is refused, not returned.
    let (_, _, statement) = artifact(dir, "untrusted");
    let env = sign_envelope(&k.signer, IN_TOTO_PAYLOAD_TYPE, &statement)
        .unwrap_or_else(|e| panic!("{e}"));
    let r = rt.block_on(upload::upload_dsse(
        &client,
        &env.to_json(),
        &material,
        DsseEntryKind::Dsse,
        &TrustedRoot::default(),
    ));
    assert!(
        matches!(r, Err(hallmark::rekor::UploadError::Unverified { .. })),
        "{r:?}"
    );
}

#[test]
fn rekor_v2_upload_with_a_timestamp_verifies() {
    let Some(s) = stack() else { return };
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let dir = tmp.path();
    let trust =
        TrustedRoot::from_file(Path::new(&s.trusted_root)).unwrap_or_else(|e| panic!("{e}"));
    let k = keys(dir);
    let material = SignerMaterial::Key(k.signer.public_key().clone());
    let rt = runtime();

    let (art, _, statement) = artifact(dir, "artifact-v2");
    let env = sign_envelope(&k.signer, IN_TOTO_PAYLOAD_TYPE, &statement)
        .unwrap_or_else(|e| panic!("{e}"));
    let sig = env.signatures[0].sig.clone();

    // An RFC 3161 timestamp over the signature, verified against the trusted root.
    let cas = hallmark::signing::tsa::authorities(&trust.timestamp_authorities)
        .unwrap_or_else(|e| panic!("{e}"));
    let tsa = hallmark::signing::tsa::TsaClient::new(&s.tsa, cas.clone(), Duration::from_secs(30))
        .unwrap_or_else(|e| panic!("{e}"));
    let ts = rt
        .block_on(tsa.timestamp(&sig))
        .unwrap_or_else(|e| panic!("TSA: {e:?}"));
    let gen_time = hallmark::x509::verify_timestamp(&ts, &sig, &cas)
        .map(|v| jiff::Timestamp::try_from(v.gen_time).unwrap_or_else(|e| panic!("{e}")))
        .unwrap_or_else(|e| panic!("{e}"));

    // The log comes from the stack's signing config, as cosign v3 picks it: Rekor v2.
    let config = std::env::var("HALLMARK_STACK_SIGNING_CONFIG")
        .ok()
        .and_then(|p| std::fs::read(p).ok())
        .unwrap_or_else(|| panic!("HALLMARK_STACK_SIGNING_CONFIG is not readable"));
    let config = hallmark::trust::signing_config::SigningConfig::from_json(&config)
        .unwrap_or_else(|e| panic!("{e}"));
    let logs = config
        .rekor_logs(
            &hallmark::trust::signing_config::REKOR_API_VERSIONS,
            jiff::Timestamp::now(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(logs.len(), 1);
    assert_eq!(
        (logs[0].major_api_version, logs[0].url.trim_end_matches('/')),
        (2, s.rekor_v2.trim_end_matches('/'))
    );
    let target =
        upload::LogTarget::from_service(&logs[0], DsseEntryKind::Dsse, Duration::from_secs(5))
            .unwrap_or_else(|e| panic!("{e}"));
    assert!(target.needs_timestamp());
    let started = std::time::Instant::now();
    let entry = rt
        .block_on(target.log_dsse(&env.to_json(), &material, &trust, Some(gen_time)))
        .unwrap_or_else(|e| panic!("Rekor v2 upload: {e:?}"));
    let client = v2::RekorV2Client::new(&s.rekor_v2, Duration::from_secs(5))
        .unwrap_or_else(|e| panic!("{e}"));
    eprintln!(
        "Rekor v2: logged at index {} in {:?}",
        entry.log_index,
        started.elapsed()
    );
    assert_eq!(
        (
            entry.kind_version.kind.as_str(),
            entry.kind_version.version.as_str()
        ),
        ("hashedrekord", "0.0.2")
    );
    assert_eq!(entry.integrated_time, 0);
    assert!(entry.inclusion_promise.is_none() && entry.inclusion_proof.is_some());
    // Rekor v2 entries cannot go into cosign's legacy annotation.
    assert!(upload::legacy_bundle_annotation(&entry).is_err());

    // The same request again: Rekor v2 answers 409 naming the existing index (its own
    // count: no second entry); hallmark reads that entry back from the tiles and checks
    // it. Without the tiles (the write port serves none) it is reported as already logged.
    let tiles = std::env::var("HALLMARK_STACK_REKOR_V2_TILES_URL")
        .unwrap_or_else(|_| panic!("HALLMARK_STACK_REKOR_V2_TILES_URL is not set"));
    let with_tiles = client
        .clone()
        .with_tiles_url(&tiles, Duration::from_secs(30))
        .unwrap_or_else(|e| panic!("{e}"));
    let again = rt
        .block_on(v2::upload_dsse(
            &with_tiles,
            &env,
            &material,
            &trust,
            Some(gen_time),
        ))
        .unwrap_or_else(|e| panic!("Rekor v2 second upload: {e:?}"));
    assert_eq!(again.log_index, entry.log_index);
    assert_eq!(again.canonicalized_body, entry.canonicalized_body);
    let r = rt.block_on(v2::upload_dsse(
        &client,
        &env,
        &material,
        &trust,
        Some(gen_time),
    ));
    assert!(r.is_err(), "{r:?}");
    // The entry read back (proof computed from the tiles) verifies with cosign too.
    let reread = upload::dsse_bundle(&env, &material, vec![again], vec![ts.clone()]);
    let path = dir.join("v2-reread.sigstore.json");
    std::fs::write(&path, reread.to_json()).unwrap_or_else(|e| panic!("{e}"));
    assert!(cosign_verify(dir, &s, &path, &key_args(&k.key), &art, true));

    let bundle = upload::dsse_bundle(&env, &material, vec![entry], vec![ts]);
    let path = dir.join("v2.sigstore.json");
    std::fs::write(&path, bundle.to_json()).unwrap_or_else(|e| panic!("{e}"));
    both_verify(
        dir,
        &s,
        &path,
        (&key_args(&k.key), &key_args(&k.wrong)),
        &art,
        true,
    );

    // Without the timestamp there is no verified time for a Rekor v2 entry.
    let mut bare = bundle.clone();
    if let Some(vm) = bare.verification_material.as_mut() {
        vm.timestamp_verification_data = None;
    }
    let path = dir.join("v2-no-tsa.sigstore.json");
    std::fs::write(&path, bare.to_json()).unwrap_or_else(|e| panic!("{e}"));
    assert_ne!(
        hallmark_verify(dir, &s, &path, &key_args(&k.key), &art, true),
        0
    );
}

#[test]
fn keyless_uploads_to_rekor_v1_and_v2_verify() {
    use hallmark::signing::fulcio::{KeylessOptions, KeylessSigner};
    use hallmark::signing::token::{Secret, TokenSource};
    let Some(s) = stack() else { return };
    let var = |n: &str| std::env::var(n).ok().filter(|v| !v.is_empty());
    let (Some(fulcio), Some(issuer), Some(mint)) = (
        var("HALLMARK_STACK_FULCIO_URL"),
        var("HALLMARK_STACK_OIDC_ISSUER"),
        var("HALLMARK_STACK_MINT_TOKEN"),
    ) else {
        assert!(
            std::env::var("HALLMARK_REQUIRE_STACK").as_deref() != Ok("1"),
            "HALLMARK_REQUIRE_STACK=1 but Fulcio/OIDC are not in the stack's env"
        );
        eprintln!("stack_rekor: keyless skipped, no Fulcio/OIDC issuer in the stack");
        return;
    };
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let dir = tmp.path();
    let trust =
        TrustedRoot::from_file(Path::new(&s.trusted_root)).unwrap_or_else(|e| panic!("{e}"));
    let rt = runtime();
    // Rekor's search index lowercases SANs: keep the identity lowercase.
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let san = format!("stack-rekor-{nanos}@hallmark.test");
    let out = run(dir, &mint, &[&san]);
    ok(&out, "minting a token");
    let token = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let signer = KeylessSigner::new(
        KeylessOptions::new(fulcio, TokenSource::Static(Secret::new(token))),
        trust.clone(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let right = identity_args(&san, &issuer);
    let wrong = identity_args("someone-else@hallmark.test", &issuer);

    // Rekor v1, dsse 0.0.1 with the Fulcio certificate as verifier.
    let (art, _, statement) = artifact(dir, "keyless-v1");
    let signed = rt
        .block_on(hallmark::signing::sign_envelope_async(
            &signer,
            IN_TOTO_PAYLOAD_TYPE,
            &statement,
        ))
        .unwrap_or_else(|e| panic!("keyless signing: {e:?}"));
    let leaf = signed
        .certificate_chain
        .as_ref()
        .and_then(|c| c.first())
        .cloned()
        .unwrap_or_else(|| panic!("no certificate"));
    let material = SignerMaterial::certificate(&leaf).unwrap_or_else(|e| panic!("{e}"));
    let client =
        RekorClient::new(&s.rekor, Duration::from_secs(30)).unwrap_or_else(|e| panic!("{e}"));
    let up = rt
        .block_on(upload::upload_dsse(
            &client,
            &signed.envelope.to_json(),
            &material,
            DsseEntryKind::Dsse,
            &trust,
        ))
        .unwrap_or_else(|e| panic!("keyless Rekor v1 upload: {e:?}"));
    let bundle = upload::dsse_bundle(&signed.envelope, &material, vec![up.entry], vec![]);
    let path = dir.join("keyless-v1.sigstore.json");
    std::fs::write(&path, bundle.to_json()).unwrap_or_else(|e| panic!("{e}"));
    both_verify(dir, &s, &path, (&right, &wrong), &art, true);

    // Rekor v2 with a TSA timestamp (the only verified time of a keyless v2 entry).
    let (art, _, statement) = artifact(dir, "keyless-v2");
    let signed = rt
        .block_on(hallmark::signing::sign_envelope_async(
            &signer,
            IN_TOTO_PAYLOAD_TYPE,
            &statement,
        ))
        .unwrap_or_else(|e| panic!("keyless signing: {e:?}"));
    let sig = signed.envelope.signatures[0].sig.clone();
    let cas = hallmark::signing::tsa::authorities(&trust.timestamp_authorities)
        .unwrap_or_else(|e| panic!("{e}"));
    let tsa = hallmark::signing::tsa::TsaClient::new(&s.tsa, cas.clone(), Duration::from_secs(30))
        .unwrap_or_else(|e| panic!("{e}"));
    let ts = rt
        .block_on(tsa.timestamp(&sig))
        .unwrap_or_else(|e| panic!("TSA: {e:?}"));
    let gen_time = hallmark::x509::verify_timestamp(&ts, &sig, &cas)
        .map(|v| jiff::Timestamp::try_from(v.gen_time).unwrap_or_else(|e| panic!("{e}")))
        .unwrap_or_else(|e| panic!("{e}"));
    let leaf = signed
        .certificate_chain
        .as_ref()
        .and_then(|c| c.first())
        .cloned()
        .unwrap_or_else(|| panic!("no certificate"));
    let material = SignerMaterial::certificate(&leaf).unwrap_or_else(|e| panic!("{e}"));
    let v2client = v2::RekorV2Client::new(&s.rekor_v2, Duration::from_secs(30))
        .unwrap_or_else(|e| panic!("{e}"));
    let entry = rt
        .block_on(v2::upload_dsse(
            &v2client,
            &signed.envelope,
            &material,
            &trust,
            Some(gen_time),
        ))
        .unwrap_or_else(|e| panic!("keyless Rekor v2 upload: {e:?}"));
    let bundle = upload::dsse_bundle(&signed.envelope, &material, vec![entry], vec![ts]);
    let path = dir.join("keyless-v2.sigstore.json");
    std::fs::write(&path, bundle.to_json()).unwrap_or_else(|e| panic!("{e}"));
    both_verify(dir, &s, &path, (&right, &wrong), &art, true);
}
