//! Rekor v1 uploads (`POST /api/v1/log/entries`), each returned entry verified before use.
//!
//! The proposed entries are built by pure functions, field for field what cosign and
//! rekor-cli send (sigstore/rekor v1.5.4 `pkg/types/*/CreateFromArtifactProperties`,
//! serialized by go-openapi in the order `apiVersion`, `spec`, `kind`):
//!
//! - [`dsse_v001_request`]: `dsse` 0.0.1, the default for attestations. The envelope is
//!   sent as a JSON *string* holding the exact envelope bytes (Rekor hashes them as given),
//!   the verifiers are base64 of the PEM public key or certificate; `"signatures":null`
//!   as Go's models write it.
//! - [`intoto_v002_request`]: `intoto` 0.0.2. `payload` and each `sig` are base64 of the
//!   envelope's base64 strings (base64 twice), `publicKey` is base64 of the PEM.
//! - [`hashedrekord_v001_request`]: `hashedrekord` 0.0.1 for simplesigning signatures and
//!   blobs: the SHA-256 as hex, the signature and the PEM, base64.
//!
//! Go's encoder escapes `<`, `>` and `&` in strings as `\u003c`...; hallmark's requests
//! do not, which Rekor decodes to the same values (the log stores its own canonical body).
//!
//! [`RekorClient::create_entry`] posts a proposed entry; a `409 Conflict` means the log
//! already holds an equivalent entry, which is then read back by the UUID in the answer's
//! `Location`. [`upload_dsse`] and [`upload_hashedrekord`] add the check DESIGN.md requires:
//! the entry's body must record this envelope (or signature), its key or certificate, its
//! signed entry timestamp must verify with the log key of the trusted root, and its
//! inclusion proof must lead to a checkpoint signed by that log. An entry that fails is an
//! error, never returned.
//!
//! [`legacy_bundle_annotation`] writes cosign's `dev.sigstore.cosign/bundle` annotation
//! (`bundle.RekorBundle`) from an entry; `crate::oci::cosign::rekor_bundle_entry` reads it.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::Serialize;
use sha2::{Digest as _, Sha256};

use super::{RekorClient, RekorError, TransparencyLog as _, parse_entries, status_error};
use crate::bundle::{
    Bundle, HashAlgorithm, HashOutput, MEDIA_TYPE_V0_3, MessageSignature, PublicKeyIdentifier,
    Rfc3161SignedTimestamp, TimestampVerificationData, TransparencyLogEntry, VerificationMaterial,
    X509Certificate,
};
use crate::dsse::Envelope;
use crate::signing::PublicKey;
use crate::transparency::{self, TlogOptions, TransparencyError, VerifiedEntry};
use crate::trust::TrustedRoot;

/// Errors uploading to a transparency log or checking what it returned.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UploadError {
    /// Talking to the log failed or its answer is malformed.
    #[error(transparent)]
    Rekor(#[from] RekorError),
    /// The log returned an entry that does not verify against the trusted root or does
    /// not record what was uploaded.
    #[error("transparency log {log}: the returned entry does not verify")]
    Unverified {
        /// The log's base URL.
        log: String,
        /// The failed check.
        #[source]
        source: TransparencyError,
    },
    /// What was to be uploaded cannot be (not UTF-8, unsupported key, bad certificate).
    #[error("cannot upload: {0}")]
    Input(String),
    /// Rekor v2 already holds this entry (HTTP 409) and it cannot be read back (the answer
    /// names no index, or the log is not in the trusted root).
    #[error("transparency log {log} already holds this entry{}", index.map(|i| format!(" at index {i}")).unwrap_or_default())]
    AlreadyLogged {
        /// The log's base URL.
        log: String,
        /// The existing entry's index, when the log names it.
        index: Option<i64>,
    },
}

impl UploadError {
    /// Whether retrying later may succeed (network errors, 5xx, 429).
    #[must_use]
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Rekor(e) => e.is_transient(),
            Self::Unverified { .. } | Self::Input(_) | Self::AlreadyLogged { .. } => false,
        }
    }
}

/// The signer as a log records it: a public key, or a certificate (keyless).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignerMaterial {
    /// A public key (managed keys, KMS).
    Key(PublicKey),
    /// A leaf certificate (DER) and its public key.
    Certificate {
        /// The certificate, DER.
        der: Vec<u8>,
        /// Its subject public key.
        key: PublicKey,
    },
}

