//! The `hallmark` binary: telemetry, flag parsing, dispatch and exit codes — nothing else.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    hallmark::cli::init_logging();
    let cli = hallmark::cli::Cli::parse();
    hallmark::cli::main(cli)
}
