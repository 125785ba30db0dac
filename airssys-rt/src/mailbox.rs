//! Mailboxes: bounded by default, with a policy for when they are full.

use std::sync::{Mutex, OnceLock, PoisonError};
use std::task::{Context, Poll};

use futures_util::task::AtomicWaker;

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

/// The sending half of a mailbox, kept in the actor's address.
///
/// The queue itself (a tokio channel: about 1.3 KiB of channel state and a first block of 32
/// slots) is allocated by the first message sent, not by the spawn: an actor that is never sent
/// anything — the common case among thousands of idle ones — holds none. Until then
/// `opening` says where the receiving end is; once the channel exists, a send is one atomic
/// load more than a plain channel send.
pub(crate) struct MailboxSender<M: Message> {
    chan: OnceLock<Chan<M>>,
    capacity: Option<usize>,
    opening: Mutex<Opening<M>>,
    /// The actor task, while it waits on a mailbox that has no channel yet.
    waker: AtomicWaker,
}

/// The channel's sending end, once the first message opened it.
enum Chan<M: Message> {
    Bounded(mpsc::Sender<Envelope<M>>),
    Unbounded(mpsc::UnboundedSender<Envelope<M>>),
}

/// Where the receiving end of a lazily opened mailbox is.
enum Opening<M: Message> {
    /// Nothing was ever sent: there is no channel.
    Unopened,
    /// A sender opened the channel; the actor has not picked the receiving end up yet.
    Ready(Rx<M>),
    /// The actor holds the receiving end.
    Taken,
    /// The actor closed its mailbox before anything was sent: sends fail.
    Closed,
}

/// The outcome of a non-waiting push.
pub(crate) enum TryPush<M: Message> {
    Pushed,
    Full(Envelope<M>),
    Closed(Envelope<M>),
}

impl<M: Message> MailboxSender<M> {
    /// The channel, opening it on the first send; `None` if the mailbox was closed unopened.
    #[inline]
    fn chan(&self) -> Option<&Chan<M>> {
        match self.chan.get() {
            Some(chan) => Some(chan),
            None => self.open(),
        }
    }

    #[cold]
    fn open(&self) -> Option<&Chan<M>> {
        let mut opening = self.opening.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(chan) = self.chan.get() {
            return Some(chan);
        }
        if matches!(*opening, Opening::Closed) {
            return None;
        }
        let (chan, rx) = match self.capacity {
            Some(cap) => {
                let (tx, rx) = mpsc::channel(cap);
                (Chan::Bounded(tx), Rx::Bounded(rx))
            }
            None => {
                let (tx, rx) = mpsc::unbounded_channel();
                (Chan::Unbounded(tx), Rx::Unbounded(rx))
            }
        };
        *opening = Opening::Ready(rx);
        let chan = self.chan.get_or_init(|| chan);
        drop(opening);
        self.waker.wake();
        Some(chan)
    }

    #[inline]
    pub(crate) fn try_push(&self, env: Envelope<M>) -> TryPush<M> {
        match self.chan() {
            Some(Chan::Bounded(tx)) => match tx.try_send(env) {
                Ok(()) => TryPush::Pushed,
                Err(mpsc::error::TrySendError::Full(env)) => TryPush::Full(env),
                Err(mpsc::error::TrySendError::Closed(env)) => TryPush::Closed(env),
            },
            Some(Chan::Unbounded(tx)) => match tx.send(env) {
                Ok(()) => TryPush::Pushed,
                Err(mpsc::error::SendError(env)) => TryPush::Closed(env),
            },
            None => TryPush::Closed(env),
        }
    }

    /// Waits for room; returns the envelope back if the mailbox closed.
    pub(crate) async fn push(&self, env: Envelope<M>) -> Result<(), Envelope<M>> {
        match self.chan() {
            Some(Chan::Bounded(tx)) => tx.send(env).await.map_err(|e| e.0),
            Some(Chan::Unbounded(tx)) => tx.send(env).map_err(|e| e.0),
            None => Err(env),
        }
    }

    pub(crate) fn is_closed(&self) -> bool {
        match self.chan.get() {
            Some(Chan::Bounded(tx)) => tx.is_closed(),
            Some(Chan::Unbounded(tx)) => tx.is_closed(),
            None => matches!(
                *self.opening.lock().unwrap_or_else(PoisonError::into_inner),
                Opening::Closed
            ),
        }
    }

    /// Whether a first message opened the channel.
    pub(crate) fn is_opened(&self) -> bool {
        self.chan.get().is_some()
    }

