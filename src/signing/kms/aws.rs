//! `awskms://` (cargo feature `awskms`): AWS KMS asymmetric keys, through KMS's JSON API
//! (`TrentService.GetPublicKey`, `TrentService.Sign`) signed with AWS Signature Version 4.
//!
//! **Not exercised against AWS or an emulator**: only the request and response shapes and
//! the SigV4 signature (AWS's documented example) are unit-tested. moto's KMS hashes a
//! `DIGEST` message again (getmoto/moto#10202), so it cannot serve a real test.
//!
//! Key references, as cosign's: `awskms:///KEY` or `awskms://ENDPOINT/KEY`, where `KEY` is
//! a key id, a key ARN, `alias/NAME` or an alias ARN. The region comes from the ARN, else
//! `AWS_REGION` / `AWS_DEFAULT_REGION`; credentials from `AWS_ACCESS_KEY_ID`,
//! `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN` (no profiles, no instance metadata).
//! Signing: `MessageType: DIGEST` with SHA-256 of the message, `ECDSA_SHA_256` (P-256
//! keys only); the DER signature is checked against the public key read at connect time.

use std::sync::Arc;
use std::time::Duration;

use aws_lc_rs::hmac;
use base64::Engine as _;
use sha2::Digest as _;

use super::KmsError;
use crate::signing::token::Secret;
use crate::signing::{AsyncSigner, BoxFuture, KeyAlgorithm, PublicKey, SignError, SignOutput};

/// A parsed `awskms://` reference.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AwsKeyRef {
    /// A custom endpoint (`host[:port]`), if given.
    pub endpoint: Option<String>,
    /// The key id, ARN or alias.
    pub key_id: String,
    /// The region named by an ARN.
    pub region: Option<String>,
}

/// Parse `awskms:///KEY` or `awskms://ENDPOINT/KEY`.
///
/// # Errors
///
/// [`KmsError::BadReference`].
pub fn parse_ref(reference: &str) -> Result<AwsKeyRef, KmsError> {
    let bad = || KmsError::BadReference(reference.to_owned());
    let rest = reference.strip_prefix("awskms://").ok_or_else(bad)?;
    let (endpoint, key_id) = rest.split_once('/').ok_or_else(bad)?;
    if key_id.is_empty() {
        return Err(bad());
    }
    let region = key_id
        .strip_prefix("arn:")
        .and_then(|a| a.split(':').nth(2))
        .filter(|r| !r.is_empty())
        .map(str::to_owned);
    if key_id.starts_with("arn:") && region.is_none() {
        return Err(bad());
    }
    Ok(AwsKeyRef {
        endpoint: (!endpoint.is_empty()).then(|| endpoint.to_owned()),
        key_id: key_id.to_owned(),
        region,
    })
}

/// AWS credentials.
#[derive(Clone, Debug)]
pub struct AwsCredentials {
    /// `AWS_ACCESS_KEY_ID`.
    pub access_key_id: String,
    /// `AWS_SECRET_ACCESS_KEY`.
    pub secret_access_key: Secret,
    /// `AWS_SESSION_TOKEN`.
    pub session_token: Option<Secret>,
}

impl AwsCredentials {
    /// From the environment.
    ///
    /// # Errors
    ///
    /// [`KmsError::Config`] naming the missing variable.
    pub fn from_env() -> Result<Self, KmsError> {
        let var = |n: &'static str| {
            std::env::var(n)
                .ok()
                .filter(|v| !v.is_empty())
                .ok_or(KmsError::Config {
                    key: n,
                    problem: "not set (awskms:// reads credentials from the environment only)"
                        .into(),
                })
        };
        Ok(Self {
            access_key_id: var("AWS_ACCESS_KEY_ID")?,
            secret_access_key: Secret::new(var("AWS_SECRET_ACCESS_KEY")?),
            session_token: std::env::var("AWS_SESSION_TOKEN")
                .ok()
                .filter(|v| !v.is_empty())
                .map(Secret::new),
        })
    }
}

fn hmac_sha256(key: &[u8], data: &[u8]) -> Vec<u8> {
    hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), data)
        .as_ref()
        .to_vec()
}

