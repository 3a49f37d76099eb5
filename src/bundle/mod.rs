//! Sigstore bundles (v0.1, v0.2, v0.3) as protojson: typed reading and writing.
//!
//! Media types: `application/vnd.dev.sigstore.bundle+json;version=0.1` / `0.2` / `0.3`
//! and `application/vnd.dev.sigstore.bundle.v0.3+json`. Protojson conventions: camelCase
//! field names (the proto snake_case names are accepted too), `int64` as strings (numbers
//! accepted), `bytes` as standard base64 (URL-safe and unpadded accepted), default values
//! omitted (so every scalar is optional on input), unknown fields ignored.
//!
//! Parsing decodes every field into typed values but checks no signature, proof or
//! certificate: that is [`crate::verify`]'s job. The types carry everything keyless and
//! transparency-log verification need (certificates, tlog entries with inclusion
//! promise/proof and checkpoint, RFC 3161 timestamps).

use serde::{Deserialize, Serialize};

use crate::dsse::Envelope;

/// Bundle v0.1 media type.
pub const MEDIA_TYPE_V0_1: &str = "application/vnd.dev.sigstore.bundle+json;version=0.1";
/// Bundle v0.2 media type.
pub const MEDIA_TYPE_V0_2: &str = "application/vnd.dev.sigstore.bundle+json;version=0.2";
/// Bundle v0.3 media type, legacy spelling.
pub const MEDIA_TYPE_V0_3_LEGACY: &str = "application/vnd.dev.sigstore.bundle+json;version=0.3";
/// Bundle v0.3 media type (the one to write).
pub const MEDIA_TYPE_V0_3: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";

/// Errors reading a bundle.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BundleError {
    /// Not JSON of the bundle's shape (wrong types, bad base64, bad integers).
    #[error("malformed Sigstore bundle JSON")]
    Json(#[source] serde_json::Error),
    /// The media type is missing or not a supported bundle version.
    #[error("unsupported bundle media type `{0}`")]
    MediaType(String),
    /// A required part is missing.
    #[error("bundle has no {0}")]
    Missing(&'static str),
    /// The bundle's content is neither `messageSignature` nor `dsseEnvelope`, or both.
    #[error("bundle must have exactly one of messageSignature and dsseEnvelope")]
    Content,
    /// The verification material holds more than one of publicKey,
    /// x509CertificateChain and certificate.
    #[error(
        "bundle verification material must have exactly one of publicKey, x509CertificateChain and certificate"
    )]
    KeyMaterial,
}

impl BundleError {
    /// Whether retrying may help: never, the input is malformed.
    #[must_use]
    pub fn is_transient(&self) -> bool {
        false
    }
}

/// The bundle format version.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum BundleVersion {
    /// v0.1 (inclusion promise required, certificate chains).
    V0_1,
    /// v0.2 (inclusion proof required).
    V0_2,
    /// v0.3 (single leaf certificate).
    V0_3,
}

impl BundleVersion {
    /// The version from a bundle media type.
    #[must_use]
    pub fn from_media_type(media_type: &str) -> Option<Self> {
        match media_type {
            MEDIA_TYPE_V0_1 => Some(Self::V0_1),
            MEDIA_TYPE_V0_2 => Some(Self::V0_2),
            MEDIA_TYPE_V0_3 | MEDIA_TYPE_V0_3_LEGACY => Some(Self::V0_3),
            _ => None,
        }
    }
}

/// A Sigstore bundle.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Bundle {
    /// The media type (one of the `MEDIA_TYPE_*` constants).
    #[serde(default, alias = "media_type")]
    pub media_type: String,
    /// Keys/certificates, transparency log entries and timestamps.
    #[serde(
        default,
        alias = "verification_material",
        skip_serializing_if = "Option::is_none"
    )]
    pub verification_material: Option<VerificationMaterial>,
    /// A signature over a message digest (cosign `sign-blob`).
    #[serde(
        default,
        alias = "message_signature",
        skip_serializing_if = "Option::is_none"
    )]
    pub message_signature: Option<MessageSignature>,
    /// A DSSE envelope (attestations).
    #[serde(
        default,
        alias = "dsse_envelope",
        skip_serializing_if = "Option::is_none"
    )]
    pub dsse_envelope: Option<Envelope>,
}

