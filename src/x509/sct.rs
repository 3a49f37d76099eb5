//! Embedded Signed Certificate Timestamps ([RFC 6962]).
//!
//! Fulcio embeds the SCTs of its precertificate in the certificate, extension
//! `1.3.6.1.4.1.11129.2.4.2`: an OCTET STRING holding the TLS-encoded
//! `SignedCertificateTimestampList` (§3.3). Each SCT signs (§3.2) the `digitally-signed`
//! struct:
//!
//! ```text
//! sct_version(1) = v1(0) | signature_type(1) = certificate_timestamp(0) | timestamp(8)
//! | entry_type(2) = precert_entry(1) | issuer_key_hash(32) | tbs_certificate<1..2^24-1>
//! | extensions<0..2^16-1>
//! ```
//!
//! where `tbs_certificate` is the leaf's TBSCertificate without the SCT list extension
//! and `issuer_key_hash` is SHA-256 of the issuing CA's SubjectPublicKeyInfo. The log
//! key is found by the SCT's `log_id` (SHA-256 of the log's SubjectPublicKeyInfo)
//! through [`CtLogKeys`].
//!
//! [RFC 6962]: https://www.rfc-editor.org/rfc/rfc6962

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use der::{Decode as _, Encode as _};
use spki::SubjectPublicKeyInfoOwned;

use super::X509Error;
use super::cert::{Certificate, VerifiedChain};
use super::pki::{self, Hash, Scheme, oid};

/// One SCT (RFC 6962 §3.2 `SignedCertificateTimestamp`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedCertificateTimestamp {
    /// `sct_version` (only v1 = 0 verifies).
    pub version: u8,
    /// The log's id: SHA-256 of its SubjectPublicKeyInfo.
    pub log_id: [u8; 32],
    /// Milliseconds since the Unix epoch.
    pub timestamp_ms: u64,
    /// `CtExtensions` (opaque; Static CT logs put the leaf index here).
    pub extensions: Vec<u8>,
    /// TLS `HashAlgorithm` (4 = sha256, 5 = sha384, 6 = sha512).
    pub hash_algorithm: u8,
    /// TLS `SignatureAlgorithm` (1 = rsa, 3 = ecdsa, 7 = ed25519).
    pub signature_algorithm: u8,
    /// The signature bytes (ASN.1 DER for ECDSA).
    pub signature: Vec<u8>,
}

impl SignedCertificateTimestamp {
    /// The timestamp as a time.
    #[must_use]
    pub fn time(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(self.timestamp_ms)
    }

    fn scheme(&self) -> Option<Scheme> {
        let hash = match self.hash_algorithm {
            4 => Hash::Sha256,
            5 => Hash::Sha384,
            6 => Hash::Sha512,
            _ if self.signature_algorithm == 7 => Hash::Sha512,
            _ => return None,
        };
        match self.signature_algorithm {
            1 => Some(Scheme::Rsa(hash)),
            3 => Some(Scheme::Ecdsa(hash)),
            7 => Some(Scheme::Ed25519),
            _ => None,
        }
    }
}

/// A source of CT log keys: the log's SubjectPublicKeyInfo DER for a log id, if the log
/// is trusted at the SCT's time (trusted root `ctlogs[].publicKey.validFor`).
///
/// Closures `Fn(&[u8; 32], SystemTime) -> Option<Vec<u8>>` implement it.
pub trait CtLogKeys {
    /// The SPKI DER of the log with this id, trusted at `at`; `None` if unknown.
    fn ct_log_key(&self, log_id: &[u8; 32], at: SystemTime) -> Option<Vec<u8>>;
}

impl<F> CtLogKeys for F
where
    F: Fn(&[u8; 32], SystemTime) -> Option<Vec<u8>>,
{
    fn ct_log_key(&self, log_id: &[u8; 32], at: SystemTime) -> Option<Vec<u8>> {
        self(log_id, at)
    }
}

/// A little TLS presentation-language reader.
struct Tls<'a>(&'a [u8]);

impl<'a> Tls<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], X509Error> {
        if self.0.len() < n {
            return Err(X509Error::SctFormat("truncated"));
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Ok(head)
    }

    fn uint(&mut self, n: usize) -> Result<u64, X509Error> {
        Ok(self
            .take(n)?
            .iter()
            .fold(0u64, |acc, b| (acc << 8) | u64::from(*b)))
    }

    fn vec16(&mut self) -> Result<&'a [u8], X509Error> {
        let len = usize::try_from(self.uint(2)?).map_err(|_| X509Error::SctFormat("length"))?;
        self.take(len)
    }
}

/// Parse a TLS-encoded `SignedCertificateTimestampList` (RFC 6962 §3.3; the contents of
/// the extension's inner OCTET STRING).
///
/// # Errors
///
/// [`X509Error::SctFormat`] when the list or an SCT is truncated, has trailing bytes, or
/// is empty.
pub fn parse_sct_list(bytes: &[u8]) -> Result<Vec<SignedCertificateTimestamp>, X509Error> {
    let mut outer = Tls(bytes);
    let list = outer.vec16()?;
    if !outer.0.is_empty() {
        return Err(X509Error::SctFormat("trailing bytes after the list"));
    }
    let mut list = Tls(list);
    let mut out = Vec::new();
    while !list.0.is_empty() {
        let mut sct = Tls(list.vec16()?);
        let version = u8::try_from(sct.uint(1)?).map_err(|_| X509Error::SctFormat("version"))?;
        let mut log_id = [0u8; 32];
        log_id.copy_from_slice(sct.take(32)?);
        let timestamp_ms = sct.uint(8)?;
        let extensions = sct.vec16()?.to_vec();
        let hash_algorithm = sct.take(1)?[0];
        let signature_algorithm = sct.take(1)?[0];
        let signature = sct.vec16()?.to_vec();
        if !sct.0.is_empty() {
            return Err(X509Error::SctFormat("trailing bytes in an SCT"));
        }
        out.push(SignedCertificateTimestamp {
            version,
            log_id,
            timestamp_ms,
            extensions,
            hash_algorithm,
            signature_algorithm,
            signature,
        });
    }
    if out.is_empty() {
        return Err(X509Error::SctFormat("empty list"));
    }
    Ok(out)
}

