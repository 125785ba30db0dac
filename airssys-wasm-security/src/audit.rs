//! The tamper-evident audit log: [`AuditLog`], its sinks, and [`verify`].

mod record;
mod verify;

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};

use chrono::Utc;

use self::record::line_hash;
pub use self::record::{AuditDecision, AuditEventKind, AuditRecord, GENESIS_HASH};
pub use self::verify::{Tamper, TamperKind, VerifyReport, verify, verify_reader};
use crate::{CapabilitySet, Decision};

/// The `tracing` target audit events are emitted under.
pub const TRACING_TARGET: &str = "airssys_audit";

/// An audit log operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuditError {
    /// The audit file could not be opened or its last record read.
    #[error("failed to open audit log {}", path.display())]
    Open {
        /// The audit file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// The audit file does not end with a complete record, so its chain cannot be continued.
    #[error("audit log {} does not end with a complete record ({reason}); verify it and start a new file", path.display())]
    CorruptTail {
        /// The audit file.
        path: PathBuf,
        /// What is wrong with the last line.
        reason: String,
    },
    /// A record could not be written to the audit file.
    #[error("failed to write audit record to {}", path.display())]
    Write {
        /// The audit file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// A record could not be serialized (for example a granted path that is not UTF-8).
    #[error("failed to serialize audit record")]
    Serialize {
        /// The serialization error.
        #[source]
        source: serde_json::Error,
    },
    /// An audit file could not be read while verifying it.
    #[error("failed to read audit log {}", path.display())]
    Read {
        /// The audit file (empty when verifying a reader).
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
}

/// When the file sink hands records to the operating system and the disk.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FlushPolicy {
    /// Buffer records in memory; they reach the file on [`AuditLog::flush`], when the buffer
    /// fills, and when the last handle is dropped. Fastest; a crash loses the buffer.
    Buffered,
    /// Write every record to the file before returning (a process crash loses nothing; a
    /// machine crash may).
    #[default]
    EveryRecord,
    /// Write every record and `fsync` its data before returning (survives a machine crash;
    /// costs a disk flush per record).
    Fsync,
}

/// The operations the host checks, with the names used in audit records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Operation {
    /// Reading a file: `file.read`.
    FileRead,
    /// Writing a file: `file.write`.
    FileWrite,
    /// An outbound connection: `net.connect`.
    Connect,
    /// A message without reply: `msg.send`.
    Send,
    /// A request awaiting a reply: `msg.request`.
    Request,
    /// Publishing to a topic: `msg.publish`.
    Publish,
    /// Subscribing to a subject: `msg.subscribe`.
    Subscribe,
}

impl Operation {
    /// Returns the name written in audit records.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::FileRead => "file.read",
            Self::FileWrite => "file.write",
            Self::Connect => "net.connect",
            Self::Send => "msg.send",
            Self::Request => "msg.request",
            Self::Publish => "msg.publish",
            Self::Subscribe => "msg.subscribe",
        }
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<crate::FileAccess> for Operation {
    fn from(access: crate::FileAccess) -> Self {
        match access {
            crate::FileAccess::Read => Self::FileRead,
            crate::FileAccess::Write => Self::FileWrite,
        }
    }
}

/// The audit log: one JSON line per event, each chained to the previous one by its hash.
///
/// Records go to the enabled sinks: `tracing` (target [`TRACING_TARGET`], `warn` for
/// denials, `info` otherwise, with the full line in the `record` field) and an append-only
/// file. Cloning is cheap and every clone writes to the same chain; the type is `Send + Sync`
/// and uses a `std` mutex, held only while one record is written. Use one `AuditLog` per file:
/// two logs appending to the same file would interleave two chains.
///
/// # Examples
///
/// ```
/// use airssys_wasm_security::{AuditLog, CapabilitySet, FlushPolicy, Operation, verify};
///
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("audit.jsonl");
/// let audit = AuditLog::builder().file(&path, FlushPolicy::EveryRecord).build()?;
///
/// let caps = CapabilitySet::builder().publish("events.*").build()?;
/// audit.granted("echo", &caps)?;
/// let decision = caps.check_publish("admin.reboot");
/// audit.record_decision("echo", Operation::Publish.as_str(), "admin.reboot", &decision)?;
/// audit.lifecycle("echo", "stopped", Some("normal exit"))?;
///
/// let report = verify(&path)?;
/// assert!(report.is_intact());
/// assert_eq!(report.records, 3);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
#[must_use]
pub struct AuditLog {
    inner: Arc<Mutex<State>>,
}

