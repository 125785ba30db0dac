//! Names: registered, looked up by type, released on stop, unique.

use airssys_rt::{ActorSystem, SpawnError};

use super::common::{Cmd, Probe, Shared, eventually};

#[tokio::test]
async fn a_name_is_unique_while_its_actor_lives_and_free_after_it_stops() {
    let system = ActorSystem::new();
    let shared = Shared::new("p");
    let first = system
        .spawn_named("svc", Probe::new(&shared))
        .await
        .unwrap();
    assert_eq!(first.name(), Some("svc"));
    let err = system
        .spawn_named("svc", Probe::new(&shared))
        .await
        .unwrap_err();
    assert!(
        matches!(err, SpawnError::NameTaken(ref n) if n == "svc"),
        "{err}"
    );
    assert_eq!(system.lookup::<Cmd>("svc").unwrap().id(), first.id());
    assert_eq!(system.lookup_id("svc"), Some(first.id()));

    first.stop();
    eventually(|| system.lookup::<Cmd>("svc").is_none()).await;
    let second = system
        .spawn_named("svc", Probe::new(&shared))
        .await
        .unwrap();
    assert_ne!(second.id(), first.id());
    system.shutdown().await;
    assert!(system.registered_names().is_empty());
}

#[tokio::test]
async fn lookup_with_the_wrong_message_type_finds_nothing() {
    let system = ActorSystem::new();
    let shared = Shared::new("p");
    system
        .spawn_named("svc", Probe::new(&shared))
        .await
        .unwrap();
    assert!(system.lookup::<u64Msg>("svc").is_none());
    assert!(system.lookup::<Cmd>("other").is_none());
    system.shutdown().await;
}

#[allow(non_camel_case_types)]
struct u64Msg;
impl airssys_rt::Message for u64Msg {
    type Reply = ();
}

#[tokio::test]
async fn ten_thousand_names_resolve_to_their_own_actor() {
    let system = ActorSystem::new();
    let shared = Shared::new("p");
    let mut ids = Vec::new();
    for i in 0..10_000 {
        ids.push(
            system
                .spawn_named(format!("n{i}"), Probe::new(&shared))
                .await
                .unwrap()
                .id(),
        );
    }
    for (i, id) in ids.iter().enumerate() {
        assert_eq!(system.lookup::<Cmd>(&format!("n{i}")).unwrap().id(), *id);
    }
    system.shutdown().await;
    assert!(system.registered_names().is_empty());
}

#[tokio::test]
async fn spawning_after_shutdown_is_refused() {
    let system = ActorSystem::new();
    system.shutdown().await;
    let err = system
        .spawn(Probe::new(&Shared::new("p")))
        .await
        .unwrap_err();
    assert!(matches!(err, SpawnError::ShuttingDown));
}
