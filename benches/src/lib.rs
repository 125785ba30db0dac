//! Shared helpers for the airssys criterion benchmarks.
//!
//! Every bench compares the same work done four ways, in the same run:
//!
//! - `airssys`: an [`airssys_rt`] actor ([`Counter`]);
//! - `floor`: the raw tokio building blocks the runtime is made of — a task draining a bounded
//!   `tokio::sync::mpsc` channel, replies over a `oneshot` ([`spawn_floor`]);
//! - `ractor`: a [`ractor`] actor ([`RactorCounter`]);
//! - `kameo`: a [`kameo`] actor ([`KameoCounter`]).
//!
//! All of them count the messages they handle and answer a "get" request with that count, so a
//! bench can prove that every message sent was handled (per-sender FIFO: the reply to a get sent
//! after N tells reports all N).
//!
//! The component benches (`benches/component.rs`) compare airssys-wasm with raw wasmtime only
//! (`airssys` and `floor`); they find the guest components with [`guest_dir`] and write their
//! non-criterion figures with [`write_report`].
//!
//! The runtime of every bench is [`runtime`]: tokio multi-thread with 2 worker threads. In the
//! actor benches (`messaging`, `actor_lifecycle`) each sample's timed loop runs as a task on
//! those workers ([`on_worker`]), for every contestant alike; the other benches say where their
//! sender runs.

pub mod floor;

use std::convert::Infallible;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use airssys_rt::{Actor, ActorContext, ActorRef, Message, MessageBroker};
use futures_util::future::join_all;
use kameo::actor::Spawn;
use ractor::rpc::CallResult;
use ractor::{ActorProcessingErr, RpcReplyPort};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

/// The mailbox capacity used for every bounded mailbox in the benches (the airssys default).
pub const MAILBOX_CAPACITY: usize = airssys_rt::MailboxConfig::DEFAULT_CAPACITY;

/// The timeout of airssys asks in the benches (never reached; an ask must carry one).
pub const ASK_TIMEOUT: Duration = Duration::from_secs(10);

/// The one runtime flavour of all benches: tokio multi-thread, 2 worker threads, timers on.
///
/// # Errors
///
/// When the runtime cannot be built (no threads available).
pub fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    runtime_with_workers(2)
}

/// The same runtime with `workers` worker threads: for a diagnostic row that takes tokio's
/// cross-worker wake-ups out of a measure (see `component_restart_after_trap_one_worker`).
///
/// # Errors
///
/// When the runtime cannot be built (no threads available).
pub fn runtime_with_workers(workers: usize) -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
}

/// Runs one sample's timed loop as a task spawned on `rt` (so on its worker threads) and returns
/// the time the loop measured; the bench thread only waits for the task.
///
/// Actors talk to actors from inside the runtime. A sender in `Runtime::block_on` on criterion's
/// thread instead pays an OS-level cross-thread wake-up (futex) on every reply, which on a small
/// VM varies several-fold between runs and swamps what is measured. Every contestant of a group
/// (airssys, the floor, ractor, kameo) is run through this same helper, so the comparison stays
/// fair.
///
/// # Errors
///
/// When the timed task panicked or was cancelled.
pub fn on_worker<F>(rt: &tokio::runtime::Runtime, timed: F) -> Result<Duration, BenchError>
where
    F: std::future::Future<Output = Duration> + Send + 'static,
{
    rt.block_on(rt.spawn(timed)).map_err(err)
}

/// The error of the benches' helpers: a peer or the runtime refused a message.
#[derive(Debug)]
pub struct BenchError(pub String);

impl std::fmt::Display for BenchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BenchError {}

fn err(what: impl std::fmt::Display) -> BenchError {
    BenchError(what.to_string())
}

// ---------------------------------------------------------------------------------------------
// airssys

/// The airssys bench message: count one, or reply with the count.
#[derive(Debug, Clone)]
pub enum Msg {
    /// Counted by the actor.
    Tick(u64),
    /// Answered with the number of ticks handled so far.
    Get,
}

impl Message for Msg {
    type Reply = u64;
}

/// An airssys actor that counts the ticks it handles.
#[derive(Debug, Default)]
pub struct Counter {
    handled: u64,
}

