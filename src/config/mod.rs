//! Configuration: Tekton Chains' `chains-config` keys, parsed into a typed model.
//!
//! hallmark replaces Chains without asking users to touch their ConfigMap, so the raw
//! input is exactly Chains' flat `map[string]string` (`data:` of the ConfigMap). It is
//! parsed once, by the pure function [`Config::from_map`], into typed values; nothing
//! downstream looks at the raw strings again.
//!
//! Parsing follows Chains v0.29.2 (`pkg/config/config.go`):
//! - keys Chains restricts to a set of values are checked against that set, and an
//!   invalid value is an error naming the key;
//! - booleans are Go's `strconv.ParseBool` forms; like Chains, an unparsable boolean is
//!   ignored (the default stays), but hallmark reports it as a [`Warning`];
//! - keys Chains does not know are ignored by Chains; hallmark reports them as warnings
//!   too, so a typo does not go unnoticed.
//!
//! A file given to `--config` may be a whole ConfigMap manifest (`kind: ConfigMap`, its
//! `data:` is read) or a flat YAML/JSON map of the same keys.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

use crate::provenance::{Format, FormatOptions};

/// Errors from reading or parsing a configuration.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A key holds a value outside the set Chains accepts for it.
    #[error("{key}: invalid value {value:?}, wanted one of {allowed}")]
    InvalidValue {
        /// The ConfigMap key.
        key: &'static str,
        /// The value found.
        value: String,
        /// The accepted values, comma separated.
        allowed: String,
    },
    /// The document is neither a ConfigMap nor a flat map of strings.
    #[error("configuration document: {0}")]
    Document(String),
    /// The document is not valid YAML/JSON.
    #[error("configuration document is not valid YAML or JSON")]
    Syntax(#[source] serde_yaml_ng::Error),
}

impl ConfigError {
    /// Configuration errors never go away by retrying.
    #[must_use]
    pub fn is_transient(&self) -> bool {
        false
    }
}

/// Something in the configuration that Chains would silently ignore.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Warning {
    /// A key that neither Chains nor hallmark knows.
    UnknownKey(String),
    /// A boolean key whose value is not a Go `ParseBool` form; the default was kept.
    NotABool {
        /// The key.
        key: &'static str,
        /// The value found.
        value: String,
    },
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Warning::UnknownKey(k) => write!(f, "unknown configuration key {k:?} ignored"),
            Warning::NotABool { key, value } => {
                write!(f, "{key}: {value:?} is not a boolean; the default is kept")
            }
        }
    }
}

/// Which signer an artifact kind uses (`artifacts.*.signer`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignerKind {
    /// `x509`: a local key from the signing secrets, or keyless through Fulcio when
    /// `signers.x509.fulcio.enabled` is true.
    X509,
    /// `kms`: the key named by `signers.kms.kmsref`.
    Kms,
    /// `none`: signing of this artifact kind is disabled.
    None,
}

/// A storage backend named in `artifacts.*.storage`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum StorageBackend {
    /// `tekton`: annotations on the run.
    Tekton,
    /// `oci`: beside the image in its registry.
    Oci,
    /// `gcs`: a Google Cloud Storage bucket.
    Gcs,
    /// `docdb`: a document database (gocloud docstore URL).
    Docdb,
    /// `grafeas`: Grafeas / Container Analysis.
    Grafeas,
    /// `kafka`: a Kafka topic.
    Kafka,
    /// `archivista`: an Archivista server.
    Archivista,
}

impl StorageBackend {
    fn name(self) -> &'static str {
        match self {
            StorageBackend::Tekton => "tekton",
            StorageBackend::Oci => "oci",
            StorageBackend::Gcs => "gcs",
            StorageBackend::Docdb => "docdb",
            StorageBackend::Grafeas => "grafeas",
            StorageBackend::Kafka => "kafka",
            StorageBackend::Archivista => "archivista",
        }
    }
}