/// The SigV4 signing key for `date` (`YYYYMMDD`), region and service.
#[must_use]
pub fn signing_key(secret: &str, date: &str, region: &str, service: &str) -> Vec<u8> {
    let k_date = hmac_sha256(format!("AWS4{secret}").as_bytes(), date.as_bytes());
    let k_region = hmac_sha256(&k_date, region.as_bytes());
    let k_service = hmac_sha256(&k_region, service.as_bytes());
    hmac_sha256(&k_service, b"aws4_request")
}

/// One request to sign with SigV4.
#[derive(Debug)]
pub struct SigV4Request<'a> {
    /// HTTP method.
    pub method: &'a str,
    /// Canonical URI path (`/`).
    pub path: &'a str,
    /// Canonical query string (sorted, encoded), or empty.
    pub query: &'a str,
    /// Headers to sign, lowercase names (`host` and `x-amz-date` must be among them).
    pub headers: &'a [(&'a str, &'a str)],
    /// The body.
    pub payload: &'a [u8],
}

/// The `Authorization` header value of `req` (AWS Signature Version 4).
#[must_use]
pub fn authorization(
    req: &SigV4Request<'_>,
    creds: &AwsCredentials,
    amz_date: &str,
    region: &str,
    service: &str,
) -> String {
    let mut headers: Vec<(String, String)> = req
        .headers
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    headers.sort();
    let canonical_headers: String = headers.iter().map(|(k, v)| format!("{k}:{v}\n")).collect();
    let signed_headers = headers
        .iter()
        .map(|(k, _)| k.as_str())
        .collect::<Vec<_>>()
        .join(";");
    let canonical = format!(
        "{}\n{}\n{}\n{}\n{}\n{}",
        req.method,
        req.path,
        req.query,
        canonical_headers,
        signed_headers,
        hex::encode(sha2::Sha256::digest(req.payload))
    );
    let date = amz_date.get(..8).unwrap_or(amz_date);
    let scope = format!("{date}/{region}/{service}/aws4_request");
    let to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
        hex::encode(sha2::Sha256::digest(canonical.as_bytes()))
    );
    let key = signing_key(creds.secret_access_key.expose(), date, region, service);
    let signature = hex::encode(hmac_sha256(&key, to_sign.as_bytes()));
    format!(
        "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={signed_headers}, Signature={signature}",
        creds.access_key_id
    )
}

/// The `Sign` request body for a SHA-256 digest.
#[must_use]
pub fn sign_body(key_id: &str, digest: &[u8]) -> serde_json::Value {
    serde_json::json!({
        "KeyId": key_id,
        "Message": base64::engine::general_purpose::STANDARD.encode(digest),
        "MessageType": "DIGEST",
        "SigningAlgorithm": "ECDSA_SHA_256",
    })
}

/// The DER signature of a `Sign` answer.
///
/// # Errors
///
/// [`KmsError::Response`].
pub fn parse_sign_response(body: &[u8]) -> Result<Vec<u8>, KmsError> {
    let v: serde_json::Value =
        serde_json::from_slice(body).map_err(|_| KmsError::Response("Sign: not JSON"))?;
    let sig = v
        .get("Signature")
        .and_then(|s| s.as_str())
        .ok_or(KmsError::Response("Sign: no Signature"))?;
    base64::engine::general_purpose::STANDARD
        .decode(sig)
        .map_err(|_| KmsError::Response("Sign: Signature is not base64"))
}

/// The public key of a `GetPublicKey` answer (P-256 signing keys only).
///
/// # Errors
///
/// [`KmsError::KeyType`] for another key spec or usage; [`KmsError::Response`].
pub fn parse_public_key_response(key: &str, body: &[u8]) -> Result<PublicKey, KmsError> {
    let v: serde_json::Value =
        serde_json::from_slice(body).map_err(|_| KmsError::Response("GetPublicKey: not JSON"))?;
    let spec = v.get("KeySpec").and_then(|s| s.as_str()).unwrap_or("");
    let usage = v.get("KeyUsage").and_then(|s| s.as_str()).unwrap_or("");
    if spec != "ECC_NIST_P256" || usage != "SIGN_VERIFY" {
        return Err(KmsError::KeyType {
            key: key.to_owned(),
            kind: format!("{spec} ({usage})"),
        });
    }
    let der = v
        .get("PublicKey")
        .and_then(|s| s.as_str())
        .and_then(|s| base64::engine::general_purpose::STANDARD.decode(s).ok())
        .ok_or(KmsError::Response("GetPublicKey: no PublicKey"))?;
    let pk = PublicKey::from_spki_der(&der)
        .map_err(|_| KmsError::Response("GetPublicKey: PublicKey does not parse"))?;
    if pk.algorithm() != KeyAlgorithm::EcdsaP256Sha256 {
        return Err(KmsError::Response("GetPublicKey: not a P-256 key"));
    }
    Ok(pk)
}

