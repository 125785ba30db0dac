//! Actor lifecycle: spawn until started, and supervised restart after a handler panic.
//!
//! Runtime: tokio multi-thread with 2 worker threads (`airssys_benches::runtime`). The spawner /
//! sender runs as a task on that runtime (`airssys_benches::on_worker`: each sample's timed loop
//! is spawned on the workers, the bench thread only waits for it), the way an actor spawns or
//! talks to actors; every contestant runs through that same helper. (Until 2026-12 it ran in
//! `Runtime::block_on` on criterion's thread and paid an OS cross-thread wake-up per started
//! signal or reply, whose cost varied 4× between runs on the 2-vCPU VM.)
//!
//! `spawn` — time per spawn, awaited until the actor has started (a message sent afterwards is
//! handled). The spawned actors are kept alive until the end of the sample and stopped (and
//! waited for) outside the timed region.
//! - `airssys`: `ActorSystem::spawn` (returns after `pre_start` ran; default mailbox, bounded 1024).
//!   Since 2026-12-02 its tokio task is created by the first message or signal, not by the
//!   spawn (`airssys-rt/src/task.rs`), so this row no longer includes a task spawn or the
//!   wake-up of another worker, which the floor's row does; the first `tell`/`ask` to the actor
//!   pays them instead (one `Handle::spawn` in the sender). `spawn_then_ask` shows that cost.
//!
//! `spawn_then_ask` — time per spawn followed by one ask answered (the reply checked): the
//! spawn as above, then `ask(Get)` (airssys, with its timeout), a `Get` over a `oneshot`
//! (floor), `call` (ractor), `ask` (kameo). For airssys this includes the creation of the
//! actor's task by that first message.
//! - `floor`: what a hand-written tokio actor does to start: create a bounded `mpsc` channel of
//!   1024, `tokio::spawn` a task that signals "started" over a `oneshot` and then awaits `recv`,
//!   and await that `oneshot`. (SPEC §7 names "tokio spawn + join"; joining would need the task
//!   to end, which an actor does not, so the started signal stands in for the join: same spawn,
//!   same one wake-up of the spawner.)
//! - `ractor`: `Actor::spawn` (returns after `pre_start`; unbounded mailbox);
//! - `kameo`: `spawn_with_mailbox(bounded(1024))` + `wait_for_startup`.
//!
//! `restart_after_panic`: `airssys` is a `SupervisorNode` with one `ChildSpec::actor` child,
//! `Backoff::Immediate`, `RestartIntensity::new(u32::MAX, 1 s)`; the child's handler panics on
//! `Crash`. One iteration = tell `Crash`, then ask `Get`; the time runs from sending the panic
//! message until the reply to the ask arrives (the ask is queued behind the panic and handled by
//! the fresh instance). Nothing lost: every ask must be answered, and the dead-letter queue must
//! hold exactly one letter (the message in flight) per panic. SPEC §7 names no floor for it;
//! `floor` here is the least any restart costs: a hand-written tokio task whose handler panics
//! inside `catch_unwind`, which then makes a fresh state in the same task and handles the next
//! message (a `Get` answered over a `oneshot`, awaited without a timeout), so the difference is
//! what supervision adds on top of the panic's own unwinding. A silent panic hook is installed so
//! the deliberate panics do not flood stderr.

// Benchmark harness code: a failed spawn or ask is a broken bench; the restart bench's actor
// panics on purpose.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::panic
)]

use std::convert::Infallible;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use airssys_benches::{
    ASK_TIMEOUT, Counter, MAILBOX_CAPACITY, Msg, airssys_stop, floor_get, floor_stop, kameo_stop,
    kameo_sync, on_worker, ractor_get, ractor_stop, runtime, spawn_floor, spawn_kameo,
    spawn_ractor,
};
use airssys_rt::{
    Actor, ActorContext, ActorSystem, Backoff, ChildSpec, Message, MessageBroker, RestartIntensity,
    SupervisorNode,
};
use criterion::{Criterion, Throughput};
use futures_util::FutureExt;
use tokio::runtime::Runtime;

