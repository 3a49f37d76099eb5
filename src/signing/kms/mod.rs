//! KMS-backed signers, named by cosign's key references.
//!
//! - `hashivault://KEY`: a HashiCorp Vault / OpenBao transit key ([`vault`]), with token
//!   auth or JWT (Kubernetes service-account) auth — Chains' `signers.kms.auth.*`.
//!   Exercised against OpenBao in the stack tests.
//! - `awskms://[ENDPOINT]/KEY` ([`aws`], cargo feature `awskms`): AWS KMS through the
//!   official AWS SDK (`aws-sdk-kms`), credentials from the SDK's default chain. Exercised
//!   against the `local-kms` emulator (`tests/stack_kms_aws.rs`), never against AWS itself.
//! - `gcpkms://projects/P/locations/L/keyRings/R/cryptoKeys/K[/cryptoKeyVersions/V]`
//!   ([`gcp`], cargo feature `gcpkms`): Google Cloud KMS through Google's official client
//!   (`google-cloud-kms-v1`), Application Default Credentials. Not exercised against a
//!   server: request and response shapes unit-tested through the client's stub seam.
//! - `azurekms://VAULT_HOST/KEY[/VERSION]` ([`azure`], cargo feature `azurekms`): Azure Key
//!   Vault through Microsoft's official crates (`azure_security_keyvault_keys`,
//!   `azure_identity`). Not exercised against a server: reference, key and signature shapes
//!   unit-tested.
//!
//! All of them sign with P-256 keys (Vault also ed25519). [`KmsRef::parse`] checks a
//! reference's form without the network; a well-formed reference of a provider whose cargo
//! feature is off is refused up front, naming the feature ([`KmsError::NotBuiltIn`]).
//!
//! A KMS signer reads its public key once, when it is connected, and keeps it.

pub mod aws;
pub mod azure;
pub mod gcp;
pub mod vault;

use std::path::PathBuf;

use super::SignError;
use super::token::TokenError;

pub use vault::{VaultAuth, VaultConfig, VaultSigner};

/// The answer of a KMS signer for `msg`: `signature` (DER ECDSA) checked against the key's
/// public key read at connection, so a KMS that signed with another key (or signed
/// something else) is caught before anything is published.
///
/// # Errors
///
/// [`KmsError::BadSignature`] when the signature does not verify.
#[cfg_attr(
    not(any(feature = "awskms", feature = "gcpkms", feature = "azurekms")),
    allow(dead_code)
)]
pub(crate) fn checked_output(
    public: &crate::signing::PublicKey,
    msg: &[u8],
    signature: Vec<u8>,
) -> Result<super::SignOutput, KmsError> {
    public
        .verify(msg, &signature)
        .map_err(|_| KmsError::BadSignature)?;
    Ok(super::SignOutput {
        signature,
        public_key: public.clone(),
        certificate_chain: None,
    })
}

