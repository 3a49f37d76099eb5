//! The Sigstore bundle verifier, split like sigstore-go's `pkg/verify`: a [`Verifier`]
//! holds the deployment's trust material and options (built once), a [`Policy`] says
//! what one artifact's bundle must prove (a key, or a signer identity; a predicate type).
//!
//! [`Verifier::verify`] follows the Sigstore client specification's verification steps
//! (<https://github.com/sigstore/architecture-docs/blob/main/client-spec.md>, §4,
//! quoted at each step), offline: every proof must be inside the bundle and the trusted
//! root. Check order (it decides which failure a broken bundle reports): key material
//! against the policy; the signature (§4.5); RFC 3161 timestamps (§4.2.1); log entries
//! (§4.2.2, §4.4); the certificate at every verified time, its SCT and identity (§4.3);
//! last the DSSE statement (payload type, predicate type, subject).

use std::time::SystemTime;

use jiff::Timestamp;

use super::{
    ArtifactRef, BundleVerification, EnvelopePolicy, PredicateType, VerificationKey, VerifyError,
    verify_envelope,
};
use crate::bundle::{Bundle, BundleVersion, Content, HashAlgorithm};
use crate::signing::{KeyAlgorithm, PublicKey};
use crate::transparency::{self, TlogOptions};
use crate::trust::TrustedRoot;
use crate::x509::{
    Certificate, CertificateAuthority, IdentityMatcher, KeyPurpose, verify_chain,
    verify_embedded_scts, verify_timestamp,
};

/// Deployment options of a [`Verifier`] (sigstore-go's `VerifierOption`s).
#[derive(Clone, Debug)]
pub struct VerifierOptions {
    /// Skip transparency log entries entirely (cosign's `--insecure-ignore-tlog`).
    pub insecure_ignore_tlog: bool,
    /// Skip the embedded SCT check of certificates (cosign's `--insecure-ignore-sct`).
    pub insecure_ignore_sct: bool,
    /// How many distinct transparency logs must hold a verified entry (default 1; 0 only
    /// with `insecure_ignore_tlog`). Every entry present must verify regardless.
    pub tlog_threshold: usize,
    /// The current time for "not in the future" checks; `None`: the system clock.
    pub now: Option<Timestamp>,
}

impl Default for VerifierOptions {
    fn default() -> Self {
        Self {
            insecure_ignore_tlog: false,
            insecure_ignore_sct: false,
            tlog_threshold: 1,
            now: None,
        }
    }
}

/// Who must have signed.
#[derive(Clone, Debug)]
enum Signer {
    Key(VerificationKey),
    Identity(IdentityMatcher),
    AnyIdentityUnsafe,
}

/// What one bundle must prove besides its cryptographic validity: the signer (a key, or
/// a certificate identity) and optionally the predicate type.
#[derive(Clone, Debug)]
pub struct Policy {
    signer: Signer,
    predicate_type: Option<PredicateType>,
}

impl Policy {
    /// Build a policy from its parts, rejecting conflicts: exactly one of `key` and
    /// `identity` must be given, unless `unsafe_any_identity` is set (then neither may be
    /// given: any certificate from a trusted Fulcio CA is accepted).
    ///
    /// # Errors
    ///
    /// [`VerifyError::InvalidOptions`] for a conflicting or empty combination.
    pub fn new(
        key: Option<VerificationKey>,
        identity: Option<IdentityMatcher>,
        unsafe_any_identity: bool,
    ) -> Result<Self, VerifyError> {
        let signer = match (key, identity, unsafe_any_identity) {
            (Some(k), None, false) => Signer::Key(k),
            (None, Some(m), false) => Signer::Identity(m),
            (None, None, true) => Signer::AnyIdentityUnsafe,
            (Some(_), Some(_), _) => {
                return Err(VerifyError::InvalidOptions(
                    "a key and a certificate identity are mutually exclusive".into(),
                ));
            }
            (None, None, false) => {
                return Err(VerifyError::InvalidOptions(
                    "a key or a certificate identity (SAN and OIDC issuer) is required".into(),
                ));
            }
            (_, _, true) => {
                return Err(VerifyError::InvalidOptions(
                    "unsafe_any_identity excludes a key or an identity".into(),
                ));
            }
        };
        Ok(Self {
            signer,
            predicate_type: None,
        })
    }

