//! `hallmark sign`: the controller's formatter and signer on run files, without a cluster.
//!
//! Every run in the given files is formatted and signed: one envelope each. A
//! PipelineRun's child TaskRuns come from the same files (a `kind: List`), from `--child`
//! files, or from the other run files in the PipelineRun's directory; a child is matched
//! by its `tekton.dev/pipelineRun` label (and namespace).

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use super::Outcome;
use crate::config::Config;
use crate::provenance::{self, Format};
use crate::signing;
use crate::tekton::{self, Run, RunKind, TaskRun};

/// Flags of `hallmark sign`.
#[derive(Debug, clap::Args)]
pub struct SignArgs {
    /// TaskRun or PipelineRun files (JSON or YAML; a `kind: List` holds several). `-`
    /// reads standard input.
    #[arg(required = true, value_name = "RUN_FILE")]
    pub runs: Vec<PathBuf>,

    /// A child TaskRun of a PipelineRun being signed (repeatable). Without it, children
    /// are looked up in the run files and in the PipelineRun file's directory.
    #[arg(long = "child", value_name = "FILE")]
    pub children: Vec<PathBuf>,

    /// The provenance format. Defaults to the configuration's
    /// `artifacts.taskrun.format` / `artifacts.pipelinerun.format` (Chains' default is
    /// `in-toto`, the same as `slsa/v1`: SLSA v0.2). `slsa/v2alpha3` and `slsa/v2alpha4`
    /// give SLSA v1.
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<Format>,

    /// A Chains configuration: a `chains-config` ConfigMap manifest or a flat YAML/JSON
    /// map of its keys (`builder.id`, `builddefinition.buildtype`,
    /// `artifacts.pipelinerun.enable-deep-inspection`, ...).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// The signing key: a cosign-encrypted private key (password from `COSIGN_PASSWORD`)
    /// or a PKCS#8/SEC1 PEM private key. Required unless `--statement-only`.
    #[arg(long, value_name = "KEY", required_unless_present = "statement_only")]
    pub key: Option<String>,

    /// Print the bare in-toto statement instead of a signed envelope.
    #[arg(long, conflicts_with = "key")]
    pub statement_only: bool,

    /// Where to write: a file (one run only), or an existing directory (one file per
    /// run, named `<kind>-<namespace>-<name>.intoto.json`). Default: standard output,
    /// one JSON document per line.
    #[arg(short = 'o', long = "output", value_name = "FILE|DIR")]
    pub output: Option<PathBuf>,
}

/// A run found in the inputs, with the file it came from.
struct Input {
    run: Run,
    path: PathBuf,
}

fn read_input(path: &Path) -> anyhow::Result<Vec<u8>> {
    if path == Path::new("-") {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut buf)
            .context("reading standard input")?;
        Ok(buf)
    } else {
        std::fs::read(path).with_context(|| format!("reading {}", path.display()))
    }
}

fn parse_file(path: &Path, hint: Option<RunKind>) -> anyhow::Result<Vec<Run>> {
    let bytes = read_input(path)?;
    tekton::parse_runs(&bytes, hint).with_context(|| format!("parsing {}", path.display()))
}

/// Whether `tr` is a child of the PipelineRun `name` in `namespace`.
fn is_child_of(tr: &TaskRun, name: &str, namespace: Option<&str>) -> bool {
    tr.pipeline_run_name() == Some(name) && tr.namespace() == namespace
}

/// Child TaskRuns from the other run files in `dir` (unparsable files are skipped:
/// the directory may hold anything).
fn children_beside(dir: &Path, skip: &BTreeSet<PathBuf>) -> Vec<TaskRun> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| matches!(e, "json" | "yaml" | "yml"))
        })
        .filter(|p| !skip.contains(p))
        .collect();
    paths.sort();
    let mut out = Vec::new();
    for p in paths {
        let Ok(bytes) = std::fs::read(&p) else {
            continue;
        };
        match tekton::parse_runs(&bytes, None) {
            Ok(runs) => out.extend(runs.into_iter().filter_map(|r| match r {
                Run::TaskRun(tr) => Some(tr),
                Run::PipelineRun(_) => None,
            })),
            Err(e) => tracing::debug!(file = %p.display(), error = %e, "not a run file; skipped"),
        }
    }
    out
}

fn output_name(run: &Run, statement_only: bool) -> String {
    let kind = match run {
        Run::TaskRun(_) => "taskrun",
        Run::PipelineRun(_) => "pipelinerun",
    };
    let ns = run.namespace().unwrap_or("default");
    let suffix = if statement_only {
        "statement.json"
    } else {
        "intoto.json"
    };
    format!("{kind}-{ns}-{}.{suffix}", run.name())
}

