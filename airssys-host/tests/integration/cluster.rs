//! Three `airssys` processes joined through one real nats-server on loopback: a component on
//! node A asks a component on node C by name, a publish on A reaches subscribers on B and C,
//! ingress on A reaches a component on C, and a component id is unique cluster-wide.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::support::{HostProcess, client, guest, post};

/// A nats-server with JetStream in a temp dir, killed on drop.
struct Nats {
    child: Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl Nats {
    fn start() -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dir = tempfile::tempdir().unwrap();
        let child = Command::new("nats-server")
            .args(["-a", "127.0.0.1", "-p", &port.to_string(), "-js", "-sd"])
            .arg(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nats-server (`cargo xtask test` installs it)");
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "nats-server did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        Self {
            child,
            url: format!("nats://127.0.0.1:{port}"),
            _dir: dir,
        }
    }
}

impl Drop for Nats {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn manifest(dir: &Path, node: &str, url: &str, components: &str) -> PathBuf {
    let path = dir.join(format!("{node}.toml"));
    let text = format!(
        "[host]\nlisten = \"127.0.0.1:0\"\ncluster = \"{url}\"\nnode_id = \"{node}\"\n\n{components}"
    );
    std::fs::write(&path, text).unwrap();
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn components_on_three_nodes_ask_and_publish_by_name_through_nats() {
    let nats = Nats::start();
    let dir = tempfile::tempdir().unwrap();
    let stage = guest("pipeline_stage").display().to_string();
    let counter = guest("counter").display().to_string();
    let a = manifest(
        dir.path(),
        "node-a",
        &nats.url,
        &format!(
            r#"[[component]]
id = "shout"
wasm = "{stage}"
config = "op=upper;next=exclaim;forward=request"
[component.capabilities]
request = ["exclaim"]
"#
        ),
    );
    let b = manifest(
        dir.path(),
        "node-b",
        &nats.url,
        &format!(
            r#"[[component]]
id = "count-b"
wasm = "{counter}"
subscribe = ["counter.events"]
[component.capabilities]
subscribe = ["counter.>"]
"#
        ),
    );
    let c = manifest(
        dir.path(),
        "node-c",
        &nats.url,
        &format!(
            r#"[[component]]
id = "exclaim"
wasm = "{stage}"
config = "op=suffix:!"

[[component]]
id = "count-c"
wasm = "{counter}"
subscribe = ["counter.events"]
[component.capabilities]
subscribe = ["counter.>"]
"#
        ),
    );
    let node_c = HostProcess::start(&c);
    let node_b = HostProcess::start(&b);
    let node_a = HostProcess::start(&a);
    let http = client();

    // shout (node A) asks exclaim (node C) by name.
    assert_eq!(
        post(&http, node_a.url("/components/shout"), "hello").await,
        (200, "HELLO!".to_owned())
    );
    // Ingress on node A reaches a component on node C.
    assert_eq!(
        post(&http, node_a.url("/components/exclaim"), "direct").await,
        (200, "direct!".to_owned())
    );
    // A publish on node A reaches the subscribers on B and C, once each.
    let (status, body) = post(&http, node_a.url("/topics/counter.events"), "inc").await;
    assert_eq!(status, 202, "{body}");
    let mut counts = (String::new(), String::new());
    for _ in 0..100 {
        counts = (
            post(&http, node_b.url("/components/count-b"), "get")
                .await
                .1,
            post(&http, node_a.url("/components/count-c"), "get")
                .await
                .1,
        );
        if counts == ("1".to_owned(), "1".to_owned()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(counts, ("1".to_owned(), "1".to_owned()));
    // Node C's own ingress still answers for its local component.
    assert_eq!(
        post(&http, node_c.url("/components/exclaim"), "c").await,
        (200, "c!".to_owned())
    );
    // An unknown name is a 404 at once, not a hang.
    assert_eq!(
        post(&http, node_a.url("/components/nowhere"), "x").await.0,
        404
    );

    // A fourth node claiming an id that node C holds fails to start, naming it.
    let dup = manifest(
        dir.path(),
        "node-d",
        &nats.url,
        &format!("[[component]]\nid = \"exclaim\"\nwasm = \"{stage}\"\nconfig = \"op=lower\"\n"),
    );
    let out = super::support::airssys()
        .arg("run")
        .arg(&dup)
        .env("RUST_LOG", "error")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("exclaim") && stderr.contains("already registered in the cluster"),
        "{stderr}"
    );
}
