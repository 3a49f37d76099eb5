//! Offline X.509 checks for keyless Sigstore verification.
//!
//! Everything here is pure (no I/O, no clock): the caller passes the trust material and
//! the time to check against — the signing time (Rekor integrated time or an RFC 3161
//! `genTime`), never "now", because Fulcio certificates live for ten minutes.
//!
//! - [`cert`]: certificate parsing and path validation to a set of certificate
//!   authorities ([RFC 5280] §6 subset: signatures, validity, basic constraints, key
//!   usage, extended key usage, unhandled critical extensions; no revocation, no name
//!   constraints, no policies).
//! - [`identity`]: the signer identity — the subject alternative name and Fulcio's
//!   certificate extensions (OID arc `1.3.6.1.4.1.57264.1`, see Fulcio's
//!   `docs/oid-info.md`) — and the [`IdentityMatcher`] cosign's
//!   `--certificate-identity[-regexp]` / `--certificate-oidc-issuer[-regexp]` build.
//! - [`sct`]: embedded Signed Certificate Timestamps ([RFC 6962] §3.2–3.3): list parsing,
//!   precertificate reconstruction and signature verification against CT log keys.
//! - [`tsa`]: RFC 3161 timestamps ([RFC 3161] §2.4.2, CMS SignedData per [RFC 5652]):
//!   message imprint, CMS signature, TSA chain at the generation time.
//!
//! Signatures are verified with aws-lc-rs (ECDSA P-256/P-384 with SHA-256/384/512,
//! RSA PKCS#1 v1.5, Ed25519).
//!
//! [RFC 5280]: https://www.rfc-editor.org/rfc/rfc5280
//! [RFC 6962]: https://www.rfc-editor.org/rfc/rfc6962
//! [RFC 3161]: https://www.rfc-editor.org/rfc/rfc3161
//! [RFC 5652]: https://www.rfc-editor.org/rfc/rfc5652

pub mod cert;
pub mod identity;
mod pki;
pub mod sct;
pub mod tsa;

#[cfg(test)]
#[allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]
mod tests;

pub use cert::{Certificate, CertificateAuthority, KeyPurpose, VerifiedChain, verify_chain};
pub use identity::{
    CertificateIdentity, FulcioExtensions, IdentityMatcher, StringMatcher, SubjectAlternativeName,
};
pub use sct::{
    CtLogKeys, SignedCertificateTimestamp, embedded_scts, parse_sct_list, precertificate_tbs,
    verify_embedded_scts, verify_embedded_scts_with_issuer,
};
pub use tsa::{Timestamp, VerifiedTimestamp, verify_timestamp};

