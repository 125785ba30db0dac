//! Engine-wide configuration and per-component limits.

use std::path::PathBuf;
use std::time::Duration;

/// Limits of one component instance. Exceeding any of them fails that component only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ComponentLimits {
    /// Maximum size of each linear memory, in bytes (default 64 MiB).
    pub memory_bytes: usize,
    /// Maximum elements per table (default 20 000).
    pub table_elements: usize,
    /// Maximum core instances per component instance (default 32; a Rust `wasm32-wasip2`
    /// component uses about 3).
    pub instances: usize,
    /// Wall-clock budget for one call into the component, host calls included (default 1 s).
    pub deadline: Duration,
    /// Fuel per call, when the engine meters fuel ([`EngineConfig::fuel`]); `None` = the
    /// engine's default.
    pub fuel: Option<u64>,
}

impl Default for ComponentLimits {
    fn default() -> Self {
        Self {
            memory_bytes: 64 << 20,
            table_elements: 20_000,
            instances: 32,
            deadline: Duration::from_secs(1),
            fuel: None,
        }
    }
}

impl ComponentLimits {
    /// Sets the linear-memory limit.
    #[must_use]
    pub fn with_memory_bytes(mut self, bytes: usize) -> Self {
        self.memory_bytes = bytes;
        self
    }

    /// Sets the per-call deadline.
    #[must_use]
    pub fn with_deadline(mut self, deadline: Duration) -> Self {
        self.deadline = deadline;
        self
    }

    /// Sets the fuel per call (needs [`EngineConfig::fuel`]).
    #[must_use]
    pub fn with_fuel(mut self, fuel: u64) -> Self {
        self.fuel = Some(fuel);
        self
    }

    /// Sets the table-element limit.
    #[must_use]
    pub fn with_table_elements(mut self, elements: usize) -> Self {
        self.table_elements = elements;
        self
    }
}

/// Configuration of the one [`WasmEngine`](crate::WasmEngine) of a process.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct EngineConfig {
    /// How many component instances may be alive at once (sizes the pooling allocator;
    /// default 1 000). Instantiating past it is an error, not a wait.
    pub max_instances: u32,
    /// Upper bound of any component's linear memory, in bytes (default 64 MiB); per-component
    /// [`ComponentLimits::memory_bytes`] may only lower it.
    pub max_memory_bytes: usize,
    /// Use the pooling allocator (default true): instantiation in microseconds, memory reserved
    /// up front.
    pub pooling: bool,
    /// Pooling: freed slots whose pages go back to the kernel together, in one
    /// `process_madvise` call (default 8; 0 or 1 returns each at once). Every `madvise` that
    /// drops pages makes each other core running this process flush its TLB (an interrupt);
    /// batching sends one round of those per batch instead of about three per instance torn
    /// down. A freed slot stays resident in the batch until the batch is full, or until the
    /// pool runs out of free slots (then every batch is flushed first), so an idle host may
    /// keep up to `decommit_batch - 1` freed memories and tables resident per core.
    pub decommit_batch: usize,
    /// Pooling: bytes of each freed table zeroed in place rather than given back to the
    /// kernel (default 64 KiB, 8 192 function references). A table within it is reset with a
    /// `memset` and no `madvise`; a larger table has the rest decommitted as usual. Each table
    /// slot that has held a table keeps up to this much resident.
    pub table_keep_resident: usize,
    /// How often the epoch advances; deadlines are checked at this granularity (default 1 ms).
    pub epoch_tick: Duration,
    /// Meter fuel, with this default budget per call (default off: epochs are cheaper).
    pub fuel: Option<u64>,
    /// Keep precompiled components (`.cwasm`) here, keyed by content hash and engine
    /// compatibility (default none).
    pub cache_dir: Option<PathBuf>,
    /// Limits applied to components that do not set their own.
    pub default_limits: ComponentLimits,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            max_instances: 1_000,
            max_memory_bytes: 64 << 20,
            pooling: true,
            decommit_batch: 8,
            table_keep_resident: 64 << 10,
            epoch_tick: Duration::from_millis(1),
            fuel: None,
            cache_dir: None,
            default_limits: ComponentLimits::default(),
        }
    }
}

impl EngineConfig {
    /// Sets how many instances may be alive at once.
    #[must_use]
    pub fn with_max_instances(mut self, n: u32) -> Self {
        self.max_instances = n;
        self
    }

    /// Turns the pooling allocator on or off.
    #[must_use]
    pub fn with_pooling(mut self, pooling: bool) -> Self {
        self.pooling = pooling;
        self
    }

    /// Sets how many freed pool slots are decommitted together (see
    /// [`decommit_batch`](Self::decommit_batch)).
    #[must_use]
    pub fn with_decommit_batch(mut self, slots: usize) -> Self {
        self.decommit_batch = slots;
        self
    }

    /// Sets how many bytes of a freed table are zeroed in place (see
    /// [`table_keep_resident`](Self::table_keep_resident)).
    #[must_use]
    pub fn with_table_keep_resident(mut self, bytes: usize) -> Self {
        self.table_keep_resident = bytes;
        self
    }

    /// Meters fuel with this default budget per call.
    #[must_use]
    pub fn with_fuel(mut self, fuel: u64) -> Self {
        self.fuel = Some(fuel);
        self
    }

    /// Caches precompiled components in `dir`.
    #[must_use]
    pub fn with_cache_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cache_dir = Some(dir.into());
        self
    }

    /// Sets the default per-component limits.
    #[must_use]
    pub fn with_default_limits(mut self, limits: ComponentLimits) -> Self {
        self.default_limits = limits;
        self
    }
}
