//! Determinism: the same run gives the same statement bytes, whatever the order of its
//! unordered parts (object keys, results), in-process and across separate processes.

// Test helpers stop the test at the first error.
#![allow(clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command;

use hallmark::provenance::{Format, FormatOptions, format};
use hallmark::tekton::{Run, RunKind, TaskRun, parse_runs};
use hallmark::test_support::{repo_dir, shared_dir};
use proptest::prelude::*;
use serde_json::Value;

const FORMATS: [Format; 3] = [Format::SlsaV1, Format::SlsaV2Alpha3, Format::SlsaV2Alpha4];

/// Inputs: every Chains formatter input, with the kind its file name says.
fn inputs() -> Vec<(PathBuf, RunKind)> {
    let mut out = Vec::new();
    for dir in ["pipeline-v1", "slsa-v2alpha3", "slsa-v2alpha4"] {
        let dir = shared_dir().join("chains/formats").join(dir);
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .filter_map(Result::ok)
            .map(|e| e.path())
            .collect();
        files.sort();
        for f in files {
            let name = f.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            let kind = if name.starts_with("pipelinerun") {
                RunKind::PipelineRun
            } else {
                RunKind::TaskRun
            };
            out.push((f, kind));
        }
    }
    assert!(
        out.len() >= 15,
        "expected the Chains inputs, found {}",
        out.len()
    );
    out
}

/// Write `v` as JSON with every object's keys permuted by `seed`, and the result lists
/// (whose order carries no meaning) rotated.
fn shuffled_json(v: &Value, seed: u64, path: &str) -> String {
    match v {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            let n = keys.len().max(1) as u64;
            keys.rotate_left((seed % n) as usize);
            if !seed.is_multiple_of(2) {
                keys.reverse();
            }
            let fields: Vec<String> = keys
                .iter()
                .map(|k| {
                    let child = format!("{path}/{k}");
                    format!(
                        "{}:{}",
                        serde_json::to_string(k).unwrap_or_default(),
                        shuffled_json(
                            &map[k.as_str()],
                            seed.wrapping_mul(31).wrapping_add(7),
                            &child
                        )
                    )
                })
                .collect();
            format!("{{{}}}", fields.join(","))
        }
        Value::Array(items) => {
            let mut idx: Vec<usize> = (0..items.len()).collect();
            let unordered = [
                "/status/results",
                "/status/taskResults",
                "/status/pipelineResults",
            ]
            .contains(&path);
            if unordered && !idx.is_empty() {
                let n = idx.len();
                idx.rotate_left((seed as usize) % n);
                if seed.is_multiple_of(3) {
                    idx.reverse();
                }
            }
            let parts: Vec<String> = idx
                .iter()
                .map(|&i| shuffled_json(&items[i], seed.wrapping_add(i as u64), path))
                .collect();
            format!("[{}]", parts.join(","))
        }
        other => serde_json::to_string(other).unwrap_or_default(),
    }
}

fn parse_one(bytes: &[u8], kind: RunKind) -> Run {
    let mut runs = parse_runs(bytes, Some(kind)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(runs.len(), 1);
    runs.remove(0)
}

fn statement_bytes(run: &Run, children: &[TaskRun], f: Format) -> Option<Vec<u8>> {
    format(run, children, f, &FormatOptions::default())
        .ok()
        .map(|s| s.to_json())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 24,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// In-process: shuffled inputs give byte-identical statements in every format.
    #[test]
    fn shuffled_inputs_give_identical_statements(seed in any::<u64>(), pick in any::<usize>()) {
        let all = inputs();
        let (path, kind) = &all[pick % all.len()];
        let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{e}"));
        let value: Value = serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{e}"));
        let shuffled = shuffled_json(&value, seed, "");
        let (a, b) = (parse_one(&bytes, *kind), parse_one(shuffled.as_bytes(), *kind));
        for f in FORMATS {
            prop_assert_eq!(statement_bytes(&a, &[], f), statement_bytes(&b, &[], f),
                "{} in {}", path.display(), f);
        }
    }
}

#[test]
fn shuffling_really_reorders() {
    // The property above is only meaningful if the shuffle changes the text.
    let (path, _) = &inputs()[0];
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{e}"));
    let value: Value = serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{e}"));
    let texts: std::collections::BTreeSet<String> =
        (0..4).map(|s| shuffled_json(&value, s, "")).collect();
    assert!(texts.len() > 1, "shuffle produced one text only");
    for t in &texts {
        let back: Value = serde_json::from_str(t).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            unordered(back),
            unordered(value.clone()),
            "shuffle changed the content"
        );
    }
}

/// `v` with the lists whose order carries no meaning sorted, for comparing contents.
fn unordered(mut v: Value) -> Value {
    for p in [
        "/status/results",
        "/status/taskResults",
        "/status/pipelineResults",
    ] {
        if let Some(Value::Array(items)) = v.pointer_mut(p) {
            items.sort_by_key(|i| i.to_string());
        }
    }
    v
}

/// Separate processes: `hallmark sign` on shuffled copies signs identical payloads.
#[test]
fn separate_processes_sign_identical_statements() {
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let key = shared_dir().join("chains/keys/x509.pem");
    let run = repo_dir().join("testdata/runs/quickstart-taskrun.yaml");
    let yaml: Value =
        serde_yaml_ng::from_slice(&std::fs::read(&run).unwrap_or_else(|e| panic!("{e}")))
            .unwrap_or_else(|e| panic!("{e}"));
    let mut payloads = Vec::new();
    for seed in 0..4u64 {
        let file = tmp.path().join(format!("run-{seed}.json"));
        std::fs::write(&file, shuffled_json(&yaml, seed, "")).unwrap_or_else(|e| panic!("{e}"));
        payloads.push(sign_payload(&file, &key));
    }
    assert!(
        payloads.windows(2).all(|w| w[0] == w[1]),
        "payloads differ across processes"
    );
    assert!(!payloads[0].is_empty());
}

fn sign_payload(file: &Path, key: &Path) -> Vec<u8> {
    let out = Command::new(env!("CARGO_BIN_EXE_hallmark"))
        .arg("sign")
        .arg(file)
        .arg("--key")
        .arg(key)
        .arg("--format")
        .arg("slsa/v2alpha4")
        .output()
        .unwrap_or_else(|e| panic!("running hallmark: {e}"));
    assert!(
        out.status.success(),
        "hallmark sign failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let env: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}"));
    let payload = env["payload"].as_str().unwrap_or_default();
    base64_decode(payload)
}

fn base64_decode(s: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(s)
        .unwrap_or_else(|e| panic!("{e}"))
}