/// What a bundle signs.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub enum Content<'a> {
    /// A signature over an artifact digest.
    MessageSignature(&'a MessageSignature),
    /// A DSSE envelope.
    DsseEnvelope(&'a Envelope),
}

impl Bundle {
    /// Parse and structurally check a bundle: supported media type, verification
    /// material present with exactly one kind of key material, exactly one content.
    ///
    /// # Errors
    ///
    /// [`BundleError`] says which part is malformed or missing.
    pub fn from_json(bytes: &[u8]) -> Result<Self, BundleError> {
        let b: Self = serde_json::from_slice(bytes).map_err(BundleError::Json)?;
        b.version()?;
        let vm = b
            .verification_material
            .as_ref()
            .ok_or(BundleError::Missing("verificationMaterial"))?;
        let kinds = usize::from(vm.public_key.is_some())
            + usize::from(vm.x509_certificate_chain.is_some())
            + usize::from(vm.certificate.is_some());
        if kinds > 1 {
            return Err(BundleError::KeyMaterial);
        }
        if kinds == 0 {
            return Err(BundleError::Missing(
                "key material (publicKey, x509CertificateChain or certificate)",
            ));
        }
        b.content()?;
        Ok(b)
    }

    /// The bundle as protojson (camelCase, defaults omitted).
    #[must_use]
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// The format version from the media type.
    ///
    /// # Errors
    ///
    /// [`BundleError::MediaType`] for an unknown media type.
    pub fn version(&self) -> Result<BundleVersion, BundleError> {
        BundleVersion::from_media_type(&self.media_type)
            .ok_or_else(|| BundleError::MediaType(self.media_type.clone()))
    }

    /// The signed content.
    ///
    /// # Errors
    ///
    /// [`BundleError::Content`] unless exactly one of the two is present.
    pub fn content(&self) -> Result<Content<'_>, BundleError> {
        match (&self.message_signature, &self.dsse_envelope) {
            (Some(m), None) => Ok(Content::MessageSignature(m)),
            (None, Some(e)) => Ok(Content::DsseEnvelope(e)),
            _ => Err(BundleError::Content),
        }
    }

    /// The verification material.
    ///
    /// # Errors
    ///
    /// [`BundleError::Missing`] when absent.
    pub fn material(&self) -> Result<&VerificationMaterial, BundleError> {
        self.verification_material
            .as_ref()
            .ok_or(BundleError::Missing("verificationMaterial"))
    }
}

/// Key material, transparency log entries and timestamps.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VerificationMaterial {
    /// A hint naming a key the verifier knows (managed keys).
    #[serde(default, alias = "public_key", skip_serializing_if = "Option::is_none")]
    pub public_key: Option<PublicKeyIdentifier>,
    /// A certificate chain, leaf first (v0.1/v0.2).
    #[serde(
        default,
        alias = "x509_certificate_chain",
        skip_serializing_if = "Option::is_none"
    )]
    pub x509_certificate_chain: Option<X509CertificateChain>,
    /// The leaf certificate (v0.3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<X509Certificate>,
    /// Transparency log entries.
    #[serde(
        default,
        alias = "tlog_entries",
        deserialize_with = "protojson::null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub tlog_entries: Vec<TransparencyLogEntry>,
    /// RFC 3161 signed timestamps.
    #[serde(
        default,
        alias = "timestamp_verification_data",
        skip_serializing_if = "Option::is_none"
    )]
    pub timestamp_verification_data: Option<TimestampVerificationData>,
}

/// A key hint.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicKeyIdentifier {
    /// Free-form hint (often base64 of a key digest); may be empty.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub hint: String,
}

