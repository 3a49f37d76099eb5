//! Running peer tools (cosign, crane, rekor-cli, hallmark itself) from the stack tests:
//! each under `timeout`, in a scratch directory with its own docker config and TUF cache.
#![allow(dead_code, clippy::panic)]

use std::path::Path;
use std::process::{Command, Output};

/// Run `program args` in `dir` with `env` added, bounded to 180 s. `DOCKER_CONFIG` and
/// `TUF_ROOT` point into `dir`, `COSIGN_PASSWORD` is empty and `COSIGN_YES` set.
pub fn run(dir: &Path, program: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new("timeout");
    c.arg("180").arg(program).args(args).current_dir(dir);
    c.env("DOCKER_CONFIG", dir.join("docker"))
        .env("TUF_ROOT", dir.join("tuf"))
        .env("COSIGN_PASSWORD", "")
        .env("COSIGN_YES", "true");
    for (k, v) in env {
        c.env(k, v);
    }
    c.output()
        .unwrap_or_else(|e| panic!("running {program}: {e}"))
}

/// Fail the test, with the command's output, unless it succeeded.
pub fn ok(out: &Output, what: &str) {
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The command's standard output, trimmed.
pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}