impl fmt::Display for StorageBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How an artifact kind is formatted, signed and stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArtifactConfig {
    /// The provenance format (TaskRuns and PipelineRuns); `None` for OCI images, whose
    /// only format is `simplesigning`.
    pub format: Option<Format>,
    /// Where signatures go. Empty when the key was set to `""` (storage disabled).
    pub storage: BTreeSet<StorageBackend>,
    /// Which signer signs.
    pub signer: SignerKind,
    /// PipelineRuns only: inspect child TaskRuns for type hints.
    pub deep_inspection: bool,
}

impl ArtifactConfig {
    /// Whether this artifact kind is signed at all: not when the signer is `none` or the
    /// storage key is empty (Chains' `Artifact.Enabled`).
    #[must_use]
    pub fn enabled(&self) -> bool {
        self.signer != SignerKind::None && !self.storage.is_empty()
    }
}

/// `storage.oci.encoding-format`: the layout of attestations in the registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OciEncoding {
    /// `dsse` (default): cosign's legacy `.sig`/`.att` tags.
    Dsse,
    /// `sigstore-bundle`: a Sigstore bundle v0.3 as an OCI 1.1 referrer.
    SigstoreBundle,
}

/// `storage.oci.*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OciStorage {
    /// `storage.oci.repository`: push signatures to this repository instead of the image's.
    pub repository: Option<String>,
    /// `storage.oci.repository.insecure`: allow plain HTTP to the registry.
    pub insecure: bool,
    /// `storage.oci.encoding-format`.
    pub encoding: OciEncoding,
}

/// The storage backends' settings other than OCI, kept as Chains names them so that a
/// ConfigMap round-trips; hallmark implements the `tekton` and `oci` backends.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OtherStorage {
    /// `storage.gcs.bucket`.
    pub gcs_bucket: Option<String>,
    /// `storage.docdb.url`.
    pub docdb_url: Option<String>,
    /// `storage.docdb.mongo-server-url`.
    pub docdb_mongo_server_url: Option<String>,
    /// `storage.docdb.mongo-server-url-dir`.
    pub docdb_mongo_server_url_dir: Option<String>,
    /// `storage.docdb.mongo-server-url-path`.
    pub docdb_mongo_server_url_path: Option<String>,
    /// `storage.grafeas.projectid`.
    pub grafeas_project_id: Option<String>,
    /// `storage.grafeas.noteid`.
    pub grafeas_note_id: Option<String>,
    /// `storage.grafeas.notehint`.
    pub grafeas_note_hint: String,
    /// `storage.pubsub.provider` (`inmemory` or `kafka`).
    pub pubsub_provider: Option<String>,
    /// `storage.pubsub.topic`.
    pub pubsub_topic: Option<String>,
    /// `storage.pubsub.kafka.bootstrap.servers`.
    pub kafka_bootstrap_servers: Option<String>,
    /// `storage.archivista.url`.
    pub archivista_url: Option<String>,
}

/// `signers.x509.*`: the local key or keyless (Fulcio) signer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct X509Signer {
    /// `signers.x509.fulcio.enabled`: sign keylessly through Fulcio.
    pub fulcio_enabled: bool,
    /// `signers.x509.fulcio.address`.
    pub fulcio_address: String,
    /// `signers.x509.fulcio.issuer`: the OIDC issuer of the identity token.
    pub fulcio_issuer: String,
    /// `signers.x509.fulcio.provider`: where the identity token comes from
    /// (`filesystem`, `spiffe`, `google`, `github`, ...).
    pub fulcio_provider: Option<String>,
    /// `signers.x509.identity.token.file`: path of the identity token.
    pub identity_token_file: Option<String>,
    /// `signers.x509.tuf.mirror.url`: the TUF repository with the Sigstore trust root.
    pub tuf_mirror_url: String,
}

