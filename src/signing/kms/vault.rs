//! `hashivault://KEY`: signing with a HashiCorp Vault / OpenBao transit key.
//!
//! The requests are those of cosign's `hashivault` KMS provider (sigstore/sigstore
//! `pkg/signature/kms/hashivault`), so signatures are interchangeable with cosign's:
//!
//! - public key: `GET /v1/<mount>/keys/<KEY>` (`data.type`, `data.latest_version`,
//!   `data.keys.<version>.public_key`), read once when the signer connects;
//! - ECDSA P-256: `POST /v1/<mount>/sign/<KEY>` with `input` = base64(SHA-256(message)),
//!   `prehashed: true`, `hash_algorithm: sha2-256`, `marshaling_algorithm: asn1` and the
//!   `key_version`; the answer `data.signature` is `vault:v<N>:<base64 DER signature>`;
//! - Ed25519 keys sign the whole message (`prehashed` does not apply to them).
//!
//! Every signature is checked against the cached public key before it is returned.
//!
//! Auth: a Vault token (`X-Vault-Token`), given inline, read from a file, or from
//! `VAULT_TOKEN`; or JWT auth: `POST /v1/auth/<path>/login` with `role` and `jwt` (a
//! Kubernetes service-account token), whose `auth.client_token` is used and renewed by
//! logging in again when Vault answers 403. Tokens never appear in errors or logs.
//!
//! The transit mount defaults to `transit` (`TRANSIT_SECRETS_ENGINE_PATH`, as cosign).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use sha2::Digest as _;

use super::KmsError;
use crate::signing::fulcio::redact;
use crate::signing::token::{Secret, TokenSource};
use crate::signing::{AsyncSigner, BoxFuture, KeyAlgorithm, PublicKey, SignError, SignOutput};

/// How hallmark authenticates to Vault.
#[derive(Clone, Debug)]
pub enum VaultAuth {
    /// A Vault token.
    Token(Secret),
    /// A file holding a Vault token (`signers.kms.auth.token-path`), read at connect.
    TokenFile(PathBuf),
    /// JWT auth: log in at `auth/<mount>/login` with `role` and a JWT.
    Jwt {
        /// The auth mount path (`signers.kms.auth.oidc.path`, default `jwt`).
        mount: String,
        /// The role (`signers.kms.auth.oidc.role`).
        role: String,
        /// Where the JWT comes from (`signers.kms.auth.oidc.token-path`).
        jwt: TokenSource,
    },
}

/// Where the key is and how to reach it.
#[derive(Clone, Debug)]
pub struct VaultConfig {
    /// Vault's address (`signers.kms.auth.address` or `VAULT_ADDR`).
    pub address: String,
    /// The transit key's name.
    pub key: String,
    /// The transit mount path (default `transit`).
    pub mount: String,
    /// Authentication.
    pub auth: VaultAuth,
    /// HTTP timeout per request.
    pub timeout: Duration,
}

impl VaultConfig {
    /// A configuration with the default mount (`TRANSIT_SECRETS_ENGINE_PATH` or
    /// `transit`) and a 30 s timeout.
    #[must_use]
    pub fn new(address: impl Into<String>, key: impl Into<String>, auth: VaultAuth) -> Self {
        Self {
            address: address.into(),
            key: key.into(),
            mount: std::env::var("TRANSIT_SECRETS_ENGINE_PATH")
                .ok()
                .filter(|m| !m.is_empty())
                .unwrap_or_else(|| "transit".to_owned()),
            auth,
            timeout: Duration::from_secs(30),
        }
    }
}

/// A signer backed by a transit key. Implements [`AsyncSigner`]; the DSSE `keyid` is
/// the public key's SSH fingerprint, as for local keys.
pub struct VaultSigner {
    http: reqwest::Client,
    base: String,
    config: VaultConfig,
    token: tokio::sync::Mutex<Secret>,
    public: PublicKey,
    key_id: String,
    version: u64,
}

impl std::fmt::Debug for VaultSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VaultSigner")
            .field("address", &self.base)
            .field("key", &self.config.key)
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