/// The SCTs embedded in `cert`.
///
/// # Errors
///
/// [`X509Error::MissingSct`] when the extension is absent; [`X509Error::Malformed`] /
/// [`X509Error::SctFormat`] when it is malformed.
pub fn embedded_scts(cert: &Certificate) -> Result<Vec<SignedCertificateTimestamp>, X509Error> {
    let (_, value) = cert
        .extension(&oid::SCT_LIST)
        .ok_or(X509Error::MissingSct)?;
    let inner = der::asn1::OctetStringRef::from_der(value)
        .map_err(X509Error::malformed("SCT list extension"))?;
    parse_sct_list(inner.as_bytes())
}

/// The precertificate TBSCertificate the log signed: the leaf's TBSCertificate with the
/// SCT list extension removed (RFC 6962 §3.2), DER-encoded.
///
/// # Errors
///
/// [`X509Error::MissingSct`] when the leaf has no SCT extension; [`X509Error::Malformed`]
/// when the TBSCertificate cannot be re-encoded.
pub fn precertificate_tbs(leaf: &Certificate) -> Result<Vec<u8>, X509Error> {
    let mut tbs = leaf.inner().tbs_certificate.clone();
    let exts = tbs.extensions.as_mut().ok_or(X509Error::MissingSct)?;
    let before = exts.len();
    exts.retain(|e| e.extn_id != oid::SCT_LIST);
    if exts.len() == before {
        return Err(X509Error::MissingSct);
    }
    if exts.is_empty() {
        tbs.extensions = None;
    }
    tbs.to_der()
        .map_err(X509Error::malformed("precertificate TBSCertificate"))
}

/// Verify that at least one SCT embedded in the chain's leaf is signed by a known CT log,
/// with the issuer key hash taken from the chain's (verified) issuer.
///
/// # Errors
///
/// As [`verify_embedded_scts_with_issuer`].
pub fn verify_embedded_scts(
    chain: &VerifiedChain,
    logs: &impl CtLogKeys,
) -> Result<SignedCertificateTimestamp, X509Error> {
    verify_embedded_scts_with_issuer(chain.leaf(), chain.issuer(), logs)
}

/// Verify that at least one SCT embedded in `leaf` is signed by a known CT log; `issuer`
/// is the certificate that issued `leaf` (its SPKI hash is part of the signed data).
/// Returns the first SCT that verifies.
///
/// # Errors
///
/// [`X509Error::MissingSct`] without SCTs; [`X509Error::SctFormat`] for a malformed list;
/// [`X509Error::SctNotVerified`] when none verifies (unknown log, bad signature,
/// unsupported algorithm or SCT version).
pub fn verify_embedded_scts_with_issuer(
    leaf: &Certificate,
    issuer: &Certificate,
    logs: &impl CtLogKeys,
) -> Result<SignedCertificateTimestamp, X509Error> {
    let scts = embedded_scts(leaf)?;
    let tbs = precertificate_tbs(leaf)?;
    let issuer_key_hash = Hash::Sha256.digest(&issuer.spki_der()?);
    let tbs_len = u32::try_from(tbs.len())
        .ok()
        .filter(|l| *l < (1 << 24))
        .ok_or(X509Error::SctFormat("TBSCertificate too long"))?;
    let mut unknown_logs = 0;
    let checked = scts.len();
    for sct in scts {
        if sct.version != 0 {
            continue;
        }
        let Some(key_der) = logs.ct_log_key(&sct.log_id, sct.time()) else {
            unknown_logs += 1;
            continue;
        };
        let (Some(scheme), Ok(ext_len)) = (sct.scheme(), u16::try_from(sct.extensions.len()))
        else {
            continue;
        };
        let Ok(key) = SubjectPublicKeyInfoOwned::from_der(&key_der) else {
            continue;
        };
        let mut signed = Vec::with_capacity(tbs.len() + sct.extensions.len() + 52);
        signed.push(0); // sct_version v1
        signed.push(0); // signature_type certificate_timestamp
        signed.extend_from_slice(&sct.timestamp_ms.to_be_bytes());
        signed.extend_from_slice(&1u16.to_be_bytes()); // entry_type precert_entry
        signed.extend_from_slice(&issuer_key_hash);
        signed.extend_from_slice(&tbs_len.to_be_bytes()[1..]);
        signed.extend_from_slice(&tbs);
        signed.extend_from_slice(&ext_len.to_be_bytes());
        signed.extend_from_slice(&sct.extensions);
        if matches!(pki::verify(&key, scheme, &signed, &sct.signature), Ok(true)) {
            return Ok(sct);
        }
    }
    Err(X509Error::SctNotVerified {
        checked,
        unknown_logs,
    })
}
