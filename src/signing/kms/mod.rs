//! KMS-backed signers, named by cosign's key references.
//!
//! - `hashivault://KEY`: a HashiCorp Vault / OpenBao transit key ([`vault`]), with token
//!   auth or JWT (Kubernetes service-account) auth — Chains' `signers.kms.auth.*`.
//! - `awskms://` with the cargo feature `awskms` (`aws` module): AWS KMS through its JSON
//!   API and SigV4 — request shapes unit-tested only, never exercised against AWS.
//!   Without the feature, and for `gcpkms://` and `azurekms://`, [`KmsRef::parse`] names
//!   the scheme in a clear "not supported yet" error.
//!
//! A KMS signer reads its public key once, when it is connected, and keeps it.

#[cfg(feature = "awskms")]
pub mod aws;
pub mod vault;

use std::path::PathBuf;

use super::SignError;
use super::token::TokenError;

pub use vault::{VaultAuth, VaultConfig, VaultSigner};

/// Errors of KMS signers. None carries a token.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KmsError {
    /// A KMS scheme hallmark does not implement yet.
    #[error("{scheme} key references are not supported yet (supported: hashivault://KEY)")]
    Unsupported {
        /// The scheme, with `://`.
        scheme: &'static str,
    },
    /// A key reference that is not `SCHEME://KEY`.
    #[error("invalid KMS key reference {0:?}")]
    BadReference(String),
    /// Configuration needed to reach the KMS is missing or invalid.
    #[error("{key}: {problem}")]
    Config {
        /// The configuration key or environment variable.
        key: &'static str,
        /// What is wrong.
        problem: String,
    },
    /// The KMS could not be reached.
    #[error("cannot reach the KMS at {url}")]
    Unreachable {
        /// The request URL (never holds a secret).
        url: String,
        /// The transport error.
        #[source]
        source: reqwest::Error,
    },
    /// The KMS refused a request.
    #[error("{what} refused ({status}): {message}")]
    Refused {
        /// What was asked (`reading transit key K`, `signing with transit key K`, ...).
        what: String,
        /// The HTTP status.
        status: u16,
        /// The server's messages (secrets redacted).
        message: String,
    },
    /// The KMS answered something unexpected.
    #[error("unexpected KMS response: {0}")]
    Response(&'static str),
    /// The key is of a type that cannot sign (e.g. aes256-gcm96) or is not supported.
    #[error(
        "transit key {key} is of type {kind}, which cannot sign attestations: use an ecdsa-p256 (or ed25519) key"
    )]
    KeyType {
        /// The key name.
        key: String,
        /// Its type as the KMS names it.
        kind: String,
    },
    /// A token for the KMS (or the JWT for its login) could not be read.
    #[error("KMS credentials")]
    Token(#[from] TokenError),
    /// A token file could not be read.
    #[error("cannot read the KMS token file {path}")]
    TokenFile {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The KMS returned a signature that does not verify with its public key.
    #[error("the KMS signature does not verify with the key's public key")]
    BadSignature,
}

impl KmsError {
    /// Whether retrying later may help (network, throttling, server errors, a sealed
    /// Vault).
    #[must_use]
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Unreachable { .. } => true,
            Self::Refused { status, .. } => *status == 429 || *status >= 500,
            Self::Token(e) => e.is_transient(),
            Self::TokenFile { .. } => true,
            _ => false,
        }
    }
}

impl From<KmsError> for SignError {
    fn from(e: KmsError) -> Self {
        SignError::Remote {
            transient: e.is_transient(),
            source: Box::new(e),
        }
    }
}

/// A parsed KMS key reference.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum KmsRef {
    /// `hashivault://KEY`.
    HashiVault {
        /// The transit key name.
        key: String,
    },
    /// `awskms://[ENDPOINT]/KEY` (feature `awskms`).
    #[cfg(feature = "awskms")]
    AwsKms(aws::AwsKeyRef),
}

/// The KMS schemes cosign knows.
pub const KMS_SCHEMES: [&str; 4] = ["hashivault://", "awskms://", "gcpkms://", "azurekms://"];

