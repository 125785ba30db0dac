//! Scalability: registry lookup with 10, 1 000 and 100 000 registered names.
//!
//! Runtime: tokio multi-thread with 2 worker threads (`airssys_benches::runtime`) hosts the
//! named idle actors, spawned from `Runtime::block_on` on the bench thread. A lookup is a
//! synchronous call, so the timed loop runs directly on the bench thread (no await in it).
//!
//! One lookup = a name to a usable handle, reported per lookup:
//! - `airssys`: `ActorSystem::lookup::<Msg>(name)`, names registered by spawning that many named
//!   idle actors (`spawn_named`);
//! - `floor`: `DashMap<Arc<str>, Arc<FloorRef>>::get(name)` + clone of the value (the same work:
//!   a hash, a shard read lock, a key comparison, a reference-count increment).
//!
//! - `floor_same_handles`: `DashMap<Arc<str>, ActorRef<Msg>>::get(name)` + clone, holding the
//!   registered actors' own addresses. `floor`'s handles are 32-byte allocations made one after
//!   another, so at 100 000 names they fill 3.2 MB read in order; an actor's address record sits
//!   among that actor's other state (about 450 bytes apart from the next one), so cloning a
//!   handle out touches a line no cache holds once the actors outgrow the caches. This floor
//!   pays that as the registry does, and so separates the registry's own cost from the cost
//!   of the actors' memory.
//!
//! All look up the same rotating sequence of existing names (`actor-{i % n}`, all names of the
//! registry in turn) and drop the handle inside the timed loop. Criterion id: the contestant with
//! the registry size as parameter (`BenchmarkId::new("airssys", 100000)`).

// Benchmark harness code: a failed spawn is a broken bench, and the harness prints its results.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use airssys_benches::{Counter, Msg, runtime};
use airssys_rt::{ActorRef, ActorSystem};
use criterion::{BenchmarkId, Criterion, Throughput};
use dashmap::DashMap;
use tokio::runtime::Runtime;

const SIZES: [usize; 3] = [10, 1_000, 100_000];

/// The floor's handle: what a name resolves to (cloned out as an `Arc`, like an `ActorRef`).
#[derive(Debug)]
struct FloorRef {
    id: u64,
}

fn names(n: usize) -> Vec<Arc<str>> {
    (0..n).map(|i| Arc::from(format!("actor-{i}"))).collect()
}

fn registry_lookup(c: &mut Criterion, rt: &Runtime) {
    let mut g = c.benchmark_group("registry_lookup");
    g.throughput(Throughput::Elements(1));

    for n in SIZES {
        let names = names(n);

        let system = ActorSystem::new();
        rt.block_on(async {
            for name in &names {
                system
                    .spawn_named(Arc::clone(name), Counter::default())
                    .await
                    .unwrap();
            }
        });
        assert_eq!(system.registered_names().len(), n);
        g.bench_with_input(BenchmarkId::new("airssys", n), &names, |b, names| {
            b.iter_custom(|iters| {
                let start = Instant::now();
                for i in 0..iters {
                    let name = &names[i as usize % n];
                    black_box(system.lookup::<Msg>(black_box(name)).unwrap());
                }
                start.elapsed()
            });
        });

        // The same lookup over the very same handles: the registered actors' own `ActorRef`s in
        // a plain `DashMap`. Cloning one out touches the actor's address record, as the
        // registry's lookup does, wherever the allocator put it among the actor's other state.
        let same_handles: DashMap<Arc<str>, ActorRef<Msg>> = names
            .iter()
            .map(|name| (Arc::clone(name), system.lookup::<Msg>(name).unwrap()))
            .collect();
        g.bench_with_input(
            BenchmarkId::new("floor_same_handles", n),
            &names,
            |b, names| {
                b.iter_custom(|iters| {
                    let start = Instant::now();
                    for i in 0..iters {
                        let name: &str = &names[i as usize % n];
                        let handle = same_handles.get(black_box(name)).map(|r| r.value().clone());
                        black_box(handle.unwrap());
                    }
                    start.elapsed()
                });
            },
        );
        drop(same_handles);
        rt.block_on(system.shutdown());

        let map: DashMap<Arc<str>, Arc<FloorRef>> = DashMap::new();
        for (i, name) in names.iter().enumerate() {
            map.insert(Arc::clone(name), Arc::new(FloorRef { id: i as u64 }));
        }
        g.bench_with_input(BenchmarkId::new("floor", n), &names, |b, names| {
            b.iter_custom(|iters| {
                let start = Instant::now();
                for i in 0..iters {
                    let name: &str = &names[i as usize % n];
                    let handle = map.get(black_box(name)).map(|r| Arc::clone(r.value()));
                    black_box(handle.unwrap().id);
                }
                start.elapsed()
            });
        });
    }
    g.finish();
}

fn main() {
    let rt = runtime().expect("tokio runtime");
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    registry_lookup(&mut c, &rt);
    c.final_summary();
}
