//! The system-signal lane of an actor: stop, drain and health requests that never wait behind a
//! full mailbox.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU8, Ordering};

use atomic_waker::AtomicWaker;
use tokio::sync::oneshot;
use tokio::time::Instant;

use crate::supervisor::ChildHealth;

pub(crate) const STOP: u8 = 1;
pub(crate) const DRAIN: u8 = 2;
pub(crate) const HEALTH: u8 = 4;

/// A few atomic bits and a waker: raising a signal never allocates and never blocks.
#[derive(Default)]
pub(crate) struct SignalLane {
    bits: AtomicU8,
    waker: AtomicWaker,
    drain_deadline: Mutex<Option<Instant>>,
    health: Mutex<Vec<oneshot::Sender<ChildHealth>>>,
}

impl SignalLane {
    pub(crate) fn raise(&self, bits: u8) {
        self.bits.fetch_or(bits, Ordering::AcqRel);
        self.waker.wake();
    }

    pub(crate) fn request_stop(&self) {
        self.raise(STOP);
    }

    pub(crate) fn request_drain(&self, deadline: Instant) {
        if let Ok(mut d) = self.drain_deadline.lock() {
            *d = Some(deadline);
        }
        self.raise(STOP | DRAIN);
    }

    pub(crate) fn drain_deadline(&self) -> Option<Instant> {
        self.drain_deadline.lock().ok().and_then(|d| *d)
    }

    pub(crate) fn request_health(&self) -> oneshot::Receiver<ChildHealth> {
        let (tx, rx) = oneshot::channel();
        if let Ok(mut h) = self.health.lock() {
            h.push(tx);
        }
        self.raise(HEALTH);
        rx
    }

    pub(crate) fn take_health_waiters(&self) -> Vec<oneshot::Sender<ChildHealth>> {
        self.health
            .lock()
            .map(|mut h| std::mem::take(&mut *h))
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

    pub(crate) fn register(&self, waker: &std::task::Waker) {
        self.waker.register(waker);
    }

    /// Forgets stale signals before a restart.
    pub(crate) fn reset(&self) {
        self.bits.store(0, Ordering::Release);
        if let Ok(mut d) = self.drain_deadline.lock() {
            *d = None;
        }
    }
}
