//! Building the signer a request and the Chains configuration choose: the library API
//! behind `hallmark sign`/`hallmark attest`'s signer flags and the controller.
//!
//! [`build`] takes a [`SignerRequest`] (what a command line asked for; empty for the
//! controller), the typed [`Config`], the contents of Chains' `signing-secrets` Secret
//! ([`SigningSecrets`]) and the configured [`SignerKind`] of the artifact type, and
//! returns a [`BuiltSigner`]. Everything that can be checked before the first signature
//! is checked here — a KMS is reached and its public key read, a key decrypted, the
//! keyless trust material loaded — so that bad configuration stops a command (or the
//! controller's start) with a [`BuildError`] whose [`BuildError::config_key`] names the
//! `chains-config` key at fault.
//!
//! The choice ([`choose`], pure):
//!
//! 1. `key` (a file, `k8s://NS/SECRET` or a KMS reference) or `keyless` in the request;
//! 2. otherwise the configuration, for the artifact type's signer:
//!    - `kms`: `signers.kms.kmsref`, with `signers.kms.auth.*` (else `VAULT_ADDR` /
//!      `VAULT_TOKEN`);
//!    - `x509`: keyless when `signers.x509.fulcio.enabled`, else the signing secrets with
//!      Tekton Chains' precedence (v0.29, `pkg/chains/signing/x509`): `x509.pem` first,
//!      then `cosign.key` with `cosign.password` ([`SigningSecrets::choice`]).
//!
//! Keyless trust material: the request's `trusted_root` file; else the mirror's
//! `trusted_root.json` target through TUF ([`crate::trust::tuf`]), starting from the
//! request's `tuf_root`; else, for Chains' default mirror (`signers.x509.tuf.mirror.url`,
//! the Sigstore public-good one), from the public-good `root.json` embedded in this build
//! (and when that mirror cannot be reached at all, the public-good `trusted_root.json`
//! snapshot embedded in this build, with a warning); else — as Chains does — from the
//! mirror's own `root.json` (trust on first use; `1.root.json` when the mirror has no
//! `root.json`). The identity token's issuer is checked against
//! `signers.x509.fulcio.issuer` when that key is set to something other than its
//! default.
//!
//! No secret (password, token, key) is part of a [`BuildError`]'s message.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use zeroize::Zeroizing;

use super::fulcio::{self, FulcioError, KeylessOptions, KeylessSigner};
use super::kms::{self, KmsError};
use super::kube::{self, KubeError};
use super::token::{Secret, TokenSource};
use super::tsa::{self, TsaClient, TsaError};
use super::{AsyncSigner, KeyError, LocalSigner};
use crate::config::{Config, SignerKind};
use crate::trust::{TrustError, TrustedRoot};

/// Where cosign's `filesystem` token provider (and so Chains' default) reads the
/// identity token.
pub const COSIGN_TOKEN_PATH: &str = "/var/run/sigstore/cosign/oidc-token";

/// Where Chains mounts the `signing-secrets` Secret.
pub const CHAINS_SECRETS_DIR: &str = "/etc/signing-secrets";

/// What a caller asks for, beyond the configuration: the same choices as `hallmark
/// sign`'s signer flags. [`SignerRequest::default`] asks for nothing, and [`build`] then
/// follows the configuration alone (the controller's path).
#[derive(Debug, Clone, Default)]
pub struct SignerRequest {
    /// A key reference: a key file (cosign-encrypted with `COSIGN_PASSWORD`, or PEM),
    /// `k8s://NAMESPACE/SECRET`, or a KMS key (`hashivault://KEY`, ...).
    pub key: Option<String>,
    /// Sign keylessly through Fulcio.
    pub keyless: bool,
    /// Keyless: the identity token itself.
    pub identity_token: Option<Secret>,
    /// Keyless: a file holding the identity token, re-read for every certificate.
    pub identity_token_file: Option<PathBuf>,
    /// Keyless: mint the token for this ServiceAccount (`NAMESPACE/NAME`) by TokenRequest.
    pub service_account: Option<String>,
    /// Keyless: Fulcio's URL (default: the signing config's, else
    /// `signers.x509.fulcio.address`).
    pub fulcio_url: Option<String>,
    /// Keyless: the trusted root (`trusted_root.json`) certificates are checked against.
    pub trusted_root: Option<PathBuf>,
    /// Keyless: a signing config naming Fulcio and the timestamp authorities.
    pub signing_config: Option<PathBuf>,
    /// Keyless, with timestamps: the RFC 3161 timestamp authority.
    pub timestamp_server_url: Option<String>,
    /// Keyless: accept a certificate without a verifiable embedded SCT.
    pub insecure_ignore_sct: bool,
    /// Keyless: the initial `root.json` of the TUF repository `signers.x509.tuf.mirror.url`,
    /// trusted out of band.
    pub tuf_root: Option<PathBuf>,
}

impl SignerRequest {
    /// The keyless-only options that are set, by flag name (empty when none is).
    #[must_use]
    pub fn keyless_options(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        let mut add = |set: bool, name| {
            if set {
                out.push(name);
            }
        };
        add(self.identity_token.is_some(), "--identity-token");
        add(self.identity_token_file.is_some(), "--identity-token-file");
        add(self.service_account.is_some(), "--service-account");
        add(self.fulcio_url.is_some(), "--fulcio-url");
        add(
            self.timestamp_server_url.is_some(),
            "--timestamp-server-url",
        );
        add(self.insecure_ignore_sct, "--insecure-ignore-sct");
        add(self.tuf_root.is_some(), "--tuf-root");
        out
    }
}

