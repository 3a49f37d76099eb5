//! The sigstore-conformance `bundle-verify` cases (tier 4), run the way the suite's
//! client runs them: through `tests/conformance/entrypoint` (which calls
//! `hallmark conformance verify-bundle`), each case twice — with the artifact's path,
//! then with `sha256:<hex>` — with `--key` when the case has `key.pub`, else with the
//! case's `identity`/`issuer` files or the suite's defaults, and `--trusted-root` only
//! when the case ships one (otherwise the embedded public-good root).
//!
//! Cases named `*_fail` must be denied (exit 1) for the reason the case's README gives:
//! [`EXPECTED`] maps each to the check hallmark reports (`deny [CHECK]` on stderr, the
//! same names as `hallmark verify -o json` reasons). Every other case must verify.
#![allow(clippy::panic)] // Tests report failures by panicking.

use std::path::{Path, PathBuf};
use std::process::Command;

use hallmark::test_support::{repo_dir, shared_dir};
use sha2::Digest as _;

/// The suite's default signer (its `test/assets/bundle-verify/README.md` and
/// `test/test_bundle.py`): the conformance beacon workflow on GitHub Actions.
const DEFAULT_IDENTITY: &str = "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main";
/// The suite's default OIDC issuer.
const DEFAULT_ISSUER: &str = "https://token.actions.githubusercontent.com";

/// Each `_fail` case and the check that must deny it (from the case's README).
const EXPECTED: &[(&str, &str)] = &[
    // A staging bundle: its Rekor log is not in the production root.
    ("bundle-from-wrong-instance_fail", "transparency-log"),
    ("bundle-invalid-base64-signature_fail", "bundle"),
    ("bundle-negative-log-index_fail", "transparency-log"),
    ("bundle-unknown-version_fail", "bundle"),
    ("checkpoint-bad-keyhint_fail", "transparency-log"),
    ("dsse-invalid-sig_fail", "signature"),
    ("dsse-mismatch-envelope_fail", "transparency-log"),
    // The key in the hashedrekord body was changed: the SET no longer verifies.
    ("incorrect-public-key_fail", "transparency-log"),
    // Integrated time outside the leaf's validity.
    ("integrated-time-in-future_fail", "certificate"),
    ("intoto-log-entry-mismatch_fail", "transparency-log"),
    ("intoto-missing-inclusion-proof_fail", "transparency-log"),
    // TSA time outside the leaf's validity.
    (
        "intoto-tsa-timestamp-outside-cert-validity_fail",
        "certificate",
    ),
    ("invalid-ct-key_fail", "sct"),
    ("invalid-inclusion-proof_fail", "transparency-log"),
    // Key-signed bundle verified against an identity: no key given.
    ("managed-key-no-key_fail", "signer"),
    ("message-digest-mismatch_fail", "message-digest"),
    ("rekor2-checkpoint-missing-origin_fail", "transparency-log"),
    (
        "rekor2-checkpoint-missing-root-hash_fail",
        "transparency-log",
    ),
    (
        "rekor2-checkpoint-no-matching-signature_fail",
        "transparency-log",
    ),
    ("rekor2-dsse-invalid-sig_fail", "signature"),
    ("rekor2-dsse-mismatch-envelope_fail", "transparency-log"),
    ("rekor2-no-inclusion-proof_fail", "transparency-log"),
    (
        "rekor2-timestamp-outside-trust-root-tsa-validity_fail",
        "timestamp",
    ),
    (
        "rekor2-timestamp-outside-tsa-cert-validity_fail",
        "timestamp",
    ),
    (
        "rekor2-timestamp-untrusted-tsa-with-embedded-cert_fail",
        "timestamp",
    ),
    (
        "rekor2-timestamp-untrusted-tsa-without-embedded-cert_fail",
        "timestamp",
    ),
    // A valid TSA time, but outside the leaf's validity.
    ("rekor2-timestamp-with-incorrect-time_fail", "certificate"),
    ("set-invalid-signature_fail", "transparency-log"),
    ("signature-mismatch_fail", "signature"),
    // The entry records another certificate and signature.
    ("wrong-hashedrekord-cert-and-sig_fail", "transparency-log"),
    ("wrong-hashedrekord-entry_fail", "transparency-log"),
];

