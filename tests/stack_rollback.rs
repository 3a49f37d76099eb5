//! Rollback protection on the stack (issue 10): `hallmark verify --require-latest-of` and
//! `--max-age` reject an older build presented in place of the newest.
//!
//! Pipeline `hm-release` builds image v1 of repository R, then v2; pipeline `hm-nightly`
//! then builds a third image of R. Each TaskRun is signed by `hallmark controller` with
//! one key (a Rekor `dsse` entry and a legacy `.att` beside the image). Then:
//!
//! - v2 passes `--require-latest-of hm-release`; v1 (older, its own attestation intact) is
//!   denied with check `require-latest-of`, naming v2; v2 is denied for `hm-nightly` (not
//!   built by it), and the nightly build, though newer, does not make v2 fail;
//! - a build attested by hand (`hallmark attest`) as finished two days ago is denied by
//!   `--max-age 1d`, passes `--max-age 7d`, and is still denied as a rollback;
//! - a newer build whose attestation is stored elsewhere (a `dsse` entry: only hashes in the
//!   log) cannot be read: reported, not counted; a newer build logged as an `intoto` entry
//!   (the log stores the statement) denies v2, found through the log alone.
//!
//! Keyless, the search is by the certificate's email SAN: of two builds attested by one
//! Fulcio identity the newer passes and the older is denied.
//!
//! Chains is stopped for the duration (it signs every finished TaskRun). Needs the stack
//! (`eval "$(tests/stack/env)"`); skipped without it unless `HALLMARK_REQUIRE_STACK=1`.
#![allow(clippy::panic, clippy::expect_used)] // Tests report failures by panicking.

mod support;

use serde_json::{Value, json};
use support::controller::{CANARY, Ctx, HM, Stopped, stack};
use support::peers::{ok, run, stdout};

const RELEASE: &str = "hm-release";
const NIGHTLY: &str = "hm-nightly";

/// `hallmark verify IMAGE --key K` with `extra` flags: the exit code and the JSON report.
fn verify(ctx: &Ctx<'_>, image: &str, extra: &[&str]) -> (Option<i32>, Value) {
    let out = verify_raw(ctx, image, extra, true);
    let report = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "verify {image} {extra:?}: not JSON ({e}): {}\n{}",
            stdout(&out),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code(), report)
}

fn verify_raw(ctx: &Ctx<'_>, image: &str, extra: &[&str], json: bool) -> std::process::Output {
    let key = ctx.pubkey.to_string_lossy().into_owned();
    let mut args = vec![
        "verify",
        image,
        "--key",
        &key,
        "--trusted-root",
        &ctx.s.trusted_root,
        "--rekor-url",
        &ctx.s.rekor,
    ];
    if json {
        args.extend(["-o", "json"]);
    }
    args.extend_from_slice(extra);
    run(ctx.dir, HM, &args, &[])
}

/// The first reason's check and message.
fn reason(report: &Value) -> (String, String) {
    let r = &report["reasons"][0];
    (
        r["check"].as_str().unwrap_or_default().to_owned(),
        r["message"].as_str().unwrap_or_default().to_owned(),
    )
}

/// A TaskRun of `pipeline` whose results name `image`, finished; waits until signed.
fn build(
    ctx: &Ctx<'_>,
    ctl: &support::controller::Controller,
    name: &str,
    pipeline: &str,
    image: &str,
) {
    let run_name = format!("{name}-run");
    ctx.taskrun(
        name,
        image,
        &[
            ("tekton.dev/pipeline", pipeline),
            ("tekton.dev/pipelineRun", &run_name),
            ("tekton.dev/pipelineTask", "build"),
        ],
    );
    ctx.wait_signed("taskrun", name, ctl);
    // Finish times have one-second resolution: the next build finishes strictly later.
    std::thread::sleep(std::time::Duration::from_millis(1100));
}

/// `hallmark attest IMAGE` with the controller's key: an SLSA v0.2 provenance of a run of
/// `pipeline` that finished at `finished`, with `extra` flags.
fn attest(ctx: &Ctx<'_>, image: &str, pipeline: &str, finished: &str, extra: &[&str]) {
    let key = ctx.key.to_string_lossy().into_owned();
    attest_as(ctx, image, pipeline, finished, &["--key", &key], extra);
}

