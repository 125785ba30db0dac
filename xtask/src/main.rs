//! `cargo xtask`: project automation for airssys.
fn main() {}
