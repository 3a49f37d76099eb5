//! Test support shared by unit tests, integration tests and benchmarks: the one place
//! that names the shared fixtures directory. Not part of the supported API.

use std::path::PathBuf;

/// The shared test data directory (`../shared/fixtures` beside the checkout, or
/// `$HALLMARK_SHARED_DIR/fixtures`).
///
/// # Panics
///
/// When the directory is missing: tests must not pass silently without their data.
#[must_use]
pub fn shared_dir() -> PathBuf {
    let base = std::env::var_os("HALLMARK_SHARED_DIR").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared"),
        PathBuf::from,
    );
    let dir = base.join("fixtures");
    assert!(
        dir.is_dir(),
        "shared fixtures not found at {} (set HALLMARK_SHARED_DIR to the directory holding fixtures/)",
        dir.display()
    );
    dir
}

/// The repository root (where Cargo.toml is).
#[must_use]
pub fn repo_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}
