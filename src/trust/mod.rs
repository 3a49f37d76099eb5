//! Sigstore trust material: the `trusted_root.json` of a Sigstore instance.
//!
//! The format is the protojson encoding of `dev.sigstore.trustedroot.v1.TrustedRoot`
//! (sigstore/protobuf-specs `protos/sigstore_trustroot.proto`, media type
//! `application/vnd.dev.sigstore.trustedroot+json;version=0.1`):
//!
//! - `tlogs` / `ctlogs`: `TransparencyLogInstance` — `baseUrl`, `hashAlgorithm`,
//!   `publicKey` (`rawBytes` = DER SubjectPublicKeyInfo, `keyDetails`, `validFor`) and
//!   `logId.keyId` (for Rekor v1 and CT logs the SHA-256 of the key's DER; for Rekor v2
//!   the signed-note key id of the checkpoint signer).
//! - `certificateAuthorities` (Fulcio) / `timestampAuthorities` (RFC 3161 TSAs):
//!   `CertificateAuthority` — `subject`, `uri`, `certChain.certificates[].rawBytes`
//!   (DER, leaf/intermediates first, root last) and `validFor`.
//! - `validFor` is a `TimeRange` with `start` and optional `end`, both inclusive
//!   (sigstore-conformance `trust-root-*-validity-end-inclusive`).
//!
//! Protojson conventions: camelCase names (snake_case accepted), `bytes` as standard
//! base64 (URL-safe and unpadded accepted), timestamps as RFC 3339, unknown fields
//! ignored. Parsing keeps keys and certificates as bytes; a key is decoded when it is
//! looked up ([`TransparencyLog::public_key`]), so a root holding keys hallmark cannot
//! use (RSA CT logs) still loads.
//!
//! The Sigstore public-good root is embedded from the `sigstore-trust-root` crate
//! ([`TrustedRoot::public_good`]); [`tuf::fetch_trusted_root`] refreshes a root from a
//! TUF repository (`--tuf-url`), starting from a trusted initial `root.json`.
//! [`signing_config`] reads cosign's `signing_config.json` (which logs and TSAs to sign with).

use base64::Engine as _;
use jiff::Timestamp;
use serde::Deserialize;

pub mod signing_config;
pub mod tuf;

use crate::signing::PublicKey;

/// The trusted root media type this reader accepts (an absent media type is accepted).
pub const MEDIA_TYPE_V0_1: &str = "application/vnd.dev.sigstore.trustedroot+json;version=0.1";

/// Errors reading trust material or looking keys up in it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TrustError {
    /// The file could not be read.
    #[error("cannot read trusted root {path}")]
    Read {
        /// The file path.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Not JSON of the trusted root's shape (wrong types, bad base64, bad timestamps).
    #[error("malformed trusted root JSON")]
    Json(#[source] serde_json::Error),
    /// The media type names another format or version.
    #[error("unsupported trusted root media type `{0}`")]
    MediaType(String),
    /// No transparency log (or CT log) in the root has this log id.
    #[error("no trusted log with id {log_id}")]
    UnknownLog {
        /// The log id, hex.
        log_id: String,
    },
    /// The log's key is not valid at the time asked about.
    #[error("key of log {log_id} is not valid at {time}")]
    NotValidAt {
        /// The log id, hex.
        log_id: String,
        /// The time checked (RFC 3339).
        time: String,
    },
    /// The log's key is missing, malformed, or of a kind hallmark does not verify with
    /// (hallmark verifies ECDSA P-256 and Ed25519).
    #[error("unsupported or invalid key ({key_details}) for log {log_id}")]
    UnsupportedKey {
        /// The log id, hex.
        log_id: String,
        /// The `keyDetails` the root gives.
        key_details: String,
    },
    /// Refreshing the trusted root through TUF failed.
    #[error("TUF repository {url}: {reason}")]
    Tuf {
        /// The repository URL.
        url: String,
        /// What failed (tough's error chain: fetch, signature, expiry, rollback, target).
        reason: String,
        /// Whether it was the network (worth a retry).
        transient: bool,
    },
}

impl TrustError {
    /// Whether retrying may help: an interrupted or timed-out read, or an unreachable TUF
    /// repository.
    #[must_use]
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Read { source, .. } => matches!(
                source.kind(),
                std::io::ErrorKind::Interrupted | std::io::ErrorKind::TimedOut
            ),
            Self::Tuf { transient, .. } => *transient,
            _ => false,
        }
    }
}

