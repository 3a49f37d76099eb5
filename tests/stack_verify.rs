//! `hallmark verify IMAGE@DIGEST` against the real registries and Rekor of the local stack,
//! reaching the same verdict as cosign (issue 4, "agreement with cosign"):
//!
//! - cosign v3 attests with a key into the registry with the referrers API (referrer
//!   bundle) and into docker-registry 2.8 without it (the `sha256-<hex>` fallback tag);
//! - cosign v2 attests into the legacy `sha256-<hex>.att` layout, with the Rekor bundle
//!   annotation;
//! - cosign v3 attests into the TLS + htpasswd registry (docker `config.json` credentials,
//!   the stack's CA).
//!
//! For each image, cosign's `verify-attestation` and `hallmark verify` run with the right
//! key and with another key; the verdicts must agree (pass / fail), and hallmark's must be
//! a pass with the right key and a deny (exit 1) with the wrong one. An image with no
//! attestation is denied by both; an unreachable or unauthorized registry is an error
//! (exit 2), never a pass or a deny.
//!
//! Needs the stack (`eval "$(tests/stack/env)"`). Without it the test says so and returns,
//! unless `HALLMARK_REQUIRE_STACK=1` (set by `tests/run stack`), where it fails.
#![allow(clippy::panic)] // Tests report failures by panicking.

mod support;

use support::peers::{ok, run, stdout};

use std::path::Path;

/// Extra environment of a peer command.
type Env<'a> = Vec<(&'a str, &'a str)>;

struct Stack {
    registry: String,
    referrers: String,
    tls: String,
    tls_ca: String,
    tls_user: String,
    tls_password: String,
    rekor: String,
    rekor_pubkey: String,
    trusted_root: String,
    cosign: String,
    cosign2: String,
    crane: String,
}

fn stack() -> Option<Stack> {
    let var = |n: &str| std::env::var(n).ok().filter(|v| !v.is_empty());
    let s = (|| {
        Some(Stack {
            registry: var("HALLMARK_STACK_REGISTRY")?,
            referrers: var("HALLMARK_STACK_REGISTRY_REFERRERS")?,
            tls: var("HALLMARK_STACK_REGISTRY_TLS")?,
            tls_ca: var("HALLMARK_STACK_REGISTRY_TLS_CA")?,
            tls_user: var("HALLMARK_STACK_REGISTRY_TLS_USER")?,
            tls_password: var("HALLMARK_STACK_REGISTRY_TLS_PASSWORD")?,
            rekor: var("HALLMARK_STACK_REKOR_URL")?,
            rekor_pubkey: var("HALLMARK_STACK_REKOR_PUBKEY")?,
            trusted_root: var("HALLMARK_STACK_TRUSTED_ROOT")?,
            cosign: var("HALLMARK_STACK_COSIGN")?,
            cosign2: var("HALLMARK_STACK_COSIGN_V2")?,
            crane: var("HALLMARK_STACK_CRANE")?,
        })
    })();
    if s.is_none() {
        assert!(
            std::env::var("HALLMARK_REQUIRE_STACK").as_deref() != Ok("1"),
            "HALLMARK_REQUIRE_STACK=1 but the stack's env is not set (eval \"$(tests/stack/env)\")"
        );
        eprintln!("stack_verify: skipped, no stack (eval \"$(tests/stack/env)\" to run it)");
    }
    s
}

/// `hallmark verify IMAGE --key KEY -o json`: exit code and report.
fn hallmark(
    dir: &Path,
    s: &Stack,
    image: &str,
    key: &Path,
    extra: &[&str],
) -> (i32, serde_json::Value) {
    let key = key.to_string_lossy();
    let mut args = vec![
        "verify",
        image,
        "--key",
        &key,
        "--trusted-root",
        &s.trusted_root,
        "--type",
        "slsaprovenance",
        "-o",
        "json",
    ];
    args.extend_from_slice(extra);
    let out = run(dir, env!("CARGO_BIN_EXE_hallmark"), &args, &[]);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "hallmark verify {image}: no JSON report ({e}):\n{}\n{}",
            stdout(&out),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap_or(-1), report)
}