    /// A policy requiring a signature by `key`.
    #[must_use]
    pub fn key(key: VerificationKey) -> Self {
        Self {
            signer: Signer::Key(key),
            predicate_type: None,
        }
    }

    /// A policy requiring a certificate whose identity matches.
    #[must_use]
    pub fn identity(matcher: IdentityMatcher) -> Self {
        Self {
            signer: Signer::Identity(matcher),
            predicate_type: None,
        }
    }

    /// Also require this predicate type (DSSE bundles only).
    #[must_use]
    pub fn with_predicate_type(mut self, predicate_type: Option<PredicateType>) -> Self {
        self.predicate_type = predicate_type;
        self
    }
}

/// What [`Verifier::verify`] proved.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Verification {
    /// The content that verified.
    pub content: BundleVerification,
    /// Distinct transparency logs with a verified entry (what counts towards
    /// [`VerifierOptions::tlog_threshold`]).
    pub tlog_entries: usize,
    /// Verified signing times (integrated times and RFC 3161 `genTime`s).
    pub signing_times: Vec<Timestamp>,
    /// The signer's SAN, for certificate bundles.
    pub san: Option<String>,
    /// The signer's OIDC issuer, for certificate bundles.
    pub issuer: Option<String>,
    /// Every verified transparency-log entry: where and when the signature was logged.
    pub logged: Vec<LoggedEntry>,
}

/// Where a verified signature was logged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoggedEntry {
    /// The log's base URL, from the trusted root.
    pub log_url: String,
    /// The entry's log index.
    pub log_index: i64,
    /// When the log integrated it (Rekor v1); `None` for Rekor v2, whose time comes from a
    /// timestamp authority.
    pub integrated_time: Option<Timestamp>,
}

/// A verifier for one deployment: a trusted root and options, built once.
#[derive(Clone, Debug)]
pub struct Verifier {
    trust: TrustedRoot,
    fulcio: Vec<CertificateAuthority>,
    tsas: Vec<CertificateAuthority>,
    options: VerifierOptions,
}

fn authorities(
    cas: &[crate::trust::CertificateAuthority],
) -> Result<Vec<CertificateAuthority>, VerifyError> {
    cas.iter()
        .map(|ca| {
            CertificateAuthority::from_der_chain(&ca.cert_chain.certificates)
                .map(|a| {
                    a.with_validity(
                        ca.valid_for.start.map(SystemTime::from),
                        ca.valid_for.end.map(SystemTime::from),
                    )
                })
                .map_err(VerifyError::TrustedRoot)
        })
        .collect()
}

fn to_jiff(t: SystemTime) -> Result<Timestamp, VerifyError> {
    Timestamp::try_from(t).map_err(|_| VerifyError::NoSigningTime)
}

impl Verifier {
    /// A verifier over `trust`.
    ///
    /// # Errors
    ///
    /// [`VerifyError::InvalidOptions`] for conflicting options (a threshold of 0 without
    /// `insecure_ignore_tlog`); [`VerifyError::TrustedRoot`] when an authority's
    /// certificates do not parse.
    pub fn new(trust: TrustedRoot, options: VerifierOptions) -> Result<Self, VerifyError> {
        if options.tlog_threshold == 0 && !options.insecure_ignore_tlog {
            return Err(VerifyError::InvalidOptions(
                "a transparency log threshold of 0 requires insecure_ignore_tlog".into(),
            ));
        }
        Ok(Self {
            fulcio: authorities(&trust.certificate_authorities)?,
            tsas: authorities(&trust.timestamp_authorities)?,
            trust,
            options,
        })
    }

    /// Verify `bundle` over `artifact` against `policy`.
    ///
    /// # Errors
    ///
    /// The first failed check, as a [`VerifyError`] (see [`VerifyError::check`]).
    pub fn verify(
        &self,
        bundle: &Bundle,
        artifact: ArtifactRef<'_>,
        policy: &Policy,
    ) -> Result<Verification, VerifyError> {
        self.verify_inner(bundle, Some(artifact), policy)
    }

