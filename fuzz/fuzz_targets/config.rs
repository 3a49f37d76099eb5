//! Fuzz the chains-config document parser.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = hallmark::config::Config::from_document(data);
});