fn spawn(c: &mut Criterion, rt: &Runtime) {
    let mut g = c.benchmark_group("spawn");
    g.throughput(Throughput::Elements(1));

    let system = ActorSystem::new();
    g.bench_function("airssys", |b| {
        b.iter_custom(|iters| {
            let system = system.clone();
            on_worker(rt, async move {
                let mut actors = Vec::with_capacity(iters as usize);
                let start = Instant::now();
                for _ in 0..iters {
                    actors.push(system.spawn(Counter::default()).await.unwrap());
                }
                let elapsed = start.elapsed();
                airssys_stop(&actors).await;
                elapsed
            })
            .unwrap()
        });
    });

    g.bench_function("floor", |b| {
        b.iter_custom(|iters| {
            on_worker(rt, async move {
                let mut floors = Vec::with_capacity(iters as usize);
                let start = Instant::now();
                for _ in 0..iters {
                    floors.push(spawn_floor(MAILBOX_CAPACITY).await);
                }
                let elapsed = start.elapsed();
                floor_stop(floors).await;
                elapsed
            })
            .unwrap()
        });
    });

    g.bench_function("ractor", |b| {
        b.iter_custom(|iters| {
            on_worker(rt, async move {
                let mut actors = Vec::with_capacity(iters as usize);
                let start = Instant::now();
                for _ in 0..iters {
                    actors.push(spawn_ractor().await.unwrap());
                }
                let elapsed = start.elapsed();
                ractor_stop(actors).await;
                elapsed
            })
            .unwrap()
        });
    });

    g.bench_function("kameo", |b| {
        b.iter_custom(|iters| {
            on_worker(rt, async move {
                let mut actors = Vec::with_capacity(iters as usize);
                let start = Instant::now();
                for _ in 0..iters {
                    actors.push(spawn_kameo().await);
                }
                let elapsed = start.elapsed();
                kameo_stop(&actors).await;
                elapsed
            })
            .unwrap()
        });
    });
    g.finish();
    rt.block_on(system.shutdown());
}

/// Spawn, then the first ask answered: what `spawn` costs once the actor has work, including
/// airssys's task creation, which its first message triggers (see the module docs).
fn spawn_then_ask(c: &mut Criterion, rt: &Runtime) {
    let mut g = c.benchmark_group("spawn_then_ask");
    g.throughput(Throughput::Elements(1));

    let system = ActorSystem::new();
    g.bench_function("airssys", |b| {
        b.iter_custom(|iters| {
            let system = system.clone();
            on_worker(rt, async move {
                let mut actors = Vec::with_capacity(iters as usize);
                let start = Instant::now();
                for _ in 0..iters {
                    let actor = system.spawn(Counter::default()).await.unwrap();
                    assert_eq!(actor.ask(Msg::Get, ASK_TIMEOUT).await.unwrap(), 0);
                    actors.push(actor);
                }
                let elapsed = start.elapsed();
                airssys_stop(&actors).await;
                elapsed
            })
            .unwrap()
        });
    });

    g.bench_function("floor", |b| {
        b.iter_custom(|iters| {
            on_worker(rt, async move {
                let mut floors = Vec::with_capacity(iters as usize);
                let start = Instant::now();
                for _ in 0..iters {
                    let floor = spawn_floor(MAILBOX_CAPACITY).await;
                    assert_eq!(floor_get(&floor.0).await.unwrap(), 0);
                    floors.push(floor);
                }
                let elapsed = start.elapsed();
                floor_stop(floors).await;
                elapsed
            })
            .unwrap()
        });
    });

    g.bench_function("ractor", |b| {
        b.iter_custom(|iters| {
            on_worker(rt, async move {
                let mut actors = Vec::with_capacity(iters as usize);
                let start = Instant::now();
                for _ in 0..iters {
                    let actor = spawn_ractor().await.unwrap();
                    assert_eq!(ractor_get(&actor.0).await.unwrap(), 0);
                    actors.push(actor);
                }
                let elapsed = start.elapsed();
                ractor_stop(actors).await;
                elapsed
            })
            .unwrap()
        });
    });

    g.bench_function("kameo", |b| {
        b.iter_custom(|iters| {
            on_worker(rt, async move {
                let mut actors = Vec::with_capacity(iters as usize);
                let start = Instant::now();
                for _ in 0..iters {
                    let actor = spawn_kameo().await;
                    assert_eq!(kameo_sync(std::slice::from_ref(&actor)).await.unwrap(), 0);
                    actors.push(actor);
                }
                let elapsed = start.elapsed();
                kameo_stop(&actors).await;
                elapsed
            })
            .unwrap()
        });
    });
    g.finish();
    rt.block_on(system.shutdown());
}

/// The restart floor's message: panic, or reply with the gets handled since the last panic.
enum FloorCrash {
    Crash,
    Get(tokio::sync::oneshot::Sender<u64>),
}

/// The restart bench's message: panic, or reply with the messages handled by this instance.
enum CrashMsg {
    Crash,
    Get,
}

impl Message for CrashMsg {
    type Reply = u64;
}

