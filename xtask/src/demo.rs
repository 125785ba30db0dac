//! `cargo xtask demo [ARGS...]`: runs the project's main job so a new user sees it work.
//!
//! The main job is the `airssys` host running `examples/host/demo.toml`: an echo component, a
//! two-stage pipeline, a component that fails now and then and is restarted, and a counter fed
//! by a topic, with HTTP ingress, `/metrics` and `/health` on 127.0.0.1:8080. It needs the
//! guest components, so they are built first (installing the `wasm32-wasip2` target if
//! missing). The host runs until Ctrl-C (or SIGTERM), then drains and prints its report.
//! Extra arguments go to `airssys run` (for example `--listen 127.0.0.1:9000`).

use anyhow::{Context, Result};

use crate::{guests, test, util};

/// The manifest the demo runs, relative to the workspace root.
pub(crate) const DEMO_MANIFEST: &str = "examples/host/demo.toml";

/// Entry point: `cargo xtask demo [ARGS...]`.
pub(crate) fn run(args: &[&str]) -> Result<()> {
    if args.iter().any(|a| *a == "--help" || *a == "-h") {
        println!(
            "usage: cargo xtask demo [ARGS...]\n\n\
             Builds the guest components and the airssys binary (release; the first build \
             compiles wasmtime and takes minutes), then runs `airssys run {DEMO_MANIFEST} \
             ARGS...` until Ctrl-C.\nExample: cargo xtask demo --listen 127.0.0.1:9000"
        );
        return Ok(());
    }
    test::ensure_wasm_target()?;
    guests::build().context("building the guest components for the demo")?;
    let dir = guests::component_dir()?;
    let root = util::workspace_root();
    let state = guests::main_target_dir()?.join("demo");
    let mut cmd = util::cargo(&[
        "run",
        "--release",
        "-p",
        "airssys-host",
        "--bin",
        "airssys",
        "--",
        "run",
    ]);
    cmd.arg(root.join(DEMO_MANIFEST))
        .args(args)
        .env(guests::GUEST_DIR_ENV, dir)
        .env("AIRSSYS_STATE_DIR", &state);
    println!(
        "==> demo: airssys run {DEMO_MANIFEST} (audit log in {}); Ctrl-C stops it",
        state.join("audit.jsonl").display()
    );
    util::run_step("demo", &mut cmd)
}