fn decision(r: &serde_json::Value) -> &str {
    r["decision"].as_str().unwrap_or_default()
}

#[test]
fn hallmark_agrees_with_cosign_on_stack_images() {
    let Some(s) = stack() else { return };
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let dir = tmp.path();
    std::fs::create_dir_all(dir.join("docker")).unwrap_or_else(|e| panic!("{e}"));

    // Keys, predicate and signing config (Rekor v1 of the stack).
    for prefix in ["key", "other"] {
        let out = run(
            dir,
            &s.cosign,
            &["generate-key-pair", "--output-key-prefix", prefix],
            &[],
        );
        ok(&out, "cosign generate-key-pair");
    }
    let (key, other) = (dir.join("key.pub"), dir.join("other.pub"));
    let tag = format!(
        "{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default()
    );
    std::fs::write(
        dir.join("predicate.json"),
        format!(
            r#"{{"builder":{{"id":"https://hallmark.test/stack-verify"}},"buildType":"https://hallmark.test/v1","invocation":{{"parameters":{{"tag":"{tag}"}}}},"materials":[]}}"#
        ),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let rekor_arg = format!(
        "url={},api-version=1,start-time=2020-01-01T00:00:00Z,operator=hallmark-stack",
        s.rekor
    );
    ok(
        &run(
            dir,
            &s.cosign,
            &[
                "signing-config",
                "create",
                "--rekor",
                &rekor_arg,
                "--rekor-config=ANY",
                "--out",
                "signing_config.json",
            ],
            &[],
        ),
        "cosign signing-config create",
    );

    // One random image, pushed everywhere.
    std::fs::write(dir.join("random.bin"), tag.repeat(64)).unwrap_or_else(|e| panic!("{e}"));
    ok(
        &run(dir, "tar", &["-cf", "layer.tar", "random.bin"], &[]),
        "tar",
    );
    let push = |reference: &str, env: &[(&str, &str)]| {
        ok(
            &run(
                dir,
                &s.crane,
                &["append", "-f", "layer.tar", "-t", reference],
                env,
            ),
            &format!("crane append {reference}"),
        );
    };
    let tls_env = [("SSL_CERT_FILE", s.tls_ca.as_str())];
    ok(
        &run(
            dir,
            &s.crane,
            &[
                "auth",
                "login",
                &s.tls,
                "-u",
                &s.tls_user,
                "-p",
                &s.tls_password,
            ],
            &[],
        ),
        "crane auth login",
    );
    let images: Vec<(&str, String, Env<'_>)> = vec![
        (
            "cosign v3, referrers API",
            format!("{}/stack-verify/img", s.referrers),
            vec![],
        ),
        (
            "cosign v3, fallback tag",
            format!("{}/stack-verify/img", s.registry),
            vec![],
        ),
        (
            "cosign v2, legacy .att",
            format!("{}/stack-verify/legacy", s.registry),
            vec![],
        ),
        (
            "cosign v3, TLS + htpasswd",
            format!("{}/stack-verify/img", s.tls),
            tls_env.to_vec(),
        ),
    ];
    let mut digest = String::new();
    for (_, repo, env) in &images {
        push(&format!("{repo}:{tag}"), env);
        let d = stdout(&run(
            dir,
            &s.crane,
            &["digest", &format!("{repo}:{tag}")],
            env,
        ));
        assert!(d.starts_with("sha256:"), "crane digest {repo}: `{d}`");
        assert!(
            digest.is_empty() || digest == d,
            "same content, different digests"
        );
        digest = d;
    }

    // Attest each image with `key`.
    for (what, repo, env) in &images {
        let image = format!("{repo}@{digest}");
        let out = if what.contains("v2") {
            run(
                dir,
                &s.cosign2,
                &[
                    "attest",
                    "--yes",
                    "--key",
                    "key.key",
                    "--predicate",
                    "predicate.json",
                    "--type",
                    "slsaprovenance",
                    "--rekor-url",
                    &s.rekor,
                    &image,
                ],
                env,
            )
        } else {
            run(
                dir,
                &s.cosign,
                &[
                    "attest",
                    "--yes",
                    "--key",
                    "key.key",
                    "--predicate",
                    "predicate.json",
                    "--type",
                    "slsaprovenance",
                    "--signing-config",
                    "signing_config.json",
                    "--trusted-root",
                    &s.trusted_root,
                    &image,
                ],
                env,
            )
        };
        ok(&out, &format!("{what}: attest {image}"));
    }

    // Verdicts: cosign and hallmark, right key and wrong key.
    let mut agreed = 0;
    for (what, repo, env) in &images {
        let image = format!("{repo}@{digest}");
        for (label, k) in [("right key", &key), ("wrong key", &other)] {
            let k_str = k.to_string_lossy();
            let cosign_out = if what.contains("v2") {
                let mut env = env.clone();
                env.push(("SIGSTORE_REKOR_PUBLIC_KEY", s.rekor_pubkey.as_str()));
                run(
                    dir,
                    &s.cosign2,
                    &[
                        "verify-attestation",
                        "--key",
                        &k_str,
                        "--type",
                        "slsaprovenance",
                        "--rekor-url",
                        &s.rekor,
                        &image,
                    ],
                    &env,
                )
            } else {
                run(
                    dir,
                    &s.cosign,
                    &[
                        "verify-attestation",
                        "--key",
                        &k_str,
                        "--type",
                        "slsaprovenance",
                        "--trusted-root",
                        &s.trusted_root,
                        &image,
                    ],
                    env,
                )
            };
            let extra: Vec<&str> = if what.contains("TLS") {
                vec!["--registry-ca", &s.tls_ca]
            } else {
                vec![]
            };
            let (code, report) = hallmark(dir, &s, &image, k, &extra);
            let cosign_pass = cosign_out.status.success();
            eprintln!(
                "stack_verify: {what}, {label}: cosign {}, hallmark {} (exit {code})",
                if cosign_pass { "pass" } else { "fail" },
                decision(&report)
            );
            assert_eq!(
                cosign_pass,
                code == 0,
                "{what}, {label}: cosign and hallmark disagree\ncosign: {}\nhallmark: {report:#}",
                String::from_utf8_lossy(&cosign_out.stderr)
            );
            if label == "right key" {
                assert_eq!(code, 0, "{what}: hallmark must pass: {report:#}");
                let location = report["location"].as_str().unwrap_or_default();
                let expected = if what.contains("v2") {
                    ".att layer"
                } else if what.contains("fallback") {
                    "(fallback tag)"
                } else {
                    "referrer sha256:"
                };
                assert!(
                    location.contains(expected),
                    "{what}: location `{location}`, expected {expected}"
                );
                assert_eq!(
                    report["logged"].as_array().map(Vec::len),
                    Some(1),
                    "{report:#}"
                );
            } else {
                assert_eq!(code, 1, "{what}: the wrong key must be a deny: {report:#}");
                let reasons = report["reasons"].to_string();
                assert!(reasons.contains("\"signature\""), "{what}: {reasons}");
            }
            agreed += 1;
        }
    }

    // No attestation at all: both refuse; hallmark denies.
    let bare = format!("{}/stack-verify/bare", s.registry);
    push(&format!("{bare}:{tag}"), &[]);
    let bare_image = format!("{bare}@{digest}");
    let cosign_out = run(
        dir,
        &s.cosign,
        &[
            "verify-attestation",
            "--key",
            &key.to_string_lossy(),
            "--type",
            "slsaprovenance",
            "--trusted-root",
            &s.trusted_root,
            &bare_image,
        ],
        &[],
    );
    let (code, report) = hallmark(dir, &s, &bare_image, &key, &[]);
    assert!(
        !cosign_out.status.success(),
        "cosign verified an image with no attestation"
    );
    assert_eq!(code, 1, "no attestation must be a deny: {report:#}");
    agreed += 1;

    // The TLS registry without credentials, or without its CA: could not decide (exit 2).
    let tls_image = format!("{}/stack-verify/img@{digest}", s.tls);
    let no_creds = run(
        dir,
        env!("CARGO_BIN_EXE_hallmark"),
        &[
            "verify",
            &tls_image,
            "--key",
            &key.to_string_lossy(),
            "--trusted-root",
            &s.trusted_root,
            "--registry-ca",
            &s.tls_ca,
        ],
        &[(
            "DOCKER_CONFIG",
            dir.join("no-such-dir").to_string_lossy().as_ref(),
        )],
    );
    assert_eq!(
        no_creds.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&no_creds.stderr)
    );
    assert!(
        String::from_utf8_lossy(&no_creds.stderr).contains("401"),
        "the error names the status"
    );
    let (code, report) = hallmark(dir, &s, &tls_image, &key, &[]);
    assert_eq!(
        code, 2,
        "an untrusted registry certificate is an error: {report:#}"
    );
    assert!(
        report["reasons"].to_string().contains("certificate"),
        "{report:#}"
    );

    eprintln!("stack_verify: {agreed} verdicts, cosign and hallmark agree on all");
}

