//! The host's HTTP surface: ingress (request/response to a component, publish to a topic),
//! admin (status, upgrade; bearer token), and the `/metrics` and `/health` routes.
//!
//! | method and path | what |
//! |---|---|
//! | `POST /components/{id}` | the body is delivered to the component's `handle` as a request from `host`; its reply is the response body |
//! | `POST /topics/{topic}` | the body is published on the topic; the response says how many subscribers took it |
//! | `GET /metrics`, `GET /health` | OpenMetrics text; 200 / 503 with JSON |
//! | `GET /admin/status` | every component's state (token) |
//! | `POST /admin/components/{id}/upgrade` | hot upgrade to the component in the body, or `{"wasm": "path"}` (token) |

use std::sync::Arc;
use std::time::Instant;

use airssys_rt::{AskError, SendError};
use airssys_wasm::{ComponentError, ComponentMessage, RegistryError};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;

use crate::Host;
use crate::host::UpgradeError;

/// The largest component accepted by the upgrade endpoint.
const MAX_UPGRADE_BYTES: usize = 64 << 20;

#[derive(Clone)]
struct AppState {
    host: Host,
    token: Option<Arc<str>>,
}

/// The whole HTTP surface of `host`.
pub fn router(host: Host) -> Router {
    let token = host
        .manifest()
        .host
        .admin_token
        .as_deref()
        .map(Arc::<str>::from);
    let state = AppState {
        host: host.clone(),
        token,
    };
    let admin = Router::new()
        .route("/admin/status", get(status))
        .route("/admin/components/{id}/upgrade", post(upgrade))
        .layer(DefaultBodyLimit::max(MAX_UPGRADE_BYTES))
        .route_layer(middleware::from_fn_with_state(state.clone(), require_token));
    Router::new()
        .route("/components/{id}", post(ingress))
        .route("/topics/{*topic}", post(publish))
        .merge(admin)
        .with_state(state)
        .merge(airssys_wasm_metrics::router(
            host.metrics().clone(),
            Arc::new(host),
        ))
}

fn error(status: StatusCode, kind: &str, message: impl std::fmt::Display) -> Response {
    (
        status,
        axum::Json(json!({ "error": message.to_string(), "kind": kind })),
    )
        .into_response()
}

async fn ingress(State(s): State<AppState>, Path(id): Path<String>, body: Bytes) -> Response {
    let started = Instant::now();
    let (outcome, response) = ingress_inner(&s.host, &id, body).await;
    s.host.metrics().ingress(outcome, started.elapsed());
    response
}

async fn ingress_inner(host: &Host, id: &str, body: Bytes) -> (&'static str, Response) {
    let Some(actor) = host.lookup(id).await else {
        return (
            "not_found",
            error(
                StatusCode::NOT_FOUND,
                "not_found",
                format!("no component {id:?}"),
            ),
        );
    };
    let timeout = host.manifest().host.request_timeout;
    let msg = ComponentMessage::deliver("host", body.to_vec());
    match actor.ask(msg, timeout).await {
        Ok(Ok(Some(reply))) => (
            "ok",
            ([(header::CONTENT_TYPE, "application/octet-stream")], reply).into_response(),
        ),
        Ok(Ok(None)) => ("ok", StatusCode::NO_CONTENT.into_response()),
        Ok(Err(ComponentError::Guest(text))) => (
            "guest_error",
            error(StatusCode::UNPROCESSABLE_ENTITY, "guest", text),
        ),
        Ok(Err(e @ ComponentError::NotRunning)) => (
            "unavailable",
            error(StatusCode::SERVICE_UNAVAILABLE, "not_running", e),
        ),
        Ok(Err(e)) => (
            "failed",
            error(StatusCode::INTERNAL_SERVER_ERROR, failure_kind(&e), e),
        ),
        Err(AskError::Timeout) => (
            "timeout",
            error(
                StatusCode::GATEWAY_TIMEOUT,
                "timeout",
                format!("no reply from {id:?} within {timeout:?}"),
            ),
        ),
        Err(AskError::Send(SendError::Full(_))) => (
            "busy",
            (
                [(header::RETRY_AFTER, "1")],
                error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "mailbox_full",
                    format!("the mailbox of {id:?} is full"),
                ),
            )
                .into_response(),
        ),
        Err(e) => (
            "unavailable",
            error(StatusCode::SERVICE_UNAVAILABLE, "unavailable", e),
        ),
    }
}