/// A validity period; both ends inclusive, an absent end is open.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct TimeRange {
    /// First instant of validity (absent: unbounded).
    #[serde(default)]
    pub start: Option<Timestamp>,
    /// Last instant of validity (absent: still valid).
    #[serde(default)]
    pub end: Option<Timestamp>,
}

impl TimeRange {
    /// Whether `t` lies in the range (ends inclusive).
    #[must_use]
    pub fn contains(&self, t: Timestamp) -> bool {
        self.start.is_none_or(|s| s <= t) && self.end.is_none_or(|e| t <= e)
    }
}

/// A log's public key as the root gives it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogPublicKey {
    /// DER SubjectPublicKeyInfo.
    #[serde(default, alias = "raw_bytes", with = "b64")]
    pub raw_bytes: Vec<u8>,
    /// `PublicKeyDetails` name (`PKIX_ECDSA_P256_SHA_256`, `PKIX_ED25519`, ...).
    #[serde(default, alias = "key_details")]
    pub key_details: String,
    /// When the key may be used.
    #[serde(default, alias = "valid_for")]
    pub valid_for: TimeRange,
}

/// A log id.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogId {
    /// The key id bytes.
    #[serde(default, alias = "key_id", with = "b64")]
    pub key_id: Vec<u8>,
}

/// A transparency log (Rekor) or certificate transparency log instance.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TransparencyLog {
    /// The log's base URL.
    #[serde(default, alias = "base_url")]
    pub base_url: String,
    /// The Merkle tree hash (`SHA2_256`).
    #[serde(default, alias = "hash_algorithm")]
    pub hash_algorithm: String,
    /// The log's key.
    #[serde(default, alias = "public_key")]
    pub public_key: LogPublicKey,
    /// The log's id.
    #[serde(default, alias = "log_id")]
    pub log_id: LogId,
}

impl TransparencyLog {
    /// The decoded key (ECDSA P-256 or Ed25519).
    ///
    /// # Errors
    ///
    /// [`TrustError::UnsupportedKey`] for other algorithms or malformed DER.
    pub fn public_key(&self) -> Result<PublicKey, TrustError> {
        PublicKey::from_spki_der(&self.public_key.raw_bytes).map_err(|_| {
            TrustError::UnsupportedKey {
                log_id: hex::encode(&self.log_id.key_id),
                key_details: self.public_key.key_details.clone(),
            }
        })
    }

    /// The host of [`Self::base_url`] (a Rekor v2 log's checkpoint origin and signer
    /// name), or the whole URL when it has no scheme.
    #[must_use]
    pub fn host(&self) -> &str {
        let rest = self
            .base_url
            .split_once("://")
            .map_or(self.base_url.as_str(), |(_, r)| r);
        rest.split(['/', '?', '#']).next().unwrap_or(rest)
    }

    /// Whether the key may be used at `t`.
    #[must_use]
    pub fn valid_at(&self, t: Timestamp) -> bool {
        self.public_key.valid_for.contains(t)
    }
}

/// A subject name, as far as the root gives it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DistinguishedName {
    /// Organization (O).
    #[serde(default)]
    pub organization: String,
    /// Common name (CN).
    #[serde(default, alias = "common_name")]
    pub common_name: String,
}

/// A certificate chain, DER, issuing certificate first, root last.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct CertChain {
    /// The certificates.
    #[serde(default, deserialize_with = "raw_certs")]
    pub certificates: Vec<Vec<u8>>,
}