    /// Verify a DSSE attestation `bundle` against `policy` without binding it to an
    /// artifact: every check of [`Verifier::verify`] except that the statement names a
    /// given digest among its subjects. For attestations found by their run rather than by
    /// an artifact (`verify --chain --kubeconfig`: a TaskRun's `tekton` storage
    /// annotations), which the caller binds to the run itself.
    ///
    /// # Errors
    ///
    /// The first failed check, as a [`VerifyError`]; a message signature is
    /// [`VerifyError::Unsupported`] (it means nothing without its artifact).
    pub fn verify_unbound(
        &self,
        bundle: &Bundle,
        policy: &Policy,
    ) -> Result<Verification, VerifyError> {
        self.verify_inner(bundle, None, policy)
    }

    fn verify_inner(
        &self,
        bundle: &Bundle,
        artifact: Option<ArtifactRef<'_>>,
        policy: &Policy,
    ) -> Result<Verification, VerifyError> {
        let version = bundle.version().map_err(VerifyError::Bundle)?;
        let material = bundle.material().map_err(VerifyError::Bundle)?;
        let content = bundle.content().map_err(VerifyError::Bundle)?;
        let leaf_der = material
            .certificate
            .as_ref()
            .map(|c| c.raw_bytes.as_slice())
            .or_else(|| {
                material
                    .x509_certificate_chain
                    .as_ref()
                    .and_then(|ch| ch.certificates.first())
                    .map(|c| c.raw_bytes.as_slice())
            });

        // The verification key: the policy's (public-key bundles) or the leaf
        // certificate's (keyless); a bundle whose key material is not the kind the
        // policy names is denied.
        let (leaf, key, policy_key) = match (&policy.signer, leaf_der, &material.public_key) {
            (Signer::Key(k), None, Some(_)) => (None, k.public_key().clone(), Some(k)),
            (Signer::Key(_), Some(_), _) => {
                return Err(VerifyError::SignerMismatch(
                    "the bundle carries a certificate but a key was given",
                ));
            }
            (Signer::Identity(_) | Signer::AnyIdentityUnsafe, Some(der), _) => {
                let leaf = Certificate::from_der(der).map_err(VerifyError::Certificate)?;
                let spki = leaf.spki_der().map_err(VerifyError::Certificate)?;
                let key = PublicKey::from_spki_der(&spki).map_err(|e| {
                    VerifyError::Unsupported(format!("certificate public key: {e}"))
                })?;
                (Some(leaf), key, None)
            }
            (Signer::Identity(_) | Signer::AnyIdentityUnsafe, None, _) => {
                return Err(VerifyError::SignerMismatch(
                    "the bundle is signed with a key but no key was given",
                ));
            }
            (Signer::Key(_), None, None) => {
                return Err(VerifyError::Bundle(crate::bundle::BundleError::KeyMaterial));
            }
        };
        let signature: &[u8] = match content {
            Content::MessageSignature(m) => &m.signature,
            Content::DsseEnvelope(e) => e
                .signatures
                .first()
                .map(|s| s.sig.as_slice())
                .ok_or(VerifyError::NoSignatures)?,
        };

        // Spec §4.5: "The Verifier MUST verify the provided signature for the constructed
        // payload against the key in the leaf of the certificate chain." The payload is
        // the artifact (message signature; its digest hint must be the artifact's) or the
        // DSSE PAE. Done first (offline and cheap), so a bad signature is reported as such
        // and not as a log mismatch.
        let vkey = VerificationKey::from(key);
        let signed = match content {
            Content::DsseEnvelope(env) => {
                let pae = env.pae();
                let pk = vkey.public_key();
                if !env
                    .signatures
                    .iter()
                    .any(|s| pk.verify(&pae, &s.sig).is_ok())
                {
                    return Err(VerifyError::SignatureMismatch {
                        checked: env.signatures.len(),
                    });
                }
                None
            }
            Content::MessageSignature(ms) => {
                if let Some(want) = &policy.predicate_type {
                    return Err(VerifyError::NotAnAttestation {
                        expected: want.as_uri().to_owned(),
                    });
                }
                let Some(artifact) = artifact else {
                    return Err(VerifyError::Unsupported(
                        "a message signature cannot be verified without its artifact".into(),
                    ));
                };
                let sha256 = artifact.sha256();
                if let Some(d) = &ms.message_digest {
                    if d.algorithm != HashAlgorithm::Sha2_256 {
                        return Err(VerifyError::DigestAlgorithm(
                            d.algorithm.as_str().to_owned(),
                        ));
                    }
                    if d.digest != sha256 {
                        return Err(VerifyError::MessageDigestMismatch {
                            artifact: hex::encode(sha256),
                        });
                    }
                }
                let pk = vkey.public_key();
                let ok = match (artifact, pk.algorithm()) {
                    (ArtifactRef::Bytes(b), _) => pk.verify(b, &ms.signature).is_ok(),
                    (ArtifactRef::Sha256(_), KeyAlgorithm::EcdsaP256Sha256) => {
                        pk.verify_sha256_digest(&sha256, &ms.signature).is_ok()
                    }
                    (ArtifactRef::Sha256(_), _) => {
                        return Err(VerifyError::Unsupported(
                            "this message signature needs the artifact itself, not its digest"
                                .into(),
                        ));
                    }
                };
                if !ok {
                    return Err(VerifyError::SignatureMismatch { checked: 1 });
                }
                Some(BundleVerification::MessageSignature { sha256 })
            }
        };

        // Spec §4.2.1: "the Verifier MUST verify the timestamping response using the
        // Timestamping Service root key material ... with the raw bytes of the signature
        // as the timestamped data. ... If verification or timestamp parsing fails, the
        // Verifier MUST abort." Every timestamp must verify (sigstore-go only counts the
        // good ones against a threshold; hallmark fails closed).
        let mut times = Vec::new();
        if let Some(tvd) = &material.timestamp_verification_data {
            for ts in &tvd.rfc3161_timestamps {
                let v = verify_timestamp(&ts.signed_timestamp, signature, &self.tsas)
                    .map_err(VerifyError::Timestamp)?;
                times.push(to_jiff(v.gen_time)?);
            }
        }
        let tsa_time = times.first().copied();

        // Spec §4.2.2: "the Verifier MUST verify the signature on the Transparency
        // Service `LogEntry` ... against the pre-distributed root key material" (SET, or
        // inclusion proof + signed checkpoint; the proof is required from bundle v0.2 on
        // and for Rekor v2). §4.4: "1. The signature from the parsed body is the same as
        // the provided signature. 2. The key or certificate from the parsed body is the
        // same as in the input certificate. 3. The “subject” of the parsed body matches
        // the artifact." §4.6: "Verifiers MUST ensure that multiple entries in the same
        // log do not both count towards the threshold."
        let mut verified_logs: Vec<Vec<u8>> = Vec::new();
        let mut logged = Vec::new();
        if !self.options.insecure_ignore_tlog {
            for entry in &material.tlog_entries {
                let rekor_v2 = entry.integrated_time == 0;
                if rekor_v2 && tsa_time.is_none() {
                    // Rekor v2 has no integrated time: a TSA must vouch for the time.
                    return Err(VerifyError::NoSigningTime);
                }
                if version == BundleVersion::V0_1 && entry.inclusion_promise.is_none() {
                    return Err(VerifyError::Tlog(transparency::TransparencyError::Missing(
                        "signed entry timestamp (required in v0.1 bundles)",
                    )));
                }
                let opts = TlogOptions {
                    now: self.options.now,
                    signed_time: tsa_time,
                    require_inclusion_proof: version >= BundleVersion::V0_2 || rekor_v2,
                };
                let v = transparency::verify_tlog_entry(entry, &self.trust, &opts)
                    .map_err(VerifyError::Tlog)?;
                v.body
                    .check_bundle(bundle, policy_key.map(VerificationKey::public_key))
                    .map_err(VerifyError::Tlog)?;
                if let Some(t) = v.integrated_time {
                    times.push(t);
                }
                logged.push(LoggedEntry {
                    log_url: v.log_url.clone(),
                    log_index: v.log_index,
                    integrated_time: v.integrated_time,
                });
                if !verified_logs.contains(&v.log_id) {
                    verified_logs.push(v.log_id);
                }
            }
            let verified_entries = verified_logs.len();
            if verified_entries < self.options.tlog_threshold {
                return Err(if material.tlog_entries.is_empty() {
                    VerifyError::NoTlogEntries
                } else {
                    VerifyError::TlogThreshold {
                        verified: verified_entries,
                        required: self.options.tlog_threshold,
                    }
                });
            }
        }

        // Spec §4.3: "The Verifier MUST perform certification path validation (RFC 5280
        // §6) of the certificate chain with the pre-distributed Fulcio root certificate(s)
        // as a trust anchor, but with a fake “current time.” ... If both are available,
        // the Verifier performs path validation twice. If either fails, verification
        // fails." Here: once per verified time (each TSA time, each integrated time).
        let (mut san, mut issuer) = (None, None);
        if let Some(leaf) = &leaf {
            if times.is_empty() {
                return Err(VerifyError::NoSigningTime);
            }
            let mut chain = None;
            for t in &times {
                let c = verify_chain(
                    leaf,
                    &self.fulcio,
                    SystemTime::from(*t),
                    KeyPurpose::CodeSigning,
                )
                .map_err(VerifyError::Certificate)?;
                chain = Some(c);
            }
            // Spec §4.3: "the Verifier MUST extract the `SignedCertificateTimestamp`
            // embedded in the leaf certificate, and verify it as in RFC 6962 §3.2, using
            // the verification key from the Certificate Transparency Log."
            if let (Some(chain), false) = (&chain, self.options.insecure_ignore_sct) {
                let lookup = |log_id: &[u8; 32], at: SystemTime| -> Option<Vec<u8>> {
                    let at = Timestamp::try_from(at).ok()?;
                    self.trust
                        .ctlog_key_at(log_id, at)
                        .ok()
                        .map(|(log, _)| log.public_key.raw_bytes.clone())
                };
                verify_embedded_scts(chain, &lookup).map_err(VerifyError::Sct)?;
            }
            // Spec §4.3: "The Verifier MUST then check the certificate against the
            // verification policy. ... SHOULD check the `Issuer` X.509 extension ... at a
            // minimum, and will in most cases check the `SubjectAlternativeName` as well."
            let id = leaf.identity().map_err(VerifyError::Identity)?;
            if let Signer::Identity(m) = &policy.signer {
                m.check(&id).map_err(VerifyError::Identity)?;
            }
            san = id.san.as_ref().map(|s| s.as_str().to_owned());
            issuer = id.issuer().map(str::to_owned);
        }

        // The statement inside a DSSE envelope (signature re-checked: cheap) — last, so
        // that an envelope that is not the logged one is reported as a log mismatch.
        let content = match (signed, content) {
            (Some(done), _) => done,
            (None, Content::DsseEnvelope(env)) => {
                let mut p = match &artifact {
                    Some(a) => EnvelopePolicy::new(a),
                    None => EnvelopePolicy::any_subject(),
                };
                p.predicate_type.clone_from(&policy.predicate_type);
                BundleVerification::Attestation(verify_envelope(env, &vkey, &p)?)
            }
            (None, Content::MessageSignature(_)) => {
                return Err(VerifyError::Unsupported("unreachable content state".into()));
            }
        };
        Ok(Verification {
            content,
            tlog_entries: verified_logs.len(),
            signing_times: times,
            san,
            issuer,
            logged,
        })
    }
}

