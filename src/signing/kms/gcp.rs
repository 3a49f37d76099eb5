//! `gcpkms://` (cargo feature `gcpkms`): Google Cloud KMS asymmetric signing keys through
//! Google's official client (`google-cloud-kms-v1`).
//!
//! Key references, as cosign's:
//! `gcpkms://projects/PROJECT/locations/LOCATION/keyRings/RING/cryptoKeys/KEY`, optionally
//! followed by `/cryptoKeyVersions/VERSION` (or cosign's shorter `/versions/VERSION`). Without
//! a version, the newest `ENABLED` version of the key is used (the highest version number),
//! chosen once at connect time.
//!
//! Credentials: Application Default Credentials, as the client library finds them
//! (`GOOGLE_APPLICATION_CREDENTIALS`, the gcloud user credentials file, workload identity /
//! the metadata server on GKE and GCE).
//!
//! Signing: `EC_SIGN_P256_SHA256` key versions only (hallmark's key types are P-256 and
//! Ed25519). Each signature is `AsymmetricSign` with the SHA-256 digest of the message (the
//! DSSE PAE); the DER signature is checked against the public key, which `GetPublicKey`
//! reads once, at connect time, and the signer keeps.
//!
//! **Not exercised against Google Cloud KMS** (there is no local emulator of it): the
//! request and response shapes are unit-tested through the client library's own types, with
//! a stub of its transport (see the tests).

use super::KmsError;
use crate::signing::{KeyAlgorithm, PublicKey};

#[cfg(feature = "gcpkms")]
pub use sdk::GcpKmsSigner;

/// A parsed `gcpkms://` reference.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GcpKeyRef {
    /// The CryptoKey's resource name:
    /// `projects/P/locations/L/keyRings/R/cryptoKeys/K`.
    pub key: String,
    /// The version, if the reference names one.
    pub version: Option<String>,
}

impl GcpKeyRef {
    /// The resource name of version `version` of the key.
    #[must_use]
    pub fn version_name(&self, version: &str) -> String {
        format!("{}/cryptoKeyVersions/{version}", self.key)
    }
}

/// Parse `gcpkms://projects/P/locations/L/keyRings/R/cryptoKeys/K[/cryptoKeyVersions/V]`.
///
/// # Errors
///
/// [`KmsError::BadReference`].
pub fn parse_ref(reference: &str) -> Result<GcpKeyRef, KmsError> {
    let bad = || KmsError::BadReference(reference.to_owned());
    let rest = reference.strip_prefix("gcpkms://").ok_or_else(bad)?;
    let parts: Vec<&str> = rest.split('/').collect();
    // Resource ids: alphanumerics, `-`, `_`; `.` and `:` for domain-scoped project ids
    // (`example.com:project`); never a dots-only segment.
    let segment_ok = |s: &str| {
        !s.is_empty()
            && !s.chars().all(|c| c == '.')
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'))
    };
    let labels = ["projects", "locations", "keyRings", "cryptoKeys"];
    let (key_parts, version) = match parts.len() {
        8 => (&parts[..], None),
        10 if matches!(parts[8], "cryptoKeyVersions" | "versions") => (&parts[..8], Some(parts[9])),
        _ => return Err(bad()),
    };
    let ok = key_parts
        .chunks(2)
        .zip(labels)
        .all(|(pair, label)| pair[0] == label && segment_ok(pair[1]))
        && version.is_none_or(segment_ok);
    if !ok {
        return Err(bad());
    }
    Ok(GcpKeyRef {
        key: key_parts.join("/"),
        version: version.map(str::to_owned),
    })
}

/// The newest version among `(resource name, state, algorithm)` of a key's versions: the
/// highest numeric version id whose state is `ENABLED`.
#[must_use]
pub fn newest_enabled<'a>(
    versions: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Option<String> {
    versions
        .into_iter()
        .filter(|(_, state)| *state == "ENABLED")
        .filter_map(|(name, _)| {
            let id = name.rsplit('/').next()?;
            Some((id.parse::<u64>().ok()?, name.to_owned()))
        })
        .max_by_key(|(id, _)| *id)
        .map(|(_, name)| name)
}

