//! `awskms://` (cargo feature `awskms`): AWS KMS asymmetric keys through the official AWS SDK
//! for Rust (`aws-sdk-kms`, configured by `aws-config`).
//!
//! Key references, as cosign's (`awskms://[ENDPOINT]/KEY`):
//!
//! - `awskms:///1234abcd-12ab-34cd-56ef-1234567890ab` — a key id (a multi-Region `mrk-` id too);
//! - `awskms:///arn:aws:kms:REGION:ACCOUNT:key/ID` — a key ARN (partitions `aws`, `aws-us-gov`);
//! - `awskms:///alias/NAME` — an alias; `awskms:///arn:aws:kms:REGION:ACCOUNT:alias/NAME`;
//! - `awskms://ENDPOINT/KEY` — any of those at a custom endpoint, reached as
//!   `https://ENDPOINT` (cosign forces HTTPS the same way).
//!
//! The region comes from the ARN, else from the SDK's chain (`AWS_REGION`, the profile).
//! Credentials come from the SDK's default chain: environment, shared profile (`AWS_PROFILE`,
//! `credential_process`), web identity (`AWS_WEB_IDENTITY_TOKEN_FILE` + `AWS_ROLE_ARN`, as
//! EKS IRSA sets them), ECS and EC2 instance metadata. AWS IAM Identity Center (SSO) profiles
//! are not built in (the `sso` feature of `aws-config` is off). The standard
//! `AWS_ENDPOINT_URL_KMS` / `AWS_ENDPOINT_URL` variables override the endpoint of a
//! reference without one (the stack test points it at a plain-HTTP emulator).
//!
//! Signing: P-256 keys (`ECC_NIST_P256`, usage `SIGN_VERIFY`) only — hallmark's key types are
//! P-256 and Ed25519, and cosign's other AWS choices (RSA, P-384/P-521) have no verifier
//! here. Each signature is `Sign` with `MessageType=DIGEST` over the SHA-256 of the message
//! (the DSSE PAE) and `ECDSA_SHA_256`; the DER signature is checked against the public key,
//! which `GetPublicKey` reads once, at connect time, and the signer keeps.
//!
//! Exercised against the `local-kms` emulator (`tests/stack_kms_aws.rs`: the attestations
//! pass cosign v3 and `hallmark verify`), never against AWS itself.

use super::KmsError;
use crate::signing::{KeyAlgorithm, PublicKey};

#[cfg(feature = "awskms")]
pub use sdk::AwsKmsSigner;

/// A parsed `awskms://` reference.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AwsKeyRef {
    /// A custom endpoint (`host[:port]`), if given.
    pub endpoint: Option<String>,
    /// The key id, ARN or alias, as KMS takes it in `KeyId`.
    pub key_id: String,
    /// The region named by an ARN.
    pub region: Option<String>,
}

impl AwsKeyRef {
    /// The endpoint URL of a custom endpoint: `https://ENDPOINT`.
    #[must_use]
    pub fn endpoint_url(&self) -> Option<String> {
        self.endpoint.as_ref().map(|e| format!("https://{e}"))
    }
}

/// A KMS key id: a UUID, with or without dashes, optionally `mrk-` prefixed (multi-Region).
fn is_key_uuid(s: &str) -> bool {
    let s = s.strip_prefix("mrk-").unwrap_or(s);
    let hex: String = s.chars().filter(|c| *c != '-').collect();
    let groups: Vec<usize> = s.split('-').map(str::len).collect();
    hex.len() == 32
        && hex.chars().all(|c| c.is_ascii_hexdigit())
        && (groups == [32] || groups == [8, 4, 4, 4, 12])
}

/// `arn:PARTITION:kms:REGION:ACCOUNT:RESOURCE` → (region, resource).
fn split_arn(arn: &str) -> Option<(&str, &str)> {
    let mut it = arn.splitn(6, ':');
    let (arn_, partition, service, region, account, resource) = (
        it.next()?,
        it.next()?,
        it.next()?,
        it.next()?,
        it.next()?,
        it.next()?,
    );
    let ok = arn_ == "arn"
        && matches!(partition, "aws" | "aws-us-gov")
        && service == "kms"
        && !region.is_empty()
        && region
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && account.len() == 12
        && account.chars().all(|c| c.is_ascii_digit());
    ok.then_some((region, resource))
}

