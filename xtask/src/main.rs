//! `cargo xtask`: project automation for airssys (layer-check, guests, test, demo, bench-report,
//! ci).
//!
//! Hand-parsed arguments, one module per command. Run `cargo xtask help` for the list.

// xtask is a command-line tool: printing to stdout/stderr is its whole user interface.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod bench_report;
mod ci;
mod demo;
mod docs_check;
mod guests;
mod layer_check;
mod loadtest;
mod test;
mod util;

use std::process::ExitCode;

use anyhow::{Result, bail};

pub(crate) const USAGE: &str = "\
usage: cargo xtask <command> [options]

commands:
  layer-check [--metadata FILE]   check crate dependencies against the layer table (SPEC §1)
  guests [--out-dir DIR]          build the guest components (examples/components) and print
                                  their paths; with --out-dir, copy the .wasm files there too
  test                            install what the tests need, build the guest components, run
                                  all tests and the examples
  demo [ARGS...]                  run the demo: the airssys host on examples/host/demo.toml
                                  (release build; ARGS go to `airssys run`)
  bench-report [--quick] [--out FILE]
                                  run the criterion benches and print one markdown table
  loadtest [--duration S] [--connections N] [--out FILE]
                                  wrk against ingress -> echo, beside a plain axum floor
  docs-check                      every Markdown link resolves, included code blocks match their
                                  files, every code block is of a checked kind
  ci                              run the same steps as .ci/run, in the same order
  help                            print this text";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match dispatch(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("xtask: error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// Runs the command named by `args[0]` with the remaining arguments.
pub(crate) fn dispatch<S: AsRef<str>>(args: &[S]) -> Result<()> {
    let args: Vec<&str> = args.iter().map(AsRef::as_ref).collect();
    let Some((cmd, rest)) = args.split_first() else {
        eprintln!("{USAGE}");
        bail!("no command given");
    };
    match *cmd {
        "layer-check" => layer_check::run(rest),
        "guests" => guests::run(rest),
        "test" => test::run(rest),
        "demo" => demo::run(rest),
        "bench-report" => bench_report::run(rest),
        "loadtest" => loadtest::run(rest),
        "docs-check" => docs_check::run(rest),
        "ci" => ci::run(rest),
        "help" | "-h" | "--help" => {
            println!("{USAGE}");
            Ok(())
        }
        other => {
            eprintln!("{USAGE}");
            bail!("unknown command `{other}`")
        }
    }
}
