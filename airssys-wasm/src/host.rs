//! The store data of a component instance and the host interface it imports.
//!
//! Every call is checked against the component's [`CapabilitySet`]; a denial returns
//! `host-error::denied` to the guest (never a trap) and is written to the audit log.

use std::path::Path;
use std::time::{Duration, Instant};

use airssys_rt::SendError;
use airssys_wasm_security::{
    AuditLog, CapabilitySet, Decision, DenyReason, FileAccess, FileTarget, Operation,
};
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
            Decision::Denied { reason } => Err(self.deny(&reason, operation, target)),
            _ => Ok(()),
        }
    }

    /// The error for a file open that failed after its check passed. If the path no longer
    /// passes the check (a directory was swapped for a symlink that leads outside the grant, and
    /// opening beneath the granting directory refused to follow it), it is a denial, logged and
    /// audited as one; otherwise the I/O error.
    fn failed_open(&self, path: &str, access: FileAccess, error: &std::io::Error) -> HostError {
        match recheck_after_failed_open(&self.caps, Path::new(path), access) {
            Some(reason) => self.deny(&reason, Operation::from(access), path),
            None => io_error(error),
        }
    }

    /// Logs, reports and audits a denial; the error the guest gets.
    fn deny(&self, reason: &DenyReason, operation: Operation, target: &str) -> HostError {
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
        HostError::Denied(reason)
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

/// Reads (up to one byte past the limit) a granted file, opened beneath a handle on its
/// granting directory: a path that leads outside it, through a directory swapped for a symlink
/// after the capability check, fails instead of being followed (`cap-std` resolves beneath the
/// directory, with `openat2(RESOLVE_BENEATH)` where the kernel has it).
fn read_beneath(target: &FileTarget) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let dir = cap_std::fs::Dir::open_ambient_dir(target.root(), cap_std::ambient_authority())?;
    let file = dir.open(target.relative())?.into_std();
    let mut data = Vec::new();
    file.take(MAX_FILE_BYTES + 1).read_to_end(&mut data)?;
    Ok(data)
}

/// Why `path` is denied now, after an open beneath its grant failed; `None` if it still passes
/// (the failure was an ordinary I/O error).
fn recheck_after_failed_open(
    caps: &CapabilitySet,
    path: &Path,
    access: FileAccess,
) -> Option<DenyReason> {
    caps.file_target(path, access).err()
}

