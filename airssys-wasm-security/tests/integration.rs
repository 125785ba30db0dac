//! Integration tests for airssys-wasm-security, one module per topic.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod integration {
    mod audit_tamper;
    mod escapes;
    mod handles;
    mod manifest;
    mod properties;
    mod targets;
}
