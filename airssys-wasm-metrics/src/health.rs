//! Health reports: what `/health` answers.

use std::future::Future;
use std::pin::Pin;

use serde::Serialize;

/// The state of one supervised unit (a component, an actor, a supervisor).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum UnitState {
    /// Running.
    Running,
    /// Stopped for now and waiting out a restart backoff; its supervisor will start it again.
    Restarting,
    /// Stopped on purpose and not restarted (a `transient` or `temporary` component that
    /// finished normally). Not a failure.
    Stopped,
    /// Stopped for good: its supervisor gave up (restart intensity exhausted) or will not
    /// restart it.
    Failed,
}

/// The health of one unit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct UnitHealth {
    /// Its name (a component id).
    pub name: String,
    /// Its state.
    pub state: UnitState,
    /// How many times it was restarted.
    pub restarts: u32,
    /// Why it is not running, when it is not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl UnitHealth {
    /// A unit's health.
    #[must_use]
    pub fn new(name: impl Into<String>, state: UnitState, restarts: u32) -> Self {
        Self {
            name: name.into(),
            state,
            restarts,
            detail: None,
        }
    }

    /// Adds why it is not running.
    #[must_use]
    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }
}

/// The health of the whole process: healthy unless some unit has failed for good.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct HealthReport {
    /// Every unit, in a stable order.
    pub units: Vec<UnitHealth>,
}

impl HealthReport {
    /// A report over these units.
    #[must_use]
    pub fn new(units: Vec<UnitHealth>) -> Self {
        Self { units }
    }

    /// `true` when no unit is [`UnitState::Failed`].
    #[must_use]
    pub fn is_healthy(&self) -> bool {
        self.failed().next().is_none()
    }

    /// The units that failed for good.
    pub fn failed(&self) -> impl Iterator<Item = &UnitHealth> {
        self.units.iter().filter(|u| u.state == UnitState::Failed)
    }

    /// The JSON body of `/health`: `{"status": "healthy" | "unhealthy", "failed": [names],
    /// "components": [...]}`.
    #[must_use]
    pub fn to_json(&self) -> serde_json::Value {
        let failed: Vec<&str> = self.failed().map(|u| u.name.as_str()).collect();
        serde_json::json!({
            "status": if failed.is_empty() { "healthy" } else { "unhealthy" },
            "failed": failed,
            "components": self.units,
        })
    }
}

/// A boxed future, as returned by [`HealthSource::report`].
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Where `/health` gets its report (the host asks its supervisors).
pub trait HealthSource: Send + Sync + 'static {
    /// The current health.
    fn report(&self) -> BoxFuture<'_, HealthReport>;
}
