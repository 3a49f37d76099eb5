//! Certificates and path validation ([RFC 5280] §4 and a §6 subset).
//!
//! [`verify_chain`] builds a path from a leaf to the root of one of the given
//! [`CertificateAuthority`]s (a trusted root's `certificateAuthorities[].certChain`, or
//! `timestampAuthorities[].certChain`: intermediates first, root last), using only the
//! authority's certificates as issuers, like sigstore-go. It checks at the given time:
//! every signature on the path, every certificate's validity period, the authority's
//! `validFor` window (closed interval), CA basic constraints / keyCertSign and path
//! length on issuers, the leaf's extended key usage (codeSigning or timeStamping) and
//! digitalSignature key usage, and rejects unhandled critical extensions. Not checked:
//! revocation, name constraints, certificate policies.
//!
//! [RFC 5280]: https://www.rfc-editor.org/rfc/rfc5280

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use der::{Decode as _, Encode as _, Reader as _};
use x509_cert::ext::pkix::{BasicConstraints, ExtendedKeyUsage, KeyUsage};

use super::X509Error;
use super::identity::CertificateIdentity;
use super::pki::{self, Scheme, oid};

/// A parsed X.509 certificate with its DER bytes.
#[derive(Clone)]
pub struct Certificate {
    der: Vec<u8>,
    tbs_der: Vec<u8>,
    inner: x509_cert::Certificate,
}

impl fmt::Debug for Certificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Certificate")
            .field("subject", &self.subject())
            .field("issuer", &self.inner.tbs_certificate.issuer.to_string())
            .finish_non_exhaustive()
    }
}

impl PartialEq for Certificate {
    fn eq(&self, other: &Self) -> bool {
        self.der == other.der
    }
}
impl Eq for Certificate {}

impl Certificate {
    /// Parse a DER certificate (bundles carry it base64-encoded; decode first).
    ///
    /// # Errors
    ///
    /// [`X509Error::Malformed`] when the bytes are not one DER certificate.
    pub fn from_der(der: &[u8]) -> Result<Self, X509Error> {
        let inner =
            x509_cert::Certificate::from_der(der).map_err(X509Error::malformed("certificate"))?;
        // The signed bytes are the TBSCertificate exactly as received.
        let mut reader = der::SliceReader::new(der).map_err(X509Error::malformed("certificate"))?;
        let tbs_der = reader
            .sequence(|r| {
                let tbs = r.tlv_bytes()?;
                // Skip the rest of the outer SEQUENCE.
                while !r.is_finished() {
                    let _ = der::asn1::AnyRef::decode(r)?;
                }
                Ok(tbs.to_vec())
            })
            .map_err(X509Error::malformed("certificate"))?;
        Ok(Self {
            der: der.to_vec(),
            tbs_der,
            inner,
        })
    }

    /// Parse one PEM `CERTIFICATE` block.
    ///
    /// # Errors
    ///
    /// [`X509Error::Malformed`] for malformed PEM, another label, or a bad certificate.
    pub fn from_pem(pem: &[u8]) -> Result<Self, X509Error> {
        let bad = X509Error::Malformed {
            what: "PEM certificate",
            source: None,
        };
        let start = pem
            .iter()
            .position(|b| !b.is_ascii_whitespace())
            .unwrap_or(pem.len());
        let (label, der) = pem_rfc7468::decode_vec(&pem[start..]).map_err(|_| bad)?;
        if label != "CERTIFICATE" {
            return Err(X509Error::Malformed {
                what: "PEM certificate",
                source: None,
            });
        }
        Self::from_der(&der)
    }

    /// The DER bytes.
    #[must_use]
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// The DER TBSCertificate (the signed part).
    #[must_use]
    pub fn tbs_der(&self) -> &[u8] {
        &self.tbs_der
    }

    /// The parsed certificate (x509-cert).
    #[must_use]
    pub fn inner(&self) -> &x509_cert::Certificate {
        &self.inner
    }

    /// The subject distinguished name, RFC 4514 string form.
    #[must_use]
    pub fn subject(&self) -> String {
        self.inner.tbs_certificate.subject.to_string()
    }

