//! The `hallmark` binary (being wired).
fn main() {}
