//! A thousand live components on one node, each answering a request.

use std::time::Duration;

use airssys_rt::{RestartIntensity, SupervisorNode};
use airssys_wasm::{ComponentMessage, ComponentSpec};

use super::support::{ask_text, engine, load, system};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_thousand_live_components_each_answer_a_request() {
    const N: usize = 1_000;
    let engine = engine(N as u32 + 8);
    let echo = load(&engine, "echo");
    let system = system();
    let mut builder = SupervisorNode::builder("fleet")
        .intensity(RestartIntensity::new(10, Duration::from_secs(60)));
    for i in 0..N {
        builder = builder.child(ComponentSpec::new(format!("echo-{i}"), echo.clone()).child_spec());
    }
    let fleet = system.start_supervisor(builder.build()).await.unwrap();
    assert_eq!(fleet.children().await.unwrap().len(), N);

    let mut asks = tokio::task::JoinSet::new();
    for i in 0..N {
        let actor = system
            .lookup::<ComponentMessage>(&format!("echo-{i}"))
            .unwrap();
        asks.spawn(async move { (i, ask_text(&actor, &format!("hello {i}")).await) });
    }
    let mut answered = 0;
    while let Some(joined) = asks.join_next().await {
        let (i, reply) = joined.unwrap();
        assert_eq!(reply.unwrap(), format!("hello {i}"));
        answered += 1;
    }
    assert_eq!(answered, N);
    let report = system.shutdown().await;
    assert!(report.timed_out.is_empty());
}
