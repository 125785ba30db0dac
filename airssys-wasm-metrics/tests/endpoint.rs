//! `/metrics` and `/health` over real HTTP, with the metrics fed by a real actor system.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use airssys_rt::{Actor, ActorContext, ActorSystem, Message, MessageBroker};
use airssys_wasm_metrics::{
    BoxFuture, HealthReport, HealthSource, Metrics, UnitHealth, UnitState, router,
};

struct Echo;
struct Ping(u32);
impl Message for Ping {
    type Reply = u32;
}

impl Actor for Echo {
    type Message = Ping;
    type Error = Infallible;
    async fn handle_message<B: MessageBroker<Ping>>(
        &mut self,
        Ping(n): Ping,
        ctx: &mut ActorContext<Ping, B>,
    ) -> Result<(), Infallible> {
        ctx.reply(n);
        Ok(())
    }
}

/// A health source whose report the test sets.
#[derive(Default)]
struct Scripted(Mutex<HealthReport>);

impl HealthSource for Scripted {
    fn report(&self) -> BoxFuture<'_, HealthReport> {
        let r = self.0.lock().unwrap().clone();
        Box::pin(async move { r })
    }
}

async fn serve(metrics: Metrics, health: Arc<Scripted>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, router(metrics, health))
            .await
            .unwrap();
    });
    format!("http://{addr}")
}

