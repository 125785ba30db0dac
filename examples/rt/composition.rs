//! # Composition patterns with native actors
//!
//! Five ways to put actors together, each in its own section:
//!
//! - **(a) pipeline** `parse → square → sink`: every stage holds the [`ActorRef`] of the next one;
//!   the sink answers an `ask` with its results once the end-of-stream marker has reached it
//!   (it keeps the reply slot with [`ActorContext::take_reply`] until then);
//! - **(b) parallel workers**: a pool of 4 workers fed round robin, 12 `ask`s in flight at once,
//!   results gathered and checked;
//! - **(c) fan-out / fan-in**: readings published on a topic of the system's
//!   [`MessageBroker`] reach 3 subscribers (min, max, mean); an aggregator collects their answers;
//! - **(d) ordered start-up**: a supervisor starts `sink`, `transform`, `source` in that order
//!   (each checks in `pre_start` that the stage it feeds is already running) and stops them in
//!   reverse;
//! - **(e) error strategies**: "stop on first error" ([`ErrorAction::Stop`] with
//!   [`RestartPolicy::Transient`]: not restarted, later messages dead-lettered), "continue and log"
//!   ([`ErrorAction::Resume`]), and the dead-letter queue listing what could not be handled.
//!
//! Every section checks its numbers; the program exits non-zero if one is off.
//!
//! Run it with:
//!
//! ```text
//! cargo run -p airssys-examples --example composition
//! ```
#![allow(
    clippy::print_stdout,
    reason = "an example talks to its reader on stdout"
)]

use std::error::Error;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use airssys_rt::{
    Actor, ActorContext, ActorRef, ActorSystem, ChildSpec, DeadLetterReason, ErrorAction, Message,
    MessageBroker, ReplyHandle, RestartPolicy, SendError, StopReason, SupervisorNode,
};
use tokio::task::JoinSet;

/// How long any `ask` in this example may take.
const ASK_TIMEOUT: Duration = Duration::from_secs(1);

/// A stage could not pass its output on: the next actor has stopped.
#[derive(Debug, thiserror::Error)]
#[error("the next stage has stopped")]
struct Downstream;

/// Fails the example with `what` unless `ok`.
fn check(ok: bool, what: &str) -> Result<(), Box<dyn Error>> {
    if ok {
        Ok(())
    } else {
        Err(format!("self-check failed: {what}").into())
    }
}

// ---- (a) pipeline: parse -> square -> sink -----------------------------------------------------

/// Input of the parse stage.
enum ParseMsg {
    Line(&'static str),
    End,
}

impl Message for ParseMsg {
    type Reply = ();
}

/// Input of the square stage.
enum SquareMsg {
    Value(i64),
    End,
}

impl Message for SquareMsg {
    type Reply = ();
}

/// Input of the sink.
enum SinkMsg {
    Value(i64),
    End,
    /// An `ask`: the results, answered once `End` has arrived.
    Results,
}

impl Message for SinkMsg {
    type Reply = Vec<i64>;
}

/// Parses text lines into numbers; skips what is not a number.
struct Parse {
    next: ActorRef<SquareMsg>,
}

impl Actor for Parse {
    type Message = ParseMsg;
    type Error = Downstream;

    async fn handle_message<B: MessageBroker<ParseMsg>>(
        &mut self,
        msg: ParseMsg,
        _ctx: &mut ActorContext<ParseMsg, B>,
    ) -> Result<(), Downstream> {
        let out = match msg {
            ParseMsg::Line(line) => match line.parse::<i64>() {
                Ok(n) => {
                    println!("    parse : {line:?} -> {n}");
                    SquareMsg::Value(n)
                }
                Err(_) => {
                    println!("    parse : {line:?} is not a number, skipped");
                    return Ok(());
                }
            },
            ParseMsg::End => SquareMsg::End,
        };
        self.next.tell(out).await.map_err(|_| Downstream)
    }
}

/// Squares numbers.
struct Square {
    next: ActorRef<SinkMsg>,
}

impl Actor for Square {
    type Message = SquareMsg;
    type Error = Downstream;

