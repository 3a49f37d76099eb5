//! `hallmark verify` says what it verified: who signed, where it was logged, and when —
//! in text and in the JSON report.

// Test helpers stop the test at the first error.
#![allow(clippy::panic)]

use std::process::Command;

use hallmark::test_support::shared_dir;
use serde_json::Value;

const SAN: &str = "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main";
const ISSUER: &str = "https://token.actions.githubusercontent.com";

fn verify(output: &str) -> (i32, String) {
    let cases = shared_dir().join("sigstore-conformance");
    let out = Command::new(env!("CARGO_BIN_EXE_hallmark"))
        .arg("verify")
        .arg("--bundle")
        .arg(cases.join("bundle-verify/happy-path-v0.3/bundle.sigstore.json"))
        .args([
            "--certificate-identity",
            SAN,
            "--certificate-oidc-issuer",
            ISSUER,
        ])
        .args(["-o", output])
        .arg(cases.join("a.txt"))
        .output()
        .unwrap_or_else(|e| panic!("running hallmark: {e}"));
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn text_report_says_who_where_when() {
    let (code, text) = verify("text");
    assert_eq!(code, 0, "{text}");
    assert!(text.starts_with("pass: "), "{text}");
    assert!(
        text.contains(&format!("signed by {SAN} (OIDC issuer {ISSUER})")),
        "{text}"
    );
    assert!(
        text.contains("logged in https://rekor.sigstore.dev at index 79571823, integrated 2024-03-19T17:26:26Z"),
        "{text}"
    );
}

#[test]
fn json_report_carries_the_same_facts() {
    let (code, text) = verify("json");
    assert_eq!(code, 0, "{text}");
    let report: Value = serde_json::from_str(&text).expect("JSON report");
    assert_eq!(report["decision"], "pass");
    assert_eq!(report["certificateIdentity"], SAN);
    assert_eq!(report["certificateOidcIssuer"], ISSUER);
    assert_eq!(report["logged"][0]["logUrl"], "https://rekor.sigstore.dev");
    assert_eq!(report["logged"][0]["logIndex"], 79_571_823);
    assert_eq!(
        report["logged"][0]["integratedTime"],
        "2024-03-19T17:26:26Z"
    );
    assert_eq!(report["signingTimes"][0], "2024-03-19T17:26:26Z");
}
