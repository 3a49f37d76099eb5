//! The `hallmark` binary: parses flags and hands over to [`hallmark::cli`].
fn main() {}
