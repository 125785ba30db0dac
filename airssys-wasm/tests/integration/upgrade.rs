//! Hot upgrade: state preserved across a good upgrade, bad versions rolled back, and every
//! message sent during the swap handled exactly once.

use std::time::Duration;

use airssys_rt::{ActorRef, ActorSystem, SupervisorNode};
use airssys_wasm::{
    ComponentError, ComponentId, ComponentMessage, ComponentRegistry, ComponentSpec, WasmEngine,
};

use super::support::{SEC, ask_text, engine, eventually, load, system};

async fn counter(
    engine: &WasmEngine,
) -> (ActorSystem, ActorRef<ComponentMessage>, ComponentRegistry) {
    let system = system();
    let v1 = load(engine, "counter");
    let registry = ComponentRegistry::new(system.clone());
    registry.register(ComponentId::new("counter"), &v1).unwrap();
    system
        .start_supervisor(
            SupervisorNode::builder("root")
                .child(ComponentSpec::new("counter", v1).child_spec())
                .build(),
        )
        .await
        .unwrap();
    let actor = system.lookup::<ComponentMessage>("counter").unwrap();
    (system, actor, registry)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_good_upgrade_keeps_the_state_and_later_restarts_use_the_new_version() {
    let engine = engine(16);
    let (system, actor, registry) = counter(&engine).await;
    for _ in 0..5 {
        ask_text(&actor, "inc").await.unwrap();
    }
    assert_eq!(ask_text(&actor, "version").await.unwrap(), "1");
    let v2 = load(&engine, "counter-v2");
    registry
        .upgrade(&ComponentId::new("counter"), v2.clone(), SEC * 10)
        .await
        .unwrap();
    assert_eq!(ask_text(&actor, "version").await.unwrap(), "2");
    assert_eq!(ask_text(&actor, "get").await.unwrap(), "5");
    let meta = registry.metadata(&ComponentId::new("counter")).unwrap();
    assert_eq!((meta.digest.as_str(), meta.upgrades), (v2.digest(), 1));

    // A restart (here a stop of a Permanent child) starts the upgraded version, fresh.
    actor.stop();
    eventually(|| actor.mailbox_depth() == 0).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(ask_text(&actor, "version").await.unwrap(), "2");
    system.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_version_that_refuses_the_state_is_rolled_back() {
    let engine = engine(16);
    let (system, actor, registry) = counter(&engine).await;
    ask_text(&actor, "add 7").await.unwrap();
    let bad = load(&engine, "counter-bad-restore");
    let err = registry
        .upgrade(&ComponentId::new("counter"), bad, SEC * 10)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("restore: refusing state"), "{err}");
    assert_eq!(ask_text(&actor, "version").await.unwrap(), "1");
    assert_eq!(ask_text(&actor, "get").await.unwrap(), "7");
    assert_eq!(
        registry
            .metadata(&ComponentId::new("counter"))
            .unwrap()
            .upgrades,
        0
    );
    system.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_version_that_reports_unhealthy_is_rolled_back() {
    let engine = engine(16);
    let (system, actor, _registry) = counter(&engine).await;
    ask_text(&actor, "add 3").await.unwrap();
    let err = airssys_wasm::upgrade(&actor, load(&engine, "counter-unhealthy"), SEC * 10)
        .await
        .unwrap_err();
    assert!(
        matches!(err, ComponentError::UpgradeRolledBack(ref why) if why.starts_with("health")),
        "{err}"
    );
    assert_eq!(ask_text(&actor, "get").await.unwrap(), "3");
    system.shutdown().await;
}

async fn swap_under_load(next: &str) -> (String, String) {
    let engine = engine(16);
    let (system, actor, _registry) = counter(&engine).await;
    let next = load(&engine, next);
    let mut senders = Vec::new();
    for _ in 0..4 {
        let actor = actor.clone();
        senders.push(tokio::spawn(async move {
            for _ in 0..250 {
                actor
                    .tell(ComponentMessage::deliver("test", b"inc".to_vec()))
                    .await
                    .unwrap();
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(5)).await;
    let upgraded = airssys_wasm::upgrade(&actor, next, SEC * 30).await;
    for s in senders {
        s.await.unwrap();
    }
    let count = ask_text(&actor, "get").await.unwrap();
    let version = ask_text(&actor, "version").await.unwrap();
    assert_eq!(
        system.dead_letters().total(),
        0,
        "nothing dead-lettered: {upgraded:?}"
    );
    system.shutdown().await;
    (count, version)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_sent_during_a_good_upgrade_are_handled_exactly_once() {
    assert_eq!(
        swap_under_load("counter-v2").await,
        ("1000".into(), "2".into())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_sent_during_a_rolled_back_upgrade_are_handled_exactly_once() {
    assert_eq!(
        swap_under_load("counter-bad-restore").await,
        ("1000".into(), "1".into())
    );
}
