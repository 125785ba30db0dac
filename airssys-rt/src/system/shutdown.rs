//! Graceful shutdown: drain mailboxes, stop in reverse start order, report what happened.

use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::time::Instant;

use super::{ActorSystem, TopLevel};
use crate::time::deadline_after;

/// How long a graceful shutdown may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
#[must_use]
pub struct ShutdownOptions {
    /// The time budget for draining all mailboxes (default 10 s).
    pub drain_timeout: Duration,
    /// The longest one actor may take to drain and stop before it is killed (default 5 s).
    pub per_actor_timeout: Duration,
}

impl Default for ShutdownOptions {
    fn default() -> Self {
        Self {
            drain_timeout: Duration::from_secs(10),
            per_actor_timeout: Duration::from_secs(5),
        }
    }
}

impl ShutdownOptions {
    /// Sets the drain budget.
    pub fn drain_timeout(mut self, d: Duration) -> Self {
        self.drain_timeout = d;
        self
    }

    /// Sets the per-actor stop timeout.
    pub fn per_actor_timeout(mut self, d: Duration) -> Self {
        self.per_actor_timeout = d;
        self
    }
}

/// What a graceful shutdown did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ShutdownReport {
    /// Messages handled after the shutdown began (mailboxes drained).
    pub drained: u64,
    /// Messages that went to the dead-letter queue during the shutdown (not drained in time).
    pub dead_lettered: u64,
    /// Actors and supervisors that did not stop in time and were killed.
    pub timed_out: Vec<String>,
    /// Top-level actors and supervisors the shutdown stopped (a root supervisor that had
    /// already stopped is not counted).
    pub stopped: usize,
    /// How long the shutdown took.
    pub elapsed: Duration,
}

impl ActorSystem {
    /// Shuts down gracefully with the default options (10 s drain, 5 s per actor).
    ///
    /// Top-level actors and supervisors stop in reverse start order; each drains its mailbox
    /// first. Returns promptly when actors are idle. New spawns fail from the moment it begins.
    pub async fn shutdown(&self) -> ShutdownReport {
        self.shutdown_with(ShutdownOptions::default()).await
    }

    /// Shuts down gracefully with the given limits.
    pub async fn shutdown_with(&self, options: ShutdownOptions) -> ShutdownReport {
        let started = Instant::now();
        self.inner.shutting_down.store(true, Ordering::Release);
        let dead_before = self.inner.dead_letters.total();
        let drained_before = self.inner.drained.load(Ordering::Relaxed);
        let deadline = deadline_after(started, options.drain_timeout);
        let per = options.per_actor_timeout;

        let mut ids: Vec<_> = self.inner.top.iter().map(|e| *e.key()).collect();
        ids.sort_unstable_by(|a, b| b.cmp(a));
        let mut stopped = 0;
        for id in ids {
            let Some((_, entry)) = self.inner.top.remove(&id) else {
                continue;
            };
            // An actor or root supervisor that already stopped (it has not left the table yet)
            // is finalized but not counted: the report counts what the shutdown stopped.
            if !entry.is_stopped() {
                stopped += 1;
            }
            let now = Instant::now();
            // Leave a tenth of the per-actor budget for post_stop.
            let drain_until = deadline
                .min(deadline_after(now, per.saturating_sub(per / 10)))
                .max(now);
            match entry {
                TopLevel::Actor {
                    name,
                    lane,
                    mut task,
                } => {
                    // Wakes an actor that had no task yet: its task starts and drains.
                    lane.request_drain(drain_until);
                    let Some(join) = task.join_handle() else {
                        continue;
                    };
                    if tokio::time::timeout(per, &mut *join).await.is_err() {
                        join.abort();
                        let _ = join.await;
                        let label = name.map_or_else(|| id.to_string(), |n| n.to_string());
                        self.record_timed_out(label);
                    }
                }
                TopLevel::Supervisor(handle) => {
                    handle.shutdown(self, drain_until, per).await;
                }
            }
        }
        let timed_out = self
            .inner
            .timed_out
            .lock()
            .map(|mut t| std::mem::take(&mut *t))
            .unwrap_or_default();
        ShutdownReport {
            drained: self.inner.drained.load(Ordering::Relaxed) - drained_before,
            dead_lettered: self.inner.dead_letters.total() - dead_before,
            timed_out,
            stopped,
            elapsed: started.elapsed(),
        }
    }
}
