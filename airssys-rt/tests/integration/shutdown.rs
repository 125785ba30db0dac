//! Graceful shutdown: drain, reverse order, prompt when idle, kill when stuck.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use airssys_rt::{ActorSystem, ChildSpec, DeadLetterReason, ShutdownOptions, SupervisorNode};
use tokio::time::Instant;

use super::common::{Cmd, Probe, Shared, hold};

#[tokio::test(start_paused = true)]
async fn shutdown_of_idle_actors_returns_without_waiting() {
    let system = ActorSystem::new();
    let shared = Shared::new("p");
    for _ in 0..200 {
        system.spawn(Probe::new(&shared)).await.unwrap();
    }
    let before = Instant::now();
    let report = system.shutdown().await;
    // No timer was waited on: the paused clock did not move.
    assert_eq!(before.elapsed(), Duration::ZERO);
    assert_eq!(report.stopped, 200);
    assert_eq!(report.drained, 0);
    assert!(report.timed_out.is_empty());
    assert_eq!(system.top_level_count(), 0);
}

#[tokio::test(start_paused = true)]
async fn shutdown_drains_queued_messages_and_reports_them() {
    let system = ActorSystem::new();
    let shared = Shared::new("p");
    let actor = system.spawn(Probe::new(&shared)).await.unwrap();
    let release = hold(&actor).await;
    for i in 0..10 {
        actor.tell(Cmd::Push(i)).await.unwrap();
    }
    let shutdown = {
        let system = system.clone();
        tokio::spawn(async move { system.shutdown().await })
    };
    tokio::task::yield_now().await;
    release.send(()).unwrap();
    let report = shutdown.await.unwrap();
    assert_eq!(report.drained, 10);
    assert_eq!(report.dead_lettered, 0);
    assert_eq!(shared.log(), (0..10).collect::<Vec<_>>());
    assert!(shared.events().contains(&"p:stop:shutdown".to_owned()));
}

#[tokio::test(start_paused = true)]
async fn what_cannot_be_drained_in_time_is_dead_lettered() {
    let system = ActorSystem::new();
    let shared = Shared::new("p");
    let actor = system.spawn(Probe::new(&shared)).await.unwrap();
    for _ in 0..5 {
        actor
            .tell(Cmd::Sleep(Duration::from_secs(1)))
            .await
            .unwrap();
    }
    let report = system
        .shutdown_with(
            ShutdownOptions::default()
                .drain_timeout(Duration::from_millis(2_500))
                .per_actor_timeout(Duration::from_secs(10)),
        )
        .await;
    // Three sleeps start before the drain deadline; the rest are dead-lettered.
    assert_eq!(report.drained, 3, "{report:?}");
    assert_eq!(report.dead_lettered, 2, "{report:?}");
    assert!(report.timed_out.is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_stuck_actor_is_killed_and_its_message_dead_lettered() {
    let system = ActorSystem::new();
    let shared = Shared::new("stuck");
    let actor = system
        .spawn_named("stuck", Probe::new(&shared))
        .await
        .unwrap();
    let _never_released = hold(&actor).await;
    let report = system
        .shutdown_with(ShutdownOptions::default().per_actor_timeout(Duration::from_millis(100)))
        .await;
    assert_eq!(report.timed_out, vec!["stuck".to_owned()]);
    assert!(
        system
            .dead_letters()
            .reasons()
            .contains(&(actor.id(), DeadLetterReason::Aborted))
    );
    assert!(!actor.is_alive());
}

#[tokio::test]
async fn actors_and_supervisors_stop_in_reverse_start_order() {
    let system = ActorSystem::new();
    let journal = Arc::new(Mutex::new(Vec::new()));
    let a = Shared::with_journal("a", &journal);
    let b = Shared::with_journal("b", &journal);
    let c = Shared::with_journal("c", &journal);
    let d = Shared::with_journal("d", &journal);
    system.spawn(Probe::new(&a)).await.unwrap();
    system
        .start_supervisor(
            SupervisorNode::builder("sup")
                .child(ChildSpec::actor("b", Probe::factory(&b)))
                .child(ChildSpec::actor("c", Probe::factory(&c)))
                .build(),
        )
        .await
        .unwrap();
    system.spawn(Probe::new(&d)).await.unwrap();
    journal.lock().unwrap().clear();
    let report = system.shutdown().await;
    assert_eq!(report.stopped, 3);
    assert_eq!(
        *journal.lock().unwrap(),
        [
            "d:stop:shutdown",
            "c:stop:shutdown",
            "b:stop:shutdown",
            "a:stop:shutdown"
        ]
    );
}

/// A root supervisor that was stopped leaves the top-level table through a watcher task, a
/// moment later. Meanwhile it is neither counted by `top_level_count` nor reported as stopped
/// by a shutdown: both count only what is running.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_root_supervisor_is_not_counted_while_it_leaves_the_table() {
    for _ in 0..200 {
        let system = ActorSystem::new();
        let a = Shared::new("a");
        let b = Shared::new("b");
        system.spawn(Probe::new(&a)).await.unwrap();
        let sup = system
            .start_supervisor(
                SupervisorNode::builder("sup")
                    .child(ChildSpec::actor("b", Probe::factory(&b)))
                    .build(),
            )
            .await
            .unwrap();
        assert_eq!(system.top_level_count(), 2);
        sup.stop().await;
        // No yield in between: the watcher may or may not have run.
        assert_eq!(system.top_level_count(), 1);
        let report = system.shutdown().await;
        assert_eq!(report.stopped, 1);
        assert_eq!(system.top_level_count(), 0);
    }
}

/// A top-level actor leaves the top-level table just after its mailbox closes. An observer that
/// sees it stopped (`is_alive` false) must not count it any more.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_actor_is_not_counted_once_it_is_seen_stopped() {
    for _ in 0..300 {
        let system = ActorSystem::new();
        let shared = Shared::new("p");
        let actor = system.spawn(Probe::new(&shared)).await.unwrap();
        actor.tell(Cmd::Push(1)).await.unwrap();
        actor.stop();
        // Spun, not slept: the window between the mailbox closing and the table entry going
        // is short.
        let give_up = std::time::Instant::now() + Duration::from_secs(10);
        while actor.is_alive() {
            assert!(
                std::time::Instant::now() < give_up,
                "the actor did not stop"
            );
            std::hint::spin_loop();
        }
        assert_eq!(system.top_level_count(), 0);
        assert_eq!(system.shutdown().await.stopped, 0);
    }
}