fn failure_kind(e: &ComponentError) -> &'static str {
    airssys_wasm::FailureKind::of(e).map_or("failed", airssys_wasm::FailureKind::as_str)
}

async fn publish(State(s): State<AppState>, Path(topic): Path<String>, body: Bytes) -> Response {
    let started = Instant::now();
    let msg = ComponentMessage::published("host", topic.as_str(), body.to_vec());
    let (outcome, response) = match s.host.publish(&topic, msg).await {
        Ok(report) => (
            "published",
            (
                StatusCode::ACCEPTED,
                axum::Json(json!({ "topic": topic, "delivered": report.delivered, "dropped": report.dropped })),
            )
                .into_response(),
        ),
        Err(e) => ("bad_request", error(StatusCode::BAD_REQUEST, "invalid", e)),
    };
    s.host.metrics().ingress(outcome, started.elapsed());
    response
}

/// Compares in time independent of where the strings differ.
fn same_token(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn require_token(
    State(s): State<AppState>,
    headers: HeaderMap,
    request: axum::extract::Request,
    next: Next,
) -> Response {
    let Some(expected) = &s.token else {
        return error(
            StatusCode::FORBIDDEN,
            "admin_disabled",
            "admin endpoints are disabled: set host.admin_token in the manifest or AIRSSYS_ADMIN_TOKEN",
        );
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    match given {
        Some(t) if same_token(t.trim().as_bytes(), expected.as_bytes()) => next.run(request).await,
        Some(_) => (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            axum::Json(json!({ "error": "wrong bearer token", "kind": "unauthorized" })),
        )
            .into_response(),
        None => (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            axum::Json(json!({ "error": "missing `Authorization: Bearer <token>`", "kind": "unauthorized" })),
        )
            .into_response(),
    }
}

async fn status(State(s): State<AppState>) -> Response {
    axum::Json(json!({ "components": s.host.status().await })).into_response()
}

async fn upgrade(
    State(s): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let bytes = if is_json {
        let path = serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v.get("wasm").and_then(|w| w.as_str()).map(str::to_owned));
        let Some(path) = path else {
            return error(
                StatusCode::BAD_REQUEST,
                "invalid",
                "expected a JSON body {\"wasm\": \"/path/to/component.wasm\"} or the component bytes",
            );
        };
        match tokio::fs::read(&path).await {
            Ok(b) => b,
            Err(e) => {
                return error(
                    StatusCode::BAD_REQUEST,
                    "invalid",
                    format!("cannot read {path}: {e}"),
                );
            }
        }
    } else {
        body.to_vec()
    };
    match s.host.upgrade(&id, bytes).await {
        Ok(digest) => axum::Json(json!({ "component": id, "upgraded": true, "digest": digest }))
            .into_response(),
        Err(UpgradeError::Load(e)) => error(
            StatusCode::BAD_REQUEST,
            "load",
            format!("the new version cannot be loaded: {e}"),
        ),
        Err(UpgradeError::Registry(RegistryError::Unknown(_))) => error(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no component {id:?}"),
        ),
        Err(UpgradeError::Registry(e @ RegistryError::NotRunning(_))) => {
            error(StatusCode::SERVICE_UNAVAILABLE, "not_running", e)
        }
        Err(e) => error(StatusCode::CONFLICT, "rolled_back", e),
    }
}

#[cfg(test)]
mod tests {
    use super::same_token;

    #[test]
    fn tokens_compare_whole() {
        assert!(same_token(b"secret", b"secret"));
        assert!(!same_token(b"secret", b"secreT"));
        assert!(!same_token(b"secret", b"secret2"));
        assert!(!same_token(b"", b"x"));
    }
}
