//! Keyless signing: an ephemeral P-256 key certified by Fulcio for an OIDC identity.
//!
//! [`FulcioClient`] speaks Fulcio's v2 REST API, `POST /api/v2/signingCert`:
//!
//! ```json
//! {"credentials": {"oidcIdentityToken": "<JWT>"},
//!  "publicKeyRequest": {"publicKey": {"algorithm": "ECDSA", "content": "<PEM>"},
//!                       "proofOfPossession": "<base64 signature>"}}
//! ```
//!
//! The proof of possession is an ECDSA P-256/SHA-256 signature (ASN.1 DER) over the
//! token's principal name: the verified `email` claim when there is one, else `sub`
//! ([`super::token::IdentityToken::challenge`]). The answer holds the chain as PEM strings, leaf first,
//! under `signedCertificateEmbeddedSct` (the SCT is inside the leaf) or
//! `signedCertificateDetachedSct` ([`parse_signing_cert_response`]).
//!
//! [`KeylessSigner`] checks every certificate it is given before using it: the leaf
//! certifies the ephemeral key, chains to a Fulcio authority of the trusted root (code
//! signing), and carries an SCT signed by a CT log of the trusted root (unless
//! [`KeylessOptions::require_sct`] is off). It keeps one certificate for many signatures
//! while it is valid for longer than [`KeylessOptions::refresh_margin`], and asks for a
//! new one (with a new key) before it expires. [`KeylessSigner::certificate_requests`]
//! counts the requests made (the reuse metric).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use base64::Engine as _;

use super::token::{Secret, TokenError, TokenSource};
use super::{AsyncSigner, BoxFuture, LocalSigner, PublicKey, SignError, SignOutput};
use crate::trust::TrustedRoot;
use crate::x509::{self, Certificate, KeyPurpose, X509Error};

/// Why Fulcio did not give a usable certificate. Never carries the identity token.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FulcioError {
    /// The identity token could not be read or is unusable (expired, malformed).
    #[error("identity token")]
    Token(#[from] TokenError),
    /// The Fulcio URL is not a usable HTTP(S) URL.
    #[error("invalid Fulcio URL {0:?}")]
    Url(String),
    /// Fulcio could not be reached (connection, timeout).
    #[error("cannot reach Fulcio at {url}")]
    Unreachable {
        /// The request URL.
        url: String,
        /// The transport error.
        #[source]
        source: reqwest::Error,
    },
    /// Fulcio answered with an error status.
    #[error("Fulcio refused the certificate request ({status}): {message}")]
    Refused {
        /// The HTTP status.
        status: u16,
        /// Fulcio's message (the token is redacted from it).
        message: String,
    },
    /// Fulcio's answer is not what the v2 API describes.
    #[error("malformed Fulcio response: {0}")]
    Response(&'static str),
    /// The certificate does not certify our key, does not chain to the trusted root, or
    /// has no valid SCT.
    #[error("the certificate from Fulcio does not verify: {what}")]
    Certificate {
        /// Which check failed.
        what: &'static str,
        /// The X.509 error.
        #[source]
        source: Option<X509Error>,
    },
    /// The ephemeral key could not be generated or used.
    #[error("ephemeral key")]
    Key(#[source] super::KeyError),
    /// The identity token was issued by another issuer than the configured one
    /// ([`KeylessOptions::expected_issuer`], Chains' `signers.x509.fulcio.issuer`); Fulcio
    /// was not asked.
    #[error(
        "signers.x509.fulcio.issuer: the identity token's issuer {found:?} is not the configured {expected:?}"
    )]
    Issuer {
        /// The configured issuer.
        expected: String,
        /// The token's `iss` claim.
        found: String,
    },
}

impl FulcioError {
    /// Whether retrying later may help: network errors, throttling and server errors,
    /// and token sources that may be refreshed.
    #[must_use]
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Token(e) => e.is_transient(),
            Self::Unreachable { .. } => true,
            Self::Refused { status, .. } => *status == 429 || *status >= 500,
            _ => false,
        }
    }
}

impl From<FulcioError> for SignError {
    fn from(e: FulcioError) -> Self {
        SignError::Remote {
            transient: e.is_transient(),
            source: Box::new(e),
        }
    }
}

