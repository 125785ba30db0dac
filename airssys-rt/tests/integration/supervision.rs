//! Strategies, restart types, backoff, intensity, escalation, health checks, ordering.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use airssys_rt::{
    ActorSystem, Backoff, ChildSpec, DeadLetterReason, ErrorAction, RestartIntensity,
    RestartPolicy, RuntimeEvent, RuntimeObserver, StopReason, SupervisionStrategy, SupervisorNode,
};
use tokio::time::Instant;

use super::common::{Cmd, Probe, SEC, Shared, eventually, hold};

fn sup(name: &str) -> airssys_rt::SupervisorBuilder {
    SupervisorNode::builder(name).intensity(RestartIntensity::new(100, Duration::from_secs(60)))
}

#[tokio::test(start_paused = true)]
async fn queued_messages_survive_a_restart_and_the_one_in_flight_is_dead_lettered() {
    let system = ActorSystem::new();
    let shared = Shared::new("w");
    system
        .start_supervisor(
            sup("root")
                .child(
                    ChildSpec::actor("w", Probe::factory(&shared))
                        .backoff(Backoff::Delayed(Duration::from_millis(100))),
                )
                .build(),
        )
        .await
        .unwrap();
    let w = system.lookup::<Cmd>("w").unwrap();
    let release = hold(&w).await;
    w.tell(Cmd::Fail(1)).await.unwrap();
    w.tell(Cmd::Push(2)).await.unwrap();
    w.tell(Cmd::Push(3)).await.unwrap();
    release.send(()).unwrap();
    // Sent while the worker waits out its backoff: still the same address.
    eventually(|| shared.events().contains(&"w:stop:failed".to_owned())).await;
    w.tell(Cmd::Push(4)).await.unwrap();
    assert_eq!(w.ask(Cmd::Get, SEC).await.unwrap(), vec![2, 3, 4]);
    assert_eq!(shared.starts(), 2);
    let letters = system.dead_letters().reasons();
    assert_eq!(
        letters,
        vec![(
            w.id(),
            DeadLetterReason::Failed("scripted failure 1".into())
        )]
    );
    system.shutdown().await;
}

#[tokio::test]
async fn a_panicking_handler_is_caught_and_restarted() {
    let system = ActorSystem::new();
    let shared = Shared::new("w");
    system
        .start_supervisor(
            sup("root")
                .child(ChildSpec::actor("w", Probe::factory(&shared)))
                .build(),
        )
        .await
        .unwrap();
    let w = system.lookup::<Cmd>("w").unwrap();
    w.tell(Cmd::Panic(1)).await.unwrap();
    w.tell(Cmd::Push(2)).await.unwrap();
    assert_eq!(w.ask(Cmd::Get, SEC).await.unwrap(), vec![2]);
    assert_eq!(shared.starts(), 2);
    assert!(matches!(
        &system.dead_letters().reasons()[..],
        [(_, DeadLetterReason::Panicked(p))] if p == "scripted panic 1"
    ));
    system.shutdown().await;
}

async fn three_children(
    strategy: SupervisionStrategy,
) -> (ActorSystem, [Shared; 3], Arc<Mutex<Vec<String>>>) {
    let system = ActorSystem::new();
    let journal = Arc::new(Mutex::new(Vec::new()));
    let shared = ["a", "b", "c"].map(|n| Shared::with_journal(n, &journal));
    let mut builder = sup("root").strategy(strategy);
    for s in &shared {
        builder = builder.child(ChildSpec::actor(s.label.clone(), Probe::factory(s)));
    }
    system.start_supervisor(builder.build()).await.unwrap();
    assert_eq!(*journal.lock().unwrap(), ["a:start", "b:start", "c:start"]);
    journal.lock().unwrap().clear();
    (system, shared, journal)
}

async fn fail(system: &ActorSystem, name: &str) {
    let r = system.lookup::<Cmd>(name).unwrap();
    r.tell(Cmd::Fail(0)).await.unwrap();
    // The next answer comes from the restarted instance.
    r.ask(Cmd::Get, SEC).await.unwrap();
}

#[tokio::test]
async fn one_for_one_restarts_only_the_failed_child() {
    let (system, [a, b, c], journal) = three_children(SupervisionStrategy::OneForOne).await;
    fail(&system, "b").await;
    assert_eq!(*journal.lock().unwrap(), ["b:stop:failed", "b:start"]);
    assert_eq!((a.starts(), b.starts(), c.starts()), (1, 2, 1));
    system.shutdown().await;
}

#[tokio::test]
async fn one_for_all_restarts_every_child_stopping_the_others_in_reverse() {
    let (system, [a, b, c], journal) = three_children(SupervisionStrategy::OneForAll).await;
    fail(&system, "b").await;
    for s in [&a, &c] {
        let name: &str = &s.label;
        system
            .lookup::<Cmd>(name)
            .unwrap()
            .ask(Cmd::Get, SEC)
            .await
            .unwrap();
    }
    assert_eq!(
        *journal.lock().unwrap(),
        [
            "b:stop:failed",
            "c:stop:normal",
            "a:stop:normal",
            "a:start",
            "b:start",
            "c:start"
        ]
    );
    assert_eq!((a.starts(), b.starts(), c.starts()), (2, 2, 2));
    system.shutdown().await;
}

