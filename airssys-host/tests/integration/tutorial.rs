//! The tutorial (docs/tutorials/first-component.md) beyond its code blocks, which `docs.rs`
//! runs verbatim: the claims of its prose (the restart count starts again, four crashes in ten
//! seconds make the supervisor give up, `/health` turns 503 and requests get 404).

use std::time::Duration;

use super::support::{HostProcess, client, eventually, post, sample, scrape_until};

fn tutorial_manifest() -> std::path::PathBuf {
    super::support::workspace_root().join("examples/host/tutorial.toml")
}

#[tokio::test]
async fn tutorial_steps_give_the_outputs_the_tutorial_shows() {
    let host = HostProcess::start(&tutorial_manifest());
    let out = host.stdout();
    assert!(
        out.iter()
            .any(|l| l.starts_with("airssys: 1 component(s) running under 1 supervisor(s)")),
        "{out:?}"
    );
    let c = client();
    let url = host.url("/components/greeter");
    assert_eq!(
        post(&c, url.clone(), "world").await,
        (200, "hello, world (greeting #1)".to_owned())
    );
    assert_eq!(
        post(&c, url.clone(), "again").await,
        (200, "hello, again (greeting #2)".to_owned())
    );
    assert_eq!(
        post(&c, url.clone(), "crash").await,
        (
            500,
            r#"{"error":"the component trapped: wasm trap: wasm `unreachable` instruction executed","kind":"trap"}"#
                .to_owned()
        )
    );
    assert_eq!(
        post(&c, url.clone(), "world").await,
        (200, "hello, world (greeting #1)".to_owned())
    );
    let health = c
        .get(host.url("/health"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(
        health,
        r#"{"components":[{"name":"greeter","restarts":1,"state":"running"}],"failed":[],"status":"healthy"}"#
    );
    let metrics = scrape_until(&c, &host, |t| {
        sample(t, "airssys_rt_messages_total{outcome=\"ok\"}") >= 3.0
    })
    .await;
    assert_eq!(
        sample(&metrics, "airssys_rt_messages_total{outcome=\"error\"}"),
        1.0
    );
    assert_eq!(
        sample(&metrics, "airssys_rt_messages_total{outcome=\"ok\"}"),
        3.0
    );
    assert_eq!(sample(&metrics, "airssys_rt_restarts_total"), 1.0);
    assert_eq!(
        sample(&metrics, "airssys_wasm_failures_total{kind=\"trap\"}"),
        1.0
    );

    // "Crash it four times within ten seconds and the supervisor gives up."
    for _ in 0..4 {
        let _ = post(&c, url.clone(), "crash").await;
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let body = eventually(Duration::from_secs(10), || async {
        let r = c.get(host.url("/health")).send().await.ok()?;
        (r.status() == 503).then_some(())?;
        r.text().await.ok()
    })
    .await
    .expect("/health did not turn 503");
    assert!(body.contains(r#""failed":["greeter"]"#), "{body}");
    assert_eq!(post(&c, url, "world").await.0, 404);
}
