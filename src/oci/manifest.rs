//! OCI image manifests, image indexes and descriptors, parsed from untrusted registry bytes
//! into typed values, and the media types and annotations of cosign's and Sigstore's
//! layouts (DESIGN.md, wire compatibility items 1–3).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::OciError;
use super::reference::Digest;

/// OCI image manifest.
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// OCI image index.
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// Docker schema 2 manifest (what cosign v2 writes for `.att` and `.sig`).
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
/// Docker manifest list.
pub const DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
/// The media types asked for when reading manifests.
pub const ACCEPT_MANIFESTS: [&str; 4] = [
    OCI_MANIFEST,
    OCI_INDEX,
    DOCKER_MANIFEST,
    DOCKER_MANIFEST_LIST,
];
/// A DSSE envelope layer (cosign legacy `.att`).
pub const DSSE_ENVELOPE: &str = "application/vnd.dsse.envelope.v1+json";
/// A simple-signing payload layer (cosign legacy `.sig`).
pub const SIMPLE_SIGNING: &str = "application/vnd.dev.cosign.simplesigning.v1+json";
/// The prefix of Sigstore bundle media types and artifact types.
pub const SIGSTORE_BUNDLE_PREFIX: &str = "application/vnd.dev.sigstore.bundle";
/// The Sigstore bundle v0.3 media type.
pub const SIGSTORE_BUNDLE_V03: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";
/// The empty config blob's media type (`{}`).
pub const OCI_EMPTY: &str = "application/vnd.oci.empty.v1+json";

/// Layer annotation: the base64 signature (`""` on attestations).
pub const ANNOTATION_SIGNATURE: &str = "dev.cosignproject.cosign/signature";
/// Layer annotation: the PEM signing certificate.
pub const ANNOTATION_CERTIFICATE: &str = "dev.sigstore.cosign/certificate";
/// Layer annotation: the PEM certificate chain (intermediates and root).
pub const ANNOTATION_CHAIN: &str = "dev.sigstore.cosign/chain";
/// Layer annotation: the Rekor bundle (`{"SignedEntryTimestamp":..,"Payload":{..}}`).
pub const ANNOTATION_BUNDLE: &str = "dev.sigstore.cosign/bundle";
/// Layer annotation: the attestation's predicate type.
pub const ANNOTATION_PREDICATE_TYPE: &str = "predicateType";
/// Referrer manifest annotation: the bundle's content kind (`dsse-envelope`, ...).
pub const ANNOTATION_BUNDLE_CONTENT: &str = "dev.sigstore.bundle.content";
/// Referrer manifest annotation: the predicate type of the bundle's statement.
pub const ANNOTATION_BUNDLE_PREDICATE_TYPE: &str = "dev.sigstore.bundle.predicateType";

/// The largest manifest hallmark reads (as go-containerregistry: 4 MiB).
pub const MAX_MANIFEST_BYTES: usize = 4 << 20;

/// A content descriptor.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    /// The content's media type.
    #[serde(default)]
    pub media_type: String,
    /// The content's digest.
    pub digest: String,
    /// The content's size in bytes.
    pub size: i64,
    /// The artifact type (referrers index entries).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    /// Annotations.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

impl Descriptor {
    /// The digest, checked to be `sha256:<hex>`.
    ///
    /// # Errors
    ///
    /// [`OciError::InvalidDigest`] otherwise.
    pub fn sha256(&self) -> Result<Digest, OciError> {
        Digest::parse(&self.digest)
    }

    /// The size as a byte count, refused when negative or above `limit`.
    ///
    /// # Errors
    ///
    /// [`OciError::Malformed`] for a negative size, [`OciError::TooLarge`] above `limit`.
    pub fn size_within(&self, limit: usize) -> Result<usize, OciError> {
        let size = usize::try_from(self.size).map_err(|_| OciError::Malformed {
            what: format!("descriptor {}", self.digest),
            reason: format!("negative size {}", self.size),
        })?;
        if size > limit {
            return Err(OciError::TooLarge {
                what: format!("blob {}", self.digest),
                limit,
            });
        }
        Ok(size)
    }
}

/// An image manifest (OCI or Docker schema 2).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageManifest {
    /// Always 2.
    pub schema_version: u32,
    /// The manifest's media type (optional in OCI).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    /// The artifact type (OCI 1.1 artifacts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    /// The config blob.
    pub config: Descriptor,
    /// The layers.
    #[serde(default)]
    pub layers: Vec<Descriptor>,
    /// The manifest this one refers to (OCI 1.1 referrers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<Descriptor>,
    /// Annotations.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// An image index (also the referrers API's answer and the fallback tag's content).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageIndex {
    /// Always 2.
    pub schema_version: u32,
    /// The index's media type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    /// The manifests it lists.
    #[serde(default)]
    pub manifests: Vec<Descriptor>,
    /// Annotations.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

