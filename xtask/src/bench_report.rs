//! `cargo xtask bench-report [--quick] [--out FILE]`: runs the criterion benches of
//! `airssys-benches` briefly and prints one markdown table (ours, the raw floor and the peers
//! side by side), with the date, the machine, the compiler and the command to repeat it. It first
//! installs what the benches need, as `cargo xtask test` does (the `wasm32-wasip2` target for the
//! guest components, `nats-server` for the cluster benches).

mod table;
mod targets;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};

use crate::util;

/// Benchmark package whose benches are run.
const PACKAGE: &str = "airssys-benches";

/// Entry point: `cargo xtask bench-report [--quick] [--out FILE]`.
pub(crate) fn run(args: &[&str]) -> Result<()> {
    let mut quick = false;
    let mut out: Option<PathBuf> = None;
    let mut it = args.iter().copied();
    while let Some(arg) = it.next() {
        match arg {
            "--quick" => quick = true,
            "--out" => out = Some(PathBuf::from(util::flag_value(arg, &mut it)?)),
            other => bail!("bench-report: unknown argument `{other}`"),
        }
    }
    let bench_args = bench_args(quick);
    let target_dir = target_dir()?;
    // The component benches build the guests (the `wasm32-wasip2` target) and the cluster
    // benches start a nats-server: installed as for `cargo xtask test` (on stderr, so that
    // stdout holds only the report).
    crate::test::ensure_tools(&util::workspace_root())?;

    // Results older than this run (other benches, earlier runs) are left out of the table.
    let started = SystemTime::now()
        .checked_sub(Duration::from_secs(2))
        .unwrap_or(UNIX_EPOCH);
    let mut cmd = util::cargo(&bench_args);
    // Criterion's progress goes to stderr so that stdout holds only the report.
    cmd.stdout(std::io::stderr());
    eprintln!("==> cargo bench: {}", util::display(&cmd));
    let status = cmd
        .status()
        .with_context(|| format!("could not start `{}`", util::display(&cmd)))?;
    if !status.success() {
        bail!("step `cargo bench` failed: exited with {status}");
    }

    let rows = table::collect(&target_dir, Some(started))?;
    if rows.is_empty() {
        bail!(
            "no benchmark results written by this run under {}",
            target_dir.display()
        );
    }
    let repeat = std::iter::once("cargo xtask bench-report")
        .chain(args.iter().copied())
        .collect::<Vec<_>>()
        .join(" ");
    let report = format!(
        "{}\n{}\n## Targets (SPEC §7)\n\nJudged from the table above, by `cargo xtask bench-report` \
         itself.\n\n{}\n{READING}",
        header(&repeat, &util::display(&util::cargo(&bench_args))),
        table::render(&rows),
        targets::render(&rows)
    );
    print!("{report}");
    if let Some(path) = out {
        write(&path, &report)?;
        eprintln!("bench-report: wrote {}", path.display());
    }
    Ok(())
}

/// How to read the report (no figures: every number on the page comes from the run).
const READING: &str = "\
## Reading these numbers

Only ratios within one run mean anything: on a small VM, cross-thread wake-ups vary several-fold
between runs, and every contestant of a group runs in the same process, one after another, under
the same conditions. Each bench's module doc (`benches/benches/*.rs`) says exactly what is timed
for each contestant. Memory rows come from a counting allocator and repeat exactly. Run the
command two or three times before drawing conclusions.

Three measures have a second floor column. `ask_roundtrip`: `floor_timeout` is the floor with
its reply awaited under `tokio::time::timeout`, as every airssys ask carries a timeout.
`component_spawn`: `floor` drops each batch's stores on a task each, as an actor's store is
dropped by its own task; `floor_same_thread` drops them inline on the spawning task, whose next
instantiations then reuse memory freed on their own core (faster: see
`benches/benches/component.rs`). `registry_lookup`: `floor` is a `DashMap` of small handles
allocated one after another, which stay in cache even at 100 000 names;
`floor_same_handles` is a `DashMap` holding the registered actors' own `ActorRef`s, so cloning
one out touches the actor's address record as the registry's lookup does. Where the two floors
part (100 000 names), the difference is the cost of reaching actors whose memory no longer fits
in the caches, which any registry that hands out a live handle pays; `airssys` against
`floor_same_handles` is the registry's own overhead (see `benches/benches/scalability.rs`).

`component_spawn_alternating` measures what `component_spawn` does, in alternating batches of
256 (airssys, then the floor, 100 times); its row is the median of the rounds' ratios, against
the floor as 1. One batch's time varies up to 2× from one batch to the next on a small VM, for
both contestants alike, which moves criterion's row (one contestant for seconds, then the other)
by about ±0.1 between runs of one build; the paired median moves much less.

