//! `counter` (version 1): a `u64` counter, the "before" side of the hot-upgrade tests.
//!
//! Payloads are text commands: `inc`, `add N`, `get`, `version` (see `counter-core`). Every
//! command's reply is returned when the sender expects one: the new value for `inc`/`add N`,
//! the value for `get`, `1` for `version`. An unknown command is an error value.
//!
//! `snapshot` is the count as 8 bytes little-endian; `restore` accepts only that (an error
//! naming the length otherwise).
//!
//! A test should observe: `inc`, `inc`, `get` → `2`; `version` → `1`; after an upgrade to
//! `counter-v2`, `get` still answers the old count and `version` answers `2`.

wit_bindgen::generate!({
    world: "component",
    path: "../../../airssys-wasm/wit",
});

use std::cell::Cell;

use airssys::component::types::HealthStatus;

thread_local! {
    static COUNT: Cell<u64> = const { Cell::new(0) };
}

struct Counter;

impl Guest for Counter {
    fn init(_config: Vec<u8>) -> Result<(), String> {
        Ok(())
    }

    fn handle(msg: Envelope) -> Result<Option<Vec<u8>>, String> {
        let mut count = COUNT.get();
        let reply = counter_core::apply(&mut count, &msg.payload, 1)?;
        COUNT.set(count);
        Ok(msg.expects_reply.then(|| reply.into_bytes()))
    }

    fn health() -> Health {
        Health {
            status: HealthStatus::Healthy,
            detail: String::new(),
        }
    }

    fn snapshot() -> Vec<u8> {
        counter_core::encode_v1(COUNT.get())
    }

    fn restore(state: Vec<u8>) -> Result<(), String> {
        COUNT.set(counter_core::decode_v1(&state)?);
        Ok(())
    }
}

export!(Counter);
