#![doc = include_str!("../README.md")]

mod actor;
mod actor_ref;
mod ask_timer;
mod broker;
mod context;
mod dead_letter;
mod error;
mod id;
mod mailbox;
mod message;
mod observer;
mod registry;
mod reply;
mod runner;
mod signal;
mod supervisor;
mod system;
mod task;
mod time;

/// The cluster guide (`docs/guides/cluster.md`): its Rust examples are compiled as doc tests.
#[cfg(all(doctest, feature = "nats"))]
#[doc = include_str!("../../docs/guides/cluster.md")]
mod cluster_guide {}

pub use actor::{Actor, ErrorAction};
pub use actor_ref::ActorRef;
#[cfg(feature = "nats")]
pub use broker::{ClusterConfig, ClusterError, CodecError, NatsBroker, NatsCluster, RemoteMessage};
pub use broker::{InMemoryBroker, MessageBroker, PublishReport};
pub use context::{ActorContext, ReplyHandle};
pub use dead_letter::{DeadLetter, DeadLetterReason, DeadLetters};
pub use error::{AskError, ChildError, PublishError, SendError, SpawnError};
pub use id::ActorId;
pub use mailbox::{MailboxConfig, MailboxPolicy};
pub use message::Message;
pub use observer::{AskOutcome, HandleOutcome, RuntimeEvent, RuntimeObserver};
pub use supervisor::{
    ActorChild, Backoff, Child, ChildContext, ChildHealth, ChildSpec, ChildStatus, ExitNotifier,
    RestartIntensity, RestartPolicy, StopReason, SupervisionStrategy, SupervisorBuilder,
    SupervisorNode, SupervisorRef,
};
pub use system::{ActorSystem, ActorSystemBuilder, ShutdownOptions, ShutdownReport, SpawnOptions};
