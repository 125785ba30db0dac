//! The cluster registry on two JetStream key-value buckets.
//!
//! - `<prefix>_names`: actor name (escaped, [`wire::name_key`]) → owner node id. A name is
//!   claimed with `create` (create-if-absent), so it has one owner cluster-wide, and released
//!   with a delete that expects the owner's revision.
//! - `<prefix>_nodes`: node id → heartbeat, put every heartbeat period into a bucket whose
//!   entries age out after two periods ([`ClusterConfig::node_ttl`]).
//!
//! Every node keeps a directory of the names bucket (a `watch_all` consumer, restarted on
//! reconnect) and runs a reaper every quarter period: the names of a node whose heartbeat
//! entry is gone are deleted, so they disappear within three periods of the node's death. A
//! name this node holds and sees deleted (it was reaped while this node was cut off) is
//! claimed again.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_nats::Subject;
use async_nats::jetstream;
use async_nats::jetstream::kv::{self, CreateErrorKind, Operation};
use async_nats::jetstream::stream::{self, DiscardPolicy, StorageType};
use bytes::Bytes;
use dashmap::DashMap;
use futures_util::StreamExt;
use tokio::sync::Notify;

use super::config::ClusterConfig;
use super::error::ClusterError;
use super::wire;

/// Who holds a name in the cluster.
#[derive(Clone, Debug)]
pub(crate) struct Owner {
    /// The owner node's id.
    pub(crate) node: Arc<str>,
    /// The owner node's inbox subject.
    pub(crate) inbox: Subject,
    /// The revision of the registry entry.
    revision: u64,
}

/// This node's view of, and part in, the cluster registry.
pub(crate) struct ClusterRegistry {
    node: Arc<str>,
    node_value: Bytes,
    prefix: String,
    names: kv::Store,
    nodes: kv::Store,
    config: ClusterConfig,
    /// Name → owner, fed by the watch and by lookups.
    directory: DashMap<Arc<str>, Owner>,
    /// Names this node holds → the revision of its claim (0 while the claim is in flight).
    owned: DashMap<Arc<str>, u64>,
    /// Set when this node must heartbeat and claim its names again (after a reconnect, or
    /// when one of its names was reaped).
    resync: AtomicBool,
    /// Wakes the heartbeat task early.
    pub(crate) wake: Notify,
    /// Tells the watch task to start a fresh watch.
    pub(crate) restart_watch: Notify,
    /// When the connection was last (re)established; the reaper waits one node lifetime after
    /// it so that every node had the chance to heartbeat again.
    connected_since: Mutex<Instant>,
}

fn bucket_error(bucket: &str, e: impl std::error::Error + Send + Sync + 'static) -> ClusterError {
    ClusterError::Bucket {
        bucket: bucket.to_owned(),
        source: Box::new(e),
    }
}

fn registry_error(e: impl std::error::Error + Send + Sync + 'static) -> ClusterError {
    ClusterError::Registry(Box::new(e))
}

/// Opens a key-value bucket, creating its stream first if needed.
///
/// The stream is created directly (with the settings `create_key_value` would use) rather than
/// through `create_key_value`, which first reads the JetStream account info in a form that
/// nats-server 2.9 does not send.
async fn open_bucket(
    js: &jetstream::Context,
    bucket: String,
    max_age: Duration,
    storage: StorageType,
) -> Result<kv::Store, ClusterError> {
    let config = stream::Config {
        name: format!("KV_{bucket}"),
        subjects: vec![format!("$KV.{bucket}.>")],
        max_messages_per_subject: 1,
        max_age,
        storage,
        num_replicas: 1,
        allow_rollup: true,
        deny_delete: true,
        deny_purge: false,
        allow_direct: true,
        discard: DiscardPolicy::New,
        ..Default::default()
    };
    js.get_or_create_stream(config)
        .await
        .map_err(|e| bucket_error(&bucket, e))?;
    js.get_key_value(bucket.as_str())
        .await
        .map_err(|e| bucket_error(&bucket, e))
}

impl ClusterRegistry {
    /// Opens (creating if needed) the two buckets.
    pub(crate) async fn open(
        js: &jetstream::Context,
        node: Arc<str>,
        config: &ClusterConfig,
    ) -> Result<Self, ClusterError> {
        let storage = if config.memory_storage {
            StorageType::Memory
        } else {
            StorageType::File
        };
        let names = open_bucket(
            js,
            format!("{}_names", config.prefix),
            Duration::ZERO,
            storage,
        )
        .await?;
        let nodes = open_bucket(
            js,
            format!("{}_nodes", config.prefix),
            config.node_ttl(),
            storage,
        )
        .await?;
        Ok(Self {
            node_value: Bytes::copy_from_slice(node.as_bytes()),
            node,
            prefix: config.prefix.clone(),
            names,
            nodes,
            config: config.clone(),
            directory: DashMap::new(),
            owned: DashMap::new(),
            resync: AtomicBool::new(false),
            wake: Notify::new(),
            restart_watch: Notify::new(),
            connected_since: Mutex::new(Instant::now()),
        })
    }

