//! Signing: the [`Signer`] and [`AsyncSigner`] traits, local key files, KMS keys,
//! keyless (Fulcio) certificates and DSSE envelope signing.
//!
//! Two traits:
//! - [`Signer`] is synchronous and suits local keys ([`LocalSigner`]).
//! - [`AsyncSigner`] is what publishers and the controller take: every signer implements
//!   it — [`LocalSigner`], [`kms::VaultSigner`] (`hashivault://KEY`) and
//!   [`fulcio::KeylessSigner`] (Fulcio). It is object safe (`Box<dyn AsyncSigner>`,
//!   `Arc<dyn AsyncSigner>`); `sign` returns a boxed `Send` future. Each signature comes
//!   back as a [`SignOutput`] with the public key and, for keyless, the certificate chain
//!   (DER, leaf first) that goes with it — a keyless signer changes key and certificate
//!   when it refreshes, so the pair is returned together, never read separately.
//!   [`sign_envelope_async`] signs a DSSE envelope with any of them and
//!   [`SignedEnvelope::to_bundle`] makes a Sigstore bundle v0.3 of the result (no
//!   transparency log entry: publishers add it).
//!
//! Signers are built once per configuration and shared (`Send + Sync`); a keyless signer
//! reuses its certificate across signatures while it is valid. [`build::build`] makes the
//! signer a request (flags) and Chains' configuration choose, with the `signing-secrets`
//! ([`build::SigningSecrets`]) and a configuration error naming its key
//! ([`build::BuildError::config_key`]).
//!
//! Local keys ([`LocalSigner`]): ECDSA P-256 (SHA-256, ASN.1 DER signatures) and
//! Ed25519, loaded from cosign's encrypted `cosign.key` (password from
//! `COSIGN_PASSWORD`), PKCS#8 `PRIVATE KEY` (Chains' `x509.pem`) or SEC1
//! `EC PRIVATE KEY`. [`generate_key_pair`] writes cosign-compatible files.
//!
//! DSSE `keyid`: Tekton Chains (v0.29, `pkg/chains/signing/wrap.go`) sets it to the
//! OpenSSH SHA-256 fingerprint of the public key (`SHA256:<unpadded base64>`);
//! [`LocalSigner`] and the KMS signers do the same ([`PublicKey::ssh_fingerprint`]);
//! keyless signatures carry an empty `keyid`, as cosign's.
//!
//! No secret (password, identity token, Vault token) is ever part of an error, a log
//! line or a `Debug` output: [`token::Secret`] holds them.

pub mod build;
mod cosign;
pub mod fulcio;
mod keys;
pub mod kms;
pub mod kube;
pub mod token;
pub mod tsa;

pub use cosign::{
    COSIGN_PRIVATE_KEY_PEM_LABEL, CosignKeyError, GeneratedKeyPair, SIGSTORE_PRIVATE_KEY_PEM_LABEL,
    generate_key_pair,
};
pub use keys::{
    BadSignature, EC_PRIVATE_KEY_PEM_LABEL, KeyAlgorithm, KeyError, LocalSigner, PKCS8_PEM_LABEL,
    PUBLIC_KEY_PEM_LABEL, PublicKey, password_from_env,
};

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::bundle::{self, Bundle};
use crate::dsse::{self, Envelope};

/// Errors producing a signature.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SignError {
    /// The crypto library failed to sign (e.g. entropy unavailable).
    #[error("signing failed in the crypto library")]
    Crypto,
    /// A remote signer (KMS, keyless) failed; `transient` says whether a retry may help.
    #[error("remote signer failed")]
    Remote {
        /// Whether retrying later may succeed (network, throttling).
        transient: bool,
        /// The underlying error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl SignError {
    /// Whether retrying later may succeed.
    #[must_use]
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Crypto => false,
            Self::Remote { transient, .. } => *transient,
        }
    }
}

/// Something that signs bytes with one key.
///
/// Synchronous: suitable for local keys. Remote signers implement [`AsyncSigner`], which
/// [`LocalSigner`] implements too.
pub trait Signer: Send + Sync {
    /// The DSSE `keyid` hint written beside signatures (may be empty).
    fn key_id(&self) -> &str;
    /// The public key that verifies this signer's signatures.
    fn public_key(&self) -> &PublicKey;
    /// Sign `msg`. ECDSA P-256: SHA-256 of `msg`, ASN.1 DER signature; Ed25519: pure.
    ///
    /// # Errors
    ///
    /// [`SignError`] when the key cannot sign.
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, SignError>;
}

impl Signer for LocalSigner {
    fn key_id(&self) -> &str {
        self.key_id_str()
    }

    fn public_key(&self) -> &PublicKey {
        self.public()
    }

    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, SignError> {
        self.sign_raw(msg).map_err(|_| SignError::Crypto)
    }
}

