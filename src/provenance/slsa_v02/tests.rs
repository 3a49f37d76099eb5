//! Tests of the `slsa/v1` format: Chains v0.29.2's formatter-test expectations
//! (`pkg/chains/formats/slsa/v1/intotoite6_test.go`), transcribed as JSON, and
//! determinism properties.

#![allow(clippy::panic)] // Tests report failures by panicking.

use serde_json::{Value, json};

use crate::provenance::{Format, FormatOptions, format};
use crate::tekton::{Run, RunKind, TaskRun, parse_runs};
use crate::test_support::shared_dir;

const D1: &str = "d4b63d3e24d6eef04a6dc0795cf8a73470688803d97c52cffa3c8d4efd3397b6";
const D2: &str = "4d6dd704ef58cb214dd826519929e92a978a57cdee43693006139c0080fd6fac";
const D3: &str = "f1a8b8549c179f41e27ff3db0fe1a1793e4b109da46586501a8343637b1d0478";
const IMG: &str = "827521c857fdcd4374f4da5442fbae2edb01e7fbae285c3ec15673d4c1daecb7";
const START: &str = "2021-03-29T09:50:00Z";
const END: &str = "2021-03-29T09:50:15Z";

fn load(name: &str, kind: RunKind) -> Run {
    let p = shared_dir().join("chains/formats/pipeline-v1").join(name);
    let bytes = std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    let mut runs =
        parse_runs(&bytes, Some(kind)).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    runs.remove(0)
}

fn task_run(name: &str) -> TaskRun {
    match load(name, RunKind::TaskRun) {
        Run::TaskRun(t) => t,
        Run::PipelineRun(_) => panic!("{name} is not a TaskRun"),
    }
}

fn opts(builder: &str) -> FormatOptions {
    FormatOptions {
        builder_id: builder.into(),
        ..FormatOptions::default()
    }
}

fn statement(run: &Run, children: &[TaskRun], o: &FormatOptions) -> Value {
    let s = format(run, children, Format::SlsaV1, o).unwrap_or_else(|e| panic!("format: {e}"));
    serde_json::from_slice(&s.to_json()).unwrap_or(Value::Null)
}

fn step(cmd: &str, container: &str, image: &str) -> Value {
    json!({"entryPoint": cmd, "arguments": null, "annotations": null,
           "environment": {"container": container, "image": format!("oci://{image}")}})
}

fn meta() -> Value {
    json!({"buildStartedOn": START, "buildFinishedOn": END,
           "completeness": {"parameters": false, "environment": false, "materials": false}, "reproducible": false})
}

fn mat(uri: &str, alg: &str, hex: &str) -> Value {
    json!({"uri": uri, "digest": {alg: hex}})
}

#[test]
fn taskrun1_matches_chains() {
    let got = statement(
        &load("taskrun1.json", RunKind::TaskRun),
        &[],
        &opts("test_builder-1"),
    );
    let want = json!({
        "_type": "https://in-toto.io/Statement/v0.1",
        "predicateType": "https://slsa.dev/provenance/v0.2",
        "subject": [{"name": "gcr.io/my/image", "digest": {"sha256": IMG}}],
        "predicate": {
            "builder": {"id": "test_builder-1"},
            "buildType": "tekton.dev/v1/TaskRun",
            "invocation": {
                "configSource": {"uri": "github.com/test", "digest": {"sha1": "ab123"}, "entryPoint": "build.yaml"},
                "parameters": {"IMAGE": "test.io/test/image", "CHAINS-GIT_COMMIT": "sha:taskrun",
                               "CHAINS-GIT_URL": "https://git.test.com"},
                "environment": {"labels": {"tekton.dev/pipelineTask": "build"}}
            },
            "buildConfig": {"steps": [
                step("", "step1", &format!("gcr.io/test1/test1@sha256:{D1}")),
                step("", "step2", &format!("gcr.io/test2/test2@sha256:{D2}")),
                step("", "step3", &format!("gcr.io/test3/test3@sha256:{D3}")),
            ]},
            "metadata": meta(),
            "materials": [
                mat("oci://gcr.io/test1/test1", "sha256", D1),
                mat("oci://gcr.io/test2/test2", "sha256", D2),
                mat("oci://gcr.io/test3/test3", "sha256", D3),
                mat("git+https://git.test.com.git", "sha1", "sha:taskrun"),
            ]
        }
    });
    assert_eq!(got, want, "got {got:#}");
}

