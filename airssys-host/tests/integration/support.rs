//! Starts the real `airssys` binary on a free loopback port and talks to it over HTTP.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

pub(crate) const ADMIN_TOKEN: &str = "test-admin-token";

pub(crate) fn workspace_root() -> PathBuf {
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

/// The directory of the built guest components (`cargo xtask test` builds them and sets
/// `AIRSSYS_GUEST_DIR`; a plain `cargo test` builds them here once).
pub(crate) fn guest_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
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
            .env_remove("RUSTFLAGS")
            .env_remove("CARGO_ENCODED_RUSTFLAGS")
            .status()
            .expect("run cargo to build the guest components");
        assert!(
            status.success(),
            "building the guest components failed (`rustup target add wasm32-wasip2`, or run \
             `cargo xtask test`)"
        );
        target.join("wasm32-wasip2/release")
    })
}

pub(crate) fn guest(name: &str) -> PathBuf {
    guest_dir().join(format!("{name}.wasm"))
}

pub(crate) fn demo_manifest() -> PathBuf {
    workspace_root().join("examples/host/demo.toml")
}

pub(crate) fn airssys() -> Command {
    Command::new(env!("CARGO_BIN_EXE_airssys"))
}

/// A running `airssys run`; killed on drop if still running.
pub(crate) struct HostProcess {
    child: Child,
    pub(crate) base: String,
    pub(crate) state_dir: tempfile::TempDir,
    stdout: Arc<Mutex<Vec<String>>>,
}

impl HostProcess {
    /// Starts `airssys run manifest --listen 127.0.0.1:0` and waits for its address.
    pub(crate) fn start(manifest: &Path) -> Self {
        Self::start_with(manifest, &[])
    }

    /// As [`start`](Self::start), with more `airssys run` flags (a `--listen` among them is
    /// replaced by the free port).
    pub(crate) fn start_with(manifest: &Path, flags: &[String]) -> Self {
        let mut extra = Vec::new();
        let mut it = flags.iter();
        while let Some(f) = it.next() {
            if f == "--listen" {
                it.next();
            } else if !f.starts_with("--listen=") {
                extra.push(f.clone());
            }
        }
        let state_dir = tempfile::tempdir().unwrap();
        let mut child = airssys()
            .arg("run")
            .arg(manifest)
            .args(["--listen", "127.0.0.1:0", "--log-format", "json"])
            .args(&extra)
            .env("AIRSSYS_GUEST_DIR", guest_dir())
            .env("AIRSSYS_STATE_DIR", state_dir.path())
            .env("AIRSSYS_ADMIN_TOKEN", ADMIN_TOKEN)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start airssys");
        let out = child.stdout.take().unwrap();
        let stdout = Arc::new(Mutex::new(Vec::new()));
        let lines = Arc::clone(&stdout);
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                let addr = line
                    .strip_prefix("airssys: listening on ")
                    .map(|a| a.trim().to_owned());
                // Recorded before the address is announced, so `stdout()` right after `start`
                // holds every line up to and including "listening on".
                lines.lock().unwrap().push(line);
                if let Some(addr) = addr {
                    let _ = tx.send(addr);
                }
            }
        });
        let base = match rx.recv_timeout(Duration::from_secs(120)) {
            Ok(b) => b,
            Err(_) => {
                let _ = child.kill();
                panic!(
                    "airssys did not print its address; stdout: {:?}",
                    stdout.lock().unwrap()
                );
            }
        };
        Self {
            child,
            base,
            state_dir,
            stdout,
        }
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub(crate) fn stdout(&self) -> Vec<String> {
        self.stdout.lock().unwrap().clone()
    }

    /// Sends SIGTERM.
    pub(crate) fn sigterm(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits for the process to exit, at most `limit`.
    pub(crate) fn wait(&mut self, limit: Duration) -> ExitStatus {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                // Let the reader thread take the last lines.
                std::thread::sleep(Duration::from_millis(50));
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "airssys did not exit within {limit:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for HostProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls `probe` every 50 ms until it returns `Some`, at most `limit`.
pub(crate) async fn eventually<T, F, Fut>(limit: Duration, mut probe: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = probe().await {
            return Some(v);
        }
        if Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub(crate) fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

pub(crate) async fn post(c: &reqwest::Client, url: String, body: &'static str) -> (u16, String) {
    let r = c.post(url).body(body).send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// The value of the sample whose line starts with `prefix` (`name{labels}`), 0 if absent.
pub(crate) fn sample(text: &str, prefix: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(prefix)?.trim().parse().ok())
        .unwrap_or(0.0)
}

/// Scrapes `/metrics`, checks that it parses as OpenMetrics, returns the text.
pub(crate) async fn scrape(c: &reqwest::Client, host: &HostProcess) -> String {
    let r = c.get(host.url("/metrics")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let text = r.text().await.unwrap();
    if let Err(e) = openmetrics_parser::openmetrics::parse_openmetrics(&text) {
        panic!("/metrics does not parse as OpenMetrics: {e:?}\n{text}");
    }
    text
}

/// Scrapes until `done` holds for the text (a message is counted when its handler returns, so a
/// reply can arrive a moment before its count), at most 10 s; returns the last text either way,
/// for the caller's assertions to report.
pub(crate) async fn scrape_until(
    c: &reqwest::Client,
    host: &HostProcess,
    done: impl Fn(&str) -> bool,
) -> String {
    let probe = || async {
        let text = scrape(c, host).await;
        done(&text).then_some(text)
    };
    match eventually(Duration::from_secs(10), probe).await {
        Some(text) => text,
        None => scrape(c, host).await,
    }
}

/// A copy of the demo manifest in a temp dir with `edit` applied to its text (the paths stay
/// valid: they are made absolute).
pub(crate) fn demo_variant(dir: &Path, edit: impl FnOnce(String) -> String) -> PathBuf {
    let text = std::fs::read_to_string(demo_manifest()).unwrap();
    let text = edit(text).replace(
        "${AIRSSYS_GUEST_DIR:-../../target/guests/wasm32-wasip2/release}",
        &guest_dir().display().to_string(),
    );
    let path = dir.join("manifest.toml");
    std::fs::write(&path, text).unwrap();
    path
}
