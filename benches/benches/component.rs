//! Components: spawn, message round trip, restart after a trap, memory per idle component —
//! airssys-wasm against raw wasmtime 48 doing the same work.
//!
//! Runtime: tokio multi-thread with 2 worker threads (`airssys_benches::runtime`). Each sample's
//! timed loop runs as a task on those workers (`airssys_benches::on_worker`), for airssys and
//! the floor alike: a sender in `Runtime::block_on` on the bench thread would pay an OS-level
//! cross-thread wake-up on every reply, which on a small VM varies several-fold between runs.
//! airssys actors (and the floor's round-trip task) run on the same 2 workers. Every time is per operation
//! (`iter_custom`), end to end: the instance is running, the reply is received.
//!
//! Guests: `echo` and `trap` from `examples/components`, built once before anything is measured
//! (release, `wasm32-wasip2`, into `<target>/guests`, as the airssys-wasm tests do), or read
//! from `$AIRSSYS_GUEST_DIR`. Each engine compiles each guest once, outside the measurements.
//!
//! Engines: `airssys` uses `WasmEngine::new(EngineConfig::default().with_max_instances(1200))`
//! (pooling, epoch interruption with a 1 ms ticker thread, `concurrency_support(false)`, WASI p2
//! and the host interface linked). The `floor` is built from the public wasmtime API with the
//! same `Config` — the same pooling sizes and slot reset (`decommit_batch`,
//! `table_keep_resident`, no `PAGEMAP_SCAN`; from the same `EngineConfig` values), epoch
//! interruption driven by its own 1 ms ticker thread, `concurrency_support(false)` — a
//! `component::Linker` with `wasmtime_wasi::p2::add_to_linker_async` and the host interface
//! (host functions with trivial bodies; the guests never call them), and `bindgen!` over the
//! same WIT with the same options as `airssys-wasm/src/bindings.rs`. A floor `Store` holds only a
//! deny-by-default `WasiCtx` and a `ResourceTable`; before each call it sets an epoch deadline of
//! 1 000 ticks (the floor needs one: the epoch advances with wall-clock time). What airssys adds
//! on top is exactly what is being measured: the actor and its mailbox, the registry entry,
//! `HostState` (capabilities, system handle, store limiter), the per-call deadline bookkeeping
//! and its epoch callback.
//!
//! Groups (criterion function ids `airssys` and `floor`; targets from SPEC §7):
//!
//! - `component_spawn` — `airssys`: `ComponentSpec::new(id, template).spawn(&system)` awaited
//!   (store + instance + `init` + actor started and registered under its unique id; the actor's
//!   tokio task is created by its first message or signal, as for every airssys actor, so this
//!   row includes no task spawn, and the floor, which has no actor, none either). `floor`:
//!   `Store::new` + `ComponentPre::instantiate_async` + `call_init`, inline. Spawned instances are
//!   kept alive in batches of 256 (so the pool is used like a host that runs many), then stopped
//!   outside the timed region. airssys: stop, awaited until the mailbox is closed; each actor's
//!   store is dropped by its own task, on whichever worker tokio runs it. `floor`: each store
//!   dropped by a tokio task of its own (awaited), the same way. `floor_same_thread`: the same
//!   instantiation, its stores dropped inline by the spawning task. Where the last batch was
//!   freed changes the next batch's instantiation: measured with a probe on 2 workers
//!   (2026-12-02, six alternating runs), raw instantiation took about 2.7 µs longer after drops
//!   on tasks than after drops inline; with 1 worker, airssys was 1.05–1.11× the inline floor.
//!   The likely cause is memory reused cold: the raw instantiation makes about 160 allocations,
//!   and after drops on the other core their chunks come back from there (glibc tunables, one
//!   arena or no tcache, did not change the gap). An actor runtime cannot drop a store on the
//!   spawner's thread, so the target compares against `floor`; `floor_same_thread` stays in the
//!   table. Target ≤ 1.2× floor.
//! - `component_spawn_alternating` — not criterion: measured last, after the groups (skipped
//!   when a criterion name filter does not match it, and in `--list` / `--test`). The same two
//!   contestants as `component_spawn` (`airssys`, and `floor` with its stores dropped on a task
//!   each), in alternating batches of 256 in one task: a batch of airssys spawns, timed as a
//!   whole and then stopped, then a batch of raw instantiations, timed and then dropped; 5
//!   warm-up rounds, then 100 measured. The row is the median over the rounds of each round's
//!   airssys/floor ratio (the floor as 1; the quartiles and each contestant's median time per
//!   spawn are printed). On the 2-vCPU VMs one batch's time per spawn varies up to 2× from one
//!   batch to the next, for both contestants alike, so criterion's row, which measures one
//!   contestant for seconds and then the other, moves with whatever slowed the VM in one of
//!   those stretches (0.92–1.29× on the same build, 2026-12-08); pairing neighbouring batches
//!   takes most of that out. Same target.
//! - `component_roundtrip` — `airssys`: `ActorRef<ComponentMessage>::ask(deliver("bench", 16
//!   bytes))` to a spawned `echo`, reply received and checked. `floor`: a tokio task owns the
//!   store and instance; the sender sends it the envelope and a `oneshot` over a bounded `mpsc`
//!   channel (1024, `try_send` first), the task sets the deadline, makes the typed `call_handle`
//!   and answers on the `oneshot`: one channel hop + the typed call + the reply hop, the same
//!   shape as an ask. Target ≤ 1.5× floor.
//! - `component_restart_after_trap` — the `trap` guest's `handle` executes `unreachable` on
//!   *every* message, so each message a fresh instance handles ends it. One iteration is "a
//!   trap, the instance dropped, a fresh one made, the next message handled": `airssys` is a
//!   `SupervisorNode` (`Backoff::Immediate`, `RestartIntensity::new(u32::MAX, 1 s)`) with the
//!   `trap` component as its child. Each sample first sends one untimed ask (it traps); the
//!   timed loop then queues the `iters` messages in chunks of 256 (255 tells, then an ask
//!   whose `Trapped` reply says the chunk is done): each message is handled by the instance
//!   made after the previous one trapped (the old store dropped, a new `Store` from the cached
//!   `InstancePre`, `init`, the actor restarted in place on its mailbox). `floor`: inline and
//!   per iteration, a fresh `Store` + `instantiate_async` + `call_init` + one `call_handle`
//!   that traps, then the store dropped. Both do the same wasm work per iteration; the one ask
//!   per chunk is the only channel round trip. The bench asserts that the dead-letter count
//!   equals the messages sent (each is the message in flight of exactly one trap: none lost or
//!   handled twice). Target ≤ 1.5× floor.
//! - `component_restart_after_trap_ask` — diagnostic, no target: one ask per trap, its reply
//!   awaited before the next (the shape this row had until 2026-12-03), so each iteration adds
//!   a round trip between the asking task and the component's task that the inline floor does
//!   not make. On 2 workers that round trip is dear: the asker and the component ping-pong
//!   through tokio's LIFO slot, which tokio caps at 3 polls per tick, so about every second
//!   restart the next wake goes to the run queue and wakes the parked worker through its
//!   driver's eventfd; that worker may steal the pair (the next instantiation then runs on a
//!   core whose caches are cold), and while both cores are awake each `madvise` that resets a
//!   pool slot is a TLB shootdown sent to the other core. `perf stat` (2026-12-03, Intel Xeon
//!   VM, 3 s samples, one ask per trap): airssys on 2 workers 33 366 `write`s and 41 651
//!   context switches for 61 947 traps; on 1 worker 1 446 and 9 154 for 98 532 traps; the floor
//!   154 and 9 786.
//! - `component_restart_after_trap_ask_one_worker` — diagnostic, no target: the same on a
//!   runtime of one worker thread, which takes tokio's cross-worker wake-ups out of the round
//!   trip.
//! - `memory_per_idle_component` — not criterion: measured first, before the groups (skipped
//!   when a criterion name filter does not match it, and in `--list` / `--test`). 1 000 idle
//!   `echo` components (`airssys`: spawned unsupervised, `ActorRef` kept; `floor`: `Store` +
//!   instance after `init`, kept) after a warm-up round of 100 each. Two figures, stated apart:
//!   **heap bytes** (live bytes of the counting global allocator `cap::Cap<System>`, as in
//!   `memory.rs`: Rust heap of the host — stores, WASI contexts, actors, tasks, registry) and
//!   **resident bytes** (`VmRSS` delta from `/proc/self/status`: heap pages *plus* the pages the
//!   pooling allocator touched in its mmapped slots — linear memory, tables, instance state,
//!   fiber stacks; the pool's virtual reservation itself is not resident). Each round starts
//!   with glibc's `malloc_trim(0)`, so it pays for its own heap pages: without it, a round
//!   reused the pages the round before it had freed, and the floor, measured after airssys,
//!   read about 10 KiB less per instance (resident 1.66–1.71× until 2026-12-03; 1.06× with the
//!   trim). Written to
//!   `<target>/airssys-bench/component_memory.json` with the rows `memory_per_idle_component`
//!   (heap), `components_per_gib` (1 GiB ÷ heap bytes), `resident_per_idle_component` and
//!   `components_per_gib_resident`. Target (heap) ≤ 1.2× floor. A second round,
//!   `memory_per_used_component` (heap), reads the same after each component answered one
//!   message (`airssys`: an ask of 16 bytes to `echo`, reply checked; `floor`: one typed
//!   `call_handle` with the same bytes): an airssys mailbox allocates its queue, and the actor
//!   its task, on the first message, which the first round does not show. Same target.
//!
//! The counting allocator wraps every allocation of this binary (one atomic add per allocation
//! and free), for both contestants alike; it is needed by the memory measure, which lives in the
//! same file as the timings.