impl SignerMaterial {
    /// A certificate signer from DER.
    ///
    /// # Errors
    ///
    /// [`UploadError::Input`] when the certificate or its key does not parse.
    pub fn certificate(der: &[u8]) -> Result<Self, UploadError> {
        let cert = crate::x509::Certificate::from_der(der)
            .map_err(|e| UploadError::Input(format!("certificate: {e}")))?;
        let spki = cert
            .spki_der()
            .map_err(|e| UploadError::Input(format!("certificate key: {e}")))?;
        let key = PublicKey::from_spki_der(&spki)
            .map_err(|e| UploadError::Input(format!("certificate key: {e}")))?;
        Ok(Self::Certificate {
            der: der.to_vec(),
            key,
        })
    }

    /// The key that verifies the signatures.
    #[must_use]
    pub fn public_key(&self) -> &PublicKey {
        match self {
            Self::Key(k) | Self::Certificate { key: k, .. } => k,
        }
    }

    /// The PEM Rekor v1 records (Go's 64-column layout, LF): `PUBLIC KEY` or `CERTIFICATE`.
    #[must_use]
    pub fn pem(&self) -> String {
        match self {
            Self::Key(k) => k.to_pem(),
            Self::Certificate { der, .. } => {
                pem_rfc7468::encode_string("CERTIFICATE", pem_rfc7468::LineEnding::LF, der)
                    .unwrap_or_default()
            }
        }
    }

    /// The key for comparing with an entry body (`None` for certificates, whose DER is
    /// compared instead).
    fn managed_key(&self) -> Option<&PublicKey> {
        match self {
            Self::Key(k) => Some(k),
            Self::Certificate { .. } => None,
        }
    }

    fn material(&self) -> VerificationMaterial {
        match self {
            Self::Key(k) => VerificationMaterial {
                public_key: Some(PublicKeyIdentifier {
                    hint: k.sigstore_hint(),
                }),
                ..VerificationMaterial::default()
            },
            Self::Certificate { der, .. } => VerificationMaterial {
                certificate: Some(X509Certificate {
                    raw_bytes: der.clone(),
                }),
                ..VerificationMaterial::default()
            },
        }
    }
}

/// go-openapi's polymorphic `ProposedEntry`: `apiVersion`, `spec`, `kind`, in that order.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Proposed<S: Serialize> {
    api_version: &'static str,
    spec: S,
    kind: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DsseSpec<'a> {
    proposed_content: DsseProposed<'a>,
    /// Read-only in the schema, `null` in what Go's models send.
    signatures: Option<()>,
}

#[derive(Serialize)]
struct DsseProposed<'a> {
    envelope: &'a str,
    verifiers: Vec<String>,
}

#[derive(Serialize)]
struct IntotoSpec {
    content: IntotoContent,
}