    /// Registers the waker that a first message (which opens the channel) wakes.
    pub(crate) fn register_opening_waker(&self, waker: &std::task::Waker) {
        self.waker.register(waker);
    }

    /// Messages currently queued (0 for an unbounded mailbox, whose depth is not tracked).
    pub(crate) fn depth(&self) -> usize {
        match self.chan.get() {
            Some(Chan::Bounded(tx)) => tx.max_capacity() - tx.capacity(),
            Some(Chan::Unbounded(_)) | None => 0,
        }
    }

    /// The receiving end, if a sender opened the channel since the actor last looked.
    fn take_opened(&self) -> Option<Rx<M>> {
        let mut opening = self.opening.lock().unwrap_or_else(PoisonError::into_inner);
        match std::mem::replace(&mut *opening, Opening::Taken) {
            Opening::Ready(rx) => Some(rx),
            other => {
                *opening = other;
                None
            }
        }
    }

    /// Closes a mailbox that was never opened (later sends fail), or hands over the receiving
    /// end a sender opened meanwhile, for the caller to close and drain.
    fn close_unopened(&self) -> Option<Rx<M>> {
        let mut opening = self.opening.lock().unwrap_or_else(PoisonError::into_inner);
        match std::mem::replace(&mut *opening, Opening::Taken) {
            Opening::Ready(rx) => Some(rx),
            Opening::Unopened | Opening::Closed => {
                *opening = Opening::Closed;
                None
            }
            Opening::Taken => None,
        }
    }
}

/// The receiving end of the channel.
enum Rx<M: Message> {
    Bounded(mpsc::Receiver<Envelope<M>>),
    Unbounded(mpsc::UnboundedReceiver<Envelope<M>>),
}

impl<M: Message> Rx<M> {
    fn close(&mut self) {
        match self {
            Self::Bounded(rx) => rx.close(),
            Self::Unbounded(rx) => rx.close(),
        }
    }
}

/// The receiving half of a mailbox.
///
/// It outlives restarts (a restarted actor keeps its queue) and, when finally dropped, closes the
/// mailbox and moves every queued message — and the one in flight, if the actor was aborted while
/// handling it — to the dead-letter queue, so nothing disappears silently.
///
/// It names its actor through the actor's own address (one pointer: the id, name, dead-letter
/// queue and the sending half live there), which keeps it, and so every idle actor's task,
/// small. It holds the channel's receiving end once the first message opened the channel.
pub(crate) struct MailboxReceiver<M: Message> {
    rx: Option<Rx<M>>,
    owner: ActorRef<M>,
    pub(crate) in_flight: bool,
    /// The owner's signal lane holds the waker of the task now running the actor (see
    /// `runner::run_actor`).
    pub(crate) lane_armed: bool,
}

/// A mailbox's sending half, with no channel yet (see [`MailboxSender`]).
pub(crate) fn sender<M: Message>(config: MailboxConfig) -> MailboxSender<M> {
    MailboxSender {
        chan: OnceLock::new(),
        capacity: config.capacity,
        opening: Mutex::new(Opening::Unopened),
        waker: AtomicWaker::new(),
    }
}

impl<M: Message> MailboxReceiver<M> {
    pub(crate) fn new(owner: ActorRef<M>) -> Self {
        Self {
            rx: None,
            owner,
            in_flight: false,
            lane_armed: false,
        }
    }

    /// The receiving end, if the channel is open (picking it up after the first send).
    #[inline]
    fn rx(&mut self) -> Option<&mut Rx<M>> {
        if self.rx.is_none() {
            self.rx = self.owner.mailbox().take_opened();
        }
        self.rx.as_mut()
    }

    #[inline]
    pub(crate) fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<Envelope<M>>> {
        if self.rx.is_none() {
            // Registered before looking, so a sender that opens the channel right after the
            // look wakes this task.
            self.owner.mailbox().waker.register(cx.waker());
        }
        match self.rx() {
            Some(Rx::Bounded(rx)) => rx.poll_recv(cx),
            Some(Rx::Unbounded(rx)) => rx.poll_recv(cx),
            None => Poll::Pending,
        }
    }

    pub(crate) fn try_recv(&mut self) -> Option<Envelope<M>> {
        match self.rx()? {
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
        if self.rx.is_none() {
            self.rx = self.owner.mailbox().close_unopened();
        }
        let Some(rx) = self.rx.as_mut() else {
            return 0;
        };
        rx.close();
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
