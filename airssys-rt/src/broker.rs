//! [`MessageBroker`]: the transport between actors, and the in-memory implementation.

mod in_memory;
#[cfg(feature = "nats")]
mod nats;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

pub use in_memory::InMemoryBroker;
#[cfg(feature = "nats")]
pub use nats::{ClusterConfig, ClusterError, CodecError, NatsBroker, NatsCluster, RemoteMessage};

use crate::{ActorId, ActorRef, AskError, Message, PublishError, SendError};

/// What a publish did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PublishReport {
    /// Subscribers whose mailbox took the message.
    pub delivered: usize,
    /// Subscribers whose mailbox was full and dropped it (each one is a dead letter).
    pub dropped: usize,
}

/// The transport for messages of type `M`: delivery by name, request/response with a timeout,
/// and publish/subscribe on topics.
///
/// Actor code is generic over the broker, so it does not change between the default
/// [`InMemoryBroker`] (embedded, zero serialization) and a cluster broker.
pub trait MessageBroker<M: Message>: Clone + Send + Sync + 'static {
    /// Delivers `msg` to the actor registered under `to`, following that actor's mailbox policy.
    ///
    /// # Errors
    ///
    /// [`SendError::NotFound`] for an unknown name, otherwise as [`ActorRef::tell`].
    fn send(&self, to: &str, msg: M) -> impl Future<Output = Result<(), SendError<M>>> + Send;

    /// Sends `msg` to the actor registered under `to` and waits for its reply.
    ///
    /// # Errors
    ///
    /// [`AskError::Send`] with [`SendError::NotFound`] for an unknown name, otherwise as
    /// [`ActorRef::ask`].
    fn request(
        &self,
        to: &str,
        msg: M,
        timeout: Duration,
    ) -> impl Future<Output = Result<M::Reply, AskError<M>>> + Send;

    /// Delivers a copy of `msg` to every subscriber of `topic`. A subscriber whose mailbox is full
    /// follows its own policy, but a publisher never waits on one subscriber longer than the
    /// system's publish timeout; past it the copy is dead-lettered.
    ///
    /// # Errors
    ///
    /// [`PublishError::EmptyTopic`] for an empty topic name.
    fn publish(
        &self,
        topic: &str,
        msg: M,
    ) -> impl Future<Output = Result<PublishReport, PublishError>> + Send
    where
        M: Clone;

    /// Subscribes `subscriber` to `topic` (idempotent).
    fn subscribe(
        &self,
        topic: Arc<str>,
        subscriber: ActorRef<M>,
    ) -> impl Future<Output = ()> + Send;

    /// Removes `subscriber` from `topic`; `true` if it was subscribed. Stopped subscribers are
    /// also removed on the next publish.
    fn unsubscribe(&self, topic: &str, subscriber: ActorId) -> impl Future<Output = bool> + Send;
}
