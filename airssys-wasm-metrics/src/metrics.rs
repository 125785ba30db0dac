//! [`Metrics`]: the Prometheus registry of an airssys process, fed by the runtime observer and
//! by the component layer.

use std::collections::HashSet;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use airssys_rt::{ActorId, DeadLetterReason, HandleOutcome, RuntimeEvent, RuntimeObserver};
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// One bounded label: `[(name, value)]`, values are always `'static` strings from a closed set.
type Label = [(&'static str, &'static str); 1];

/// The operation names of capability checks, as in the audit log.
const OPERATIONS: [&str; 7] = [
    "msg.send",
    "msg.request",
    "msg.publish",
    "msg.subscribe",
    "file.read",
    "file.write",
    "net.connect",
];

/// The outcomes the host reports for ingress requests.
pub const INGRESS_OUTCOMES: [&str; 9] = [
    "ok",
    "guest_error",
    "failed",
    "timeout",
    "busy",
    "unavailable",
    "not_found",
    "published",
    "bad_request",
];

/// The spawn-duration buckets of SPEC §5: 100 µs … 10 ms.
const SPAWN_BUCKETS: [f64; 8] = [
    0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025,
];

/// The metrics of one airssys process. Cheap to clone (shared).
///
/// Install it as the runtime observer of the [`ActorSystem`](airssys_rt::ActorSystem)
/// (it implements [`RuntimeObserver`]) and feed the component-layer methods
/// ([`capability_denied`](Self::capability_denied), [`component_failed`](Self::component_failed),
/// ...) from the component layer's observer. [`encode`](Self::encode) renders everything as
/// OpenMetrics text.
///
/// Every metric is named `airssys_<subsystem>_<name>_<unit>`; label values come from closed sets
/// (never an actor or component id), so the number of series is bounded.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use airssys_rt::ActorSystem;
/// use airssys_wasm_metrics::Metrics;
///
/// let metrics = Metrics::new();
/// let system = ActorSystem::builder().observer(Arc::new(metrics.clone())).build();
/// metrics.capability_denied("file.read");
/// let text = metrics.encode();
/// assert!(text.contains("airssys_wasm_capability_denials_total{operation=\"file.read\"} 1"));
/// assert!(text.ends_with("# EOF\n"));
/// # drop(system);
/// ```
#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

struct Inner {
    registry: Registry,
    spawn_duration: Histogram,
    message_duration: Histogram,
    messages_ok: Counter,
    messages_error: Counter,
    messages_panicked: Counter,
    ask_duration: Family<Label, Histogram>,
    actors: Gauge,
    live: Mutex<HashSet<ActorId>>,
    mailbox_depth: Histogram,
    restarts: Counter,
    escalations: Counter,
    dead_letters: Family<Label, Counter>,
    components: Gauge,
    denials: Family<Label, Counter>,
    failures: Family<Label, Counter>,
    guest_errors: Counter,
    upgrades: Family<Label, Counter>,
    ingress: Family<Label, Histogram>,
}

impl fmt::Debug for Metrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Metrics")
            .field("actors", &self.inner.actors.get())
            .field("components", &self.inner.components.get())
            .finish()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

fn latency_histogram() -> Histogram {
    // 1 µs … ~8 s, doubling.
    Histogram::new(exponential_buckets(0.000_001, 2.0, 24))
}

impl Metrics {
    /// A fresh registry with every airssys metric registered (all at zero).
    #[must_use]
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let spawn_duration = Histogram::new(SPAWN_BUCKETS);
        let message_duration = latency_histogram();
        let messages = Family::<Label, Counter>::default();
        let ask_duration = Family::<Label, Histogram>::new_with_constructor(
            latency_histogram as fn() -> Histogram,
        );
        let actors = Gauge::default();
        let mailbox_depth = Histogram::new(exponential_buckets(1.0, 4.0, 7));
        let restarts = Counter::default();
        let escalations = Counter::default();
        let dead_letters = Family::<Label, Counter>::default();
        let components = Gauge::default();
        let denials = Family::<Label, Counter>::default();
        let failures = Family::<Label, Counter>::default();
        let guest_errors = Counter::default();
        let upgrades = Family::<Label, Counter>::default();
        let ingress = Family::<Label, Histogram>::new_with_constructor(
            latency_histogram as fn() -> Histogram,
        );

