//! Algorithm identifiers, hashing and signature verification (aws-lc-rs).

use aws_lc_rs::digest;
use aws_lc_rs::signature::{self as sig, UnparsedPublicKey, VerificationAlgorithm};
use der::asn1::ObjectIdentifier;
use spki::SubjectPublicKeyInfoOwned;

use super::X509Error;

/// OIDs used by the checks (RFC 5480, RFC 5758, RFC 8017, RFC 8410, RFC 5280).
pub(crate) mod oid {
    use der::asn1::ObjectIdentifier as O;

    pub const EC_PUBLIC_KEY: O = O::new_unwrap("1.2.840.10045.2.1");
    pub const SECP256R1: O = O::new_unwrap("1.2.840.10045.3.1.7");
    pub const SECP384R1: O = O::new_unwrap("1.3.132.0.34");
    pub const RSA_ENCRYPTION: O = O::new_unwrap("1.2.840.113549.1.1.1");
    pub const ED25519: O = O::new_unwrap("1.3.101.112");
    pub const ECDSA_SHA256: O = O::new_unwrap("1.2.840.10045.4.3.2");
    pub const ECDSA_SHA384: O = O::new_unwrap("1.2.840.10045.4.3.3");
    pub const ECDSA_SHA512: O = O::new_unwrap("1.2.840.10045.4.3.4");
    pub const RSA_SHA256: O = O::new_unwrap("1.2.840.113549.1.1.11");
    pub const RSA_SHA384: O = O::new_unwrap("1.2.840.113549.1.1.12");
    pub const RSA_SHA512: O = O::new_unwrap("1.2.840.113549.1.1.13");
    pub const SHA256: O = O::new_unwrap("2.16.840.1.101.3.4.2.1");
    pub const SHA384: O = O::new_unwrap("2.16.840.1.101.3.4.2.2");
    pub const SHA512: O = O::new_unwrap("2.16.840.1.101.3.4.2.3");

    pub const BASIC_CONSTRAINTS: O = O::new_unwrap("2.5.29.19");
    pub const KEY_USAGE: O = O::new_unwrap("2.5.29.15");
    pub const EXT_KEY_USAGE: O = O::new_unwrap("2.5.29.37");
    pub const SUBJECT_ALT_NAME: O = O::new_unwrap("2.5.29.17");
    pub const SUBJECT_KEY_ID: O = O::new_unwrap("2.5.29.14");
    pub const AUTHORITY_KEY_ID: O = O::new_unwrap("2.5.29.35");
    pub const CODE_SIGNING: O = O::new_unwrap("1.3.6.1.5.5.7.3.3");
    pub const TIME_STAMPING: O = O::new_unwrap("1.3.6.1.5.5.7.3.8");
    /// RFC 6962 §3.3 embedded SCT list.
    pub const SCT_LIST: O = O::new_unwrap("1.3.6.1.4.1.11129.2.4.2");
}

/// A hash function named by an AlgorithmIdentifier.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Hash {
    Sha256,
    Sha384,
    Sha512,
}

impl Hash {
    pub(crate) fn from_oid(oid: &ObjectIdentifier) -> Option<Self> {
        match *oid {
            oid::SHA256 => Some(Self::Sha256),
            oid::SHA384 => Some(Self::Sha384),
            oid::SHA512 => Some(Self::Sha512),
            _ => None,
        }
    }

    pub(crate) fn digest(self, data: &[u8]) -> Vec<u8> {
        let alg = match self {
            Self::Sha256 => &digest::SHA256,
            Self::Sha384 => &digest::SHA384,
            Self::Sha512 => &digest::SHA512,
        };
        digest::digest(alg, data).as_ref().to_vec()
    }
}

/// The signature scheme: the key kind and the hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Scheme {
    Ecdsa(Hash),
    Rsa(Hash),
    Ed25519,
}

