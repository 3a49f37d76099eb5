//! Key material: public keys (SPKI) and local private keys (ECDSA P-256, Ed25519).
//!
//! Accepted private key files, as Tekton Chains' `signing-secrets` and cosign write them:
//! - `ENCRYPTED SIGSTORE PRIVATE KEY` / `ENCRYPTED COSIGN PRIVATE KEY` (cosign's
//!   scrypt + secretbox envelope around PKCS#8, see [`super::cosign`]);
//! - `PRIVATE KEY` (PKCS#8, Chains' `x509.pem`);
//! - `EC PRIVATE KEY` (SEC1 / RFC 5915).
//!
//! Public keys: `PUBLIC KEY` (X.509 SubjectPublicKeyInfo), P-256 or Ed25519.
//! Secret bytes are held in [`Zeroizing`] buffers and never appear in `Debug` output or
//! errors.

use std::fmt;
use std::path::Path;

use aws_lc_rs::encoding::AsDer as _;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    self as sig, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _, ParsedPublicKey,
};
use base64::Engine as _;
use sha2::Digest as _;
use zeroize::Zeroizing;

use super::cosign;

/// PEM label of a public key (SubjectPublicKeyInfo).
pub const PUBLIC_KEY_PEM_LABEL: &str = "PUBLIC KEY";
/// PEM label of a PKCS#8 private key.
pub const PKCS8_PEM_LABEL: &str = "PRIVATE KEY";
/// PEM label of a SEC1 EC private key.
pub const EC_PRIVATE_KEY_PEM_LABEL: &str = "EC PRIVATE KEY";

/// Errors loading or decoding key material. Never carries secret bytes or passwords.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The key file could not be read.
    #[error("cannot read key file {path}")]
    Read {
        /// The file path.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The bytes are not a single well-formed PEM block.
    #[error("key is not valid PEM")]
    Pem(#[source] pem_rfc7468::Error),
    /// The PEM label is not one this reader accepts.
    #[error("unsupported PEM block `{found}` (expected {expected})")]
    PemLabel {
        /// The label found.
        found: String,
        /// What was expected.
        expected: &'static str,
    },
    /// The key is well-formed but neither ECDSA P-256 nor Ed25519 (or is corrupt).
    #[error("unsupported or invalid {what} (supported: ECDSA P-256, Ed25519)")]
    Unsupported {
        /// `public key` or `private key`.
        what: &'static str,
    },
    /// An encrypted cosign key could not be decoded or decrypted.
    #[error("cannot decrypt cosign private key")]
    Cosign(#[source] cosign::CosignKeyError),
    /// An encrypted key needs a password and none was given (`COSIGN_PASSWORD`).
    #[error("the private key is encrypted: set COSIGN_PASSWORD (it may be empty)")]
    PasswordRequired,
    /// The password environment variable holds non-UTF-8 bytes.
    #[error("COSIGN_PASSWORD is not valid UTF-8")]
    PasswordNotUnicode,
    /// The crypto library failed to produce key material (e.g. entropy unavailable).
    #[error("key generation or encoding failed")]
    Crypto,
}

impl KeyError {
    /// Whether retrying may help (an interrupted read); key material errors are permanent.
    #[must_use]
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Read { source, .. }
            if matches!(source.kind(), std::io::ErrorKind::Interrupted | std::io::ErrorKind::TimedOut))
    }
}

/// The signature algorithms hallmark signs and verifies with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KeyAlgorithm {
    /// ECDSA over P-256 with SHA-256; ASN.1 DER signatures (cosign's default).
    EcdsaP256Sha256,
    /// Ed25519 (pure, over the whole message).
    Ed25519,
}

impl KeyAlgorithm {
    /// A short stable name (`ecdsa-p256-sha256`, `ed25519`).
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::EcdsaP256Sha256 => "ecdsa-p256-sha256",
            Self::Ed25519 => "ed25519",
        }
    }
}

