//! Publishing a signed attestation: `publish(attestation, sinks) -> per-sink results`.
//!
//! An [`Attestation`] is a signed DSSE envelope with what verifies it (a public key, or a
//! Fulcio certificate chain), its transparency-log entries and RFC 3161 timestamps. It
//! becomes a Sigstore bundle v0.3 ([`Attestation::bundle`]) and cosign's legacy layer
//! annotations. [`publish`] writes it beside each subject image, in every [`OciSink`]
//! layout asked for, and reports per sink and per subject; one failing sink does not stop
//! the others. `hallmark attest` and the controller both use it.

use std::collections::BTreeMap;

use crate::bundle::{
    Bundle, MEDIA_TYPE_V0_3, PublicKeyIdentifier, Rfc3161SignedTimestamp,
    TimestampVerificationData, TransparencyLogEntry, VerificationMaterial, X509Certificate,
};
use crate::dsse::Envelope;
use crate::oci::manifest::{
    ANNOTATION_BUNDLE, ANNOTATION_CERTIFICATE, ANNOTATION_CHAIN, ANNOTATION_SIGNATURE,
    DSSE_ENVELOPE, SIMPLE_SIGNING, attestation_tag, signature_tag,
};
use crate::oci::write::{add_legacy_layer, publish_referrer};
use crate::oci::{ImageRef, OciError, Pusher, Repository};

/// What verifies an attestation's signature.
#[derive(Clone, Debug)]
pub enum Material {
    /// A public key (the verifier is given it out of band).
    Key,
    /// A certificate chain, DER, leaf first (keyless).
    Certificates(Vec<Vec<u8>>),
}

/// A signed attestation, ready to publish.
#[derive(Clone, Debug)]
pub struct Attestation {
    /// The DSSE envelope.
    pub envelope: Envelope,
    /// Its predicate type (annotations).
    pub predicate_type: String,
    /// What verifies it.
    pub material: Material,
    /// Transparency-log entries, as the bundle records them.
    pub tlog_entries: Vec<TransparencyLogEntry>,
    /// The legacy `dev.sigstore.cosign/bundle` annotation (Rekor v1 entry), when logged.
    pub rekor_annotation: Option<String>,
    /// RFC 3161 timestamp tokens.
    pub timestamps: Vec<Vec<u8>>,
}

impl Attestation {
    /// The envelope as written into `.att` layers (go-securesystemslib's field order).
    #[must_use]
    pub fn envelope_json(&self) -> Vec<u8> {
        self.envelope.to_json()
    }

    /// The Sigstore bundle v0.3.
    #[must_use]
    pub fn bundle(&self) -> Bundle {
        let mut material = VerificationMaterial {
            tlog_entries: self.tlog_entries.clone(),
            ..VerificationMaterial::default()
        };
        match &self.material {
            Material::Key => material.public_key = Some(PublicKeyIdentifier::default()),
            Material::Certificates(chain) => {
                // v0.3 bundles carry the leaf only.
                material.certificate = chain.first().map(|c| X509Certificate {
                    raw_bytes: c.clone(),
                });
            }
        }
        if !self.timestamps.is_empty() {
            material.timestamp_verification_data = Some(TimestampVerificationData {
                rfc3161_timestamps: self
                    .timestamps
                    .iter()
                    .map(|t| Rfc3161SignedTimestamp {
                        signed_timestamp: t.clone(),
                    })
                    .collect(),
            });
        }
        Bundle {
            media_type: MEDIA_TYPE_V0_3.to_owned(),
            verification_material: Some(material),
            message_signature: None,
            dsse_envelope: Some(self.envelope.clone()),
        }
    }

    /// The v0.1-style certificate chain (legacy annotations need leaf and chain PEM).
    fn certificate_pems(&self) -> (Option<String>, Option<String>) {
        match &self.material {
            Material::Key => (None, None),
            Material::Certificates(chain) => {
                let pem = |der: &Vec<u8>| {
                    pem_rfc7468::encode_string("CERTIFICATE", pem_rfc7468::LineEnding::LF, der)
                        .unwrap_or_default()
                };
                let leaf = chain.first().map(pem);
                let rest: String = chain.iter().skip(1).map(pem).collect();
                (leaf, (!rest.is_empty()).then_some(rest))
            }
        }
    }

