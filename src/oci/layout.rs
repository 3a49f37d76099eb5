//! Writing cosign's and Sigstore's layouts (pure): the legacy `sha256-<hex>.att` manifest
//! and its config after adding a layer, a Sigstore bundle referrer manifest, and the OCI
//! referrers fallback index (DESIGN.md, wire compatibility items 1–3).
//!
//! The JSON shapes follow what cosign writes (go-containerregistry's field order); the
//! referrer manifest omits `org.opencontainers.image.created`, so publishing the same
//! bundle twice yields the same manifest digest (idempotent).

use std::collections::BTreeMap;

use serde::Serialize;

use super::manifest::{
    ANNOTATION_BUNDLE, ANNOTATION_BUNDLE_CONTENT, ANNOTATION_BUNDLE_PREDICATE_TYPE,
    ANNOTATION_CERTIFICATE, ANNOTATION_CHAIN, ANNOTATION_PREDICATE_TYPE, ANNOTATION_SIGNATURE,
    Descriptor, OCI_EMPTY, OCI_INDEX, OCI_MANIFEST, SIGSTORE_BUNDLE_V03,
};
use super::reference::Digest;

/// The OCI image config media type (legacy `.att`/`.sig` manifests).
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
/// The empty config blob `{}`.
pub const EMPTY_CONFIG: &[u8] = b"{}";

/// A descriptor in go-containerregistry's field order.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct WireDescriptor<'a> {
    media_type: &'a str,
    size: i64,
    digest: &'a str,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    annotations: &'a BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    artifact_type: Option<&'a str>,
}

impl<'a> From<&'a Descriptor> for WireDescriptor<'a> {
    fn from(d: &'a Descriptor) -> Self {
        Self {
            media_type: &d.media_type,
            size: d.size,
            digest: &d.digest,
            annotations: &d.annotations,
            artifact_type: d.artifact_type.as_deref(),
        }
    }
}

/// A descriptor of `bytes`.
#[must_use]
pub fn descriptor(
    media_type: &str,
    bytes: &[u8],
    annotations: BTreeMap<String, String>,
) -> Descriptor {
    Descriptor {
        media_type: media_type.to_owned(),
        digest: Digest::of(bytes).to_string(),
        size: i64::try_from(bytes.len()).unwrap_or(i64::MAX),
        artifact_type: None,
        annotations,
    }
}

/// The annotations of a legacy attestation layer: the empty signature, the predicate
/// type, and when present the certificate and chain (PEM) and the Rekor bundle.
#[must_use]
pub fn attestation_annotations(
    predicate_type: &str,
    certificate_pem: Option<&str>,
    chain_pem: Option<&str>,
    rekor_bundle: Option<&str>,
) -> BTreeMap<String, String> {
    let mut a = BTreeMap::new();
    a.insert(ANNOTATION_SIGNATURE.to_owned(), String::new());
    a.insert(
        ANNOTATION_PREDICATE_TYPE.to_owned(),
        predicate_type.to_owned(),
    );
    if let Some(c) = certificate_pem {
        a.insert(ANNOTATION_CERTIFICATE.to_owned(), c.to_owned());
    }
    if let Some(c) = chain_pem {
        a.insert(ANNOTATION_CHAIN.to_owned(), c.to_owned());
    }
    if let Some(b) = rekor_bundle {
        a.insert(ANNOTATION_BUNDLE.to_owned(), b.to_owned());
    }
    a
}

#[derive(Serialize)]
struct ConfigFile<'a> {
    architecture: &'a str,
    created: &'a str,
    history: Vec<History<'a>>,
    os: &'a str,
    rootfs: RootFs<'a>,
    config: BTreeMap<String, String>,
}

#[derive(Serialize)]
struct History<'a> {
    created: &'a str,
}