/// Errors building a signer. None carries a secret.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// Options that do not go together, or a keyless option without keyless signing.
    #[error("{0}")]
    Conflict(String),
    /// Nothing chooses a signer.
    #[error(
        "no signer: give --key or --keyless, or a configuration that enables \
         signers.x509.fulcio.enabled, a kms signer, or signing secrets"
    )]
    NoSigner,
    /// The artifact type's signer is `none`.
    #[error("signing is disabled for this artifact type (artifacts.*.signer: none)")]
    Disabled,
    /// A configuration key (or a flag) with a missing or bad value.
    #[error("{key}: {problem}")]
    Config {
        /// The `chains-config` key or flag.
        key: &'static str,
        /// What is wrong (never a secret).
        problem: String,
    },
    /// `signers.kms.kmsref` names no usable key.
    #[error("signers.kms.kmsref")]
    KmsRef(#[source] KmsError),
    /// The KMS key could not be reached or used.
    #[error("connecting KMS key {reference}")]
    Kms {
        /// The key reference.
        reference: String,
        /// Why.
        #[source]
        source: KmsError,
    },
    /// A private key could not be loaded.
    #[error("loading signing key {what}")]
    Key {
        /// Which key (a path, a `k8s://` reference, a signing-secrets entry).
        what: String,
        /// Why.
        #[source]
        source: KeyError,
    },
    /// `COSIGN_PASSWORD` is unusable.
    #[error("COSIGN_PASSWORD")]
    Password(#[source] KeyError),
    /// The Kubernetes API (a `k8s://` key, a TokenRequest source) failed.
    #[error("{what}")]
    Kube {
        /// What was asked.
        what: String,
        /// Why.
        #[source]
        source: KubeError,
    },
    /// A file named by the request could not be read.
    #[error("reading {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The signing secrets directory could not be read.
    #[error("reading the signing secrets in {path}")]
    SecretsDir {
        /// The directory or file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The signing secrets hold no usable key.
    #[error("{0}")]
    Secrets(&'static str),
    /// The signing config names no usable Fulcio.
    #[error("in signing config {path}")]
    SigningConfig {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: FulcioError,
    },
    /// A trusted root file or the embedded one could not be used.
    #[error("reading trusted root {what}")]
    TrustedRoot {
        /// The file, or `the embedded public-good root`.
        what: String,
        /// Why.
        #[source]
        source: TrustError,
    },
    /// The trusted root could not be fetched through TUF from
    /// `signers.x509.tuf.mirror.url`.
    #[error("signers.x509.tuf.mirror.url: the trusted root from TUF repository {url}")]
    Tuf {
        /// The mirror.
        url: String,
        /// Why.
        #[source]
        source: TrustError,
    },
    /// The keyless signer could not be set up.
    #[error("setting up keyless signing")]
    Keyless(#[source] FulcioError),
    /// The timestamp authority could not be set up.
    #[error("timestamp authority {url}")]
    Tsa {
        /// Its URL.
        url: String,
        /// Why.
        #[source]
        source: TsaError,
    },
}

impl BuildError {
    /// The `chains-config` key at fault, when a configuration value caused the error.
    #[must_use]
    pub fn config_key(&self) -> Option<&'static str> {
        match self {
            Self::Config { key, .. } => key.starts_with("signers.").then_some(*key),
            Self::KmsRef(_) => Some("signers.kms.kmsref"),
            Self::Kms {
                source: KmsError::Config { key, .. },
                ..
            } => key.split(' ').next().filter(|k| k.starts_with("signers.")),
            Self::Tuf { .. } => Some("signers.x509.tuf.mirror.url"),
            Self::Keyless(FulcioError::Url(_)) => Some("signers.x509.fulcio.address"),
            _ => None,
        }
    }

    /// Whether retrying later may help (a KMS, the Kubernetes API or a TUF mirror that
    /// could not be reached); configuration errors are permanent.
    #[must_use]
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Kms { source, .. } | Self::KmsRef(source) => source.is_transient(),
            Self::Kube { source, .. } => source.is_transient(),
            Self::Tuf { source, .. } | Self::TrustedRoot { source, .. } => source.is_transient(),
            Self::Tsa { source, .. } => source.is_transient(),
            Self::Key { source, .. } => source.is_transient(),
            _ => false,
        }
    }
}

/// Which key of the signing secrets signs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretKey {
    /// `x509.pem`: an unencrypted PKCS#8 private key.
    X509Pem,
    /// `cosign.key`: a cosign-encrypted key, with `cosign.password`.
    CosignKey,
}

/// The contents of Chains' `signing-secrets` Secret: `x509.pem`, or `cosign.key` with
/// `cosign.password`. Other entries are ignored. `Debug` shows which entries are present,
/// never their bytes.
#[derive(Default)]
pub struct SigningSecrets {
    x509_pem: Option<Zeroizing<Vec<u8>>>,
    cosign_key: Option<Zeroizing<Vec<u8>>>,
    cosign_password: Option<Zeroizing<Vec<u8>>>,
}

impl std::fmt::Debug for SigningSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningSecrets")
            .field("x509.pem", &self.x509_pem.is_some())
            .field("cosign.key", &self.cosign_key.is_some())
            .field("cosign.password", &self.cosign_password.is_some())
            .finish()
    }
}

const X509_PEM: &str = "x509.pem";
const COSIGN_KEY: &str = "cosign.key";
const COSIGN_PASSWORD: &str = "cosign.password";