    fn owner(&self, node: &str, revision: u64) -> Owner {
        Owner {
            node: node.into(),
            inbox: Subject::from(wire::inbox_subject(&self.prefix, node)),
            revision,
        }
    }

    /// Claims `name` for this node (create-if-absent).
    ///
    /// # Errors
    ///
    /// [`ClusterError::NameTaken`] if another node (or this one) holds it,
    /// [`ClusterError::Registry`] if the registry cannot be reached.
    pub(crate) async fn claim(&self, name: &Arc<str>) -> Result<(), ClusterError> {
        if name.is_empty() || name.len() > usize::from(u16::MAX) {
            return Err(ClusterError::InvalidName(name.to_string()));
        }
        if self.owned.insert(Arc::clone(name), 0).is_some() {
            return Err(ClusterError::NameTaken {
                name: name.to_string(),
                owner: self.node.to_string(),
            });
        }
        match self.claim_entry(name).await {
            Ok(revision) => {
                self.owned.insert(Arc::clone(name), revision);
                self.directory
                    .insert(Arc::clone(name), self.owner(&self.node, revision));
                Ok(())
            }
            Err(e) => {
                self.owned.remove(name);
                Err(e)
            }
        }
    }

    /// Creates the entry of `name`; an entry this node already holds (an earlier incarnation, or
    /// a claim made before a reconnect) is taken over.
    async fn claim_entry(&self, name: &str) -> Result<u64, ClusterError> {
        let key = wire::name_key(name);
        match self.names.create(&key, self.node_value.clone()).await {
            Ok(revision) => Ok(revision),
            Err(e) if e.kind() == CreateErrorKind::AlreadyExists => {
                match self.names.entry(key.as_str()).await {
                    Ok(Some(entry)) if entry.operation == Operation::Put => {
                        if entry.value == self.node_value {
                            Ok(entry.revision)
                        } else {
                            Err(ClusterError::NameTaken {
                                name: name.to_owned(),
                                owner: String::from_utf8_lossy(&entry.value).into_owned(),
                            })
                        }
                    }
                    // Deleted between the two calls: try once more.
                    Ok(_) => self
                        .names
                        .create(&key, self.node_value.clone())
                        .await
                        .map_err(registry_error),
                    Err(e) => Err(registry_error(e)),
                }
            }
            Err(e) => Err(registry_error(e)),
        }
    }

    /// Releases `name` if this node holds it.
    pub(crate) async fn release(&self, name: &str) {
        let Some((name, revision)) = self.owned.remove(name) else {
            return;
        };
        self.directory
            .remove_if(&name, |_, o| o.revision == revision);
        if revision == 0 {
            return;
        }
        let key = wire::name_key(&name);
        if let Err(e) = self
            .names
            .delete_expect_revision(&key, Some(revision))
            .await
        {
            tracing::debug!(name = %name, error = %e, "releasing a cluster name failed; the reaper or a restart of this node removes it");
        }
    }

    /// The owner of `name`: from the directory, else from the registry.
    ///
    /// # Errors
    ///
    /// [`ClusterError::Registry`] if the registry cannot be reached.
    pub(crate) async fn resolve(&self, name: &str) -> Result<Option<Owner>, ClusterError> {
        if let Some(owner) = self.directory.get(name) {
            return Ok(Some(owner.clone()));
        }
        self.fetch(name).await
    }

    /// The owner of `name` read from the registry (not the directory), cached.
    ///
    /// # Errors
    ///
    /// [`ClusterError::Registry`] if the registry cannot be reached.
    pub(crate) async fn fetch(&self, name: &str) -> Result<Option<Owner>, ClusterError> {
        if name.is_empty() {
            return Ok(None);
        }
        let entry = self
            .names
            .entry(wire::name_key(name))
            .await
            .map_err(registry_error)?;
        match entry {
            Some(entry) if entry.operation == Operation::Put => {
                let node = String::from_utf8_lossy(&entry.value);
                let owner = self.owner(&node, entry.revision);
                self.directory.insert(name.into(), owner.clone());
                Ok(Some(owner))
            }
            _ => {
                self.directory.remove(name);
                Ok(None)
            }
        }
    }

    /// Forgets the cached owner of `name` (it did not answer).
    pub(crate) fn invalidate(&self, name: &str) {
        self.directory.remove(name);
    }

    /// The names this node holds.
    pub(crate) fn owned_names(&self) -> Vec<Arc<str>> {
        self.owned.iter().map(|e| Arc::clone(e.key())).collect()
    }

    /// Marks that this node must heartbeat and claim its names again, and wakes the heartbeat.
    pub(crate) fn request_resync(&self) {
        self.resync.store(true, Ordering::Release);
        self.wake.notify_one();
    }

    /// Called on every (re)connection.
    pub(crate) fn on_connected(&self) {
        if let Ok(mut since) = self.connected_since.lock() {
            *since = Instant::now();
        }
        self.request_resync();
        self.restart_watch.notify_one();
    }