impl fmt::Display for KeyAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A signature did not verify (deliberately reason-free).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("signature does not verify")]
pub struct BadSignature;

/// DER prefix of a P-256 SubjectPublicKeyInfo with an uncompressed point.
const P256_SPKI_PREFIX: [u8; 26] = [
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
    0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
];
/// DER prefix of an Ed25519 SubjectPublicKeyInfo.
const ED25519_SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

/// A public key: algorithm, SubjectPublicKeyInfo DER and a parsed form for verifying.
#[derive(Clone)]
pub struct PublicKey {
    algorithm: KeyAlgorithm,
    spki: Vec<u8>,
    parsed: ParsedPublicKey,
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublicKey")
            .field("algorithm", &self.algorithm)
            .field("fingerprint", &self.ssh_fingerprint())
            .finish()
    }
}

impl PartialEq for PublicKey {
    fn eq(&self, other: &Self) -> bool {
        self.spki == other.spki
    }
}
impl Eq for PublicKey {}

impl PublicKey {
    /// Parse a DER SubjectPublicKeyInfo (P-256 or Ed25519).
    ///
    /// # Errors
    ///
    /// [`KeyError::Unsupported`] for other algorithms, curves, or invalid points.
    pub fn from_spki_der(der: &[u8]) -> Result<Self, KeyError> {
        let unsupported = KeyError::Unsupported { what: "public key" };
        // A raw point would also be accepted by the parser: require a DER SEQUENCE.
        if der.first() != Some(&0x30) {
            return Err(unsupported);
        }
        let (algorithm, parsed) =
            if let Ok(p) = ParsedPublicKey::new(&sig::ECDSA_P256_SHA256_ASN1, der) {
                (KeyAlgorithm::EcdsaP256Sha256, p)
            } else if let Ok(p) = ParsedPublicKey::new(&sig::ED25519, der) {
                (KeyAlgorithm::Ed25519, p)
            } else {
                return Err(unsupported);
            };
        // Canonical re-encoding (uncompressed point), so `raw()` can slice it.
        let spki = parsed
            .as_der()
            .map_err(|_| KeyError::Crypto)?
            .as_ref()
            .to_vec();
        let key = Self {
            algorithm,
            spki,
            parsed,
        };
        if key.raw().is_none() {
            return Err(KeyError::Unsupported { what: "public key" });
        }
        Ok(key)
    }

    /// Parse a PEM `PUBLIC KEY` block (cosign.pub).
    ///
    /// # Errors
    ///
    /// [`KeyError::Pem`] / [`KeyError::PemLabel`] for malformed PEM or another block type;
    /// [`KeyError::Unsupported`] as [`PublicKey::from_spki_der`].
    pub fn from_pem(pem: &[u8]) -> Result<Self, KeyError> {
        let (label, der) = pem_rfc7468::decode_vec(trim_pem(pem)).map_err(KeyError::Pem)?;
        if label != PUBLIC_KEY_PEM_LABEL {
            return Err(KeyError::PemLabel {
                found: label.to_owned(),
                expected: "PUBLIC KEY",
            });
        }
        Self::from_spki_der(&der)
    }

    /// The algorithm.
    #[must_use]
    pub fn algorithm(&self) -> KeyAlgorithm {
        self.algorithm
    }

    /// The DER SubjectPublicKeyInfo.
    #[must_use]
    pub fn spki_der(&self) -> &[u8] {
        &self.spki
    }

    /// The key as a PEM `PUBLIC KEY` block (64-column lines, LF), as cosign writes it.
    #[must_use]
    pub fn to_pem(&self) -> String {
        pem_rfc7468::encode_string(
            PUBLIC_KEY_PEM_LABEL,
            pem_rfc7468::LineEnding::LF,
            &self.spki,
        )
        .unwrap_or_default()
    }