/// Parse `awskms://[ENDPOINT]/KEY` (cosign's forms; see the module docs).
///
/// # Errors
///
/// [`KmsError::BadReference`].
pub fn parse_ref(reference: &str) -> Result<AwsKeyRef, KmsError> {
    let bad = || KmsError::BadReference(reference.to_owned());
    let rest = reference.strip_prefix("awskms://").ok_or_else(bad)?;
    let (endpoint, key_id) = rest.split_once('/').ok_or_else(bad)?;
    let alias_ok = |a: &str| a.strip_prefix("alias/").is_some_and(|n| !n.is_empty());
    let region = if let Some((region, resource)) = split_arn(key_id) {
        let ok = resource.strip_prefix("key/").is_some_and(is_key_uuid) || alias_ok(resource);
        if !ok {
            return Err(bad());
        }
        Some(region.to_owned())
    } else if is_key_uuid(key_id) || alias_ok(key_id) {
        None
    } else {
        return Err(bad());
    };
    if endpoint.chars().any(|c| c.is_whitespace() || c == '@') {
        return Err(bad());
    }
    Ok(AwsKeyRef {
        endpoint: (!endpoint.is_empty()).then(|| endpoint.to_owned()),
        key_id: key_id.to_owned(),
        region,
    })
}

/// The public key of a `GetPublicKey` answer: a P-256 signing key only.
///
/// # Errors
///
/// [`KmsError::KeyType`] for another key spec or usage; [`KmsError::Response`] when the
/// DER does not parse or is not P-256.
pub fn check_public_key(
    key: &str,
    spec: Option<&str>,
    usage: Option<&str>,
    der: Option<&[u8]>,
) -> Result<PublicKey, KmsError> {
    if spec != Some("ECC_NIST_P256") || usage != Some("SIGN_VERIFY") {
        return Err(KmsError::KeyType {
            key: key.to_owned(),
            kind: format!(
                "{} ({}); awskms:// signs with ECC_NIST_P256 SIGN_VERIFY keys",
                spec.unwrap_or("no KeySpec"),
                usage.unwrap_or("no KeyUsage")
            ),
        });
    }
    let der = der.ok_or(KmsError::Response("GetPublicKey: no PublicKey"))?;
    let pk = PublicKey::from_spki_der(der)
        .map_err(|_| KmsError::Response("GetPublicKey: PublicKey does not parse"))?;
    if pk.algorithm() != KeyAlgorithm::EcdsaP256Sha256 {
        return Err(KmsError::Response("GetPublicKey: not a P-256 key"));
    }
    Ok(pk)
}

/// The SDK side (feature `awskms`).
#[cfg(feature = "awskms")]
mod sdk {
    use std::sync::Arc;

    use aws_sdk_kms::error::{ProvideErrorMetadata as _, SdkError};
    use aws_sdk_kms::primitives::Blob;
    use aws_sdk_kms::types::{KeySpec, KeyUsageType, MessageType, SigningAlgorithmSpec};
    use sha2::Digest as _;

    use super::{AwsKeyRef, KmsError, check_public_key};
    use crate::signing::{AsyncSigner, BoxFuture, PublicKey, SignError, SignOutput};

    /// Whether an SDK error may pass on retry: timeouts, connection failures, throttling and
    /// server errors.
    fn sdk_error<E, R>(what: String, e: SdkError<E, R>) -> KmsError
    where
        E: std::error::Error + aws_sdk_kms::error::ProvideErrorMetadata + Send + Sync + 'static,
        R: std::fmt::Debug + Send + Sync + 'static,
        SdkError<E, R>: std::error::Error,
    {
        let transient = match &e {
            SdkError::TimeoutError(_)
            | SdkError::DispatchFailure(_)
            | SdkError::ResponseError(_) => true,
            SdkError::ServiceError(s) => {
                let code = s.err().code().unwrap_or("");
                code.contains("Throttl")
                    || matches!(
                        code,
                        "KMSInternalException"
                            | "DependencyTimeoutException"
                            | "KeyUnavailableException"
                    )
            }
            _ => false,
        };
        let message = match e.code() {
            Some(code) => format!("{code}: {}", e.message().unwrap_or("")),
            None => aws_sdk_kms::error::DisplayErrorContext(&e).to_string(),
        };
        KmsError::Provider {
            what,
            transient,
            message: message.trim().chars().take(400).collect(),
        }
    }

    /// A signer backed by an AWS KMS key.
    pub struct AwsKmsSigner {
        client: aws_sdk_kms::Client,
        key: AwsKeyRef,
        public: PublicKey,
        key_id: String,
    }