/// Panics on `Crash`; a fresh instance is made by the supervisor's factory after each panic.
#[derive(Default)]
struct Crashy {
    handled: u64,
}

impl Actor for Crashy {
    type Message = CrashMsg;
    type Error = Infallible;

    async fn handle_message<B: MessageBroker<CrashMsg>>(
        &mut self,
        msg: CrashMsg,
        ctx: &mut ActorContext<CrashMsg, B>,
    ) -> Result<(), Infallible> {
        match msg {
            CrashMsg::Crash => panic!("deliberate panic (restart bench)"),
            CrashMsg::Get => {
                self.handled += 1;
                ctx.reply(self.handled);
            }
        }
        Ok(())
    }
}

fn restart_after_panic(c: &mut Criterion, rt: &Runtime) {
    let mut g = c.benchmark_group("restart_after_panic");
    g.throughput(Throughput::Elements(1));

    let system = ActorSystem::new();
    let tree = SupervisorNode::builder("bench-supervisor")
        .intensity(RestartIntensity::new(u32::MAX, Duration::from_secs(1)))
        .child(ChildSpec::actor("crashy", Crashy::default).backoff(Backoff::Immediate))
        .build();
    let supervisor = rt.block_on(system.start_supervisor(tree)).unwrap();
    let actor = system.lookup::<CrashMsg>("crashy").unwrap();
    let panics = Arc::new(AtomicU64::new(0));

    let previous_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    g.bench_function("airssys", |b| {
        b.iter_custom(|iters| {
            let (actor, panics) = (actor.clone(), panics.clone());
            on_worker(rt, async move {
                let start = Instant::now();
                for _ in 0..iters {
                    actor.tell(CrashMsg::Crash).await.unwrap();
                    // A fresh instance has handled exactly this one message.
                    let handled = actor.ask(CrashMsg::Get, ASK_TIMEOUT).await.unwrap();
                    assert_eq!(handled, 1, "the ask must be handled by a fresh instance");
                }
                let elapsed = start.elapsed();
                panics.fetch_add(iters, Ordering::Relaxed);
                elapsed
            })
            .unwrap()
        });
    });

    // The floor: a hand-written tokio task that catches the panic of its handler, makes a fresh
    // state in place (the least a restart can do) and handles the next message.
    let (floor_tx, mut floor_rx) = tokio::sync::mpsc::channel::<FloorCrash>(MAILBOX_CAPACITY);
    let floor_join = rt.spawn(async move {
        let mut handled = 0_u64;
        while let Some(msg) = floor_rx.recv().await {
            let result = AssertUnwindSafe(async {
                match msg {
                    FloorCrash::Crash => panic!("deliberate panic (restart bench floor)"),
                    FloorCrash::Get(reply) => {
                        handled += 1;
                        let _ = reply.send(handled);
                    }
                }
            })
            .catch_unwind()
            .await;
            if result.is_err() {
                handled = 0;
            }
        }
    });
    let floor_panics = Arc::new(AtomicU64::new(0));
    g.bench_function("floor", |b| {
        b.iter_custom(|iters| {
            let (tx, panics) = (floor_tx.clone(), floor_panics.clone());
            on_worker(rt, async move {
                let start = Instant::now();
                for _ in 0..iters {
                    tx.try_send(FloorCrash::Crash).unwrap();
                    let (reply, rx) = tokio::sync::oneshot::channel();
                    tx.try_send(FloorCrash::Get(reply)).unwrap();
                    assert_eq!(rx.await.unwrap(), 1, "a fresh state handles the get");
                }
                let elapsed = start.elapsed();
                panics.fetch_add(iters, Ordering::Relaxed);
                elapsed
            })
            .unwrap()
        });
    });
    drop(floor_tx);
    rt.block_on(floor_join).unwrap();
    std::panic::set_hook(previous_hook);
    g.finish();

    let dead = system.dead_letters().total();
    let panicked = panics.load(Ordering::Relaxed);
    assert_eq!(
        dead, panicked,
        "one dead letter (the message in flight) per panic, nothing else lost"
    );
    assert!(supervisor.is_running(), "the supervisor never gave up");
    println!(
        "restart_after_panic: {panicked} panics, {dead} dead letters, every following ask answered"
    );
    rt.block_on(async {
        supervisor.stop().await;
        system.shutdown().await;
    });
}

fn main() {
    let rt = runtime().expect("tokio runtime");
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    spawn(&mut c, &rt);
    spawn_then_ask(&mut c, &rt);
    restart_after_panic(&mut c, &rt);
    c.final_summary();
}
