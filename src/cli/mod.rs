//! Command-line interface: one file per subcommand.
//!
//! Each subcommand file defines a `#[derive(clap::Args)]` struct and a `run` function
//! returning [`Outcome`] (or an [`anyhow::Error`], which means exit 2: could not run).
//! Low-level flags only check what the user typed; `run` builds the real objects.
//! `docs/cli.md` is generated from these definitions ([`markdown`]) and CI fails when
//! it drifts.

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// `println!` that returns the write error instead of panicking: a closed pipe
/// (`hallmark ... | head`) ends the command quietly (see [`main`]).
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout(), $($arg)*)?
    }};
}

pub mod attest;
pub mod conformance;
pub mod controller;
pub mod keys;
pub mod layout;
pub mod registry;
pub mod search;
pub mod sign;
pub mod verify;

/// The decision a subcommand reached. Maps onto the exit codes in DESIGN.md.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Verified / done (exit 0).
    Pass,
    /// Denied: a verification or policy check failed (exit 1).
    Deny,
    /// Could not decide or could not run (exit 2).
    Error,
}

impl From<Outcome> for ExitCode {
    fn from(o: Outcome) -> Self {
        match o {
            Outcome::Pass => ExitCode::SUCCESS,
            Outcome::Deny => ExitCode::from(1),
            Outcome::Error => ExitCode::from(2),
        }
    }
}

/// hallmark signs what Tekton pipelines build and proves it later.
///
/// Exit status: 0 verified/done, 1 denied (a verification or policy check failed,
/// including "no attestation found"), 2 could not decide or could not run.
#[derive(Debug, Parser)]
#[command(
    name = "hallmark",
    version,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    /// Log format on standard error: `text` (for people) or `json` (one object per line,
    /// with the run's namespace, name and uid as fields, for log pipelines). The level
    /// comes from `RUST_LOG` (default `warn`; the controller's default is `info`).
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text, value_name = "FORMAT", env = "HALLMARK_LOG_FORMAT")]
    pub log_format: LogFormat,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// `--log-format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// JSON lines.
    Json,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Format TaskRun/PipelineRun files as in-toto SLSA provenance and sign them as DSSE
    /// envelopes, without a cluster.
    Sign(sign::SignArgs),
    /// Verify a DSSE envelope or a Sigstore bundle against an artifact, or an image's
    /// attestations in its registry.
    Verify(Box<verify::VerifyArgs>),
    /// Derive an in-toto layout from a Tekton Pipeline (one step per task, artifact rules
    /// from results, workspaces and `runAfter`) and sign it as the layout owner.
    Layout(Box<layout::LayoutArgs>),
    /// Sign an in-toto statement about an image and publish it beside the image in its
    /// registry (legacy `.att`, OCI 1.1 referrer bundle, or both).
    Attest(Box<attest::AttestArgs>),
    /// Find entries in Rekor v1 by image digest, email SAN or key; each is verified, and
    /// shown with the Tekton run it came from.
    Search(Box<search::SearchArgs>),
    /// The daemon beside Tekton: watch finished TaskRuns and PipelineRuns, sign each once,
    /// publish to Rekor and the registry, and record the outcome on the run.
    Controller(Box<controller::ControllerArgs>),
    /// Write a cosign-compatible key pair (encrypted private key and public key).
    GenerateKeyPair(keys::GenerateKeyPairArgs),
    /// The sigstore-conformance client protocol (`tests/conformance/entrypoint` calls it).
    Conformance(conformance::ConformanceArgs),
}

/// Install the log subscriber on stderr, filtered by `RUST_LOG` (default `warn`, and
/// `info` for the controller), as text or JSON lines.
pub fn init_logging(cli: &Cli) {
    let default = if matches!(cli.command, Command::Controller(_)) {
        "info,kube=warn,hyper=warn"
    } else {
        "warn"
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    // A second initialisation (tests) is harmless: keep the first subscriber.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match cli.log_format {
        LogFormat::Json => builder
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
        LogFormat::Text => builder
            .with_ansi(std::io::stderr().is_terminal())
            .try_init(),
    };
}

/// Run a parsed command line and map the result onto an exit code.
#[must_use]
pub fn main(cli: Cli) -> ExitCode {
    let result = match &cli.command {
        Command::Sign(a) => sign::run(a),
        Command::Verify(a) => verify::run(a),
        Command::Layout(a) => layout::run(a),
        Command::Attest(a) => attest::run(a),
        Command::Search(a) => search::run(a),
        Command::Controller(a) => controller::run(a),
        Command::GenerateKeyPair(a) => keys::run(a),
        Command::Conformance(a) => conformance::run(a),
    };
    match result {
        Ok(outcome) => outcome.into(),
        Err(e) => {
            if is_broken_pipe(&e) {
                return ExitCode::SUCCESS;
            }
            eprintln!("hallmark: error: {e:#}");
            Outcome::Error.into()
        }
    }
}

/// An error and its `source()` chain on one line, `outer: inner: ...`.
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// The CLI reference in Markdown, as committed in `docs/cli.md`.
#[must_use]
pub fn markdown() -> String {
    clap_markdown::help_markdown::<Cli>()
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    /// `docs/cli.md` is generated; regenerate with `HALLMARK_BLESS=1 cargo test --lib cli`.
    #[test]
    fn docs_cli_md_is_current() {
        let path = crate::test_support::repo_dir().join("docs/cli.md");
        let want = markdown();
        if std::env::var_os("HALLMARK_BLESS").is_some() {
            std::fs::write(&path, &want).unwrap_or_else(|e| panic!("{e}"));
        }
        let have = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            have == want,
            "docs/cli.md is out of date: run `HALLMARK_BLESS=1 cargo test --lib cli::tests`"
        );
    }
}