impl SigningSecrets {
    /// From a Secret's `data` (values already base64-decoded). The values are moved into
    /// zeroizing buffers.
    #[must_use]
    pub fn from_data(mut data: BTreeMap<String, Vec<u8>>) -> Self {
        let mut take = |k: &str| data.remove(k).map(Zeroizing::new);
        Self {
            x509_pem: take(X509_PEM),
            cosign_key: take(COSIGN_KEY),
            cosign_password: take(COSIGN_PASSWORD),
        }
    }

    /// From a mounted secret volume (Chains mounts `signing-secrets` at
    /// [`CHAINS_SECRETS_DIR`]): the files `x509.pem`, `cosign.key`, `cosign.password`,
    /// each optional.
    ///
    /// # Errors
    ///
    /// [`BuildError::SecretsDir`] when the directory or one of the files exists but
    /// cannot be read.
    pub fn from_dir(dir: &Path) -> Result<Self, BuildError> {
        std::fs::read_dir(dir).map_err(|source| BuildError::SecretsDir {
            path: dir.to_owned(),
            source,
        })?;
        let read = |name: &str| -> Result<Option<Zeroizing<Vec<u8>>>, BuildError> {
            let path = dir.join(name);
            match std::fs::read(&path) {
                Ok(b) => Ok(Some(Zeroizing::new(b))),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(source) => Err(BuildError::SecretsDir { path, source }),
            }
        };
        Ok(Self {
            x509_pem: read(X509_PEM)?,
            cosign_key: read(COSIGN_KEY)?,
            cosign_password: read(COSIGN_PASSWORD)?,
        })
    }

    /// Which key signs, with Chains' precedence: `x509.pem`, else `cosign.key`.
    ///
    /// # Errors
    ///
    /// [`BuildError::Secrets`] when neither is present, or `cosign.key` comes without
    /// `cosign.password` (Chains refuses it too; the password may be empty).
    pub fn choice(&self) -> Result<SecretKey, BuildError> {
        if self.x509_pem.is_some() {
            Ok(SecretKey::X509Pem)
        } else if self.cosign_key.is_some() {
            if self.cosign_password.is_none() {
                return Err(BuildError::Secrets(
                    "the signing secrets hold cosign.key but no cosign.password (it may be empty)",
                ));
            }
            Ok(SecretKey::CosignKey)
        } else {
            Err(BuildError::Secrets(
                "no valid private key found in the signing secrets, looked for: x509.pem, cosign.key",
            ))
        }
    }

    /// The signer of [`SigningSecrets::choice`].
    ///
    /// # Errors
    ///
    /// As [`SigningSecrets::choice`]; [`BuildError::Key`] when the key does not load
    /// (malformed, wrong password).
    pub fn signer(&self) -> Result<LocalSigner, BuildError> {
        let choice = self.choice()?;
        let (bytes, password, what) = match choice {
            SecretKey::X509Pem => (self.x509_pem.as_ref(), None, X509_PEM),
            SecretKey::CosignKey => (
                self.cosign_key.as_ref(),
                self.cosign_password.as_ref(),
                COSIGN_KEY,
            ),
        };
        let bytes = bytes.ok_or(BuildError::Secrets("the chosen key vanished"))?;
        LocalSigner::from_pem(bytes, password.map(|p| p.as_slice())).map_err(|source| {
            BuildError::Key {
                what: format!("{what} from the signing secrets"),
                source,
            }
        })
    }
}

/// The signer of one configuration, built once and shared.
pub struct BuiltSigner {
    /// The signer.
    pub signer: Arc<dyn AsyncSigner>,
    /// What it is, for messages (`hashivault://KEY`, a key path, keyless).
    pub what: String,
    /// The keyless signer again, for its certificate-request count.
    pub keyless: Option<Arc<KeylessSigner>>,
    /// The timestamp authority for keyless bundles, when one is named.
    pub tsa: Option<TsaClient>,
}

impl std::fmt::Debug for BuiltSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BuiltSigner")
            .field("what", &self.what)
            .field("keyless", &self.keyless.is_some())
            .field("tsa", &self.tsa.is_some())
            .finish_non_exhaustive()
    }
}

/// Which signer [`choose`] picked.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Choice {
    /// The request's key reference (a file, `k8s://`, or a KMS key).
    Key(String),
    /// `signers.kms.kmsref` (checked to parse).
    ConfiguredKms(String),
    /// Keyless through Fulcio.
    Keyless,
    /// A key of the signing secrets.
    Secrets(SecretKey),
}

/// Which signer `request`, `config`, `secrets` and the artifact type's signer `kind`
/// choose (see the module docs). Pure: nothing is read or reached.
///
/// # Errors
///
/// [`BuildError::Conflict`] for options that do not go together;
/// [`BuildError::KmsRef`] / [`BuildError::Config`] for a missing or bad
/// `signers.kms.kmsref`; [`BuildError::Disabled`] for `kind` `none` without a request;
/// [`BuildError::Secrets`] for signing secrets without a usable key;
/// [`BuildError::NoSigner`] when nothing chooses.
pub fn choose(
    request: &SignerRequest,
    config: &Config,
    secrets: Option<&SigningSecrets>,
    kind: SignerKind,
) -> Result<Choice, BuildError> {
    let keyless_only = request.keyless_options();
    if let Some(k) = &request.key {
        if request.keyless {
            return Err(BuildError::Conflict(
                "--key and --keyless are exclusive".into(),
            ));
        }
        if !keyless_only.is_empty() {
            return Err(BuildError::Conflict(format!(
                "{} cannot be used with --key",
                keyless_only.join(", ")
            )));
        }
        if k.trim().is_empty() {
            return Err(BuildError::Conflict("--key is empty".into()));
        }
        return Ok(Choice::Key(k.clone()));
    }
    if request.keyless {
        return Ok(Choice::Keyless);
    }
    let keyless_by_config = kind == SignerKind::X509 && config.x509.fulcio_enabled;
    if keyless_by_config {
        return Ok(Choice::Keyless);
    }
    if !keyless_only.is_empty() {
        return Err(BuildError::Conflict(format!(
            "{} need --keyless (or signers.x509.fulcio.enabled)",
            keyless_only.join(", ")
        )));
    }
    match kind {
        SignerKind::None => Err(BuildError::Disabled),
        SignerKind::Kms => match config.kms.kms_ref.as_deref().map(str::trim) {
            Some(r) if !r.is_empty() => {
                kms::KmsRef::parse(r).map_err(BuildError::KmsRef)?;
                Ok(Choice::ConfiguredKms(r.to_owned()))
            }
            _ => Err(BuildError::Config {
                key: "signers.kms.kmsref",
                problem: "not set, but the artifact's signer is kms: name the KMS key".into(),
            }),
        },
        SignerKind::X509 => match secrets {
            Some(s) => s.choice().map(Choice::Secrets),
            None => Err(BuildError::NoSigner),
        },
    }
}

