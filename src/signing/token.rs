//! OIDC identity tokens for keyless signing, and where they come from.
//!
//! A token is a JWT; hallmark reads its claims (issuer, subject, email, expiry) without
//! checking its signature — Fulcio does that — to pick the proof-of-possession challenge
//! and to refuse an expired token before any request is made. No email claim is required:
//! Kubernetes service-account and SPIFFE tokens have none.
//!
//! Sources ([`TokenSource`]):
//! - a literal token (`--identity-token`);
//! - a file (`--identity-token-file`, Chains' `signers.x509.identity.token.file`, e.g. a
//!   projected service-account token at audience `sigstore`), re-read at every request so
//!   that a rotated token is picked up;
//! - an environment variable, read at every request;
//! - TokenRequest: a ServiceAccount's token minted through the Kubernetes API
//!   ([`super::kube`]) at every request (`--service-account NS/NAME`).
//!
//! Tokens are secrets: [`Secret`] never prints its value, and no error of this module
//! carries a token.

use std::fmt;
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use zeroize::Zeroizing;

/// A secret string (token, password): zeroized on drop, never printed.
#[derive(Clone)]
pub struct Secret(Zeroizing<String>);

impl Secret {
    /// Wrap a secret.
    #[must_use]
    pub fn new(value: impl Into<String>) -> Self {
        Self(Zeroizing::new(value.into()))
    }

    /// The secret value, for the one place that must send it.
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;

    /// Wrap a command-line value (so that a parsed command line never prints it).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self::new(s))
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// Why an identity token cannot be used. Never carries the token itself.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// The token is not a JWT (three base64url parts, JSON claims).
    #[error("identity token is not a JWT: {0}")]
    Malformed(&'static str),
    /// The token has expired.
    #[error("identity token (issuer {issuer}, subject {subject}) expired {ago}s ago")]
    Expired {
        /// The `iss` claim.
        issuer: String,
        /// The `sub` claim.
        subject: String,
        /// Seconds since expiry.
        ago: u64,
    },
    /// The token has no subject (`sub`) to prove possession over.
    #[error("identity token has no subject claim")]
    NoSubject,
    /// The token's email is present but not verified (Fulcio would refuse it).
    #[error("identity token's email claim is not verified (email_verified is not true)")]
    EmailNotVerified,
    /// The token file cannot be read.
    #[error("cannot read the identity token file {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The environment variable is unset or empty.
    #[error("the environment variable {0} holds no identity token")]
    Env(String),
    /// A service-account token could not be minted (TokenRequest).
    #[error("cannot get a service-account token from the Kubernetes API")]
    Kube(#[source] super::kube::KubeError),
}

impl TokenError {
    /// Whether retrying later may help: an unreadable file or unset variable may be
    /// provisioned later (projected tokens), an expired file token may be rotated.
    #[must_use]
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Self::Read { .. } | Self::Env(_) | Self::Expired { .. }
        )
    }
}

/// The claims hallmark reads.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Deserialize)]
pub struct Claims {
    /// `iss`.
    #[serde(default)]
    pub iss: String,
    /// `sub`.
    #[serde(default)]
    pub sub: String,
    /// `email`, when present.
    #[serde(default)]
    pub email: Option<String>,
    /// `email_verified` (some issuers send a string).
    #[serde(default)]
    pub email_verified: Option<serde_json::Value>,
    /// `exp` (Unix seconds).
    #[serde(default)]
    pub exp: Option<u64>,
    /// `aud`: a string or a list.
    #[serde(default)]
    pub aud: Option<serde_json::Value>,
}

/// A parsed (unverified) OIDC identity token.
#[derive(Clone)]
pub struct IdentityToken {
    raw: Secret,
    claims: Claims,
}

impl fmt::Debug for IdentityToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdentityToken")
            .field("iss", &self.claims.iss)
            .field("sub", &self.claims.sub)
            .field("exp", &self.claims.exp)
            .finish_non_exhaustive()
    }
}

impl IdentityToken {
    /// Parse a JWT's claims (the signature is not checked: Fulcio does).
    ///
    /// # Errors
    ///
    /// [`TokenError::Malformed`] unless it is three dot-separated base64url parts with a
    /// JSON object as claims; [`TokenError::NoSubject`] without `sub`.
    pub fn parse(raw: &str) -> Result<Self, TokenError> {
        let raw = raw.trim();
        let mut parts = raw.split('.');
        let (Some(_header), Some(payload), Some(_sig), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenError::Malformed("expected three dot-separated parts"));
        };
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload.trim_end_matches('='))
            .map_err(|_| TokenError::Malformed("claims are not base64url"))?;
        let claims: Claims = serde_json::from_slice(&bytes)
            .map_err(|_| TokenError::Malformed("claims are not a JSON object"))?;
        if claims.sub.is_empty() {
            return Err(TokenError::NoSubject);
        }
        Ok(Self {
            raw: Secret::new(raw),
            claims,
        })
    }

    /// The claims.
    #[must_use]
    pub fn claims(&self) -> &Claims {
        &self.claims
    }

    /// The raw token, for the request that presents it.
    #[must_use]
    pub fn secret(&self) -> &Secret {
        &self.raw
    }

    /// When the token expires, if it says.
    #[must_use]
    pub fn expires_at(&self) -> Option<SystemTime> {
        self.claims.exp.map(|s| UNIX_EPOCH + Duration::from_secs(s))
    }

    /// Refuse the token if it has expired at `now`.
    ///
    /// # Errors
    ///
    /// [`TokenError::Expired`].
    pub fn check_fresh(&self, now: SystemTime) -> Result<(), TokenError> {
        match self.expires_at() {
            Some(exp) if exp <= now => Err(TokenError::Expired {
                issuer: self.claims.iss.clone(),
                subject: self.claims.sub.clone(),
                ago: now.duration_since(exp).map_or(0, |d| d.as_secs()),
            }),
            _ => Ok(()),
        }
    }

    /// The string Fulcio's proof of possession is over: the email when the token carries
    /// one (it must then be verified), else the subject. This is what Fulcio's principal
    /// `Name` is for email, Kubernetes, SPIFFE and URI issuers.
    ///
    /// # Errors
    ///
    /// [`TokenError::EmailNotVerified`].
    pub fn challenge(&self) -> Result<&str, TokenError> {
        match self.claims.email.as_deref().filter(|e| !e.is_empty()) {
            Some(email) => {
                let verified = match &self.claims.email_verified {
                    Some(serde_json::Value::Bool(b)) => *b,
                    Some(serde_json::Value::String(s)) => s == "true",
                    _ => false,
                };
                if verified {
                    Ok(email)
                } else {
                    Err(TokenError::EmailNotVerified)
                }
            }
            None => Ok(&self.claims.sub),
        }
    }
}

