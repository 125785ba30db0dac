//! Supervision: [`SupervisorNode`] trees that restart what fails, OTP style.
//!
//! # What happens to messages on a restart
//!
//! A supervised actor keeps its mailbox across restarts: its [`ActorRef`](crate::ActorRef) stays
//! valid and every message queued when it failed (or sent while it waits out its backoff) is
//! handled by the fresh instance. The message in flight when the handler failed is dead-lettered
//! with the error ([`DeadLetterReason::Failed`](crate::DeadLetterReason::Failed) or
//! [`Panicked`](crate::DeadLetterReason::Panicked)). When a child is finally removed (not
//! restarted, or its supervisor stops), its queue is dead-lettered with
//! [`DeadLetterReason::Stopped`](crate::DeadLetterReason::Stopped).
//!
//! # Where a restart runs
//!
//! A restart the supervisor would make at once and alone — strategy
//! [`SupervisionStrategy::OneForOne`], [`Backoff::Immediate`], a [`RestartPolicy`] that restarts
//! the failure — is made by the failed actor's own task: the fresh instance's `pre_start` and
//! handlers run there, with no hop through the supervisor's task. It counts in the same restart
//! intensity, shows in [`SupervisorRef::children`] and emits the same
//! [`RuntimeEvent::ChildRestarted`](crate::RuntimeEvent::ChildRestarted). Every other restart
//! (a backoff delay, a group strategy, a failed restart in place) goes through the supervisor.

mod actor_child;
mod backoff;
mod child;
mod in_place;
mod node;

use std::fmt;
use std::time::Duration;

pub use actor_child::ActorChild;
pub use backoff::Backoff;
pub(crate) use backoff::RestartWindow;
pub use child::{Child, ChildContext, ChildSpec, ExitNotifier};
pub(crate) use node::SupervisorHandle;
pub use node::{ChildStatus, SupervisorBuilder, SupervisorNode, SupervisorRef};

/// Why an actor or child stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StopReason {
    /// Stopped on request or by its own decision ([`ErrorAction::Stop`](crate::ErrorAction::Stop)).
    Normal,
    /// Stopped as part of a graceful system shutdown.
    Shutdown,
    /// A handler (or `pre_start`) returned this error and the actor chose to restart.
    Failed(String),
    /// A handler panicked with this message.
    Panicked(String),
    /// The actor escalated this error to its supervisor's parent.
    Escalated(String),
    /// The child reported [`ChildHealth::Failed`] to a health check, or did not answer one.
    HealthCheckFailed(String),
    /// The child did not stop within its timeout and was killed.
    Killed,
}

impl StopReason {
    /// `true` for every reason but `Normal` and `Shutdown`: a `Transient` child is restarted
    /// only after an abnormal stop.
    #[must_use]
    pub fn is_abnormal(&self) -> bool {
        !matches!(self, Self::Normal | Self::Shutdown)
    }
}

impl fmt::Display for StopReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Normal => f.write_str("stopped normally"),
            Self::Shutdown => f.write_str("stopped by shutdown"),
            Self::Failed(e) => write!(f, "failed: {e}"),
            Self::Panicked(p) => write!(f, "panicked: {p}"),
            Self::Escalated(e) => write!(f, "escalated: {e}"),
            Self::HealthCheckFailed(r) => write!(f, "health check failed: {r}"),
            Self::Killed => f.write_str("killed after its stop timeout"),
        }
    }
}

/// The answer to a health check.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChildHealth {
    /// Working.
    Healthy,
    /// Working, but not as it should (logged, no action).
    Degraded(String),
    /// Not working: the supervisor restarts it.
    Failed(String),
}

/// When a supervisor restarts a child that stopped (OTP restart types).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum RestartPolicy {
    /// Always restarted.
    #[default]
    Permanent,
    /// Restarted only after an abnormal stop ([`StopReason::is_abnormal`]).
    Transient,
    /// Never restarted.
    Temporary,
}

impl RestartPolicy {
    /// Whether a child with this policy is restarted after stopping for `reason`.
    #[must_use]
    pub fn should_restart(self, reason: &StopReason) -> bool {
        match self {
            Self::Permanent => true,
            Self::Transient => reason.is_abnormal(),
            Self::Temporary => false,
        }
    }
}

/// Which children are restarted when one fails (OTP strategies).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum SupervisionStrategy {
    /// Only the failed child.
    #[default]
    OneForOne,
    /// Every child: the others are stopped (reverse order) and all restarted (start order).
    OneForAll,
    /// The failed child and every child started after it.
    RestForOne,
}

/// How many restarts a supervisor allows within a window before it gives up and escalates to
/// its parent (the circuit opens).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct RestartIntensity {
    /// Restarts allowed within the window.
    pub max_restarts: u32,
    /// The sliding window.
    pub within: Duration,
}

impl RestartIntensity {
    /// At most `max_restarts` restarts within `within`.
    #[must_use]
    pub fn new(max_restarts: u32, within: Duration) -> Self {
        Self {
            max_restarts,
            within,
        }
    }
}

impl Default for RestartIntensity {
    /// 3 restarts within 5 seconds.
    fn default() -> Self {
        Self::new(3, Duration::from_secs(5))
    }
}
