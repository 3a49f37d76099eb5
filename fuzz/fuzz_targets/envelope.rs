//! Fuzz the DSSE envelope parser: any bytes either parse or give an error, never panic;
//! what parses re-serialises to an envelope that parses to the same value.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(env) = hallmark::dsse::Envelope::from_json(data) {
        let again = hallmark::dsse::Envelope::from_json(&env.to_json());
        assert_eq!(again.ok().as_ref(), Some(&env));
        let _ = env.pae();
    }
});
