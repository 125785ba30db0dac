//! Integration tests of airssys-wasm with real components built from `examples/components`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod integration {
    mod bad_input;
    mod hostile;
    mod interop;
    mod scale;
    pub(crate) mod support;
    mod upgrade;
}
