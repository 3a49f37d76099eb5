//! cosign's legacy attestation layout, read as Sigstore bundles.
//!
//! A layer of the `sha256-<hex>.att` manifest is a DSSE envelope (media type
//! `application/vnd.dsse.envelope.v1+json`). Its annotations carry the rest: the signing
//! certificate and chain (keyless), the Rekor bundle (`dev.sigstore.cosign/bundle`: the
//! signed entry timestamp and the entry it covers) and the predicate type. Tekton Chains
//! writes the same layout without the `predicateType` annotation.
//!
//! [`legacy_layer_bundle`] turns such a layer into a v0.1 bundle (a DSSE envelope, key
//! material, and a transparency log entry with its signed entry timestamp but no inclusion
//! proof), so the verifier checks both layouts the same way.

use std::collections::BTreeMap;

use base64::Engine as _;
use serde::Deserialize;

use super::OciError;
use super::manifest::{ANNOTATION_BUNDLE, ANNOTATION_CERTIFICATE, ANNOTATION_CHAIN, Descriptor};
use crate::bundle::{
    Bundle, InclusionPromise, KindVersion, LogId, MEDIA_TYPE_V0_1, PublicKeyIdentifier,
    TransparencyLogEntry, VerificationMaterial, X509Certificate, X509CertificateChain,
};
use crate::dsse::Envelope;

/// cosign's Rekor bundle annotation.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RekorBundle {
    #[serde(rename = "SignedEntryTimestamp")]
    signed_entry_timestamp: String,
    #[serde(rename = "Payload")]
    payload: RekorPayload,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RekorPayload {
    body: String,
    integrated_time: i64,
    log_index: i64,
    #[serde(rename = "logID")]
    log_id: String,
}

#[derive(Debug, Deserialize)]
struct BodyKind {
    kind: String,
    #[serde(rename = "apiVersion")]
    api_version: String,
}

/// The transparency log entry recorded in a `dev.sigstore.cosign/bundle` annotation.
///
/// # Errors
///
/// [`OciError::Malformed`] when the annotation is not cosign's Rekor bundle.
pub fn rekor_bundle_entry(annotation: &str) -> Result<TransparencyLogEntry, OciError> {
    let bad = |reason: String| OciError::Malformed {
        what: format!("annotation {ANNOTATION_BUNDLE}"),
        reason,
    };
    let b: RekorBundle = serde_json::from_str(annotation).map_err(|e| bad(e.to_string()))?;
    let b64 = base64::engine::general_purpose::STANDARD;
    let body = b64
        .decode(&b.payload.body)
        .map_err(|e| bad(format!("Payload.body is not base64: {e}")))?;
    let kind: BodyKind = serde_json::from_slice(&body)
        .map_err(|e| bad(format!("Payload.body is not a Rekor entry: {e}")))?;
    let set = b64
        .decode(&b.signed_entry_timestamp)
        .map_err(|e| bad(format!("SignedEntryTimestamp is not base64: {e}")))?;
    let log_id = hex::decode(&b.payload.log_id)
        .map_err(|e| bad(format!("Payload.logID is not hex: {e}")))?;
    Ok(TransparencyLogEntry {
        log_index: b.payload.log_index,
        log_id: LogId { key_id: log_id },
        kind_version: KindVersion {
            kind: kind.kind,
            version: kind.api_version,
        },
        integrated_time: b.payload.integrated_time,
        inclusion_promise: Some(InclusionPromise {
            signed_entry_timestamp: set,
        }),
        inclusion_proof: None,
        canonicalized_body: body,
    })
}

/// The DER certificates of a PEM bundle, in order.
///
/// # Errors
///
/// [`OciError::Malformed`] when a block is not a PEM certificate.
pub fn pem_certificates(what: &str, pem: &str) -> Result<Vec<Vec<u8>>, OciError> {
    const BEGIN: &str = "-----BEGIN ";
    const END: &str = "-----END CERTIFICATE-----";
    let mut out = Vec::new();
    let mut rest = pem;
    while let Some(start) = rest.find(BEGIN) {
        let block = &rest[start..];
        let end = block.find(END).ok_or_else(|| OciError::Malformed {
            what: what.to_owned(),
            reason: "unterminated PEM certificate".into(),
        })? + END.len();
        let (label, der) =
            pem_rfc7468::decode_vec(&block.as_bytes()[..end]).map_err(|e| OciError::Malformed {
                what: what.to_owned(),
                reason: format!("invalid PEM: {e}"),
            })?;
        if label != "CERTIFICATE" {
            return Err(OciError::Malformed {
                what: what.to_owned(),
                reason: format!("PEM block {label}, expected CERTIFICATE"),
            });
        }
        out.push(der);
        rest = &block[end..];
    }
    Ok(out)
}

