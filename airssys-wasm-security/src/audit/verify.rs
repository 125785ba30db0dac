//! Verifies an audit log's hash chain and names the first record that was changed, removed or
//! reordered.

use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::Path;

use serde::Deserialize;

use super::AuditError;
use super::record::{AuditRecord, GENESIS_HASH, line_hash};

/// The result of verifying an audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct VerifyReport {
    /// Records that verified, in order, before the first problem (all of them when intact).
    pub records: u64,
    /// Hash of the last record that verified ([`GENESIS_HASH`] for none). A chain cannot detect
    /// that its own last records were removed or that the very last one was edited; compare
    /// this with an anchor kept elsewhere, such as [`AuditLog::head`](crate::AuditLog::head)
    /// (also emitted on the `tracing` sink with every record).
    pub head: String,
    /// The first problem found, if any.
    pub tamper: Option<Tamper>,
}

impl VerifyReport {
    /// Returns `true` when no problem was found.
    #[must_use]
    pub const fn is_intact(&self) -> bool {
        self.tamper.is_none()
    }
}

impl fmt::Display for VerifyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.tamper {
            None => write!(f, "{} records intact, head {}", self.records, self.head),
            Some(t) => write!(f, "{t} ({} records verified before it)", self.records),
        }
    }
}

/// The first bad line of an audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Tamper {
    /// The 1-based line number of the record at fault.
    pub line: u64,
    /// What is wrong with it.
    pub kind: TamperKind,
}

impl fmt::Display for Tamper {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.kind)
    }
}

/// What is wrong with a line.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TamperKind {
    /// The record's content no longer matches the hash chain.
    Changed,
    /// Records are missing before this one: `expected_seq` was due and never appears later.
    Removed {
        /// The sequence number that was due.
        expected_seq: u64,
        /// The sequence number found instead.
        found_seq: u64,
    },
    /// Records are out of order: this one is not the one due, and the one due appears
    /// elsewhere (or this one repeats an earlier number).
    Reordered {
        /// The sequence number that was due.
        expected_seq: u64,
        /// The sequence number found instead.
        found_seq: u64,
    },
    /// The line is not a record (bad JSON, wrong fields, missing final newline).
    Malformed {
        /// Why the line could not be read as a record.
        reason: String,
    },
}

impl fmt::Display for TamperKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Changed => f.write_str("record was changed (hash chain broken)"),
            Self::Removed {
                expected_seq,
                found_seq,
            } => write!(
                f,
                "record(s) removed: expected seq {expected_seq}, found {found_seq}"
            ),
            Self::Reordered {
                expected_seq,
                found_seq,
            } => write!(
                f,
                "records reordered: expected seq {expected_seq}, found {found_seq}"
            ),
            Self::Malformed { reason } => write!(f, "malformed record: {reason}"),
        }
    }
}

/// The chain fields of a record, read leniently while looking ahead.
#[derive(Deserialize)]
struct Link {
    seq: u64,
    prev_hash: String,
}

/// Lines with one line of lookahead; each line is returned without its newline, with a flag
/// saying whether it had one.
struct Lines<R> {
    reader: R,
    peeked: Option<Option<(Vec<u8>, bool)>>,
}

impl<R: BufRead> Lines<R> {
    fn read(&mut self) -> io::Result<Option<(Vec<u8>, bool)>> {
        let mut buf = Vec::new();
        if self.reader.read_until(b'\n', &mut buf)? == 0 {
            return Ok(None);
        }
        let terminated = buf.last() == Some(&b'\n');
        if terminated {
            buf.pop();
        }
        Ok(Some((buf, terminated)))
    }

    fn next_line(&mut self) -> io::Result<Option<(Vec<u8>, bool)>> {
        match self.peeked.take() {
            Some(line) => Ok(line),
            None => self.read(),
        }
    }

    fn peek(&mut self) -> io::Result<Option<&(Vec<u8>, bool)>> {
        if self.peeked.is_none() {
            self.peeked = Some(self.read()?);
        }
        Ok(self.peeked.as_ref().and_then(Option::as_ref))
    }
}

