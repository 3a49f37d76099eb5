//! Verification of DSSE envelopes and Sigstore bundles against an artifact.
//!
//! [`verify_envelope`] checks, in order: a signature over the DSSE PAE verifies with the
//! key; the payload type is in-toto; the payload is an in-toto Statement (v0.1 or v1);
//! the predicate type (optional, cosign short names or a URI, see [`PredicateType`]);
//! and the artifact's SHA-256 is among the subjects. [`verify_bundle`] does the same for
//! bundles with a DSSE envelope, and checks message-signature bundles (cosign
//! `sign-blob`) against the artifact digest.
//!
//! Fail closed: every failed check is its own [`VerifyError`] variant.
//!
//! [`Verifier`] and [`Policy`] (module `verifier`) are the full Sigstore verifier:
//! certificates (Fulcio chain at the signing time, SCTs, identity), transparency log
//! entries (SET, inclusion proof, checkpoint, body match), RFC 3161 timestamps.
//! [`verify_bundle`] is the key-only shortcut over it.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::Digest as _;

use crate::bundle::{Bundle, BundleError};
use crate::dsse::{Envelope, IN_TOTO_PAYLOAD_TYPE};
use crate::signing::{KeyError, PublicKey};
use crate::transparency::TransparencyError;
use crate::x509::X509Error;

pub mod chain;
pub mod latest;
pub mod policy;
pub mod rego;
pub mod sarif;
pub mod stored;
mod verifier;
pub mod vsa;
pub use policy::{CheckFailure, PolicyError, SlsaChecks};
pub use verifier::{LoggedEntry, Policy, Verification, Verifier, VerifierOptions};

/// in-toto Statement v0.1 `_type`.
pub const STATEMENT_V0_1: &str = "https://in-toto.io/Statement/v0.1";
/// in-toto Statement v1 `_type`.
pub const STATEMENT_V1: &str = "https://in-toto.io/Statement/v1";

