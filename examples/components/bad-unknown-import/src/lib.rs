//! `bad-unknown-import` (invalid): a component that imports an interface the host lacks.
//!
//! Its world is `airssys:bad/unknown-import` (in `wit/world.wit` beside this crate): the full
//! airssys export set, the real `airssys:component/host` import, and one more import,
//! `airssys:bad/secret` with `steal: func() -> string`. `handle` calls both `host::self-id`
//! and `secret::steal`, so both imports stay in the component (unused imports would be
//! dropped when the component is built).
//!
//! The real airssys WIT package is loaded first (the first `path` entry), so the references
//! to `airssys:component/...@0.1.0` in the bad world resolve against it; nothing is copied.
//!
//! A test should observe: loading or instantiating it fails with an error value that names
//! the unknown import `airssys:bad/secret@0.1.0`, and nothing is started.

wit_bindgen::generate!({
    world: "airssys:bad/unknown-import",
    path: ["../../../airssys-wasm/wit", "wit"],
    // The airssys interfaces live in another package; generate bindings for them too.
    generate_all,
});

use airssys::bad::secret;
use airssys::component::host;
use airssys::component::types::HealthStatus;

struct UnknownImport;

impl Guest for UnknownImport {
    fn init(_config: Vec<u8>) -> Result<(), String> {
        Ok(())
    }

    fn handle(_msg: Envelope) -> Result<Option<Vec<u8>>, String> {
        let loot = secret::steal();
        Ok(Some(
            format!("{} stole {loot}", host::self_id()).into_bytes(),
        ))
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

export!(UnknownImport);