/// A fresh random image in `repo` (a registry without TLS), pushed with crane: its digest.
fn push_random_image(dir: &Path, s: &Stack, repo: &str) -> String {
    let nonce = format!(
        "{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default()
    );
    std::fs::write(dir.join("random.bin"), nonce.repeat(64)).unwrap_or_else(|e| panic!("{e}"));
    ok(
        &run(dir, "tar", &["-cf", "layer.tar", "random.bin"], &[]),
        "tar",
    );
    ok(
        &run(
            dir,
            &s.crane,
            &[
                "append",
                "-f",
                "layer.tar",
                "-t",
                &format!("{repo}:{nonce}"),
            ],
            &[],
        ),
        "crane append",
    );
    let d = stdout(&run(
        dir,
        &s.crane,
        &["digest", &format!("{repo}:{nonce}")],
        &[],
    ));
    assert!(d.starts_with("sha256:"), "crane digest {repo}: `{d}`");
    d
}

fn var(name: &str) -> Option<String> {
    let v = std::env::var(name).ok().filter(|v| !v.is_empty());
    if v.is_none() {
        assert!(
            std::env::var("HALLMARK_REQUIRE_STACK").as_deref() != Ok("1"),
            "HALLMARK_REQUIRE_STACK=1 but {name} is not set: is every part of the stack up?"
        );
        eprintln!("stack_verify: skipped, {name} is not set");
    }
    v
}