    async fn handle_message<B: MessageBroker<SquareMsg>>(
        &mut self,
        msg: SquareMsg,
        _ctx: &mut ActorContext<SquareMsg, B>,
    ) -> Result<(), Downstream> {
        let out = match msg {
            SquareMsg::Value(n) => {
                println!("    square: {n} -> {}", n * n);
                SinkMsg::Value(n * n)
            }
            SquareMsg::End => SinkMsg::End,
        };
        self.next.tell(out).await.map_err(|_| Downstream)
    }
}

/// Collects results; answers `Results` once the stream has ended.
#[derive(Default)]
struct Sink {
    results: Vec<i64>,
    ended: bool,
    waiting: Option<ReplyHandle<Vec<i64>>>,
}

impl Actor for Sink {
    type Message = SinkMsg;
    type Error = std::convert::Infallible;

    async fn handle_message<B: MessageBroker<SinkMsg>>(
        &mut self,
        msg: SinkMsg,
        ctx: &mut ActorContext<SinkMsg, B>,
    ) -> Result<(), Self::Error> {
        match msg {
            SinkMsg::Value(n) => {
                println!("    sink  : stored {n}");
                self.results.push(n);
            }
            SinkMsg::End => {
                self.ended = true;
                println!("    sink  : end of stream");
                if let Some(waiting) = self.waiting.take() {
                    waiting.send(self.results.clone());
                }
            }
            SinkMsg::Results if self.ended => {
                ctx.reply(self.results.clone());
            }
            SinkMsg::Results => {
                println!("    sink  : results asked before the end; the reply waits");
                self.waiting = ctx.take_reply();
            }
        }
        Ok(())
    }
}

async fn pipeline(system: &ActorSystem) -> Result<(), Box<dyn Error>> {
    println!("== (a) pipeline: parse -> square -> sink ==");
    // Start from the end, so every stage can be given the address of the next.
    let sink = system.spawn(Sink::default()).await?;
    let square = system.spawn(Square { next: sink.clone() }).await?;
    let parse = system.spawn(Parse { next: square }).await?;

    let input = ["1", "2", "three", "4", "5"];
    println!("  -> tell {} lines, then End, to parse", input.len());
    for line in input {
        parse.tell(ParseMsg::Line(line)).await?;
    }
    parse.tell(ParseMsg::End).await?;
    let results = sink.ask(SinkMsg::Results, ASK_TIMEOUT).await?;
    println!("  -> ask sink Results: {results:?}");
    check(
        results == [1, 4, 16, 25],
        "the pipeline yields [1, 4, 16, 25] in order",
    )?;
    Ok(())
}

// ---- (b) parallel workers: a pool of 4, round robin --------------------------------------------

const POOL_SIZE: usize = 4;
const POOL_JOBS: u32 = 12;

/// One job for the pool: count the Collatz steps of `n`. An `ask`.
struct CollatzJob {
    id: u32,
    n: u64,
}

/// What a pool worker answers.
#[derive(Debug, Clone, Copy)]
struct CollatzResult {
    id: u32,
    worker: usize,
    steps: u32,
}

impl Message for CollatzJob {
    type Reply = CollatzResult;
}

fn collatz_steps(mut n: u64) -> u32 {
    let mut steps = 0;
    while n > 1 {
        n = if n.is_multiple_of(2) {
            n / 2
        } else {
            3 * n + 1
        };
        steps += 1;
    }
    steps
}

/// A pool worker; `busy` / `peak` measure how many workers work at the same time.
struct PoolWorker {
    index: usize,
    busy: Arc<AtomicUsize>,
    peak: Arc<AtomicUsize>,
}

impl Actor for PoolWorker {
    type Message = CollatzJob;
    type Error = std::convert::Infallible;

