#![doc = include_str!("../README.md")]

mod health;
mod http;
mod metrics;

pub use health::{BoxFuture, HealthReport, HealthSource, UnitHealth, UnitState};
pub use http::{OPENMETRICS_CONTENT_TYPE, router};
pub use metrics::{INGRESS_OUTCOMES, Metrics};
