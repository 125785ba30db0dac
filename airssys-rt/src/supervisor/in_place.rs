//! Restart in place: a supervised actor that fails restarts itself in its own task, when the
//! supervisor would restart it at once and alone.
//!
//! A restart through the supervisor costs two task hops: the failed actor's task ends and wakes
//! the supervisor's task, which makes the fresh instance and spawns a new task for it. When the
//! supervisor's decision is known in advance — strategy [`OneForOne`](super::SupervisionStrategy),
//! [`Backoff::Immediate`](super::Backoff), a restart policy that restarts a failure — the actor's
//! task takes it itself: it checks and records the restart in the supervisor's intensity window
//! (one window, shared), makes the fresh instance with the child's factory, runs its
//! `pre_start` and goes on with the same mailbox. The supervisor's books (restart count, last
//! exit, attempt number) are the same [`ChildStats`] either way, and the same
//! [`RuntimeEvent::ChildRestarted`](crate::RuntimeEvent) is emitted.
//!
//! Everything else goes to the supervisor as before: a normal stop, an escalation, a stop or
//! drain already requested, a system shutting down, a full intensity window (the supervisor then
//! gives up, exactly as it would have), and a fresh instance whose factory or `pre_start` fails
//! (the supervisor counts that failure and restarts it by its own rules).

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::time::Instant;

use super::{RestartPolicy, RestartWindow, StopReason};
use crate::ActorSystem;
use crate::observer::RuntimeEvent;
use crate::signal::SignalLane;

/// A child's restart books, shared by its supervisor and (for a restart in place) its actor's
/// task.
pub(crate) struct ChildStats {
    inner: Mutex<StatsInner>,
}

pub(crate) struct StatsInner {
    /// Restarts in a row (reset when the child ran for a whole intensity window).
    pub(crate) attempts: u32,
    /// Restarts in all.
    pub(crate) restarts: u32,
    pub(crate) last_start: Instant,
    pub(crate) last_exit: Option<StopReason>,
}

impl ChildStats {
    pub(crate) fn new(now: Instant) -> Self {
        Self {
            inner: Mutex::new(StatsInner {
                attempts: 0,
                restarts: 0,
                last_start: now,
                last_exit: None,
            }),
        }
    }

    /// The books (a poisoned lock is taken over: they stay plain numbers).
    pub(crate) fn lock(&self) -> MutexGuard<'_, StatsInner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl StatsInner {
    /// Records an exit that is restarted now or later; returns the attempt number (0 for the
    /// first restart in a row).
    pub(crate) fn record_exit(
        &mut self,
        reason: &StopReason,
        now: Instant,
        within: std::time::Duration,
    ) -> u32 {
        self.last_exit = Some(reason.clone());
        if now.saturating_duration_since(self.last_start) >= within {
            self.attempts = 0;
        }
        let attempt = self.attempts;
        self.attempts = self.attempts.saturating_add(1);
        attempt
    }
}

/// The supervisor's leave for one child to restart itself in place (given only when the
/// supervisor would restart it at once and alone).
#[derive(Clone)]
pub(crate) struct InPlace {
    pub(crate) supervisor: Arc<str>,
    pub(crate) child: Arc<str>,
    pub(crate) policy: RestartPolicy,
    pub(crate) window: Arc<Mutex<RestartWindow>>,
    pub(crate) within: std::time::Duration,
    pub(crate) stats: Arc<ChildStats>,
}

impl std::fmt::Debug for InPlace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InPlace")
            .field("supervisor", &self.supervisor)
            .field("child", &self.child)
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl InPlace {
    /// Whether the actor that stopped for `reason` restarts itself now. If so, the restart is
    /// recorded (intensity window, attempt, last exit) and the attempt number is returned.
    pub(crate) fn admit(
        &self,
        reason: &StopReason,
        system: &ActorSystem,
        lane: &SignalLane,
    ) -> Option<u32> {
        // Only a failure of a handler: a stop (requested or the actor's own) and an escalation
        // are the supervisor's to handle. A pending health check stays on the lane and is
        // answered by the fresh instance.
        if !matches!(reason, StopReason::Failed(_) | StopReason::Panicked(_))
            || !self.policy.should_restart(reason)
            || system.is_shutting_down()
            || lane.stop_requested()
        {
            return None;
        }
        let now = Instant::now();
        {
            let mut window = self.window.lock().unwrap_or_else(PoisonError::into_inner);
            // A full window: the actor stops and the supervisor, recording the same exit,
            // gives up.
            if !window.record(now) {
                return None;
            }
        }
        // The supervisor's own event, under the supervisor's target: a log filter on
        // `airssys_rt::supervisor::node` sees a restart in place as it sees any other.
        tracing::warn!(
            target: "airssys_rt::supervisor::node",
            supervisor = %self.supervisor,
            child = %self.child,
            %reason,
            "child stopped"
        );
        Some(self.stats.lock().record_exit(reason, now, self.within))
    }

    /// Records a restart in place that succeeded (the fresh instance is started).
    pub(crate) fn restarted(&self, system: &ActorSystem, attempt: u32) {
        {
            let mut stats = self.stats.lock();
            stats.restarts = stats.restarts.saturating_add(1);
            stats.last_start = Instant::now();
        }
        if let Some(obs) = system.inner.observer.get() {
            obs.on_event(&RuntimeEvent::ChildRestarted {
                supervisor: &self.supervisor,
                child: &self.child,
                attempt: attempt.saturating_add(1),
                delay: std::time::Duration::ZERO,
            });
        }
    }
}
