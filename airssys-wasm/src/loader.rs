//! Loading a component: validation with clear errors, compilation, type-checking against the
//! world, and the `InstancePre` shared by every instance of that component.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use sha2::{Digest, Sha256};
use wasmtime::component::Component;

use crate::WasmEngine;
use crate::bindings::ComponentPre;
use crate::host::HostState;

/// Why a component could not be loaded. Every variant names the problem; none is a panic.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// The file could not be read.
    #[error("cannot read component file {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The bytes do not start with the WebAssembly magic number.
    #[error("not a WebAssembly binary: the file does not start with \\0asm")]
    NotWasm,
    /// A core WebAssembly module was given where a component is needed.
    #[error(
        "this is a core WebAssembly module, not a component: build it for the wasm32-wasip2 \
         target (or wrap it with `wasm-tools component new`)"
    )]
    CoreModule,
    /// The bytes are not a valid component.
    #[error("invalid component: {0}")]
    Invalid(String),
    /// The component imports something the host does not provide.
    #[error("the component needs an import the host does not provide: {0}")]
    UnsatisfiedImport(String),
    /// The component does not export what the `airssys:component` world requires.
    #[error("the component does not implement the airssys:component world: {0}")]
    WorldMismatch(String),
}

/// A compiled, type-checked component: the shared, cheap-to-clone template every instance
/// (and every restart) of that component is created from.
#[derive(Clone)]
pub struct ComponentTemplate {
    pub(crate) inner: Arc<TemplateInner>,
}

pub(crate) struct TemplateInner {
    pub(crate) pre: ComponentPre<HostState>,
    pub(crate) engine: WasmEngine,
    digest: String,
    size: usize,
    source: Option<PathBuf>,
}

impl fmt::Debug for ComponentTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ComponentTemplate")
            .field("digest", &self.digest())
            .field("size", &self.inner.size)
            .field("source", &self.inner.source)
            .finish()
    }
}

impl ComponentTemplate {
    /// The SHA-256 of the component bytes, hex: identifies a version.
    #[must_use]
    pub fn digest(&self) -> &str {
        &self.inner.digest
    }

    /// The size of the component bytes.
    #[must_use]
    pub fn size(&self) -> usize {
        self.inner.size
    }

    /// The file it was loaded from, if any.
    #[must_use]
    pub fn source(&self) -> Option<&std::path::Path> {
        self.inner.source.as_deref()
    }

    pub(crate) fn engine(&self) -> &WasmEngine {
        &self.inner.engine
    }
}

const MAGIC: &[u8; 4] = b"\0asm";
const CORE_VERSION: [u8; 4] = [1, 0, 0, 0];

pub(crate) fn load(
    engine: &WasmEngine,
    bytes: &[u8],
    source: Option<PathBuf>,
) -> Result<ComponentTemplate, LoadError> {
    if bytes.len() < 8 || &bytes[..4] != MAGIC {
        return Err(LoadError::NotWasm);
    }
    if bytes[4..8] == CORE_VERSION {
        return Err(LoadError::CoreModule);
    }
    let digest = hex::encode(Sha256::digest(bytes));
    let component = crate::cache::compile(engine, bytes, &digest)?;
    let instance_pre = engine
        .inner
        .linker
        .instantiate_pre(&component)
        .map_err(|e| LoadError::UnsatisfiedImport(format!("{e:#}")))?;
    let pre =
        ComponentPre::new(instance_pre).map_err(|e| LoadError::WorldMismatch(format!("{e:#}")))?;
    Ok(ComponentTemplate {
        inner: Arc::new(TemplateInner {
            pre,
            engine: engine.clone(),
            digest,
            size: bytes.len(),
            source,
        }),
    })
}

/// Compiles without a cache.
pub(crate) fn compile_bytes(engine: &WasmEngine, bytes: &[u8]) -> Result<Component, LoadError> {
    Component::new(&engine.inner.engine, bytes).map_err(|e| LoadError::Invalid(format!("{e:#}")))
}
