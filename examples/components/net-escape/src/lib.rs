//! `net-escape` (hostile): tries to open a TCP connection it chooses.
//!
//! The payload is `host:port` (UTF-8; the port after the last `:`). `handle` calls
//! `host::net-exchange(host, port, "ping\n", 2000 ms)` and replies (when asked):
//! - `ok:<bytes>`: `ok:` followed by exactly the bytes the peer sent back;
//! - `denied:<why>`: the capability check refused it;
//! - `error:<host error>`: anything else (`error:io:<why>`, `error:timeout`, ...).
//!
//! A payload that is not `host:port` with a valid port is an error value from `handle`.
//!
//! A test should observe: without a `network` grant, `denied:<why>` and an audit entry, and
//! no connection reaches a listener on that port; with a grant for a loopback echo server,
//! `ok:ping\n`.

wit_bindgen::generate!({
    world: "component",
    path: "../../../airssys-wasm/wit",
});

use airssys::component::host::{self, HostError};
use airssys::component::types::HealthStatus;

/// What is sent to the peer.
const PROBE: &[u8] = b"ping\n";
/// How long the host may take for the whole exchange.
const TIMEOUT_MS: u32 = 2_000;

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

struct NetEscape;

impl Guest for NetEscape {
    fn init(_config: Vec<u8>) -> Result<(), String> {
        Ok(())
    }

    fn handle(msg: Envelope) -> Result<Option<Vec<u8>>, String> {
        let text = std::str::from_utf8(&msg.payload)
            .map_err(|_| "payload is not UTF-8".to_owned())?
            .trim();
        let (host_name, port) = text
            .rsplit_once(':')
            .ok_or_else(|| format!("payload `{text}` is not host:port"))?;
        let port: u16 = port
            .parse()
            .map_err(|_| format!("payload `{text}`: `{port}` is not a port"))?;
        let reply = match host::net_exchange(host_name, port, PROBE, TIMEOUT_MS) {
            Ok(bytes) => [b"ok:".as_slice(), &bytes].concat(),
            Err(HostError::Denied(why)) => format!("denied:{why}").into_bytes(),
            Err(e) => format!("error:{}", describe(&e)).into_bytes(),
        };
        Ok(Some(reply))
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

export!(NetEscape);