    /// The DER SubjectPublicKeyInfo.
    ///
    /// # Errors
    ///
    /// [`X509Error::Malformed`] if it cannot be re-encoded (it was decoded from DER, so
    /// this does not happen in practice).
    pub fn spki_der(&self) -> Result<Vec<u8>, X509Error> {
        self.inner
            .tbs_certificate
            .subject_public_key_info
            .to_der()
            .map_err(X509Error::malformed("subject public key info"))
    }

    /// `notBefore`.
    #[must_use]
    pub fn not_before(&self) -> SystemTime {
        self.inner
            .tbs_certificate
            .validity
            .not_before
            .to_system_time()
    }

    /// `notAfter`.
    #[must_use]
    pub fn not_after(&self) -> SystemTime {
        self.inner
            .tbs_certificate
            .validity
            .not_after
            .to_system_time()
    }

    /// Whether `at` lies in `[notBefore, notAfter]` (RFC 5280 §4.1.2.5: inclusive).
    #[must_use]
    pub fn is_valid_at(&self, at: SystemTime) -> bool {
        self.not_before() <= at && at <= self.not_after()
    }

    /// The signer identity: SAN and Fulcio extensions.
    ///
    /// # Errors
    ///
    /// [`X509Error::Malformed`] when the SAN or a Fulcio extension is malformed.
    pub fn identity(&self) -> Result<CertificateIdentity, X509Error> {
        CertificateIdentity::from_certificate(self)
    }

    /// The raw value (extnValue contents) of the extension `oid`, with its critical flag.
    pub(crate) fn extension(&self, id: &der::asn1::ObjectIdentifier) -> Option<(bool, &[u8])> {
        self.inner
            .tbs_certificate
            .extensions
            .as_deref()
            .unwrap_or(&[])
            .iter()
            .find(|e| &e.extn_id == id)
            .map(|e| (e.critical, e.extn_value.as_bytes()))
    }

    fn ext<'a, T: der::Decode<'a> + const_oid::AssociatedOid>(
        &'a self,
        what: &'static str,
    ) -> Result<Option<T>, X509Error> {
        self.inner
            .tbs_certificate
            .get::<T>()
            .map(|o| o.map(|(_, v)| v))
            .map_err(X509Error::malformed(what))
    }

    /// Whether `self` was issued by `issuer`: names match and `issuer`'s key verifies
    /// `self`'s signature.
    fn signed_by(&self, issuer: &Self) -> Result<bool, X509Error> {
        let tbs = &self.inner.tbs_certificate;
        if tbs.issuer != issuer.inner.tbs_certificate.subject {
            return Ok(false);
        }
        // RFC 5280 §4.1.1.2: the outer and inner algorithms must be identical.
        if self.inner.signature_algorithm != tbs.signature {
            return Err(X509Error::Malformed {
                what: "certificate signature algorithm",
                source: None,
            });
        }
        let scheme = Scheme::from_oid(
            &self.inner.signature_algorithm.oid,
            None,
            "certificate signature",
        )?;
        let signature = self
            .inner
            .signature
            .as_bytes()
            .ok_or(X509Error::Malformed {
                what: "certificate signature",
                source: None,
            })?;
        pki::verify(
            &issuer.inner.tbs_certificate.subject_public_key_info,
            scheme,
            &self.tbs_der,
            signature,
        )
    }

    fn check_valid_at(&self, at: SystemTime) -> Result<(), X509Error> {
        if self.is_valid_at(at) {
            return Ok(());
        }
        Err(X509Error::CertificateNotValidAt {
            subject: self.subject(),
            not_before: unix(self.not_before()),
            not_after: unix(self.not_after()),
            at: unix(at),
        })
    }

    fn check_critical_extensions(&self) -> Result<(), X509Error> {
        const HANDLED: [der::asn1::ObjectIdentifier; 6] = [
            oid::BASIC_CONSTRAINTS,
            oid::KEY_USAGE,
            oid::EXT_KEY_USAGE,
            oid::SUBJECT_ALT_NAME,
            oid::SUBJECT_KEY_ID,
            oid::AUTHORITY_KEY_ID,
        ];
        let exts = self
            .inner
            .tbs_certificate
            .extensions
            .as_deref()
            .unwrap_or(&[]);
        match exts
            .iter()
            .find(|e| e.critical && !HANDLED.contains(&e.extn_id))
        {
            Some(e) => Err(X509Error::UnhandledCriticalExtension {
                subject: self.subject(),
                oid: e.extn_id.to_string(),
            }),
            None => Ok(()),
        }
    }

