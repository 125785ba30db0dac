//! # WebAssembly components as supervised actors
//!
//! Runs the guest components of `examples/components` under an airssys [`SupervisorNode`], from
//! plain Rust code, and checks what each step shows:
//!
//! 1. one [`WasmEngine`] compiles `echo`, `counter`, `counter-v2`, `counter-bad-restore`,
//!    `pipeline-stage` and `trap` once each (digest prefix and size printed);
//! 2. one supervisor holds `echo`, a two-stage pipeline of `pipeline-stage` components ending in
//!    a native Rust actor, `counter`, and `trap` with a short deadline, a 16 MiB memory limit and
//!    an exponential backoff scaled down to milliseconds;
//! 3. Rust asks `echo`; messages pushed into the pipeline come out, transformed twice, at the
//!    native actor (each stage holds a `send` grant for the next one only);
//! 4. `trap` fails: the caller gets [`ComponentError::Trapped`] as a value, the supervisor restarts
//!    the component on a fresh store (a [`RuntimeObserver`] prints each `ChildRestarted`), the
//!    message in flight is dead-lettered, and `echo` keeps answering;
//! 5. hot upgrade: `counter` counts to 5, [`upgrade`] to `counter-v2` keeps the count and answers
//!    `version` = 2; an upgrade to `counter-bad-restore` (whose `restore` refuses the state) is
//!    [`ComponentError::UpgradeRolledBack`] and v2 keeps running with the same count;
//! 6. a component with an [`AuditLog`] tries to send where it was not granted: the guest sees
//!    `denied`, the caller gets the guest's error value, the denial is a record in the audit file,
//!    and [`airssys_wasm_security::verify`] finds the hash chain intact;
//! 7. a graceful `system.shutdown()` and its [`ShutdownReport`](airssys_rt::ShutdownReport).
//!
//! The guests are read from the directory named by `AIRSSYS_GUEST_DIR` (which `cargo xtask test`
//! sets); without it the example builds them first, like the integration tests do (needs the
//! `wasm32-wasip2` target: `rustup target add wasm32-wasip2`). Run it with:
//!
//! ```text
//! cargo xtask guests        # once, or let the example build them
//! cargo run -p airssys-examples --example components
//! ```
//!
//! `cargo xtask test` builds the guests and runs this example with the rest. Set
//! `RUST_LOG=airssys_rt=debug,airssys_wasm=debug` to also see the runtimes' log lines on stderr.
#![allow(
    clippy::print_stdout,
    reason = "an example talks to its reader on stdout"
)]

use std::convert::Infallible;
use std::error::Error;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use airssys_rt::{
    Actor, ActorContext, ActorRef, ActorSystem, Backoff, ChildSpec, DeadLetterReason,
    MessageBroker, RestartIntensity, RuntimeEvent, RuntimeObserver, SupervisorNode, SupervisorRef,
};
use airssys_wasm::{
    ComponentError, ComponentLimits, ComponentMessage, ComponentSpec, ComponentTemplate,
    EngineConfig, WasmEngine, upgrade,
};
use airssys_wasm_security::{AuditLog, AuditRecord, CapabilitySet, FlushPolicy};
use tokio::sync::mpsc;

/// The directory of the built guests, when set (`cargo xtask test` sets it).
const GUEST_DIR_ENV: &str = "AIRSSYS_GUEST_DIR";
/// The Rust target the guests are built for.
const WASM_TARGET: &str = "wasm32-wasip2";
/// How long any `ask` in this example may take (generous: the machine may be loaded).
const ASK_TIMEOUT: Duration = Duration::from_secs(5);
/// The per-call deadline of the hostile `trap` component.
const TRAP_DEADLINE: Duration = Duration::from_millis(200);
/// How many times the counter is incremented before the upgrade.
const COUNT: u64 = 5;

// --- finding the guests ----------------------------------------------------------------------