    /// The raw key: the uncompressed SEC1 point (P-256) or the 32 key bytes (Ed25519).
    fn raw(&self) -> Option<&[u8]> {
        match self.algorithm {
            KeyAlgorithm::EcdsaP256Sha256 => self
                .spki
                .strip_prefix(&P256_SPKI_PREFIX[..])
                .filter(|p| p.len() == 65 && p[0] == 0x04),
            KeyAlgorithm::Ed25519 => self
                .spki
                .strip_prefix(&ED25519_SPKI_PREFIX[..])
                .filter(|p| p.len() == 32),
        }
    }

    /// The OpenSSH SHA-256 fingerprint of the key (`SHA256:<unpadded base64>`).
    ///
    /// This is the DSSE `keyid` Tekton Chains writes (`signing.Wrap`:
    /// `ssh.FingerprintSHA256(ssh.NewPublicKey(pub))`).
    #[must_use]
    pub fn ssh_fingerprint(&self) -> String {
        fn put(buf: &mut Vec<u8>, s: &[u8]) {
            // SSH wire strings: u32 big-endian length, then the bytes. Keys are tiny.
            buf.extend_from_slice(&u32::try_from(s.len()).unwrap_or(u32::MAX).to_be_bytes());
            buf.extend_from_slice(s);
        }
        let raw = self.raw().unwrap_or_default();
        let mut wire = Vec::with_capacity(120);
        match self.algorithm {
            KeyAlgorithm::EcdsaP256Sha256 => {
                put(&mut wire, b"ecdsa-sha2-nistp256");
                put(&mut wire, b"nistp256");
                put(&mut wire, raw);
            }
            KeyAlgorithm::Ed25519 => {
                put(&mut wire, b"ssh-ed25519");
                put(&mut wire, raw);
            }
        }
        let sum = sha2::Sha256::digest(&wire);
        format!(
            "SHA256:{}",
            base64::engine::general_purpose::STANDARD_NO_PAD.encode(sum)
        )
    }

    /// The Sigstore bundle `publicKey.hint` cosign writes: standard base64 of the SHA-256
    /// of the SubjectPublicKeyInfo DER.
    #[must_use]
    pub fn sigstore_hint(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(&self.spki))
    }

    /// Verify `signature` over `message` (ECDSA: SHA-256 of the message, DER signature).
    ///
    /// # Errors
    ///
    /// [`BadSignature`] when it does not verify.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), BadSignature> {
        self.parsed
            .verify_sig(message, signature)
            .map_err(|_| BadSignature)
    }

    /// Verify an ECDSA signature over a precomputed SHA-256 `digest` of the message.
    ///
    /// # Errors
    ///
    /// [`BadSignature`] when it does not verify, the digest is not 32 bytes, or the key is
    /// Ed25519 (pure Ed25519 needs the whole message).
    pub fn verify_sha256_digest(
        &self,
        digest: &[u8],
        signature: &[u8],
    ) -> Result<(), BadSignature> {
        if self.algorithm != KeyAlgorithm::EcdsaP256Sha256 {
            return Err(BadSignature);
        }
        let d = aws_lc_rs::digest::Digest::import_less_safe(digest, &aws_lc_rs::digest::SHA256)
            .map_err(|_| BadSignature)?;
        self.parsed
            .verify_digest_sig(&d, signature)
            .map_err(|_| BadSignature)
    }
}

/// A local private key.
enum PrivateKey {
    Ecdsa(EcdsaKeyPair),
    Ed25519(Ed25519KeyPair),
}

/// A signer holding a local private key (ECDSA P-256 or Ed25519).
///
/// Its `keyid` defaults to the key's SSH fingerprint, like Tekton Chains.
pub struct LocalSigner {
    key: PrivateKey,
    public: PublicKey,
    key_id: String,
}

impl fmt::Debug for LocalSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalSigner")
            .field("algorithm", &self.public.algorithm)
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