impl Actor for Counter {
    type Message = Msg;
    type Error = Infallible;

    async fn handle_message<B: MessageBroker<Msg>>(
        &mut self,
        msg: Msg,
        ctx: &mut ActorContext<Msg, B>,
    ) -> Result<(), Infallible> {
        match msg {
            Msg::Tick(n) => {
                std::hint::black_box(n);
                self.handled += 1;
            }
            Msg::Get => {
                ctx.reply(self.handled);
            }
        }
        Ok(())
    }
}

/// Asks every actor for its count, all at once, and returns the sum.
///
/// # Errors
///
/// When an ask fails.
pub async fn airssys_sync(actors: &[ActorRef<Msg>]) -> Result<u64, BenchError> {
    let replies = join_all(actors.iter().map(|a| a.ask(Msg::Get, ASK_TIMEOUT))).await;
    let mut sum = 0;
    for r in replies {
        sum += r.map_err(err)?;
    }
    Ok(sum)
}

// ---------------------------------------------------------------------------------------------
// floor: a tokio task draining a bounded mpsc channel

/// The floor's message: what a hand-written tokio "actor" would carry.
#[derive(Debug)]
pub enum FloorMsg {
    /// Counted by the task.
    Tick(u64),
    /// Answered with the number of ticks handled so far.
    Get(oneshot::Sender<u64>),
}

/// Spawns the floor: a tokio task that tells it has started (over a oneshot, awaited here) and
/// then drains a bounded channel of `capacity`, counting ticks and answering gets. The task ends
/// when every sender is dropped.
pub async fn spawn_floor(capacity: usize) -> (mpsc::Sender<FloorMsg>, JoinHandle<()>) {
    let (tx, mut rx) = mpsc::channel::<FloorMsg>(capacity);
    let (started_tx, started_rx) = oneshot::channel::<()>();
    let join = tokio::spawn(async move {
        let _ = started_tx.send(());
        let mut handled = 0_u64;
        while let Some(msg) = rx.recv().await {
            match msg {
                FloorMsg::Tick(n) => {
                    std::hint::black_box(n);
                    handled += 1;
                }
                FloorMsg::Get(reply) => {
                    let _ = reply.send(handled);
                }
            }
        }
    });
    let _ = started_rx.await;
    (tx, join)
}

/// Sends to a floor task the way a bounded mailbox's `tell` does: `try_send`, and only when the
/// channel is full wait for room with `send().await` (the cheapest correct use of a bounded
/// `mpsc` channel, so the floor is as low as it can be).
///
/// # Errors
///
/// When the task has ended.
pub async fn floor_send(tx: &mpsc::Sender<FloorMsg>, msg: FloorMsg) -> Result<(), BenchError> {
    match tx.try_send(msg) {
        Ok(()) => Ok(()),
        Err(mpsc::error::TrySendError::Full(msg)) => tx.send(msg).await.map_err(err),
        Err(mpsc::error::TrySendError::Closed(_)) => Err(err("the floor task has ended")),
    }
}

/// Asks one floor task for its count.
///
/// # Errors
///
/// When the task has ended.
pub async fn floor_get(tx: &mpsc::Sender<FloorMsg>) -> Result<u64, BenchError> {
    let (reply, rx) = oneshot::channel();
    floor_send(tx, FloorMsg::Get(reply)).await?;
    rx.await.map_err(err)
}

/// Asks every floor task for its count, all at once, and returns the sum.
///
/// # Errors
///
/// When a task has ended.
pub async fn floor_sync(txs: &[mpsc::Sender<FloorMsg>]) -> Result<u64, BenchError> {
    let replies = join_all(txs.iter().map(floor_get)).await;
    let mut sum = 0;
    for r in replies {
        sum += r?;
    }
    Ok(sum)
}

// ---------------------------------------------------------------------------------------------
// ractor

/// The ractor bench message.
#[derive(Debug)]
pub enum RactorMsg {
    /// Counted by the actor.
    Tick(u64),
    /// Answered with the number of ticks handled so far.
    Get(RpcReplyPort<u64>),
}

/// A ractor actor that counts the ticks it handles (state: the count).
#[derive(Debug, Default)]
pub struct RactorCounter;

impl ractor::Actor for RactorCounter {
    type Msg = RactorMsg;
    type State = u64;
    type Arguments = ();

