//! Memory per idle actor: heap bytes held by 10 000 started, idle actors, divided by 10 000.
//! Two measures: `memory_per_idle_actor` (actors never sent anything) and
//! `memory_per_used_actor` (each actor sent one message, handled, then idle again).
//!
//! Not a criterion bench (`harness = false`): a counting global allocator (`cap::Cap` wrapping
//! `std::alloc::System`; it keeps the live byte count in an atomic) reads the live heap bytes
//! before the actors are spawned and after they have all started and gone idle. This counts
//! **heap bytes** (what the actors, their mailboxes, tasks and runtime bookkeeping allocate),
//! not RSS: allocator slack, stacks and untouched pages are not in it.
//!
//! Runtime: tokio multi-thread with 2 worker threads (`airssys_benches::runtime`); the spawner
//! runs inside `Runtime::block_on` on the main thread, the actors on the workers.
//!
//! Contestants: `airssys` (`ActorSystem::spawn` with the default mailbox, bounded 1024, the
//! `ActorRef` kept), `floor` (a tokio task awaiting `recv` on a bounded `mpsc` channel of capacity
//! 1024, its sender and `JoinHandle` kept), `ractor` (`Actor::spawn`, unbounded mailbox, its
//! `ActorRef` and `JoinHandle` kept), `kameo` (spawned with a bounded mailbox of 1024, its
//! `ActorRef` kept). Each is first warmed up once (spawn and stop) so one-time lazy
//! initialisation is not charged to the measured round.
//!
//! Why two measures: an airssys mailbox allocates its queue (4 slots at first) on the first
//! message sent to it, and the actor's task is created by that message, so an actor that was
//! never sent anything is smaller than one that was. `memory_per_used_actor` shows the second case for airssys and the floor (each sent
//! one `Tick` with `try_send`/`try_tell`, then left to handle it); ractor and kameo are measured
//! only idle. An airssys actor that was never sent anything has no tokio task either (its task
//! is created by the first message or signal, see `airssys-rt/src/task.rs`): the idle figure
//! is its address, mailbox, context and state waiting in the waker that will create the task;
//! the used figure includes the task.
//!
//! Output: a table on stdout and `<target-dir>/airssys-bench/memory.json`, as
//! `[{"measure": "memory_per_idle_actor", "unit": "bytes", "airssys": N, "floor": N, ...},
//! {"measure": "memory_per_used_actor", "unit": "bytes", "airssys": N, "floor": N}]`.

// Benchmark harness code: a failed spawn is a broken bench, and the harness prints its results.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::alloc::System;
use std::path::PathBuf;
use std::time::Duration;

use airssys_benches::{
    Counter, FloorMsg, MAILBOX_CAPACITY, Msg, airssys_stop, floor_stop, kameo_stop, ractor_stop,
    runtime, spawn_floor, spawn_kameo, spawn_ractor,
};
use airssys_rt::ActorSystem;
use cap::Cap;

#[global_allocator]
static ALLOCATOR: Cap<System> = Cap::new(System, usize::MAX);

/// Actors per contestant.
const N: usize = 10_000;
/// Actors of the warm-up round.
const WARM_UP: usize = 1_000;

fn live_bytes() -> usize {
    ALLOCATOR.allocated()
}

/// Lets the workers go idle (spawns finished, nothing queued).
async fn settle() {
    tokio::time::sleep(Duration::from_millis(50)).await;
}

fn per_actor(before: usize, after: usize, n: usize) -> usize {
    after.saturating_sub(before) / n
}

async fn airssys_round(n: usize, used: bool) -> usize {
    let system = ActorSystem::new();
    // The system's per-message-type broker is created by the first spawn: a one-time cost.
    let first = system.spawn(Counter::default()).await.unwrap();
    airssys_stop(&[first]).await;
    let mut actors = Vec::with_capacity(n);
    settle().await;
    let before = live_bytes();
    for _ in 0..n {
        actors.push(system.spawn(Counter::default()).await.unwrap());
    }
    if used {
        for a in &actors {
            a.try_tell(Msg::Tick(1)).unwrap();
        }
    }
    settle().await;
    let after = live_bytes();
    airssys_stop(&actors).await;
    drop(actors);
    let report = system.shutdown().await;
    assert!(report.timed_out.is_empty());
    per_actor(before, after, n)
}

