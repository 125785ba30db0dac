//! The optional on-disk cache of precompiled components (`.cwasm`).
//!
//! # Unsafe policy
//!
//! This module holds the workspace's only `unsafe` block: `Component::deserialize_file` trusts
//! that the file is a `.cwasm` this engine configuration produced, because wasmtime validates
//! such files only lightly (they contain machine code). The cache is sound as long as:
//!
//! 1. only this host writes the cache directory (it must not be writable by anyone who may not
//!    run native code as the host user — the same trust as the host binary itself);
//! 2. the key binds the file to both the exact component bytes (SHA-256) and the engine's
//!    compatibility hash (wasmtime version and every compilation setting), so a file is never
//!    loaded by an engine that did not produce it; a mismatch wasmtime does detect is an error
//!    that falls back to compiling;
//! 3. files are written to a unique temporary name and renamed, so a crash or a concurrent
//!    writer never leaves a torn file under a valid key, and a mapped file is never truncated.
//!    (Never edit a cache file in place while a host runs: a truncated mapped file is a SIGBUS.)

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use wasmtime::component::Component;

use crate::loader::compile_bytes;
use crate::{LoadError, WasmEngine};

/// Compiles `bytes`, going through the cache directory when one is configured.
pub(crate) fn compile(
    engine: &WasmEngine,
    bytes: &[u8],
    digest: &str,
) -> Result<Component, LoadError> {
    let Some(dir) = engine.inner.config.cache_dir.as_deref() else {
        return compile_bytes(engine, bytes);
    };
    let path = dir.join(format!("{digest}-{}.cwasm", compat_key(engine)));
    if path.is_file() {
        match load_cached(engine, &path) {
            Ok(component) => return Ok(component),
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "discarding unusable cache entry");
                let _ = std::fs::remove_file(&path);
            }
        }
    }
    let component = compile_bytes(engine, bytes)?;
    if let Err(e) = store(dir, &path, &component) {
        tracing::warn!(path = %path.display(), error = %e, "could not write the component cache");
    }
    Ok(component)
}

fn compat_key(engine: &WasmEngine) -> String {
    let mut h = DefaultHasher::new();
    engine
        .inner
        .engine
        .precompile_compatibility_hash()
        .hash(&mut h);
    format!("{:016x}", h.finish())
}

#[allow(unsafe_code)]
fn load_cached(engine: &WasmEngine, path: &Path) -> Result<Component, String> {
    // SAFETY: see the module docs — the file was written by `store` below for this exact
    // component digest and engine compatibility hash, in a directory only this host writes.
    unsafe { Component::deserialize_file(&engine.inner.engine, path) }.map_err(|e| format!("{e:#}"))
}

fn store(dir: &Path, path: &Path, component: &Component) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    let blob = component.serialize().map_err(|e| format!("{e:#}"))?;
    // Unique per write: concurrent loads of the same component (threads of one process, or
    // several processes) must never write into a file another one is renaming or mapping.
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let tmp = path.with_extension(format!("tmp-{}-{n}", std::process::id()));
    std::fs::write(&tmp, blob).map_err(|e| e.to_string())?;
    std::fs::rename(&tmp, path).map_err(|e| e.to_string())
}
