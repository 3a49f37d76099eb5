//! `azurekms://` (cargo feature `azurekms`): Azure Key Vault keys through Microsoft's official
//! SDK crates (`azure_security_keyvault_keys`, `azure_identity`).
//!
//! Key references, as cosign's: `azurekms://VAULT_HOST/KEY[/VERSION]`, e.g.
//! `azurekms://myvault.vault.azure.net/release` — the vault is reached at
//! `https://VAULT_HOST/`. Without a version, Key Vault uses the key's current version.
//!
//! Credentials: `azure_identity`'s developer tools credential chain is not used; hallmark
//! takes, in order, a workload identity (`AZURE_FEDERATED_TOKEN_FILE` with `AZURE_CLIENT_ID`
//! and `AZURE_TENANT_ID`, as AKS workload identity sets them), a client secret
//! (`AZURE_CLIENT_SECRET` with the same two), else the managed identity of the machine
//! (`AZURE_CLIENT_ID` picks a user-assigned one).
//!
//! Signing: EC keys on P-256 (`EC` or `EC-HSM`, `crv` `P-256`) only — hallmark's key types
//! are P-256 and Ed25519. Each signature is Key Vault's `sign` with `ES256` over the SHA-256
//! digest of the message (the DSSE PAE); Key Vault answers the fixed-size `r || s`, which
//! hallmark turns into the ASN.1 DER signature cosign expects and checks against the public
//! key, which `GetKey` reads once, at connect time, and the signer keeps.
//!
//! **Not exercised against Azure Key Vault** (there is no local emulator of it): the request
//! and response shapes are unit-tested.

use super::KmsError;
use crate::signing::{KeyAlgorithm, PublicKey};

#[cfg(feature = "azurekms")]
pub use sdk::AzureKmsSigner;

/// A parsed `azurekms://` reference.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AzureKeyRef {
    /// The vault's URL, `https://VAULT_HOST/`.
    pub vault_url: String,
    /// The key's name.
    pub name: String,
    /// The key's version, if the reference names one.
    pub version: Option<String>,
}

/// Parse `azurekms://VAULT_HOST/KEY[/VERSION]`.
///
/// # Errors
///
/// [`KmsError::BadReference`].
pub fn parse_ref(reference: &str) -> Result<AzureKeyRef, KmsError> {
    let bad = || KmsError::BadReference(reference.to_owned());
    let rest = reference.strip_prefix("azurekms://").ok_or_else(bad)?;
    let parts: Vec<&str> = rest.split('/').collect();
    let (host, name, version) = match parts[..] {
        [h, n] => (h, n, None),
        [h, n, v] => (h, n, Some(v).filter(|v| !v.is_empty())),
        _ => return Err(bad()),
    };
    let host_ok = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | ':'));
    // Key Vault object names are alphanumerics and dashes; versions are lowercase hex.
    let name_ok = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    let version_ok = version.is_none_or(|v| {
        v.chars()
            .all(|c| c.is_ascii_digit() || c.is_ascii_lowercase())
    });
    if !(host_ok && name_ok && version_ok) {
        return Err(bad());
    }
    Ok(AzureKeyRef {
        vault_url: format!("https://{host}/"),
        name: name.to_owned(),
        version: version.map(str::to_owned),
    })
}

/// The DER SubjectPublicKeyInfo prefix of a P-256 key with an uncompressed point.
pub(crate) const P256_SPKI_PREFIX: [u8; 26] = [
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
    0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
];

/// The public key of a Key Vault JSON Web Key: `kty` `EC`/`EC-HSM`, `crv` `P-256`, and its
/// `x` and `y` coordinates (32 bytes each).
///
/// # Errors
///
/// [`KmsError::KeyType`] for another key type or curve; [`KmsError::Response`] for bad
/// coordinates.
pub fn public_key_from_jwk(
    key: &str,
    kty: Option<&str>,
    crv: Option<&str>,
    x: Option<&[u8]>,
    y: Option<&[u8]>,
) -> Result<PublicKey, KmsError> {
    if !matches!(kty, Some("EC" | "EC-HSM")) || crv != Some("P-256") {
        return Err(KmsError::KeyType {
            key: key.to_owned(),
            kind: format!(
                "{} {}; azurekms:// signs with EC P-256 keys",
                kty.unwrap_or("(no kty)"),
                crv.unwrap_or("(no crv)")
            ),
        });
    }
    let (x, y) = match (x, y) {
        (Some(x), Some(y)) if x.len() == 32 && y.len() == 32 => (x, y),
        _ => return Err(KmsError::Response("GetKey: bad EC coordinates")),
    };
    let mut der = P256_SPKI_PREFIX.to_vec();
    der.push(0x04);
    der.extend_from_slice(x);
    der.extend_from_slice(y);
    let pk = PublicKey::from_spki_der(&der)
        .map_err(|_| KmsError::Response("GetKey: the EC point is not on P-256"))?;
    if pk.algorithm() != KeyAlgorithm::EcdsaP256Sha256 {
        return Err(KmsError::Response("GetKey: not a P-256 key"));
    }
    Ok(pk)
}