/// Run `hallmark sign`.
///
/// # Errors
///
/// Unreadable or malformed input, an unusable key, or an output that cannot be written.
pub fn run(args: &SignArgs) -> anyhow::Result<Outcome> {
    let config = match &args.config {
        Some(p) => {
            let bytes = std::fs::read(p).with_context(|| format!("reading {}", p.display()))?;
            let (cfg, warnings) =
                Config::from_document(&bytes).with_context(|| format!("in {}", p.display()))?;
            for w in warnings {
                tracing::warn!("{}: {w}", p.display());
            }
            cfg
        }
        None => Config::default(),
    };

    let mut inputs = Vec::new();
    for path in &args.runs {
        for run in parse_file(path, None)? {
            inputs.push(Input {
                run,
                path: path.clone(),
            });
        }
    }
    let mut explicit_children = Vec::new();
    for path in &args.children {
        for run in parse_file(path, Some(RunKind::TaskRun))? {
            match run {
                Run::TaskRun(tr) => explicit_children.push(tr),
                Run::PipelineRun(pr) => {
                    bail!(
                        "{}: --child must be a TaskRun, found PipelineRun {}",
                        path.display(),
                        pr.name()
                    )
                }
            }
        }
    }

    let out_dir = args.output.as_ref().filter(|p| p.is_dir());
    if args.output.is_some() && out_dir.is_none() && inputs.len() > 1 {
        bail!(
            "{} runs to write but -o names a file: give an existing directory",
            inputs.len()
        );
    }

    let signer = match &args.key {
        Some(k) if !args.statement_only => {
            Some(load_signer(k).with_context(|| format!("loading signing key {k}"))?)
        }
        _ => None,
    };

    let given: BTreeSet<PathBuf> = args.runs.iter().cloned().collect();
    let mut documents = Vec::new();
    for input in &inputs {
        let (format, opts) = match &input.run {
            Run::TaskRun(_) => (
                args.format
                    .or(config.taskrun.format)
                    .unwrap_or(Format::SlsaV1),
                config.format_options(false),
            ),
            Run::PipelineRun(_) => (
                args.format
                    .or(config.pipelinerun.format)
                    .unwrap_or(Format::SlsaV1),
                config.format_options(true),
            ),
        };
        let children: Vec<TaskRun> = match &input.run {
            Run::TaskRun(_) => Vec::new(),
            Run::PipelineRun(pr) => {
                let (name, ns) = (pr.name(), pr.namespace());
                let mut found: Vec<TaskRun> = inputs
                    .iter()
                    .filter_map(|i| match &i.run {
                        Run::TaskRun(tr) if is_child_of(tr, name, ns) => Some(tr.clone()),
                        _ => None,
                    })
                    .collect();
                found.extend(explicit_children.iter().cloned());
                let stdin = input.path == Path::new("-");
                if found.is_empty() && args.children.is_empty() && !stdin {
                    let dir = match input.path.parent() {
                        Some(d) if !d.as_os_str().is_empty() => d,
                        _ => Path::new("."),
                    };
                    found = children_beside(dir, &given)
                        .into_iter()
                        .filter(|tr| is_child_of(tr, name, ns))
                        .collect();
                }
                found
            }
        };
        let statement =
            provenance::format(&input.run, &children, format, &opts).with_context(|| {
                format!("formatting {} {}", kind_name(&input.run), input.run.name())
            })?;
        let payload = statement.to_json();
        let doc = match &signer {
            None => payload,
            Some(s) => {
                signing::sign_envelope(s.as_ref(), crate::dsse::IN_TOTO_PAYLOAD_TYPE, &payload)
                    .with_context(|| format!("signing {}", input.run.name()))?
                    .to_json()
            }
        };
        documents.push((output_name(&input.run, args.statement_only), doc));
    }

    match (&args.output, out_dir) {
        (Some(_), Some(dir)) => {
            for (name, doc) in &documents {
                let path = dir.join(name);
                std::fs::write(&path, doc)
                    .with_context(|| format!("writing {}", path.display()))?;
            }
        }
        (Some(file), None) => {
            let doc = documents
                .first()
                .map(|(_, d)| d.as_slice())
                .unwrap_or_default();
            std::fs::write(file, doc).with_context(|| format!("writing {}", file.display()))?;
        }
        (None, _) => {
            let mut out = std::io::stdout().lock();
            for (_, doc) in &documents {
                out.write_all(doc)?;
                out.write_all(b"\n")?;
            }
            out.flush()?;
        }
    }
    Ok(Outcome::Pass)
}

/// Resolve a key reference. Files only for now; KMS and Kubernetes references arrive
/// with the KMS signers.
fn load_signer(reference: &str) -> anyhow::Result<Box<dyn signing::Signer>> {
    const SCHEMES: [&str; 5] = [
        "k8s://",
        "hashivault://",
        "awskms://",
        "gcpkms://",
        "azurekms://",
    ];
    if let Some(scheme) = SCHEMES.iter().find(|s| reference.starts_with(**s)) {
        bail!("{scheme} key references are not supported yet: give a key file");
    }
    let password = signing::password_from_env()?;
    let signer = signing::LocalSigner::from_file(
        Path::new(reference),
        password.as_deref().map(|p| p.as_slice()),
    )?;
    Ok(Box::new(signer))
}

fn kind_name(run: &Run) -> &'static str {
    match run {
        Run::TaskRun(_) => "TaskRun",
        Run::PipelineRun(_) => "PipelineRun",
    }
}