#[cfg(test)]
#[allow(clippy::panic)] // Tests report failures by panicking.
mod tests {
    use super::*;
    use crate::test_support::shared_dir;
    use crate::x509::StringMatcher;

    const BEACON: &str = "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main";
    const GITHUB: &str = "https://token.actions.githubusercontent.com";

    fn case(name: &str) -> (Bundle, Vec<u8>, TrustedRoot) {
        let dir = shared_dir().join("sigstore-conformance/bundle-verify");
        let raw = std::fs::read(dir.join(name).join("bundle.sigstore.json"))
            .unwrap_or_else(|e| panic!("{e}"));
        let bundle = Bundle::from_json(&raw).unwrap_or_else(|e| panic!("{e}"));
        let art = std::fs::read(dir.join(name).join("artifact"))
            .or_else(|_| std::fs::read(dir.join("a.txt")))
            .unwrap_or_else(|e| panic!("{e}"));
        let root = dir.join(name).join("trusted_root.json");
        let trust = if root.is_file() {
            TrustedRoot::from_file(&root)
        } else {
            TrustedRoot::public_good()
        }
        .unwrap_or_else(|e| panic!("{e}"));
        (bundle, art, trust)
    }

    fn beacon() -> Policy {
        Policy::identity(IdentityMatcher::new(
            StringMatcher::exact(BEACON),
            StringMatcher::exact(GITHUB),
        ))
    }

