//! `flaky`: a component that fails now and then, for the demo and the supervision tests.
//!
//! `init` takes `every=<N>` (default 5, at least 1). `handle` counts the messages this instance
//! has received; the N-th one traps (`unreachable`), as does any message whose payload is
//! `crash`. Every other request is answered with `ok <count>: <payload>`.
//!
//! Since a trap ends the instance and its supervisor starts a fresh one, the count starts again
//! after every restart: with `every=5` the component fails on every fifth message, and a
//! burst of `crash` messages exhausts its restart intensity.

wit_bindgen::generate!({
    world: "component",
    path: "../../../airssys-wasm/wit",
});

use std::cell::Cell;

use airssys::component::types::HealthStatus;

thread_local! {
    static EVERY: Cell<u64> = const { Cell::new(5) };
    static SEEN: Cell<u64> = const { Cell::new(0) };
}

struct Flaky;

impl Guest for Flaky {
    fn init(config: Vec<u8>) -> Result<(), String> {
        let text = std::str::from_utf8(&config).map_err(|_| "config is not UTF-8".to_owned())?;
        for pair in text.split(';').map(str::trim).filter(|p| !p.is_empty()) {
            match pair.split_once('=') {
                Some(("every", n)) => {
                    let n: u64 = n
                        .parse()
                        .map_err(|_| format!("`every={n}` is not a whole number"))?;
                    if n == 0 {
                        return Err("`every` must be at least 1".to_owned());
                    }
                    EVERY.set(n);
                }
                _ => return Err(format!("unknown config entry `{pair}` (expected every=)")),
            }
        }
        Ok(())
    }

    fn handle(msg: Envelope) -> Result<Option<Vec<u8>>, String> {
        let seen = SEEN.get() + 1;
        SEEN.set(seen);
        if msg.payload == b"crash" || seen % EVERY.get() == 0 {
            core::arch::wasm32::unreachable()
        }
        let mut reply = format!("ok {seen}: ").into_bytes();
        reply.extend_from_slice(&msg.payload);
        Ok(msg.expects_reply.then_some(reply))
    }

    fn health() -> Health {
        Health {
            status: HealthStatus::Healthy,
            detail: String::new(),
        }
    }

    fn snapshot() -> Vec<u8> {
        SEEN.get().to_le_bytes().to_vec()
    }

    fn restore(state: Vec<u8>) -> Result<(), String> {
        let bytes: [u8; 8] = state
            .try_into()
            .map_err(|_| "state is not 8 bytes".to_owned())?;
        SEEN.set(u64::from_le_bytes(bytes));
        Ok(())
    }
}

export!(Flaky);