/// A boxed `Send` future (what [`AsyncSigner::sign`] returns).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// One signature from an [`AsyncSigner`], with the key material that verifies it.
#[derive(Clone, Debug)]
pub struct SignOutput {
    /// The signature (ECDSA: ASN.1 DER over SHA-256 of the message; Ed25519: pure).
    pub signature: Vec<u8>,
    /// The public key that verifies it.
    pub public_key: PublicKey,
    /// Keyless: the certificate chain, DER, leaf first (the leaf certifies
    /// `public_key`). `None` for keys.
    pub certificate_chain: Option<Arc<[Vec<u8>]>>,
}

/// A signer that may need the network (KMS, Fulcio); implemented by every signer.
///
/// Object safe: hold it as `Arc<dyn AsyncSigner>`.
pub trait AsyncSigner: Send + Sync {
    /// The DSSE `keyid` hint written beside signatures (empty for keyless).
    fn key_id(&self) -> &str;
    /// The public key of the latest signature (keyless: `None` before the first one; it
    /// changes when the certificate is refreshed — use [`SignOutput::public_key`]).
    fn public_key(&self) -> Option<PublicKey>;
    /// Keyless: the chain of the latest certificate, DER, leaf first. `None` for keys
    /// (and before a keyless signer's first signature).
    fn certificate_chain(&self) -> Option<Arc<[Vec<u8>]>>;
    /// Sign `msg` (same algorithms as [`Signer::sign`]).
    ///
    /// # Errors
    ///
    /// [`SignError`]; [`SignError::is_transient`] says whether to retry.
    fn sign<'a>(&'a self, msg: &'a [u8]) -> BoxFuture<'a, Result<SignOutput, SignError>>;
}

impl AsyncSigner for LocalSigner {
    fn key_id(&self) -> &str {
        self.key_id_str()
    }

    fn public_key(&self) -> Option<PublicKey> {
        Some(self.public().clone())
    }

    fn certificate_chain(&self) -> Option<Arc<[Vec<u8>]>> {
        None
    }

    fn sign<'a>(&'a self, msg: &'a [u8]) -> BoxFuture<'a, Result<SignOutput, SignError>> {
        let out = self
            .sign_raw(msg)
            .map(|signature| SignOutput {
                signature,
                public_key: self.public().clone(),
                certificate_chain: None,
            })
            .map_err(|_| SignError::Crypto);
        Box::pin(std::future::ready(out))
    }
}

/// A DSSE envelope signed by an [`AsyncSigner`], with its key material.
#[derive(Clone, Debug)]
pub struct SignedEnvelope {
    /// The envelope (one signature).
    pub envelope: Envelope,
    /// The public key that verifies the signature.
    pub public_key: PublicKey,
    /// Keyless: the certificate chain, DER, leaf first.
    pub certificate_chain: Option<Arc<[Vec<u8>]>>,
    /// RFC 3161 `TimeStampResp`s over the signature ([`tsa::TsaClient::timestamp`]),
    /// written into the bundle's `timestampVerificationData`.
    pub timestamps: Vec<Vec<u8>>,
}

impl SignedEnvelope {
    /// Keyless: the leaf certificate as PEM (cosign's `dev.sigstore.cosign/certificate`
    /// annotation); `None` for keys.
    #[must_use]
    pub fn certificate_pem(&self) -> Option<String> {
        let chain = self.certificate_chain.as_ref()?;
        chain.first().map(|der| der_to_pem(der))
    }

    /// Keyless: the issuing certificates (intermediates and root) as concatenated PEM
    /// (cosign's `dev.sigstore.cosign/chain` annotation); `None` for keys.
    #[must_use]
    pub fn chain_pem(&self) -> Option<String> {
        let chain = self.certificate_chain.as_ref()?;
        Some(chain.iter().skip(1).map(|der| der_to_pem(der)).collect())
    }

    /// A Sigstore bundle v0.3 holding the envelope and the leaf certificate (keyless) or
    /// a public-key hint ([`PublicKey::sigstore_hint`]), and the RFC 3161 timestamps;
    /// no transparency log entry yet.
    #[must_use]
    pub fn to_bundle(&self) -> Bundle {
        let leaf = self
            .certificate_chain
            .as_ref()
            .and_then(|c| c.first())
            .cloned();
        let timestamps = (!self.timestamps.is_empty()).then(|| bundle::TimestampVerificationData {
            rfc3161_timestamps: self
                .timestamps
                .iter()
                .map(|t| bundle::Rfc3161SignedTimestamp {
                    signed_timestamp: t.clone(),
                })
                .collect(),
        });
        let mut material = match leaf {
            Some(der) => bundle::VerificationMaterial {
                certificate: Some(bundle::X509Certificate { raw_bytes: der }),
                ..bundle::VerificationMaterial::default()
            },
            None => bundle::VerificationMaterial {
                public_key: Some(bundle::PublicKeyIdentifier {
                    hint: self.public_key.sigstore_hint(),
                }),
                ..bundle::VerificationMaterial::default()
            },
        };
        material.timestamp_verification_data = timestamps;
        Bundle {
            media_type: bundle::MEDIA_TYPE_V0_3.to_owned(),
            verification_material: Some(material),
            message_signature: None,
            dsse_envelope: Some(self.envelope.clone()),
        }
    }
}