/// Keyless: cosign v3 attests with a token from the stack's OIDC issuer (Fulcio
/// certificate with an SCT from the CT log), logged in Rekor v1, and again in Rekor v2 with
/// a TSA timestamp. cosign and hallmark agree for the right identity, a wrong identity and a
/// wrong issuer.
#[test]
fn keyless_verdicts_agree_with_cosign() {
    let Some(s) = stack() else { return };
    let (Some(mint), Some(issuer), Some(fulcio), Some(signing_config)) = (
        var("HALLMARK_STACK_MINT_TOKEN"),
        var("HALLMARK_STACK_OIDC_ISSUER"),
        var("HALLMARK_STACK_FULCIO_URL"),
        var("HALLMARK_STACK_SIGNING_CONFIG"),
    ) else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let dir = tmp.path();
    std::fs::create_dir_all(dir.join("docker")).unwrap_or_else(|e| panic!("{e}"));
    let ident = format!("stack-verify-{}@hallmark.test", std::process::id());
    let token = stdout(&run(dir, &mint, &[&ident], &[]));
    assert!(token.split('.').count() == 3, "minting a token: `{token}`");
    std::fs::write(
        dir.join("predicate.json"),
        r#"{"buildDefinition":{"buildType":"https://hallmark.test/v1","externalParameters":{}},"runDetails":{"builder":{"id":"https://hallmark.test/stack-verify"}}}"#,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let service = |url: &str| {
        format!("url={url},api-version=1,start-time=2020-01-01T00:00:00Z,operator=hallmark-stack")
    };
    let (fulcio_svc, oidc_svc, rekor_svc) = (service(&fulcio), service(&issuer), service(&s.rekor));
    ok(
        &run(
            dir,
            &s.cosign,
            &[
                "signing-config",
                "create",
                "--fulcio",
                &fulcio_svc,
                "--oidc-provider",
                &oidc_svc,
                "--rekor",
                &rekor_svc,
                "--rekor-config=ANY",
                "--out",
                "signing_config.v1.json",
            ],
            &[],
        ),
        "cosign signing-config create",
    );
    let v1_config = dir
        .join("signing_config.v1.json")
        .to_string_lossy()
        .into_owned();
    let mut verdicts = 0;
    for (log, config) in [
        ("Rekor v1", v1_config.as_str()),
        ("Rekor v2 + TSA", signing_config.as_str()),
    ] {
        let repo = format!("{}/stack-verify/keyless", s.referrers);
        let image = format!("{repo}@{}", push_random_image(dir, &s, &repo));
        ok(
            &run(
                dir,
                &s.cosign,
                &[
                    "attest",
                    "--yes",
                    "--identity-token",
                    &token,
                    "--predicate",
                    "predicate.json",
                    "--type",
                    "slsaprovenance1",
                    "--signing-config",
                    config,
                    "--trusted-root",
                    &s.trusted_root,
                    &image,
                ],
                &[],
            ),
            &format!("cosign attest keylessly ({log})"),
        );
        for (label, who, iss) in [
            ("right identity", ident.as_str(), issuer.as_str()),
            (
                "wrong identity",
                "someone-else@hallmark.test",
                issuer.as_str(),
            ),
            (
                "wrong issuer",
                ident.as_str(),
                "https://accounts.example.com",
            ),
        ] {
            let cosign_out = run(
                dir,
                &s.cosign,
                &[
                    "verify-attestation",
                    "--type",
                    "slsaprovenance1",
                    "--trusted-root",
                    &s.trusted_root,
                    "--certificate-identity",
                    who,
                    "--certificate-oidc-issuer",
                    iss,
                    &image,
                ],
                &[],
            );
            let out = run(
                dir,
                env!("CARGO_BIN_EXE_hallmark"),
                &[
                    "verify",
                    &image,
                    "--type",
                    "slsaprovenance1",
                    "--trusted-root",
                    &s.trusted_root,
                    "--certificate-identity",
                    who,
                    "--certificate-oidc-issuer",
                    iss,
                    "-o",
                    "json",
                ],
                &[],
            );
            let report: serde_json::Value =
                serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
                    panic!(
                        "no JSON report ({e}): {}",
                        String::from_utf8_lossy(&out.stderr)
                    )
                });
            let code = out.status.code().unwrap_or(-1);
            let cosign_pass = cosign_out.status.success();
            eprintln!(
                "stack_verify: keyless, {log}, {label}: cosign {}, hallmark {} (exit {code})",
                if cosign_pass { "pass" } else { "fail" },
                decision(&report)
            );
            assert_eq!(
                cosign_pass,
                code == 0,
                "keyless {log}, {label}: cosign and hallmark disagree\ncosign: {}\nhallmark: {report:#}",
                String::from_utf8_lossy(&cosign_out.stderr)
            );
            if label == "right identity" {
                assert_eq!(code, 0, "{report:#}");
                assert_eq!(report["certificateIdentity"], serde_json::json!(ident));
                assert_eq!(report["certificateOidcIssuer"], serde_json::json!(issuer));
                assert!(
                    !report["signingTimes"].as_array().is_none_or(Vec::is_empty),
                    "{report:#}"
                );
            } else {
                assert_eq!(code, 1, "{report:#}");
                assert!(
                    report["reasons"].to_string().contains("\"identity\""),
                    "{report:#}"
                );
            }
            verdicts += 1;
        }
    }
    eprintln!("stack_verify: keyless, {verdicts} verdicts, cosign and hallmark agree on all");
}