// Benchmark harness code: a failed spawn or ask is a broken bench, and the harness prints its
// results.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::alloc::System;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use airssys_benches::floor::{
    Envelope, FloorEngine, FloorInstance, FloorState, envelope, floor_handle, floor_instantiate,
    raw,
};
use airssys_benches::{
    ASK_TIMEOUT, MAILBOX_CAPACITY, airssys_stop, guest_dir, on_worker, runtime,
    runtime_with_workers, write_report,
};
use airssys_rt::{ActorRef, ActorSystem, Backoff, RestartIntensity, SupervisorNode};
use airssys_wasm::{
    ComponentError, ComponentMessage, ComponentSpec, ComponentTemplate, EngineConfig, WasmEngine,
};
use cap::Cap;
use criterion::{Criterion, Throughput};
use tokio::runtime::Runtime;
use tokio::sync::{mpsc, oneshot};
use wasmtime::Engine;

#[global_allocator]
static ALLOCATOR: Cap<System> = Cap::new(System, usize::MAX);

/// Instances each engine's pool is sized for (both engines, same formula).
const POOL: u32 = 1_200;
/// Spawned instances kept alive at once in `component_spawn`.
const SPAWN_BATCH: usize = 256;
/// Idle components per contestant in the memory measure.
const IDLE: usize = 1_000;
/// Components of the memory measure's warm-up round.
const IDLE_WARM_UP: usize = 100;
/// Measured rounds of `component_spawn_alternating` (each one batch per contestant), after
/// the warm-up rounds.
const ALTERNATING_ROUNDS: usize = 100;
const ALTERNATING_WARM_UP: usize = 5;
/// The round trip's payload size.
const PAYLOAD: usize = 16;