/// One DER INTEGER of an unsigned big-endian number.
fn der_uint(n: &[u8], out: &mut Vec<u8>) {
    let first = n
        .iter()
        .position(|b| *b != 0)
        .unwrap_or(n.len().saturating_sub(1));
    let n = n.get(first..).unwrap_or(&[0]);
    let n = if n.is_empty() { &[0][..] } else { n };
    let pad = n[0] & 0x80 != 0;
    out.push(0x02);
    out.push(u8::try_from(n.len() + usize::from(pad)).unwrap_or(0));
    if pad {
        out.push(0);
    }
    out.extend_from_slice(n);
}

/// The ASN.1 DER `Ecdsa-Sig-Value` of a P-256 JWS signature (`r || s`, 64 bytes).
///
/// # Errors
///
/// [`KmsError::Response`] when the signature is not 64 bytes.
pub fn es256_to_der(sig: &[u8]) -> Result<Vec<u8>, KmsError> {
    if sig.len() != 64 {
        return Err(KmsError::Response("sign: an ES256 signature is 64 bytes"));
    }
    let mut body = Vec::with_capacity(72);
    der_uint(&sig[..32], &mut body);
    der_uint(&sig[32..], &mut body);
    let mut out = vec![0x30, u8::try_from(body.len()).unwrap_or(0)];
    out.extend_from_slice(&body);
    Ok(out)
}

/// Which Azure credential hallmark uses, from the environment (see the module docs).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AzureCredentialKind {
    /// `AZURE_FEDERATED_TOKEN_FILE` (+ `AZURE_CLIENT_ID`, `AZURE_TENANT_ID`): workload
    /// identity.
    WorkloadIdentity,
    /// `AZURE_CLIENT_SECRET` with `AZURE_CLIENT_ID` and `AZURE_TENANT_ID`.
    ClientSecret,
    /// The machine's managed identity; a user-assigned one when `AZURE_CLIENT_ID` is set.
    ManagedIdentity {
        /// `AZURE_CLIENT_ID`, if set.
        client_id: Option<String>,
    },
}

/// Pick the credential from environment variables (`env` reads one; empty counts as unset).
#[must_use]
pub fn credential_kind(env: impl Fn(&str) -> Option<String>) -> AzureCredentialKind {
    let set = |n: &str| env(n).filter(|v| !v.trim().is_empty());
    let client = set("AZURE_CLIENT_ID");
    let tenant = set("AZURE_TENANT_ID");
    if set("AZURE_FEDERATED_TOKEN_FILE").is_some() {
        AzureCredentialKind::WorkloadIdentity
    } else if set("AZURE_CLIENT_SECRET").is_some() && client.is_some() && tenant.is_some() {
        AzureCredentialKind::ClientSecret
    } else {
        AzureCredentialKind::ManagedIdentity { client_id: client }
    }
}

/// The SDK side (feature `azurekms`).
#[cfg(feature = "azurekms")]
mod sdk {
    use std::sync::Arc;

    use azure_core::credentials::{Secret, TokenCredential};
    use azure_core::http::StatusCode;
    use azure_identity::{
        ClientSecretCredential, ManagedIdentityCredential, ManagedIdentityCredentialOptions,
        UserAssignedId, WorkloadIdentityCredential,
    };
    use azure_security_keyvault_keys::KeyClient;
    use azure_security_keyvault_keys::models::{
        KeyClientGetKeyOptions, KeyClientSignOptions, SignParameters, SignatureAlgorithm,
    };
    use sha2::Digest as _;

    use super::{
        AzureCredentialKind, AzureKeyRef, KmsError, credential_kind, es256_to_der,
        public_key_from_jwk,
    };
    use crate::signing::{AsyncSigner, BoxFuture, PublicKey, SignError, SignOutput};

    /// An SDK error: transient for I/O, throttling and server errors.
    fn azure_error(what: String, e: &azure_core::Error) -> KmsError {
        let transient = matches!(e.kind(), azure_core::error::ErrorKind::Io)
            || e.http_status()
                .is_some_and(|s| s == StatusCode::TooManyRequests || s.is_server_error());
        KmsError::Provider {
            what,
            transient,
            message: e.to_string().chars().take(400).collect(),
        }
    }

