//! cosign's encrypted private key format and `generate-key-pair`.
//!
//! The PEM block (`ENCRYPTED SIGSTORE PRIVATE KEY`, legacy `ENCRYPTED COSIGN PRIVATE
//! KEY`) holds the JSON of go-securesystemslib's `encrypted` package:
//!
//! ```json
//! {"kdf":{"name":"scrypt","params":{"N":32768,"r":8,"p":1},"salt":"<b64 32 bytes>"},
//!  "cipher":{"name":"nacl/secretbox","nonce":"<b64 24 bytes>"},
//!  "ciphertext":"<b64 secretbox(PKCS#8 DER)>"}
//! ```
//!
//! The secretbox key is `scrypt(password, salt, N, r, p, 32)`. cosign writes
//! N=32768, r=8, p=1 and reads the password from `COSIGN_PASSWORD`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use crypto_secretbox::XSalsa20Poly1305;
use crypto_secretbox::aead::{Aead as _, KeyInit as _};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::keys::{KeyError, LocalSigner};

/// PEM label cosign (v2+) writes for encrypted private keys.
pub const SIGSTORE_PRIVATE_KEY_PEM_LABEL: &str = "ENCRYPTED SIGSTORE PRIVATE KEY";
/// Legacy PEM label of encrypted cosign private keys (still read).
pub const COSIGN_PRIVATE_KEY_PEM_LABEL: &str = "ENCRYPTED COSIGN PRIVATE KEY";

/// scrypt parameters cosign writes (go-securesystemslib's defaults).
const SCRYPT_LOG_N: u8 = 15; // N = 32768
const SCRYPT_R: u32 = 8;
const SCRYPT_P: u32 = 1;
const SALT_LEN: usize = 32;
const NONCE_LEN: usize = 24;
const KEY_LEN: usize = 32;
/// Upper bounds on attacker-chosen scrypt costs (memory is 128·N·r bytes).
const MAX_LOG_N: u8 = 20;
const MAX_R: u32 = 32;
const MAX_P: u32 = 16;
const MAX_MEMORY: u64 = 256 * 1024 * 1024;