    #[test]
    fn conflicting_options_are_rejected() {
        let m = IdentityMatcher::new(StringMatcher::exact("a"), StringMatcher::exact("b"));
        let key = crate::signing::LocalSigner::generate_p256()
            .map(|s| VerificationKey::from(crate::signing::Signer::public_key(&s).clone()))
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(Policy::new(Some(key.clone()), Some(m.clone()), false).is_err());
        assert!(Policy::new(None, None, false).is_err());
        assert!(Policy::new(Some(key.clone()), None, true).is_err());
        assert!(Policy::new(Some(key), None, false).is_ok());
        assert!(Policy::new(None, Some(m), false).is_ok());
        assert!(Policy::new(None, None, true).is_ok());
        let trust = TrustedRoot::public_good().unwrap_or_else(|e| panic!("{e}"));
        let zero = VerifierOptions {
            tlog_threshold: 0,
            ..VerifierOptions::default()
        };
        let r = Verifier::new(trust.clone(), zero.clone());
        assert!(matches!(r, Err(VerifyError::InvalidOptions(_))), "{r:?}");
        let insecure = VerifierOptions {
            insecure_ignore_tlog: true,
            ..zero
        };
        assert!(Verifier::new(trust, insecure).is_ok());
    }

    #[test]
    fn keyless_bundle_checks() {
        let (bundle, art, trust) = case("happy-path-v0.3");
        let v = Verifier::new(trust, VerifierOptions::default()).unwrap_or_else(|e| panic!("{e}"));
        let ok = v
            .verify(&bundle, ArtifactRef::Bytes(&art), &beacon())
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(ok.tlog_entries, 1);
        assert_eq!(ok.san.as_deref(), Some(BEACON));
        assert_eq!(ok.issuer.as_deref(), Some(GITHUB));
        // Unanchored regexes, as in cosign.
        let re = Policy::identity(IdentityMatcher::new(
            StringMatcher::regex_unanchored("oidc-beacon").unwrap_or_else(|e| panic!("{e}")),
            StringMatcher::regex_unanchored("githubusercontent").unwrap_or_else(|e| panic!("{e}")),
        ));
        assert!(v.verify(&bundle, ArtifactRef::Bytes(&art), &re).is_ok());
        let wrong = Policy::identity(IdentityMatcher::new(
            StringMatcher::exact(BEACON),
            StringMatcher::exact("https://accounts.google.com"),
        ));
        let r = v.verify(&bundle, ArtifactRef::Bytes(&art), &wrong);
        assert!(matches!(r, Err(VerifyError::Identity(_))), "{r:?}");
        let r = v.verify(&bundle, ArtifactRef::Bytes(b"other"), &beacon());
        assert!(r.is_err(), "{r:?}");
        // Without the log there is no signing time for the certificate.
        let (bundle, art, trust) = case("happy-path-v0.3");
        let v = Verifier::new(
            trust,
            VerifierOptions {
                insecure_ignore_tlog: true,
                ..VerifierOptions::default()
            },
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let r = v.verify(&bundle, ArtifactRef::Bytes(&art), &beacon());
        assert!(matches!(r, Err(VerifyError::NoSigningTime)), "{r:?}");
    }

    #[test]
    fn insecure_ignore_sct_skips_only_the_sct() {
        let (bundle, art, trust) = case("invalid-ct-key_fail");
        let strict = Verifier::new(trust.clone(), VerifierOptions::default())
            .unwrap_or_else(|e| panic!("{e}"));
        let r = strict.verify(&bundle, ArtifactRef::Bytes(&art), &beacon());
        assert!(matches!(r, Err(VerifyError::Sct(_))), "{r:?}");
        let lax = Verifier::new(
            trust,
            VerifierOptions {
                insecure_ignore_sct: true,
                ..VerifierOptions::default()
            },
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let r = lax.verify(&bundle, ArtifactRef::Bytes(&art), &beacon());
        assert!(r.is_ok(), "{r:?}");
    }

    #[test]
    fn rekor_v2_needs_a_timestamp() {
        let (mut bundle, art, trust) = case("rekor2-happy-path");
        let v = Verifier::new(trust, VerifierOptions::default()).unwrap_or_else(|e| panic!("{e}"));
        assert!(
            v.verify(&bundle, ArtifactRef::Bytes(&art), &beacon())
                .is_ok()
        );
        if let Some(vm) = bundle.verification_material.as_mut() {
            vm.timestamp_verification_data = None;
        }
        let r = v.verify(&bundle, ArtifactRef::Bytes(&art), &beacon());
        assert!(matches!(r, Err(VerifyError::NoSigningTime)), "{r:?}");
    }
}