`component_restart_after_trap` queues the trapping messages, so each is handled by the instance
made after the previous trap, as the floor makes one instance per trapping call, inline. The two
`component_restart_after_trap_ask*` rows have no target: one ask per trap, awaited before the
next, which adds a round trip to every restart. On two workers that round trip wakes the idle
worker about every second restart (tokio caps its LIFO slot at 3 polls per tick), the pair may
move to the other core, and each pool-slot `madvise` becomes a TLB shootdown; on one worker it
does not (see `benches/benches/component.rs`).
";

/// The `cargo bench` arguments: short runs by default, shorter still with `--quick`.
///
/// `--bench '*'` selects the bench targets only: the package's library would otherwise run
/// under libtest's bench harness, which rejects criterion's options.
fn bench_args(quick: bool) -> Vec<&'static str> {
    let (warm_up, measurement) = if quick { ("0.5", "1") } else { ("1", "3") };
    vec![
        "bench",
        "-p",
        PACKAGE,
        "--bench",
        "*",
        "--",
        "--warm-up-time",
        warm_up,
        "--measurement-time",
        measurement,
    ]
}

/// Cargo's target directory (respects `CARGO_TARGET_DIR`).
fn target_dir() -> Result<PathBuf> {
    let metadata = util::metadata(true)?;
    metadata["target_directory"]
        .as_str()
        .map(PathBuf::from)
        .context("cargo metadata has no target_directory")
}

fn write(path: &Path, text: &str) -> Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

/// The lines above the table: what, when, where, and how to repeat.
fn header(repeat: &str, bench_command: &str) -> String {
    let rustc = util::capture(
        Command::new("rustc")
            .arg("--version")
            .current_dir(util::workspace_root()),
    )
    .map_or_else(|_| "unknown".to_owned(), |v| v.trim().to_owned());
    format!(
        "Benchmark report: criterion mean time per iteration (lower is better); \
         `airssys/floor` is our overhead over the raw floor, `best peer/airssys` above 1× means \
         airssys is faster than the fastest peer.\n\
         \n\
         - Date: {}\n\
         - Machine: {}\n\
         - Compiler: {rustc}\n\
         - Runtime: tokio multi-thread, 2 worker threads, for every bench \
         (`airssys_benches::runtime`); where each contestant's sender runs is in each bench's \
         module doc (`benches/benches/*.rs`)\n\
         - Repeat: `{repeat}` (runs `{bench_command}`)\n",
        utc_now(),
        machine()
    )
}

/// CPU count, CPU model and total memory, from the OS.
fn machine() -> String {
    let cpus = std::thread::available_parallelism().map_or(0, std::num::NonZero::get);
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = proc_field(&cpuinfo, "model name").unwrap_or("unknown CPU");
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let memory = proc_field(&meminfo, "MemTotal")
        .and_then(|v| v.trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or_else(
            || "unknown memory".to_owned(),
            |kib| format!("{:.1} GiB RAM", kib / (1024.0 * 1024.0)),
        );
    format!("{cpus} CPUs (nproc), {model}, {memory}")
}

/// The value of the first `key : value` line of a `/proc` file.
fn proc_field<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    text.lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim() == key)
        .map(|(_, v)| v.trim())
}

/// The current time as `YYYY-MM-DD HH:MM UTC`.
fn utc_now() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    format_utc(secs)
}

fn format_utc(unix_secs: u64) -> String {
    let days = i64::try_from(unix_secs / 86_400).unwrap_or(0);
    let rem = unix_secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        rem / 3600,
        (rem % 3600) / 60
    )
}

/// Days since 1970-01-01 → (year, month, day), proleptic Gregorian (H. Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_dates_are_formatted_from_unix_time() {
        assert_eq!(format_utc(0), "1970-01-01 00:00 UTC");
        assert_eq!(format_utc(951_782_400), "2000-02-29 00:00 UTC");
        assert_eq!(format_utc(1_767_225_599), "2025-12-31 23:59 UTC");
    }

    #[test]
    fn proc_fields_are_found_by_key() {
        let text = "processor\t: 0\nmodel name\t: AMD EPYC 7B13\n";
        assert_eq!(proc_field(text, "model name"), Some("AMD EPYC 7B13"));
        assert_eq!(
            proc_field("MemTotal:  24684084 kB\n", "MemTotal"),
            Some("24684084 kB")
        );
        assert_eq!(proc_field(text, "flags"), None);
    }

    #[test]
    fn repeat_command_is_quoted_for_a_shell() {
        assert_eq!(
            util::display(&util::cargo(&bench_args(true))),
            "cargo bench -p airssys-benches --bench '*' -- --warm-up-time 0.5 --measurement-time 1"
        );
    }

    #[test]
    fn quick_runs_use_shorter_times() {
        assert_eq!(
            bench_args(false).join(" "),
            "bench -p airssys-benches --bench * -- --warm-up-time 1 --measurement-time 3"
        );
        assert_eq!(
            bench_args(true).join(" "),
            "bench -p airssys-benches --bench * -- --warm-up-time 0.5 --measurement-time 1"
        );
    }
}