#[derive(Serialize)]
struct RootFs<'a> {
    #[serde(rename = "type")]
    type_: &'a str,
    diff_ids: Vec<&'a str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WireManifest<'a> {
    schema_version: u32,
    media_type: &'a str,
    config: WireDescriptor<'a>,
    layers: Vec<WireDescriptor<'a>>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    annotations: &'a BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    subject: Option<WireDescriptor<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    artifact_type: Option<&'a str>,
}

const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

/// The legacy manifest (and its config blob) holding `layers`, in order. Layers are
/// uncompressed, so each diff id is the layer's digest.
///
/// Returns `(manifest, config)`.
#[must_use]
pub fn legacy_manifest(layers: &[Descriptor]) -> (Vec<u8>, Vec<u8>) {
    let config = ConfigFile {
        architecture: "",
        created: ZERO_TIME,
        history: layers
            .iter()
            .map(|_| History { created: ZERO_TIME })
            .collect(),
        os: "",
        rootfs: RootFs {
            type_: "layers",
            diff_ids: layers.iter().map(|l| l.digest.as_str()).collect(),
        },
        config: BTreeMap::new(),
    };
    let config = serde_json::to_vec(&config).unwrap_or_default();
    let config_desc = descriptor(OCI_CONFIG, &config, BTreeMap::new());
    let no_annotations = BTreeMap::new();
    let manifest = WireManifest {
        schema_version: 2,
        media_type: OCI_MANIFEST,
        config: (&config_desc).into(),
        layers: layers.iter().map(Into::into).collect(),
        annotations: &no_annotations,
        subject: None,
        artifact_type: None,
    };
    (serde_json::to_vec(&manifest).unwrap_or_default(), config)
}

/// hallmark's annotation on its referrers: the SHA-256 of what was signed and logged (the
/// DSSE envelope), so re-publishing the same attestation, whose bundle may carry a newer
/// inclusion proof, is recognised and skipped.
pub const ANNOTATION_SIGNED_CONTENT: &str = "dev.hallmark.signed-content.sha256";

/// The annotations of a Sigstore bundle referrer (and of its fallback index entry).
/// `signed_content` is the hex SHA-256 of the signed envelope (hallmark's own annotation).
#[must_use]
pub fn referrer_annotations(
    predicate_type: Option<&str>,
    signed_content: Option<&str>,
) -> BTreeMap<String, String> {
    let mut a = BTreeMap::new();
    if let Some(h) = signed_content {
        a.insert(ANNOTATION_SIGNED_CONTENT.to_owned(), h.to_owned());
    }
    match predicate_type {
        Some(p) => {
            a.insert(
                ANNOTATION_BUNDLE_CONTENT.to_owned(),
                "dsse-envelope".to_owned(),
            );
            a.insert(ANNOTATION_BUNDLE_PREDICATE_TYPE.to_owned(), p.to_owned());
        }
        None => {
            a.insert(
                ANNOTATION_BUNDLE_CONTENT.to_owned(),
                "message-signature".to_owned(),
            );
        }
    }
    a
}

/// The referrer manifest of a Sigstore bundle v0.3 blob, referring to `subject`.
#[must_use]
pub fn referrer_manifest(
    subject: &Descriptor,
    bundle: &Descriptor,
    annotations: &BTreeMap<String, String>,
) -> Vec<u8> {
    let config = descriptor(OCI_EMPTY, EMPTY_CONFIG, BTreeMap::new());
    let subject = Descriptor {
        annotations: BTreeMap::new(),
        artifact_type: None,
        ..subject.clone()
    };
    let manifest = WireManifest {
        schema_version: 2,
        media_type: OCI_MANIFEST,
        config: (&config).into(),
        layers: vec![bundle.into()],
        annotations,
        subject: Some((&subject).into()),
        artifact_type: Some(SIGSTORE_BUNDLE_V03),
    };
    serde_json::to_vec(&manifest).unwrap_or_default()
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WireIndex<'a> {
    schema_version: u32,
    media_type: &'a str,
    manifests: Vec<WireDescriptor<'a>>,
}