#[test]
fn taskrun2_matches_chains() {
    let got = statement(
        &load("taskrun2.json", RunKind::TaskRun),
        &[],
        &opts("test_builder-2"),
    );
    assert!(got.get("subject").is_none(), "no subjects: {got:#}");
    let p = &got["predicate"];
    assert_eq!(
        p["invocation"]["parameters"],
        json!({"CHAINS-GIT_COMMIT": "sha:taskdefault",
        "CHAINS-GIT_URL": "https://git.test.com", "revision": "", "url": "https://git.test.com"})
    );
    assert_eq!(
        p["buildConfig"],
        json!({"steps": [step("git clone", "step1", &format!("gcr.io/test1/test1@sha256:{D1}"))]})
    );
    assert_eq!(
        p["materials"],
        json!([
            mat("oci://gcr.io/test1/test1", "sha256", D1),
            mat("git+https://git.test.com.git", "sha1", "sha:taskdefault")
        ])
    );
}

#[test]
fn multiple_subjects_match_chains() {
    let got = statement(
        &load("taskrun-multiple-subjects.json", RunKind::TaskRun),
        &[],
        &opts("test_builder-multiple"),
    );
    assert_eq!(
        got["subject"],
        json!([
            {"name": "gcr.io/myimage1", "digest": {"sha256": D1}},
            {"name": "gcr.io/myimage2", "digest": {"sha256": "daa1a56e13c85cf164e7d9e595006649e3a04c47fe4a8261320e18a0bf3b0367"}},
        ])
    );
    let p = &got["predicate"];
    assert_eq!(
        p["invocation"],
        json!({"configSource": {}, "parameters": {}})
    );
    assert_eq!(
        p["metadata"],
        json!({"completeness": {"parameters": false, "environment": false, "materials": false}, "reproducible": false})
    );
    assert_eq!(
        p["materials"],
        json!([
            mat("oci://gcr.io/test1/test1", "sha256", D1),
            mat(
                "oci://gcr.io/test1/test2",
                "sha256",
                "d4b63d3e24d6eef04a6dc0795cf8a73470688803d97c52cffa3c8d4efd3397b5"
            )
        ])
    );
}