    fn credential() -> Result<Arc<dyn TokenCredential>, KmsError> {
        let env = |n: &str| std::env::var(n).ok();
        let config = |e: azure_core::Error| KmsError::Config {
            key: "AZURE_CLIENT_ID",
            problem: format!("Azure credentials: {e}"),
        };
        Ok(match credential_kind(env) {
            AzureCredentialKind::WorkloadIdentity => {
                WorkloadIdentityCredential::new(None).map_err(config)?
            }
            AzureCredentialKind::ClientSecret => {
                let get = |n: &str| env(n).unwrap_or_default();
                ClientSecretCredential::new(
                    &get("AZURE_TENANT_ID"),
                    get("AZURE_CLIENT_ID"),
                    Secret::new(get("AZURE_CLIENT_SECRET")),
                    None,
                )
                .map_err(config)?
            }
            AzureCredentialKind::ManagedIdentity { client_id } => {
                ManagedIdentityCredential::new(Some(ManagedIdentityCredentialOptions {
                    user_assigned_id: client_id.map(UserAssignedId::ClientId),
                    ..ManagedIdentityCredentialOptions::default()
                }))
                .map_err(config)?
            }
        })
    }

    /// A signer backed by an Azure Key Vault key.
    pub struct AzureKmsSigner {
        client: KeyClient,
        key: AzureKeyRef,
        public: PublicKey,
        key_id: String,
    }

