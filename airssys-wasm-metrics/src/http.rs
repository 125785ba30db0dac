//! The `/metrics` and `/health` HTTP routes.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::{HealthSource, Metrics};

/// The OpenMetrics text content type.
pub const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Clone)]
struct Endpoint {
    metrics: Metrics,
    health: Arc<dyn HealthSource>,
}

/// A router serving `GET /metrics` (OpenMetrics text) and `GET /health` (200 with a JSON body
/// when healthy; 503 with a JSON body naming the failed units otherwise). Merge it into a
/// larger router, or serve it alone.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use airssys_wasm_metrics::{BoxFuture, HealthReport, HealthSource, Metrics, router};
///
/// struct AlwaysHealthy;
/// impl HealthSource for AlwaysHealthy {
///     fn report(&self) -> BoxFuture<'_, HealthReport> {
///         Box::pin(async { HealthReport::default() })
///     }
/// }
///
/// let app: axum::Router = router(Metrics::new(), Arc::new(AlwaysHealthy));
/// # drop(app);
/// ```
pub fn router(metrics: Metrics, health: Arc<dyn HealthSource>) -> Router {
    Router::new()
        .route("/metrics", get(metrics_handler))
        .route("/health", get(health_handler))
        .with_state(Endpoint { metrics, health })
}

async fn metrics_handler(State(e): State<Endpoint>) -> Response {
    (
        [(header::CONTENT_TYPE, OPENMETRICS_CONTENT_TYPE)],
        e.metrics.encode(),
    )
        .into_response()
}

async fn health_handler(State(e): State<Endpoint>) -> Response {
    let report = e.health.report().await;
    let status = if report.is_healthy() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, axum::Json(report.to_json())).into_response()
}