/// The HTTP side: one KMS endpoint, region and credentials.
struct Client {
    http: reqwest::Client,
    host: String,
    url: String,
    region: String,
    creds: AwsCredentials,
}

/// A signer backed by an AWS KMS key.
pub struct AwsKmsSigner {
    client: Client,
    key: AwsKeyRef,
    public: PublicKey,
    key_id: String,
}

impl std::fmt::Debug for AwsKmsSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwsKmsSigner")
            .field("url", &self.client.url)
            .field("key", &self.key.key_id)
            .finish_non_exhaustive()
    }
}

impl AwsKmsSigner {
    /// Read the key's public key.
    ///
    /// # Errors
    ///
    /// [`KmsError`].
    pub async fn connect(reference: &str) -> Result<Self, KmsError> {
        let key = parse_ref(reference)?;
        let region = key
            .region
            .clone()
            .or_else(|| std::env::var("AWS_REGION").ok())
            .or_else(|| std::env::var("AWS_DEFAULT_REGION").ok())
            .filter(|r| !r.is_empty())
            .ok_or(KmsError::Config {
                key: "AWS_REGION",
                problem: "not set, and the key reference is not an ARN".into(),
            })?;
        let creds = AwsCredentials::from_env()?;
        let host = key
            .endpoint
            .clone()
            .unwrap_or_else(|| format!("kms.{region}.amazonaws.com"));
        let url = format!("https://{host}/");
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|source| KmsError::Unreachable {
                url: url.clone(),
                source,
            })?;
        let client = Client {
            http,
            host,
            url,
            region,
            creds,
        };
        let body = serde_json::json!({"KeyId": key.key_id});
        let what = format!("AWS KMS GetPublicKey for {}", key.key_id);
        let resp = client
            .call("TrentService.GetPublicKey", &body, &what)
            .await?;
        let public = parse_public_key_response(&key.key_id, &resp)?;
        Ok(Self {
            client,
            key_id: public.ssh_fingerprint(),
            public,
            key,
        })
    }
}

impl Client {
    async fn call(
        &self,
        target: &str,
        body: &serde_json::Value,
        what: &str,
    ) -> Result<Vec<u8>, KmsError> {
        let payload = serde_json::to_vec(body).map_err(|_| KmsError::Response("request"))?;
        let amz_date = jiff::Timestamp::now()
            .strftime("%Y%m%dT%H%M%SZ")
            .to_string();
        let content_type = "application/x-amz-json-1.1";
        let mut headers = vec![
            ("content-type", content_type),
            ("host", self.host.as_str()),
            ("x-amz-date", amz_date.as_str()),
            ("x-amz-target", target),
        ];
        let session = self
            .creds
            .session_token
            .as_ref()
            .map(|t| t.expose().to_owned());
        if let Some(t) = &session {
            headers.push(("x-amz-security-token", t.as_str()));
        }
        let auth = authorization(
            &SigV4Request {
                method: "POST",
                path: "/",
                query: "",
                headers: &headers,
                payload: &payload,
            },
            &self.creds,
            &amz_date,
            &self.region,
            "kms",
        );
        let mut req = self
            .http
            .post(&self.url)
            .header("Content-Type", content_type)
            .header("X-Amz-Date", &amz_date)
            .header("X-Amz-Target", target)
            .header("Authorization", auth)
            .body(payload);
        if let Some(t) = &session {
            req = req.header("X-Amz-Security-Token", t);
        }
        let unreachable = |e: reqwest::Error| KmsError::Unreachable {
            url: self.url.clone(),
            source: e.without_url(),
        };
        let resp = req.send().await.map_err(unreachable)?;
        let status = resp.status();
        let bytes = resp.bytes().await.map_err(unreachable)?;
        if !status.is_success() {
            let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
            let kind = v.get("__type").and_then(|t| t.as_str()).unwrap_or("");
            let msg = v
                .get("message")
                .or_else(|| v.get("Message"))
                .and_then(|t| t.as_str())
                .unwrap_or("");
            return Err(KmsError::Refused {
                what: what.to_owned(),
                status: status.as_u16(),
                message: format!("{kind} {msg}").trim().chars().take(300).collect(),
            });
        }
        Ok(bytes.to_vec())
    }
}

