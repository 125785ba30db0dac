//! `trap` (hostile): `handle` executes the wasm `unreachable` instruction.
//!
//! `init` succeeds, so the component starts; every message then traps.
//!
//! A test should observe: the call ends in a trap (not an error value), the actor fails and
//! its supervisor restarts it on a fresh store; repeated messages exhaust the restart
//! intensity.

wit_bindgen::generate!({
    world: "component",
    path: "../../../airssys-wasm/wit",
});

use airssys::component::types::HealthStatus;

struct Trap;

impl Guest for Trap {
    fn init(_config: Vec<u8>) -> Result<(), String> {
        Ok(())
    }

    fn handle(_msg: Envelope) -> Result<Option<Vec<u8>>, String> {
        core::arch::wasm32::unreachable()
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

export!(Trap);
