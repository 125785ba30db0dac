//! `bad-missing-export` (invalid): a component that exports only `handle`.
//!
//! Its world is `airssys:bad/missing-export` (in `wit/world.wit` beside this crate): the
//! `handle` export of the airssys world with the same signature, and none of `init`,
//! `health`, `snapshot`, `restore`. `handle` would echo the payload if it were ever called.
//!
//! The real airssys WIT package is loaded first (the first `path` entry), so the `use` of
//! `airssys:component/types@0.1.0` in the bad world resolves against it.
//!
//! A test should observe: loading it fails with a load error (not a panic, not a trap) that
//! names a missing export such as `init`, and nothing is started.

wit_bindgen::generate!({
    world: "airssys:bad/missing-export",
    path: ["../../../airssys-wasm/wit", "wit"],
    // The airssys interfaces live in another package; generate bindings for them too.
    generate_all,
});

struct MissingExport;

impl Guest for MissingExport {
    fn handle(msg: Envelope) -> Result<Option<Vec<u8>>, String> {
        Ok(msg.expects_reply.then_some(msg.payload))
    }
}

export!(MissingExport);
