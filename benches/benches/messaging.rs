//! Messaging: tell (1 → 1 and round robin over 100), ask round trip, publish to 100 subscribers.
//!
//! Runtime: tokio multi-thread with 2 worker threads (`airssys_benches::runtime`). The sender
//! runs as a task on that runtime (`airssys_benches::on_worker`: each sample's timed loop is
//! spawned on the workers and the bench thread only waits for it), beside the actors, the way
//! actors talk to actors; every contestant of every group runs through that same helper. (Until
//! 2026-12 the sender ran in `Runtime::block_on` on criterion's thread, so every reply paid an OS
//! cross-thread wake-up whose cost varied 4× between runs on the 2-vCPU VM.)
//!
//! Every time is end to end and reported per message (per publish for `publish_100`): a sample
//! sends `iters` messages, then one synchronising get per receiver whose reply proves (per-sender
//! FIFO) that every earlier message was handled, and checks the counts.
//!
//! Contestants (criterion function ids): `airssys`, `floor` (a tokio task draining a bounded
//! `mpsc` channel, replies over `oneshot`; sends are `try_send` with `send().await` only when the
//! channel is full, as airssys `tell` does), `ractor`, `kameo`. Every bounded mailbox has capacity
//! 1024 (airssys default; kameo is spawned with the same capacity); ractor mailboxes are
//! unbounded (its only kind). airssys asks always carry a timeout (its API); ractor `call` is made
//! without one and kameo `ask` without one (their defaults). `ask_roundtrip` also has
//! `floor_timeout`: the same floor with its reply awaited under `tokio::time::timeout` (10 s, as
//! the airssys asks), which shows what the per-ask tokio timer costs.
//!
//! `publish_100`: airssys publishes through `ActorSystem::broker::<Msg>()` to a topic whose 100
//! subscribers were added with `MessageBroker::subscribe`; the floor does 100 raw bounded sends
//! of a copy; ractor uses its process groups (`ractor::pg::join` once, then per publish
//! `pg::get_members` + `ActorCell::send_message` of a copy to each member — ractor's own
//! broadcast-to-a-group). kameo 0.22 has no pub/sub in its core crate (it lives in the separate
//! `kameo_actors` crate), so kameo is left out of that group.

// Benchmark harness code: a failed send is a broken bench, and the harness prints its results.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use airssys_benches::{
    ASK_TIMEOUT, Counter, FloorMsg, KGet, KTick, MAILBOX_CAPACITY, Msg, RactorMsg, airssys_stop,
    airssys_sync, floor_get, floor_send, floor_stop, floor_sync, kameo_stop, kameo_sync, on_worker,
    ractor_get, ractor_stop, ractor_sync, runtime, spawn_floor, spawn_kameo, spawn_ractor,
};
use airssys_rt::{ActorSystem, MessageBroker};
use criterion::{Criterion, Throughput};
use tokio::runtime::Runtime;
use tokio::sync::oneshot;

const FAN: usize = 100;
const TOPIC: &str = "bench";

/// Adds `iters` to the expected total and returns the new total.
fn expect_more(expected: &AtomicU64, iters: u64) -> u64 {
    expected.fetch_add(iters, Ordering::Relaxed) + iters
}

