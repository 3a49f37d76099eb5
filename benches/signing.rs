//! Placeholder: ECDSA P-256 sign/verify, p256 vs aws-lc-rs (being written).
fn main() {}
