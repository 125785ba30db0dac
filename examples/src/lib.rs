//! Runnable airssys examples: native actors in `rt/`, WebAssembly components in `wasm/`
//! (guest sources in `components/`); see `README.md`.
