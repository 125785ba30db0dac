//! Cluster mode: three actor systems, each with its own NATS connection and its own tokio
//! runtime (a node that can be killed like a process), on one real nats-server that the test
//! starts on a free loopback port with JetStream in a temp directory.
//!
//! Needs `nats-server` on the PATH (`apt-get install nats-server`; `cargo xtask test` installs
//! it). Compiled with the `nats` feature: `cargo test -p airssys-rt --features nats`
//! (`cargo test --workspace` enables it through the benches crate).

mod harness;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use airssys_rt::{
    Actor, ActorChild, ActorContext, AskError, ChildSpec, ClusterError, CodecError, Message,
    MessageBroker, RemoteMessage, SendError, SupervisorNode,
};

use harness::{
    HEARTBEAT, LONG, Msg, NatsServer, Node, Reply, Worker, notes, poll_until, three_nodes,
};

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