async fn floor_round(n: usize, used: bool) -> usize {
    let mut floors = Vec::with_capacity(n);
    settle().await;
    let before = live_bytes();
    for _ in 0..n {
        floors.push(spawn_floor(MAILBOX_CAPACITY).await);
    }
    if used {
        for (tx, _) in &floors {
            tx.try_send(FloorMsg::Tick(1)).unwrap();
        }
    }
    settle().await;
    let after = live_bytes();
    floor_stop(floors).await;
    per_actor(before, after, n)
}

async fn ractor_round(n: usize) -> usize {
    let mut actors = Vec::with_capacity(n);
    settle().await;
    let before = live_bytes();
    for _ in 0..n {
        actors.push(spawn_ractor().await.unwrap());
    }
    settle().await;
    let after = live_bytes();
    ractor_stop(actors).await;
    per_actor(before, after, n)
}

async fn kameo_round(n: usize) -> usize {
    let mut actors = Vec::with_capacity(n);
    settle().await;
    let before = live_bytes();
    for _ in 0..n {
        actors.push(spawn_kameo().await);
    }
    settle().await;
    let after = live_bytes();
    kameo_stop(&actors).await;
    drop(actors);
    per_actor(before, after, n)
}

/// `CARGO_TARGET_DIR` when it is absolute (benches run in the package directory, so a relative
/// one would point elsewhere), else three levels up from `<target>/release/deps/memory-<hash>`.
fn target_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from)
        && dir.is_absolute()
    {
        return dir;
    }
    let exe = std::env::current_exe().expect("current exe");
    exe.ancestors()
        .nth(3)
        .map_or_else(|| PathBuf::from("target"), PathBuf::from)
}

fn main() {
    let rt = runtime().expect("tokio runtime");
    let (airssys, floor, ractor, kameo) = rt.block_on(async {
        // Warm-up: lazy statics, thread-local caches, registries of each contestant.
        airssys_round(WARM_UP, true).await;
        floor_round(WARM_UP, true).await;
        ractor_round(WARM_UP).await;
        kameo_round(WARM_UP).await;
        (
            airssys_round(N, false).await,
            floor_round(N, false).await,
            ractor_round(N).await,
            kameo_round(N).await,
        )
    });
    let (airssys_used, floor_used) =
        rt.block_on(async { (airssys_round(N, true).await, floor_round(N, true).await) });

    println!("memory_per_idle_actor ({N} idle actors each, live heap bytes, not RSS)");
    println!(
        "{:<10} {:>12} {:>12}",
        "contestant", "bytes/actor", "× floor"
    );
    for (name, bytes) in [
        ("airssys", airssys),
        ("floor", floor),
        ("ractor", ractor),
        ("kameo", kameo),
    ] {
        let ratio = bytes as f64 / floor.max(1) as f64;
        println!("{name:<10} {bytes:>12} {ratio:>12.2}");
    }
    let target = 2048;
    let verdict = if airssys <= target { "met" } else { "MISSED" };
    println!("target: airssys ≤ {target} bytes per idle actor: {verdict}");
    println!("memory_per_used_actor ({N} actors each sent one message, then idle)");
    for (name, bytes) in [("airssys", airssys_used), ("floor", floor_used)] {
        let ratio = bytes as f64 / floor_used.max(1) as f64;
        println!("{name:<10} {bytes:>12} {ratio:>12.2}");
    }

    let json = serde_json::json!([{
        "measure": "memory_per_idle_actor",
        "unit": "bytes",
        "airssys": airssys,
        "floor": floor,
        "ractor": ractor,
        "kameo": kameo,
    }, {
        "measure": "memory_per_used_actor",
        "unit": "bytes",
        "airssys": airssys_used,
        "floor": floor_used,
    }]);
    let dir = target_dir().join("airssys-bench");
    std::fs::create_dir_all(&dir).expect("create the report directory");
    let path = dir.join("memory.json");
    let text = serde_json::to_string_pretty(&json).expect("serialize");
    std::fs::write(&path, text + "\n").expect("write memory.json");
    println!("wrote {}", path.display());
}
