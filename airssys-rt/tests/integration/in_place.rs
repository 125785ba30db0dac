//! Restart in place: a failed child that its supervisor would restart at once and alone
//! (`OneForOne`, `Backoff::Immediate`) restarts in its own task; every other restart goes
//! through the supervisor. Which task ran a `pre_start` and a handler tells the two apart.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use airssys_rt::{
    Actor, ActorContext, ActorSystem, Backoff, ChildSpec, DeadLetterReason, Message, MessageBroker,
    RestartIntensity, RuntimeEvent, RuntimeObserver, StopReason, SupervisionStrategy,
    SupervisorNode,
};
use tokio::sync::oneshot;
use tokio::task::Id;

use super::common::{SEC, eventually};

enum Msg {
    /// Replies with the id of the task that handles it.
    Where,
    Panic,
    /// Signals `holding`, waits for `release`, then panics.
    HoldThenPanic {
        holding: oneshot::Sender<()>,
        release: oneshot::Receiver<()>,
    },
}

impl Message for Msg {
    type Reply = Id;
}

#[derive(thiserror::Error, Debug)]
#[error("scripted pre_start failure")]
struct NoStart;

/// What every instance made by one factory saw.
#[derive(Clone, Default)]
struct Seen {
    /// The task each `pre_start` ran in, in order.
    starts: Arc<Mutex<Vec<Option<Id>>>>,
    /// The `pre_start` (counted from 1) that fails, if any.
    fail_start: Arc<AtomicU32>,
    stops: Arc<Mutex<Vec<StopReason>>>,
}

impl Seen {
    fn starts(&self) -> Vec<Option<Id>> {
        self.starts.lock().unwrap().clone()
    }

    fn factory(&self) -> impl FnMut() -> Where + Send + 'static {
        let seen = self.clone();
        move || Where { seen: seen.clone() }
    }
}

struct Where {
    seen: Seen,
}

impl Actor for Where {
    type Message = Msg;
    type Error = NoStart;

    async fn handle_message<B: MessageBroker<Msg>>(
        &mut self,
        msg: Msg,
        ctx: &mut ActorContext<Msg, B>,
    ) -> Result<(), NoStart> {
        match msg {
            Msg::Where => {
                ctx.reply(tokio::task::id());
            }
            Msg::Panic => panic!("scripted panic"),
            Msg::HoldThenPanic { holding, release } => {
                let _ = holding.send(());
                let _ = release.await;
                panic!("scripted panic after hold");
            }
        }
        Ok(())
    }

    async fn pre_start<B: MessageBroker<Msg>>(
        &mut self,
        _ctx: &mut ActorContext<Msg, B>,
    ) -> Result<(), NoStart> {
        let n = {
            let mut starts = self.seen.starts.lock().unwrap();
            starts.push(tokio::task::try_id());
            starts.len()
        };
        if self.seen.fail_start.load(Ordering::SeqCst) as usize == n {
            return Err(NoStart);
        }
        Ok(())
    }

    async fn post_stop<B: MessageBroker<Msg>>(
        &mut self,
        _ctx: &mut ActorContext<Msg, B>,
        reason: &StopReason,
    ) {
        self.seen.stops.lock().unwrap().push(reason.clone());
    }
}

#[derive(Default)]
struct Restarts(Mutex<Vec<(String, u32, Duration)>>);

impl RuntimeObserver for Restarts {
    fn on_event(&self, event: &RuntimeEvent<'_>) {
        if let RuntimeEvent::ChildRestarted {
            child,
            attempt,
            delay,
            ..
        } = event
        {
            self.0
                .lock()
                .unwrap()
                .push(((*child).to_owned(), *attempt, *delay));
        }
    }
}

fn tree(seen: &Seen, strategy: SupervisionStrategy, backoff: Backoff) -> SupervisorNode {
    SupervisorNode::builder("root")
        .strategy(strategy)
        .intensity(RestartIntensity::new(100, Duration::from_secs(60)))
        .child(ChildSpec::actor("w", seen.factory()).backoff(backoff))
        .build()
}

async fn start(
    system: &ActorSystem,
    seen: &Seen,
    strategy: SupervisionStrategy,
    backoff: Backoff,
) -> airssys_rt::SupervisorRef {
    system
        .start_supervisor(tree(seen, strategy, backoff))
        .await
        .unwrap()
}