    async fn handle_message<B: MessageBroker<CollatzJob>>(
        &mut self,
        job: CollatzJob,
        ctx: &mut ActorContext<CollatzJob, B>,
    ) -> Result<(), Self::Error> {
        let now_busy = self.busy.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(now_busy, Ordering::SeqCst);
        // Pretend the job takes a while (I/O, a slow computation): the others run meanwhile.
        tokio::time::sleep(Duration::from_millis(10)).await;
        let steps = collatz_steps(job.n);
        self.busy.fetch_sub(1, Ordering::SeqCst);
        ctx.reply(CollatzResult {
            id: job.id,
            worker: self.index,
            steps,
        });
        Ok(())
    }
}

async fn parallel_workers(system: &ActorSystem) -> Result<(), Box<dyn Error>> {
    println!("\n== (b) parallel workers: a pool of {POOL_SIZE}, fed round robin ==");
    let busy = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let mut pool = Vec::with_capacity(POOL_SIZE);
    for index in 0..POOL_SIZE {
        let worker = PoolWorker {
            index,
            busy: Arc::clone(&busy),
            peak: Arc::clone(&peak),
        };
        pool.push(system.spawn(worker).await?);
    }

    let mut in_flight = JoinSet::new();
    for id in 0..POOL_JOBS {
        let worker = pool[id as usize % POOL_SIZE].clone();
        let job = CollatzJob {
            id,
            n: u64::from(id) + 20,
        };
        in_flight.spawn(async move { worker.ask(job, ASK_TIMEOUT).await });
    }
    println!("  -> {POOL_JOBS} asks in flight: job i goes to worker i % {POOL_SIZE}");

    let mut results = Vec::with_capacity(POOL_JOBS as usize);
    while let Some(joined) = in_flight.join_next().await {
        results.push(joined??);
    }
    results.sort_by_key(|r| r.id);
    for index in 0..POOL_SIZE {
        let mine: Vec<String> = results
            .iter()
            .filter(|r| r.worker == index)
            .map(|r| {
                format!(
                    "job {} ({} -> {} steps)",
                    r.id,
                    u64::from(r.id) + 20,
                    r.steps
                )
            })
            .collect();
        println!("  worker {index}: {}", mine.join(", "));
    }
    let peak = peak.load(Ordering::SeqCst);
    println!("  at most {peak} workers were busy at the same time");

    check(
        results.len() == POOL_JOBS as usize,
        "12 results gathered from the pool",
    )?;
    for r in &results {
        check(
            r.worker == r.id as usize % POOL_SIZE,
            "each job was handled by its round-robin worker",
        )?;
        check(
            r.steps == collatz_steps(u64::from(r.id) + 20),
            "each result is correct",
        )?;
    }
    check(peak == POOL_SIZE, "all 4 workers worked at the same time")?;
    Ok(())
}

// ---- (c) fan-out / fan-in: a topic with 3 subscribers and an aggregator ------------------------

const TOPIC: &str = "readings";

/// What is published on the topic (`Clone`: every subscriber gets a copy).
#[derive(Debug, Clone)]
enum Feed {
    Reading(i64),
    End,
}

impl Message for Feed {
    type Reply = ();
}

/// What the aggregator receives.
enum AggregatorMsg {
    Answer {
        from: &'static str,
        value: i64,
    },
    /// An `ask`: all answers, once every subscriber has sent one.
    Collect,
}

impl Message for AggregatorMsg {
    type Reply = Vec<(&'static str, i64)>;
}

/// A statistic of the readings: its name and how to compute it.
type Statistic = (&'static str, fn(&[i64]) -> i64);

const STATISTICS: [Statistic; 3] = [
    ("min", |v| v.iter().copied().min().unwrap_or_default()),
    ("max", |v| v.iter().copied().max().unwrap_or_default()),
    ("mean", |v| {
        v.iter().sum::<i64>() / i64::try_from(v.len()).unwrap_or(i64::MAX).max(1)
    }),
];

/// A subscriber computing one statistic of the readings.
struct Analyst {
    statistic: Statistic,
    values: Vec<i64>,
    aggregator: ActorRef<AggregatorMsg>,
}

impl Actor for Analyst {
    type Message = Feed;
    type Error = Downstream;

    async fn handle_message<B: MessageBroker<Feed>>(
        &mut self,
        msg: Feed,
        _ctx: &mut ActorContext<Feed, B>,
    ) -> Result<(), Downstream> {
        match msg {
            Feed::Reading(v) => self.values.push(v),
            Feed::End => {
                let answer = AggregatorMsg::Answer {
                    from: self.statistic.0,
                    value: (self.statistic.1)(&self.values),
                };
                self.aggregator.tell(answer).await.map_err(|_| Downstream)?;
            }
        }
        Ok(())
    }
}

/// Collects one answer per subscriber.
struct Aggregator {
    expected: usize,
    answers: Vec<(&'static str, i64)>,
    waiting: Option<ReplyHandle<Vec<(&'static str, i64)>>>,
}

impl Actor for Aggregator {
    type Message = AggregatorMsg;
    type Error = std::convert::Infallible;

    async fn handle_message<B: MessageBroker<AggregatorMsg>>(
        &mut self,
        msg: AggregatorMsg,
        ctx: &mut ActorContext<AggregatorMsg, B>,
    ) -> Result<(), Self::Error> {
        match msg {
            AggregatorMsg::Answer { from, value } => {
                println!("    aggregator: {from} = {value}");
                self.answers.push((from, value));
            }
            AggregatorMsg::Collect => self.waiting = ctx.take_reply(),
        }
        if self.answers.len() == self.expected
            && let Some(waiting) = self.waiting.take()
        {
            let mut answers = self.answers.clone();
            answers.sort_unstable();
            waiting.send(answers);
        }
        Ok(())
    }
}

async fn fan_out_fan_in(system: &ActorSystem) -> Result<(), Box<dyn Error>> {
    println!("\n== (c) fan-out / fan-in: topic {TOPIC:?}, 3 subscribers, 1 aggregator ==");
    let aggregator = system
        .spawn(Aggregator {
            expected: STATISTICS.len(),
            answers: Vec::new(),
            waiting: None,
        })
        .await?;
    let broker = system.broker::<Feed>();
    for statistic in STATISTICS {
        let analyst = system
            .spawn(Analyst {
                statistic,
                values: Vec::new(),
                aggregator: aggregator.clone(),
            })
            .await?;
        broker.subscribe(TOPIC.into(), analyst).await;
    }
    println!(
        "  {} subscribers on {TOPIC:?}",
        broker.subscriber_count(TOPIC)
    );

    let readings = [12, 7, 30, 18, 3];
    let mut delivered = 0;
    for reading in readings {
        let report = broker.publish(TOPIC, Feed::Reading(reading)).await?;
        println!(
            "  -> publish Reading({reading}): delivered to {}, dropped {}",
            report.delivered, report.dropped
        );
        delivered += report.delivered;
    }
    let report = broker.publish(TOPIC, Feed::End).await?;
    delivered += report.delivered;
    println!(
        "  -> publish End: delivered to {} (each subscriber now answers the aggregator)",
        report.delivered
    );

    let answers = aggregator.ask(AggregatorMsg::Collect, ASK_TIMEOUT).await?;
    println!("  -> ask aggregator Collect: {answers:?}");
    check(delivered == 18, "6 publishes x 3 subscribers delivered")?;
    check(
        answers == [("max", 30), ("mean", 14), ("min", 3)],
        "max 30, mean 14, min 3",
    )?;
    Ok(())
}

// ---- (d) ordered start-up under a supervisor ---------------------------------------------------

/// A stage of the supervised pipeline; it only needs a lifecycle here.
struct Ping;

impl Message for Ping {
    type Reply = ();
}

/// The next stage is not running: a stage cannot start without it.
#[derive(Debug, thiserror::Error)]
#[error("{0} is not running yet")]
struct MissingStage(&'static str);

type Log = Arc<Mutex<Vec<String>>>;

fn log(log: &Log, line: String) {
    println!("    {line}");
    if let Ok(mut log) = log.lock() {
        log.push(line);
    }
}

/// A supervised stage that needs the stage it feeds to be running already.
struct Stage {
    name: &'static str,
    feeds: Option<&'static str>,
    log: Log,
}

impl Actor for Stage {
    type Message = Ping;
    type Error = MissingStage;

    async fn pre_start<B: MessageBroker<Ping>>(
        &mut self,
        ctx: &mut ActorContext<Ping, B>,
    ) -> Result<(), MissingStage> {
        if let Some(next) = self.feeds {
            ctx.system()
                .lookup::<Ping>(next)
                .ok_or(MissingStage(next))?;
            log(
                &self.log,
                format!("pre_start {} (found {next} running)", self.name),
            );
        } else {
            log(&self.log, format!("pre_start {}", self.name));
        }
        Ok(())
    }

    async fn handle_message<B: MessageBroker<Ping>>(
        &mut self,
        _msg: Ping,
        _ctx: &mut ActorContext<Ping, B>,
    ) -> Result<(), MissingStage> {
        Ok(())
    }

    async fn post_stop<B: MessageBroker<Ping>>(
        &mut self,
        _ctx: &mut ActorContext<Ping, B>,
        reason: &StopReason,
    ) {
        log(&self.log, format!("post_stop {} ({reason})", self.name));
    }
}

fn stage(name: &'static str, feeds: Option<&'static str>, log: &Log) -> ChildSpec {
    let log = Arc::clone(log);
    ChildSpec::actor(name, move || Stage {
        name,
        feeds,
        log: Arc::clone(&log),
    })
}

async fn ordered_startup(system: &ActorSystem) -> Result<(), Box<dyn Error>> {
    println!("\n== (d) ordered start-up: children start in order, stop in reverse ==");
    let lines: Log = Arc::default();
    let tree = SupervisorNode::builder("ordered")
        .child(stage("d-sink", None, &lines))
        .child(stage("d-transform", Some("d-sink"), &lines))
        .child(stage("d-source", Some("d-transform"), &lines))
        .build();
    println!("  -> start supervisor `ordered` (children: d-sink, d-transform, d-source)");
    let sup = system.start_supervisor(tree).await?;
    let running: Vec<String> = sup.children().await?.into_iter().map(|c| c.id).collect();
    println!("  running: {running:?}");
    println!("  -> stop supervisor `ordered`");
    let reason = sup.stop().await;
    println!("  supervisor stopped: {reason}");

    let lines = lines.lock().map(|l| l.clone()).unwrap_or_default();
    let expected = [
        "pre_start d-sink",
        "pre_start d-transform (found d-sink running)",
        "pre_start d-source (found d-transform running)",
        "post_stop d-source (stopped normally)",
        "post_stop d-transform (stopped normally)",
        "post_stop d-sink (stopped normally)",
    ];
    check(
        lines == expected,
        "start order sink, transform, source; stop order reversed",
    )?;
    check(
        reason == StopReason::Normal,
        "the supervisor stopped normally",
    )?;
    Ok(())
}

// ---- (e) error strategies and the dead-letter queue --------------------------------------------

#[derive(Debug)]
enum Order {
    Valid(u32),
    Invalid(u32),
    /// An `ask`: (accepted, rejected) so far.
    Summary,
}

impl Message for Order {
    type Reply = (u32, u32);
}

#[derive(Debug, thiserror::Error)]
#[error("order {0} is invalid")]
struct InvalidOrder(u32);

/// Takes orders; `on_invalid` is its error strategy: what an invalid order means.
struct OrderDesk {
    name: &'static str,
    on_invalid: ErrorAction,
    accepted: u32,
    rejected: u32,
}

impl OrderDesk {
    fn new(name: &'static str, on_invalid: ErrorAction) -> Self {
        Self {
            name,
            on_invalid,
            accepted: 0,
            rejected: 0,
        }
    }
}

impl Actor for OrderDesk {
    type Message = Order;
    type Error = InvalidOrder;

    async fn handle_message<B: MessageBroker<Order>>(
        &mut self,
        msg: Order,
        ctx: &mut ActorContext<Order, B>,
    ) -> Result<(), InvalidOrder> {
        match msg {
            Order::Valid(n) => {
                self.accepted += 1;
                println!("    {}: order {n} accepted", self.name);
            }
            Order::Invalid(n) => return Err(InvalidOrder(n)),
            Order::Summary => {
                ctx.reply((self.accepted, self.rejected));
            }
        }
        Ok(())
    }

    fn on_error<B: MessageBroker<Order>>(
        &mut self,
        error: &InvalidOrder,
        _ctx: &mut ActorContext<Order, B>,
    ) -> ErrorAction {
        self.rejected += 1;
        println!(
            "    {}: {error} -> ErrorAction::{:?}",
            self.name, self.on_invalid
        );
        self.on_invalid
    }

    async fn post_stop<B: MessageBroker<Order>>(
        &mut self,
        _ctx: &mut ActorContext<Order, B>,
        reason: &StopReason,
    ) {
        println!("    {}: post_stop ({reason})", self.name);
    }
}

async fn error_strategies(system: &ActorSystem) -> Result<(), Box<dyn Error>> {
    println!("\n== (e) error strategies ==");
    check(
        system.dead_letters().total() == 0,
        "no dead letters before section (e)",
    )?;

    println!("  -- stop on first error: ErrorAction::Stop + RestartPolicy::Transient --");
    let tree = SupervisorNode::builder("desks")
        .child(
            ChildSpec::actor("strict-desk", || {
                OrderDesk::new("strict-desk", ErrorAction::Stop)
            })
            .restart(RestartPolicy::Transient),
        )
        .build();
    let sup = system.start_supervisor(tree).await?;
    let strict = system
        .lookup::<Order>("strict-desk")
        .ok_or("the supervisor did not register strict-desk")?;
    let orders = [
        Order::Valid(1),
        Order::Invalid(2),
        Order::Valid(3),
        Order::Valid(4),
    ];
    println!("  -> tell {orders:?}");
    for order in orders {
        strict.tell(order).await?;
    }
    for _ in 0..500 {
        if !strict.is_alive() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    check(!strict.is_alive(), "strict-desk stopped for good")?;
    let children = sup.children().await?;
    println!(
        "  supervisor `desks` now has {} child(ren): a Transient child that stopped normally is not restarted",
        children.len()
    );
    check(children.is_empty(), "strict-desk was not restarted")?;
    match strict.tell(Order::Valid(5)).await {
        Err(SendError::Stopped(order)) => {
            println!(
                "  -> tell Valid(5): refused, the actor has stopped; {order:?} is handed back"
            );
        }
        other => return Err(format!("expected SendError::Stopped, got {other:?}").into()),
    }

    println!("  -- continue and log: ErrorAction::Resume --");
    let lenient = system
        .spawn_named(
            "lenient-desk",
            OrderDesk::new("lenient-desk", ErrorAction::Resume),
        )
        .await?;
    let orders = [
        Order::Valid(1),
        Order::Invalid(2),
        Order::Valid(3),
        Order::Invalid(4),
        Order::Valid(5),
    ];
    println!("  -> tell {orders:?}");
    for order in orders {
        lenient.tell(order).await?;
    }
    let (accepted, rejected) = lenient.ask(Order::Summary, ASK_TIMEOUT).await?;
    println!("  -> ask lenient-desk Summary: {accepted} accepted, {rejected} rejected and logged");
    check(
        (accepted, rejected) == (3, 2),
        "lenient-desk accepted 3 and logged 2",
    )?;

    println!("  -- the dead-letter queue: what could not be handled, and why --");
    let letters = system.dead_letters().drain();
    let mut seen = Vec::new();
    for letter in &letters {
        let name = letter.recipient_name.as_deref().unwrap_or("?");
        let message = letter
            .message
            .as_ref()
            .and_then(|m| m.downcast_ref::<Order>());
        let shown = message.map_or_else(
            || "consumed by the handler".to_owned(),
            |o| format!("{o:?}"),
        );
        println!("    to {name}: {} ({shown})", letter.reason);
        let kind = match &letter.reason {
            DeadLetterReason::Failed(_) => "failed",
            DeadLetterReason::Stopped => "stopped",
            _ => "other",
        };
        let number = match message {
            Some(Order::Valid(n) | Order::Invalid(n)) => Some(*n),
            _ => None,
        };
        seen.push((name.to_owned(), kind, number));
    }
    let expected = [
        ("strict-desk".to_owned(), "failed", None),
        ("strict-desk".to_owned(), "stopped", Some(3)),
        ("strict-desk".to_owned(), "stopped", Some(4)),
    ];
    check(
        seen == expected,
        "3 dead letters, all strict-desk's: order 2 failed, orders 3 and 4 queued when it stopped",
    )?;
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn Error>> {
    let system = ActorSystem::new();

    pipeline(&system).await?;
    parallel_workers(&system).await?;
    fan_out_fan_in(&system).await?;
    ordered_startup(&system).await?;
    error_strategies(&system).await?;

    println!("\n== graceful shutdown ==");
    let report = system.shutdown().await;
    println!(
        "  ShutdownReport: stopped {}, drained {}, dead_lettered {}, timed_out {:?}",
        report.stopped, report.drained, report.dead_lettered, report.timed_out
    );
    check(report.timed_out.is_empty(), "nothing timed out at shutdown")?;
    check(report.dead_lettered == 0, "no dead letters during shutdown")?;

    println!("composition: OK");
    Ok(())
}
