//! RFC 3161 timestamps over signatures, from a timestamp authority (TSA).
//!
//! A keyless certificate lives for ten minutes, so a verifier needs a trusted time at
//! which the signature existed: a transparency log's integrated time (Rekor v1) or an
//! RFC 3161 timestamp (required with Rekor v2). [`TsaClient::timestamp`] asks a TSA
//! (Sigstore's `timestamp-authority`, `POST <url>` with `application/timestamp-query`)
//! for a timestamp over SHA-256 of the signature bytes, with a random nonce and the TSA's
//! certificates requested, and returns the DER `TimeStampResp`: what a Sigstore bundle's
//! `timestampVerificationData.rfc3161Timestamps[].signedTimestamp` holds.

use std::time::Duration;

use sha2::Digest as _;

use crate::x509::{self, X509Error};

/// Why no timestamp was obtained.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TsaError {
    /// The TSA URL is not an http(s) URL.
    #[error("invalid timestamp authority URL {0:?}")]
    Url(String),
    /// The TSA could not be reached.
    #[error("cannot reach the timestamp authority at {url}")]
    Unreachable {
        /// The URL.
        url: String,
        /// The transport error.
        #[source]
        source: reqwest::Error,
    },
    /// The TSA answered with an error status.
    #[error("the timestamp authority refused ({status}): {message}")]
    Refused {
        /// HTTP status.
        status: u16,
        /// Its message.
        message: String,
    },
    /// The answer is not a granted timestamp over our signature, or does not verify
    /// against the trusted root's timestamp authorities.
    #[error("the timestamp does not verify")]
    Invalid(#[source] X509Error),
}

impl TsaError {
    /// Whether retrying later may help.
    #[must_use]
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Unreachable { .. } => true,
            Self::Refused { status, .. } => *status == 429 || *status >= 500,
            _ => false,
        }
    }
}

/// DER `TimeStampReq` (RFC 3161 §2.4.1) for SHA-256 `digest`, with `nonce` (8 bytes) and
/// `certReq` true.
#[must_use]
pub fn timestamp_request(digest: &[u8; 32], nonce: [u8; 8]) -> Vec<u8> {
    let mut nonce = nonce;
    // A positive INTEGER in minimal DER: first byte in 0x01..=0x7f.
    nonce[0] = (nonce[0] & 0x7f) | 0x01;
    let mut imprint = vec![
        0x30, 0x2f, // MessageImprint
        0x30, 0x0b, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
        0x01, // sha256
        0x04, 0x20,
    ];
    imprint.extend_from_slice(digest);
    let mut body = vec![0x02, 0x01, 0x01]; // version v1
    body.extend_from_slice(&imprint);
    body.extend_from_slice(&[0x02, 0x08]);
    body.extend_from_slice(&nonce);
    body.extend_from_slice(&[0x01, 0x01, 0xff]); // certReq TRUE
    let len = u8::try_from(body.len()).unwrap_or(0x7f);
    let mut out = vec![0x30, len];
    out.extend_from_slice(&body);
    out
}

/// The trusted root's authorities (`certificateAuthorities` or `timestampAuthorities`)
/// as X.509 authorities with their validity periods.
///
/// # Errors
///
/// [`X509Error`] when a certificate does not parse.
pub fn authorities(
    cas: &[crate::trust::CertificateAuthority],
) -> Result<Vec<x509::CertificateAuthority>, X509Error> {
    cas.iter()
        .map(|ca| {
            x509::CertificateAuthority::from_der_chain(&ca.cert_chain.certificates).map(|a| {
                a.with_validity(
                    ca.valid_for.start.map(std::time::SystemTime::from),
                    ca.valid_for.end.map(std::time::SystemTime::from),
                )
            })
        })
        .collect()
}

/// A client of one timestamp authority.
#[derive(Clone, Debug)]
pub struct TsaClient {
    http: reqwest::Client,
    url: String,
    authorities: Vec<x509::CertificateAuthority>,
}

impl TsaClient {
    /// A client of the TSA at `url` whose timestamps must verify against `authorities`
    /// (the trusted root's `timestampAuthorities`).
    ///
    /// # Errors
    ///
    /// [`TsaError::Url`] unless `url` is http(s).
    pub fn new(
        url: &str,
        authorities: Vec<x509::CertificateAuthority>,
        timeout: Duration,
    ) -> Result<Self, TsaError> {
        let parsed = reqwest::Url::parse(url).map_err(|_| TsaError::Url(url.to_owned()))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(TsaError::Url(url.to_owned()));
        }
        let http = crate::http::client_builder()
            .timeout(timeout)
            .build()
            .map_err(|source| TsaError::Unreachable {
                url: url.to_owned(),
                source,
            })?;
        Ok(Self {
            http,
            url: url.to_owned(),
            authorities,
        })
    }

    /// A timestamp over `signature`, verified against the authorities; returns the DER
    /// `TimeStampResp`.
    ///
    /// # Errors
    ///
    /// [`TsaError`].
    pub async fn timestamp(&self, signature: &[u8]) -> Result<Vec<u8>, TsaError> {
        let digest: [u8; 32] = sha2::Sha256::digest(signature).into();
        let mut nonce = [0u8; 8];
        rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut nonce);
        let unreachable = |e: reqwest::Error| TsaError::Unreachable {
            url: self.url.clone(),
            source: e.without_url(),
        };
        let resp = self
            .http
            .post(&self.url)
            .header("Content-Type", "application/timestamp-query")
            .body(timestamp_request(&digest, nonce))
            .send()
            .await
            .map_err(unreachable)?;
        let status = resp.status();
        let bytes = resp.bytes().await.map_err(unreachable)?;
        if !status.is_success() {
            return Err(TsaError::Refused {
                status: status.as_u16(),
                message: String::from_utf8_lossy(&bytes[..bytes.len().min(300)]).into_owned(),
            });
        }
        x509::verify_timestamp(&bytes, signature, &self.authorities).map_err(TsaError::Invalid)?;
        Ok(bytes.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_is_der() {
        let req = timestamp_request(&[7; 32], [0, 1, 2, 3, 4, 5, 6, 7]);
        assert_eq!(req.len(), 2 + 0x41);
        assert_eq!(&req[..2], &[0x30, 0x41]);
        // The nonce is a positive minimal INTEGER.
        let n = req.len() - 3 - 8;
        assert_eq!(req[n], 0x01);
        let any = <der::asn1::AnyRef<'_> as der::Decode>::from_der(&req);
        assert!(any.is_ok());
    }
}