/// `signers.kms.*`.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct KmsSigner {
    /// `signers.kms.kmsref`: `hashivault://KEY`, `awskms://...`, `gcpkms://...`, `azurekms://...`.
    pub kms_ref: Option<String>,
    /// `signers.kms.auth.address`: the KMS server address (Vault/OpenBao).
    pub auth_address: Option<String>,
    /// `signers.kms.auth.token`: a token given inline. Never printed.
    pub auth_token: Option<String>,
    /// `signers.kms.auth.token-path`: a file holding the token.
    pub auth_token_path: Option<String>,
    /// `signers.kms.auth.oidc.path`: Vault's JWT auth mount path.
    pub auth_oidc_path: Option<String>,
    /// `signers.kms.auth.oidc.role`: Vault's JWT auth role.
    pub auth_oidc_role: Option<String>,
    /// `signers.kms.auth.oidc.token-path`: the JWT presented to Vault.
    pub auth_oidc_token_path: Option<String>,
    /// `signers.kms.auth.spire.sock`: the SPIRE agent socket.
    pub auth_spire_sock: Option<String>,
    /// `signers.kms.auth.spire.audience`: the audience of the SPIRE JWT-SVID.
    pub auth_spire_audience: Option<String>,
}

impl fmt::Debug for KmsSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KmsSigner")
            .field("kms_ref", &self.kms_ref)
            .field("auth_address", &self.auth_address)
            .field(
                "auth_token",
                &self.auth_token.as_ref().map(|_| "<redacted>"),
            )
            .field("auth_token_path", &self.auth_token_path)
            .field("auth_oidc_path", &self.auth_oidc_path)
            .field("auth_oidc_role", &self.auth_oidc_role)
            .field("auth_oidc_token_path", &self.auth_oidc_token_path)
            .field("auth_spire_sock", &self.auth_spire_sock)
            .field("auth_spire_audience", &self.auth_spire_audience)
            .finish()
    }
}

/// `transparency.*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transparency {
    /// `transparency.enabled` is `true` or `manual`: upload to Rekor.
    pub enabled: bool,
    /// `transparency.enabled` is `manual`: upload only runs annotated
    /// `chains.tekton.dev/transparency-upload: "true"`.
    pub manual: bool,
    /// `transparency.url`: the Rekor server.
    pub url: String,
    /// `transparency.signing-config` (hallmark only): a Sigstore `signing_config.json`
    /// (a file path) whose Rekor log (v1 or v2) is used instead of `transparency.url`,
    /// and whose timestamp authority timestamps keyless signatures.
    pub signing_config: Option<String>,
}

/// The whole configuration, typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `artifacts.taskrun.*`.
    pub taskrun: ArtifactConfig,
    /// `artifacts.pipelinerun.*`.
    pub pipelinerun: ArtifactConfig,
    /// `artifacts.oci.*`.
    pub oci: ArtifactConfig,
    /// `storage.oci.*`.
    pub oci_storage: OciStorage,
    /// The other storage backends' settings.
    pub other_storage: OtherStorage,
    /// `signers.x509.*`.
    pub x509: X509Signer,
    /// `signers.kms.*`.
    pub kms: KmsSigner,
    /// `transparency.*`.
    pub transparency: Transparency,
    /// `builder.id`: the provenance's builder id.
    pub builder_id: String,
    /// `builddefinition.buildtype`: the SLSA v1 build type.
    pub build_type: String,
    /// `filter.managed-by`: extra `spec.managedBy` values whose runs are signed
    /// (`tekton.dev/pipeline` is always accepted).
    pub managed_by: Vec<String>,
}

/// The build types Chains accepts for `builddefinition.buildtype`.
pub const BUILD_TYPES: [&str; 2] = [
    "https://tekton.dev/chains/v2/slsa",
    "https://tekton.dev/chains/v2/slsa-tekton",
];

const FORMATS: [&str; 4] = ["in-toto", "slsa/v1", "slsa/v2alpha3", "slsa/v2alpha4"];