/// Build the signer [`choose`] picks: a KMS is reached and its public key read, a key
/// loaded (and decrypted), a keyless signer set up with its trust material (its first
/// certificate comes with the first signature). `timestamps`: keyless signatures will go
/// into bundles, so set up the timestamp authority named by the request's
/// `timestamp_server_url` or signing config.
///
/// # Errors
///
/// [`BuildError`]: [`BuildError::config_key`] names the configuration key at fault,
/// [`BuildError::is_transient`] says whether retrying may help.
pub async fn build(
    request: &SignerRequest,
    config: &Config,
    secrets: Option<&SigningSecrets>,
    kind: SignerKind,
    timestamps: bool,
) -> Result<BuiltSigner, BuildError> {
    let key = |signer: Arc<dyn AsyncSigner>, what: String| BuiltSigner {
        signer,
        what,
        keyless: None,
        tsa: None,
    };
    match choose(request, config, secrets, kind)? {
        Choice::Key(reference) if reference.starts_with("k8s://") => {
            let client = kube::KubeClient::from_env(None).map_err(|source| BuildError::Kube {
                what: "Kubernetes API client".into(),
                source,
            })?;
            let secret = kube::read_cosign_secret(&client, &reference)
                .await
                .map_err(|source| BuildError::Kube {
                    what: format!("reading key {reference}"),
                    source,
                })?;
            let env_password = super::password_from_env().map_err(BuildError::Password)?;
            let password = secret.password.as_ref().or(env_password.as_ref());
            let signer = LocalSigner::from_pem(&secret.key, password.map(|p| p.as_slice()))
                .map_err(|source| BuildError::Key {
                    what: reference.clone(),
                    source,
                })?;
            Ok(key(Arc::new(signer), reference))
        }
        Choice::Key(reference) if kms::KmsRef::is_kms(&reference) => {
            let signer = kms::connect(&reference, &config.kms)
                .await
                .map_err(|source| BuildError::Kms {
                    reference: reference.clone(),
                    source,
                })?;
            Ok(key(signer, reference))
        }
        Choice::ConfiguredKms(reference) => {
            let signer = kms::connect(&reference, &config.kms)
                .await
                .map_err(|source| BuildError::Kms {
                    reference: reference.clone(),
                    source,
                })?;
            Ok(key(signer, reference))
        }
        Choice::Key(path) => {
            let password = super::password_from_env().map_err(BuildError::Password)?;
            let signer =
                LocalSigner::from_file(Path::new(&path), password.as_deref().map(|p| p.as_slice()))
                    .map_err(|source| BuildError::Key {
                        what: path.clone(),
                        source,
                    })?;
            Ok(key(Arc::new(signer), path))
        }
        Choice::Secrets(which) => {
            let s = secrets.ok_or(BuildError::NoSigner)?;
            let signer = s.signer()?;
            let name = match which {
                SecretKey::X509Pem => X509_PEM,
                SecretKey::CosignKey => COSIGN_KEY,
            };
            Ok(key(
                Arc::new(signer),
                format!("{name} from the signing secrets"),
            ))
        }
        Choice::Keyless => {
            // The configuration is checked before the trust material is fetched.
            let options = keyless_options(request, config)?;
            let trust = keyless_trust(request, config).await?;
            let signer = Arc::new(KeylessSigner::new(options, trust).map_err(BuildError::Keyless)?);
            let tsa = tsa_client(request, signer.trusted_root(), timestamps)?;
            Ok(BuiltSigner {
                signer: Arc::clone(&signer) as Arc<dyn AsyncSigner>,
                what: "a keyless certificate from Fulcio".into(),
                keyless: Some(signer),
                tsa,
            })
        }
    }
}

fn read(path: &Path) -> Result<Vec<u8>, BuildError> {
    std::fs::read(path).map_err(|source| BuildError::Read {
        path: path.to_owned(),
        source,
    })
}

/// The timestamp authority of keyless signatures, when they go into bundles and one is
/// named (request, else signing config).
fn tsa_client(
    request: &SignerRequest,
    trust: &TrustedRoot,
    timestamps: bool,
) -> Result<Option<TsaClient>, BuildError> {
    if !timestamps {
        return Ok(None);
    }
    let url = match (&request.timestamp_server_url, &request.signing_config) {
        (Some(u), _) => u.clone(),
        (None, Some(path)) => match fulcio::tsa_url_from_signing_config(&read(path)?) {
            Some(u) => u,
            None => return Ok(None),
        },
        (None, None) => return Ok(None),
    };
    let authorities =
        tsa::authorities(&trust.timestamp_authorities).map_err(|e| BuildError::Config {
            key: "--trusted-root",
            problem: format!("its timestampAuthorities do not parse: {e}"),
        })?;
    if authorities.is_empty() {
        return Err(BuildError::Config {
            key: "--timestamp-server-url",
            problem: format!(
                "timestamp authority {url}: the trusted root has no timestampAuthorities to \
                 check its timestamps against"
            ),
        });
    }
    TsaClient::new(&url, authorities, Duration::from_secs(30))
        .map(Some)
        .map_err(|source| BuildError::Tsa { url, source })
}

