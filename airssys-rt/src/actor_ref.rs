//! [`ActorRef`]: the address of an actor, used to send it messages.

use std::any::Any;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::dead_letter::{DeadLetterReason, DeadLetters};
use crate::mailbox::{Envelope, MailboxPolicy, MailboxSender, TryPush};
use crate::observer::{AskOutcome, RuntimeEvent};
use crate::registry::Registered;
use crate::signal::SignalLane;
use crate::{ActorId, AskError, Message, SendError};

/// A handle to send messages to an actor. Cheap to clone (one reference count).
///
/// The address stays valid across supervised restarts: messages queued while an actor restarts are
/// handled by the new instance.
///
/// # Examples
///
/// ```
/// use std::convert::Infallible;
/// use std::time::Duration;
/// use airssys_rt::{Actor, ActorContext, ActorSystem, Message, MessageBroker};
///
/// struct Doubler;
/// struct Double(u32);
/// impl Message for Double {
///     type Reply = u32;
/// }
///
/// impl Actor for Doubler {
///     type Message = Double;
///     type Error = Infallible;
///
///     async fn handle_message<B: MessageBroker<Double>>(
///         &mut self,
///         Double(n): Double,
///         ctx: &mut ActorContext<Double, B>,
///     ) -> Result<(), Infallible> {
///         ctx.reply(n * 2);
///         Ok(())
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let system = ActorSystem::new();
/// let doubler = system.spawn(Doubler).await?;
/// assert_eq!(doubler.ask(Double(21), Duration::from_secs(1)).await?, 42);
/// system.shutdown().await;
/// # Ok(())
/// # }
/// ```
pub struct ActorRef<M: Message> {
    inner: Arc<RefInner<M>>,
}

struct RefInner<M: Message> {
    id: ActorId,
    name: Option<Arc<str>>,
    tx: MailboxSender<M>,
    policy: MailboxPolicy,
    lane: Arc<SignalLane>,
    dead_letters: DeadLetters,
}

impl<M: Message> Registered for RefInner<M> {
    fn id(&self) -> ActorId {
        self.id
    }
}

impl<M: Message> Clone for ActorRef<M> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<M: Message> fmt::Debug for ActorRef<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ActorRef")
            .field("id", &self.inner.id)
            .field("name", &self.inner.name)
            .finish()
    }
}

impl<M: Message> ActorRef<M> {
    pub(crate) fn new(
        id: ActorId,
        name: Option<Arc<str>>,
        tx: MailboxSender<M>,
        policy: MailboxPolicy,
        lane: Arc<SignalLane>,
        dead_letters: DeadLetters,
    ) -> Self {
        Self {
            inner: Arc::new(RefInner {
                id,
                name,
                tx,
                policy,
                lane,
                dead_letters,
            }),
        }
    }

    /// The sending half of the actor's mailbox.
    pub(crate) fn mailbox(&self) -> &MailboxSender<M> {
        &self.inner.tx
    }

    /// The actor's id.
    #[must_use]
    pub fn id(&self) -> ActorId {
        self.inner.id
    }

    /// The actor's registered name, if it has one.
    #[must_use]
    pub fn name(&self) -> Option<&str> {
        self.inner.name.as_deref()
    }

    /// The registered name as the shared string it is stored as (cloning it copies no bytes).
    pub(crate) fn name_arc(&self) -> Option<&Arc<str>> {
        self.inner.name.as_ref()
    }

    /// `false` once the actor has stopped for good (its mailbox is closed).
    #[must_use]
    pub fn is_alive(&self) -> bool {
        !self.inner.tx.is_closed()
    }