/// A certificate chain from Fulcio: DER, leaf first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IssuedChain {
    /// The certificates, leaf first.
    pub certificates: Vec<Vec<u8>>,
    /// A detached SCT (`signedCertificateDetachedSct`), when the SCT is not embedded.
    pub detached_sct: Option<Vec<u8>>,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct SigningCertResponse {
    #[serde(default)]
    signed_certificate_embedded_sct: Option<ChainHolder>,
    #[serde(default)]
    signed_certificate_detached_sct: Option<DetachedHolder>,
}

#[derive(serde::Deserialize)]
struct ChainHolder {
    #[serde(default)]
    chain: Option<PemChain>,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct DetachedHolder {
    #[serde(default)]
    chain: Option<PemChain>,
    #[serde(default)]
    signed_certificate_timestamp: Option<String>,
}

#[derive(serde::Deserialize)]
struct PemChain {
    #[serde(default)]
    certificates: Vec<String>,
}

/// Parse the body of a `/api/v2/signingCert` answer into DER certificates.
///
/// # Errors
///
/// [`FulcioError::Response`] for anything but one of the two documented shapes with a
/// non-empty chain of PEM certificates.
pub fn parse_signing_cert_response(body: &[u8]) -> Result<IssuedChain, FulcioError> {
    let r: SigningCertResponse =
        serde_json::from_slice(body).map_err(|_| FulcioError::Response("not JSON"))?;
    let (chain, sct) = match (
        r.signed_certificate_embedded_sct,
        r.signed_certificate_detached_sct,
    ) {
        (Some(e), None) => (e.chain, None),
        (None, Some(d)) => {
            let sct = match d.signed_certificate_timestamp {
                Some(s) if !s.is_empty() => Some(
                    base64::engine::general_purpose::STANDARD
                        .decode(s)
                        .map_err(|_| FulcioError::Response("detached SCT is not base64"))?,
                ),
                _ => None,
            };
            (d.chain, sct)
        }
        _ => {
            return Err(FulcioError::Response(
                "expected exactly one of signedCertificateEmbeddedSct, signedCertificateDetachedSct",
            ));
        }
    };
    let pems = chain.map(|c| c.certificates).unwrap_or_default();
    if pems.is_empty() {
        return Err(FulcioError::Response("empty certificate chain"));
    }
    let mut certificates = Vec::with_capacity(pems.len());
    for pem in &pems {
        // A PEM string may itself hold several certificates.
        let mut rest = pem.as_str();
        while let Some(start) = rest.find("-----BEGIN") {
            let block = &rest[start..];
            let end = block
                .find("-----END CERTIFICATE-----")
                .map(|i| i + "-----END CERTIFICATE-----".len())
                .ok_or(FulcioError::Response("unterminated PEM certificate"))?;
            let cert = Certificate::from_pem(&block.as_bytes()[..end])
                .map_err(|_| FulcioError::Response("certificate is not valid PEM/DER"))?;
            certificates.push(cert.der().to_vec());
            rest = &block[end..];
        }
    }
    if certificates.is_empty() {
        return Err(FulcioError::Response("no PEM certificate in the chain"));
    }
    Ok(IssuedChain {
        certificates,
        detached_sct: sct,
    })
}

/// A client of Fulcio's v2 REST API.
#[derive(Clone, Debug)]
pub struct FulcioClient {
    http: reqwest::Client,
    url: String,
}

impl FulcioClient {
    /// A client of the Fulcio at `base_url` (e.g. `https://fulcio.sigstore.dev`).
    ///
    /// # Errors
    ///
    /// [`FulcioError::Url`] unless `base_url` is an `http(s)://` URL.
    pub fn new(base_url: &str, timeout: Duration) -> Result<Self, FulcioError> {
        let base = base_url.trim_end_matches('/');
        let parsed = reqwest::Url::parse(base).map_err(|_| FulcioError::Url(base.to_owned()))?;
        if !matches!(parsed.scheme(), "http" | "https") || parsed.host().is_none() {
            return Err(FulcioError::Url(base.to_owned()));
        }
        let http = crate::http::client_builder()
            .timeout(timeout)
            .build()
            .map_err(|e| FulcioError::Unreachable {
                url: base.to_owned(),
                source: e,
            })?;
        Ok(Self {
            http,
            url: format!("{base}/api/v2/signingCert"),
        })
    }