/// Every key hallmark understands, as Chains spells it.
pub const KNOWN_KEYS: &[&str] = &[
    "artifacts.taskrun.format",
    "artifacts.taskrun.storage",
    "artifacts.taskrun.signer",
    "artifacts.pipelinerun.format",
    "artifacts.pipelinerun.storage",
    "artifacts.pipelinerun.signer",
    "artifacts.pipelinerun.enable-deep-inspection",
    "artifacts.oci.format",
    "artifacts.oci.storage",
    "artifacts.oci.signer",
    "storage.gcs.bucket",
    "storage.oci.repository",
    "storage.oci.repository.insecure",
    "storage.oci.encoding-format",
    "storage.docdb.url",
    "storage.docdb.mongo-server-url",
    "storage.docdb.mongo-server-url-dir",
    "storage.docdb.mongo-server-url-path",
    "storage.archivista.url",
    "storage.grafeas.projectid",
    "storage.grafeas.noteid",
    "storage.grafeas.notehint",
    "storage.pubsub.provider",
    "storage.pubsub.topic",
    "storage.pubsub.kafka.bootstrap.servers",
    "signers.kms.kmsref",
    "signers.kms.auth.address",
    "signers.kms.auth.token",
    "signers.kms.auth.token-path",
    "signers.kms.auth.oidc.path",
    "signers.kms.auth.oidc.role",
    "signers.kms.auth.oidc.token-path",
    "signers.kms.auth.spire.sock",
    "signers.kms.auth.spire.audience",
    "signers.x509.fulcio.enabled",
    "signers.x509.fulcio.address",
    "signers.x509.fulcio.issuer",
    "signers.x509.fulcio.provider",
    "signers.x509.identity.token.file",
    "signers.x509.tuf.mirror.url",
    "builder.id",
    "builddefinition.buildtype",
    "transparency.enabled",
    "transparency.url",
    "transparency.signing-config",
    "filter.managed-by",
];

impl Default for Config {
    /// Chains' defaults (its `defaultConfig`).
    fn default() -> Self {
        let one = |b| BTreeSet::from([b]);
        Config {
            taskrun: ArtifactConfig {
                format: Some(Format::SlsaV1),
                storage: one(StorageBackend::Tekton),
                signer: SignerKind::X509,
                deep_inspection: false,
            },
            pipelinerun: ArtifactConfig {
                format: Some(Format::SlsaV1),
                storage: one(StorageBackend::Tekton),
                signer: SignerKind::X509,
                deep_inspection: false,
            },
            oci: ArtifactConfig {
                format: None,
                storage: one(StorageBackend::Oci),
                signer: SignerKind::X509,
                deep_inspection: false,
            },
            oci_storage: OciStorage {
                repository: None,
                insecure: false,
                encoding: OciEncoding::Dsse,
            },
            other_storage: OtherStorage {
                grafeas_note_hint: "This attestation note was generated by Tekton Chains".into(),
                ..OtherStorage::default()
            },
            x509: X509Signer {
                fulcio_enabled: false,
                fulcio_address: "https://fulcio.sigstore.dev".into(),
                fulcio_issuer: "https://oauth2.sigstore.dev/auth".into(),
                fulcio_provider: None,
                identity_token_file: None,
                tuf_mirror_url: "https://tuf-repo-cdn.sigstore.dev".into(),
            },
            kms: KmsSigner::default(),
            transparency: Transparency {
                enabled: false,
                manual: false,
                url: "https://rekor.sigstore.dev".into(),
                signing_config: None,
            },
            builder_id: "https://tekton.dev/chains/v2".into(),
            build_type: BUILD_TYPES[0].into(),
            managed_by: Vec::new(),
        }
    }
}

/// Go's `strconv.ParseBool`.
fn parse_go_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

struct Parser<'a> {
    data: &'a BTreeMap<String, String>,
    warnings: Vec<Warning>,
}

