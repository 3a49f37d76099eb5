//! Refreshing `trusted_root.json` from a TUF repository (the `tough` client).
//!
//! Sigstore publishes its trust material as TUF targets: metadata at the repository URL,
//! targets under `<url>/targets/`. [`fetch_trusted_root`] starts from an initial
//! `root.json` the caller trusts out of band, walks the root rotations, checks the
//! timestamp, snapshot and targets metadata (signatures, thresholds, expiry, rollback
//! against the last metadata seen, kept in a datastore directory) and returns the
//! `trusted_root.json` target, checked against its recorded length and hashes.

use std::path::Path;
use std::time::Duration;

use tough::{
    ExpirationEnforcement, HttpTransportBuilder, IntoVec as _, RepositoryLoader, TargetName,
};

use super::TrustError;

/// The target that holds the trusted root.
pub const TRUSTED_ROOT_TARGET: &str = "trusted_root.json";

/// Fetch and verify `trusted_root.json` from the TUF repository at `repo_url`.
///
/// `initial_root` is a `root.json` of that repository, trusted out of band. `datastore` is
/// a directory kept between runs (created if missing) where the newest metadata is stored,
/// so a repository cannot be rolled back.
///
/// # Errors
///
/// [`TrustError::Tuf`] when the repository cannot be reached, its metadata does not verify
/// from `initial_root` (signatures, thresholds, expiry, rollback) or it has no trusted root
/// target.
pub async fn fetch_trusted_root(
    repo_url: &str,
    initial_root: &[u8],
    datastore: &Path,
    timeout: Duration,
) -> Result<Vec<u8>, TrustError> {
    let err = |reason: String, transient: bool| TrustError::Tuf {
        url: repo_url.to_owned(),
        reason,
        transient,
    };
    let base = repo_url.trim_end_matches('/');
    let metadata = reqwest::Url::parse(&format!("{base}/"))
        .map_err(|e| err(format!("invalid URL: {e}"), false))?;
    let targets = reqwest::Url::parse(&format!("{base}/targets/"))
        .map_err(|e| err(format!("invalid URL: {e}"), false))?;
    std::fs::create_dir_all(datastore).map_err(|e| {
        err(
            format!("creating the TUF datastore {}: {e}", datastore.display()),
            false,
        )
    })?;
    let transport = HttpTransportBuilder::new()
        .timeout(timeout)
        .connect_timeout(timeout)
        .tries(2)
        .build();
    let repository = RepositoryLoader::new(&initial_root, metadata, targets)
        .transport(transport)
        .datastore(datastore)
        .expiration_enforcement(ExpirationEnforcement::Safe)
        .load()
        .await
        .map_err(|e| {
            let transient = is_transport_error(&e);
            err(error_chain(&e), transient)
        })?;
    let name = TargetName::new(TRUSTED_ROOT_TARGET).map_err(|e| err(e.to_string(), false))?;
    let stream = repository
        .read_target(&name)
        .await
        .map_err(|e| err(error_chain(&e), is_transport_error(&e)))?
        .ok_or_else(|| {
            err(
                format!("the repository has no {TRUSTED_ROOT_TARGET} target"),
                false,
            )
        })?;
    stream.into_vec().await.map_err(|e| {
        err(
            format!("reading {TRUSTED_ROOT_TARGET}: {}", error_chain(&e)),
            false,
        )
    })
}

fn is_transport_error(e: &tough::error::Error) -> bool {
    matches!(e, tough::error::Error::Transport { .. })
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}