/// The providers of `signers.x509.fulcio.provider` hallmark implements: cosign's
/// `filesystem` and Chains' `filesystem-custom-path`.
const FILESYSTEM_PROVIDERS: [&str; 2] = ["filesystem", "filesystem-custom-path"];

/// `signers.x509.fulcio.provider`, trimmed (empty when unset), checked to be one hallmark
/// implements.
fn check_provider(config: &Config) -> Result<&str, BuildError> {
    let provider = config
        .x509
        .fulcio_provider
        .as_deref()
        .map(str::trim)
        .unwrap_or("");
    if !provider.is_empty() && !FILESYSTEM_PROVIDERS.contains(&provider) {
        return Err(BuildError::Config {
            key: "signers.x509.fulcio.provider",
            problem: format!(
                "{provider:?} is not supported: use \"filesystem\" with \
                 signers.x509.identity.token.file (or --identity-token / --identity-token-file)"
            ),
        });
    }
    Ok(provider)
}

/// Where keyless identity tokens come from (see the module docs).
fn token_source(request: &SignerRequest, config: &Config) -> Result<TokenSource, BuildError> {
    let x = &config.x509;
    let provider = check_provider(config)?;
    if let Some(t) = &request.identity_token {
        return Ok(TokenSource::Static(Secret::new(t.expose().trim())));
    }
    if let Some(f) = &request.identity_token_file {
        return Ok(TokenSource::File(f.clone()));
    }
    if let Some(sa) = &request.service_account {
        let Some((namespace, name)) = sa
            .split_once('/')
            .filter(|(n, a)| !n.is_empty() && !a.is_empty() && !a.contains('/'))
        else {
            return Err(BuildError::Config {
                key: "--service-account",
                problem: format!("{sa:?}: expected NAMESPACE/NAME"),
            });
        };
        let client = kube::KubeClient::from_env(None).map_err(|source| BuildError::Kube {
            what: "Kubernetes API client".into(),
            source,
        })?;
        return Ok(TokenSource::TokenRequest(Box::new(
            kube::TokenRequestSource {
                client,
                namespace: namespace.to_owned(),
                name: name.to_owned(),
                audience: "sigstore".to_owned(),
            },
        )));
    }
    if let Some(f) = x.identity_token_file.as_deref().map(str::trim)
        && !f.is_empty()
    {
        return Ok(TokenSource::File(PathBuf::from(f)));
    }
    if std::env::var("SIGSTORE_ID_TOKEN").is_ok_and(|v| !v.trim().is_empty()) {
        return Ok(TokenSource::Env("SIGSTORE_ID_TOKEN".into()));
    }
    if provider == "filesystem" || Path::new(COSIGN_TOKEN_PATH).is_file() {
        return Ok(TokenSource::File(PathBuf::from(COSIGN_TOKEN_PATH)));
    }
    Err(BuildError::Config {
        key: "signers.x509.identity.token.file",
        problem: "keyless signing needs an identity token: set it, or give --identity-token, \
                  --identity-token-file, --service-account or SIGSTORE_ID_TOKEN"
            .into(),
    })
}

/// The issuer identity tokens must come from: `signers.x509.fulcio.issuer` when it is
/// set to something other than Chains' default (the public-good interactive issuer, which
/// a workload's token never has).
#[must_use]
pub fn expected_issuer(config: &Config) -> Option<String> {
    let configured = config.x509.fulcio_issuer.trim();
    let default = Config::default().x509.fulcio_issuer;
    (!configured.is_empty() && configured.trim_end_matches('/') != default.trim_end_matches('/'))
        .then(|| configured.to_owned())
}

/// The keyless signer's options: Fulcio's URL, the token source, the SCT and issuer
/// checks. Checked in this order: `signers.x509.fulcio.provider`, the Fulcio URL
/// (`signers.x509.fulcio.address`), the token source.
fn keyless_options(request: &SignerRequest, config: &Config) -> Result<KeylessOptions, BuildError> {
    check_provider(config)?;
    let fulcio_url = match (&request.fulcio_url, &request.signing_config) {
        (Some(u), _) => u.clone(),
        (None, Some(path)) => {
            fulcio::fulcio_url_from_signing_config(&read(path)?).map_err(|source| {
                BuildError::SigningConfig {
                    path: path.clone(),
                    source,
                }
            })?
        }
        (None, None) => {
            let u = config.x509.fulcio_address.trim();
            if !reqwest::Url::parse(u).is_ok_and(|p| matches!(p.scheme(), "http" | "https")) {
                return Err(BuildError::Config {
                    key: "signers.x509.fulcio.address",
                    problem: format!("{u:?} is not an http(s) URL"),
                });
            }
            u.to_owned()
        }
    };
    let tokens = token_source(request, config)?;
    let mut options = KeylessOptions::new(fulcio_url, tokens);
    options.require_sct = !request.insecure_ignore_sct;
    options.expected_issuer = expected_issuer(config);
    Ok(options)
}

