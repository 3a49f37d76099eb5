//! `hallmark controller` on the stack's real kube-apiserver, registry and Rekor (issue 9).
//!
//! One test, in phases, because it stops the stack's Tekton Chains controller for its
//! duration (Chains signs every finished TaskRun in every namespace, and hallmark leaves
//! runs Chains signed alone) and starts it again at the end, even on failure:
//!
//! 1. **Signing.** TaskRuns finished with `tests/stack/complete-run` get attestations that
//!    cosign v2 `verify-attestation` accepts and `.sig` signatures that `cosign verify`
//!    accepts; counted in the registry (one `.att` layer, one `.sig` layer per image) and
//!    in Rekor (one entry per attestation and per image signature, found by rekor-cli).
//! 2. **PipelineRun** with three children: the children are signed first, then the
//!    PipelineRun, whose attestation cosign accepts.
//! 3. **Failpoints.** The controller exits at `after-sign`, `after-rekor` and `after-oci`; a
//!    restarted controller finishes, and every count is still one.
//! 4. **Configuration.** With a ConfigMap naming a KMS key that does not exist, a run stays
//!    unsigned with a reason and a Warning Event; fixing the ConfigMap signs it without a
//!    restart.
//! 5. **Chains' runs** (signed through `tests/stack/chains-sample` before Chains stops) are
//!    left alone.
//! 6. **Deletion** of a run that cannot be published (its registry is unreachable)
//!    completes within 3x the finalizer deadline.
//! 7. **Secrets.** The key's password appears in no log, Event, annotation or metric.
//!
//! Needs the stack (`eval "$(tests/stack/env)"`); skipped without it unless
//! `HALLMARK_REQUIRE_STACK=1`.
#![allow(clippy::panic, clippy::expect_used)] // Tests report failures by panicking.

mod support;

use std::process::Command;
use std::time::{Duration, Instant};

use support::controller::{CANARY, Controller, Ctx, HM, Stopped, json, stack};
use support::peers::{ok, run, stdout};