/// Tekton Chains (the stack's real controller) signs a TaskRun that built an image and
/// pushes its attestation beside it; cosign v2 and hallmark agree on it with Chains' key
/// and with another key.
#[test]
fn chains_attestation_verdicts_agree_with_cosign() {
    let Some(s) = stack() else { return };
    let Some(sample) = var("HALLMARK_STACK_CHAINS_SAMPLE") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let dir = tmp.path();
    std::fs::create_dir_all(dir.join("docker")).unwrap_or_else(|e| panic!("{e}"));
    let out = run(dir, &sample, &["stack-verify"], &[]);
    ok(&out, "tests/stack/chains-sample");
    let sample: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("chains-sample printed no JSON ({e}): {}", stdout(&out)));
    let image = sample["image"].as_str().unwrap_or_default().to_owned();
    let chains_key = sample["public_key"].as_str().unwrap_or_default().to_owned();
    ok(
        &run(
            dir,
            &s.cosign,
            &["generate-key-pair", "--output-key-prefix", "other"],
            &[],
        ),
        "cosign generate-key-pair",
    );
    let other = dir.join("other.pub").to_string_lossy().into_owned();
    let mut verdicts = 0;
    for (label, key) in [
        ("Chains' key", chains_key.as_str()),
        ("wrong key", other.as_str()),
    ] {
        let cosign_out = run(
            dir,
            &s.cosign2,
            &[
                "verify-attestation",
                "--key",
                key,
                "--type",
                "slsaprovenance",
                "--rekor-url",
                &s.rekor,
                &image,
            ],
            &[("SIGSTORE_REKOR_PUBLIC_KEY", s.rekor_pubkey.as_str())],
        );
        let (code, report) = hallmark(dir, &s, &image, Path::new(key), &[]);
        let cosign_pass = cosign_out.status.success();
        eprintln!(
            "stack_verify: Tekton Chains, {label}: cosign v2 {}, hallmark {} (exit {code})",
            if cosign_pass { "pass" } else { "fail" },
            decision(&report)
        );
        assert_eq!(
            cosign_pass,
            code == 0,
            "Chains, {label}: cosign and hallmark disagree\ncosign: {}\nhallmark: {report:#}",
            String::from_utf8_lossy(&cosign_out.stderr)
        );
        if label == "wrong key" {
            assert_eq!(code, 1, "{report:#}");
        } else {
            assert_eq!(
                code, 0,
                "hallmark must verify Chains' attestation: {report:#}"
            );
            assert!(
                report["location"]
                    .as_str()
                    .is_some_and(|l| l.contains(".att")),
                "{report:#}"
            );
        }
        verdicts += 1;
    }
    eprintln!("stack_verify: Tekton Chains, {verdicts} verdicts, cosign and hallmark agree on all");
}