fn pipeline_expectation() -> Value {
    json!({
        "builder": {"id": "test_builder-1"},
        "buildType": "tekton.dev/v1/PipelineRun",
        "invocation": {
            "configSource": {"uri": "github.com/test", "digest": {"sha1": "28b123"}, "entryPoint": "pipeline.yaml"},
            "parameters": {"IMAGE": "test.io/test/image"}
        },
        "metadata": meta(),
        "buildConfig": {"tasks": [
            {
                "name": "git-clone",
                "ref": {"name": "git-clone", "kind": "ClusterTask"},
                "startedOn": START, "finishedOn": END,
                "serviceAccountName": "pipeline", "status": "Succeeded",
                "steps": [step("git clone", "step1", &format!("gcr.io/test1/test1@sha256:{D1}"))],
                "invocation": {
                    "configSource": {"uri": "github.com/catalog", "digest": {"sha1": "x123"}, "entryPoint": "git-clone.yaml"},
                    "parameters": {"CHAINS-GIT_COMMIT": "sha:taskdefault", "CHAINS-GIT_URL": "https://git.test.com",
                                   "revision": "", "url": "https://git.test.com"},
                    "environment": {"labels": {"tekton.dev/pipelineTask": "git-clone"}}
                },
                // Chains keeps the child's results order (some-uri_DIGEST first);
                // hallmark sorts by name (docs/compatibility.md D4).
                "results": [
                    {"name": "some-uri", "value": "pkg:deb/debian/curl@7.50.3-1"},
                    {"name": "some-uri_DIGEST", "value": format!("sha256:{D1}")}
                ]
            },
            {
                "name": "build",
                "after": ["git-clone"],
                "ref": {"name": "build", "kind": "ClusterTask"},
                "startedOn": START, "finishedOn": END,
                "serviceAccountName": "pipeline", "status": "Succeeded",
                "steps": [
                    step("", "step1", &format!("gcr.io/test1/test1@sha256:{D1}")),
                    step("", "step2", &format!("gcr.io/test2/test2@sha256:{D2}")),
                    step("", "step3", &format!("gcr.io/test3/test3@sha256:{D3}")),
                ],
                "invocation": {
                    "configSource": {"uri": "github.com/test", "digest": {"sha1": "ab123"}, "entryPoint": "build.yaml"},
                    "parameters": {"CHAINS-GIT_COMMIT": "sha:taskrun", "CHAINS-GIT_URL": "https://git.test.com",
                                   "IMAGE": "test.io/test/image"},
                    "environment": {"labels": {"tekton.dev/pipelineTask": "build"}}
                },
                "results": [
                    {"name": "IMAGE_DIGEST", "value": format!("sha256:{IMG}")},
                    {"name": "IMAGE_URL", "value": "gcr.io/my/image"}
                ]
            }
        ]},
        "materials": [
            mat("github.com/test", "sha1", "28b123"),
            mat("oci://gcr.io/test1/test1", "sha256", D1),
            mat("github.com/catalog", "sha1", "x123"),
            mat("oci://gcr.io/test2/test2", "sha256", D2),
            mat("oci://gcr.io/test3/test3", "sha256", D3),
            mat("github.com/test", "sha1", "ab123"),
            mat("abc", "sha256", IMG),
            mat("git+https://git.test.com.git", "sha1", "abcd"),
        ]
    })
}

fn sorted_materials(mut v: Value) -> Value {
    if let Some(Value::Array(m)) = v.pointer_mut("/predicate/materials") {
        m.sort_by_key(ToString::to_string);
    }
    v
}

#[test]
fn pipelinerun1_matches_chains() {
    let pr = load("pipelinerun1.json", RunKind::PipelineRun);
    let children = [task_run("taskrun1.json"), task_run("taskrun2.json")];
    let got = statement(&pr, &children, &opts("test_builder-1"));
    assert_eq!(
        got["subject"],
        json!([{"name": "test.io/test/image", "digest": {"sha256": IMG}}])
    );
    let want = json!({"predicate": pipeline_expectation()});
    // Chains' own test compares materials as a set.
    assert_eq!(
        sorted_materials(json!({"predicate": got["predicate"].clone()})),
        sorted_materials(want.clone())
    );
    // hallmark's order is Chains' append order.
    assert_eq!(
        got["predicate"]["materials"],
        want["predicate"]["materials"]
    );

    // Children are visited by pipeline task, so the order of children of different tasks
    // does not matter; deep inspection adds the children's subjects.
    let swapped = [children[1].clone(), children[0].clone()];
    let again = statement(&pr, &swapped, &opts("test_builder-1"));
    assert_eq!(got, again);
    let deep = FormatOptions {
        deep_inspection: true,
        ..opts("test_builder-1")
    };
    let got = statement(&pr, &children, &deep);
    let names: Vec<&str> = got["subject"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["name"].as_str())
        .collect();
    assert_eq!(names, ["gcr.io/my/image", "test.io/test/image"]);
}

#[test]
fn pipelinerun_childrefs_matches_chains() {
    let pr = load("pipelinerun-childrefs.json", RunKind::PipelineRun);
    let children = [task_run("taskrun1.json"), task_run("taskrun2.json")];
    let got = statement(&pr, &children, &opts("test_builder-1"));
    let want = pipeline_expectation();
    assert_eq!(got["predicate"]["buildConfig"], want["buildConfig"]);
}

