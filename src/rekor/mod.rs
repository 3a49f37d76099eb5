//! Rekor v1's REST API: reading entries back (the [`TransparencyLog`] seam, implemented by
//! [`RekorClient`]) and parsing its answers into bundle log entries (pure).
//!
//! Writing: [`upload`] logs envelopes and signatures in Rekor v1 (`dsse`, `intoto`,
//! `hashedrekord`; 409 = already logged) and [`v2`] in Rekor v2 (`hashedrekord` 0.0.2);
//! every returned entry is verified against the trusted root before it is returned.
//! (RFC 3161 timestamps for Rekor v2's keyless entries: [`crate::signing::tsa`].)
//!
//! Used when an attestation carries no log entry (Tekton Chains' `.att` layers have no
//! Rekor bundle annotation): the verifier looks the entry up by payload hash, as cosign v2
//! does, and then checks it like any other (signed entry timestamp, inclusion proof against
//! a signed checkpoint, entry body against the attestation).

use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;

use base64::Engine as _;
use serde::Deserialize;

pub mod tiles;
pub mod upload;
pub mod v2;

pub use upload::{DsseEntryKind, LogTarget, SignerMaterial, UploadError, UploadedEntry};

use crate::bundle::{
    Checkpoint, InclusionPromise, InclusionProof, KindVersion, LogId, TransparencyLogEntry,
};

/// The most entries read for one hash (a search answer can be long for a popular digest).
pub const MAX_SEARCH_RESULTS: usize = 32;
const MAX_RESPONSE_BYTES: usize = 16 << 20;

/// Errors talking to Rekor or reading its answers.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RekorError {
    /// The request failed before an HTTP status.
    #[error("Rekor: request to {url} failed")]
    Request {
        /// The URL.
        url: String,
        /// The HTTP client's error.
        #[source]
        source: reqwest::Error,
    },
    /// Rekor answered with an unexpected status.
    #[error("Rekor: {url} answered HTTP {status}{}", if message.is_empty() { String::new() } else { format!(": {message}") })]
    Status {
        /// The URL.
        url: String,
        /// The HTTP status.
        status: u16,
        /// The start of the body.
        message: String,
    },
    /// Rekor's answer does not parse.
    #[error("Rekor: {what}: {reason}")]
    Malformed {
        /// What was read.
        what: String,
        /// Why it is refused.
        reason: String,
    },
    /// The client cannot be built.
    #[error("Rekor client: {0}")]
    Config(String),
}

impl RekorError {
    /// Whether retrying later may succeed.
    #[must_use]
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Request { source, .. } => source.is_timeout() || source.is_connect(),
            Self::Status { status, .. } => *status >= 500 || *status == 429,
            _ => false,
        }
    }
}

/// A log entry and the attestation the log stored beside it (decoded `attestation.data`;
/// unverified: the caller checks it against the entry's payload hash).
pub type EntryAndAttestation = (TransparencyLogEntry, Option<Vec<u8>>);

/// Reading a transparency log: the seam between verification and Rekor's API.
pub trait TransparencyLog: Send + Sync {
    /// The UUIDs of the entries indexed under `sha256:<hex>`.
    ///
    /// # Errors
    ///
    /// [`RekorError`] for transport errors, statuses and malformed answers.
    fn search_sha256(
        &self,
        hex: &str,
    ) -> impl Future<Output = Result<Vec<String>, RekorError>> + Send;

    /// The UUIDs of the entries indexed under a search query (hash, email or key).
    ///
    /// # Errors
    ///
    /// [`RekorError`] for transport errors, statuses and malformed answers.
    fn search(
        &self,
        query: &crate::search::Query,
    ) -> impl Future<Output = Result<Vec<String>, RekorError>> + Send;

    /// The entry with this UUID, `None` when the log has none.
    ///
    /// # Errors
    ///
    /// [`RekorError`] for transport errors, statuses and malformed answers.
    fn entry(
        &self,
        uuid: &str,
    ) -> impl Future<Output = Result<Option<TransparencyLogEntry>, RekorError>> + Send;

    /// [`TransparencyLog::entry`], with the attestation Rekor stored beside it (its
    /// `attestation.data`, decoded), when the log keeps attestations and has one for this
    /// entry. The default reads the entry alone.
    ///
    /// # Errors
    ///
    /// [`RekorError`] for transport errors, statuses and malformed answers.
    fn entry_with_attestation(
        &self,
        uuid: &str,
    ) -> impl Future<Output = Result<Option<EntryAndAttestation>, RekorError>> + Send {
        let read = self.entry(uuid);
        async move { Ok(read.await?.map(|e| (e, None))) }
    }
}