    /// An issuer must be a CA: basicConstraints cA, and keyCertSign if keyUsage is present.
    fn check_ca(&self, below: usize) -> Result<(), X509Error> {
        let not_ca = || X509Error::NotCa {
            subject: self.subject(),
        };
        let bc = self
            .ext::<BasicConstraints>("basic constraints")?
            .ok_or_else(not_ca)?;
        if !bc.ca {
            return Err(not_ca());
        }
        if let Some(ku) = self.ext::<KeyUsage>("key usage")?
            && !ku.key_cert_sign()
        {
            return Err(not_ca());
        }
        if let Some(max) = bc.path_len_constraint
            && below > usize::from(max)
        {
            return Err(X509Error::PathLength {
                subject: self.subject(),
            });
        }
        Ok(())
    }

    fn check_leaf_usage(&self, purpose: KeyPurpose) -> Result<(), X509Error> {
        let missing = || X509Error::KeyUsage {
            subject: self.subject(),
            purpose: purpose.name(),
        };
        let eku = self
            .ext::<ExtendedKeyUsage>("extended key usage")?
            .ok_or_else(missing)?;
        if !eku.0.contains(&purpose.oid()) {
            return Err(missing());
        }
        if let Some(ku) = self.ext::<KeyUsage>("key usage")?
            && !ku.digital_signature()
        {
            return Err(X509Error::KeyUsage {
                subject: self.subject(),
                purpose: "digitalSignature",
            });
        }
        Ok(())
    }
}

pub(crate) fn unix(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d: Duration| d.as_secs())
}

/// The extended key usage the leaf must carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyPurpose {
    /// `id-kp-codeSigning` (Fulcio signing certificates).
    CodeSigning,
    /// `id-kp-timeStamping` (RFC 3161 §2.3 TSA certificates).
    TimeStamping,
}

impl KeyPurpose {
    fn oid(self) -> der::asn1::ObjectIdentifier {
        match self {
            Self::CodeSigning => oid::CODE_SIGNING,
            Self::TimeStamping => oid::TIME_STAMPING,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::CodeSigning => "codeSigning",
            Self::TimeStamping => "timeStamping",
        }
    }
}

/// A trusted certificate authority: its chain (intermediates first, root last, as in a
/// trusted root's `certChain`) and its `validFor` window.
#[derive(Clone, Debug)]
pub struct CertificateAuthority {
    certificates: Vec<Certificate>,
    valid_from: Option<SystemTime>,
    valid_until: Option<SystemTime>,
}

impl CertificateAuthority {
    /// An authority from its chain, root last, valid at any time.
    ///
    /// # Errors
    ///
    /// [`X509Error::NoAuthorities`] when `certificates` is empty.
    pub fn new(certificates: Vec<Certificate>) -> Result<Self, X509Error> {
        if certificates.is_empty() {
            return Err(X509Error::NoAuthorities);
        }
        Ok(Self {
            certificates,
            valid_from: None,
            valid_until: None,
        })
    }

    /// An authority from DER certificates (`certChain.certificates[].rawBytes`).
    ///
    /// # Errors
    ///
    /// [`X509Error::Malformed`] for a bad certificate, [`X509Error::NoAuthorities`] when
    /// the list is empty.
    pub fn from_der_chain<B: AsRef<[u8]>>(ders: &[B]) -> Result<Self, X509Error> {
        let certs = ders
            .iter()
            .map(|d| Certificate::from_der(d.as_ref()))
            .collect::<Result<Vec<_>, _>>()?;
        Self::new(certs)
    }

    /// Restrict the authority to the closed window `[start, end]` (trusted root
    /// `validFor`; `end` absent means open-ended).
    #[must_use]
    pub fn with_validity(mut self, start: Option<SystemTime>, end: Option<SystemTime>) -> Self {
        self.valid_from = start;
        self.valid_until = end;
        self
    }

    /// The chain, root last.
    #[must_use]
    pub fn certificates(&self) -> &[Certificate] {
        &self.certificates
    }