/// Why verification failed. Each failed check is its own variant.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// The envelope carries no signature.
    #[error("the envelope has no signatures")]
    NoSignatures,
    /// No signature verifies with the key.
    #[error(
        "no signature verifies with the signer's key ({checked} checked): the signed content \
         was changed after signing, or another key signed it"
    )]
    SignatureMismatch {
        /// How many signatures were tried.
        checked: usize,
    },
    /// The DSSE payload type is not `application/vnd.in-toto+json`.
    #[error("payload type is `{found}`, expected `application/vnd.in-toto+json`")]
    PayloadType {
        /// The payload type found.
        found: String,
    },
    /// The payload is not an in-toto Statement.
    #[error("payload is not an in-toto statement")]
    Statement(#[source] serde_json::Error),
    /// The Statement's `_type` is not in-toto v0.1 or v1.
    #[error("unsupported statement type `{found}`")]
    StatementType {
        /// The `_type` found.
        found: String,
    },
    /// The predicate type differs from the one asked for.
    #[error("predicate type is `{found}`, expected `{expected}`")]
    PredicateType {
        /// The predicate type required by the policy.
        expected: String,
        /// The predicate type found.
        found: String,
    },
    /// The artifact's SHA-256 is not among the Statement's subjects.
    #[error(
        "artifact sha256:{digest} is not a subject of the statement (its subjects: {subjects})"
    )]
    SubjectMismatch {
        /// The artifact digest (lowercase hex).
        digest: String,
        /// What the statement is about (its first subjects): shows another artifact's
        /// attestation replayed onto this one.
        subjects: String,
    },
    /// The bundle's message digest is not the artifact's.
    #[error("bundle message digest does not match the artifact (sha256:{artifact})")]
    MessageDigestMismatch {
        /// The artifact digest (lowercase hex).
        artifact: String,
    },
    /// The bundle signs a message digest with an algorithm hallmark does not check.
    #[error("unsupported message digest algorithm {0}")]
    DigestAlgorithm(String),
    /// A predicate type was required but the bundle holds a plain message signature.
    #[error(
        "bundle holds a message signature, not an attestation (predicate type `{expected}` required)"
    )]
    NotAnAttestation {
        /// The predicate type required by the policy.
        expected: String,
    },
    /// The bundle has no transparency log entry and `--insecure-ignore-tlog` was not given.
    #[error(
        "bundle has no transparency log entries (pass --insecure-ignore-tlog to skip the transparency log)"
    )]
    NoTlogEntries,
    /// Transparency log checking is required but not implemented yet (undecided).
    #[error("transparency log verification not implemented; pass --insecure-ignore-tlog")]
    TlogNotImplemented,
    /// The check needs something hallmark does not support yet (undecided), e.g.
    /// certificate (keyless) verification, or an Ed25519 message signature verified
    /// from a digest alone.
    #[error("not supported: {0}")]
    Unsupported(String),
    /// The bundle is structurally invalid.
    #[error("invalid bundle")]
    Bundle(#[source] BundleError),
    /// Conflicting or missing verifier / policy options (e.g. a key and an identity).
    #[error("invalid verification options: {0}")]
    InvalidOptions(String),
    /// The trusted root cannot be loaded.
    #[error("trusted root")]
    Trust(#[source] crate::trust::TrustError),
    /// A certificate authority in the trusted root does not parse.
    #[error("invalid trusted root certificate authority")]
    TrustedRoot(#[source] X509Error),
    /// The bundle's key material is not what the policy expects (a certificate where a
    /// key was given, or a key-signed bundle without a key).
    #[error("signer mismatch: {0}")]
    SignerMismatch(&'static str),
    /// The signing certificate does not chain to a Fulcio CA at a verified signing time
    /// (or is not valid then, or is malformed).
    #[error("signing certificate")]
    Certificate(#[source] X509Error),
    /// No embedded SCT verifies with a trusted CT log key.
    #[error("signed certificate timestamp")]
    Sct(#[source] X509Error),
    /// The certificate identity (SAN, OIDC issuer) does not match the policy.
    #[error("certificate identity")]
    Identity(#[source] X509Error),
    /// An RFC 3161 timestamp does not verify against the trusted TSAs.
    #[error("RFC 3161 timestamp")]
    Timestamp(#[source] X509Error),
    /// There is no verified signing time (an integrated time signed by its SET, or a TSA
    /// timestamp) where one is required (certificates; Rekor v2 entries).
    #[error(
        "no verified signing time (a transparency log integrated time signed by its SET, or an RFC 3161 timestamp)"
    )]
    NoSigningTime,
    /// A transparency log entry does not verify or does not match the bundle.
    #[error("transparency log entry")]
    Tlog(#[source] TransparencyError),
    /// Fewer distinct transparency logs hold a verified entry than required.
    #[error("verified entries in {verified} transparency logs, {required} required")]
    TlogThreshold {
        /// How many distinct logs verified.
        verified: usize,
        /// How many are required.
        required: usize,
    },
    /// An unknown `--type` short name that is not a URI either.
    #[error("invalid predicate type `{0}` (a cosign short name or an absolute URI)")]
    InvalidPredicateType(String),
    /// An artifact digest that is not `sha256:<64 hex>`.
    #[error("invalid artifact digest `{0}` (expected sha256:<64 hex digits>)")]
    InvalidDigest(String),
}

impl VerifyError {
    /// Whether retrying later may succeed (network, registry, log outages). Always false
    /// for the offline checks implemented so far.
    #[must_use]
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Tlog(e) => e.is_transient(),
            Self::Certificate(e)
            | Self::Sct(e)
            | Self::Identity(e)
            | Self::Timestamp(e)
            | Self::TrustedRoot(e) => e.is_transient(),
            Self::Trust(e) => e.is_transient(),
            _ => false,
        }
    }

    /// Whether this is a failed check (deny, exit 1), as opposed to "could not decide"
    /// (unsupported, not implemented, invalid input: exit 2).
    #[must_use]
    pub fn is_denial(&self) -> bool {
        !matches!(
            self,
            Self::TlogNotImplemented
                | Self::Unsupported(_)
                | Self::InvalidPredicateType(_)
                | Self::InvalidDigest(_)
                | Self::InvalidOptions(_)
                | Self::TrustedRoot(_)
                | Self::Trust(_)
        ) && !self.is_transient()
    }

    /// A short stable name of the failed check (for JSON reports).
    #[must_use]
    pub fn check(&self) -> &'static str {
        match self {
            Self::NoSignatures | Self::SignatureMismatch { .. } => "signature",
            Self::PayloadType { .. } => "payload-type",
            Self::Statement(_) | Self::StatementType { .. } => "statement",
            Self::PredicateType { .. } | Self::NotAnAttestation { .. } => "predicate-type",
            Self::SubjectMismatch { .. } => "subject",
            Self::MessageDigestMismatch { .. } | Self::DigestAlgorithm(_) => "message-digest",
            Self::NoTlogEntries
            | Self::TlogNotImplemented
            | Self::Tlog(_)
            | Self::TlogThreshold { .. } => "transparency-log",
            Self::SignerMismatch(_) => "signer",
            Self::Certificate(_) => "certificate",
            Self::Sct(_) => "sct",
            Self::Identity(_) => "identity",
            Self::Timestamp(_) | Self::NoSigningTime => "timestamp",
            Self::InvalidOptions(_) | Self::TrustedRoot(_) => "usage",
            Self::Trust(_) => "trusted-root",
            Self::Unsupported(_) => "unsupported",
            Self::Bundle(_) => "bundle",
            Self::InvalidPredicateType(_) | Self::InvalidDigest(_) => "usage",
        }
    }
}

/// A public key to verify with (cosign.pub: PEM `PUBLIC KEY`, P-256 or Ed25519).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerificationKey(PublicKey);

impl VerificationKey {
    /// Parse a PEM `PUBLIC KEY`.
    ///
    /// # Errors
    ///
    /// [`KeyError`] for malformed PEM or unsupported keys.
    pub fn from_pem(pem: &[u8]) -> Result<Self, KeyError> {
        PublicKey::from_pem(pem).map(Self)
    }

    /// Read a PEM `PUBLIC KEY` file.
    ///
    /// # Errors
    ///
    /// [`KeyError::Read`] when unreadable; otherwise as [`VerificationKey::from_pem`].
    pub fn from_file(path: &Path) -> Result<Self, KeyError> {
        let pem = std::fs::read(path).map_err(|source| KeyError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_pem(&pem)
    }

    /// The public key.
    #[must_use]
    pub fn public_key(&self) -> &PublicKey {
        &self.0
    }
}

impl From<PublicKey> for VerificationKey {
    fn from(k: PublicKey) -> Self {
        Self(k)
    }
}

/// A predicate type URI, from a cosign short name or a URI.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PredicateType(String);

impl PredicateType {
    /// cosign's `--type` short names and their URIs (cosign v3
    /// `cmd/cosign/cli/options/predicate.go`).
    pub const SHORT_NAMES: &'static [(&'static str, &'static str)] = &[
        ("custom", "https://cosign.sigstore.dev/attestation/v1"),
        ("slsaprovenance", "https://slsa.dev/provenance/v0.2"),
        ("slsaprovenance02", "https://slsa.dev/provenance/v0.2"),
        ("slsaprovenance1", "https://slsa.dev/provenance/v1"),
        ("spdx", "https://spdx.dev/Document"),
        ("spdxjson", "https://spdx.dev/Document"),
        ("cyclonedx", "https://cyclonedx.org/bom"),
        ("link", "https://in-toto.io/Link/v1"),
        ("vuln", "https://cosign.sigstore.dev/attestation/vuln/v1"),
        ("openvex", "https://openvex.dev/ns"),
    ];

    /// Resolve a short name, or accept an absolute URI (`scheme:rest`) as is.
    ///
    /// # Errors
    ///
    /// [`VerifyError::InvalidPredicateType`] for anything else.
    pub fn parse(s: &str) -> Result<Self, VerifyError> {
        if let Some((_, uri)) = Self::SHORT_NAMES.iter().find(|(n, _)| *n == s) {
            return Ok(Self((*uri).to_owned()));
        }
        let is_uri = s.split_once(':').is_some_and(|(scheme, rest)| {
            !rest.is_empty()
                && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
        }) && !s.contains(char::is_whitespace);
        if is_uri {
            Ok(Self(s.to_owned()))
        } else {
            Err(VerifyError::InvalidPredicateType(s.to_owned()))
        }
    }

    /// The URI.
    #[must_use]
    pub fn as_uri(&self) -> &str {
        &self.0
    }
}

/// The artifact being verified: its bytes, or only its SHA-256.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub enum ArtifactRef<'a> {
    /// The artifact's bytes.
    Bytes(&'a [u8]),
    /// The artifact's SHA-256 digest.
    Sha256([u8; 32]),
}

impl ArtifactRef<'_> {
    /// Parse `sha256:<64 hex>`.
    ///
    /// # Errors
    ///
    /// [`VerifyError::InvalidDigest`] otherwise.
    pub fn parse_digest(s: &str) -> Result<ArtifactRef<'static>, VerifyError> {
        let bad = || VerifyError::InvalidDigest(s.to_owned());
        let hex_part = s.strip_prefix("sha256:").ok_or_else(bad)?;
        if hex_part.len() != 64 {
            return Err(bad());
        }
        let mut d = [0u8; 32];
        hex::decode_to_slice(hex_part, &mut d).map_err(|_| bad())?;
        Ok(ArtifactRef::Sha256(d))
    }

    /// The SHA-256 of the artifact.
    #[must_use]
    pub fn sha256(&self) -> [u8; 32] {
        match self {
            Self::Bytes(b) => sha2::Sha256::digest(b).into(),
            Self::Sha256(d) => *d,
        }
    }
}

/// What an envelope must satisfy besides its signature.
#[derive(Clone, Debug)]
pub struct EnvelopePolicy {
    /// `None`: any subjects (the caller binds the statement otherwise).
    subject_sha256: Option<[u8; 32]>,
    predicate_type: Option<PredicateType>,
}

impl EnvelopePolicy {
    /// Require `artifact` among the statement's subjects.
    #[must_use]
    pub fn new(artifact: &ArtifactRef<'_>) -> Self {
        Self {
            subject_sha256: Some(artifact.sha256()),
            predicate_type: None,
        }
    }

    /// Require no particular subject: for statements bound to something else than an
    /// artifact digest (a run, by the caller).
    #[must_use]
    pub fn any_subject() -> Self {
        Self {
            subject_sha256: None,
            predicate_type: None,
        }
    }

    /// Also require this predicate type.
    #[must_use]
    pub fn with_predicate_type(mut self, predicate_type: PredicateType) -> Self {
        self.predicate_type = Some(predicate_type);
        self
    }
}

/// Options of [`verify_bundle`].
#[derive(Clone, Debug, Default)]
pub struct BundleOptions {
    /// Required predicate type (DSSE bundles).
    pub predicate_type: Option<PredicateType>,
    /// Skip the transparency log entirely (cosign's `--insecure-ignore-tlog`).
    pub insecure_ignore_tlog: bool,
}

/// An in-toto Statement (v0.1 or v1), as far as verification reads it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Statement {
    /// `_type`: [`STATEMENT_V0_1`] or [`STATEMENT_V1`].
    #[serde(rename = "_type")]
    pub type_: String,
    /// The subjects.
    #[serde(default)]
    pub subject: Vec<Subject>,
    /// The predicate type URI.
    #[serde(rename = "predicateType")]
    pub predicate_type: String,
    /// The predicate, unparsed.
    #[serde(default)]
    pub predicate: serde_json::Value,
}

