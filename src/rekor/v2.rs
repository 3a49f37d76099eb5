//! Rekor v2 (sigstore/rekor-tiles) uploads: `POST /api/v2/log/entries`, each returned
//! entry verified before use.
//!
//! Rekor v2 logs only `hashedrekord` 0.0.2 (its `dsse` 0.0.2 request is deprecated in
//! rekor-tiles v2.3.0, and sigstore-go v1.2.1, which cosign v3.1.2 uses, no longer sends
//! it): a DSSE envelope is logged as a hashedrekord over SHA-256 of its PAE, with the
//! envelope's signature. The request is the protojson of rekor-tiles'
//! `CreateEntryRequest` ([`hashedrekord_v002_request`]):
//!
//! ```json
//! {"hashedRekordRequestV002":{"digest":"<b64>","signature":{"content":"<b64>",
//!   "verifier":{"publicKey":{"rawBytes":"<b64 SPKI>"}|"x509Certificate":{"rawBytes":"<b64 DER>"},
//!   "keyDetails":"PKIX_ECDSA_P256_SHA_256"}}}}
//! ```
//!
//! The answer (`201 Created`) is a protojson `TransparencyLogEntry` with an inclusion proof
//! and checkpoint, no signed entry timestamp and no integrated time ([`parse_entry`]). The
//! server answers once the entry is in a published checkpoint, so writes wait for the
//! checkpoint interval: the client's timeout is at least [`MIN_WRITE_TIMEOUT`]. There is
//! no search API; a `409` names the existing entry's index, which is then read back from
//! the log's tiles ([`super::tiles`]). Keyless signatures need an RFC 3161 timestamp ([`crate::signing::tsa`]) for a
//! verified signing time.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::Serialize;

use super::upload::{SignerMaterial, UploadError, check_entry, check_signatures, dsse_bundle};
use super::{RekorError, status_error};
use crate::bundle::TransparencyLogEntry;
use crate::dsse::Envelope;
use crate::signing::{KeyAlgorithm, PublicKey};
use crate::trust::TrustedRoot;

/// The shortest write timeout: Rekor v2 answers after its next checkpoint.
pub const MIN_WRITE_TIMEOUT: Duration = Duration::from_secs(20);
const MAX_RESPONSE_BYTES: usize = 10 << 20;

