//! `hallmark verify`'s built-in SLSA checks over envelopes that `hallmark sign --key`
//! made from a real TaskRun (testdata/runs/quickstart-taskrun.yaml), as SLSA v0.2 and v1:
//! each check passes with the run's own values and denies (exit 1) with a reason naming
//! the check, the expected and the found value.

// Test helpers stop the test at the first error.
#![allow(clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command;

use hallmark::test_support::shared_dir;
use serde_json::Value;

const SUBJECT: &str = "sha256:00c9c46cf9dc40d88583ea0ce63c77d8029a606cac6c23590fab5f152d431ed3";
const KANIKO: &str = "sha256:c6166717f7fe0b7da44908c986137ecfeab21f31ec3992f6e128fff8a94be8a5";

fn keys() -> PathBuf {
    shared_dir().join("chains/keys")
}

fn sign(dir: &Path, format: &str) -> PathBuf {
    let run = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/runs/quickstart-taskrun.yaml");
    let out_path = dir.join(format!("{}.json", format.replace('/', "-")));
    let password = std::fs::read_to_string(keys().join("cosign.password"))
        .unwrap_or_else(|e| panic!("cosign.password: {e}"));
    let out = Command::new(env!("CARGO_BIN_EXE_hallmark"))
        .arg("sign")
        .arg(&run)
        .args(["--format", format, "--key"])
        .arg(keys().join("cosign.key"))
        .arg("-o")
        .arg(&out_path)
        .env("COSIGN_PASSWORD", password)
        .output()
        .unwrap_or_else(|e| panic!("running hallmark sign: {e}"));
    assert!(
        out.status.success(),
        "hallmark sign: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out_path
}

fn verify(envelope: &Path, checks: &[&str], output: &str) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_hallmark"))
        .args(["verify", SUBJECT, "--envelope"])
        .arg(envelope)
        .arg("--key")
        .arg(keys().join("cosign.pub"))
        .args(["--insecure-ignore-tlog", "-o", output])
        .args(checks)
        .output()
        .unwrap_or_else(|e| panic!("running hallmark verify: {e}"));
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

#[test]
fn checks_pass_and_deny_on_signed_runs() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    for (format, build_type) in [
        ("slsa/v1", "tekton.dev/v1/TaskRun"),
        ("slsa/v2alpha4", "https://tekton.dev/chains/v2/slsa"),
    ] {
        let env = sign(dir.path(), format);
        let source_ref = format!("--source-ref={KANIKO}");
        let build_type_flag = format!("--build-type={build_type}");
        let good = [
            "--builder-id=https://tekton.dev/chains/v2",
            "--source-uri=oci://gcr.io/kaniko-project/executor",
            source_ref.as_str(),
            build_type_flag.as_str(),
            "--param=IMAGE=registry.example.com/quickstart/app",
            "--max-age=36500d",
        ];
        let (code, out) = verify(&env, &good, "text");
        assert_eq!(code, 0, "{format}: {out}");
        assert!(out.contains("check builder-id passed"), "{out}");
        let (code, out) = verify(&env, &good, "json");
        assert_eq!(code, 0, "{format}: {out}");
        let report = json(&out);
        assert_eq!(report["decision"], "pass");
        assert_eq!(report["checks"].as_array().map(Vec::len), Some(6), "{out}");

        for (flag, check, found) in [
            (
                "--builder-id=https://evil.example",
                "builder-id",
                Some("https://tekton.dev/chains/v2"),
            ),
            (
                "--source-uri=https://github.com/o/r",
                "source-uri",
                Some("oci://gcr.io/kaniko-project/executor"),
            ),
            ("--source-ref=deadbeef", "source-ref", None),
            ("--build-type=other", "build-type", Some(build_type)),
            (
                "--param=IMAGE=registry.example.com/other",
                "param",
                Some("IMAGE=registry.example.com/quickstart/app"),
            ),
            ("--param=NOPE=x", "param", None),
            ("--max-age=1h", "max-age", None),
            ("--threshold=2", "threshold", None),
        ] {
            let (code, out) = verify(&env, &[flag], "json");
            assert_eq!(code, 1, "{format} {flag}: {out}");
            let report = json(&out);
            assert_eq!(report["decision"], "deny", "{out}");
            let reason = &report["reasons"][0];
            assert_eq!(reason["check"], check, "{format} {flag}: {out}");
            assert!(reason["expected"].is_string(), "{out}");
            if let Some(f) = found {
                assert_eq!(reason["found"], f, "{format} {flag}: {out}");
            }
            let (code, text) = verify(&env, &[flag], "text");
            assert_eq!(code, 1, "{text}");
            assert!(text.starts_with("deny:"), "{text}");
            assert!(text.contains(&format!("{check}: expected")), "{text}");
        }
        // A missing field is named as missing.
        let (_, text) = verify(&env, &["--param=NOPE=x"], "text");
        assert!(text.contains("missing"), "{text}");
        // Bad flag values are usage errors (exit 2), not denials.
        for bad in ["--max-age=soon", "--param=novalue", "--threshold=0"] {
            let (code, out) = verify(&env, &[bad], "text");
            assert_eq!(code, 2, "{bad}: {out}");
        }
    }
}

/// Image mode, offline: the controller's embedded mode signs testdata/embedded into an
/// OCI image layout; the checks apply to the image's attestations that verified.
#[test]
fn checks_apply_to_image_attestations() {
    const DIGEST: &str = "sha256:3706027c00733e8d97971285d940d6b4bcbdf3e68e0796312e531c6ecb7197b3";
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let layout = tmp.path().join("layout");
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/embedded");
    let out = Command::new(env!("CARGO_BIN_EXE_hallmark"))
        .arg("controller")
        .arg(format!("--source=dir:{}", source.display()))
        .arg("--once")
        .arg(format!("--output=oci-layout:{}", layout.display()))
        .env_remove("COSIGN_PASSWORD")
        .output()
        .unwrap_or_else(|e| panic!("running hallmark controller: {e}"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let image = format!("oci-layout:{}@{DIGEST}", layout.display());
    let verify = |flag: &str| {
        let out = Command::new(env!("CARGO_BIN_EXE_hallmark"))
            .args(["verify", &image, "--key"])
            .arg(tmp.path().join("hallmark.pub"))
            .args(["--insecure-ignore-tlog", "-o", "json", flag])
            .output()
            .unwrap_or_else(|e| panic!("running hallmark verify: {e}"));
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        (out.status.code().unwrap_or(-1), json(&text))
    };
    let (code, report) = verify("--builder-id=https://tekton.dev/chains/v2");
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["checks"][0]["check"], "builder-id", "{report}");
    let (code, report) = verify("--builder-id=https://evil.example");
    assert_eq!(code, 1, "{report}");
    assert_eq!(report["reasons"][0]["check"], "builder-id", "{report}");
    assert!(report["reasons"][0]["location"].is_string(), "{report}");
    let atts = report["attestations"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(
        atts.iter()
            .any(|a| a["decision"] == "deny" && a["reasons"][0]["check"] == "builder-id"),
        "{report}"
    );
    let (code, report) = verify("--threshold=2");
    assert_eq!(code, 1, "{report}");
    assert_eq!(report["reasons"][0]["check"], "threshold", "{report}");
}
