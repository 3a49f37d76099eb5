//! Format + sign per run, over Tekton Chains' formatter inputs: the controller's hot
//! path. Compare with Chains' own code on the same inputs:
//! `$(tests/stack/install chains-format) -bench N ...` (docs/benchmarks.md has the
//! figures, the ratio and the commands).

// A benchmark stops at the first error: panicking is the right response.
#![allow(clippy::panic, missing_docs)]

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{Criterion, criterion_group, criterion_main};
use hallmark::provenance::{Format, FormatOptions, format};
use hallmark::signing;
use hallmark::tekton::{RunKind, parse_runs};
use hallmark::test_support::shared_dir;

fn inputs() -> Vec<(String, PathBuf, RunKind, Format)> {
    let mut out = Vec::new();
    for (dir, f) in [
        ("pipeline-v1", Format::SlsaV1),
        ("slsa-v2alpha3", Format::SlsaV2Alpha3),
        ("slsa-v2alpha4", Format::SlsaV2Alpha4),
    ] {
        for name in ["taskrun1.json", "pipelinerun1.json"] {
            let kind = if name.starts_with("pipelinerun") {
                RunKind::PipelineRun
            } else {
                RunKind::TaskRun
            };
            out.push((
                format!("{dir}/{name}"),
                shared_dir().join("chains/formats").join(dir).join(name),
                kind,
                f,
            ));
        }
    }
    out
}

fn bench(c: &mut Criterion) {
    let key = shared_dir().join("chains/keys/x509.pem");
    let signer = signing::LocalSigner::from_file(&key, None).unwrap_or_else(|e| panic!("{e}"));
    let opts = FormatOptions::default();
    let mut group = c.benchmark_group("format_sign");
    for (id, path, kind, f) in inputs() {
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{e}"));
        let runs = parse_runs(&bytes, Some(kind)).unwrap_or_else(|e| panic!("{e}"));
        let run = &runs[0];
        group.bench_function(&id, |b| {
            b.iter(|| {
                let statement =
                    format(black_box(run), &[], f, &opts).unwrap_or_else(|e| panic!("{e}"));
                let payload = statement.to_json();
                signing::sign_envelope(&signer, hallmark::dsse::IN_TOTO_PAYLOAD_TYPE, &payload)
                    .unwrap_or_else(|e| panic!("{e}"))
            });
        });
        group.bench_function(format!("{id}/parse+format+sign"), |b| {
            b.iter(|| {
                let runs =
                    parse_runs(black_box(&bytes), Some(kind)).unwrap_or_else(|e| panic!("{e}"));
                let statement = format(&runs[0], &[], f, &opts).unwrap_or_else(|e| panic!("{e}"));
                signing::sign_envelope(
                    &signer,
                    hallmark::dsse::IN_TOTO_PAYLOAD_TYPE,
                    &statement.to_json(),
                )
                .unwrap_or_else(|e| panic!("{e}"))
            });
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