    impl std::fmt::Debug for AzureKmsSigner {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("AzureKmsSigner")
                .field("key", &self.key)
                .finish_non_exhaustive()
        }
    }

    impl AzureKmsSigner {
        /// Pick the credential, build the Key Vault client and read the key's public key.
        ///
        /// # Errors
        ///
        /// [`KmsError::Config`] (credentials), [`KmsError::Provider`] (the `GetKey` call),
        /// [`KmsError::KeyType`], [`KmsError::Response`].
        pub async fn connect(key: AzureKeyRef) -> Result<Self, KmsError> {
            let client = KeyClient::new(&key.vault_url, credential()?, None).map_err(|e| {
                KmsError::Config {
                    key: "signers.kms.kmsref",
                    problem: format!("Key Vault client for {}: {e}", key.vault_url),
                }
            })?;
            let what = format!(
                "Azure Key Vault GetKey of {} in {}",
                key.name, key.vault_url
            );
            let got = client
                .get_key(
                    &key.name,
                    Some(KeyClientGetKeyOptions {
                        key_version: key.version.clone(),
                        ..KeyClientGetKeyOptions::default()
                    }),
                )
                .await
                .map_err(|e| azure_error(what.clone(), &e))?
                .into_model()
                .map_err(|e| azure_error(what, &e))?;
            let jwk = got
                .key
                .ok_or(KmsError::Response("GetKey: no key in the answer"))?;
            let kty = jwk.kty.as_ref().map(|k| k.as_ref().to_owned());
            let crv = jwk.crv.as_ref().map(|c| c.as_ref().to_owned());
            let public = public_key_from_jwk(
                &key.name,
                kty.as_deref(),
                crv.as_deref(),
                jwk.x.as_deref(),
                jwk.y.as_deref(),
            )?;
            Ok(Self {
                client,
                key_id: public.ssh_fingerprint(),
                public,
                key,
            })
        }
    }

    impl AsyncSigner for AzureKmsSigner {
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
                let what = format!("Azure Key Vault sign with {}", self.key.name);
                let params = SignParameters {
                    algorithm: Some(SignatureAlgorithm::Es256),
                    value: Some(sha2::Sha256::digest(msg).to_vec()),
                };
                let body = params
                    .try_into()
                    .map_err(|e: azure_core::Error| azure_error(what.clone(), &e))?;
                let result = self
                    .client
                    .sign(
                        &self.key.name,
                        body,
                        Some(KeyClientSignOptions {
                            key_version: self.key.version.clone(),
                            ..KeyClientSignOptions::default()
                        }),
                    )
                    .await
                    .map_err(|e| azure_error(what.clone(), &e))?
                    .into_model()
                    .map_err(|e| azure_error(what, &e))?;
                let fixed = result
                    .result
                    .ok_or(KmsError::Response("sign: no result in the answer"))?;
                let signature = es256_to_der(&fixed)?;
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
        let r = parse_ref("azurekms://myvault.vault.azure.net/release")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            r,
            AzureKeyRef {
                vault_url: "https://myvault.vault.azure.net/".into(),
                name: "release".into(),
                version: None
            }
        );
        let r = parse_ref("azurekms://myvault.vault.azure.net/release/0123abcdef")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.version.as_deref(), Some("0123abcdef"));
        assert_eq!(
            parse_ref("azurekms://v.vault.azure.net/k/")
                .ok()
                .map(|r| r.version),
            Some(None)
        );
        for bad in [
            "azurekms://",
            "azurekms://vault.vault.azure.net",
            "azurekms://vault.vault.azure.net/",
            "azurekms:///key",
            "azurekms://v.vault.azure.net/k/V1",
            "azurekms://v.vault.azure.net/k/1/2",
            "azurekms://v.vault.azure.net/k_1",
            "azurekms://u@v.vault.azure.net/k",
        ] {
            assert!(parse_ref(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn jwk_and_signature_shapes() {
        use crate::signing::Signer as _;
        let l = crate::signing::LocalSigner::generate_p256().unwrap_or_else(|e| panic!("{e}"));
        let pk = l.public_key();
        let point = &pk.spki_der()[P256_SPKI_PREFIX.len()..];
        assert_eq!(point.first(), Some(&0x04));
        let (x, y) = point[1..].split_at(32);
        for kty in ["EC", "EC-HSM"] {
            let got = public_key_from_jwk("k", Some(kty), Some("P-256"), Some(x), Some(y))
                .map(|p| p.to_pem())
                .ok();
            assert_eq!(got, Some(pk.to_pem()));
        }
        assert!(matches!(
            public_key_from_jwk("k", Some("RSA"), None, None, None),
            Err(KmsError::KeyType { .. })
        ));
        assert!(matches!(
            public_key_from_jwk("k", Some("EC"), Some("P-384"), Some(x), Some(y)),
            Err(KmsError::KeyType { .. })
        ));
        assert!(matches!(
            public_key_from_jwk("k", Some("EC"), Some("P-256"), Some(&x[1..]), Some(y)),
            Err(KmsError::Response(_))
        ));
        // A P-256 signature from the local key, cut to r || s and back, verifies.
        let msg = b"payload";
        let der = l.sign(msg).unwrap_or_else(|e| panic!("{e}"));
        let fixed = der_to_fixed(&der);
        assert_eq!(fixed.len(), 64);
        let back = es256_to_der(&fixed).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back, der);
        assert!(pk.verify(msg, &back).is_ok());
        // High bits and leading zeros.
        let mut edge = [0u8; 64];
        edge[0] = 0x80;
        edge[63] = 1;
        assert_eq!(
            es256_to_der(&edge).ok().map(|d| d[..6].to_vec()),
            Some(vec![0x30, 0x26, 0x02, 0x21, 0x00, 0x80])
        );
        assert_eq!(
            es256_to_der(&edge).ok().map(|d| d[d.len() - 3..].to_vec()),
            Some(vec![0x02, 0x01, 0x01])
        );
        assert!(es256_to_der(&[0; 63]).is_err());
    }

    #[test]
    fn picks_the_credential_from_the_environment() {
        let with = |vars: &'static [(&'static str, &'static str)]| {
            credential_kind(move |n| {
                vars.iter()
                    .find(|(k, _)| *k == n)
                    .map(|(_, v)| (*v).to_owned())
            })
        };
        assert_eq!(
            with(&[
                (
                    "AZURE_FEDERATED_TOKEN_FILE",
                    "/var/run/secrets/azure/tokens/token"
                ),
                ("AZURE_CLIENT_ID", "c"),
                ("AZURE_TENANT_ID", "t"),
                ("AZURE_CLIENT_SECRET", "s"),
            ]),
            AzureCredentialKind::WorkloadIdentity
        );
        assert_eq!(
            with(&[
                ("AZURE_CLIENT_ID", "c"),
                ("AZURE_TENANT_ID", "t"),
                ("AZURE_CLIENT_SECRET", "s"),
            ]),
            AzureCredentialKind::ClientSecret
        );
        assert_eq!(
            with(&[("AZURE_CLIENT_ID", "c"), ("AZURE_CLIENT_SECRET", "s")]),
            AzureCredentialKind::ManagedIdentity {
                client_id: Some("c".into())
            }
        );
        assert_eq!(
            with(&[("AZURE_FEDERATED_TOKEN_FILE", " ")]),
            AzureCredentialKind::ManagedIdentity { client_id: None }
        );
    }

    /// DER `Ecdsa-Sig-Value` → `r || s` (test helper, the inverse of [`es256_to_der`]).
    fn der_to_fixed(der: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut i = 2;
        for _ in 0..2 {
            let len = usize::from(der[i + 1]);
            let n = &der[i + 2..i + 2 + len];
            let n = if n.len() == 33 { &n[1..] } else { n };
            out.extend(std::iter::repeat_n(0u8, 32 - n.len()));
            out.extend_from_slice(n);
            i += 2 + len;
        }
        out
    }
}
