//! The raw-wasmtime floor shared by the component benches and the ingress load test: the
//! same `Config`, linker and WIT bindings as `airssys-wasm`, with nothing of airssys around
//! them (no actor, no capability checks, no observer).
//!
//! Measurement scaffolding: a setup failure (guest missing, engine refused) aborts the run, so
//! `expect` is allowed here.
#![allow(clippy::expect_used)]

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use airssys_wasm::EngineConfig;
use wasmtime::component::{HasSelf, Linker, ResourceTable};
use wasmtime::{Enabled, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

/// The floor's epoch deadline, in ticks, set before every call.
pub const FLOOR_DEADLINE_TICKS: u64 = 1_000;

// The code `bindgen!` generates uses `unsafe` internally (typed-function handles); it is
// wasmtime's generated code, not ours (as in airssys-wasm/src/lib.rs). Same WIT, same options as
// airssys-wasm/src/bindings.rs.
#[allow(unsafe_code, unreachable_pub, missing_docs)]
pub mod raw {
    wasmtime::component::bindgen!({
        path: "../airssys-wasm/wit",
        world: "component",
        imports: { default: async | trappable },
        exports: { default: async },
    });
}

use raw::airssys::component::host::{self as wit_host, HostError, LogLevel};
use raw::airssys::component::types as wit_types;
pub use raw::airssys::component::types::Envelope;

/// The floor's store data: what WASI p2 needs, nothing else.
pub struct FloorState {
    wasi: WasiCtx,
    table: ResourceTable,
}

impl WasiView for FloorState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl wit_types::Host for FloorState {}

/// Trivial host functions: the bench guests never call them; they exist so the floor links the
/// same imports as airssys.
impl wit_host::Host for FloorState {
    async fn self_id(&mut self) -> wasmtime::Result<String> {
        Ok(String::new())
    }

    async fn log(&mut self, _level: LogLevel, _message: String) -> wasmtime::Result<()> {
        Ok(())
    }

    async fn send(
        &mut self,
        _target: String,
        _payload: Vec<u8>,
    ) -> wasmtime::Result<Result<(), HostError>> {
        Ok(Err(HostError::Stopped))
    }

    async fn request(
        &mut self,
        _target: String,
        _payload: Vec<u8>,
        _timeout_ms: u32,
    ) -> wasmtime::Result<Result<Vec<u8>, HostError>> {
        Ok(Err(HostError::Stopped))
    }

    async fn publish(
        &mut self,
        _topic: String,
        _payload: Vec<u8>,
    ) -> wasmtime::Result<Result<u32, HostError>> {
        Ok(Ok(0))
    }

    async fn read_file(&mut self, _path: String) -> wasmtime::Result<Result<Vec<u8>, HostError>> {
        Ok(Err(HostError::Stopped))
    }

    async fn write_file(
        &mut self,
        _path: String,
        _data: Vec<u8>,
    ) -> wasmtime::Result<Result<(), HostError>> {
        Ok(Err(HostError::Stopped))
    }

    async fn net_exchange(
        &mut self,
        _host: String,
        _port: u16,
        _data: Vec<u8>,
        _timeout_ms: u32,
    ) -> wasmtime::Result<Result<Vec<u8>, HostError>> {
        Ok(Err(HostError::Stopped))
    }
}

/// The floor engine: the `Config` of `airssys-wasm/src/engine.rs`, its own epoch ticker, the
/// same linker. The ticker stops when this is dropped.
pub struct FloorEngine {
    /// The wasmtime engine.
    pub engine: Engine,
    linker: Linker<FloorState>,
    stop: Arc<AtomicBool>,
}

impl Drop for FloorEngine {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
    }
}

impl FloorEngine {
    /// Mirrors `WasmEngine::new` for `config` (pooling on, no fuel).
    pub fn new(config: &EngineConfig) -> Self {
        let mut c = wasmtime::Config::new();
        c.epoch_interruption(true);
        c.concurrency_support(false);
        let n = config.max_instances.max(1);
        let mut pool = PoolingAllocationConfig::default();
        pool.total_component_instances(n)
            .total_core_instances(n.saturating_mul(4))
            .total_memories(n.saturating_mul(2))
            .total_tables(n.saturating_mul(4))
            .total_stacks(n)
            .max_memory_size(config.max_memory_bytes)
            .decommit_batch_size(config.decommit_batch.max(1))
            .table_keep_resident(config.table_keep_resident)
            .linear_memory_keep_resident(0)
            .pagemap_scan(Enabled::No);
        c.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        let engine = Engine::new(&c).expect("floor engine");
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker).expect("link WASI p2");
        raw::Component::add_to_linker::<FloorState, HasSelf<FloorState>>(&mut linker, |s| s)
            .expect("link the host interface");

        let stop = Arc::new(AtomicBool::new(false));
        let weak = engine.weak();
        let tick = config.epoch_tick;
        let ticker_stop = Arc::clone(&stop);
        std::thread::Builder::new()
            .name("floor-epoch".into())
            .spawn(move || {
                while !ticker_stop.load(Ordering::Acquire) {
                    std::thread::sleep(tick);
                    match weak.upgrade() {
                        Some(engine) => engine.increment_epoch(),
                        None => break,
                    }
                }
            })
            .expect("floor epoch ticker");
        Self {
            engine,
            linker,
            stop,
        }
    }

    /// Compiles `file` and pre-instantiates it (once per guest, outside any measurement).
    pub fn load(&self, file: &Path) -> raw::ComponentPre<FloorState> {
        let bytes = std::fs::read(file).expect("read guest");
        let component =
            wasmtime::component::Component::new(&self.engine, bytes).expect("compile guest");
        let pre = self
            .linker
            .instantiate_pre(&component)
            .expect("instantiate_pre");
        raw::ComponentPre::new(pre).expect("the guest implements the world")
    }
}

/// A raw instance: its store and typed exports.
pub struct FloorInstance {
    store: Store<FloorState>,
    guest: raw::Component,
}

/// `Store::new` + `instantiate_async` + `call_init`: a raw instance ready for messages.
pub async fn floor_instantiate(
    engine: &Engine,
    pre: &raw::ComponentPre<FloorState>,
) -> FloorInstance {
    let state = FloorState {
        wasi: WasiCtx::builder().build(),
        table: ResourceTable::new(),
    };
    let mut store = Store::new(engine, state);
    store.set_epoch_deadline(FLOOR_DEADLINE_TICKS);
    let guest = pre
        .instantiate_async(&mut store)
        .await
        .expect("instantiate");
    store.set_epoch_deadline(FLOOR_DEADLINE_TICKS);
    guest
        .call_init(&mut store, &[])
        .await
        .expect("init call")
        .expect("init ok");
    FloorInstance { store, guest }
}

/// One typed `handle` call on a raw instance: the guest's answer, or the trap as text.
pub async fn floor_handle(
    inst: &mut FloorInstance,
    msg: &Envelope,
) -> Result<Result<Option<Vec<u8>>, String>, String> {
    inst.store.set_epoch_deadline(FLOOR_DEADLINE_TICKS);
    inst.guest
        .call_handle(&mut inst.store, msg)
        .await
        .map_err(|e| format!("{e:#}"))
}

/// A request envelope from `bench` carrying `payload`.
pub fn envelope(payload: &[u8]) -> Envelope {
    Envelope {
        sender: "bench".to_owned(),
        topic: None,
        payload: payload.to_vec(),
        expects_reply: true,
    }
}
