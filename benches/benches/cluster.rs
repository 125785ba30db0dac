//! Cluster: a cross-node ask and cross-node tell throughput through NATS on loopback.
//!
//! Setup: the bench starts its own `nats-server` (loopback, a free port, JetStream in a temp
//! dir; skipped with a message when `nats-server` is not installed) and two airssys nodes, each
//! an `ActorSystem` with its own `NatsCluster` connection: node `c` hosts a counter actor
//! spawned with `NatsBroker::spawn_named`, node `a` sends to it. The nats-server process shares
//! the machine with the bench.
//!
//! Runtime: tokio multi-thread with 2 worker threads (`airssys_benches::runtime`); both nodes,
//! their NATS clients and the raw clients run on it; the sender runs inside `Runtime::block_on`
//! on the bench thread (criterion's `to_async`).
//!
//! Contestants (criterion function ids):
//! - `cluster_ask`: `airssys` = `NatsBroker::request` from node `a` by name (encode, NATS
//!   request to node `c`'s inbox, delivered into the actor's mailbox, handled, reply encoded
//!   and sent back, decoded); `airssys_ref` = `ActorRef::ask` on the remote `ActorRef` that
//!   `NatsBroker::lookup` returns (one more local hop through the proxy actor); `floor` = a raw
//!   `async_nats::Client::request` to a raw subscriber on its own connection that answers each
//!   request from its subscription loop. Every iteration is one round trip, one after another.
//! - `cluster_tell`: per message, end to end: a sample sends `iters` tells, then one ask whose
//!   reply (per-sender FIFO) proves that all of them were handled, and checks the count.
//!   `airssys` = `ActorRef::tell` on the remote `ActorRef`; `airssys_broker` =
//!   `NatsBroker::send` by name; `floor` = raw `Client::publish` to a raw subscriber that
//!   counts, then a raw request for the count.

// Benchmark harness code: a failed send is a broken bench, and the harness prints its results.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::print_stderr
)]

use std::convert::Infallible;
use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use airssys_benches::runtime;
use airssys_rt::{
    Actor, ActorContext, ActorSystem, ClusterConfig, Message, MessageBroker, NatsCluster,
};
use criterion::{Criterion, Throughput};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};

const TIMEOUT: Duration = Duration::from_secs(10);
/// Buffered messages per subscription, for airssys and the raw subscriber alike: criterion's
/// warm-up sends bursts of up to 2^17 tells, more than the client's default of 65 536.
const SUBSCRIPTION_CAPACITY: usize = 1 << 20;

/// The bench message: count a tick, report the count, echo a number.
#[derive(Debug, Clone, Serialize, Deserialize)]
enum Net {
    Tick(u64),
    Get,
    Ping(u64),
}

impl Message for Net {
    type Reply = u64;
}

#[derive(Default)]
struct Counter {
    handled: u64,
}

impl Actor for Counter {
    type Message = Net;
    type Error = Infallible;

    async fn handle_message<B: MessageBroker<Net>>(
        &mut self,
        msg: Net,
        ctx: &mut ActorContext<Net, B>,
    ) -> Result<(), Infallible> {
        match msg {
            Net::Tick(n) => {
                std::hint::black_box(n);
                self.handled += 1;
            }
            Net::Get => {
                ctx.reply(self.handled);
            }
            Net::Ping(n) => {
                ctx.reply(n);
            }
        }
        Ok(())
    }
}