    /// The legacy `.att` layer annotations.
    #[must_use]
    pub fn legacy_annotations(&self) -> BTreeMap<String, String> {
        let (leaf, chain) = self.certificate_pems();
        crate::oci::layout::attestation_annotations(
            &self.predicate_type,
            leaf.as_deref(),
            chain.as_deref(),
            self.rekor_annotation.as_deref(),
        )
    }
}

/// Which layouts an OCI sink writes (`--bundle-format`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum BundleFormat {
    /// cosign's legacy `sha256-<hex>.att` tag (cosign v2, Chains' `dsse` encoding).
    Legacy,
    /// An OCI 1.1 referrer holding a Sigstore bundle (cosign v3, Chains' `sigstore-bundle`).
    Referrers,
    /// Both.
    #[default]
    Both,
}

/// Where an OCI sink writes.
#[derive(Clone, Debug, Default)]
pub struct OciSink {
    /// The layouts.
    pub format: BundleFormat,
    /// `storage.oci.repository`: write into this repository instead of the image's.
    pub repository: Option<Repository>,
}

/// One sink's result for one subject.
#[derive(Debug)]
pub struct SinkResult {
    /// `oci-legacy` or `oci-referrers`.
    pub sink: &'static str,
    /// The subject image.
    pub subject: String,
    /// What was written (`sha256-….att: layer added (2 layers)`), or why not.
    pub outcome: Result<String, OciError>,
}

/// Publish `attestation` beside each subject in the layouts of `sink`.
///
/// Never fails as a whole: each sink reports for each subject. For one subject, the legacy
/// layer and the referrer are written at the same time (their requests are independent).
pub async fn publish<P: Pusher>(
    registry: &P,
    attestation: &Attestation,
    subjects: &[ImageRef],
    sink: &OciSink,
) -> Vec<SinkResult> {
    let mut results = Vec::new();
    let envelope = attestation.envelope_json();
    let bundle = attestation.bundle().to_json();
    let signed_content = crate::oci::Digest::of(&envelope);
    let legacy = matches!(sink.format, BundleFormat::Legacy | BundleFormat::Both);
    let referrers = matches!(sink.format, BundleFormat::Referrers | BundleFormat::Both);
    for image in subjects {
        let repo = sink
            .repository
            .clone()
            .unwrap_or_else(|| image.repository.clone());
        let legacy_write = async {
            if !legacy {
                return None;
            }
            let outcome = add_legacy_layer(
                registry,
                &repo,
                &image.digest,
                &attestation_tag(&image.digest),
                DSSE_ENVELOPE,
                &envelope,
                attestation.legacy_annotations(),
            )
            .await
            .map(|w| {
                format!(
                    "{repo}:{}: {} ({} layers)",
                    w.tag,
                    if w.added {
                        "layer added"
                    } else {
                        "already there"
                    },
                    w.layers
                )
            });
            Some(SinkResult {
                sink: "oci-legacy",
                subject: image.to_string(),
                outcome,
            })
        };
        let referrer_write = async {
            if !referrers {
                return None;
            }
            let outcome = publish_referrer(
                registry,
                &repo,
                image,
                &bundle,
                Some(&attestation.predicate_type),
                &signed_content,
            )
            .await
            .map(|w| {
                format!(
                    "{repo}@{}: referrer {}{}",
                    w.manifest,
                    if w.added { "pushed" } else { "already there" },
                    if w.fallback_tag {
                        " (fallback tag)"
                    } else {
                        ""
                    }
                )
            });
            Some(SinkResult {
                sink: "oci-referrers",
                subject: image.to_string(),
                outcome,
            })
        };
        let (l, r) = tokio::join!(legacy_write, referrer_write);
        results.extend(l);
        results.extend(r);
    }
    results
}

