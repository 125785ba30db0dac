//! [`NatsCluster`]: one node's connection to the cluster, and its background tasks.

use std::any::{Any, TypeId};
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use async_nats::connection::State;
use async_nats::{Client, ConnectOptions, Event, Subject};
use dashmap::DashMap;
use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use tokio::sync::mpsc;
use tokio::task::AbortHandle;

use super::codec::RemoteMessage;
use super::config::ClusterConfig;
use super::error::ClusterError;
use super::export::{Delivered, Delivery, Export, respond_later};
use super::registry::ClusterRegistry;
use super::wire::{self, Status};
use super::{BrokerState, NatsBroker};
use crate::ActorSystem;

/// A node of the cluster: an [`ActorSystem`] connected to NATS.
///
/// One per actor system. It owns the NATS connection, this node's inbox subscription, its
/// heartbeat and its part of the cluster registry; [`broker`](Self::broker) gives the
/// [`NatsBroker`] of a message type. Cheap to clone (shared).
///
/// Stop it with [`shutdown`](Self::shutdown) (names released, heartbeat removed, connection
/// closed). A node that just disappears (crash, network) is reaped by the others: its names
/// leave the registry within three heartbeat periods.
///
/// # Examples
///
/// ```no_run
/// use airssys_rt::{ActorSystem, ClusterConfig, NatsCluster};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let system = ActorSystem::new();
/// let node = NatsCluster::connect(
///     &system,
///     ClusterConfig::new("nats://127.0.0.1:4222").node_id("a"),
/// )
/// .await?;
/// println!("joined as {}", node.node_id());
/// node.shutdown().await;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct NatsCluster {
    pub(crate) node: Arc<Node>,
}

/// The shared state of a node.
pub(crate) struct Node {
    pub(crate) id: Arc<str>,
    pub(crate) config: ClusterConfig,
    pub(crate) client: Client,
    pub(crate) system: ActorSystem,
    pub(crate) registry: Arc<ClusterRegistry>,
    pub(crate) exports: DashMap<Arc<str>, Arc<dyn Export>>,
    brokers: DashMap<TypeId, Box<dyn Any + Send + Sync>>,
    delivery: Delivery,
    tasks: Mutex<Vec<AbortHandle>>,
    closed: AtomicBool,
}

impl fmt::Debug for NatsCluster {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NatsCluster")
            .field("node_id", &self.node.id)
            .field("connected", &self.is_connected())
            .field("exported", &self.node.exports.len())
            .finish()
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.abort_tasks();
    }
}

impl Node {
    /// `true` while messages can cross to other nodes.
    pub(crate) fn is_usable(&self) -> bool {
        !self.closed.load(Ordering::Acquire) && self.client.connection_state() == State::Connected
    }

    /// `true` once the node has shut down.
    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    fn abort_tasks(&self) {
        if let Ok(mut tasks) = self.tasks.lock() {
            for t in tasks.drain(..) {
                t.abort();
            }
        }
    }

    fn keep(&self, handle: AbortHandle) {
        if let Ok(mut tasks) = self.tasks.lock() {
            tasks.push(handle);
        }
    }

    fn on_inbox(&self, msg: async_nats::Message) -> Delivered {
        let Some(request) = wire::parse_request(&msg.payload) else {
            tracing::warn!(subject = %msg.subject, "a malformed frame on this node's inbox; dropped");
            return match msg.reply {
                Some(to) => respond_later(&self.client, to, wire::status_frame(Status::BadRequest)),
                None => Delivered::Done,
            };
        };
        let export = self
            .exports
            .get(request.name)
            .map(|e| Arc::clone(e.value()));
        match export {
            Some(export) => export.deliver(&self.delivery, request, msg.reply),
            None => match msg.reply {
                Some(to) => respond_later(&self.client, to, wire::status_frame(Status::NotFound)),
                None => Delivered::Done,
            },
        }
    }
}