    /// Ask for a certificate for `public_key`, with `proof` the proof of possession.
    ///
    /// # Errors
    ///
    /// [`FulcioError::Unreachable`], [`FulcioError::Refused`], [`FulcioError::Response`].
    pub async fn signing_cert(
        &self,
        token: &Secret,
        public_key: &PublicKey,
        proof: &[u8],
    ) -> Result<IssuedChain, FulcioError> {
        let body = serde_json::json!({
            "credentials": {"oidcIdentityToken": token.expose()},
            "publicKeyRequest": {
                "publicKey": {"algorithm": "ECDSA", "content": public_key.to_pem()},
                "proofOfPossession": base64::engine::general_purpose::STANDARD.encode(proof),
            }
        });
        let unreachable = |source| FulcioError::Unreachable {
            url: self.url.clone(),
            source,
        };
        let resp = self
            .http
            .post(&self.url)
            .header("Accept", "application/json")
            .json(&body)
            .send()
            .await
            .map_err(|e| unreachable(e.without_url()))?;
        let status = resp.status();
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| unreachable(e.without_url()))?;
        if !status.is_success() {
            let message = serde_json::from_slice::<serde_json::Value>(&bytes)
                .ok()
                .and_then(|v| v.get("message").and_then(|m| m.as_str()).map(str::to_owned))
                .unwrap_or_else(|| {
                    String::from_utf8_lossy(&bytes[..bytes.len().min(300)]).into_owned()
                });
            return Err(FulcioError::Refused {
                status: status.as_u16(),
                message: redact(&message, token.expose()),
            });
        }
        parse_signing_cert_response(&bytes)
    }
}

/// The Fulcio URL of a Sigstore signing config (`--signing-config`, v0.2 `caUrls[]`
/// with `majorApiVersion` 1 whose `validFor` has started and not ended, newest start
/// first; v0.1 `caUrl`).
///
/// # Errors
///
/// [`FulcioError::Response`] when the document is not a signing config or names no
/// usable Fulcio.
pub fn fulcio_url_from_signing_config(bytes: &[u8]) -> Result<String, FulcioError> {
    let v: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|_| FulcioError::Response("signing config is not JSON"))?;
    if let Some(url) = v.get("caUrl").and_then(|u| u.as_str()) {
        return Ok(url.to_owned());
    }
    current_service(&v, "caUrls").ok_or(FulcioError::Response(
        "the signing config names no current Fulcio (caUrls)",
    ))
}

/// The timestamp authority URL of a Sigstore signing config (`tsaUrls[]`, as
/// [`fulcio_url_from_signing_config`]), if it names one.
#[must_use]
pub fn tsa_url_from_signing_config(bytes: &[u8]) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    current_service(&v, "tsaUrls")
}

/// The newest current service with `majorApiVersion` 1 in `v[field]`.
fn current_service(v: &serde_json::Value, field: &str) -> Option<String> {
    let now = jiff::Timestamp::now();
    let time = |t: Option<&serde_json::Value>| {
        t.and_then(|t| t.as_str())
            .and_then(|t| t.parse::<jiff::Timestamp>().ok())
    };
    let mut best: Option<(jiff::Timestamp, String)> = None;
    for ca in v
        .get(field)
        .and_then(|c| c.as_array())
        .map(Vec::as_slice)
        .unwrap_or_default()
    {
        let Some(url) = ca.get("url").and_then(|u| u.as_str()) else {
            continue;
        };
        let major = ca
            .get("majorApiVersion")
            .and_then(serde_json::Value::as_u64);
        if major.is_some_and(|m| m != 1) {
            continue;
        }
        let valid = ca.get("validFor");
        let start = time(valid.and_then(|v| v.get("start"))).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
        let end = time(valid.and_then(|v| v.get("end")));
        if start > now || end.is_some_and(|e| e <= now) {
            continue;
        }
        if best.as_ref().is_none_or(|(s, _)| start > *s) {
            best = Some((start, url.to_owned()));
        }
    }
    best.map(|(_, u)| u)
}

/// `text` with every occurrence of `secret` replaced.
pub(crate) fn redact(text: &str, secret: &str) -> String {
    if secret.len() < 4 {
        return text.to_owned();
    }
    text.replace(secret, "<redacted>")
}

