//! Mailboxes: bounded by default, with a policy for when they are full.

use std::task::{Context, Poll};

use tokio::sync::mpsc;

use crate::dead_letter::DeadLetterReason;
use crate::reply::ReplyTx;
use crate::{ActorRef, Message};

/// What a sender experiences when the mailbox is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum MailboxPolicy {
    /// `tell` waits until there is room (back-pressure). `try_tell` returns
    /// [`SendError::Full`](crate::SendError::Full).
    #[default]
    Block,
    /// The new message is dropped, counted and sent to the dead-letter queue; `tell` returns `Ok`.
    DropNewest,
    /// `tell` returns [`SendError::Full`](crate::SendError::Full) with the message.
    Reject,
}

/// The size and full-mailbox policy of an actor's mailbox.
///
/// # Examples
///
/// ```
/// use airssys_rt::{MailboxConfig, MailboxPolicy};
///
/// let config = MailboxConfig::bounded(64).with_policy(MailboxPolicy::Reject);
/// assert_eq!(config.capacity(), Some(64));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct MailboxConfig {
    capacity: Option<usize>,
    policy: MailboxPolicy,
}

impl MailboxConfig {
    /// The capacity of a default mailbox.
    pub const DEFAULT_CAPACITY: usize = 1024;

    /// A mailbox holding at most `capacity` messages (at least 1), policy [`MailboxPolicy::Block`].
    #[must_use]
    pub fn bounded(capacity: usize) -> Self {
        Self {
            capacity: Some(capacity.max(1)),
            policy: MailboxPolicy::Block,
        }
    }

    /// A mailbox without a bound. Use only when senders are known to be slower than the actor.
    #[must_use]
    pub fn unbounded() -> Self {
        Self {
            capacity: None,
            policy: MailboxPolicy::Block,
        }
    }

    /// Sets the full-mailbox policy (ignored by unbounded mailboxes, which are never full).
    #[must_use]
    pub fn with_policy(mut self, policy: MailboxPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// The capacity, or `None` for an unbounded mailbox.
    #[must_use]
    pub fn capacity(&self) -> Option<usize> {
        self.capacity
    }

    /// The full-mailbox policy.
    #[must_use]
    pub fn policy(&self) -> MailboxPolicy {
        self.policy
    }
}

impl Default for MailboxConfig {
    fn default() -> Self {
        Self::bounded(Self::DEFAULT_CAPACITY)
    }
}

/// A message in a mailbox, with the reply slot of an `ask`.
pub(crate) struct Envelope<M: Message> {
    pub(crate) msg: M,
    pub(crate) reply: Option<ReplyTx<M::Reply>>,
}

/// The sending half of a mailbox.
pub(crate) enum MailboxSender<M: Message> {
    Bounded(mpsc::Sender<Envelope<M>>),
    Unbounded(mpsc::UnboundedSender<Envelope<M>>),
}

/// The outcome of a non-waiting push.
pub(crate) enum TryPush<M: Message> {
    Pushed,
    Full(Envelope<M>),
    Closed(Envelope<M>),
}

impl<M: Message> MailboxSender<M> {
    #[inline]
    pub(crate) fn try_push(&self, env: Envelope<M>) -> TryPush<M> {
        match self {
            Self::Bounded(tx) => match tx.try_send(env) {
                Ok(()) => TryPush::Pushed,
                Err(mpsc::error::TrySendError::Full(env)) => TryPush::Full(env),
                Err(mpsc::error::TrySendError::Closed(env)) => TryPush::Closed(env),
            },
            Self::Unbounded(tx) => match tx.send(env) {
                Ok(()) => TryPush::Pushed,
                Err(mpsc::error::SendError(env)) => TryPush::Closed(env),
            },
        }
    }

    /// Waits for room; returns the envelope back if the mailbox closed.
    pub(crate) async fn push(&self, env: Envelope<M>) -> Result<(), Envelope<M>> {
        match self {
            Self::Bounded(tx) => tx.send(env).await.map_err(|e| e.0),
            Self::Unbounded(tx) => tx.send(env).map_err(|e| e.0),
        }
    }

    pub(crate) fn is_closed(&self) -> bool {
        match self {
            Self::Bounded(tx) => tx.is_closed(),
            Self::Unbounded(tx) => tx.is_closed(),
        }
    }

    /// Messages currently queued (0 for an unbounded mailbox, whose depth is not tracked).
    pub(crate) fn depth(&self) -> usize {
        match self {
            Self::Bounded(tx) => tx.max_capacity() - tx.capacity(),
            Self::Unbounded(_) => 0,
        }
    }
}

/// The receiving end of the channel, before it is given its owner.
pub(crate) enum Rx<M: Message> {
    Bounded(mpsc::Receiver<Envelope<M>>),
    Unbounded(mpsc::UnboundedReceiver<Envelope<M>>),
}

/// The receiving half of a mailbox.
///
/// It outlives restarts (a restarted actor keeps its queue) and, when finally dropped, closes the
/// mailbox and moves every queued message — and the one in flight, if the actor was aborted while
/// handling it — to the dead-letter queue, so nothing disappears silently.
///
/// It names its actor through the actor's own address (one pointer: the id, name and dead-letter
/// queue live there), which keeps it, and so every idle actor's task, small.
pub(crate) struct MailboxReceiver<M: Message> {
    rx: Rx<M>,
    owner: ActorRef<M>,
    pub(crate) in_flight: bool,
}

pub(crate) fn channel<M: Message>(config: MailboxConfig) -> (MailboxSender<M>, Rx<M>) {
    let (tx, rx) = match config.capacity {
        Some(cap) => {
            let (tx, rx) = mpsc::channel(cap);
            (MailboxSender::Bounded(tx), Rx::Bounded(rx))
        }
        None => {
            let (tx, rx) = mpsc::unbounded_channel();
            (MailboxSender::Unbounded(tx), Rx::Unbounded(rx))
        }
    };
    (tx, rx)
}

impl<M: Message> MailboxReceiver<M> {
    pub(crate) fn new(rx: Rx<M>, owner: ActorRef<M>) -> Self {
        Self {
            rx,
            owner,
            in_flight: false,
        }
    }

    #[inline]
    pub(crate) fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<Envelope<M>>> {
        match &mut self.rx {
            Rx::Bounded(rx) => rx.poll_recv(cx),
            Rx::Unbounded(rx) => rx.poll_recv(cx),
        }
    }

    pub(crate) fn try_recv(&mut self) -> Option<Envelope<M>> {
        match &mut self.rx {
            Rx::Bounded(rx) => rx.try_recv().ok(),
            Rx::Unbounded(rx) => rx.try_recv().ok(),
        }
    }

    /// Records the message in flight as a dead letter (the handler consumed it).
    pub(crate) fn dead_letter_in_flight(&self, reason: DeadLetterReason) {
        self.owner.record_dead_letter(reason);
    }

    /// Closes the mailbox and dead-letters everything still queued. Returns how many.
    pub(crate) fn close_and_drain(&mut self) -> u64 {
        match &mut self.rx {
            Rx::Bounded(rx) => rx.close(),
            Rx::Unbounded(rx) => rx.close(),
        }
        let mut n = 0;
        while let Some(env) = self.try_recv() {
            n += 1;
            self.owner
                .record_dead_letter_with(DeadLetterReason::Stopped, Box::new(env.msg));
        }
        n
    }
}

impl<M: Message> Drop for MailboxReceiver<M> {
    fn drop(&mut self) {
        if self.in_flight {
            self.in_flight = false;
            self.dead_letter_in_flight(DeadLetterReason::Aborted);
        }
        self.close_and_drain();
    }
}
