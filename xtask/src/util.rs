//! Helpers shared by the commands: locating the workspace, running cargo, reading metadata.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use serde_json::Value;

/// The workspace root (the parent of the xtask crate).
pub(crate) fn workspace_root() -> PathBuf {
    // Read at run time first (cargo sets it for `run`, `test` and `bench`): two checkouts that
    // share a target directory share this binary, and cargo does not rebuild it for the older
    // one, whose compile-time path would then name the other checkout.
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from);
    manifest_dir
        .parent()
        .map_or_else(|| manifest_dir.clone(), Path::to_path_buf)
}

/// The cargo binary that invoked us (`$CARGO`), or `cargo` from `PATH`.
pub(crate) fn cargo_bin() -> OsString {
    std::env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"))
}

/// A `cargo` command with the given arguments, run from the workspace root.
///
/// Without the variables cargo set for running xtask itself (`CARGO_PKG_NAME=xtask`, ...):
/// build scripts such as ring's declare `rerun-if-env-changed` on them, so inheriting them
/// would make every build through xtask differ from the same `cargo` command typed by hand,
/// and each would rebuild what the other built.
pub(crate) fn cargo(args: &[&str]) -> Command {
    let mut cmd = Command::new(cargo_bin());
    cmd.args(args).current_dir(workspace_root());
    for (key, _) in std::env::vars_os() {
        if key
            .to_str()
            .is_some_and(|k| k.starts_with("CARGO_PKG_") || RUN_ONLY_VARS.contains(&k))
        {
            cmd.env_remove(key);
        }
    }
    cmd
}

/// The variables (besides `CARGO_PKG_*`) that `cargo run` sets for the program it runs.
const RUN_ONLY_VARS: &[&str] = &[
    "CARGO_MANIFEST_DIR",
    "CARGO_MANIFEST_PATH",
    "CARGO_MANIFEST_LINKS",
    "CARGO_CRATE_NAME",
    "CARGO_BIN_NAME",
    "CARGO_PRIMARY_PACKAGE",
];

/// `arg` as a shell would need it: single-quoted when it holds anything but plain characters.
fn shell_quote(arg: &str) -> String {
    let plain = !arg.is_empty()
        && arg
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,@+%".contains(c));
    if plain {
        arg.to_owned()
    } else {
        format!("'{}'", arg.replace('\'', r"'\''"))
    }
}

/// The command line of `cmd`, shell-quoted, for messages (`cargo test --workspace`).
pub(crate) fn display(cmd: &Command) -> String {
    let program = cmd.get_program().to_string_lossy();
    // Show `cargo`, not the full toolchain path that `$CARGO` holds.
    let program = if Path::new(&*program)
        .file_name()
        .is_some_and(|f| f == "cargo")
    {
        "cargo".into()
    } else {
        program
    };
    std::iter::once(program.into_owned())
        .chain(cmd.get_args().map(|a| shell_quote(&a.to_string_lossy())))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Prints a step header, runs `cmd` with inherited stdio and fails naming the step if it fails.
pub(crate) fn run_step(step: &str, cmd: &mut Command) -> Result<()> {
    println!("==> {step}: {}", display(cmd));
    run_checked(step, cmd)
}

/// As [`run_step`], for a setup step (installing a tool): the header and the command's output
/// go to stderr, so that a command whose stdout is its result (`bench-report`) keeps it clean.
pub(crate) fn run_setup_step(step: &str, cmd: &mut Command) -> Result<()> {
    eprintln!("==> {step}: {}", display(cmd));
    run_checked(step, cmd.stdout(std::io::stderr()))
}

/// Runs `cmd` and fails naming the step if it cannot start or exits non-zero.
fn run_checked(step: &str, cmd: &mut Command) -> Result<()> {
    let status = cmd
        .status()
        .with_context(|| format!("step `{step}`: could not start `{}`", display(cmd)))?;
    if !status.success() {
        bail!(
            "step `{step}` failed: `{}` exited with {status}",
            display(cmd)
        );
    }
    Ok(())
}

/// Runs `cmd` and returns its stdout as a string (stderr passes through), failing on non-zero exit.
pub(crate) fn capture(cmd: &mut Command) -> Result<String> {
    let out = cmd
        .stderr(std::process::Stdio::inherit())
        .output()
        .with_context(|| format!("could not start `{}`", display(cmd)))?;
    if !out.status.success() {
        bail!("`{}` exited with {}", display(cmd), out.status);
    }
    String::from_utf8(out.stdout).with_context(|| format!("`{}` printed non-UTF-8", display(cmd)))
}

/// `cargo metadata --format-version 1` (with `--no-deps` when `no_deps`), parsed.
pub(crate) fn metadata(no_deps: bool) -> Result<Value> {
    let mut args = vec!["metadata", "--format-version", "1"];
    if no_deps {
        args.push("--no-deps");
    }
    let json = capture(&mut cargo(&args))?;
    serde_json::from_str(&json).context("parsing `cargo metadata` output")
}

/// Fails if a command that takes no options was given some.
pub(crate) fn no_args(command: &str, rest: &[&str]) -> Result<()> {
    if let Some(first) = rest.first() {
        bail!("`{command}` takes no arguments, got `{first}`");
    }
    Ok(())
}

/// The value following a flag such as `--out`, or an error naming the flag.
pub(crate) fn flag_value<'a>(
    flag: &str,
    it: &mut impl Iterator<Item = &'a str>,
) -> Result<&'a str> {
    it.next().with_context(|| format!("`{flag}` needs a value"))
}