    /// Whether the `validFor` window contains `at` (both ends inclusive).
    #[must_use]
    pub fn is_valid_at(&self, at: SystemTime) -> bool {
        self.valid_from.is_none_or(|s| s <= at) && self.valid_until.is_none_or(|e| at <= e)
    }

    fn root(&self) -> Option<&Certificate> {
        self.certificates.last()
    }

    /// Build and check a path from `leaf` to this authority's root.
    fn path(&self, leaf: &Certificate, at: SystemTime) -> Result<Vec<Certificate>, X509Error> {
        let untrusted = || X509Error::UntrustedChain {
            subject: leaf.subject(),
        };
        let root = self.root().ok_or(X509Error::NoAuthorities)?;
        let mut path = vec![leaf.clone()];
        // A leaf that is itself in the authority's chain (a TSA certificate listed in the
        // trusted root) still needs a path to the root; only the root ends the walk.
        loop {
            let Some(current) = path.last() else {
                return Err(untrusted());
            };
            if current == root {
                return Ok(path);
            }
            if path.len() > self.certificates.len() + 1 {
                return Err(untrusted());
            }
            let mut next = None;
            for candidate in &self.certificates {
                if path.contains(candidate) {
                    continue;
                }
                if current.signed_by(candidate)? {
                    next = Some(candidate);
                    break;
                }
            }
            let issuer = next.ok_or_else(untrusted)?;
            // Certificates between the leaf and this issuer (path length, RFC 5280 §4.2.1.9).
            issuer.check_ca(path.len() - 1)?;
            issuer.check_valid_at(at)?;
            if issuer != root {
                issuer.check_critical_extensions()?;
            }
            path.push(issuer.clone());
        }
    }
}

/// A validated path: leaf first, root last.
#[derive(Clone, Debug)]
pub struct VerifiedChain {
    certificates: Vec<Certificate>,
    authority: usize,
}

impl VerifiedChain {
    /// The leaf.
    #[must_use]
    pub fn leaf(&self) -> &Certificate {
        &self.certificates[0]
    }

    /// The leaf's issuer (the root when the leaf is directly under it).
    #[must_use]
    pub fn issuer(&self) -> &Certificate {
        self.certificates.get(1).unwrap_or(&self.certificates[0])
    }

    /// The whole path, leaf first, root last.
    #[must_use]
    pub fn certificates(&self) -> &[Certificate] {
        &self.certificates
    }

    /// Index of the authority (in the slice given to [`verify_chain`]) that anchors it.
    #[must_use]
    pub fn authority_index(&self) -> usize {
        self.authority
    }
}

/// Verify `leaf` to one of `authorities` at time `at` (the signing time, not now), for
/// the extended key usage `purpose`.
///
/// Issuers come only from the authorities' chains (certificates a bundle carries besides
/// the leaf are not trusted). The first authority that yields a valid path wins.
///
/// # Errors
///
/// [`X509Error::NoAuthorities`] for an empty list; [`X509Error::AuthorityNotValidAt`]
/// when no authority's `validFor` contains `at`; [`X509Error::CertificateNotValidAt`]
/// when the leaf or an issuer is expired or not yet valid at `at`;
/// [`X509Error::KeyUsage`], [`X509Error::UnhandledCriticalExtension`] for leaf
/// problems; otherwise the error of the last authority tried
/// ([`X509Error::UntrustedChain`], [`X509Error::NotCa`], [`X509Error::PathLength`],
/// [`X509Error::UnsupportedAlgorithm`]).
pub fn verify_chain(
    leaf: &Certificate,
    authorities: &[CertificateAuthority],
    at: SystemTime,
    purpose: KeyPurpose,
) -> Result<VerifiedChain, X509Error> {
    if authorities.is_empty() {
        return Err(X509Error::NoAuthorities);
    }
    leaf.check_valid_at(at)?;
    leaf.check_critical_extensions()?;
    leaf.check_leaf_usage(purpose)?;
    let mut last = X509Error::AuthorityNotValidAt { at: unix(at) };
    for (index, authority) in authorities.iter().enumerate() {
        if !authority.is_valid_at(at) {
            continue;
        }
        match authority.path(leaf, at) {
            Ok(certificates) => {
                return Ok(VerifiedChain {
                    certificates,
                    authority: index,
                });
            }
            Err(e) => last = e,
        }
    }
    Err(last)
}
