//! Hostile components are contained: the offender fails within its limit and is restarted, the
//! failure is an error value (and, for denials, an audit record), and the host keeps serving.

use std::path::Path;
use std::time::Duration;

use airssys_rt::{
    ActorSystem, Backoff, MailboxConfig, MailboxPolicy, RestartIntensity, SupervisorNode,
    SupervisorRef,
};
use airssys_wasm::{ComponentError, ComponentLimits, ComponentMessage, ComponentSpec, WasmEngine};
use airssys_wasm_security::{AuditLog, CapabilitySet, FlushPolicy};

use super::support::{self, ask_text, engine, eventually, load, system};

const DEADLINE: Duration = Duration::from_millis(200);
const MEMORY: usize = 16 << 20;

fn limits() -> ComponentLimits {
    ComponentLimits::default()
        .with_deadline(DEADLINE)
        .with_memory_bytes(MEMORY)
}

/// A supervisor with a well-behaved `echo` beside the `hostile` component.
async fn tree(engine: &WasmEngine, hostile: ComponentSpec) -> (ActorSystem, SupervisorRef) {
    let system = system();
    let echo = ComponentSpec::new("echo", load(engine, "echo")).limits(limits());
    let root = system
        .start_supervisor(
            SupervisorNode::builder("root")
                .intensity(RestartIntensity::new(100, Duration::from_secs(60)))
                .child(echo.child_spec())
                .child(hostile.child_spec())
                .build(),
        )
        .await
        .unwrap();
    (system, root)
}

async fn restarts(root: &SupervisorRef, id: &str) -> u32 {
    root.children()
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.id == id)
        .map_or(0, |c| c.restarts)
}