/// cosign's simple-signing payload for an image signature (what `cosign sign` and Tekton
/// Chains sign for `IMAGE_URL`/`IMAGE_DIGEST` results):
/// `{"critical":{"identity":{"docker-reference":REPO},"image":{"docker-manifest-digest":DIGEST},"type":"cosign container image signature"},"optional":null}`.
#[must_use]
pub fn simplesigning_payload(image: &ImageRef) -> Vec<u8> {
    // Field order as cosign's Go structs marshal it.
    format!(
        r#"{{"critical":{{"identity":{{"docker-reference":{}}},"image":{{"docker-manifest-digest":{}}},"type":"cosign container image signature"}},"optional":null}}"#,
        serde_json::Value::String(image.repository.to_string()),
        serde_json::Value::String(image.digest.to_string()),
    )
    .into_bytes()
}

/// A signed image signature, ready to publish into cosign's legacy `.sig` tag.
#[derive(Clone, Debug)]
pub struct ImageSignature {
    /// The simple-signing payload ([`simplesigning_payload`]).
    pub payload: Vec<u8>,
    /// The signature over it (ASN.1 DER for ECDSA).
    pub signature: Vec<u8>,
    /// What verifies it.
    pub material: Material,
    /// The Rekor bundle annotation (a `hashedrekord` entry), when logged.
    pub rekor_annotation: Option<String>,
}

/// Add `signature` as a layer of the image's `sha256-<hex>.sig` manifest (in `repository`
/// when given), keeping the layers already there.
///
/// # Errors
///
/// [`OciError`] from the registry.
pub async fn publish_signature<P: Pusher>(
    registry: &P,
    signature: &ImageSignature,
    image: &ImageRef,
    repository: Option<&Repository>,
) -> Result<String, OciError> {
    use base64::Engine as _;
    let repo = repository
        .cloned()
        .unwrap_or_else(|| image.repository.clone());
    let mut annotations = BTreeMap::new();
    annotations.insert(
        ANNOTATION_SIGNATURE.to_owned(),
        base64::engine::general_purpose::STANDARD.encode(&signature.signature),
    );
    if let Some(b) = &signature.rekor_annotation {
        annotations.insert(ANNOTATION_BUNDLE.to_owned(), b.clone());
    }
    if let Material::Certificates(chain) = &signature.material {
        let pem = |der: &Vec<u8>| {
            pem_rfc7468::encode_string("CERTIFICATE", pem_rfc7468::LineEnding::LF, der)
                .unwrap_or_default()
        };
        if let Some(leaf) = chain.first() {
            annotations.insert(ANNOTATION_CERTIFICATE.to_owned(), pem(leaf));
        }
        let rest: String = chain.iter().skip(1).map(pem).collect();
        if !rest.is_empty() {
            annotations.insert(ANNOTATION_CHAIN.to_owned(), rest);
        }
    }
    let tag = signature_tag(&image.digest);
    let w = add_legacy_layer(
        registry,
        &repo,
        &image.digest,
        &tag,
        SIMPLE_SIGNING,
        &signature.payload,
        annotations,
    )
    .await?;
    Ok(format!(
        "{repo}:{tag}: {} ({} layers)",
        if w.added {
            "layer added"
        } else {
            "already there"
        },
        w.layers
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simplesigning_payload_is_cosigns() -> Result<(), OciError> {
        let image = ImageRef::parse(&format!("127.0.0.1:15000/app@sha256:{}", "ab".repeat(32)))?;
        let p = simplesigning_payload(&image);
        assert_eq!(
            String::from_utf8_lossy(&p),
            format!(
                r#"{{"critical":{{"identity":{{"docker-reference":"127.0.0.1:15000/app"}},"image":{{"docker-manifest-digest":"sha256:{}"}},"type":"cosign container image signature"}},"optional":null}}"#,
                "ab".repeat(32)
            )
        );
        let v: serde_json::Value = serde_json::from_slice(&p).unwrap_or_default();
        assert_eq!(v["optional"], serde_json::Value::Null);
        Ok(())
    }
}
