//! DSSE v1 (Dead Simple Signing Envelope): the pre-authentication encoding and the
//! envelope's JSON form. Pure: no I/O, no keys.
//!
//! Wire form (DSSE v1 / go-securesystemslib, as Tekton Chains and cosign write it):
//!
//! ```json
//! {"payloadType":"application/vnd.in-toto+json","payload":"<std base64>",
//!  "signatures":[{"keyid":"...","sig":"<std base64 ASN.1 DER>"}]}
//! ```
//!
//! The signature is computed over [`pae`]`(payloadType, payload)`, never over the JSON.
//! Parsing ([`Envelope::from_json`]) decodes the base64 fields into bytes, so a value of
//! type [`Envelope`] always holds well-formed content.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

/// The payload type of in-toto statements (`application/vnd.in-toto+json`).
pub const IN_TOTO_PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";

/// The media type of a DSSE envelope as a file or OCI layer.
pub const ENVELOPE_MEDIA_TYPE: &str = "application/vnd.dsse.envelope.v1+json";

/// Errors reading a DSSE envelope.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DsseError {
    /// The bytes are not a JSON envelope of the expected shape (a required field is
    /// missing or has the wrong type).
    #[error("malformed DSSE envelope JSON")]
    Json(#[source] serde_json::Error),
    /// A base64 field (`payload` or a signature's `sig`) is not standard base64.
    #[error("DSSE envelope field `{field}` is not valid base64")]
    Base64 {
        /// The JSON field name (`payload` or `signatures[i].sig`).
        field: String,
        /// The decoder's reason.
        #[source]
        source: base64::DecodeError,
    },
}

impl DsseError {
    /// Whether retrying may help: never, the input is malformed.
    #[must_use]
    pub fn is_transient(&self) -> bool {
        false
    }
}

/// One signature of an envelope.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Signature {
    /// The key hint (`keyid`); may be empty. Never trusted: it only selects a key.
    pub keyid: String,
    /// The raw signature bytes (ASN.1 DER for ECDSA, 64 bytes for Ed25519).
    pub sig: Vec<u8>,
}

/// A DSSE envelope with decoded payload and signatures.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Envelope {
    /// The payload type (`application/vnd.in-toto+json` for attestations).
    pub payload_type: String,
    /// The signed payload bytes (decoded from base64).
    pub payload: Vec<u8>,
    /// The signatures over [`pae`]`(payload_type, payload)`.
    pub signatures: Vec<Signature>,
}

/// The JSON shape, field order as go-securesystemslib marshals it.
#[derive(Serialize, Deserialize)]
struct WireEnvelope {
    #[serde(rename = "payloadType")]
    payload_type: String,
    payload: String,
    // `null` is accepted as "no signatures" (Go marshals a nil slice that way); the
    // verifier rejects an envelope without signatures.
    #[serde(default, deserialize_with = "null_as_empty")]
    signatures: Vec<WireSignature>,
}

#[derive(Serialize, Deserialize)]
struct WireSignature {
    #[serde(default)]
    keyid: String,
    sig: String,
}

fn null_as_empty<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

impl Envelope {
    /// An unsigned envelope (add signatures with [`Envelope::signatures`]).
    #[must_use]
    pub fn new(payload_type: impl Into<String>, payload: impl Into<Vec<u8>>) -> Self {
        Self {
            payload_type: payload_type.into(),
            payload: payload.into(),
            signatures: Vec::new(),
        }
    }

    /// Parse an envelope from its JSON bytes.
    ///
    /// # Errors
    ///
    /// [`DsseError::Json`] when the JSON is malformed or a required field
    /// (`payloadType`, `payload`, `signatures[].sig`) is missing;
    /// [`DsseError::Base64`] when `payload` or a `sig` is not standard base64.
    pub fn from_json(bytes: &[u8]) -> Result<Self, DsseError> {
        let wire: WireEnvelope = serde_json::from_slice(bytes).map_err(DsseError::Json)?;
        Self::from_wire(wire)
    }

