//! Bad input is a clear error naming the problem, never a panic.

use airssys_wasm::{EngineConfig, LoadError, WasmEngine};
use proptest::prelude::*;

use super::support::{engine, guest_bytes};

fn small_engine() -> WasmEngine {
    WasmEngine::new(EngineConfig::default().with_pooling(false)).unwrap()
}

#[test]
fn bytes_that_are_not_wasm_are_named_so() {
    let err = small_engine().load(b"#!/bin/sh\necho hi\n").unwrap_err();
    assert!(matches!(err, LoadError::NotWasm), "{err}");
    assert!(small_engine().load(b"").is_err());
}

#[test]
fn a_core_module_is_told_apart_from_a_component() {
    // The smallest valid core module: magic + version 1.
    let err = small_engine().load(b"\0asm\x01\0\0\0").unwrap_err();
    assert!(matches!(err, LoadError::CoreModule), "{err}");
    assert!(err.to_string().contains("wasm32-wasip2"), "{err}");
}

#[test]
fn a_truncated_component_is_invalid() {
    let bytes = guest_bytes("echo");
    let err = small_engine().load(&bytes[..bytes.len() / 2]).unwrap_err();
    assert!(matches!(err, LoadError::Invalid(_)), "{err}");
}

#[test]
fn a_component_missing_an_export_does_not_implement_the_world() {
    let err = engine(8)
        .load(&guest_bytes("bad-missing-export"))
        .unwrap_err();
    assert!(matches!(err, LoadError::WorldMismatch(_)), "{err}");
    // It exports only `handle`; the error names the first required export it lacks.
    assert!(err.to_string().contains("no export `"), "{err}");
}

#[test]
fn a_component_importing_what_the_host_lacks_names_the_import() {
    let err = engine(8)
        .load(&guest_bytes("bad-unknown-import"))
        .unwrap_err();
    assert!(matches!(err, LoadError::UnsatisfiedImport(_)), "{err}");
    assert!(err.to_string().contains("airssys:bad/secret"), "{err}");
}

#[test]
fn a_missing_file_is_a_read_error_naming_the_path() {
    let err = small_engine()
        .load_file("/nonexistent/echo.wasm")
        .unwrap_err();
    assert!(matches!(err, LoadError::Read { .. }), "{err}");
    assert!(err.to_string().contains("/nonexistent/echo.wasm"), "{err}");
}

#[test]
fn the_precompiled_cache_is_written_once_and_reused() {
    let dir = tempfile::tempdir().unwrap();
    let config = EngineConfig::default()
        .with_pooling(false)
        .with_cache_dir(dir.path());
    let engine = WasmEngine::new(config).unwrap();
    let bytes = guest_bytes("echo");
    let first = engine.load(&bytes).unwrap();
    let files: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(files.len(), 1);
    let second = engine.load(&bytes).unwrap();
    assert_eq!(first.digest(), second.digest());
    // A corrupted cache entry is discarded and recompiled, not trusted. (Replace the file
    // rather than truncate it: the templates above map it.)
    let entry = files[0].as_ref().unwrap().path();
    let garbage = dir.path().join("garbage");
    std::fs::write(&garbage, b"garbage").unwrap();
    std::fs::rename(&garbage, &entry).unwrap();
    engine.load(&bytes).unwrap();
    assert_ne!(std::fs::read(&entry).unwrap(), b"garbage");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic_the_loader(
        body in proptest::collection::vec(any::<u8>(), 0..512),
        header in prop_oneof![
            Just(Vec::new()),
            Just(b"\0asm\x0d\0\x01\0".to_vec()),
            Just(b"\0asm\x01\0\0\0".to_vec()),
        ],
    ) {
        thread_local! {
            static ENGINE: WasmEngine = small_engine();
        }
        let mut bytes = header;
        bytes.extend(body);
        let result = ENGINE.with(|e| e.load(&bytes));
        prop_assert!(result.is_err());
    }
}
