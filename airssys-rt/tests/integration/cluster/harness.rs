//! The cluster tests' harness: a nats-server child process, nodes on runtimes of their own,
//! bounded polling, and the test actor.

use std::future::Future;
use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc as std_mpsc;
use std::time::{Duration, Instant};

use airssys_rt::{
    Actor, ActorContext, ActorRef, ActorSystem, ClusterConfig, ClusterError, Message,
    MessageBroker, NatsBroker, NatsCluster,
};
use serde::{Deserialize, Serialize};

/// The heartbeat of every test node.
pub(crate) const HEARTBEAT: Duration = Duration::from_secs(1);
/// A timeout that a passing test never reaches.
pub(crate) const LONG: Duration = Duration::from_secs(10);

// ---------------------------------------------------------------------------------------------
// nats-server

/// A nats-server child process, killed on drop.
pub(crate) struct NatsServer {
    port: u16,
    dir: tempfile::TempDir,
    child: Option<Child>,
}

impl NatsServer {
    pub(crate) fn start() -> Self {
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

    pub(crate) fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Starts the server (again) on the same port and store, and waits until it is ready.
    pub(crate) fn restart(&mut self) {
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
    pub(crate) fn stop(&mut self) {
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
pub(crate) struct Node {
    rt: Option<tokio::runtime::Runtime>,
    pub(crate) cluster: NatsCluster,
}

impl Node {
    pub(crate) async fn start(url: &str, id: &str) -> Self {
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
    pub(crate) async fn run<F>(&self, f: F) -> F::Output
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.rt.as_ref().unwrap().spawn(f).await.unwrap()
    }

    pub(crate) fn broker(&self) -> NatsBroker<Msg> {
        self.cluster.broker::<Msg>()
    }

    /// Spawns a [`Worker`] named `name` on this node.
    pub(crate) async fn worker(&self, name: &str) -> ActorRef<Msg> {
        let broker = self.broker();
        let node = self.cluster.node_id().to_owned();
        let name = name.to_owned();
        self.run(async move { broker.spawn_named(name, Worker::new(node)).await })
            .await
            .unwrap()
    }

    /// The address of `name` as this node sees it (a proxy for a remote actor).
    pub(crate) async fn lookup(&self, name: &str) -> Result<ActorRef<Msg>, ClusterError> {
        let broker = self.broker();
        let name = name.to_owned();
        self.run(async move { broker.lookup(&name).await }).await
    }

    /// Kills the node like a crashed process: every task is dropped and the connection closes
    /// (as the OS closes a dead process's sockets); nothing is released.
    pub(crate) async fn kill(&mut self) {
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

pub(crate) async fn three_nodes(server: &NatsServer) -> (Node, Node, Node) {
    let url = server.url();
    (
        Node::start(&url, "a").await,
        Node::start(&url, "b").await,
        Node::start(&url, "c").await,
    )
}

/// Polls `check` every 20 ms until it returns `Some`, for at most `limit`.
pub(crate) async fn poll_until<T, F, Fut>(limit: Duration, mut check: F) -> Option<T>
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
pub(crate) enum Msg {
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
pub(crate) enum Reply {
    Pong(String, u64),
    Relayed(Result<Box<Reply>, String>),
    Notes(Vec<String>),
    Done,
}

impl Message for Msg {
    type Reply = Reply;
}

pub(crate) struct Worker {
    node: String,
    notes: Vec<String>,
}

impl Worker {
    pub(crate) fn new(node: String) -> Self {
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

pub(crate) async fn notes(actor: &ActorRef<Msg>) -> Vec<String> {
    match actor.ask(Msg::Notes, LONG).await.unwrap() {
        Reply::Notes(n) => n,
        other => panic!("unexpected reply {other:?}"),
    }
}