/// `--tuf-url`: the trusted root comes from the stack's TUF repository (tuftool), starting
/// from its initial root.json. The same attestation is denied with the embedded public-good
/// root (so the pass is the TUF root's doing), and a tampered initial root or an unreachable
/// repository is an error (exit 2).
#[test]
fn trusted_root_refreshed_through_tuf() {
    let Some(s) = stack() else { return };
    let (Some(tuf_url), Some(tuf_root)) = (
        var("HALLMARK_STACK_TUF_URL"),
        var("HALLMARK_STACK_TUF_ROOT"),
    ) else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let dir = tmp.path();
    std::fs::create_dir_all(dir.join("docker")).unwrap_or_else(|e| panic!("{e}"));
    ok(
        &run(
            dir,
            &s.cosign,
            &["generate-key-pair", "--output-key-prefix", "key"],
            &[],
        ),
        "cosign generate-key-pair",
    );
    std::fs::write(
        dir.join("predicate.json"),
        r#"{"builder":{"id":"https://hallmark.test/tuf"},"buildType":"https://hallmark.test/v1","invocation":{},"materials":[]}"#,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let rekor_arg = format!(
        "url={},api-version=1,start-time=2020-01-01T00:00:00Z,operator=hallmark-stack",
        s.rekor
    );
    ok(
        &run(
            dir,
            &s.cosign,
            &[
                "signing-config",
                "create",
                "--rekor",
                &rekor_arg,
                "--rekor-config=ANY",
                "--out",
                "signing_config.json",
            ],
            &[],
        ),
        "cosign signing-config create",
    );
    let repo = format!("{}/stack-verify/tuf", s.referrers);
    let image = format!("{repo}@{}", push_random_image(dir, &s, &repo));
    ok(
        &run(
            dir,
            &s.cosign,
            &[
                "attest",
                "--yes",
                "--key",
                "key.key",
                "--predicate",
                "predicate.json",
                "--type",
                "slsaprovenance",
                "--signing-config",
                "signing_config.json",
                "--trusted-root",
                &s.trusted_root,
                &image,
            ],
            &[],
        ),
        "cosign attest",
    );
    // Each run gets its own TUF datastore (XDG_CACHE_HOME), as on a fresh machine.
    let cache = dir.join("cache");
    let cache = cache.to_string_lossy();
    let verify = |root: &str, url: &str| {
        let out = run(
            dir,
            env!("CARGO_BIN_EXE_hallmark"),
            &[
                "verify",
                &image,
                "--key",
                "key.pub",
                "--tuf-url",
                url,
                "--tuf-root",
                root,
                "-o",
                "json",
            ],
            &[("XDG_CACHE_HOME", cache.as_ref())],
        );
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "no JSON report ({e}): {}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
        (out.status.code().unwrap_or(-1), report)
    };
    let (code, report) = verify(&tuf_root, &tuf_url);
    assert_eq!(code, 0, "verify with the TUF-fetched root: {report:#}");
    let embedded = run(
        dir,
        env!("CARGO_BIN_EXE_hallmark"),
        &["verify", &image, "--key", "key.pub"],
        &[],
    );
    assert_eq!(
        embedded.status.code(),
        Some(1),
        "the public-good root must not know the stack's Rekor"
    );
    let mut tampered: serde_json::Value = serde_json::from_slice(
        &std::fs::read(&tuf_root).unwrap_or_else(|e| panic!("{tuf_root}: {e}")),
    )
    .unwrap_or_else(|e| panic!("{tuf_root}: {e}"));
    tampered["signed"]["version"] = serde_json::json!(2);
    std::fs::write(dir.join("tampered-root.json"), tampered.to_string())
        .unwrap_or_else(|e| panic!("{e}"));
    let tampered_path = dir
        .join("tampered-root.json")
        .to_string_lossy()
        .into_owned();
    let (code, report) = verify(&tampered_path, &tuf_url);
    assert_eq!(
        code, 2,
        "a tampered initial root must be refused: {report:#}"
    );
    assert_eq!(
        report["reasons"][0]["check"],
        serde_json::json!("trusted-root"),
        "{report:#}"
    );
    let (code, report) = verify(&tuf_root, "http://127.0.0.1:9");
    assert_eq!(code, 2, "an unreachable repository is an error: {report:#}");
    eprintln!(
        "stack_verify: TUF: pass with the fetched root, deny with the embedded one, error for a tampered root or no repository"
    );
}