#[test]
fn bad_image_id_fails_like_chains() {
    let mut tr = task_run("taskrun1.json");
    tr.status.steps[0].image_id = "gcr.io/no-digest".into();
    let err = format(
        &Run::TaskRun(tr),
        &[],
        Format::SlsaV1,
        &FormatOptions::default(),
    )
    .err();
    let msg = err.map(|e| e.to_string()).unwrap_or_default();
    assert!(msg.contains("status.steps[0].imageID"), "{msg}");
}

/// Same input → same bytes; reordered map keys and reordered type-hint results → same bytes.
#[test]
fn deterministic_under_shuffling() {
    let p = shared_dir().join("chains/formats/pipeline-v1/taskrun-multiple-subjects.json");
    let bytes = std::fs::read(&p).unwrap_or_default();
    let doc: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    let fmt = |doc: &Value| {
        let runs =
            parse_runs(doc.to_string().as_bytes(), Some(RunKind::TaskRun)).unwrap_or_default();
        runs.first()
            .and_then(|r| format(r, &[], Format::SlsaV1, &FormatOptions::default()).ok())
            .map(|s| s.to_json())
    };
    let base = fmt(&doc);
    assert!(base.is_some());
    assert_eq!(base, fmt(&doc));
    let mut shuffled = doc.clone();
    if let Some(Value::Array(results)) = shuffled.pointer_mut("/status/results") {
        results.reverse();
    }
    assert_eq!(base, fmt(&shuffled));
    // A YAML rendering with keys in another order gives the same statement too.
    let yaml = serde_yaml_ng::to_string(&shuffled).unwrap_or_default();
    let runs = parse_runs(yaml.as_bytes(), Some(RunKind::TaskRun)).unwrap_or_default();
    let from_yaml = runs
        .first()
        .and_then(|r| format(r, &[], Format::SlsaV1, &FormatOptions::default()).ok());
    assert_eq!(base, from_yaml.map(|s| s.to_json()));
}

/// JSON text of `v` with every object's keys in an order picked by `seed`, and the
/// run's results permuted.
fn shuffled(v: &Value, seed: u64, path: &str) -> String {
    let next = |s: u64| {
        s.wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407)
    };
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            let mut s = seed;
            for i in (1..keys.len()).rev() {
                s = next(s);
                keys.swap(i, (s >> 33) as usize % (i + 1));
            }
            let fields: Vec<String> = keys
                .iter()
                .map(|k| {
                    format!(
                        "{}:{}",
                        Value::String((*k).clone()),
                        shuffled(
                            &m[k.as_str()],
                            next(s ^ k.len() as u64),
                            &format!("{path}/{k}")
                        )
                    )
                })
                .collect();
            format!("{{{}}}", fields.join(","))
        }
        Value::Array(items) => {
            let mut idx: Vec<usize> = (0..items.len()).collect();
            if path == "/status/results" {
                let mut s = seed;
                for i in (1..idx.len()).rev() {
                    s = next(s);
                    idx.swap(i, (s >> 33) as usize % (i + 1));
                }
            }
            let parts: Vec<String> = idx
                .iter()
                .map(|&i| shuffled(&items[i], next(seed + i as u64), path))
                .collect();
            format!("[{}]", parts.join(","))
        }
        other => other.to_string(),
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 32, ..Default::default() })]

    /// Reordered object keys and reordered run results give byte-identical statements.
    #[test]
    fn shuffled_runs_give_identical_bytes(seed in proptest::prelude::any::<u64>(), pick in 0usize..8) {
        let files = ["taskrun1.json", "taskrun2.json", "taskrun3.json", "taskrun4.json",
            "taskrun-multiple-subjects.json", "pipelinerun1.json", "pipelinerun-childrefs.json",
            "pipelinerun_structured_results.json"];
        let name = files[pick];
        let kind = if name.starts_with("pipelinerun") { RunKind::PipelineRun } else { RunKind::TaskRun };
        let p = shared_dir().join("chains/formats/pipeline-v1").join(name);
        let doc: Value = serde_json::from_slice(&std::fs::read(&p).unwrap_or_default()).unwrap_or(Value::Null);
        let children = [task_run("taskrun1.json"), task_run("taskrun2.json")];
        let o = FormatOptions { deep_inspection: seed % 2 == 0, ..FormatOptions::default() };
        let run = |text: &str| {
            let runs = parse_runs(text.as_bytes(), Some(kind)).unwrap_or_default();
            runs.first().and_then(|r| format(r, &children, Format::SlsaV1, &o).ok()).map(|s| s.to_json())
        };
        let base = run(&doc.to_string());
        proptest::prop_assert!(base.is_some());
        proptest::prop_assert_eq!(base, run(&shuffled(&doc, seed, "")));
    }
}