/// Errors of KMS signers. None carries a token.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KmsError {
    /// A KMS scheme whose cargo feature this build of hallmark was built without.
    #[error(
        "{scheme} key references need hallmark built with the cargo feature `{feature}` \
         (cargo build --features {feature})"
    )]
    NotBuiltIn {
        /// The scheme, with `://`.
        scheme: &'static str,
        /// The cargo feature that enables it.
        feature: &'static str,
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
    /// A call through a provider's SDK failed (AWS, Google Cloud, Azure).
    #[error("{what} failed: {message}")]
    Provider {
        /// What was asked (`AWS KMS Sign with KEY`, ...).
        what: String,
        /// Whether retrying later may help (timeouts, connection failures, throttling,
        /// server errors).
        transient: bool,
        /// The SDK's error, flattened to text (it never holds a credential).
        message: String,
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
            Self::Provider { transient, .. } => *transient,
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
    AwsKms(aws::AwsKeyRef),
    /// `gcpkms://projects/P/locations/L/keyRings/R/cryptoKeys/K[/cryptoKeyVersions/V]`
    /// (feature `gcpkms`).
    GcpKms(gcp::GcpKeyRef),
    /// `azurekms://VAULT_HOST/KEY[/VERSION]` (feature `azurekms`).
    AzureKms(azure::AzureKeyRef),
}

/// The KMS schemes cosign knows.
pub const KMS_SCHEMES: [&str; 4] = ["hashivault://", "awskms://", "gcpkms://", "azurekms://"];

impl KmsRef {
    /// Whether `reference` names a KMS key (one of [`KMS_SCHEMES`]).
    #[must_use]
    pub fn is_kms(reference: &str) -> bool {
        KMS_SCHEMES.iter().any(|s| reference.starts_with(s))
    }

    /// Parse a key reference, without reaching the KMS.
    ///
    /// # Errors
    ///
    /// [`KmsError::BadReference`] for a reference that is none of the forms in the module
    /// docs; [`KmsError::NotBuiltIn`] for a well-formed `awskms://`, `gcpkms://` or
    /// `azurekms://` reference when hallmark was built without that provider's cargo feature.
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
        let (parsed, scheme, feature, built) = if reference.starts_with("awskms://") {
            (
                Self::AwsKms(aws::parse_ref(reference)?),
                "awskms://",
                "awskms",
                cfg!(feature = "awskms"),
            )
        } else if reference.starts_with("gcpkms://") {
            (
                Self::GcpKms(gcp::parse_ref(reference)?),
                "gcpkms://",
                "gcpkms",
                cfg!(feature = "gcpkms"),
            )
        } else if reference.starts_with("azurekms://") {
            (
                Self::AzureKms(azure::parse_ref(reference)?),
                "azurekms://",
                "azurekms",
                cfg!(feature = "azurekms"),
            )
        } else {
            return Err(KmsError::BadReference(reference.to_owned()));
        };
        if built {
            Ok(parsed)
        } else {
            Err(KmsError::NotBuiltIn { scheme, feature })
        }
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
        KmsRef::AwsKms(key) => Ok(std::sync::Arc::new(aws::AwsKmsSigner::connect(key).await?)),
        #[cfg(feature = "gcpkms")]
        KmsRef::GcpKms(key) => Ok(std::sync::Arc::new(gcp::GcpKmsSigner::connect(key).await?)),
        #[cfg(feature = "azurekms")]
        KmsRef::AzureKms(key) => Ok(std::sync::Arc::new(
            azure::AzureKmsSigner::connect(key).await?,
        )),
        // `parse` refuses the schemes whose feature is off.
        #[allow(unreachable_patterns)]
        _ => Err(KmsError::BadReference(reference.to_owned())),
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
        for (r, feature, built) in [
            (
                "awskms:///arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
                "awskms",
                cfg!(feature = "awskms"),
            ),
            (
                "gcpkms://projects/p/locations/l/keyRings/r/cryptoKeys/k",
                "gcpkms",
                cfg!(feature = "gcpkms"),
            ),
            (
                "azurekms://vault.vault.azure.net/key",
                "azurekms",
                cfg!(feature = "azurekms"),
            ),
        ] {
            match KmsRef::parse(r) {
                Ok(_) => assert!(built, "{r} parsed without the {feature} feature"),
                Err(e) => {
                    assert!(!built, "{r}: {e}");
                    let e = e.to_string();
                    assert!(
                        e.contains(&format!("{feature}://"))
                            && e.contains(&format!("--features {feature}")),
                        "{e}"
                    );
                }
            }
        }
        // Malformed references of those schemes are refused whatever the build.
        for r in [
            "awskms:///not-a-key",
            "gcpkms://projects/p/k",
            "azurekms://vault.vault.azure.net",
        ] {
            assert!(
                matches!(KmsRef::parse(r), Err(KmsError::BadReference(_))),
                "{r}"
            );
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
