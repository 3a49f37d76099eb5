//! RFC 3161 timestamps over a signature ([RFC 3161] §2.4.2, CMS per [RFC 5652] §5).
//!
//! A bundle's `timestampVerificationData.rfc3161Timestamps[].signedTimestamp` is a DER
//! `TimeStampResp` (status + token) or a bare `TimeStampToken` (ContentInfo); both are
//! accepted. [`verify_timestamp`] checks: the response status is granted; the token is
//! a CMS SignedData over an `id-ct-TSTInfo`; the TSTInfo's message imprint is the hash of
//! the signature bytes; a SignerInfo has signed attributes whose content type is
//! `id-ct-TSTInfo` and whose message digest is the TSTInfo's hash; its signature over the
//! DER signed attributes verifies with the signer certificate (embedded in the token or
//! listed in a timestamp authority's chain); and that certificate chains, with the
//! timeStamping extended key usage, to a timestamp authority valid at `genTime` (a
//! TSA chain that has expired since still verifies timestamps issued while it was valid).
//! Not checked: the ESS signing-certificate attribute, nonce, policy, accuracy.
//!
//! [RFC 3161]: https://www.rfc-editor.org/rfc/rfc3161
//! [RFC 5652]: https://www.rfc-editor.org/rfc/rfc5652

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use cms::cert::CertificateChoices;
use cms::content_info::ContentInfo;
use cms::signed_data::{SignedData, SignerIdentifier, SignerInfo};
use der::asn1::{AnyRef, ObjectIdentifier, OctetString};
use der::{Decode as _, Encode as _, Reader as _, Tag, Tagged as _};
use x509_cert::ext::pkix::SubjectKeyIdentifier;

use super::X509Error;
use super::cert::{Certificate, CertificateAuthority, KeyPurpose, VerifiedChain, verify_chain};
use super::pki::{self, Hash, Scheme};

const SIGNED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.2");
const TST_INFO: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.1.4");
const CONTENT_TYPE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.3");
const MESSAGE_DIGEST: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.4");

/// `MessageImprint ::= SEQUENCE { hashAlgorithm AlgorithmIdentifier, hashedMessage OCTET STRING }`.
#[derive(Clone, Debug, der::Sequence)]
struct MessageImprint {
    hash_algorithm: spki::AlgorithmIdentifierOwned,
    hashed_message: OctetString,
}

/// A parsed (not yet verified) RFC 3161 timestamp token.
#[derive(Clone, Debug)]
pub struct Timestamp {
    signed_data: SignedData,
    tst_info: Vec<u8>,
    imprint: MessageImprint,
    gen_time: SystemTime,
}

fn format(what: &'static str) -> X509Error {
    X509Error::TimestampFormat(what)
}

impl Timestamp {
    /// Parse a `TimeStampResp` or a bare `TimeStampToken`.
    ///
    /// # Errors
    ///
    /// [`X509Error::TimestampStatus`] for a response that is not granted;
    /// [`X509Error::TimestampFormat`] / [`X509Error::Malformed`] for malformed input.
    pub fn parse(bytes: &[u8]) -> Result<Self, X509Error> {
        let token = match ContentInfo::from_der(bytes) {
            Ok(ci) => ci,
            Err(_) => parse_response(bytes)?,
        };
        if token.content_type != SIGNED_DATA {
            return Err(format("not a CMS SignedData"));
        }
        let signed_data: SignedData = token
            .content
            .decode_as()
            .map_err(X509Error::malformed("CMS SignedData"))?;
        let encap = &signed_data.encap_content_info;
        if encap.econtent_type != TST_INFO {
            return Err(format("content is not a TSTInfo"));
        }
        let econtent = encap
            .econtent
            .as_ref()
            .ok_or(format("no encapsulated TSTInfo"))?;
        let tst_info = econtent
            .decode_as::<OctetString>()
            .map_err(X509Error::malformed("TSTInfo"))?
            .into_bytes();
        let (imprint, gen_time) = parse_tst_info(&tst_info)?;
        Ok(Self {
            signed_data,
            tst_info,
            imprint,
            gen_time,
        })
    }

    /// `genTime`: when the TSA says it saw the imprint (not yet verified).
    #[must_use]
    pub fn gen_time(&self) -> SystemTime {
        self.gen_time
    }

    fn check_imprint(&self, signature: &[u8]) -> Result<(), X509Error> {
        let hash = Hash::from_oid(&self.imprint.hash_algorithm.oid).ok_or_else(|| {
            X509Error::UnsupportedAlgorithm {
                what: "message imprint",
                oid: self.imprint.hash_algorithm.oid.to_string(),
            }
        })?;
        if hash.digest(signature) != self.imprint.hashed_message.as_bytes() {
            return Err(X509Error::TimestampImprint);
        }
        Ok(())
    }