/// A statement subject.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subject {
    /// The name (may be empty).
    #[serde(default)]
    pub name: String,
    /// Digests by algorithm (`sha256` → lowercase hex).
    #[serde(default)]
    pub digest: BTreeMap<String, String>,
}

/// A statement whose envelope verified.
#[derive(Clone, Debug)]
pub struct VerifiedStatement {
    /// The statement.
    pub statement: Statement,
    /// The exact payload bytes that were signed.
    pub payload: Vec<u8>,
    /// Index of the signature that verified.
    pub signature_index: usize,
    /// That signature's `keyid` hint.
    pub key_id: String,
}

/// What a verified bundle proved.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum BundleVerification {
    /// A DSSE attestation about the artifact.
    Attestation(VerifiedStatement),
    /// A signature over the artifact (cosign `sign-blob`).
    MessageSignature {
        /// The artifact's SHA-256.
        sha256: [u8; 32],
    },
}

/// The first few `subjects` as `NAME sha256:HEX` (names cut at 200 characters), for a
/// [`VerifyError::SubjectMismatch`] message; `none` when there are none.
fn subject_list(subjects: &[Subject]) -> String {
    const SHOWN: usize = 5;
    if subjects.is_empty() {
        return "none".to_owned();
    }
    let mut parts: Vec<String> = subjects
        .iter()
        .take(SHOWN)
        .map(|s| {
            let name: String = s.name.chars().take(200).collect();
            match s.digest.get("sha256") {
                Some(d) => format!("{name} sha256:{d}"),
                None => format!("{name} (no sha256 digest)"),
            }
        })
        .collect();
    if subjects.len() > SHOWN {
        parts.push(format!("and {} more", subjects.len() - SHOWN));
    }
    parts.join(", ")
}

