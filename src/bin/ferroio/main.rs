//! The `ferroio` command-line tool.
fn main() {}
