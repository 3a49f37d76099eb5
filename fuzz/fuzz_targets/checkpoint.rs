//! Fuzz the signed checkpoint (C2SP signed-note) parser: any text either parses or gives
//! an error, never panics; what parses has a 32-byte root and at least one signature,
//! and verifying it with a fixed log key fails without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(note) = hallmark::transparency::SignedCheckpoint::parse(text) else {
        return;
    };
    assert!(!note.signatures.is_empty());
    assert!(note.body.ends_with('\n'));
    assert!(!note.checkpoint.origin.is_empty());
    // The Rekor v1 public-good log key (P-256) and its log id prefix.
    const KEY: &[u8] = b"-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE2G2Y+2tabdTV5BcGiBIx0a9fAFwr
kBbmLSGtks4L3qX6yYY0zufBnhC8Ur/iy55GhWP/9A/bY2LhC30M9+RYtw==
-----END PUBLIC KEY-----
";
    if let Ok(key) = hallmark::signing::PublicKey::from_pem(KEY) {
        let _ = note.verify(&key, &[0xc0, 0xd2, 0x3d, 0x6a]);
    }
});
