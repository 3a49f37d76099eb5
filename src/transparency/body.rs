//! Rekor entry bodies (the bundle's `canonicalizedBody`) and their match with the
//! bundle's content.
//!
//! Shapes (sigstore/rekor `pkg/types/*/v*/*.json` schemas for v1, sigstore/rekor-tiles
//! and protobuf-specs `rekor/v2` for v2):
//!
//! - `hashedrekord` 0.0.1: `spec.data.hash{algorithm:"sha256", value:<hex>}`,
//!   `spec.signature.content` (base64 signature), `spec.signature.publicKey.content`
//!   (base64 of a PEM certificate or public key).
//! - `dsse` 0.0.1: `spec.payloadHash` / `spec.envelopeHash` (`{algorithm, value:<hex>}`;
//!   payload hash over the decoded payload), `spec.signatures[]{signature:<base64>,
//!   verifier:<base64 PEM>}`.
//! - `intoto` 0.0.1 (what cosign's `TLogUploadInTotoAttestation` and Tekton Chains
//!   write): `spec.content.hash` (the envelope as submitted), `spec.content.payloadHash`
//!   (the decoded payload), `spec.publicKey` (base64 PEM). No signature is recorded: Rekor
//!   checked it with the key at upload, so the entry binds the payload to that key.
//! - `intoto` 0.0.2: `spec.content.envelope{payloadType, payload, signatures[]{sig,
//!   publicKey}}` where `payload` and `sig` are base64 *twice* and `publicKey` is base64
//!   PEM; `spec.content.payloadHash` over the decoded payload, `spec.content.hash` over
//!   the envelope as submitted.
//! - `hashedrekord` 0.0.2 (Rekor v2): `spec.hashedRekordV002{data{algorithm:"SHA2_256",
//!   digest:<base64>}, signature{content, verifier{publicKey{rawBytes}|x509Certificate
//!   {rawBytes}, keyDetails}}}`. Rekor v2 logs a DSSE bundle this way too, over
//!   SHA-256 of the envelope's PAE.
//! - `dsse` 0.0.2 (Rekor v2): `spec.dsseV002{payloadHash{algorithm, digest},
//!   signatures[]{content, verifier}}`.
//!
//! The envelope hash of `dsse`/`intoto` entries is over the envelope bytes Rekor was
//! sent, which a bundle does not keep byte-for-byte; like sigstore-go it is parsed but
//! not compared.

use serde::Deserialize;
use sha2::{Digest as _, Sha256};

use super::TransparencyError;
use crate::bundle::{Bundle, Content, HashAlgorithm};
use crate::dsse::Envelope;
use crate::signing::PublicKey;
use crate::trust::decode_b64;

/// The largest body parsed (Rekor v1 caps entries far below this).
const MAX_BODY_LEN: usize = 1 << 24;

/// A digest in an entry body; `algorithm` normalized to `sha256`/`sha384`/`sha512`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EntryDigest {
    /// The algorithm name, lowercase (`sha256`).
    pub algorithm: String,
    /// The digest bytes.
    pub value: Vec<u8>,
}

/// Who the entry says signed: a certificate or a public key.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum EntryVerifier {
    /// A DER X.509 certificate.
    Certificate(Vec<u8>),
    /// A DER SubjectPublicKeyInfo.
    PublicKey(Vec<u8>),
}

/// One signature recorded in an entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EntrySignature {
    /// The signature bytes.
    pub signature: Vec<u8>,
    /// The verifier.
    pub verifier: EntryVerifier,
}

/// A parsed entry body.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum EntryBody {
    /// `hashedrekord` 0.0.1.
    HashedRekordV001 {
        /// The artifact digest.
        digest: EntryDigest,
        /// The signature over it.
        signature: EntrySignature,
    },
    /// `hashedrekord` 0.0.2 (Rekor v2).
    HashedRekordV002 {
        /// The artifact (or DSSE PAE) digest.
        digest: EntryDigest,
        /// The signature over it.
        signature: EntrySignature,
    },
    /// `dsse` 0.0.1.
    DsseV001 {
        /// Digest of the decoded payload.
        payload_hash: EntryDigest,
        /// Digest of the envelope as submitted.
        envelope_hash: Option<EntryDigest>,
        /// The envelope's signatures.
        signatures: Vec<EntrySignature>,
    },
    /// `dsse` 0.0.2 (Rekor v2).
    DsseV002 {
        /// Digest of the decoded payload.
        payload_hash: EntryDigest,
        /// The envelope's signatures.
        signatures: Vec<EntrySignature>,
    },
    /// `intoto` 0.0.1.
    IntotoV001 {
        /// Digest of the decoded payload.
        payload_hash: EntryDigest,
        /// Digest of the envelope as submitted.
        envelope_hash: Option<EntryDigest>,
        /// The key (or certificate) Rekor checked the envelope's signature with.
        verifier: EntryVerifier,
    },
    /// `intoto` 0.0.2.
    IntotoV002 {
        /// The payload type, when recorded.
        payload_type: Option<String>,
        /// The decoded payload, when recorded.
        payload: Option<Vec<u8>>,
        /// Digest of the decoded payload.
        payload_hash: EntryDigest,
        /// Digest of the envelope as submitted.
        envelope_hash: Option<EntryDigest>,
        /// The envelope's signatures.
        signatures: Vec<EntrySignature>,
    },
}