#[derive(serde::Deserialize)]
struct Envelope<T> {
    data: Option<T>,
}

#[derive(serde::Deserialize)]
struct KeyData {
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    latest_version: u64,
    #[serde(default)]
    keys: serde_json::Map<String, serde_json::Value>,
}

#[derive(serde::Deserialize)]
struct SignData {
    signature: Option<String>,
}

/// Parse a `transit/keys/KEY` answer: the latest version's public key.
///
/// # Errors
///
/// [`KmsError::KeyType`] for a key that cannot sign; [`KmsError::Response`] for a
/// malformed answer.
pub fn parse_key_response(key: &str, body: &[u8]) -> Result<(PublicKey, u64), KmsError> {
    let e: Envelope<KeyData> =
        serde_json::from_slice(body).map_err(|_| KmsError::Response("key: not JSON"))?;
    let d = e.data.ok_or(KmsError::Response("key: no data"))?;
    let alg = match d.kind.as_str() {
        "ecdsa-p256" => KeyAlgorithm::EcdsaP256Sha256,
        "ed25519" => KeyAlgorithm::Ed25519,
        _ => {
            return Err(KmsError::KeyType {
                key: key.to_owned(),
                kind: d.kind,
            });
        }
    };
    let entry = d
        .keys
        .get(&d.latest_version.to_string())
        .and_then(|v| v.get("public_key"))
        .and_then(|v| v.as_str())
        .ok_or(KmsError::Response(
            "key: no public key for the latest version",
        ))?;
    let public = match alg {
        KeyAlgorithm::Ed25519 if !entry.contains("BEGIN") => {
            let raw = base64::engine::general_purpose::STANDARD
                .decode(entry.trim())
                .map_err(|_| KmsError::Response("key: ed25519 public key is not base64"))?;
            let mut spki = vec![
                0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
            ];
            spki.extend_from_slice(&raw);
            PublicKey::from_spki_der(&spki)
        }
        _ => PublicKey::from_pem(entry.as_bytes()),
    }
    .map_err(|_| KmsError::Response("key: public key does not parse"))?;
    if public.algorithm() != alg {
        return Err(KmsError::Response("key: public key of another type"));
    }
    Ok((public, d.latest_version))
}

/// Decode `vault:v<N>:<base64>`.
fn decode_signature(s: &str) -> Result<Vec<u8>, KmsError> {
    let b64 = s
        .strip_prefix("vault:v")
        .and_then(|r| r.split_once(':'))
        .map(|(_, b)| b)
        .ok_or(KmsError::Response("signature is not vault:v<N>:<base64>"))?;
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .map_err(|_| KmsError::Response("signature is not base64"))
}

