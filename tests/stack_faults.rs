//! Bad registries (issue 7, "bad input"): a fault-injecting proxy (tests/support) sits in
//! front of the stack's docker-registry and answers with non-JSON manifests, wrong media
//! types, blobs that do not match their digest, 500s and timeouts. Every fault must give
//! an error that names its cause, `hallmark verify` must never pass, and `hallmark attest`
//! must not report a success it did not have (checked in the real registry with crane).
//!
//! Needs the stack; skipped with a message without it unless `HALLMARK_REQUIRE_STACK=1`.
#![allow(clippy::panic)] // Tests report failures by panicking.

mod support;

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use support::fault_proxy::{Fault, FaultProxy};

fn env(name: &str) -> Option<String> {
    let v = std::env::var(name).ok().filter(|v| !v.is_empty());
    if v.is_none() {
        assert!(
            std::env::var("HALLMARK_REQUIRE_STACK").as_deref() != Ok("1"),
            "HALLMARK_REQUIRE_STACK=1 but {name} is not set"
        );
        eprintln!("stack_faults: skipped, {name} is not set");
    }
    v
}

fn run(dir: &Path, program: &str, args: &[&str]) -> Output {
    Command::new("timeout")
        .arg("120")
        .arg(program)
        .args(args)
        .current_dir(dir)
        .env("DOCKER_CONFIG", dir.join("docker"))
        .env("COSIGN_PASSWORD", "")
        .output()
        .unwrap_or_else(|e| panic!("running {program}: {e}"))
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fault_names_its_cause() {
    let (Some(registry), Some(crane), Some(cosign)) = (
        env("HALLMARK_STACK_REGISTRY"),
        env("HALLMARK_STACK_CRANE"),
        env("HALLMARK_STACK_COSIGN"),
    ) else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let dir = tmp.path().to_owned();
    std::fs::create_dir_all(dir.join("docker")).unwrap_or_else(|e| panic!("{e}"));
    let hallmark = env!("CARGO_BIN_EXE_hallmark");
    let blocking = |program: String, args: Vec<String>| {
        let dir = dir.clone();
        tokio::task::spawn_blocking(move || {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            run(&dir, &program, &args)
        })
    };
    let sh = |program: &str, args: &[&str]| {
        blocking(
            program.to_owned(),
            args.iter().map(|s| (*s).to_owned()).collect(),
        )
    };
    let out = sh(
        &cosign,
        &["generate-key-pair", "--output-key-prefix", "key"],
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(out.status.success(), "{}", text(&out));
    std::fs::write(dir.join("predicate.json"), r#"{"builder":{"id":"https://hallmark.test/faults"},"buildType":"x","invocation":{},"materials":[]}"#)
        .unwrap_or_else(|e| panic!("{e}"));

    let proxy = FaultProxy::start(&registry).await;
    // A fresh image in the real registry, seen through the proxy.
    let mut n = 0;
    let mut image = |name: &str| {
        n += 1;
        let nonce = format!("{}-{n}-{}", std::process::id(), name);
        std::fs::write(dir.join("random.bin"), nonce.repeat(40)).unwrap_or_else(|e| panic!("{e}"));
        let tar = run(&dir, "tar", &["-cf", "layer.tar", "random.bin"]);
        assert!(tar.status.success());
        let real = format!("{registry}/faults/{name}");
        let push = run(
            &dir,
            &crane,
            &[
                "append",
                "-f",
                "layer.tar",
                "-t",
                &format!("{real}:{nonce}"),
            ],
        );
        assert!(push.status.success(), "{}", text(&push));
        let digest = String::from_utf8_lossy(
            &run(&dir, &crane, &["digest", &format!("{real}:{nonce}")]).stdout,
        )
        .trim()
        .to_owned();
        (
            format!("{real}@{digest}"),
            format!("{}/faults/{name}@{digest}", proxy.addr),
            digest,
        )
    };
    let attest = |via: &str, extra: &[&str]| {
        let mut args: Vec<String> = [
            "attest",
            via,
            "--predicate",
            "predicate.json",
            "--type",
            "slsaprovenance",
            "--key",
            "key.key",
            "--tlog-upload=false",
            "--registry-timeout",
            "2",
            "-o",
            "json",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        args.extend(extra.iter().map(|s| (*s).to_owned()));
        blocking(hallmark.to_owned(), args)
    };
    let verify = |via: &str| {
        blocking(
            hallmark.to_owned(),
            [
                "verify",
                via,
                "--key",
                "key.pub",
                "--insecure-ignore-tlog",
                "--registry-timeout",
                "2",
                "-o",
                "json",
            ]
            .iter()
            .map(|s| (*s).to_owned())
            .collect(),
        )
    };

    // Without a fault the proxy is transparent: publish and verify through it.
    let (_real, via, _) = image("clean");
    let out = attest(&via, &[]).await.unwrap_or_else(|e| panic!("{e}"));
    assert!(
        out.status.success(),
        "publishing through the proxy: {}",
        text(&out)
    );
    let out = verify(&via).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        out.status.code(),
        Some(0),
        "verifying through the proxy: {}",
        text(&out)
    );

    // Reading: each fault on an attested image, with the cause it must name.
    let cases: [(Fault, Option<&str>, &str, &[&str]); 5] = [
        (
            Fault::NonJsonManifest,
            Some("GET"),
            "/manifests/sha256-",
            &["not an image"],
        ),
        (
            Fault::WrongMediaType,
            Some("GET"),
            "/manifests/sha256-",
            &["media type"],
        ),
        (Fault::BadBlobDigest, Some("GET"), "/blobs/", &["digest"]),
        (
            Fault::ServerError,
            Some("GET"),
            "/manifests/",
            &["HTTP 500"],
        ),
        (
            Fault::Timeout(Duration::from_secs(5)),
            Some("GET"),
            "/manifests/",
            &["timed out", "timeout"],
        ),
    ];
    for (fault, method, path, causes) in cases {
        proxy.set(fault, method, path);
        let out = verify(&via).await.unwrap_or_else(|e| panic!("{e}"));
        let all = text(&out);
        assert!(proxy.hits() > 0, "{fault:?}: the fault was never triggered");
        assert_ne!(
            out.status.code(),
            Some(0),
            "{fault:?}: hallmark verify passed through a fault: {all}"
        );
        assert!(
            causes.iter().any(|c| all.contains(c)),
            "{fault:?}: the error must name the cause ({causes:?}): {all}"
        );
        eprintln!(
            "stack_faults: verify, {fault:?} on {path}: exit {:?}, cause named",
            out.status.code()
        );
    }

    // Writing: faults while publishing; nothing may be reported (or be) published.
    let cases: [(Fault, Option<&str>, &str, &[&str]); 3] = [
        (
            Fault::ServerError,
            Some("PUT"),
            "/manifests/",
            &["HTTP 500"],
        ),
        (
            Fault::ServerError,
            Some("POST"),
            "/blobs/uploads",
            &["HTTP 500"],
        ),
        (
            Fault::Timeout(Duration::from_secs(5)),
            Some("PUT"),
            "/manifests/",
            &["timed out", "timeout"],
        ),
    ];
    for (i, (fault, method, path, causes)) in cases.into_iter().enumerate() {
        let (real, via, digest) = image(&format!("publish-{i}"));
        proxy.set(fault, method, path);
        let out = attest(&via, &[]).await.unwrap_or_else(|e| panic!("{e}"));
        let all = text(&out);
        assert!(proxy.hits() > 0, "{fault:?}: never triggered");
        assert_eq!(
            out.status.code(),
            Some(2),
            "{fault:?} on {path}: publishing must fail: {all}"
        );
        assert!(
            causes.iter().any(|c| all.contains(c)),
            "{fault:?}: the error must name the cause: {all}"
        );
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        let oks = report["results"]
            .as_array()
            .map_or(0, |r| r.iter().filter(|x| x["ok"] == true).count());
        proxy.set(Fault::None, None, "");
        let (repo, _) = real.split_once('@').unwrap_or_default();
        let tag = digest.replace(':', "-");
        let att = run(&dir, &crane, &["manifest", &format!("{repo}:{tag}.att")])
            .status
            .success();
        let fallback = run(&dir, &crane, &["manifest", &format!("{repo}:{tag}")])
            .status
            .success();
        assert_eq!(
            oks,
            usize::from(att) + usize::from(fallback),
            "{fault:?}: reported successes must be real: {report:#}"
        );
        assert!(
            !att && !fallback,
            "{fault:?}: nothing may be published: .att {att}, fallback {fallback}"
        );
        eprintln!(
            "stack_faults: attest, {fault:?} on {method:?} {path}: exit 2, cause named, nothing published"
        );
    }

    // A registry that fails once (a 500 on the first manifest write, on the first blob
    // upload): the request is sent again and the attestation is published.
    for (i, (method, path)) in [("PUT", "/manifests/"), ("POST", "/blobs/uploads")]
        .into_iter()
        .enumerate()
    {
        let (real, via, digest) = image(&format!("once-{i}"));
        proxy.set(Fault::ServerErrorOnce, Some(method), path);
        let out = attest(&via, &[]).await.unwrap_or_else(|e| panic!("{e}"));
        let hits = proxy.hits();
        proxy.set(Fault::None, None, "");
        assert!(
            hits > 1,
            "{method} {path}: the failure was not retried ({hits} hits)"
        );
        assert_eq!(
            out.status.code(),
            Some(0),
            "{method} {path}: one 500 must not fail the publication: {}",
            text(&out)
        );
        let (repo, _) = real.split_once('@').unwrap_or_default();
        let tag = digest.replace(':', "-");
        assert!(
            run(&dir, &crane, &["manifest", &format!("{repo}:{tag}.att")])
                .status
                .success(),
            "{method} {path}: the .att was published"
        );
        eprintln!("stack_faults: attest, one HTTP 500 on {method} {path}: retried, published");
    }

    // Rekor behind the proxy: a failing or garbled log must stop the publication.
    let (Some(rekor), Some(root)) = (
        env("HALLMARK_STACK_REKOR_URL"),
        env("HALLMARK_STACK_TRUSTED_ROOT"),
    ) else {
        return;
    };
    let rekor_proxy = FaultProxy::start(rekor.trim_start_matches("http://")).await;
    let rekor_via = format!("http://{}", rekor_proxy.addr);
    let cases: [(Fault, &[&str]); 2] = [
        (Fault::ServerError, &["HTTP 500"]),
        (Fault::NonJsonManifest, &["Rekor", "log entry"]),
    ];
    for (i, (fault, causes)) in cases.into_iter().enumerate() {
        let (real, _, digest) = image(&format!("rekor-{i}"));
        rekor_proxy.set(fault, Some("POST"), "/api/v1/log/entries");
        let out = blocking(
            hallmark.to_owned(),
            [
                "attest",
                &real,
                "--predicate",
                "predicate.json",
                "--type",
                "slsaprovenance",
                "--key",
                "key.key",
                "--rekor-url",
                &rekor_via,
                "--trusted-root",
                &root,
            ]
            .iter()
            .map(|s| (*s).to_owned())
            .collect(),
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        let all = text(&out);
        assert!(rekor_proxy.hits() > 0, "{fault:?}: never triggered");
        assert_eq!(
            out.status.code(),
            Some(2),
            "{fault:?} from Rekor: attest must fail: {all}"
        );
        assert!(
            causes.iter().all(|c| all.contains(c)),
            "{fault:?}: the error must name the cause ({causes:?}): {all}"
        );
        let (repo, _) = real.split_once('@').unwrap_or_default();
        let tag = digest.replace(':', "-");
        for t in [format!("{repo}:{tag}.att"), format!("{repo}:{tag}")] {
            assert!(
                !run(&dir, &crane, &["manifest", &t]).status.success(),
                "{fault:?}: {t} must not exist"
            );
        }
        eprintln!(
            "stack_faults: Rekor {fault:?} on POST entries: exit 2, cause named, nothing published"
        );
    }
}