async fn assert_contained(
    engine: &WasmEngine,
    name: &str,
    expect: impl Fn(&ComponentError) -> bool,
) {
    let dir = tempfile::tempdir().unwrap();
    let audit_path = dir.path().join("audit.jsonl");
    let audit = AuditLog::builder()
        .file(&audit_path, FlushPolicy::EveryRecord)
        .build()
        .unwrap();
    let spec = ComponentSpec::new(name, load(engine, name))
        .limits(limits())
        .audit(audit);
    let (system, root) = tree(engine, spec).await;
    let hostile = system.lookup::<ComponentMessage>(name).unwrap();
    let echo = system.lookup::<ComponentMessage>("echo").unwrap();

    let attack = tokio::spawn({
        let hostile = hostile.clone();
        async move { ask_text(&hostile, "go").await }
    });
    // The host keeps serving while the offender misbehaves.
    assert_eq!(ask_text(&echo, "still here").await.unwrap(), "still here");
    let err = attack.await.unwrap().unwrap_err();
    assert!(expect(&err), "{name}: unexpected error {err}");

    // Restarted on a fresh store, and usable again (it misbehaves again, within its limit).
    let mut n = 0;
    while restarts(&root, name).await < 1 {
        n += 1;
        assert!(n < 2_000, "{name} was not restarted");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    assert!(ask_text(&hostile, "again").await.is_err());
    assert_eq!(ask_text(&echo, "after").await.unwrap(), "after");
    system.shutdown().await;

    // The kill is in the audit log too, with the error, and the chain is intact.
    let lines = audit_lines(&audit_path);
    assert!(
        lines
            .iter()
            .any(|l| l.contains("\"failed\"") && l.contains(&err.to_string())),
        "{name}: no audit record of the kill: {lines:#?}"
    );
    assert!(
        airssys_wasm_security::verify(&audit_path)
            .unwrap()
            .is_intact()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_infinite_loop_is_interrupted_at_its_deadline() {
    let engine = engine(16);
    let started = std::time::Instant::now();
    assert_contained(&engine, "spin", |e| {
        *e == ComponentError::DeadlineExceeded(DEADLINE)
    })
    .await;
    // Two spins at 200 ms each; far below this bound unless the deadline did not fire.
    assert!(started.elapsed() < Duration::from_secs(20));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_memory_bomb_hits_its_memory_limit() {
    let engine = engine(16);
    assert_contained(&engine, "memory-bomb", |e| {
        *e == ComponentError::MemoryLimit(MEMORY)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trap_fails_only_that_component() {
    let engine = engine(16);
    assert_contained(&engine, "trap", |e| matches!(e, ComponentError::Trapped(_))).await;
}

/// Rust on wasm32 keeps its frames on a shadow stack in linear memory, which runs off the
/// bottom of memory (an out-of-bounds trap) before wasm's own call stack overflows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stack_overflow_is_a_trap() {
    let engine = engine(16);
    assert_contained(&engine, "stack-overflow", |e| {
        matches!(e, ComponentError::Trapped(t) if t == "stack overflow" || t.contains("out of bounds"))
    })
    .await;
}

/// A trap drops the instance; its pool slot is reset before any instance uses it again. Many
/// trap-and-restart cycles on a pool sized for one instance (two memory slots), so every
/// instance takes a slot an earlier one used, once the decommit batch holding it was flushed
/// for want of a free slot; with the default pool settings and with batching and in-place
/// table zeroing off. Every fresh instance counts its messages from 1, never on from the
/// memory of the instance before it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_instance_after_a_trap_starts_from_fresh_memory() {
    let configs = [
        support::engine_config(1),
        support::engine_config(1)
            .with_decommit_batch(0)
            .with_table_keep_resident(0),
    ];
    for config in configs {
        let label = format!(
            "decommit_batch {}, table_keep_resident {}",
            config.decommit_batch, config.table_keep_resident
        );
        let engine = WasmEngine::new(config).unwrap();
        let system = system();
        let flaky = ComponentSpec::new("flaky", load(&engine, "flaky")).config("every=1000");
        let _root = system
            .start_supervisor(
                SupervisorNode::builder("root")
                    .intensity(RestartIntensity::new(1_000, Duration::from_secs(60)))
                    .child(flaky.child_spec().backoff(Backoff::Immediate))
                    .build(),
            )
            .await
            .unwrap();
        let actor = system.lookup::<ComponentMessage>("flaky").unwrap();
        for cycle in 0..40 {
            for n in 1..=3 {
                assert_eq!(
                    ask_text(&actor, "x").await.unwrap(),
                    format!("ok {n}: x"),
                    "{label}: instance {cycle}"
                );
            }
            let err = ask_text(&actor, "crash").await.unwrap_err();
            assert!(matches!(err, ComponentError::Trapped(_)), "{label}: {err}");
        }
        system.shutdown().await;
    }
}

fn audit_lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reading_or_writing_outside_the_grant_is_denied_and_audited() {
    let engine = engine(16);
    let dir = tempfile::tempdir().unwrap();
    let allowed = dir.path().join("allowed");
    std::fs::create_dir(&allowed).unwrap();
    std::fs::write(allowed.join("f.txt"), b"hello").unwrap();
    std::fs::write(dir.path().join("secret.txt"), b"secret").unwrap();
    let audit_path = dir.path().join("audit.jsonl");
    let audit = AuditLog::builder()
        .file(&audit_path, FlushPolicy::EveryRecord)
        .build()
        .unwrap();
    let caps = CapabilitySet::builder().read_dir(&allowed).build().unwrap();
    let spec = ComponentSpec::new("file-escape", load(&engine, "file-escape"))
        .capabilities(caps)
        .audit(audit)
        .limits(limits());
    let (system, _root) = tree(&engine, spec).await;
    let fe = system.lookup::<ComponentMessage>("file-escape").unwrap();

    let inside = allowed.join("f.txt");
    let report = ask_text(&fe, inside.to_str().unwrap()).await.unwrap();
    assert!(report.starts_with("read:ok:5"), "{report}");
    assert!(report.contains("write:denied"), "read-only grant: {report}");

    let escapes = [
        "/etc/passwd".to_owned(),
        format!("{}/../secret.txt", allowed.display()),
        dir.path().join("secret.txt").display().to_string(),
        format!("{}2/f.txt", allowed.display()),
        "relative/path".to_owned(),
    ];
    for path in &escapes {
        let report = ask_text(&fe, path).await.unwrap();
        assert!(
            report.contains("read:denied") && report.contains("write:denied"),
            "{path}: {report}"
        );
    }
    assert_eq!(
        std::fs::read(dir.path().join("secret.txt")).unwrap(),
        b"secret"
    );
    let lines = audit_lines(&audit_path);
    let denials = lines.iter().filter(|l| l.contains("\"denied\"")).count();
    // One read and one write denial per escape, plus the write to the read-only grant.
    assert_eq!(denials, escapes.len() * 2 + 1, "{lines:#?}");
    assert!(
        airssys_wasm_security::verify(&audit_path)
            .unwrap()
            .is_intact()
    );
    system.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connecting_to_a_host_that_was_not_granted_is_denied_and_audited() {
    let engine = engine(16);
    // A loopback peer that answers what it is sent, reversed.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        while let Ok((mut s, _)) = listener.accept().await {
            let mut buf = Vec::new();
            let _ = s.read_to_end(&mut buf).await;
            buf.reverse();
            let _ = s.write_all(&buf).await;
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let audit_path = dir.path().join("audit.jsonl");
    let audit = AuditLog::builder()
        .file(&audit_path, FlushPolicy::EveryRecord)
        .build()
        .unwrap();
    let caps = CapabilitySet::builder()
        .connect(&format!("127.0.0.1:{port}"))
        .build()
        .unwrap();
    let spec = ComponentSpec::new("net-escape", load(&engine, "net-escape"))
        .capabilities(caps)
        .audit(audit)
        .limits(limits());
    let (system, _root) = tree(&engine, spec).await;
    let ne = system.lookup::<ComponentMessage>("net-escape").unwrap();

    let ok = ask_text(&ne, &format!("127.0.0.1:{port}")).await.unwrap();
    assert!(ok.starts_with("ok:"), "{ok}");
    for target in [
        format!("127.0.0.1:{}", port.wrapping_add(1).max(1)),
        "example.com:80".to_owned(),
        "127.0.0.2:80".to_owned(),
    ] {
        let report = ask_text(&ne, &target).await.unwrap();
        assert!(report.starts_with("denied:"), "{target}: {report}");
    }
    let denials = audit_lines(&audit_path)
        .iter()
        .filter(|l| l.contains("\"denied\"") && l.contains("net.connect"))
        .count();
    assert_eq!(denials, 3);
    system.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flooder_meets_a_full_mailbox_and_the_host_keeps_serving() {
    let engine = engine(16);
    let system = system();
    let sink = ComponentSpec::new("sink", load(&engine, "echo"))
        .mailbox(MailboxConfig::bounded(16).with_policy(MailboxPolicy::Reject));
    let flooder = ComponentSpec::new("flooder", load(&engine, "flooder"))
        .capabilities(CapabilitySet::builder().send_to("sink").build().unwrap())
        .config(b"target=sink".to_vec())
        .limits(limits());
    let intruder = ComponentSpec::new("intruder", load(&engine, "flooder"))
        .config(b"target=sink".to_vec())
        .limits(limits());
    system
        .start_supervisor(
            SupervisorNode::builder("root")
                .child(sink.child_spec())
                .child(flooder.child_spec())
                .child(intruder.child_spec())
                .child(ComponentSpec::new("echo", load(&engine, "echo")).child_spec())
                .build(),
        )
        .await
        .unwrap();
    let flooder = system.lookup::<ComponentMessage>("flooder").unwrap();
    let report = ask_text(&flooder, "flood 5000").await.unwrap();
    let full: u64 = report
        .split_whitespace()
        .find_map(|kv| kv.strip_prefix("full="))
        .unwrap()
        .parse()
        .unwrap();
    assert!(full > 0, "a 16-slot mailbox must fill: {report}");
    // Without a send grant every send is denied.
    let intruder = system.lookup::<ComponentMessage>("intruder").unwrap();
    let report = ask_text(&intruder, "flood 10").await.unwrap();
    assert!(
        report.contains("ok=0") && report.contains("err=10"),
        "{report}"
    );
    let echo = system.lookup::<ComponentMessage>("echo").unwrap();
    assert_eq!(ask_text(&echo, "fine").await.unwrap(), "fine");
    let sink = system.lookup::<ComponentMessage>("sink").unwrap();
    eventually(|| sink.mailbox_depth() == 0).await;
    system.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_fuel_metering_an_infinite_loop_runs_out_of_fuel() {
    let engine = WasmEngine::new(
        airssys_wasm::EngineConfig::default()
            .with_max_instances(8)
            .with_fuel(5_000_000),
    )
    .unwrap();
    let system = system();
    let spin = ComponentSpec::new("spin", load(&engine, "spin"))
        .spawn(&system)
        .await
        .unwrap();
    let echo = ComponentSpec::new("echo", load(&engine, "echo"))
        .spawn(&system)
        .await
        .unwrap();
    // Well-behaved code runs within the same budget.
    assert_eq!(ask_text(&echo, "metered").await.unwrap(), "metered");
    assert_eq!(
        ask_text(&spin, "go").await.unwrap_err(),
        ComponentError::OutOfFuel
    );
    // Unsupervised, the failed component stops; its address reports that at once.
    eventually(|| !spin.is_alive()).await;
    system.shutdown().await;
}

/// With a pool of one instance, every restart after a trap must find the slot free: the old
/// store is released before the supervisor starts the replacement.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_after_a_trap_fits_in_a_pool_of_one() {
    let engine = engine(1);
    let system = system();
    let root = system
        .start_supervisor(
            SupervisorNode::builder("root")
                .intensity(RestartIntensity::new(100, Duration::from_secs(60)))
                .child(ComponentSpec::new("trap", load(&engine, "trap")).child_spec())
                .build(),
        )
        .await
        .unwrap();
    let trap = system.lookup::<ComponentMessage>("trap").unwrap();
    for round in 1..=5 {
        let err = ask_text(&trap, "go").await.unwrap_err();
        assert!(
            matches!(err, ComponentError::Trapped(_)),
            "round {round}: {err}"
        );
        let mut n = 0;
        while restarts(&root, "trap").await < round {
            n += 1;
            assert!(n < 5_000, "round {round}: no restart");
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }
    // Every restart instantiated: none failed for want of a pool slot.
    assert_eq!(restarts(&root, "trap").await, 5);
    system.shutdown().await;
}
