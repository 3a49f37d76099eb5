//! `hallmark search` against the stack's Rekor v1 (issue 7): several runs of one pipeline
//! among runs of another are attested (by cosign v3, one Rekor `dsse` entry and one
//! referrer bundle each); `hallmark search --image` finds exactly as many entries as
//! `rekor-cli search --sha`, `--pipeline` keeps exactly that pipeline's runs, and every
//! hit is verified (with the public-good root instead, nothing verifies and nothing is
//! shown).
//!
//! Needs the stack; skipped with a message without it unless `HALLMARK_REQUIRE_STACK=1`.
#![allow(clippy::panic)] // Tests report failures by panicking.

use std::path::Path;
use std::process::{Command, Output};

fn var(name: &str) -> Option<String> {
    let v = std::env::var(name).ok().filter(|v| !v.is_empty());
    if v.is_none() {
        assert!(
            std::env::var("HALLMARK_REQUIRE_STACK").as_deref() != Ok("1"),
            "HALLMARK_REQUIRE_STACK=1 but {name} is not set"
        );
        eprintln!("stack_search: skipped, {name} is not set");
    }
    v
}

fn run(dir: &Path, program: &str, args: &[&str]) -> Output {
    Command::new("timeout")
        .arg("180")
        .arg(program)
        .args(args)
        .current_dir(dir)
        .env("DOCKER_CONFIG", dir.join("docker"))
        .env("TUF_ROOT", dir.join("tuf"))
        .env("COSIGN_PASSWORD", "")
        .output()
        .unwrap_or_else(|e| panic!("running {program}: {e}"))
}