/// Verify a DSSE envelope with a key against a policy (see the module docs for the checks).
///
/// # Errors
///
/// The first failed check, as a [`VerifyError`].
pub fn verify_envelope(
    envelope: &Envelope,
    key: &VerificationKey,
    policy: &EnvelopePolicy,
) -> Result<VerifiedStatement, VerifyError> {
    if envelope.signatures.is_empty() {
        return Err(VerifyError::NoSignatures);
    }
    let pae = envelope.pae();
    let (signature_index, sig) = envelope
        .signatures
        .iter()
        .enumerate()
        .find(|(_, s)| key.0.verify(&pae, &s.sig).is_ok())
        .ok_or(VerifyError::SignatureMismatch {
            checked: envelope.signatures.len(),
        })?;
    if envelope.payload_type != IN_TOTO_PAYLOAD_TYPE {
        return Err(VerifyError::PayloadType {
            found: envelope.payload_type.clone(),
        });
    }
    let statement: Statement =
        serde_json::from_slice(&envelope.payload).map_err(VerifyError::Statement)?;
    if statement.type_ != STATEMENT_V0_1 && statement.type_ != STATEMENT_V1 {
        return Err(VerifyError::StatementType {
            found: statement.type_,
        });
    }
    if let Some(want) = &policy.predicate_type
        && statement.predicate_type != want.as_uri()
    {
        return Err(VerifyError::PredicateType {
            expected: want.as_uri().to_owned(),
            found: statement.predicate_type,
        });
    }
    if let Some(subject) = policy.subject_sha256 {
        let want = hex::encode(subject);
        let found = statement.subject.iter().any(|s| {
            s.digest
                .get("sha256")
                .is_some_and(|d| d.eq_ignore_ascii_case(&want))
        });
        if !found {
            return Err(VerifyError::SubjectMismatch {
                digest: want,
                subjects: subject_list(&statement.subject),
            });
        }
    }
    Ok(VerifiedStatement {
        statement,
        payload: envelope.payload.clone(),
        signature_index,
        key_id: sig.keyid.clone(),
    })
}

