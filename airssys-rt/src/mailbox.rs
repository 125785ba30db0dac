//! Mailboxes: bounded by default, with a policy for when they are full.

use std::collections::VecDeque;
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};

use tokio::sync::Notify;

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
/// The queue is a `VecDeque` behind a mutex, with the waker of the task that waits for the next
/// message beside it. A push is one lock (and a wake-up when the actor waits). The actor takes
/// everything queued at once, by swapping the queue with its own empty buffer under the same
/// lock, and then handles that batch without touching the lock: a sender and a busy actor meet
/// on the lock once per batch, not once per message. Going idle registers the actor's waker
/// under the lock, so no message slips in between the look and the registration.
///
/// The bound counts every message not yet handed to the actor: those queued here and those of
/// the actor's batch it has not taken yet (`batch - consumed`, `consumed` written by the actor
/// alone).
///
/// Nothing is allocated until the first message (a `VecDeque` starts empty); the two buffers
/// then hold 4 slots each and grow by doubling while messages pile up, and a buffer that held
/// more than [`SHRINK_ABOVE`] gives its memory back once it is empty. An actor that was sent
/// one message therefore costs a few slots more than one never sent any, where a tokio channel
/// (this mailbox until 2026-12) costs about 1.5 KiB.
pub(crate) struct MailboxSender<M: Message> {
    state: Mutex<State<M>>,
    /// `usize::MAX` for an unbounded mailbox.
    capacity: usize,
    /// How many messages of its current batch the actor has taken (written by the actor only).
    /// A small allocation of its own, made before the actor's lane and address, so it never
    /// shares a cache line with the queue's lock: the actor writes it once per message and the
    /// senders write the lock once per message, and on one line the two would bounce between
    /// cores (measured: `tell_1to1` at 190–225 ns instead of 116 ns). A 128-byte aligned field
    /// did the same for 320 bytes more per actor.
    consumed: Arc<AtomicUsize>,
    /// Senders in [`push`](Self::push) that found the mailbox full and wait for room.
    waiting: AtomicUsize,
    /// Wakes the senders waiting for room.
    room: Notify,
}

struct State<M: Message> {
    queue: VecDeque<Envelope<M>>,
    /// The size of the batch the actor took last.
    batch: usize,
    /// The task waiting for the next message: the actor's run or, before the actor's task
    /// exists, what creates it on the first message (see `task::for_actor`). Taken by the push
    /// that wakes it.
    rx_waker: Option<Waker>,
    closed: bool,
}

/// A buffer that held more slots than this gives them back once it is empty.
const SHRINK_ABOVE: usize = 256;

/// The outcome of a non-waiting push.
pub(crate) enum TryPush<M: Message> {
    Pushed,
    Full(Envelope<M>),
    Closed(Envelope<M>),
}

/// A mailbox's sending half: an empty queue, nothing allocated (see [`MailboxSender`]).
pub(crate) fn sender<M: Message>(config: MailboxConfig) -> MailboxSender<M> {
    MailboxSender {
        state: Mutex::new(State {
            queue: VecDeque::new(),
            batch: 0,
            rx_waker: None,
            closed: false,
        }),
        capacity: config.capacity.unwrap_or(usize::MAX),
        consumed: Arc::new(AtomicUsize::new(0)),
        waiting: AtomicUsize::new(0),
        room: Notify::new(),
    }
}

impl<M: Message> MailboxSender<M> {
    /// The queue (a poisoned lock is taken over: no code panics while holding it, and the
    /// queue stays consistent whatever a panic interrupted elsewhere).
    #[inline]
    fn lock(&self) -> MutexGuard<'_, State<M>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Messages not yet handed to the actor: queued, or in its batch and not taken.
    #[inline]
    fn pending(&self, state: &State<M>) -> usize {
        let taken = self.consumed.load(Ordering::SeqCst);
        state.queue.len() + state.batch.saturating_sub(taken)
    }