// ---------------------------------------------------------------------------------------------
// the floor: raw wasmtime (airssys_benches::floor)

type FloorReply = Result<Result<Option<Vec<u8>>, String>, String>;

/// The round-trip floor: a task that owns `inst` and answers every envelope on its `oneshot`.
fn spawn_floor_actor(
    mut inst: FloorInstance,
) -> (
    mpsc::Sender<(Envelope, oneshot::Sender<FloorReply>)>,
    tokio::task::JoinHandle<()>,
) {
    let (tx, mut rx) = mpsc::channel::<(Envelope, oneshot::Sender<FloorReply>)>(MAILBOX_CAPACITY);
    let join = tokio::spawn(async move {
        while let Some((msg, reply)) = rx.recv().await {
            let _ = reply.send(floor_handle(&mut inst, &msg).await);
        }
    });
    (tx, join)
}

// ---------------------------------------------------------------------------------------------
// setup shared by the groups

struct Guests {
    airssys_echo: ComponentTemplate,
    airssys_trap: ComponentTemplate,
    floor: FloorEngine,
    floor_echo: raw::ComponentPre<FloorState>,
    floor_trap: raw::ComponentPre<FloorState>,
}

fn load_guests() -> Guests {
    let dir = guest_dir().expect("guest components");
    let echo = dir.join("echo.wasm");
    let trap = dir.join("trap.wasm");
    let config = EngineConfig::default().with_max_instances(POOL);
    let engine = WasmEngine::new(config.clone()).expect("airssys engine");
    let floor = FloorEngine::new(&config);
    Guests {
        airssys_echo: engine.load_file(&echo).expect("load echo"),
        airssys_trap: engine.load_file(&trap).expect("load trap"),
        floor_echo: floor.load(&echo),
        floor_trap: floor.load(&trap),
        floor,
    }
}

/// A fresh component id per spawn (ids are registered names and must be unique while alive).
fn next_id(counter: &AtomicU64, prefix: &str) -> String {
    format!("{prefix}-{}", counter.fetch_add(1, Ordering::Relaxed))
}

// ---------------------------------------------------------------------------------------------
// component_spawn

