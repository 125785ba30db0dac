//! The runtime observer sees spawns, handled messages, restarts, dead letters and stops.

use std::sync::{Arc, Mutex};

use airssys_rt::{
    ActorSystem, ChildSpec, HandleOutcome, RuntimeEvent, RuntimeObserver, SupervisorNode,
};

use super::common::{Cmd, Probe, SEC, Shared, eventually};

#[derive(Default)]
struct Journal(Mutex<Vec<String>>);

impl RuntimeObserver for Journal {
    fn on_event(&self, event: &RuntimeEvent<'_>) {
        let line = match event {
            RuntimeEvent::ActorSpawned { name, .. } => format!("spawned {name:?}"),
            RuntimeEvent::ActorStopped { name, .. } => format!("stopped {name:?}"),
            RuntimeEvent::ChildRestarted { child, attempt, .. } => {
                format!("restarted {child} #{attempt}")
            }
            RuntimeEvent::MessageHandled { outcome, .. } => format!("handled {outcome:?}"),
            RuntimeEvent::DeadLetter { reason, .. } => format!("dead letter {reason}"),
            RuntimeEvent::SupervisorEscalated { supervisor, .. } => {
                format!("escalated {supervisor}")
            }
            RuntimeEvent::AskCompleted { outcome, .. } => format!("ask {}", outcome.as_str()),
            _ => "other".to_owned(),
        };
        self.0.lock().unwrap().push(line);
    }
}

#[tokio::test]
async fn observer_sees_the_whole_lifecycle() {
    let journal = Arc::new(Journal::default());
    let system = ActorSystem::builder().observer(journal.clone()).build();
    let shared = Shared::new("w");
    system
        .start_supervisor(
            SupervisorNode::builder("root")
                .child(ChildSpec::actor("w", Probe::factory(&shared)))
                .build(),
        )
        .await
        .unwrap();
    let w = system.lookup::<Cmd>("w").unwrap();
    w.tell(Cmd::Push(1)).await.unwrap();
    w.tell(Cmd::Panic(2)).await.unwrap();
    w.ask(Cmd::Get, SEC).await.unwrap();
    eventually(|| shared.starts() == 2).await;
    system.shutdown().await;

    let lines = journal.0.lock().unwrap().clone();
    let has = |s: &str| lines.iter().any(|l| l == s);
    assert!(has("spawned Some(\"w\")"), "{lines:?}");
    assert!(
        has(&format!("handled {:?}", HandleOutcome::Ok)),
        "{lines:?}"
    );
    assert!(
        has(&format!("handled {:?}", HandleOutcome::Panicked)),
        "{lines:?}"
    );
    assert!(has("restarted w #1"), "{lines:?}");
    assert!(
        has("dead letter handler panicked: scripted panic 2"),
        "{lines:?}"
    );
    assert!(has("stopped Some(\"w\")"), "{lines:?}");
    assert!(has("ask replied"), "{lines:?}");
}

#[tokio::test(start_paused = true)]
async fn observer_sees_an_ask_that_times_out_and_one_to_a_stopped_actor() {
    let journal = Arc::new(Journal::default());
    let system = ActorSystem::builder().observer(journal.clone()).build();
    let shared = Shared::new("w");
    let w = system.spawn(Probe::new(&shared)).await.unwrap();
    // `Sleep` keeps the handler busy past the ask's timeout.
    let err = w
        .ask(
            Cmd::Sleep(std::time::Duration::from_millis(200)),
            std::time::Duration::from_millis(20),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, airssys_rt::AskError::Timeout), "{err:?}");
    w.stop();
    eventually(|| !w.is_alive()).await;
    assert!(w.ask(Cmd::Get, SEC).await.is_err());
    system.shutdown().await;
    let lines = journal.0.lock().unwrap().clone();
    assert!(lines.iter().any(|l| l == "ask timeout"), "{lines:?}");
    assert!(lines.iter().any(|l| l == "ask not_delivered"), "{lines:?}");
}
