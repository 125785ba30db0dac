//! Builds the guest components once per test run and loads them into an engine.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use airssys_rt::{ActorRef, ActorSystem};
use airssys_wasm::{ComponentMessage, ComponentTemplate, EngineConfig, WasmEngine};

fn workspace_root() -> PathBuf {
    // At run time first: a test binary built in another checkout sharing the target directory.
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from)
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|p| {
            if p.is_absolute() {
                p
            } else {
                workspace_root().join(p)
            }
        })
        .unwrap_or_else(|| workspace_root().join("target"))
}

/// Builds every guest (release, wasm32-wasip2) once; returns the directory of the .wasm files.
pub(crate) fn guest_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        // `cargo xtask test` builds the guests first and says where.
        if let Some(dir) = std::env::var_os("AIRSSYS_GUEST_DIR") {
            return PathBuf::from(dir);
        }
        let target = target_dir().join("guests");
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .args([
                "build",
                "--release",
                "--target",
                "wasm32-wasip2",
                "--manifest-path",
            ])
            .arg(workspace_root().join("examples/components/Cargo.toml"))
            .arg("--target-dir")
            .arg(&target)
            // Do not inherit the host build's flags (coverage, sanitizers) into the guests.
            .env_remove("RUSTFLAGS")
            .env_remove("CARGO_ENCODED_RUSTFLAGS")
            .status()
            .expect("run cargo to build the guest components");
        assert!(
            status.success(),
            "building the guest components failed (is the wasm32-wasip2 target installed? \
             `rustup target add wasm32-wasip2`, or run `cargo xtask test`)"
        );
        target.join("wasm32-wasip2/release")
    })
}

/// The bytes of guest `name` (crate name, `-` or `_`).
pub(crate) fn guest_bytes(name: &str) -> Vec<u8> {
    let file = guest_dir().join(format!("{}.wasm", name.replace('-', "_")));
    std::fs::read(&file).unwrap_or_else(|e| panic!("read {}: {e}", file.display()))
}

/// An engine for tests: pooling sized for `instances`, a shared precompiled cache so each
/// guest is compiled once per machine, not once per test.
pub(crate) fn engine(instances: u32) -> WasmEngine {
    WasmEngine::new(engine_config(instances)).expect("engine")
}

/// The configuration of [`engine`].
pub(crate) fn engine_config(instances: u32) -> EngineConfig {
    EngineConfig::default()
        .with_max_instances(instances)
        .with_cache_dir(target_dir().join("airssys-test-cache"))
}

pub(crate) fn load(engine: &WasmEngine, name: &str) -> ComponentTemplate {
    engine
        .load(&guest_bytes(name))
        .unwrap_or_else(|e| panic!("load {name}: {e}"))
}

pub(crate) const SEC: Duration = Duration::from_secs(1);

/// Asks `actor` with a text payload; the reply as text.
pub(crate) async fn ask_text(
    actor: &ActorRef<ComponentMessage>,
    text: &str,
) -> Result<String, airssys_wasm::ComponentError> {
    let reply = actor
        .ask(
            ComponentMessage::deliver("test", text.as_bytes().to_vec()),
            SEC * 10,
        )
        .await
        .expect("ask delivered and answered")?;
    Ok(String::from_utf8(reply.unwrap_or_default()).expect("utf-8 reply"))
}

/// Yields until `cond` holds (bounded).
pub(crate) async fn eventually(mut cond: impl FnMut() -> bool) {
    for _ in 0..5_000 {
        if cond() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    panic!("condition not reached");
}

pub(crate) fn system() -> ActorSystem {
    ActorSystem::builder().dead_letter_capacity(10_000).build()
}