#[derive(Serialize)]
struct IntotoContent {
    envelope: IntotoEnvelope,
    hash: HrHash,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct IntotoEnvelope {
    payload: String,
    payload_type: String,
    signatures: Vec<IntotoSignature>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct IntotoSignature {
    #[serde(skip_serializing_if = "String::is_empty")]
    keyid: String,
    public_key: String,
    sig: String,
}

#[derive(Serialize)]
struct HashedRekordSpec {
    data: HrData,
    signature: HrSignature,
}

#[derive(Serialize)]
struct HrData {
    hash: HrHash,
}

#[derive(Serialize)]
struct HrHash {
    algorithm: &'static str,
    value: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct HrSignature {
    content: String,
    public_key: HrKey,
}

#[derive(Serialize)]
struct HrKey {
    content: String,
}

fn to_json<T: Serialize>(v: &T) -> Result<Vec<u8>, UploadError> {
    serde_json::to_vec(v).map_err(|e| UploadError::Input(format!("cannot serialize: {e}")))
}

/// The `dsse` 0.0.1 proposed entry for `envelope_json` (the exact envelope bytes that are
/// stored and published), with one verifier per signature (PEM public key or certificate).
///
/// # Errors
///
/// [`UploadError::Input`] when the envelope bytes are not UTF-8 or no verifier is given.
pub fn dsse_v001_request(envelope_json: &[u8], verifiers: &[&str]) -> Result<Vec<u8>, UploadError> {
    let envelope = std::str::from_utf8(envelope_json)
        .map_err(|_| UploadError::Input("the DSSE envelope is not UTF-8 JSON".into()))?;
    if verifiers.is_empty() {
        return Err(UploadError::Input("a dsse entry needs a verifier".into()));
    }
    to_json(&Proposed {
        api_version: "0.0.1",
        spec: DsseSpec {
            proposed_content: DsseProposed {
                envelope,
                verifiers: verifiers.iter().map(|p| STANDARD.encode(p)).collect(),
            },
            signatures: None,
        },
        kind: "dsse",
    })
}

/// The `intoto` 0.0.2 proposed entry for `envelope_json` (the exact envelope bytes),
/// every signature attributed to the verifier `pem` (PEM public key or certificate), with
/// `content.hash` = SHA-256 of those bytes (Rekor computes `payloadHash` itself).
///
/// # Errors
///
/// [`UploadError::Input`] when the bytes are not a DSSE envelope or it has no signature.
pub fn intoto_v002_request(envelope_json: &[u8], pem: &str) -> Result<Vec<u8>, UploadError> {
    let envelope = Envelope::from_json(envelope_json)
        .map_err(|e| UploadError::Input(format!("DSSE envelope: {e}")))?;
    if envelope.signatures.is_empty() {
        return Err(UploadError::Input(
            "the DSSE envelope has no signature".into(),
        ));
    }
    let twice = |b: &[u8]| STANDARD.encode(STANDARD.encode(b));
    to_json(&Proposed {
        api_version: "0.0.2",
        spec: IntotoSpec {
            content: IntotoContent {
                envelope: IntotoEnvelope {
                    payload: twice(&envelope.payload),
                    payload_type: envelope.payload_type.clone(),
                    signatures: envelope
                        .signatures
                        .iter()
                        .map(|s| IntotoSignature {
                            keyid: s.keyid.clone(),
                            public_key: STANDARD.encode(pem),
                            sig: twice(&s.sig),
                        })
                        .collect(),
                },
                hash: HrHash {
                    algorithm: "sha256",
                    value: hex::encode(Sha256::digest(envelope_json)),
                },
            },
        },
        kind: "intoto",
    })
}

/// The `hashedrekord` 0.0.1 proposed entry: `signature` over the artifact whose SHA-256 is
/// `sha256`, verified by `pem` (PEM public key or certificate).
///
/// # Errors
///
/// [`UploadError::Input`] when serialization fails (it does not for these types).
pub fn hashedrekord_v001_request(
    sha256: &[u8; 32],
    signature: &[u8],
    pem: &str,
) -> Result<Vec<u8>, UploadError> {
    to_json(&Proposed {
        api_version: "0.0.1",
        spec: HashedRekordSpec {
            data: HrData {
                hash: HrHash {
                    algorithm: "sha256",
                    value: hex::encode(sha256),
                },
            },
            signature: HrSignature {
                content: STANDARD.encode(signature),
                public_key: HrKey {
                    content: STANDARD.encode(pem),
                },
            },
        },
        kind: "hashedrekord",
    })
}

#[derive(Serialize)]
struct RekorBundle {
    #[serde(rename = "SignedEntryTimestamp")]
    signed_entry_timestamp: String,
    #[serde(rename = "Payload")]
    payload: RekorPayload,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RekorPayload {
    body: String,
    integrated_time: i64,
    log_index: i64,
    #[serde(rename = "logID")]
    log_id: String,
}

/// cosign's `dev.sigstore.cosign/bundle` annotation for a Rekor v1 entry
/// (`bundle.RekorBundle`): `{"SignedEntryTimestamp":b64,"Payload":{"body":b64,
/// "integratedTime":n,"logIndex":n,"logID":"hex"}}`, the global log index.
///
/// # Errors
///
/// [`UploadError::Input`] for an entry without a signed entry timestamp (Rekor v2 entries
/// cannot be written in this format).
pub fn legacy_bundle_annotation(entry: &TransparencyLogEntry) -> Result<String, UploadError> {
    let set = entry.inclusion_promise.as_ref().ok_or_else(|| {
        UploadError::Input(
            "the entry has no signed entry timestamp (cosign's bundle annotation needs one)".into(),
        )
    })?;
    let v = RekorBundle {
        signed_entry_timestamp: STANDARD.encode(&set.signed_entry_timestamp),
        payload: RekorPayload {
            body: STANDARD.encode(&entry.canonicalized_body),
            integrated_time: entry.integrated_time,
            log_index: entry.log_index,
            log_id: hex::encode(&entry.log_id.key_id),
        },
    };
    serde_json::to_string(&v).map_err(|e| UploadError::Input(format!("cannot serialize: {e}")))
}

/// A Sigstore bundle v0.3 of a DSSE envelope: the signer's key hint or certificate, the
/// log entries and RFC 3161 timestamps (DER `TimeStampResp` bytes).
#[must_use]
pub fn dsse_bundle(
    envelope: &Envelope,
    signer: &SignerMaterial,
    entries: Vec<TransparencyLogEntry>,
    timestamps: Vec<Vec<u8>>,
) -> Bundle {
    let mut vm = signer.material();
    vm.tlog_entries = entries;
    vm.timestamp_verification_data = timestamp_data(timestamps);
    Bundle {
        media_type: MEDIA_TYPE_V0_3.to_owned(),
        verification_material: Some(vm),
        message_signature: None,
        dsse_envelope: Some(envelope.clone()),
    }
}

/// A Sigstore bundle v0.3 of a signature over an artifact's SHA-256 (`cosign sign-blob`).
#[must_use]
pub fn message_bundle(
    sha256: &[u8; 32],
    signature: &[u8],
    signer: &SignerMaterial,
    entries: Vec<TransparencyLogEntry>,
    timestamps: Vec<Vec<u8>>,
) -> Bundle {
    let mut vm = signer.material();
    vm.tlog_entries = entries;
    vm.timestamp_verification_data = timestamp_data(timestamps);
    Bundle {
        media_type: MEDIA_TYPE_V0_3.to_owned(),
        verification_material: Some(vm),
        message_signature: Some(MessageSignature {
            message_digest: Some(HashOutput {
                algorithm: HashAlgorithm::Sha2_256,
                digest: sha256.to_vec(),
            }),
            signature: signature.to_vec(),
        }),
        dsse_envelope: None,
    }
}

fn timestamp_data(timestamps: Vec<Vec<u8>>) -> Option<TimestampVerificationData> {
    (!timestamps.is_empty()).then(|| TimestampVerificationData {
        rfc3161_timestamps: timestamps
            .into_iter()
            .map(|signed_timestamp| Rfc3161SignedTimestamp { signed_timestamp })
            .collect(),
    })
}

/// Check a log entry before it is used: it verifies against `trust` (SET when present,
/// and an inclusion proof to a checkpoint signed by the log — required), and its body
/// records the content of `bundle` (payload hash or PAE digest, signature, signer).
/// `signed_time` is the verified TSA time for entries without an integrated time.
///
/// # Errors
///
/// [`UploadError::Unverified`] naming the failed check.
pub fn check_entry(
    entry: &TransparencyLogEntry,
    bundle: &Bundle,
    signer: &SignerMaterial,
    trust: &TrustedRoot,
    signed_time: Option<jiff::Timestamp>,
) -> Result<VerifiedEntry, UploadError> {
    let log = trust
        .tlog(&entry.log_id.key_id)
        .map_or_else(|| hex::encode(&entry.log_id.key_id), |l| l.base_url.clone());
    let unverified = |source| UploadError::Unverified {
        log: log.clone(),
        source,
    };
    let opts = TlogOptions {
        now: None,
        signed_time,
        require_inclusion_proof: true,
    };
    let v = transparency::verify_tlog_entry(entry, trust, &opts).map_err(unverified)?;
    v.body
        .check_bundle(bundle, signer.managed_key())
        .map_err(unverified)?;
    Ok(v)
}

/// How a DSSE envelope is recorded in Rekor v1.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum DsseEntryKind {
    /// `dsse` 0.0.1 (cosign's default).
    #[default]
    Dsse,
    /// `intoto` 0.0.2.
    Intoto,
}

/// A verified Rekor v1 entry.
#[derive(Clone, Debug)]
pub struct UploadedEntry {
    /// The entry's UUID (entry id) in the log.
    pub uuid: String,
    /// The entry, with its signed entry timestamp and inclusion proof.
    pub entry: TransparencyLogEntry,
    /// Whether the log already held it (HTTP 409).
    pub already_logged: bool,
}

impl RekorClient {
    /// Post a proposed entry. A `201 Created` gives the new entry; a `409 Conflict` gives
    /// the existing equivalent entry, read back by the UUID of the answer's `Location`.
    /// Nothing is verified here (see [`upload_dsse`]).
    ///
    /// # Errors
    ///
    /// [`RekorError`] for transport errors, other statuses and malformed answers.
    pub async fn create_entry(&self, proposed: &[u8]) -> Result<UploadedEntry, RekorError> {
        let url = format!("{}/api/v1/log/entries", self.base);
        let response = self
            .http
            .post(&url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(reqwest::header::ACCEPT, "application/json")
            .body(proposed.to_vec())
            .send()
            .await
            .map_err(|source| RekorError::Request {
                url: url.clone(),
                source,
            })?;
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = self.read(&url, response).await?;
        match status {
            201 => {
                let mut entries = parse_entries(&body)?;
                let (uuid, entry) = match (entries.pop(), entries.is_empty()) {
                    (Some(e), true) => e,
                    _ => {
                        return Err(RekorError::Malformed {
                            what: url,
                            reason: "the answer does not hold exactly one entry".into(),
                        });
                    }
                };
                Ok(UploadedEntry {
                    uuid,
                    entry,
                    already_logged: false,
                })
            }
            409 => {
                let uuid = conflict_uuid(location.as_deref(), &body).ok_or_else(|| {
                    RekorError::Malformed {
                        what: url.clone(),
                        reason: "409 Conflict without the existing entry's UUID".into(),
                    }
                })?;
                let entry = self
                    .entry(&uuid)
                    .await?
                    .ok_or_else(|| RekorError::Malformed {
                        what: url,
                        reason: format!(
                            "409 Conflict names entry {uuid}, which the log does not have"
                        ),
                    })?;
                Ok(UploadedEntry {
                    uuid,
                    entry,
                    already_logged: true,
                })
            }
            _ => Err(status_error(&url, status, &body)),
        }
    }
}

/// The existing entry's UUID from a 409 answer: the last path segment of `Location`
/// (`/api/v1/log/entries/<uuid>`), else the UUID in the message (`... with UUID <uuid>`).
#[must_use]
pub fn conflict_uuid(location: Option<&str>, body: &[u8]) -> Option<String> {
    let is_uuid =
        |s: &str| !s.is_empty() && s.len() <= 80 && s.bytes().all(|b| b.is_ascii_hexdigit());
    if let Some(seg) = location
        .and_then(|l| l.trim_end_matches('/').rsplit('/').next())
        .filter(|s| is_uuid(s))
    {
        return Some(seg.to_owned());
    }
    #[derive(serde::Deserialize)]
    struct Msg {
        #[serde(default)]
        message: String,
    }
    let m: Msg = serde_json::from_slice(body).ok()?;
    m.message
        .split(|c: char| !c.is_ascii_hexdigit())
        .filter(|w| w.len() >= 64)
        .find(|w| is_uuid(w))
        .map(str::to_owned)
}

/// Log a DSSE envelope in Rekor v1 and return the entry after checking it
/// ([`check_entry`]). `envelope_json` is the exact envelope bytes that are stored and
/// published (sign once: a retry sends the same bytes and gets the same entry back).
///
/// # Errors
///
/// [`UploadError::Input`] when the bytes are not an envelope or do not verify with the
/// signer's key; [`UploadError::Rekor`] for the log; [`UploadError::Unverified`] when the
/// returned entry does not verify.
pub async fn upload_dsse(
    client: &RekorClient,
    envelope_json: &[u8],
    signer: &SignerMaterial,
    kind: DsseEntryKind,
    trust: &TrustedRoot,
) -> Result<UploadedEntry, UploadError> {
    let envelope = Envelope::from_json(envelope_json)
        .map_err(|e| UploadError::Input(format!("DSSE envelope: {e}")))?;
    check_signatures(&envelope, signer.public_key())?;
    let pem = signer.pem();
    let proposed = match kind {
        DsseEntryKind::Dsse => dsse_v001_request(envelope_json, &[pem.as_str()])?,
        DsseEntryKind::Intoto => intoto_v002_request(envelope_json, &pem)?,
    };
    let uploaded = client.create_entry(&proposed).await?;
    let bundle = dsse_bundle(&envelope, signer, Vec::new(), Vec::new());
    check_entry(&uploaded.entry, &bundle, signer, trust, None)?;
    Ok(uploaded)
}

/// Log a signature over an artifact's SHA-256 (simplesigning payloads, blobs) in Rekor v1
/// as `hashedrekord` 0.0.1, and return the entry after checking it ([`check_entry`]).
///
/// # Errors
///
/// As [`upload_dsse`].
pub async fn upload_hashedrekord(
    client: &RekorClient,
    sha256: &[u8; 32],
    signature: &[u8],
    signer: &SignerMaterial,
    trust: &TrustedRoot,
) -> Result<UploadedEntry, UploadError> {
    signer
        .public_key()
        .verify_sha256_digest(sha256, signature)
        .map_err(|_| {
            UploadError::Input("the signature does not verify with the signer's key".into())
        })?;
    let proposed = hashedrekord_v001_request(sha256, signature, &signer.pem())?;
    let uploaded = client.create_entry(&proposed).await?;
    let bundle = message_bundle(sha256, signature, signer, Vec::new(), Vec::new());
    check_entry(&uploaded.entry, &bundle, signer, trust, None)?;
    Ok(uploaded)
}

/// Every signature of `envelope` must verify with `key` over the PAE (a log would refuse
/// it, or record a signature nobody can check).
pub(super) fn check_signatures(envelope: &Envelope, key: &PublicKey) -> Result<(), UploadError> {
    let pae = envelope.pae();
    if envelope.signatures.is_empty()
        || envelope
            .signatures
            .iter()
            .any(|s| key.verify(&pae, &s.sig).is_err())
    {
        return Err(UploadError::Input(
            "the DSSE envelope's signatures do not verify with the signer's key".into(),
        ));
    }
    Ok(())
}

/// A transparency log to write DSSE envelopes to: Rekor v1 (with the entry kind) or
/// Rekor v2. Built from a signing config's service ([`LogTarget::from_service`]) or from
/// an explicit URL.
#[non_exhaustive]
pub enum LogTarget {
    /// Rekor v1.
    V1 {
        /// The client.
        client: RekorClient,
        /// How envelopes are recorded (`dsse` 0.0.1 by default).
        kind: DsseEntryKind,
    },
    /// Rekor v2.
    V2(super::v2::RekorV2Client),
}

impl LogTarget {
    /// The log of a signing config service (`majorApiVersion` 1 or 2); Rekor v1 logs
    /// record envelopes as `kind`. Rekor v2 clients wait at least 20 s.
    ///
    /// # Errors
    ///
    /// [`UploadError::Input`] for another API version; [`UploadError::Rekor`] when the URL
    /// is not http(s).
    pub fn from_service(
        service: &crate::trust::signing_config::Service,
        kind: DsseEntryKind,
        timeout: std::time::Duration,
    ) -> Result<Self, UploadError> {
        match service.major_api_version {
            1 => Ok(Self::V1 {
                client: RekorClient::new(&service.url, timeout)?,
                kind,
            }),
            2 => Ok(Self::V2(super::v2::RekorV2Client::new(
                &service.url,
                timeout,
            )?)),
            v => Err(UploadError::Input(format!(
                "{}: Rekor API version {v} is not supported (1 or 2)",
                service.url
            ))),
        }
    }

    /// The log's base URL.
    #[must_use]
    pub fn base_url(&self) -> &str {
        match self {
            Self::V1 { client, .. } => client.base_url(),
            Self::V2(c) => c.base_url(),
        }
    }

    /// Whether entries of this log need an RFC 3161 timestamp for a verified time
    /// (Rekor v2 has no integrated time; keyless signatures need one).
    #[must_use]
    pub fn needs_timestamp(&self) -> bool {
        matches!(self, Self::V2(_))
    }

    /// Log `envelope_json` (the exact stored envelope bytes) and return the verified
    /// entry, for the bundle's `tlogEntries` (and, for Rekor v1, cosign's bundle
    /// annotation through [`legacy_bundle_annotation`]). `signed_time` is the verified
    /// RFC 3161 time of the signature, for Rekor v2 (`None`: now).
    ///
    /// # Errors
    ///
    /// As [`upload_dsse`] and [`super::v2::upload_dsse`] (Rekor v2's 409 is
    /// [`UploadError::AlreadyLogged`]).
    pub async fn log_dsse(
        &self,
        envelope_json: &[u8],
        signer: &SignerMaterial,
        trust: &TrustedRoot,
        signed_time: Option<jiff::Timestamp>,
    ) -> Result<TransparencyLogEntry, UploadError> {
        match self {
            Self::V1 { client, kind } => {
                Ok(upload_dsse(client, envelope_json, signer, *kind, trust)
                    .await?
                    .entry)
            }
            Self::V2(client) => {
                let envelope = Envelope::from_json(envelope_json)
                    .map_err(|e| UploadError::Input(format!("DSSE envelope: {e}")))?;
                super::v2::upload_dsse(client, &envelope, signer, trust, signed_time).await
            }
        }
    }
}

/// SHA-256 of the envelope's PAE (what Rekor v2 logs for a DSSE envelope).
#[must_use]
pub fn pae_sha256(envelope: &Envelope) -> [u8; 32] {
    Sha256::digest(envelope.pae()).into()
}

#[cfg(test)]
#[allow(clippy::panic)] // Tests report failures by panicking.
mod tests {
    use super::*;

    fn key() -> PublicKey {
        let pem = b"-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEiW+M6Y217OAoeg0frvbaHv16f9OC\nZ1pOCXzwIyC9nxvr5xbtstsuss8PhK2zGDWdcDQUMs62yCej2j9zP1emFA==\n-----END PUBLIC KEY-----\n";
        PublicKey::from_pem(pem).unwrap_or_else(|e| panic!("{e}"))
    }

    const ENV: &[u8] = br#"{"payloadType":"application/vnd.in-toto+json","payload":"e30=","signatures":[{"keyid":"k1","sig":"MEUCIQ=="}]}"#;

    #[test]
    fn dsse_request_is_what_cosign_sends() -> Result<(), UploadError> {
        let pem = key().to_pem();
        let got = dsse_v001_request(ENV, &[pem.as_str()])?;
        let want = format!(
            r#"{{"apiVersion":"0.0.1","spec":{{"proposedContent":{{"envelope":"{{\"payloadType\":\"application/vnd.in-toto+json\",\"payload\":\"e30=\",\"signatures\":[{{\"keyid\":\"k1\",\"sig\":\"MEUCIQ==\"}}]}}","verifiers":["{}"]}},"signatures":null}},"kind":"dsse"}}"#,
            STANDARD.encode(&pem)
        );
        assert_eq!(String::from_utf8_lossy(&got), want);
        assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----\nMFkw"));
        assert!(dsse_v001_request(b"\xff", &[pem.as_str()]).is_err());
        assert!(dsse_v001_request(ENV, &[]).is_err());
        Ok(())
    }

    #[test]
    fn intoto_request_encodes_twice() -> Result<(), UploadError> {
        let got = intoto_v002_request(ENV, "PEM")?;
        // payload "{}" -> "e30=" -> "ZTMwPQ=="; sig 30 45 02 21 00 -> "MEUCIQ==" -> "TUVVQ0lRPT0=".
        let want = format!(
            r#"{{"apiVersion":"0.0.2","spec":{{"content":{{"envelope":{{"payload":"ZTMwPQ==","payloadType":"application/vnd.in-toto+json","signatures":[{{"keyid":"k1","publicKey":"UEVN","sig":"TUVVQ0lRPT0="}}]}},"hash":{{"algorithm":"sha256","value":"{}"}}}}}},"kind":"intoto"}}"#,
            hex::encode(Sha256::digest(ENV))
        );
        assert_eq!(String::from_utf8_lossy(&got), want);
        let mut anon = Envelope::from_json(ENV).unwrap_or_else(|e| panic!("{e}"));
        anon.signatures[0].keyid.clear();
        let got = intoto_v002_request(&anon.to_json(), "PEM")?;
        assert!(String::from_utf8_lossy(&got).contains(r#"[{"publicKey":"UEVN","sig""#));
        anon.signatures.clear();
        assert!(intoto_v002_request(&anon.to_json(), "PEM").is_err());
        assert!(intoto_v002_request(b"{}", "PEM").is_err());
        Ok(())
    }

    #[test]
    fn hashedrekord_request() -> Result<(), UploadError> {
        let got = hashedrekord_v001_request(&[0xab; 32], &[1, 2, 3], "PEM")?;
        let want = format!(
            r#"{{"apiVersion":"0.0.1","spec":{{"data":{{"hash":{{"algorithm":"sha256","value":"{}"}}}},"signature":{{"content":"AQID","publicKey":{{"content":"UEVN"}}}}}},"kind":"hashedrekord"}}"#,
            "ab".repeat(32)
        );
        assert_eq!(String::from_utf8_lossy(&got), want);
        Ok(())
    }

    #[test]
    fn returned_entries_are_checked() {
        // A cosign v3 keyless DSSE bundle logged as dsse 0.0.1 in the public Rekor (SET and
        // inclusion proof): what `upload_dsse` gets back from a log.
        let dir = crate::test_support::shared_dir().join("cosign");
        let bundle = Bundle::from_json(
            &std::fs::read(dir.join("oci-attestation.sigstore.json")).unwrap_or_default(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let trust = TrustedRoot::from_file(&dir.join("trusted_root_pgi.json"))
            .unwrap_or_else(|e| panic!("{e}"));
        let vm = bundle.material().unwrap_or_else(|e| panic!("{e}"));
        let entry = vm.tlog_entries[0].clone();
        let cert = vm
            .certificate
            .as_ref()
            .map(|c| c.raw_bytes.clone())
            .unwrap_or_default();
        let signer = SignerMaterial::certificate(&cert).unwrap_or_else(|e| panic!("{e}"));
        let env = bundle
            .dsse_envelope
            .clone()
            .unwrap_or_else(|| panic!("no envelope"));
        let rebuilt = dsse_bundle(&env, &signer, vec![], vec![]);
        let v =
            check_entry(&entry, &rebuilt, &signer, &trust, None).unwrap_or_else(|e| panic!("{e}"));
        assert!(v.set_verified && v.checkpoint.is_some());
        // Another envelope: the body does not record it.
        let mut other = env.clone();
        other.payload.push(b' ');
        let r = check_entry(
            &entry,
            &dsse_bundle(&other, &signer, vec![], vec![]),
            &signer,
            &trust,
            None,
        );
        assert!(
            matches!(
                r,
                Err(UploadError::Unverified {
                    source: TransparencyError::BodyMismatch(_),
                    ..
                })
            ),
            "{r:?}"
        );
        // Another signer (a key, not the certificate).
        let k = SignerMaterial::Key(key());
        let r = check_entry(
            &entry,
            &dsse_bundle(&env, &k, vec![], vec![]),
            &k,
            &trust,
            None,
        );
        assert!(matches!(r, Err(UploadError::Unverified { .. })), "{r:?}");
        // A log the trusted root does not know.
        let r = check_entry(&entry, &rebuilt, &signer, &TrustedRoot::default(), None);
        assert!(matches!(r, Err(UploadError::Unverified { .. })), "{r:?}");
        // A tampered SET, and an entry without an inclusion proof.
        let mut bad = entry.clone();
        if let Some(p) = bad.inclusion_promise.as_mut() {
            p.signed_entry_timestamp[10] ^= 1;
        }
        assert!(check_entry(&bad, &rebuilt, &signer, &trust, None).is_err());
        let mut bad = entry;
        bad.inclusion_proof = None;
        assert!(check_entry(&bad, &rebuilt, &signer, &trust, None).is_err());
    }

    #[test]
    fn annotation_round_trips_through_the_oci_reader() -> Result<(), UploadError> {
        use crate::bundle::{InclusionPromise, KindVersion, LogId};
        let entry = TransparencyLogEntry {
            log_index: 42,
            log_id: LogId {
                key_id: vec![0xe0; 32],
            },
            kind_version: KindVersion {
                kind: "dsse".into(),
                version: "0.0.1".into(),
            },
            integrated_time: 1_764_097_459,
            inclusion_promise: Some(InclusionPromise {
                signed_entry_timestamp: vec![0x30, 0x45, 0x02],
            }),
            inclusion_proof: None,
            canonicalized_body: br#"{"apiVersion":"0.0.1","kind":"dsse","spec":{}}"#.to_vec(),
        };
        let a = legacy_bundle_annotation(&entry)?;
        assert_eq!(
            a,
            format!(
                r#"{{"SignedEntryTimestamp":"MEUC","Payload":{{"body":"{}","integratedTime":1764097459,"logIndex":42,"logID":"{}"}}}}"#,
                STANDARD.encode(&entry.canonicalized_body),
                "e0".repeat(32)
            )
        );
        let back = crate::oci::cosign::rekor_bundle_entry(&a).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back, entry);
        let mut v2 = entry;
        v2.inclusion_promise = None;
        assert!(legacy_bundle_annotation(&v2).is_err());
        Ok(())
    }

    #[test]
    fn log_targets_from_signing_config_services() {
        use crate::trust::signing_config::Service;
        let service = |url: &str, v| Service {
            url: url.into(),
            major_api_version: v,
            ..Service::default()
        };
        let t = std::time::Duration::from_secs(1);
        let v1 = LogTarget::from_service(&service("http://r1/", 1), DsseEntryKind::Intoto, t)
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(
            v1,
            LogTarget::V1 {
                kind: DsseEntryKind::Intoto,
                ..
            }
        ));
        assert_eq!(v1.base_url(), "http://r1");
        assert!(!v1.needs_timestamp());
        let v2 = LogTarget::from_service(&service("http://r2", 2), DsseEntryKind::Dsse, t)
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(v2.needs_timestamp());
        assert!(matches!(
            LogTarget::from_service(&service("http://r3", 3), DsseEntryKind::Dsse, t),
            Err(UploadError::Input(_))
        ));
        assert!(matches!(
            LogTarget::from_service(&service("ftp://r", 1), DsseEntryKind::Dsse, t),
            Err(UploadError::Rekor(_))
        ));
    }

    #[test]
    fn conflict_names_the_existing_entry() {
        let uuid = format!("{}{}", "1".repeat(16), "a".repeat(64));
        let loc = format!("http://127.0.0.1:13000/api/v1/log/entries/{uuid}");
        assert_eq!(conflict_uuid(Some(&loc), b""), Some(uuid.clone()));
        let body = format!(
            r#"{{"code":409,"message":"an equivalent entry already exists in the transparency log with UUID {uuid}"}}"#
        );
        assert_eq!(conflict_uuid(None, body.as_bytes()), Some(uuid));
        assert_eq!(conflict_uuid(Some("/x/y"), b"{}"), None);
        assert_eq!(conflict_uuid(None, b"not json"), None);
    }

    #[test]
    fn bundles_carry_key_hint_or_certificate() {
        let k = key();
        let env = Envelope::from_json(ENV).unwrap_or_else(|e| panic!("{e}"));
        let b = dsse_bundle(&env, &SignerMaterial::Key(k.clone()), vec![], vec![vec![1]]);
        let vm = b.verification_material.clone().unwrap_or_default();
        assert_eq!(vm.public_key.map(|p| p.hint), Some(k.sigstore_hint()));
        assert_eq!(
            vm.timestamp_verification_data
                .map(|t| t.rfc3161_timestamps.len()),
            Some(1)
        );
        let again = Bundle::from_json(&b.to_json()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(again, b);
        let m = message_bundle(&[7; 32], &[1], &SignerMaterial::Key(k), vec![], vec![]);
        assert!(m.message_signature.is_some() && m.verification_material.is_some());
    }
}