    async fn pre_start(
        &self,
        _myself: ractor::ActorRef<RactorMsg>,
        _args: (),
    ) -> Result<u64, ActorProcessingErr> {
        Ok(0)
    }

    async fn handle(
        &self,
        _myself: ractor::ActorRef<RactorMsg>,
        msg: RactorMsg,
        handled: &mut u64,
    ) -> Result<(), ActorProcessingErr> {
        match msg {
            RactorMsg::Tick(n) => {
                std::hint::black_box(n);
                *handled += 1;
            }
            RactorMsg::Get(reply) => {
                let _ = reply.send(*handled);
            }
        }
        Ok(())
    }
}

/// Spawns a ractor counter (unnamed, unsupervised; ractor mailboxes are unbounded).
///
/// # Errors
///
/// When ractor fails to spawn it.
pub async fn spawn_ractor() -> Result<(ractor::ActorRef<RactorMsg>, JoinHandle<()>), BenchError> {
    ractor::Actor::spawn(None, RactorCounter, ())
        .await
        .map_err(err)
}

/// Calls one ractor actor for its count (`call` without a timeout).
///
/// # Errors
///
/// When the call fails.
pub async fn ractor_get(actor: &ractor::ActorRef<RactorMsg>) -> Result<u64, BenchError> {
    match actor.call(RactorMsg::Get, None).await.map_err(err)? {
        CallResult::Success(n) => Ok(n),
        CallResult::Timeout => Err(err("ractor call timed out")),
        CallResult::SenderError => Err(err("ractor call: reply port dropped")),
    }
}

/// Calls every ractor actor for its count, all at once, and returns the sum.
///
/// # Errors
///
/// When a call fails.
pub async fn ractor_sync(actors: &[ractor::ActorRef<RactorMsg>]) -> Result<u64, BenchError> {
    let replies = join_all(actors.iter().map(ractor_get)).await;
    let mut sum = 0;
    for r in replies {
        sum += r?;
    }
    Ok(sum)
}

// ---------------------------------------------------------------------------------------------
// kameo

/// A kameo actor that counts the ticks it handles.
#[derive(Debug, Default, kameo::Actor)]
pub struct KameoCounter {
    handled: u64,
}

/// The kameo tick message.
#[derive(Debug, Clone, Copy)]
pub struct KTick(pub u64);

/// The kameo get message (answered with the count).
#[derive(Debug, Clone, Copy)]
pub struct KGet;

impl kameo::message::Message<KTick> for KameoCounter {
    type Reply = ();

    async fn handle(
        &mut self,
        KTick(n): KTick,
        _ctx: &mut kameo::message::Context<Self, Self::Reply>,
    ) -> Self::Reply {
        std::hint::black_box(n);
        self.handled += 1;
    }
}

impl kameo::message::Message<KGet> for KameoCounter {
    type Reply = u64;

    async fn handle(
        &mut self,
        _msg: KGet,
        _ctx: &mut kameo::message::Context<Self, Self::Reply>,
    ) -> Self::Reply {
        self.handled
    }
}

/// Spawns a kameo counter with a bounded mailbox of [`MAILBOX_CAPACITY`] (kameo's own default is
/// 64; the benches use the same capacity for every contestant) and waits for its startup.
pub async fn spawn_kameo() -> kameo::actor::ActorRef<KameoCounter> {
    let actor = KameoCounter::spawn_with_mailbox(
        KameoCounter::default(),
        kameo::mailbox::bounded(MAILBOX_CAPACITY),
    );
    actor.wait_for_startup().await;
    actor
}

/// Asks every kameo actor for its count, all at once, and returns the sum.
///
/// # Errors
///
/// When an ask fails.
pub async fn kameo_sync(
    actors: &[kameo::actor::ActorRef<KameoCounter>],
) -> Result<u64, BenchError> {
    let replies = join_all(actors.iter().map(|a| async move { a.ask(KGet).await })).await;
    let mut sum = 0;
    for r in replies {
        sum += r.map_err(err)?;
    }
    Ok(sum)
}

/// Stops kameo actors and waits until they are gone.
pub async fn kameo_stop(actors: &[kameo::actor::ActorRef<KameoCounter>]) {
    for a in actors {
        a.kill();
    }
    for a in actors {
        a.wait_for_shutdown().await;
    }
}