    /// Whether the mailbox is full. Reads the actor's count only when the whole batch plus the
    /// queue could fill it: otherwise there is room whatever the actor took, and the sender
    /// leaves the actor's cache line alone.
    #[inline]
    fn is_full(&self, state: &State<M>) -> bool {
        self.capacity != usize::MAX
            && state.queue.len() + state.batch >= self.capacity
            && self.pending(state) >= self.capacity
    }

    /// Queues `env` if there is room; wakes the waiting receiver outside the lock.
    /// `Err(_, true)`: closed; `Err(_, false)`: full.
    #[inline]
    fn push_locked(
        &self,
        mut state: MutexGuard<'_, State<M>>,
        env: Envelope<M>,
    ) -> Result<(), (Envelope<M>, bool)> {
        if state.closed {
            return Err((env, true));
        }
        if self.is_full(&state) {
            return Err((env, false));
        }
        state.queue.push_back(env);
        let waker = state.rx_waker.take();
        drop(state);
        if let Some(waker) = waker {
            waker.wake();
        }
        Ok(())
    }

    #[inline]
    pub(crate) fn try_push(&self, env: Envelope<M>) -> TryPush<M> {
        match self.push_locked(self.lock(), env) {
            Ok(()) => TryPush::Pushed,
            Err((env, true)) => TryPush::Closed(env),
            Err((env, false)) => TryPush::Full(env),
        }
    }

    /// Waits for room; returns the envelope back if the mailbox closed.
    ///
    /// Cancel safety: cancelling drops the envelope, which was never queued.
    pub(crate) async fn push(&self, mut env: Envelope<M>) -> Result<(), Envelope<M>> {
        loop {
            // Enabled before the look: room made (or a close) after it wakes this waiter.
            let mut notified = pin!(self.room.notified());
            notified.as_mut().enable();
            // Counted before the look, which reads `consumed`; the actor writes `consumed` and
            // then reads this count (both sequentially consistent): either the look sees the
            // room, or the actor sees this sender waiting and wakes it.
            self.waiting.fetch_add(1, Ordering::SeqCst);
            let waiting = Waiting(self);
            env = match self.push_locked(self.lock(), env) {
                Ok(()) => return Ok(()),
                Err((back, true)) => return Err(back),
                Err((back, false)) => back,
            };
            notified.await;
            drop(waiting);
        }
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.lock().closed
    }

    /// Whether a message waits for the actor: queued, or left in the batch of a run that ended
    /// (a restarted actor's receiver carries it over).
    pub(crate) fn has_queued(&self) -> bool {
        self.pending(&self.lock()) > 0
    }

    /// Registers the waker that the next message wakes, unless it is already the one there;
    /// returns the one it replaces, to be dropped outside the lock.
    fn register(state: &mut State<M>, waker: &Waker) -> Option<Waker> {
        match &state.rx_waker {
            Some(w) if w.will_wake(waker) => None,
            _ => state.rx_waker.replace(waker.clone()),
        }
    }

    /// Registers the waker that the next message wakes (the actor's task is created by it).
    pub(crate) fn register_opening_waker(&self, waker: &Waker) {
        let old = Self::register(&mut self.lock(), waker);
        drop(old);
    }

    /// Messages not yet handed to the actor.
    pub(crate) fn depth(&self) -> usize {
        self.pending(&self.lock())
    }

    /// The actor took one more message of its batch: records it and wakes a sender waiting
    /// for room, if any.
    #[inline]
    fn taken(&self, consumed: usize) {
        self.consumed.store(consumed, Ordering::SeqCst);
        self.wake_waiting();
    }

    /// Wakes a sender waiting for room, if any (after the room was made visible).
    #[inline]
    fn wake_waiting(&self) {
        if self.capacity != usize::MAX && self.waiting.load(Ordering::SeqCst) > 0 {
            self.room.notify_one();
        }
    }
}