        let rt = registry.sub_registry_with_prefix("airssys_rt");
        rt.register(
            "spawn_duration_seconds",
            "Time from spawn to the actor started (pre_start done)",
            spawn_duration.clone(),
        );
        rt.register(
            "message_duration_seconds",
            "Time a handler took for one message",
            message_duration.clone(),
        );
        rt.register(
            "messages",
            "Messages handled, by outcome (ok, error, panicked)",
            messages.clone(),
        );
        rt.register(
            "ask_duration_seconds",
            "Request/response latency of ask, by outcome",
            ask_duration.clone(),
        );
        rt.register("actors", "Actors currently running", actors.clone());
        rt.register(
            "mailbox_depth",
            "Messages still queued when a message was taken from a mailbox",
            mailbox_depth.clone(),
        );
        rt.register(
            "restarts",
            "Children restarted by their supervisor",
            restarts.clone(),
        );
        rt.register(
            "supervisor_escalations",
            "Supervisors that gave up (restart intensity exceeded) and escalated",
            escalations.clone(),
        );
        rt.register(
            "dead_letters",
            "Messages that could not be delivered or handled, by reason",
            dead_letters.clone(),
        );
        let wasm = registry.sub_registry_with_prefix("airssys_wasm");
        wasm.register(
            "components",
            "Component instances currently running",
            components.clone(),
        );
        wasm.register(
            "capability_denials",
            "Host calls refused by a component's capabilities, by operation",
            denials.clone(),
        );
        wasm.register(
            "failures",
            "Component instances killed, by kind (trap, deadline, memory, fuel)",
            failures.clone(),
        );
        wasm.register(
            "guest_errors",
            "Messages a component's handle answered with an error value (handled; no restart)",
            guest_errors.clone(),
        );
        wasm.register(
            "upgrades",
            "Hot upgrades, by outcome (upgraded, rolled_back)",
            upgrades.clone(),
        );
        let host = registry.sub_registry_with_prefix("airssys_host");
        host.register(
            "ingress_duration_seconds",
            "HTTP ingress requests to components and topics, by outcome",
            ingress.clone(),
        );