/// The base URL (without a trailing `/`) and an HTTP client with `timeout`, shared by the
/// Rekor v1, Rekor v2 and tiles clients.
fn http_client(base_url: &str, timeout: Duration) -> Result<(String, reqwest::Client), RekorError> {
    let base = base_url.trim_end_matches('/').to_owned();
    if !(base.starts_with("https://") || base.starts_with("http://")) {
        return Err(RekorError::Config(format!(
            "`{base_url}` is not an http(s) URL"
        )));
    }
    let http = crate::http::client_builder()
        .connect_timeout(timeout)
        .timeout(timeout)
        .build()
        .map_err(|e| RekorError::Config(e.to_string()))?;
    Ok((base, http))
}

/// A Rekor v1 client.
pub struct RekorClient {
    base: String,
    http: reqwest::Client,
}

impl RekorClient {
    /// A client for the log at `base_url` (`https://rekor.sigstore.dev`).
    ///
    /// # Errors
    ///
    /// [`RekorError::Config`] when the URL is not http(s) or the HTTP client cannot be built.
    pub fn new(base_url: &str, timeout: Duration) -> Result<Self, RekorError> {
        let (base, http) = http_client(base_url, timeout)?;
        Ok(Self { base, http })
    }

    /// The log's base URL.
    #[must_use]
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// `POST /api/v1/index/retrieve` with a search query.
    async fn retrieve(&self, query: &serde_json::Value) -> Result<Vec<String>, RekorError> {
        let url = format!("{}/api/v1/index/retrieve", self.base);
        let response = self
            .http
            .post(&url)
            .json(query)
            .send()
            .await
            .map_err(|source| RekorError::Request {
                url: url.clone(),
                source,
            })?;
        let status = response.status().as_u16();
        let body = self.read(&url, response).await?;
        if status != 200 {
            return Err(status_error(&url, status, &body));
        }
        parse_uuids(&body)
    }

    async fn read(&self, url: &str, response: reqwest::Response) -> Result<Vec<u8>, RekorError> {
        let mut response = response;
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|source| RekorError::Request {
                url: url.to_owned(),
                source,
            })?
        {
            if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
                return Err(RekorError::Malformed {
                    what: url.to_owned(),
                    reason: format!("answer larger than {MAX_RESPONSE_BYTES} bytes"),
                });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }
}

fn status_error(url: &str, status: u16, body: &[u8]) -> RekorError {
    let mut message: String = String::from_utf8_lossy(body)
        .trim()
        .chars()
        .take(200)
        .collect();
    message.retain(|c| !c.is_control());
    RekorError::Status {
        url: url.to_owned(),
        status,
        message,
    }
}

impl TransparencyLog for RekorClient {
    async fn search_sha256(&self, hex: &str) -> Result<Vec<String>, RekorError> {
        self.retrieve(&serde_json::json!({ "hash": format!("sha256:{hex}") }))
            .await
    }

    async fn search(&self, query: &crate::search::Query) -> Result<Vec<String>, RekorError> {
        use crate::search::Query;
        let body = match query {
            Query::Sha256(hex) => serde_json::json!({ "hash": format!("sha256:{hex}") }),
            Query::Email(e) => serde_json::json!({ "email": e }),
            Query::PublicKey(pem) => serde_json::json!({ "publicKey": {
                "format": "x509",
                "content": base64::engine::general_purpose::STANDARD.encode(pem),
            }}),
        };
        self.retrieve(&body).await
    }

    async fn entry(&self, uuid: &str) -> Result<Option<TransparencyLogEntry>, RekorError> {
        Ok(self.entry_with_attestation(uuid).await?.map(|(e, _)| e))
    }

    async fn entry_with_attestation(
        &self,
        uuid: &str,
    ) -> Result<Option<EntryAndAttestation>, RekorError> {
        if !uuid.bytes().all(|b| b.is_ascii_hexdigit()) || uuid.is_empty() || uuid.len() > 80 {
            return Err(RekorError::Malformed {
                what: "search answer".into(),
                reason: format!("`{uuid}` is not an entry UUID"),
            });
        }
        let url = format!("{}/api/v1/log/entries/{uuid}", self.base);
        let response = self
            .http
            .get(&url)
            .send()
            .await
            .map_err(|source| RekorError::Request {
                url: url.clone(),
                source,
            })?;
        let status = response.status().as_u16();
        let body = self.read(&url, response).await?;
        match status {
            200 => {
                parse_entries_with_attestations(&body).map(|mut v| v.pop().map(|(_, e, a)| (e, a)))
            }
            404 => Ok(None),
            _ => Err(status_error(&url, status, &body)),
        }
    }
}