impl Parser<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.data.get(key).map(String::as_str)
    }

    fn string(&self, key: &str) -> Option<String> {
        self.get(key).map(str::to_owned)
    }

    fn string_into(&self, key: &str, target: &mut String) {
        if let Some(v) = self.get(key) {
            v.clone_into(target);
        }
    }

    fn one_of(&self, key: &'static str, allowed: &[&str]) -> Result<Option<&str>, ConfigError> {
        match self.get(key) {
            None => Ok(None),
            Some(v) if allowed.contains(&v) => Ok(Some(v)),
            Some(v) => Err(ConfigError::InvalidValue {
                key,
                value: v.to_owned(),
                allowed: allowed.join(", "),
            }),
        }
    }

    fn bool_into(&mut self, key: &'static str, target: &mut bool) {
        if let Some(v) = self.get(key) {
            match parse_go_bool(v) {
                Some(b) => *target = b,
                None => self.warnings.push(Warning::NotABool {
                    key,
                    value: v.to_owned(),
                }),
            }
        }
    }

    fn artifact(
        &mut self,
        prefix: &'static str,
        formats: &[&str],
        storages: &[StorageBackend],
        cfg: &mut ArtifactConfig,
    ) -> Result<(), ConfigError> {
        let (format_key, storage_key, signer_key) = match prefix {
            "taskrun" => (
                "artifacts.taskrun.format",
                "artifacts.taskrun.storage",
                "artifacts.taskrun.signer",
            ),
            "pipelinerun" => (
                "artifacts.pipelinerun.format",
                "artifacts.pipelinerun.storage",
                "artifacts.pipelinerun.signer",
            ),
            _ => (
                "artifacts.oci.format",
                "artifacts.oci.storage",
                "artifacts.oci.signer",
            ),
        };
        if let Some(f) = self.one_of(format_key, formats)? {
            // "simplesigning" (OCI) carries no provenance format.
            cfg.format = Format::from_str(f).ok();
        }
        if let Some(raw) = self.get(storage_key) {
            cfg.storage = parse_storage(storage_key, raw, storages)?;
        }
        if let Some(s) = self.one_of(signer_key, &["x509", "kms", "none"])? {
            cfg.signer = match s {
                "x509" => SignerKind::X509,
                "kms" => SignerKind::Kms,
                _ => SignerKind::None,
            };
        }
        Ok(())
    }
}

fn parse_storage(
    key: &'static str,
    raw: &str,
    allowed: &[StorageBackend],
) -> Result<BTreeSet<StorageBackend>, ConfigError> {
    if raw.is_empty() {
        return Ok(BTreeSet::new());
    }
    raw.split(',')
        .map(str::trim)
        .map(|name| {
            allowed
                .iter()
                .copied()
                .find(|b| b.name() == name)
                .ok_or_else(|| ConfigError::InvalidValue {
                    key,
                    value: name.to_owned(),
                    allowed: allowed
                        .iter()
                        .map(|b| b.name())
                        .collect::<Vec<_>>()
                        .join(", "),
                })
        })
        .collect()
}