impl LocalSigner {
    /// A signer from DER private key bytes: PKCS#8 (P-256 or Ed25519) or SEC1 (P-256).
    ///
    /// # Errors
    ///
    /// [`KeyError::Unsupported`] when the bytes are no supported private key.
    pub fn from_private_der(der: &[u8]) -> Result<Self, KeyError> {
        let key = if let Ok(k) =
            EcdsaKeyPair::from_private_key_der(&sig::ECDSA_P256_SHA256_ASN1_SIGNING, der)
        {
            PrivateKey::Ecdsa(k)
        } else if let Ok(k) = Ed25519KeyPair::from_pkcs8_maybe_unchecked(der) {
            PrivateKey::Ed25519(k)
        } else {
            return Err(KeyError::Unsupported {
                what: "private key",
            });
        };
        let spki = match &key {
            PrivateKey::Ecdsa(k) => k.public_key().as_der().map(|d| d.as_ref().to_vec()),
            PrivateKey::Ed25519(k) => k.public_key().as_der().map(|d| d.as_ref().to_vec()),
        }
        .map_err(|_| KeyError::Crypto)?;
        let public = PublicKey::from_spki_der(&spki)?;
        let key_id = public.ssh_fingerprint();
        if matches!(key, PrivateKey::Ecdsa(_)) {
            // ECDSA signing draws a nonce from aws-lc's DRBG, which seeds itself on first
            // use (CPU jitter entropy: tens of milliseconds of CPU, once per process).
            // Seed it now, when the key is loaded, rather than in the first signature.
            let _ = aws_lc_rs::rand::fill(&mut [0u8; 1]);
        }
        Ok(Self {
            key,
            public,
            key_id,
        })
    }

    /// A signer from a PEM private key: cosign's encrypted key (needs `password`),
    /// `PRIVATE KEY` (PKCS#8) or `EC PRIVATE KEY` (SEC1).
    ///
    /// # Errors
    ///
    /// [`KeyError::Pem`]/[`KeyError::PemLabel`] for malformed PEM or another block type,
    /// [`KeyError::PasswordRequired`] for an encrypted key without password,
    /// [`KeyError::Cosign`] when decryption fails (wrong password, corrupt file),
    /// [`KeyError::Unsupported`] for other key types.
    pub fn from_pem(pem: &[u8], password: Option<&[u8]>) -> Result<Self, KeyError> {
        let (label, der) = pem_rfc7468::decode_vec(trim_pem(pem)).map_err(KeyError::Pem)?;
        let der = Zeroizing::new(der);
        match label {
            cosign::SIGSTORE_PRIVATE_KEY_PEM_LABEL | cosign::COSIGN_PRIVATE_KEY_PEM_LABEL => {
                let password = password.ok_or(KeyError::PasswordRequired)?;
                let plain = cosign::decrypt(&der, password).map_err(KeyError::Cosign)?;
                Self::from_private_der(&plain)
            }
            PKCS8_PEM_LABEL | EC_PRIVATE_KEY_PEM_LABEL => Self::from_private_der(&der),
            other => Err(KeyError::PemLabel {
                found: other.to_owned(),
                expected: "ENCRYPTED SIGSTORE PRIVATE KEY, ENCRYPTED COSIGN PRIVATE KEY, PRIVATE KEY or EC PRIVATE KEY",
            }),
        }
    }

    /// A signer from a private key file (see [`LocalSigner::from_pem`]).
    ///
    /// # Errors
    ///
    /// [`KeyError::Read`] when the file cannot be read; otherwise as
    /// [`LocalSigner::from_pem`].
    pub fn from_file(path: &Path, password: Option<&[u8]>) -> Result<Self, KeyError> {
        let bytes = Zeroizing::new(std::fs::read(path).map_err(|source| KeyError::Read {
            path: path.display().to_string(),
            source,
        })?);
        Self::from_pem(&bytes, password)
    }

    /// Generate a fresh ECDSA P-256 key.
    ///
    /// # Errors
    ///
    /// [`KeyError::Crypto`] when the crypto library fails.
    pub fn generate_p256() -> Result<Self, KeyError> {
        let doc = EcdsaKeyPair::generate_pkcs8(
            &sig::ECDSA_P256_SHA256_ASN1_SIGNING,
            &SystemRandom::new(),
        )
        .map_err(|_| KeyError::Crypto)?;
        Self::from_private_der(doc.as_ref())
    }

