//! The runtime event observer hook: metrics and tracing exporters plug in here.

use std::sync::Arc;
use std::time::Duration;

use crate::ActorId;
use crate::dead_letter::DeadLetterReason;
use crate::supervisor::StopReason;

/// How a handled message ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum HandleOutcome {
    /// The handler returned `Ok`.
    Ok,
    /// The handler returned an error.
    Error,
    /// The handler panicked.
    Panicked,
}

/// How an [`ask`](crate::ActorRef::ask) ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AskOutcome {
    /// The reply arrived.
    Replied,
    /// No reply within the timeout.
    Timeout,
    /// The actor handled the request without replying, or failed while handling it.
    NoReply,
    /// The request was not delivered (stopped actor, full mailbox).
    NotDelivered,
}

impl AskOutcome {
    /// A short lowercase label (`replied`, `timeout`, `no_reply`, `not_delivered`).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Replied => "replied",
            Self::Timeout => "timeout",
            Self::NoReply => "no_reply",
            Self::NotDelivered => "not_delivered",
        }
    }
}

/// Something that happened in the runtime.
#[derive(Debug)]
#[non_exhaustive]
pub enum RuntimeEvent<'a> {
    /// An actor was spawned and its `pre_start` succeeded.
    ActorSpawned {
        /// The actor.
        id: ActorId,
        /// Its registered name.
        name: Option<&'a str>,
        /// The Rust type name of the actor.
        actor_type: &'static str,
        /// From the spawn call to `pre_start` done.
        duration: Duration,
    },
    /// An actor stopped for good (after its last restart, if supervised).
    ActorStopped {
        /// The actor.
        id: ActorId,
        /// Its registered name.
        name: Option<&'a str>,
        /// Why.
        reason: &'a StopReason,
    },
    /// A supervisor restarted one of its children.
    ChildRestarted {
        /// The supervisor's name.
        supervisor: &'a str,
        /// The child's id within the supervisor.
        child: &'a str,
        /// How many restarts in a row (1 for the first).
        attempt: u32,
        /// The backoff delay that was applied.
        delay: Duration,
    },
    /// A supervisor gave up (restart intensity exceeded, or a child escalated) and escalated to its
    /// parent.
    SupervisorEscalated {
        /// The supervisor's name.
        supervisor: &'a str,
        /// Why.
        reason: &'a str,
    },
    /// A message was handled.
    MessageHandled {
        /// The actor.
        id: ActorId,
        /// The Rust type name of the message.
        message_type: &'static str,
        /// How long the handler ran.
        duration: Duration,
        /// How it ended.
        outcome: HandleOutcome,
        /// Messages still queued after this one was taken (0 for unbounded mailboxes).
        mailbox_depth: usize,
    },
    /// An `ask` finished (replied, timed out, or failed), measured from the call to its end.
    AskCompleted {
        /// The actor that was asked.
        id: ActorId,
        /// The Rust type name of the message.
        message_type: &'static str,
        /// From the `ask` call to its result.
        duration: Duration,
        /// How it ended.
        outcome: AskOutcome,
    },
    /// A message became a dead letter.
    DeadLetter {
        /// The actor it was addressed to.
        recipient: ActorId,
        /// The Rust type name of the message.
        message_type: &'static str,
        /// Why.
        reason: &'a DeadLetterReason,
    },
}

/// Receives [`RuntimeEvent`]s. Installed with
/// [`ActorSystemBuilder::observer`](crate::ActorSystemBuilder::observer).
///
/// Called inline on the actor's task: keep it cheap (update atomics, push to a channel). When no
/// observer is installed the runtime does not even read the clock.
///
/// # Examples
///
/// ```
/// use std::sync::atomic::{AtomicU64, Ordering};
/// use airssys_rt::{RuntimeEvent, RuntimeObserver};
///
/// #[derive(Default)]
/// struct Handled(AtomicU64);
///
/// impl RuntimeObserver for Handled {
///     fn on_event(&self, event: &RuntimeEvent<'_>) {
///         if let RuntimeEvent::MessageHandled { .. } = event {
///             self.0.fetch_add(1, Ordering::Relaxed);
///         }
///     }
/// }
/// ```
pub trait RuntimeObserver: Send + Sync + 'static {
    /// Called for every event.
    fn on_event(&self, event: &RuntimeEvent<'_>);
}

/// The optional observer, shared by every part of a system.
#[derive(Clone, Default)]
pub(crate) struct ObserverSlot(Option<Arc<dyn RuntimeObserver>>);

impl ObserverSlot {
    pub(crate) fn new(observer: Option<Arc<dyn RuntimeObserver>>) -> Self {
        Self(observer)
    }

    #[inline]
    pub(crate) fn get(&self) -> Option<&Arc<dyn RuntimeObserver>> {
        self.0.as_ref()
    }
}