impl Config {
    /// Parse Chains' flat key/value map. Returns the typed configuration and the
    /// warnings for what Chains would have silently ignored.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidValue`] when a key holds a value Chains rejects.
    pub fn from_map(
        data: &BTreeMap<String, String>,
    ) -> Result<(Config, Vec<Warning>), ConfigError> {
        use StorageBackend as S;
        let mut cfg = Config::default();
        let mut p = Parser {
            data,
            warnings: Vec::new(),
        };
        let all = [
            S::Tekton,
            S::Oci,
            S::Gcs,
            S::Docdb,
            S::Grafeas,
            S::Kafka,
            S::Archivista,
        ];
        let no_kafka = [
            S::Tekton,
            S::Oci,
            S::Gcs,
            S::Docdb,
            S::Grafeas,
            S::Archivista,
        ];
        p.artifact("taskrun", &FORMATS, &all, &mut cfg.taskrun)?;
        p.artifact("pipelinerun", &FORMATS, &no_kafka, &mut cfg.pipelinerun)?;
        p.bool_into(
            "artifacts.pipelinerun.enable-deep-inspection",
            &mut cfg.pipelinerun.deep_inspection,
        );
        p.artifact("oci", &["simplesigning"], &all, &mut cfg.oci)?;

        cfg.oci_storage.repository = p.string("storage.oci.repository").filter(|s| !s.is_empty());
        p.bool_into(
            "storage.oci.repository.insecure",
            &mut cfg.oci_storage.insecure,
        );
        if let Some(e) = p.one_of("storage.oci.encoding-format", &["dsse", "sigstore-bundle"])? {
            cfg.oci_storage.encoding = if e == "dsse" {
                OciEncoding::Dsse
            } else {
                OciEncoding::SigstoreBundle
            };
        }

        let o = &mut cfg.other_storage;
        o.gcs_bucket = p.string("storage.gcs.bucket");
        o.docdb_url = p.string("storage.docdb.url");
        o.docdb_mongo_server_url = p.string("storage.docdb.mongo-server-url");
        o.docdb_mongo_server_url_dir = p.string("storage.docdb.mongo-server-url-dir");
        o.docdb_mongo_server_url_path = p.string("storage.docdb.mongo-server-url-path");
        o.archivista_url = p.string("storage.archivista.url");
        o.grafeas_project_id = p.string("storage.grafeas.projectid");
        o.grafeas_note_id = p.string("storage.grafeas.noteid");
        p.string_into("storage.grafeas.notehint", &mut o.grafeas_note_hint);
        o.pubsub_provider = p
            .one_of("storage.pubsub.provider", &["inmemory", "kafka"])?
            .map(str::to_owned);
        o.pubsub_topic = p.string("storage.pubsub.topic");
        o.kafka_bootstrap_servers = p.string("storage.pubsub.kafka.bootstrap.servers");

        // transparency.enabled: "true" or "manual" enable uploads; "manual" also
        // restricts them to annotated runs. Other values leave it disabled, as in Chains.
        if let Some(v) = p.get("transparency.enabled") {
            cfg.transparency.enabled = v == "true" || v == "manual";
            cfg.transparency.manual = v == "manual";
        }
        p.string_into("transparency.url", &mut cfg.transparency.url);
        cfg.transparency.signing_config = p
            .string("transparency.signing-config")
            .filter(|s| !s.is_empty());

        let k = &mut cfg.kms;
        k.kms_ref = p.string("signers.kms.kmsref");
        k.auth_address = p.string("signers.kms.auth.address");
        k.auth_token = p.string("signers.kms.auth.token");
        k.auth_token_path = p.string("signers.kms.auth.token-path");
        k.auth_oidc_path = p.string("signers.kms.auth.oidc.path");
        k.auth_oidc_role = p.string("signers.kms.auth.oidc.role");
        k.auth_oidc_token_path = p.string("signers.kms.auth.oidc.token-path");
        k.auth_spire_sock = p.string("signers.kms.auth.spire.sock");
        k.auth_spire_audience = p.string("signers.kms.auth.spire.audience");

        p.bool_into("signers.x509.fulcio.enabled", &mut cfg.x509.fulcio_enabled);
        p.string_into("signers.x509.fulcio.address", &mut cfg.x509.fulcio_address);
        p.string_into("signers.x509.fulcio.issuer", &mut cfg.x509.fulcio_issuer);
        cfg.x509.fulcio_provider = p.string("signers.x509.fulcio.provider");
        cfg.x509.identity_token_file = p.string("signers.x509.identity.token.file");
        p.string_into("signers.x509.tuf.mirror.url", &mut cfg.x509.tuf_mirror_url);

        p.string_into("builder.id", &mut cfg.builder_id);
        if let Some(b) = p.one_of("builddefinition.buildtype", &BUILD_TYPES)? {
            b.clone_into(&mut cfg.build_type);
        }
        if let Some(m) = p.get("filter.managed-by") {
            cfg.managed_by = m
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect();
        }

        let mut warnings = p.warnings;
        warnings.extend(
            data.keys()
                .filter(|k| !KNOWN_KEYS.contains(&k.as_str()))
                .map(|k| Warning::UnknownKey(k.clone())),
        );
        Ok((cfg, warnings))
    }

    /// Parse a configuration document: a ConfigMap manifest (its `data:` is read) or a
    /// flat YAML/JSON map of Chains' keys. Scalar values that YAML types as booleans or
    /// numbers (`transparency.enabled: true`) are taken as their text, as Kubernetes
    /// would require them quoted.
    ///
    /// # Errors
    ///
    /// [`ConfigError::Syntax`] for invalid YAML/JSON, [`ConfigError::Document`] for a
    /// document of another shape, and the errors of [`Config::from_map`].
    pub fn from_document(bytes: &[u8]) -> Result<(Config, Vec<Warning>), ConfigError> {
        Config::from_map(&document_map(bytes)?)
    }
}