/// The Sigstore public-good TUF repository's root metadata (`root.json`, version 16),
/// trusted as the initial root for Chains' default mirror. TUF rotates it from there.
const PUBLIC_GOOD_TUF_ROOT: &str = include_str!("../trust/public-good-tuf-root.json");

/// Whether `mirror` is Chains' default TUF mirror (the public-good one).
fn is_default_mirror(mirror: &str) -> bool {
    let default = Config::default().x509.tuf_mirror_url;
    mirror.trim().is_empty() || mirror.trim().trim_end_matches('/') == default
}

/// The trusted root of keyless signing (see the module docs).
async fn keyless_trust(
    request: &SignerRequest,
    config: &Config,
) -> Result<TrustedRoot, BuildError> {
    if let Some(p) = &request.trusted_root {
        return TrustedRoot::from_file(p).map_err(|source| BuildError::TrustedRoot {
            what: p.display().to_string(),
            source,
        });
    }
    let mirror = config.x509.tuf_mirror_url.trim().trim_end_matches('/');
    let public_good = request.tuf_root.is_none() && is_default_mirror(mirror);
    let mirror = if mirror.is_empty() {
        Config::default().x509.tuf_mirror_url
    } else {
        mirror.to_owned()
    };
    let timeout = Duration::from_secs(30);
    let initial = match &request.tuf_root {
        Some(p) => Zeroizing::new(read(p)?),
        None if public_good => Zeroizing::new(PUBLIC_GOOD_TUF_ROOT.as_bytes().to_vec()),
        None => Zeroizing::new(initial_root_from_mirror(&mirror, timeout).await?),
    };
    let datastore = tuf_datastore(&mirror, &initial);
    let tuf_err = |source| BuildError::Tuf {
        url: mirror.clone(),
        source,
    };
    let bytes = match crate::trust::tuf::fetch_trusted_root(&mirror, &initial, &datastore, timeout)
        .await
    {
        Ok(b) => b,
        // The public-good mirror cannot be reached (no network to it): the snapshot
        // of its trusted root embedded in this build. Metadata that does not verify
        // is never papered over.
        Err(e) if public_good && e.is_transient() => {
            tracing::warn!(
                mirror = %mirror,
                error = %e,
                "the public-good TUF mirror cannot be reached: using the trusted root embedded in this build"
            );
            return TrustedRoot::public_good().map_err(|source| BuildError::TrustedRoot {
                what: "the embedded public-good root".into(),
                source,
            });
        }
        Err(e) => return Err(tuf_err(e)),
    };
    let root = TrustedRoot::from_json(&bytes).map_err(tuf_err)?;
    tracing::info!(mirror = %mirror, "trusted root fetched through TUF");
    Ok(root)
}