impl VaultSigner {
    /// Authenticate and read the key's public key.
    ///
    /// # Errors
    ///
    /// [`KmsError::Config`] for a bad address; [`KmsError::Unreachable`],
    /// [`KmsError::Refused`] (bad token, JWT login refused, no such key),
    /// [`KmsError::KeyType`] for a key that cannot sign (aes256-gcm96, ...).
    pub async fn connect(config: VaultConfig) -> Result<Self, KmsError> {
        let base = config.address.trim_end_matches('/').to_owned();
        let url = reqwest::Url::parse(&base).map_err(|_| KmsError::Config {
            key: "signers.kms.auth.address / VAULT_ADDR",
            problem: format!("{base:?} is not a URL"),
        })?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(KmsError::Config {
                key: "signers.kms.auth.address / VAULT_ADDR",
                problem: format!("{base:?} is not an http(s) URL"),
            });
        }
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .user_agent(concat!("hallmark/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|source| KmsError::Unreachable {
                url: base.clone(),
                source,
            })?;
        let token = login(&http, &base, &config.auth).await?;
        let key_url = format!("{base}/v1/{}/keys/{}", config.mount, config.key);
        let body = request(
            &http,
            reqwest::Method::GET,
            &key_url,
            &token,
            None,
            &format!("reading transit key {}", config.key),
        )
        .await?;
        let (public, version) = parse_key_response(&config.key, &body)?;
        Ok(Self {
            http,
            base,
            key_id: public.ssh_fingerprint(),
            public,
            version,
            token: tokio::sync::Mutex::new(token),
            config,
        })
    }

    /// The key version signatures are made with (the latest at connect time).
    #[must_use]
    pub fn key_version(&self) -> u64 {
        self.version
    }

    async fn sign_once(&self, token: &Secret, msg: &[u8]) -> Result<Vec<u8>, KmsError> {
        let b64 = base64::engine::general_purpose::STANDARD;
        let body = match self.public.algorithm() {
            KeyAlgorithm::Ed25519 => serde_json::json!({
                "input": b64.encode(msg),
                "key_version": self.version,
            }),
            _ => serde_json::json!({
                "input": b64.encode(sha2::Sha256::digest(msg)),
                "prehashed": true,
                "hash_algorithm": "sha2-256",
                "marshaling_algorithm": "asn1",
                "key_version": self.version,
            }),
        };
        let url = format!(
            "{}/v1/{}/sign/{}",
            self.base, self.config.mount, self.config.key
        );
        let resp = request(
            &self.http,
            reqwest::Method::POST,
            &url,
            token,
            Some(&body),
            &format!("signing with transit key {}", self.config.key),
        )
        .await?;
        let e: Envelope<SignData> =
            serde_json::from_slice(&resp).map_err(|_| KmsError::Response("sign: not JSON"))?;
        let sig = e
            .data
            .and_then(|d| d.signature)
            .ok_or(KmsError::Response("sign: no signature"))?;
        let sig = decode_signature(&sig)?;
        self.public
            .verify(msg, &sig)
            .map_err(|_| KmsError::BadSignature)?;
        Ok(sig)
    }

    async fn sign_msg(&self, msg: &[u8]) -> Result<Vec<u8>, KmsError> {
        let mut token = self.token.lock().await;
        match self.sign_once(&token, msg).await {
            // A JWT-auth token expired: log in again, once.
            Err(KmsError::Refused { status: 403, .. })
                if matches!(self.config.auth, VaultAuth::Jwt { .. }) =>
            {
                tracing::info!(key = %self.config.key, "Vault refused the JWT-auth token (403): logging in again");
                *token = login(&self.http, &self.base, &self.config.auth).await?;
                self.sign_once(&token, msg).await
            }
            r => r,
        }
    }
}

/// Get a Vault token for `auth`.
async fn login(http: &reqwest::Client, base: &str, auth: &VaultAuth) -> Result<Secret, KmsError> {
    match auth {
        VaultAuth::Token(t) => Ok(t.clone()),
        VaultAuth::TokenFile(path) => {
            let text = std::fs::read_to_string(path).map_err(|source| KmsError::TokenFile {
                path: path.clone(),
                source,
            })?;
            let t = text.trim();
            if t.is_empty() {
                return Err(KmsError::Config {
                    key: "signers.kms.auth.token-path",
                    problem: format!("{} is empty", path.display()),
                });
            }
            Ok(Secret::new(t))
        }
        VaultAuth::Jwt { mount, role, jwt } => {
            let token = jwt.token().await?;
            let url = format!("{base}/v1/auth/{mount}/login");
            let body = serde_json::json!({"role": role, "jwt": token.secret().expose()});
            let what = format!("Vault JWT login (auth/{mount}, role {role})");
            let resp =
                http.post(&url)
                    .json(&body)
                    .send()
                    .await
                    .map_err(|e| KmsError::Unreachable {
                        url: url.clone(),
                        source: e.without_url(),
                    })?;
            let status = resp.status();
            let bytes = resp.bytes().await.map_err(|e| KmsError::Unreachable {
                url: url.clone(),
                source: e.without_url(),
            })?;
            if !status.is_success() {
                return Err(KmsError::Refused {
                    what,
                    status: status.as_u16(),
                    message: redact(&vault_errors(&bytes), token.secret().expose()),
                });
            }
            let v: serde_json::Value = serde_json::from_slice(&bytes)
                .map_err(|_| KmsError::Response("login: not JSON"))?;
            v.pointer("/auth/client_token")
                .and_then(|t| t.as_str())
                .filter(|t| !t.is_empty())
                .map(Secret::new)
                .ok_or(KmsError::Response("login: no auth.client_token"))
        }
    }
}

