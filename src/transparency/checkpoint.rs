//! Signed checkpoints: the C2SP `signed-note` format carrying a `tlog-checkpoint` body.
//!
//! Note (c2sp.org/signed-note): UTF-8 text ending in a newline; the body is one or more
//! non-empty lines, then one blank line, then one or more signature lines
//! `— <name> <base64(4-byte key hint || signature)>` (U+2014 EM DASH, a space, the
//! signer name without spaces, a space, standard base64). The signature is over the body
//! bytes including its final newline (not the blank line). Unknown signers are ignored.
//!
//! Checkpoint body (c2sp.org/tlog-checkpoint): origin line, decimal tree size, base64
//! root hash, then optional extension lines (Rekor v1 writes `Timestamp: <nanos>`).
//!
//! Key hints: Rekor v1 (sigstore/rekor `pkg/util/signed_note.go`) signs with ECDSA and
//! uses the first 4 bytes of SHA-256 of the key's DER SubjectPublicKeyInfo — the log id.
//! Ed25519 note signers (golang.org/x/mod/sumdb/note, transparency-dev/formats `note`,
//! Rekor v2) use the first 4 bytes of `SHA-256(name || 0x0A || 0x01 || raw key)`, whose
//! full digest is the Rekor v2 log id in the trusted root. Either way a log's signature
//! line carries `log_id[..4]`; [`SignedCheckpoint::verify`] picks lines by that hint (and,
//! for Ed25519, re-derives the hint from the line's name) and needs one to verify.

use base64::Engine as _;
use sha2::{Digest as _, Sha256};

use super::TransparencyError;
use super::merkle::Hash;
use crate::signing::{KeyAlgorithm, PublicKey};

/// The largest note accepted (Rekor's are a few hundred bytes).
const MAX_NOTE_LEN: usize = 1 << 16;
/// The most signature lines accepted (the note spec's verifier limit is 100).
const MAX_SIGNATURES: usize = 100;

/// A checkpoint body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    /// The log's origin string (`rekor.sigstore.dev - 2605736670972794746`).
    pub origin: String,
    /// The tree size.
    pub size: u64,
    /// The root hash at that size.
    pub root_hash: Hash,
    /// Extension lines, in order, without their newlines.
    pub extensions: Vec<String>,
}

/// One signature line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoteSignature {
    /// The signer name.
    pub name: String,
    /// The 4-byte key hint.
    pub key_hint: [u8; 4],
    /// The signature bytes (ASN.1 DER for ECDSA, 64 bytes for Ed25519).
    pub signature: Vec<u8>,
}

/// A parsed signed checkpoint (signatures not yet verified).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedCheckpoint {
    /// The signed text: the body lines with their newlines.
    pub body: String,
    /// The checkpoint the body holds.
    pub checkpoint: Checkpoint,
    /// The signature lines.
    pub signatures: Vec<NoteSignature>,
}

/// The note key hint a signer `name` with `key` uses: Ed25519 as golang.org/x/mod's
/// note (`SHA-256(name || "\n" || 0x01 || key)[..4]`), ECDSA as Rekor v1
/// (`SHA-256(SPKI DER)[..4]`).
#[must_use]
pub fn key_hint(name: &str, key: &PublicKey) -> [u8; 4] {
    let digest: [u8; 32] = match key.algorithm() {
        KeyAlgorithm::Ed25519 => {
            let spki = key.spki_der();
            let raw = &spki[spki.len().saturating_sub(32)..];
            let mut h = Sha256::new();
            h.update(name.as_bytes());
            h.update([b'\n', 0x01]);
            h.update(raw);
            h.finalize().into()
        }
        _ => Sha256::digest(key.spki_der()).into(),
    };
    [digest[0], digest[1], digest[2], digest[3]]
}

fn bad(what: &'static str) -> TransparencyError {
    TransparencyError::Checkpoint(what)
}

impl SignedCheckpoint {
    /// Parse a signed checkpoint note.
    ///
    /// # Errors
    ///
    /// [`TransparencyError::Checkpoint`] says which rule of the note or checkpoint format
    /// the text breaks.
    pub fn parse(text: &str) -> Result<Self, TransparencyError> {
        if text.len() > MAX_NOTE_LEN {
            return Err(bad("note too long"));
        }
        if !text.ends_with('\n') {
            return Err(bad("note does not end with a newline"));
        }
        if text.chars().any(|c| c.is_control() && c != '\n') {
            return Err(bad("note holds control characters"));
        }
        let split = text
            .rfind("\n\n")
            .ok_or_else(|| bad("note has no blank line before its signatures"))?;
        let body = &text[..=split];
        let sig_text = &text[split + 2..];
        let mut signatures = Vec::new();
        for line in sig_text.lines() {
            if signatures.len() == MAX_SIGNATURES {
                return Err(bad("too many signature lines"));
            }
            signatures.push(parse_signature_line(line)?);
        }
        if signatures.is_empty() {
            return Err(bad("note has no signature lines"));
        }
        let checkpoint = parse_body(body)?;
        Ok(Self {
            body: body.to_owned(),
            checkpoint,
            signatures,
        })
    }