/// How a [`KeylessSigner`] works.
#[derive(Clone, Debug)]
pub struct KeylessOptions {
    /// Fulcio's base URL.
    pub fulcio_url: String,
    /// Where identity tokens come from.
    pub tokens: TokenSource,
    /// Require an embedded SCT signed by a CT log of the trusted root (default: true).
    pub require_sct: bool,
    /// Ask for a new certificate when the current one expires within this margin
    /// (default: 2 minutes of Fulcio's 10).
    pub refresh_margin: Duration,
    /// HTTP timeout of a certificate request (default: 30 s).
    pub timeout: Duration,
    /// When set, every identity token's `iss` claim must equal it (trailing `/`
    /// ignored) before Fulcio is asked (default: not checked).
    pub expected_issuer: Option<String>,
}

impl KeylessOptions {
    /// Defaults for a Fulcio URL and a token source.
    #[must_use]
    pub fn new(fulcio_url: impl Into<String>, tokens: TokenSource) -> Self {
        Self {
            fulcio_url: fulcio_url.into(),
            tokens,
            require_sct: true,
            refresh_margin: Duration::from_secs(120),
            timeout: Duration::from_secs(30),
            expected_issuer: None,
        }
    }
}

/// A certificate in use, with its ephemeral key.
struct Issued {
    key: LocalSigner,
    chain: Arc<[Vec<u8>]>,
    not_after: SystemTime,
}

/// A keyless signer: ephemeral keys certified by Fulcio, one certificate reused while
/// valid. Implements [`AsyncSigner`]; DSSE `keyid` is empty (as cosign's keyless).
pub struct KeylessSigner {
    client: FulcioClient,
    options: KeylessOptions,
    authorities: Vec<x509::CertificateAuthority>,
    trust: TrustedRoot,
    current: tokio::sync::Mutex<Option<Arc<Issued>>>,
    latest: std::sync::Mutex<Option<Arc<Issued>>>,
    requests: AtomicU64,
}

impl std::fmt::Debug for KeylessSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeylessSigner")
            .field("fulcio", &self.options.fulcio_url)
            .field("requests", &self.certificate_requests())
            .finish_non_exhaustive()
    }
}