/// Stops ractor actors and waits until they are gone.
pub async fn ractor_stop(actors: Vec<(ractor::ActorRef<RactorMsg>, JoinHandle<()>)>) {
    for (a, _) in &actors {
        a.stop(None);
    }
    for (_, join) in actors {
        let _ = join.await;
    }
}

/// Stops airssys actors (of any message type) and waits until their mailboxes are closed,
/// which happens after their `post_stop` ran.
pub async fn airssys_stop<M: Message>(actors: &[ActorRef<M>]) {
    for a in actors {
        a.stop();
    }
    while actors.iter().any(ActorRef::is_alive) {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// Drops floor senders and waits until their tasks have ended.
pub async fn floor_stop(floors: Vec<(mpsc::Sender<FloorMsg>, JoinHandle<()>)>) {
    let mut joins = Vec::with_capacity(floors.len());
    for (tx, join) in floors {
        drop(tx);
        joins.push(join);
    }
    for join in joins {
        let _ = join.await;
    }
}

// ---------------------------------------------------------------------------------------------
// files: the target directory, the guest components, the JSON reports

/// The directory of the built guest components, when set (`cargo xtask test` sets it).
pub const GUEST_DIR_ENV: &str = "AIRSSYS_GUEST_DIR";

/// The target directory of this build: `CARGO_TARGET_DIR` when it is absolute (benches run in
/// the package directory, so a relative one would point elsewhere), else three levels up from
/// the running `<target>/release/deps/<bench>-<hash>`.
#[must_use]
pub fn target_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from)
        && dir.is_absolute()
    {
        return dir;
    }
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.ancestors().nth(3).map(Path::to_path_buf))
        .unwrap_or_else(|| PathBuf::from("target"))
}

/// The directory holding the guest components (`<guest>.wasm`): `$AIRSSYS_GUEST_DIR` when set,
/// else a release build of the guest workspace `examples/components` for `wasm32-wasip2` into
/// `<target>/guests`, made the way the airssys-wasm tests make it (without the host's
/// `RUSTFLAGS`). Cargo skips the build when the guests are up to date.
///
/// # Errors
///
/// When cargo cannot be started or the build fails (for example the `wasm32-wasip2` target is
/// not installed).
pub fn guest_dir() -> Result<PathBuf, BenchError> {
    if let Some(dir) = std::env::var_os(GUEST_DIR_ENV) {
        return Ok(PathBuf::from(dir));
    }
    // Read at run time first (cargo sets it for `run`, `test` and `bench`): two checkouts that
    // share a target directory share this binary, and cargo does not rebuild it for the older
    // one, whose compile-time path would then name the other checkout.
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from);
    let root = manifest_dir
        .parent()
        .ok_or_else(|| err("the benches crate has no parent directory"))?;
    let out = target_dir().join("guests");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo)
        .args([
            "build",
            "--release",
            "--target",
            "wasm32-wasip2",
            "--manifest-path",
        ])
        .arg(root.join("examples/components/Cargo.toml"))
        .arg("--target-dir")
        .arg(&out)
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .status()
        .map_err(|e| err(format!("could not run cargo to build the guests: {e}")))?;
    if !status.success() {
        return Err(err(format!(
            "building the guest components failed ({status}); is the wasm32-wasip2 target \
             installed? (`rustup target add wasm32-wasip2`, or set ${GUEST_DIR_ENV})"
        )));
    }
    Ok(out.join("wasm32-wasip2").join("release"))
}

/// Writes `json` (pretty) to `<target>/airssys-bench/<file_name>`, where `cargo xtask
/// bench-report` collects it, and returns the path.
///
/// # Errors
///
/// When the directory or the file cannot be written.
pub fn write_report(file_name: &str, json: &serde_json::Value) -> Result<PathBuf, BenchError> {
    let dir = target_dir().join("airssys-bench");
    std::fs::create_dir_all(&dir).map_err(err)?;
    let path = dir.join(file_name);
    let text = serde_json::to_string_pretty(json).map_err(err)?;
    std::fs::write(&path, text + "\n").map_err(err)?;
    Ok(path)
}