fn tell_1to1(c: &mut Criterion, rt: &Runtime) {
    let mut g = c.benchmark_group("tell_1to1");
    g.throughput(Throughput::Elements(1));

    let system = ActorSystem::new();
    let actor = rt.block_on(system.spawn(Counter::default())).unwrap();
    let expected = Arc::new(AtomicU64::new(0));
    g.bench_function("airssys", |b| {
        b.iter_custom(|iters| {
            let (actor, expected) = (actor.clone(), expected.clone());
            on_worker(rt, async move {
                let start = Instant::now();
                for i in 0..iters {
                    actor.tell(Msg::Tick(i)).await.unwrap();
                }
                let handled = actor.ask(Msg::Get, ASK_TIMEOUT).await.unwrap();
                let elapsed = start.elapsed();
                assert_eq!(handled, expect_more(&expected, iters));
                elapsed
            })
            .unwrap()
        });
    });
    rt.block_on(airssys_stop(&[actor]));

    let (tx, join) = rt.block_on(spawn_floor(MAILBOX_CAPACITY));
    let expected = Arc::new(AtomicU64::new(0));
    g.bench_function("floor", |b| {
        b.iter_custom(|iters| {
            let (tx, expected) = (tx.clone(), expected.clone());
            on_worker(rt, async move {
                let start = Instant::now();
                for i in 0..iters {
                    floor_send(&tx, FloorMsg::Tick(i)).await.unwrap();
                }
                let handled = floor_get(&tx).await.unwrap();
                let elapsed = start.elapsed();
                assert_eq!(handled, expect_more(&expected, iters));
                elapsed
            })
            .unwrap()
        });
    });
    rt.block_on(floor_stop(vec![(tx, join)]));

    let (actor, join) = rt.block_on(spawn_ractor()).unwrap();
    let expected = Arc::new(AtomicU64::new(0));
    g.bench_function("ractor", |b| {
        b.iter_custom(|iters| {
            let (actor, expected) = (actor.clone(), expected.clone());
            on_worker(rt, async move {
                let start = Instant::now();
                for i in 0..iters {
                    actor.cast(RactorMsg::Tick(i)).unwrap();
                }
                let handled = ractor_get(&actor).await.unwrap();
                let elapsed = start.elapsed();
                assert_eq!(handled, expect_more(&expected, iters));
                elapsed
            })
            .unwrap()
        });
    });
    rt.block_on(ractor_stop(vec![(actor, join)]));

    let actor = rt.block_on(spawn_kameo());
    let expected = Arc::new(AtomicU64::new(0));
    g.bench_function("kameo", |b| {
        b.iter_custom(|iters| {
            let (actor, expected) = (actor.clone(), expected.clone());
            on_worker(rt, async move {
                let start = Instant::now();
                for i in 0..iters {
                    actor.tell(KTick(i)).await.unwrap();
                }
                let handled = actor.ask(KGet).await.unwrap();
                let elapsed = start.elapsed();
                assert_eq!(handled, expect_more(&expected, iters));
                elapsed
            })
            .unwrap()
        });
    });
    rt.block_on(kameo_stop(&[actor]));
    g.finish();
}

fn tell_round_robin(c: &mut Criterion, rt: &Runtime) {
    let mut g = c.benchmark_group("tell_round_robin_100");
    g.throughput(Throughput::Elements(1));

    let system = ActorSystem::new();
    let actors: Vec<_> = rt.block_on(async {
        let mut v = Vec::with_capacity(FAN);
        for _ in 0..FAN {
            v.push(system.spawn(Counter::default()).await.unwrap());
        }
        v
    });
    let expected = Arc::new(AtomicU64::new(0));
    g.bench_function("airssys", |b| {
        b.iter_custom(|iters| {
            let (actors, expected) = (actors.clone(), expected.clone());
            on_worker(rt, async move {
                let start = Instant::now();
                for i in 0..iters {
                    actors[i as usize % FAN].tell(Msg::Tick(i)).await.unwrap();
                }
                let handled = airssys_sync(&actors).await.unwrap();
                let elapsed = start.elapsed();
                assert_eq!(handled, expect_more(&expected, iters));
                elapsed
            })
            .unwrap()
        });
    });
    rt.block_on(airssys_stop(&actors));

    let floors: Vec<_> = rt.block_on(async {
        let mut v = Vec::with_capacity(FAN);
        for _ in 0..FAN {
            v.push(spawn_floor(MAILBOX_CAPACITY).await);
        }
        v
    });
    let txs: Vec<_> = floors.iter().map(|(tx, _)| tx.clone()).collect();
    let expected = Arc::new(AtomicU64::new(0));
    g.bench_function("floor", |b| {
        b.iter_custom(|iters| {
            let (txs, expected) = (txs.clone(), expected.clone());
            on_worker(rt, async move {
                let start = Instant::now();
                for i in 0..iters {
                    floor_send(&txs[i as usize % FAN], FloorMsg::Tick(i))
                        .await
                        .unwrap();
                }
                let handled = floor_sync(&txs).await.unwrap();
                let elapsed = start.elapsed();
                assert_eq!(handled, expect_more(&expected, iters));
                elapsed
            })
            .unwrap()
        });
    });
    drop(txs);
    rt.block_on(floor_stop(floors));

    let ractors: Vec<_> = rt.block_on(async {
        let mut v = Vec::with_capacity(FAN);
        for _ in 0..FAN {
            v.push(spawn_ractor().await.unwrap());
        }
        v
    });
    let refs: Vec<_> = ractors.iter().map(|(a, _)| a.clone()).collect();
    let expected = Arc::new(AtomicU64::new(0));
    g.bench_function("ractor", |b| {
        b.iter_custom(|iters| {
            let (refs, expected) = (refs.clone(), expected.clone());
            on_worker(rt, async move {
                let start = Instant::now();
                for i in 0..iters {
                    refs[i as usize % FAN].cast(RactorMsg::Tick(i)).unwrap();
                }
                let handled = ractor_sync(&refs).await.unwrap();
                let elapsed = start.elapsed();
                assert_eq!(handled, expect_more(&expected, iters));
                elapsed
            })
            .unwrap()
        });
    });
    drop(refs);
    rt.block_on(ractor_stop(ractors));

    let kameos: Vec<_> = rt.block_on(async {
        let mut v = Vec::with_capacity(FAN);
        for _ in 0..FAN {
            v.push(spawn_kameo().await);
        }
        v
    });
    let expected = Arc::new(AtomicU64::new(0));
    g.bench_function("kameo", |b| {
        b.iter_custom(|iters| {
            let (kameos, expected) = (kameos.clone(), expected.clone());
            on_worker(rt, async move {
                let start = Instant::now();
                for i in 0..iters {
                    kameos[i as usize % FAN].tell(KTick(i)).await.unwrap();
                }
                let handled = kameo_sync(&kameos).await.unwrap();
                let elapsed = start.elapsed();
                assert_eq!(handled, expect_more(&expected, iters));
                elapsed
            })
            .unwrap()
        });
    });
    rt.block_on(kameo_stop(&kameos));
    g.finish();
}

