//! `cargo xtask demo`: runs the project's main job so a new user sees it work.
//!
//! Until the `airssys` host binary exists, the main job is the `components` example: a set of
//! WebAssembly components (echo, a pipeline, a counter upgraded live, a component that traps
//! and is restarted, one denied a capability) under supervision. It needs the guest
//! components, so they are built first (installing the `wasm32-wasip2` target if missing).

use anyhow::{Context, Result};

use crate::{guests, test, util};

/// Entry point: `cargo xtask demo`.
pub(crate) fn run(args: &[&str]) -> Result<()> {
    util::no_args("demo", args)?;
    test::ensure_wasm_target()?;
    guests::build().context("building the guest components for the demo")?;
    let dir = guests::component_dir()?;
    let mut cmd = util::cargo(&[
        "run",
        "--release",
        "-p",
        "airssys-examples",
        "--example",
        "components",
    ]);
    cmd.env(guests::GUEST_DIR_ENV, dir);
    util::run_step("demo", &mut cmd)
}