/// Why an X.509 check failed. Each failed check is its own variant.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum X509Error {
    /// Bytes that should be DER (a certificate, extension, CMS structure) are malformed.
    #[error("malformed {what}")]
    Malformed {
        /// What was being parsed.
        what: &'static str,
        /// The decoder's error, when it came from the DER decoder.
        #[source]
        source: Option<der::Error>,
    },
    /// A signature or public key algorithm this verifier does not support.
    #[error("unsupported algorithm {oid} in {what}")]
    UnsupportedAlgorithm {
        /// Where it was found.
        what: &'static str,
        /// The algorithm OID.
        oid: String,
    },
    /// A certificate's signature does not verify with its issuer's key.
    #[error("certificate signature does not verify: {subject}")]
    CertificateSignature {
        /// The subject of the certificate whose signature failed.
        subject: String,
    },
    /// A certificate is not valid at the time checked (signing time, not now).
    #[error(
        "certificate{} {} at {at} (valid {not_before} to {not_after}, unix seconds)",
        if .subject.is_empty() { String::new() } else { format!(" {}", .subject) },
        if .at > .not_after { "had expired" } else { "was not yet valid" }
    )]
    CertificateNotValidAt {
        /// The certificate's subject.
        subject: String,
        /// `notBefore`, unix seconds.
        not_before: u64,
        /// `notAfter`, unix seconds.
        not_after: u64,
        /// The time checked, unix seconds.
        at: u64,
    },
    /// No certificate authority's validity window (trusted root `validFor`) contains the
    /// time checked.
    #[error("no certificate authority was valid at {at} (unix seconds)")]
    AuthorityNotValidAt {
        /// The time checked, unix seconds.
        at: u64,
    },
    /// No certificate authority is given.
    #[error("no certificate authorities to verify against")]
    NoAuthorities,
    /// No chain from the certificate to a trusted root was found.
    #[error("certificate {subject} does not chain to a trusted root")]
    UntrustedChain {
        /// The subject of the certificate.
        subject: String,
    },
    /// An issuing certificate lacks the CA basic constraint or the keyCertSign key usage.
    #[error("issuer {subject} is not a CA (basicConstraints cA / keyUsage keyCertSign)")]
    NotCa {
        /// The issuer's subject.
        subject: String,
    },
    /// An issuing certificate's `pathLenConstraint` is exceeded.
    #[error("path length constraint of {subject} exceeded")]
    PathLength {
        /// The constraining certificate's subject.
        subject: String,
    },
    /// The leaf lacks the extended key usage the check needs (codeSigning for Fulcio
    /// certificates, timeStamping for TSA certificates), or the digitalSignature usage.
    #[error("certificate {subject} lacks the {purpose} key usage")]
    KeyUsage {
        /// The certificate's subject.
        subject: String,
        /// The usage required.
        purpose: &'static str,
    },
    /// A certificate carries a critical extension this verifier does not process.
    #[error("certificate {subject} has an unhandled critical extension {oid}")]
    UnhandledCriticalExtension {
        /// The certificate's subject.
        subject: String,
        /// The extension OID.
        oid: String,
    },
    /// The certificate has no supported subject alternative name (email, URI, or
    /// Fulcio's otherName).
    #[error("certificate has no email, URI or otherName subject alternative name")]
    MissingSan,
    /// The certificate has no Fulcio OIDC issuer extension (`1.3.6.1.4.1.57264.1.8` or
    /// `.1.1`).
    #[error("certificate has no OIDC issuer extension")]
    MissingIssuer,
    /// The subject alternative name does not match the expected identity.
    #[error("certificate identity `{found}` does not match the expected {expected}")]
    SanMismatch {
        /// The SAN found.
        found: String,
        /// The matcher, rendered.
        expected: String,
    },
    /// The OIDC issuer does not match the expected issuer.
    #[error("certificate OIDC issuer `{found}` does not match the expected {expected}")]
    IssuerMismatch {
        /// The issuer found.
        found: String,
        /// The matcher, rendered.
        expected: String,
    },
    /// An identity regular expression does not compile.
    #[error("invalid identity regular expression")]
    Regex(#[source] regex::Error),
    /// The leaf has no embedded SCT list extension (`1.3.6.1.4.1.11129.2.4.2`).
    #[error("certificate has no embedded signed certificate timestamps")]
    MissingSct,
    /// The SCT list is malformed (RFC 6962 §3.3 TLS encoding).
    #[error("malformed SCT list: {0}")]
    SctFormat(&'static str),
    /// No SCT verified with a known CT log key.
    #[error(
        "no signed certificate timestamp verifies ({checked} checked, {unknown_logs} from unknown logs)"
    )]
    SctNotVerified {
        /// How many SCTs were present.
        checked: usize,
        /// How many named a log the lookup did not know.
        unknown_logs: usize,
    },
    /// The timestamp response's status is neither granted nor grantedWithMods.
    #[error("timestamp response status {status} is not granted")]
    TimestampStatus {
        /// The PKIStatus value.
        status: u32,
    },
    /// The timestamp token is not a CMS SignedData over a TSTInfo, or misses a required
    /// part (signer info, signed attributes).
    #[error("invalid timestamp token: {0}")]
    TimestampFormat(&'static str),
    /// The timestamp's message imprint is not the hash of the signature.
    #[error("timestamp message imprint does not match the signature")]
    TimestampImprint,
    /// The CMS signed attributes' message digest is not the hash of the TSTInfo.
    #[error("timestamp content digest does not match the signed attributes")]
    TimestampDigest,
    /// No certificate (embedded or from the trusted authorities) matches the signer.
    #[error("timestamp signer certificate not found")]
    TimestampSignerNotFound,
    /// The CMS signature over the signed attributes does not verify.
    #[error("timestamp signature does not verify")]
    TimestampSignature,
}

impl X509Error {
    /// Whether retrying may help: never — every check here is on bytes already held.
    #[must_use]
    pub fn is_transient(&self) -> bool {
        false
    }

    pub(crate) fn malformed(what: &'static str) -> impl FnOnce(der::Error) -> Self {
        move |source| Self::Malformed {
            what,
            source: Some(source),
        }
    }
}
