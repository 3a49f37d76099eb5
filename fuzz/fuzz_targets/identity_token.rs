//! Fuzz the identity-token (JWT claims) parser and the challenge/expiry logic keyless
//! signing applies to it. Any bytes either parse or give an error, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

use hallmark::signing::token::IdentityToken;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(token) = IdentityToken::parse(text) {
        let _ = token.challenge();
        let _ = token.expires_at();
        let _ = token.check_fresh(std::time::SystemTime::now());
        let _ = format!("{token:?}");
    }
});