    fn from_wire(wire: WireEnvelope) -> Result<Self, DsseError> {
        let payload = decode_b64(&wire.payload, "payload")?;
        let signatures = wire
            .signatures
            .into_iter()
            .enumerate()
            .map(|(i, s)| {
                Ok(Signature {
                    keyid: s.keyid,
                    sig: decode_b64(&s.sig, &format!("signatures[{i}].sig"))?,
                })
            })
            .collect::<Result<Vec<_>, DsseError>>()?;
        Ok(Self {
            payload_type: wire.payload_type,
            payload,
            signatures,
        })
    }

    fn to_wire(&self) -> WireEnvelope {
        WireEnvelope {
            payload_type: self.payload_type.clone(),
            payload: STANDARD.encode(&self.payload),
            signatures: self
                .signatures
                .iter()
                .map(|s| WireSignature {
                    keyid: s.keyid.clone(),
                    sig: STANDARD.encode(&s.sig),
                })
                .collect(),
        }
    }

    /// The envelope as compact JSON (`payloadType`, `payload`, `signatures` in that order;
    /// `keyid` always present), as Tekton Chains writes it.
    #[must_use]
    pub fn to_json(&self) -> Vec<u8> {
        // Written directly (the bytes `serde_json` gives for `WireEnvelope`): base64 needs
        // no JSON escaping, so it is encoded straight into the output, and nothing is
        // copied into an intermediate struct.
        let b64_len = |n: usize| n.div_ceil(3) * 4;
        let sigs: usize = self
            .signatures
            .iter()
            .map(|s| 32 + s.keyid.len() + b64_len(s.sig.len()))
            .sum();
        let mut out =
            Vec::with_capacity(64 + self.payload_type.len() + b64_len(self.payload.len()) + sigs);
        out.extend_from_slice(b"{\"payloadType\":");
        write_json_str(&mut out, &self.payload_type);
        out.extend_from_slice(b",\"payload\":\"");
        push_b64(&mut out, &self.payload);
        out.extend_from_slice(b"\",\"signatures\":[");
        for (i, s) in self.signatures.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(b"{\"keyid\":");
            write_json_str(&mut out, &s.keyid);
            out.extend_from_slice(b",\"sig\":\"");
            push_b64(&mut out, &s.sig);
            out.extend_from_slice(b"\"}");
        }
        out.extend_from_slice(b"]}");
        out
    }

    /// The bytes a signature covers: [`pae`]`(payload_type, payload)`.
    #[must_use]
    pub fn pae(&self) -> Vec<u8> {
        pae(&self.payload_type, &self.payload)
    }
}

impl Serialize for Envelope {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_wire().serialize(s)
    }
}