#[tokio::test]
async fn rest_for_one_restarts_the_failed_child_and_those_started_after_it() {
    let (system, [a, b, c], journal) = three_children(SupervisionStrategy::RestForOne).await;
    fail(&system, "b").await;
    system
        .lookup::<Cmd>("c")
        .unwrap()
        .ask(Cmd::Get, SEC)
        .await
        .unwrap();
    assert_eq!(
        *journal.lock().unwrap(),
        ["b:stop:failed", "c:stop:normal", "b:start", "c:start"]
    );
    assert_eq!((a.starts(), b.starts(), c.starts()), (1, 2, 2));
    system.shutdown().await;
}

#[tokio::test]
async fn permanent_child_is_restarted_even_after_a_normal_stop() {
    let system = ActorSystem::new();
    let shared = Shared::new("w");
    system
        .start_supervisor(
            sup("root")
                .child(ChildSpec::actor("w", Probe::factory(&shared)))
                .build(),
        )
        .await
        .unwrap();
    system
        .lookup::<Cmd>("w")
        .unwrap()
        .tell(Cmd::Stop)
        .await
        .unwrap();
    eventually(|| shared.starts() == 2).await;
    system.shutdown().await;
}

#[tokio::test]
async fn transient_child_not_restarted_after_normal_exit_but_after_a_failure() {
    let system = ActorSystem::new();
    let shared = Shared::new("w");
    let root = system
        .start_supervisor(
            sup("root")
                .child(
                    ChildSpec::actor("w", Probe::factory(&shared))
                        .restart(RestartPolicy::Transient),
                )
                .build(),
        )
        .await
        .unwrap();
    fail(&system, "w").await;
    assert_eq!(shared.starts(), 2);
    let w = system.lookup::<Cmd>("w").unwrap();
    w.tell(Cmd::Stop).await.unwrap();
    eventually(|| system.lookup::<Cmd>("w").is_none()).await;
    assert_eq!(shared.starts(), 2);
    assert!(!w.is_alive());
    assert!(root.children().await.unwrap().is_empty());
    system.shutdown().await;
}

