//! Each mailbox policy under a full mailbox, a stop that arrives while it is full, and the
//! first message (sent during `pre_start`, racing a stop, or never).

use std::sync::atomic::Ordering;
use std::time::Duration;

use airssys_rt::{
    Actor, ActorContext, ActorSystem, AskError, DeadLetterReason, MailboxConfig, MailboxPolicy,
    MessageBroker, SendError, SpawnOptions,
};

use super::common::{Cmd, Probe, SEC, Shared, eventually, hold};

async fn full_actor(
    policy: MailboxPolicy,
) -> (
    ActorSystem,
    airssys_rt::ActorRef<Cmd>,
    Shared,
    tokio::sync::oneshot::Sender<()>,
) {
    let system = ActorSystem::new();
    let shared = Shared::new("p");
    let actor = system
        .spawn_with(
            Probe::new(&shared),
            SpawnOptions::new().mailbox(MailboxConfig::bounded(2).with_policy(policy)),
        )
        .await
        .unwrap();
    let release = hold(&actor).await;
    actor.tell(Cmd::Push(1)).await.unwrap();
    actor.tell(Cmd::Push(2)).await.unwrap();
    assert_eq!(actor.mailbox_depth(), 2);
    (system, actor, shared, release)
}

#[tokio::test(start_paused = true)]
async fn block_policy_makes_tell_wait_for_room() {
    let (system, actor, shared, release) = full_actor(MailboxPolicy::Block).await;
    // try_tell never waits.
    assert!(matches!(
        actor.try_tell(Cmd::Push(3)),
        Err(SendError::Full(Cmd::Push(3)))
    ));
    // tell waits while the mailbox is full...
    let waiting = tokio::time::timeout(Duration::from_millis(100), actor.tell(Cmd::Push(3))).await;
    assert!(waiting.is_err(), "tell must wait on a full Block mailbox");
    // ...and completes once there is room.
    let sender = {
        let actor = actor.clone();
        tokio::spawn(async move { actor.tell(Cmd::Push(3)).await })
    };
    release.send(()).unwrap();
    sender.await.unwrap().unwrap();
    assert_eq!(actor.ask(Cmd::Get, SEC).await.unwrap(), vec![1, 2, 3]);
    assert_eq!(system.dead_letters().total(), 0);
    drop(shared);
    system.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn drop_newest_policy_dead_letters_the_new_message() {
    let (system, actor, _shared, release) = full_actor(MailboxPolicy::DropNewest).await;
    actor.tell(Cmd::Push(3)).await.unwrap();
    actor.try_tell(Cmd::Push(4)).unwrap();
    let letters = system.dead_letters().drain();
    assert_eq!(letters.len(), 2);
    for (letter, expected) in letters.iter().zip([3, 4]) {
        assert_eq!(letter.reason, DeadLetterReason::MailboxFull);
        assert_eq!(letter.recipient, actor.id());
        let msg = letter
            .message
            .as_ref()
            .unwrap()
            .downcast_ref::<Cmd>()
            .unwrap();
        assert!(matches!(msg, Cmd::Push(n) if *n == expected));
    }
    release.send(()).unwrap();
    eventually(|| actor.mailbox_depth() == 0).await;
    assert_eq!(actor.ask(Cmd::Get, SEC).await.unwrap(), vec![1, 2]);
    system.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn reject_policy_returns_the_message_to_the_sender() {
    let (system, actor, _shared, release) = full_actor(MailboxPolicy::Reject).await;
    match actor.tell(Cmd::Push(3)).await {
        Err(SendError::Full(Cmd::Push(3))) => {}
        other => panic!("expected Full(Push(3)), got {other:?}"),
    }
    // An ask is rejected the same way, at once.
    assert!(matches!(
        actor.ask(Cmd::Get, SEC).await,
        Err(AskError::Send(SendError::Full(Cmd::Get)))
    ));
    assert_eq!(system.dead_letters().total(), 0);
    release.send(()).unwrap();
    eventually(|| actor.mailbox_depth() == 0).await;
    assert_eq!(actor.ask(Cmd::Get, SEC).await.unwrap(), vec![1, 2]);
    system.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn stop_arriving_while_the_mailbox_is_full_is_not_blocked_behind_it() {
    let (system, actor, shared, release) = full_actor(MailboxPolicy::Block).await;
    // A sender is parked on the full mailbox.
    let parked = {
        let actor = actor.clone();
        tokio::spawn(async move { actor.tell(Cmd::Push(9)).await })
    };
    tokio::task::yield_now().await;
    actor.stop();
    release.send(()).unwrap();
    eventually(|| !actor.is_alive()).await;
    // The stop was taken right after the message in flight: queued messages were not handled
    // but dead-lettered, and the parked sender got its message back or had it dead-lettered.
    assert!(shared.log().is_empty());
    let stopped = system
        .dead_letters()
        .reasons()
        .into_iter()
        .filter(|(_, r)| *r == DeadLetterReason::Stopped)
        .count();
    match parked.await.unwrap() {
        Ok(()) => assert_eq!(stopped, 3),
        Err(SendError::Stopped(Cmd::Push(9))) => assert_eq!(stopped, 2),
        Err(e) => panic!("unexpected {e}"),
    }
    system.shutdown().await;
}

#[tokio::test]
async fn unbounded_mailbox_accepts_everything() {
    let system = ActorSystem::new();
    let shared = Shared::new("p");
    let actor = system
        .spawn_with(
            Probe::new(&shared),
            SpawnOptions::new().mailbox(MailboxConfig::unbounded()),
        )
        .await
        .unwrap();
    let release = hold(&actor).await;
    for i in 0..10_000 {
        actor.try_tell(Cmd::Push(i)).unwrap();
    }
    release.send(()).unwrap();
    assert_eq!(actor.ask(Cmd::Get, SEC * 10).await.unwrap().len(), 10_000);
    system.shutdown().await;
}

/// Sends itself a message from `pre_start`, before its task exists.
struct SelfStarter {
    inner: Probe,
}

impl Actor for SelfStarter {
    type Message = Cmd;
    type Error = super::common::Boom;

    async fn handle_message<B: MessageBroker<Cmd>>(
        &mut self,
        msg: Cmd,
        ctx: &mut ActorContext<Cmd, B>,
    ) -> Result<(), Self::Error> {
        self.inner.handle_message(msg, ctx).await
    }

    async fn pre_start<B: MessageBroker<Cmd>>(
        &mut self,
        ctx: &mut ActorContext<Cmd, B>,
    ) -> Result<(), Self::Error> {
        ctx.myself()
            .try_tell(Cmd::Push(7))
            .unwrap_or_else(|_| panic!("send from pre_start"));
        self.inner.pre_start(ctx).await
    }
}

#[tokio::test]
async fn a_message_sent_during_pre_start_opens_the_mailbox_and_is_handled() {
    let system = ActorSystem::new();
    let shared = Shared::new("p");
    let actor = system
        .spawn(SelfStarter {
            inner: Probe::new(&shared),
        })
        .await
        .unwrap();
    assert_eq!(actor.ask(Cmd::Get, SEC).await.unwrap(), vec![7]);
    system.shutdown().await;
}

#[tokio::test]
async fn an_actor_stopped_before_any_message_refuses_later_sends() {
    let system = ActorSystem::new();
    let shared = Shared::new("p");
    let actor = system.spawn(Probe::new(&shared)).await.unwrap();
    assert!(actor.is_alive());
    actor.stop();
    eventually(|| !actor.is_alive()).await;
    assert!(matches!(
        actor.try_tell(Cmd::Push(1)),
        Err(SendError::Stopped(Cmd::Push(1)))
    ));
    assert!(matches!(
        actor.tell(Cmd::Push(2)).await,
        Err(SendError::Stopped(Cmd::Push(2)))
    ));
    assert!(matches!(
        actor.ask(Cmd::Get, SEC).await,
        Err(AskError::Send(SendError::Stopped(Cmd::Get)))
    ));
    assert_eq!(system.dead_letters().total(), 0);
    system.shutdown().await;
}

/// The first message to an actor races its stop, on two worker threads: every message is
/// handled, dead-lettered, or handed back to its sender — never lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_first_message_racing_a_stop_is_never_lost() {
    const ROUNDS: u64 = 300;
    let system = ActorSystem::new();
    let shared = Shared::new("p");
    let mut refused = 0;
    for i in 0..ROUNDS {
        let actor = system.spawn(Probe::new(&shared)).await.unwrap();
        let sender = {
            let actor = actor.clone();
            tokio::spawn(async move { actor.try_tell(Cmd::Push(i)).is_err() })
        };
        actor.stop();
        if sender.await.unwrap() {
            refused += 1;
        }
        eventually(|| !actor.is_alive()).await;
    }
    // A drained message is counted just after the mailbox reports closed: wait (bounded) for
    // the books to balance.
    let accounted = || shared.handled.load(Ordering::SeqCst) + system.dead_letters().total();
    eventually(|| accounted() + refused == ROUNDS).await;
    assert_eq!(accounted() + refused, ROUNDS);
    system.shutdown().await;
}

/// Queues `Hold` and then `rest` before the actor first runs, so that it takes them all as one
/// batch; returns once it is holding (the rest of the batch is taken but not handled).
async fn hold_with_batch(
    actor: &airssys_rt::ActorRef<Cmd>,
    rest: Vec<Cmd>,
) -> tokio::sync::oneshot::Sender<()> {
    let (holding_tx, holding_rx) = tokio::sync::oneshot::channel();
    let (release_tx, release_rx) = tokio::sync::oneshot::channel();
    actor
        .try_tell(Cmd::Hold {
            holding: holding_tx,
            release: release_rx,
        })
        .unwrap();
    for cmd in rest {
        actor.try_tell(cmd).unwrap();
    }
    holding_rx.await.unwrap();
    release_tx
}

async fn bounded_actor(
    capacity: usize,
    policy: MailboxPolicy,
) -> (ActorSystem, airssys_rt::ActorRef<Cmd>, Shared) {
    let system = ActorSystem::new();
    let shared = Shared::new("p");
    let actor = system
        .spawn_with(
            Probe::new(&shared),
            SpawnOptions::new().mailbox(MailboxConfig::bounded(capacity).with_policy(policy)),
        )
        .await
        .unwrap();
    (system, actor, shared)
}

#[tokio::test(start_paused = true)]
async fn capacity_counts_messages_the_actor_took_in_a_batch_but_has_not_handled() {
    let (system, actor, _shared) = bounded_actor(3, MailboxPolicy::Reject).await;
    // The actor took [Hold, Push(1), Push(2)] and handles Hold: two are still waiting.
    let release = hold_with_batch(&actor, vec![Cmd::Push(1), Cmd::Push(2)]).await;
    assert_eq!(actor.mailbox_depth(), 2);
    actor.try_tell(Cmd::Push(3)).unwrap();
    assert_eq!(actor.mailbox_depth(), 3);
    assert!(matches!(
        actor.try_tell(Cmd::Push(4)),
        Err(SendError::Full(Cmd::Push(4)))
    ));
    release.send(()).unwrap();
    eventually(|| actor.mailbox_depth() == 0).await;
    assert_eq!(actor.ask(Cmd::Get, SEC).await.unwrap(), vec![1, 2, 3]);
    assert_eq!(system.dead_letters().total(), 0);
    system.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_sender_waiting_for_room_is_woken_by_a_message_taken_from_the_batch() {
    let (system, actor, _shared) = bounded_actor(3, MailboxPolicy::Block).await;
    let (second_tx, second_rx) = tokio::sync::oneshot::channel();
    let (release_second, second_release_rx) = tokio::sync::oneshot::channel();
    // The batch: [Hold, Push(1), Hold]; with Push(2) queued behind it the mailbox is full.
    let release_first = hold_with_batch(
        &actor,
        vec![
            Cmd::Push(1),
            Cmd::Hold {
                holding: second_tx,
                release: second_release_rx,
            },
        ],
    )
    .await;
    actor.try_tell(Cmd::Push(2)).unwrap();
    let sender = {
        let actor = actor.clone();
        tokio::spawn(async move { actor.tell(Cmd::Push(3)).await })
    };
    tokio::task::yield_now().await;
    assert!(!sender.is_finished(), "the mailbox is full");
    // Taking Push(1) from the batch makes room while the actor goes on to hold again, its batch
    // not yet used up: the waiting sender must be woken by that, not by the next batch.
    release_first.send(()).unwrap();
    second_rx.await.unwrap();
    tokio::time::timeout(SEC, sender)
        .await
        .expect("the sender was not woken while the actor held the rest of its batch")
        .unwrap()
        .unwrap();
    release_second.send(()).unwrap();
    assert_eq!(actor.ask(Cmd::Get, SEC).await.unwrap(), vec![1, 2, 3]);
    system.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn senders_blocking_on_a_small_mailbox_on_two_threads_lose_and_reorder_nothing() {
    const SENDERS: u64 = 4;
    const EACH: u64 = 2_000;
    let (system, actor, _shared) = bounded_actor(4, MailboxPolicy::Block).await;
    let senders: Vec<_> = (0..SENDERS)
        .map(|s| {
            let actor = actor.clone();
            tokio::spawn(async move {
                for i in 0..EACH {
                    actor.tell(Cmd::Push(s * 1_000_000 + i)).await.unwrap();
                }
            })
        })
        .collect();
    let all = async {
        for s in senders {
            s.await.unwrap();
        }
        actor.ask(Cmd::Get, SEC).await.unwrap()
    };
    let seen = tokio::time::timeout(Duration::from_secs(30), all)
        .await
        .expect("a sender waiting for room was never woken");
    assert_eq!(
        seen.len() as u64,
        SENDERS * EACH,
        "every message handled once"
    );
    for s in 0..SENDERS {
        let mine: Vec<u64> = seen
            .iter()
            .filter(|v| **v / 1_000_000 == s)
            .map(|v| v % 1_000_000)
            .collect();
        assert_eq!(mine, (0..EACH).collect::<Vec<_>>(), "sender {s} in order");
    }
    assert_eq!(system.dead_letters().total(), 0);
    system.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn an_unbounded_mailbox_reports_its_depth() {
    let system = ActorSystem::new();
    let shared = Shared::new("p");
    let actor = system
        .spawn_with(
            Probe::new(&shared),
            SpawnOptions::new().mailbox(MailboxConfig::unbounded()),
        )
        .await
        .unwrap();
    let release = hold(&actor).await;
    for n in 1..=3 {
        actor.try_tell(Cmd::Push(n)).unwrap();
    }
    assert_eq!(actor.mailbox_depth(), 3);
    release.send(()).unwrap();
    eventually(|| actor.mailbox_depth() == 0).await;
    assert_eq!(actor.ask(Cmd::Get, SEC).await.unwrap(), vec![1, 2, 3]);
    system.shutdown().await;
}