/// Chains' `TestBuildConfigTaskOrder`: a reference to another task's result in a param,
/// `when.input` or `when.values` orders the task after it, like `runAfter`; a finally task
/// without `runAfter` comes after the last pipeline task that ran.
#[test]
fn task_order_like_chains() {
    use crate::tekton::{Param, ParamValue, PipelineTask, WhenExpression};
    let Run::PipelineRun(base) = load("pipelinerun1.json", RunKind::PipelineRun) else {
        panic!("not a PipelineRun")
    };
    let children = [task_run("taskrun1.json"), task_run("taskrun2.json")];
    const REFERENCE: &str = "$(tasks.git-clone.results.commit)";
    let variants: [fn(&mut PipelineTask); 4] = [
        |t| t.run_after = vec!["git-clone".into()],
        |t| {
            t.params = vec![Param {
                name: "p".into(),
                value: ParamValue::String(REFERENCE.into()),
            }]
        },
        |t| {
            t.when = vec![WhenExpression {
                input: REFERENCE.into(),
                values: vec!["abcd".into()],
                cel: String::new(),
            }]
        },
        |t| {
            t.when = vec![WhenExpression {
                input: "abcd".into(),
                values: vec![REFERENCE.into()],
                cel: String::new(),
            }]
        },
    ];
    for (i, change) in variants.iter().enumerate() {
        let mut pr = base.clone();
        let Some(ps) = pr.status.pipeline_spec.as_mut() else {
            panic!("no pipelineSpec")
        };
        let build = &mut ps.tasks[1];
        build.run_after.clear();
        build.params.clear();
        change(build);
        let got = statement(&Run::PipelineRun(pr), &children, &opts("b"));
        assert_eq!(
            got["predicate"]["buildConfig"]["tasks"][1]["after"],
            json!(["git-clone"]),
            "variant {i}"
        );
        assert!(
            got["predicate"]["buildConfig"]["tasks"][0]
                .get("after")
                .is_none(),
            "variant {i}"
        );
    }

    // The build task as a finally task without runAfter: after git-clone.
    let mut pr = base.clone();
    let Some(ps) = pr.status.pipeline_spec.as_mut() else {
        panic!("no pipelineSpec")
    };
    let mut build = ps.tasks.remove(1);
    build.run_after.clear();
    build.params.clear();
    ps.finally.push(build);
    let got = statement(&Run::PipelineRun(pr), &children, &opts("b"));
    assert_eq!(
        got["predicate"]["buildConfig"]["tasks"][1]["name"],
        json!("build")
    );
    assert_eq!(
        got["predicate"]["buildConfig"]["tasks"][1]["after"],
        json!(["git-clone"])
    );
}

/// Chains v0.29's `TestBuildConfigMismatchStatusStepsAndTaskSpec`: a child whose status
/// steps do not match its Task's steps is left out of `buildConfig` (its images stay
/// materials).
#[test]
fn mismatched_steps_are_skipped_like_chains() {
    let pr = load("pipelinerun1.json", RunKind::PipelineRun);
    let children = [
        "taskrun1.json",
        "taskrun2.json",
        "taskrun3.json",
        "taskrun4.json",
    ]
    .map(task_run);
    let got = statement(&pr, &children, &opts("b"));
    let tasks = got["predicate"]["buildConfig"]["tasks"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let names: Vec<&str> = tasks.iter().filter_map(|t| t["name"].as_str()).collect();
    assert_eq!(names, ["git-clone", "build", "build"]);
    let mats = got["predicate"]["materials"].to_string();
    assert!(mats.contains("oci://gcr.io/test9/test9"), "{mats}");
}
