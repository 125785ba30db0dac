//! `cargo xtask ci`: runs the steps of `.ci/run`, in the same order, so CI can be run locally.
//!
//! `.ci/run` lists the same steps as `step <command>` lines; a test keeps the two in sync.

use std::process::Command;

use anyhow::{Context, Result};

use crate::util;

/// The CI steps, in order, as command lines. `cargo xtask ...` steps run in this process.
pub(crate) const STEPS: &[&[&str]] = &[
    &["cargo", "fmt", "--all", "--", "--check"],
    &[
        "cargo",
        "fmt",
        "--all",
        "--manifest-path",
        "examples/components/Cargo.toml",
        "--",
        "--check",
    ],
    &["cargo", "xtask", "layer-check"],
    &[
        "cargo",
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ],
    &["cargo", "xtask", "test"],
];

/// Entry point: `cargo xtask ci`.
pub(crate) fn run(args: &[&str]) -> Result<()> {
    util::no_args("ci", args)?;
    println!("==> versions");
    println!(
        "{}",
        util::capture(Command::new("rustc").arg("--version"))?.trim()
    );
    println!(
        "{}",
        util::capture(&mut util::cargo(&["--version"]))?.trim()
    );
    for argv in STEPS {
        let line = argv.join(" ");
        match argv {
            ["cargo", "xtask", rest @ ..] => {
                println!("==> {line}");
                crate::dispatch(rest).with_context(|| format!("step `{line}` failed"))?;
            }
            ["cargo", rest @ ..] => util::run_step(&line, &mut util::cargo(rest))?,
            [program, rest @ ..] => {
                let mut cmd = Command::new(program);
                cmd.args(rest).current_dir(util::workspace_root());
                util::run_step(&line, &mut cmd)?;
            }
            [] => {}
        }
    }
    println!("ci: all {} steps passed", STEPS.len());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ci_script_runs_the_same_steps_in_the_same_order() {
        let script = std::fs::read_to_string(util::workspace_root().join(".ci/run")).unwrap();
        let steps: Vec<Vec<&str>> = script
            .lines()
            .filter_map(|l| l.trim().strip_prefix("step "))
            .map(|l| l.split_whitespace().collect())
            .collect();
        let expected: Vec<Vec<&str>> = STEPS.iter().map(|s| s.to_vec()).collect();
        assert_eq!(steps, expected);
    }
}