fn component_spawn(c: &mut Criterion, rt: &Runtime, g: &Guests) {
    let mut group = c.benchmark_group("component_spawn");
    group.throughput(Throughput::Elements(1));

    let system = ActorSystem::new();
    let ids = Arc::new(AtomicU64::new(0));
    group.bench_function("airssys", |b| {
        b.iter_custom(|iters| {
            let (system, ids, template) =
                (system.clone(), Arc::clone(&ids), g.airssys_echo.clone());
            on_worker(rt, async move {
                let mut timed = Duration::ZERO;
                let mut alive = Vec::with_capacity(SPAWN_BATCH);
                for _ in 0..iters {
                    let id = next_id(&ids, "spawn");
                    let start = Instant::now();
                    let actor = ComponentSpec::new(id.as_str(), template.clone())
                        .spawn(&system)
                        .await
                        .unwrap();
                    timed += start.elapsed();
                    alive.push(actor);
                    if alive.len() == SPAWN_BATCH {
                        airssys_stop(&alive).await;
                        alive.clear();
                    }
                }
                airssys_stop(&alive).await;
                timed
            })
            .unwrap()
        });
    });
    rt.block_on(system.shutdown());

    // Two floors, the same instantiation, told apart by where the previous batch's stores were
    // dropped (outside the timed region): `floor` on a task each, as an actor's store is dropped
    // by its own task (on whichever worker runs it); `floor_same_thread` inline by the spawner.
    for (id, on_tasks) in [("floor", true), ("floor_same_thread", false)] {
        group.bench_function(id, |b| {
            b.iter_custom(|iters| {
                let (engine, pre) = (g.floor.engine.clone(), g.floor_echo.clone());
                on_worker(rt, async move {
                    let mut timed = Duration::ZERO;
                    let mut alive = Vec::with_capacity(SPAWN_BATCH);
                    for _ in 0..iters {
                        let start = Instant::now();
                        let inst = floor_instantiate(&engine, &pre).await;
                        timed += start.elapsed();
                        alive.push(inst);
                        if alive.len() == SPAWN_BATCH {
                            floor_release(&mut alive, on_tasks).await;
                        }
                    }
                    floor_release(&mut alive, on_tasks).await;
                    timed
                })
                .unwrap()
            });
        });
    }
    group.finish();
}

/// Drops the floor's instances: on a tokio task each (awaited), or inline.
async fn floor_release(alive: &mut Vec<FloorInstance>, on_tasks: bool) {
    if !on_tasks {
        alive.clear();
        return;
    }
    let drops: Vec<_> = alive
        .drain(..)
        .map(|inst| tokio::spawn(async move { drop(inst) }))
        .collect();
    for d in drops {
        d.await.unwrap();
    }
}

// ---------------------------------------------------------------------------------------------
// component_roundtrip

fn component_roundtrip(c: &mut Criterion, rt: &Runtime, g: &Guests) {
    let mut group = c.benchmark_group("component_roundtrip");
    group.throughput(Throughput::Elements(1));
    let payload: [u8; PAYLOAD] = *b"0123456789abcdef";

    let system = ActorSystem::new();
    let actor = rt
        .block_on(ComponentSpec::new("echo", g.airssys_echo.clone()).spawn(&system))
        .unwrap();
    group.bench_function("airssys", |b| {
        b.iter_custom(|iters| {
            let actor = actor.clone();
            on_worker(rt, async move {
                let start = Instant::now();
                for _ in 0..iters {
                    let reply = actor
                        .ask(
                            ComponentMessage::deliver("bench", payload.to_vec()),
                            ASK_TIMEOUT,
                        )
                        .await
                        .unwrap()
                        .unwrap();
                    assert_eq!(reply.as_deref(), Some(&payload[..]));
                }
                start.elapsed()
            })
            .unwrap()
        });
    });
    rt.block_on(async {
        airssys_stop(&[actor]).await;
        system.shutdown().await;
    });

    let (tx, join) = rt.block_on(async {
        let inst = floor_instantiate(&g.floor.engine, &g.floor_echo).await;
        spawn_floor_actor(inst)
    });
    group.bench_function("floor", |b| {
        b.iter_custom(|iters| {
            let tx = tx.clone();
            on_worker(rt, async move {
                let start = Instant::now();
                for _ in 0..iters {
                    let (reply_tx, reply_rx) = oneshot::channel();
                    let msg = (envelope(&payload), reply_tx);
                    match tx.try_send(msg) {
                        Ok(()) => {}
                        Err(mpsc::error::TrySendError::Full(msg)) => tx.send(msg).await.unwrap(),
                        Err(mpsc::error::TrySendError::Closed(_)) => unreachable!("floor ended"),
                    }
                    let reply = reply_rx.await.unwrap().unwrap().unwrap();
                    assert_eq!(reply.as_deref(), Some(&payload[..]));
                }
                start.elapsed()
            })
            .unwrap()
        });
    });
    drop(tx);
    rt.block_on(join).unwrap();
    group.finish();
}

