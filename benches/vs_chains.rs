//! CPU time per run, hallmark against Tekton Chains' own code, measured in the same run.
//!
//! For each Chains formatter input, format + DSSE-sign the run N times in-process (the
//! run already parsed, as in Chains' controller) and divide the process CPU time by N;
//! then ask the Chains peer (`tests/peers/chains`, `-bench N`) to do the same work with
//! the same key, and print both and the ratio.
//!
//! ```sh
//! HALLMARK_CHAINS_FORMAT=$(tests/stack/install chains-format) cargo bench --bench vs_chains
//! ```
//! `HALLMARK_BENCH_RUNS` sets N (default 2000).

// A benchmark stops at the first error: panicking is the right response.
#![allow(clippy::panic, missing_docs)]

use std::path::{Path, PathBuf};
use std::process::Command;

use cpu_time::ProcessTime;
use hallmark::provenance::{Format, FormatOptions, format};
use hallmark::signing::{self, LocalSigner};
use hallmark::tekton::{Run, RunKind, TaskRun, parse_runs};
use hallmark::test_support::shared_dir;

struct Case {
    id: String,
    file: PathBuf,
    children: Vec<PathBuf>,
    kind: RunKind,
    format: Format,
}

fn cases() -> Vec<Case> {
    let formats = shared_dir().join("chains/formats");
    let mut out = Vec::new();
    for (dir, f) in [
        ("pipeline-v1", Format::SlsaV1),
        ("slsa-v2alpha3", Format::SlsaV2Alpha3),
        ("slsa-v2alpha4", Format::SlsaV2Alpha4),
    ] {
        let d = formats.join(dir);
        out.push(Case {
            id: format!("{dir}/taskrun1 {f}"),
            file: d.join("taskrun1.json"),
            children: Vec::new(),
            kind: RunKind::TaskRun,
            format: f,
        });
        out.push(Case {
            id: format!("{dir}/pipelinerun1 {f}"),
            file: d.join("pipelinerun1.json"),
            children: vec![d.join("taskrun1.json"), d.join("taskrun2.json")],
            kind: RunKind::PipelineRun,
            format: f,
        });
    }
    out
}

fn parse_one(path: &Path, kind: RunKind) -> Run {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    parse_runs(&bytes, Some(kind))
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .remove(0)
}

fn hallmark_ns_per_run(case: &Case, signer: &LocalSigner, n: u32) -> f64 {
    let run = parse_one(&case.file, case.kind);
    let children: Vec<TaskRun> = case
        .children
        .iter()
        .map(|c| match parse_one(c, RunKind::TaskRun) {
            Run::TaskRun(tr) => tr,
            Run::PipelineRun(_) => panic!("child is not a TaskRun"),
        })
        .collect();
    let opts = FormatOptions::default();
    let mut sink = 0usize;
    let start = ProcessTime::now();
    for _ in 0..n {
        let statement =
            format(&run, &children, case.format, &opts).unwrap_or_else(|e| panic!("{e}"));
        let env = signing::sign_envelope(
            signer,
            hallmark::dsse::IN_TOTO_PAYLOAD_TYPE,
            &statement.to_json(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        sink += env.to_json().len();
    }
    let ns = start.elapsed().as_nanos() as f64 / f64::from(n);
    assert!(sink > 0);
    ns
}

fn chains_ns_per_run(chains: &Path, case: &Case, n: u32) -> f64 {
    let mut cmd = Command::new(chains);
    cmd.arg("-format")
        .arg(case.format.to_string())
        .arg("-kind")
        .arg(case.kind.to_string())
        .arg("-bench")
        .arg(n.to_string())
        .arg("-key-dir")
        .arg(shared_dir().join("chains/keys"));
    for c in &case.children {
        cmd.arg("-child").arg(c);
    }
    let out = cmd
        .arg(&case.file)
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", chains.display()));
    assert!(
        out.status.success(),
        "chains-format failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .find_map(|l| l.strip_prefix("cpu_ns_per_run="))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no cpu_ns_per_run in {text:?}"))
}

fn main() {
    // `cargo test --benches` runs bench targets with --test/--bench flags: nothing to do.
    if std::env::args().any(|a| a == "--test" || a == "--list") {
        return;
    }
    let chains = std::env::var_os("HALLMARK_CHAINS_FORMAT")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            panic!("set HALLMARK_CHAINS_FORMAT=$(tests/stack/install chains-format)")
        });
    let n: u32 = std::env::var("HALLMARK_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    let signer = LocalSigner::from_file(&shared_dir().join("chains/keys/x509.pem"), None)
        .unwrap_or_else(|e| panic!("{e}"));
    println!("CPU time per run (format + DSSE sign, ECDSA P-256), N = {n}");
    println!(
        "{:<44} {:>12} {:>12} {:>8}",
        "case", "hallmark µs", "Chains µs", "ratio"
    );
    let mut ratios = Vec::new();
    for case in cases() {
        let h = hallmark_ns_per_run(&case, &signer, n);
        let c = chains_ns_per_run(&chains, &case, n);
        ratios.push(c / h);
        println!(
            "{:<44} {:>12.1} {:>12.1} {:>7.1}x",
            case.id,
            h / 1000.0,
            c / 1000.0,
            c / h
        );
    }
    let geo = (ratios.iter().map(|r| r.ln()).sum::<f64>() / ratios.len() as f64).exp();
    println!("geometric mean ratio (Chains CPU / hallmark CPU): {geo:.1}x");
}