impl AsyncSigner for AwsKmsSigner {
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
            let body = sign_body(&self.key.key_id, &sha2::Sha256::digest(msg));
            let what = format!("AWS KMS Sign with {}", self.key.key_id);
            let resp = self.client.call("TrentService.Sign", &body, &what).await?;
            let signature = parse_sign_response(&resp)?;
            self.public
                .verify(msg, &signature)
                .map_err(|_| KmsError::BadSignature)?;
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
    fn references() {
        let r = parse_ref("awskms:///1234abcd-12ab-34cd-56ef-1234567890ab")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((r.endpoint, r.region), (None, None));
        let r = parse_ref("awskms://localhost:4566/arn:aws:kms:eu-west-1:111122223333:key/abc")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.endpoint.as_deref(), Some("localhost:4566"));
        assert_eq!(r.region.as_deref(), Some("eu-west-1"));
        assert_eq!(
            parse_ref("awskms:///alias/release")
                .map(|r| r.key_id)
                .ok()
                .as_deref(),
            Some("alias/release")
        );
        for bad in [
            "awskms://",
            "awskms:///",
            "awskms://host",
            "awskms:///arn:aws:kms",
        ] {
            assert!(parse_ref(bad).is_err(), "{bad}");
        }
    }

    /// AWS's documented SigV4 example (IAM ListUsers, 2015-08-30).
    #[test]
    fn sigv4_matches_the_aws_example() {
        let secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
        assert_eq!(
            hex::encode(signing_key(secret, "20150830", "us-east-1", "iam")),
            "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9"
        );
        let creds = AwsCredentials {
            access_key_id: "AKIDEXAMPLE".into(),
            secret_access_key: Secret::new(secret),
            session_token: None,
        };
        let auth = authorization(
            &SigV4Request {
                method: "GET",
                path: "/",
                query: "Action=ListUsers&Version=2010-05-08",
                headers: &[
                    (
                        "content-type",
                        "application/x-www-form-urlencoded; charset=utf-8",
                    ),
                    ("host", "iam.amazonaws.com"),
                    ("x-amz-date", "20150830T123600Z"),
                ],
                payload: b"",
            },
            &creds,
            "20150830T123600Z",
            "us-east-1",
            "iam",
        );
        assert_eq!(
            auth,
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, \
             SignedHeaders=content-type;host;x-amz-date, \
             Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"
        );
        assert!(!auth.contains(secret));
    }

    #[test]
    fn request_and_response_shapes() {
        let body = sign_body("alias/k", &[1, 2, 3]);
        assert_eq!(body["MessageType"], "DIGEST");
        assert_eq!(body["SigningAlgorithm"], "ECDSA_SHA_256");
        assert_eq!(body["Message"], "AQID");
        assert_eq!(
            parse_sign_response(
                br#"{"KeyId":"k","Signature":"AQI=","SigningAlgorithm":"ECDSA_SHA_256"}"#
            )
            .ok(),
            Some(vec![1, 2])
        );
        assert!(parse_sign_response(b"{}").is_err());
        let l = crate::signing::LocalSigner::generate_p256().unwrap_or_else(|e| panic!("{e}"));
        let pk = crate::signing::Signer::public_key(&l);
        let b64 = base64::engine::general_purpose::STANDARD.encode(pk.spki_der());
        let ok = serde_json::json!({"KeySpec": "ECC_NIST_P256", "KeyUsage": "SIGN_VERIFY", "PublicKey": b64});
        assert_eq!(
            parse_public_key_response("k", ok.to_string().as_bytes())
                .map(|p| p.to_pem())
                .ok(),
            Some(pk.to_pem())
        );
        let sym =
            serde_json::json!({"KeySpec": "SYMMETRIC_DEFAULT", "KeyUsage": "ENCRYPT_DECRYPT"});
        assert!(matches!(
            parse_public_key_response("k", sym.to_string().as_bytes()),
            Err(KmsError::KeyType { .. })
        ));
    }
}