// ---------------------------------------------------------------------------------------------
// component_restart_after_trap

fn is_trap(reply: &Result<Option<Vec<u8>>, ComponentError>) -> bool {
    matches!(reply, Err(ComponentError::Trapped(_)))
}

/// One ask to the `trap` component, answered `Trapped`.
async fn ask_trap(actor: &ActorRef<ComponentMessage>) {
    let reply = actor
        .ask(
            ComponentMessage::deliver("bench", b"boom".to_vec()),
            ASK_TIMEOUT,
        )
        .await
        .unwrap();
    assert!(is_trap(&reply), "expected a trap, got {reply:?}");
}

/// How the timed loop of a restart-after-trap group reaches the `trap` component.
#[derive(Debug, Clone, Copy)]
enum TrapShape {
    /// Trapping messages queued in the component's mailbox, [`QUEUED_CHUNK`] at a time: tells,
    /// then one ask whose `Trapped` reply says the whole chunk was handled.
    Queued,
    /// One ask per trap, its reply awaited before the next.
    Ask,
}

/// Messages queued at once by [`TrapShape::Queued`] (below the mailbox's capacity, so a tell
/// never waits for room).
const QUEUED_CHUNK: u64 = 256;

fn component_restart_after_trap(
    c: &mut Criterion,
    name: &str,
    shape: TrapShape,
    rt: &Runtime,
    g: &Guests,
) {
    let mut group = c.benchmark_group(name);
    group.throughput(Throughput::Elements(1));

    let system = ActorSystem::new();
    let tree = SupervisorNode::builder("bench-components")
        .intensity(RestartIntensity::new(u32::MAX, Duration::from_secs(1)))
        .child(
            ComponentSpec::new("trap", g.airssys_trap.clone())
                .child_spec()
                .backoff(Backoff::Immediate),
        )
        .build();
    let supervisor = rt.block_on(system.start_supervisor(tree)).unwrap();
    let actor: ActorRef<ComponentMessage> = system.lookup("trap").unwrap();
    let traps = Arc::new(AtomicU64::new(0));
    group.bench_function("airssys", |b| {
        b.iter_custom(|iters| {
            let (actor, traps) = (actor.clone(), Arc::clone(&traps));
            on_worker(rt, async move {
                // Untimed: the instance running now traps; every timed ask below is then
                // answered by the instance the supervisor made after the previous trap.
                ask_trap(&actor).await;
                let start = Instant::now();
                match shape {
                    TrapShape::Queued => {
                        let mut left = iters;
                        while left > 0 {
                            let n = left.min(QUEUED_CHUNK);
                            for _ in 1..n {
                                let boom = ComponentMessage::deliver("bench", b"boom".to_vec());
                                actor.tell(boom).await.unwrap();
                            }
                            ask_trap(&actor).await;
                            left -= n;
                        }
                    }
                    TrapShape::Ask => {
                        for _ in 0..iters {
                            ask_trap(&actor).await;
                        }
                    }
                }
                let elapsed = start.elapsed();
                traps.fetch_add(iters + 1, Ordering::Relaxed);
                elapsed
            })
            .unwrap()
        });
    });
    let trapped = traps.load(Ordering::Relaxed);
    let dead = system.dead_letters().total();
    assert!(supervisor.is_running(), "the supervisor never gave up");
    // Every message sent was handled by a fresh instance and trapped: each is the message in
    // flight of one trap, dead-lettered as such; none was dropped or handled twice.
    assert_eq!(dead, trapped, "{name}: dead letters against messages sent");
    if trapped > 0 {
        println!(
            "{name}: {trapped} messages, each trapped a fresh instance; {dead} dead letters \
             (the message in flight of each trap)"
        );
    }
    rt.block_on(async {
        supervisor.stop().await;
        system.shutdown().await;
    });

    group.bench_function("floor", |b| {
        b.iter_custom(|iters| {
            let (engine, pre) = (g.floor.engine.clone(), g.floor_trap.clone());
            on_worker(rt, async move {
                let msg = envelope(b"boom");
                let start = Instant::now();
                for _ in 0..iters {
                    let mut inst = floor_instantiate(&engine, &pre).await;
                    let reply = floor_handle(&mut inst, &msg).await;
                    assert!(reply.is_err(), "expected a trap");
                    drop(inst);
                }
                start.elapsed()
            })
            .unwrap()
        });
    });
    group.finish();
}