/// Errors decoding, decrypting or encrypting a cosign key. Never carries secrets.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CosignKeyError {
    /// The PEM body is not the expected JSON document.
    #[error("encrypted key is not the expected JSON document")]
    Json(#[source] serde_json::Error),
    /// The key derivation function is not scrypt.
    #[error("unsupported key derivation function `{0}` (expected scrypt)")]
    UnsupportedKdf(String),
    /// The cipher is not nacl/secretbox.
    #[error("unsupported cipher `{0}` (expected nacl/secretbox)")]
    UnsupportedCipher(String),
    /// scrypt parameters are invalid or exceed hallmark's cost limits.
    #[error("unsupported scrypt parameters N={n} r={r} p={p}")]
    ScryptParams {
        /// N (must be a power of two ≤ 2^20).
        n: u64,
        /// r (≤ 32).
        r: u64,
        /// p (≤ 16).
        p: u64,
    },
    /// A base64 field is malformed or has the wrong length.
    #[error("encrypted key field `{0}` is malformed")]
    Field(&'static str),
    /// Authentication failed: wrong password or corrupted ciphertext.
    #[error("decryption failed (wrong password or corrupted key)")]
    Decrypt,
    /// The crypto library failed (entropy, encryption).
    #[error("encryption failed")]
    Crypto,
}

impl CosignKeyError {
    /// Whether retrying may help: never.
    #[must_use]
    pub fn is_transient(&self) -> bool {
        false
    }
}

#[derive(Serialize, Deserialize)]
struct EncryptedKey {
    kdf: Kdf,
    cipher: Cipher,
    ciphertext: String,
}

#[derive(Serialize, Deserialize)]
struct Kdf {
    name: String,
    params: ScryptParams,
    salt: String,
}

#[derive(Serialize, Deserialize)]
struct ScryptParams {
    #[serde(rename = "N")]
    n: u64,
    r: u64,
    p: u64,
}

#[derive(Serialize, Deserialize)]
struct Cipher {
    name: String,
    nonce: String,
}

fn scrypt_params(p: &ScryptParams) -> Result<scrypt::Params, CosignKeyError> {
    let bad = || CosignKeyError::ScryptParams {
        n: p.n,
        r: p.r,
        p: p.p,
    };
    if !p.n.is_power_of_two() || p.n < 2 {
        return Err(bad());
    }
    let log_n = u8::try_from(p.n.trailing_zeros()).map_err(|_| bad())?;
    let r = u32::try_from(p.r).map_err(|_| bad())?;
    let par = u32::try_from(p.p).map_err(|_| bad())?;
    if log_n > MAX_LOG_N || r == 0 || r > MAX_R || par == 0 || par > MAX_P {
        return Err(bad());
    }
    if 128u64.saturating_mul(p.n).saturating_mul(p.r) > MAX_MEMORY {
        return Err(bad());
    }
    scrypt::Params::new(log_n, r, par, KEY_LEN).map_err(|_| bad())
}

fn derive_key(
    password: &[u8],
    salt: &[u8],
    params: &scrypt::Params,
) -> Result<Zeroizing<[u8; KEY_LEN]>, CosignKeyError> {
    let mut key = Zeroizing::new([0u8; KEY_LEN]);
    scrypt::scrypt(password, salt, params, key.as_mut()).map_err(|_| CosignKeyError::Crypto)?;
    Ok(key)
}

/// Decrypt the JSON body of an encrypted cosign key into PKCS#8 DER.
pub(crate) fn decrypt(json: &[u8], password: &[u8]) -> Result<Zeroizing<Vec<u8>>, CosignKeyError> {
    let doc: EncryptedKey = serde_json::from_slice(json).map_err(CosignKeyError::Json)?;
    if doc.kdf.name != "scrypt" {
        return Err(CosignKeyError::UnsupportedKdf(doc.kdf.name));
    }
    if doc.cipher.name != "nacl/secretbox" {
        return Err(CosignKeyError::UnsupportedCipher(doc.cipher.name));
    }
    let params = scrypt_params(&doc.kdf.params)?;
    let salt = STANDARD
        .decode(&doc.kdf.salt)
        .map_err(|_| CosignKeyError::Field("kdf.salt"))?;
    let nonce = STANDARD
        .decode(&doc.cipher.nonce)
        .map_err(|_| CosignKeyError::Field("cipher.nonce"))?;
    let nonce: [u8; NONCE_LEN] = nonce
        .try_into()
        .map_err(|_| CosignKeyError::Field("cipher.nonce"))?;
    let ciphertext = STANDARD
        .decode(&doc.ciphertext)
        .map_err(|_| CosignKeyError::Field("ciphertext"))?;
    let key = derive_key(password, &salt, &params)?;
    let cipher = XSalsa20Poly1305::new(&(*key).into());
    let plain = cipher
        .decrypt(&nonce.into(), ciphertext.as_slice())
        .map_err(|_| CosignKeyError::Decrypt)?;
    Ok(Zeroizing::new(plain))
}

/// Encrypt PKCS#8 DER into the JSON body of an encrypted cosign key (cosign's
/// parameters, fresh random salt and nonce).
pub(crate) fn encrypt(plaintext: &[u8], password: &[u8]) -> Result<Vec<u8>, CosignKeyError> {
    let mut salt = [0u8; SALT_LEN];
    let mut nonce = [0u8; NONCE_LEN];
    aws_lc_rs::rand::fill(&mut salt).map_err(|_| CosignKeyError::Crypto)?;
    aws_lc_rs::rand::fill(&mut nonce).map_err(|_| CosignKeyError::Crypto)?;
    let params = scrypt::Params::new(SCRYPT_LOG_N, SCRYPT_R, SCRYPT_P, KEY_LEN)
        .map_err(|_| CosignKeyError::Crypto)?;
    let key = derive_key(password, &salt, &params)?;
    let cipher = XSalsa20Poly1305::new(&(*key).into());
    let ciphertext = cipher
        .encrypt(&nonce.into(), plaintext)
        .map_err(|_| CosignKeyError::Crypto)?;
    let doc = EncryptedKey {
        kdf: Kdf {
            name: "scrypt".into(),
            params: ScryptParams {
                n: 1 << SCRYPT_LOG_N,
                r: SCRYPT_R.into(),
                p: SCRYPT_P.into(),
            },
            salt: STANDARD.encode(salt),
        },
        cipher: Cipher {
            name: "nacl/secretbox".into(),
            nonce: STANDARD.encode(nonce),
        },
        ciphertext: STANDARD.encode(ciphertext),
    };
    serde_json::to_vec(&doc).map_err(CosignKeyError::Json)
}

/// A generated key pair in cosign's file formats.
pub struct GeneratedKeyPair {
    /// `cosign.key`: PEM `ENCRYPTED SIGSTORE PRIVATE KEY` (secret: zeroized on drop).
    pub private_pem: Zeroizing<String>,
    /// `cosign.pub`: PEM `PUBLIC KEY`.
    pub public_pem: String,
}

impl std::fmt::Debug for GeneratedKeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GeneratedKeyPair")
            .field("public_pem", &self.public_pem)
            .finish_non_exhaustive()
    }
}

