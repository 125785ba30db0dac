//! The system-signal lane of an actor: stop, drain and health requests that never wait behind a
//! full mailbox.

use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use atomic_waker::AtomicWaker;
use tokio::sync::oneshot;
use tokio::time::Instant;

use crate::supervisor::ChildHealth;

pub(crate) const STOP: u8 = 1;
pub(crate) const DRAIN: u8 = 2;
pub(crate) const HEALTH: u8 = 4;

/// A few atomic bits and a waker: raising a stop never allocates and never blocks.
///
/// What only a drain or a health check needs lives in `cold`, allocated on the first such
/// request, so an actor that is never drained or health-checked does not carry it.
#[derive(Default)]
pub(crate) struct SignalLane {
    bits: AtomicU8,
    /// A top-level actor finished for good: its mailbox is closing (see `ActorSystem::finish_actor`).
    closed: AtomicBool,
    waker: AtomicWaker,
    cold: Mutex<Option<Box<Cold>>>,
}

#[derive(Default)]
struct Cold {
    drain_deadline: Option<Instant>,
    health: Vec<oneshot::Sender<ChildHealth>>,
}

impl SignalLane {
    pub(crate) fn raise(&self, bits: u8) {
        self.bits.fetch_or(bits, Ordering::AcqRel);
        self.waker.wake();
    }

    pub(crate) fn request_stop(&self) {
        self.raise(STOP);
    }

    fn cold(&self) -> MutexGuard<'_, Option<Box<Cold>>> {
        self.cold.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn request_drain(&self, deadline: Instant) {
        self.cold().get_or_insert_with(Box::default).drain_deadline = Some(deadline);
        self.raise(STOP | DRAIN);
    }

    pub(crate) fn drain_deadline(&self) -> Option<Instant> {
        self.cold().as_ref().and_then(|c| c.drain_deadline)
    }

    pub(crate) fn request_health(&self) -> oneshot::Receiver<ChildHealth> {
        let (tx, rx) = oneshot::channel();
        self.cold().get_or_insert_with(Box::default).health.push(tx);
        self.raise(HEALTH);
        rx
    }

    pub(crate) fn take_health_waiters(&self) -> Vec<oneshot::Sender<ChildHealth>> {
        self.cold()
            .as_mut()
            .map(|c| std::mem::take(&mut c.health))
            .unwrap_or_default()
    }

    /// Takes the pending signals (0 when none), cheap when none are pending.
    #[inline]
    pub(crate) fn take(&self) -> u8 {
        if self.bits.load(Ordering::Acquire) == 0 {
            0
        } else {
            self.bits.swap(0, Ordering::AcqRel)
        }
    }

    /// Marks the actor finished for good, before its mailbox closes.
    pub(crate) fn mark_closed(&self) {
        self.closed.store(true, Ordering::Release);
    }

    /// Whether [`mark_closed`](Self::mark_closed) was called.
    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Whether a stop (or drain) waits (without taking it).
    pub(crate) fn stop_requested(&self) -> bool {
        self.bits.load(Ordering::Acquire) & STOP != 0
    }

    /// Whether a signal waits (without taking it).
    pub(crate) fn has_pending(&self) -> bool {
        self.bits.load(Ordering::Acquire) != 0
    }

    pub(crate) fn register(&self, waker: &std::task::Waker) {
        self.waker.register(waker);
    }

    /// Forgets stale signals before a restart.
    pub(crate) fn reset(&self) {
        self.bits.store(0, Ordering::Release);
        if let Some(c) = self.cold().as_mut() {
            c.drain_deadline = None;
        }
    }
}