/// A nats-server child process, killed on drop.
struct NatsServer {
    child: Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl NatsServer {
    fn start() -> Option<Self> {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let mut child = Command::new("nats-server")
            .args(["-a", "127.0.0.1", "-p", &port.to_string(), "-js", "-sd"])
            .arg(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .ok()?;
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if line.contains("Server is ready") {
                    let _ = tx.send(());
                }
            }
        });
        rx.recv_timeout(TIMEOUT).expect("nats-server ready");
        Some(Self {
            child,
            url: format!("nats://127.0.0.1:{port}"),
            _dir: dir,
        })
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A raw responder on its own connection: byte 0 = tick (counted), 1 = get (answered with the
/// count), 2 = ping (echoed).
async fn spawn_raw_responder(url: &str, subject: &str) -> tokio::task::JoinHandle<()> {
    let client = async_nats::ConnectOptions::new()
        .subscription_capacity(SUBSCRIPTION_CAPACITY)
        .connect(url)
        .await
        .unwrap();
    let mut sub = client.subscribe(subject.to_owned()).await.unwrap();
    client.flush().await.unwrap();
    tokio::spawn(async move {
        let mut handled = 0_u64;
        while let Some(msg) = sub.next().await {
            match msg.payload.first() {
                Some(0) => {
                    std::hint::black_box(&msg.payload);
                    handled += 1;
                }
                Some(1) => {
                    if let Some(reply) = msg.reply {
                        let _ = client
                            .publish(reply, handled.to_le_bytes().to_vec().into())
                            .await;
                    }
                }
                _ => {
                    if let Some(reply) = msg.reply {
                        let _ = client.publish(reply, msg.payload.slice(1..)).await;
                    }
                }
            }
        }
    })
}

fn raw_frame(kind: u8, n: u64) -> bytes::Bytes {
    let mut v = Vec::with_capacity(9);
    v.push(kind);
    v.extend_from_slice(&n.to_le_bytes());
    v.into()
}

fn raw_u64(payload: &[u8]) -> u64 {
    u64::from_le_bytes(payload[..8].try_into().unwrap())
}

fn main() {
    let Some(server) = NatsServer::start() else {
        eprintln!(
            "cluster bench skipped: nats-server is not installed (apt-get install nats-server)"
        );
        return;
    };
    let rt = runtime().expect("tokio runtime");
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();

    let system_a = ActorSystem::new();
    let system_c = ActorSystem::new();
    let config = |id: &str| {
        ClusterConfig::new(&server.url)
            .node_id(id)
            .subscription_capacity(SUBSCRIPTION_CAPACITY)
    };
    let (node_a, node_c) = rt.block_on(async {
        let a = NatsCluster::connect(&system_a, config("a")).await.unwrap();
        let c = NatsCluster::connect(&system_c, config("c")).await.unwrap();
        (a, c)
    });
    let broker_a = node_a.broker::<Net>();
    rt.block_on(
        node_c
            .broker::<Net>()
            .spawn_named("counter", Counter::default()),
    )
    .unwrap();
    let remote = rt.block_on(broker_a.lookup("counter")).unwrap();
    let raw_subject = "bench.raw";
    let raw_join = rt.block_on(spawn_raw_responder(&server.url, raw_subject));
    let raw = rt
        .block_on(async_nats::connect(server.url.as_str()))
        .unwrap();

    // ------------------------------------------------------------------ cross-node ask
    let mut g = c.benchmark_group("cluster_ask");
    g.throughput(Throughput::Elements(1));
    g.bench_function("airssys", |b| {
        b.to_async(&rt).iter_custom(|iters| {
            let broker = &broker_a;
            async move {
                let start = Instant::now();
                for i in 0..iters {
                    let r = broker.request("counter", Net::Ping(i), TIMEOUT).await;
                    assert_eq!(r.unwrap(), i);
                }
                start.elapsed()
            }
        });
    });
    g.bench_function("airssys_ref", |b| {
        b.to_async(&rt).iter_custom(|iters| {
            let remote = &remote;
            async move {
                let start = Instant::now();
                for i in 0..iters {
                    assert_eq!(remote.ask(Net::Ping(i), TIMEOUT).await.unwrap(), i);
                }
                start.elapsed()
            }
        });
    });
    g.bench_function("floor", |b| {
        b.to_async(&rt).iter_custom(|iters| {
            let raw = &raw;
            async move {
                let start = Instant::now();
                for i in 0..iters {
                    let reply = raw.request(raw_subject, raw_frame(2, i)).await.unwrap();
                    assert_eq!(raw_u64(&reply.payload), i);
                }
                start.elapsed()
            }
        });
    });
    g.finish();

    // ------------------------------------------------------------------ cross-node tell
    let mut g = c.benchmark_group("cluster_tell");
    g.throughput(Throughput::Elements(1));
    let expected = AtomicU64::new(0);
    g.bench_function("airssys", |b| {
        b.to_async(&rt).iter_custom(|iters| {
            let (remote, expected) = (&remote, &expected);
            async move {
                let start = Instant::now();
                for i in 0..iters {
                    remote.tell(Net::Tick(i)).await.unwrap();
                }
                let handled = remote.ask(Net::Get, TIMEOUT).await.unwrap();
                let elapsed = start.elapsed();
                assert_eq!(
                    handled,
                    expected.fetch_add(iters, Ordering::Relaxed) + iters
                );
                elapsed
            }
        });
    });
    g.bench_function("airssys_broker", |b| {
        b.to_async(&rt).iter_custom(|iters| {
            let (broker, expected) = (&broker_a, &expected);
            async move {
                let start = Instant::now();
                for i in 0..iters {
                    broker.send("counter", Net::Tick(i)).await.unwrap();
                }
                let handled = broker.request("counter", Net::Get, TIMEOUT).await.unwrap();
                let elapsed = start.elapsed();
                assert_eq!(
                    handled,
                    expected.fetch_add(iters, Ordering::Relaxed) + iters
                );
                elapsed
            }
        });
    });
    let raw_expected = AtomicU64::new(0);
    g.bench_function("floor", |b| {
        b.to_async(&rt).iter_custom(|iters| {
            let (raw, expected) = (&raw, &raw_expected);
            async move {
                let start = Instant::now();
                for i in 0..iters {
                    raw.publish(raw_subject, raw_frame(0, i)).await.unwrap();
                }
                let reply = raw.request(raw_subject, raw_frame(1, 0)).await.unwrap();
                let elapsed = start.elapsed();
                assert_eq!(
                    raw_u64(&reply.payload),
                    expected.fetch_add(iters, Ordering::Relaxed) + iters
                );
                elapsed
            }
        });
    });
    g.finish();

    rt.block_on(async {
        node_a.shutdown().await;
        node_c.shutdown().await;
        system_a.shutdown().await;
        system_c.shutdown().await;
    });
    raw_join.abort();
    drop(server);
    c.final_summary();
}