/// Verify a Sigstore bundle with a key against an artifact: [`Verifier::verify`] with the
/// embedded Sigstore public-good trusted root and [`Policy::key`].
///
/// DSSE bundles: as [`verify_envelope`]. Message-signature bundles: the message digest
/// (SHA2_256) must be the artifact's and the signature must verify over the artifact.
/// Transparency log entries are verified against the public-good Rekor keys unless
/// [`BundleOptions::insecure_ignore_tlog`] is set; a bundle without entries is denied.
///
/// # Errors
///
/// The first failed check, as a [`VerifyError`].
pub fn verify_bundle(
    bundle: &Bundle,
    artifact: ArtifactRef<'_>,
    key: &VerificationKey,
    options: &BundleOptions,
) -> Result<BundleVerification, VerifyError> {
    let trust = crate::trust::TrustedRoot::public_good().map_err(VerifyError::Trust)?;
    let verifier = Verifier::new(
        trust,
        VerifierOptions {
            insecure_ignore_tlog: options.insecure_ignore_tlog,
            ..VerifierOptions::default()
        },
    )?;
    let policy = Policy::key(key.clone()).with_predicate_type(options.predicate_type.clone());
    verifier
        .verify(bundle, artifact, &policy)
        .map(|v| v.content)
}

#[cfg(test)]
#[allow(clippy::panic)] // Tests report failures by panicking.
mod tests {
    use super::*;
    use crate::signing::{LocalSigner, Signer as _, sign_envelope};
    use crate::test_support::shared_dir;

