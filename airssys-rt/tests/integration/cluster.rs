//! Cluster mode: three actor systems, each with its own NATS connection and its own tokio
//! runtime (a node that can be killed like a process), on one real nats-server that the test
//! starts on a free loopback port with JetStream in a temp directory.
//!
//! Needs `nats-server` on the PATH (`apt-get install nats-server`; `cargo xtask test` installs
//! it). Compiled with the `nats` feature: `cargo test -p airssys-rt --features nats`
//! (`cargo test --workspace` enables it through the benches crate).

use std::future::Future;
use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc as std_mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use airssys_rt::{
    Actor, ActorChild, ActorContext, ActorRef, ActorSystem, AskError, ChildSpec, ClusterConfig,
    ClusterError, CodecError, Message, MessageBroker, NatsBroker, NatsCluster, RemoteMessage,
    SendError, SupervisorNode,
};
use serde::{Deserialize, Serialize};

const HEARTBEAT: Duration = Duration::from_secs(1);
const LONG: Duration = Duration::from_secs(10);

// ---------------------------------------------------------------------------------------------
// nats-server

/// A nats-server child process, killed on drop.
struct NatsServer {
    port: u16,
    dir: tempfile::TempDir,
    child: Option<Child>,
}

impl NatsServer {
    fn start() -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .unwrap();
        let mut server = Self {
            port,
            dir: tempfile::tempdir().unwrap(),
            child: None,
        };
        server.restart();
        server
    }

    fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Starts the server (again) on the same port and store, and waits until it is ready.
    fn restart(&mut self) {
        assert!(self.child.is_none());
        let mut child = Command::new("nats-server")
            .args([
                "-a",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-js",
                "-sd",
            ])
            .arg(self.dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("nats-server must be installed (apt-get install nats-server)");
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = std_mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if line.contains("Server is ready") {
                    let _ = tx.send(());
                }
            }
        });
        self.child = Some(child);
        rx.recv_timeout(LONG)
            .expect("nats-server did not report ready within 10 s");
    }

    /// Kills the server (no lame-duck mode: the clients see the connection drop).
    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.stop();
    }
}

// ---------------------------------------------------------------------------------------------
// nodes

/// One node: a system and its cluster connection on a runtime of its own.
struct Node {
    rt: Option<tokio::runtime::Runtime>,
    cluster: NatsCluster,
}

impl Node {
    async fn start(url: &str, id: &str) -> Self {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let config = ClusterConfig::new(url)
            .node_id(id)
            .heartbeat(HEARTBEAT)
            .reconnect_delay_max(Duration::from_millis(200));
        let cluster = rt
            .spawn(async move {
                let system = ActorSystem::new();
                NatsCluster::connect(&system, config).await
            })
            .await
            .unwrap()
            .unwrap();
        Self {
            rt: Some(rt),
            cluster,
        }
    }