struct State {
    next_seq: u64,
    head: String,
    tracing: bool,
    file: Option<FileSink>,
}

struct FileSink {
    path: PathBuf,
    writer: BufWriter<File>,
    policy: FlushPolicy,
}

impl fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.lock();
        f.debug_struct("AuditLog")
            .field("next_seq", &state.next_seq)
            .field("head", &state.head)
            .field("tracing", &state.tracing)
            .field("file", &state.file.as_ref().map(|s| (&s.path, s.policy)))
            .finish()
    }
}

/// Configures an [`AuditLog`].
#[derive(Debug)]
#[must_use = "a builder does nothing until build() is called"]
pub struct AuditLogBuilder {
    tracing: bool,
    file: Option<(PathBuf, FlushPolicy)>,
}

impl AuditLogBuilder {
    /// Enables or disables the `tracing` sink (enabled by default).
    pub fn tracing(mut self, enabled: bool) -> Self {
        self.tracing = enabled;
        self
    }

    /// Appends records to the JSON Lines file at `path`, created if missing. An existing file
    /// is continued: the next record chains to its last line.
    pub fn file(mut self, path: impl Into<PathBuf>, policy: FlushPolicy) -> Self {
        self.file = Some((path.into(), policy));
        self
    }

    /// Opens the sinks.
    ///
    /// # Errors
    ///
    /// [`AuditError::Open`] when the file cannot be opened or read, and
    /// [`AuditError::CorruptTail`] when an existing file does not end with a complete record.
    pub fn build(self) -> Result<AuditLog, AuditError> {
        let mut state = State {
            next_seq: 0,
            head: GENESIS_HASH.to_owned(),
            tracing: self.tracing,
            file: None,
        };
        if let Some((path, policy)) = self.file {
            let open_err = |source| AuditError::Open {
                path: path.clone(),
                source,
            };
            let mut file = OpenOptions::new()
                .read(true)
                .append(true)
                .create(true)
                .open(&path)
                .map_err(open_err)?;
            if let Some(last) = last_line(&mut file).map_err(open_err)? {
                let corrupt = |reason: String| AuditError::CorruptTail {
                    path: path.clone(),
                    reason,
                };
                let line = last.map_err(|()| corrupt("missing final newline".into()))?;
                let record: AuditRecord =
                    serde_json::from_slice(&line).map_err(|e| corrupt(e.to_string()))?;
                state.next_seq = record.seq.saturating_add(1);
                state.head = line_hash(&line);
            }
            state.file = Some(FileSink {
                path,
                writer: BufWriter::new(file),
                policy,
            });
        }
        Ok(AuditLog {
            inner: Arc::new(Mutex::new(state)),
        })
    }
}

/// Reads the last line of `file` (without its newline) by scanning backwards from the end.
/// Returns `None` for an empty file and `Some(Err(()))` when the file does not end with `\n`.
fn last_line(file: &mut File) -> io::Result<Option<Result<Vec<u8>, ()>>> {
    let len = file.seek(SeekFrom::End(0))?;
    if len == 0 {
        return Ok(None);
    }
    let mut last = [0u8; 1];
    file.seek(SeekFrom::End(-1))?;
    file.read_exact(&mut last)?;
    if last[0] != b'\n' {
        return Ok(Some(Err(())));
    }
    let body_end = len - 1;
    let mut window: u64 = 4096;
    loop {
        let start = body_end.saturating_sub(window);
        file.seek(SeekFrom::Start(start))?;
        let mut buf = Vec::new();
        Read::by_ref(file)
            .take(body_end - start)
            .read_to_end(&mut buf)?;
        if let Some(pos) = buf.iter().rposition(|&b| b == b'\n') {
            return Ok(Some(Ok(buf.split_off(pos + 1))));
        }
        if start == 0 {
            return Ok(Some(Ok(buf)));
        }
        window = window.saturating_mul(2);
    }
}