fn read_trimmed(p: &Path) -> Option<String> {
    std::fs::read_to_string(p).ok().map(|s| s.trim().to_owned())
}

/// Run one case once; `Err` says why it did not behave as expected.
fn run_case(case: &Path, artifact_arg: &str) -> Result<(), String> {
    let name = case
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut cmd = Command::new(repo_dir().join("tests/conformance/entrypoint"));
    cmd.env("HALLMARK_BIN", env!("CARGO_BIN_EXE_hallmark"))
        .arg("verify-bundle")
        .arg("--bundle")
        .arg(case.join("bundle.sigstore.json"));
    if case.join("key.pub").is_file() {
        cmd.arg("--key").arg(case.join("key.pub"));
    } else {
        let identity =
            read_trimmed(&case.join("identity")).unwrap_or_else(|| DEFAULT_IDENTITY.into());
        let issuer = read_trimmed(&case.join("issuer")).unwrap_or_else(|| DEFAULT_ISSUER.into());
        cmd.args(["--certificate-identity", &identity])
            .args(["--certificate-oidc-issuer", &issuer]);
    }
    if case.join("trusted_root.json").is_file() {
        cmd.arg("--trusted-root")
            .arg(case.join("trusted_root.json"));
    }
    cmd.arg(artifact_arg);
    let out = cmd
        .output()
        .map_err(|e| format!("running the entrypoint: {e}"))?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    let code = out.status.code();
    if !name.ends_with("_fail") {
        return if code == Some(0) {
            Ok(())
        } else {
            Err(format!(
                "expected to verify, exit {code:?}: {}",
                stderr.trim()
            ))
        };
    }
    let Some((_, check)) = EXPECTED.iter().find(|(n, _)| *n == name) else {
        return Err(format!(
            "no expected reason in EXPECTED (exit {code:?}: {})",
            stderr.trim()
        ));
    };
    let want = format!("hallmark: deny [{check}]");
    if code == Some(1) && stderr.contains(&want) {
        Ok(())
    } else {
        Err(format!(
            "expected a [{check}] denial (exit 1), got exit {code:?}: {}",
            stderr.trim()
        ))
    }
}

#[test]
fn sigstore_conformance_bundle_verify() {
    let dir = shared_dir().join("sigstore-conformance/bundle-verify");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.join("bundle.sigstore.json").is_file())
        .collect();
    cases.sort();
    assert!(!cases.is_empty(), "no cases under {}", dir.display());

    let mut failures = Vec::new();
    for case in &cases {
        let artifact = if case.join("artifact").is_file() {
            case.join("artifact")
        } else {
            dir.join("a.txt")
        };
        let bytes =
            std::fs::read(&artifact).unwrap_or_else(|e| panic!("{}: {e}", artifact.display()));
        let digest = format!("sha256:{}", hex::encode(sha2::Sha256::digest(&bytes)));
        let path_arg = artifact.to_string_lossy().into_owned();
        let name = case
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut why = Vec::new();
        for (how, arg) in [("path", path_arg.as_str()), ("digest", digest.as_str())] {
            if let Err(e) = run_case(case, arg) {
                why.push(format!("{how}: {e}"));
            }
        }
        if !why.is_empty() {
            failures.push(format!("{name}: {}", why.join("; ")));
        }
    }
    // Every table entry names a case that exists (no stale expectations).
    for (name, _) in EXPECTED {
        if !dir.join(name).is_dir() {
            failures.push(format!("{name}: listed in EXPECTED but not found"));
        }
    }
    println!(
        "conformance: {} cases, {} passed, {} failed",
        cases.len(),
        cases.len().saturating_sub(failures.len()),
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "conformance failures:\n{}",
        failures.join("\n")
    );
}
