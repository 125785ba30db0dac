//! [`NatsBroker`]: the cluster broker over NATS (feature `nats`).
//!
//! Local first: a name registered in this node's [`ActorSystem`] is reached through its
//! mailbox, never serialized. Otherwise the cluster registry says which node holds the name
//! and the message is encoded ([`RemoteMessage`]) and sent to that node's inbox subject.

mod codec;
mod config;
mod error;
mod export;
mod node;
mod registry;
mod remote;
mod topics;
mod wire;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use dashmap::DashMap;
use dashmap::mapref::entry::Entry;

pub use codec::{CodecError, RemoteMessage};
pub use config::ClusterConfig;
pub use error::ClusterError;
pub use node::NatsCluster;

use export::Exported;
use node::Node;
use remote::RemoteProxy;
use topics::Topics;

use crate::broker::PublishReport;
use crate::{
    Actor, ActorId, ActorRef, ActorSystem, AskError, InMemoryBroker, MessageBroker, PublishError,
    SendError, SpawnOptions,
};

/// The cluster broker of message type `M`: the same [`MessageBroker`] API as the
/// [`InMemoryBroker`], across every node of the cluster.
///
/// Obtained from [`NatsCluster::broker`]. Cheap to clone (shared). Actors spawned with
/// [`spawn_named`](Self::spawn_named) run on this broker (their `ctx.send`, `ctx.request` and
/// `ctx.publish` reach the whole cluster) and their name is claimed cluster-wide.
///
/// # Delivery
///
/// - `send` (tell) to another node is **at most once**: published to the owner node's inbox
///   without an acknowledgement. It fails at once (message handed back) for an unknown name
///   ([`SendError::NotFound`]) or while NATS is unreachable ([`SendError::Stopped`]); a tell
///   to a node that died is lost until the reaper removes its names.
/// - `request` (ask) is a NATS request with the ask's timeout: a reply, or an error within the
///   timeout — [`SendError::NotFound`] for an unknown name, [`SendError::Stopped`] for a node
///   without responders (dead) or NATS unreachable, [`AskError::Timeout`], or the remote
///   actor's own outcome (`Full`, `Stopped`, `NoReply`). A lost request or reply is never
///   retried, so a handler runs at most once per ask.
/// - `publish` delivers to the local subscribers (no serialization) and publishes once on the
///   topic's subject; every other node that has subscribers for the topic fans it out to them,
///   so each subscriber gets the message once. Remote deliveries are at most once and are not
///   counted in the [`PublishReport`].
/// - Messages from one node to one remote actor keep their order (one connection, one inbox).
///
/// # Examples
///
/// ```no_run
/// use std::convert::Infallible;
/// use std::time::Duration;
/// use airssys_rt::{
///     Actor, ActorContext, ActorSystem, ClusterConfig, Message, MessageBroker, NatsCluster,
/// };
///
/// #[derive(serde::Serialize, serde::Deserialize)]
/// struct Ping(u32);
/// impl Message for Ping {
///     type Reply = u32;
/// }
///
/// struct Echo;
/// impl Actor for Echo {
///     type Message = Ping;
///     type Error = Infallible;
///     async fn handle_message<B: MessageBroker<Ping>>(
///         &mut self,
///         Ping(n): Ping,
///         ctx: &mut ActorContext<Ping, B>,
///     ) -> Result<(), Infallible> {
///         ctx.reply(n);
///         Ok(())
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let url = "nats://127.0.0.1:4222";
/// // Node A hosts the actor.
/// let system_a = ActorSystem::new();
/// let node_a = NatsCluster::connect(&system_a, ClusterConfig::new(url).node_id("a")).await?;
/// node_a.broker::<Ping>().spawn_named("echo", Echo).await?;
///
/// // Node B (another process, or another system) reaches it by name.
/// let system_b = ActorSystem::new();
/// let node_b = NatsCluster::connect(&system_b, ClusterConfig::new(url).node_id("b")).await?;
/// let broker = node_b.broker::<Ping>();
/// assert_eq!(broker.request("echo", Ping(7), Duration::from_secs(1)).await?, 7);
/// let echo = broker.lookup("echo").await?; // an ActorRef like any other
/// assert_eq!(echo.ask(Ping(8), Duration::from_secs(1)).await?, 8);
/// # Ok(())
/// # }
/// ```
pub struct NatsBroker<M: RemoteMessage> {
    node: Arc<Node>,
    state: Arc<BrokerState<M>>,
}

/// What one message type shares on a node: the local broker, the proxies, the topics.
pub(crate) struct BrokerState<M: RemoteMessage> {
    local: InMemoryBroker<M>,
    proxies: DashMap<Arc<str>, ActorRef<M>>,
    topics: Topics,
}