/// The fields of a record the caller chooses.
struct Draft<'a> {
    component: &'a str,
    event: AuditEventKind,
    operation: &'a str,
    target: Option<&'a str>,
    decision: Option<AuditDecision>,
    reason: Option<String>,
    detail: Option<&'a str>,
    capabilities: Option<&'a CapabilitySet>,
}

impl AuditLog {
    /// Starts a builder with the `tracing` sink enabled and no file.
    pub fn builder() -> AuditLogBuilder {
        AuditLogBuilder {
            tracing: true,
            file: None,
        }
    }

    /// Returns a log whose only sink is `tracing`.
    pub fn tracing_only() -> Self {
        Self {
            inner: Arc::new(Mutex::new(State {
                next_seq: 0,
                head: GENESIS_HASH.to_owned(),
                tracing: true,
                file: None,
            })),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the chain half-updated: the state is
        // only changed after a record was fully written.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Records the capability set granted to `component` at spawn.
    ///
    /// # Errors
    ///
    /// [`AuditError::Serialize`] or [`AuditError::Write`]; the record is then not part of the
    /// chain.
    pub fn granted(&self, component: &str, capabilities: &CapabilitySet) -> Result<(), AuditError> {
        self.append(Draft {
            component,
            event: AuditEventKind::Grant,
            operation: "spawn",
            target: None,
            decision: Some(AuditDecision::Granted),
            reason: None,
            detail: None,
            capabilities: Some(capabilities),
        })
    }

    /// Records that `operation` on `target` was denied to `component` for `reason`.
    ///
    /// # Errors
    ///
    /// [`AuditError::Serialize`] or [`AuditError::Write`].
    pub fn denied(
        &self,
        component: &str,
        operation: &str,
        target: &str,
        reason: &dyn fmt::Display,
    ) -> Result<(), AuditError> {
        self.append(Draft {
            component,
            event: AuditEventKind::Denial,
            operation,
            target: Some(target),
            decision: Some(AuditDecision::Denied),
            reason: Some(reason.to_string()),
            detail: None,
            capabilities: None,
        })
    }

    /// Records `decision` if it is a denial, and does nothing if it is allowed; the usual
    /// call right after a check.
    ///
    /// # Errors
    ///
    /// [`AuditError::Serialize`] or [`AuditError::Write`].
    pub fn record_decision(
        &self,
        component: &str,
        operation: &str,
        target: &str,
        decision: &Decision,
    ) -> Result<(), AuditError> {
        match decision.reason() {
            Some(reason) => self.denied(component, operation, target, reason),
            None => Ok(()),
        }
    }

    /// Records a lifecycle `event` (started, stopped, restarted, upgraded...) of `component`.
    ///
    /// # Errors
    ///
    /// [`AuditError::Serialize`] or [`AuditError::Write`].
    pub fn lifecycle(
        &self,
        component: &str,
        event: &str,
        detail: Option<&str>,
    ) -> Result<(), AuditError> {
        self.append(Draft {
            component,
            event: AuditEventKind::Lifecycle,
            operation: event,
            target: None,
            decision: None,
            reason: None,
            detail,
            capabilities: None,
        })
    }

    /// Hands buffered records to the operating system (and to the disk under
    /// [`FlushPolicy::Fsync`]).
    ///
    /// # Errors
    ///
    /// [`AuditError::Write`] when flushing fails.
    pub fn flush(&self) -> Result<(), AuditError> {
        let mut state = self.lock();
        if let Some(sink) = state.file.as_mut() {
            let result = sink.writer.flush().and_then(|()| match sink.policy {
                FlushPolicy::Fsync => sink.writer.get_ref().sync_data(),
                _ => Ok(()),
            });
            result.map_err(|source| AuditError::Write {
                path: sink.path.clone(),
                source,
            })?;
        }
        Ok(())
    }

    /// Returns the hash of the last record written (or [`GENESIS_HASH`]): the anchor to
    /// compare with [`VerifyReport::head`].
    #[must_use]
    pub fn head(&self) -> String {
        self.lock().head.clone()
    }

    /// Returns the sequence number the next record will carry.
    #[must_use]
    pub fn next_seq(&self) -> u64 {
        self.lock().next_seq
    }

    fn append(&self, draft: Draft<'_>) -> Result<(), AuditError> {
        let mut state = self.lock();
        let record = AuditRecord {
            seq: state.next_seq,
            time: Utc::now(),
            component: draft.component.to_owned(),
            event: draft.event,
            operation: draft.operation.to_owned(),
            target: draft.target.map(str::to_owned),
            decision: draft.decision,
            reason: draft.reason,
            detail: draft.detail.map(str::to_owned),
            capabilities: draft.capabilities.map(CapabilitySet::to_spec),
            prev_hash: state.head.clone(),
        };
        let mut line =
            serde_json::to_string(&record).map_err(|source| AuditError::Serialize { source })?;
        let hash = line_hash(line.as_bytes());
        if let Some(sink) = state.file.as_mut() {
            line.push('\n');
            write_line(sink, line.as_bytes()).map_err(|source| AuditError::Write {
                path: sink.path.clone(),
                source,
            })?;
            line.pop();
        }
        if state.tracing {
            emit(&record, &line, &hash);
        }
        state.next_seq = state.next_seq.saturating_add(1);
        state.head = hash;
        Ok(())
    }
}

fn write_line(sink: &mut FileSink, line: &[u8]) -> io::Result<()> {
    sink.writer.write_all(line)?;
    match sink.policy {
        FlushPolicy::Buffered => Ok(()),
        FlushPolicy::EveryRecord => sink.writer.flush(),
        FlushPolicy::Fsync => {
            sink.writer.flush()?;
            sink.writer.get_ref().sync_data()
        }
    }
}

fn emit(record: &AuditRecord, line: &str, hash: &str) {
    let component = record.component.as_str();
    let operation = record.operation.as_str();
    if record.decision == Some(AuditDecision::Denied) {
        tracing::warn!(
            target: TRACING_TARGET,
            seq = record.seq,
            component,
            operation,
            hash,
            record = line,
            "capability denied"
        );
    } else {
        tracing::info!(
            target: TRACING_TARGET,
            seq = record.seq,
            component,
            operation,
            hash,
            record = line,
            "audit event"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_log_starts_at_genesis() {
        let log = AuditLog::tracing_only();
        assert_eq!(log.next_seq(), 0);
        assert_eq!(log.head(), GENESIS_HASH);
        log.lifecycle("c", "started", None).unwrap();
        assert_eq!(log.next_seq(), 1);
        assert_ne!(log.head(), GENESIS_HASH);
    }

    #[test]
    fn last_line_reads_across_window_boundaries() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let long = "x".repeat(10_000);
        std::fs::write(&path, format!("first\n{long}\n")).unwrap();
        let mut f = File::open(&path).unwrap();
        assert_eq!(last_line(&mut f).unwrap(), Some(Ok(long.into_bytes())));
        std::fs::write(&path, "only\n").unwrap();
        let mut f = File::open(&path).unwrap();
        assert_eq!(last_line(&mut f).unwrap(), Some(Ok(b"only".to_vec())));
        std::fs::write(&path, "torn").unwrap();
        let mut f = File::open(&path).unwrap();
        assert_eq!(last_line(&mut f).unwrap(), Some(Err(())));
    }

    #[test]
    fn allowed_decisions_write_nothing() {
        let log = AuditLog::tracing_only();
        log.record_decision("c", "msg.send", "x", &Decision::Allowed)
            .unwrap();
        assert_eq!(log.next_seq(), 0);
    }

    #[test]
    fn buffered_records_reach_the_file_on_flush() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.jsonl");
        let log = AuditLog::builder()
            .tracing(false)
            .file(&path, FlushPolicy::Buffered)
            .build()
            .unwrap();
        log.lifecycle("c", "started", None).unwrap();
        log.flush().unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap().lines().count(), 1);
    }
}