/// A certificate authority (Fulcio) or timestamp authority.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CertificateAuthority {
    /// The authority's subject.
    #[serde(default)]
    pub subject: DistinguishedName,
    /// The authority's URI.
    #[serde(default)]
    pub uri: String,
    /// Its certificate chain.
    #[serde(default, alias = "cert_chain")]
    pub cert_chain: CertChain,
    /// When certificates it issued (or timestamps it signed) are trusted.
    #[serde(default, alias = "valid_for")]
    pub valid_for: TimeRange,
}

/// A Sigstore trusted root.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TrustedRoot {
    /// The media type (`MEDIA_TYPE_V0_1`).
    #[serde(default, alias = "media_type")]
    pub media_type: String,
    /// Rekor logs.
    #[serde(default, deserialize_with = "null_default")]
    pub tlogs: Vec<TransparencyLog>,
    /// Fulcio certificate authorities.
    #[serde(
        default,
        alias = "certificate_authorities",
        deserialize_with = "null_default"
    )]
    pub certificate_authorities: Vec<CertificateAuthority>,
    /// Certificate transparency logs.
    #[serde(default, deserialize_with = "null_default")]
    pub ctlogs: Vec<TransparencyLog>,
    /// RFC 3161 timestamp authorities.
    #[serde(
        default,
        alias = "timestamp_authorities",
        deserialize_with = "null_default"
    )]
    pub timestamp_authorities: Vec<CertificateAuthority>,
}

impl TrustedRoot {
    /// Parse a `trusted_root.json`.
    ///
    /// # Errors
    ///
    /// [`TrustError::Json`] for malformed JSON, base64 or timestamps;
    /// [`TrustError::MediaType`] for another format.
    pub fn from_json(bytes: &[u8]) -> Result<Self, TrustError> {
        let root: Self = serde_json::from_slice(bytes).map_err(TrustError::Json)?;
        if !root.media_type.is_empty() && root.media_type != MEDIA_TYPE_V0_1 {
            return Err(TrustError::MediaType(root.media_type));
        }
        Ok(root)
    }

    /// Read and parse a `trusted_root.json` file.
    ///
    /// # Errors
    ///
    /// [`TrustError::Read`] when unreadable, else as [`TrustedRoot::from_json`].
    pub fn from_file(path: &std::path::Path) -> Result<Self, TrustError> {
        let bytes = std::fs::read(path).map_err(|source| TrustError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_json(&bytes)
    }

    /// The Sigstore public-good (production) trusted root as shipped, embedded, by the
    /// `sigstore-trust-root` crate (pinned; refreshed by upgrading that crate).
    ///
    /// # Errors
    ///
    /// As [`TrustedRoot::from_json`] (only if the embedded copy were malformed).
    pub fn public_good() -> Result<Self, TrustError> {
        Self::from_json(sigstore_trust_root::SIGSTORE_PRODUCTION_TRUSTED_ROOT.as_bytes())
    }

    /// The Rekor log with this log id, whatever its validity.
    #[must_use]
    pub fn tlog(&self, log_id: &[u8]) -> Option<&TransparencyLog> {
        self.tlogs.iter().find(|l| l.log_id.key_id == log_id)
    }

    /// The Rekor log with this log id and its key, checked valid at `time`.
    ///
    /// # Errors
    ///
    /// [`TrustError::UnknownLog`], [`TrustError::NotValidAt`] or
    /// [`TrustError::UnsupportedKey`].
    pub fn tlog_key_at(
        &self,
        log_id: &[u8],
        time: Timestamp,
    ) -> Result<(&TransparencyLog, PublicKey), TrustError> {
        key_at(&self.tlogs, log_id, time)
    }

    /// The CT log with this log id and its key, checked valid at `time`.
    ///
    /// # Errors
    ///
    /// As [`TrustedRoot::tlog_key_at`].
    pub fn ctlog_key_at(
        &self,
        log_id: &[u8],
        time: Timestamp,
    ) -> Result<(&TransparencyLog, PublicKey), TrustError> {
        key_at(&self.ctlogs, log_id, time)
    }

    /// Fulcio authorities whose validity period contains `time`.
    pub fn fulcio_cas_at(&self, time: Timestamp) -> impl Iterator<Item = &CertificateAuthority> {
        self.certificate_authorities
            .iter()
            .filter(move |ca| ca.valid_for.contains(time))
    }

    /// Timestamp authorities whose validity period contains `time`.
    pub fn tsas_at(&self, time: Timestamp) -> impl Iterator<Item = &CertificateAuthority> {
        self.timestamp_authorities
            .iter()
            .filter(move |ca| ca.valid_for.contains(time))
    }
}

fn key_at<'a>(
    logs: &'a [TransparencyLog],
    log_id: &[u8],
    time: Timestamp,
) -> Result<(&'a TransparencyLog, PublicKey), TrustError> {
    let mut found = false;
    // Several entries may share an id (a rotated validity period): take a valid one.
    for log in logs.iter().filter(|l| l.log_id.key_id == log_id) {
        found = true;
        if log.valid_at(time) {
            return Ok((log, log.public_key()?));
        }
    }
    if found {
        Err(TrustError::NotValidAt {
            log_id: hex::encode(log_id),
            time: time.to_string(),
        })
    } else {
        Err(TrustError::UnknownLog {
            log_id: hex::encode(log_id),
        })
    }
}