/// Chains' way of starting from a custom mirror: its `root.json` (trust on first use);
/// `1.root.json` when there is no `root.json`.
async fn initial_root_from_mirror(mirror: &str, timeout: Duration) -> Result<Vec<u8>, BuildError> {
    let err = |reason: String, transient: bool| BuildError::Tuf {
        url: mirror.to_owned(),
        source: TrustError::Tuf {
            url: mirror.to_owned(),
            reason,
            transient,
        },
    };
    let http = reqwest::Client::builder()
        .timeout(timeout)
        .user_agent(concat!("hallmark/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| err(format!("HTTP client: {e}"), false))?;
    let mut last = String::new();
    for name in ["root.json", "1.root.json"] {
        let url = format!("{mirror}/{name}");
        let resp = http
            .get(&url)
            .send()
            .await
            .map_err(|e| err(format!("fetching {url}: {e}"), true))?;
        let status = resp.status();
        if status.is_success() {
            let body = resp
                .bytes()
                .await
                .map_err(|e| err(format!("reading {url}: {e}"), true))?;
            tracing::warn!(
                url = %url,
                "TUF: the initial root comes from the mirror itself (trust on first use, as \
                 Chains); pin it with --tuf-root"
            );
            return Ok(body.to_vec());
        }
        last = format!("{url}: HTTP {status}");
        if status != reqwest::StatusCode::NOT_FOUND {
            return Err(err(last, status.is_server_error()));
        }
    }
    Err(err(
        format!("no initial root.json: {last}; give the initial root (--tuf-root)"),
        false,
    ))
}

/// Where the TUF metadata of `mirror` (started from `initial`) is kept between runs:
/// `$XDG_CACHE_HOME/hallmark/tuf-sign/<hash>` (or `~/.cache/...`, else the temporary
/// directory).
fn tuf_datastore(mirror: &str, initial: &[u8]) -> PathBuf {
    use sha2::Digest as _;
    let mut h = sha2::Sha256::new();
    h.update(mirror.as_bytes());
    h.update([0]);
    h.update(initial);
    let key = hex::encode(&h.finalize()[..8]);
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    let dir = base.join("hallmark/tuf-sign").join(&key);
    if std::fs::create_dir_all(&dir).is_ok() {
        dir
    } else {
        std::env::temp_dir().join("hallmark-tuf-sign").join(key)
    }
}

#[cfg(test)]
#[allow(clippy::panic)] // Tests report failures by panicking.
mod tests {
    use super::*;
    use crate::test_support::shared_dir;

    fn config(pairs: &[(&str, &str)]) -> Config {
        let map = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Config::from_map(&map).unwrap_or_else(|e| panic!("{e}")).0
    }

    fn secrets(names: &[&str]) -> SigningSecrets {
        SigningSecrets::from_data(
            names
                .iter()
                .map(|n| ((*n).to_owned(), b"x".to_vec()))
                .collect(),
        )
    }

    fn chosen(
        request: &SignerRequest,
        config: &Config,
        secrets: Option<&SigningSecrets>,
        kind: SignerKind,
    ) -> Result<Choice, String> {
        choose(request, config, secrets, kind).map_err(|e| {
            let mut s = e.to_string();
            let mut cur = std::error::Error::source(&e);
            while let Some(c) = cur {
                s.push_str(": ");
                s.push_str(&c.to_string());
                cur = c.source();
            }
            s
        })
    }

    #[test]
    fn signing_secrets_follow_chains_precedence() {
        // Chains v0.29 x509.NewSigner: x509.pem, then cosign.key (+ cosign.password).
        let all = secrets(&["x509.pem", "cosign.key", "cosign.password"]);
        assert_eq!(all.choice().ok(), Some(SecretKey::X509Pem));
        let cosign = secrets(&["cosign.key", "cosign.password", "other"]);
        assert_eq!(cosign.choice().ok(), Some(SecretKey::CosignKey));
        let e = secrets(&["cosign.key"])
            .choice()
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("cosign.password"), "{e}");
        let e = secrets(&["cosign.password", "cosign.pub"])
            .choice()
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("x509.pem") && e.contains("cosign.key"), "{e}");
        assert!(!format!("{all:?}").contains("120"), "bytes in Debug");
    }

    #[test]
    fn signing_secrets_from_a_mounted_volume_and_from_data_sign() {
        // The fixture directory is laid out as Chains' signing-secrets mount.
        let dir = shared_dir().join("chains/keys");
        let s = SigningSecrets::from_dir(&dir).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.choice().ok(), Some(SecretKey::X509Pem));
        let x509 = s.signer().unwrap_or_else(|e| panic!("{e}"));
        let from_pem =
            LocalSigner::from_file(&dir.join("x509.pem"), None).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(x509.public(), from_pem.public());

        // Without x509.pem: the cosign key, decrypted with cosign.password.
        let data: BTreeMap<String, Vec<u8>> = ["cosign.key", "cosign.password"]
            .iter()
            .map(|n| {
                (
                    (*n).to_owned(),
                    std::fs::read(dir.join(n)).unwrap_or_else(|e| panic!("{e}")),
                )
            })
            .collect();
        let s = SigningSecrets::from_data(data);
        let cosign = s.signer().unwrap_or_else(|e| panic!("{e}"));
        let pub_pem = std::fs::read(dir.join("cosign.pub")).unwrap_or_else(|e| panic!("{e}"));
        let expected =
            super::super::PublicKey::from_pem(&pub_pem).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(cosign.public(), &expected);

        // A wrong password is a key error, without the password.
        let mut data: BTreeMap<String, Vec<u8>> = BTreeMap::new();
        data.insert(
            "cosign.key".into(),
            std::fs::read(dir.join("cosign.key")).unwrap_or_else(|e| panic!("{e}")),
        );
        data.insert("cosign.password".into(), b"canary-password-s3cr3t".to_vec());
        let e = SigningSecrets::from_data(data)
            .signer()
            .err()
            .unwrap_or_else(|| panic!("a wrong password was accepted"));
        assert!(matches!(e, BuildError::Key { .. }));
        assert!(!format!("{e} {e:?}").contains("canary-password"));

        // A missing directory is an error; a directory without keys chooses nothing.
        assert!(SigningSecrets::from_dir(&dir.join("no-such-dir")).is_err());
        let empty = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let s = SigningSecrets::from_dir(empty.path()).unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(s.choice(), Err(BuildError::Secrets(_))));
    }

    #[test]
    fn an_empty_request_follows_the_configuration() {
        let none = SignerRequest::default();
        let s = secrets(&["x509.pem", "cosign.key", "cosign.password"]);
        // x509: the signing secrets, unless Fulcio is enabled.
        let c = config(&[]);
        assert_eq!(
            chosen(&none, &c, Some(&s), SignerKind::X509),
            Ok(Choice::Secrets(SecretKey::X509Pem))
        );
        assert!(matches!(
            choose(&none, &c, None, SignerKind::X509),
            Err(BuildError::NoSigner)
        ));
        let c = config(&[("signers.x509.fulcio.enabled", "true")]);
        assert_eq!(
            chosen(&none, &c, Some(&s), SignerKind::X509),
            Ok(Choice::Keyless)
        );
        // kms: signers.kms.kmsref, even when Fulcio is enabled for x509.
        let c = config(&[
            ("signers.x509.fulcio.enabled", "true"),
            ("signers.kms.kmsref", "hashivault://k"),
        ]);
        assert_eq!(
            chosen(&none, &c, Some(&s), SignerKind::Kms),
            Ok(Choice::ConfiguredKms("hashivault://k".into()))
        );
        let e = choose(&none, &config(&[]), None, SignerKind::Kms)
            .err()
            .unwrap_or_else(|| panic!("no kmsref accepted"));
        assert_eq!(e.config_key(), Some("signers.kms.kmsref"));
        // A malformed gcpkms:// reference is refused whatever the build.
        let c = config(&[("signers.kms.kmsref", "gcpkms://projects/p/k")]);
        let e = choose(&none, &c, None, SignerKind::Kms)
            .err()
            .unwrap_or_else(|| panic!("a malformed gcpkms:// reference accepted"));
        assert_eq!(e.config_key(), Some("signers.kms.kmsref"));
        assert!(!e.is_transient());
        // A well-formed one is chosen with the `gcpkms` feature; without it, the error names
        // the feature.
        let gcp = "gcpkms://projects/p/locations/global/keyRings/r/cryptoKeys/k";
        let c = config(&[("signers.kms.kmsref", gcp)]);
        let got = chosen(&none, &c, None, SignerKind::Kms);
        if cfg!(feature = "gcpkms") {
            assert_eq!(got, Ok(Choice::ConfiguredKms(gcp.into())));
        } else {
            let e = got.err().unwrap_or_default();
            assert!(
                e.starts_with("signers.kms.kmsref: gcpkms://") && e.contains("--features gcpkms"),
                "{e}"
            );
        }
        // none: disabled.
        assert!(matches!(
            choose(&none, &config(&[]), Some(&s), SignerKind::None),
            Err(BuildError::Disabled)
        ));
    }

    #[test]
    fn the_request_overrides_the_configuration() {
        let c = config(&[
            ("signers.x509.fulcio.enabled", "true"),
            ("signers.kms.kmsref", "hashivault://k"),
        ]);
        let key = SignerRequest {
            key: Some("hashivault://other".into()),
            ..SignerRequest::default()
        };
        for kind in [SignerKind::X509, SignerKind::Kms, SignerKind::None] {
            assert_eq!(
                chosen(&key, &c, None, kind),
                Ok(Choice::Key("hashivault://other".into()))
            );
        }
        let keyless = SignerRequest {
            keyless: true,
            ..SignerRequest::default()
        };
        assert_eq!(
            chosen(&keyless, &c, None, SignerKind::Kms),
            Ok(Choice::Keyless)
        );
        // Keyless options with a key, or without keyless signing, are refused.
        let bad = SignerRequest {
            key: Some("k".into()),
            fulcio_url: Some("http://f".into()),
            ..SignerRequest::default()
        };
        assert!(matches!(
            choose(&bad, &c, None, SignerKind::X509),
            Err(BuildError::Conflict(_))
        ));
        let bad = SignerRequest {
            identity_token_file: Some("t".into()),
            ..SignerRequest::default()
        };
        assert!(matches!(
            choose(&bad, &config(&[]), None, SignerKind::X509),
            Err(BuildError::Conflict(_))
        ));
        // ... but complete a keyless signer the configuration enables.
        assert_eq!(
            chosen(&bad, &c, None, SignerKind::X509),
            Ok(Choice::Keyless)
        );
        let both = SignerRequest {
            key: Some("k".into()),
            keyless: true,
            ..SignerRequest::default()
        };
        assert!(matches!(
            choose(&both, &c, None, SignerKind::X509),
            Err(BuildError::Conflict(_))
        ));
    }

    #[test]
    fn keyless_configuration_errors_name_their_key() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        let token = SignerRequest {
            identity_token: Some(Secret::new("canary-token-s3cr3t")),
            ..SignerRequest::default()
        };
        for (pairs, key) in [
            (
                &[
                    ("signers.x509.fulcio.enabled", "true"),
                    ("signers.x509.fulcio.provider", "spiffe"),
                ][..],
                "signers.x509.fulcio.provider",
            ),
            (
                &[
                    ("signers.x509.fulcio.enabled", "true"),
                    ("signers.x509.fulcio.address", "not-a-url"),
                ][..],
                "signers.x509.fulcio.address",
            ),
            (
                &[
                    ("signers.x509.fulcio.enabled", "true"),
                    ("signers.x509.tuf.mirror.url", "http://127.0.0.1:9"),
                ][..],
                "signers.x509.tuf.mirror.url",
            ),
        ] {
            let e = rt
                .block_on(build(&token, &config(pairs), None, SignerKind::X509, false))
                .err()
                .unwrap_or_else(|| panic!("{pairs:?} accepted"));
            assert_eq!(e.config_key(), Some(key), "{e}");
            assert!(!format!("{e} {e:?}").contains("canary-token"), "{e:?}");
        }
        // The unreachable mirror may come back.
        let e = rt
            .block_on(build(
                &token,
                &config(&[
                    ("signers.x509.fulcio.enabled", "true"),
                    ("signers.x509.tuf.mirror.url", "http://127.0.0.1:9"),
                ]),
                None,
                SignerKind::X509,
                false,
            ))
            .err()
            .unwrap_or_else(|| panic!("accepted"));
        assert!(e.is_transient(), "{e:?}");
    }

    #[test]
    fn the_issuer_is_checked_only_when_set() {
        assert_eq!(expected_issuer(&config(&[])), None);
        assert_eq!(
            expected_issuer(&config(&[(
                "signers.x509.fulcio.issuer",
                "https://oauth2.sigstore.dev/auth/"
            )])),
            None
        );
        assert_eq!(
            expected_issuer(&config(&[(
                "signers.x509.fulcio.issuer",
                "https://kubernetes.default.svc"
            )]))
            .as_deref(),
            Some("https://kubernetes.default.svc")
        );
    }

    #[test]
    fn the_embedded_public_good_tuf_root_is_a_tuf_root() {
        let v: serde_json::Value =
            serde_json::from_str(PUBLIC_GOOD_TUF_ROOT).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(v["signed"]["_type"], "root");
        assert!(v["signed"]["roles"]["root"]["threshold"].as_u64() >= Some(3));
        assert!(v["signatures"].as_array().is_some_and(|s| s.len() >= 3));
    }

    /// Offline (no route to the public-good mirror, as in tests): the embedded snapshot.
    #[test]
    fn the_default_mirror_falls_back_to_the_embedded_root_when_unreachable() {
        assert!(is_default_mirror("https://tuf-repo-cdn.sigstore.dev/"));
        assert!(is_default_mirror(""));
        assert!(!is_default_mirror("http://127.0.0.1:17009"));
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        let root = rt
            .block_on(keyless_trust(&SignerRequest::default(), &config(&[])))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            root,
            TrustedRoot::public_good().unwrap_or_else(|e| panic!("{e}"))
        );
    }
}