/// A legacy `.att` layer (descriptor with annotations, and the envelope blob) as a v0.1
/// Sigstore bundle.
///
/// # Errors
///
/// [`OciError::Malformed`] when the envelope or an annotation does not parse.
pub fn legacy_layer_bundle(layer: &Descriptor, blob: &[u8]) -> Result<Bundle, OciError> {
    let envelope = Envelope::from_json(blob).map_err(|e| OciError::Malformed {
        what: format!("layer {}", layer.digest),
        reason: format!("not a DSSE envelope: {e}"),
    })?;
    let material = legacy_material(&layer.annotations)?;
    Ok(Bundle {
        media_type: MEDIA_TYPE_V0_1.to_owned(),
        verification_material: Some(material),
        message_signature: None,
        dsse_envelope: Some(envelope),
    })
}

fn legacy_material(
    annotations: &BTreeMap<String, String>,
) -> Result<VerificationMaterial, OciError> {
    let mut material = VerificationMaterial::default();
    match annotations
        .get(ANNOTATION_CERTIFICATE)
        .filter(|c| !c.is_empty())
    {
        Some(cert) => {
            let mut certs = pem_certificates(ANNOTATION_CERTIFICATE, cert)?;
            if certs.len() != 1 {
                return Err(OciError::Malformed {
                    what: format!("annotation {ANNOTATION_CERTIFICATE}"),
                    reason: format!("{} certificates, expected 1", certs.len()),
                });
            }
            if let Some(chain) = annotations.get(ANNOTATION_CHAIN) {
                certs.extend(pem_certificates(ANNOTATION_CHAIN, chain)?);
            }
            material.x509_certificate_chain = Some(X509CertificateChain {
                certificates: certs
                    .into_iter()
                    .map(|raw_bytes| X509Certificate { raw_bytes })
                    .collect(),
            });
        }
        None => material.public_key = Some(PublicKeyIdentifier::default()),
    }
    if let Some(rekor) = annotations.get(ANNOTATION_BUNDLE).filter(|b| !b.is_empty()) {
        material.tlog_entries.push(rekor_bundle_entry(rekor)?);
    }
    Ok(material)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layer(annotations: &[(&str, &str)]) -> Descriptor {
        Descriptor {
            media_type: super::super::manifest::DSSE_ENVELOPE.into(),
            digest: format!("sha256:{}", "00".repeat(32)),
            size: 1,
            artifact_type: None,
            annotations: annotations
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        }
    }

    const ENVELOPE: &[u8] = br#"{"payloadType":"application/vnd.in-toto+json","payload":"e30=","signatures":[{"keyid":"","sig":"MEUCIQ=="}]}"#;

    #[test]
    fn key_signed_layer_with_rekor_bundle() -> Result<(), OciError> {
        let body = base64::engine::general_purpose::STANDARD
            .encode(br#"{"apiVersion":"0.0.1","kind":"dsse","spec":{}}"#);
        let rekor = format!(
            r#"{{"SignedEntryTimestamp":"MEUCIQ==","Payload":{{"body":"{body}","integratedTime":1700000000,"logIndex":7,"logID":"c0d23d6ad406973f9559f3ba2d1ca01f84147d8ffc5b8445c224f98b9591801d"}}}}"#
        );
        let b = legacy_layer_bundle(
            &layer(&[
                ("dev.cosignproject.cosign/signature", ""),
                (ANNOTATION_BUNDLE, &rekor),
            ]),
            ENVELOPE,
        )?;
        let m = b.verification_material.unwrap_or_default();
        assert!(m.public_key.is_some() && m.x509_certificate_chain.is_none());
        assert_eq!(m.tlog_entries.len(), 1);
        let e = &m.tlog_entries[0];
        assert_eq!((e.log_index, e.integrated_time), (7, 1_700_000_000));
        assert_eq!(e.kind_version.kind, "dsse");
        assert_eq!(e.kind_version.version, "0.0.1");
        assert_eq!(e.log_id.key_id.len(), 32);
        assert!(e.inclusion_promise.is_some() && e.inclusion_proof.is_none());
        Ok(())
    }

    #[test]
    fn malformed_layers() {
        assert!(legacy_layer_bundle(&layer(&[]), b"not json").is_err());
        assert!(legacy_layer_bundle(&layer(&[(ANNOTATION_BUNDLE, "{}")]), ENVELOPE).is_err());
        assert!(
            legacy_layer_bundle(
                &layer(&[(ANNOTATION_CERTIFICATE, "-----BEGIN CERTIFICATE-----\n")]),
                ENVELOPE
            )
            .is_err()
        );
        assert!(
            legacy_layer_bundle(
                &layer(&[(
                    ANNOTATION_CERTIFICATE,
                    "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END CERTIFICATE-----\n"
                )]),
                ENVELOPE
            )
            .is_err()
        );
        // No certificate annotation and no Rekor bundle: a key-signed layer, not logged.
        let b = legacy_layer_bundle(&layer(&[]), ENVELOPE);
        assert!(b.is_ok_and(|b| {
            b.verification_material
                .is_some_and(|m| m.tlog_entries.is_empty() && m.public_key.is_some())
        }));
    }
}
