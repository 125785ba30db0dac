//! Public handles are thread-safe and errors are proper errors.

use airssys_rt::{
    ActorRef, ActorSystem, AskError, ChildError, DeadLetters, InMemoryBroker, PublishError,
    SendError, SpawnError, SupervisorRef,
};

use super::common::Cmd;

fn send_sync<T: Send + Sync>() {}
fn error<T: std::error::Error + Send + Sync + 'static>() {}

#[test]
fn handles_are_send_and_sync() {
    send_sync::<ActorSystem>();
    send_sync::<ActorRef<Cmd>>();
    send_sync::<InMemoryBroker<Cmd>>();
    send_sync::<SupervisorRef>();
    send_sync::<DeadLetters>();
}

#[test]
fn errors_are_send_sync_static_errors() {
    error::<SendError<u64>>();
    error::<AskError<u64>>();
    error::<SpawnError>();
    error::<ChildError>();
    error::<PublishError>();
}

#[test]
fn send_error_hands_the_message_back_and_does_not_need_debug() {
    struct Opaque(u8);
    let e = SendError::Full(Opaque(7));
    assert_eq!(format!("{e:?}"), "SendError::Full(..)");
    assert_eq!(e.to_string(), "message not delivered: mailbox is full");
    assert_eq!(e.into_inner().0, 7);
}
