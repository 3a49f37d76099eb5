//! `hallmark verify --chain` over a three-task PipelineRun signed by `hallmark controller`
//! on the stack (issue 10): `clone` (the git source), `build` (image A, from the git
//! commit) and `package` (image B, whose `ARTIFACT_INPUTS` result names A).
//!
//! - The chain from B prints the tree B <- package <- A <- build <- git commit, passes, and
//!   `-o json` has the nodes and edges.
//! - A `package` run whose input is a replacement of A (same repository, another digest:
//!   a product modified between two steps) is denied, naming the replaced image's node.
//!
//! Chains is stopped for the duration (it signs every finished TaskRun). Needs the stack
//! (`eval "$(tests/stack/env)"`); skipped without it unless `HALLMARK_REQUIRE_STACK=1`.
#![allow(clippy::panic, clippy::expect_used)] // Tests report failures by panicking.

mod support;

use serde_json::{Value, json};
use support::controller::{CANARY, Ctx, HM, Stopped, stack};
use support::peers::{ok, run, stdout};

const COMMIT: &str = "4f9c2b7e1d3a5c6b8e0f1a2b3c4d5e6f7a8b9c0d";
const GIT_URL: &str = "https://git.example/hallmark/app.git";

/// Create a TaskRun of pipeline task `task` in PipelineRun `pr` of pipeline `hm-chain`
/// with the given string or object results, and finish it.
fn child(ctx: &Ctx<'_>, pr: &str, task: &str, results: &[(&str, String)]) {
    task_run(ctx, "hm-chain", pr, task, results, None);
}

/// Create a TaskRun of pipeline task `task` in PipelineRun `pr` of `pipeline`, owned by
/// the PipelineRun of uid `owner` if given, with the given string or object results, and
/// finish it.
fn task_run(
    ctx: &Ctx<'_>,
    pipeline: &str,
    pr: &str,
    task: &str,
    results: &[(&str, String)],
    owner: Option<&str>,
) {
    let name = format!("{pr}-{task}");
    let declared: Vec<Value> = results
        .iter()
        .map(|(n, v)| {
            let kind = if v.starts_with('{') {
                "object"
            } else {
                "string"
            };
            json!({"name": n, "type": kind})
        })
        .collect();
    let mut tr = json!({
        "apiVersion": "tekton.dev/v1", "kind": "TaskRun",
        "metadata": {"name": name, "namespace": ctx.ns, "labels": {
            "tekton.dev/pipeline": pipeline,
            "tekton.dev/pipelineRun": pr,
            "tekton.dev/pipelineTask": task,
        }},
        "spec": {"taskSpec": {"results": declared, "steps": []}}
    });
    if let Some(uid) = owner {
        tr["metadata"]["ownerReferences"] = json!([{"apiVersion": "tekton.dev/v1",
            "kind": "PipelineRun", "name": pr, "uid": uid, "controller": true}]);
    }
    ok(
        &ctx.kubectl_stdin(&["create", "-f", "-"], &tr.to_string()),
        &format!("creating TaskRun {name}"),
    );
    let mut args = vec![ctx.ns.clone(), "taskrun".into(), name.clone()];
    args.extend(results.iter().map(|(n, v)| format!("{n}={v}")));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    ok(
        &run(ctx.dir, &ctx.s.complete_run, &args, &[]),
        &format!("complete-run {name}"),
    );
}

/// The `IMAGE_URL`/`IMAGE_DIGEST` results naming `image`.
fn image_results(image: &str) -> Vec<(&'static str, String)> {
    let (repo, digest) = image.split_once('@').expect("REPO@DIGEST");
    vec![
        ("IMAGE_URL", repo.to_owned()),
        ("IMAGE_DIGEST", digest.to_owned()),
    ]
}