fn check_schema(what: &str, version: u32) -> Result<(), OciError> {
    if version == 2 {
        Ok(())
    } else {
        Err(OciError::Malformed {
            what: what.to_owned(),
            reason: format!("schemaVersion {version}, expected 2"),
        })
    }
}

impl ImageManifest {
    /// Parse an image manifest.
    ///
    /// # Errors
    ///
    /// [`OciError::Malformed`] for bytes that are not a schema 2 image manifest (an index
    /// included).
    pub fn from_json(what: &str, bytes: &[u8]) -> Result<Self, OciError> {
        let m: Self = serde_json::from_slice(bytes).map_err(|e| OciError::Malformed {
            what: what.to_owned(),
            reason: format!("not an image manifest: {e}"),
        })?;
        check_schema(what, m.schema_version)?;
        match m.media_type.as_deref() {
            None | Some(OCI_MANIFEST | DOCKER_MANIFEST) => Ok(m),
            Some(other) => Err(OciError::Malformed {
                what: what.to_owned(),
                reason: format!("media type {other}, expected an image manifest"),
            }),
        }
    }
}

impl ImageIndex {
    /// Parse an image index.
    ///
    /// # Errors
    ///
    /// [`OciError::Malformed`] for bytes that are not a schema 2 image index.
    pub fn from_json(what: &str, bytes: &[u8]) -> Result<Self, OciError> {
        let i: Self = serde_json::from_slice(bytes).map_err(|e| OciError::Malformed {
            what: what.to_owned(),
            reason: format!("not an image index: {e}"),
        })?;
        check_schema(what, i.schema_version)?;
        match i.media_type.as_deref() {
            None | Some(OCI_INDEX | DOCKER_MANIFEST_LIST) => Ok(i),
            Some(other) => Err(OciError::Malformed {
                what: what.to_owned(),
                reason: format!("media type {other}, expected an image index"),
            }),
        }
    }
}

/// cosign's legacy attestation tag for an image digest: `sha256-<hex>.att`.
#[must_use]
pub fn attestation_tag(digest: &Digest) -> String {
    format!("{}.att", digest.tag_prefix())
}

/// cosign's legacy signature tag for an image digest: `sha256-<hex>.sig`.
#[must_use]
pub fn signature_tag(digest: &Digest) -> String {
    format!("{}.sig", digest.tag_prefix())
}

/// The OCI referrers fallback tag for a subject digest: `sha256-<hex>`.
#[must_use]
pub fn referrers_fallback_tag(digest: &Digest) -> String {
    digest.tag_prefix()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifests_and_indexes() -> Result<(), OciError> {
        let m = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",
          "artifactType":"application/vnd.dev.sigstore.bundle.v0.3+json",
          "config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},
          "layers":[{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2}],
          "annotations":{"dev.sigstore.bundle.content":"dsse-envelope"}}"#;
        let m = ImageManifest::from_json("m", m)?;
        assert_eq!(m.layers.len(), 1);
        assert_eq!(m.config.sha256()?.hex().len(), 64);
        assert_eq!(m.layers[0].size_within(2)?, 2);
        assert!(m.layers[0].size_within(1).is_err());
        let i = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}"#;
        assert!(ImageIndex::from_json("i", i)?.manifests.is_empty());
        // An index is not a manifest and the reverse; schema 1 and junk are refused.
        assert!(ImageManifest::from_json("i", i).is_err());
        assert!(
            ImageIndex::from_json(
                "i",
                br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json"}"#
            )
            .is_err()
        );
        assert!(ImageIndex::from_json("i", br#"{"schemaVersion":1,"manifests":[]}"#).is_err());
        assert!(ImageManifest::from_json("x", b"<html>").is_err());
        Ok(())
    }

    #[test]
    fn tags() -> Result<(), OciError> {
        let d = Digest::of(b"");
        assert_eq!(
            attestation_tag(&d),
            "sha256-e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855.att"
        );
        assert!(signature_tag(&d).ends_with(".sig"));
        assert_eq!(referrers_fallback_tag(&d).len(), "sha256-".len() + 64);
        Ok(())
    }
}
