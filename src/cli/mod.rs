//! Command-line interface: one file per subcommand.
//!
//! Each subcommand file defines a `#[derive(clap::Args)]` struct and a `run` function
//! returning [`Outcome`] (or an [`anyhow::Error`], which means exit 2: could not run).
//! Low-level flags only check what the user typed; `run` builds the real objects.

use std::process::ExitCode;

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