    fn embedded_certificates(&self) -> Vec<Certificate> {
        let Some(set) = &self.signed_data.certificates else {
            return Vec::new();
        };
        set.0
            .iter()
            .filter_map(|c| match c {
                CertificateChoices::Certificate(c) => c.to_der().ok(),
                CertificateChoices::Other(_) => None,
            })
            .filter_map(|der| Certificate::from_der(&der).ok())
            .collect()
    }

    /// Check the signed attributes and the signature of `info` with `signer`.
    fn check_signer_info(&self, info: &SignerInfo, signer: &Certificate) -> Result<(), X509Error> {
        let digest = Hash::from_oid(&info.digest_alg.oid).ok_or_else(|| {
            X509Error::UnsupportedAlgorithm {
                what: "CMS digest",
                oid: info.digest_alg.oid.to_string(),
            }
        })?;
        let attrs = info
            .signed_attrs
            .as_ref()
            .ok_or(format("no signed attributes"))?;
        let single = |id: ObjectIdentifier| {
            let mut found = attrs.iter().filter(|a| a.oid == id);
            match (found.next(), found.next()) {
                (Some(a), None) if a.values.len() == 1 => a.values.get(0),
                _ => None,
            }
        };
        let content_type = single(CONTENT_TYPE)
            .and_then(|v| v.decode_as::<ObjectIdentifier>().ok())
            .ok_or(format("signed attributes lack a content type"))?;
        if content_type != TST_INFO {
            return Err(format("signed content type is not TSTInfo"));
        }
        let message_digest = single(MESSAGE_DIGEST)
            .and_then(|v| v.decode_as::<OctetString>().ok())
            .ok_or(format("signed attributes lack a message digest"))?;
        if message_digest.as_bytes() != digest.digest(&self.tst_info) {
            return Err(X509Error::TimestampDigest);
        }
        // RFC 5652 §5.4: the signature covers the DER SET OF attributes.
        let signed = attrs
            .to_der()
            .map_err(X509Error::malformed("signed attributes"))?;
        let scheme =
            Scheme::from_oid(&info.signature_algorithm.oid, Some(digest), "CMS signature")?;
        if pki::verify(
            &signer.inner().tbs_certificate.subject_public_key_info,
            scheme,
            &signed,
            info.signature.as_bytes(),
        )? {
            Ok(())
        } else {
            Err(X509Error::TimestampSignature)
        }
    }
}

fn signer_matches(sid: &SignerIdentifier, cert: &Certificate) -> bool {
    let tbs = &cert.inner().tbs_certificate;
    match sid {
        SignerIdentifier::IssuerAndSerialNumber(ias) => {
            ias.issuer == tbs.issuer && ias.serial_number == tbs.serial_number
        }
        SignerIdentifier::SubjectKeyIdentifier(ski) => matches!(
            tbs.get::<SubjectKeyIdentifier>(),
            Ok(Some((_, own))) if own == *ski
        ),
    }
}

/// `TimeStampResp ::= SEQUENCE { status PKIStatusInfo, timeStampToken TimeStampToken OPTIONAL }`.
fn parse_response(bytes: &[u8]) -> Result<ContentInfo, X509Error> {
    let mut reader =
        der::SliceReader::new(bytes).map_err(X509Error::malformed("timestamp response"))?;
    let (status, token) = reader
        .sequence(|r| {
            let status = r.sequence(|s| {
                let status = u32::decode(s)?;
                while !s.is_finished() {
                    let _ = AnyRef::decode(s)?;
                }
                Ok(status)
            })?;
            let token = if r.is_finished() {
                None
            } else {
                Some(ContentInfo::decode(r)?)
            };
            Ok((status, token))
        })
        .map_err(X509Error::malformed("timestamp response"))?;
    if !reader.is_finished() {
        return Err(format("trailing bytes"));
    }
    // PKIStatus: granted (0), grantedWithMods (1).
    if status > 1 {
        return Err(X509Error::TimestampStatus { status });
    }
    token.ok_or(format("no timestamp token"))
}

/// TSTInfo (RFC 3161 §2.4.2): version, policy, messageImprint, serialNumber, genTime, ...
fn parse_tst_info(der: &[u8]) -> Result<(MessageImprint, SystemTime), X509Error> {
    let mut reader = der::SliceReader::new(der).map_err(X509Error::malformed("TSTInfo"))?;
    let (version, imprint, gen_any) = reader
        .sequence(|r| {
            let version = u8::decode(r)?;
            let _policy = ObjectIdentifier::decode(r)?;
            let imprint = MessageImprint::decode(r)?;
            let _serial = AnyRef::decode(r)?;
            let gen_any = AnyRef::decode(r)?;
            while !r.is_finished() {
                let _ = AnyRef::decode(r)?;
            }
            Ok((version, imprint, (gen_any.tag(), gen_any.value().to_vec())))
        })
        .map_err(X509Error::malformed("TSTInfo"))?;
    if version != 1 {
        return Err(format("TSTInfo version is not 1"));
    }
    if gen_any.0 != Tag::GeneralizedTime {
        return Err(format("genTime is not a GeneralizedTime"));
    }
    let gen_time = parse_generalized_time(&gen_any.1).ok_or(format("bad genTime"))?;
    Ok((imprint, gen_time))
}

