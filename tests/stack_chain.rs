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
use support::controller::{Ctx, HM, Stopped, stack};
use support::peers::{ok, run, stdout};

const COMMIT: &str = "4f9c2b7e1d3a5c6b8e0f1a2b3c4d5e6f7a8b9c0d";
const GIT_URL: &str = "https://git.example/hallmark/app.git";

/// Create a TaskRun of pipeline task `task` in PipelineRun `pr` with the given string or
/// object results, and finish it.
fn child(ctx: &Ctx<'_>, pr: &str, task: &str, results: &[(&str, String)]) {
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
    let tr = json!({
        "apiVersion": "tekton.dev/v1", "kind": "TaskRun",
        "metadata": {"name": name, "namespace": ctx.ns, "labels": {
            "tekton.dev/pipeline": "hm-chain",
            "tekton.dev/pipelineRun": pr,
            "tekton.dev/pipelineTask": task,
        }},
        "spec": {"taskSpec": {"results": declared, "steps": []}}
    });
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
    child(&ctx, pr, "clone", &git);
    let mut build = git.clone();
    build.extend(image_results(&a));
    child(&ctx, pr, "build", &build);
    let mut package = image_results(&b);
    package.push(input_of(&a));
    child(&ctx, pr, "package", &package);
    let task = |name: &str, after: Option<&str>| {
        let mut t = json!({"name": name, "taskSpec": {"steps": []}});
        if let Some(a) = after {
            t["runAfter"] = json!([a]);
        }
        t
    };
    let (b_repo, b_digest) = b.split_once('@').expect("digest");
    let run_json = json!({
        "apiVersion": "tekton.dev/v1", "kind": "PipelineRun",
        "metadata": {"name": pr, "namespace": ctx.ns,
            "labels": {"tekton.dev/pipeline": "hm-chain"}},
        "spec": {"pipelineSpec": {
            "tasks": [task("clone", None), task("build", Some("clone")),
                task("package", Some("build"))],
            "results": [{"name": "IMAGE_URL", "value": b_repo},
                {"name": "IMAGE_DIGEST", "value": b_digest}]}}
    });
    ok(
        &ctx.kubectl_stdin(&["create", "-f", "-"], &run_json.to_string()),
        "create PipelineRun",
    );
    ok(
        &run(
            dir,
            &s.complete_run,
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