/// One DER certificate.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct X509Certificate {
    /// DER bytes.
    #[serde(default, alias = "raw_bytes", with = "protojson::bytes")]
    pub raw_bytes: Vec<u8>,
}

/// A certificate chain, leaf first.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct X509CertificateChain {
    /// The certificates.
    #[serde(default, deserialize_with = "protojson::null_default")]
    pub certificates: Vec<X509Certificate>,
}

/// A transparency log (Rekor) entry.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TransparencyLogEntry {
    /// Global log index (v1) / shard index.
    #[serde(default, alias = "log_index", with = "protojson::int64")]
    pub log_index: i64,
    /// The log's id.
    #[serde(default, alias = "log_id")]
    pub log_id: LogId,
    /// Entry kind and version (`hashedrekord` 0.0.1, `dsse` 0.0.1, `intoto` 0.0.2, ...).
    #[serde(default, alias = "kind_version")]
    pub kind_version: KindVersion,
    /// Unix seconds the log integrated the entry (0 / absent for Rekor v2).
    #[serde(default, alias = "integrated_time", with = "protojson::int64")]
    pub integrated_time: i64,
    /// Signed entry timestamp (v0.1 bundles).
    #[serde(
        default,
        alias = "inclusion_promise",
        skip_serializing_if = "Option::is_none"
    )]
    pub inclusion_promise: Option<InclusionPromise>,
    /// Merkle inclusion proof with checkpoint (v0.2+).
    #[serde(
        default,
        alias = "inclusion_proof",
        skip_serializing_if = "Option::is_none"
    )]
    pub inclusion_proof: Option<InclusionProof>,
    /// The canonical entry body the log hashed.
    #[serde(default, alias = "canonicalized_body", with = "protojson::bytes")]
    pub canonicalized_body: Vec<u8>,
}

/// A log id (SHA-256 of the log's public key, for Rekor v1).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogId {
    /// The key id bytes.
    #[serde(default, alias = "key_id", with = "protojson::bytes")]
    pub key_id: Vec<u8>,
}

/// Entry kind and version.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KindVersion {
    /// Kind (`hashedrekord`, `dsse`, `intoto`).
    #[serde(default)]
    pub kind: String,
    /// Version (`0.0.1`, ...).
    #[serde(default)]
    pub version: String,
}

/// A signed entry timestamp.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InclusionPromise {
    /// The SET bytes (ASN.1 ECDSA signature).
    #[serde(default, alias = "signed_entry_timestamp", with = "protojson::bytes")]
    pub signed_entry_timestamp: Vec<u8>,
}

/// A Merkle inclusion proof.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InclusionProof {
    /// Shard-local leaf index.
    #[serde(default, alias = "log_index", with = "protojson::int64")]
    pub log_index: i64,
    /// Root hash at `tree_size`.
    #[serde(default, alias = "root_hash", with = "protojson::bytes")]
    pub root_hash: Vec<u8>,
    /// Tree size.
    #[serde(default, alias = "tree_size", with = "protojson::int64")]
    pub tree_size: i64,
    /// Audit path hashes.
    #[serde(default, with = "protojson::bytes_vec")]
    pub hashes: Vec<Vec<u8>>,
    /// The signed checkpoint note.
    #[serde(default)]
    pub checkpoint: Checkpoint,
}

/// A signed checkpoint (note format).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// The note text with signature lines.
    #[serde(default)]
    pub envelope: String,
}

/// Timestamps from timestamp authorities.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TimestampVerificationData {
    /// RFC 3161 timestamps over the signature.
    #[serde(
        default,
        alias = "rfc3161_timestamps",
        deserialize_with = "protojson::null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub rfc3161_timestamps: Vec<Rfc3161SignedTimestamp>,
}

