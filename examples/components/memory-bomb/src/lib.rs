//! `memory-bomb` (hostile): `handle` allocates until memory runs out.
//!
//! It allocates 1 MiB chunks, writes every byte of each so the memory is really used, and
//! keeps them all. When the host's memory limit refuses to grow the linear memory, the
//! allocator fails and Rust aborts, which is a trap (or the host's limiter traps first).
//!
//! A test should observe: the call ends in a trap, the linear memory never exceeds the
//! limit set for the component, and the host process is unharmed.

wit_bindgen::generate!({
    world: "component",
    path: "../../../airssys-wasm/wit",
});

use std::hint::black_box;

use airssys::component::types::HealthStatus;

/// Size of one allocation.
const CHUNK: usize = 1 << 20;

struct MemoryBomb;

impl Guest for MemoryBomb {
    fn init(_config: Vec<u8>) -> Result<(), String> {
        Ok(())
    }

    fn handle(_msg: Envelope) -> Result<Option<Vec<u8>>, String> {
        let mut hoard: Vec<Vec<u8>> = Vec::new();
        loop {
            // A non-zero fill writes every byte (a zero fill could skip fresh pages). The
            // allocation aborts, which traps, once the memory cannot grow any more.
            let chunk = vec![0xABu8; CHUNK];
            hoard.push(black_box(chunk));
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

export!(MemoryBomb);
