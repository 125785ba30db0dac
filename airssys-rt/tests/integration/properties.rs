//! Property tests: no message is lost, and per-sender order holds, under random sends, failures,
//! panics, stops and restarts.

use std::sync::atomic::Ordering;
use std::time::Duration;

use airssys_rt::{
    ActorSystem, Backoff, ChildSpec, MailboxConfig, MailboxPolicy, RestartIntensity, SendError,
    SupervisorNode,
};
use proptest::prelude::*;

use super::common::{Cmd, Probe, Shared};

#[derive(Debug, Clone)]
enum Op {
    Push,
    Fail,
    Panic,
    Stop,
    Yield,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => Just(Op::Push),
        1 => Just(Op::Fail),
        1 => Just(Op::Panic),
        1 => Just(Op::Stop),
        2 => Just(Op::Yield),
    ]
}

fn policy() -> impl Strategy<Value = (usize, MailboxPolicy)> {
    prop_oneof![
        Just((1024, MailboxPolicy::Block)),
        (1usize..4).prop_map(|c| (c, MailboxPolicy::Block)),
        (1usize..4).prop_map(|c| (c, MailboxPolicy::DropNewest)),
        (1usize..4).prop_map(|c| (c, MailboxPolicy::Reject)),
    ]
}

fn runtime(multi: bool) -> tokio::runtime::Runtime {
    let mut b = if multi {
        let mut b = tokio::runtime::Builder::new_multi_thread();
        b.worker_threads(2);
        b
    } else {
        tokio::runtime::Builder::new_current_thread()
    };
    b.enable_all().build().unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// For every accepted message: sent == handled + dead_lettered + still_queued.
    #[test]
    fn no_message_is_lost_across_failures_and_restarts(
        ops in proptest::collection::vec(op(), 1..120),
        (capacity, policy) in policy(),
        multi in any::<bool>(),
    ) {
        runtime(multi).block_on(async move {
            let system = ActorSystem::builder().dead_letter_capacity(100_000).build();
            let shared = Shared::new("w");
            let child = airssys_rt::ActorChild::new("w", Probe::factory(&shared))
                .mailbox(MailboxConfig::bounded(capacity).with_policy(policy));
            system
                .start_supervisor(
                    SupervisorNode::builder("root")
                        .intensity(RestartIntensity::new(u32::MAX, Duration::from_secs(1)))
                        .child(ChildSpec::new("w", child).backoff(Backoff::Immediate))
                        .build(),
                )
                .await
                .unwrap();
            let w = system.lookup::<Cmd>("w").unwrap();
            let id = w.id();
            let mut accepted = 0u64;
            for (i, op) in ops.iter().enumerate() {
                let i = i as u64;
                let msg = match op {
                    Op::Push => Cmd::Push(i),
                    Op::Fail => Cmd::Fail(i),
                    Op::Panic => Cmd::Panic(i),
                    Op::Stop => Cmd::Stop,
                    Op::Yield => {
                        tokio::task::yield_now().await;
                        continue;
                    }
                };
                let sent = match policy {
                    // try_tell so a full Block mailbox does not need a concurrent consumer.
                    MailboxPolicy::Block if capacity < 1024 => w.try_tell(msg),
                    _ => w.tell(msg).await,
                };
                match sent {
                    Ok(()) => accepted += 1,
                    Err(SendError::Full(_)) => {}
                    Err(e) => panic!("unexpected send error: {e}"),
                }
            }
            let still_queued = w.mailbox_depth() as u64;
            let report = system.shutdown().await;
            prop_assert!(report.timed_out.is_empty());
            let handled = shared.handled.load(Ordering::SeqCst);
            let dead = system.dead_letters().count_for(id) as u64;
            prop_assert_eq!(
                accepted, handled + dead,
                "accepted {} handled {} dead {} (queued before shutdown {})",
                accepted, handled, dead, still_queued
            );
            Ok(())
        })?;
    }

    /// Messages from each sender are handled in the order that sender sent them, whatever the
    /// interleaving with other senders and restarts in between.
    #[test]
    fn each_sender_order_is_preserved(
        senders in 1usize..5,
        per_sender in 1usize..200,
        fail_every in 5u64..50,
    ) {
        runtime(true).block_on(async move {
            let system = ActorSystem::new();
            let shared = Shared::new("w");
            system
                .start_supervisor(
                    SupervisorNode::builder("root")
                        .intensity(RestartIntensity::new(u32::MAX, Duration::from_secs(1)))
                        .child(ChildSpec::actor("w", Probe::factory(&shared)))
                        .build(),
                )
                .await
                .unwrap();
            let w = system.lookup::<Cmd>("w").unwrap();
            let mut tasks = Vec::new();
            for s in 0..senders as u64 {
                let w = w.clone();
                tasks.push(tokio::spawn(async move {
                    for n in 0..per_sender as u64 {
                        if n % fail_every == fail_every - 1 {
                            w.tell(Cmd::Fail(0)).await.unwrap();
                        }
                        w.tell(Cmd::Push(s * 1_000_000 + n)).await.unwrap();
                    }
                }));
            }
            for t in tasks {
                t.await.unwrap();
            }
            let log = w.ask(Cmd::Get, Duration::from_secs(10)).await.unwrap();
            prop_assert_eq!(log.len(), senders * per_sender);
            for s in 0..senders as u64 {
                let mine: Vec<u64> = log.iter().copied().filter(|v| v / 1_000_000 == s).collect();
                prop_assert!(mine.windows(2).all(|p| p[0] < p[1]), "sender {} out of order", s);
            }
            system.shutdown().await;
            Ok(())
        })?;
    }
}