    /// Sends a message without waiting for a reply.
    ///
    /// With [`MailboxPolicy::Block`] this waits for room in a full mailbox; with
    /// [`MailboxPolicy::DropNewest`] a full mailbox dead-letters the message and this returns
    /// `Ok`; with [`MailboxPolicy::Reject`] it returns [`SendError::Full`].
    ///
    /// # Errors
    ///
    /// [`SendError::Stopped`] if the actor has stopped, [`SendError::Full`] under `Reject`. The
    /// message is handed back in the error.
    ///
    /// # Cancel safety
    ///
    /// Cancelling while waiting for room drops the message (it was never queued).
    pub async fn tell(&self, msg: M) -> Result<(), SendError<M>> {
        let env = Envelope { msg, reply: None };
        match self.inner.tx.try_push(env) {
            TryPush::Pushed => Ok(()),
            TryPush::Closed(env) => Err(SendError::Stopped(env.msg)),
            TryPush::Full(env) => match self.inner.policy {
                MailboxPolicy::Block => self
                    .inner
                    .tx
                    .push(env)
                    .await
                    .map_err(|env| SendError::Stopped(env.msg)),
                MailboxPolicy::DropNewest => {
                    self.dead_letter_full(env.msg);
                    Ok(())
                }
                MailboxPolicy::Reject => Err(SendError::Full(env.msg)),
            },
        }
    }

    /// Sends a message if the mailbox has room right now; never waits.
    ///
    /// Under [`MailboxPolicy::DropNewest`] a full mailbox dead-letters the message and this
    /// returns `Ok`, as `tell` does.
    ///
    /// # Errors
    ///
    /// [`SendError::Full`] when the mailbox is full (policies `Block` and `Reject`),
    /// [`SendError::Stopped`] when the actor has stopped.
    pub fn try_tell(&self, msg: M) -> Result<(), SendError<M>> {
        let env = Envelope { msg, reply: None };
        match self.inner.tx.try_push(env) {
            TryPush::Pushed => Ok(()),
            TryPush::Closed(env) => Err(SendError::Stopped(env.msg)),
            TryPush::Full(env) => match self.inner.policy {
                MailboxPolicy::DropNewest => {
                    self.dead_letter_full(env.msg);
                    Ok(())
                }
                _ => Err(SendError::Full(env.msg)),
            },
        }
    }

    /// Sends a message and waits for the actor's reply (see
    /// [`ActorContext::reply`](crate::ActorContext::reply)).
    ///
    /// The timeout covers both waiting for room in a full `Block` mailbox and waiting for the
    /// reply. An ask to a stopped actor fails at once. An ask times out no earlier than `timeout`
    /// after it was made and, unless the runtime is overloaded, within a few milliseconds after
    /// that: about 1 ms (tokio's timer granularity) when asks are sparse, up to about 3 ms while
    /// they come densely, when the system's ask timers stamp deadlines in 1 ms batches so that an
    /// ask need not read the clock.
    ///
    /// # Errors
    ///
    /// [`AskError::Send`] if the request was not delivered (stopped actor; full `Reject` or
    /// `DropNewest` mailbox — the message is handed back), [`AskError::Timeout`] if no reply came
    /// in time, [`AskError::NoReply`] if the actor handled the request without replying or failed
    /// while handling it.
    ///
    /// # Cancel safety
    ///
    /// Cancelling drops the reply slot; the actor's reply is then discarded. Nothing leaks.
    pub async fn ask(&self, msg: M, timeout: Duration) -> Result<M::Reply, AskError<M>> {
        // The clock is read only when an observer is installed.
        let Some(observer) = self.inner.dead_letters.observer().get() else {
            return self.ask_inner(msg, timeout).await;
        };
        let started = std::time::Instant::now();
        let result = self.ask_inner(msg, timeout).await;
        let outcome = match &result {
            Ok(_) => AskOutcome::Replied,
            Err(AskError::Timeout) => AskOutcome::Timeout,
            Err(AskError::NoReply) => AskOutcome::NoReply,
            Err(_) => AskOutcome::NotDelivered,
        };
        observer.on_event(&RuntimeEvent::AskCompleted {
            id: self.inner.id,
            message_type: std::any::type_name::<M>(),
            duration: started.elapsed(),
            outcome,
        });
        result
    }