impl<M: RemoteMessage> BrokerState<M> {
    pub(crate) fn new(system: &ActorSystem) -> Self {
        Self {
            local: system.broker::<M>(),
            proxies: DashMap::new(),
            topics: Topics::new(),
        }
    }
}

impl<M: RemoteMessage> Clone for NatsBroker<M> {
    fn clone(&self) -> Self {
        Self {
            node: Arc::clone(&self.node),
            state: Arc::clone(&self.state),
        }
    }
}

impl<M: RemoteMessage> fmt::Debug for NatsBroker<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NatsBroker")
            .field("message", &std::any::type_name::<M>())
            .field("node", &self.node.id)
            .finish()
    }
}

impl<M: RemoteMessage> NatsBroker<M> {
    pub(crate) fn from_parts(node: Arc<Node>, state: Arc<BrokerState<M>>) -> Self {
        Self { node, state }
    }

    /// The node this broker belongs to.
    #[must_use]
    pub fn cluster(&self) -> NatsCluster {
        NatsCluster {
            node: Arc::clone(&self.node),
        }
    }

    /// Spawns `actor` on this node under `name`, claimed cluster-wide, running on this broker.
    /// The name is released (locally and in the cluster) when the actor stops for good.
    ///
    /// # Errors
    ///
    /// [`ClusterError::NameTaken`] if any node holds the name, [`ClusterError::Registry`] if the
    /// registry cannot be reached, [`ClusterError::Spawn`] if the local spawn failed.
    pub async fn spawn_named<A: Actor<Message = M>>(
        &self,
        name: impl Into<Arc<str>>,
        actor: A,
    ) -> Result<ActorRef<M>, ClusterError> {
        self.spawn_with(actor, SpawnOptions::new().name(name)).await
    }

    /// As [`spawn_named`](Self::spawn_named), with options (the name is required).
    ///
    /// # Errors
    ///
    /// As [`spawn_named`](Self::spawn_named); [`ClusterError::InvalidName`] without a name.
    pub async fn spawn_with<A: Actor<Message = M>>(
        &self,
        actor: A,
        options: SpawnOptions,
    ) -> Result<ActorRef<M>, ClusterError> {
        let Some(name) = options.registered_name().cloned() else {
            return Err(ClusterError::InvalidName(String::new()));
        };
        self.check_open()?;
        self.node.registry.claim(&name).await?;
        match self
            .node
            .system
            .spawn_on(actor, options, self.clone())
            .await
        {
            Ok(actor_ref) => {
                self.export(name, actor_ref.id());
                Ok(actor_ref)
            }
            Err(e) => {
                self.node.registry.release(&name).await;
                Err(ClusterError::Spawn(e))
            }
        }
    }

    /// Makes the local actor registered under `name` (for example a supervised child) reachable
    /// from the other nodes, claiming the name cluster-wide until the actor stops for good.
    ///
    /// # Errors
    ///
    /// [`ClusterError::NotLocal`] if no local actor of this message type has the name, otherwise
    /// as [`spawn_named`](Self::spawn_named).
    pub async fn register(&self, name: &str) -> Result<(), ClusterError> {
        self.check_open()?;
        let Some(actor) = self.node.system.lookup::<M>(name) else {
            return Err(ClusterError::NotLocal(name.to_owned()));
        };
        let name: Arc<str> = name.into();
        self.node.registry.claim(&name).await?;
        self.export(name, actor.id());
        Ok(())
    }

    /// The address of the actor named `name`: the local one if this node has it, otherwise a
    /// proxy for the one in the cluster. A proxy is a local actor that forwards to the remote
    /// actor (resolving the name for every message, so it follows the name if it moves); its
    /// asks wait at most [`ClusterConfig::request_timeout`], and a failed remote ask answers
    /// [`AskError::NoReply`].
    ///
    /// # Errors
    ///
    /// [`ClusterError::NotFound`] if no node holds the name, [`ClusterError::Registry`] if the
    /// registry cannot be reached, [`ClusterError::Spawn`] if the proxy could not be spawned.
    pub async fn lookup(&self, name: &str) -> Result<ActorRef<M>, ClusterError> {
        if let Some(local) = self.node.system.lookup::<M>(name) {
            return Ok(local);
        }
        self.check_open()?;
        match self.node.registry.resolve(name).await? {
            Some(owner) if *owner.node != *self.node.id => {}
            _ => return Err(ClusterError::NotFound(name.to_owned())),
        }
        if let Some(proxy) = self.state.proxies.get(name)
            && proxy.is_alive()
        {
            return Ok(proxy.clone());
        }
        let name: Arc<str> = name.into();
        let proxy = self
            .node
            .system
            .spawn(RemoteProxy::<M>::new(
                Arc::clone(&self.node),
                Arc::clone(&name),
            ))
            .await?;
        let kept = match self.state.proxies.entry(name) {
            Entry::Occupied(e) if e.get().is_alive() => {
                proxy.stop();
                e.get().clone()
            }
            Entry::Occupied(mut e) => {
                e.insert(proxy.clone());
                proxy
            }
            Entry::Vacant(v) => v.insert(proxy).clone(),
        };
        Ok(kept)
    }

