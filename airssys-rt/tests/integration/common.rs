//! A scriptable test actor whose log outlives restarts.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use airssys_rt::{
    Actor, ActorContext, ChildHealth, ErrorAction, Message, MessageBroker, StopReason,
};
use tokio::sync::oneshot;

#[derive(Debug, thiserror::Error)]
#[error("scripted failure {0}")]
pub(crate) struct Boom(pub(crate) u64);

/// What the probe does with each message.
pub(crate) enum Cmd {
    Push(u64),
    Fail(u64),
    Panic(u64),
    Sleep(Duration),
    /// Signals `holding`, then waits for `release`.
    Hold {
        holding: oneshot::Sender<()>,
        release: oneshot::Receiver<()>,
    },
    Stop,
    Get,
}

impl Message for Cmd {
    type Reply = Vec<u64>;
}

/// Shared observations of every instance created by one factory.
#[derive(Clone, Default)]
pub(crate) struct Shared {
    pub(crate) label: Arc<str>,
    pub(crate) log: Arc<Mutex<Vec<u64>>>,
    pub(crate) events: Arc<Mutex<Vec<String>>>,
    pub(crate) starts: Arc<AtomicU32>,
    pub(crate) handled: Arc<AtomicU64>,
    pub(crate) fail_health_once: Arc<std::sync::atomic::AtomicBool>,
}

impl Shared {
    pub(crate) fn new(label: &str) -> Self {
        Self {
            label: label.into(),
            ..Self::default()
        }
    }

    /// A shared journal for several probes (start/stop order across actors).
    pub(crate) fn with_journal(label: &str, journal: &Arc<Mutex<Vec<String>>>) -> Self {
        Self {
            label: label.into(),
            events: Arc::clone(journal),
            ..Self::default()
        }
    }

    pub(crate) fn log(&self) -> Vec<u64> {
        self.log.lock().unwrap().clone()
    }

    pub(crate) fn events(&self) -> Vec<String> {
        self.events.lock().unwrap().clone()
    }

    pub(crate) fn starts(&self) -> u32 {
        self.starts.load(Ordering::SeqCst)
    }
}

pub(crate) struct Probe {
    pub(crate) shared: Shared,
    pub(crate) on_error: ErrorAction,
}

impl Probe {
    pub(crate) fn new(shared: &Shared) -> Self {
        Self {
            shared: shared.clone(),
            on_error: ErrorAction::Restart,
        }
    }

    pub(crate) fn factory(shared: &Shared) -> impl FnMut() -> Probe + Send + 'static {
        let shared = shared.clone();
        move || Probe::new(&shared)
    }

    fn note(&self, what: &str) {
        self.shared
            .events
            .lock()
            .unwrap()
            .push(format!("{}:{what}", self.shared.label));
    }
}

impl Actor for Probe {
    type Message = Cmd;
    type Error = Boom;

    async fn handle_message<B: MessageBroker<Cmd>>(
        &mut self,
        msg: Cmd,
        ctx: &mut ActorContext<Cmd, B>,
    ) -> Result<(), Boom> {
        match msg {
            Cmd::Push(n) => self.shared.log.lock().unwrap().push(n),
            Cmd::Fail(n) => return Err(Boom(n)),
            Cmd::Panic(n) => panic!("scripted panic {n}"),
            Cmd::Sleep(d) => tokio::time::sleep(d).await,
            Cmd::Hold { holding, release } => {
                let _ = holding.send(());
                let _ = release.await;
            }
            Cmd::Stop => ctx.stop(),
            Cmd::Get => {
                let log = self.shared.log();
                ctx.reply(log);
            }
        }
        self.shared.handled.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }

    async fn pre_start<B: MessageBroker<Cmd>>(
        &mut self,
        _ctx: &mut ActorContext<Cmd, B>,
    ) -> Result<(), Boom> {
        self.shared.starts.fetch_add(1, Ordering::SeqCst);
        self.note("start");
        Ok(())
    }

    async fn post_stop<B: MessageBroker<Cmd>>(
        &mut self,
        _ctx: &mut ActorContext<Cmd, B>,
        reason: &StopReason,
    ) {
        let kind = match reason {
            StopReason::Normal => "normal",
            StopReason::Shutdown => "shutdown",
            StopReason::Failed(_) => "failed",
            StopReason::Panicked(_) => "panicked",
            _ => "other",
        };
        self.note(&format!("stop:{kind}"));
    }

    fn on_error<B: MessageBroker<Cmd>>(
        &mut self,
        _error: &Boom,
        _ctx: &mut ActorContext<Cmd, B>,
    ) -> ErrorAction {
        self.on_error
    }

    async fn health_check(&mut self) -> ChildHealth {
        if self.shared.fail_health_once.swap(false, Ordering::SeqCst) {
            ChildHealth::Failed("scripted".into())
        } else {
            ChildHealth::Healthy
        }
    }
}

/// Sends a `Hold` and waits until the actor is inside it. Returns the release handle.
pub(crate) async fn hold(actor: &airssys_rt::ActorRef<Cmd>) -> oneshot::Sender<()> {
    let (holding_tx, holding_rx) = oneshot::channel();
    let (release_tx, release_rx) = oneshot::channel();
    actor
        .tell(Cmd::Hold {
            holding: holding_tx,
            release: release_rx,
        })
        .await
        .unwrap();
    holding_rx.await.unwrap();
    release_tx
}

/// Yields until `cond` holds (bounded: panics after many rounds).
pub(crate) async fn eventually(mut cond: impl FnMut() -> bool) {
    for _ in 0..10_000 {
        if cond() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    panic!("condition not reached");
}

pub(crate) const SEC: Duration = Duration::from_secs(1);
