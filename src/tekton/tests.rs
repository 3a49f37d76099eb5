//! Tests of the Tekton model.

#![allow(clippy::panic)] // Tests report failures by panicking.

use super::*;
use crate::test_support::shared_dir;

fn fixture(path: &str) -> Vec<u8> {
    let p = shared_dir().join("chains/formats").join(path);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[test]
fn parses_every_fixture() {
    let dir = shared_dir().join("chains/formats");
    let mut n = 0;
    for group in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
        for f in std::fs::read_dir(group.path())
            .into_iter()
            .flatten()
            .flatten()
        {
            let bytes = std::fs::read(f.path()).unwrap_or_default();
            let name = f.file_name().to_string_lossy().into_owned();
            let hint = if name.starts_with("pipelinerun") {
                RunKind::PipelineRun
            } else {
                RunKind::TaskRun
            };
            let runs = parse_runs(&bytes, Some(hint))
                .unwrap_or_else(|e| panic!("{}: {e}", f.path().display()));
            assert_eq!(runs.len(), 1);
            assert_eq!(runs[0].kind(), hint, "{}", f.path().display());
            // Inference agrees with the hint.
            let inferred = parse_runs(&bytes, None).map(|r| r[0].kind()).ok();
            assert!(
                inferred.is_none() || inferred == Some(hint),
                "{}",
                f.path().display()
            );
            n += 1;
        }
    }
    assert!(n > 10, "only {n} fixtures found");
}

#[test]
fn reads_taskrun_fields() {
    let runs = parse_runs(
        &fixture("pipeline-v1/taskrun1.json"),
        Some(RunKind::TaskRun),
    )
    .unwrap_or_default();
    let Some(Run::TaskRun(tr)) = runs.first() else {
        panic!("not a TaskRun")
    };
    assert_eq!(tr.name(), "taskrun-build");
    assert_eq!(tr.pipeline_task_name(), Some("build"));
    assert_eq!(tr.spec.params.len(), 3);
    assert_eq!(tr.status.steps.len(), 3);
    assert_eq!(tr.status.results[0].name, "IMAGE_DIGEST");
    assert_eq!(
        tr.status.start_time.map(|t| t.to_string()).as_deref(),
        Some("2021-03-29T09:50:00Z")
    );
    let rs = tr
        .status
        .provenance
        .as_ref()
        .and_then(|p| p.ref_source.as_ref());
    assert_eq!(rs.map(|r| r.uri.as_str()), Some("github.com/test"));
    assert_eq!(
        tr.status.task_spec.as_ref().map(|t| t.params.len()),
        Some(8)
    );
}

#[test]
fn yaml_list_and_kinds() {
    let yaml = br#"
apiVersion: v1
kind: List
items:
- apiVersion: tekton.dev/v1beta1
  kind: TaskRun
  metadata: {name: a, namespace: ns, uid: u1}
  status:
    taskResults:
    - name: IMAGE_URL
      value: reg/x
- metadata: {name: b}
  spec:
    serviceAccountName: sa
    pipelineRef: {name: p}
"#;
    let runs = parse_runs(yaml, None).unwrap_or_default();
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[0].name(), "a");
    assert_eq!(runs[0].namespace(), Some("ns"));
    assert_eq!(runs[0].uid(), Some("u1"));
    let Run::TaskRun(tr) = &runs[0] else {
        panic!("not a TaskRun")
    };
    assert_eq!(tr.status.results[0].value.as_str(), "reg/x");
    let Run::PipelineRun(pr) = &runs[1] else {
        panic!("not a PipelineRun")
    };
    assert_eq!(pr.spec.service_account_name, "sa");
}

#[test]
fn multi_document_yaml() {
    let yaml = b"kind: TaskRun\nmetadata: {name: a}\n---\nkind: PipelineRun\nmetadata: {name: b}\n";
    let runs = parse_runs(yaml, None).unwrap_or_default();
    assert_eq!(
        runs.iter().map(Run::kind).collect::<Vec<_>>(),
        [RunKind::TaskRun, RunKind::PipelineRun]
    );
}

#[test]
fn errors_name_the_field() {
    let bad = br#"{"kind":"TaskRun","metadata":{"name":"x"},"status":{"results":[
        {"name":"a","value":"x"},{"name":"b","value":"y"},{"name":"c","value":[1]}]}}"#;
    let err = parse_runs(bad, None)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        err.starts_with("status.results[2].value[0]: expected string"),
        "{err}"
    );

    let bad =
        br#"{"kind":"List","items":[{"kind":"TaskRun"},{"kind":"TaskRun","spec":{"params":{}}}]}"#;
    let err = parse_runs(bad, None)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert_eq!(err, "items[1].spec.params: expected array, found object");

    let err = parse_runs(b"{\"kind\":\"Pod\"}", None)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("\"Pod\""), "{err}");
    let err = parse_runs(b"{\"metadata\":{}}", None)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.starts_with("kind: missing"), "{err}");
    assert!(matches!(parse_runs(b"  ", None), Err(ParseError::Empty)));
    assert!(matches!(parse_runs(b"{", None), Err(ParseError::Syntax(_))));
    let err = parse_runs(
        b"{\"kind\":\"TaskRun\",\"status\":{\"startTime\":\"now\"}}",
        None,
    )
    .err()
    .map(|e| e.to_string());
    assert!(
        err.unwrap_or_default()
            .starts_with("status.startTime: expected an RFC 3339 time")
    );
}

#[test]
fn v1beta1_embedded_children_and_bundle() {
    let json = br#"{"apiVersion":"tekton.dev/v1beta1","kind":"PipelineRun","metadata":{"name":"pr","namespace":"ns"},
      "spec":{"pipelineRef":{"name":"p","bundle":"reg/b@sha256:00"}},
      "status":{"pipelineResults":[{"name":"IMAGE_URL","value":"x"}],
        "taskRuns":{"pr-build":{"pipelineTaskName":"build","status":{"taskResults":[{"name":"r","value":"v"}]}}}}}"#;
    let runs = parse_runs(json, None).unwrap_or_default();
    let Some(Run::PipelineRun(pr)) = runs.first() else {
        panic!("not a PipelineRun")
    };
    assert!(pr.is_v1beta1());
    assert!(pr.is_remote());
    assert_eq!(pr.status.results[0].name, "IMAGE_URL");
    let child = &pr.status.embedded_task_runs[0];
    assert_eq!(child.name(), "pr-build");
    assert_eq!(child.pipeline_task_name(), Some("build"));
    assert_eq!(child.pipeline_run_name(), Some("pr"));
    assert_eq!(child.status.results[0].value.as_str(), "v");
}

/// Every run file in `testdata/runs` (JSON/YAML, v1 and v1beta1) parses and formats.
#[test]
fn parses_and_formats_repo_testdata() {
    use crate::provenance::{Format, FormatOptions, format};
    let mut dirs = vec![crate::test_support::repo_dir().join("testdata/runs")];
    let mut n = 0;
    while let Some(dir) = dirs.pop() {
        for e in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                dirs.push(p);
                continue;
            }
            if !p
                .extension()
                .is_some_and(|x| x == "json" || x == "yaml" || x == "yml")
            {
                continue;
            }
            let bytes = std::fs::read(&p).unwrap_or_default();
            let runs = parse_runs(&bytes, None).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            for r in &runs {
                let s = format(r, &[], Format::SlsaV1, &FormatOptions::default());
                assert!(s.is_ok(), "{}: {:?}", p.display(), s.err());
            }
            n += runs.len();
        }
    }
    assert!(n > 0, "no run files in testdata/runs");
}