/// The flat key map of a configuration document: a ConfigMap manifest's `data:` or a flat
/// YAML/JSON map (what [`Config::from_document`] parses).
///
/// # Errors
///
/// [`ConfigError::Syntax`] for invalid YAML/JSON, [`ConfigError::Document`] for a
/// document of another shape.
pub fn document_map(bytes: &[u8]) -> Result<BTreeMap<String, String>, ConfigError> {
    {
        let doc: serde_yaml_ng::Value =
            serde_yaml_ng::from_slice(bytes).map_err(ConfigError::Syntax)?;
        let map = match &doc {
            serde_yaml_ng::Value::Mapping(m) => m,
            serde_yaml_ng::Value::Null => return Ok(BTreeMap::new()),
            _ => return Err(ConfigError::Document("expected a mapping".into())),
        };
        let is_configmap = map
            .get("kind")
            .and_then(serde_yaml_ng::Value::as_str)
            .is_some_and(|k| k == "ConfigMap");
        let data = if is_configmap {
            match map.get("data") {
                None | Some(serde_yaml_ng::Value::Null) => {
                    return Ok(BTreeMap::new());
                }
                Some(serde_yaml_ng::Value::Mapping(d)) => d,
                Some(_) => return Err(ConfigError::Document("data: expected a mapping".into())),
            }
        } else {
            map
        };
        let mut flat = BTreeMap::new();
        for (k, v) in data {
            let key = k
                .as_str()
                .ok_or_else(|| ConfigError::Document("keys must be strings".into()))?;
            let value = match v {
                serde_yaml_ng::Value::String(s) => s.clone(),
                serde_yaml_ng::Value::Bool(b) => b.to_string(),
                serde_yaml_ng::Value::Number(n) => n.to_string(),
                serde_yaml_ng::Value::Null => String::new(),
                _ => {
                    return Err(ConfigError::Document(format!(
                        "{key}: expected a string value"
                    )));
                }
            };
            flat.insert(key.to_owned(), value);
        }
        Ok(flat)
    }
}