/// [`attest`] with the `signer` flags (`--key K`, or `--keyless ...`).
fn attest_as(
    ctx: &Ctx<'_>,
    image: &str,
    pipeline: &str,
    finished: &str,
    signer: &[&str],
    extra: &[&str],
) {
    let predicate = json!({
        "builder": {"id": "https://tekton.dev/chains/v2"},
        "buildType": "tekton.dev/v1/TaskRun",
        "invocation": {"configSource": {}, "parameters": {}, "environment": {"labels": {
            "tekton.dev/pipeline": pipeline, "tekton.dev/pipelineRun": "by-hand"}}},
        "metadata": {"buildStartedOn": finished, "buildFinishedOn": finished},
        "materials": []
    });
    let file = ctx.dir.join("predicate.json");
    std::fs::write(&file, predicate.to_string()).expect("predicate");
    let file = file.to_string_lossy().into_owned();
    let mut args = vec![
        "attest",
        image,
        "--predicate",
        &file,
        "--type",
        "slsaprovenance",
        "--trusted-root",
        &ctx.s.trusted_root,
    ];
    // A signing config names the log itself.
    if !signer.contains(&"--signing-config") {
        args.extend(["--rekor-url", &ctx.s.rekor]);
    }
    args.extend_from_slice(signer);
    args.extend_from_slice(extra);
    ok(
        &run(ctx.dir, HM, &args, &[("COSIGN_PASSWORD", CANARY)]),
        &format!("hallmark attest {image}"),
    );
}

fn rfc3339_ago(seconds: i64) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(0))
        .unwrap_or(0);
    jiff::Timestamp::from_second(now - seconds)
        .expect("a time")
        .to_string()
}

