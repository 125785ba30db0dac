//! `cargo xtask test`: the one command that runs every test of the project.
//!
//! Steps, stopping at the first failure and naming it:
//! 1. install what the tests need when it is missing ([`ENSURE`], each behind a marker);
//! 2. build the guest components in `examples/components` when that directory exists
//!    ([`guests::build`]), since host tests load them;
//! 3. `cargo test --workspace` (unit, integration and doc tests), with
//!    [`guests::GUEST_DIR_ENV`] naming the directory of the built components;
//! 4. build and run every example in [`EXAMPLES`] with a timeout (and [`guests::GUEST_DIR_ENV`]
//!    set too, for the examples that run components); each must exit 0, print the line
//!    `<example name>: OK`, and print every line its section of `examples/README.md` shows (see
//!    [`example_output`]).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::{guests, util};
use anyhow::{Context, Result, bail};

mod example_output;

/// A runnable example and the package that declares it.
pub(crate) struct Example {
    /// Cargo package that declares the example.
    pub(crate) package: &'static str,
    /// Example target name; the example prints `<name>: OK` when it succeeds.
    pub(crate) name: &'static str,
}

/// Every runnable example that `cargo xtask test` runs and checks.
pub(crate) const EXAMPLES: &[Example] = &[
    Example {
        package: "airssys-examples",
        name: "supervised_restart",
    },
    Example {
        package: "airssys-examples",
        name: "composition",
    },
    Example {
        package: "airssys-examples",
        name: "components",
    },
];

/// How long one example may run before it is killed.
const EXAMPLE_TIMEOUT: Duration = Duration::from_secs(120);

/// Rust target the guest components are built for.
pub(crate) const WASM_TARGET: &str = "wasm32-wasip2";

/// A tool the tests need, installed only when its marker says it is needed.
struct Ensure {
    what: &'static str,
    needed: fn(&Path) -> Result<bool>,
    ensure: fn() -> Result<()>,
}

/// Setup steps, in order.
const ENSURE: &[Ensure] = &[
    Ensure {
        what: "rustup target wasm32-wasip2 (examples/components exists)",
        needed: has_guest_components,
        ensure: ensure_wasm_target,
    },
    Ensure {
        what: "nats-server (a Cargo.toml of the workspace mentions async-nats)",
        needed: mentions_async_nats,
        ensure: ensure_nats_server,
    },
];

/// Installs what the tests and the benches need ([`ENSURE`]), each only where its marker says
/// so and only if it is missing. Its progress goes to stderr.
pub(crate) fn ensure_tools(root: &Path) -> Result<()> {
    for step in ENSURE {
        if (step.needed)(root)? {
            eprintln!("==> ensure: {}", step.what);
            (step.ensure)().with_context(|| format!("step `ensure {}` failed", step.what))?;
        }
    }
    Ok(())
}

/// Entry point: `cargo xtask test`.
pub(crate) fn run(args: &[&str]) -> Result<()> {
    util::no_args("test", args)?;
    let root = util::workspace_root();
    ensure_tools(&root)?;
    let mut cargo_test = util::cargo(&["test", "--workspace"]);
    let guest_dir = if has_guest_components(&root)? {
        guests::build().context("building the guest components for the host tests")?;
        Some(guests::component_dir()?)
    } else {
        None
    };
    if let Some(dir) = &guest_dir {
        cargo_test.env(guests::GUEST_DIR_ENV, dir);
    }
    util::run_step("cargo test", &mut cargo_test)?;

    let mut build = vec!["build", "--examples"];
    for ex in EXAMPLES {
        if !build.contains(&ex.package) {
            build.extend(["-p", ex.package]);
        }
    }
    util::run_step("build examples", &mut util::cargo(&build))?;
    let readme_path = root.join("examples").join("README.md");
    let readme = std::fs::read_to_string(&readme_path)
        .with_context(|| format!("reading {}", readme_path.display()))?;
    for ex in EXAMPLES {
        let step = format!("example {}", ex.name);
        let mut cmd = util::cargo(&["run", "--quiet", "-p", ex.package, "--example", ex.name]);
        if let Some(dir) = &guest_dir {
            cmd.env(guests::GUEST_DIR_ENV, dir);
        }
        println!("==> {step}: {}", util::display(&cmd));
        let printed = run_checked(&mut cmd, ex.name, EXAMPLE_TIMEOUT)
            .with_context(|| format!("step `{step}` failed"))?;
        check_shown_output(&readme, ex.name, &printed)
            .with_context(|| format!("step `{step}` failed"))?;
    }
    println!(
        "xtask test: all tests passed and {} examples printed OK",
        EXAMPLES.len()
    );
    Ok(())
}

