//! Components and native actors message each other through the same system: by name, by
//! topic, and with ask.

use std::sync::{Arc, Mutex};

use airssys_rt::{Actor, ActorContext, ActorSystem, MessageBroker, SupervisorNode};
use airssys_wasm::{ComponentMessage, ComponentSpec};
use airssys_wasm_security::CapabilitySet;

use super::support::{SEC, engine, eventually, load, system};

/// A native actor that speaks the component message type.
struct Collector(Arc<Mutex<Vec<(String, String)>>>);

impl Actor for Collector {
    type Message = ComponentMessage;
    type Error = std::convert::Infallible;

    async fn handle_message<B: MessageBroker<ComponentMessage>>(
        &mut self,
        msg: ComponentMessage,
        _ctx: &mut ActorContext<ComponentMessage, B>,
    ) -> Result<(), Self::Error> {
        if let ComponentMessage::Deliver(env) = msg {
            let text = String::from_utf8_lossy(&env.payload).into_owned();
            self.0.lock().unwrap().push((env.sender, text));
        }
        Ok(())
    }
}

fn stage(engine: &airssys_wasm::WasmEngine, name: &str, config: &str, next: &str) -> ComponentSpec {
    ComponentSpec::new(name, load(engine, "pipeline-stage"))
        .config(config.as_bytes().to_vec())
        .capabilities(CapabilitySet::builder().send_to(next).build().unwrap())
}

async fn with_collector() -> (ActorSystem, Arc<Mutex<Vec<(String, String)>>>) {
    let system = system();
    let seen = Arc::new(Mutex::new(Vec::new()));
    system
        .spawn_named("collector", Collector(Arc::clone(&seen)))
        .await
        .unwrap();
    (system, seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_component_pipeline_delivers_to_a_native_actor() {
    let engine = engine(16);
    let (system, seen) = with_collector().await;
    system
        .start_supervisor(
            SupervisorNode::builder("pipeline")
                .child(
                    stage(
                        &engine,
                        "stage-b",
                        "op=suffix:!;next=collector",
                        "collector",
                    )
                    .child_spec(),
                )
                .child(stage(&engine, "stage-a", "op=upper;next=stage-b", "stage-b").child_spec())
                .build(),
        )
        .await
        .unwrap();
    let a = system.lookup::<ComponentMessage>("stage-a").unwrap();
    // Native → component with ask: the stage replies with what it forwarded.
    let reply = a
        .ask(
            ComponentMessage::deliver("host", b"hello".to_vec()),
            SEC * 5,
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(reply.as_deref(), Some(&b"HELLO"[..]));
    eventually(|| !seen.lock().unwrap().is_empty()).await;
    assert_eq!(
        *seen.lock().unwrap(),
        [("stage-b".to_owned(), "HELLO!".to_owned())]
    );
    system.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_component_subscribed_to_a_topic_receives_what_a_native_actor_publishes() {
    let engine = engine(16);
    let (system, seen) = with_collector().await;
    let spec = ComponentSpec::new("listener", load(&engine, "pipeline-stage"))
        .config(b"op=reverse;next=collector".to_vec())
        .capabilities(
            CapabilitySet::builder()
                .send_to("collector")
                .subscribe("alerts.*")
                .build()
                .unwrap(),
        )
        .subscribe("alerts.disk");
    system
        .start_supervisor(
            SupervisorNode::builder("subs")
                .child(spec.child_spec())
                .build(),
        )
        .await
        .unwrap();
    let report = system
        .broker::<ComponentMessage>()
        .publish(
            "alerts.disk",
            ComponentMessage::published("host", "alerts.disk", b"full".to_vec()),
        )
        .await
        .unwrap();
    assert_eq!(report.delivered, 1);
    eventually(|| !seen.lock().unwrap().is_empty()).await;
    assert_eq!(
        *seen.lock().unwrap(),
        [("listener".to_owned(), "lluf".to_owned())]
    );
    system.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscription_without_a_grant_fails_the_start_with_a_clear_error() {
    let engine = engine(16);
    let system = system();
    let spec = ComponentSpec::new("nosy", load(&engine, "echo")).subscribe("secrets.>");
    let err = system
        .start_supervisor(
            SupervisorNode::builder("s")
                .child(spec.child_spec())
                .build(),
        )
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("subscription to \"secrets.>\" denied"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sending_without_a_grant_is_denied_to_the_guest() {
    let engine = engine(16);
    let (system, seen) = with_collector().await;
    let spec = ComponentSpec::new("loner", load(&engine, "pipeline-stage"))
        .config(b"op=upper;next=collector".to_vec());
    system
        .start_supervisor(
            SupervisorNode::builder("s")
                .child(spec.child_spec())
                .build(),
        )
        .await
        .unwrap();
    let loner = system.lookup::<ComponentMessage>("loner").unwrap();
    let reply = loner
        .ask(ComponentMessage::deliver("host", b"x".to_vec()), SEC * 5)
        .await
        .unwrap();
    let err = reply.unwrap_err();
    assert!(err.to_string().contains("denied"), "{err}");
    assert!(seen.lock().unwrap().is_empty());
    system.shutdown().await;
}
