//! Signing: the [`Signer`] trait, local key files and DSSE envelope signing.
//!
//! A [`Signer`] is built once per configuration and shared (`Send + Sync`). The trait is
//! synchronous, which suits local keys; remote signers (KMS, keyless) will get an async
//! variant that a local [`Signer`] can be wrapped into (e.g. through
//! `tokio::task::spawn_blocking`), so callers depend on one async trait.
//!
//! Local keys ([`LocalSigner`]): ECDSA P-256 (SHA-256, ASN.1 DER signatures) and
//! Ed25519, loaded from cosign's encrypted `cosign.key` (password from
//! `COSIGN_PASSWORD`), PKCS#8 `PRIVATE KEY` (Chains' `x509.pem`) or SEC1
//! `EC PRIVATE KEY`. [`generate_key_pair`] writes cosign-compatible files.
//!
//! DSSE `keyid`: Tekton Chains (v0.29, `pkg/chains/signing/wrap.go`) sets it to the
//! OpenSSH SHA-256 fingerprint of the public key (`SHA256:<unpadded base64>`);
//! [`LocalSigner`] does the same by default ([`PublicKey::ssh_fingerprint`]).

mod cosign;
mod keys;

pub use cosign::{
    COSIGN_PRIVATE_KEY_PEM_LABEL, CosignKeyError, GeneratedKeyPair, SIGSTORE_PRIVATE_KEY_PEM_LABEL,
    generate_key_pair,
};
pub use keys::{
    BadSignature, EC_PRIVATE_KEY_PEM_LABEL, KeyAlgorithm, KeyError, LocalSigner, PKCS8_PEM_LABEL,
    PUBLIC_KEY_PEM_LABEL, PublicKey, password_from_env,
};

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
/// Synchronous: suitable for local keys. KMS/keyless signers will be async; an async
/// variant of this trait may wrap a [`Signer`].
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
            signer.public_key().ssh_fingerprint()
        );
        let pk = signer.public_key();
        assert!(pk.verify(&env.pae(), &env.signatures[0].sig).is_ok());
        assert!(pk.verify(b"{}", &env.signatures[0].sig).is_err());
        let signer = signer.with_key_id("");
        let env = sign_envelope(&signer, "t", b"x").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(env.signatures[0].keyid, "");
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
