//! Requests through ingress reach the components and come back with their replies; the
//! metrics move as messages flow.

use super::support::{HostProcess, client, demo_manifest, post, sample, scrape, scrape_until};

#[tokio::test]
async fn requests_through_ingress_return_the_components_replies() {
    let host = HostProcess::start(&demo_manifest());
    let c = client();
    assert_eq!(
        post(&c, host.url("/components/echo"), "hello").await,
        (200, "hello".to_owned())
    );
    // shout upper-cases and asks exclaim, which appends "!".
    assert_eq!(
        post(&c, host.url("/components/shout"), "pipeline").await,
        (200, "PIPELINE!".to_owned())
    );
    assert_eq!(
        post(&c, host.url("/components/flaky"), "one").await,
        (200, "ok 1: one".to_owned())
    );
    // Publish reaches the subscribed counter.
    let (status, body) = post(&c, host.url("/topics/counter.events"), "inc").await;
    assert_eq!(status, 202, "{body}");
    let body: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["delivered"], 1);
    assert_eq!(
        post(&c, host.url("/components/counter"), "get").await,
        (200, "1".to_owned())
    );
    // A guest error value is a 422 naming it; an unknown component a 404 naming it.
    let (status, body) = post(&c, host.url("/components/counter"), "frobnicate").await;
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("\"kind\":\"guest\""), "{body}");
    let (status, body) = post(&c, host.url("/components/nope"), "x").await;
    assert_eq!(status, 404);
    assert!(body.contains("no component \\\"nope\\\""), "{body}");
}

#[tokio::test]
async fn metrics_parse_as_openmetrics_and_counters_move_as_messages_flow() {
    let host = HostProcess::start(&demo_manifest());
    let c = client();
    let before = scrape(&c, &host).await;
    assert_eq!(sample(&before, "airssys_wasm_components"), 5.0, "{before}");
    let handled_before = sample(&before, "airssys_rt_messages_total{outcome=\"ok\"}");
    for _ in 0..10 {
        assert_eq!(post(&c, host.url("/components/echo"), "x").await.0, 200);
    }
    // A crash forces a trap in flaky.
    assert_eq!(
        post(&c, host.url("/components/flaky"), "crash").await.0,
        500
    );
    // An error value from the guest: handled (counted ok by the runtime), no restart.
    assert_eq!(
        post(&c, host.url("/components/counter"), "frobnicate")
            .await
            .0,
        422
    );
    let after = scrape_until(&c, &host, |t| {
        sample(t, "airssys_rt_messages_total{outcome=\"ok\"}") - handled_before >= 11.0
    })
    .await;
    assert_eq!(
        sample(&before, "airssys_wasm_guest_errors_total"),
        0.0,
        "{before}"
    );
    assert_eq!(
        sample(&after, "airssys_wasm_guest_errors_total"),
        1.0,
        "{after}"
    );
    assert_eq!(
        sample(&after, "airssys_rt_messages_total{outcome=\"ok\"}") - handled_before,
        11.0,
        "{after}"
    );
    assert_eq!(
        sample(
            &after,
            "airssys_host_ingress_duration_seconds_count{outcome=\"ok\"}"
        ),
        10.0,
        "{after}"
    );
    assert_eq!(
        sample(&after, "airssys_wasm_failures_total{kind=\"trap\"}"),
        1.0,
        "{after}"
    );
    assert!(
        sample(
            &after,
            "airssys_rt_ask_duration_seconds_count{outcome=\"replied\"}"
        ) >= 11.0,
        "{after}"
    );
    // Five starts before any traffic; flaky's restart (after a 50 ms backoff) may add one.
    assert_eq!(
        sample(&before, "airssys_rt_spawn_duration_seconds_count"),
        5.0,
        "{before}"
    );
    assert!(
        sample(&after, "airssys_rt_spawn_duration_seconds_count") >= 5.0,
        "{after}"
    );
}