/// The referrers fallback index with `entry` added to `existing` entries (unchanged, and
/// `None` returned, when an entry with the same digest is already listed).
#[must_use]
pub fn fallback_index(existing: &[Descriptor], entry: &Descriptor) -> Option<Vec<u8>> {
    if existing.iter().any(|d| d.digest == entry.digest) {
        return None;
    }
    let mut all: Vec<&Descriptor> = existing.iter().collect();
    all.push(entry);
    let index = WireIndex {
        schema_version: 2,
        media_type: OCI_INDEX,
        manifests: all.into_iter().map(Into::into).collect(),
    };
    serde_json::to_vec(&index).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oci::manifest::{ImageIndex, ImageManifest, SIGSTORE_BUNDLE_PREFIX};

    #[test]
    fn legacy_manifest_lists_layers_and_diff_ids() -> Result<(), crate::oci::OciError> {
        let a = descriptor(
            "application/vnd.dsse.envelope.v1+json",
            b"{\"payload\":\"a\"}",
            attestation_annotations("https://slsa.dev/provenance/v1", None, None, Some("{}")),
        );
        let b = descriptor(
            "application/vnd.dsse.envelope.v1+json",
            b"{}",
            BTreeMap::new(),
        );
        let (manifest, config) = legacy_manifest(&[a.clone(), b.clone()]);
        let m = ImageManifest::from_json("m", &manifest)?;
        assert_eq!(m.layers, vec![a.clone(), b.clone()]);
        assert_eq!(m.config.digest, Digest::of(&config).to_string());
        let c: serde_json::Value = serde_json::from_slice(&config).unwrap_or_default();
        assert_eq!(
            c["rootfs"]["diff_ids"],
            serde_json::json!([a.digest, b.digest])
        );
        assert_eq!(m.layers[0].annotations[ANNOTATION_SIGNATURE], "");
        assert_eq!(
            m.layers[0].annotations[ANNOTATION_PREDICATE_TYPE],
            "https://slsa.dev/provenance/v1"
        );
        Ok(())
    }

    #[test]
    fn referrer_and_fallback_index() -> Result<(), crate::oci::OciError> {
        let subject = descriptor(
            crate::oci::manifest::DOCKER_MANIFEST,
            b"image",
            BTreeMap::new(),
        );
        let bundle = descriptor(
            SIGSTORE_BUNDLE_V03,
            b"{\"mediaType\":\"x\"}",
            BTreeMap::new(),
        );
        let ann = referrer_annotations(Some("https://slsa.dev/provenance/v0.2"), Some("ab"));
        let bytes = referrer_manifest(&subject, &bundle, &ann);
        // Deterministic: the same bundle gives the same manifest.
        assert_eq!(bytes, referrer_manifest(&subject, &bundle, &ann));
        let m = ImageManifest::from_json("r", &bytes)?;
        assert_eq!(
            m.subject.as_ref().map(|s| s.digest.clone()),
            Some(subject.digest.clone())
        );
        assert!(
            m.artifact_type
                .as_deref()
                .is_some_and(|t| t.starts_with(SIGSTORE_BUNDLE_PREFIX))
        );
        assert_eq!(m.config.digest, Digest::of(b"{}").to_string());
        let mut entry = descriptor(OCI_MANIFEST, &bytes, ann);
        entry.artifact_type = Some(SIGSTORE_BUNDLE_V03.into());
        let index = fallback_index(&[], &entry).unwrap_or_default();
        let i = ImageIndex::from_json("i", &index)?;
        assert_eq!(i.manifests, vec![entry.clone()]);
        assert!(
            fallback_index(&i.manifests, &entry).is_none(),
            "the same entry twice"
        );
        let other = descriptor(OCI_MANIFEST, b"other", BTreeMap::new());
        let two = fallback_index(&i.manifests, &other).unwrap_or_default();
        assert_eq!(ImageIndex::from_json("i", &two)?.manifests.len(), 2);
        Ok(())
    }
}
