//! Rekor v1 signed entry timestamps (SET, the bundle's `inclusionPromise`).
//!
//! Rekor v1 (sigstore/rekor `pkg/api/entries.go`, verified in `pkg/verify`) signs, with
//! the log key, the RFC 8785 (JCS) canonical JSON of
//! `{"body": <standard base64 of the canonicalized body>, "integratedTime": <unix s>,
//! "logID": "<lowercase hex log id>", "logIndex": <global log index>}`; ECDSA signs the
//! SHA-256 of those bytes, the signature is ASN.1 DER.

use serde::Serialize;

use super::TransparencyError;
use crate::signing::PublicKey;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SetPayload {
    body: String,
    integrated_time: i64,
    #[serde(rename = "logID")]
    log_id: String,
    log_index: i64,
}

/// The bytes a SET signs.
///
/// # Errors
///
/// [`TransparencyError::Canonicalization`] if JCS serialization fails (it does not for
/// these field types).
pub fn set_payload(
    body: &[u8],
    integrated_time: i64,
    log_id: &[u8],
    log_index: i64,
) -> Result<Vec<u8>, TransparencyError> {
    use base64::Engine as _;
    let p = SetPayload {
        body: base64::engine::general_purpose::STANDARD.encode(body),
        integrated_time,
        log_id: hex::encode(log_id),
        log_index,
    };
    serde_json_canonicalizer::to_vec(&p).map_err(TransparencyError::Canonicalization)
}

/// Verify a SET with the log key.
///
/// # Errors
///
/// [`TransparencyError::InvalidSet`] when the signature does not verify.
pub fn verify_set(
    key: &PublicKey,
    set: &[u8],
    body: &[u8],
    integrated_time: i64,
    log_id: &[u8],
    log_index: i64,
) -> Result<(), TransparencyError> {
    let msg = set_payload(body, integrated_time, log_id, log_index)?;
    key.verify(&msg, set)
        .map_err(|_| TransparencyError::InvalidSet)
}

#[cfg(test)]
#[allow(clippy::panic)] // Tests report failures by panicking.
mod tests {
    use super::*;

    #[test]
    fn payload_is_jcs() {
        let p = set_payload(b"{}", 1_689_177_396, &[0xc0, 0xd2], 27_246_492)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            String::from_utf8_lossy(&p),
            r#"{"body":"e30=","integratedTime":1689177396,"logID":"c0d2","logIndex":27246492}"#
        );
    }
}