/// The public key of a `GetPublicKey` answer: an `EC_SIGN_P256_SHA256` key only.
///
/// # Errors
///
/// [`KmsError::KeyType`] for another algorithm; [`KmsError::Response`] when the PEM does not
/// parse or is not P-256.
pub fn check_public_key(name: &str, algorithm: &str, pem: &str) -> Result<PublicKey, KmsError> {
    if algorithm != "EC_SIGN_P256_SHA256" {
        return Err(KmsError::KeyType {
            key: name.to_owned(),
            kind: format!("{algorithm}; gcpkms:// signs with EC_SIGN_P256_SHA256 key versions"),
        });
    }
    let pk = PublicKey::from_pem(pem.as_bytes())
        .map_err(|_| KmsError::Response("GetPublicKey: pem does not parse"))?;
    if pk.algorithm() != KeyAlgorithm::EcdsaP256Sha256 {
        return Err(KmsError::Response("GetPublicKey: not a P-256 key"));
    }
    Ok(pk)
}

/// The client side (feature `gcpkms`).
#[cfg(feature = "gcpkms")]
mod sdk {
    use std::sync::Arc;

    use google_cloud_gax::error::rpc::Code;
    use google_cloud_kms_v1::client::KeyManagementService;
    use google_cloud_kms_v1::model::Digest;
    use sha2::Digest as _;

    use super::{GcpKeyRef, KmsError, check_public_key, newest_enabled};
    use crate::signing::{AsyncSigner, BoxFuture, PublicKey, SignError, SignOutput};

    /// A client library error: transient for timeouts, connection failures, throttling and
    /// server errors.
    fn gcp_error(what: String, e: &google_cloud_kms_v1::Error) -> KmsError {
        let transient = e.is_timeout()
            || e.is_connect()
            || e.is_io()
            || e.status().is_some_and(|s| {
                matches!(
                    s.code,
                    Code::Unavailable
                        | Code::ResourceExhausted
                        | Code::DeadlineExceeded
                        | Code::Internal
                        | Code::Aborted
                )
            })
            || e.http_status_code().is_some_and(|c| c == 429 || c >= 500);
        KmsError::Provider {
            what,
            transient,
            message: e.to_string().chars().take(400).collect(),
        }
    }

    /// A signer backed by a Google Cloud KMS key version.
    pub struct GcpKmsSigner {
        client: KeyManagementService,
        version: String,
        public: PublicKey,
        key_id: String,
    }