    /// Runs `f` on this node's runtime.
    async fn run<F>(&self, f: F) -> F::Output
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.rt.as_ref().unwrap().spawn(f).await.unwrap()
    }

    fn broker(&self) -> NatsBroker<Msg> {
        self.cluster.broker::<Msg>()
    }

    /// Spawns a [`Worker`] named `name` on this node.
    async fn worker(&self, name: &str) -> ActorRef<Msg> {
        let broker = self.broker();
        let node = self.cluster.node_id().to_owned();
        let name = name.to_owned();
        self.run(async move { broker.spawn_named(name, Worker::new(node)).await })
            .await
            .unwrap()
    }

    /// The address of `name` as this node sees it (a proxy for a remote actor).
    async fn lookup(&self, name: &str) -> Result<ActorRef<Msg>, ClusterError> {
        let broker = self.broker();
        let name = name.to_owned();
        self.run(async move { broker.lookup(&name).await }).await
    }

    /// Kills the node like a crashed process: every task is dropped and the connection closes
    /// (as the OS closes a dead process's sockets); nothing is released.
    async fn kill(&mut self) {
        if let Some(rt) = self.rt.take() {
            tokio::task::spawn_blocking(move || rt.shutdown_timeout(Duration::from_secs(5)))
                .await
                .unwrap();
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

async fn three_nodes(server: &NatsServer) -> (Node, Node, Node) {
    let url = server.url();
    (
        Node::start(&url, "a").await,
        Node::start(&url, "b").await,
        Node::start(&url, "c").await,
    )
}

/// Polls `check` every 20 ms until it returns `Some`, for at most `limit`.
async fn poll_until<T, F, Fut>(limit: Duration, mut check: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = check().await {
            return Some(v);
        }
        if Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

// ---------------------------------------------------------------------------------------------
// the test actor

#[derive(Debug, Clone, Serialize, Deserialize)]
enum Msg {
    /// Answered with `Pong(node, n)`.
    Ping(u64),
    /// Asks `to` for `Ping(n)` through the broker and answers with what came back.
    Relay(String, u64),
    /// Kept (tells and publishes).
    Note(String),
    /// Answered with the notes so far.
    Notes,
    /// Subscribes to a topic.
    Subscribe(String),
    /// Publishes `Note(text)` to a topic through the broker.
    Publish(String, String),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Reply {
    Pong(String, u64),
    Relayed(Result<Box<Reply>, String>),
    Notes(Vec<String>),
    Done,
}

impl Message for Msg {
    type Reply = Reply;
}

struct Worker {
    node: String,
    notes: Vec<String>,
}

impl Worker {
    fn new(node: String) -> Self {
        Self {
            node,
            notes: Vec::new(),
        }
    }
}

impl Actor for Worker {
    type Message = Msg;
    type Error = std::convert::Infallible;

    async fn handle_message<B: MessageBroker<Msg>>(
        &mut self,
        msg: Msg,
        ctx: &mut ActorContext<Msg, B>,
    ) -> Result<(), Self::Error> {
        match msg {
            Msg::Ping(n) => {
                ctx.reply(Reply::Pong(self.node.clone(), n));
            }
            Msg::Relay(to, n) => {
                let got = ctx
                    .request(&to, Msg::Ping(n), LONG)
                    .await
                    .map(Box::new)
                    .map_err(|e| e.to_string());
                ctx.reply(Reply::Relayed(got));
            }
            Msg::Note(text) => self.notes.push(text),
            Msg::Notes => {
                ctx.reply(Reply::Notes(self.notes.clone()));
            }
            Msg::Subscribe(topic) => {
                ctx.subscribe(topic).await;
                ctx.reply(Reply::Done);
            }
            Msg::Publish(topic, text) => {
                let _ = ctx.publish(&topic, Msg::Note(text)).await;
                ctx.reply(Reply::Done);
            }
        }
        Ok(())
    }
}

async fn notes(actor: &ActorRef<Msg>) -> Vec<String> {
    match actor.ask(Msg::Notes, LONG).await.unwrap() {
        Reply::Notes(n) => n,
        other => panic!("unexpected reply {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// tests

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_actor_on_node_a_asks_an_actor_on_node_c_by_name() {
    let server = NatsServer::start();
    let (a, b, c) = three_nodes(&server).await;
    let on_a = a.worker("worker-a").await;
    a.worker("worker-a2").await;
    b.worker("worker-b").await;
    c.worker("worker-c").await;

    // An actor on A asks the actor on C through its broker (local first, then the cluster).
    let reply = on_a
        .ask(Msg::Relay("worker-c".into(), 7), LONG)
        .await
        .unwrap();
    assert_eq!(
        reply,
        Reply::Relayed(Ok(Box::new(Reply::Pong("c".into(), 7))))
    );
    // A local name never leaves the node.
    let reply = on_a
        .ask(Msg::Relay("worker-a2".into(), 8), LONG)
        .await
        .unwrap();
    assert_eq!(
        reply,
        Reply::Relayed(Ok(Box::new(Reply::Pong("a".into(), 8))))
    );

    // The broker's request from outside any actor.
    let broker = b.broker();
    let reply = broker
        .request("worker-c", Msg::Ping(9), LONG)
        .await
        .unwrap();
    assert_eq!(reply, Reply::Pong("c".into(), 9));

    // A remote ActorRef: the same tell / ask API as a local one, in order per sender.
    let remote_c = b.lookup("worker-c").await.unwrap();
    assert!(remote_c.is_alive());
    for i in 0..50 {
        remote_c.tell(Msg::Note(format!("n{i}"))).await.unwrap();
    }
    let expected: Vec<String> = (0..50).map(|i| format!("n{i}")).collect();
    assert_eq!(notes(&remote_c).await, expected);
    assert_eq!(
        remote_c.ask(Msg::Ping(10), LONG).await.unwrap(),
        Reply::Pong("c".into(), 10)
    );
    // Concurrent asks through one proxy all get their own reply.
    let asks = (0..20).map(|i| {
        let r = remote_c.clone();
        async move { r.ask(Msg::Ping(i), LONG).await }
    });
    let replies = futures_util::future::join_all(asks).await;
    for (i, r) in replies.into_iter().enumerate() {
        assert_eq!(r.unwrap(), Reply::Pong("c".into(), i as u64));
    }
    // Lookup is local first.
    let local_a = a.lookup("worker-a").await.unwrap();
    assert_eq!(local_a.id(), on_a.id());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_publish_reaches_the_subscribers_on_every_node_once() {
    let server = NatsServer::start();
    let (a, b, c) = three_nodes(&server).await;
    let subs = vec![
        a.worker("sub-a1").await,
        a.worker("sub-a2").await,
        b.worker("sub-b").await,
        c.worker("sub-c").await,
    ];
    for s in &subs {
        assert_eq!(
            s.ask(Msg::Subscribe("news.today".into()), LONG)
                .await
                .unwrap(),
            Reply::Done
        );
    }
    // A publisher on B (itself a subscriber there) and one from outside actors on C.
    let publisher = b.worker("publisher").await;
    publisher
        .ask(Msg::Publish("news.today".into(), "first".into()), LONG)
        .await
        .unwrap();
    c.broker()
        .publish("news.today", Msg::Note("second".into()))
        .await
        .unwrap();
    for s in &subs {
        let got = poll_until(LONG, || async {
            let n = notes(s).await;
            (n.len() >= 2).then_some(n)
        })
        .await
        .expect("both publishes arrive");
        let mut sorted = got.clone();
        sorted.sort();
        assert_eq!(sorted, ["first", "second"], "{:?}", s.name());
    }
    // No copy arrives twice: after a pause every subscriber still has exactly two.
    tokio::time::sleep(Duration::from_millis(300)).await;
    for s in &subs {
        assert_eq!(notes(s).await.len(), 2, "{:?}", s.name());
    }
    // The publisher's own copy is not counted twice either (it is not subscribed).
    assert!(notes(&publisher).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_node_leaves_the_registry_within_three_heartbeats_and_asks_to_it_fail_fast() {
    let server = NatsServer::start();
    let (a, b, mut c) = three_nodes(&server).await;
    a.worker("worker-a").await;
    c.worker("worker-c").await;
    c.worker("worker-c2").await;
    let remote_c = b.lookup("worker-c").await.unwrap();
    assert_eq!(
        remote_c.ask(Msg::Ping(1), LONG).await.unwrap(),
        Reply::Pong("c".into(), 1)
    );
    assert_eq!(
        a.cluster.owner_of("worker-c").await.unwrap().as_deref(),
        Some("c")
    );

    let killed = Instant::now();
    c.kill().await;
    // The server notices the closed connection and drops C's subscriptions.
    tokio::time::sleep(Duration::from_millis(100)).await;

    // Before the reaper runs, an ask finds no responders on C's inbox: an error long before
    // the 10 s timeout, never a hang.
    let broker = b.broker();
    let err = broker
        .request("worker-c2", Msg::Ping(2), LONG)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            AskError::Send(SendError::Stopped(_) | SendError::NotFound(_))
        ),
        "{err:?}"
    );
    let err = remote_c.ask(Msg::Ping(3), LONG).await.unwrap_err();
    assert!(matches!(err, AskError::NoReply), "{err:?}");

    // Within three heartbeats, both names are gone from the registry.
    let within = HEARTBEAT * 3;
    let gone = poll_until(within.saturating_sub(killed.elapsed()), || async {
        let c1 = a.cluster.owner_of("worker-c").await.unwrap();
        let c2 = a.cluster.owner_of("worker-c2").await.unwrap();
        (c1.is_none() && c2.is_none()).then_some(())
    })
    .await;
    assert!(
        gone.is_some(),
        "names of the killed node still registered {:?} after it died",
        killed.elapsed()
    );
    // The living nodes keep theirs.
    assert_eq!(
        a.cluster.owner_of("worker-a").await.unwrap().as_deref(),
        Some("a")
    );
    // Now the name is unknown.
    let err = broker
        .request("worker-c", Msg::Ping(4), LONG)
        .await
        .unwrap_err();
    assert!(
        matches!(err, AskError::Send(SendError::NotFound(_))),
        "{err:?}"
    );
    assert!(matches!(
        b.lookup("worker-c").await,
        Err(ClusterError::NotFound(_))
    ));
    // ... and free to be claimed by another node.
    b.worker("worker-c").await;
    assert_eq!(
        broker
            .request("worker-c", Msg::Ping(5), LONG)
            .await
            .unwrap(),
        Reply::Pong("b".into(), 5)
    );
    drop(a);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_reconnect_after_the_nats_server_restarts_and_traffic_resumes() {
    let mut server = NatsServer::start();
    let (a, b, c) = three_nodes(&server).await;
    let on_a = a.worker("worker-a").await;
    a.worker("worker-a2").await;
    b.worker("worker-b").await;
    let on_c = c.worker("worker-c").await;
    on_c.ask(Msg::Subscribe("alerts".into()), LONG)
        .await
        .unwrap();
    assert!(matches!(
        on_a.ask(Msg::Relay("worker-c".into(), 1), LONG)
            .await
            .unwrap(),
        Reply::Relayed(Ok(_))
    ));

    server.stop();
    poll_until(LONG, || async { (!a.cluster.is_connected()).then_some(()) })
        .await
        .expect("node a notices the server is gone");
    // While NATS is down, a cross-node ask fails at once instead of hanging.
    let reply = on_a
        .ask(Msg::Relay("worker-c".into(), 2), LONG)
        .await
        .unwrap();
    assert!(matches!(reply, Reply::Relayed(Err(_))), "{reply:?}");
    // Local traffic is not affected.
    assert!(matches!(
        on_a.ask(Msg::Relay("worker-a2".into(), 3), LONG)
            .await
            .unwrap(),
        Reply::Relayed(Ok(_))
    ));

    server.restart();
    let reply = poll_until(Duration::from_secs(20), || async {
        match on_a.ask(Msg::Relay("worker-c".into(), 4), LONG).await {
            Ok(Reply::Relayed(Ok(r))) => Some(*r),
            _ => None,
        }
    })
    .await
    .expect("traffic resumes after the server restarts");
    assert_eq!(reply, Reply::Pong("c".into(), 4));
    for node in [&a, &b, &c] {
        assert!(node.cluster.is_connected());
    }
    // Every node registered its names again.
    for (name, owner) in [("worker-a", "a"), ("worker-b", "b"), ("worker-c", "c")] {
        let got = poll_until(LONG, || async {
            b.cluster
                .owner_of(name)
                .await
                .ok()
                .flatten()
                .filter(|o| o == owner)
        })
        .await;
        assert_eq!(got.as_deref(), Some(owner), "{name}");
    }
    // Pub/sub resumes too (the topic subscription came back with the connection).
    let got = poll_until(LONG, || async {
        let _ = a.broker().publish("alerts", Msg::Note("up".into())).await;
        let n = notes(&on_c).await;
        (!n.is_empty()).then_some(n)
    })
    .await
    .expect("a publish reaches node c again");
    assert!(got.iter().all(|n| n == "up"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_name_claimed_twice_fails_with_a_clear_error() {
    let server = NatsServer::start();
    let (a, b, _c) = three_nodes(&server).await;
    a.worker("unique").await;
    let broker = b.broker();
    let node = b.cluster.node_id().to_owned();
    let err = b
        .run(async move { broker.spawn_named("unique", Worker::new(node)).await })
        .await
        .unwrap_err();
    match &err {
        ClusterError::NameTaken { name, owner } => {
            assert_eq!((name.as_str(), owner.as_str()), ("unique", "a"));
        }
        other => panic!("expected NameTaken, got {other:?}"),
    }
    assert_eq!(
        err.to_string(),
        "the name \"unique\" is already registered in the cluster by node \"a\""
    );
    // The same on the owning node itself.
    let broker = a.broker();
    let err = a
        .run(async move { broker.spawn_named("unique", Worker::new("a".into())).await })
        .await
        .unwrap_err();
    assert!(matches!(err, ClusterError::NameTaken { .. }), "{err:?}");
    // The first owner is untouched.
    assert_eq!(
        b.cluster.owner_of("unique").await.unwrap().as_deref(),
        Some("a")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_an_actor_or_shutting_a_node_down_releases_its_names() {
    let server = NatsServer::start();
    let url = server.url();
    let a = Node::start(&url, "a").await;
    let b = Node::start(&url, "b").await;
    let short = a.worker("short-lived").await;
    a.worker("long-lived").await;
    assert_eq!(
        b.cluster.owner_of("short-lived").await.unwrap().as_deref(),
        Some("a")
    );
    short.stop();
    poll_until(LONG, || async {
        b.cluster
            .owner_of("short-lived")
            .await
            .unwrap()
            .is_none()
            .then_some(())
    })
    .await
    .expect("the name of a stopped actor is released");

    let cluster = a.cluster.clone();
    a.run(async move { cluster.shutdown().await }).await;
    assert!(!a.cluster.is_connected());
    assert_eq!(b.cluster.owner_of("long-lived").await.unwrap(), None);
    let err = b
        .broker()
        .request("long-lived", Msg::Ping(1), LONG)
        .await
        .unwrap_err();
    assert!(
        matches!(err, AskError::Send(SendError::NotFound(_))),
        "{err:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_name_is_an_error_at_once() {
    let server = NatsServer::start();
    let a = Node::start(&server.url(), "a").await;
    let err = a
        .broker()
        .request("nobody", Msg::Ping(1), LONG)
        .await
        .unwrap_err();
    assert!(
        matches!(err, AskError::Send(SendError::NotFound(Msg::Ping(1)))),
        "{err:?}"
    );
    let err = a.broker().send("nobody", Msg::Ping(2)).await.unwrap_err();
    assert!(matches!(err, SendError::NotFound(Msg::Ping(2))), "{err:?}");
    assert!(matches!(
        a.lookup("nobody").await,
        Err(ClusterError::NotFound(_))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_supervised_actor_is_made_reachable_with_register_and_keeps_its_name_across_restarts() {
    let server = NatsServer::start();
    let url = server.url();
    let a = Node::start(&url, "a").await;
    let b = Node::start(&url, "b").await;
    let broker = a.broker();
    let sup = a
        .run(async move {
            let system = broker.cluster().system().clone();
            let child =
                ActorChild::with_broker("supervised", || Worker::new("a".into()), broker.clone());
            let tree = SupervisorNode::builder("root")
                .child(ChildSpec::new("supervised", child))
                .build();
            let sup = system.start_supervisor(tree).await.unwrap();
            broker.register("supervised").await.unwrap();
            sup
        })
        .await;
    let remote = b.broker();
    assert_eq!(
        remote
            .request("supervised", Msg::Ping(1), LONG)
            .await
            .unwrap(),
        Reply::Pong("a".into(), 1)
    );
    // Stopped, the Permanent child is restarted with the same mailbox and name: it stays
    // registered in the cluster and answers again.
    let cluster = a.cluster.clone();
    a.run(async move {
        cluster.system().lookup::<Msg>("supervised").unwrap().stop();
    })
    .await;
    let again = poll_until(LONG, || async {
        remote.request("supervised", Msg::Ping(2), LONG).await.ok()
    })
    .await;
    assert_eq!(again, Some(Reply::Pong("a".into(), 2)));
    assert_eq!(
        b.cluster.owner_of("supervised").await.unwrap().as_deref(),
        Some("a")
    );
    // A name that is not a local actor of this message type cannot be registered.
    let broker = a.broker();
    let err = a
        .run(async move { broker.register("nobody-here").await })
        .await
        .unwrap_err();
    assert!(matches!(err, ClusterError::NotLocal(_)), "{err:?}");
    drop(sup);
}

// A message type that is not serde: it implements RemoteMessage by hand, as a downstream crate
// does for its own type, and one variant must never leave its node.

enum Job {
    Run(Vec<u8>),
    Local(Arc<Mutex<()>>),
}

impl Message for Job {
    type Reply = Vec<u8>;
}

impl RemoteMessage for Job {
    fn encode(&self, buf: &mut Vec<u8>) -> Result<(), CodecError> {
        match self {
            Job::Run(bytes) => {
                buf.extend_from_slice(bytes);
                Ok(())
            }
            Job::Local(_) => Err(CodecError::new("Job::Local cannot cross nodes")),
        }
    }
    fn decode(bytes: &[u8]) -> Result<Self, CodecError> {
        Ok(Job::Run(bytes.to_vec()))
    }
    fn encode_reply(reply: &Vec<u8>, buf: &mut Vec<u8>) -> Result<(), CodecError> {
        buf.extend_from_slice(reply);
        Ok(())
    }
    fn decode_reply(bytes: &[u8]) -> Result<Vec<u8>, CodecError> {
        Ok(bytes.to_vec())
    }
}

struct Reverser;

impl Actor for Reverser {
    type Message = Job;
    type Error = std::convert::Infallible;

    async fn handle_message<B: MessageBroker<Job>>(
        &mut self,
        msg: Job,
        ctx: &mut ActorContext<Job, B>,
    ) -> Result<(), Self::Error> {
        match msg {
            Job::Run(mut bytes) => {
                bytes.reverse();
                ctx.reply(bytes);
            }
            Job::Local(handle) => {
                let holders = Arc::strong_count(&handle);
                ctx.reply(format!("local {holders}").into_bytes());
            }
        }
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hand_encoded_message_type_crosses_nodes_and_a_local_only_variant_does_not() {
    let server = NatsServer::start();
    let url = server.url();
    let a = Node::start(&url, "a").await;
    let b = Node::start(&url, "b").await;
    let broker = a.cluster.broker::<Job>();
    let local = a
        .run(async move { broker.spawn_named("reverser", Reverser).await })
        .await
        .unwrap();
    let remote = b.cluster.broker::<Job>();
    assert_eq!(
        remote
            .request("reverser", Job::Run(b"abc".to_vec()), LONG)
            .await
            .unwrap(),
        b"cba"
    );
    let err = remote
        .request("reverser", Job::Local(Arc::default()), LONG)
        .await
        .unwrap_err();
    assert!(
        matches!(err, AskError::Send(SendError::Stopped(Job::Local(_)))),
        "{err:?}"
    );
    // Locally the same variant is just moved into the mailbox.
    assert_eq!(
        local.ask(Job::Local(Arc::default()), LONG).await.unwrap(),
        b"local 1"
    );
}