impl Scheme {
    /// From a signature AlgorithmIdentifier OID. `digest` is consulted when the OID names
    /// only the key type (CMS signer infos may say `ecPublicKey` / `rsaEncryption`).
    pub(crate) fn from_oid(
        oid: &ObjectIdentifier,
        digest: Option<Hash>,
        what: &'static str,
    ) -> Result<Self, X509Error> {
        Ok(match (*oid, digest) {
            (oid::ECDSA_SHA256, _) => Self::Ecdsa(Hash::Sha256),
            (oid::ECDSA_SHA384, _) => Self::Ecdsa(Hash::Sha384),
            (oid::ECDSA_SHA512, _) => Self::Ecdsa(Hash::Sha512),
            (oid::RSA_SHA256, _) => Self::Rsa(Hash::Sha256),
            (oid::RSA_SHA384, _) => Self::Rsa(Hash::Sha384),
            (oid::RSA_SHA512, _) => Self::Rsa(Hash::Sha512),
            (oid::ED25519, _) => Self::Ed25519,
            (oid::EC_PUBLIC_KEY, Some(h)) => Self::Ecdsa(h),
            (oid::RSA_ENCRYPTION, Some(h)) => Self::Rsa(h),
            _ => {
                return Err(X509Error::UnsupportedAlgorithm {
                    what,
                    oid: oid.to_string(),
                });
            }
        })
    }
}

/// Verify `signature` over `message` with the key in `spki` under `scheme`.
///
/// Returns `Ok(false)` when the signature does not verify, an error when the key or the
/// key/scheme combination is unsupported.
pub(crate) fn verify(
    spki: &SubjectPublicKeyInfoOwned,
    scheme: Scheme,
    message: &[u8],
    signature: &[u8],
) -> Result<bool, X509Error> {
    let key_oid = spki.algorithm.oid;
    let unsupported = || X509Error::UnsupportedAlgorithm {
        what: "public key",
        oid: key_oid.to_string(),
    };
    let alg: &'static dyn VerificationAlgorithm = match (key_oid, scheme) {
        (oid::EC_PUBLIC_KEY, Scheme::Ecdsa(h)) => {
            let curve = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.decode_as::<ObjectIdentifier>().ok())
                .ok_or_else(unsupported)?;
            match (curve, h) {
                (oid::SECP256R1, Hash::Sha256) => &sig::ECDSA_P256_SHA256_ASN1,
                (oid::SECP256R1, Hash::Sha384) => &sig::ECDSA_P256_SHA384_ASN1,
                (oid::SECP256R1, Hash::Sha512) => &sig::ECDSA_P256_SHA512_ASN1,
                (oid::SECP384R1, Hash::Sha256) => &sig::ECDSA_P384_SHA256_ASN1,
                (oid::SECP384R1, Hash::Sha384) => &sig::ECDSA_P384_SHA384_ASN1,
                (oid::SECP384R1, Hash::Sha512) => &sig::ECDSA_P384_SHA512_ASN1,
                _ => {
                    return Err(X509Error::UnsupportedAlgorithm {
                        what: "elliptic curve",
                        oid: curve.to_string(),
                    });
                }
            }
        }
        (oid::RSA_ENCRYPTION, Scheme::Rsa(h)) => match h {
            Hash::Sha256 => &sig::RSA_PKCS1_2048_8192_SHA256,
            Hash::Sha384 => &sig::RSA_PKCS1_2048_8192_SHA384,
            Hash::Sha512 => &sig::RSA_PKCS1_2048_8192_SHA512,
        },
        (oid::ED25519, Scheme::Ed25519) => &sig::ED25519,
        _ => return Err(unsupported()),
    };
    // The BIT STRING holds the algorithm's raw key: a SEC1 point, a PKCS#1
    // RSAPublicKey, or the 32 Ed25519 bytes — what `UnparsedPublicKey` expects.
    let raw = spki
        .subject_public_key
        .as_bytes()
        .ok_or(X509Error::Malformed {
            what: "subject public key",
            source: None,
        })?;
    Ok(UnparsedPublicKey::new(alg, raw)
        .verify(message, signature)
        .is_ok())
}
