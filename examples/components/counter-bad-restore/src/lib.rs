//! `counter-bad-restore`: `counter-v2` whose `restore` always fails.
//!
//! Commands and snapshot are those of `counter-v2` (`version` replies `2`), but `restore`
//! returns the error `refusing state` whatever it is given.
//!
//! A test should observe: an upgrade from `counter` to this fails with an error that carries
//! `refusing state`, and is rolled back: the old instance keeps running, `version` still
//! answers `1` and `get` the count from before the upgrade.

wit_bindgen::generate!({
    world: "component",
    path: "../../../airssys-wasm/wit",
});

use std::cell::Cell;

use airssys::component::types::HealthStatus;

thread_local! {
    static COUNT: Cell<u64> = const { Cell::new(0) };
}

struct CounterBadRestore;

impl Guest for CounterBadRestore {
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

    /// Refuses every state, so an upgrade to this version must roll back.
    fn restore(_state: Vec<u8>) -> Result<(), String> {
        Err("refusing state".to_owned())
    }
}

export!(CounterBadRestore);