/// `YYYYMMDDHHMMSS[.f+]Z` (RFC 3161 allows fractional seconds, which DER GeneralizedTime
/// in the `der` crate rejects).
pub(crate) fn parse_generalized_time(s: &[u8]) -> Option<SystemTime> {
    let s = std::str::from_utf8(s).ok()?;
    let s = s.strip_suffix('Z')?;
    let (main, frac) = match s.split_once('.') {
        Some((m, f)) => (m, Some(f)),
        None => (s, None),
    };
    if main.len() != 14 || !main.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let num = |r: std::ops::Range<usize>| main.get(r)?.parse::<u32>().ok();
    let (year, month, day) = (num(0..4)?, num(4..6)?, num(6..8)?);
    let (hour, minute, second) = (num(8..10)?, num(10..12)?, num(12..14)?);
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let nanos = match frac {
        None => 0,
        Some(f) if !f.is_empty() && f.len() <= 9 && f.bytes().all(|b| b.is_ascii_digit()) => {
            let padded = format!("{f:0<9}");
            padded.parse::<u32>().ok()?
        }
        Some(_) => return None,
    };
    let days = days_from_civil(i64::from(year), month, day);
    let secs = days * 86_400 + i64::from(hour * 3600 + minute * 60 + second);
    let secs = u64::try_from(secs).ok()?;
    Some(UNIX_EPOCH + Duration::new(secs, nanos))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// A verified timestamp.
#[derive(Clone, Debug)]
pub struct VerifiedTimestamp {
    /// The TSA's `genTime`.
    pub gen_time: SystemTime,
    /// The TSA's path, signer certificate first.
    pub chain: VerifiedChain,
}

/// Verify an RFC 3161 timestamp (`signedTimestamp` bytes) over `signature` (the bundle's
/// message signature or DSSE signature bytes) against timestamp `authorities` (the
/// trusted root's `timestampAuthorities`: TSA certificate, intermediates, root).
///
/// # Errors
///
/// Parsing errors as [`Timestamp::parse`]; [`X509Error::TimestampImprint`] when the
/// imprint is not the signature's hash; [`X509Error::TimestampFormat`] /
/// [`X509Error::TimestampDigest`] for bad signed attributes;
/// [`X509Error::TimestampSignerNotFound`] when no known certificate matches the signer;
/// [`X509Error::TimestampSignature`] when the CMS signature does not verify; chain errors
/// of [`verify_chain`] at `genTime` (untrusted TSA, expired TSA certificate, authority
/// `validFor` not containing `genTime`).
pub fn verify_timestamp(
    bytes: &[u8],
    signature: &[u8],
    authorities: &[CertificateAuthority],
) -> Result<VerifiedTimestamp, X509Error> {
    if authorities.is_empty() {
        return Err(X509Error::NoAuthorities);
    }
    let ts = Timestamp::parse(bytes)?;
    ts.check_imprint(signature)?;
    let mut candidates = ts.embedded_certificates();
    for authority in authorities {
        candidates.extend(authority.certificates().iter().cloned());
    }
    let mut last = X509Error::TimestampSignerNotFound;
    for info in ts.signed_data.signer_infos.0.iter() {
        for signer in candidates.iter().filter(|c| signer_matches(&info.sid, c)) {
            let result = ts.check_signer_info(info, signer).and_then(|()| {
                verify_chain(signer, authorities, ts.gen_time, KeyPurpose::TimeStamping)
            });
            match result {
                Ok(chain) => {
                    return Ok(VerifiedTimestamp {
                        gen_time: ts.gen_time,
                        chain,
                    });
                }
                Err(e) => last = e,
            }
        }
    }
    Err(last)
}

#[cfg(test)]
mod time_tests {
    use super::*;

    #[test]
    fn generalized_time() {
        let t = parse_generalized_time(b"20250612120220Z").map(super::super::cert::unix);
        assert_eq!(t, Some(1_749_729_740));
        let t = parse_generalized_time(b"20250612120220.5Z");
        assert_eq!(
            t,
            Some(UNIX_EPOCH + Duration::new(1_749_729_740, 500_000_000))
        );
        assert_eq!(parse_generalized_time(b"2025061212022Z"), None);
        assert_eq!(parse_generalized_time(b"20251312120220Z"), None);
        assert_eq!(parse_generalized_time(b"20250612120220"), None);
        assert_eq!(parse_generalized_time(b"20250612120220.Z"), None);
    }
}
