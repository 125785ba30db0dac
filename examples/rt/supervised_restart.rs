//! # Supervised restart
//!
//! A worker actor that sometimes fails — by returning an error and by panicking — runs under a
//! [`SupervisorNode`] with an exponential backoff (20 ms, doubling, capped at 160 ms: scaled down
//! from the usual seconds so the example finishes quickly). The example shows:
//!
//! 1. `pre_start` / `post_stop` of every worker instance, and a [`RuntimeObserver`] printing each
//!    `ChildRestarted` event with its attempt number and backoff delay;
//! 2. that the worker's address survives restarts: messages sent while it waits out its backoff
//!    are queued and handled by the fresh instance;
//! 3. that the message in flight when the worker failed goes to the dead-letter queue, with the
//!    error or panic message as its reason;
//! 4. restart intensity: a final burst of failures exceeds [`RestartIntensity`] (4 restarts within
//!    10 s), the supervisor gives up and [`SupervisorRef::wait`] returns [`StopReason::Failed`];
//!    the messages still queued are dead-lettered;
//! 5. a graceful `system.shutdown()` and its [`ShutdownReport`].
//!
//! Every number is checked at the end (`handled + dead-lettered == sent`, restart count, the
//! dead-letter reasons in order); the program exits non-zero if one is off.
//!
//! Run it with:
//!
//! ```text
//! cargo run -p airssys-examples --example supervised_restart
//! ```
//!
//! Set `RUST_LOG=airssys_rt=debug` to also see the runtime's own log lines on stderr.
#![allow(
    clippy::print_stdout,
    reason = "an example talks to its reader on stdout"
)]

use std::error::Error;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use airssys_rt::{
    Actor, ActorContext, ActorRef, ActorSystem, Backoff, ChildSpec, DeadLetterReason,
    HandleOutcome, Message, MessageBroker, RestartIntensity, RuntimeEvent, RuntimeObserver,
    SendError, ShutdownReport, StopReason, SupervisorNode, SupervisorRef,
};

/// How long any `ask` in this example may take.
const ASK_TIMEOUT: Duration = Duration::from_secs(1);

/// What the worker is asked to do.
#[derive(Debug)]
enum Job {
    /// A job that succeeds.
    Work(u32),
    /// A job whose handler returns an error.
    Reject(u32),
    /// A job whose handler panics.
    Crash(u32),
    /// An `ask`: which worker instance is running now?
    WhoAreYou,
}

impl Message for Job {
    /// The number of the instance that answered [`Job::WhoAreYou`].
    type Reply = u32;
}

/// The error a worker returns for [`Job::Reject`].
#[derive(Debug, thiserror::Error)]
#[error("job {0} rejected: input out of range")]
struct Rejected(u32);

/// What all worker instances share: how many were created, and which messages they handled.
///
/// A restart creates a fresh worker from the factory (its own state is lost), so whatever must
/// outlive a restart lives here.
#[derive(Default)]
struct Journal {
    instances: AtomicU32,
    handled: Mutex<Vec<(String, u32)>>,
}

impl Journal {
    fn record(&self, what: String, instance: u32) {
        if let Ok(mut handled) = self.handled.lock() {
            handled.push((what, instance));
        }
    }

    fn handled(&self) -> Vec<(String, u32)> {
        self.handled.lock().map(|h| h.clone()).unwrap_or_default()
    }
}

/// The supervised worker. `instance` counts the (re)starts: #1 is the first, #2 the first restart.
struct Worker {
    instance: u32,
    journal: Arc<Journal>,
}

impl Worker {
    fn new(journal: &Arc<Journal>) -> Self {
        let instance = journal.instances.fetch_add(1, Ordering::Relaxed) + 1;
        Self {
            instance,
            journal: Arc::clone(journal),
        }
    }
}

#[expect(
    clippy::panic,
    reason = "the example shows that a panicking handler is a failure the supervisor handles"
)]
fn crash(job: u32) -> ! {
    panic!("job {job}: simulated crash")
}

