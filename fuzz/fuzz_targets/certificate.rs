//! Fuzz the X.509 parsers: certificates (identity, Fulcio extensions, embedded SCTs,
//! precertificate reconstruction), TLS-encoded SCT lists and RFC 3161 timestamps. Any
//! bytes either parse or give an error, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

use hallmark::x509;

fuzz_target!(|data: &[u8]| {
    if let Ok(cert) = x509::Certificate::from_der(data) {
        let _ = cert.identity();
        let _ = cert.spki_der();
        let _ = x509::embedded_scts(&cert);
        let _ = x509::precertificate_tbs(&cert);
        // Self-issued check: exercises signature verification paths without trust.
        let logs = |_: &[u8; 32], _: std::time::SystemTime| Some(data.to_vec());
        let _ = x509::verify_embedded_scts_with_issuer(&cert, &cert, &logs);
        if let Ok(ca) = x509::CertificateAuthority::new(vec![cert.clone()]) {
            let _ = x509::verify_chain(
                &cert,
                &[ca],
                cert.not_before(),
                x509::KeyPurpose::CodeSigning,
            );
        }
    }
    let _ = x509::parse_sct_list(data);
    if let Ok(ts) = x509::tsa::Timestamp::parse(data) {
        let _ = ts.gen_time();
    }
});