        // Every series of the closed label sets exists from the start (at zero), so rates
        // work from the first event and dashboards show no gaps.
        for o in ["replied", "timeout", "no_reply", "not_delivered"] {
            let _ = ask_duration.get_or_create(&[("outcome", o)]);
        }
        for r in ["mailbox_full", "stopped", "failed", "panicked", "aborted"] {
            let _ = dead_letters.get_or_create(&[("reason", r)]);
        }
        for op in OPERATIONS {
            let _ = denials.get_or_create(&[("operation", op)]);
        }
        for k in ["trap", "deadline", "memory", "fuel"] {
            let _ = failures.get_or_create(&[("kind", k)]);
        }
        for o in ["upgraded", "rolled_back"] {
            let _ = upgrades.get_or_create(&[("outcome", o)]);
        }
        for o in INGRESS_OUTCOMES {
            let _ = ingress.get_or_create(&[("outcome", o)]);
        }
        let messages_ok = messages.get_or_create(&[("outcome", "ok")]).clone();
        let messages_error = messages.get_or_create(&[("outcome", "error")]).clone();
        let messages_panicked = messages.get_or_create(&[("outcome", "panicked")]).clone();
        Self {
            inner: Arc::new(Inner {
                registry,
                spawn_duration,
                message_duration,
                messages_ok,
                messages_error,
                messages_panicked,
                ask_duration,
                actors,
                live: Mutex::new(HashSet::new()),
                mailbox_depth,
                restarts,
                escalations,
                dead_letters,
                components,
                denials,
                failures,
                guest_errors,
                upgrades,
                ingress,
            }),
        }
    }

    /// Renders every metric as OpenMetrics text (ends with `# EOF`).
    #[must_use]
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &self.inner.registry);
        out
    }

    /// A component instance started (at start and after each restart).
    pub fn component_started(&self) {
        self.inner.components.inc();
    }

    /// A component instance was discarded.
    pub fn component_stopped(&self) {
        self.inner.components.dec();
    }

    /// A host call was refused; `operation` is the audit-log operation name.
    pub fn capability_denied(&self, operation: &'static str) {
        self.inner
            .denials
            .get_or_create(&[("operation", operation)])
            .inc();
    }

    /// A component instance was killed; `kind` is `trap`, `deadline`, `memory` or `fuel`.
    pub fn component_failed(&self, kind: &'static str) {
        self.inner.failures.get_or_create(&[("kind", kind)]).inc();
    }

    /// A component's `handle` answered a message with an error value.
    pub fn guest_error(&self) {
        self.inner.guest_errors.inc();
    }

    /// A hot upgrade finished.
    pub fn upgrade(&self, success: bool) {
        let outcome = if success { "upgraded" } else { "rolled_back" };
        self.inner
            .upgrades
            .get_or_create(&[("outcome", outcome)])
            .inc();
    }

    /// An HTTP ingress request finished; `outcome` is one of [`INGRESS_OUTCOMES`].
    pub fn ingress(&self, outcome: &'static str, duration: Duration) {
        self.inner
            .ingress
            .get_or_create(&[("outcome", outcome)])
            .observe(duration.as_secs_f64());
    }

    /// Actors currently running, as last counted from the runtime events.
    #[must_use]
    pub fn actors(&self) -> i64 {
        self.inner.actors.get()
    }

    /// Component instances currently running.
    #[must_use]
    pub fn components(&self) -> i64 {
        self.inner.components.get()
    }
}

fn dead_letter_label(reason: &DeadLetterReason) -> &'static str {
    match reason {
        DeadLetterReason::MailboxFull => "mailbox_full",
        DeadLetterReason::Stopped => "stopped",
        DeadLetterReason::Failed(_) => "failed",
        DeadLetterReason::Panicked(_) => "panicked",
        DeadLetterReason::Aborted => "aborted",
        _ => "other",
    }
}

impl RuntimeObserver for Metrics {
    fn on_event(&self, event: &RuntimeEvent<'_>) {
        let m = &self.inner;
        match event {
            RuntimeEvent::ActorSpawned { id, duration, .. } => {
                m.spawn_duration.observe(duration.as_secs_f64());
                // A supervised actor keeps its id across restarts: count it once.
                if m.live.lock().is_ok_and(|mut l| l.insert(*id)) {
                    m.actors.inc();
                }
            }
            RuntimeEvent::ActorStopped { id, .. }
                if m.live.lock().is_ok_and(|mut l| l.remove(id)) =>
            {
                m.actors.dec();
            }
            RuntimeEvent::MessageHandled {
                duration,
                outcome,
                mailbox_depth,
                ..
            } => {
                m.message_duration.observe(duration.as_secs_f64());
                match outcome {
                    HandleOutcome::Ok => m.messages_ok.inc(),
                    HandleOutcome::Error => m.messages_error.inc(),
                    _ => m.messages_panicked.inc(),
                };
                // Precision loss only past 2^53 queued messages.
                #[allow(clippy::cast_precision_loss)]
                m.mailbox_depth.observe(*mailbox_depth as f64);
            }
            RuntimeEvent::AskCompleted {
                duration, outcome, ..
            } => {
                m.ask_duration
                    .get_or_create(&[("outcome", outcome.as_str())])
                    .observe(duration.as_secs_f64());
            }
            RuntimeEvent::ChildRestarted { .. } => {
                m.restarts.inc();
            }
            RuntimeEvent::SupervisorEscalated { .. } => {
                m.escalations.inc();
            }
            RuntimeEvent::DeadLetter { reason, .. } => {
                m.dead_letters
                    .get_or_create(&[("reason", dead_letter_label(reason))])
                    .inc();
            }
            _ => {}
        }
    }
}
