//! `cargo xtask loadtest [--duration SECS] [--connections N] [--out FILE]`: the ingress load
//! test of SPEC §5 / the host issue, with a real HTTP load generator (`wrk`).
//!
//! Steps:
//! 1. install `wrk` (apt-get) when it is missing; build the guests and, in release, the
//!    `airssys` binary and the `ingress-floor` binary (benches crate);
//! 2. start `airssys run examples/host/demo.toml --listen 127.0.0.1:0` and
//!    `ingress-floor echo.wasm 127.0.0.1:0` (a plain axum handler calling the same echo
//!    component directly through raw wasmtime: the floor);
//! 3. for each, a 2 s warm-up, then `wrk -t1 -cN -dSECS --latency` POSTing 16 bytes to
//!    `/components/echo`, floor and airssys alternating, twice each; both servers and wrk share
//!    the machine's cores (loopback only);
//! 4. print one markdown table (requests/s, p50, p99, ratio to the floor) with the machine and
//!    the command to repeat it; `--out FILE` also writes it there.
//!
//! Targets (host issue): airssys ≥ 0.8× the floor's throughput, p99 under 5 ms.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use anyhow::{Context, Result, bail};

use crate::{demo, guests, test, util};

/// Rounds of floor-then-airssys runs; the table also shows their median.
const ROUNDS: usize = 3;

/// Options of one load test.
struct Options {
    duration: u32,
    connections: u32,
    out: Option<PathBuf>,
}

/// One wrk run's figures.
#[derive(Debug, Clone, Copy, PartialEq)]
struct WrkResult {
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
    errors: u64,
}

fn parse_args(args: &[&str]) -> Result<Options> {
    let mut o = Options {
        duration: 10,
        connections: 16,
        out: None,
    };
    let mut it = args.iter().copied();
    while let Some(arg) = it.next() {
        match arg {
            "--duration" => o.duration = util::flag_value(arg, &mut it)?.parse()?,
            "--connections" => o.connections = util::flag_value(arg, &mut it)?.parse()?,
            "--out" => o.out = Some(PathBuf::from(util::flag_value(arg, &mut it)?)),
            other => bail!("loadtest: unknown argument `{other}`"),
        }
    }
    if o.duration == 0 || o.duration > 120 || o.connections == 0 || o.connections > 1024 {
        bail!("loadtest: --duration must be 1..=120 s and --connections 1..=1024");
    }
    Ok(o)
}

/// A server process killed on drop.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `cmd` and waits for the stdout line that contains `listening on http://ADDR`.
fn start(mut cmd: Command, what: &str) -> Result<(Server, String)> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("could not start {what}"))?;
    let out = child.stdout.take().context("no stdout")?;
    let server = Server(child);
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if let Some(i) = line.find("listening on http://") {
                let _ = tx.send(line[i + "listening on ".len()..].trim().to_owned());
            }
        }
    });
    let base = rx
        .recv_timeout(Duration::from_secs(120))
        .with_context(|| format!("{what} did not print its address within 120 s"))?;
    Ok((server, base))
}

fn ensure_wrk() -> Result<()> {
    let works = Command::new("wrk")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    if works {
        return Ok(());
    }
    util::run_step("apt-get update", Command::new("apt-get").arg("update"))?;
    util::run_step(
        "install wrk",
        Command::new("apt-get")
            .args(["install", "-y", "wrk"])
            .env("DEBIAN_FRONTEND", "noninteractive"),
    )
}

fn lua_script(dir: &Path) -> Result<PathBuf> {
    let path = dir.join("post.lua");
    std::fs::write(
        &path,
        "wrk.method = \"POST\"\nwrk.body = \"0123456789abcdef\"\n",
    )?;
    Ok(path)
}