    /// Replace the DSSE `keyid` (default: the SSH fingerprint, as Tekton Chains).
    #[must_use]
    pub fn with_key_id(mut self, key_id: impl Into<String>) -> Self {
        self.key_id = key_id.into();
        self
    }

    /// The private key as PKCS#8 DER (secret: zeroized on drop).
    ///
    /// # Errors
    ///
    /// [`KeyError::Crypto`] when the crypto library cannot encode it.
    pub fn to_pkcs8_der(&self) -> Result<Zeroizing<Vec<u8>>, KeyError> {
        let doc = match &self.key {
            PrivateKey::Ecdsa(k) => k.to_pkcs8v1().map(|d| d.as_ref().to_vec()),
            PrivateKey::Ed25519(k) => k.to_pkcs8v1().map(|d| d.as_ref().to_vec()),
        }
        .map_err(|_| KeyError::Crypto)?;
        Ok(Zeroizing::new(doc))
    }

    /// Sign `msg` (ECDSA: SHA-256, ASN.1 DER signature; Ed25519: pure).
    pub(crate) fn sign_raw(&self, msg: &[u8]) -> Result<Vec<u8>, aws_lc_rs::error::Unspecified> {
        match &self.key {
            PrivateKey::Ecdsa(k) => Ok(k.sign(&SystemRandom::new(), msg)?.as_ref().to_vec()),
            PrivateKey::Ed25519(k) => Ok(k.try_sign(msg)?.as_ref().to_vec()),
        }
    }

    pub(crate) fn public(&self) -> &PublicKey {
        &self.public
    }

    pub(crate) fn key_id_str(&self) -> &str {
        &self.key_id
    }
}

/// Strip leading whitespace (files often start with a newline); the PEM decoder is strict.
fn trim_pem(pem: &[u8]) -> &[u8] {
    let start = pem
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(pem.len());
    &pem[start..]
}

/// The password for encrypted cosign keys from `COSIGN_PASSWORD` (may be empty), or
/// `None` when the variable is unset.
///
/// # Errors
///
/// [`KeyError::PasswordNotUnicode`] when the variable holds non-UTF-8 bytes.
pub fn password_from_env() -> Result<Option<Zeroizing<Vec<u8>>>, KeyError> {
    match std::env::var("COSIGN_PASSWORD") {
        Ok(p) => Ok(Some(Zeroizing::new(p.into_bytes()))),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(_)) => Err(KeyError::PasswordNotUnicode),
    }
}

#[cfg(test)]
#[allow(clippy::panic)] // Tests report failures by panicking.
mod tests {
    use super::*;
    use crate::test_support::shared_dir;

    fn keys_dir() -> std::path::PathBuf {
        shared_dir().join("chains/keys")
    }