/// An `ARTIFACT_INPUTS` result naming `image`.
fn input_of(image: &str) -> (&'static str, String) {
    let (repo, digest) = image.split_once('@').expect("REPO@DIGEST");
    (
        "ARTIFACT_INPUTS",
        json!({"uri": repo, "digest": digest}).to_string(),
    )
}

fn verify(ctx: &Ctx<'_>, image: &str, json_output: bool) -> std::process::Output {
    let key = ctx.pubkey.to_string_lossy().into_owned();
    let mut args = vec![
        "verify",
        image,
        "--key",
        &key,
        "--chain",
        "--trusted-root",
        &ctx.s.trusted_root,
        "--rekor-url",
        &ctx.s.rekor,
    ];
    if json_output {
        args.extend(["-o", "json"]);
    }
    run(ctx.dir, HM, &args, &[])
}

#[test]
fn chain_from_an_image_back_to_its_git_commit() {
    let Some(s) = stack() else { return };
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    let _chains = Stopped::new("chains");
    let ctx = Ctx::setup(&s, dir, "hm-chain", 19650);
    let key = ctx.key.to_string_lossy().into_owned();
    let config = ctx.config_file("");
    let config = config.to_string_lossy().into_owned();
    let ctl = ctx.controller(&["--config", &config, "--key", &key], &[]);

    // The PipelineRun `pr-chain`: clone -> build (A) -> package (B).
    let a = ctx.image("chain-a");
    let b = ctx.image("chain-b");
    let pr = "pr-chain";
    let git = vec![
        ("CHAINS-GIT_URL", GIT_URL.to_owned()),
        ("CHAINS-GIT_COMMIT", COMMIT.to_owned()),
    ];
    let mut build = git.clone();
    build.extend(image_results(&a));
    let mut package = image_results(&b);
    package.push(input_of(&a));
    let task = |name: &str, after: Option<&str>| {
        let mut t = json!({"name": name, "taskSpec": {"steps": []}});
        if let Some(a) = after {
            t["runAfter"] = json!([a]);
        }
        t
    };
    let (b_repo, b_digest) = b.split_once('@').expect("digest");
    let spec = json!({
        "tasks": [task("clone", None), task("build", Some("clone")),
            task("package", Some("build"))],
        "results": [{"name": "IMAGE_URL", "value": b_repo},
            {"name": "IMAGE_DIGEST", "value": b_digest}]});
    pipeline_run(
        &ctx,
        "hm-chain",
        pr,
        &spec,
        &[("clone", git), ("build", build), ("package", package)],
        &b,
    );
    // A `package` run outside the pipeline whose input is a replacement of A: same
    // repository, another digest, built by no attested step.
    let a2 = ctx.image("chain-a");
    assert_ne!(a, a2);
    let c = ctx.image("chain-c");
    let mut forged = image_results(&c);
    forged.push(input_of(&a2));
    child(&ctx, "pr-forged", "package", &forged);

    for (kind, name) in [
        ("taskrun", "pr-chain-build"),
        ("taskrun", "pr-chain-package"),
        ("pipelinerun", pr),
        ("taskrun", "pr-forged-package"),
    ] {
        ctx.wait_signed(kind, name, &ctl);
    }

    // The tree: B, the PipelineRun and its `package` TaskRun, A, `build`, the commit.
    let out = verify(&ctx, &b, false);
    ok(&out, "hallmark verify --chain (text)");
    let text = stdout(&out);
    eprintln!("hallmark verify --chain:\n{text}");
    let b_line = format!("image {b}: pass");
    let lines: Vec<&str> = text.lines().collect();
    let at = |needle: &str| {
        lines
            .iter()
            .position(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no line with `{needle}` in:\n{text}"))
    };
    let depth = |i: usize| lines[i].len() - lines[i].trim_start().len();
    let (i_b, i_pr, i_pkg, i_a, i_build, i_git) = (
        at(&b_line),
        at("PipelineRun of pipeline hm-chain: signed by the given key, log index"),
        at("TaskRun pr-chain/package: signed by the given key, log index"),
        at(&format!("<- image {a}: pass")),
        at("TaskRun pr-chain/build: signed by the given key, log index"),
        at(&format!("<- git {GIT_URL} commit {COMMIT}")),
    );
    assert!(
        i_b < i_pr && i_pr < i_pkg && i_pkg < i_a && i_a < i_build && i_build < i_git,
        "tree order:\n{text}"
    );
    assert!(
        depth(i_b) < depth(i_pr)
            && depth(i_pr) < depth(i_pkg)
            && depth(i_pkg) < depth(i_a)
            && depth(i_a) < depth(i_build)
            && depth(i_build) < depth(i_git),
        "tree indentation:\n{text}"
    );

    // The graph.
    let out = verify(&ctx, &b, true);
    ok(&out, "hallmark verify --chain -o json");
    let report: Value = serde_json::from_slice(&out.stdout).expect("JSON report");
    assert_eq!(report["decision"], "pass", "{report:#}");
    let chain = &report["chain"];
    assert_eq!(chain["root"], format!("image:{b}"));
    let nodes = chain["nodes"].as_array().expect("nodes");
    let node = |id: &str| {
        nodes
            .iter()
            .find(|n| n["id"] == id)
            .unwrap_or_else(|| panic!("no node {id} in {chain:#}"))
    };
    assert_eq!(node(&format!("image:{a}"))["verdict"], "pass");
    let git_node = node(&format!("source:{GIT_URL}@sha1:{COMMIT}"));
    assert_eq!(git_node["kind"], "source");
    let runs: Vec<&Value> = nodes
        .iter()
        .filter(|n| n["kind"] == "attestation")
        .collect();
    assert_eq!(runs.len(), 3, "PipelineRun, package, build: {chain:#}");
    for r in &runs {
        assert_eq!(r["verdict"], "pass");
        assert_eq!(r["run"]["signer"], "the given key");
        let entry = &r["run"]["logEntries"][0];
        assert!(entry["logIndex"].as_i64().is_some(), "log entry: {r:#}");
        assert_eq!(entry["logUrl"], s.rekor.as_str());
    }
    let package = runs
        .iter()
        .find(|r| r["run"]["pipelineTask"] == "package")
        .expect("package");
    let (a_repo, a_digest) = a.split_once('@').expect("digest");
    assert_eq!(
        package["run"]["materials"][a_repo]["sha256"],
        a_digest.trim_start_matches("sha256:")
    );
    let edges = chain["edges"].as_array().expect("edges");
    assert!(
        edges.iter().any(|e| e["from"] == package["id"]
            && e["to"] == format!("image:{a}")
            && e["relation"] == "material"),
        "package -> A: {chain:#}"
    );
    assert!(
        chain["denials"].as_array().is_some_and(Vec::is_empty),
        "{chain:#}"
    );

    // A product modified between two steps: denied, naming the replaced image.
    let out = verify(&ctx, &c, true);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let report: Value = serde_json::from_slice(&out.stdout).expect("JSON report");
    assert_eq!(report["decision"], "deny");
    let reason = &report["reasons"][0];
    assert_eq!(reason["check"], "chain", "{report:#}");
    assert_eq!(reason["node"], format!("image:{a2}"), "{report:#}");
    let out = verify(&ctx, &c, false);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    eprintln!("hallmark verify --chain (forged input):\n{text}");
    assert!(
        text.contains(&format!("<- image {a2}: DENY: no attestations found")),
        "{text}"
    );
    // The same forged image without --chain passes: its own attestation is fine.
    let key = ctx.pubkey.to_string_lossy().into_owned();
    let out = run(
        dir,
        HM,
        &[
            "verify",
            &c,
            "--key",
            &key,
            "--trusted-root",
            &s.trusted_root,
            "--rekor-url",
            &s.rekor,
        ],
        &[],
    );
    ok(&out, "hallmark verify without --chain");
}

/// A PipelineRun `pr` of `pipeline` with the inline `spec` (created first, so its TaskRuns
/// can name it as their owner), its TaskRuns `tasks` (name, results), then the PipelineRun
/// finished with image B as its result.
fn pipeline_run(
    ctx: &Ctx<'_>,
    pipeline: &str,
    pr: &str,
    spec: &Value,
    tasks: &[(&str, Vec<(&str, String)>)],
    b: &str,
) {
    let (b_repo, b_digest) = b.split_once('@').expect("digest");
    let run_json = json!({
        "apiVersion": "tekton.dev/v1", "kind": "PipelineRun",
        "metadata": {"name": pr, "namespace": ctx.ns,
            "labels": {"tekton.dev/pipeline": pipeline}},
        "spec": {"pipelineSpec": spec}
    });
    ok(
        &ctx.kubectl_stdin(&["create", "-f", "-"], &run_json.to_string()),
        "create PipelineRun",
    );
    let uid = ctx.get("pipelinerun", pr).expect("PipelineRun")["metadata"]["uid"]
        .as_str()
        .expect("uid")
        .to_owned();
    for (task, results) in tasks {
        task_run(ctx, pipeline, pr, task, results, Some(&uid));
    }
    ok(
        &run(
            ctx.dir,
            &ctx.s.complete_run,
            &[
                &ctx.ns,
                "pipelinerun",
                pr,
                &format!("IMAGE_URL={b_repo}"),
                &format!("IMAGE_DIGEST={b_digest}"),
            ],
            &[],
        ),
        "complete-run pipelinerun",
    );
}

/// `hallmark verify IMAGE --chain --kubeconfig --layout LAYOUT --layout-key OWNER -o json`
/// with extra arguments: the exit code and the report.
fn verify_layout(
    ctx: &Ctx<'_>,
    image: &str,
    layout: &str,
    owner: &str,
    extra: &[&str],
) -> (i32, Value) {
    let key = ctx.pubkey.to_string_lossy().into_owned();
    let mut args = vec![
        "verify",
        image,
        "--key",
        &key,
        "--chain",
        "--trusted-root",
        &ctx.s.trusted_root,
        "--rekor-url",
        &ctx.s.rekor,
        "--layout",
        layout,
        "--layout-key",
        owner,
        "-o",
        "json",
    ];
    args.extend(extra);
    let out = run(ctx.dir, HM, &args, &[]);
    eprint!("{}", String::from_utf8_lossy(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\n{}",
            stdout(&out),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap_or(-1), report)
}

/// The `layout:KIND:STEP` nodes of a report's denials.
fn layout_denials(report: &Value) -> Vec<String> {
    report["chain"]["denials"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|d| d["node"].as_str())
        .filter(|n| n.starts_with("layout"))
        .map(str::to_owned)
        .collect()
}

/// `--layout` over a three-task PipelineRun signed by `hallmark controller` (clone, which
/// produces no image and is found through the cluster with `--kubeconfig`; build, image A;
/// package, image B from A): the layout derived from the Pipeline by `hallmark layout`
/// passes; each attack on the layout or the chain is denied, named:
///
/// - a step missing (clone's attestation removed from its run, or not read without
///   `--kubeconfig`): `layout:step-missing:clone`;
/// - a fake check (a `package` that attests but used nothing `build` produced):
///   `layout:fake-step:package`;
/// - an unintended retention (a `build` that passes its base image on as a product):
///   `layout:unintended-retention:build`;
/// - a layout that has expired, or is signed by another owner: `layout`.
#[test]
fn layout_of_a_three_task_pipeline() {
    let Some(s) = stack() else { return };
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    let _chains = Stopped::new("chains");
    let ctx = Ctx::setup(&s, dir, "hm-layout", 19700);
    let key = ctx.key.to_string_lossy().into_owned();
    let pubkey = ctx.pubkey.to_string_lossy().into_owned();
    let config = dir.join("config-layout.yaml");
    std::fs::write(
        &config,
        format!(
            "artifacts.taskrun.storage: \"oci,tekton\"\nartifacts.pipelinerun.storage: oci\n\
             artifacts.oci.storage: oci\ntransparency.enabled: \"true\"\n\
             transparency.url: {}\n",
            s.rekor
        ),
    )
    .expect("config");
    let config = config.to_string_lossy().into_owned();
    let mut ctl = ctx.controller(&["--config", &config, "--key", &key], &[]);

    // The Pipeline and its layout, signed by the owner, naming the controller's key.
    let pipeline = json!({
        "apiVersion": "tekton.dev/v1", "kind": "Pipeline",
        "metadata": {"name": "hm-layout"},
        "spec": {"tasks": [
            {"name": "clone", "taskRef": {"name": "git-clone"}},
            {"name": "build", "runAfter": ["clone"], "taskRef": {"name": "buildah"}},
            {"name": "package", "taskRef": {"name": "package"},
             "params": [{"name": "image", "value": "$(tasks.build.results.IMAGE_DIGEST)"}]},
        ]}
    });
    std::fs::write(dir.join("pipeline.json"), pipeline.to_string()).expect("pipeline");
    ok(
        &run(
            dir,
            HM,
            &["generate-key-pair", "--output-key-prefix", "owner"],
            &[("COSIGN_PASSWORD", CANARY)],
        ),
        "owner key",
    );
    ok(
        &run(
            dir,
            HM,
            &["generate-key-pair", "--output-key-prefix", "other"],
            &[("COSIGN_PASSWORD", CANARY)],
        ),
        "other key",
    );
    let base = ctx.image("layout-base");
    let allow = format!("{}*", base.split_once('@').expect("digest").0);
    let make_layout = |out: &str, expires: &str| {
        ok(
            &run(
                dir,
                HM,
                &[
                    "layout",
                    "pipeline.json",
                    "--owner-key",
                    "owner.key",
                    "--functionary-key",
                    &pubkey,
                    "--allow-material",
                    &allow,
                    "--expires",
                    expires,
                    "-o",
                    out,
                ],
                &[("COSIGN_PASSWORD", CANARY)],
            ),
            "hallmark layout",
        );
        dir.join(out).to_string_lossy().into_owned()
    };
    let layout = make_layout("layout.json", "1d");
    let owner = dir.join("owner.pub").to_string_lossy().into_owned();

    // The base image, attested by a run outside the pipeline.
    ctx.taskrun("base-build", &base, &[]);
    let git = || {
        vec![
            ("CHAINS-GIT_URL", GIT_URL.to_owned()),
            ("CHAINS-GIT_COMMIT", COMMIT.to_owned()),
        ]
    };
    // The honest run, and two dishonest ones.
    let mut runs = Vec::new();
    for (pr, fake, retain) in [
        ("pr-ok", false, false),
        ("pr-fake", true, false),
        ("pr-retain", false, true),
    ] {
        let a = ctx.image("layout-a");
        let b = ctx.image("layout-b");
        let mut build = git();
        build.extend(image_results(&a));
        if retain {
            // build consumes the base image and passes it on unchanged among its images.
            build.retain(|(n, _)| !n.starts_with("IMAGE_"));
            build.push(input_of(&base));
            build.push(("IMAGES", format!("{a},{base}")));
        }
        let mut package = image_results(&b);
        if !fake {
            package.push(input_of(&a));
        }
        pipeline_run(
            &ctx,
            "hm-layout",
            pr,
            &pipeline["spec"],
            &[("clone", git()), ("build", build), ("package", package)],
            &b,
        );
        runs.push((pr, b));
    }
    ctx.wait_signed("taskrun", "base-build", &ctl);
    for (pr, _) in &runs {
        for t in ["clone", "build", "package"] {
            ctx.wait_signed("taskrun", &format!("{pr}-{t}"), &ctl);
        }
        ctx.wait_signed("pipelinerun", pr, &ctl);
    }
    ctl.kill();
    let (ok_b, fake_b, retain_b) = (&runs[0].1, &runs[1].1, &runs[2].1);

    // The honest run passes, clone found through the cluster; the tree names it.
    let (code, report) = verify_layout(&ctx, ok_b, &layout, &owner, &["--kubeconfig"]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["decision"], "pass");
    let nodes = report["chain"]["nodes"].as_array().expect("nodes");
    assert!(
        nodes.iter().any(|n| n["run"]["pipelineTask"] == "clone"
            && n["run"]["location"]
                .as_str()
                .is_some_and(|l| l.contains("tekton storage"))),
        "clone from the cluster: {report:#}"
    );
    let key_arg = ctx.pubkey.to_string_lossy().into_owned();
    let text = stdout(&run(
        dir,
        HM,
        &[
            "verify",
            ok_b,
            "--key",
            &key_arg,
            "--chain",
            "--kubeconfig",
            "--trusted-root",
            &s.trusted_root,
            "--rekor-url",
            &s.rekor,
            "--layout",
            &layout,
            "--layout-key",
            &owner,
        ],
        &[],
    ));
    eprintln!("hallmark verify --chain --layout:\n{text}");
    assert!(
        text.contains("TaskRun pr-ok/clone: signed by the given key"),
        "{text}"
    );

    // A step missing: without the cluster, clone's attestation is not found.
    let (code, report) = verify_layout(&ctx, ok_b, &layout, &owner, &[]);
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(
        layout_denials(&report),
        ["layout:step-missing:clone"],
        "{report:#}"
    );
    // ... nor when it is removed from its run.
    let clone = ctx.get("taskrun", "pr-ok-clone").expect("clone");
    let uid = clone["metadata"]["uid"].as_str().expect("uid");
    ok(
        &ctx.kubectl(&[
            "annotate",
            "-n",
            &ctx.ns,
            "taskrun",
            "pr-ok-clone",
            &format!("chains.tekton.dev/signature-taskrun-{uid}-"),
        ]),
        "remove clone's attestation",
    );
    let (code, report) = verify_layout(&ctx, ok_b, &layout, &owner, &["--kubeconfig"]);
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(
        layout_denials(&report),
        ["layout:step-missing:clone"],
        "{report:#}"
    );
    let reason = report["reasons"][0]["message"].as_str().unwrap_or_default();
    assert!(reason.contains("clone"), "{report:#}");

    // A fake check: package attests, but used nothing build produced.
    let (code, report) = verify_layout(&ctx, fake_b, &layout, &owner, &["--kubeconfig"]);
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(
        layout_denials(&report),
        ["layout:fake-step:package"],
        "{report:#}"
    );

    // An unintended retention: build passes its base image on.
    let (code, report) = verify_layout(&ctx, retain_b, &layout, &owner, &["--kubeconfig"]);
    assert_eq!(code, 1, "{report:#}");
    assert!(
        layout_denials(&report).contains(&"layout:unintended-retention:build".to_owned()),
        "{report:#}"
    );

    // The layout: signed by another owner, or expired.
    let other = dir.join("other.pub").to_string_lossy().into_owned();
    let (code, report) = verify_layout(&ctx, retain_b, &layout, &other, &["--kubeconfig"]);
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(layout_denials(&report), ["layout"], "{report:#}");
    let expired = make_layout("expired.json", "1s");
    std::thread::sleep(std::time::Duration::from_secs(2));
    let (code, report) = verify_layout(&ctx, retain_b, &expired, &owner, &["--kubeconfig"]);
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(layout_denials(&report), ["layout"], "{report:#}");
    let reason = serde_json::to_string(&report["reasons"]).unwrap_or_default();
    assert!(reason.contains("expired"), "{report:#}");
}