/// Where identity tokens come from.
#[derive(Clone, Debug)]
pub enum TokenSource {
    /// A token given literally.
    Static(Secret),
    /// A file, re-read at every request (rotated projected tokens).
    File(PathBuf),
    /// An environment variable, read at every request.
    Env(String),
    /// A ServiceAccount's token from the Kubernetes API (TokenRequest), minted at every
    /// request.
    TokenRequest(Box<super::kube::TokenRequestSource>),
}

impl TokenSource {
    /// Read and parse the current token.
    ///
    /// # Errors
    ///
    /// [`TokenError`] when the source is empty or unreadable, or the token malformed.
    pub async fn token(&self) -> Result<IdentityToken, TokenError> {
        match self {
            Self::TokenRequest(src) => src.token().await.map_err(TokenError::Kube),
            Self::Static(s) => IdentityToken::parse(s.expose()),
            Self::File(path) => {
                let text = Zeroizing::new(std::fs::read_to_string(path).map_err(|source| {
                    TokenError::Read {
                        path: path.clone(),
                        source,
                    }
                })?);
                IdentityToken::parse(&text)
            }
            Self::Env(name) => {
                let value = Zeroizing::new(
                    std::env::var(name)
                        .ok()
                        .filter(|v| !v.trim().is_empty())
                        .ok_or_else(|| TokenError::Env(name.clone()))?,
                );
                IdentityToken::parse(&value)
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::panic)] // Tests report failures by panicking.
pub(crate) mod tests {
    use super::*;

    /// An unsigned JWT with these claims (tests only).
    pub(crate) fn jwt(claims: &serde_json::Value) -> String {
        let b = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        format!(
            "{}.{}.{}",
            b.encode(br#"{"alg":"RS256"}"#),
            b.encode(claims.to_string()),
            b.encode(b"sig")
        )
    }

    #[test]
    fn challenge_is_email_or_subject() {
        let t = IdentityToken::parse(&jwt(&serde_json::json!({
            "iss": "https://k8s", "sub": "system:serviceaccount:ns:sa", "exp": 4_000_000_000u64
        })))
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(t.challenge().ok(), Some("system:serviceaccount:ns:sa"));
        assert!(t.check_fresh(SystemTime::now()).is_ok());
        let t = IdentityToken::parse(&jwt(&serde_json::json!({
            "iss": "i", "sub": "x", "email": "a@b.c", "email_verified": true
        })))
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(t.challenge().ok(), Some("a@b.c"));
        let t = IdentityToken::parse(&jwt(&serde_json::json!({
            "iss": "i", "sub": "x", "email": "a@b.c"
        })))
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(t.challenge(), Err(TokenError::EmailNotVerified)));
    }

    #[test]
    fn expired_and_malformed_tokens_are_refused_without_the_token() {
        let raw = jwt(&serde_json::json!({"iss": "i", "sub": "s", "exp": 1}));
        let t = IdentityToken::parse(&raw).unwrap_or_else(|e| panic!("{e}"));
        let e = t
            .check_fresh(SystemTime::now())
            .err()
            .unwrap_or_else(|| panic!("expired token accepted"));
        assert!(e.to_string().contains("expired"), "{e}");
        assert!(!e.to_string().contains(&raw));
        assert!(!format!("{t:?}").contains(&raw));
        for bad in ["", "a.b", "a.b.c.d", "a.!!!.c", "a.bm90IGpzb24.c"] {
            assert!(
                matches!(IdentityToken::parse(bad), Err(TokenError::Malformed(_))),
                "{bad}"
            );
        }
        assert!(matches!(
            IdentityToken::parse(&jwt(&serde_json::json!({"iss": "i"}))),
            Err(TokenError::NoSubject)
        ));
    }

    #[test]
    fn file_source_is_reread() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("token");
        let src = TokenSource::File(path.clone());
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        let sub = |src: &TokenSource| {
            rt.block_on(src.token())
                .map(|t| t.claims().sub.clone())
                .ok()
        };
        assert!(matches!(
            rt.block_on(src.token()),
            Err(TokenError::Read { .. })
        ));
        std::fs::write(&path, jwt(&serde_json::json!({"sub": "one"})))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(sub(&src).as_deref(), Some("one"));
        std::fs::write(&path, jwt(&serde_json::json!({"sub": "two"})))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(sub(&src).as_deref(), Some("two"));
    }
}