    fn statement(digest_hex: &str, predicate_type: &str) -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({
            "_type": STATEMENT_V0_1,
            "subject": [{"name": "blob", "digest": {"sha256": digest_hex}}],
            "predicateType": predicate_type,
            "predicate": {"builder": {"id": "https://example.com"}},
        }))
        .unwrap_or_default()
    }

    fn setup() -> (LocalSigner, VerificationKey, Vec<u8>) {
        let signer = LocalSigner::generate_p256().unwrap_or_else(|e| panic!("{e}"));
        let key = VerificationKey::from(signer.public_key().clone());
        (signer, key, b"artifact bytes".to_vec())
    }

    #[test]
    fn subject_list_is_short_and_says_when_empty() {
        assert_eq!(subject_list(&[]), "none");
        let subject = |i: usize, alg: &str| Subject {
            name: format!("img{i}"),
            digest: BTreeMap::from([(alg.to_owned(), "ab".repeat(32))]),
        };
        let many: Vec<Subject> = (0..7).map(|i| subject(i, "sha256")).collect();
        let list = subject_list(&many);
        assert!(list.starts_with(&format!("img0 sha256:{}, img1 ", "ab".repeat(32))));
        assert!(list.ends_with(&format!("img4 sha256:{}, and 2 more", "ab".repeat(32))));
        assert_eq!(
            subject_list(&[subject(0, "sha512")]),
            "img0 (no sha256 digest)"
        );
    }

    #[test]
    fn envelope_checks_each_fail_separately() {
        let (signer, key, blob) = setup();
        let art = ArtifactRef::Bytes(&blob);
        let digest = hex::encode(art.sha256());
        let slsa = PredicateType::parse("slsaprovenance").unwrap_or_else(|e| panic!("{e}"));
        let policy = EnvelopePolicy::new(&art).with_predicate_type(slsa.clone());
        let env = sign_envelope(
            &signer,
            IN_TOTO_PAYLOAD_TYPE,
            &statement(&digest, slsa.as_uri()),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let ok = verify_envelope(&env, &key, &policy).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(ok.statement.subject[0].name, "blob");
        assert_eq!(ok.key_id, signer.key_id());

        let other = ArtifactRef::Bytes(b"other");
        let r = verify_envelope(&env, &key, &EnvelopePolicy::new(&other));
        assert!(
            matches!(r, Err(VerifyError::SubjectMismatch { .. })),
            "{r:?}"
        );
        // The message names what the statement is about (a replayed attestation shows
        // the artifact it was made for).
        let message = r.err().map(|e| e.to_string()).unwrap_or_default();
        assert_eq!(
            message,
            format!(
                "artifact sha256:{} is not a subject of the statement (its subjects: blob sha256:{digest})",
                hex::encode(other.sha256())
            )
        );

        let r = verify_envelope(
            &env,
            &key,
            &EnvelopePolicy::new(&art).with_predicate_type(
                PredicateType::parse("slsaprovenance1").unwrap_or_else(|e| panic!("{e}")),
            ),
        );
        assert!(matches!(r, Err(VerifyError::PredicateType { .. })), "{r:?}");

        let (_, other_key, _) = setup();
        let r = verify_envelope(&env, &other_key, &policy);
        assert!(
            matches!(r, Err(VerifyError::SignatureMismatch { checked: 1 })),
            "{r:?}"
        );

        // A payload changed after signing: the message says what that means.
        let mut changed = env.clone();
        changed.payload = statement(&hex::encode(other.sha256()), slsa.as_uri());
        let r = verify_envelope(&changed, &key, &policy);
        assert_eq!(
            r.err().map(|e| e.to_string()).unwrap_or_default(),
            "no signature verifies with the signer's key (1 checked): the signed content was \
             changed after signing, or another key signed it"
        );

        let mut tampered = env.clone();
        tampered.payload_type = "text/plain".into();
        assert!(matches!(
            verify_envelope(&tampered, &key, &policy),
            Err(VerifyError::SignatureMismatch { .. })
        ));

        let plain = sign_envelope(&signer, "text/plain", b"x").unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(
            verify_envelope(&plain, &key, &policy),
            Err(VerifyError::PayloadType { .. })
        ));

        let notjson =
            sign_envelope(&signer, IN_TOTO_PAYLOAD_TYPE, b"[").unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(
            verify_envelope(&notjson, &key, &policy),
            Err(VerifyError::Statement(_))
        ));

        let v2 = String::from_utf8_lossy(&statement(&digest, slsa.as_uri()))
            .replace("Statement/v0.1", "Statement/v2");
        let v2 = sign_envelope(&signer, IN_TOTO_PAYLOAD_TYPE, v2.as_bytes())
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(
            verify_envelope(&v2, &key, &policy),
            Err(VerifyError::StatementType { .. })
        ));

        let mut none = env.clone();
        none.signatures.clear();
        assert!(matches!(
            verify_envelope(&none, &key, &policy),
            Err(VerifyError::NoSignatures)
        ));

        // A second, valid signature after a bogus one is found.
        let mut two = env.clone();
        two.signatures.insert(
            0,
            crate::dsse::Signature {
                keyid: "x".into(),
                sig: vec![0x30, 0],
            },
        );
        assert_eq!(
            verify_envelope(&two, &key, &policy)
                .map(|v| v.signature_index)
                .ok(),
            Some(1)
        );
    }

    #[test]
    fn predicate_type_names() {
        let p = |s: &str| PredicateType::parse(s).map(|p| p.as_uri().to_owned()).ok();
        assert_eq!(
            p("slsaprovenance").as_deref(),
            Some("https://slsa.dev/provenance/v0.2")
        );
        assert_eq!(
            p("slsaprovenance1").as_deref(),
            Some("https://slsa.dev/provenance/v1")
        );
        assert_eq!(
            p("custom").as_deref(),
            Some("https://cosign.sigstore.dev/attestation/v1")
        );
        assert_eq!(
            p("https://example.com/x").as_deref(),
            Some("https://example.com/x")
        );
        assert_eq!(p("nonsense"), None);
        assert_eq!(p(""), None);
    }

    #[test]
    fn artifact_digest_parsing() {
        let d = "sha256:".to_owned() + &"ab".repeat(32);
        assert!(ArtifactRef::parse_digest(&d).is_ok());
        assert!(ArtifactRef::parse_digest(&"ab".repeat(32)).is_err());
        assert!(ArtifactRef::parse_digest("sha256:zz").is_err());
        assert!(ArtifactRef::parse_digest("sha512:ab").is_err());
    }

    fn conformance(name: &str) -> (Bundle, Vec<u8>) {
        let dir = shared_dir().join("sigstore-conformance/bundle-verify");
        let b = std::fs::read(dir.join(name).join("bundle.sigstore.json"))
            .unwrap_or_else(|e| panic!("{e}"));
        let bundle = Bundle::from_json(&b).unwrap_or_else(|e| panic!("{e}"));
        let art = std::fs::read(dir.join(name).join("artifact"))
            .or_else(|_| std::fs::read(dir.join("a.txt")))
            .unwrap_or_else(|e| panic!("{e}"));
        (bundle, art)
    }

    #[test]
    fn managed_key_message_signature_bundle() {
        let (bundle, art) = conformance("managed-key-happy-path");
        let dir = shared_dir().join("sigstore-conformance/bundle-verify/managed-key-happy-path");
        let key =
            VerificationKey::from_file(&dir.join("key.pub")).unwrap_or_else(|e| panic!("{e}"));
        let insecure = BundleOptions {
            insecure_ignore_tlog: true,
            ..BundleOptions::default()
        };
        let r = verify_bundle(&bundle, ArtifactRef::Bytes(&art), &key, &insecure);
        assert!(
            matches!(r, Ok(BundleVerification::MessageSignature { .. })),
            "{r:?}"
        );
        let digest = ArtifactRef::Sha256(ArtifactRef::Bytes(&art).sha256());
        assert!(verify_bundle(&bundle, digest, &key, &insecure).is_ok());
        // The transparency log entry verifies against the public-good Rekor key.
        let r = verify_bundle(
            &bundle,
            ArtifactRef::Bytes(&art),
            &key,
            &BundleOptions::default(),
        );
        assert!(
            matches!(r, Ok(BundleVerification::MessageSignature { .. })),
            "{r:?}"
        );
        let r = verify_bundle(&bundle, ArtifactRef::Bytes(b"tampered"), &key, &insecure);
        assert!(
            matches!(r, Err(VerifyError::MessageDigestMismatch { .. })),
            "{r:?}"
        );
        let (_, other, _) = setup();
        let r = verify_bundle(&bundle, ArtifactRef::Bytes(&art), &other, &insecure);
        assert!(
            matches!(r, Err(VerifyError::SignatureMismatch { .. })),
            "{r:?}"
        );
        let typed = BundleOptions {
            predicate_type: PredicateType::parse("custom").ok(),
            insecure_ignore_tlog: true,
        };
        let r = verify_bundle(&bundle, ArtifactRef::Bytes(&art), &key, &typed);
        assert!(
            matches!(r, Err(VerifyError::NotAnAttestation { .. })),
            "{r:?}"
        );
    }

    #[test]
    fn certificate_bundles_are_denied_with_a_key() {
        let (bundle, art) = conformance("happy-path-v0.3");
        let (_, key, _) = setup();
        let insecure = BundleOptions {
            insecure_ignore_tlog: true,
            ..BundleOptions::default()
        };
        let r = verify_bundle(&bundle, ArtifactRef::Bytes(&art), &key, &insecure);
        assert!(matches!(r, Err(VerifyError::SignerMismatch(_))), "{r:?}");
    }

    #[test]
    fn dsse_bundle_without_tlog() {
        let (signer, key, blob) = setup();
        let art = ArtifactRef::Bytes(&blob);
        let env = sign_envelope(
            &signer,
            IN_TOTO_PAYLOAD_TYPE,
            &statement(&hex::encode(art.sha256()), "https://x.example/p"),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let bundle = Bundle {
            media_type: crate::bundle::MEDIA_TYPE_V0_3.into(),
            verification_material: Some(crate::bundle::VerificationMaterial {
                public_key: Some(crate::bundle::PublicKeyIdentifier::default()),
                ..Default::default()
            }),
            message_signature: None,
            dsse_envelope: Some(env),
        };
        let bundle = Bundle::from_json(&bundle.to_json()).unwrap_or_else(|e| panic!("{e}"));
        let r = verify_bundle(&bundle, art, &key, &BundleOptions::default());
        assert!(matches!(r, Err(VerifyError::NoTlogEntries)), "{r:?}");
        assert!(r.as_ref().err().is_some_and(VerifyError::is_denial));
        let insecure = BundleOptions {
            insecure_ignore_tlog: true,
            ..BundleOptions::default()
        };
        assert!(matches!(
            verify_bundle(&bundle, art, &key, &insecure),
            Ok(BundleVerification::Attestation(_))
        ));
    }
}