/// The directory holding `<guest>.wasm`: `$AIRSSYS_GUEST_DIR`, else a fresh build of the guest
/// workspace into `<target>/guests`.
fn guest_dir() -> Result<PathBuf, Box<dyn Error>> {
    if let Some(dir) = std::env::var_os(GUEST_DIR_ENV) {
        println!("  guests: from ${GUEST_DIR_ENV}");
        return Ok(PathBuf::from(dir));
    }
    // At run time first: a binary built in another checkout sharing the target directory.
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from);
    let root = manifest_dir
        .parent()
        .ok_or("the examples crate has no parent directory")?;
    let target = match std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from) {
        Some(dir) if dir.is_absolute() => dir,
        Some(dir) => root.join(dir),
        None => root.join("target"),
    };
    let out = target.join("guests");
    if !wasm_target_installed() {
        return Err(format!(
            "the `{WASM_TARGET}` Rust target is not installed: run `rustup target add \
             {WASM_TARGET}` (or `cargo xtask guests`, which installs it and builds the guests)"
        )
        .into());
    }
    println!("  guests: building examples/components for {WASM_TARGET} (cargo output on stderr)");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo)
        .args([
            "build",
            "--release",
            "--target",
            WASM_TARGET,
            "--manifest-path",
        ])
        .arg(root.join("examples/components/Cargo.toml"))
        .arg("--target-dir")
        .arg(&out)
        // Do not pass the host build's flags (coverage, sanitizers) on to the guests.
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .status()
        .map_err(|e| format!("could not run cargo to build the guests: {e}"))?;
    if !status.success() {
        return Err(format!(
            "building the guests failed ({status}); is the `{WASM_TARGET}` target installed? \
             `rustup target add {WASM_TARGET}`, or run `cargo xtask guests` first"
        )
        .into());
    }
    Ok(out.join(WASM_TARGET).join("release"))
}

/// `true` unless `rustc` says its sysroot has no standard library for [`WASM_TARGET`]. When
/// `rustc` cannot be asked, the build itself will tell.
fn wasm_target_installed() -> bool {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let Ok(output) = Command::new(rustc).args(["--print", "sysroot"]).output() else {
        return true;
    };
    if !output.status.success() {
        return true;
    }
    let sysroot = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    Path::new(&sysroot)
        .join("lib/rustlib")
        .join(WASM_TARGET)
        .is_dir()
}

/// Compiles guest `name` (`-` in the crate name is `_` in the file name).
fn load(engine: &WasmEngine, dir: &Path, name: &str) -> Result<ComponentTemplate, Box<dyn Error>> {
    let file = dir.join(format!("{}.wasm", name.replace('-', "_")));
    let template = engine
        .load_file(&file)
        .map_err(|e| format!("loading guest {name} from {}: {e}", file.display()))?;
    let digest = template.digest().get(..12).unwrap_or(template.digest());
    println!(
        "  {name:<20} sha256 {digest}…  {:>7} bytes",
        template.size()
    );
    Ok(template)
}

// --- the native actor at the end of the pipeline ---------------------------------------------

/// A native Rust actor that speaks [`ComponentMessage`], so components can `send` to it by name.
/// It hands what it receives to `main` through a channel (`main` prints it, so the output does
/// not depend on how the tasks interleave).
struct Sink {
    seen: mpsc::UnboundedSender<(String, String)>,
}

impl Actor for Sink {
    type Message = ComponentMessage;
    type Error = Infallible;

    async fn handle_message<B: MessageBroker<ComponentMessage>>(
        &mut self,
        msg: ComponentMessage,
        _ctx: &mut ActorContext<ComponentMessage, B>,
    ) -> Result<(), Infallible> {
        if let ComponentMessage::Deliver(envelope) = msg {
            let text = String::from_utf8_lossy(&envelope.payload).into_owned();
            // `main` may have stopped listening; the sink does not care.
            let _ = self.seen.send((envelope.sender, text));
        }
        Ok(())
    }
}

// --- the observer ----------------------------------------------------------------------------

/// Records every `ChildRestarted` event. It is called inline on the task that made the restart
/// (the component's own, for an immediate one-for-one restart); `main` prints what it recorded
/// at fixed points, so the output is the same from run to run.
#[derive(Default)]
struct Narrator {
    restarts: AtomicU32,
    lines: Mutex<Vec<String>>,
}