/// A sender counted in [`MailboxSender::waiting`], uncounted when it stops waiting (woken or
/// cancelled).
struct Waiting<'a, M: Message>(&'a MailboxSender<M>);

impl<M: Message> Drop for Waiting<'_, M> {
    fn drop(&mut self) {
        self.0.waiting.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The receiving half of a mailbox.
///
/// It outlives restarts (a restarted actor keeps its queue) and, when finally dropped, closes the
/// mailbox and moves every queued message — and the one in flight, if the actor was aborted while
/// handling it — to the dead-letter queue, so nothing disappears silently.
///
/// It names its actor through the actor's own address (one pointer: the id, name, dead-letter
/// queue and the shared queue live there). It holds the batch the actor took last.
pub(crate) struct MailboxReceiver<M: Message> {
    owner: ActorRef<M>,
    /// The batch taken from the shared queue, handled in order before the next one is taken.
    batch: VecDeque<Envelope<M>>,
    /// How many of `batch` were taken (mirrored in `MailboxSender::consumed`).
    consumed: usize,
    pub(crate) in_flight: bool,
    /// The owner's signal lane holds the waker of the task now running the actor (see
    /// `runner::run_actor`).
    pub(crate) lane_armed: bool,
}

impl<M: Message> MailboxReceiver<M> {
    pub(crate) fn new(owner: ActorRef<M>) -> Self {
        Self {
            owner,
            batch: VecDeque::new(),
            consumed: 0,
            in_flight: false,
            lane_armed: false,
        }
    }

    /// The next message: from the batch, else everything queued becomes the next batch; else,
    /// with a waker, registers it for the next message.
    fn next(&mut self, waker: Option<&Waker>) -> Poll<Option<Envelope<M>>> {
        if let Some(env) = self.batch.pop_front() {
            self.consumed += 1;
            self.owner.mailbox().taken(self.consumed);
            return Poll::Ready(Some(env));
        }
        if self.batch.capacity() > SHRINK_ABOVE {
            self.batch = VecDeque::new();
        }
        let tx = self.owner.mailbox();
        let mut state = tx.lock();
        if state.queue.is_empty() {
            if state.closed {
                return Poll::Ready(None);
            }
            let old = waker.and_then(|w| MailboxSender::register(&mut state, w));
            drop(state);
            drop(old);
            return Poll::Pending;
        }
        std::mem::swap(&mut state.queue, &mut self.batch);
        state.batch = self.batch.len();
        let env = self.batch.pop_front();
        self.consumed = 1;
        // Under the lock, which orders it against every sender's look (made under the lock);
        // a sender counted as waiting before this lock was taken is seen below.
        tx.consumed.store(1, Ordering::Relaxed);
        drop(state);
        tx.wake_waiting();
        Poll::Ready(env)
    }

    /// The next message; `Ready(None)` once the mailbox is closed and empty.
    #[inline]
    pub(crate) fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<Envelope<M>>> {
        self.next(Some(cx.waker()))
    }

    pub(crate) fn try_recv(&mut self) -> Option<Envelope<M>> {
        match self.next(None) {
            Poll::Ready(env) => env,
            Poll::Pending => None,
        }
    }

    /// Records the message in flight as a dead letter (the handler consumed it).
    pub(crate) fn dead_letter_in_flight(&self, reason: DeadLetterReason) {
        self.owner.record_dead_letter(reason);
    }

    /// Closes the mailbox (later sends fail, senders waiting for room get their message back)
    /// and dead-letters everything still queued. Returns how many.
    pub(crate) fn close_and_drain(&mut self) -> u64 {
        let tx = self.owner.mailbox();
        let queued = {
            let mut state = tx.lock();
            state.closed = true;
            state.batch = 0;
            std::mem::take(&mut state.queue)
        };
        tx.room.notify_waiters();
        let batch = std::mem::take(&mut self.batch);
        self.consumed = 0;
        let mut n = 0;
        for env in batch.into_iter().chain(queued) {
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