/// Vault's `{"errors": [...]}` as one line (truncated).
fn vault_errors(body: &[u8]) -> String {
    let joined = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| {
            v.get("errors").and_then(|e| e.as_array()).map(|a| {
                a.iter()
                    .filter_map(|m| m.as_str())
                    .collect::<Vec<_>>()
                    .join("; ")
            })
        })
        .unwrap_or_else(|| String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned());
    joined.chars().take(500).collect()
}

async fn request(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
    token: &Secret,
    body: Option<&serde_json::Value>,
    what: &str,
) -> Result<Vec<u8>, KmsError> {
    let mut req = http
        .request(method, url)
        .header("X-Vault-Token", token.expose());
    if let Some(b) = body {
        req = req.json(b);
    }
    let unreachable = |e: reqwest::Error| KmsError::Unreachable {
        url: url.to_owned(),
        source: e.without_url(),
    };
    let resp = req.send().await.map_err(unreachable)?;
    let status = resp.status();
    let bytes = resp.bytes().await.map_err(unreachable)?;
    if !status.is_success() {
        return Err(KmsError::Refused {
            what: what.to_owned(),
            status: status.as_u16(),
            message: redact(&vault_errors(&bytes), token.expose()),
        });
    }
    Ok(bytes.to_vec())
}

impl AsyncSigner for VaultSigner {
    fn key_id(&self) -> &str {
        &self.key_id
    }

    fn public_key(&self) -> Option<PublicKey> {
        Some(self.public.clone())
    }

    fn certificate_chain(&self) -> Option<Arc<[Vec<u8>]>> {
        None
    }

    fn sign<'a>(&'a self, msg: &'a [u8]) -> BoxFuture<'a, Result<SignOutput, SignError>> {
        Box::pin(async move {
            let signature = self.sign_msg(msg).await?;
            Ok(SignOutput {
                signature,
                public_key: self.public.clone(),
                certificate_chain: None,
            })
        })
    }
}

#[cfg(test)]
#[allow(clippy::panic)] // Tests report failures by panicking.
mod tests {
    use super::*;

    #[test]
    fn key_responses() {
        let signer = crate::signing::LocalSigner::generate_p256().unwrap_or_else(|e| panic!("{e}"));
        let pem = crate::signing::Signer::public_key(&signer).to_pem();
        let body = serde_json::json!({"data": {"type": "ecdsa-p256", "latest_version": 2,
            "keys": {"1": {"public_key": "x"}, "2": {"public_key": pem}}}});
        let (pk, v) =
            parse_key_response("k", body.to_string().as_bytes()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(v, 2);
        assert_eq!(pk.to_pem(), pem);
        let aes = serde_json::json!({"data": {"type": "aes256-gcm96", "latest_version": 1,
            "keys": {"1": 1_700_000_000}}});
        let e = parse_key_response("hallmark-aes", aes.to_string().as_bytes())
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            e.contains("hallmark-aes") && e.contains("aes256-gcm96"),
            "{e}"
        );
        assert!(parse_key_response("k", b"{}").is_err());
        assert!(parse_key_response("k", b"nope").is_err());
    }

    #[test]
    fn signatures_decode() {
        assert_eq!(decode_signature("vault:v1:AQI=").ok(), Some(vec![1, 2]));
        assert_eq!(decode_signature("vault:v12:AQI=").ok(), Some(vec![1, 2]));
        assert!(decode_signature("AQI=").is_err());
        assert!(decode_signature("vault:v1:!!").is_err());
    }

    #[test]
    fn vault_errors_are_one_line() {
        assert_eq!(
            vault_errors(br#"{"errors":["permission denied","x"]}"#),
            "permission denied; x"
        );
        assert_eq!(vault_errors(b"plain"), "plain");
    }
}