/// Checks the output `examples/README.md` shows for `name` against what it printed (see
/// [`example_output`]).
fn check_shown_output(readme: &str, name: &str, printed: &[String]) -> Result<()> {
    let Some(shown) = example_output::shown_lines(readme, name) else {
        bail!("examples/README.md has no section ## `{name}` with a `text` block of its output");
    };
    let missing = example_output::missing(&shown, printed);
    if !missing.is_empty() {
        bail!(
            "examples/README.md shows {} line(s) of `{name}`'s output that it did not print \
             (update the README or the example):\n{}",
            missing.len(),
            missing.join("\n")
        );
    }
    println!(
        "    examples/README.md: the {} lines shown for `{name}` were printed",
        shown.len()
    );
    Ok(())
}

/// Runs `cmd` with no stdin, streaming its output; succeeds when it exits 0 within `timeout`
/// and printed the line `<name>: OK`, and returns what it printed. The child is killed when the
/// timeout passes.
fn run_checked(cmd: &mut Command, name: &str, timeout: Duration) -> Result<Vec<String>> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .with_context(|| format!("could not start `{}`", util::display(cmd)))?;
    let stdout = child
        .stdout
        .take()
        .context("child stdout was not captured")?;
    let expected = format!("{name}: OK");
    let reader = std::thread::spawn(move || {
        let mut seen = false;
        let mut printed = Vec::new();
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            println!("{line}");
            seen |= line.trim() == expected;
            printed.push(line);
        }
        (seen, printed)
    });
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if Instant::now() >= deadline {
            // Ignore a failure to kill: the child may have exited in between.
            let _ = child.kill();
            let _ = child.wait();
            bail!(
                "`{name}` timed out after {} s and was killed",
                timeout.as_secs()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let (printed_ok, printed) = reader
        .join()
        .map_err(|_| anyhow::anyhow!("output reader thread panicked"))?;
    if !status.success() {
        bail!("`{name}` exited with {status}");
    }
    if !printed_ok {
        bail!("`{name}` exited 0 but did not print the line `{name}: OK`");
    }
    Ok(printed)
}

/// Marker for [`ensure_wasm_target`]: guest components exist.
fn has_guest_components(root: &Path) -> Result<bool> {
    Ok(root.join("examples").join("components").is_dir())
}

/// Marker for [`ensure_nats_server`]: some manifest of the workspace mentions `async-nats`.
fn mentions_async_nats(root: &Path) -> Result<bool> {
    let metadata = util::metadata(true)?;
    let mut manifests = vec![root.join("Cargo.toml")];
    for pkg in metadata["packages"].as_array().into_iter().flatten() {
        if let Some(path) = pkg["manifest_path"].as_str() {
            manifests.push(PathBuf::from(path));
        }
    }
    any_mentions(&manifests, "async-nats")
}

fn any_mentions(files: &[PathBuf], needle: &str) -> Result<bool> {
    for file in files {
        let text =
            std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
        if text.contains(needle) {
            return Ok(true);
        }
    }
    Ok(false)
}

/// True when `program args` can be started and exits 0.
fn tool_works(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Adds the `wasm32-wasip2` rustup target unless it is installed already.
pub(crate) fn ensure_wasm_target() -> Result<()> {
    let mut list = Command::new("rustup");
    list.args(["target", "list", "--installed"])
        .current_dir(util::workspace_root());
    let installed = util::capture(&mut list).context("is rustup installed?")?;
    if installed.lines().any(|l| l.trim() == WASM_TARGET) {
        eprintln!("    {WASM_TARGET} is installed");
        return Ok(());
    }
    let mut add = Command::new("rustup");
    add.args(["target", "add", WASM_TARGET])
        .current_dir(util::workspace_root());
    util::run_setup_step("install wasm target", &mut add)
}

/// Installs `nats-server` with apt-get unless it is on `PATH` already.
fn ensure_nats_server() -> Result<()> {
    if tool_works("nats-server", &["--version"]) {
        eprintln!("    nats-server is installed");
        return Ok(());
    }
    let root = util::capture(Command::new("id").arg("-u")).is_ok_and(|uid| uid.trim() == "0");
    let apt = |args: &[&str]| {
        let mut cmd = if root {
            Command::new("apt-get")
        } else {
            let mut sudo = Command::new("sudo");
            sudo.args(["-n", "apt-get"]);
            sudo
        };
        cmd.args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .stdin(Stdio::null());
        cmd
    };
    util::run_setup_step("apt-get update", &mut apt(&["update"]))?;
    util::run_setup_step(
        "install nats-server",
        &mut apt(&["install", "-y", "nats-server"]),
    )?;
    if !tool_works("nats-server", &["--version"]) {
        bail!("nats-server was installed but `nats-server --version` does not run");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    /// Names of the example targets declared by `package`, from `cargo metadata --no-deps`.
    fn declared_examples(metadata: &Value, package: &str) -> Vec<String> {
        metadata["packages"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|p| p["name"] == package)
            .flat_map(|p| p["targets"].as_array().into_iter().flatten())
            .filter(|t| {
                t["kind"]
                    .as_array()
                    .is_some_and(|k| k.iter().any(|k| k == "example"))
            })
            .filter_map(|t| t["name"].as_str().map(str::to_owned))
            .collect()
    }

    fn sh(script: &str) -> Command {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", script]);
        cmd
    }

    #[test]
    fn example_that_prints_ok_passes() {
        run_checked(
            &mut sh("echo starting; echo 'demo: OK'"),
            "demo",
            Duration::from_secs(10),
        )
        .unwrap();
    }

    #[test]
    fn example_without_ok_line_fails() {
        let err =
            run_checked(&mut sh("echo 'other: OK'"), "demo", Duration::from_secs(10)).unwrap_err();
        assert!(
            err.to_string()
                .contains("did not print the line `demo: OK`"),
            "{err}"
        );
    }

    #[test]
    fn example_exiting_non_zero_fails_even_with_ok_line() {
        let err = run_checked(
            &mut sh("echo 'demo: OK'; exit 3"),
            "demo",
            Duration::from_secs(10),
        )
        .unwrap_err();
        assert!(err.to_string().contains("exited with"), "{err}");
    }

    #[test]
    fn example_running_past_its_timeout_is_killed() {
        let started = Instant::now();
        let err =
            run_checked(&mut sh("exec sleep 30"), "demo", Duration::from_millis(300)).unwrap_err();
        assert!(err.to_string().contains("timed out"), "{err}");
        assert!(started.elapsed() < Duration::from_secs(20));
    }

    #[test]
    fn markers_follow_the_files() {
        let dir = tempfile::tempdir().unwrap();
        assert!(!has_guest_components(dir.path()).unwrap());
        std::fs::create_dir_all(dir.path().join("examples/components")).unwrap();
        assert!(has_guest_components(dir.path()).unwrap());

        let manifest = dir.path().join("Cargo.toml");
        std::fs::write(&manifest, "[dependencies]\ntokio = \"1\"\n").unwrap();
        assert!(!any_mentions(std::slice::from_ref(&manifest), "async-nats").unwrap());
        std::fs::write(
            &manifest,
            "[dependencies]\nasync-nats = { optional = true }\n",
        )
        .unwrap();
        assert!(any_mentions(&[manifest], "async-nats").unwrap());
    }

    #[test]
    fn every_listed_example_is_declared_by_its_package() {
        let metadata = util::metadata(true).unwrap();
        for ex in EXAMPLES {
            let declared = declared_examples(&metadata, ex.package);
            assert!(
                declared.iter().any(|d| d == ex.name),
                "{} is not an example of {} (declared: {declared:?})",
                ex.name,
                ex.package
            );
        }
    }
}