    impl std::fmt::Debug for GcpKmsSigner {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("GcpKmsSigner")
                .field("version", &self.version)
                .finish_non_exhaustive()
        }
    }

    impl GcpKmsSigner {
        /// Build the client with Application Default Credentials, pick the key version and
        /// read its public key.
        ///
        /// # Errors
        ///
        /// [`KmsError::Config`] (no credentials, no enabled version), [`KmsError::Provider`],
        /// [`KmsError::KeyType`].
        pub async fn connect(key: GcpKeyRef) -> Result<Self, KmsError> {
            let client =
                KeyManagementService::builder()
                    .build()
                    .await
                    .map_err(|e| KmsError::Config {
                        key: "GOOGLE_APPLICATION_CREDENTIALS",
                        problem: format!("cannot build the Google Cloud KMS client: {e}"),
                    })?;
            Self::with_client(client, key).await
        }

        /// As [`GcpKmsSigner::connect`], with a client built by the caller (tests give one
        /// over a stub).
        ///
        /// # Errors
        ///
        /// As [`GcpKmsSigner::connect`].
        pub async fn with_client(
            client: KeyManagementService,
            key: GcpKeyRef,
        ) -> Result<Self, KmsError> {
            let version = match &key.version {
                Some(v) => key.version_name(v),
                None => {
                    let listed = client
                        .list_crypto_key_versions()
                        .set_parent(&key.key)
                        .set_filter("state=ENABLED")
                        .set_page_size(1000)
                        .send()
                        .await
                        .map_err(|e| {
                            gcp_error(
                                format!("Cloud KMS ListCryptoKeyVersions of {}", key.key),
                                &e,
                            )
                        })?;
                    let versions: Vec<(String, String)> = listed
                        .crypto_key_versions
                        .iter()
                        .map(|v| (v.name.clone(), v.state.name().unwrap_or("").to_owned()))
                        .collect();
                    newest_enabled(versions.iter().map(|(n, s)| (n.as_str(), s.as_str())))
                        .ok_or_else(|| KmsError::Config {
                            key: "signers.kms.kmsref",
                            problem: format!("{} has no ENABLED key version", key.key),
                        })?
                }
            };
            let answer = client
                .get_public_key()
                .set_name(&version)
                .send()
                .await
                .map_err(|e| gcp_error(format!("Cloud KMS GetPublicKey of {version}"), &e))?;
            let public = check_public_key(
                &version,
                answer.algorithm.name().unwrap_or("UNSPECIFIED"),
                &answer.pem,
            )?;
            Ok(Self {
                client,
                key_id: public.ssh_fingerprint(),
                public,
                version,
            })
        }
    }

    impl AsyncSigner for GcpKmsSigner {
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
                let digest = sha2::Sha256::digest(msg).to_vec();
                let answer = self
                    .client
                    .asymmetric_sign()
                    .set_name(&self.version)
                    .set_digest(Digest::new().set_sha256(digest))
                    .send()
                    .await
                    .map_err(|e| {
                        gcp_error(
                            format!("Cloud KMS AsymmetricSign with {}", self.version),
                            &e,
                        )
                    })?;
                let signature = answer.signature.to_vec();
                Ok(crate::signing::kms::checked_output(
                    &self.public,
                    msg,
                    signature,
                )?)
            })
        }
    }

    #[cfg(test)]
    #[allow(clippy::panic)] // Tests report failures by panicking.
    mod tests {
        use std::sync::Mutex;

        use google_cloud_gax::response::Response;
        use google_cloud_kms_v1::model::{
            self, AsymmetricSignRequest, AsymmetricSignResponse, CryptoKeyVersion,
            GetPublicKeyRequest, ListCryptoKeyVersionsRequest, ListCryptoKeyVersionsResponse,
            crypto_key_version::{CryptoKeyVersionAlgorithm, CryptoKeyVersionState},
        };

        use super::*;
        use p256::ecdsa::signature::hazmat::PrehashSigner as _;

        /// The client library's transport replaced: answers as Cloud KMS would, with a local
        /// P-256 key, and records what it was asked.
        #[derive(Debug)]
        struct FakeKms {
            key: p256::ecdsa::SigningKey,
            algorithm: CryptoKeyVersionAlgorithm,
            asked: Mutex<Vec<String>>,
        }

        impl FakeKms {
            fn public(&self) -> PublicKey {
                let point = self.key.verifying_key().to_encoded_point(false);
                let mut der = crate::signing::kms::azure::P256_SPKI_PREFIX.to_vec();
                der.extend_from_slice(point.as_bytes());
                PublicKey::from_spki_der(&der).unwrap_or_else(|e| panic!("{e}"))
            }
        }

        const KEY: &str = "projects/p/locations/global/keyRings/r/cryptoKeys/k";

        impl google_cloud_kms_v1::stub::KeyManagementService for FakeKms {
            async fn list_crypto_key_versions(
                &self,
                req: ListCryptoKeyVersionsRequest,
                _: google_cloud_gax::options::RequestOptions,
            ) -> google_cloud_kms_v1::Result<Response<ListCryptoKeyVersionsResponse>> {
                self.asked
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(format!("list {} {}", req.parent, req.filter));
                let v = |n: u32, s: CryptoKeyVersionState| {
                    CryptoKeyVersion::new()
                        .set_name(format!("{KEY}/cryptoKeyVersions/{n}"))
                        .set_state(s)
                };
                Ok(Response::from(
                    ListCryptoKeyVersionsResponse::new().set_crypto_key_versions([
                        v(2, CryptoKeyVersionState::Enabled),
                        v(10, CryptoKeyVersionState::Enabled),
                        v(11, CryptoKeyVersionState::Disabled),
                    ]),
                ))
            }

            async fn get_public_key(
                &self,
                req: GetPublicKeyRequest,
                _: google_cloud_gax::options::RequestOptions,
            ) -> google_cloud_kms_v1::Result<Response<model::PublicKey>> {
                self.asked
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(format!("public {}", req.name));
                Ok(Response::from(
                    model::PublicKey::new()
                        .set_name(req.name)
                        .set_pem(self.public().to_pem())
                        .set_algorithm(self.algorithm.clone()),
                ))
            }

            async fn asymmetric_sign(
                &self,
                req: AsymmetricSignRequest,
                _: google_cloud_gax::options::RequestOptions,
            ) -> google_cloud_kms_v1::Result<Response<AsymmetricSignResponse>> {
                let digest = req
                    .digest
                    .as_ref()
                    .and_then(|d| d.sha256())
                    .map(|b| b.to_vec())
                    .unwrap_or_default();
                self.asked
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(format!("sign {} {}", req.name, hex::encode(&digest)));
                // Cloud KMS signs the digest as given: sign a message with that digest.
                let signature: p256::ecdsa::Signature = self
                    .key
                    .sign_prehash(&digest)
                    .unwrap_or_else(|e| panic!("{e}"));
                let signature = signature.to_der().as_bytes().to_vec();
                Ok(Response::from(
                    AsymmetricSignResponse::new()
                        .set_name(req.name)
                        .set_signature(signature),
                ))
            }
        }

        fn fake(algorithm: CryptoKeyVersionAlgorithm) -> Arc<FakeKms> {
            Arc::new(FakeKms {
                key: p256::ecdsa::SigningKey::random(&mut rand_core::OsRng),
                algorithm,
                asked: Mutex::new(Vec::new()),
            })
        }

        #[tokio::test]
        async fn signs_through_the_client_library() {
            let stub = fake(CryptoKeyVersionAlgorithm::EcSignP256Sha256);
            let client = KeyManagementService::from_stub::<FakeKms>(stub.clone());
            let key = super::super::parse_ref(&format!("gcpkms://{KEY}"))
                .unwrap_or_else(|e| panic!("{e}"));
            let signer = GcpKmsSigner::with_client(client, key)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            let out = signer.sign(b"pae").await.unwrap_or_else(|e| panic!("{e}"));
            assert!(stub.public().verify(b"pae", &out.signature).is_ok());
            assert_eq!(out.public_key.to_pem(), stub.public().to_pem());
            let asked = stub.asked.lock().unwrap_or_else(|e| e.into_inner()).clone();
            assert_eq!(
                asked,
                [
                    format!("list {KEY} state=ENABLED"),
                    format!("public {KEY}/cryptoKeyVersions/10"),
                    format!(
                        "sign {KEY}/cryptoKeyVersions/10 {}",
                        hex::encode(sha2::Sha256::digest(b"pae"))
                    ),
                ]
            );
            // A second signature reuses the public key read at connect time.
            signer.sign(b"pae2").await.unwrap_or_else(|e| panic!("{e}"));
            let asked = stub.asked.lock().unwrap_or_else(|e| e.into_inner()).clone();
            assert_eq!(asked.iter().filter(|a| a.starts_with("public ")).count(), 1);
        }

        #[tokio::test]
        async fn a_named_version_is_used_and_other_algorithms_are_refused() {
            let stub = fake(CryptoKeyVersionAlgorithm::RsaSignPss2048Sha256);
            let client = KeyManagementService::from_stub::<FakeKms>(stub.clone());
            let key = super::super::parse_ref(&format!("gcpkms://{KEY}/versions/3"))
                .unwrap_or_else(|e| panic!("{e}"));
            let e = GcpKmsSigner::with_client(client, key)
                .await
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(e.contains("RSA_SIGN_PSS_2048_SHA256"), "{e}");
            let asked = stub.asked.lock().unwrap_or_else(|e| e.into_inner()).clone();
            assert_eq!(asked, [format!("public {KEY}/cryptoKeyVersions/3")]);
        }
    }
}

