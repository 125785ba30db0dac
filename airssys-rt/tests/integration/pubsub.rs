//! Topics: fan-out, unsubscribe, slow and stopped subscribers.

use std::time::Duration;

use airssys_rt::{
    ActorSystem, DeadLetterReason, MailboxConfig, MailboxPolicy, MessageBroker, PublishError,
    SpawnOptions,
};

use super::common::{Cmd, Probe, SEC, Shared, hold};

impl Clone for Cmd {
    fn clone(&self) -> Self {
        match self {
            Cmd::Push(n) => Cmd::Push(*n),
            Cmd::Get => Cmd::Get,
            _ => unreachable!("only Push and Get are published"),
        }
    }
}

#[tokio::test]
async fn publish_reaches_every_subscriber_once() {
    let system = ActorSystem::new();
    let broker = system.broker::<Cmd>();
    let mut subs = Vec::new();
    for i in 0..10 {
        let shared = Shared::new(&format!("s{i}"));
        let actor = system.spawn(Probe::new(&shared)).await.unwrap();
        broker.subscribe("news".into(), actor.clone()).await;
        broker.subscribe("news".into(), actor.clone()).await; // idempotent
        subs.push(actor);
    }
    assert_eq!(broker.subscriber_count("news"), 10);
    let report = broker.publish("news", Cmd::Push(7)).await.unwrap();
    assert_eq!(report.delivered, 10);
    for s in &subs {
        assert_eq!(s.ask(Cmd::Get, SEC).await.unwrap(), vec![7]);
    }
    // Another topic and an empty topic.
    assert_eq!(
        broker
            .publish("other", Cmd::Push(1))
            .await
            .unwrap()
            .delivered,
        0
    );
    assert!(matches!(
        broker.publish("", Cmd::Push(1)).await,
        Err(PublishError::EmptyTopic)
    ));
    assert!(broker.unsubscribe("news", subs[0].id()).await);
    assert!(!broker.unsubscribe("news", subs[0].id()).await);
    assert_eq!(
        broker
            .publish("news", Cmd::Push(8))
            .await
            .unwrap()
            .delivered,
        9
    );
    system.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_slow_subscriber_never_stalls_the_publisher_forever() {
    let system = ActorSystem::builder()
        .publish_timeout(Duration::from_millis(50))
        .build();
    let broker = system.broker::<Cmd>();
    let slow = Shared::new("slow");
    let slow_ref = system
        .spawn_with(
            Probe::new(&slow),
            SpawnOptions::new()
                .mailbox(MailboxConfig::bounded(1).with_policy(MailboxPolicy::Block)),
        )
        .await
        .unwrap();
    let fast = Shared::new("fast");
    let fast_ref = system.spawn(Probe::new(&fast)).await.unwrap();
    broker.subscribe("t".into(), slow_ref.clone()).await;
    broker.subscribe("t".into(), fast_ref.clone()).await;
    let release = hold(&slow_ref).await;
    slow_ref.tell(Cmd::Push(0)).await.unwrap(); // now full

    let report = broker.publish("t", Cmd::Push(1)).await.unwrap();
    assert_eq!(report.delivered, 1);
    assert_eq!(report.dropped, 1);
    assert!(
        system
            .dead_letters()
            .reasons()
            .contains(&(slow_ref.id(), DeadLetterReason::MailboxFull))
    );
    assert_eq!(fast_ref.ask(Cmd::Get, SEC).await.unwrap(), vec![1]);
    release.send(()).unwrap();
    system.shutdown().await;
}

#[tokio::test]
async fn stopped_subscribers_are_pruned_on_publish() {
    let system = ActorSystem::new();
    let broker = system.broker::<Cmd>();
    let shared = Shared::new("s");
    let actor = system.spawn(Probe::new(&shared)).await.unwrap();
    broker.subscribe("t".into(), actor.clone()).await;
    actor.stop();
    super::common::eventually(|| !actor.is_alive()).await;
    let report = broker.publish("t", Cmd::Push(1)).await.unwrap();
    assert_eq!(report.delivered, 0);
    assert_eq!(broker.subscriber_count("t"), 0);
    system.shutdown().await;
}
