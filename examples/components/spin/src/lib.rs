//! `spin` (hostile): `handle` never returns.
//!
//! It loops forever doing pointless work that `black_box` keeps the optimiser from removing,
//! and never calls the host. Only the host's execution limit (epoch interruption or fuel)
//! can stop it.
//!
//! A test should observe: the call ends in a trap (interrupt / out of fuel) within the
//! host's deadline, the actor fails and its supervisor restarts it; other components keep
//! running meanwhile.

wit_bindgen::generate!({
    world: "component",
    path: "../../../airssys-wasm/wit",
});

use std::hint::black_box;

use airssys::component::types::HealthStatus;

struct Spin;

impl Guest for Spin {
    fn init(_config: Vec<u8>) -> Result<(), String> {
        Ok(())
    }

    fn handle(_msg: Envelope) -> Result<Option<Vec<u8>>, String> {
        let mut n: u64 = 0;
        loop {
            n = black_box(n.wrapping_add(1));
        }
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

export!(Spin);
