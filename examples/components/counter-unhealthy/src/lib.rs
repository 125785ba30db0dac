//! `counter-unhealthy`: `counter-v2` that always reports itself failed.
//!
//! Commands, snapshot and restore are those of `counter-v2` (restore succeeds, from v1 or
//! v2), but `health` answers `failed` with the detail `counter-unhealthy always fails its
//! health check`.
//!
//! A test should observe: an upgrade from `counter` to this passes `restore`, then fails the
//! post-upgrade health check and is rolled back: `version` still answers `1` and `get` the
//! count from before the upgrade.

wit_bindgen::generate!({
    world: "component",
    path: "../../../airssys-wasm/wit",
});

use std::cell::Cell;

use airssys::component::types::HealthStatus;

thread_local! {
    static COUNT: Cell<u64> = const { Cell::new(0) };
}

/// The `detail` of every health answer.
const DETAIL: &str = "counter-unhealthy always fails its health check";

struct CounterUnhealthy;

impl Guest for CounterUnhealthy {
    fn init(_config: Vec<u8>) -> Result<(), String> {
        Ok(())
    }

    fn handle(msg: Envelope) -> Result<Option<Vec<u8>>, String> {
        let mut count = COUNT.get();
        let reply = counter_core::apply(&mut count, &msg.payload, 2)?;
        COUNT.set(count);
        Ok(msg.expects_reply.then(|| reply.into_bytes()))
    }

    /// Always `failed`, so an upgrade to this version must roll back.
    fn health() -> Health {
        Health {
            status: HealthStatus::Failed,
            detail: DETAIL.to_owned(),
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

export!(CounterUnhealthy);