fn wrk(url: &str, script: &Path, secs: u32, connections: u32) -> Result<WrkResult> {
    let mut cmd = Command::new("wrk");
    cmd.args([
        "-t1".to_owned(),
        format!("-c{connections}"),
        format!("-d{secs}s"),
        "--latency".to_owned(),
        "-s".to_owned(),
    ])
    .arg(script)
    .arg(url);
    let out = util::capture(&mut cmd)?;
    parse_wrk(&out).with_context(|| format!("unexpected wrk output:\n{out}"))
}

/// Milliseconds from a wrk duration (`812.00us`, `1.23ms`, `2.00s`).
fn wrk_ms(text: &str) -> Option<f64> {
    let t = text.trim();
    let (num, mult) = if let Some(n) = t.strip_suffix("us") {
        (n, 0.001)
    } else if let Some(n) = t.strip_suffix("ms") {
        (n, 1.0)
    } else if let Some(n) = t.strip_suffix('s') {
        (n, 1000.0)
    } else {
        return None;
    };
    num.parse::<f64>().ok().map(|v| v * mult)
}

fn parse_wrk(out: &str) -> Option<WrkResult> {
    let field = |prefix: &str| {
        out.lines()
            .find_map(|l| l.trim().strip_prefix(prefix).map(str::trim))
    };
    let rps = field("Requests/sec:")?.parse().ok()?;
    let p50_ms = wrk_ms(field("50%")?)?;
    let p99_ms = wrk_ms(field("99%")?)?;
    let errors = out
        .lines()
        .find_map(|l| l.trim().strip_prefix("Non-2xx or 3xx responses:"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0);
    Some(WrkResult {
        rps,
        p50_ms,
        p99_ms,
        errors,
    })
}

/// Entry point: `cargo xtask loadtest`.
pub(crate) fn run(args: &[&str]) -> Result<()> {
    let o = parse_args(args)?;
    ensure_wrk()?;
    test::ensure_wasm_target()?;
    guests::build()?;
    let guest_dir = guests::component_dir()?;
    util::run_step(
        "build release binaries",
        &mut util::cargo(&[
            "build",
            "--release",
            "-p",
            "airssys-host",
            "--bin",
            "airssys",
            "-p",
            "airssys-benches",
            "--bin",
            "ingress-floor",
        ]),
    )?;
    let release = guests::main_target_dir()?.join("release");
    let scratch = guests::main_target_dir()?.join("loadtest");
    std::fs::create_dir_all(&scratch)?;
    let script = lua_script(&scratch)?;

    let mut host_cmd = Command::new(release.join("airssys"));
    host_cmd
        .arg("run")
        .arg(util::workspace_root().join(demo::DEMO_MANIFEST))
        .args(["--listen", "127.0.0.1:0"])
        .env(guests::GUEST_DIR_ENV, &guest_dir)
        .env("AIRSSYS_STATE_DIR", &scratch)
        .env("RUST_LOG", "warn");
    let (_host, host_base) = start(host_cmd, "airssys")?;
    let mut floor_cmd = Command::new(release.join("ingress-floor"));
    floor_cmd
        .arg(guest_dir.join("echo.wasm"))
        .arg("127.0.0.1:0");
    let (_floor, floor_base) = start(floor_cmd, "ingress-floor")?;
    let host_url = format!("{host_base}/components/echo");
    let floor_url = format!("{floor_base}/components/echo");

    println!("==> warm-up (2 s each)");
    wrk(&floor_url, &script, 2, o.connections)?;
    wrk(&host_url, &script, 2, o.connections)?;
    let mut floor = Vec::new();
    let mut ours = Vec::new();
    for round in 1..=ROUNDS {
        println!(
            "==> round {round}: floor, then airssys ({} s each)",
            o.duration
        );
        floor.push(wrk(&floor_url, &script, o.duration, o.connections)?);
        ours.push(wrk(&host_url, &script, o.duration, o.connections)?);
    }
    let report = render(&o, &floor, &ours)?;
    println!("{report}");
    if let Some(out) = &o.out {
        std::fs::write(out, &report).with_context(|| format!("writing {}", out.display()))?;
    }
    Ok(())
}

fn render(o: &Options, floor: &[WrkResult], ours: &[WrkResult]) -> Result<String> {
    let cpus = std::thread::available_parallelism().map_or(0, std::num::NonZero::get);
    let rustc = util::capture(Command::new("rustc").arg("--version")).unwrap_or_default();
    let date =
        util::capture(Command::new("date").args(["-u", "+%Y-%m-%d %H:%M UTC"])).unwrap_or_default();
    let mut s = String::new();
    s.push_str("# Ingress load test\n\n");
    s.push_str(&format!(
        "- Date: {}\n- Machine: {cpus} CPUs (available_parallelism), server, floor and wrk on the same cores, loopback\n- Compiler: {}\n- Load: `wrk -t1 -c{} -d{}s --latency`, POST of 16 bytes to `/components/echo`, {ROUNDS} rounds (floor then airssys, alternating), after a 2 s warm-up of each\n- airssys: `airssys run examples/host/demo.toml` (release), ingress → `ask` → echo component → reply; tokio multi-thread runtime with one worker per CPU\n- floor: `ingress-floor` (benches crate, release): a plain axum handler calling the same echo component directly (one raw wasmtime instance behind a mutex, same engine config), same runtime\n- Repeat: `cargo xtask loadtest --duration {} --connections {}`\n\n",
        date.trim(),
        rustc.trim(),
        o.connections,
        o.duration,
        o.duration,
        o.connections
    ));
    s.push_str("| round | floor req/s | airssys req/s | airssys/floor throughput | floor p50 / p99 | airssys p50 / p99 | non-2xx (floor / airssys) |\n|---|---:|---:|---:|---:|---:|---:|\n");
    for (i, (f, a)) in floor.iter().zip(ours).enumerate() {
        s.push_str(&format!(
            "| {} | {:.0} | {:.0} | {:.2}× | {:.2} / {:.2} ms | {:.2} / {:.2} ms | {} / {} |\n",
            i + 1,
            f.rps,
            a.rps,
            a.rps / f.rps,
            f.p50_ms,
            f.p99_ms,
            a.p50_ms,
            a.p99_ms,
            f.errors,
            a.errors
        ));
    }
    let median = |v: Vec<f64>| {
        let mut v = v;
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let ratios: Vec<f64> = floor.iter().zip(ours).map(|(f, a)| a.rps / f.rps).collect();
    s.push_str(&format!(
        "| median | {:.0} | {:.0} | {:.2}× | — / {:.2} ms | — / {:.2} ms | |\n",
        median(floor.iter().map(|r| r.rps).collect()),
        median(ours.iter().map(|r| r.rps).collect()),
        median(ratios),
        median(floor.iter().map(|r| r.p99_ms).collect()),
        median(ours.iter().map(|r| r.p99_ms).collect()),
    ));
    s.push_str("\nTargets: airssys ≥ 0.8× the floor's throughput, p99 under 5 ms. Both servers and wrk share the two cores, so a round's figures move with whatever else the machine does; compare within a round.\n");
    if ours.iter().any(|r| r.errors > 0) {
        bail!("airssys answered non-2xx under load:\n{s}");
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrk_output_is_parsed() {
        let out = "Running 10s test @ http://127.0.0.1:1/components/echo
  1 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   812.00us  100.00us   5.00ms   90.00%
  Latency Distribution
     50%  790.00us
     75%  850.00us
     90%  900.00us
     99%    1.25ms
  190000 requests in 10.00s, 20.00MB read
Requests/sec:  19000.12
Transfer/sec:      2.00MB
";
        let r = parse_wrk(out).unwrap();
        assert!((r.rps - 19000.12).abs() < 1e-6);
        assert!((r.p50_ms - 0.79).abs() < 1e-9);
        assert!((r.p99_ms - 1.25).abs() < 1e-9);
        assert_eq!(r.errors, 0);
        assert!(parse_wrk("nonsense").is_none());
        assert_eq!(wrk_ms("2.00s"), Some(2000.0));
    }
}