impl KeylessSigner {
    /// A keyless signer whose certificates must chain to `trust`'s Fulcio authorities
    /// (and carry an SCT from one of its CT logs). No request is made yet.
    ///
    /// # Errors
    ///
    /// [`FulcioError::Url`] for a bad URL; [`FulcioError::Certificate`] when the trusted
    /// root names no usable Fulcio authority.
    pub fn new(options: KeylessOptions, trust: TrustedRoot) -> Result<Self, FulcioError> {
        let client = FulcioClient::new(&options.fulcio_url, options.timeout)?;
        let authorities = trust
            .certificate_authorities
            .iter()
            .map(|ca| {
                x509::CertificateAuthority::from_der_chain(&ca.cert_chain.certificates).map(|a| {
                    a.with_validity(
                        ca.valid_for.start.map(SystemTime::from),
                        ca.valid_for.end.map(SystemTime::from),
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| FulcioError::Certificate {
                what: "the trusted root's certificate authorities do not parse",
                source: Some(e),
            })?;
        if authorities.is_empty() {
            return Err(FulcioError::Certificate {
                what: "the trusted root has no certificate authority",
                source: None,
            });
        }
        Ok(Self {
            client,
            options,
            authorities,
            trust,
            current: tokio::sync::Mutex::new(None),
            latest: std::sync::Mutex::new(None),
            requests: AtomicU64::new(0),
        })
    }

    /// The trusted root the certificates are checked against.
    #[must_use]
    pub fn trusted_root(&self) -> &TrustedRoot {
        &self.trust
    }

    /// How many certificate requests were sent to Fulcio.
    #[must_use]
    pub fn certificate_requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// The current certificate, requesting one if there is none or it expires within the
    /// margin.
    async fn issued(&self) -> Result<Arc<Issued>, FulcioError> {
        let mut current = self.current.lock().await;
        let now = SystemTime::now();
        if let Some(i) = current.as_ref()
            && now + self.options.refresh_margin < i.not_after
        {
            return Ok(Arc::clone(i));
        }
        let issued = Arc::new(self.request(now).await?);
        *current = Some(Arc::clone(&issued));
        if let Ok(mut l) = self.latest.lock() {
            *l = Some(Arc::clone(&issued));
        }
        Ok(issued)
    }

    async fn request(&self, now: SystemTime) -> Result<Issued, FulcioError> {
        let token = self.options.tokens.token().await?;
        token.check_fresh(now)?;
        if let Some(expected) = &self.options.expected_issuer {
            let found = &token.claims().iss;
            if found.trim_end_matches('/') != expected.trim_end_matches('/') {
                return Err(FulcioError::Issuer {
                    expected: expected.clone(),
                    found: found.clone(),
                });
            }
        }
        let challenge = token.challenge()?;
        let key = LocalSigner::generate_p256()
            .map_err(FulcioError::Key)?
            .with_key_id("");
        let proof = key
            .sign_raw(challenge.as_bytes())
            .map_err(|_| FulcioError::Key(super::KeyError::Crypto))?;
        self.requests.fetch_add(1, Ordering::Relaxed);
        let chain = self
            .client
            .signing_cert(token.secret(), key.public(), &proof)
            .await?;
        let not_after = self.check(&key, &chain, now)?;
        tracing::info!(
            fulcio = %self.options.fulcio_url,
            issuer = %token.claims().iss,
            subject = %token.claims().sub,
            requests = self.certificate_requests(),
            "Fulcio issued a signing certificate"
        );
        Ok(Issued {
            key,
            chain: chain.certificates.into(),
            not_after,
        })
    }

    /// Check an issued chain; returns the leaf's expiry.
    fn check(
        &self,
        key: &LocalSigner,
        chain: &IssuedChain,
        now: SystemTime,
    ) -> Result<SystemTime, FulcioError> {
        let bad = |what, source| FulcioError::Certificate { what, source };
        let leaf_der = chain
            .certificates
            .first()
            .ok_or(FulcioError::Response("empty certificate chain"))?;
        let leaf = Certificate::from_der(leaf_der).map_err(|e| bad("leaf", Some(e)))?;
        let spki = leaf.spki_der().map_err(|e| bad("leaf key", Some(e)))?;
        if spki != key.public().spki_der() {
            return Err(bad("the leaf certifies another public key", None));
        }
        // Checked at the leaf's notBefore when the local clock is behind Fulcio's (a
        // certificate issued "in the future" by a second is not an error); the expiry is
        // checked against the local clock by the reuse logic.
        let at = now.max(leaf.not_before());
        let verified = x509::verify_chain(&leaf, &self.authorities, at, KeyPurpose::CodeSigning)
            .map_err(|e| bad("chain to the trusted root's Fulcio authorities", Some(e)))?;
        if leaf.not_after() <= now {
            return Err(bad(
                "the certificate has already expired (clock skew?)",
                None,
            ));
        }
        if self.options.require_sct {
            if chain.detached_sct.is_some() {
                return Err(bad(
                    "Fulcio returned a detached SCT; only embedded SCTs are supported",
                    None,
                ));
            }
            let lookup = |log_id: &[u8; 32], at: SystemTime| -> Option<Vec<u8>> {
                let at = jiff::Timestamp::try_from(at).ok()?;
                self.trust
                    .ctlog_key_at(log_id, at)
                    .ok()
                    .map(|(log, _)| log.public_key.raw_bytes.clone())
            };
            x509::verify_embedded_scts(&verified, &lookup)
                .map_err(|e| bad("embedded SCT against the trusted root's CT logs", Some(e)))?;
        }
        Ok(leaf.not_after())
    }
}

impl AsyncSigner for KeylessSigner {
    fn key_id(&self) -> &str {
        ""
    }

    fn public_key(&self) -> Option<PublicKey> {
        let l = self.latest.lock().ok()?;
        l.as_ref().map(|i| i.key.public().clone())
    }

    fn certificate_chain(&self) -> Option<Arc<[Vec<u8>]>> {
        let l = self.latest.lock().ok()?;
        l.as_ref().map(|i| Arc::clone(&i.chain))
    }

    fn sign<'a>(&'a self, msg: &'a [u8]) -> BoxFuture<'a, Result<SignOutput, SignError>> {
        Box::pin(async move {
            let issued = self.issued().await?;
            let signature = issued.key.sign_raw(msg).map_err(|_| SignError::Crypto)?;
            Ok(SignOutput {
                signature,
                public_key: issued.key.public().clone(),
                certificate_chain: Some(Arc::clone(&issued.chain)),
            })
        })
    }
}

#[cfg(test)]
#[allow(clippy::panic)] // Tests report failures by panicking.
mod tests {
    use super::*;

    #[test]
    fn parses_both_response_shapes() {
        let pem =
            "-----BEGIN CERTIFICATE-----\nMIIBsjCCAVigAwIBAgIUFake\n-----END CERTIFICATE-----\n";
        // Not a real certificate: refused, but as a response problem.
        let body =
            serde_json::json!({"signedCertificateEmbeddedSct": {"chain": {"certificates": [pem]}}});
        assert!(matches!(
            parse_signing_cert_response(body.to_string().as_bytes()),
            Err(FulcioError::Response(_))
        ));
        for bad in [
            &b"{}"[..],
            b"[]",
            b"not json",
            br#"{"signedCertificateEmbeddedSct":{"chain":{"certificates":[]}}}"#,
            br#"{"signedCertificateDetachedSct":{"chain":{"certificates":["x"]},"signedCertificateTimestamp":"!"}}"#,
        ] {
            assert!(parse_signing_cert_response(bad).is_err());
        }
    }

    #[test]
    fn parses_a_real_chain() {
        let dir = crate::test_support::shared_dir();
        // Any PEM certificate from the shared fixtures will do.
        let Some(pem) = find_pem(&dir) else {
            return;
        };
        let body = serde_json::json!({"signedCertificateEmbeddedSct": {"chain": {"certificates": [pem.clone(), pem]}}});
        let chain = parse_signing_cert_response(body.to_string().as_bytes())
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(chain.certificates.len(), 2);
        assert!(chain.detached_sct.is_none());
    }

    fn find_pem(dir: &std::path::Path) -> Option<String> {
        let mut stack = vec![dir.to_path_buf()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).ok()?.flatten() {
                let p = e.path();
                if p.is_dir() {
                    stack.push(p);
                } else if let Ok(t) = std::fs::read_to_string(&p)
                    && t.starts_with("-----BEGIN CERTIFICATE-----")
                    && Certificate::from_pem(t.as_bytes()).is_ok()
                {
                    return Some(t);
                }
            }
        }
        None
    }

    #[test]
    fn signing_config_names_fulcio() {
        let sc = br#"{"mediaType":"application/vnd.dev.sigstore.signingconfig.v0.2+json",
            "caUrls":[{"url":"http://old","majorApiVersion":1,"validFor":{"start":"2020-01-01T00:00:00Z","end":"2021-01-01T00:00:00Z"}},
                      {"url":"http://a","majorApiVersion":1,"validFor":{"start":"2022-01-01T00:00:00Z"}},
                      {"url":"http://b","majorApiVersion":1,"validFor":{"start":"2023-01-01T00:00:00Z"}},
                      {"url":"http://v2","majorApiVersion":2,"validFor":{"start":"2024-01-01T00:00:00Z"}}]}"#;
        assert_eq!(
            fulcio_url_from_signing_config(sc).ok().as_deref(),
            Some("http://b")
        );
        assert_eq!(
            fulcio_url_from_signing_config(br#"{"caUrl":"https://f"}"#)
                .ok()
                .as_deref(),
            Some("https://f")
        );
        assert!(fulcio_url_from_signing_config(b"{}").is_err());
        assert!(tsa_url_from_signing_config(sc).is_none());
        let sc = br#"{"tsaUrls":[{"url":"http://t/api/v1/timestamp","majorApiVersion":1}]}"#;
        assert_eq!(
            tsa_url_from_signing_config(sc).as_deref(),
            Some("http://t/api/v1/timestamp")
        );
    }

    /// A one-shot HTTP server answering every request with `status` and `body`.
    fn fake_fulcio(status: u16, body: String) -> String {
        use std::io::{Read as _, Write as _};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
        let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
        std::thread::spawn(move || {
            for stream in listener.incoming().take(4) {
                let Ok(mut stream) = stream else { continue };
                let mut buf = vec![0u8; 65536];
                let mut got = Vec::new();
                // Read headers and the body announced by Content-Length.
                loop {
                    let n = stream.read(&mut buf).unwrap_or(0);
                    if n == 0 {
                        break;
                    }
                    got.extend_from_slice(&buf[..n]);
                    let text = String::from_utf8_lossy(&got);
                    if let Some(end) = text.find("\r\n\r\n") {
                        let len = text
                            .lines()
                            .find_map(|l| {
                                l.to_ascii_lowercase()
                                    .strip_prefix("content-length:")
                                    .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                            })
                            .unwrap_or(0);
                        if got.len() >= end + 4 + len {
                            break;
                        }
                    }
                }
                let resp = format!(
                    "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(resp.as_bytes());
            }
        });
        format!("http://{addr}")
    }

    fn keyless(url: &str, token: &str) -> KeylessSigner {
        let trust = TrustedRoot::public_good().unwrap_or_else(|e| panic!("{e}"));
        let options = KeylessOptions::new(url, TokenSource::Static(Secret::new(token)));
        KeylessSigner::new(options, trust).unwrap_or_else(|e| panic!("{e}"))
    }

    fn sign_err(signer: &KeylessSigner) -> SignError {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        rt.block_on(signer.sign(b"msg"))
            .err()
            .unwrap_or_else(|| panic!("signing succeeded"))
    }

    fn chain_text(e: &dyn std::error::Error) -> String {
        let mut s = e.to_string();
        let mut cur = e.source();
        while let Some(c) = cur {
            s.push_str(": ");
            s.push_str(&c.to_string());
            cur = c.source();
        }
        s
    }

    #[test]
    fn fake_fulcio_refusals_are_typed_and_redacted() {
        let token = crate::signing::token::tests::jwt(&serde_json::json!({
            "iss": "https://issuer.test", "sub": "canary-subject-x", "exp": 4_000_000_000u64
        }));
        // Fulcio echoing the token in its message: redacted, permanent.
        let url = fake_fulcio(
            401,
            serde_json::json!({"code": 16, "message": format!("bad token {token}")}).to_string(),
        );
        let e = sign_err(&keyless(&url, &token));
        let text = chain_text(&e);
        assert!(text.contains("refused") && text.contains("401"), "{text}");
        assert!(!text.contains(&token), "token leaked: {text}");
        assert!(!e.is_transient());
        // A server error is transient.
        let url = fake_fulcio(503, "{}".into());
        assert!(sign_err(&keyless(&url, &token)).is_transient());
        // A certificate for another key is refused.
        let Some(pem) = find_pem(&crate::test_support::shared_dir()) else {
            return;
        };
        let body =
            serde_json::json!({"signedCertificateEmbeddedSct": {"chain": {"certificates": [pem]}}});
        let url = fake_fulcio(200, body.to_string());
        let signer = keyless(&url, &token);
        let text = chain_text(&sign_err(&signer));
        assert!(text.contains("another public key"), "{text}");
        assert_eq!(signer.certificate_requests(), 1);
    }

    #[test]
    fn a_token_of_another_issuer_is_refused_before_fulcio_is_asked() {
        let token = crate::signing::token::tests::jwt(&serde_json::json!({
            "iss": "https://issuer.test", "sub": "s", "exp": 4_000_000_000u64
        }));
        // A Fulcio that would refuse with 503: never reached.
        let url = fake_fulcio(503, "{}".into());
        let trust = TrustedRoot::public_good().unwrap_or_else(|e| panic!("{e}"));
        let mut options = KeylessOptions::new(&url, TokenSource::Static(Secret::new(&token)));
        options.expected_issuer = Some("https://other.test".into());
        let signer = KeylessSigner::new(options, trust).unwrap_or_else(|e| panic!("{e}"));
        let e = sign_err(&signer);
        let text = chain_text(&e);
        assert!(
            text.contains("signers.x509.fulcio.issuer")
                && text.contains("https://issuer.test")
                && text.contains("https://other.test"),
            "{text}"
        );
        assert!(!text.contains(&token));
        assert!(!e.is_transient());
        assert_eq!(signer.certificate_requests(), 0);
        // The same issuer (trailing slash aside) goes on to Fulcio.
        let trust = TrustedRoot::public_good().unwrap_or_else(|e| panic!("{e}"));
        let mut options = KeylessOptions::new(&url, TokenSource::Static(Secret::new(&token)));
        options.expected_issuer = Some("https://issuer.test/".into());
        let signer = KeylessSigner::new(options, trust).unwrap_or_else(|e| panic!("{e}"));
        assert!(sign_err(&signer).is_transient());
        assert_eq!(signer.certificate_requests(), 1);
    }

    #[test]
    fn errors_say_whether_to_retry() {
        assert!(
            FulcioError::Refused {
                status: 503,
                message: String::new()
            }
            .is_transient()
        );
        assert!(
            !FulcioError::Refused {
                status: 401,
                message: String::new()
            }
            .is_transient()
        );
        assert_eq!(
            redact("bad token abcdef here", "abcdef"),
            "bad token <redacted> here"
        );
        assert!(FulcioClient::new("ftp://x", Duration::from_secs(1)).is_err());
        assert!(FulcioClient::new("not a url", Duration::from_secs(1)).is_err());
    }
}