#[tokio::test]
async fn temporary_child_is_never_restarted_and_its_queue_is_dead_lettered() {
    let system = ActorSystem::new();
    let shared = Shared::new("w");
    system
        .start_supervisor(
            sup("root")
                .child(
                    ChildSpec::actor("w", Probe::factory(&shared))
                        .restart(RestartPolicy::Temporary),
                )
                .build(),
        )
        .await
        .unwrap();
    let w = system.lookup::<Cmd>("w").unwrap();
    let release = hold(&w).await;
    w.tell(Cmd::Fail(1)).await.unwrap();
    w.tell(Cmd::Push(2)).await.unwrap();
    release.send(()).unwrap();
    eventually(|| !w.is_alive()).await;
    assert_eq!(shared.starts(), 1);
    let reasons: Vec<_> = system
        .dead_letters()
        .reasons()
        .into_iter()
        .map(|(_, r)| r)
        .collect();
    assert_eq!(
        reasons,
        [
            DeadLetterReason::Failed("scripted failure 1".into()),
            DeadLetterReason::Stopped
        ]
    );
    system.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn exponential_backoff_waits_one_two_four_seconds_between_restarts() {
    let system = ActorSystem::new();
    let shared = Shared::new("w");
    system
        .start_supervisor(
            sup("root")
                .child(
                    ChildSpec::actor("w", Probe::factory(&shared)).backoff(Backoff::exponential()),
                )
                .build(),
        )
        .await
        .unwrap();
    let w = system.lookup::<Cmd>("w").unwrap();
    let mut gaps = Vec::new();
    for n in 0..3 {
        let t0 = Instant::now();
        w.tell(Cmd::Fail(n)).await.unwrap();
        eventually(|| shared.starts() == n as u32 + 2).await;
        gaps.push(t0.elapsed().as_millis());
    }
    // 1 ms polling granularity of `eventually` on top of the backoff.
    for (gap, expected) in gaps.iter().zip([1_000u128, 2_000, 4_000]) {
        assert!((expected..expected + 5).contains(gap), "{gaps:?}");
    }
    system.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn restart_series_resets_after_a_child_ran_for_the_intensity_window() {
    let system = ActorSystem::new();
    let shared = Shared::new("w");
    system
        .start_supervisor(
            SupervisorNode::builder("root")
                .intensity(RestartIntensity::new(10, Duration::from_secs(5)))
                .child(
                    ChildSpec::actor("w", Probe::factory(&shared)).backoff(Backoff::exponential()),
                )
                .build(),
        )
        .await
        .unwrap();
    let w = system.lookup::<Cmd>("w").unwrap();
    w.tell(Cmd::Fail(0)).await.unwrap();
    eventually(|| shared.starts() == 2).await; // after 1 s
    tokio::time::sleep(Duration::from_secs(6)).await;
    let t0 = Instant::now();
    w.tell(Cmd::Fail(1)).await.unwrap();
    eventually(|| shared.starts() == 3).await;
    assert!(
        t0.elapsed() < Duration::from_millis(1_010),
        "series was not reset"
    );
    system.shutdown().await;
}

#[derive(Default)]
struct Escalations(Mutex<Vec<String>>);

impl RuntimeObserver for Escalations {
    fn on_event(&self, event: &RuntimeEvent<'_>) {
        if let RuntimeEvent::SupervisorEscalated { supervisor, .. } = event {
            self.0.lock().unwrap().push((*supervisor).to_owned());
        }
    }
}

#[tokio::test]
async fn restart_intensity_escalates_through_two_levels() {
    let escalations = Arc::new(Escalations::default());
    let system = ActorSystem::builder().observer(escalations.clone()).build();
    let leaf = Shared::new("leaf");
    let one = RestartIntensity::new(1, Duration::from_secs(60));
    let mid = SupervisorNode::builder("mid")
        .intensity(one)
        .child(ChildSpec::actor("leaf", Probe::factory(&leaf)))
        .build();
    let root = system
        .start_supervisor(
            SupervisorNode::builder("root")
                .intensity(one)
                .child(ChildSpec::supervisor(mid))
                .build(),
        )
        .await
        .unwrap();
    // Leaf fails: mid restarts it (1 allowed). Fails again: mid gives up, root restarts mid.
    for round in 1..=2 {
        fail(&system, "leaf").await;
        let r = system.lookup::<Cmd>("leaf").unwrap();
        r.tell(Cmd::Fail(0)).await.unwrap();
        if round == 1 {
            eventually(|| escalations.0.lock().unwrap().len() == 1).await;
            // Root restarted mid, which started a fresh leaf under the same name.
            eventually(|| leaf.starts() == 3).await;
        }
    }
    let reason = root.wait().await;
    assert!(
        matches!(&reason, StopReason::Failed(why) if why.contains("restart intensity exceeded")),
        "{reason}"
    );
    assert_eq!(*escalations.0.lock().unwrap(), ["mid", "mid", "root"]);
    assert!(!root.is_running());
    eventually(|| system.top_level_count() == 0).await;
    assert!(system.lookup::<Cmd>("leaf").is_none());
    system.shutdown().await;
}

#[tokio::test]
async fn escalate_action_fails_the_supervisor_instead_of_restarting() {
    let system = ActorSystem::new();
    let shared = Shared::new("w");
    let factory = {
        let shared = shared.clone();
        move || Probe {
            shared: shared.clone(),
            on_error: ErrorAction::Escalate,
        }
    };
    let root = system
        .start_supervisor(sup("root").child(ChildSpec::actor("w", factory)).build())
        .await
        .unwrap();
    system
        .lookup::<Cmd>("w")
        .unwrap()
        .tell(Cmd::Fail(5))
        .await
        .unwrap();
    let reason = root.wait().await;
    assert!(
        matches!(&reason, StopReason::Failed(why) if why.contains("escalated: scripted failure 5")),
        "{reason}"
    );
    assert_eq!(shared.starts(), 1);
    system.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn health_check_failure_triggers_a_restart() {
    let system = ActorSystem::new();
    let shared = Shared::new("w");
    let root = system
        .start_supervisor(
            sup("root")
                .health_check_interval(Duration::from_millis(100))
                .child(ChildSpec::actor("w", Probe::factory(&shared)))
                .build(),
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert_eq!(shared.starts(), 1, "healthy children are left alone");
    shared.fail_health_once.store(true, Ordering::SeqCst);
    eventually(|| shared.starts() == 2).await;
    let status = root.children().await.unwrap();
    assert_eq!(status[0].restarts, 1);
    assert!(matches!(
        status[0].last_exit,
        Some(StopReason::HealthCheckFailed(_))
    ));
    system.shutdown().await;
}

#[tokio::test]
async fn children_start_in_order_and_a_failed_start_stops_the_started_ones() {
    let system = ActorSystem::new();
    let journal = Arc::new(Mutex::new(Vec::new()));
    let a = Shared::with_journal("a", &journal);
    let b = Shared::with_journal("b", &journal);
    let err = system
        .start_supervisor(
            sup("root")
                .child(ChildSpec::actor("a", Probe::factory(&a)))
                .child(ChildSpec::actor("b", Probe::factory(&b)))
                .child(ChildSpec::actor("c", || -> Probe {
                    panic!("factory broke")
                }))
                .build(),
        )
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("factory panicked: factory broke"),
        "{err}"
    );
    assert_eq!(
        *journal.lock().unwrap(),
        ["a:start", "b:start", "b:stop:normal", "a:stop:normal"]
    );
}