/// Decode protojson `bytes`: standard base64, URL-safe and unpadded accepted.
pub(crate) fn decode_b64(s: &str) -> Result<Vec<u8>, base64::DecodeError> {
    use base64::engine::DecodePaddingMode;
    use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
    const CFG: GeneralPurposeConfig =
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
    const STD: GeneralPurpose = GeneralPurpose::new(&base64::alphabet::STANDARD, CFG);
    const URL: GeneralPurpose = GeneralPurpose::new(&base64::alphabet::URL_SAFE, CFG);
    if s.contains(['-', '_']) {
        URL.decode(s)
    } else {
        STD.decode(s)
    }
}

mod b64 {
    use serde::{Deserialize, Deserializer};

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = Option::<String>::deserialize(d)?.unwrap_or_default();
        super::decode_b64(&s).map_err(|e| serde::de::Error::custom(format!("invalid base64: {e}")))
    }
}

fn null_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

fn raw_certs<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<Vec<u8>>, D::Error> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Raw {
        #[serde(default, alias = "raw_bytes", with = "b64")]
        raw_bytes: Vec<u8>,
    }
    Ok(Option::<Vec<Raw>>::deserialize(d)?
        .unwrap_or_default()
        .into_iter()
        .map(|r| r.raw_bytes)
        .collect())
}

