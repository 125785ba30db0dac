//! `cargo xtask demo`: runs the project's main job so a new user sees it work.

use anyhow::Result;

use crate::util;

/// Entry point: `cargo xtask demo`.
pub(crate) fn run(args: &[&str]) -> Result<()> {
    util::no_args("demo", args)?;
    // Later: run the `airssys` host binary with a demo manifest instead of this example.
    util::run_step(
        "demo",
        &mut util::cargo(&[
            "run",
            "--release",
            "-p",
            "airssys-examples",
            "--example",
            "composition",
        ]),
    )
}
