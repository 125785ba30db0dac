//! The store data of a component instance and the host interface it imports.
//!
//! Every call is checked against the component's [`CapabilitySet`]; a denial returns
//! `host-error::denied` to the guest (never a trap) and is written to the audit log.

use std::path::Path;
use std::time::{Duration, Instant};

use airssys_rt::SendError;
use airssys_wasm_security::{AuditLog, CapabilitySet, Decision, FileAccess, Operation};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use wasmtime::component::ResourceTable;
use wasmtime::{ResourceLimiter, StoreLimits, StoreLimitsBuilder};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use crate::bindings::airssys::component::host::{self, HostError, LogLevel};
use crate::bindings::airssys::component::types;
use crate::observer::{ComponentEvent, FailureKind, ObserverSlot};
use crate::route::Route;
use crate::{ComponentError, ComponentId, ComponentLimits, ComponentMessage};

/// Largest file a component may read in one call, and largest network answer.
const MAX_FILE_BYTES: u64 = 16 << 20;
const MAX_NET_BYTES: u64 = 1 << 20;

/// Everything one component instance's `Store` owns.
pub(crate) struct HostState {
    pub(crate) id: ComponentId,
    caps: CapabilitySet,
    audit: Option<AuditLog>,
    route: Route,
    wasi: WasiCtx,
    table: ResourceTable,
    limiter: Limiter,
    deadline: Duration,
    call_started: Instant,
    pub(crate) deadline_hit: bool,
    pub(crate) observer: ObserverSlot,
}

/// Store limits that remember a refused memory growth, so the error can say so.
struct Limiter {
    inner: StoreLimits,
    memory_bytes: usize,
    memory_denied: bool,
}

impl ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let ok = self.inner.memory_growing(current, desired, maximum)?;
        if !ok {
            self.memory_denied = true;
        }
        Ok(ok)
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.inner.table_growing(current, desired, maximum)
    }

    fn instances(&self) -> usize {
        self.inner.instances()
    }

    fn tables(&self) -> usize {
        self.inner.tables()
    }

    fn memories(&self) -> usize {
        self.inner.memories()
    }
}

impl HostState {
    pub(crate) fn new(
        id: ComponentId,
        caps: CapabilitySet,
        audit: Option<AuditLog>,
        route: Route,
        limits: &ComponentLimits,
        observer: ObserverSlot,
    ) -> Self {
        let inner = StoreLimitsBuilder::new()
            .memory_size(limits.memory_bytes)
            .table_elements(limits.table_elements)
            .instances(limits.instances)
            .tables(limits.instances.saturating_mul(4))
            .memories(limits.instances)
            .build();
        Self {
            id,
            caps,
            audit,
            route,
            // Deny-by-default WASI: no preopens, no sockets, no env, stdio discarded.
            wasi: WasiCtx::builder().build(),
            table: ResourceTable::new(),
            limiter: Limiter {
                inner,
                memory_bytes: limits.memory_bytes,
                memory_denied: false,
            },
            deadline: limits.deadline,
            call_started: Instant::now(),
            deadline_hit: false,
            observer,
        }
    }

    pub(crate) fn limiter(&mut self) -> &mut dyn ResourceLimiter {
        &mut self.limiter
    }

    /// Starts the wall-clock budget of one call into the guest.
    pub(crate) fn begin_call(&mut self) {
        self.call_started = Instant::now();
        self.deadline_hit = false;
    }

    /// Called by the epoch callback: `true` once the call has used up its budget.
    pub(crate) fn past_deadline(&mut self) -> bool {
        if self.call_started.elapsed() >= self.deadline {
            self.deadline_hit = true;
        }
        self.deadline_hit
    }

    /// Turns a wasmtime error from a call into this instance into a [`ComponentError`] and
    /// reports the failure to the observer (any such error poisons the store).
    pub(crate) fn classify(&self, error: &wasmtime::Error) -> ComponentError {
        let err = self.classify_quiet(error);
        if let Some(kind) = FailureKind::of(&err) {
            self.observer
                .emit(&ComponentEvent::InstanceFailed { id: &self.id, kind });
        }
        err
    }