/// Parse a search answer: a JSON array of UUIDs (at most [`MAX_SEARCH_RESULTS`] kept).
///
/// # Errors
///
/// [`RekorError::Malformed`] for anything else.
pub fn parse_uuids(bytes: &[u8]) -> Result<Vec<String>, RekorError> {
    let mut uuids: Vec<String> = serde_json::from_slice::<Option<Vec<String>>>(bytes)
        .map_err(|e| RekorError::Malformed {
            what: "search answer".into(),
            reason: e.to_string(),
        })?
        .unwrap_or_default();
    uuids.truncate(MAX_SEARCH_RESULTS);
    Ok(uuids)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireEntry {
    body: String,
    integrated_time: i64,
    #[serde(rename = "logID")]
    log_id: String,
    log_index: i64,
    #[serde(default)]
    verification: Option<WireVerification>,
    #[serde(default)]
    attestation: Option<WireAttestation>,
}

/// The attestation Rekor stored beside an entry (`--enable_attestation_storage`).
#[derive(Deserialize)]
struct WireAttestation {
    #[serde(default)]
    data: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireVerification {
    #[serde(default)]
    signed_entry_timestamp: Option<String>,
    #[serde(default)]
    inclusion_proof: Option<WireProof>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireProof {
    checkpoint: String,
    hashes: Vec<String>,
    log_index: i64,
    root_hash: String,
    tree_size: i64,
}

#[derive(Deserialize)]
struct BodyKind {
    kind: String,
    #[serde(rename = "apiVersion")]
    api_version: String,
}

/// Parse a `GET /api/v1/log/entries/{uuid}` (or upload) answer: `{uuid: entry, ...}`, into
/// bundle log entries with their signed entry timestamps and inclusion proofs.
///
/// # Errors
///
/// [`RekorError::Malformed`] when the answer or an entry does not parse.
pub fn parse_entries(bytes: &[u8]) -> Result<Vec<(String, TransparencyLogEntry)>, RekorError> {
    Ok(parse_entries_with_attestations(bytes)?
        .into_iter()
        .map(|(uuid, e, _)| (uuid, e))
        .collect())
}

/// An entry's UUID, the entry, and the attestation Rekor stored beside it (`attestation.data`,
/// decoded; `None` when absent). The attestation is as the log stored it: unverified, to be
/// checked against the entry's payload hash by the caller.
pub type EntryWithAttestation = (String, TransparencyLogEntry, Option<Vec<u8>>);

/// [`parse_entries`], keeping each entry's stored attestation.
///
/// # Errors
///
/// [`RekorError::Malformed`] when the answer or an entry does not parse (an attestation
/// that is not base64 included).
pub fn parse_entries_with_attestations(
    bytes: &[u8],
) -> Result<Vec<EntryWithAttestation>, RekorError> {
    let bad = |reason: String| RekorError::Malformed {
        what: "log entry".into(),
        reason,
    };
    let map: BTreeMap<String, WireEntry> =
        serde_json::from_slice(bytes).map_err(|e| bad(e.to_string()))?;
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut out = Vec::with_capacity(map.len());
    for (uuid, w) in map {
        let body = b64
            .decode(&w.body)
            .map_err(|e| bad(format!("body is not base64: {e}")))?;
        let kind: BodyKind =
            serde_json::from_slice(&body).map_err(|e| bad(format!("body is not an entry: {e}")))?;
        let log_id = hex::decode(&w.log_id).map_err(|e| bad(format!("logID is not hex: {e}")))?;
        let attestation = w
            .attestation
            .and_then(|a| a.data)
            .filter(|d| !d.is_empty())
            .map(|d| b64.decode(d))
            .transpose()
            .map_err(|e| bad(format!("attestation.data is not base64: {e}")))?;
        let verification = w.verification;
        let promise = verification
            .as_ref()
            .and_then(|v| v.signed_entry_timestamp.as_deref())
            .map(|s| b64.decode(s))
            .transpose()
            .map_err(|e| bad(format!("signedEntryTimestamp is not base64: {e}")))?
            .map(|signed_entry_timestamp| InclusionPromise {
                signed_entry_timestamp,
            });
        let proof = match verification.and_then(|v| v.inclusion_proof) {
            Some(p) => Some(InclusionProof {
                log_index: p.log_index,
                root_hash: hex::decode(&p.root_hash)
                    .map_err(|e| bad(format!("rootHash is not hex: {e}")))?,
                tree_size: p.tree_size,
                hashes: p
                    .hashes
                    .iter()
                    .map(hex::decode)
                    .collect::<Result<_, _>>()
                    .map_err(|e| bad(format!("an inclusion proof hash is not hex: {e}")))?,
                checkpoint: Checkpoint {
                    envelope: p.checkpoint,
                },
            }),
            None => None,
        };
        out.push((
            uuid,
            TransparencyLogEntry {
                log_index: w.log_index,
                log_id: LogId { key_id: log_id },
                kind_version: KindVersion {
                    kind: kind.kind,
                    version: kind.api_version,
                },
                integrated_time: w.integrated_time,
                inclusion_promise: promise,
                inclusion_proof: proof,
                canonicalized_body: body,
            },
            attestation,
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_attestations() -> Result<(), RekorError> {
        let b64 = base64::engine::general_purpose::STANDARD;
        let body = b64.encode(br#"{"apiVersion":"0.0.2","kind":"intoto","spec":{}}"#);
        let entry = |attestation: &str| {
            format!(
                r#"{{"ab":{{"body":"{body}","integratedTime":1,"logID":"c0","logIndex":1{attestation}}}}}"#
            )
        };
        let data = b64.encode(br#"{"_type":"x"}"#);
        let with = parse_entries_with_attestations(
            entry(&format!(r#","attestation":{{"data":"{data}"}}"#)).as_bytes(),
        )?;
        assert_eq!(with[0].2.as_deref(), Some(&br#"{"_type":"x"}"#[..]));
        for none in ["", r#","attestation":{}"#, r#","attestation":{"data":""}"#] {
            assert_eq!(
                parse_entries_with_attestations(entry(none).as_bytes())?[0].2,
                None
            );
        }
        assert!(
            parse_entries_with_attestations(entry(r#","attestation":{"data":"!"}"#).as_bytes())
                .is_err()
        );
        Ok(())
    }

    #[test]
    fn entries_and_uuids() -> Result<(), RekorError> {
        let body = base64::engine::general_purpose::STANDARD
            .encode(br#"{"apiVersion":"0.0.2","kind":"intoto","spec":{}}"#);
        let answer = format!(
            r#"{{"24296fb24b8ad77a":{{"body":"{body}","integratedTime":1764097459,"logID":"c0d23d6a","logIndex":12,
              "verification":{{"signedEntryTimestamp":"MEUCIQ==","inclusionProof":{{"checkpoint":"rekor\n13\nAAAA\n\n— rekor sig\n","hashes":["00ff"],"logIndex":12,"rootHash":"aa","treeSize":13}}}}}}}}"#
        );
        let entries = parse_entries(answer.as_bytes())?;
        assert_eq!(entries.len(), 1);
        let (uuid, e) = &entries[0];
        assert_eq!(uuid, "24296fb24b8ad77a");
        assert_eq!((e.log_index, e.integrated_time), (12, 1_764_097_459));
        assert_eq!(e.kind_version.kind, "intoto");
        let p = e
            .inclusion_proof
            .as_ref()
            .map(|p| (p.tree_size, p.hashes.clone()));
        assert_eq!(p, Some((13, vec![vec![0x00, 0xff]])));
        assert!(e.inclusion_promise.is_some());
        assert!(parse_entries(b"[]").is_err());
        assert!(
            parse_entries(br#"{"x":{"body":"!","integratedTime":1,"logID":"00","logIndex":1}}"#)
                .is_err()
        );
        assert_eq!(parse_uuids(br#"["a","b"]"#)?, vec!["a", "b"]);
        assert!(parse_uuids(b"null")?.is_empty());
        assert!(parse_uuids(b"{}").is_err());
        Ok(())
    }

    #[test]
    fn rejects_non_http_urls() {
        assert!(RekorClient::new("file:///etc", Duration::from_secs(1)).is_err());
        assert!(
            RekorClient::new("http://127.0.0.1:13000/", Duration::from_secs(1))
                .is_ok_and(|c| c.base_url() == "http://127.0.0.1:13000")
        );
    }
}
