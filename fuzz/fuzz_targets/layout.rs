//! Fuzz layout reading: a layout envelope may come from anywhere. Any bytes either parse
//! (as a DSSE envelope, then its payload as an in-toto layout) or give an error, never
//! panic; a layout that parses re-serialises to JSON that parses to the same layout, and
//! every rule's text form parses back to the same rule.
#![no_main]

use libfuzzer_sys::fuzz_target;

fn layout(bytes: &[u8]) {
    if let Ok(l) = hallmark::layout::Layout::from_json(bytes) {
        let again = hallmark::layout::Layout::from_json(&l.to_json());
        assert_eq!(again.ok().as_ref(), Some(&l));
        for s in &l.steps {
            for r in s.expected_materials.iter().chain(&s.expected_products) {
                let tokens = r.to_tokens();
                assert_eq!(
                    hallmark::layout::ArtifactRule::from_tokens(&tokens)
                        .ok()
                        .as_ref(),
                    Some(r)
                );
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    match hallmark::dsse::Envelope::from_json(data) {
        Ok(env) => layout(&env.payload),
        Err(_) => layout(data),
    }
    let _ = hallmark::layout::derive::parse_pipeline(data);
});
