//! `stack-overflow` (hostile): `handle` recurses without bound.
//!
//! Each call keeps a small array alive across the recursive call and uses its result, so the
//! optimiser can turn it into neither a loop nor a tail call; the recursion only stops when
//! the stack is exhausted (wasm call stack, or the shadow stack in linear memory), which traps.
//!
//! A test should observe: the call ends in a trap, and the host process (its own native stack)
//! is unharmed.

wit_bindgen::generate!({
    world: "component",
    path: "../../../airssys-wasm/wit",
});

use std::hint::black_box;

use airssys::component::types::HealthStatus;

/// Recurses until the stack runs out. The stop condition is never true, but the compiler
/// cannot know that through `black_box`.
#[inline(never)]
fn descend(depth: u64) -> u64 {
    let frame = black_box([depth; 16]);
    if black_box(depth) == u64::MAX {
        return depth;
    }
    let below = descend(black_box(depth + 1));
    below ^ black_box(frame)[(depth % 16) as usize]
}

struct StackOverflow;

impl Guest for StackOverflow {
    fn init(_config: Vec<u8>) -> Result<(), String> {
        Ok(())
    }

    fn handle(_msg: Envelope) -> Result<Option<Vec<u8>>, String> {
        let depth = descend(0);
        Ok(Some(depth.to_string().into_bytes()))
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

export!(StackOverflow);
