//! `hallmark conformance`: the sigstore-conformance client protocol
//! (<https://github.com/sigstore/sigstore-conformance/blob/main/docs/cli_protocol.md>).
//!
//! `tests/conformance/entrypoint` is the executable the suite calls; it forwards its
//! arguments here. Only `verify-bundle` is implemented: `sign-bundle` needs keyless
//! signing, which is not wired yet (exit 2).
//!
//! Exit 0 when the bundle verifies, 1 when a check fails (stderr:
//! `hallmark: deny [CHECK]: MESSAGE`, CHECK as in `hallmark verify -o json` reasons), 2
//! when hallmark could not decide (usage, unreadable input, unsupported).

use std::path::{Path, PathBuf};

use super::Outcome;
use crate::bundle::Bundle;
use crate::trust::TrustedRoot;
use crate::verify::{ArtifactRef, Policy, VerificationKey, Verifier, VerifierOptions, VerifyError};
use crate::x509::{IdentityMatcher, StringMatcher};

/// Subcommands of `hallmark conformance`.
#[derive(Debug, clap::Subcommand)]
pub enum ConformanceCommand {
    /// Verify a Sigstore bundle over an artifact (or its `sha256:` digest), offline,
    /// against a key or an expected certificate identity.
    VerifyBundle(VerifyBundleArgs),
}

/// Flags of `hallmark conformance`.
#[derive(Debug, clap::Args)]
pub struct ConformanceArgs {
    /// The protocol subcommand.
    #[command(subcommand)]
    pub command: ConformanceCommand,
}

/// Flags of `hallmark conformance verify-bundle` (the suite's order and names).
#[derive(Debug, clap::Args)]
pub struct VerifyBundleArgs {
    /// Use Sigstore's staging instance: only accepted together with `--trusted-root`
    /// (hallmark embeds the production trusted root only).
    #[arg(long)]
    pub staging: bool,

    /// The Sigstore bundle to verify.
    #[arg(long, value_name = "FILE")]
    pub bundle: PathBuf,

    /// The expected signer identity: exactly the signing certificate's SAN.
    #[arg(long, value_name = "IDENTITY", requires = "certificate_oidc_issuer")]
    pub certificate_identity: Option<String>,

    /// The expected OIDC issuer of the signing certificate, exactly.
    #[arg(long, value_name = "URL", requires = "certificate_identity")]
    pub certificate_oidc_issuer: Option<String>,

    /// A PEM public key that signed the bundle (managed-key bundles), instead of an
    /// identity.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["certificate_identity", "certificate_oidc_issuer"])]
    pub key: Option<PathBuf>,

    /// A trusted_root.json to verify against. Default: the embedded Sigstore public-good
    /// (production) trusted root.
    #[arg(long, value_name = "FILE")]
    pub trusted_root: Option<PathBuf>,

    /// The artifact: a file, or `sha256:<64 hex>` when that is not a path on disk.
    #[arg(value_name = "FILE_OR_DIGEST")]
    pub artifact: String,
}

/// Run `hallmark conformance`.
///
/// # Errors
///
/// None in practice: every outcome is reported on stderr and mapped to an [`Outcome`].
pub fn run(args: &ConformanceArgs) -> anyhow::Result<Outcome> {
    match &args.command {
        ConformanceCommand::VerifyBundle(a) => Ok(verify_bundle(a)),
    }
}

enum Failure {
    Deny(VerifyError),
    Error(String),
}

impl From<VerifyError> for Failure {
    fn from(e: VerifyError) -> Self {
        if e.is_denial() {
            Self::Deny(e)
        } else {
            Self::Error(format!("[{}] {}", e.check(), super::error_chain(&e)))
        }
    }
}

fn verify_bundle(args: &VerifyBundleArgs) -> Outcome {
    match decide(args) {
        Ok(()) => Outcome::Pass,
        Err(Failure::Deny(e)) => {
            eprintln!("hallmark: deny [{}]: {}", e.check(), super::error_chain(&e));
            Outcome::Deny
        }
        Err(Failure::Error(m)) => {
            eprintln!("hallmark: error: {m}");
            Outcome::Error
        }
    }
}

/// The protocol's FILE_OR_DIGEST rule: a digest only if it is `sha256:` + 64 hex digits
/// and not a path on disk.
fn is_digest(s: &str) -> bool {
    s.strip_prefix("sha256:")
        .is_some_and(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
        && !Path::new(s).exists()
}

fn decide(args: &VerifyBundleArgs) -> Result<(), Failure> {
    let trust = match (&args.trusted_root, args.staging) {
        (Some(p), _) => TrustedRoot::from_file(p).map_err(|e| {
            Failure::Error(format!(
                "trusted root {}: {}",
                p.display(),
                super::error_chain(&e)
            ))
        })?,
        (None, true) => {
            return Err(Failure::Error(
                "--staging needs --trusted-root (no embedded staging trusted root)".into(),
            ));
        }
        (None, false) => TrustedRoot::public_good().map_err(|e| {
            Failure::Error(format!("embedded trusted root: {}", super::error_chain(&e)))
        })?,
    };
    let policy = match (
        &args.key,
        &args.certificate_identity,
        &args.certificate_oidc_issuer,
    ) {
        (Some(k), None, None) => Policy::key(VerificationKey::from_file(k).map_err(|e| {
            Failure::Error(format!("key {}: {}", k.display(), super::error_chain(&e)))
        })?),
        (None, Some(san), Some(iss)) => Policy::identity(IdentityMatcher::new(
            StringMatcher::exact(san.clone()),
            StringMatcher::exact(iss.clone()),
        )),
        _ => {
            return Err(Failure::Error(
                "pass --key, or --certificate-identity with --certificate-oidc-issuer".into(),
            ));
        }
    };
    let raw = std::fs::read(&args.bundle)
        .map_err(|e| Failure::Error(format!("reading {}: {e}", args.bundle.display())))?;
    // A bundle that does not parse is a failed check (fail closed), not an input error.
    let bundle = Bundle::from_json(&raw).map_err(|e| Failure::Deny(VerifyError::Bundle(e)))?;
    let bytes;
    let artifact = if is_digest(&args.artifact) {
        ArtifactRef::parse_digest(&args.artifact)?
    } else {
        bytes = std::fs::read(&args.artifact)
            .map_err(|e| Failure::Error(format!("reading {}: {e}", args.artifact)))?;
        ArtifactRef::Bytes(&bytes)
    };
    let verifier = Verifier::new(trust, VerifierOptions::default())?;
    verifier.verify(&bundle, artifact, &policy)?;
    Ok(())
}