/// The inbox loop: requests are taken in order; asks wait for their replies side by side.
async fn run_inbox(weak: Weak<Node>, mut subscription: async_nats::Subscriber) {
    let mut pending = FuturesUnordered::new();
    loop {
        tokio::select! {
            biased;
            Some(()) = pending.next(), if !pending.is_empty() => {}
            msg = subscription.next() => {
                let Some(msg) = msg else { break };
                let Some(node) = weak.upgrade() else { break };
                match node.on_inbox(msg) {
                    Delivered::Done => {}
                    Delivered::Pending(fut) => pending.push(fut),
                    Delivered::Wait(fut) => fut.await,
                }
            }
        }
    }
}

impl NatsCluster {
    /// Connects `system` to the cluster: opens the NATS connection, the registry buckets and
    /// this node's inbox, and starts heartbeating.
    ///
    /// # Errors
    ///
    /// [`ClusterError::Config`] for a bad node id or prefix, [`ClusterError::Connect`] if NATS
    /// cannot be reached, [`ClusterError::Bucket`] if JetStream is not available.
    pub async fn connect(
        system: &ActorSystem,
        config: ClusterConfig,
    ) -> Result<Self, ClusterError> {
        let id = config
            .node_id
            .clone()
            .unwrap_or_else(|| format!("node-{:016x}", fastrand::u64(..)));
        if !wire::is_plain_token(&id) {
            return Err(ClusterError::Config(format!(
                "node id {id:?} must be 1 to 64 letters, digits, '-' or '_'"
            )));
        }
        if !wire::is_plain_token(&config.prefix) {
            return Err(ClusterError::Config(format!(
                "prefix {:?} must be 1 to 64 letters, digits, '-' or '_'",
                config.prefix
            )));
        }
        if config.heartbeat < Duration::from_millis(100) {
            return Err(ClusterError::Config(
                "the heartbeat must be at least 100 ms".to_owned(),
            ));
        }
        let id: Arc<str> = id.into();
        let (events_tx, events_rx) = mpsc::unbounded_channel();
        let max_delay = config.reconnect_delay_max;
        let client = ConnectOptions::new()
            .name(format!("airssys-{id}"))
            .no_echo()
            .connection_timeout(config.connect_timeout)
            .request_timeout(Some(config.request_timeout))
            .subscription_capacity(config.subscription_capacity)
            .reconnect_delay_callback(move |attempts| {
                let attempts = u32::try_from(attempts).unwrap_or(u32::MAX);
                (Duration::from_millis(100) * attempts.saturating_sub(1)).min(max_delay)
            })
            .event_callback(move |event| {
                let tx = events_tx.clone();
                async move {
                    let _ = tx.send(event);
                }
            })
            .connect(config.url.as_str())
            .await
            .map_err(|e| ClusterError::Connect {
                url: config.url.clone(),
                source: Box::new(e),
            })?;
        let js = async_nats::jetstream::ContextBuilder::new()
            .timeout(config.request_timeout)
            .build(client.clone());
        let registry = Arc::new(ClusterRegistry::open(&js, Arc::clone(&id), &config).await?);
        let inbox: Subject = wire::inbox_subject(&config.prefix, &id).into();
        let subscription = client
            .subscribe(inbox)
            .await
            .map_err(|e| ClusterError::Connect {
                url: config.url.clone(),
                source: Box::new(e),
            })?;
        let node = Arc::new(Node {
            delivery: Delivery {
                system: system.clone(),
                client: client.clone(),
                delivery_timeout: config.delivery_timeout,
            },
            id,
            config,
            client,
            system: system.clone(),
            registry,
            exports: DashMap::new(),
            brokers: DashMap::new(),
            tasks: Mutex::new(Vec::new()),
            closed: AtomicBool::new(false),
        });
        node.registry.heartbeat().await;

        node.keep(tokio::spawn(run_inbox(Arc::downgrade(&node), subscription)).abort_handle());
        let (registry, client) = (&node.registry, &node.client);
        let heartbeat = node.config.heartbeat;
        node.keep(tokio::spawn(run_events(Arc::clone(registry), events_rx)).abort_handle());
        node.keep(tokio::spawn(run_heartbeat(Arc::clone(registry), heartbeat)).abort_handle());
        node.keep(
            tokio::spawn(run_reaper(
                Arc::clone(registry),
                client.clone(),
                node.config.reap_interval(),
            ))
            .abort_handle(),
        );
        node.keep(
            tokio::spawn(run_watch(
                Arc::clone(registry),
                client.clone(),
                heartbeat / 2,
            ))
            .abort_handle(),
        );
        tracing::info!(node = %node.id, "joined the cluster");
        Ok(Self { node })
    }

