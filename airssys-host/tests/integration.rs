//! Integration tests of the `airssys` binary: started as a child process on a free loopback
//! port, driven over real HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod integration {
    mod admin;
    mod check;
    mod cluster;
    mod docs;
    mod ingress;
    mod lifecycle;
    mod support;
    mod tutorial;
}