/// The fresh instance runs in a new task, and both starts in the supervisor's.
fn assert_through_the_supervisor(before: Id, after: Id, starts: &[Option<Id>]) {
    assert_ne!(after, before, "the fresh instance runs in a new task");
    assert_eq!(starts.len(), 2);
    assert_eq!(
        starts[0], starts[1],
        "both starts ran in the supervisor's task"
    );
}

#[tokio::test]
async fn an_immediate_one_for_one_restart_runs_in_the_failed_actors_own_task() {
    let restarts = Arc::new(Restarts::default());
    let system = ActorSystem::builder().observer(restarts.clone()).build();
    let seen = Seen::default();
    let root = start(
        &system,
        &seen,
        SupervisionStrategy::OneForOne,
        Backoff::Immediate,
    )
    .await;
    let w = system.lookup::<Msg>("w").unwrap();
    let task = w.ask(Msg::Where, SEC).await.unwrap();
    w.tell(Msg::Panic).await.unwrap();
    // Handled by the fresh instance, in the same task, which also ran its `pre_start`.
    assert_eq!(w.ask(Msg::Where, SEC).await.unwrap(), task);
    let starts = seen.starts();
    assert_eq!(starts.len(), 2);
    assert_ne!(
        starts[0],
        Some(task),
        "the first start runs in the supervisor"
    );
    assert_eq!(starts[1], Some(task), "the restart ran in the actor's task");
    assert_eq!(
        *seen.stops.lock().unwrap(),
        [StopReason::Panicked("scripted panic".into())]
    );
    // The supervisor's books and the observer see the restart as any other.
    let status = root.children().await.unwrap();
    assert_eq!(status[0].restarts, 1);
    assert!(status[0].running);
    assert_eq!(
        status[0].last_exit,
        Some(StopReason::Panicked("scripted panic".into()))
    );
    assert_eq!(
        *restarts.0.lock().unwrap(),
        [("w".to_owned(), 1, Duration::ZERO)]
    );
    assert!(matches!(
        &system.dead_letters().reasons()[..],
        [(_, DeadLetterReason::Panicked(p))] if p == "scripted panic"
    ));
    system.shutdown().await;
}

/// Restarts `w` once through a panic and returns (task before, task after, the two
/// `pre_start` tasks).
async fn restart_once(system: &ActorSystem, seen: &Seen) -> (Id, Id, Vec<Option<Id>>) {
    let w = system.lookup::<Msg>("w").unwrap();
    let before = w.ask(Msg::Where, SEC).await.unwrap();
    w.tell(Msg::Panic).await.unwrap();
    let after = w.ask(Msg::Where, SEC).await.unwrap();
    (before, after, seen.starts())
}

#[tokio::test(start_paused = true)]
async fn a_restart_with_a_backoff_delay_goes_through_the_supervisor() {
    let system = ActorSystem::new();
    let seen = Seen::default();
    start(
        &system,
        &seen,
        SupervisionStrategy::OneForOne,
        Backoff::Delayed(Duration::from_millis(300)),
    )
    .await;
    let t0 = tokio::time::Instant::now();
    let (before, after, starts) = restart_once(&system, &seen).await;
    assert!(
        t0.elapsed() >= Duration::from_millis(300),
        "the backoff was waited out"
    );
    assert_through_the_supervisor(before, after, &starts);
    system.shutdown().await;
}

#[tokio::test]
async fn a_one_for_all_restart_goes_through_the_supervisor() {
    let system = ActorSystem::new();
    let seen = Seen::default();
    start(
        &system,
        &seen,
        SupervisionStrategy::OneForAll,
        Backoff::Immediate,
    )
    .await;
    let (before, after, starts) = restart_once(&system, &seen).await;
    assert_through_the_supervisor(before, after, &starts);
    system.shutdown().await;
}

#[tokio::test]
async fn a_fresh_instance_failing_to_start_in_place_is_restarted_by_the_supervisor() {
    let system = ActorSystem::new();
    let seen = Seen::default();
    // The second `pre_start` (the restart in place) fails; the supervisor makes a third.
    seen.fail_start.store(2, Ordering::SeqCst);
    let root = start(
        &system,
        &seen,
        SupervisionStrategy::OneForOne,
        Backoff::Immediate,
    )
    .await;
    let (before, after, starts) = restart_once(&system, &seen).await;
    assert_eq!(starts.len(), 3);
    assert_eq!(starts[1], Some(before), "the restart in place was tried");
    assert_eq!(
        starts[2], starts[0],
        "the supervisor made the third instance"
    );
    assert_ne!(after, before);
    let status = root.children().await.unwrap();
    assert_eq!(status[0].restarts, 1, "one restart succeeded");
    assert_eq!(
        status[0].last_exit,
        Some(StopReason::Failed("scripted pre_start failure".into()))
    );
    system.shutdown().await;
}