impl Actor for Worker {
    type Message = Job;
    type Error = Rejected;

    async fn pre_start<B: MessageBroker<Job>>(
        &mut self,
        _ctx: &mut ActorContext<Job, B>,
    ) -> Result<(), Rejected> {
        println!("    [worker #{}] pre_start: ready", self.instance);
        Ok(())
    }

    async fn handle_message<B: MessageBroker<Job>>(
        &mut self,
        msg: Job,
        ctx: &mut ActorContext<Job, B>,
    ) -> Result<(), Rejected> {
        let what = format!("{msg:?}");
        match msg {
            Job::Work(n) => println!("    [worker #{}] job {n} done", self.instance),
            Job::Reject(n) => return Err(Rejected(n)),
            Job::Crash(n) => crash(n),
            Job::WhoAreYou => {
                ctx.reply(self.instance);
            }
        }
        self.journal.record(what, self.instance);
        Ok(())
    }

    async fn post_stop<B: MessageBroker<Job>>(
        &mut self,
        _ctx: &mut ActorContext<Job, B>,
        reason: &StopReason,
    ) {
        println!("    [worker #{}] post_stop: {reason}", self.instance);
    }
}

/// Prints supervision events and counts what the runtime reports.
#[derive(Default)]
struct Narrator {
    restarts: AtomicU32,
    escalations: AtomicU32,
    handled_ok: AtomicU64,
    handled_err: AtomicU64,
    panicked: AtomicU64,
}

impl RuntimeObserver for Narrator {
    fn on_event(&self, event: &RuntimeEvent<'_>) {
        match event {
            RuntimeEvent::ChildRestarted {
                supervisor,
                child,
                attempt,
                delay,
            } => {
                self.restarts.fetch_add(1, Ordering::Relaxed);
                println!(
                    "    [observer] ChildRestarted {supervisor}/{child}: attempt {attempt}, backoff {delay:?}"
                );
            }
            RuntimeEvent::SupervisorEscalated { supervisor, reason } => {
                self.escalations.fetch_add(1, Ordering::Relaxed);
                println!("    [observer] supervisor {supervisor} gave up: {reason}");
            }
            RuntimeEvent::MessageHandled { outcome, .. } => {
                let counter = match outcome {
                    HandleOutcome::Ok => &self.handled_ok,
                    HandleOutcome::Error => &self.handled_err,
                    _ => &self.panicked,
                };
                counter.fetch_add(1, Ordering::Relaxed);
            }
            _ => {}
        }
    }
}

/// The worker's address plus a count of the messages it accepted.
struct Client {
    worker: ActorRef<Job>,
    sent: u64,
}

impl Client {
    async fn tell(&mut self, job: Job) -> Result<(), Box<dyn Error>> {
        println!("  -> tell {job:?}");
        self.worker.tell(job).await?;
        self.sent += 1;
        Ok(())
    }

    async fn who_is_there(&mut self) -> Result<u32, Box<dyn Error>> {
        self.sent += 1;
        let instance = self.worker.ask(Job::WhoAreYou, ASK_TIMEOUT).await?;
        println!("  -> ask WhoAreYou: answered by instance #{instance}");
        Ok(instance)
    }
}

/// Fails the example with `what` unless `ok`.
fn check(ok: bool, what: &str) -> Result<(), Box<dyn Error>> {
    if ok {
        Ok(())
    } else {
        Err(format!("self-check failed: {what}").into())
    }
}

