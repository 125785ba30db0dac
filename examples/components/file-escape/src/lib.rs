//! `file-escape` (hostile): tries to read and write a file it chooses.
//!
//! The payload is a path (UTF-8, surrounding whitespace ignored). `handle` calls
//! `host::read-file(path)`, then `host::write-file(path, ...)` with a short marker text, and
//! replies (when asked) with a report of both outcomes separated by `;`:
//! - `read:ok:<length>` or `read:<error>`, then
//! - `write:ok` or `write:<error>`,
//!
//! where `<error>` is the host error as `denied:<why>`, `not-found:<what>`, `timeout`,
//! `full`, `stopped`, `invalid:<why>`, `io:<why>` or `failed:<why>`. `handle` itself never
//! fails for a host error: the denial must come back as a value, not a trap.
//!
//! A test should observe: without a `files` grant for the path, the reply is
//! `read:denied:<why>;write:denied:<why>`, the file is untouched, and both denials are in
//! the audit log; with a read-only grant, `read:ok:<len>;write:denied:<why>`.

wit_bindgen::generate!({
    world: "component",
    path: "../../../airssys-wasm/wit",
});

use airssys::component::host::{self, HostError};
use airssys::component::types::HealthStatus;

/// What `handle` tries to write.
const MARKER: &[u8] = b"written by the airssys file-escape guest\n";

/// `host-error` as report text: `denied:<why>`, `not-found:<what>`, `timeout`, `full`,
/// `stopped`, `invalid:<why>`, `io:<why>`, `failed:<why>`.
fn describe(err: &HostError) -> String {
    match err {
        HostError::Denied(s) => format!("denied:{s}"),
        HostError::NotFound(s) => format!("not-found:{s}"),
        HostError::Timeout => "timeout".to_owned(),
        HostError::Full => "full".to_owned(),
        HostError::Stopped => "stopped".to_owned(),
        HostError::Invalid(s) => format!("invalid:{s}"),
        HostError::Io(s) => format!("io:{s}"),
        HostError::Failed(s) => format!("failed:{s}"),
    }
}

struct FileEscape;

impl Guest for FileEscape {
    fn init(_config: Vec<u8>) -> Result<(), String> {
        Ok(())
    }

    fn handle(msg: Envelope) -> Result<Option<Vec<u8>>, String> {
        let path = std::str::from_utf8(&msg.payload)
            .map_err(|_| "payload (a path) is not UTF-8".to_owned())?
            .trim();
        let read = match host::read_file(path) {
            Ok(data) => format!("read:ok:{}", data.len()),
            Err(e) => format!("read:{}", describe(&e)),
        };
        let write = match host::write_file(path, MARKER) {
            Ok(()) => "write:ok".to_owned(),
            Err(e) => format!("write:{}", describe(&e)),
        };
        Ok(Some(format!("{read};{write}").into_bytes()))
    }

    fn health() -> Health {
        Health {
            status: HealthStatus::Healthy,
            detail: String::new(),
        }
    }

    fn snapshot() -> Vec<u8> {
        Vec::new()
    }

    fn restore(_state: Vec<u8>) -> Result<(), String> {
        Ok(())
    }
}

export!(FileEscape);