#[cfg(test)]
#[allow(clippy::panic)] // Tests report failures by panicking.
mod tests {
    use super::*;

    #[test]
    fn references() {
        let r = parse_ref("gcpkms://projects/p/locations/global/keyRings/r/cryptoKeys/k")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.key, "projects/p/locations/global/keyRings/r/cryptoKeys/k");
        assert_eq!(r.version, None);
        assert!(
            parse_ref("gcpkms://projects/example.com:p/locations/l/keyRings/r/cryptoKeys/k")
                .is_ok()
        );
        for v in ["cryptoKeyVersions", "versions"] {
            let r = parse_ref(&format!(
                "gcpkms://projects/p/locations/europe-west1/keyRings/r/cryptoKeys/k/{v}/3"
            ))
            .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(r.version.as_deref(), Some("3"));
            assert_eq!(
                r.version_name("3"),
                "projects/p/locations/europe-west1/keyRings/r/cryptoKeys/k/cryptoKeyVersions/3"
            );
        }
        for bad in [
            "gcpkms://",
            "gcpkms://projects/p/k",
            "gcpkms://projects/p/locations/l/keyRings/r/cryptoKeys/",
            "gcpkms://projects/p/locations/l/keyRings/r/cryptoKeys/k/",
            "gcpkms://projects/p/locations/l/keyRings/r/cryptoKeys/k/versions",
            "gcpkms://projects/p/locations/l/keyRings/r/cryptoKeys/k/other/1",
            "gcpkms://projects/p/locations/l/rings/r/cryptoKeys/k",
            "gcpkms://projects/../locations/l/keyRings/r/cryptoKeys/k",
            "gcpkms://projects/p?x/locations/l/keyRings/r/cryptoKeys/k",
        ] {
            assert!(parse_ref(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn picks_the_newest_enabled_version() {
        let k = "projects/p/locations/l/keyRings/r/cryptoKeys/k/cryptoKeyVersions";
        let v = |n: &str| format!("{k}/{n}");
        let (v2, v9, v10, v11) = (v("2"), v("9"), v("10"), v("11"));
        let versions = [
            (v2.as_str(), "ENABLED"),
            (v9.as_str(), "ENABLED"),
            (v10.as_str(), "ENABLED"),
            (v11.as_str(), "DISABLED"),
        ];
        assert_eq!(newest_enabled(versions), Some(v10));
        assert_eq!(newest_enabled([(v2.as_str(), "DESTROYED")]), None);
    }

    #[test]
    fn public_key_shapes() {
        let l = crate::signing::LocalSigner::generate_p256().unwrap_or_else(|e| panic!("{e}"));
        let pk = crate::signing::Signer::public_key(&l);
        assert_eq!(
            check_public_key("n", "EC_SIGN_P256_SHA256", &pk.to_pem())
                .map(|p| p.to_pem())
                .ok(),
            Some(pk.to_pem())
        );
        let e = check_public_key("n", "RSA_SIGN_PSS_2048_SHA256", &pk.to_pem())
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("RSA_SIGN_PSS_2048_SHA256"), "{e}");
        assert!(matches!(
            check_public_key("n", "EC_SIGN_P256_SHA256", "junk"),
            Err(KmsError::Response(_))
        ));
    }
}