    fn classify_quiet(&self, error: &wasmtime::Error) -> ComponentError {
        if self.deadline_hit {
            return ComponentError::DeadlineExceeded(self.deadline);
        }
        if self.limiter.memory_denied {
            return ComponentError::MemoryLimit(self.limiter.memory_bytes);
        }
        match error.downcast_ref::<wasmtime::Trap>() {
            Some(wasmtime::Trap::OutOfFuel) => ComponentError::OutOfFuel,
            Some(wasmtime::Trap::StackOverflow) => ComponentError::Trapped("stack overflow".into()),
            Some(trap) => ComponentError::Trapped(trap.to_string()),
            None => ComponentError::Trapped(format!("{error:#}")),
        }
    }

    /// Turns a decision into `Ok` or a guest-visible denial, auditing the denial.
    fn permit(
        &self,
        decision: Decision,
        operation: Operation,
        target: &str,
    ) -> Result<(), HostError> {
        match decision {
            Decision::Denied { reason } => {
                let reason = reason.to_string();
                let operation = operation.as_str();
                tracing::warn!(component = %self.id, operation, target, %reason, "capability denied");
                self.observer.emit(&ComponentEvent::CapabilityDenied {
                    id: &self.id,
                    operation,
                });
                if let Some(audit) = &self.audit
                    && let Err(e) = audit.denied(self.id.as_str(), operation, target, &reason)
                {
                    tracing::error!(component = %self.id, error = %e, "audit log write failed");
                }
                Err(HostError::Denied(reason))
            }
            _ => Ok(()),
        }
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl types::Host for HostState {}

fn send_error<M>(e: SendError<M>) -> HostError {
    match e {
        SendError::Full(_) => HostError::Full,
        SendError::Stopped(_) => HostError::Stopped,
        SendError::NotFound(_) => HostError::NotFound("no such component".into()),
        _ => HostError::Stopped,
    }
}

fn io_error(e: &std::io::Error) -> HostError {
    match e.kind() {
        std::io::ErrorKind::NotFound => HostError::NotFound(e.to_string()),
        _ => HostError::Io(e.to_string()),
    }
}

impl host::Host for HostState {
    async fn self_id(&mut self) -> wasmtime::Result<String> {
        Ok(self.id.to_string())
    }

    async fn log(&mut self, level: LogLevel, message: String) -> wasmtime::Result<()> {
        let id = self.id.as_str();
        match level {
            LogLevel::Trace => tracing::trace!(component = id, "{message}"),
            LogLevel::Debug => tracing::debug!(component = id, "{message}"),
            LogLevel::Info => tracing::info!(component = id, "{message}"),
            LogLevel::Warn => tracing::warn!(component = id, "{message}"),
            LogLevel::Error => tracing::error!(component = id, "{message}"),
        }
        Ok(())
    }

    async fn send(
        &mut self,
        target: String,
        payload: Vec<u8>,
    ) -> wasmtime::Result<Result<(), HostError>> {
        if let Err(e) = self.permit(self.caps.check_send(&target), Operation::Send, &target) {
            return Ok(Err(e));
        }
        let Some(actor) = self.route.lookup(&target).await else {
            return Ok(Err(HostError::NotFound(target)));
        };
        let msg = ComponentMessage::deliver(self.id.as_str(), payload);
        // Never wait on a full mailbox inside a guest call: the guest sees `full` and decides.
        Ok(actor.try_tell(msg).map_err(send_error))
    }

    async fn request(
        &mut self,
        target: String,
        payload: Vec<u8>,
        timeout_ms: u32,
    ) -> wasmtime::Result<Result<Vec<u8>, HostError>> {
        if let Err(e) = self.permit(
            self.caps.check_request(&target),
            Operation::Request,
            &target,
        ) {
            return Ok(Err(e));
        }
        let msg = ComponentMessage::deliver(self.id.as_str(), payload);
        let timeout = Duration::from_millis(u64::from(timeout_ms));
        Ok(match self.route.request(&target, msg, timeout).await {
            Ok(Ok(reply)) => Ok(reply.unwrap_or_default()),
            Ok(Err(e)) => Err(HostError::Failed(e.to_string())),
            Err(airssys_rt::AskError::Timeout) => Err(HostError::Timeout),
            Err(airssys_rt::AskError::Send(e)) => Err(send_error(e)),
            Err(e) => Err(HostError::Failed(e.to_string())),
        })
    }

    async fn publish(
        &mut self,
        topic: String,
        payload: Vec<u8>,
    ) -> wasmtime::Result<Result<u32, HostError>> {
        if let Err(e) = self.permit(self.caps.check_publish(&topic), Operation::Publish, &topic) {
            return Ok(Err(e));
        }
        let msg = ComponentMessage::published(self.id.as_str(), &topic, payload);
        Ok(match self.route.publish(&topic, msg).await {
            Ok(report) => Ok(u32::try_from(report.delivered).unwrap_or(u32::MAX)),
            Err(e) => Err(HostError::Invalid(e.to_string())),
        })
    }

    async fn read_file(&mut self, path: String) -> wasmtime::Result<Result<Vec<u8>, HostError>> {
        let decision = self
            .caps
            .check_file_resolved(Path::new(&path), FileAccess::Read);
        if let Err(e) = self.permit(decision, Operation::FileRead, &path) {
            return Ok(Err(e));
        }
        let file = match tokio::fs::File::open(&path).await {
            Ok(f) => f,
            Err(e) => return Ok(Err(io_error(&e))),
        };
        let mut data = Vec::new();
        Ok(
            match file.take(MAX_FILE_BYTES + 1).read_to_end(&mut data).await {
                Ok(_) if data.len() as u64 > MAX_FILE_BYTES => Err(HostError::Invalid(format!(
                    "file larger than {MAX_FILE_BYTES} bytes"
                ))),
                Ok(_) => Ok(data),
                Err(e) => Err(io_error(&e)),
            },
        )
    }

    async fn write_file(
        &mut self,
        path: String,
        data: Vec<u8>,
    ) -> wasmtime::Result<Result<(), HostError>> {
        let decision = self
            .caps
            .check_file_resolved(Path::new(&path), FileAccess::Write);
        if let Err(e) = self.permit(decision, Operation::FileWrite, &path) {
            return Ok(Err(e));
        }
        Ok(tokio::fs::write(&path, data)
            .await
            .map_err(|e| io_error(&e)))
    }

    async fn net_exchange(
        &mut self,
        host: String,
        port: u16,
        data: Vec<u8>,
        timeout_ms: u32,
    ) -> wasmtime::Result<Result<Vec<u8>, HostError>> {
        let target = format!("{host}:{port}");
        if let Err(e) = self.permit(
            self.caps.check_connect(&host, port),
            Operation::Connect,
            &target,
        ) {
            return Ok(Err(e));
        }
        let timeout = Duration::from_millis(u64::from(timeout_ms));
        let exchange = async {
            let mut stream = tokio::net::TcpStream::connect((host.as_str(), port)).await?;
            stream.write_all(&data).await?;
            stream.shutdown().await?;
            let mut answer = Vec::new();
            (&mut stream)
                .take(MAX_NET_BYTES)
                .read_to_end(&mut answer)
                .await?;
            Ok::<_, std::io::Error>(answer)
        };
        Ok(match tokio::time::timeout(timeout, exchange).await {
            Ok(Ok(answer)) => Ok(answer),
            Ok(Err(e)) => Err(io_error(&e)),
            Err(_) => Err(HostError::Timeout),
        })
    }
}