/// The `PublicKeyDetails` name Rekor v2 needs for a hashedrekord signed by `key`.
///
/// # Errors
///
/// [`UploadError::Input`] for Ed25519: hashedrekord needs a pre-hashing algorithm
/// (`PKIX_ED25519_PH`), and hallmark's Ed25519 signatures are pure.
pub fn key_details(key: &PublicKey) -> Result<&'static str, UploadError> {
    match key.algorithm() {
        KeyAlgorithm::EcdsaP256Sha256 => Ok("PKIX_ECDSA_P256_SHA_256"),
        other => Err(UploadError::Input(format!(
            "Rekor v2 cannot log {other} signatures (hashedrekord needs a pre-hashed signature)"
        ))),
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CreateEntryRequest {
    hashed_rekord_request_v002: HashedRekordRequest,
}

#[derive(Serialize)]
struct HashedRekordRequest {
    digest: String,
    signature: Signature,
}

#[derive(Serialize)]
struct Signature {
    content: String,
    verifier: Verifier,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Verifier {
    #[serde(skip_serializing_if = "Option::is_none")]
    public_key: Option<RawBytes>,
    #[serde(skip_serializing_if = "Option::is_none")]
    x509_certificate: Option<RawBytes>,
    key_details: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RawBytes {
    raw_bytes: String,
}

/// The `CreateEntryRequest` protojson for a `hashedrekord` 0.0.2 entry: `signature` over
/// the data whose digest (SHA-256 for P-256 keys) is `digest`, by `signer`.
///
/// # Errors
///
/// [`UploadError::Input`] for keys Rekor v2 cannot log ([`key_details`]).
pub fn hashedrekord_v002_request(
    digest: &[u8],
    signature: &[u8],
    signer: &SignerMaterial,
) -> Result<Vec<u8>, UploadError> {
    let key_details = key_details(signer.public_key())?;
    let raw = |b: &[u8]| {
        Some(RawBytes {
            raw_bytes: STANDARD.encode(b),
        })
    };
    let verifier = match signer {
        SignerMaterial::Key(k) => Verifier {
            public_key: raw(k.spki_der()),
            x509_certificate: None,
            key_details,
        },
        SignerMaterial::Certificate { der, .. } => Verifier {
            public_key: None,
            x509_certificate: raw(der),
            key_details,
        },
    };
    serde_json::to_vec(&CreateEntryRequest {
        hashed_rekord_request_v002: HashedRekordRequest {
            digest: STANDARD.encode(digest),
            signature: Signature {
                content: STANDARD.encode(signature),
                verifier,
            },
        },
    })
    .map_err(|e| UploadError::Input(format!("cannot serialize: {e}")))
}

/// Parse a Rekor v2 answer: a protojson `TransparencyLogEntry` (camelCase, int64 as
/// strings, bytes as base64). The entry must carry a body, a kind and an inclusion proof.
///
/// # Errors
///
/// [`RekorError::Malformed`] otherwise.
pub fn parse_entry(bytes: &[u8]) -> Result<TransparencyLogEntry, RekorError> {
    let bad = |reason: String| RekorError::Malformed {
        what: "Rekor v2 log entry".into(),
        reason,
    };
    let e: TransparencyLogEntry = serde_json::from_slice(bytes).map_err(|e| bad(e.to_string()))?;
    if e.canonicalized_body.is_empty() || e.kind_version.kind.is_empty() {
        return Err(bad("no canonicalizedBody or kindVersion".into()));
    }
    if e.inclusion_proof.is_none() {
        return Err(bad("no inclusion proof".into()));
    }
    Ok(e)
}

/// A Rekor v2 write client, with the log's tiles to read an entry back after a 409.
#[derive(Clone, Debug)]
pub struct RekorV2Client {
    base: String,
    http: reqwest::Client,
    tiles: super::tiles::TilesClient,
}

impl RekorV2Client {
    /// A client for the log at `base_url`; `timeout` is raised to [`MIN_WRITE_TIMEOUT`].
    ///
    /// # Errors
    ///
    /// [`RekorError::Config`] when the URL is not http(s) or the HTTP client cannot be built.
    pub fn new(base_url: &str, timeout: Duration) -> Result<Self, RekorError> {
        let timeout = timeout.max(MIN_WRITE_TIMEOUT);
        let (base, http) = super::http_client(base_url, timeout)?;
        let tiles = super::tiles::TilesClient::new(&base, timeout)?;
        Ok(Self { base, http, tiles })
    }

    /// Read tiles from `tiles_url` (default: the log's URL, as sigstore's Rekor v2 serves
    /// both; a local rekor-tiles serves its tiles from a separate static server).
    ///
    /// # Errors
    ///
    /// [`RekorError::Config`] when the URL is not http(s).
    pub fn with_tiles_url(
        mut self,
        tiles_url: &str,
        timeout: Duration,
    ) -> Result<Self, RekorError> {
        self.tiles = super::tiles::TilesClient::new(tiles_url, timeout)?;
        Ok(self)
    }

    /// The log's base URL.
    #[must_use]
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// Post a `CreateEntryRequest` and parse the entry (not verified: see [`upload_dsse`]).
    ///
    /// # Errors
    ///
    /// [`RekorError`] for transport errors, statuses other than 201/200, malformed answers.
    pub async fn add(&self, request: &[u8]) -> Result<TransparencyLogEntry, RekorError> {
        let url = format!("{}/api/v2/log/entries", self.base);
        let mut response = self
            .http
            .post(&url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(request.to_vec())
            .send()
            .await
            .map_err(|source| RekorError::Request {
                url: url.clone(),
                source,
            })?;
        let status = response.status().as_u16();
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|source| RekorError::Request {
                url: url.clone(),
                source,
            })?
        {
            if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
                return Err(RekorError::Malformed {
                    what: url,
                    reason: format!("answer larger than {MAX_RESPONSE_BYTES} bytes"),
                });
            }
            body.extend_from_slice(&chunk);
        }
        match status {
            200 | 201 => parse_entry(&body),
            _ => Err(status_error(&url, status, &body)),
        }
    }
}

/// Log a DSSE envelope (one signature) in Rekor v2 as `hashedrekord` 0.0.2 over SHA-256 of
/// its PAE, and return the entry after checking it against `trust`
/// ([`super::upload::check_entry`]: body records the PAE digest, signature and signer;
/// inclusion proof to a checkpoint signed by the log). `signed_time` is the verified
/// timestamp's time, at which the log key must be valid (`None`: now).
///
/// # Errors
///
/// [`UploadError::Input`] for envelopes with other than one signature, signatures that do
/// not verify, or keys Rekor v2 cannot log; [`UploadError::AlreadyLogged`] when the log
/// already holds it (409) but the entry cannot be read back (no index in the answer, the
/// log not in the trusted root); a 409 otherwise reads the entry from the log's tiles
/// ([`super::tiles`]), checked like a new one;
/// [`UploadError::Rekor`]; [`UploadError::Unverified`].
pub async fn upload_dsse(
    client: &RekorV2Client,
    envelope: &Envelope,
    signer: &SignerMaterial,
    trust: &TrustedRoot,
    signed_time: Option<jiff::Timestamp>,
) -> Result<TransparencyLogEntry, UploadError> {
    if envelope.signatures.len() != 1 {
        return Err(UploadError::Input(
            "Rekor v2 logs DSSE envelopes with exactly one signature".into(),
        ));
    }
    check_signatures(envelope, signer.public_key())?;
    let digest = super::upload::pae_sha256(envelope);
    let request = hashedrekord_v002_request(&digest, &envelope.signatures[0].sig, signer)?;
    let entry = match client.add(&request).await {
        Ok(e) => e,
        Err(RekorError::Status {
            status: 409,
            message,
            ..
        }) => {
            // Already logged: read it back from the tiles when the log and index are known.
            let index = conflict_index(&message);
            let log = trust
                .tlogs
                .iter()
                .find(|l| l.base_url.trim_end_matches('/') == client.base_url());
            let (Some(i), Some(log)) = (index.and_then(|i| u64::try_from(i).ok()), log) else {
                return Err(UploadError::AlreadyLogged {
                    log: client.base_url().to_owned(),
                    index,
                });
            };
            client.tiles.entry(i, &log.log_id.key_id).await?
        }
        Err(e) => return Err(e.into()),
    };
    let bundle = dsse_bundle(envelope, signer, Vec::new(), Vec::new());
    check_entry(&entry, &bundle, signer, trust, signed_time)?;
    Ok(entry)
}

/// The index in a Rekor v2 409 message ("... already exists in the transparency log with
/// index 2").
#[must_use]
pub fn conflict_index(message: &str) -> Option<i64> {
    let rest = &message[message.find("with index ")? + "with index ".len()..];
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

#[cfg(test)]
#[allow(clippy::panic)] // Tests report failures by panicking.
mod tests {
    use super::*;

    fn key() -> PublicKey {
        let pem = b"-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEiW+M6Y217OAoeg0frvbaHv16f9OC\nZ1pOCXzwIyC9nxvr5xbtstsuss8PhK2zGDWdcDQUMs62yCej2j9zP1emFA==\n-----END PUBLIC KEY-----\n";
        PublicKey::from_pem(pem).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn request_protojson() -> Result<(), UploadError> {
        let k = key();
        let got =
            hashedrekord_v002_request(&[0xff; 32], &[1, 2, 3], &SignerMaterial::Key(k.clone()))?;
        let want = format!(
            r#"{{"hashedRekordRequestV002":{{"digest":"{}","signature":{{"content":"AQID","verifier":{{"publicKey":{{"rawBytes":"{}"}},"keyDetails":"PKIX_ECDSA_P256_SHA_256"}}}}}}}}"#,
            STANDARD.encode([0xff; 32]),
            STANDARD.encode(k.spki_der())
        );
        assert_eq!(String::from_utf8_lossy(&got), want);
        let cert = SignerMaterial::Certificate {
            der: vec![0x30, 0x00],
            key: k,
        };
        let got = hashedrekord_v002_request(&[0; 32], &[1], &cert)?;
        assert!(
            String::from_utf8_lossy(&got).contains(
                r#""verifier":{"x509Certificate":{"rawBytes":"MAA="},"keyDetails":"PKIX_ECDSA_P256_SHA_256"}"#
            ),
            "{}",
            String::from_utf8_lossy(&got)
        );
        Ok(())
    }

    #[test]
    fn answers() {
        // The tlog entry of a sigstore-conformance Rekor v2 bundle is what the log answers.
        let dir = crate::test_support::shared_dir().join("sigstore-conformance/bundle-verify");
        let raw = std::fs::read(dir.join("rekor2-happy-path/bundle.sigstore.json"))
            .unwrap_or_else(|e| panic!("{e}"));
        let v: serde_json::Value = serde_json::from_slice(&raw).unwrap_or_else(|e| panic!("{e}"));
        let tle = serde_json::to_vec(&v["verificationMaterial"]["tlogEntries"][0])
            .unwrap_or_else(|e| panic!("{e}"));
        let e = parse_entry(&tle).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(e.kind_version.version, "0.0.2");
        assert_eq!(e.integrated_time, 0);
        assert!(e.inclusion_promise.is_none());
        assert!(parse_entry(b"{}").is_err());
        assert!(parse_entry(b"[]").is_err());
        assert!(parse_entry(br#"{"logIndex":"x"}"#).is_err());
    }

    #[test]
    fn conflicts_name_the_index() {
        let m = r#"{"code":6,"message":"an equivalent entry already exists in the transparency log with index 2","details":[]}"#;
        assert_eq!(conflict_index(m), Some(2));
        assert_eq!(conflict_index("with index x"), None);
        assert_eq!(conflict_index(""), None);
    }

    #[test]
    fn timeouts_are_at_least_twenty_seconds() {
        assert!(RekorV2Client::new("file:///x", Duration::from_secs(1)).is_err());
        assert!(
            RekorV2Client::new("http://127.0.0.1:17005/", Duration::from_secs(1))
                .is_ok_and(|c| c.base_url() == "http://127.0.0.1:17005")
        );
    }
}
