//! Chains' Go test expectations for `slsa/v2alpha3` and `slsa/v2alpha4`
//! (`pkg/chains/formats/slsa/v2alpha{3,4}/...` of Tekton Chains v0.29.2), on the same
//! fixtures.

#![allow(clippy::panic)] // a test that cannot load its fixture fails loudly

use super::*;
use crate::tekton::{Run, RunKind, parse_runs};
use base64::Engine as _;
use serde_json::json;

const D1: &str = "d4b63d3e24d6eef04a6dc0795cf8a73470688803d97c52cffa3c8d4efd3397b6";
const D2: &str = "4d6dd704ef58cb214dd826519929e92a978a57cdee43693006139c0080fd6fac";
const D3: &str = "f1a8b8549c179f41e27ff3db0fe1a1793e4b109da46586501a8343637b1d0478";
const IMG: &str = "827521c857fdcd4374f4da5442fbae2edb01e7fbae285c3ec15673d4c1daecb7";
const MY_IMAGE: &str = "d31cc8328054de2bd93735f9cbf0ccfb6e0ee8f4c4225da7d8f8cb3900eaf466";
const UID: &str = "abhhf-12354-asjsdbjs23-3435353n";

fn load(dir: &str, file: &str, kind: RunKind) -> Run {
    let path = crate::test_support::shared_dir()
        .join("chains/formats")
        .join(dir)
        .join(file);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut runs =
        parse_runs(&bytes, Some(kind)).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    runs.remove(0)
}

fn task_run(dir: &str, file: &str) -> TaskRun {
    match load(dir, file, RunKind::TaskRun) {
        Run::TaskRun(tr) => tr,
        Run::PipelineRun(_) => panic!("{file} is not a TaskRun"),
    }
}

fn pipeline_run(dir: &str, file: &str) -> PipelineRun {
    match load(dir, file, RunKind::PipelineRun) {
        Run::PipelineRun(pr) => pr,
        Run::TaskRun(_) => panic!("{file} is not a PipelineRun"),
    }
}

fn opts(builder: &str, deep: bool) -> FormatOptions {
    FormatOptions {
        builder_id: builder.into(),
        build_type: SLSA_BUILD_TYPE.into(),
        deep_inspection: deep,
    }
}

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

fn bp(name: &str, content: &str) -> Value {
    json!({"name": name, "content": b64(content), "mediaType": "application/json"})
}

fn rd(name: &str, uri: &str, alg: &str, hex: &str) -> Value {
    let mut v = json!({"uri": uri, "digest": {alg: hex}});
    if !name.is_empty() {
        v["name"] = json!(name);
    }
    v
}

fn subj(name: &str, hex: &str) -> Value {
    json!({"name": name, "digest": {"sha256": hex}})
}

fn stmt_tr(tr: &TaskRun, f: Format, o: &FormatOptions) -> Value {
    taskrun(tr, f, o)
        .map(|s| s.to_value())
        .unwrap_or_else(|e| panic!("{e}"))
}

fn stmt_pr(pr: &PipelineRun, children: &[TaskRun], f: Format, o: &FormatOptions) -> Value {
    pipelinerun(pr, children, f, o)
        .map(|s| s.to_value())
        .unwrap_or_else(|e| panic!("{e}"))
}

fn sorted_subjects(mut v: Vec<Value>) -> Value {
    v.sort_by_key(|s| {
        (
            s["name"].as_str().map(str::to_owned),
            s["digest"].to_string(),
        )
    });
    Value::Array(v)
}

fn task_run1_run_spec() -> Value {
    json!({
        "params": [
            {"name": "IMAGE", "value": "test.io/test/image"},
            {"name": "CHAINS-GIT_COMMIT", "value": "taskrun"},
            {"name": "CHAINS-GIT_URL", "value": "https://git.test.com"}
        ],
        "serviceAccountName": "default",
        "taskRef": {"name": "build", "kind": "Task"}
    })
}

fn task_run1_deps() -> Value {
    json!([
        rd("task", "git+https://github.com/test", "sha1", "ab123"),
        rd("", "oci://gcr.io/test1/test1", "sha256", D1),
        rd("", "oci://gcr.io/test2/test2", "sha256", D2),
        rd("", "oci://gcr.io/test3/test3", "sha256", D3),
        rd(
            "inputs/result",
            "git+https://git.test.com.git",
            "sha1",
            "taskrun"
        ),
    ])
}