    fn read(name: &str) -> Vec<u8> {
        std::fs::read(keys_dir().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
    }

    #[test]
    fn cosign_key_matches_cosign_pub() {
        let password = read("cosign.password");
        let signer = LocalSigner::from_pem(&read("cosign.key"), Some(&password))
            .unwrap_or_else(|e| panic!("{e:?}"));
        let public = PublicKey::from_pem(&read("cosign.pub")).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(signer.public(), &public);
        assert_eq!(public.algorithm(), KeyAlgorithm::EcdsaP256Sha256);
        let s = signer.sign_raw(b"hello").unwrap_or_else(|e| panic!("{e}"));
        assert!(public.verify(b"hello", &s).is_ok());
        assert_eq!(public.verify(b"hellO", &s), Err(BadSignature));
        let digest = sha2::Sha256::digest(b"hello");
        assert!(public.verify_sha256_digest(&digest, &s).is_ok());
        assert_eq!(public.to_pem().as_bytes(), read("cosign.pub").as_slice());
        // The hint cosign v3 wrote into `attest-blob --bundle` output for this key.
        assert_eq!(
            public.sigstore_hint(),
            "Z3VancEMVXUDysRpZ2J+wT/XrTqlEx6AZyZdQn5ZDOY="
        );
    }

    #[test]
    fn cosign_key_wrong_or_missing_password() {
        let err = LocalSigner::from_pem(&read("cosign.key"), Some(b"wrong")).err();
        assert!(matches!(err, Some(KeyError::Cosign(_))), "{err:?}");
        let err = LocalSigner::from_pem(&read("cosign.key"), None).err();
        assert!(matches!(err, Some(KeyError::PasswordRequired)), "{err:?}");
    }

    #[test]
    fn chains_x509_pem_pkcs8() {
        let signer = LocalSigner::from_file(&keys_dir().join("x509.pem"), None)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(signer.public().algorithm(), KeyAlgorithm::EcdsaP256Sha256);
        assert!(signer.key_id_str().starts_with("SHA256:"));
        assert_eq!(signer.key_id_str().len(), "SHA256:".len() + 43);
        let dbg = format!("{signer:?}");
        assert!(!dbg.contains("PRIVATE"), "{dbg}");
    }

    #[test]
    fn sec1_and_ed25519() {
        let p256 = LocalSigner::generate_p256().unwrap_or_else(|e| panic!("{e}"));
        // SEC1: aws-lc's RFC 5915 export via a PKCS#8 round trip through the EC parser.
        let pkcs8 = p256.to_pkcs8_der().unwrap_or_else(|e| panic!("{e}"));
        let pem = pem_rfc7468::encode_string(PKCS8_PEM_LABEL, pem_rfc7468::LineEnding::LF, &pkcs8)
            .unwrap_or_else(|e| panic!("{e}"));
        let again = LocalSigner::from_pem(pem.as_bytes(), None).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(again.public(), p256.public());

        let ed = Ed25519KeyPair::generate_pkcs8v1(&SystemRandom::new())
            .unwrap_or_else(|e| panic!("{e}"));
        let ed = LocalSigner::from_private_der(ed.as_ref()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(ed.public().algorithm(), KeyAlgorithm::Ed25519);
        let s = ed.sign_raw(b"m").unwrap_or_else(|e| panic!("{e}"));
        assert!(ed.public().verify(b"m", &s).is_ok());
        let pem = ed.public().to_pem();
        assert_eq!(
            PublicKey::from_pem(pem.as_bytes()).ok().as_ref(),
            Some(ed.public())
        );
        assert!(ed.public().verify_sha256_digest(&[0; 32], &s).is_err());
    }

    #[test]
    fn sec1_ec_private_key_label() {
        let kp = EcdsaKeyPair::generate(&sig::ECDSA_P256_SHA256_ASN1_SIGNING)
            .unwrap_or_else(|e| panic!("{e}"));
        let sec1: aws_lc_rs::encoding::EcPrivateKeyRfc5915Der<'_> =
            kp.private_key().as_der().unwrap_or_else(|e| panic!("{e}"));
        let pem = pem_rfc7468::encode_string(
            EC_PRIVATE_KEY_PEM_LABEL,
            pem_rfc7468::LineEnding::LF,
            sec1.as_ref(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let signer = LocalSigner::from_pem(pem.as_bytes(), None).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            signer.public().spki_der(),
            kp.public_key()
                .as_der()
                .unwrap_or_else(|e| panic!("{e}"))
                .as_ref()
        );
    }

    #[test]
    fn rejects_other_pem() {
        let r = PublicKey::from_pem(&read("x509.pem"));
        assert!(matches!(r, Err(KeyError::PemLabel { .. })), "{r:?}");
        assert!(matches!(
            PublicKey::from_pem(b"junk"),
            Err(KeyError::Pem(_))
        ));
        let r = LocalSigner::from_pem(&read("cosign.pub"), None);
        assert!(matches!(r, Err(KeyError::PemLabel { .. })), "{r:?}");
    }
}
