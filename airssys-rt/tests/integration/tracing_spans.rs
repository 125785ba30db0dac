//! Every handled message runs inside a `tracing` span carrying the actor id and message type.

use std::sync::{Arc, Mutex};

use airssys_rt::ActorSystem;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};

use super::common::{Cmd, Probe, SEC, Shared};

/// A span's name and its recorded fields.
type SpanRecord = (String, Vec<(String, String)>);

#[derive(Clone, Default)]
struct Spans(Arc<Mutex<Vec<SpanRecord>>>);

struct Fields(Vec<(String, String)>);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.push((field.name().to_owned(), format!("{value:?}")));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.push((field.name().to_owned(), value.to_string()));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.push((field.name().to_owned(), value.to_owned()));
    }
}

impl<S: tracing::Subscriber> Layer<S> for Spans {
    fn on_new_span(&self, attrs: &Attributes<'_>, _id: &Id, _ctx: Context<'_, S>) {
        let mut fields = Fields(Vec::new());
        attrs.record(&mut fields);
        self.0
            .lock()
            .unwrap()
            .push((attrs.metadata().name().to_owned(), fields.0));
    }
}

#[tokio::test(flavor = "current_thread")]
async fn each_handled_message_gets_a_span_with_actor_id_and_message_type() {
    let spans = Spans::default();
    let subscriber = tracing_subscriber::registry().with(spans.clone());
    let _guard = tracing::subscriber::set_default(subscriber);

    let system = ActorSystem::new();
    let actor = system.spawn(Probe::new(&Shared::new("p"))).await.unwrap();
    actor.tell(Cmd::Push(1)).await.unwrap();
    actor.ask(Cmd::Get, SEC).await.unwrap();
    system.shutdown().await;

    let seen = spans.0.lock().unwrap().clone();
    let handled: Vec<_> = seen.iter().filter(|(n, _)| n == "handle_message").collect();
    assert_eq!(handled.len(), 2, "{seen:?}");
    for (_, fields) in handled {
        assert!(fields.contains(&("actor_id".to_owned(), actor.id().as_u64().to_string())));
        assert!(
            fields
                .iter()
                .any(|(k, v)| k == "message_type" && v.ends_with("common::Cmd")),
            "{fields:?}"
        );
    }
}