#[test]
fn an_older_build_is_a_rollback() {
    let Some(s) = stack() else { return };
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    let _chains = Stopped::new("chains");
    let ctx = Ctx::setup(&s, dir, "hm-rollback", 19750);
    let key = ctx.key.to_string_lossy().into_owned();
    let config = ctx.config_file("");
    let config = config.to_string_lossy().into_owned();
    let ctl = ctx.controller(&["--config", &config, "--key", &key], &[]);

    // One repository R per run (the key is new too): v1, then v2 of hm-release, then a
    // newer build of hm-nightly.
    let name = format!("rollback-{}", std::process::id());
    let v1 = ctx.image(&name);
    let v2 = ctx.image(&name);
    let nightly = ctx.image(&name);
    let repo = v1.split_once('@').expect("REPO@DIGEST").0.to_owned();
    assert_eq!(repo, v2.split_once('@').expect("digest").0);
    build(&ctx, &ctl, "tr-v1", RELEASE, &v1);
    build(&ctx, &ctl, "tr-v2", RELEASE, &v2);
    build(&ctx, &ctl, "tr-nightly", NIGHTLY, &nightly);

    // The newest build of hm-release passes; the nightly build does not count against it.
    let (code, report) = verify(&ctx, &v2, &["--require-latest-of", RELEASE]);
    assert_eq!(code, Some(0), "{report:#}");
    assert_eq!(report["decision"], "pass");
    let latest = &report["latest"];
    assert_eq!(latest["pipeline"], RELEASE, "{report:#}");
    assert_eq!(latest["newest"]["image"], v2.as_str(), "{report:#}");
    assert_eq!(latest["newest"]["timeSource"], "finishedOn", "{report:#}");
    assert!(
        latest["entries"].as_u64().is_some_and(|n| n >= 3),
        "the three builds' entries at least: {report:#}"
    );
    assert_eq!(latest["unread"]["count"], 0, "{report:#}");
    assert!(
        report["checks"]
            .as_array()
            .is_some_and(|c| c.iter().any(|c| c["check"] == "require-latest-of")),
        "{report:#}"
    );

    // v1: its own attestation verifies (without the flag it passes), but it is a rollback.
    let (code, report) = verify(&ctx, &v1, &[]);
    assert_eq!(code, Some(0), "v1 alone verifies: {report:#}");
    let (code, report) = verify(&ctx, &v1, &["--require-latest-of", RELEASE]);
    assert_eq!(code, Some(1), "{report:#}");
    assert_eq!(report["decision"], "deny");
    let (check, message) = reason(&report);
    assert_eq!(check, "require-latest-of", "{report:#}");
    assert!(message.contains(&v2), "names v2 ({v2}): {message}");
    assert!(message.contains("log index"), "{message}");
    assert_eq!(
        report["latest"]["newest"]["image"],
        v2.as_str(),
        "{report:#}"
    );
    // The denial reaches SARIF like any other reason.
    let sarif = dir.join("v1.sarif");
    let sarif_arg = sarif.to_string_lossy().into_owned();
    let (code, _) = verify(
        &ctx,
        &v1,
        &["--require-latest-of", RELEASE, "--sarif", &sarif_arg],
    );
    assert_eq!(code, Some(1));
    let log = std::fs::read_to_string(&sarif).expect("SARIF written");
    assert!(
        log.contains("require-latest-of") && log.contains(&v2),
        "SARIF: {log}"
    );
    let text = verify_raw(&ctx, &v1, &["--require-latest-of", RELEASE], false);
    assert_eq!(text.status.code(), Some(1));
    let text = stdout(&text);
    eprintln!("verify v1 --require-latest-of {RELEASE}:\n{text}");
    assert!(text.starts_with("deny:") && text.contains(&v2), "{text}");

    // v2 was not built by hm-nightly; the nightly build is the newest of hm-nightly.
    let (code, report) = verify(&ctx, &v2, &["--require-latest-of", NIGHTLY]);
    assert_eq!(code, Some(1), "{report:#}");
    let (check, message) = reason(&report);
    assert_eq!(check, "require-latest-of", "{report:#}");
    assert!(message.contains(RELEASE), "names what built it: {message}");
    let (code, report) = verify(&ctx, &nightly, &["--require-latest-of", NIGHTLY]);
    assert_eq!(code, Some(0), "{report:#}");
    let (code, report) = verify(&ctx, &v2, &["--require-latest-of", "other-pipeline"]);
    assert_eq!(code, Some(1), "{report:#}");
    assert_eq!(reason(&report).0, "require-latest-of", "{report:#}");

    // --max-age: a build that finished two days ago (attested by hand, same key).
    let v0 = ctx.image(&name);
    attest(&ctx, &v0, RELEASE, &rfc3339_ago(2 * 86_400), &[]);
    let (code, report) = verify(&ctx, &v0, &["--max-age", "1d"]);
    assert_eq!(code, Some(1), "{report:#}");
    let (check, message) = reason(&report);
    assert_eq!(check, "max-age", "{report:#}");
    assert!(message.contains("max-age"), "{message}");
    let (code, report) = verify(&ctx, &v0, &["--max-age", "7d"]);
    assert_eq!(code, Some(0), "{report:#}");
    let (code, report) = verify(&ctx, &v2, &["--max-age", "1d"]);
    assert_eq!(code, Some(0), "the fresh build: {report:#}");
    // Within the age limit, but still older than v2: a rollback.
    let (code, report) = verify(
        &ctx,
        &v0,
        &["--max-age", "7d", "--require-latest-of", RELEASE],
    );
    assert_eq!(code, Some(1), "{report:#}");
    let (check, message) = reason(&report);
    assert_eq!(check, "require-latest-of", "{report:#}");
    assert!(message.contains(&v2), "{message}");
    // ... and v2 stays the newest: v0 finished before it.
    let (code, report) = verify(
        &ctx,
        &v2,
        &["--max-age", "1d", "--require-latest-of", RELEASE],
    );
    assert_eq!(code, Some(0), "{report:#}");

    // A newer build whose attestation lives in another repository, logged as `dsse` (the
    // log keeps only hashes): its statement cannot be read. Reported, not counted.
    let elsewhere = format!("{}/ctl/{name}-elsewhere", s.registry);
    let v4 = ctx.image(&name);
    attest(
        &ctx,
        &v4,
        RELEASE,
        &rfc3339_ago(0),
        &["--repository", &elsewhere, "--rekor-entry-type", "dsse"],
    );
    let (code, report) = verify(&ctx, &v2, &["--require-latest-of", RELEASE]);
    assert_eq!(code, Some(0), "{report:#}");
    assert_eq!(report["latest"]["unread"]["count"], 1, "{report:#}");
    assert_eq!(
        report["latest"]["unread"]["uuids"].as_array().map(Vec::len),
        Some(1),
        "{report:#}"
    );
    let text = stdout(&verify_raw(
        &ctx,
        &v2,
        &["--require-latest-of", RELEASE],
        false,
    ));
    assert!(text.contains("could not be read"), "{text}");

    // A newer build logged as `intoto` (the log stores the statement), its attestation
    // also elsewhere: found through the log alone, and v2 is now a rollback.
    let v3 = ctx.image(&name);
    attest(
        &ctx,
        &v3,
        RELEASE,
        &rfc3339_ago(0),
        &["--repository", &elsewhere, "--rekor-entry-type", "intoto"],
    );
    let (code, report) = verify(&ctx, &v2, &["--require-latest-of", RELEASE]);
    assert_eq!(code, Some(1), "{report:#}");
    let (check, message) = reason(&report);
    assert_eq!(check, "require-latest-of", "{report:#}");
    assert!(message.contains(&v3), "names v3 ({v3}): {message}");

    // Usage: not with --offline (the log must be searched).
    let pubkey = ctx.pubkey.to_string_lossy().into_owned();
    let out = run(
        dir,
        HM,
        &[
            "verify",
            &v2,
            "--key",
            &pubkey,
            "--require-latest-of",
            RELEASE,
            "--offline",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--offline"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!(
        "stack_rollback: v2 latest of {RELEASE}; v1 and v0 denied as rollbacks naming v2; \
         max-age 1d denies the 2-day-old build, 7d passes it; 1 unreadable newer entry \
         reported; an intoto-logged newer build found in the log"
    );
}

/// Keyless: the signer's entries are searched by the certificate's email SAN. Two builds
/// of one repository attested by one email identity (Fulcio, the stack's OIDC issuer): the
/// newer passes, the older is denied naming it; another identity's newer build does not
/// count.
#[test]
fn keyless_builds_are_searched_by_email() {
    let Some(s) = stack() else { return };
    let var = |n: &str| std::env::var(n).ok().filter(|v| !v.is_empty());
    let (Some(mint), Some(issuer), Some(signing_config)) = (
        var("HALLMARK_STACK_MINT_TOKEN"),
        var("HALLMARK_STACK_OIDC_ISSUER"),
        var("HALLMARK_STACK_SIGNING_CONFIG"),
    ) else {
        assert!(
            std::env::var("HALLMARK_REQUIRE_STACK").as_deref() != Ok("1"),
            "HALLMARK_REQUIRE_STACK=1 but the stack's OIDC issuer is not in the env"
        );
        return;
    };
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    let ctx = Ctx::setup(&s, dir, "hm-rollback-kl", 19760);
    let pid = std::process::id();
    let who = format!("release-{pid}@hallmark.test");
    let other = format!("someone-{pid}@hallmark.test");
    // The stack's signing config, with only its Rekor v1 (Rekor v2 has no search).
    let mut config: Value =
        serde_json::from_slice(&std::fs::read(&signing_config).expect("signing config"))
            .expect("signing config JSON");
    if let Some(logs) = config["rekorTlogUrls"].as_array_mut() {
        logs.retain(|l| l["majorApiVersion"] == 1);
    }
    assert_eq!(
        config["rekorTlogUrls"][0]["url"],
        s.rekor.as_str(),
        "{config:#}"
    );
    let signing_config = dir.join("signing_config.json");
    std::fs::write(&signing_config, config.to_string()).expect("write");
    let signing_config = signing_config.to_string_lossy().into_owned();
    let attest_keyless = |image: &str, as_who: &str, finished: &str| {
        let token = stdout(&run(dir, &mint, &[as_who], &[]));
        assert_eq!(token.split('.').count(), 3, "minting a token: `{token}`");
        attest_as(
            &ctx,
            image,
            RELEASE,
            finished,
            &[
                "--keyless",
                "--identity-token",
                &token,
                "--signing-config",
                &signing_config,
            ],
            &[],
        );
    };
    let name = format!("rollback-keyless-{pid}");
    let old = ctx.image(&name);
    let new = ctx.image(&name);
    let foreign = ctx.image(&name);
    attest_keyless(&old, &who, &rfc3339_ago(3600));
    attest_keyless(&new, &who, &rfc3339_ago(60));
    // Another identity's newer "build" of the same repository and pipeline.
    attest_keyless(&foreign, &other, &rfc3339_ago(0));
    let verify_as = |image: &str| {
        let out = run(
            dir,
            HM,
            &[
                "verify",
                image,
                "--certificate-identity",
                &who,
                "--certificate-oidc-issuer",
                &issuer,
                "--trusted-root",
                &s.trusted_root,
                "--rekor-url",
                &s.rekor,
                "--require-latest-of",
                RELEASE,
                "-o",
                "json",
            ],
            &[],
        );
        let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "not JSON ({e}): {}\n{}",
                stdout(&out),
                String::from_utf8_lossy(&out.stderr)
            )
        });
        (out.status.code(), report)
    };
    let (code, report) = verify_as(&new);
    assert_eq!(code, Some(0), "{report:#}");
    assert_eq!(
        report["latest"]["searchedBy"],
        format!("email {who}"),
        "{report:#}"
    );
    assert_eq!(
        report["latest"]["newest"]["image"],
        new.as_str(),
        "{report:#}"
    );
    let (code, report) = verify_as(&old);
    assert_eq!(code, Some(1), "{report:#}");
    let (check, message) = reason(&report);
    assert_eq!(check, "require-latest-of", "{report:#}");
    assert!(
        message.contains(&new),
        "names the newer build ({new}): {message}"
    );
    eprintln!("stack_rollback: keyless, searched by email {who}: newer passes, older denied");
}