/// One RFC 3161 timestamp response.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Rfc3161SignedTimestamp {
    /// DER `TimeStampResponse`/token bytes.
    #[serde(default, alias = "signed_timestamp", with = "protojson::bytes")]
    pub signed_timestamp: Vec<u8>,
}

/// A signature over an artifact digest.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageSignature {
    /// The artifact digest (optional in the spec, always written by cosign).
    #[serde(
        default,
        alias = "message_digest",
        skip_serializing_if = "Option::is_none"
    )]
    pub message_digest: Option<HashOutput>,
    /// The signature bytes (ASN.1 DER for ECDSA).
    #[serde(default, with = "protojson::bytes")]
    pub signature: Vec<u8>,
}

/// A digest with its algorithm.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HashOutput {
    /// The algorithm.
    #[serde(default)]
    pub algorithm: HashAlgorithm,
    /// The digest bytes.
    #[serde(default, with = "protojson::bytes")]
    pub digest: Vec<u8>,
}

/// Hash algorithms of the Sigstore protobuf specs.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HashAlgorithm {
    /// `HASH_ALGORITHM_UNSPECIFIED` (0).
    #[default]
    Unspecified,
    /// `SHA2_256` (1).
    Sha2_256,
    /// `SHA2_384` (2).
    Sha2_384,
    /// `SHA2_512` (3).
    Sha2_512,
    /// `SHA3_256` (4).
    Sha3_256,
    /// `SHA3_384` (5).
    Sha3_384,
    /// Anything else, kept verbatim.
    Other(String),
}

impl HashAlgorithm {
    /// The protojson enum name.
    #[must_use]
    pub fn as_str(&self) -> &str {
        match self {
            Self::Unspecified => "HASH_ALGORITHM_UNSPECIFIED",
            Self::Sha2_256 => "SHA2_256",
            Self::Sha2_384 => "SHA2_384",
            Self::Sha2_512 => "SHA2_512",
            Self::Sha3_256 => "SHA3_256",
            Self::Sha3_384 => "SHA3_384",
            Self::Other(s) => s,
        }
    }

    fn from_name(s: &str) -> Self {
        match s {
            "HASH_ALGORITHM_UNSPECIFIED" | "0" => Self::Unspecified,
            "SHA2_256" | "1" => Self::Sha2_256,
            "SHA2_384" | "2" => Self::Sha2_384,
            "SHA2_512" | "3" => Self::Sha2_512,
            "SHA3_256" | "4" => Self::Sha3_256,
            "SHA3_384" | "5" => Self::Sha3_384,
            other => Self::Other(other.to_owned()),
        }
    }
}

impl Serialize for HashAlgorithm {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for HashAlgorithm {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Name(String),
            Number(u64),
        }
        Ok(match Raw::deserialize(d)? {
            Raw::Name(s) => Self::from_name(&s),
            Raw::Number(n) => Self::from_name(&n.to_string()),
        })
    }
}

/// serde helpers for protojson scalars.
mod protojson {
    use base64::Engine as _;
    use base64::engine::DecodePaddingMode;
    use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
    use serde::{Deserialize, Deserializer, Serializer};

    const LENIENT: GeneralPurposeConfig =
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
    const STD_LENIENT: GeneralPurpose = GeneralPurpose::new(&base64::alphabet::STANDARD, LENIENT);
    const URL_LENIENT: GeneralPurpose = GeneralPurpose::new(&base64::alphabet::URL_SAFE, LENIENT);

    /// Decode protojson bytes like Go's protojson (the reference implementation): the
    /// standard or URL-safe alphabet, padding optional, and line breaks (`\r`, `\n`)
    /// ignored as Go's `encoding/base64` ignores them (`base64 FILE` wraps at 76).
    pub(super) fn decode(s: &str) -> Result<Vec<u8>, base64::DecodeError> {
        if s.contains(['\r', '\n']) {
            let joined: String = s.chars().filter(|c| !matches!(c, '\r' | '\n')).collect();
            return decode(&joined);
        }
        if s.contains(['-', '_']) {
            URL_LENIENT.decode(s)
        } else {
            STD_LENIENT.decode(s)
        }
    }