    fn check_open(&self) -> Result<(), ClusterError> {
        if self.node.is_closed() {
            Err(ClusterError::Closed)
        } else {
            Ok(())
        }
    }

    /// Routes inbound messages for `name` to the local actor, and releases the name once the
    /// actor `id` no longer holds it locally.
    fn export(&self, name: Arc<str>, id: ActorId) {
        self.node.exports.insert(
            Arc::clone(&name),
            Arc::new(Exported::<M>::new(Arc::clone(&name))),
        );
        let removed = self.node.system.inner.registry.watch_removal(&name, id);
        let node = Arc::downgrade(&self.node);
        tokio::spawn(async move {
            if removed.await.is_err() {
                return;
            }
            let Some(node) = node.upgrade() else { return };
            node.exports.remove(&name);
            node.registry.release(&name).await;
        });
    }

    fn subject(&self, topic: &str) -> String {
        wire::topic_subject(&self.node.config.prefix, topic)
    }
}

impl<M: RemoteMessage> MessageBroker<M> for NatsBroker<M> {
    async fn send(&self, to: &str, msg: M) -> Result<(), SendError<M>> {
        match self.node.system.lookup::<M>(to) {
            Some(actor) => actor.tell(msg).await,
            None => remote::tell(&self.node, to, msg).await,
        }
    }

    async fn request(&self, to: &str, msg: M, timeout: Duration) -> Result<M::Reply, AskError<M>> {
        match self.node.system.lookup::<M>(to) {
            Some(actor) => actor.ask(msg, timeout).await,
            None => remote::ask(&self.node, to, msg, timeout).await,
        }
    }

    async fn publish(&self, topic: &str, msg: M) -> Result<PublishReport, PublishError>
    where
        M: Clone,
    {
        if topic.is_empty() {
            return Err(PublishError::EmptyTopic);
        }
        if self.node.is_usable() {
            let mut buf = Vec::with_capacity(64);
            match msg.encode(&mut buf) {
                Ok(()) => {
                    // Bounded: the client's queue only fills while the connection is lost.
                    let publish = self.node.client.publish(self.subject(topic), buf.into());
                    match tokio::time::timeout(self.node.config.request_timeout, publish).await {
                        Ok(Ok(())) => {}
                        Ok(Err(e)) => {
                            tracing::debug!(topic, error = %e, "publishing to other nodes failed");
                        }
                        Err(_) => {
                            tracing::debug!(topic, "publishing to other nodes timed out");
                        }
                    }
                }
                Err(e) => {
                    tracing::warn!(topic, error = %e, "a message could not be encoded for other nodes; published locally only");
                }
            }
        }
        self.state.local.publish(topic, msg).await
    }

    async fn subscribe(&self, topic: Arc<str>, subscriber: ActorRef<M>) {
        self.state
            .local
            .subscribe(Arc::clone(&topic), subscriber)
            .await;
        if !self.node.is_closed() {
            let subject = self.subject(&topic);
            self.state
                .topics
                .listen(&self.node.client, subject, topic, self.state.local.clone())
                .await;
        }
    }

    async fn unsubscribe(&self, topic: &str, subscriber: ActorId) -> bool {
        let removed = self.state.local.unsubscribe(topic, subscriber).await;
        if self.state.local.subscriber_count(topic) == 0 {
            self.state.topics.forget(topic);
        }
        removed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}
    fn assert_error<T: std::error::Error + Send + Sync + 'static>() {}

    #[derive(serde::Serialize, serde::Deserialize)]
    struct Ping;
    impl crate::Message for Ping {
        type Reply = ();
    }

    #[test]
    fn handles_are_send_and_sync_and_errors_are_errors() {
        assert_send_sync::<NatsCluster>();
        assert_send_sync::<NatsBroker<Ping>>();
        assert_send_sync::<ClusterConfig>();
        assert_error::<ClusterError>();
        assert_error::<CodecError>();
    }
}
