//! Topics across nodes: one NATS subscription per topic per node, fanned out locally.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_nats::Client;
use futures_util::StreamExt;
use tokio::task::AbortHandle;

use super::codec::RemoteMessage;
use crate::InMemoryBroker;
use crate::actor_ref::PublishTry;
use crate::dead_letter::DeadLetterReason;

/// The longest a new topic subscription waits for the server to confirm it.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(5);

/// The topics of one message type that this node listens to on NATS.
pub(crate) struct Topics {
    subscriptions: Mutex<HashMap<Arc<str>, AbortHandle>>,
}

impl Drop for Topics {
    fn drop(&mut self) {
        if let Ok(subs) = self.subscriptions.get_mut() {
            for (_, task) in subs.drain() {
                task.abort();
            }
        }
    }
}

impl Topics {
    pub(crate) fn new() -> Self {
        Self {
            subscriptions: Mutex::new(HashMap::new()),
        }
    }

    fn has(&self, topic: &str) -> bool {
        self.subscriptions
            .lock()
            .map(|s| s.contains_key(topic))
            .unwrap_or(false)
    }

    /// Listens to `topic` on NATS (once per node): every message published there by another
    /// node is decoded and published to the local subscribers through `local`.
    pub(crate) async fn listen<M: RemoteMessage>(
        &self,
        client: &Client,
        subject: String,
        topic: Arc<str>,
        local: InMemoryBroker<M>,
    ) {
        if self.has(&topic) {
            return;
        }
        let mut subscription = match client.subscribe(subject).await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(topic = %topic, error = %e, "subscribing to a topic on nats failed; only local publishes reach it");
                return;
            }
        };
        // Once the server has the subscription (flush: a ping round trip on this connection),
        // a publish from any other node reaches this one.
        if tokio::time::timeout(FLUSH_TIMEOUT, client.flush())
            .await
            .map_or(true, |r| r.is_err())
        {
            tracing::debug!(topic = %topic, "the topic subscription was not confirmed by the server yet");
        }
        let task_topic = Arc::clone(&topic);
        let task = tokio::spawn(async move {
            while let Some(msg) = subscription.next().await {
                fan_out(&local, &task_topic, &msg.payload).await;
            }
        });
        let Ok(mut subs) = self.subscriptions.lock() else {
            task.abort();
            return;
        };
        match subs.entry(topic) {
            std::collections::hash_map::Entry::Occupied(_) => task.abort(),
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(task.abort_handle());
            }
        }
    }

    /// Stops listening to `topic` on NATS.
    pub(crate) fn forget(&self, topic: &str) {
        if let Ok(mut subs) = self.subscriptions.lock()
            && let Some(task) = subs.remove(topic)
        {
            task.abort();
        }
    }
}

/// Delivers a message published by another node to every local subscriber of `topic`, each
/// one decoding its own copy (no `Clone` needed), with the in-memory broker's semantics: a full
/// subscriber follows its policy, a `Block` one is waited on for at most the publish timeout.
async fn fan_out<M: RemoteMessage>(local: &InMemoryBroker<M>, topic: &str, payload: &[u8]) {
    for sub in local.subscribers(topic) {
        let msg = match M::decode(payload) {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!(topic, error = %e, "a message published by another node could not be decoded; dropped");
                return;
            }
        };
        if let PublishTry::MustWait(m) = sub.try_publish(msg)
            && tokio::time::timeout(local.publish_timeout(), sub.tell(m))
                .await
                .is_err()
        {
            sub.record_dead_letter(DeadLetterReason::MailboxFull);
        }
    }
}