    /// One heartbeat; after a reconnect (or a reaped name) also claims every name again.
    pub(crate) async fn heartbeat(&self) {
        if let Err(e) = self.nodes.put(&*self.node, self.node_value.clone()).await {
            tracing::debug!(node = %self.node, error = %e, "heartbeat failed");
            return;
        }
        if self.resync.swap(false, Ordering::AcqRel) && !self.claim_all_again().await {
            self.resync.store(true, Ordering::Release);
        }
    }

    /// Claims every held name again; `false` if the registry could not be reached.
    async fn claim_all_again(&self) -> bool {
        let mut ok = true;
        for name in self.owned_names() {
            match self.claim_entry(&name).await {
                Ok(revision) => {
                    if let Some(mut r) = self.owned.get_mut(&name) {
                        *r = revision;
                    }
                    self.directory
                        .insert(Arc::clone(&name), self.owner(&self.node, revision));
                }
                Err(ClusterError::NameTaken { owner, .. }) => {
                    tracing::warn!(name = %name, owner = %owner, "a name this node held was claimed by another node while it was cut off; it is no longer reachable from other nodes");
                    self.owned.remove(&name);
                }
                Err(e) => {
                    tracing::debug!(name = %name, error = %e, "claiming a name again failed; retrying at the next heartbeat");
                    ok = false;
                }
            }
        }
        ok
    }

    /// Removes this node's heartbeat and names (graceful leave).
    pub(crate) async fn leave(&self) {
        for name in self.owned_names() {
            self.release(&name).await;
        }
        if let Err(e) = self.nodes.delete(&*self.node).await {
            tracing::debug!(node = %self.node, error = %e, "removing the heartbeat failed; it ages out");
        }
    }

    /// One reaper round: deletes the names of nodes without a heartbeat, and names this node's
    /// id holds that it did not claim (left over by an earlier incarnation).
    pub(crate) async fn reap(&self) {
        let settled = self
            .connected_since
            .lock()
            .map(|since| since.elapsed() >= self.config.node_ttl())
            .unwrap_or(false);
        if !settled {
            return;
        }
        let mut by_node: HashMap<Arc<str>, Vec<(Arc<str>, u64)>> = HashMap::new();
        for e in &self.directory {
            let owner = e.value();
            if *owner.node == *self.node && self.owned.contains_key(e.key()) {
                continue;
            }
            by_node
                .entry(Arc::clone(&owner.node))
                .or_default()
                .push((Arc::clone(e.key()), owner.revision));
        }
        for (node, names) in by_node {
            if *node != *self.node {
                match self.nodes.entry(&*node).await {
                    Ok(Some(entry)) if entry.operation == Operation::Put => continue,
                    Ok(_) => {}
                    Err(e) => {
                        tracing::debug!(error = %e, "the reaper could not read the heartbeats");
                        return;
                    }
                }
            }
            tracing::info!(node = %node, names = names.len(), "removing the names of a node that stopped heartbeating");
            for (name, revision) in names {
                let key = wire::name_key(&name);
                match self
                    .names
                    .delete_expect_revision(&key, Some(revision))
                    .await
                {
                    Ok(()) => {
                        self.directory
                            .remove_if(&name, |_, o| o.revision == revision);
                    }
                    Err(e) => {
                        // Another reaper was first, or the name was claimed again.
                        tracing::debug!(name = %name, error = %e, "reaping a name skipped");
                    }
                }
            }
        }
    }

    /// Runs one watch of the names bucket until it ends, fails or a restart is requested.
    pub(crate) async fn watch_once(&self) -> Result<(), ClusterError> {
        let mut watch = self.names.watch_all().await.map_err(registry_error)?;
        loop {
            tokio::select! {
                entry = watch.next() => match entry {
                    Some(Ok(entry)) => self.apply(&entry),
                    Some(Err(e)) => return Err(registry_error(e)),
                    None => return Ok(()),
                },
                () = self.restart_watch.notified() => return Ok(()),
            }
        }
    }

    fn apply(&self, entry: &kv::Entry) {
        let Some(name) = wire::key_name(&entry.key) else {
            return;
        };
        let name: Arc<str> = name.into();
        match entry.operation {
            Operation::Put => {
                let node = String::from_utf8_lossy(&entry.value);
                let newer = self
                    .directory
                    .get(&name)
                    .is_none_or(|o| o.revision <= entry.revision);
                if newer {
                    self.directory
                        .insert(Arc::clone(&name), self.owner(&node, entry.revision));
                }
            }
            Operation::Delete | Operation::Purge => {
                self.directory
                    .remove_if(&name, |_, o| o.revision < entry.revision);
                if self
                    .owned
                    .get(&name)
                    .is_some_and(|r| *r != 0 && *r < entry.revision)
                {
                    // Reaped while this node was cut off, but its actor lives: claim it again.
                    tracing::info!(name = %name, "a name this node holds was removed from the registry; claiming it again");
                    self.request_resync();
                }
            }
        }
    }
}