/// Generate an ECDSA P-256 key pair as cosign's `generate-key-pair` does: the private
/// key as PKCS#8 encrypted with `password` (scrypt N=32768 r=8 p=1, nacl/secretbox) in
/// an `ENCRYPTED SIGSTORE PRIVATE KEY` PEM block, and the public key as PEM SPKI.
///
/// # Errors
///
/// [`KeyError::Crypto`] / [`KeyError::Cosign`] when the crypto library fails.
pub fn generate_key_pair(password: &[u8]) -> Result<GeneratedKeyPair, KeyError> {
    let signer = LocalSigner::generate_p256()?;
    let pkcs8 = signer.to_pkcs8_der()?;
    let json = Zeroizing::new(encrypt(&pkcs8, password).map_err(KeyError::Cosign)?);
    let private_pem = pem_rfc7468::encode_string(
        SIGSTORE_PRIVATE_KEY_PEM_LABEL,
        pem_rfc7468::LineEnding::LF,
        &json,
    )
    .map_err(|_| KeyError::Crypto)?;
    Ok(GeneratedKeyPair {
        private_pem: Zeroizing::new(private_pem),
        public_pem: signer.public().to_pem(),
    })
}

#[cfg(test)]
#[allow(clippy::panic)] // Tests report failures by panicking.
mod tests {
    use super::*;
    use crate::signing::PublicKey;

    #[test]
    fn generated_pair_round_trips() {
        let pair = generate_key_pair(b"").unwrap_or_else(|e| panic!("{e}"));
        assert!(
            pair.private_pem
                .starts_with("-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n")
        );
        let signer = LocalSigner::from_pem(pair.private_pem.as_bytes(), Some(b""))
            .unwrap_or_else(|e| panic!("{e}"));
        let public =
            PublicKey::from_pem(pair.public_pem.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(signer.public(), &public);
        assert!(!format!("{pair:?}").contains("PRIVATE"));
        let err = LocalSigner::from_pem(pair.private_pem.as_bytes(), Some(b"x")).err();
        assert!(
            matches!(err, Some(KeyError::Cosign(CosignKeyError::Decrypt))),
            "{err:?}"
        );
    }

    #[test]
    fn rejects_hostile_parameters() {
        let doc = |n: u64, kdf: &str, cipher: &str| {
            format!(
                r#"{{"kdf":{{"name":"{kdf}","params":{{"N":{n},"r":8,"p":1}},"salt":"AA=="}},"cipher":{{"name":"{cipher}","nonce":"AA=="}},"ciphertext":"AA=="}}"#
            )
        };
        let e = |s: String| decrypt(s.as_bytes(), b"").err();
        assert!(matches!(
            e(doc(1 << 30, "scrypt", "nacl/secretbox")),
            Some(CosignKeyError::ScryptParams { .. })
        ));
        assert!(matches!(
            e(doc(1000, "scrypt", "nacl/secretbox")),
            Some(CosignKeyError::ScryptParams { .. })
        ));
        assert!(matches!(
            e(doc(1024, "pbkdf2", "nacl/secretbox")),
            Some(CosignKeyError::UnsupportedKdf(_))
        ));
        assert!(matches!(
            e(doc(1024, "scrypt", "aes")),
            Some(CosignKeyError::UnsupportedCipher(_))
        ));
        assert!(matches!(
            e(doc(1024, "scrypt", "nacl/secretbox")),
            Some(CosignKeyError::Field("cipher.nonce"))
        ));
        assert!(matches!(decrypt(b"{", b""), Err(CosignKeyError::Json(_))));
    }
}