    pub(super) fn null_default<'de, D, T>(d: D) -> Result<T, D::Error>
    where
        D: Deserializer<'de>,
        T: Deserialize<'de> + Default,
    {
        Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
    }

    pub(super) mod bytes {
        use super::*;

        pub(in super::super) fn serialize<S: Serializer>(
            v: &[u8],
            s: S,
        ) -> Result<S::Ok, S::Error> {
            s.serialize_str(&STANDARD.encode(v))
        }

        pub(in super::super) fn deserialize<'de, D: Deserializer<'de>>(
            d: D,
        ) -> Result<Vec<u8>, D::Error> {
            let s = Option::<String>::deserialize(d)?.unwrap_or_default();
            decode(&s).map_err(|e| serde::de::Error::custom(format!("invalid base64: {e}")))
        }
    }

    pub(super) mod bytes_vec {
        use super::*;
        use serde::ser::SerializeSeq as _;

        pub(in super::super) fn serialize<S: Serializer>(
            v: &[Vec<u8>],
            s: S,
        ) -> Result<S::Ok, S::Error> {
            let mut seq = s.serialize_seq(Some(v.len()))?;
            for b in v {
                seq.serialize_element(&STANDARD.encode(b))?;
            }
            seq.end()
        }

        pub(in super::super) fn deserialize<'de, D: Deserializer<'de>>(
            d: D,
        ) -> Result<Vec<Vec<u8>>, D::Error> {
            Option::<Vec<String>>::deserialize(d)?
                .unwrap_or_default()
                .iter()
                .map(|s| {
                    decode(s).map_err(|e| serde::de::Error::custom(format!("invalid base64: {e}")))
                })
                .collect()
        }
    }

    pub(super) mod int64 {
        use super::*;

        pub(in super::super) fn serialize<S: Serializer>(v: &i64, s: S) -> Result<S::Ok, S::Error> {
            s.serialize_str(&v.to_string())
        }

        pub(in super::super) fn deserialize<'de, D: Deserializer<'de>>(
            d: D,
        ) -> Result<i64, D::Error> {
            #[derive(Deserialize)]
            #[serde(untagged)]
            enum Raw {
                Str(String),
                Int(i64),
            }
            match Option::<Raw>::deserialize(d)? {
                None => Ok(0),
                Some(Raw::Int(i)) => Ok(i),
                Some(Raw::Str(s)) => s
                    .parse()
                    .map_err(|_| serde::de::Error::custom(format!("invalid int64 `{s}`"))),
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::panic)] // Tests report failures by panicking.
mod tests {
    use super::*;
    use crate::test_support::shared_dir;

    fn conformance(name: &str) -> Vec<u8> {
        let p = shared_dir()
            .join("sigstore-conformance/bundle-verify")
            .join(name)
            .join("bundle.sigstore.json");
        std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
    }