impl RuntimeObserver for Narrator {
    fn on_event(&self, event: &RuntimeEvent<'_>) {
        if let RuntimeEvent::ChildRestarted {
            supervisor,
            child,
            attempt,
            delay,
        } = event
        {
            if let Ok(mut lines) = self.lines.lock() {
                lines.push(format!(
                    "ChildRestarted {supervisor}/{child}: attempt {attempt}, backoff {delay:?}"
                ));
            }
            self.restarts.fetch_add(1, Ordering::Relaxed);
        }
    }
}

impl Narrator {
    /// Waits (bounded) until `n` restarts were reported, then prints what was recorded.
    async fn wait_for_restarts(&self, n: u32) -> Result<(), Box<dyn Error>> {
        for _ in 0..5_000 {
            if self.restarts.load(Ordering::Relaxed) >= n {
                let lines = self
                    .lines
                    .lock()
                    .map(|mut l| std::mem::take(&mut *l))
                    .unwrap_or_default();
                for line in lines {
                    println!("    [observer] {line}");
                }
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        Err(format!("restart #{n} was never reported").into())
    }
}

// --- helpers ---------------------------------------------------------------------------------

/// Fails the example with `what` unless `ok`.
fn check(ok: bool, what: &str) -> Result<(), Box<dyn Error>> {
    if ok {
        Ok(())
    } else {
        Err(format!("self-check failed: {what}").into())
    }
}

/// The actor registered as `name`.
fn actor(system: &ActorSystem, name: &str) -> Result<ActorRef<ComponentMessage>, Box<dyn Error>> {
    system
        .lookup::<ComponentMessage>(name)
        .ok_or_else(|| format!("no component registered as `{name}`").into())
}

/// Asks `actor` with a text payload: the component's reply as text, or its error value.
async fn ask_text(
    actor: &ActorRef<ComponentMessage>,
    text: &str,
) -> Result<Result<String, ComponentError>, Box<dyn Error>> {
    let reply = actor
        .ask(ComponentMessage::deliver("host", text), ASK_TIMEOUT)
        .await?;
    Ok(reply.map(|bytes| String::from_utf8_lossy(&bytes.unwrap_or_default()).into_owned()))
}

/// Asks and expects a reply (not an error value).
async fn ask_ok(actor: &ActorRef<ComponentMessage>, text: &str) -> Result<String, Box<dyn Error>> {
    Ok(ask_text(actor, text).await??)
}

/// How often the supervisor restarted child `id`.
async fn restarts_of(sup: &SupervisorRef, id: &str) -> Result<u32, Box<dyn Error>> {
    Ok(sup
        .children()
        .await?
        .into_iter()
        .find(|c| c.id == id)
        .map_or(0, |c| c.restarts))
}

/// A `pipeline-stage` component named `name`, configured with `config`, allowed to send to
/// `next` only.
fn stage(
    template: &ComponentTemplate,
    name: &str,
    config: &str,
    next: &str,
) -> Result<ComponentSpec, Box<dyn Error>> {
    Ok(ComponentSpec::new(name, template.clone())
        .config(config)
        .capabilities(CapabilitySet::builder().send_to(next).build()?))
}

/// The records of the audit file, in order.
fn audit_records(path: &Path) -> Result<Vec<AuditRecord>, Box<dyn Error>> {
    let text = std::fs::read_to_string(path)?;
    let mut records = Vec::new();
    for line in text.lines() {
        records.push(serde_json::from_str::<AuditRecord>(line)?);
    }
    Ok(records)
}

/// An enum variant's name, lower case (`Denial` -> `denial`, as in the audit file).
fn unquoted(value: &impl std::fmt::Debug) -> String {
    format!("{value:?}").to_lowercase()
}

/// One audit record, without its time and hashes.
fn describe(record: &AuditRecord) -> String {
    let mut text = format!(
        "#{} {} {} {}",
        record.seq,
        record.component,
        unquoted(&record.event),
        record.operation
    );
    if let Some(target) = &record.target {
        let _ = write!(text, " target={target:?}");
    }
    if let Some(decision) = &record.decision {
        let _ = write!(text, " decision={}", unquoted(decision));
    }
    if let Some(reason) = &record.reason {
        let _ = write!(text, " reason={reason:?}");
    }
    if let Some(detail) = &record.detail
        && record.operation != "started"
    {
        // `started` carries the full digest; the rest is short and stable.
        let _ = write!(text, " detail={detail:?}");
    }
    text
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("off"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn Error>> {
    init_tracing();

    // --- 1. one engine, six components ---------------------------------------------------------
    println!("== 1. one engine, components compiled once ==");
    let dir = guest_dir()?;
    // A small pool: this example never has more than a dozen instances alive at once.
    let engine = WasmEngine::new(EngineConfig::default().with_max_instances(32))?;
    let echo_t = load(&engine, &dir, "echo")?;
    let counter_t = load(&engine, &dir, "counter")?;
    let counter_v2_t = load(&engine, &dir, "counter-v2")?;
    let bad_restore_t = load(&engine, &dir, "counter-bad-restore")?;
    let stage_t = load(&engine, &dir, "pipeline-stage")?;
    let trap_t = load(&engine, &dir, "trap")?;
    check(
        counter_t.digest() != counter_v2_t.digest(),
        "counter and counter-v2 are different versions",
    )?;

    // --- 2. the tree ---------------------------------------------------------------------------
    println!("\n== 2. supervisor `components`: echo, stage-a -> stage-b -> sink, counter, trap ==");
    let narrator = Arc::new(Narrator::default());
    let system = ActorSystem::builder()
        .observer(Arc::clone(&narrator) as Arc<dyn RuntimeObserver>)
        .build();
    let (seen_tx, mut seen_rx) = mpsc::unbounded_channel();
    let trap_limits = ComponentLimits::default()
        .with_deadline(TRAP_DEADLINE)
        .with_memory_bytes(16 << 20);
    let trap_backoff = Backoff::Exponential {
        initial: Duration::from_millis(50),
        factor: 2,
        max: Duration::from_millis(200),
        jitter: 0.0,
    };
    let tree = SupervisorNode::builder("components")
        .intensity(RestartIntensity::new(5, Duration::from_secs(10)))
        .child(ComponentSpec::new("echo", echo_t).child_spec())
        .child(ChildSpec::actor("sink", move || Sink {
            seen: seen_tx.clone(),
        }))
        .child(stage(&stage_t, "stage-b", "op=suffix:!;next=sink", "sink")?.child_spec())
        .child(stage(&stage_t, "stage-a", "op=upper;next=stage-b", "stage-b")?.child_spec())
        .child(ComponentSpec::new("counter", counter_t).child_spec())
        .child(
            ComponentSpec::new("trap", trap_t)
                .limits(trap_limits)
                .child_spec()
                .backoff(trap_backoff),
        )
        .build();
    let sup = system.start_supervisor(tree).await?;
    let children = sup.children().await?;
    let names: Vec<&str> = children.iter().map(|c| c.id.as_str()).collect();
    println!("  running: {names:?}");
    println!("  grants: stage-a may send to stage-b, stage-b to sink; the others to nobody");
    println!(
        "  trap: deadline {TRAP_DEADLINE:?}, memory 16 MiB, backoff exponential 50ms x2, max 200ms"
    );
    check(
        names == ["echo", "sink", "stage-b", "stage-a", "counter", "trap"],
        "six children, started in order",
    )?;

    // --- 3. messages ---------------------------------------------------------------------------
    println!("\n== 3. Rust -> components -> a native actor ==");
    let echo = actor(&system, "echo")?;
    let reply = ask_ok(&echo, "hello, component").await?;
    println!("  -> ask echo \"hello, component\": {reply:?}");
    check(reply == "hello, component", "echo answers with its input")?;

    let stage_a = actor(&system, "stage-a")?;
    let inputs = ["hello", "wasm", "actors"];
    for text in inputs {
        println!("  -> tell stage-a {text:?}");
        stage_a
            .tell(ComponentMessage::deliver("host", text))
            .await?;
    }
    let reply = ask_ok(&stage_a, "supervised").await?;
    println!("  -> ask stage-a \"supervised\": {reply:?} (and forwarded)");
    check(reply == "SUPERVISED", "stage-a replies with its own output")?;
    let mut received = Vec::new();
    while received.len() < inputs.len() + 1 {
        let item = tokio::time::timeout(ASK_TIMEOUT, seen_rx.recv())
            .await?
            .ok_or("the sink channel closed")?;
        println!("    [sink] from {}: {:?}", item.0, item.1);
        received.push(item);
    }
    check(
        received
            .iter()
            .map(|(from, text)| format!("{from}:{text}"))
            .eq([
                "stage-b:HELLO!",
                "stage-b:WASM!",
                "stage-b:ACTORS!",
                "stage-b:SUPERVISED!",
            ]),
        "the sink got all four, in order, from stage-b, upper-cased and suffixed",
    )?;
    println!("  the sink got {} messages, in order", received.len());

    // --- 4. a trap -----------------------------------------------------------------------------
    println!("\n== 4. a trap fails only that component; the supervisor restarts it ==");
    let trap = actor(&system, "trap")?;
    for round in 1..=2_u32 {
        match ask_text(&trap, "boom").await? {
            Err(ComponentError::Trapped(why)) => {
                println!("  -> ask trap \"boom\": Err(Trapped({why:?}))");
            }
            other => return Err(format!("expected ComponentError::Trapped, got {other:?}").into()),
        }
        let reply = ask_ok(&echo, "still here").await?;
        println!("  -> ask echo meanwhile: {reply:?}");
        check(reply == "still here", "echo answers while trap restarts")?;
        narrator.wait_for_restarts(round).await?;
        println!("  trap runs again, on a fresh store");
    }
    let trap_restarts = restarts_of(&sup, "trap").await?;
    let echo_restarts = restarts_of(&sup, "echo").await?;
    println!("  supervisor status: trap restarted {trap_restarts} time(s), echo {echo_restarts}");
    check(
        trap_restarts == 2 && echo_restarts == 0,
        "trap restarted twice, echo never",
    )?;
    let letters = system.dead_letters().drain();
    for letter in &letters {
        println!(
            "  dead letter to {}: {}",
            letter.recipient_name.as_deref().unwrap_or("?"),
            letter.reason
        );
    }
    check(
        letters.len() == 2
            && letters.iter().all(|l| {
                l.recipient_name.as_deref() == Some("trap")
                    && matches!(&l.reason, DeadLetterReason::Failed(why) if why.contains("trapped"))
            }),
        "the two messages in flight at the traps were dead-lettered",
    )?;

    // --- 5. hot upgrade ------------------------------------------------------------------------
    println!("\n== 5. hot upgrade: state carried over, a bad version rolled back ==");
    let counter = actor(&system, "counter")?;
    let mut last = String::new();
    for _ in 0..COUNT {
        last = ask_ok(&counter, "inc").await?;
    }
    println!("  -> ask counter \"inc\" x{COUNT}: last reply {last:?}");
    let version = ask_ok(&counter, "version").await?;
    println!("  -> ask counter \"version\": {version:?}");
    check(
        last == COUNT.to_string() && version == "1",
        "counter v1 counted to 5",
    )?;

    upgrade(&counter, counter_v2_t.clone(), ASK_TIMEOUT).await?;
    println!("  -> upgrade counter to counter-v2: Ok");
    let get = ask_ok(&counter, "get").await?;
    let version = ask_ok(&counter, "version").await?;
    println!("  -> ask counter \"get\": {get:?}, \"version\": {version:?}");
    check(
        get == COUNT.to_string() && version == "2",
        "v2 runs with the count of v1",
    )?;

    match upgrade(&counter, bad_restore_t, ASK_TIMEOUT).await {
        Err(ComponentError::UpgradeRolledBack(why)) => {
            println!(
                "  -> upgrade counter to counter-bad-restore: Err(UpgradeRolledBack({why:?}))"
            );
            check(
                why.contains("refusing state"),
                "the rollback names the restore failure",
            )?;
        }
        other => return Err(format!("expected UpgradeRolledBack, got {other:?}").into()),
    }
    let get = ask_ok(&counter, "get").await?;
    let version = ask_ok(&counter, "version").await?;
    println!("  -> ask counter \"get\": {get:?}, \"version\": {version:?} (still v2)");
    check(
        get == COUNT.to_string() && version == "2",
        "after the rollback v2 keeps running with the same count",
    )?;
    check(
        restarts_of(&sup, "counter").await? == 0,
        "neither upgrade restarted the counter",
    )?;

    // --- 6. audit ------------------------------------------------------------------------------
    println!("\n== 6. a denied capability: an error value and an audit record ==");
    let audit_dir = tempfile::tempdir()?;
    let audit_path = audit_dir.path().join("audit.jsonl");
    let audit = AuditLog::builder()
        .tracing(false)
        .file(&audit_path, FlushPolicy::EveryRecord)
        .build()?;
    // Configured to forward to `vault`, but only granted `send` to `sink`.
    let rogue = stage(&stage_t, "rogue", "op=upper;next=vault", "sink")?.audit(audit);
    system
        .start_supervisor(
            SupervisorNode::builder("audited")
                .child(rogue.child_spec())
                .build(),
        )
        .await?;
    println!("  rogue: pipeline-stage with next=vault, granted send to `sink` only");
    let rogue = actor(&system, "rogue")?;
    match ask_text(&rogue, "the secret").await? {
        Err(ComponentError::Guest(why)) => {
            println!("  -> ask rogue \"the secret\": Err(Guest({why:?}))");
            check(
                why.contains("send to `vault` failed: denied"),
                "the guest saw `denied` and reported it",
            )?;
        }
        other => return Err(format!("expected a guest error value, got {other:?}").into()),
    }
    let ok = ask_text(&echo, "fine").await?;
    check(
        ok.as_deref() == Ok("fine"),
        "a denial is no failure: echo unaffected",
    )?;
    check(
        restarts_of(&sup, "echo").await? == 0,
        "nobody was restarted for a denial",
    )?;
    let records = audit_records(&audit_path)?;
    println!("  audit file ({} records):", records.len());
    for record in &records {
        println!("    {}", describe(record));
    }
    let denials: Vec<&AuditRecord> = records
        .iter()
        .filter(|r| r.target.as_deref() == Some("vault"))
        .collect();
    check(
        denials.len() == 1 && denials.iter().all(|r| r.reason.is_some()),
        "exactly one denial, aimed at `vault`, with its reason",
    )?;
    let verified = airssys_wasm_security::verify(&audit_path)?;
    println!(
        "  verify: {} records, chain intact: {}",
        verified.records,
        verified.is_intact()
    );
    check(verified.is_intact(), "the audit chain verifies")?;
    check(
        usize::try_from(verified.records) == Ok(records.len()),
        "verify read every record",
    )?;

    // --- 7. shutdown ---------------------------------------------------------------------------
    println!("\n== 7. graceful shutdown ==");
    let report = system.shutdown().await;
    println!(
        "  ShutdownReport: stopped {}, drained {}, dead_lettered {}, timed_out {:?}",
        report.stopped, report.drained, report.dead_lettered, report.timed_out
    );
    check(report.timed_out.is_empty(), "nothing timed out at shutdown")?;
    check(report.stopped == 2, "two supervisors stopped")?;
    let after = airssys_wasm_security::verify(&audit_path)?;
    let last = audit_records(&audit_path)?
        .last()
        .map(describe)
        .unwrap_or_default();
    println!(
        "  audit after shutdown: {} records, intact: {}; last: {last}",
        after.records,
        after.is_intact()
    );
    check(
        after.is_intact() && after.records > verified.records,
        "the stop is audited too",
    )?;
    check(
        narrator.restarts.load(Ordering::Relaxed) == 2,
        "exactly two restarts in the whole run",
    )?;

    println!("components: OK");
    Ok(())
}
