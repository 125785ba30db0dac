//! `counter-v2`: version 2 of the counter, the "after" side of a successful hot upgrade.
//!
//! Same commands as `counter` (`inc`, `add N`, `get`, `version`), but `version` replies `2`
//! and `snapshot` is text: `v2:` followed by the count in decimal. `restore` accepts both a
//! v2 snapshot and a v1 one (8 bytes little-endian), so an upgrade from `counter` keeps the
//! count.
//!
//! A test should observe: after `counter` counted to N and was upgraded to this, `get` → N
//! and `version` → `2`; `snapshot` → `v2:N`.

wit_bindgen::generate!({
    world: "component",
    path: "../../../airssys-wasm/wit",
});

use std::cell::Cell;

use airssys::component::types::HealthStatus;

thread_local! {
    static COUNT: Cell<u64> = const { Cell::new(0) };
}

struct CounterV2;

impl Guest for CounterV2 {
    fn init(_config: Vec<u8>) -> Result<(), String> {
        Ok(())
    }

    fn handle(msg: Envelope) -> Result<Option<Vec<u8>>, String> {
        let mut count = COUNT.get();
        let reply = counter_core::apply(&mut count, &msg.payload, 2)?;
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
        counter_core::encode_v2(COUNT.get())
    }

    fn restore(state: Vec<u8>) -> Result<(), String> {
        COUNT.set(counter_core::decode_v1_or_v2(&state)?);
        Ok(())
    }
}

export!(CounterV2);
