//! The default broker: delivery inside one process, no serialization.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use crate::actor_ref::PublishTry;
use crate::broker::PublishReport;
use crate::dead_letter::DeadLetterReason;
use crate::registry::Registry;
use crate::{ActorId, ActorRef, AskError, Message, MessageBroker, PublishError, SendError};

/// The in-process broker: names resolve through the system registry, messages move without being
/// serialized, topics fan out to local subscribers.
///
/// One instance per message type per [`ActorSystem`](crate::ActorSystem), obtained with
/// [`ActorSystem::broker`](crate::ActorSystem::broker). Topics are per message type.
pub struct InMemoryBroker<M: Message> {
    inner: Arc<Inner<M>>,
}

struct Inner<M: Message> {
    registry: Registry,
    publish_timeout: Duration,
    topics: RwLock<HashMap<Arc<str>, Vec<ActorRef<M>>>>,
}

impl<M: Message> Clone for InMemoryBroker<M> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<M: Message> fmt::Debug for InMemoryBroker<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InMemoryBroker")
            .field("message", &std::any::type_name::<M>())
            .finish()
    }
}

impl<M: Message> InMemoryBroker<M> {
    pub(crate) fn new(registry: Registry, publish_timeout: Duration) -> Self {
        Self {
            inner: Arc::new(Inner {
                registry,
                publish_timeout,
                topics: RwLock::new(HashMap::new()),
            }),
        }
    }

    /// How many subscribers `topic` has.
    #[must_use]
    pub fn subscriber_count(&self, topic: &str) -> usize {
        self.inner
            .topics
            .read()
            .map(|t| t.get(topic).map_or(0, Vec::len))
            .unwrap_or(0)
    }

    /// The subscribers of `topic` now (the cluster broker fans remote publishes out to them).
    #[cfg(feature = "nats")]
    pub(crate) fn subscribers(&self, topic: &str) -> Vec<ActorRef<M>> {
        self.inner
            .topics
            .read()
            .map(|t| t.get(topic).cloned().unwrap_or_default())
            .unwrap_or_default()
    }

    /// The longest a publish waits on one full `Block` subscriber.
    #[cfg(feature = "nats")]
    pub(crate) fn publish_timeout(&self) -> Duration {
        self.inner.publish_timeout
    }

    fn prune(&self, topic: &str, stopped: &[ActorId]) {
        if let Ok(mut topics) = self.inner.topics.write()
            && let Some(subs) = topics.get_mut(topic)
        {
            subs.retain(|s| !stopped.contains(&s.id()));
            if subs.is_empty() {
                topics.remove(topic);
            }
        }
    }
}

impl<M: Message> MessageBroker<M> for InMemoryBroker<M> {
    async fn send(&self, to: &str, msg: M) -> Result<(), SendError<M>> {
        match self.inner.registry.lookup::<M>(to) {
            Some(actor) => actor.tell(msg).await,
            None => Err(SendError::NotFound(msg)),
        }
    }

    async fn request(&self, to: &str, msg: M, timeout: Duration) -> Result<M::Reply, AskError<M>> {
        match self.inner.registry.lookup::<M>(to) {
            Some(actor) => actor.ask(msg, timeout).await,
            None => Err(AskError::Send(SendError::NotFound(msg))),
        }
    }

    async fn publish(&self, topic: &str, msg: M) -> Result<PublishReport, PublishError>
    where
        M: Clone,
    {
        if topic.is_empty() {
            return Err(PublishError::EmptyTopic);
        }
        let mut report = PublishReport::default();
        let mut waiting: Vec<(ActorRef<M>, M)> = Vec::new();
        let mut stopped: Vec<ActorId> = Vec::new();
        {
            let topics = match self.inner.topics.read() {
                Ok(t) => t,
                Err(poisoned) => poisoned.into_inner(),
            };
            let Some(subs) = topics.get(topic) else {
                return Ok(report);
            };
            for sub in subs {
                match sub.try_publish(msg.clone()) {
                    PublishTry::Delivered => report.delivered += 1,
                    PublishTry::Dropped => report.dropped += 1,
                    PublishTry::Stopped => stopped.push(sub.id()),
                    PublishTry::MustWait(m) => waiting.push((sub.clone(), m)),
                }
            }
        }
        for (sub, m) in waiting {
            match tokio::time::timeout(self.inner.publish_timeout, sub.tell(m)).await {
                Ok(Ok(())) => report.delivered += 1,
                Ok(Err(_)) => stopped.push(sub.id()),
                Err(_) => {
                    // The copy was dropped with the timed-out send; record it.
                    sub.record_dead_letter(DeadLetterReason::MailboxFull);
                    report.dropped += 1;
                }
            }
        }
        if !stopped.is_empty() {
            self.prune(topic, &stopped);
        }
        Ok(report)
    }

    async fn subscribe(&self, topic: Arc<str>, subscriber: ActorRef<M>) {
        let mut topics = match self.inner.topics.write() {
            Ok(t) => t,
            Err(poisoned) => poisoned.into_inner(),
        };
        let subs = topics.entry(topic).or_default();
        if !subs.iter().any(|s| s.id() == subscriber.id()) {
            subs.push(subscriber);
        }
    }

    async fn unsubscribe(&self, topic: &str, subscriber: ActorId) -> bool {
        let mut topics = match self.inner.topics.write() {
            Ok(t) => t,
            Err(poisoned) => poisoned.into_inner(),
        };
        let Some(subs) = topics.get_mut(topic) else {
            return false;
        };
        let before = subs.len();
        subs.retain(|s| s.id() != subscriber);
        let removed = subs.len() != before;
        if subs.is_empty() {
            topics.remove(topic);
        }
        removed
    }
}