    /// Verify the checkpoint against a log: at least one signature line with the log's
    /// key hint (`log_id[..4]`) must verify with `key` over the body. For Ed25519 (Rekor
    /// v2, tlog-checkpoint) the line's name must also be the checkpoint origin and give
    /// that hint. Lines from other signers (witnesses) are ignored.
    ///
    /// # Errors
    ///
    /// [`TransparencyError::CheckpointSignature`] when no line verifies.
    pub fn verify(
        &self,
        key: &PublicKey,
        log_id: &[u8],
    ) -> Result<&NoteSignature, TransparencyError> {
        let want: Option<[u8; 4]> = log_id.get(..4).and_then(|h| h.try_into().ok());
        self.signatures
            .iter()
            .filter(|s| Some(s.key_hint) == want)
            .filter(|s| {
                key.algorithm() != KeyAlgorithm::Ed25519
                    || (s.name == self.checkpoint.origin && key_hint(&s.name, key) == s.key_hint)
            })
            .find(|s| key.verify(self.body.as_bytes(), &s.signature).is_ok())
            .ok_or(TransparencyError::CheckpointSignature)
    }
}

fn parse_signature_line(line: &str) -> Result<NoteSignature, TransparencyError> {
    let rest = line
        .strip_prefix("\u{2014} ")
        .ok_or_else(|| bad("signature line does not start with an em dash and a space"))?;
    let (name, b64) = rest
        .split_once(' ')
        .ok_or_else(|| bad("signature line has no signature"))?;
    if name.is_empty() || name.contains('+') || b64.contains(' ') {
        return Err(bad("malformed signature line"));
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .map_err(|_| bad("signature is not standard base64"))?;
    if bytes.len() < 5 {
        return Err(bad("signature too short"));
    }
    Ok(NoteSignature {
        name: name.to_owned(),
        key_hint: [bytes[0], bytes[1], bytes[2], bytes[3]],
        signature: bytes[4..].to_vec(),
    })
}

fn parse_body(body: &str) -> Result<Checkpoint, TransparencyError> {
    let mut lines = body.lines();
    let origin = lines.next().unwrap_or_default();
    if origin.is_empty() {
        return Err(bad("checkpoint has no origin line"));
    }
    let size_line = lines
        .next()
        .ok_or_else(|| bad("checkpoint has no tree size"))?;
    if size_line.is_empty()
        || !size_line.bytes().all(|b| b.is_ascii_digit())
        || (size_line.len() > 1 && size_line.starts_with('0'))
    {
        return Err(bad("checkpoint tree size is not a decimal number"));
    }
    let size: u64 = size_line
        .parse()
        .map_err(|_| bad("checkpoint tree size out of range"))?;
    let root_line = lines
        .next()
        .ok_or_else(|| bad("checkpoint has no root hash"))?;
    let root = base64::engine::general_purpose::STANDARD
        .decode(root_line)
        .map_err(|_| bad("checkpoint root hash is not base64"))?;
    let root_hash: Hash = root
        .as_slice()
        .try_into()
        .map_err(|_| bad("checkpoint root hash is not 32 bytes"))?;
    let mut extensions = Vec::new();
    for l in lines {
        if l.is_empty() {
            return Err(bad("checkpoint has an empty line"));
        }
        extensions.push(l.to_owned());
    }
    Ok(Checkpoint {
        origin: origin.to_owned(),
        size,
        root_hash,
        extensions,
    })
}

#[cfg(test)]
#[allow(clippy::panic)] // Tests report failures by panicking.
mod tests {
    use super::*;
    use crate::trust::decode_b64;

    const V1: &str = "rekor.sigstore.dev - 2605736670972794746\n75408393\nFnnj13Uu1jdksPc4HZLapKX329dVlD5+MGNsiqBq1XM=\n\n\u{2014} rekor.sigstore.dev wNI9ajBFAiBTyiBM9WtyOTgohje6QZ5rFGJUdMq7Wk3A6oThE98SUgIhAMvxDwa7FyqRqg+YV3rdPPrfS23w19iK+piMSGVOmP5w\n";
    const REKOR_KEY: &str = "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE2G2Y+2tabdTV5BcGiBIx0a9fAFwrkBbmLSGtks4L3qX6yYY0zufBnhC8Ur/iy55GhWP/9A/bY2LhC30M9+RYtw==";
    const REKOR_ID: &str = "wNI9atQGlz+VWfO6LRygH4QUfY/8W4RFwiT5i5WRgB0=";
    const V2: &str = "log2025-alpha1.rekor.sigstage.dev\n736\nrs1YPY0ydAV0lxgfrq5pE4oRpUJwo3syeps5+eGUTDI=\n\n\u{2014} log2025-alpha1.rekor.sigstage.dev 8w1amdbj1mjNN674dHAkD92+QZoEgBC7o0mXYSTRluDjQrOPjrps3zQB9ut+ShLepyZPsWBDi5IB3yXyjgjQT6OG9A8=\n\u{2014} witness.example O8PH5AAAAABopO8+4O9uzScQrNEnGdKLYXSPoUjH1Se4n92W+wT/j5Kel/4J2XWE4bEe9bpIVUD6EGOeUDFkSWz/rbDhvVcJ/2OrDw==\n";
    const V2_KEY: &str = "MCowBQYDK2VwAyEAPn+AREHoBaZ7wgS1zBqpxmLSGnyhxXj4lFxSdWVB8o8=";
    const V2_ID: &str = "8w1amZ2S5mJIQkQmPxdMuOrL/oJkvFg9MnQXmeOCXck=";

    fn key(b64: &str) -> PublicKey {
        PublicKey::from_spki_der(&decode_b64(b64).unwrap_or_default())
            .unwrap_or_else(|e| panic!("{e}"))
    }
    fn id(b64: &str) -> Vec<u8> {
        decode_b64(b64).unwrap_or_default()
    }

    #[test]
    fn rekor_v1_checkpoint() {
        let c = SignedCheckpoint::parse(V1).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            c.checkpoint.origin,
            "rekor.sigstore.dev - 2605736670972794746"
        );
        assert_eq!(c.checkpoint.size, 75_408_393);
        assert!(c.checkpoint.extensions.is_empty());
        assert_eq!(c.signatures.len(), 1);
        assert_eq!(c.signatures[0].name, "rekor.sigstore.dev");
        let k = key(REKOR_KEY);
        assert_eq!(key_hint("ignored", &k).as_slice(), &id(REKOR_ID)[..4]);
        assert!(c.verify(&k, &id(REKOR_ID)).is_ok());
        // Wrong key; wrong log id (hint); tampered size.
        assert!(c.verify(&key(V2_KEY), &id(REKOR_ID)).is_err());
        assert!(c.verify(&k, &id(V2_ID)).is_err());
        let tampered = V1.replace("75408393", "75408394");
        let t = SignedCheckpoint::parse(&tampered).unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(
            t.verify(&k, &id(REKOR_ID)),
            Err(TransparencyError::CheckpointSignature)
        ));
    }

    #[test]
    fn rekor_v2_ed25519_checkpoint_with_witness() {
        let c = SignedCheckpoint::parse(V2).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.checkpoint.size, 736);
        assert_eq!(c.signatures.len(), 2);
        let k = key(V2_KEY);
        // The Ed25519 note key id of the origin is the trusted root's log id.
        assert_eq!(
            key_hint("log2025-alpha1.rekor.sigstage.dev", &k).as_slice(),
            &id(V2_ID)[..4]
        );
        let s = c.verify(&k, &id(V2_ID)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.name, "log2025-alpha1.rekor.sigstage.dev");
        // Another name for the same signature: the Ed25519 hint no longer matches.
        let renamed = V2.replace(
            "\u{2014} log2025-alpha1.rekor.sigstage.dev",
            "\u{2014} log2025-alpha1.rekor.github.dev",
        );
        let r = SignedCheckpoint::parse(&renamed).unwrap_or_else(|e| panic!("{e}"));
        assert!(r.verify(&k, &id(V2_ID)).is_err());
    }

    #[test]
    fn malformed_notes() {
        for (text, why) in [
            ("", "empty"),
            (
                "736\nrs1YPY0ydAV0lxgfrq5pE4oRpUJwo3syeps5+eGUTDI=\n\n\u{2014} a AAAAAAA=\n",
                "no origin",
            ),
            ("o\n736\n\n\u{2014} a AAAAAAA=\n", "no root"),
            (
                "o\n0736\nrs1YPY0ydAV0lxgfrq5pE4oRpUJwo3syeps5+eGUTDI=\n\n\u{2014} a AAAAAAA=\n",
                "leading zero",
            ),
            (
                "o\n736\nrs1YPY0ydAV0lxgfrq5pE4oRpUJwo3syeps5+eGUTDI=\n\n",
                "no signatures",
            ),
            (
                "o\n736\nrs1YPY0ydAV0lxgfrq5pE4oRpUJwo3syeps5+eGUTDI=\n\n- a AAAAAAA=\n",
                "hyphen",
            ),
            (
                "o\n736\nrs1YPY0ydAV0lxgfrq5pE4oRpUJwo3syeps5+eGUTDI=\n\n\u{2014} a AAAAAAA=",
                "no final newline",
            ),
            ("o\n736\nAAAA\n\n\u{2014} a AAAAAAA=\n", "short root"),
            (
                "o\n736\nrs1YPY0ydAV0lxgfrq5pE4oRpUJwo3syeps5+eGUTDI=\n\n\u{2014} a AAA=\n",
                "short sig",
            ),
        ] {
            assert!(SignedCheckpoint::parse(text).is_err(), "{why}");
        }
        let ext = "o\n1\nrs1YPY0ydAV0lxgfrq5pE4oRpUJwo3syeps5+eGUTDI=\nTimestamp: 1\n\n\u{2014} a AAAAAAA=\n";
        let c = SignedCheckpoint::parse(ext).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.checkpoint.extensions, vec!["Timestamp: 1".to_owned()]);
    }
}