/// The value of the sample `line_prefix` (the part before the value) in `text`.
fn sample(text: &str, line_prefix: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(line_prefix)?.trim().parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_move_as_messages_flow_and_parse_as_openmetrics() {
    let metrics = Metrics::new();
    let system = ActorSystem::builder()
        .observer(Arc::new(metrics.clone()))
        .build();
    let base = serve(metrics.clone(), Arc::default()).await;
    let client = reqwest::Client::new();

    let before = client.get(format!("{base}/metrics")).send().await.unwrap();
    assert_eq!(before.status(), 200);
    assert!(
        before.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/openmetrics-text")
    );
    let before = before.text().await.unwrap();
    let parsed = openmetrics_parser::openmetrics::parse_openmetrics(&before);
    assert!(
        parsed.is_ok(),
        "does not parse as OpenMetrics: {parsed:?}\n{before}"
    );
    assert!(before.ends_with("# EOF\n"));

    let echo = system.spawn(Echo).await.unwrap();
    for n in 0..5 {
        assert_eq!(echo.ask(Ping(n), Duration::from_secs(5)).await.unwrap(), n);
    }
    // A message is counted when its handler returns, after the reply went out: scrape until
    // the fifth shows up (bounded), then check everything on that text.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let after = loop {
        let response = client.get(format!("{base}/metrics")).send().await.unwrap();
        let text = response.text().await.unwrap();
        if sample(&text, "airssys_rt_messages_total{outcome=\"ok\"}") == Some(5.0)
            || std::time::Instant::now() >= deadline
        {
            break text;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    let exposition = openmetrics_parser::openmetrics::parse_openmetrics(&after)
        .unwrap_or_else(|e| panic!("does not parse as OpenMetrics: {e:?}\n{after}"));
    assert!(exposition.families.contains_key("airssys_rt_messages"));
    assert_eq!(
        sample(&after, "airssys_rt_messages_total{outcome=\"ok\"}"),
        Some(5.0),
        "{after}"
    );
    assert_eq!(sample(&after, "airssys_rt_actors"), Some(1.0), "{after}");
    assert_eq!(
        sample(
            &after,
            "airssys_rt_ask_duration_seconds_count{outcome=\"replied\"}"
        ),
        Some(5.0),
        "{after}"
    );
    assert_eq!(
        sample(&after, "airssys_rt_spawn_duration_seconds_count"),
        Some(1.0),
        "{after}"
    );
    system.shutdown().await;
    assert_eq!(metrics.actors(), 0);
}

#[tokio::test]
async fn health_is_200_until_a_unit_fails_then_503_naming_it() {
    let health = Arc::new(Scripted::default());
    *health.0.lock().unwrap() = HealthReport::new(vec![
        UnitHealth::new("echo", UnitState::Running, 0),
        UnitHealth::new("flaky", UnitState::Restarting, 2),
    ]);
    let base = serve(Metrics::new(), Arc::clone(&health)).await;
    let client = reqwest::Client::new();
    let ok = client.get(format!("{base}/health")).send().await.unwrap();
    assert_eq!(ok.status(), 200);
    let body: serde_json::Value = serde_json::from_str(&ok.text().await.unwrap()).unwrap();
    assert_eq!(body["status"], "healthy");
    assert_eq!(body["components"][1]["state"], "restarting");

    *health.0.lock().unwrap() = HealthReport::new(vec![
        UnitHealth::new("echo", UnitState::Running, 0),
        UnitHealth::new("flaky", UnitState::Failed, 3).detail("restart intensity exhausted"),
    ]);
    let bad = client.get(format!("{base}/health")).send().await.unwrap();
    assert_eq!(bad.status(), 503);
    let body: serde_json::Value = serde_json::from_str(&bad.text().await.unwrap()).unwrap();
    assert_eq!(body["status"], "unhealthy");
    assert_eq!(body["failed"], serde_json::json!(["flaky"]));
    assert_eq!(
        body["components"][1]["detail"],
        "restart intensity exhausted"
    );
}

#[test]
fn component_metrics_have_bounded_labels() {
    let m = Metrics::new();
    m.component_started();
    m.component_failed("trap");
    m.component_failed("deadline");
    m.component_stopped();
    m.capability_denied("net.connect");
    m.upgrade(false);
    let fresh = m.encode();
    assert_eq!(
        sample(&fresh, "airssys_wasm_guest_errors_total"),
        Some(0.0),
        "{fresh}"
    );
    m.guest_error();
    m.guest_error();
    let text = m.encode();
    assert_eq!(
        sample(&text, "airssys_wasm_guest_errors_total"),
        Some(2.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, "airssys_wasm_components"),
        Some(0.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, "airssys_wasm_failures_total{kind=\"trap\"}"),
        Some(1.0)
    );
    assert_eq!(
        sample(&text, "airssys_wasm_failures_total{kind=\"deadline\"}"),
        Some(1.0)
    );
    assert_eq!(
        sample(
            &text,
            "airssys_wasm_capability_denials_total{operation=\"net.connect\"}"
        ),
        Some(1.0)
    );
    assert_eq!(
        sample(
            &text,
            "airssys_wasm_upgrades_total{outcome=\"rolled_back\"}"
        ),
        Some(1.0)
    );
}

/// Every metric the Grafana dashboard and the metrics reference name is one this crate exports.
#[test]
fn dashboard_and_reference_name_only_exported_metrics() {
    let text = Metrics::new().encode();
    // At run time first: a test binary built in another checkout sharing the target directory.
    let root = std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(
            || env!("CARGO_MANIFEST_DIR").into(),
            std::path::PathBuf::from,
        )
        .join("..");
    for doc in ["docs/grafana/airssys.json", "docs/reference/metrics.md"] {
        let body = std::fs::read_to_string(root.join(doc)).unwrap();
        let mut names: Vec<&str> = body
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .filter(|w| w.starts_with("airssys_") && w.len() > "airssys_".len())
            .collect();
        names.sort_unstable();
        names.dedup();
        assert!(names.len() >= 10, "{doc}: {names:?}");
        for name in names {
            let family = ["_bucket", "_count", "_sum", "_total"]
                .iter()
                .find_map(|s| name.strip_suffix(s))
                .unwrap_or(name);
            assert!(
                text.contains(&format!("# TYPE {family} ")),
                "{doc} names {name}, which is not exported"
            );
        }
    }
}