/// Verifies the audit log at `path`.
///
/// # Errors
///
/// [`AuditError::Read`] when the file cannot be opened or read. Tampering is not an error: it
/// is reported in [`VerifyReport::tamper`].
///
/// # Examples
///
/// ```
/// use airssys_wasm_security::{AuditLog, FlushPolicy, verify};
///
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("audit.jsonl");
/// let log = AuditLog::builder().file(&path, FlushPolicy::EveryRecord).tracing(false).build()?;
/// log.lifecycle("echo", "started", None)?;
/// let report = verify(&path)?;
/// assert!(report.is_intact());
/// assert_eq!(report.records, 1);
/// assert_eq!(report.head, log.head());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn verify(path: &Path) -> Result<VerifyReport, AuditError> {
    let file = File::open(path).map_err(|source| AuditError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    verify_reader(BufReader::new(file)).map_err(|e| match e {
        AuditError::Read { source, .. } => AuditError::Read {
            path: path.to_path_buf(),
            source,
        },
        other => other,
    })
}

/// Verifies an audit log read from `reader`.
///
/// # Errors
///
/// [`AuditError::Read`] when reading fails (its path is empty).
pub fn verify_reader(reader: impl BufRead) -> Result<VerifyReport, AuditError> {
    let read_err = |source| AuditError::Read {
        path: std::path::PathBuf::new(),
        source,
    };
    let mut lines = Lines {
        reader,
        peeked: None,
    };
    let mut prev: Option<(u64, String)> = None;
    let mut line_no = 0u64;
    // Hash of the record before `prev`, for when `prev` itself turns out to be the changed one.
    let mut before_prev = GENESIS_HASH.to_owned();
    let head_of = |prev: &Option<(u64, String)>| {
        prev.as_ref()
            .map_or_else(|| GENESIS_HASH.to_owned(), |(_, h)| h.clone())
    };
    let report = |records: u64, head: String, tamper: Option<Tamper>| VerifyReport {
        records,
        head,
        tamper,
    };
    while let Some((line, terminated)) = lines.next_line().map_err(read_err)? {
        line_no += 1;
        let verified = line_no - 1;
        let malformed = |reason: String| {
            Some(Tamper {
                line: line_no,
                kind: TamperKind::Malformed { reason },
            })
        };
        if !terminated {
            return Ok(report(
                verified,
                head_of(&prev),
                malformed("missing final newline".into()),
            ));
        }
        let record: AuditRecord = match serde_json::from_slice(&line) {
            Ok(record) => record,
            Err(e) => return Ok(report(verified, head_of(&prev), malformed(e.to_string()))),
        };
        let (expected_seq, expected_hash) = prev
            .as_ref()
            .map_or((0, GENESIS_HASH), |(seq, hash)| (seq + 1, hash.as_str()));
        let hash = line_hash(&line);
        let chained = record.prev_hash == expected_hash;
        if record.seq == expected_seq && chained {
            before_prev = head_of(&prev);
            prev = Some((record.seq, hash));
            continue;
        }
        let (line, kind) = if record.seq == expected_seq {
            // The chain broke between the previous line and this one. Either the previous
            // record was changed, or this record's own prev_hash was: in the second case the
            // next record no longer chains to this one either.
            let this_line_changed = line_no == 1
                || match lines.peek().map_err(read_err)? {
                    Some((next, _)) => serde_json::from_slice::<Link>(next)
                        .is_ok_and(|n| n.seq == record.seq + 1 && n.prev_hash != hash),
                    None => false,
                };
            if this_line_changed {
                (line_no, TamperKind::Changed)
            } else {
                (line_no - 1, TamperKind::Changed)
            }
        } else if chained {
            // The chain is intact but the sequence number is not: it was edited.
            (line_no, TamperKind::Changed)
        } else if record.seq > expected_seq {
            let mut later = false;
            while let Some((rest, _)) = lines.next_line().map_err(read_err)? {
                if serde_json::from_slice::<Link>(&rest).is_ok_and(|l| l.seq == expected_seq) {
                    later = true;
                    break;
                }
            }
            let (found_seq, expected_seq) = (record.seq, expected_seq);
            if later {
                (
                    line_no,
                    TamperKind::Reordered {
                        expected_seq,
                        found_seq,
                    },
                )
            } else {
                (
                    line_no,
                    TamperKind::Removed {
                        expected_seq,
                        found_seq,
                    },
                )
            }
        } else {
            (
                line_no,
                TamperKind::Reordered {
                    expected_seq,
                    found_seq: record.seq,
                },
            )
        };
        let head = if line == line_no {
            head_of(&prev)
        } else {
            before_prev
        };
        return Ok(report(line - 1, head, Some(Tamper { line, kind })));
    }
    Ok(report(line_no, head_of(&prev), None))
}