fn ask_roundtrip(c: &mut Criterion, rt: &Runtime) {
    let mut g = c.benchmark_group("ask_roundtrip");
    g.throughput(Throughput::Elements(1));

    let system = ActorSystem::new();
    let actor = rt.block_on(system.spawn(Counter::default())).unwrap();
    g.bench_function("airssys", |b| {
        b.iter_custom(|iters| {
            let actor = actor.clone();
            on_worker(rt, async move {
                let start = Instant::now();
                for _ in 0..iters {
                    std::hint::black_box(actor.ask(Msg::Get, ASK_TIMEOUT).await.unwrap());
                }
                start.elapsed()
            })
            .unwrap()
        });
    });
    rt.block_on(airssys_stop(&[actor]));

    let (tx, join) = rt.block_on(spawn_floor(MAILBOX_CAPACITY));
    g.bench_function("floor", |b| {
        b.iter_custom(|iters| {
            let tx = tx.clone();
            on_worker(rt, async move {
                let start = Instant::now();
                for _ in 0..iters {
                    let (reply, rx) = oneshot::channel();
                    floor_send(&tx, FloorMsg::Get(reply)).await.unwrap();
                    std::hint::black_box(rx.await.unwrap());
                }
                start.elapsed()
            })
            .unwrap()
        });
    });
    // The same floor, its reply awaited under a tokio timeout as an airssys ask is.
    g.bench_function("floor_timeout", |b| {
        b.iter_custom(|iters| {
            let tx = tx.clone();
            on_worker(rt, async move {
                let start = Instant::now();
                for _ in 0..iters {
                    let (reply, rx) = oneshot::channel();
                    floor_send(&tx, FloorMsg::Get(reply)).await.unwrap();
                    std::hint::black_box(
                        tokio::time::timeout(ASK_TIMEOUT, rx)
                            .await
                            .unwrap()
                            .unwrap(),
                    );
                }
                start.elapsed()
            })
            .unwrap()
        });
    });
    rt.block_on(floor_stop(vec![(tx, join)]));

    let (actor, join) = rt.block_on(spawn_ractor()).unwrap();
    g.bench_function("ractor", |b| {
        b.iter_custom(|iters| {
            let actor = actor.clone();
            on_worker(rt, async move {
                let start = Instant::now();
                for _ in 0..iters {
                    std::hint::black_box(ractor_get(&actor).await.unwrap());
                }
                start.elapsed()
            })
            .unwrap()
        });
    });
    rt.block_on(ractor_stop(vec![(actor, join)]));

    let actor = rt.block_on(spawn_kameo());
    g.bench_function("kameo", |b| {
        b.iter_custom(|iters| {
            let actor = actor.clone();
            on_worker(rt, async move {
                let start = Instant::now();
                for _ in 0..iters {
                    std::hint::black_box(actor.ask(KGet).await.unwrap());
                }
                start.elapsed()
            })
            .unwrap()
        });
    });
    rt.block_on(kameo_stop(&[actor]));
    g.finish();
}