#[tokio::test]
async fn in_place_restarts_count_in_the_supervisors_restart_intensity() {
    let system = ActorSystem::new();
    let seen = Seen::default();
    let root = system
        .start_supervisor(
            SupervisorNode::builder("root")
                .intensity(RestartIntensity::new(2, Duration::from_secs(60)))
                .child(ChildSpec::actor("w", seen.factory()))
                .build(),
        )
        .await
        .unwrap();
    let w = system.lookup::<Msg>("w").unwrap();
    let task = w.ask(Msg::Where, SEC).await.unwrap();
    for _ in 0..2 {
        w.tell(Msg::Panic).await.unwrap();
        assert_eq!(w.ask(Msg::Where, SEC).await.unwrap(), task, "in place");
    }
    // The third failure exceeds the window the two restarts in place filled.
    w.tell(Msg::Panic).await.unwrap();
    let reason = tokio::time::timeout(Duration::from_secs(10), root.wait())
        .await
        .expect("the supervisor gives up");
    assert!(
        matches!(&reason, StopReason::Failed(why) if why.contains("restart intensity exceeded")),
        "{reason}"
    );
    assert_eq!(seen.starts().len(), 3);
    system.shutdown().await;
}

/// Sends `w` a message that holds it, then panics once released; returns when it holds, with
/// the release handle.
async fn hold_then_panic(system: &ActorSystem) -> oneshot::Sender<()> {
    let w = system.lookup::<Msg>("w").unwrap();
    let (holding_tx, holding_rx) = oneshot::channel();
    let (release_tx, release_rx) = oneshot::channel();
    w.tell(Msg::HoldThenPanic {
        holding: holding_tx,
        release: release_rx,
    })
    .await
    .unwrap();
    holding_rx.await.unwrap();
    release_tx
}

#[tokio::test(start_paused = true)]
async fn a_failure_while_a_stop_is_pending_is_not_restarted_in_place() {
    let system = ActorSystem::new();
    let seen = Seen::default();
    let root = start(
        &system,
        &seen,
        SupervisionStrategy::OneForOne,
        Backoff::Immediate,
    )
    .await;
    let release_tx = hold_then_panic(&system).await;
    // The supervisor asks the held child to stop, then waits for it.
    let stopping = tokio::spawn({
        let root = root.clone();
        async move { root.stop().await }
    });
    // Paused time moves on only once every task waits: the stop request is raised by then.
    tokio::time::sleep(Duration::from_millis(1)).await;
    release_tx.send(()).unwrap();
    assert_eq!(stopping.await.unwrap(), StopReason::Normal);
    assert_eq!(seen.starts().len(), 1, "no fresh instance was made");
    eventually(|| system.lookup::<Msg>("w").is_none()).await;
    system.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_health_check_pending_at_a_failure_is_answered_by_the_fresh_instance() {
    let system = ActorSystem::new();
    let seen = Seen::default();
    let root = system
        .start_supervisor(
            SupervisorNode::builder("root")
                .intensity(RestartIntensity::new(100, Duration::from_secs(60)))
                .health_check_interval(Duration::from_millis(100))
                .child(ChildSpec::actor("w", seen.factory()))
                .build(),
        )
        .await
        .unwrap();
    let release_tx = hold_then_panic(&system).await;
    // The health check at 100 ms waits (up to 100 ms) for the held actor.
    tokio::time::sleep(Duration::from_millis(150)).await;
    release_tx.send(()).unwrap();
    eventually(|| seen.starts().len() == 2).await;
    // The fresh instance answered it: no health-check failure, no second restart.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let status = root.children().await.unwrap();
    assert_eq!(seen.starts().len(), 2);
    assert_eq!(status[0].restarts, 1);
    assert_eq!(
        status[0].last_exit,
        Some(StopReason::Panicked("scripted panic after hold".into()))
    );
    system.shutdown().await;
}