// ---------------------------------------------------------------------------------------------
// memory_per_idle_component

fn heap_bytes() -> usize {
    ALLOCATOR.allocated()
}

/// Resident set size of this process, in bytes (`VmRSS` of `/proc/self/status`; 0 elsewhere).
fn resident_bytes() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<usize>().ok())
        .map_or(0, |kib| kib * 1024)
}

/// Lets the workers go idle (spawns finished, nothing queued).
async fn settle() {
    tokio::time::sleep(Duration::from_millis(50)).await;
}

#[derive(Debug, Clone, Copy)]
struct Footprint {
    heap: usize,
    resident: usize,
}

/// Per-component deltas between two readings.
fn footprint(before: (usize, usize), after: (usize, usize), n: usize) -> Footprint {
    Footprint {
        heap: after.0.saturating_sub(before.0) / n,
        resident: after.1.saturating_sub(before.1) / n,
    }
}

fn reading() -> (usize, usize) {
    (heap_bytes(), resident_bytes())
}

/// Gives the allocator's free pages back to the OS (glibc `malloc_trim(0)`), so that a round
/// starts from the same state whatever ran before it: without it, a round that follows another
/// reuses the pages its predecessor freed and its resident delta leaves its heap out.
#[allow(unsafe_code)]
fn trim_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        unsafe extern "C" {
            fn malloc_trim(pad: usize) -> std::ffi::c_int;
        }
        // SAFETY: `malloc_trim` takes no pointers and only returns unused memory of glibc's
        // own arenas; this binary's allocator (`Cap<System>`) is glibc malloc underneath.
        unsafe {
            malloc_trim(0);
        }
    }
}

/// `n` idle components; `used`: each was asked once (`echo` of 16 bytes, reply checked) before
/// the reading, so its mailbox queue is open.
async fn airssys_idle(
    template: &ComponentTemplate,
    n: usize,
    round: &str,
    used: bool,
) -> Footprint {
    let system = ActorSystem::new();
    // The system's per-message-type broker is created by the first spawn: a one-time cost.
    let first = ComponentSpec::new(format!("{round}-first").as_str(), template.clone())
        .spawn(&system)
        .await
        .unwrap();
    airssys_stop(&[first]).await;
    let ids: Vec<String> = (0..n).map(|i| format!("{round}-{i}")).collect();
    let mut actors = Vec::with_capacity(n);
    settle().await;
    trim_heap();
    let before = reading();
    for id in &ids {
        let spec = ComponentSpec::new(id.as_str(), template.clone());
        actors.push(spec.spawn(&system).await.unwrap());
    }
    if used {
        for a in &actors {
            let msg = ComponentMessage::deliver("bench", [7_u8; 16].to_vec());
            let reply = a.ask(msg, Duration::from_secs(10)).await.unwrap().unwrap();
            assert_eq!(reply.as_deref(), Some(&[7_u8; 16][..]));
        }
    }
    settle().await;
    let after = reading();
    airssys_stop(&actors).await;
    drop(actors);
    system.shutdown().await;
    footprint(before, after, n)
}

/// `n` raw instances; `used`: each made one typed `handle` call (the same 16 bytes) first.
async fn floor_idle(
    engine: &Engine,
    pre: &raw::ComponentPre<FloorState>,
    n: usize,
    used: bool,
) -> Footprint {
    let mut instances = Vec::with_capacity(n);
    settle().await;
    trim_heap();
    let before = reading();
    for _ in 0..n {
        instances.push(floor_instantiate(engine, pre).await);
    }
    if used {
        let msg = envelope(&[7_u8; 16]);
        for inst in &mut instances {
            let reply = floor_handle(inst, &msg).await.unwrap().unwrap();
            assert_eq!(reply.as_deref(), Some(&[7_u8; 16][..]));
        }
    }
    settle().await;
    let after = reading();
    drop(instances);
    footprint(before, after, n)
}

