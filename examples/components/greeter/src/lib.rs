//! The component of the tutorial (docs/tutorials/first-component.md): greets whoever it is
//! sent, counts the greetings, and crashes on purpose when sent `crash`.

wit_bindgen::generate!({
    world: "component",
    path: "../../../airssys-wasm/wit",
});

use std::cell::Cell;

use airssys::component::host::{self, LogLevel};
use airssys::component::types::HealthStatus;

thread_local! {
    static GREETED: Cell<u64> = const { Cell::new(0) };
}

struct Greeter;

impl Guest for Greeter {
    fn init(_config: Vec<u8>) -> Result<(), String> {
        host::log(LogLevel::Info, "greeter ready");
        Ok(())
    }

    fn handle(msg: Envelope) -> Result<Option<Vec<u8>>, String> {
        let name = String::from_utf8(msg.payload).map_err(|_| "send me UTF-8 text".to_owned())?;
        if name == "crash" {
            // A trap: the host discards this instance and its supervisor starts a fresh one.
            core::arch::wasm32::unreachable()
        }
        let n = GREETED.get() + 1;
        GREETED.set(n);
        Ok(Some(format!("hello, {name} (greeting #{n})").into_bytes()))
    }

    fn health() -> Health {
        Health {
            status: HealthStatus::Healthy,
            detail: String::new(),
        }
    }

    fn snapshot() -> Vec<u8> {
        GREETED.get().to_le_bytes().to_vec()
    }

    fn restore(state: Vec<u8>) -> Result<(), String> {
        let bytes: [u8; 8] = state.try_into().map_err(|_| "bad state".to_owned())?;
        GREETED.set(u64::from_le_bytes(bytes));
        Ok(())
    }
}

export!(Greeter);
