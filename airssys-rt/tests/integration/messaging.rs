//! tell, try_tell, ask, replies, many message types in one system.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use airssys_rt::{
    Actor, ActorContext, ActorRef, ActorSystem, AskError, Message, MessageBroker, SendError,
};
use tokio::time::Instant;

use super::common::{Cmd, Probe, SEC, Shared, eventually};

#[tokio::test]
async fn message_sent_right_after_spawn_is_delivered() {
    let system = ActorSystem::new();
    let shared = Shared::new("p");
    let actor = system.spawn(Probe::new(&shared)).await.unwrap();
    actor.tell(Cmd::Push(1)).await.unwrap();
    assert_eq!(actor.ask(Cmd::Get, SEC).await.unwrap(), vec![1]);
    system.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_from_one_sender_are_handled_in_order() {
    let system = ActorSystem::new();
    let shared = Shared::new("p");
    let actor = system.spawn(Probe::new(&shared)).await.unwrap();
    for i in 0..5_000 {
        actor.tell(Cmd::Push(i)).await.unwrap();
    }
    let log = actor.ask(Cmd::Get, SEC * 10).await.unwrap();
    assert_eq!(log, (0..5_000).collect::<Vec<_>>());
    system.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn ask_times_out_and_the_late_reply_is_discarded() {
    let system = ActorSystem::new();
    let replies = Arc::new(std::sync::Mutex::new(Vec::new()));
    let actor = system
        .spawn(SlowReplier {
            delivered: Arc::clone(&replies),
        })
        .await
        .unwrap();
    let err = actor
        .ask(Slow(Duration::from_secs(5)), SEC)
        .await
        .unwrap_err();
    assert!(matches!(err, AskError::Timeout), "{err}");
    // The actor finishes later; its reply finds nobody waiting and is dropped, not kept.
    eventually(|| !replies.lock().unwrap().is_empty()).await;
    assert_eq!(*replies.lock().unwrap(), vec![false]);
    // The actor is still healthy and answers the next ask.
    assert_eq!(actor.ask(Slow(Duration::ZERO), SEC).await.unwrap(), 0);
    system.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn ask_to_a_stopped_actor_fails_at_once() {
    let system = ActorSystem::new();
    let shared = Shared::new("p");
    let actor = system.spawn(Probe::new(&shared)).await.unwrap();
    actor.stop();
    eventually(|| !actor.is_alive()).await;
    let before = Instant::now();
    let err = actor
        .ask(Cmd::Get, Duration::from_secs(30))
        .await
        .unwrap_err();
    assert!(
        matches!(err, AskError::Send(SendError::Stopped(_))),
        "{err}"
    );
    // With the clock paused, any wait on the timeout would have advanced it.
    assert_eq!(before.elapsed(), Duration::ZERO);
    assert!(matches!(
        actor.tell(Cmd::Push(1)).await,
        Err(SendError::Stopped(Cmd::Push(1)))
    ));
    system.shutdown().await;
}

#[tokio::test]
async fn unanswered_ask_fails_with_no_reply() {
    let system = ActorSystem::new();
    let shared = Shared::new("p");
    let actor = system.spawn(Probe::new(&shared)).await.unwrap();
    let err = actor.ask(Cmd::Push(3), SEC).await.unwrap_err();
    assert!(matches!(err, AskError::NoReply), "{err}");
    system.shutdown().await;
}

#[tokio::test]
async fn reply_can_be_sent_later_from_another_task() {
    let system = ActorSystem::new();
    let actor = system.spawn(Deferred).await.unwrap();
    assert_eq!(actor.ask(Twice(21), SEC).await.unwrap(), 42);
    system.shutdown().await;
}

#[tokio::test]
async fn actors_of_different_message_types_share_one_system_and_talk_by_name() {
    let system = ActorSystem::new();
    let shared = Shared::new("p");
    system
        .spawn_named("probe", Probe::new(&shared))
        .await
        .unwrap();
    let forwarder = system.spawn(Forwarder).await.unwrap();
    forwarder.tell(Forward(9)).await.unwrap();
    let probe: ActorRef<Cmd> = system.lookup("probe").unwrap();
    eventually(|| shared.log() == vec![9]).await;
    assert_eq!(probe.ask(Cmd::Get, SEC).await.unwrap(), vec![9]);
    // The broker addresses by name, with the message handed back for an unknown name.
    let broker = system.broker::<Cmd>();
    assert!(matches!(
        broker.send("nobody", Cmd::Push(1)).await,
        Err(SendError::NotFound(Cmd::Push(1)))
    ));
    assert_eq!(
        broker.request("probe", Cmd::Get, SEC).await.unwrap(),
        vec![9]
    );
    system.shutdown().await;
}

// --- helper actors ---

struct Slow(Duration);
impl Message for Slow {
    type Reply = u64;
}

struct SlowReplier {
    delivered: Arc<std::sync::Mutex<Vec<bool>>>,
}

impl Actor for SlowReplier {
    type Message = Slow;
    type Error = Infallible;

    async fn handle_message<B: MessageBroker<Slow>>(
        &mut self,
        Slow(d): Slow,
        ctx: &mut ActorContext<Slow, B>,
    ) -> Result<(), Infallible> {
        tokio::time::sleep(d).await;
        let ok = ctx.reply(0);
        if !d.is_zero() {
            self.delivered.lock().unwrap().push(ok);
        }
        Ok(())
    }
}

struct Twice(u64);
impl Message for Twice {
    type Reply = u64;
}

struct Deferred;

impl Actor for Deferred {
    type Message = Twice;
    type Error = Infallible;

    async fn handle_message<B: MessageBroker<Twice>>(
        &mut self,
        Twice(n): Twice,
        ctx: &mut ActorContext<Twice, B>,
    ) -> Result<(), Infallible> {
        let handle = ctx.take_reply().unwrap();
        tokio::spawn(async move {
            tokio::task::yield_now().await;
            handle.send(n * 2);
        });
        Ok(())
    }
}

struct Forward(u64);
impl Message for Forward {
    type Reply = ();
}

struct Forwarder;

impl Actor for Forwarder {
    type Message = Forward;
    type Error = SendError<Cmd>;

    async fn handle_message<B: MessageBroker<Forward>>(
        &mut self,
        Forward(n): Forward,
        ctx: &mut ActorContext<Forward, B>,
    ) -> Result<(), SendError<Cmd>> {
        let probe = ctx.system().lookup::<Cmd>("probe").unwrap();
        probe.tell(Cmd::Push(n)).await
    }
}

#[tokio::test]
async fn a_timeout_of_duration_max_means_no_timeout_and_does_not_panic() {
    let system = ActorSystem::new();
    let shared = Shared::new("p");
    let actor = system.spawn(Probe::new(&shared)).await.unwrap();
    actor.tell(Cmd::Push(5)).await.unwrap();
    assert_eq!(actor.ask(Cmd::Get, Duration::MAX).await.unwrap(), vec![5]);
    let report = system
        .shutdown_with(
            airssys_rt::ShutdownOptions::default()
                .drain_timeout(Duration::MAX)
                .per_actor_timeout(Duration::MAX),
        )
        .await;
    assert!(report.timed_out.is_empty());
}

/// Keeps every ask's reply slot and never answers: its asks can only time out.
#[derive(Default)]
struct Keeper {
    kept: Vec<airssys_rt::ReplyHandle<()>>,
}

struct Keep;

impl Message for Keep {
    type Reply = ();
}

impl Actor for Keeper {
    type Message = Keep;
    type Error = Infallible;

    async fn handle_message<B: MessageBroker<Keep>>(
        &mut self,
        _: Keep,
        ctx: &mut ActorContext<Keep, B>,
    ) -> Result<(), Infallible> {
        if let Some(reply) = ctx.take_reply() {
            self.kept.push(reply);
        }
        Ok(())
    }
}

/// On a multi-thread runtime with real time, through the system's ask timers: asks one at a
/// time (the timers' quiet mode) and a burst of hundreds at once (their dense mode, where the
/// timer task stamps deadlines in batches) all end in `Timeout`, none before its timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unanswered_asks_time_out_never_early_sparse_or_in_a_burst() {
    let system = ActorSystem::new();
    let keeper = system.spawn(Keeper::default()).await.unwrap();
    let timeout = Duration::from_millis(30);
    for _ in 0..3 {
        let t0 = Instant::now();
        let r = keeper.ask(Keep, timeout).await;
        assert!(matches!(r, Err(AskError::Timeout)), "{r:?}");
        assert!(t0.elapsed() >= timeout, "early: {:?}", t0.elapsed());
    }
    let asks: Vec<_> = (0..300u64)
        .map(|i| {
            let keeper = keeper.clone();
            let timeout = Duration::from_millis(20 + i % 40);
            tokio::spawn(async move {
                let t0 = Instant::now();
                let r = keeper.ask(Keep, timeout).await;
                (matches!(r, Err(AskError::Timeout)), t0.elapsed(), timeout)
            })
        })
        .collect();
    for ask in futures_util::future::join_all(asks).await {
        let (timed_out, elapsed, timeout) = ask.unwrap();
        assert!(timed_out);
        assert!(elapsed >= timeout, "{timeout:?} expired after {elapsed:?}");
        // A bound against hangs only, not a speed claim.
        assert!(elapsed < timeout + 10 * SEC, "{timeout:?} took {elapsed:?}");
    }
    system.shutdown().await;
}
