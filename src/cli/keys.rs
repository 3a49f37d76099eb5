//! `hallmark generate-key-pair`: write a cosign-compatible key pair.
//!
//! `<prefix>.key` is an ECDSA P-256 private key encrypted as cosign does
//! (`ENCRYPTED SIGSTORE PRIVATE KEY`, scrypt N=32768 r=8 p=1, nacl/secretbox) with the
//! password from `COSIGN_PASSWORD`; `<prefix>.pub` is the PEM public key. cosign's
//! `sign-blob`, `attest-blob` and `verify-*` read both files.

use std::io::Write as _;
use std::path::PathBuf;

use anyhow::{Context as _, bail};

use super::Outcome;
use crate::signing;

/// Flags of `hallmark generate-key-pair`.
///
/// The password is read from the `COSIGN_PASSWORD` environment variable, which must be
/// set (an empty value means no password); there is no interactive prompt.
#[derive(Debug, clap::Args)]
pub struct GenerateKeyPairArgs {
    /// Write `<P>.key` (encrypted private key, mode 0600) and `<P>.pub` (public key).
    /// Existing files are never overwritten.
    #[arg(long, value_name = "P", default_value = "cosign")]
    pub output_key_prefix: String,
}

/// Run `hallmark generate-key-pair`.
///
/// # Errors
///
/// When `COSIGN_PASSWORD` is unset, a file exists already or cannot be written.
pub fn run(args: &GenerateKeyPairArgs) -> anyhow::Result<Outcome> {
    let Some(password) = signing::password_from_env()? else {
        bail!(
            "COSIGN_PASSWORD must be set (it may be empty); hallmark does not prompt for a password"
        );
    };
    let (private_path, public_path) = write_key_pair(&args.output_key_prefix, &password)?;
    eprintln!("Private key written to {}", private_path.display());
    eprintln!("Public key written to {}", public_path.display());
    Ok(Outcome::Pass)
}

/// Generate a key pair and write `<prefix>.key` and `<prefix>.pub` (never overwriting).
fn write_key_pair(prefix: &str, password: &[u8]) -> anyhow::Result<(PathBuf, PathBuf)> {
    let private_path = PathBuf::from(format!("{prefix}.key"));
    let public_path = PathBuf::from(format!("{prefix}.pub"));
    for p in [&private_path, &public_path] {
        if p.exists() {
            bail!("{} exists already; refusing to overwrite it", p.display());
        }
    }
    let pair = signing::generate_key_pair(password).context("generating the key pair")?;
    write_new(&private_path, pair.private_pem.as_bytes(), true)?;
    write_new(&public_path, pair.public_pem.as_bytes(), false)?;
    Ok((private_path, public_path))
}

fn write_new(path: &std::path::Path, contents: &[u8], private: bool) -> anyhow::Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        opts.mode(if private { 0o600 } else { 0o644 });
    }
    #[cfg(not(unix))]
    let _ = private;
    let mut f = opts
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    f.write_all(contents)
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

#[cfg(test)]
#[allow(clippy::panic)] // Tests report failures by panicking.
mod tests {
    use super::*;

    #[test]
    fn writes_loadable_pair_and_never_overwrites() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let prefix = dir.path().join("k");
        let prefix = prefix.to_str().unwrap_or_default();
        let (key, public) = write_key_pair(prefix, b"pw").unwrap_or_else(|e| panic!("{e:#}"));
        let signer =
            signing::LocalSigner::from_file(&key, Some(b"pw")).unwrap_or_else(|e| panic!("{e}"));
        let pem = std::fs::read(&public).unwrap_or_else(|e| panic!("{e}"));
        let pk = signing::PublicKey::from_pem(&pem).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(signing::Signer::public_key(&signer), &pk);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&key)
                .map(|m| m.permissions().mode())
                .unwrap_or_default();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(write_key_pair(prefix, b"pw").is_err());
    }
}
