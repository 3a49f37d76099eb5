//! Fuzz the Sigstore bundle reader: any bytes either parse or give an error, never
//! panic; what parses survives a write/read round trip, and verification of it with a
//! fixed key returns (an error) without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(bundle) = hallmark::bundle::Bundle::from_json(data) else {
        return;
    };
    let again = hallmark::bundle::Bundle::from_json(&bundle.to_json());
    assert_eq!(again.ok().as_ref(), Some(&bundle));
    // A fixed P-256 key (the public half of Chains' test fixture); verification must
    // fail without panicking.
    const KEY: &[u8] = b"-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEBOiqYumsujclXOl4CGGdW46tRjs4
2oi8XEki9rNijnEekF6egMrTGZaHmbCTyz2B4VzdRZDD0/7TO4mHleqBDw==
-----END PUBLIC KEY-----
";
    if let Ok(key) = hallmark::verify::VerificationKey::from_pem(KEY) {
        let opts = hallmark::verify::BundleOptions {
            predicate_type: None,
            insecure_ignore_tlog: true,
        };
        let _ = hallmark::verify::verify_bundle(
            &bundle,
            hallmark::verify::ArtifactRef::Bytes(data),
            &key,
            &opts,
        );
    }
});
