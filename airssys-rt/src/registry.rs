//! The name registry: name → actor address, O(1), entries removed when the actor stops.

use std::any::Any;
use std::sync::Arc;

use dashmap::DashMap;
use dashmap::mapref::entry::Entry;

use crate::{ActorId, ActorRef, Message};

/// An actor's shared address state as the registry holds it, type-erased: a lookup is one map
/// probe and one reference-count increment, like a plain `DashMap<_, Arc<_>>`. The record knows
/// its own id, so an entry is this pointer beside its key (a 32-byte bucket).
pub(crate) trait Registered: Any + Send + Sync {
    /// The actor's id.
    fn id(&self) -> ActorId;
}

/// Maps names to actor addresses. Cheap to clone (shared).
#[derive(Clone, Default)]
pub(crate) struct Registry {
    map: Arc<DashMap<Arc<str>, Arc<dyn Registered>>>,
    /// Who waits for a name to be removed (the cluster node releasing a name cluster-wide);
    /// empty unless cluster mode uses it, and read only when a name is removed.
    #[cfg(feature = "nats")]
    removal: Arc<DashMap<ActorId, Vec<tokio::sync::oneshot::Sender<()>>>>,
}

impl Registry {
    /// Claims `name` for `actor_ref`; `false` if the name is taken.
    pub(crate) fn register<M: Message>(&self, name: Arc<str>, actor_ref: &ActorRef<M>) -> bool {
        match self.map.entry(name) {
            Entry::Occupied(_) => false,
            Entry::Vacant(v) => {
                v.insert(actor_ref.to_registered());
                true
            }
        }
    }

    /// Removes `name` if it still belongs to `id`.
    pub(crate) fn unregister(&self, name: &str, id: ActorId) {
        let _removed = self.map.remove_if(name, |_, r| r.id() == id);
        #[cfg(feature = "nats")]
        if _removed.is_some() && !self.removal.is_empty() {
            self.notify_removed(id);
        }
    }

    /// A receiver that completes once `name` no longer belongs to `id` (at once if it does not
    /// now).
    #[cfg(feature = "nats")]
    pub(crate) fn watch_removal(
        &self,
        name: &str,
        id: ActorId,
    ) -> tokio::sync::oneshot::Receiver<()> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.removal.entry(id).or_default().push(tx);
        // Checked after the watcher is in place: a concurrent unregister either sees it or
        // already removed the name, which this check sees.
        if self.id_of(name) != Some(id) {
            self.notify_removed(id);
        }
        rx
    }

    #[cfg(feature = "nats")]
    fn notify_removed(&self, id: ActorId) {
        if let Some((_, waiters)) = self.removal.remove(&id) {
            for tx in waiters {
                let _ = tx.send(());
            }
        }
    }

    #[inline]
    pub(crate) fn lookup<M: Message>(&self, name: &str) -> Option<ActorRef<M>> {
        self.map
            .get(name)
            .and_then(|r| ActorRef::from_registered(r.value()))
    }

    pub(crate) fn id_of(&self, name: &str) -> Option<ActorId> {
        self.map.get(name).map(|r| r.id())
    }

    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }

    pub(crate) fn names(&self) -> Vec<Arc<str>> {
        self.map.iter().map(|e| e.key().clone()).collect()
    }
}