fn ok(out: &Output, what: &str) {
    assert!(
        out.status.success(),
        "{what} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn search_finds_a_pipelines_runs() {
    let (Some(reg), Some(rekor), Some(root), Some(cosign), Some(crane), Some(rekor_cli)) = (
        var("HALLMARK_STACK_REGISTRY_REFERRERS"),
        var("HALLMARK_STACK_REKOR_URL"),
        var("HALLMARK_STACK_TRUSTED_ROOT"),
        var("HALLMARK_STACK_COSIGN"),
        var("HALLMARK_STACK_CRANE"),
        var("HALLMARK_STACK_REKOR_CLI"),
    ) else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let dir = tmp.path();
    std::fs::create_dir_all(dir.join("docker")).unwrap_or_else(|e| panic!("{e}"));
    ok(
        &run(
            dir,
            &cosign,
            &["generate-key-pair", "--output-key-prefix", "key"],
        ),
        "generate-key-pair",
    );
    let rekor_svc = format!(
        "url={rekor},api-version=1,start-time=2020-01-01T00:00:00Z,operator=hallmark-stack"
    );
    ok(
        &run(
            dir,
            &cosign,
            &[
                "signing-config",
                "create",
                "--rekor",
                &rekor_svc,
                "--rekor-config=ANY",
                "--out",
                "sc.json",
            ],
        ),
        "signing-config create",
    );
    let nonce = format!("{}-{:?}", std::process::id(), std::time::SystemTime::now());
    std::fs::write(dir.join("random.bin"), nonce.repeat(30)).unwrap_or_else(|e| panic!("{e}"));
    ok(&run(dir, "tar", &["-cf", "layer.tar", "random.bin"]), "tar");
    let repo = format!("{reg}/search/app");
    ok(
        &run(
            dir,
            &crane,
            &["append", "-f", "layer.tar", "-t", &format!("{repo}:x")],
        ),
        "crane append",
    );
    let digest =
        String::from_utf8_lossy(&run(dir, &crane, &["digest", &format!("{repo}:x")]).stdout)
            .trim()
            .to_owned();
    let image = format!("{repo}@{digest}");

    // Three runs: two of pipeline "build", one of pipeline "release".
    let runs = [
        ("build", "build-run-1"),
        ("build", "build-run-2"),
        ("release", "release-run-1"),
    ];
    for (i, (pipeline, run_name)) in runs.iter().enumerate() {
        let predicate = serde_json::json!({
            "builder": {"id": "https://tekton.dev/chains/v2"},
            "buildType": "tekton.dev/v1beta1/PipelineRun",
            "invocation": {"configSource": {}, "parameters": {}, "environment": {"labels": {
                "tekton.dev/pipeline": pipeline, "tekton.dev/pipelineRun": run_name}}},
            "metadata": {"buildInvocationID": format!("uid-{i}")},
            "materials": []
        });
        std::fs::write(dir.join("p.json"), predicate.to_string()).unwrap_or_else(|e| panic!("{e}"));
        ok(
            &run(
                dir,
                &cosign,
                &[
                    "attest",
                    "--yes",
                    "--key",
                    "key.key",
                    "--predicate",
                    "p.json",
                    "--type",
                    "slsaprovenance",
                    "--signing-config",
                    "sc.json",
                    "--trusted-root",
                    &root,
                    &image,
                ],
            ),
            "cosign attest",
        );
    }
    let rekor_count = {
        let out = run(
            dir,
            &rekor_cli,
            &[
                "search",
                "--rekor_server",
                &rekor,
                "--store_tree_state=false",
                "--sha",
                &digest,
                "--format",
                "json",
            ],
        );
        ok(&out, "rekor-cli search");
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        v["UUIDs"].as_array().map_or(0, Vec::len)
    };
    assert_eq!(rekor_count, 3, "rekor-cli finds the three entries");
    let search = |extra: &[&str], root: &str| {
        let mut args = vec![
            "search",
            "--image",
            &image,
            "--rekor-url",
            &rekor,
            "--trusted-root",
            root,
            "-o",
            "json",
        ];
        args.extend_from_slice(extra);
        let out = run(dir, env!("CARGO_BIN_EXE_hallmark"), &args);
        ok(&out, "hallmark search");
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap_or_default()
    };
    let count = |v: &serde_json::Value| v["hits"].as_array().map_or(0, Vec::len);
    let all = search(&[], &root);
    assert_eq!(
        count(&all),
        rekor_count,
        "hallmark search --image finds what rekor-cli finds: {all:#}"
    );
    for hit in all["hits"].as_array().into_iter().flatten() {
        assert_eq!(
            hit["predicateType"], "https://slsa.dev/provenance/v0.2",
            "{hit:#}"
        );
        assert!(
            hit["subjects"].to_string().contains(&digest[7..]),
            "{hit:#}"
        );
    }
    let build = search(&["--pipeline", "build"], &root);
    assert_eq!(count(&build), 2, "{build:#}");
    let mut names: Vec<String> = build["hits"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|h| h["run"].as_str().map(str::to_owned))
        .collect();
    names.sort();
    assert_eq!(names, vec!["build-run-1", "build-run-2"]);
    assert_eq!(count(&search(&["--pipeline", "release"], &root)), 1);
    assert_eq!(
        count(&search(&["--pipeline", "no-such-pipeline"], &root)),
        0
    );
    assert_eq!(count(&search(&["--limit", "1"], &root)), 1);
    assert_eq!(
        count(&search(&["--since", "2999-01-01T00:00:00Z"], &root)),
        0
    );
    // Verified before shown: against the public-good root none of the stack's entries is.
    let unverified = run(
        dir,
        env!("CARGO_BIN_EXE_hallmark"),
        &[
            "search",
            "--image",
            &image,
            "--rekor-url",
            &rekor,
            "-o",
            "json",
        ],
    );
    let v: serde_json::Value = serde_json::from_slice(&unverified.stdout).unwrap_or_default();
    assert_eq!(count(&v), 0, "{v:#}");
    assert_eq!(v["rejected"].as_array().map_or(0, Vec::len), 3, "{v:#}");
    eprintln!(
        "stack_search: 3 entries (rekor-cli 3), --pipeline build 2, release 1; all verified; 0 shown with the wrong root"
    );
}
