//! The `hallmark` binary: telemetry, flag parsing, dispatch and exit codes — nothing else.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = hallmark::cli::Cli::parse();
    hallmark::cli::init_logging(&cli);
    hallmark::cli::main(cli)
}
