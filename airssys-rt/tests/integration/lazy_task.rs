//! An actor's task is created by its first message or signal: spawning does not create it,
//! everything that reaches the actor does, and a runtime that goes away drops the actors that
//! never got one.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use airssys_rt::{
    Actor, ActorContext, ActorSystem, ChildSpec, Message, MessageBroker, SupervisorNode,
};

use super::common::{Cmd, Probe, SEC, Shared};

fn multi_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn spawned_actors_get_their_task_from_their_first_message() {
    let rt = multi_thread();
    let metrics = rt.metrics();
    rt.block_on(async {
        let system = ActorSystem::new();
        let shared = Shared::new("p");
        // The first spawn also starts the system's keeper task.
        let first = system.spawn(Probe::new(&shared)).await.unwrap();
        let before = metrics.num_alive_tasks();
        let mut actors = vec![first];
        for _ in 0..99 {
            actors.push(system.spawn(Probe::new(&shared)).await.unwrap());
        }
        assert_eq!(
            metrics.num_alive_tasks(),
            before,
            "no task per spawned actor"
        );
        assert_eq!(shared.starts(), 100, "every pre_start ran");
        for (i, a) in actors.iter().enumerate() {
            a.tell(Cmd::Push(i as u64)).await.unwrap();
        }
        for a in &actors {
            a.ask(Cmd::Get, SEC).await.unwrap();
        }
        assert!(metrics.num_alive_tasks() >= before + 100);
        let mut log = shared.log();
        log.sort_unstable();
        assert_eq!(log, (0..100).collect::<Vec<_>>());
        let report = system.shutdown().await;
        assert_eq!(report.stopped, 100);
    });
}

#[test]
fn a_message_sent_from_outside_the_runtime_starts_the_actor() {
    let rt = multi_thread();
    let system = ActorSystem::new();
    let shared = Shared::new("p");
    let actor = rt.block_on(system.spawn(Probe::new(&shared))).unwrap();
    let sender = actor.clone();
    std::thread::spawn(move || sender.try_tell(Cmd::Push(7)).unwrap())
        .join()
        .unwrap();
    let log = rt.block_on(actor.ask(Cmd::Get, SEC)).unwrap();
    assert_eq!(log, vec![7]);
    rt.block_on(system.shutdown());
}

#[tokio::test(start_paused = true)]
async fn stop_and_shutdown_reach_actors_that_never_had_a_task() {
    let system = ActorSystem::new();
    let shared = Shared::new("p");
    let stopped = system.spawn(Probe::new(&shared)).await.unwrap();
    let _idle = system.spawn(Probe::new(&shared)).await.unwrap();
    stopped.stop();
    super::common::eventually(|| !stopped.is_alive()).await;
    let report = system.shutdown().await;
    assert_eq!(report.stopped, 1);
    let mut events = shared.events();
    events.sort();
    assert_eq!(
        events,
        ["p:start", "p:start", "p:stop:normal", "p:stop:shutdown"]
    );
}

/// Counts the instances dropped.
struct Dropped(Arc<AtomicUsize>);

impl Drop for Dropped {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

struct Ping;
impl Message for Ping {
    type Reply = ();
}

impl Actor for Dropped {
    type Message = Ping;
    type Error = std::convert::Infallible;
    async fn handle_message<B: MessageBroker<Ping>>(
        &mut self,
        _msg: Ping,
        _ctx: &mut ActorContext<Ping, B>,
    ) -> Result<(), Self::Error> {
        Ok(())
    }
}

#[test]
fn dropping_the_runtime_drops_actors_that_never_had_a_task() {
    let dropped = Arc::new(AtomicUsize::new(0));
    let rt = multi_thread();
    let system = ActorSystem::new();
    rt.block_on(async {
        system.spawn(Dropped(Arc::clone(&dropped))).await.unwrap();
        system.spawn(Dropped(Arc::clone(&dropped))).await.unwrap();
        let counter = Arc::clone(&dropped);
        system
            .start_supervisor(
                SupervisorNode::builder("root")
                    .child(ChildSpec::actor("supervised", move || {
                        Dropped(Arc::clone(&counter))
                    }))
                    .build(),
            )
            .await
            .unwrap();
    });
    assert_eq!(dropped.load(Ordering::SeqCst), 0);
    // No shutdown: the runtime goes away with the actors idle, as tokio drops its tasks.
    drop(rt);
    assert_eq!(dropped.load(Ordering::SeqCst), 3);
}