fn times() -> Value {
    json!({"invocationId": UID, "startedOn": "2021-03-29T09:50:00Z", "finishedOn": "2021-03-29T09:50:15Z"})
}

#[test]
fn v2alpha4_taskrun1() {
    let tr = task_run("slsa-v2alpha4", "taskrun1.json");
    let got = stmt_tr(&tr, Format::SlsaV2Alpha4, &opts("test_builder-1", false));
    let want = json!({
        "_type": "https://in-toto.io/Statement/v1",
        "predicateType": "https://slsa.dev/provenance/v1",
        "subject": sorted_subjects(vec![subj("gcr.io/my/image/fromstep3", IMG), subj("gcr.io/my/image", MY_IMAGE)]),
        "predicate": {
            "buildDefinition": {
                "buildType": SLSA_BUILD_TYPE,
                "externalParameters": {"runSpec": task_run1_run_spec()},
                "internalParameters": {"tekton-pipelines-feature-flags": {
                    "enableAPIFields": "beta", "resultExtractionMethod": "termination-message"}},
                "resolvedDependencies": task_run1_deps(),
            },
            "runDetails": {
                "builder": {"id": "test_builder-1"},
                "metadata": times(),
                "byproducts": [
                    bp("stepResults/taskrun-build/step1_result1", r#""result-value""#),
                    bp(
                        "stepResults/taskrun-build/step1_result1-ARTIFACT_OUTPUTS",
                        &format!(r#"{{"digest":"sha256:{IMG}","uri":"gcr.io/my/image/fromstep2"}}"#),
                    ),
                ],
            },
        },
    });
    assert_eq!(got, want);
}

#[test]
fn v2alpha4_taskrun2() {
    let tr = task_run("slsa-v2alpha4", "taskrun2.json");
    let got = stmt_tr(&tr, Format::SlsaV2Alpha4, &opts("test_builder-2", false));
    assert!(got.get("subject").is_none(), "{got}");
    let p = &got["predicate"];
    assert_eq!(p["buildDefinition"]["internalParameters"], json!({}));
    assert_eq!(
        p["buildDefinition"]["resolvedDependencies"],
        json!([
            rd("task", "git+https://github.com/catalog", "sha1", "x123"),
            rd("", "oci://gcr.io/test1/test1", "sha256", D1),
            rd(
                "inputs/result",
                "https://github.com/tektoncd/pipeline",
                "sha1",
                "7f2f46e1b97df36b2b82d1b1d87c81b8b3d21601"
            ),
            rd(
                "inputs/result",
                "git+https://git.test.com.git",
                "sha1",
                "sha:taskdefault"
            ),
        ])
    );
    assert_eq!(
        p["runDetails"]["byproducts"],
        json!([
            bp(
                "taskRunResults/git-clone/some-uri",
                r#""pkg:deb/debian/curl@7.50.3-1""#
            ),
            bp(
                "taskRunResults/git-clone/some-uri_DIGEST",
                &format!(r#""sha256:{D1}""#)
            ),
            bp(
                "stepResults/git-clone/step1_result1-ARTIFACT_INPUTS",
                r#"{"digest":"sha1:7f2f46e1b97df36b2b82d1b1d87c81b8b3d21601","uri":"https://github.com/tektoncd/pipeline"}"#
            ),
        ])
    );
    assert_eq!(
        p["buildDefinition"]["externalParameters"]["runSpec"],
        json!({
            "params": [{"name": "url", "value": "https://git.test.com"}, {"name": "revision", "value": ""}],
            "serviceAccountName": "default",
            "taskRef": {"name": "git-clone", "kind": "Task"}
        })
    );
}

#[test]
fn v2alpha4_multiple_subjects() {
    let tr = task_run("slsa-v2alpha4", "taskrun-multiple-subjects.json");
    let got = stmt_tr(
        &tr,
        Format::SlsaV2Alpha4,
        &opts("test_builder-multiple", false),
    );
    assert_eq!(
        got["subject"],
        sorted_subjects(vec![
            subj("gcr.io/foo/bar", D1),
            subj(
                "gcr.io/myimage2",
                "9f036c6170dd7aba07e45cf2fe414c7ca792e5ede3bc3a78609e3aab4fa2ff2d"
            ),
            subj(
                "gcr.io/myimage1",
                "db546e77d11cf34199d965d28b1107f98bcbb7630182b7d847cc31d5d21b47b0"
            ),
            subj(
                "gcr.io/myimage3",
                "8d14f5ded713f263742d371279586b264bde42ee8de97b808d1f5e205f376ade"
            ),
        ])
    );
    let p = &got["predicate"];
    assert_eq!(
        p["runDetails"],
        json!({"builder": {"id": "test_builder-multiple"}, "metadata": {}})
    );
    assert_eq!(
        p["buildDefinition"]["resolvedDependencies"],
        json!([rd("", "oci://gcr.io/test1/test1", "sha256", D1)])
    );
    // `params: []` is dropped by Go's omitempty.
    assert_eq!(
        p["buildDefinition"]["externalParameters"]["runSpec"],
        json!({"serviceAccountName": "default", "taskRef": {"name": "test-task", "kind": "Task"}})
    );
}

fn pipeline_deps_common() -> Vec<Value> {
    vec![
        rd("pipeline", "git+https://github.com/test", "sha1", "28b123"),
        rd(
            "pipelineTask",
            "git+https://github.com/catalog",
            "sha1",
            "x123",
        ),
        rd("", "oci://gcr.io/test1/test1", "sha256", D1),
        rd(
            "pipelineTask",
            "git+https://github.com/test",
            "sha1",
            "ab123",
        ),
        rd("", "oci://gcr.io/test2/test2", "sha256", D2),
        rd("", "oci://gcr.io/test3/test3", "sha256", D3),
    ]
}

fn pr_byproducts_v4() -> Vec<Value> {
    vec![
        bp(
            "pipelineRunResults/pipelinerun-build/CHAINS-GIT_COMMIT",
            r#""abcd""#,
        ),
        bp(
            "pipelineRunResults/pipelinerun-build/CHAINS-GIT_URL",
            r#""https://git.test.com""#,
        ),
        bp(
            "pipelineRunResults/pipelinerun-build/img-ARTIFACT_INPUTS",
            &format!(r#"{{"digest":"sha256:{IMG}","uri":"abc"}}"#),
        ),
        bp(
            "pipelineRunResults/pipelinerun-build/img_no_uri-ARTIFACT_OUTPUTS",
            &format!(r#"{{"digest":"sha256:{IMG}"}}"#),
        ),
    ]
}

fn sorted_deps(v: &Value) -> Vec<String> {
    let mut out: Vec<String> = v
        .as_array()
        .map(|a| a.iter().map(Value::to_string).collect())
        .unwrap_or_default();
    out.sort();
    out
}

#[test]
fn v2alpha4_pipelinerun_without_deep_inspection() {
    let pr = pipeline_run("slsa-v2alpha4", "pipelinerun1.json");
    let children = [
        task_run("slsa-v2alpha4", "taskrun1.json"),
        task_run("slsa-v2alpha4", "taskrun2.json"),
    ];
    let got = stmt_pr(
        &pr,
        &children,
        Format::SlsaV2Alpha4,
        &opts("test_builder-1", false),
    );
    assert_eq!(
        got["subject"],
        sorted_subjects(vec![
            subj("abc", IMG),
            subj("test.io/test/image", IMG),
            subj("index.docker.io/library/abc", IMG),
        ])
    );
    let mut deps = pipeline_deps_common();
    deps.push(rd("inputs/result", "abc", "sha256", IMG));
    deps.push(rd(
        "inputs/result",
        "git+https://git.test.com.git",
        "sha1",
        "abcd",
    ));
    let p = &got["predicate"];
    assert_eq!(
        p["buildDefinition"]["resolvedDependencies"],
        Value::Array(deps)
    );
    assert_eq!(
        p["runDetails"]["byproducts"],
        Value::Array(pr_byproducts_v4())
    );
    assert_eq!(p["runDetails"]["metadata"], times());
    assert_eq!(p["buildDefinition"]["internalParameters"], json!({}));
    assert_eq!(
        p["buildDefinition"]["externalParameters"],
        json!({"runSpec": {
            "params": [{"name": "IMAGE", "value": "test.io/test/image"}],
            "pipelineRef": {"name": "test-pipeline"},
            "taskRunTemplate": {"serviceAccountName": "pipeline"}
        }})
    );
}

#[test]
fn v2alpha4_pipelinerun_with_deep_inspection() {
    let pr = pipeline_run("slsa-v2alpha4", "pipelinerun1.json");
    let children = [
        task_run("slsa-v2alpha4", "taskrun1.json"),
        task_run("slsa-v2alpha4", "taskrun2.json"),
    ];
    let got = stmt_pr(
        &pr,
        &children,
        Format::SlsaV2Alpha4,
        &opts("test_builder-1", true),
    );
    assert_eq!(
        got["subject"],
        sorted_subjects(vec![
            subj("abc", IMG),
            subj("test.io/test/image", IMG),
            subj("index.docker.io/library/abc", IMG),
            subj("gcr.io/my/image/fromstep3", IMG),
            subj("gcr.io/my/image", MY_IMAGE),
        ])
    );
    let mut deps = pipeline_deps_common();
    deps.extend([
        rd(
            "inputs/result",
            "https://github.com/tektoncd/pipeline",
            "sha1",
            "7f2f46e1b97df36b2b82d1b1d87c81b8b3d21601",
        ),
        rd("inputs/result", "abc", "sha256", IMG),
        rd(
            "inputs/result",
            "git+https://git.test.com.git",
            "sha1",
            "sha:taskdefault",
        ),
        rd(
            "inputs/result",
            "git+https://git.test.com.git",
            "sha1",
            "taskrun",
        ),
        rd(
            "inputs/result",
            "git+https://git.test.com.git",
            "sha1",
            "abcd",
        ),
    ]);
    let p = &got["predicate"];
    // Chains' test compares these lists sorted.
    assert_eq!(
        sorted_deps(&p["buildDefinition"]["resolvedDependencies"]),
        sorted_deps(&Value::Array(deps))
    );
    let mut byproducts = pr_byproducts_v4();
    byproducts.extend([
        bp("taskRunResults/git-clone/some-uri_DIGEST", &format!(r#""sha256:{D1}""#)),
        bp("taskRunResults/git-clone/some-uri", r#""pkg:deb/debian/curl@7.50.3-1""#),
        bp(
            "stepResults/git-clone/step1_result1-ARTIFACT_INPUTS",
            r#"{"digest":"sha1:7f2f46e1b97df36b2b82d1b1d87c81b8b3d21601","uri":"https://github.com/tektoncd/pipeline"}"#,
        ),
        bp("stepResults/taskrun-build/step1_result1", r#""result-value""#),
        bp(
            "stepResults/taskrun-build/step1_result1-ARTIFACT_OUTPUTS",
            &format!(r#"{{"digest":"sha256:{IMG}","uri":"gcr.io/my/image/fromstep2"}}"#),
        ),
    ]);
    assert_eq!(
        sorted_deps(&p["runDetails"]["byproducts"]),
        sorted_deps(&Value::Array(byproducts))
    );
}

#[test]
fn v2alpha3_taskrun1() {
    let tr = task_run("slsa-v2alpha3", "taskrun1.json");
    let got = stmt_tr(&tr, Format::SlsaV2Alpha3, &opts("test_builder-1", false));
    assert_eq!(got["subject"], json!([subj("gcr.io/my/image", IMG)]));
    let p = &got["predicate"];
    assert_eq!(
        p["buildDefinition"]["resolvedDependencies"],
        task_run1_deps()
    );
    assert_eq!(
        p["buildDefinition"]["internalParameters"],
        json!({"tekton-pipelines-feature-flags": {"enableAPIFields": "beta", "resultExtractionMethod": "termination-message"}})
    );
    assert_eq!(
        p["buildDefinition"]["externalParameters"],
        json!({"runSpec": task_run1_run_spec()})
    );
    assert_eq!(
        p["runDetails"],
        json!({
            "builder": {"id": "test_builder-1"},
            "metadata": times(),
            "byproducts": [
                bp("taskRunResults/IMAGE_DIGEST", &format!(r#""sha256:{IMG}""#)),
                bp("taskRunResults/IMAGE_URL", r#""gcr.io/my/image""#),
            ],
        })
    );
}

#[test]
fn v2alpha3_pipelinerun() {
    let pr = pipeline_run("slsa-v2alpha3", "pipelinerun1.json");
    let children = [
        task_run("slsa-v2alpha3", "taskrun1.json"),
        task_run("slsa-v2alpha3", "taskrun2.json"),
    ];
    let got = stmt_pr(
        &pr,
        &children,
        Format::SlsaV2Alpha3,
        &opts("test_builder-1", false),
    );
    assert_eq!(got["subject"], json!([subj("test.io/test/image", IMG)]));
    let mut deps = pipeline_deps_common();
    deps.push(rd("inputs/result", "abc", "sha256", IMG));
    deps.push(rd(
        "inputs/result",
        "git+https://git.test.com.git",
        "sha1",
        "abcd",
    ));
    let p = &got["predicate"];
    assert_eq!(
        p["buildDefinition"]["resolvedDependencies"],
        Value::Array(deps)
    );
    assert_eq!(
        p["runDetails"]["byproducts"],
        json!([
            bp("pipelineRunResults/CHAINS-GIT_COMMIT", r#""abcd""#),
            bp(
                "pipelineRunResults/CHAINS-GIT_URL",
                r#""https://git.test.com""#
            ),
            bp(
                "pipelineRunResults/IMAGE_DIGEST",
                &format!(r#""sha256:{IMG}""#)
            ),
            bp("pipelineRunResults/IMAGE_URL", r#""test.io/test/image""#),
            bp(
                "pipelineRunResults/img-ARTIFACT_INPUTS",
                &format!(r#"{{"digest":"sha256:{IMG}","uri":"abc"}}"#)
            ),
            bp(
                "pipelineRunResults/img2-ARTIFACT_OUTPUTS",
                r#"{"digest":"sha256:","uri":"def"}"#
            ),
            bp(
                "pipelineRunResults/img_no_uri-ARTIFACT_OUTPUTS",
                &format!(r#"{{"digest":"sha256:{IMG}"}}"#)
            ),
        ])
    );
}

#[test]
fn remote_resolvers_give_build_config_source() {
    let tr = task_run("slsa-v2alpha3", "taskrun-remote-resolver.json");
    let got = stmt_tr(&tr, Format::SlsaV2Alpha3, &FormatOptions::default());
    assert_eq!(
        got["predicate"]["buildDefinition"]["externalParameters"],
        json!({
            "buildConfigSource": {
                "ref": "sha1:4df486f198c3c2616ab129186fb30a74f580b5a1",
                "repository": "git+https://github.com/tektoncd/catalog.git",
                "path": "task/gcloud/0.3/gcloud.yaml"
            },
            "runSpec": {
                "params": [{"name": "ARGS", "value": ["help"]}],
                "serviceAccountName": "default",
                "taskRef": {"kind": "Task", "resolver": "git", "params": [
                    {"name": "url", "value": "https://github.com/tektoncd/catalog.git"},
                    {"name": "revision", "value": "main"},
                    {"name": "pathInRepo", "value": "task/gcloud/0.3/gcloud.yaml"}
                ]}
            }
        })
    );
    let pr = pipeline_run("slsa-v2alpha3", "pipelinerun-remote-resolver.json");
    let got = stmt_pr(&pr, &[], Format::SlsaV2Alpha4, &FormatOptions::default());
    assert_eq!(
        got["predicate"]["buildDefinition"]["externalParameters"]["buildConfigSource"],
        json!({
            "path": "pipeline/build-push-gke-deploy/0.1/build-push-gke-deploy.yaml",
            "ref": "sha1:4df486f198c3c2616ab129186fb30a74f580b5a1",
            "repository": "git+https://github.com/tektoncd/catalog"
        })
    );
}

#[test]
fn slsa_tekton_build_type() {
    let mut o = FormatOptions {
        build_type: TEKTON_BUILD_TYPE.into(),
        ..FormatOptions::default()
    };
    let tr = task_run("slsa-v2alpha4", "taskrun1.json");
    let got = stmt_tr(&tr, Format::SlsaV2Alpha4, &o);
    let bd = &got["predicate"]["buildDefinition"];
    assert_eq!(bd["buildType"], json!(TEKTON_BUILD_TYPE));
    assert_eq!(
        bd["internalParameters"]["labels"],
        json!({"tekton.dev/pipelineTask": "build"})
    );
    assert_eq!(bd["internalParameters"]["annotations"], Value::Null);

    let pr = pipeline_run("slsa-v2alpha3", "pipelinerun1.json");
    let children = [task_run("slsa-v2alpha3", "taskrun1.json")];
    let got = stmt_pr(&pr, &children, Format::SlsaV2Alpha3, &o);
    let deps = &got["predicate"]["buildDefinition"]["resolvedDependencies"];
    let task = &deps[1];
    assert_eq!(task["name"], json!("pipelineTask"));
    assert_eq!(task["uri"], json!("git+https://github.com/test"));
    let content = task["content"].as_str().unwrap_or_default();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(content)
        .unwrap_or_default();
    let text = String::from_utf8(bytes).unwrap_or_default();
    assert!(
        text.starts_with(r#"{"metadata":{"name":"taskrun-build","uid":"#),
        "{text}"
    );
    // Chains v0.29.2 (apimachinery v0.36) omits a zero creationTimestamp.
    assert!(!text.contains("creationTimestamp"), "{text}");
    assert!(text.contains(r#""podName":"test-pod-name""#), "{text}");

    o.build_type = "bad-buildType".into();
    assert!(matches!(
        taskrun(&tr, Format::SlsaV2Alpha4, &o),
        Err(FormatError::Unsupported(_))
    ));
}

#[test]
fn bad_image_ids_fail_like_chains() {
    let mut tr = task_run("slsa-v2alpha4", "taskrun1.json");
    if let Some(step) = tr.status.steps.first_mut() {
        step.image_id = "gcr.io/test1/test1".into();
    }
    assert!(matches!(
        taskrun(&tr, Format::SlsaV2Alpha4, &FormatOptions::default()),
        Err(FormatError::ImageId { .. })
    ));
}

#[test]
fn slsa_v1_is_not_this_module() {
    let tr = task_run("slsa-v2alpha4", "taskrun1.json");
    assert!(taskrun(&tr, Format::SlsaV1, &FormatOptions::default()).is_err());
}

#[test]
fn slsa_tekton_task_run_content_is_go_json() {
    // Byte-for-byte what Chains v0.29.2's `json.Marshal(taskRun)` gives for this fixture.
    let tr = task_run("slsa-v2alpha3", "taskrun2.json");
    let want = concat!(
        r#"{"metadata":{"name":"git-clone","uid":"abhhf-12354-asjsdbjs23-3435353n","#,
        r#""labels":{"tekton.dev/pipelineTask":"git-clone"}},"spec":{"params":[{"name":"url","value":"https://git.test.com"},"#,
        r#"{"name":"revision","value":""}],"serviceAccountName":"default","taskRef":{"name":"git-clone","kind":"Task"}},"#,
        r#""status":{"conditions":[{"type":"Succeeded","status":"True","lastTransitionTime":"2021-03-29T09:50:15Z","#,
        r#""reason":"Succeeded","message":"All Steps have completed executing"}],"podName":"test-pod-name","#,
        r#""startTime":"2021-03-29T09:50:00Z","completionTime":"2021-03-29T09:50:15Z","steps":[{"name":"step1","#,
        r#""container":"step-step1","imageID":"docker-pullable://gcr.io/test1/test1@sha256:"#,
        r#"d4b63d3e24d6eef04a6dc0795cf8a73470688803d97c52cffa3c8d4efd3397b6"}],"results":[{"name":"some-uri_DIGEST","#,
        r#""value":"sha256:d4b63d3e24d6eef04a6dc0795cf8a73470688803d97c52cffa3c8d4efd3397b6"},{"name":"some-uri","#,
        r#""value":"pkg:deb/debian/curl@7.50.3-1"}],"taskSpec":{"params":[{"name":"CHAINS-GIT_COMMIT","type":"string","#,
        r#""default":"sha:taskdefault"},{"name":"CHAINS-GIT_URL","type":"string","default":"https://git.test.com"}],"#,
        r#""steps":[{"name":"step1","env":[{"name":"HOME","value":"$(params.userHome)"},{"name":"PARAM_URL","#,
        r#""value":"$(params.url)"}],"computeResources":{},"script":"git clone"}],"results":[{"name":"some-uri_DIGEST","#,
        r#""description":"Digest of a file to push."},{"name":"some-uri","description":"some calculated uri"}]},"#,
        r#""provenance":{"refSource":{"uri":"git+https://github.com/catalog","digest":{"sha1":"x123"},"#,
        r#""entryPoint":"git-clone.yaml"}}}}"#,
    );
    let got = task_run_content(&tr).map(String::from_utf8);
    assert_eq!(got.ok().and_then(Result::ok).as_deref(), Some(want));
}

/// Writes hallmark's statements for every SLSA v1 case of `tests/peers/cases.yaml` to
/// `$SLSA_V1_DUMP` (one `<id>@<format>.json` each), for comparison with `chains-format`
/// (`$SLSA_V1_CASES` names another manifest of the same shape).
#[test]
#[ignore = "debugging aid: run with SLSA_V1_DUMP=DIR"]
fn dump_cases() {
    let Some(dir) = std::env::var_os("SLSA_V1_DUMP") else {
        return;
    };
    let dir = std::path::PathBuf::from(dir);
    let manifest = std::env::var_os("SLSA_V1_CASES").map_or_else(
        || crate::test_support::repo_dir().join("tests/peers/cases.yaml"),
        std::path::PathBuf::from,
    );
    let text = std::fs::read_to_string(&manifest).unwrap_or_default();
    let doc: Value = serde_yaml_ng::from_str(&text).unwrap_or(Value::Null);
    let resolve = |p: &str| match p.split_once(':') {
        Some(("shared", rest)) => crate::test_support::shared_dir().join(rest),
        Some(("repo", rest)) => crate::test_support::repo_dir().join(rest),
        _ => std::path::PathBuf::from(p),
    };
    let read = |p: &str, kind: RunKind| {
        let bytes = std::fs::read(resolve(p)).unwrap_or_default();
        parse_runs(&bytes, Some(kind)).unwrap_or_default()
    };
    for case in doc["cases"].as_array().into_iter().flatten() {
        let id = case["id"].as_str().unwrap_or_default();
        let kind: RunKind = case["kind"]
            .as_str()
            .unwrap_or("TaskRun")
            .parse()
            .unwrap_or(RunKind::TaskRun);
        let runs = read(case["input"].as_str().unwrap_or_default(), kind);
        let Some(run) = runs.first() else { continue };
        let mut children: Vec<TaskRun> = runs[1..]
            .iter()
            .filter_map(|r| {
                if let Run::TaskRun(t) = r {
                    Some(t.clone())
                } else {
                    None
                }
            })
            .collect();
        for c in case["children"].as_array().into_iter().flatten() {
            for r in read(c.as_str().unwrap_or_default(), RunKind::TaskRun) {
                if let Run::TaskRun(t) = r {
                    children.push(t);
                }
            }
        }
        let cfg = &case["config"];
        let o = FormatOptions {
            builder_id: cfg["builder.id"]
                .as_str()
                .unwrap_or(crate::provenance::DEFAULT_BUILDER_ID)
                .into(),
            build_type: cfg["builddefinition.buildtype"]
                .as_str()
                .unwrap_or(SLSA_BUILD_TYPE)
                .into(),
            deep_inspection: cfg["artifacts.pipelinerun.enable-deep-inspection"].as_str()
                == Some("true"),
        };
        for f in case["formats"].as_array().into_iter().flatten() {
            let fname = f.as_str().unwrap_or_default();
            let Ok(format) = fname.parse::<Format>() else {
                continue;
            };
            if format == Format::SlsaV1 {
                continue;
            }
            let out = match run {
                Run::TaskRun(tr) => taskrun(tr, format, &o),
                Run::PipelineRun(pr) => pipelinerun(pr, &children, format, &o),
            };
            let text = match out {
                Ok(s) => serde_json::to_string_pretty(&s.to_value()).unwrap_or_default(),
                Err(e) => format!("{{\"error\": {:?}}}", e.to_string()),
            };
            let name = format!("{id}@{fname}.json").replace('/', "_");
            let _ = std::fs::write(dir.join(name), text);
        }
    }
}

fn extra_task_run(doc: Value) -> TaskRun {
    let bytes = serde_json::to_vec(&doc).unwrap_or_default();
    match parse_runs(&bytes, Some(RunKind::TaskRun)).map(|mut r| r.remove(0)) {
        Ok(Run::TaskRun(tr)) => tr,
        other => panic!("not a TaskRun: {other:?}"),
    }
}

#[test]
fn chains_quirks_in_resolved_dependencies() {
    let hex = |c: char| c.to_string().repeat(64);
    let tr = extra_task_run(json!({
        "metadata": {"name": "q"},
        "spec": {"params": [{"name": "CHAINS-GIT_COMMIT", "value": "c1"}], "taskRef": {"name": "t"}},
        "status": {
            "steps": [
                {"name": "a", "imageID": format!("docker-pullable://img@sha256:{}", hex('1')),
                 "results": [{"name": "CHAINS-GIT_COMMIT", "value": "s1"}],
                 "provenance": {"refSource": {"uri": "git+https://x", "digest": {"sha1": "p"}}}},
                {"name": "b", "imageID": format!("img@sha256:{}", hex('1')),
                 "provenance": {"refSource": {"uri": "git+https://x", "digest": {"sha1": "p"}}}}
            ],
            "sidecars": [{"name": "s", "imageID": format!("img@sha256:{}", hex('1'))}],
            "provenance": {"refSource": {"uri": "oci://img", "digest": {"sha256": hex('1')}}}
        }
    }));
    let got = stmt_tr(&tr, Format::SlsaV2Alpha4, &FormatOptions::default());
    let img = rd("", "oci://img", "sha256", &hex('1'));
    assert_eq!(
        got["predicate"]["buildDefinition"]["resolvedDependencies"],
        json!([
            // The task definition is kept even though an image has the same uri and digest.
            rd("task", "oci://img", "sha256", &hex('1')),
            // Step images and sidecar images are de-duplicated.
            img,
            // A commit without a URL still counts, with the URL `git+.git`.
            rd("inputs/result", "git+.git", "sha1", "s1"),
            // StepAction definitions are never de-duplicated.
            rd("stepAction/a", "git+https://x", "sha1", "p"),
            rd("stepAction/b", "git+https://x", "sha1", "p"),
            rd("inputs/result", "git+.git", "sha1", "c1"),
        ])
    );
    // Not remote (no resolver): no buildConfigSource.
    assert!(
        got["predicate"]["buildDefinition"]["externalParameters"]
            .get("buildConfigSource")
            .is_none()
    );
    // v2alpha3 reads neither step results nor StepActions.
    let got = stmt_tr(&tr, Format::SlsaV2Alpha3, &FormatOptions::default());
    assert_eq!(
        got["predicate"]["buildDefinition"]["resolvedDependencies"]
            .as_array()
            .map(Vec::len),
        Some(3)
    );
}

#[test]
fn v1beta1_specs_are_converted_like_tekton() {
    let tr = extra_task_run(json!({
        "apiVersion": "tekton.dev/v1beta1",
        "kind": "TaskRun",
        "metadata": {"name": "b"},
        "spec": {
            "serviceAccountName": "sa",
            "taskRef": {"name": "t", "kind": "Task", "bundle": "gcr.io/b@sha256:00"},
            "stepOverrides": [{"name": "s", "resources": {"limits": {"cpu": "1"}}}],
            "timeout": "1h30m"
        },
        "status": {"provenance": {"configSource": {"uri": "git+https://c", "digest": {"sha1": "d"}}}}
    }));
    let got = stmt_tr(&tr, Format::SlsaV2Alpha3, &FormatOptions::default());
    let bd = &got["predicate"]["buildDefinition"];
    assert_eq!(
        bd["externalParameters"],
        json!({"runSpec": {
            "serviceAccountName": "sa",
            "taskRef": {"name": "t", "kind": "Task"},
            "stepSpecs": [{"name": "s", "computeResources": {"limits": {"cpu": "1"}}}],
            "timeout": "1h30m0s"
        }})
    );
    // Tekton's conversion drops `configSource`.
    assert!(bd.get("resolvedDependencies").is_none(), "{bd}");
}