/// The key or certificate a bundle was signed with, to compare with an entry's verifier.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub enum Signer<'a> {
    /// The leaf certificate, DER.
    Certificate(&'a [u8]),
    /// A public key the verifier was given.
    Key(&'a PublicKey),
}

impl<'a> Signer<'a> {
    /// The signer of `bundle`: its leaf certificate, else `key` (managed-key bundles).
    ///
    /// # Errors
    ///
    /// [`TransparencyError::BodyMismatch`] when the bundle has no certificate and no key
    /// is given.
    pub fn of_bundle(
        bundle: &'a Bundle,
        key: Option<&'a PublicKey>,
    ) -> Result<Self, TransparencyError> {
        let vm = bundle.verification_material.as_ref();
        let leaf = vm.and_then(|vm| {
            vm.certificate
                .as_ref()
                .map(|c| c.raw_bytes.as_slice())
                .or_else(|| {
                    vm.x509_certificate_chain
                        .as_ref()
                        .and_then(|ch| ch.certificates.first())
                        .map(|c| c.raw_bytes.as_slice())
                })
        });
        match (leaf, key) {
            (Some(der), _) => Ok(Self::Certificate(der)),
            (None, Some(k)) => Ok(Self::Key(k)),
            (None, None) => Err(TransparencyError::BodyMismatch(
                "no certificate or key to compare the entry's verifier with",
            )),
        }
    }

    fn matches(self, v: &EntryVerifier) -> bool {
        match (self, v) {
            (Self::Certificate(a), EntryVerifier::Certificate(b)) => a == b.as_slice(),
            (Self::Key(k), EntryVerifier::PublicKey(spki)) => {
                PublicKey::from_spki_der(spki).is_ok_and(|p| &p == k)
            }
            _ => false,
        }
    }
}

fn malformed(what: &'static str) -> TransparencyError {
    TransparencyError::MalformedBody(what)
}

fn b64(s: &str, what: &'static str) -> Result<Vec<u8>, TransparencyError> {
    decode_b64(s).map_err(|_| malformed(what))
}

fn pem_verifier(b64_pem: &str) -> Result<EntryVerifier, TransparencyError> {
    let pem = b64(b64_pem, "verifier is not base64")?;
    let (label, der) = lenient_pem(&pem).ok_or_else(|| malformed("verifier is not PEM"))?;
    match label {
        "CERTIFICATE" => Ok(EntryVerifier::Certificate(der)),
        "PUBLIC KEY" => Ok(EntryVerifier::PublicKey(der)),
        _ => Err(malformed(
            "verifier PEM is neither a certificate nor a public key",
        )),
    }
}

/// The first PEM block of `pem`, with any line width (Rekor stores what clients sent:
/// Go writes 64 columns, other clients one long line).
fn lenient_pem(pem: &[u8]) -> Option<(&str, Vec<u8>)> {
    use base64::Engine as _;
    let text = std::str::from_utf8(pem).ok()?.trim_start();
    let rest = text.strip_prefix("-----BEGIN ")?;
    let (label, rest) = rest.split_once("-----")?;
    let end = format!("-----END {label}-----");
    let (inner, _) = rest.split_once(end.as_str())?;
    let b64: String = inner.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let der = base64::engine::general_purpose::STANDARD.decode(b64).ok()?;
    Some((label, der))
}

fn hex_digest(d: &V1Hash) -> Result<EntryDigest, TransparencyError> {
    Ok(EntryDigest {
        algorithm: d.algorithm.to_ascii_lowercase(),
        value: hex::decode(&d.value).map_err(|_| malformed("digest is not hex"))?,
    })
}

fn v2_digest(d: &V2Hash) -> Result<EntryDigest, TransparencyError> {
    let algorithm = match d.algorithm.as_str() {
        "SHA2_256" => "sha256",
        "SHA2_384" => "sha384",
        "SHA2_512" => "sha512",
        _ => return Err(malformed("unsupported digest algorithm")),
    };
    Ok(EntryDigest {
        algorithm: algorithm.to_owned(),
        value: b64(&d.digest, "digest is not base64")?,
    })
}

fn v2_signature(s: &V2Signature) -> Result<EntrySignature, TransparencyError> {
    let verifier = match (&s.verifier.public_key, &s.verifier.x509_certificate) {
        (Some(k), None) => EntryVerifier::PublicKey(b64(&k.raw_bytes, "key is not base64")?),
        (None, Some(c)) => {
            EntryVerifier::Certificate(b64(&c.raw_bytes, "certificate is not base64")?)
        }
        _ => {
            return Err(malformed(
                "verifier must have exactly one of publicKey and x509Certificate",
            ));
        }
    };
    Ok(EntrySignature {
        signature: b64(&s.content, "signature is not base64")?,
        verifier,
    })
}

impl EntryBody {
    /// Parse a canonicalized entry body.
    ///
    /// # Errors
    ///
    /// [`TransparencyError::MalformedBody`] for bad JSON or fields,
    /// [`TransparencyError::UnsupportedEntry`] for other kinds or versions.
    pub fn from_canonical_json(bytes: &[u8]) -> Result<Self, TransparencyError> {
        if bytes.len() > MAX_BODY_LEN {
            return Err(malformed("body too large"));
        }
        let head: Head =
            serde_json::from_slice(bytes).map_err(|_| malformed("not JSON of an entry body"))?;
        let spec = head.spec;
        let parse = |what| move |_| malformed(what);
        match (head.kind.as_str(), head.api_version.as_str()) {
            ("hashedrekord", "0.0.1") => {
                let s: HashedRekordV001 =
                    serde_json::from_value(spec).map_err(parse("bad hashedrekord 0.0.1 spec"))?;
                Ok(Self::HashedRekordV001 {
                    digest: hex_digest(&s.data.hash)?,
                    signature: EntrySignature {
                        signature: b64(&s.signature.content, "signature is not base64")?,
                        verifier: pem_verifier(&s.signature.public_key.content)?,
                    },
                })
            }
            ("hashedrekord", "0.0.2") => {
                let s: HashedRekordV002Spec =
                    serde_json::from_value(spec).map_err(parse("bad hashedrekord 0.0.2 spec"))?;
                let s = s.hashed_rekord_v002;
                Ok(Self::HashedRekordV002 {
                    digest: v2_digest(&s.data)?,
                    signature: v2_signature(&s.signature)?,
                })
            }
            ("dsse", "0.0.1") => {
                let s: DsseV001 =
                    serde_json::from_value(spec).map_err(parse("bad dsse 0.0.1 spec"))?;
                let signatures = s
                    .signatures
                    .iter()
                    .map(|x| {
                        Ok(EntrySignature {
                            signature: b64(&x.signature, "signature is not base64")?,
                            verifier: pem_verifier(&x.verifier)?,
                        })
                    })
                    .collect::<Result<Vec<_>, TransparencyError>>()?;
                Ok(Self::DsseV001 {
                    payload_hash: hex_digest(
                        &s.payload_hash
                            .ok_or_else(|| malformed("dsse entry has no payloadHash"))?,
                    )?,
                    envelope_hash: s.envelope_hash.as_ref().map(hex_digest).transpose()?,
                    signatures,
                })
            }
            ("dsse", "0.0.2") => {
                let s: DsseV002Spec =
                    serde_json::from_value(spec).map_err(parse("bad dsse 0.0.2 spec"))?;
                Ok(Self::DsseV002 {
                    payload_hash: v2_digest(&s.dsse_v002.payload_hash)?,
                    signatures: s
                        .dsse_v002
                        .signatures
                        .iter()
                        .map(v2_signature)
                        .collect::<Result<_, _>>()?,
                })
            }
            ("intoto", "0.0.1") => {
                let s: IntotoV001 =
                    serde_json::from_value(spec).map_err(parse("bad intoto 0.0.1 spec"))?;
                Ok(Self::IntotoV001 {
                    payload_hash: hex_digest(
                        &s.content
                            .payload_hash
                            .ok_or_else(|| malformed("intoto entry has no payloadHash"))?,
                    )?,
                    envelope_hash: s.content.hash.as_ref().map(hex_digest).transpose()?,
                    verifier: pem_verifier(&s.public_key)?,
                })
            }
            ("intoto", "0.0.2") => {
                let s: IntotoV002 =
                    serde_json::from_value(spec).map_err(parse("bad intoto 0.0.2 spec"))?;
                let c = s.content;
                let twice = |v: &str, what| -> Result<Vec<u8>, TransparencyError> {
                    let once = b64(v, what)?;
                    let inner = std::str::from_utf8(&once).map_err(|_| malformed(what))?;
                    b64(inner, what)
                };
                let signatures = c
                    .envelope
                    .signatures
                    .iter()
                    .map(|x| {
                        Ok(EntrySignature {
                            signature: twice(&x.sig, "signature is not base64 of base64")?,
                            verifier: pem_verifier(&x.public_key)?,
                        })
                    })
                    .collect::<Result<Vec<_>, TransparencyError>>()?;
                Ok(Self::IntotoV002 {
                    payload_type: c.envelope.payload_type,
                    payload: c
                        .envelope
                        .payload
                        .as_deref()
                        .map(|p| twice(p, "payload is not base64 of base64"))
                        .transpose()?,
                    payload_hash: hex_digest(
                        &c.payload_hash
                            .ok_or_else(|| malformed("intoto entry has no payloadHash"))?,
                    )?,
                    envelope_hash: c.hash.as_ref().map(hex_digest).transpose()?,
                    signatures,
                })
            }
            (kind, version) => Err(TransparencyError::UnsupportedEntry {
                kind: kind.chars().take(64).collect(),
                version: version.chars().take(64).collect(),
            }),
        }
    }

    /// The entry's kind and version (`("hashedrekord", "0.0.1")`).
    #[must_use]
    pub fn kind_version(&self) -> (&'static str, &'static str) {
        match self {
            Self::HashedRekordV001 { .. } => ("hashedrekord", "0.0.1"),
            Self::HashedRekordV002 { .. } => ("hashedrekord", "0.0.2"),
            Self::DsseV001 { .. } => ("dsse", "0.0.1"),
            Self::DsseV002 { .. } => ("dsse", "0.0.2"),
            Self::IntotoV001 { .. } => ("intoto", "0.0.1"),
            Self::IntotoV002 { .. } => ("intoto", "0.0.2"),
        }
    }

    /// Check that the entry records this bundle's content: the same artifact digest (or
    /// DSSE payload hash), the same signature bytes, and the bundle's signer (leaf
    /// certificate, or `key` for managed-key bundles) as verifier.
    ///
    /// # Errors
    ///
    /// [`TransparencyError::BodyMismatch`] naming the first difference.
    pub fn check_bundle(
        &self,
        bundle: &Bundle,
        key: Option<&PublicKey>,
    ) -> Result<(), TransparencyError> {
        use TransparencyError::BodyMismatch as M;
        let signer = Signer::of_bundle(bundle, key)?;
        let content = bundle
            .content()
            .map_err(|_| M("bundle has no single content"))?;
        match (self, content) {
            (
                Self::HashedRekordV001 { digest, signature }
                | Self::HashedRekordV002 { digest, signature },
                Content::MessageSignature(m),
            ) => {
                let md = m
                    .message_digest
                    .as_ref()
                    .ok_or(M("bundle has no message digest"))?;
                let alg = match md.algorithm {
                    HashAlgorithm::Sha2_256 => "sha256",
                    HashAlgorithm::Sha2_384 => "sha384",
                    HashAlgorithm::Sha2_512 => "sha512",
                    _ => return Err(M("unsupported message digest algorithm")),
                };
                if digest.algorithm != alg || digest.value != md.digest {
                    return Err(M("artifact digest differs"));
                }
                if signature.signature != m.signature {
                    return Err(M("signature differs"));
                }
                if !signer.matches(&signature.verifier) {
                    return Err(M("verifier differs from the bundle's key or certificate"));
                }
                Ok(())
            }
            (Self::HashedRekordV002 { digest, signature }, Content::DsseEnvelope(env)) => {
                let pae = Sha256::digest(env.pae());
                if digest.algorithm != "sha256" || digest.value != pae.as_slice() {
                    return Err(M("digest differs from SHA-256 of the envelope's PAE"));
                }
                check_signatures(std::slice::from_ref(signature), env, signer)
            }
            (
                Self::DsseV001 {
                    payload_hash,
                    signatures,
                    ..
                }
                | Self::DsseV002 {
                    payload_hash,
                    signatures,
                },
                Content::DsseEnvelope(env),
            ) => {
                check_payload_hash(payload_hash, env)?;
                check_signatures(signatures, env, signer)
            }
            (
                Self::IntotoV001 {
                    payload_hash,
                    verifier,
                    ..
                },
                Content::DsseEnvelope(env),
            ) => {
                check_payload_hash(payload_hash, env)?;
                if !signer.matches(verifier) {
                    return Err(M("public key differs from the bundle's key or certificate"));
                }
                Ok(())
            }
            (
                Self::IntotoV002 {
                    payload_type,
                    payload,
                    payload_hash,
                    signatures,
                    ..
                },
                Content::DsseEnvelope(env),
            ) => {
                check_payload_hash(payload_hash, env)?;
                if payload.as_ref().is_some_and(|p| *p != env.payload) {
                    return Err(M("payload differs"));
                }
                if payload_type
                    .as_ref()
                    .is_some_and(|t| *t != env.payload_type)
                {
                    return Err(M("payload type differs"));
                }
                check_signatures(signatures, env, signer)
            }
            _ => Err(M("entry kind does not fit the bundle's content")),
        }
    }
}

fn check_payload_hash(h: &EntryDigest, env: &Envelope) -> Result<(), TransparencyError> {
    if h.algorithm != "sha256" || h.value != Sha256::digest(&env.payload).as_slice() {
        return Err(TransparencyError::BodyMismatch("payload hash differs"));
    }
    Ok(())
}

fn check_signatures(
    recorded: &[EntrySignature],
    env: &Envelope,
    signer: Signer<'_>,
) -> Result<(), TransparencyError> {
    use TransparencyError::BodyMismatch as M;
    if recorded.len() != env.signatures.len() {
        return Err(M("number of signatures differs"));
    }
    for s in &env.signatures {
        let r = recorded
            .iter()
            .find(|r| r.signature == s.sig)
            .ok_or(M("envelope signature not recorded in the entry"))?;
        if !signer.matches(&r.verifier) {
            return Err(M("verifier differs from the bundle's key or certificate"));
        }
    }
    Ok(())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Head {
    #[serde(default)]
    api_version: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    spec: serde_json::Value,
}

#[derive(Deserialize)]
struct V1Hash {
    #[serde(default)]
    algorithm: String,
    #[serde(default)]
    value: String,
}

#[derive(Deserialize)]
struct V2Hash {
    #[serde(default)]
    algorithm: String,
    #[serde(default)]
    digest: String,
}

#[derive(Deserialize)]
struct HashedRekordV001 {
    data: HrData,
    signature: HrSignature,
}
#[derive(Deserialize)]
struct HrData {
    hash: V1Hash,
}
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct HrSignature {
    #[serde(default)]
    content: String,
    public_key: HrKey,
}
#[derive(Deserialize)]
struct HrKey {
    #[serde(default)]
    content: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct HashedRekordV002Spec {
    hashed_rekord_v002: HashedRekordV002,
}
#[derive(Deserialize)]
struct HashedRekordV002 {
    data: V2Hash,
    signature: V2Signature,
}
#[derive(Deserialize)]
struct V2Signature {
    #[serde(default)]
    content: String,
    verifier: V2Verifier,
}
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct V2Verifier {
    #[serde(default)]
    public_key: Option<V2Raw>,
    #[serde(default)]
    x509_certificate: Option<V2Raw>,
}
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct V2Raw {
    #[serde(default)]
    raw_bytes: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DsseV001 {
    #[serde(default)]
    payload_hash: Option<V1Hash>,
    #[serde(default)]
    envelope_hash: Option<V1Hash>,
    #[serde(default)]
    signatures: Vec<DsseV001Sig>,
}
#[derive(Deserialize)]
struct DsseV001Sig {
    #[serde(default)]
    signature: String,
    #[serde(default)]
    verifier: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DsseV002Spec {
    dsse_v002: DsseV002,
}
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DsseV002 {
    payload_hash: V2Hash,
    #[serde(default)]
    signatures: Vec<V2Signature>,
}

#[derive(Deserialize)]
struct IntotoV002 {
    content: IntotoContent,
}
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct IntotoV001 {
    content: IntotoV001Content,
    public_key: String,
}
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct IntotoV001Content {
    #[serde(default)]
    hash: Option<V1Hash>,
    #[serde(default)]
    payload_hash: Option<V1Hash>,
}
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct IntotoContent {
    envelope: IntotoEnvelope,
    #[serde(default)]
    hash: Option<V1Hash>,
    #[serde(default)]
    payload_hash: Option<V1Hash>,
}
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct IntotoEnvelope {
    #[serde(default)]
    payload_type: Option<String>,
    #[serde(default)]
    payload: Option<String>,
    #[serde(default)]
    signatures: Vec<IntotoSig>,
}
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct IntotoSig {
    #[serde(default)]
    sig: String,
    #[serde(default)]
    public_key: String,
}