    /// This node's id.
    #[must_use]
    pub fn node_id(&self) -> &str {
        &self.node.id
    }

    /// The actor system this node connects.
    #[must_use]
    pub fn system(&self) -> &ActorSystem {
        &self.node.system
    }

    /// `true` while the NATS connection is up and the node has not shut down.
    #[must_use]
    pub fn is_connected(&self) -> bool {
        self.node.is_usable()
    }

    /// The cluster broker of message type `M` on this node (created on first use; every call
    /// returns the same broker).
    #[must_use]
    pub fn broker<M: RemoteMessage>(&self) -> NatsBroker<M> {
        let key = TypeId::of::<M>();
        if let Some(b) = self.node.brokers.get(&key)
            && let Some(state) = b.downcast_ref::<Arc<BrokerState<M>>>()
        {
            return NatsBroker::from_parts(Arc::clone(&self.node), Arc::clone(state));
        }
        let entry = self
            .node
            .brokers
            .entry(key)
            .or_insert_with(|| Box::new(Arc::new(BrokerState::<M>::new(&self.node.system))));
        let state = match entry.downcast_ref::<Arc<BrokerState<M>>>() {
            Some(state) => Arc::clone(state),
            // Unreachable: the key is the TypeId of the stored type.
            None => Arc::new(BrokerState::new(&self.node.system)),
        };
        NatsBroker::from_parts(Arc::clone(&self.node), state)
    }

    /// The node that holds `name` in the cluster registry, read from the registry itself (not
    /// this node's cached directory).
    ///
    /// # Errors
    ///
    /// [`ClusterError::Registry`] if the registry cannot be reached.
    pub async fn owner_of(&self, name: &str) -> Result<Option<String>, ClusterError> {
        Ok(self
            .node
            .registry
            .fetch(name)
            .await?
            .map(|o| o.node.to_string()))
    }

    /// The names this node holds in the cluster registry.
    #[must_use]
    pub fn exported_names(&self) -> Vec<Arc<str>> {
        self.node.registry.owned_names()
    }

    /// Leaves the cluster: releases this node's names, removes its heartbeat, stops its tasks
    /// and drains the connection. Local actors keep running; messages to other nodes fail
    /// from now on (remote proxies answer asks with [`AskError::NoReply`](crate::AskError)).
    pub async fn shutdown(&self) {
        if self.node.closed.swap(true, Ordering::AcqRel) {
            return;
        }
        self.node.abort_tasks();
        self.node.exports.clear();
        self.node.registry.leave().await;
        if let Err(e) = self.node.client.drain().await {
            tracing::debug!(error = %e, "draining the nats connection failed");
        }
        tracing::info!(node = %self.node.id, "left the cluster");
    }
}

async fn run_events(registry: Arc<ClusterRegistry>, mut events: mpsc::UnboundedReceiver<Event>) {
    let mut lost = false;
    while let Some(event) = events.recv().await {
        match event {
            Event::Connected => {
                if lost {
                    tracing::info!("reconnected to nats; registering this node's names again");
                    registry.on_connected();
                }
                lost = false;
            }
            Event::Disconnected => {
                tracing::warn!(
                    "disconnected from nats; messages to other nodes fail until it reconnects"
                );
                lost = true;
            }
            other => tracing::debug!(event = %other, "nats event"),
        }
    }
}

async fn run_heartbeat(registry: Arc<ClusterRegistry>, interval: Duration) {
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = registry.wake.notified() => {}
        }
        registry.heartbeat().await;
    }
}

async fn run_reaper(registry: Arc<ClusterRegistry>, client: Client, interval: Duration) {
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if client.connection_state() == State::Connected {
            registry.reap().await;
        }
    }
}

async fn run_watch(registry: Arc<ClusterRegistry>, client: Client, pause: Duration) {
    loop {
        if client.connection_state() == State::Connected
            && let Err(e) = registry.watch_once().await
        {
            tracing::debug!(error = %e, "the registry watch ended; starting another");
        }
        tokio::time::sleep(pause).await;
    }
}
