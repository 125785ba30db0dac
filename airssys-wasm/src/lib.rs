#![doc = include_str!("../README.md")]

mod actor;
// The code `bindgen!` generates uses `unsafe` internally (typed-function handles); it is
// wasmtime's generated code, not ours. See the unsafe policy in ARCHITECTURE.md.
#[allow(unsafe_code)]
mod bindings;
mod cache;
#[cfg(feature = "cluster")]
mod cluster;
mod config;
mod engine;
mod host;
mod id;
mod loader;
mod observer;
mod registry;
mod route;

pub use actor::{
    ComponentActor, ComponentError, ComponentMessage, ComponentSpec, Envelope, upgrade,
};
pub use config::{ComponentLimits, EngineConfig};
pub use engine::{EngineError, WasmEngine};
pub use id::ComponentId;
pub use loader::{ComponentTemplate, LoadError};
pub use observer::{ComponentEvent, ComponentObserver, FailureKind};
pub use registry::{ComponentMetadata, ComponentRegistry, RegistryError};