    #[test]
    fn reads_managed_key_message_signature_v0_3() {
        let b = Bundle::from_json(&conformance("managed-key-happy-path"))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(b.version().ok(), Some(BundleVersion::V0_3));
        let vm = b.material().unwrap_or_else(|e| panic!("{e}"));
        assert!(vm.public_key.is_some());
        assert_eq!(vm.tlog_entries.len(), 1);
        let e = &vm.tlog_entries[0];
        assert_eq!(e.log_index, 771_488_337);
        assert_eq!(e.kind_version.kind, "hashedrekord");
        assert_eq!(
            e.inclusion_proof.as_ref().map(|p| p.tree_size),
            Some(649_584_076)
        );
        assert_eq!(e.inclusion_proof.as_ref().map(|p| p.hashes.len()), Some(20));
        assert!(
            e.inclusion_proof
                .as_ref()
                .is_some_and(|p| p.checkpoint.envelope.starts_with("rekor.sigstore.dev"))
        );
        assert_eq!(
            vm.timestamp_verification_data
                .as_ref()
                .map(|t| t.rfc3161_timestamps.len()),
            Some(1)
        );
        let Ok(Content::MessageSignature(m)) = b.content() else {
            panic!("content")
        };
        let d = m
            .message_digest
            .as_ref()
            .unwrap_or_else(|| panic!("digest"));
        assert_eq!(d.algorithm, HashAlgorithm::Sha2_256);
        assert_eq!(
            hex::encode(&d.digest),
            "a0cfc71271d6e278e57cd332ff957c3f7043fdda354c4cbb190a30d56efa01bf"
        );
        // Round trip through our writer.
        let again = Bundle::from_json(&b.to_json()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(again, b);
    }

    #[test]
    fn reads_all_conformance_versions() {
        let dir = shared_dir().join("sigstore-conformance/bundle-verify");
        let mut seen = 0;
        for entry in std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{e}"))
            .flatten()
        {
            let path = entry.path().join("bundle.sigstore.json");
            let Ok(bytes) = std::fs::read(&path) else {
                continue;
            };
            let name = entry.file_name().to_string_lossy().into_owned();
            let r = Bundle::from_json(&bytes);
            match name.as_str() {
                "bundle-unknown-version_fail" => {
                    assert!(matches!(r, Err(BundleError::MediaType(_))), "{name}: {r:?}")
                }
                "bundle-invalid-base64-signature_fail" => assert!(r.is_err(), "{name}"),
                _ if name.ends_with("_fail") => {}
                _ => {
                    let b = r.unwrap_or_else(|e| panic!("{name}: {e}"));
                    assert_eq!(Bundle::from_json(&b.to_json()).ok(), Some(b), "{name}");
                    seen += 1;
                }
            }
        }
        assert!(seen >= 5, "only {seen} happy bundles");
    }

    #[test]
    fn v0_1_chain_and_dsse() {
        let b =
            Bundle::from_json(&conformance("happy-path-v0.1")).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(b.version().ok(), Some(BundleVersion::V0_1));
        let b = Bundle::from_json(&conformance("happy-path-intoto-in-dsse-v3"))
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            matches!(b.content(), Ok(Content::DsseEnvelope(e)) if e.payload_type == crate::dsse::IN_TOTO_PAYLOAD_TYPE)
        );
    }

    #[test]
    fn protojson_scalars() {
        let j = br#"{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json",
            "verification_material":{"publicKey":{},"tlogEntries":[{"logIndex":7,"integratedTime":"-1","canonicalizedBody":"-_8"}]},
            "messageSignature":{"signature":"AQ","messageDigest":{"algorithm":1,"digest":"AA=="}}}"#;
        let b = Bundle::from_json(j).unwrap_or_else(|e| panic!("{e}"));
        let e = &b.material().unwrap_or_else(|e| panic!("{e}")).tlog_entries[0];
        assert_eq!((e.log_index, e.integrated_time), (7, -1));
        assert_eq!(e.canonicalized_body, vec![0xfb, 0xff]);
        assert!(matches!(
            Bundle::from_json(br#"{"mediaType":"x"}"#),
            Err(BundleError::MediaType(_))
        ));
        let none = br#"{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":{"publicKey":{}}}"#;
        assert!(matches!(Bundle::from_json(none), Err(BundleError::Content)));
        let bad = br#"{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":{"publicKey":{}},"messageSignature":{"signature":"!!"}}"#;
        assert!(matches!(Bundle::from_json(bad), Err(BundleError::Json(_))));
    }

    #[test]
    fn base64_line_breaks_are_ignored_like_go() {
        let wrapped = "aGVsbG8g\nd29y\r\nbGQ=";
        assert_eq!(
            super::protojson::decode(wrapped).ok().as_deref(),
            Some(&b"hello world"[..])
        );
        assert!(super::protojson::decode("aGVs bG8=").is_err());
    }
}