#[cfg(test)]
#[allow(clippy::panic)] // Tests report failures by panicking.
mod tests {
    use super::*;
    use crate::test_support::shared_dir;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn b64(s: &str) -> Vec<u8> {
        decode_b64(s).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn public_good_fixture_and_embedded() {
        let path = shared_dir().join("sigstore-trust/public-good.trusted_root.json");
        let root = TrustedRoot::from_file(&path).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(root.media_type, MEDIA_TYPE_V0_1);
        assert!(root.tlogs.len() >= 2 && root.ctlogs.len() >= 2);
        assert!(!root.certificate_authorities.is_empty() && !root.timestamp_authorities.is_empty());
        let rekor_id = b64("wNI9atQGlz+VWfO6LRygH4QUfY/8W4RFwiT5i5WRgB0=");
        let (log, key) = root
            .tlog_key_at(&rekor_id, ts("2024-03-19T17:26:26Z"))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(log.base_url, "https://rekor.sigstore.dev");
        assert_eq!(log.host(), "rekor.sigstore.dev");
        assert_eq!(
            key.algorithm(),
            crate::signing::KeyAlgorithm::EcdsaP256Sha256
        );
        // Rekor v1 log id = SHA-256 of the key's DER.
        use sha2::Digest as _;
        assert_eq!(sha2::Sha256::digest(key.spki_der()).as_slice(), rekor_id);
        // Before the key's validity.
        assert!(matches!(
            root.tlog_key_at(&rekor_id, ts("2020-01-01T00:00:00Z")),
            Err(TrustError::NotValidAt { .. })
        ));
        assert!(matches!(
            root.tlog_key_at(&[0; 32], ts("2024-01-01T00:00:00Z")),
            Err(TrustError::UnknownLog { .. })
        ));
        // CT log lookup, and the Fulcio/TSA filters.
        let ct = b64("3T0wasbHETJjGR4cmWc3AqJKXrjePK3/h4pygC8p7o4=");
        assert!(root.ctlog_key_at(&ct, ts("2024-01-01T00:00:00Z")).is_ok());
        let now = ts("2025-08-01T00:00:00Z");
        assert!(
            root.fulcio_cas_at(now)
                .all(|ca| !ca.cert_chain.certificates.is_empty())
        );
        assert_eq!(root.fulcio_cas_at(now).count(), 1);
        assert!(root.fulcio_cas_at(ts("2022-06-01T00:00:00Z")).count() >= 1);
        assert!(root.tsas_at(now).count() >= 1);
        // The embedded copy parses and knows the same Rekor v1 log.
        let embedded = TrustedRoot::public_good().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(embedded.tlog(&rekor_id), root.tlog(&rekor_id));
    }

    #[test]
    fn every_conformance_root_parses() {
        let dir = shared_dir().join("sigstore-conformance/bundle-verify");
        let mut n = 0;
        for e in std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{e}"))
            .flatten()
        {
            let p = e.path().join("trusted_root.json");
            if !p.exists() {
                continue;
            }
            let root =
                TrustedRoot::from_file(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            assert!(!root.tlogs.is_empty(), "{}", p.display());
            for l in &root.tlogs {
                if matches!(
                    l.public_key.key_details.as_str(),
                    "PKIX_ECDSA_P256_SHA_256" | "PKIX_ED25519"
                ) {
                    l.public_key()
                        .unwrap_or_else(|e| panic!("{}: {e}", p.display()));
                }
            }
            n += 1;
        }
        assert!(n >= 20, "only {n} roots");
        let cosign = TrustedRoot::from_file(&shared_dir().join("cosign/trusted_root_pgi.json"))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(cosign.tlogs.len(), 1);
    }

    #[test]
    fn validity_end_is_inclusive_and_rejects_bad_input() {
        let r = TimeRange {
            start: Some(ts("2021-01-01T00:00:00Z")),
            end: Some(ts("2022-01-01T00:00:00Z")),
        };
        assert!(r.contains(ts("2022-01-01T00:00:00Z")));
        assert!(r.contains(ts("2021-01-01T00:00:00Z")));
        assert!(!r.contains(ts("2022-01-01T00:00:01Z")));
        assert!(matches!(
            TrustedRoot::from_json(br#"{"mediaType":"x"}"#),
            Err(TrustError::MediaType(_))
        ));
        assert!(matches!(
            TrustedRoot::from_json(br#"{"tlogs":[{"publicKey":{"rawBytes":"!!"}}]}"#),
            Err(TrustError::Json(_))
        ));
        assert!(matches!(
            TrustedRoot::from_json(
                br#"{"tlogs":[{"publicKey":{"validFor":{"start":"yesterday"}}}]}"#
            ),
            Err(TrustError::Json(_))
        ));
        let rsa = br#"{"ctlogs":[{"publicKey":{"rawBytes":"AAAA","keyDetails":"PKCS1_RSA_PKCS1V5"},"logId":{"keyId":"AQ=="}}]}"#;
        let root = TrustedRoot::from_json(rsa).unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(
            root.ctlog_key_at(&[1], ts("2024-01-01T00:00:00Z")),
            Err(TrustError::UnsupportedKey { .. })
        ));
        assert!(
            !TrustError::Json(
                serde_json::from_str::<u8>("x")
                    .err()
                    .unwrap_or_else(|| panic!())
            )
            .is_transient()
        );
    }
}