    impl std::fmt::Debug for AwsKmsSigner {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("AwsKmsSigner")
                .field("key", &self.key)
                .finish_non_exhaustive()
        }
    }

    impl AwsKmsSigner {
        /// Load the SDK configuration (region, credentials chain, endpoint) and read the key's
        /// public key.
        ///
        /// # Errors
        ///
        /// [`KmsError::Config`] (no region), [`KmsError::Provider`]
        /// (the `GetPublicKey` call), [`KmsError::KeyType`].
        pub async fn connect(key: AwsKeyRef) -> Result<Self, KmsError> {
            let mut loader = aws_config::defaults(aws_config::BehaviorVersion::v2026_01_12());
            if let Some(region) = &key.region {
                loader = loader.region(aws_config::Region::new(region.clone()));
            }
            if let Some(url) = key.endpoint_url() {
                loader = loader.endpoint_url(url);
            }
            let sdk = loader.load().await;
            if sdk.region().is_none() {
                return Err(KmsError::Config {
                    key: "AWS_REGION",
                    problem:
                        "no AWS region: set AWS_REGION (or the profile's region), or name the \
                          key by its ARN"
                            .into(),
                });
            }
            let client = aws_sdk_kms::Client::new(&sdk);
            let out = client
                .get_public_key()
                .key_id(&key.key_id)
                .send()
                .await
                .map_err(|e| sdk_error(format!("AWS KMS GetPublicKey for {}", key.key_id), e))?;
            let public = check_public_key(
                &key.key_id,
                out.key_spec().map(KeySpec::as_str),
                out.key_usage().map(KeyUsageType::as_str),
                out.public_key().map(Blob::as_ref),
            )?;
            Ok(Self {
                client,
                key_id: public.ssh_fingerprint(),
                public,
                key,
            })
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
                let digest = sha2::Sha256::digest(msg);
                let out = self
                    .client
                    .sign()
                    .key_id(&self.key.key_id)
                    .message(Blob::new(digest.to_vec()))
                    .message_type(MessageType::Digest)
                    .signing_algorithm(SigningAlgorithmSpec::EcdsaSha256)
                    .send()
                    .await
                    .map_err(|e| sdk_error(format!("AWS KMS Sign with {}", self.key.key_id), e))?;
                let signature = out
                    .signature()
                    .map(|b| b.as_ref().to_vec())
                    .ok_or(KmsError::Response("Sign: no Signature"))?;
                Ok(crate::signing::kms::checked_output(
                    &self.public,
                    msg,
                    signature,
                )?)
            })
        }
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
        assert_eq!((r.endpoint_url(), r.region), (None, None));
        let r = parse_ref(
            "awskms://localhost:4566/arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.endpoint_url().as_deref(), Some("https://localhost:4566"));
        assert_eq!(r.region.as_deref(), Some("eu-west-1"));
        assert_eq!(
            r.key_id,
            "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
        );
        assert_eq!(
            parse_ref("awskms:///alias/release")
                .map(|r| r.key_id)
                .ok()
                .as_deref(),
            Some("alias/release")
        );
        let r = parse_ref("awskms:///arn:aws-us-gov:kms:us-gov-west-1:111122223333:alias/a/b")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.region.as_deref(), Some("us-gov-west-1"));
        assert!(parse_ref("awskms:///mrk-1234abcd12ab34cd56ef1234567890ab").is_ok());
        for bad in [
            "awskms://",
            "awskms:///",
            "awskms://host",
            "awskms:///alias/",
            "awskms:///not-a-key-id",
            "awskms:///1234abcd-12ab-34cd-56ef-1234567890a",
            "awskms:///arn:aws:kms",
            "awskms:///arn:aws:kms:eu-west-1:111122223333:key/nope",
            "awskms:///arn:aws:s3:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
            "awskms:///arn:aws:kms:eu-west-1:1111:alias/a",
            "awskms://u@host/alias/a",
        ] {
            assert!(parse_ref(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn public_key_shapes() {
        let l = crate::signing::LocalSigner::generate_p256().unwrap_or_else(|e| panic!("{e}"));
        let pk = crate::signing::Signer::public_key(&l);
        let ok = check_public_key(
            "k",
            Some("ECC_NIST_P256"),
            Some("SIGN_VERIFY"),
            Some(pk.spki_der()),
        )
        .map(|p| p.to_pem())
        .ok();
        assert_eq!(ok, Some(pk.to_pem()));
        let e = check_public_key(
            "k",
            Some("SYMMETRIC_DEFAULT"),
            Some("ENCRYPT_DECRYPT"),
            None,
        )
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
        assert!(e.contains("SYMMETRIC_DEFAULT (ENCRYPT_DECRYPT)"), "{e}");
        assert!(matches!(
            check_public_key(
                "k",
                Some("ECC_NIST_P256"),
                Some("SIGN_VERIFY"),
                Some(b"junk")
            ),
            Err(KmsError::Response(_))
        ));
        assert!(matches!(
            check_public_key(
                "k",
                Some("ECC_NIST_P384"),
                Some("SIGN_VERIFY"),
                Some(pk.spki_der())
            ),
            Err(KmsError::KeyType { .. })
        ));
    }
}
