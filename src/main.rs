//! The `ferrotrace` command line.

fn main() {}