fn der_to_pem(der: &[u8]) -> String {
    pem_rfc7468::encode_string("CERTIFICATE", pem_rfc7468::LineEnding::LF, der).unwrap_or_default()
}

/// Sign `payload` as a DSSE envelope with any signer: one signature over
/// [`dsse::pae`]`(payload_type, payload)`, `keyid` from [`AsyncSigner::key_id`].
///
/// # Errors
///
/// [`SignError`] when the signer fails.
pub async fn sign_envelope_async(
    signer: &dyn AsyncSigner,
    payload_type: &str,
    payload: &[u8],
) -> Result<SignedEnvelope, SignError> {
    let out = signer.sign(&dsse::pae(payload_type, payload)).await?;
    let mut envelope = Envelope::new(payload_type, payload);
    envelope.signatures.push(dsse::Signature {
        keyid: signer.key_id().to_owned(),
        sig: out.signature,
    });
    Ok(SignedEnvelope {
        envelope,
        public_key: out.public_key,
        certificate_chain: out.certificate_chain,
        timestamps: Vec::new(),
    })
}

/// Sign `payload` as a DSSE envelope with one signature over
/// [`dsse::pae`]`(payload_type, payload)`, `keyid` from [`Signer::key_id`].
///
/// # Errors
///
/// [`SignError`] when the signer fails.
pub fn sign_envelope(
    signer: &dyn Signer,
    payload_type: &str,
    payload: &[u8],
) -> Result<Envelope, SignError> {
    let sig = signer.sign(&dsse::pae(payload_type, payload))?;
    let mut env = Envelope::new(payload_type, payload);
    env.signatures.push(dsse::Signature {
        keyid: signer.key_id().to_owned(),
        sig,
    });
    Ok(env)
}

#[cfg(test)]
#[allow(clippy::panic)] // Tests report failures by panicking.
mod tests {
    use super::*;

    #[test]
    fn envelope_signature_verifies_over_pae() {
        let signer = LocalSigner::generate_p256().unwrap_or_else(|e| panic!("{e}"));
        let env = sign_envelope(&signer, dsse::IN_TOTO_PAYLOAD_TYPE, b"{}")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(env.signatures.len(), 1);
        assert_eq!(
            env.signatures[0].keyid,
            Signer::public_key(&signer).ssh_fingerprint()
        );
        let pk = Signer::public_key(&signer);
        assert!(pk.verify(&env.pae(), &env.signatures[0].sig).is_ok());
        assert!(pk.verify(b"{}", &env.signatures[0].sig).is_err());
        let signer = signer.with_key_id("");
        let env = sign_envelope(&signer, "t", b"x").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(env.signatures[0].keyid, "");
    }

    #[test]
    fn async_local_signer_signs_envelopes_and_bundles() {
        let signer = LocalSigner::generate_p256().unwrap_or_else(|e| panic!("{e}"));
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        let dyn_signer: Arc<dyn AsyncSigner> = Arc::new(signer);
        let signed = rt
            .block_on(sign_envelope_async(
                dyn_signer.as_ref(),
                dsse::IN_TOTO_PAYLOAD_TYPE,
                b"{}",
            ))
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(signed.certificate_chain.is_none());
        assert!(signed.certificate_pem().is_none() && signed.chain_pem().is_none());
        assert!(
            signed
                .public_key
                .verify(&signed.envelope.pae(), &signed.envelope.signatures[0].sig)
                .is_ok()
        );
        let b = signed.to_bundle();
        let parsed = Bundle::from_json(&b.to_json()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(parsed, b);
    }

    #[test]
    fn chains_keyid_is_ssh_fingerprint() {
        // `ssh-keygen -i -m PKCS8 -f cosign.pub | ssh-keygen -lf -` gives this value.
        let pem = std::fs::read(crate::test_support::shared_dir().join("chains/keys/cosign.pub"))
            .unwrap_or_else(|e| panic!("{e}"));
        let pk = PublicKey::from_pem(&pem).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            pk.ssh_fingerprint(),
            "SHA256:yYS4pD9tqWXZw5+maNJ3gWm9HyoAB0qH0ef0FkIWfYs"
        );
    }
}