impl KmsRef {
    /// Whether `reference` names a KMS key (one of [`KMS_SCHEMES`]).
    #[must_use]
    pub fn is_kms(reference: &str) -> bool {
        KMS_SCHEMES.iter().any(|s| reference.starts_with(s))
    }

    /// Parse a key reference.
    ///
    /// # Errors
    ///
    /// [`KmsError::Unsupported`] for `awskms://`, `gcpkms://`, `azurekms://`;
    /// [`KmsError::BadReference`] for anything else that is not `hashivault://KEY`.
    pub fn parse(reference: &str) -> Result<Self, KmsError> {
        if let Some(key) = reference.strip_prefix("hashivault://") {
            let key = key.trim_end_matches('/');
            let ok = !key.is_empty()
                && key
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
            return if ok {
                Ok(Self::HashiVault {
                    key: key.to_owned(),
                })
            } else {
                Err(KmsError::BadReference(reference.to_owned()))
            };
        }
        #[cfg(feature = "awskms")]
        if reference.starts_with("awskms://") {
            return aws::parse_ref(reference).map(Self::AwsKms);
        }
        for scheme in ["awskms://", "gcpkms://", "azurekms://"] {
            if reference.starts_with(scheme) {
                return Err(KmsError::Unsupported { scheme });
            }
        }
        Err(KmsError::BadReference(reference.to_owned()))
    }
}

/// The Vault configuration for transit key `key` from Chains' `signers.kms.auth.*`,
/// falling back to `VAULT_ADDR` / `VAULT_TOKEN`. Credentials, first set wins:
/// `signers.kms.auth.token`, `signers.kms.auth.token-path`, JWT auth
/// (`signers.kms.auth.oidc.role` + `oidc.token-path`, mount `oidc.path`, default `jwt`),
/// `VAULT_TOKEN`.
///
/// # Errors
///
/// [`KmsError::Config`] naming the key that is missing, inconsistent or unsupported.
pub fn vault_config(key: &str, cfg: &crate::config::KmsSigner) -> Result<VaultConfig, KmsError> {
    let env = |n: &str| std::env::var(n).ok().filter(|v| !v.trim().is_empty());
    let nonempty = |v: &Option<String>| v.clone().filter(|s| !s.trim().is_empty());
    if nonempty(&cfg.auth_spire_sock).is_some() {
        return Err(KmsError::Config {
            key: "signers.kms.auth.spire.sock",
            problem: "SPIRE JWT-SVIDs for Vault login are not supported yet: use \
                      signers.kms.auth.oidc.token-path with a projected service-account token"
                .into(),
        });
    }
    let address = nonempty(&cfg.auth_address)
        .or_else(|| env("VAULT_ADDR"))
        .ok_or(KmsError::Config {
            key: "signers.kms.auth.address",
            problem: "not set, and VAULT_ADDR is not set either".into(),
        })?;
    let oidc_role = nonempty(&cfg.auth_oidc_role);
    let oidc_path = nonempty(&cfg.auth_oidc_path);
    let oidc_token = nonempty(&cfg.auth_oidc_token_path);
    let auth = if let Some(t) = nonempty(&cfg.auth_token) {
        VaultAuth::Token(super::token::Secret::new(t.trim()))
    } else if let Some(p) = nonempty(&cfg.auth_token_path) {
        VaultAuth::TokenFile(PathBuf::from(p))
    } else if oidc_role.is_some() || oidc_path.is_some() || oidc_token.is_some() {
        let role = oidc_role.ok_or(KmsError::Config {
            key: "signers.kms.auth.oidc.role",
            problem: "required for Vault JWT auth (signers.kms.auth.oidc.* is set)".into(),
        })?;
        let jwt = oidc_token.ok_or(KmsError::Config {
            key: "signers.kms.auth.oidc.token-path",
            problem: "required for Vault JWT auth: the file holding the JWT".into(),
        })?;
        VaultAuth::Jwt {
            mount: oidc_path
                .map(|p| p.trim_matches('/').to_owned())
                .unwrap_or_else(|| "jwt".to_owned()),
            role,
            jwt: super::token::TokenSource::File(PathBuf::from(jwt)),
        }
    } else if let Some(t) = env("VAULT_TOKEN") {
        VaultAuth::Token(super::token::Secret::new(t.trim()))
    } else {
        return Err(KmsError::Config {
            key: "signers.kms.auth.token",
            problem: "no Vault credentials: set signers.kms.auth.token, signers.kms.auth.token-path, \
                      signers.kms.auth.oidc.role with signers.kms.auth.oidc.token-path, or VAULT_TOKEN"
                .into(),
        });
    };
    Ok(VaultConfig::new(address, key, auth))
}

