//! Fuzz the parsers of what remote signers answer: Fulcio's `/api/v2/signingCert` body
//! (PEM chains, detached SCTs), Vault's `transit/keys/KEY` body, and Sigstore signing
//! configs. Any bytes either parse or give an error, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

use hallmark::signing::{fulcio, kms};

fuzz_target!(|data: &[u8]| {
    if let Ok(chain) = fulcio::parse_signing_cert_response(data) {
        for der in &chain.certificates {
            let _ = hallmark::x509::Certificate::from_der(der).map(|c| hallmark::x509::embedded_scts(&c));
        }
        if let Some(sct) = &chain.detached_sct {
            let _ = hallmark::x509::parse_sct_list(sct);
        }
    }
    let _ = kms::vault::parse_key_response("fuzz", data);
    let _ = fulcio::fulcio_url_from_signing_config(data);
    let _ = fulcio::tsa_url_from_signing_config(data);
});