/// Waits (bounded) until the supervisor reports the worker down or already restarted.
async fn wait_until_down(sup: &SupervisorRef) -> Result<bool, Box<dyn Error>> {
    for _ in 0..500 {
        let children = sup.children().await?;
        let worker = children.first().ok_or("the supervisor has no child")?;
        if !worker.running {
            return Ok(true);
        }
        if worker.restarts > 0 {
            return Ok(false);
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    Err("the worker never failed".into())
}

/// Replaces the default panic message (a multi-line note on stderr) with one line.
fn quiet_panics() {
    std::panic::set_hook(Box::new(|info| {
        let message = info.payload_as_str().unwrap_or("non-string panic payload");
        println!("    [panic hook] a handler panicked: {message}");
    }));
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("off"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

fn print_report(report: &ShutdownReport) {
    println!(
        "  ShutdownReport: stopped {}, drained {}, dead_lettered {}, timed_out {:?}",
        report.stopped, report.drained, report.dead_lettered, report.timed_out
    );
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn Error>> {
    init_tracing();
    quiet_panics();

    let narrator = Arc::new(Narrator::default());
    let system = ActorSystem::builder()
        .observer(Arc::clone(&narrator) as Arc<dyn RuntimeObserver>)
        .build();

    // --- the tree ----------------------------------------------------------------------------
    println!("== start: supervisor `jobs` with one child, `worker` ==");
    println!("  backoff: exponential 20ms x2, max 160ms; intensity: 4 restarts within 10s");
    let journal = Arc::new(Journal::default());
    let factory_journal = Arc::clone(&journal);
    let backoff = Backoff::Exponential {
        initial: Duration::from_millis(20),
        factor: 2,
        max: Duration::from_millis(160),
        jitter: 0.0,
    };
    let tree = SupervisorNode::builder("jobs")
        .intensity(RestartIntensity::new(4, Duration::from_secs(10)))
        .child(ChildSpec::actor("worker", move || Worker::new(&factory_journal)).backoff(backoff))
        .build();
    let sup = system.start_supervisor(tree).await?;
    let worker = system
        .lookup::<Job>("worker")
        .ok_or("the supervisor did not register `worker`")?;
    let mut client = Client {
        worker: worker.clone(),
        sent: 0,
    };

    // --- 1. normal work ----------------------------------------------------------------------
    println!("\n== 1. normal work ==");
    client.tell(Job::Work(1)).await?;
    client.tell(Job::Work(2)).await?;
    check(
        client.who_is_there().await? == 1,
        "instance #1 answers first",
    )?;

    // --- 2. a handler returns an error -------------------------------------------------------
    println!(
        "\n== 2. a handler returns an error: restart after the backoff, the queue survives =="
    );
    client.tell(Job::Reject(3)).await?;
    if wait_until_down(&sup).await? {
        println!("  the worker is down, waiting out its backoff; its address is still valid:");
    } else {
        println!("  the worker was restarted already; its address is still valid:");
    }
    client.tell(Job::Work(4)).await?;
    client.tell(Job::Work(5)).await?;
    println!(
        "  queued meanwhile: {} message(s) in the mailbox",
        worker.mailbox_depth()
    );
    check(
        client.who_is_there().await? == 2,
        "instance #2 after one restart",
    )?;
    let restarts = sup
        .children()
        .await?
        .first()
        .map_or(0, |child| child.restarts);
    println!("  supervisor status: worker restarted {restarts} time(s)");
    check(restarts == 1, "one restart after the error")?;

    // --- 3. a handler panics -----------------------------------------------------------------
    println!("\n== 3. a handler panics: a panic is a failure like an error ==");
    client.tell(Job::Crash(6)).await?;
    client.tell(Job::Work(7)).await?;
    check(
        client.who_is_there().await? == 3,
        "instance #3 after the panic",
    )?;

    // --- 4. restart intensity ----------------------------------------------------------------
    println!("\n== 4. a burst of failures exceeds the restart intensity ==");
    client.tell(Job::Reject(8)).await?;
    client.tell(Job::Crash(9)).await?;
    client.tell(Job::Reject(10)).await?;
    client.tell(Job::Work(11)).await?;
    client.tell(Job::Work(12)).await?;
    let reason = tokio::time::timeout(Duration::from_secs(2), sup.wait()).await?;
    println!("  SupervisorRef::wait() -> {reason:?}");
    check(
        matches!(&reason, StopReason::Failed(why) if why.contains("restart intensity exceeded")),
        "the supervisor stops with StopReason::Failed (intensity exceeded)",
    )?;
    check(
        system.lookup::<Job>("worker").is_none(),
        "the name `worker` is released",
    )?;
    check(!worker.is_alive(), "the worker's mailbox is closed")?;
    let tracked = system.top_level_count();
    check(tracked == 0, "the stopped tree is no longer counted")?;
    println!(
        "  top-level entries the system still tracks: {tracked} (a root supervisor that gave up is not counted)"
    );
    match worker.tell(Job::Work(13)).await {
        Err(SendError::Stopped(job)) => {
            println!("  tell Work(13) now fails: the actor has stopped, {job:?} is handed back");
        }
        other => return Err(format!("expected SendError::Stopped, got {other:?}").into()),
    }

    // --- dead letters ------------------------------------------------------------------------
    println!("\n== dead-letter queue ==");
    let letters = system.dead_letters().drain();
    let mut kinds = Vec::new();
    for letter in &letters {
        let message = letter
            .message
            .as_ref()
            .and_then(|m| m.downcast_ref::<Job>())
            .map_or_else(
                || "consumed by the handler".to_owned(),
                |job| format!("{job:?}"),
            );
        println!(
            "  to {}: {} ({message})",
            letter.recipient_name.as_deref().unwrap_or("?"),
            letter.reason
        );
        check(
            letter.recipient == worker.id(),
            "every dead letter is the worker's",
        )?;
        kinds.push(match &letter.reason {
            DeadLetterReason::Failed(_) => "failed",
            DeadLetterReason::Panicked(_) => "panicked",
            DeadLetterReason::Stopped => "stopped",
            _ => "other",
        });
    }

    // --- shutdown ----------------------------------------------------------------------------
    println!("\n== graceful shutdown ==");
    let report = system.shutdown().await;
    print_report(&report);

    // --- self-check --------------------------------------------------------------------------
    println!("\n== self-check ==");
    let handled = journal.handled();
    let dead = letters.len() as u64;
    let restarts = narrator.restarts.load(Ordering::Relaxed);
    println!(
        "  sent {} = handled {} + dead-lettered {dead}; restarts {restarts}; instances created {}",
        client.sent,
        handled.len(),
        journal.instances.load(Ordering::Relaxed)
    );
    check(client.sent == 15, "15 messages sent to the worker")?;
    check(
        handled.len() as u64 + dead == client.sent,
        "handled + dead-lettered == sent",
    )?;
    check(handled.len() == 8, "8 messages handled")?;
    let expected: Vec<(String, u32)> = [
        ("Work(1)", 1),
        ("Work(2)", 1),
        ("WhoAreYou", 1),
        ("Work(4)", 2),
        ("Work(5)", 2),
        ("WhoAreYou", 2),
        ("Work(7)", 3),
        ("WhoAreYou", 3),
    ]
    .iter()
    .map(|(what, n)| ((*what).to_owned(), *n))
    .collect();
    check(
        handled == expected,
        "handled in order, by the expected instances",
    )?;
    check(
        kinds
            == [
                "failed", "panicked", "failed", "panicked", "failed", "stopped", "stopped",
            ],
        "dead letters: 3 errors, 2 panics, 2 queued when the supervisor gave up",
    )?;
    check(
        restarts == 4,
        "4 restarts (the 5th failure exceeds the intensity)",
    )?;
    check(
        narrator.escalations.load(Ordering::Relaxed) == 1,
        "the supervisor escalated once",
    )?;
    check(
        journal.instances.load(Ordering::Relaxed) == 5,
        "5 worker instances",
    )?;
    check(
        narrator.handled_ok.load(Ordering::Relaxed) == 8
            && narrator.handled_err.load(Ordering::Relaxed) == 3
            && narrator.panicked.load(Ordering::Relaxed) == 2,
        "the observer saw 8 ok, 3 errors, 2 panics",
    )?;
    check(report.timed_out.is_empty(), "nothing timed out at shutdown")?;
    check(report.dead_lettered == 0, "no dead letters during shutdown")?;

    println!("supervised_restart: OK");
    Ok(())
}