fn memory_per_idle_component(rt: &Runtime, g: &Guests) {
    let (airssys, floor, airssys_used, floor_used) = rt.block_on(async {
        airssys_idle(&g.airssys_echo, IDLE_WARM_UP, "warm", true).await;
        floor_idle(&g.floor.engine, &g.floor_echo, IDLE_WARM_UP, true).await;
        (
            airssys_idle(&g.airssys_echo, IDLE, "idle", false).await,
            floor_idle(&g.floor.engine, &g.floor_echo, IDLE, false).await,
            airssys_idle(&g.airssys_echo, IDLE, "used", true).await,
            floor_idle(&g.floor.engine, &g.floor_echo, IDLE, true).await,
        )
    });

    const GIB: f64 = (1_u64 << 30) as f64;
    let per_gib = |bytes: usize| (GIB / bytes.max(1) as f64).floor();
    println!("memory_per_idle_component ({IDLE} idle echo components each)");
    println!(
        "{:<10} {:>14} {:>10} {:>16} {:>10}",
        "contestant", "heap B/comp", "× floor", "resident B/comp", "× floor"
    );
    for (name, f) in [("airssys", airssys), ("floor", floor)] {
        println!(
            "{name:<10} {:>14} {:>10.2} {:>16} {:>10.2}",
            f.heap,
            f.heap as f64 / floor.heap.max(1) as f64,
            f.resident,
            f.resident as f64 / floor.resident.max(1) as f64,
        );
    }
    let ratio = airssys.heap as f64 / floor.heap.max(1) as f64;
    let verdict = if ratio <= 1.2 { "met" } else { "MISSED" };
    println!("target: airssys heap ≤ 1.2× floor: {ratio:.2}× — {verdict}");
    println!("memory_per_used_component ({IDLE} components each, after one message and reply)");
    for (name, f) in [("airssys", airssys_used), ("floor", floor_used)] {
        println!(
            "{name:<10} {:>14} {:>10.2}",
            f.heap,
            f.heap as f64 / floor_used.heap.max(1) as f64,
        );
    }

    let row = |measure: &str, unit: &str, a: f64, f: f64| {
        serde_json::json!({
            "measure": measure,
            "unit": unit,
            "airssys": a,
            "floor": f,
            "ractor": null,
            "kameo": null,
        })
    };
    let json = serde_json::json!([
        row(
            "memory_per_idle_component",
            "bytes",
            airssys.heap as f64,
            floor.heap as f64
        ),
        row(
            "memory_per_used_component",
            "bytes",
            airssys_used.heap as f64,
            floor_used.heap as f64
        ),
        row(
            "components_per_gib",
            "components",
            per_gib(airssys.heap),
            per_gib(floor.heap)
        ),
        row(
            "resident_per_idle_component",
            "bytes",
            airssys.resident as f64,
            floor.resident as f64
        ),
        row(
            "components_per_gib_resident",
            "components",
            per_gib(airssys.resident),
            per_gib(floor.resident)
        ),
    ]);
    let path = write_report("component_memory.json", &json).expect("write the report");
    println!("wrote {}", path.display());
}

// ---------------------------------------------------------------------------------------------
// component_spawn_alternating

/// One timed batch of [`SPAWN_BATCH`] airssys spawns (stopped afterwards, untimed): ns per spawn.
async fn airssys_spawn_batch(
    system: &ActorSystem,
    template: &ComponentTemplate,
    ids: &AtomicU64,
) -> f64 {
    let names: Vec<String> = (0..SPAWN_BATCH).map(|_| next_id(ids, "alt")).collect();
    let mut alive = Vec::with_capacity(SPAWN_BATCH);
    let start = Instant::now();
    for id in &names {
        let actor = ComponentSpec::new(id.as_str(), template.clone())
            .spawn(system)
            .await
            .unwrap();
        alive.push(actor);
    }
    let per_spawn = start.elapsed().as_nanos() as f64 / SPAWN_BATCH as f64;
    airssys_stop(&alive).await;
    per_spawn
}

