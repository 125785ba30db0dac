//! [`ClusterError`]: what can go wrong joining the cluster or registering a name in it.

use crate::SpawnError;

/// A boxed error from the NATS client.
pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Why a cluster operation failed.
///
/// Messaging through a [`NatsBroker`](crate::NatsBroker) reports its failures with the usual
/// [`SendError`](crate::SendError) and [`AskError`](crate::AskError); see the broker docs.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClusterError {
    /// The configuration is not usable.
    #[error("invalid cluster configuration: {0}")]
    Config(String),
    /// The first connection to NATS failed.
    #[error("connecting to nats at {url:?} failed")]
    Connect {
        /// The server address(es) tried.
        url: String,
        /// The client's error.
        #[source]
        source: BoxError,
    },
    /// A registry bucket could not be created or opened (is JetStream enabled on the server?).
    #[error("opening the jetstream key-value bucket {bucket:?} failed")]
    Bucket {
        /// The bucket name.
        bucket: String,
        /// The client's error.
        #[source]
        source: BoxError,
    },
    /// Another node (or another actor on this node) holds the name in the cluster registry.
    #[error("the name {name:?} is already registered in the cluster by node {owner:?}")]
    NameTaken {
        /// The name.
        name: String,
        /// The node that holds it.
        owner: String,
    },
    /// The name cannot be registered: it is empty or longer than 65535 bytes.
    #[error("the name {0:?} cannot be registered in the cluster (empty or too long)")]
    InvalidName(String),
    /// The cluster registry did not answer (NATS unreachable or JetStream unavailable).
    #[error("the cluster registry could not be reached")]
    Registry(#[source] BoxError),
    /// No actor is registered under the name, on this node or in the cluster.
    #[error("no actor is registered under {0:?} in the cluster")]
    NotFound(String),
    /// No local actor of this message type is registered under the name.
    #[error("no local actor taking this message type is registered under {0:?}")]
    NotLocal(String),
    /// Spawning the local actor failed (its cluster name was released again).
    #[error("spawning the actor failed")]
    Spawn(#[from] SpawnError),
    /// The node was shut down.
    #[error("the cluster node has shut down")]
    Closed,
}