impl Config {
    /// The formatter options this configuration implies for an artifact kind.
    #[must_use]
    pub fn format_options(&self, pipelinerun: bool) -> FormatOptions {
        FormatOptions {
            builder_id: self.builder_id.clone(),
            build_type: self.build_type.clone(),
            deep_inspection: pipelinerun && self.pipelinerun.deep_inspection,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn defaults_match_chains() {
        let (cfg, warnings) = Config::from_map(&BTreeMap::new()).unwrap_or_else(|e| panic!("{e}"));
        assert!(warnings.is_empty());
        assert_eq!(cfg.taskrun.format, Some(Format::SlsaV1));
        assert_eq!(cfg.oci.format, None);
        assert!(cfg.taskrun.storage.contains(&StorageBackend::Tekton));
        assert!(cfg.oci.storage.contains(&StorageBackend::Oci));
        assert_eq!(cfg.builder_id, "https://tekton.dev/chains/v2");
        assert_eq!(cfg.build_type, "https://tekton.dev/chains/v2/slsa");
        assert!(!cfg.transparency.enabled);
        assert!(cfg.taskrun.enabled());
    }

    #[test]
    fn parses_every_kind_of_key() {
        let (cfg, warnings) = Config::from_map(&map(&[
            ("artifacts.taskrun.format", "slsa/v2alpha4"),
            ("artifacts.taskrun.storage", "oci, tekton"),
            ("artifacts.pipelinerun.signer", "kms"),
            ("artifacts.pipelinerun.enable-deep-inspection", "true"),
            ("artifacts.oci.storage", ""),
            ("transparency.enabled", "manual"),
            ("storage.oci.encoding-format", "sigstore-bundle"),
            (
                "builddefinition.buildtype",
                "https://tekton.dev/chains/v2/slsa-tekton",
            ),
            ("signers.kms.auth.token", "s3cret"),
            ("filter.managed-by", "a, b,"),
        ]))
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(cfg.taskrun.format, Some(Format::SlsaV2Alpha4));
        assert_eq!(
            cfg.taskrun.storage,
            BTreeSet::from([StorageBackend::Oci, StorageBackend::Tekton])
        );
        assert_eq!(cfg.pipelinerun.signer, SignerKind::Kms);
        assert!(cfg.pipelinerun.deep_inspection);
        assert!(cfg.format_options(true).deep_inspection);
        assert!(!cfg.format_options(false).deep_inspection);
        assert!(!cfg.oci.enabled());
        assert!(cfg.transparency.enabled && cfg.transparency.manual);
        assert_eq!(cfg.oci_storage.encoding, OciEncoding::SigstoreBundle);
        assert_eq!(cfg.managed_by, vec!["a", "b"]);
        assert!(
            !format!("{cfg:?}").contains("s3cret"),
            "secret leaked in Debug"
        );
    }

    #[test]
    fn rejects_invalid_values_naming_the_key() {
        for (k, v) in [
            ("artifacts.taskrun.format", "slsa/v2alpha2"),
            ("artifacts.pipelinerun.storage", "kafka"),
            ("artifacts.oci.signer", "pgp"),
            ("builddefinition.buildtype", "https://example.com"),
        ] {
            let err = Config::from_map(&map(&[(k, v)])).err();
            let msg = err.map(|e| e.to_string()).unwrap_or_default();
            assert!(msg.starts_with(k), "{k}={v}: {msg}");
        }
    }

    #[test]
    fn warns_about_what_chains_ignores() {
        let (cfg, warnings) = Config::from_map(&map(&[
            ("artifacts.taskrun.formatt", "x"),
            ("signers.x509.fulcio.enabled", "yes"),
        ]))
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(!cfg.x509.fulcio_enabled);
        assert_eq!(warnings.len(), 2, "{warnings:?}");
    }

    #[test]
    fn reads_a_configmap_or_a_flat_map() {
        let cm = b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: chains-config}\ndata:\n  artifacts.taskrun.format: slsa/v2alpha3\n  transparency.enabled: true\n";
        let (cfg, _) = Config::from_document(cm).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(cfg.taskrun.format, Some(Format::SlsaV2Alpha3));
        assert!(cfg.transparency.enabled);
        let flat = br#"{"builder.id": "https://example.com/builder"}"#;
        let (cfg, _) = Config::from_document(flat).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(cfg.builder_id, "https://example.com/builder");
        assert!(Config::from_document(b"- a\n- b\n").is_err());
    }

    #[test]
    fn shipped_default_config_is_the_default() {
        let path = crate::test_support::repo_dir().join("config/chains-config.yaml");
        let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{e}"));
        let (cfg, warnings) = Config::from_document(&bytes).unwrap_or_else(|e| panic!("{e}"));
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(cfg, Config::default());
    }

    #[test]
    fn every_key_is_documented() {
        let doc = std::fs::read_to_string(crate::test_support::repo_dir().join("docs/config.md"))
            .unwrap_or_else(|e| panic!("{e}"));
        for key in KNOWN_KEYS {
            assert!(
                doc.contains(&format!("`{key}`")),
                "docs/config.md lacks {key}"
            );
        }
    }

    #[test]
    fn chains_release_configmap_parses() {
        let dir = crate::test_support::shared_dir().join("chains/config");
        for name in ["chains-config-map-gcp-slsa2.yaml", "100-deployment.yaml"] {
            let text = std::fs::read_to_string(dir.join(name)).unwrap_or_else(|e| panic!("{e}"));
            let doc = text
                .split("\n---")
                .find(|d| d.contains("kind: ConfigMap") && d.contains("chains-config"))
                .unwrap_or_else(|| panic!("no chains-config in {name}"));
            let (cfg, warnings) =
                Config::from_document(doc.as_bytes()).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(warnings.is_empty(), "{name}: {warnings:?}");
            assert!(cfg.taskrun.format.is_some());
        }
    }
}