/// Writes a granted file (created or truncated) beneath a handle on its granting directory, as
/// [`read_beneath`] reads.
fn write_beneath(target: &FileTarget, data: &[u8]) -> std::io::Result<()> {
    let dir = cap_std::fs::Dir::open_ambient_dir(target.root(), cap_std::ambient_authority())?;
    dir.write(target.relative(), data)
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
        let target = match self.caps.file_target(Path::new(&path), FileAccess::Read) {
            Ok(target) => target,
            Err(reason) => return Ok(Err(self.deny(&reason, Operation::FileRead, &path))),
        };
        Ok(
            match tokio::task::spawn_blocking(move || read_beneath(&target)).await {
                Ok(Ok(data)) if data.len() as u64 > MAX_FILE_BYTES => Err(HostError::Invalid(
                    format!("file larger than {MAX_FILE_BYTES} bytes"),
                )),
                Ok(Ok(data)) => Ok(data),
                Ok(Err(e)) => Err(self.failed_open(&path, FileAccess::Read, &e)),
                Err(e) => Err(HostError::Failed(format!("file read did not finish: {e}"))),
            },
        )
    }

    async fn write_file(
        &mut self,
        path: String,
        data: Vec<u8>,
    ) -> wasmtime::Result<Result<(), HostError>> {
        let target = match self.caps.file_target(Path::new(&path), FileAccess::Write) {
            Ok(target) => target,
            Err(reason) => return Ok(Err(self.deny(&reason, Operation::FileWrite, &path))),
        };
        Ok(
            match tokio::task::spawn_blocking(move || write_beneath(&target, &data)).await {
                Ok(result) => result.map_err(|e| self.failed_open(&path, FileAccess::Write, &e)),
                Err(e) => Err(HostError::Failed(format!("file write did not finish: {e}"))),
            },
        )
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

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    /// `root/grant/sub/a.txt` and `root/outside/a.txt`; the set grants `root/grant` read-write.
    fn tree() -> (tempfile::TempDir, PathBuf, CapabilitySet) {
        let dir = tempfile::tempdir().unwrap_or_else(|e| unreachable!("temp dir: {e}"));
        let root = std::fs::canonicalize(dir.path()).unwrap_or_else(|e| unreachable!("{e}"));
        for d in ["grant/sub", "outside"] {
            std::fs::create_dir_all(root.join(d)).unwrap_or_else(|e| unreachable!("{e}"));
        }
        std::fs::write(root.join("grant/sub/a.txt"), b"inside")
            .unwrap_or_else(|e| unreachable!("{e}"));
        std::fs::write(root.join("outside/a.txt"), b"secret")
            .unwrap_or_else(|e| unreachable!("{e}"));
        let caps = CapabilitySet::builder()
            .read_write_dir(root.join("grant"))
            .build()
            .unwrap_or_else(|e| unreachable!("{e}"));
        (dir, root, caps)
    }

    /// Swaps `grant/sub` for a symlink to `outside`, as a hostile process sharing the directory
    /// could between the capability check and the open.
    #[cfg(unix)]
    fn swap_for_symlink(root: &Path) {
        std::fs::remove_dir_all(root.join("grant/sub")).unwrap_or_else(|e| unreachable!("{e}"));
        std::os::unix::fs::symlink(root.join("outside"), root.join("grant/sub"))
            .unwrap_or_else(|e| unreachable!("{e}"));
    }

    #[test]
    fn a_granted_file_is_read_and_written_beneath_its_directory() {
        let (_dir, root, caps) = tree();
        let target = caps
            .file_target(&root.join("grant/sub/a.txt"), FileAccess::Read)
            .unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(read_beneath(&target).ok().as_deref(), Some(&b"inside"[..]));
        let target = caps
            .file_target(&root.join("grant/sub/new.txt"), FileAccess::Write)
            .unwrap_or_else(|e| unreachable!("{e}"));
        assert!(write_beneath(&target, b"new").is_ok());
        assert_eq!(
            std::fs::read(root.join("grant/sub/new.txt"))
                .ok()
                .as_deref(),
            Some(&b"new"[..])
        );
    }

    /// The check-then-open race: the check passed for `grant/sub/a.txt`, then `sub` became a
    /// symlink to `outside`. Opening beneath the grant refuses to follow it out.
    #[cfg(unix)]
    #[test]
    fn a_directory_swapped_for_a_symlink_after_the_check_does_not_lead_outside() {
        let (_dir, root, caps) = tree();
        let read = caps
            .file_target(&root.join("grant/sub/a.txt"), FileAccess::Read)
            .unwrap_or_else(|e| unreachable!("{e}"));
        let write = caps
            .file_target(&root.join("grant/sub/b.txt"), FileAccess::Write)
            .unwrap_or_else(|e| unreachable!("{e}"));
        swap_for_symlink(&root);
        // By path, the open would now read the secret.
        assert_eq!(
            std::fs::read(root.join("grant/sub/a.txt")).ok().as_deref(),
            Some(&b"secret"[..])
        );
        assert!(
            read_beneath(&read).is_err(),
            "read followed the symlink out"
        );
        assert!(
            write_beneath(&write, b"x").is_err(),
            "write followed it out"
        );
        assert!(!root.join("outside/b.txt").exists());
        // Checked again after the failed open, the path is denied: the host reports and audits
        // the attempt as a denial, not as an I/O error.
        assert_eq!(
            recheck_after_failed_open(&caps, &root.join("grant/sub/a.txt"), FileAccess::Read),
            Some(DenyReason::NoFileGrant)
        );
    }

    #[test]
    fn an_ordinary_failed_open_stays_an_io_error() {
        let (_dir, root, caps) = tree();
        let target = caps
            .file_target(&root.join("grant/sub/missing.txt"), FileAccess::Read)
            .unwrap_or_else(|e| unreachable!("{e}"));
        assert!(read_beneath(&target).is_err());
        assert_eq!(
            recheck_after_failed_open(&caps, &root.join("grant/sub/missing.txt"), FileAccess::Read),
            None
        );
    }
}