impl<'de> Deserialize<'de> for Envelope {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Self::from_wire(WireEnvelope::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// Appends `s` as a JSON string, escaped as `serde_json` escapes it.
fn write_json_str(out: &mut Vec<u8>, s: &str) {
    // Writing a string into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, s);
}

/// Appends the standard base64 of `bytes`.
fn push_b64(out: &mut Vec<u8>, bytes: &[u8]) {
    let start = out.len();
    out.resize(start + bytes.len().div_ceil(3) * 4, 0);
    // The buffer is exactly the padded encoded length, so encoding cannot fail.
    let n = STANDARD.encode_slice(bytes, &mut out[start..]).unwrap_or(0);
    out.truncate(start + n);
}

fn decode_b64(s: &str, field: &str) -> Result<Vec<u8>, DsseError> {
    STANDARD.decode(s).map_err(|source| DsseError::Base64 {
        field: field.to_owned(),
        source,
    })
}

/// DSSE v1 pre-authentication encoding:
/// `"DSSEv1" SP LEN(type) SP type SP LEN(body) SP body`, lengths as ASCII decimal byte
/// counts.
#[must_use]
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let t = payload_type.as_bytes();
    let mut out = Vec::with_capacity(32 + t.len() + payload.len());
    out.extend_from_slice(b"DSSEv1 ");
    out.extend_from_slice(t.len().to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(t);
    out.push(b' ');
    out.extend_from_slice(payload.len().to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload);
    out
}

#[cfg(test)]
#[allow(clippy::panic)] // Tests report failures by panicking.
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn pae_known_vectors() {
        // From the DSSE v1 protocol description.
        assert_eq!(
            pae("http://example.com/HelloWorld", b"hello world"),
            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world".to_vec()
        );
        assert_eq!(pae("", b""), b"DSSEv1 0  0 ".to_vec());
        assert_eq!(
            pae(IN_TOTO_PAYLOAD_TYPE, b"{}"),
            b"DSSEv1 28 application/vnd.in-toto+json 2 {}".to_vec()
        );
        // Lengths count bytes, not characters.
        assert_eq!(
            pae("é", "ü".as_bytes()),
            "DSSEv1 2 é 2 ü".as_bytes().to_vec()
        );
    }

    #[test]
    fn parses_chains_style_envelope() {
        let json = br#"{"payloadType":"application/vnd.in-toto+json","payload":"e30=","signatures":[{"keyid":"SHA256:abc","sig":"AQID"}]}"#;
        let env = Envelope::from_json(json).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(env.payload, b"{}");
        assert_eq!(
            env.signatures,
            vec![Signature {
                keyid: "SHA256:abc".into(),
                sig: vec![1, 2, 3]
            }]
        );
        assert_eq!(env.to_json(), json.to_vec());
    }

    #[test]
    fn keyid_optional_and_null_signatures() {
        let env =
            Envelope::from_json(br#"{"payloadType":"t","payload":"","signatures":[{"sig":""}]}"#)
                .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(env.signatures[0].keyid, "");
        let env = Envelope::from_json(br#"{"payloadType":"t","payload":"","signatures":null}"#)
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(env.signatures.is_empty());
    }

    #[test]
    fn rejects_bad_input_with_clear_errors() {
        let missing = Envelope::from_json(br#"{"payload":"","signatures":[]}"#);
        assert!(matches!(missing, Err(DsseError::Json(_))), "{missing:?}");
        let bad = Envelope::from_json(br#"{"payloadType":"t","payload":"!!","signatures":[]}"#);
        assert!(
            matches!(&bad, Err(DsseError::Base64 { field, .. }) if field == "payload"),
            "{bad:?}"
        );
        let bad = Envelope::from_json(
            br#"{"payloadType":"t","payload":"","signatures":[{"sig":"a-b_"}]}"#,
        );
        assert!(
            matches!(&bad, Err(DsseError::Base64 { field, .. }) if field == "signatures[0].sig"),
            "{bad:?}"
        );
        assert!(Envelope::from_json(b"").is_err());
        assert!(Envelope::from_json(b"[]").is_err());
    }

    proptest! {
        #[test]
        fn json_round_trip(
            payload_type in ".{0,40}",
            payload in proptest::collection::vec(any::<u8>(), 0..200),
            sigs in proptest::collection::vec((".{0,20}", proptest::collection::vec(any::<u8>(), 0..80)), 0..4),
        ) {
            let env = Envelope {
                payload_type,
                payload,
                signatures: sigs.into_iter().map(|(keyid, sig)| Signature { keyid, sig }).collect(),
            };
            let back = Envelope::from_json(&env.to_json());
            prop_assert_eq!(back.ok(), Some(env.clone()));
            let via_serde: Result<Envelope, _> = serde_json::from_value(serde_json::to_value(&env).unwrap_or_default());
            prop_assert_eq!(via_serde.ok(), Some(env));
        }

        #[test]
        fn pae_structure(payload_type in ".{0,40}", payload in proptest::collection::vec(any::<u8>(), 0..200)) {
            let p = pae(&payload_type, &payload);
            let head = format!("DSSEv1 {} {} {} ", payload_type.len(), payload_type, payload.len());
            prop_assert!(p.starts_with(head.as_bytes()));
            prop_assert_eq!(&p[head.len()..], &payload[..]);
        }

        #[test]
        fn from_json_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = Envelope::from_json(&bytes);
        }
    }
}