    async fn ask_inner(&self, msg: M, timeout: Duration) -> Result<M::Reply, AskError<M>> {
        // The reply slot holds this poll's waker from the start, so the first wait skips looking
        // at it (see `AskTimers::wait_registered`).
        let waker = std::future::poll_fn(|cx| std::task::Poll::Ready(cx.waker().clone())).await;
        let (tx, rx) = crate::reply::channel_for(waker);
        let env = Envelope {
            msg,
            reply: Some(tx),
        };
        // Read here only when the mailbox is full; the ask timers read the clock only while asks
        // are sparse (see `ask_timer.rs`).
        let timers = self.inner.dead_letters.ask_timers();
        let wait = match self.inner.tx.try_push(env) {
            TryPush::Pushed => timers.wait_registered(rx, timeout),
            TryPush::Closed(env) => return Err(AskError::Send(SendError::Stopped(env.msg))),
            TryPush::Full(env) => match self.inner.policy {
                MailboxPolicy::Block => {
                    let started = tokio::time::Instant::now();
                    let deadline = crate::time::deadline_after(started, timeout);
                    match tokio::time::timeout_at(deadline, self.inner.tx.push(env)).await {
                        // Polled again meanwhile (perhaps by another task): look at the slot.
                        Ok(Ok(())) => timers.wait(rx, timeout.saturating_sub(started.elapsed())),
                        Ok(Err(env)) => return Err(AskError::Send(SendError::Stopped(env.msg))),
                        Err(_) => return Err(AskError::Timeout),
                    }
                }
                _ => return Err(AskError::Send(SendError::Full(env.msg))),
            },
        };
        // The system's ask timers, not a tokio timer per ask (see `ask_timer.rs`).
        match wait.await {
            Ok(Ok(reply)) => Ok(reply),
            Ok(Err(_)) => Err(AskError::NoReply),
            Err(_) => Err(AskError::Timeout),
        }
    }

    /// Asks the actor to stop after the message it is handling (if any). Messages still queued
    /// are dead-lettered with [`DeadLetterReason::Stopped`]. A supervised actor with restart policy
    /// `Permanent` is restarted by its supervisor, as in OTP.
    pub fn stop(&self) {
        self.inner.lane.request_stop();
    }

    /// Messages currently queued.
    #[must_use]
    pub fn mailbox_depth(&self) -> usize {
        self.inner.tx.depth()
    }

    /// The address, type-erased for the registry (one `Arc`, no extra box).
    pub(crate) fn to_registered(&self) -> Arc<dyn Registered> {
        Arc::clone(&self.inner) as Arc<dyn Registered>
    }

    /// The address back from [`to_registered`](Self::to_registered), if it takes messages of
    /// type `M`.
    #[inline]
    pub(crate) fn from_registered(entry: &Arc<dyn Registered>) -> Option<Self> {
        // One type check (`downcast` makes it): a lookup with the wrong message type, a
        // caller's mistake, pays a reference count up and down instead.
        let any: Arc<dyn Any + Send + Sync> = Arc::<dyn Registered>::clone(entry);
        any.downcast::<RefInner<M>>()
            .ok()
            .map(|inner| Self { inner })
    }

    pub(crate) fn lane(&self) -> &Arc<SignalLane> {
        &self.inner.lane
    }

    /// A publish attempt that never waits: the caller awaits only `MustWait` copies.
    pub(crate) fn try_publish(&self, msg: M) -> PublishTry<M> {
        let env = Envelope { msg, reply: None };
        match self.inner.tx.try_push(env) {
            TryPush::Pushed => PublishTry::Delivered,
            TryPush::Closed(_) => PublishTry::Stopped,
            TryPush::Full(env) => match self.inner.policy {
                MailboxPolicy::Block => PublishTry::MustWait(env.msg),
                _ => {
                    self.dead_letter_full(env.msg);
                    PublishTry::Dropped
                }
            },
        }
    }

    pub(crate) fn record_dead_letter(&self, reason: DeadLetterReason) {
        self.inner.dead_letters.record(
            self.inner.id,
            self.inner.name.clone(),
            std::any::type_name::<M>(),
            reason,
            None,
        );
    }

    pub(crate) fn record_dead_letter_with(
        &self,
        reason: DeadLetterReason,
        msg: Box<dyn Any + Send>,
    ) {
        self.inner.dead_letters.record(
            self.inner.id,
            self.inner.name.clone(),
            std::any::type_name::<M>(),
            reason,
            Some(msg),
        );
    }

    fn dead_letter_full(&self, msg: M) {
        self.inner.dead_letters.record(
            self.inner.id,
            self.inner.name.clone(),
            std::any::type_name::<M>(),
            DeadLetterReason::MailboxFull,
            Some(Box::new(msg)),
        );
    }
}

/// The result of [`ActorRef::try_publish`].
pub(crate) enum PublishTry<M> {
    Delivered,
    Dropped,
    Stopped,
    MustWait(M),
}
