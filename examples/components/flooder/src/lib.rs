//! `flooder` (hostile): sends as many messages as it is told to, as fast as it can.
//!
//! `init` takes the config `target=<name>`: the component or actor to flood (required).
//! The payload `flood N` makes `handle` call `host::send(target, <i as decimal>)` N times in
//! a tight loop, without stopping at errors, counting the outcomes; the reply (when asked)
//! is `ok=<sent> full=<mailbox full> err=<other errors>`, with the three adding up to N.
//!
//! A test should observe: with a small mailbox at the target, `full` is non-zero and the
//! host stays responsive (backpressure is an error value, never a block or a trap); without
//! a `send` grant, `err=N`.

wit_bindgen::generate!({
    world: "component",
    path: "../../../airssys-wasm/wit",
});

use std::cell::RefCell;

use airssys::component::host::{self, HostError};
use airssys::component::types::HealthStatus;

thread_local! {
    /// The `target` from the config.
    static TARGET: RefCell<Option<String>> = const { RefCell::new(None) };
}

struct Flooder;

impl Guest for Flooder {
    fn init(config: Vec<u8>) -> Result<(), String> {
        let text = std::str::from_utf8(&config).map_err(|_| "config is not UTF-8".to_owned())?;
        let target = text
            .trim()
            .strip_prefix("target=")
            .filter(|t| !t.is_empty())
            .ok_or_else(|| format!("config `{text}` is not target=<name>"))?;
        TARGET.set(Some(target.to_owned()));
        Ok(())
    }

    fn handle(msg: Envelope) -> Result<Option<Vec<u8>>, String> {
        let text = std::str::from_utf8(&msg.payload)
            .map_err(|_| "payload is not UTF-8".to_owned())?
            .trim();
        let n: u64 = text
            .strip_prefix("flood ")
            .and_then(|n| n.trim().parse().ok())
            .ok_or_else(|| format!("payload `{text}` is not `flood N`"))?;
        let target = TARGET
            .with_borrow(Clone::clone)
            .ok_or("flooder was not initialised")?;
        let (mut ok, mut full, mut err) = (0u64, 0u64, 0u64);
        for i in 0..n {
            match host::send(&target, i.to_string().as_bytes()) {
                Ok(()) => ok += 1,
                Err(HostError::Full) => full += 1,
                Err(_) => err += 1,
            }
        }
        Ok(Some(format!("ok={ok} full={full} err={err}").into_bytes()))
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

export!(Flooder);
