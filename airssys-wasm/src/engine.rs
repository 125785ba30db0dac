//! [`WasmEngine`]: the one wasmtime engine of a process, its linker and its epoch ticker.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use wasmtime::component::{HasSelf, Linker};
use wasmtime::{Enabled, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use crate::bindings::Component as ComponentBindings;
use crate::host::HostState;
use crate::observer::ObserverSlot;
use crate::{ComponentObserver, EngineConfig, LoadError};

/// Why the engine could not be created.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError {
    /// wasmtime rejected the configuration.
    #[error("invalid engine configuration: {0}")]
    Config(String),
    /// The host functions could not be linked.
    #[error("linking the host interface failed: {0}")]
    Link(String),
    /// The epoch ticker thread could not be started.
    #[error("could not start the epoch ticker thread")]
    Ticker(#[source] std::io::Error),
}

/// The one wasmtime engine of a process: pooling allocator, epoch interruption, no
/// component-model concurrency, the WASI p2 and airssys host interfaces linked once, and a
/// ticker thread that advances the epoch. Cheap to clone.
#[derive(Clone)]
pub struct WasmEngine {
    pub(crate) inner: Arc<EngineInner>,
}

pub(crate) struct EngineInner {
    pub(crate) engine: Engine,
    pub(crate) linker: Linker<HostState>,
    pub(crate) config: EngineConfig,
    pub(crate) observer: ObserverSlot,
    stop: Arc<AtomicBool>,
}

impl Drop for EngineInner {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
    }
}

impl fmt::Debug for WasmEngine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WasmEngine")
            .field("config", &self.inner.config)
            .finish()
    }
}

impl WasmEngine {
    /// Creates the engine and starts its epoch ticker.
    ///
    /// # Errors
    ///
    /// [`EngineError`] when wasmtime rejects the configuration (for example a pool larger than
    /// the address space allows).
    pub fn new(config: EngineConfig) -> Result<Self, EngineError> {
        Self::build(config, ObserverSlot::default())
    }

    /// Creates the engine with a [`ComponentObserver`] that sees every component of it
    /// (instances started and stopped, capability denials, failures, upgrades).
    ///
    /// # Errors
    ///
    /// As [`new`](Self::new).
    pub fn with_observer(
        config: EngineConfig,
        observer: Arc<dyn ComponentObserver>,
    ) -> Result<Self, EngineError> {
        Self::build(config, ObserverSlot::new(Some(observer)))
    }

    fn build(config: EngineConfig, observer: ObserverSlot) -> Result<Self, EngineError> {
        let mut c = wasmtime::Config::new();
        c.epoch_interruption(true);
        c.concurrency_support(false);
        if config.fuel.is_some() {
            c.consume_fuel(true);
        }
        if config.pooling {
            let n = config.max_instances.max(1);
            let mut pool = PoolingAllocationConfig::default();
            // A Rust wasm32-wasip2 component uses ~3 core instances, 1 memory and 2 tables.
            pool.total_component_instances(n)
                .total_core_instances(n.saturating_mul(4))
                .total_memories(n.saturating_mul(2))
                .total_tables(n.saturating_mul(4))
                .total_stacks(n)
                .max_memory_size(config.max_memory_bytes)
                .decommit_batch_size(config.decommit_batch.max(1))
                .table_keep_resident(config.table_keep_resident)
                // Linear memories are reset with `madvise` (a Rust component's dirty pages sit
                // near its 1 MiB stack top, past any `memset` prefix worth keeping). Stated, not
                // defaulted: wasmtime may turn the `PAGEMAP_SCAN` reset on by default, and in
                // 48 that reset skips a dirty page the kernel swapped out, which the next
                // instance in the slot would then read (wasmtime PR #14357, open).
                .linear_memory_keep_resident(0)
                .pagemap_scan(Enabled::No);
            c.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        }
        let engine = Engine::new(&c).map_err(|e| EngineError::Config(format!("{e:#}")))?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)
            .map_err(|e| EngineError::Link(format!("{e:#}")))?;
        ComponentBindings::add_to_linker::<HostState, HasSelf<HostState>>(&mut linker, |s| s)
            .map_err(|e| EngineError::Link(format!("{e:#}")))?;

        let stop = Arc::new(AtomicBool::new(false));
        let weak = engine.weak();
        let tick = config.epoch_tick;
        let ticker_stop = Arc::clone(&stop);
        std::thread::Builder::new()
            .name("airssys-epoch".into())
            .spawn(move || {
                while !ticker_stop.load(Ordering::Acquire) {
                    std::thread::sleep(tick);
                    match weak.upgrade() {
                        Some(engine) => engine.increment_epoch(),
                        None => break,
                    }
                }
            })
            .map_err(EngineError::Ticker)?;
        Ok(Self {
            inner: Arc::new(EngineInner {
                engine,
                linker,
                config,
                observer,
                stop,
            }),
        })
    }

    /// The configuration the engine was built with.
    #[must_use]
    pub fn config(&self) -> &EngineConfig {
        &self.inner.config
    }

    /// Compiles (or loads from the cache) and type-checks a component against the
    /// `airssys:component` world.
    ///
    /// # Errors
    ///
    /// [`LoadError`] naming what is wrong: not wasm, a core module, invalid bytes, an import the
    /// host does not provide, a missing export.
    pub fn load(&self, bytes: &[u8]) -> Result<crate::ComponentTemplate, LoadError> {
        crate::loader::load(self, bytes, None)
    }

    /// Reads and loads a component file.
    ///
    /// # Errors
    ///
    /// [`LoadError::Read`] when the file cannot be read, otherwise as [`load`](Self::load).
    pub fn load_file(
        &self,
        path: impl AsRef<std::path::Path>,
    ) -> Result<crate::ComponentTemplate, LoadError> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|source| LoadError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        crate::loader::load(self, &bytes, Some(path.to_path_buf()))
    }
}
