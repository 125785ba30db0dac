//! The dead-letter queue: every message that could not be delivered or handled, with a reason.

use std::any::Any;
use std::collections::VecDeque;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use crate::ActorId;
use crate::ask_timer::AskTimers;
use crate::observer::{ObserverSlot, RuntimeEvent};

/// Why a message became a dead letter.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DeadLetterReason {
    /// The mailbox was full and its policy dropped the message (or a publish found it full).
    MailboxFull,
    /// The message was queued when its actor stopped for good.
    Stopped,
    /// The message was being handled when the handler returned this error and the actor
    /// restarted or stopped.
    Failed(String),
    /// The message was being handled when the handler panicked.
    Panicked(String),
    /// The message was being handled when the actor was killed after its stop timeout.
    Aborted,
}

impl fmt::Display for DeadLetterReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MailboxFull => f.write_str("mailbox full"),
            Self::Stopped => f.write_str("actor stopped"),
            Self::Failed(e) => write!(f, "handler failed: {e}"),
            Self::Panicked(p) => write!(f, "handler panicked: {p}"),
            Self::Aborted => f.write_str("actor killed while handling the message"),
        }
    }
}

/// One undeliverable message.
#[non_exhaustive]
pub struct DeadLetter {
    /// The actor the message was addressed to.
    pub recipient: ActorId,
    /// The registered name of that actor, if any.
    pub recipient_name: Option<Arc<str>>,
    /// The Rust type name of the message.
    pub message_type: &'static str,
    /// Why it was not handled.
    pub reason: DeadLetterReason,
    /// The message itself, when it still existed (a message consumed by a failing handler does
    /// not). Downcast it to the message type.
    pub message: Option<Box<dyn Any + Send>>,
    /// When it happened.
    pub at: SystemTime,
}

impl fmt::Debug for DeadLetter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeadLetter")
            .field("recipient", &self.recipient)
            .field("recipient_name", &self.recipient_name)
            .field("message_type", &self.message_type)
            .field("reason", &self.reason)
            .field("has_message", &self.message.is_some())
            .finish()
    }
}

/// The dead-letter queue of an actor system.
///
/// It keeps the most recent dead letters (capacity set with
/// [`ActorSystemBuilder::dead_letter_capacity`](crate::ActorSystemBuilder::dead_letter_capacity))
/// and counts all of them. Every dead letter is also reported to the runtime observer and logged at
/// `debug` level.
#[derive(Clone)]
pub struct DeadLetters {
    inner: Arc<Inner>,
}

struct Inner {
    total: AtomicU64,
    capacity: usize,
    recent: Mutex<VecDeque<DeadLetter>>,
    observer: ObserverSlot,
    ask_timers: AskTimers,
}

impl fmt::Debug for DeadLetters {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeadLetters")
            .field("total", &self.total())
            .finish()
    }
}

impl DeadLetters {
    pub(crate) fn new(capacity: usize, observer: ObserverSlot) -> Self {
        Self {
            inner: Arc::new(Inner {
                total: AtomicU64::new(0),
                capacity,
                recent: Mutex::new(VecDeque::new()),
                observer,
                ask_timers: AskTimers::default(),
            }),
        }
    }

    /// The system's observer slot (dead letters are the one part every address holds).
    #[inline]
    pub(crate) fn observer(&self) -> &ObserverSlot {
        &self.inner.observer
    }

    /// The system's ask deadlines (kept here for the same reason as the observer).
    pub(crate) fn ask_timers(&self) -> &AskTimers {
        &self.inner.ask_timers
    }

    pub(crate) fn record(
        &self,
        recipient: ActorId,
        recipient_name: Option<Arc<str>>,
        message_type: &'static str,
        reason: DeadLetterReason,
        message: Option<Box<dyn Any + Send>>,
    ) {
        self.inner.total.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(%recipient, name = ?recipient_name, message_type, %reason, "dead letter");
        if let Some(obs) = self.inner.observer.get() {
            obs.on_event(&RuntimeEvent::DeadLetter {
                recipient,
                message_type,
                reason: &reason,
            });
        }
        if self.inner.capacity == 0 {
            return;
        }
        let letter = DeadLetter {
            recipient,
            recipient_name,
            message_type,
            reason,
            message,
            at: SystemTime::now(),
        };
        let mut recent = match self.inner.recent.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        if recent.len() == self.inner.capacity {
            recent.pop_front();
        }
        recent.push_back(letter);
    }

    /// How many dead letters there have been since the system started.
    #[must_use]
    pub fn total(&self) -> u64 {
        self.inner.total.load(Ordering::Relaxed)
    }

    /// How many of the kept dead letters were addressed to `actor`.
    #[must_use]
    pub fn count_for(&self, actor: ActorId) -> usize {
        self.with_recent(|r| r.iter().filter(|d| d.recipient == actor).count())
    }

    /// Removes and returns the kept dead letters, oldest first.
    #[must_use]
    pub fn drain(&self) -> Vec<DeadLetter> {
        self.with_recent(|r| r.drain(..).collect())
    }

    /// The reasons of the kept dead letters, oldest first (the letters stay in the queue).
    #[must_use]
    pub fn reasons(&self) -> Vec<(ActorId, DeadLetterReason)> {
        self.with_recent(|r| r.iter().map(|d| (d.recipient, d.reason.clone())).collect())
    }

    fn with_recent<T>(&self, f: impl FnOnce(&mut VecDeque<DeadLetter>) -> T) -> T {
        let mut recent = match self.inner.recent.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        f(&mut recent)
    }
}