#[test]
fn controller_signs_publishes_and_records_every_run_once() {
    let Some(s) = stack() else { return };
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    // A run Chains signs, before Chains is stopped.
    let sample = run(dir, &s.chains_sample, &["hm-ctl-chains"], &[]);
    let sample = json(&sample, "tests/stack/chains-sample");
    let chains_run = sample["taskrun"].as_str().expect("taskrun").to_owned();
    let chains_image = sample["image"].as_str().expect("image").to_owned();

    let _chains = Stopped::new("chains");
    let ctx = Ctx::setup(&s, dir, "hm-ctl", 19300);
    let ns = ctx.ns.clone();
    let key = ctx.key.to_string_lossy().into_owned();
    let config = ctx.config_file("");
    let config = config.to_string_lossy().into_owned();
    let base = ["--config", config.as_str(), "--key", key.as_str()];

    // 1. Three TaskRuns.
    let images: Vec<String> = (0..3).map(|i| ctx.image(&format!("tr{i}"))).collect();
    for (i, image) in images.iter().enumerate() {
        ctx.taskrun(&format!("build-{i}"), image, &[]);
    }
    let mut ctl = ctx.controller(&base, &[]);
    for i in 0..3 {
        ctx.wait_signed("taskrun", &format!("build-{i}"), &ctl);
    }
    for image in &images {
        assert!(
            ctx.cosign_accepts(image, &ctx.pubkey),
            "cosign v2 refuses {image}"
        );
        ctx.exactly_once(image);
    }
    let run0 = ctx.get("taskrun", "build-0").expect("build-0");
    assert_eq!(run0["metadata"]["labels"]["hallmark.dev/state"], "done");
    assert!(
        run0["metadata"]["finalizers"]
            .as_array()
            .is_none_or(|f| f.is_empty()),
        "the finalizer is removed once recorded: {}",
        run0["metadata"]["finalizers"]
    );
    let transparency = run0["metadata"]["annotations"]["chains.tekton.dev/transparency"]
        .as_str()
        .unwrap_or_default();
    assert!(
        transparency.starts_with(&format!("{}/api/v1/log/entries?logIndex=", s.rekor)),
        "chains.tekton.dev/transparency: {transparency}"
    );
    // Another key does not verify.
    let other = dir.join("other");
    std::fs::create_dir_all(&other).expect("dir");
    ok(
        &run(
            &other,
            HM,
            &["generate-key-pair", "--output-key-prefix", "o"],
            &[],
        ),
        "keys",
    );
    assert!(
        !ctx.cosign_accepts(&images[0], &other.join("o.pub")),
        "cosign accepted another key"
    );

    // 2. A PipelineRun with three children.
    let pr_image = ctx.image("pr");
    let child_images: Vec<String> = (0..3).map(|i| ctx.image(&format!("child{i}"))).collect();
    for (i, image) in child_images.iter().enumerate() {
        ctx.taskrun(
            &format!("pr-1-task-{i}"),
            image,
            &[
                ("tekton.dev/pipeline", "hm-build"),
                ("tekton.dev/pipelineRun", "pr-1"),
                ("tekton.dev/pipelineTask", &format!("task-{i}")),
            ],
        );
    }
    let (repo, digest) = pr_image.split_once('@').expect("digest");
    let pr = serde_json::json!({
        "apiVersion": "tekton.dev/v1", "kind": "PipelineRun",
        "metadata": {"name": "pr-1", "namespace": ns},
        "spec": {"pipelineSpec": {"tasks": [], "results": [
            {"name": "IMAGE_URL", "value": repo}, {"name": "IMAGE_DIGEST", "value": digest}]}}
    });
    ok(
        &ctx.kubectl_stdin(&["create", "-f", "-"], &pr.to_string()),
        "create PipelineRun",
    );
    ok(
        &run(
            dir,
            &s.complete_run,
            &[
                &ns,
                "pipelinerun",
                "pr-1",
                &format!("IMAGE_URL={repo}"),
                &format!("IMAGE_DIGEST={digest}"),
            ],
            &[],
        ),
        "complete-run pipelinerun",
    );
    ctx.wait_signed("pipelinerun", "pr-1", &ctl);
    for i in 0..3 {
        assert_eq!(
            ctx.annotation(
                "taskrun",
                &format!("pr-1-task-{i}"),
                "chains.tekton.dev/signed"
            )
            .as_deref(),
            Some("true"),
            "child {i} is signed before its PipelineRun"
        );
    }
    // `hallmark search` finds the children's entries by image, and by pipeline.
    let search = |image: &str, pipeline: &str| {
        let out = run(
            dir,
            HM,
            &[
                "search",
                "--image",
                image,
                "--pipeline",
                pipeline,
                "--rekor-url",
                &s.rekor,
                "--trusted-root",
                &s.trusted_root,
                "--insecure-registry",
                &s.registry,
                "-o",
                "json",
            ],
            &[],
        );
        let v = json(&out, "hallmark search");
        v["hits"].as_array().map_or(0, Vec::len)
    };
    for image in &child_images {
        assert_eq!(
            search(image, "hm-build"),
            1,
            "hallmark search --pipeline hm-build {image}"
        );
        assert_eq!(
            search(image, "another-pipeline"),
            0,
            "hallmark search --pipeline another-pipeline {image}"
        );
    }
    assert!(
        ctx.cosign_accepts(&pr_image, &ctx.pubkey),
        "cosign v2 refuses the PipelineRun's image"
    );
    ctx.exactly_once(&pr_image);
    let metrics = run(
        dir,
        "curl",
        &["-sf", &format!("http://{}/metrics", ctl.metrics)],
        &[],
    );
    let metrics = stdout(&metrics);
    assert!(
        metrics.contains("watcher_taskrun_sign_created_total 6"),
        "metrics:\n{metrics}"
    );
    // Seven runs, each an envelope and an image signature.
    assert!(
        metrics.contains("hallmark_signatures_total 14"),
        "metrics:\n{metrics}"
    );
    assert!(
        metrics.contains("watcher_taskrun_payload_uploaded_total 6"),
        "metrics:\n{metrics}"
    );
    assert!(
        metrics.contains("watcher_pipelinerun_sign_created_total 1"),
        "metrics:\n{metrics}"
    );
    ctl.kill();

    // 3. Killed at each failpoint, then restarted.
    for fp in ["after-sign", "after-rekor", "after-oci"] {
        let image = ctx.image(&format!("fp-{fp}"));
        let name = format!("fp-{fp}");
        ctx.taskrun(&name, &image, &[]);
        let mut dying = ctx.controller(&base, &[("HALLMARK_FAILPOINT", fp)]);
        let code = dying.wait_exit(Duration::from_secs(60));
        assert_eq!(
            code,
            Some(86),
            "the controller stops at {fp}:\n{}",
            dying.log_text()
        );
        assert_ne!(
            ctx.annotation("taskrun", &name, "chains.tekton.dev/signed")
                .as_deref(),
            Some("true"),
            "{fp}: not recorded before the restart"
        );
        let again = ctx.controller(&base, &[]);
        ctx.wait_signed("taskrun", &name, &again);
        assert!(
            ctx.cosign_accepts(&image, &ctx.pubkey),
            "{fp}: cosign refuses {image}"
        );
        ctx.exactly_once(&image);
    }

    // 4. A configuration problem, fixed in the ConfigMap without a restart.
    let cm_yaml = |kmsref: &str| {
        serde_json::json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "hallmark-config", "namespace": ns},
            "data": {
                "artifacts.taskrun.storage": "oci", "artifacts.oci.storage": "oci",
                "artifacts.taskrun.signer": "kms", "artifacts.oci.signer": "kms",
                "signers.kms.kmsref": kmsref,
                "transparency.enabled": "true", "transparency.url": s.rekor,
            }
        })
        .to_string()
    };
    ok(
        &ctx.kubectl_stdin(&["apply", "-f", "-"], &cm_yaml("hashivault://no-such-key")),
        "apply bad ConfigMap",
    );
    let image = ctx.image("config");
    ctx.taskrun("config-1", &image, &[]);
    let cm_ref = format!("{ns}/hallmark-config");
    let ctl = ctx.controller(&["--configmap", &cm_ref], &[]);
    ctx.wait(
        Duration::from_secs(30),
        "a configuration reason on config-1",
        || {
            ctx.annotation("taskrun", "config-1", "hallmark.dev/reason")
                .is_some_and(|r| r.contains("configuration") && r.contains("no-such-key"))
        },
        Some(&ctl),
    );
    assert_eq!(
        ctx.annotation("taskrun", "config-1", "chains.tekton.dev/signed"),
        None
    );
    let events = ctx.kubectl(&[
        "get",
        "events",
        "-n",
        &ns,
        "--field-selector",
        "involvedObject.name=config-1",
        "-o",
        "json",
    ]);
    let events = json(&events, "get events");
    assert!(
        events["items"].as_array().is_some_and(|es| es
            .iter()
            .any(|e| e["reason"] == "ConfigurationError" && e["type"] == "Warning")),
        "no ConfigurationError Event: {events}"
    );
    ok(
        &ctx.kubectl_stdin(
            &["apply", "-f", "-"],
            &cm_yaml(&format!("hashivault://{}", s.vault_key)),
        ),
        "apply fixed ConfigMap",
    );
    ctx.wait_signed("taskrun", "config-1", &ctl);
    assert_eq!(ctx.layers(&image, "att"), 1);
    drop(ctl);

    // 5. Chains' run is left alone.
    let chains_ns = sample["namespace"].as_str().expect("namespace").to_owned();
    let chains_obj = |ctx: &Ctx<'_>| {
        let out = ctx.kubectl(&[
            "get",
            "taskrun",
            &chains_run,
            "-n",
            &chains_ns,
            "-o",
            "json",
        ]);
        json(&out, "get Chains' run")
    };
    let before = chains_obj(&ctx);
    let att_before = ctx.layers(&chains_image, "att");
    {
        let mut c = Command::new(HM);
        let watcher_log = dir.join("chains-watch.log");
        c.args([
            "controller",
            "--namespace",
            &chains_ns,
            "--metrics-addr",
            "127.0.0.1:0",
        ])
        .args([
            "--config",
            &config,
            "--key",
            &key,
            "--trusted-root",
            &s.trusted_root,
        ])
        .env("COSIGN_PASSWORD", CANARY)
        .env("RUST_LOG", "debug,kube=warn,hyper=warn,reqwest=warn")
        .stderr(std::fs::File::create(&watcher_log).expect("log"));
        let mut child = Controller {
            child: c.spawn().expect("controller"),
            log: watcher_log,
            metrics: String::new(),
        };
        ctx.wait(
            Duration::from_secs(30),
            "the controller to consider Chains' run",
            || child.log_text().contains("signed by Tekton Chains"),
            Some(&child),
        );
        child.kill();
    }
    let after = chains_obj(&ctx);
    assert_eq!(
        before["metadata"]["annotations"], after["metadata"]["annotations"],
        "Chains' run was changed"
    );
    assert_eq!(
        before["metadata"]["labels"], after["metadata"]["labels"],
        "Chains' run was relabelled"
    );
    assert_eq!(
        ctx.layers(&chains_image, "att"),
        att_before,
        "Chains' image got another attestation"
    );

    // 6. Deleting a run that cannot be published: done within 3x the finalizer deadline.
    let unreachable = "127.0.0.1:9/ctl/gone@sha256:".to_owned() + &"ab".repeat(32);
    ctx.taskrun("doomed", &unreachable, &[]);
    let ctl = ctx.controller(&[&base[..], &["--finalizer-deadline", "4s"]].concat(), &[]);
    ctx.wait(
        Duration::from_secs(30),
        "the finalizer on doomed",
        || {
            ctx.get("taskrun", "doomed").is_some_and(|r| {
                r["metadata"]["finalizers"]
                    .as_array()
                    .is_some_and(|f| f.iter().any(|x| x == "hallmark.dev/signing"))
            })
        },
        Some(&ctl),
    );
    let deleted_at = Instant::now();
    ok(
        &ctx.kubectl(&["delete", "taskrun", "doomed", "-n", &ns, "--wait=false"]),
        "delete",
    );
    ctx.wait(
        Duration::from_secs(12),
        "doomed to be gone (3x the 4 s finalizer deadline)",
        || ctx.get("taskrun", "doomed").is_none(),
        Some(&ctl),
    );
    eprintln!(
        "deletion completed in {:.1} s",
        deleted_at.elapsed().as_secs_f64()
    );
    drop(ctl);

    // 8. Registry credentials from the run's ServiceAccount's imagePullSecrets: the TLS +
    //    htpasswd registry, which the controller itself has no credentials for.
    let tdir = dir.join("tls");
    std::fs::create_dir_all(tdir.join("docker")).expect("dir");
    let tls_env = [("SSL_CERT_FILE", s.tls_ca.as_str())];
    ok(
        &run(
            &tdir,
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
    let push = |name: &str| {
        std::fs::write(
            tdir.join("random.bin"),
            format!("{name}-{}", std::process::id()).repeat(30),
        )
        .expect("write");
        ok(
            &run(&tdir, "tar", &["-cf", "layer.tar", "random.bin"], &[]),
            "tar",
        );
        let tag = format!("{}/ctl/{name}:{}", s.tls, std::process::id());
        ok(
            &run(
                &tdir,
                &s.crane,
                &["append", "-f", "layer.tar", "-t", &tag],
                &tls_env,
            ),
            "crane append (TLS)",
        );
        let d = stdout(&run(&tdir, &s.crane, &["digest", &tag], &tls_env));
        assert!(d.starts_with("sha256:"), "crane digest: {d}");
        format!("{}/ctl/{name}@{d}", s.tls)
    };
    let private = push("creds-private");
    let unauthorized = push("creds-none");
    ok(
        &ctx.kubectl(&[
            "create",
            "secret",
            "docker-registry",
            "regcred",
            "-n",
            &ns,
            &format!("--docker-server={}", s.tls),
            &format!("--docker-username={}", s.tls_user),
            &format!("--docker-password={}", s.tls_password),
        ]),
        "create the pull secret",
    );
    ok(
        &ctx.kubectl(&["create", "serviceaccount", "builder", "-n", &ns]),
        "create the ServiceAccount",
    );
    ok(
        &ctx.kubectl(&[
            "patch",
            "serviceaccount",
            "builder",
            "-n",
            &ns,
            "-p",
            r#"{"imagePullSecrets":[{"name":"regcred"}]}"#,
        ]),
        "add the pull secret",
    );
    ctx.taskrun_as("creds-1", &private, &[], Some("builder"));
    ctx.taskrun_as("creds-2", &unauthorized, &[], None);
    let ctl = ctx.controller(&[&base[..], &["--registry-ca", &s.tls_ca]].concat(), &[]);
    ctx.wait_signed("taskrun", "creds-1", &ctl);
    ctx.wait(
        Duration::from_secs(30),
        "creds-2 (no pull secret) to fail on the registry's 401",
        || {
            ctx.annotation("taskrun", "creds-2", "hallmark.dev/reason")
                .is_some_and(|r| r.contains("401"))
        },
        Some(&ctl),
    );
    drop(ctl);
    let tls_layers = |image: &str| {
        let (repo, digest) = image.split_once('@').expect("digest");
        let out = run(
            &tdir,
            &s.crane,
            &[
                "manifest",
                &format!("{repo}:{}.att", digest.replace(':', "-")),
            ],
            &tls_env,
        );
        serde_json::from_slice::<serde_json::Value>(&out.stdout)
            .ok()
            .and_then(|m| m["layers"].as_array().map(Vec::len))
            .unwrap_or(0)
    };
    assert_eq!(
        tls_layers(&private),
        1,
        "the attestation reached the private registry"
    );
    assert_eq!(
        tls_layers(&unauthorized),
        0,
        "nothing reached it without credentials"
    );

    // 7. The password is nowhere: logs, Events, annotations, metrics.
    let mut haystack = String::new();
    for log in ctx.logs.borrow().iter() {
        haystack.push_str(&std::fs::read_to_string(log).unwrap_or_default());
    }
    haystack.push_str(&stdout(
        &ctx.kubectl(&["get", "events", "-n", &ns, "-o", "json"]),
    ));
    haystack.push_str(&stdout(&ctx.kubectl(&[
        "get",
        "taskruns,pipelineruns",
        "-n",
        &ns,
        "-o",
        "json",
    ])));
    haystack.push_str(&metrics);
    assert!(
        haystack.len() > 10_000,
        "too little was collected to search: {} bytes",
        haystack.len()
    );
    assert!(!haystack.contains(CANARY), "the key password leaked");

    let _ = ctx.kubectl(&["delete", "namespace", &ns, "--wait=false"]);
}