fn publish_100(c: &mut Criterion, rt: &Runtime) {
    let mut g = c.benchmark_group("publish_100");
    g.throughput(Throughput::Elements(1));

    let system = ActorSystem::new();
    let broker = system.broker::<Msg>();
    let actors: Vec<_> = rt.block_on(async {
        let mut v = Vec::with_capacity(FAN);
        for _ in 0..FAN {
            let a = system.spawn(Counter::default()).await.unwrap();
            broker.subscribe(Arc::from(TOPIC), a.clone()).await;
            v.push(a);
        }
        v
    });
    assert_eq!(broker.subscriber_count(TOPIC), FAN);
    let expected = Arc::new(AtomicU64::new(0));
    g.bench_function("airssys", |b| {
        b.iter_custom(|iters| {
            let (broker, actors, expected) = (broker.clone(), actors.clone(), expected.clone());
            on_worker(rt, async move {
                let start = Instant::now();
                for i in 0..iters {
                    let report = broker.publish(TOPIC, Msg::Tick(i)).await.unwrap();
                    std::hint::black_box(report);
                }
                let handled = airssys_sync(&actors).await.unwrap();
                let elapsed = start.elapsed();
                assert_eq!(handled, expect_more(&expected, iters * FAN as u64));
                elapsed
            })
            .unwrap()
        });
    });
    rt.block_on(airssys_stop(&actors));

    let floors: Vec<_> = rt.block_on(async {
        let mut v = Vec::with_capacity(FAN);
        for _ in 0..FAN {
            v.push(spawn_floor(MAILBOX_CAPACITY).await);
        }
        v
    });
    let txs: Vec<_> = floors.iter().map(|(tx, _)| tx.clone()).collect();
    let expected = Arc::new(AtomicU64::new(0));
    g.bench_function("floor", |b| {
        b.iter_custom(|iters| {
            let (txs, expected) = (txs.clone(), expected.clone());
            on_worker(rt, async move {
                let start = Instant::now();
                for i in 0..iters {
                    for tx in &txs {
                        floor_send(tx, FloorMsg::Tick(i)).await.unwrap();
                    }
                }
                let handled = floor_sync(&txs).await.unwrap();
                let elapsed = start.elapsed();
                assert_eq!(handled, expect_more(&expected, iters * FAN as u64));
                elapsed
            })
            .unwrap()
        });
    });
    drop(txs);
    rt.block_on(floor_stop(floors));

    let ractors: Vec<_> = rt.block_on(async {
        let mut v = Vec::with_capacity(FAN);
        for _ in 0..FAN {
            v.push(spawn_ractor().await.unwrap());
        }
        v
    });
    let refs: Vec<_> = ractors.iter().map(|(a, _)| a.clone()).collect();
    let group = TOPIC.to_owned();
    ractor::pg::join(group.clone(), refs.iter().map(|a| a.get_cell()).collect());
    assert_eq!(ractor::pg::get_members(&group).len(), FAN);
    let expected = Arc::new(AtomicU64::new(0));
    g.bench_function("ractor", |b| {
        b.iter_custom(|iters| {
            let (refs, group, expected) = (refs.clone(), group.clone(), expected.clone());
            on_worker(rt, async move {
                let start = Instant::now();
                for i in 0..iters {
                    for member in ractor::pg::get_members(&group) {
                        member.send_message(RactorMsg::Tick(i)).unwrap();
                    }
                }
                let handled = ractor_sync(&refs).await.unwrap();
                let elapsed = start.elapsed();
                assert_eq!(handled, expect_more(&expected, iters * FAN as u64));
                elapsed
            })
            .unwrap()
        });
    });
    drop(refs);
    rt.block_on(ractor_stop(ractors));
    g.finish();
}

fn main() {
    let rt = runtime().expect("tokio runtime");
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    tell_1to1(&mut c, &rt);
    tell_round_robin(&mut c, &rt);
    ask_roundtrip(&mut c, &rt);
    publish_100(&mut c, &rt);
    c.final_summary();
}