/// Connect the KMS signer `reference` names, configured by Chains' `signers.kms.auth.*`:
/// authenticate and read its public key (cached for the signer's life).
///
/// # Errors
///
/// As [`KmsRef::parse`], [`vault_config`] and [`VaultSigner::connect`].
pub async fn connect(
    reference: &str,
    cfg: &crate::config::KmsSigner,
) -> Result<std::sync::Arc<dyn super::AsyncSigner>, KmsError> {
    match KmsRef::parse(reference)? {
        KmsRef::HashiVault { key } => {
            let config = vault_config(&key, cfg)?;
            Ok(std::sync::Arc::new(VaultSigner::connect(config).await?))
        }
        #[cfg(feature = "awskms")]
        KmsRef::AwsKms(_) => Ok(std::sync::Arc::new(
            aws::AwsKmsSigner::connect(reference).await?,
        )),
    }
}

#[cfg(test)]
#[allow(clippy::panic)] // Tests report failures by panicking.
mod tests {
    use super::*;

    #[test]
    fn parses_references() {
        assert_eq!(
            KmsRef::parse("hashivault://hallmark").ok(),
            Some(KmsRef::HashiVault {
                key: "hallmark".into()
            })
        );
        #[cfg(not(feature = "awskms"))]
        assert!(
            KmsRef::parse("awskms:///arn:aws:kms:us-east-1:1:key/abc")
                .err()
                .is_some_and(|e| e
                    .to_string()
                    .contains("awskms:// key references are not supported yet"))
        );
        #[cfg(feature = "awskms")]
        assert!(KmsRef::parse("awskms:///arn:aws:kms:us-east-1:1:key/abc").is_ok());
        for (r, scheme) in [
            (
                "gcpkms://projects/p/locations/l/keyRings/r/cryptoKeys/k",
                "gcpkms://",
            ),
            ("azurekms://vault.vault.azure.net/key", "azurekms://"),
        ] {
            let e = KmsRef::parse(r)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(e.contains(scheme) && e.contains("not supported"), "{e}");
        }
        assert!(matches!(
            KmsRef::parse("hashivault://"),
            Err(KmsError::BadReference(_))
        ));
        assert!(matches!(
            KmsRef::parse("hashivault://a/../b"),
            Err(KmsError::BadReference(_))
        ));
        assert!(KmsRef::is_kms("gcpkms://x") && !KmsRef::is_kms("cosign.key"));
    }

    #[test]
    fn vault_config_names_the_missing_key() {
        use crate::config::KmsSigner;
        let cfg = KmsSigner {
            auth_address: Some("http://127.0.0.1:1".into()),
            auth_oidc_role: Some("r".into()),
            ..KmsSigner::default()
        };
        let e = vault_config("k", &cfg)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.starts_with("signers.kms.auth.oidc.token-path"), "{e}");
        let cfg = KmsSigner {
            auth_address: Some("http://127.0.0.1:1".into()),
            auth_token: Some("canary-vault-token".into()),
            ..KmsSigner::default()
        };
        let c = vault_config("k", &cfg).unwrap_or_else(|e| panic!("{e}"));
        assert!(!format!("{c:?}").contains("canary-vault-token"));
        let cfg = KmsSigner {
            auth_address: Some("http://127.0.0.1:1".into()),
            auth_spire_sock: Some("/run/spire.sock".into()),
            ..KmsSigner::default()
        };
        let e = vault_config("k", &cfg)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.starts_with("signers.kms.auth.spire.sock"), "{e}");
    }
}
