//! `echo`: the smallest well-behaved airssys component.
//!
//! `handle` replies with the payload unchanged when the sender expects a reply, and does
//! nothing otherwise. It has no state: `snapshot` is empty and `restore` accepts anything.
//!
//! A test should observe: `ask(b"hi")` returns `b"hi"`; `tell` returns no reply; health is
//! `healthy`.

wit_bindgen::generate!({
    world: "component",
    path: "../../../airssys-wasm/wit",
});

use airssys::component::types::HealthStatus;

struct Echo;

impl Guest for Echo {
    fn init(_config: Vec<u8>) -> Result<(), String> {
        Ok(())
    }

    fn handle(msg: Envelope) -> Result<Option<Vec<u8>>, String> {
        Ok(msg.expects_reply.then_some(msg.payload))
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

export!(Echo);
