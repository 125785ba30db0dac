//! [`ActorContext`]: what a handler can do besides changing its own state.

use std::sync::Arc;
use std::time::Duration;

use crate::reply::ReplyTx;

use crate::broker::PublishReport;
use crate::{
    ActorId, ActorRef, ActorSystem, AskError, Message, MessageBroker, PublishError, SendError,
};

/// The context handed to every [`Actor`](crate::Actor) method: the actor's own address, the broker,
/// the system, and the reply slot of the message being handled.
pub struct ActorContext<M: Message, B: MessageBroker<M>> {
    myself: ActorRef<M>,
    broker: B,
    system: ActorSystem,
    pub(crate) reply: Option<ReplyTx<M::Reply>>,
    pub(crate) stop_requested: bool,
}

/// A reply slot taken out of the context to answer an `ask` later (for example after asking
/// another actor).
#[must_use = "dropping the handle answers the ask with AskError::NoReply"]
pub struct ReplyHandle<R> {
    tx: ReplyTx<R>,
}

impl<R> ReplyHandle<R> {
    /// Sends the reply. `false` if the asker stopped waiting (timed out or was cancelled).
    pub fn send(self, reply: R) -> bool {
        self.tx.send(reply).is_ok()
    }
}

impl<M: Message, B: MessageBroker<M>> ActorContext<M, B> {
    pub(crate) fn new(myself: ActorRef<M>, broker: B, system: ActorSystem) -> Self {
        Self {
            myself,
            broker,
            system,
            reply: None,
            stop_requested: false,
        }
    }

    /// This actor's address.
    #[must_use]
    pub fn myself(&self) -> &ActorRef<M> {
        &self.myself
    }

    /// This actor's id.
    #[must_use]
    pub fn id(&self) -> ActorId {
        self.myself.id()
    }

    /// This actor's registered name, if any.
    #[must_use]
    pub fn name(&self) -> Option<&str> {
        self.myself.name()
    }

    /// The system the actor runs in (to look up or spawn other actors).
    #[must_use]
    pub fn system(&self) -> &ActorSystem {
        &self.system
    }

    /// The broker this actor runs on.
    #[must_use]
    pub fn broker(&self) -> &B {
        &self.broker
    }

    /// `true` while handling a message sent with `ask` whose reply has not been sent yet.
    #[must_use]
    pub fn is_ask(&self) -> bool {
        self.reply.is_some()
    }

    /// Answers the `ask` being handled. Returns `false` if the message was not an ask, was already
    /// answered, or the asker stopped waiting. An ask left unanswered when the handler returns
    /// fails at once with [`AskError::NoReply`].
    pub fn reply(&mut self, reply: M::Reply) -> bool {
        match self.reply.take() {
            Some(tx) => tx.send(reply).is_ok(),
            None => false,
        }
    }

    /// Takes the reply slot of the `ask` being handled, to answer it later.
    pub fn take_reply(&mut self) -> Option<ReplyHandle<M::Reply>> {
        self.reply.take().map(|tx| ReplyHandle { tx })
    }

    /// Stops this actor after the current message (see [`ActorRef::stop`]).
    pub fn stop(&mut self) {
        self.stop_requested = true;
    }

    /// Sends a message to the actor registered under `to`, through the broker.
    ///
    /// # Errors
    ///
    /// As [`MessageBroker::send`].
    pub async fn send(&self, to: &str, msg: M) -> Result<(), SendError<M>> {
        self.broker.send(to, msg).await
    }

    /// Asks the actor registered under `to`, through the broker.
    ///
    /// # Errors
    ///
    /// As [`MessageBroker::request`].
    pub async fn request(
        &self,
        to: &str,
        msg: M,
        timeout: Duration,
    ) -> Result<M::Reply, AskError<M>> {
        self.broker.request(to, msg, timeout).await
    }

    /// Publishes to every subscriber of `topic`, through the broker.
    ///
    /// # Errors
    ///
    /// As [`MessageBroker::publish`].
    pub async fn publish(&self, topic: &str, msg: M) -> Result<PublishReport, PublishError>
    where
        M: Clone,
    {
        self.broker.publish(topic, msg).await
    }

    /// Subscribes this actor to `topic`.
    pub async fn subscribe(&self, topic: impl Into<Arc<str>>) {
        self.broker
            .subscribe(topic.into(), self.myself.clone())
            .await;
    }
}
