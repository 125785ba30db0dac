//! [`ClusterConfig`]: how a node joins the cluster.

use std::time::Duration;

/// How a node connects to NATS and takes part in the cluster registry.
///
/// Every node of one cluster uses the same `prefix` (subjects `<prefix>.node.<id>` and
/// `<prefix>.topic.<topic>`, buckets `<prefix>_names` and `<prefix>_nodes`) and should use the
/// same `heartbeat`.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use airssys_rt::ClusterConfig;
///
/// let config = ClusterConfig::new("nats://127.0.0.1:4222")
///     .node_id("node-a")
///     .heartbeat(Duration::from_millis(500));
/// assert_eq!(config.heartbeat_interval(), Duration::from_millis(500));
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
#[must_use]
pub struct ClusterConfig {
    pub(crate) url: String,
    pub(crate) node_id: Option<String>,
    pub(crate) prefix: String,
    pub(crate) heartbeat: Duration,
    pub(crate) request_timeout: Duration,
    pub(crate) delivery_timeout: Duration,
    pub(crate) connect_timeout: Duration,
    pub(crate) reconnect_delay_max: Duration,
    pub(crate) memory_storage: bool,
    pub(crate) subscription_capacity: usize,
}

impl ClusterConfig {
    /// Connects to the NATS server(s) at `url` (`nats://host:port`, several separated by
    /// commas). Defaults: a random node id, prefix `airssys`, heartbeat 1 s, request timeout
    /// 5 s, delivery timeout 1 s, connect timeout 5 s, reconnect delay up to 1 s, file storage,
    /// 65 536 buffered messages per subscription.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            node_id: None,
            prefix: "airssys".to_owned(),
            heartbeat: Duration::from_secs(1),
            request_timeout: Duration::from_secs(5),
            delivery_timeout: Duration::from_secs(1),
            connect_timeout: Duration::from_secs(5),
            reconnect_delay_max: Duration::from_secs(1),
            memory_storage: false,
            subscription_capacity: 64 * 1024,
        }
    }

    /// This node's id, unique in the cluster: letters, digits, `-` and `_`, at most 64 bytes
    /// (default: random). A node restarted with the same id takes back the names it still
    /// holds and drops the ones it does not register again.
    pub fn node_id(mut self, id: impl Into<String>) -> Self {
        self.node_id = Some(id.into());
        self
    }

    /// The cluster's subject and bucket prefix (letters, digits, `-` and `_`; default
    /// `airssys`).
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// How often the node heartbeats (default 1 s). A node that missed its heartbeats for two
    /// periods is dead; its names are removed from the registry within three periods.
    pub fn heartbeat(mut self, interval: Duration) -> Self {
        self.heartbeat = interval;
        self
    }

    /// The longest an ask through a remote [`ActorRef`](crate::ActorRef) (a proxy) waits for
    /// the other node, and the timeout of registry operations (default 5 s). Asks through
    /// [`MessageBroker::request`](crate::MessageBroker::request) use their own timeout.
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// The longest the receiving node waits for room in a full `Block` mailbox before it
    /// dead-letters a remote tell (default 1 s). The node's inbox waits with it.
    pub fn delivery_timeout(mut self, timeout: Duration) -> Self {
        self.delivery_timeout = timeout;
        self
    }

    /// The timeout of the first connection to NATS (default 5 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// The longest pause between two reconnection attempts (default 1 s; attempts back off
    /// by 100 ms each up to it). The client retries for ever.
    pub fn reconnect_delay_max(mut self, delay: Duration) -> Self {
        self.reconnect_delay_max = delay;
        self
    }

    /// Keeps the registry buckets in memory instead of on disk (they are lost when the NATS
    /// server restarts; the nodes register their names again when they reconnect).
    pub fn memory_storage(mut self) -> Self {
        self.memory_storage = true;
        self
    }

    /// How many received messages the node buffers per subscription (its inbox, each topic)
    /// before the NATS client drops new ones as a slow consumer (default 65 536). Tells are at
    /// most once: a burst larger than this, faster than the receiving actors, loses messages.
    pub fn subscription_capacity(mut self, capacity: usize) -> Self {
        self.subscription_capacity = capacity;
        self
    }

    /// The heartbeat interval.
    #[must_use]
    pub fn heartbeat_interval(&self) -> Duration {
        self.heartbeat
    }

    /// How long a heartbeat stays in the registry: a node silent for this long is dead.
    pub(crate) fn node_ttl(&self) -> Duration {
        self.heartbeat * 2
    }

    /// How often the reaper looks for dead nodes.
    pub(crate) fn reap_interval(&self) -> Duration {
        self.heartbeat / 4
    }
}