/// One timed batch of [`SPAWN_BATCH`] raw instantiations (stores dropped on a task each
/// afterwards, untimed, as in `component_spawn/floor`): ns per instantiation.
async fn floor_spawn_batch(engine: &Engine, pre: &raw::ComponentPre<FloorState>) -> f64 {
    let mut alive = Vec::with_capacity(SPAWN_BATCH);
    let start = Instant::now();
    for _ in 0..SPAWN_BATCH {
        alive.push(floor_instantiate(engine, pre).await);
    }
    let per_spawn = start.elapsed().as_nanos() as f64 / SPAWN_BATCH as f64;
    floor_release(&mut alive, true).await;
    per_spawn
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// First quartile, median, third quartile.
fn quartiles(mut v: Vec<f64>) -> [f64; 3] {
    v.sort_by(f64::total_cmp);
    [v[v.len() / 4], v[v.len() / 2], v[v.len() * 3 / 4]]
}

/// `component_spawn` measured in alternating batches (see the module docs).
fn component_spawn_alternating(rt: &Runtime, g: &Guests) {
    let system = ActorSystem::new();
    let (airssys, floor, ratios) = {
        let (system, template) = (system.clone(), g.airssys_echo.clone());
        let (engine, pre) = (g.floor.engine.clone(), g.floor_echo.clone());
        on_worker_value(rt, async move {
            let ids = AtomicU64::new(0);
            let (mut a, mut f, mut r) = (Vec::new(), Vec::new(), Vec::new());
            for round in 0..ALTERNATING_WARM_UP + ALTERNATING_ROUNDS {
                let ta = airssys_spawn_batch(&system, &template, &ids).await;
                let tf = floor_spawn_batch(&engine, &pre).await;
                if round >= ALTERNATING_WARM_UP {
                    a.push(ta);
                    f.push(tf);
                    r.push(ta / tf);
                }
            }
            (median(a), median(f), quartiles(r))
        })
    };
    rt.block_on(system.shutdown());
    let [q1, ratio, q3] = ratios;
    println!(
        "component_spawn_alternating ({ALTERNATING_ROUNDS} rounds of {SPAWN_BATCH} spawns each): \
         airssys/floor of each round: median {ratio:.3}×, quartiles {q1:.3}× and {q3:.3}×; \
         median per spawn: airssys {:.2} µs, floor {:.2} µs",
        airssys / 1e3,
        floor / 1e3,
    );
    // The row is the median of the rounds' ratios, against the floor as 1: the paired
    // statistic, which a batch the VM slowed for both contestants alike does not move.
    let json = serde_json::json!([{
        "measure": "component_spawn_alternating",
        "unit": "× floor",
        "airssys": ratio,
        "floor": 1.0,
        "ractor": null,
        "kameo": null,
    }]);
    let path = write_report("component_spawn_alternating.json", &json).expect("write the report");
    println!("wrote {}", path.display());
}

/// Runs `fut` as a task on `rt`'s workers and returns its output.
fn on_worker_value<T: Send + 'static>(
    rt: &Runtime,
    fut: impl std::future::Future<Output = T> + Send + 'static,
) -> T {
    rt.block_on(rt.spawn(fut)).expect("the measuring task")
}

/// Whether the non-criterion measure `name` runs: it follows criterion's command line — not in
/// `--list` or `--test` mode, and only when the name filter (a substring here) matches `name` or
/// there is none.
fn selected(name: &str) -> bool {
    /// Criterion options that take a value as the next argument.
    const TAKES_VALUE: &[&str] = &[
        "--save-baseline",
        "-s",
        "--baseline",
        "-b",
        "--baseline-lenient",
        "--load-baseline",
        "--sample-size",
        "--warm-up-time",
        "--measurement-time",
        "--nresamples",
        "--noise-threshold",
        "--confidence-level",
        "--significance-level",
        "--profile-time",
        "--color",
        "-c",
        "--output-format",
        "--plotting-backend",
    ];
    let mut args = std::env::args().skip(1);
    let mut filter = None;
    while let Some(arg) = args.next() {
        if arg == "--list" || arg == "--test" {
            return false;
        }
        if arg.starts_with('-') {
            if TAKES_VALUE.contains(&arg.as_str()) {
                args.next();
            }
        } else if filter.is_none() {
            filter = Some(arg);
        }
    }
    filter.is_none_or(|f| name.contains(f.as_str()))
}

fn main() {
    let guests = load_guests();
    let rt = runtime().expect("tokio runtime");
    // First, while the heap is young: the memory measure (not criterion).
    if selected("memory_per_idle_component") {
        memory_per_idle_component(&rt, &guests);
    }
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    component_spawn(&mut c, &rt, &guests);
    component_roundtrip(&mut c, &rt, &guests);
    component_restart_after_trap(
        &mut c,
        "component_restart_after_trap",
        TrapShape::Queued,
        &rt,
        &guests,
    );
    // Diagnostics, no target: one ask per trap, on 2 workers and on 1 (see the module docs).
    component_restart_after_trap(
        &mut c,
        "component_restart_after_trap_ask",
        TrapShape::Ask,
        &rt,
        &guests,
    );
    let one = runtime_with_workers(1).expect("tokio runtime, 1 worker");
    component_restart_after_trap(
        &mut c,
        "component_restart_after_trap_ask_one_worker",
        TrapShape::Ask,
        &one,
        &guests,
    );
    c.final_summary();
    // Last, not criterion: component spawn in alternating batches (see the module docs).
    if selected("component_spawn_alternating") {
        component_spawn_alternating(&rt, &guests);
    }
}
