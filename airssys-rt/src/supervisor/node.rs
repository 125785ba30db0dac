//! [`SupervisorNode`]: the supervisor itself, its builder, and [`SupervisorRef`].

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tokio::time::{Instant, Interval};

use super::in_place::{ChildStats, InPlace};
use super::{
    Backoff, Child, ChildContext, ChildHealth, ChildSpec, ExitNotifier, RestartIntensity,
    RestartPolicy, RestartWindow, StopReason, SupervisionStrategy,
};
use crate::observer::RuntimeEvent;
use crate::{ActorSystem, ChildError, SpawnError};

/// Events from children and timers to their supervisor.
pub(crate) enum Event {
    Exit {
        index: usize,
        generation: u64,
        reason: StopReason,
    },
    RestartDue {
        group: Vec<usize>,
        token: u64,
        attempt: u32,
        delay: Duration,
    },
}

enum Command {
    Stop {
        shutdown: bool,
        reply: oneshot::Sender<()>,
    },
    Status(oneshot::Sender<Vec<ChildStatus>>),
}

/// The state of one child, as reported by [`SupervisorRef::children`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ChildStatus {
    /// The child's id.
    pub id: String,
    /// Whether it is running now (`false` while it waits out a restart backoff).
    pub running: bool,
    /// How many times it was restarted.
    pub restarts: u32,
    /// Why it last stopped, if it ever did.
    pub last_exit: Option<StopReason>,
}

#[derive(Clone)]
struct NodeConfig {
    strategy: SupervisionStrategy,
    intensity: RestartIntensity,
    health_interval: Option<Duration>,
    health_timeout: Duration,
}

struct Entry {
    spec: Option<ChildSpec>,
    generation: u64,
    running: bool,
    /// Restart count, attempts in a row, last start and exit; shared with the child's task
    /// when it may restart in place (see `in_place.rs`).
    stats: Arc<ChildStats>,
    pending: Option<u64>,
}

type Parked = Arc<Mutex<Option<Vec<Entry>>>>;

struct Running {
    cmd: mpsc::UnboundedSender<Command>,
    join: JoinHandle<()>,
    done: watch::Receiver<Option<StopReason>>,
}

/// A supervisor: starts its children in order, restarts them by its strategy, backoff and
/// restart intensity, health-checks them, stops them in reverse order. Supervisors nest (a
/// `SupervisorNode` is itself a [`Child`]).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use airssys_rt::{
///     ActorSystem, Backoff, ChildSpec, RestartIntensity, SupervisionStrategy, SupervisorNode,
/// };
/// # use std::convert::Infallible;
/// # use airssys_rt::{Actor, ActorContext, Message, MessageBroker};
/// # struct Worker;
/// # struct Job;
/// # impl Message for Job { type Reply = (); }
/// # impl Actor for Worker {
/// #     type Message = Job;
/// #     type Error = Infallible;
/// #     async fn handle_message<B: MessageBroker<Job>>(&mut self, _: Job, _: &mut ActorContext<Job, B>) -> Result<(), Infallible> { Ok(()) }
/// # }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let system = ActorSystem::new();
/// let tree = SupervisorNode::builder("root")
///     .strategy(SupervisionStrategy::OneForOne)
///     .intensity(RestartIntensity::new(5, Duration::from_secs(10)))
///     .child(ChildSpec::actor("worker", || Worker).backoff(Backoff::exponential()))
///     .build();
/// let root = system.start_supervisor(tree).await?;
/// let worker = system.lookup::<Job>("worker").expect("started");
/// worker.tell(Job).await?;
/// assert_eq!(root.children().await?.len(), 1);
/// system.shutdown().await;
/// # Ok(())
/// # }
/// ```
pub struct SupervisorNode {
    name: Arc<str>,
    config: NodeConfig,
    parked: Parked,
    running: Option<Running>,
}

impl fmt::Debug for SupervisorNode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SupervisorNode")
            .field("name", &self.name)
            .field("strategy", &self.config.strategy)
            .field("intensity", &self.config.intensity)
            .finish()
    }
}

/// Builds a [`SupervisorNode`].
#[must_use]
#[derive(Debug)]
pub struct SupervisorBuilder {
    name: Arc<str>,
    config: NodeConfig,
    children: Vec<ChildSpec>,
}

impl fmt::Debug for NodeConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NodeConfig")
            .field("strategy", &self.strategy)
            .field("intensity", &self.intensity)
            .field("health_interval", &self.health_interval)
            .finish()
    }
}

impl SupervisorBuilder {
    /// Sets the strategy (default [`SupervisionStrategy::OneForOne`]).
    pub fn strategy(mut self, strategy: SupervisionStrategy) -> Self {
        self.config.strategy = strategy;
        self
    }

    /// Sets the restart intensity (default 3 restarts within 5 s).
    pub fn intensity(mut self, intensity: RestartIntensity) -> Self {
        self.config.intensity = intensity;
        self
    }

    /// Health-checks every running child at this interval; a child answering
    /// [`ChildHealth::Failed`] (or not answering within the interval, at most 5 s) is restarted.
    pub fn health_check_interval(mut self, interval: Duration) -> Self {
        self.config.health_interval = Some(interval);
        self.config.health_timeout = interval.min(Duration::from_secs(5));
        self
    }

    /// Adds a child; children start in the order they are added and stop in reverse.
    pub fn child(mut self, spec: ChildSpec) -> Self {
        self.children.push(spec);
        self
    }

    /// Builds the supervisor (not started yet).
    pub fn build(self) -> SupervisorNode {
        let now = Instant::now();
        let entries = self
            .children
            .into_iter()
            .map(|spec| Entry {
                spec: Some(spec),
                generation: 0,
                running: false,
                stats: Arc::new(ChildStats::new(now)),
                pending: None,
            })
            .collect();
        SupervisorNode {
            name: self.name,
            config: self.config,
            parked: Arc::new(Mutex::new(Some(entries))),
            running: None,
        }
    }
}

impl SupervisorNode {
    /// Starts building a supervisor named `name`.
    pub fn builder(name: impl Into<Arc<str>>) -> SupervisorBuilder {
        SupervisorBuilder {
            name: name.into(),
            config: NodeConfig {
                strategy: SupervisionStrategy::OneForOne,
                intensity: RestartIntensity::default(),
                health_interval: None,
                health_timeout: Duration::from_secs(5),
            },
            children: Vec::new(),
        }
    }

    /// The supervisor's name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    pub(crate) fn name_arc(&self) -> &Arc<str> {
        &self.name
    }

    pub(crate) async fn start_root(
        mut self,
        system: ActorSystem,
    ) -> Result<SupervisorHandle, ChildError> {
        self.launch(system, ExitNotifier::detached()).await?;
        Ok(SupervisorHandle { node: self })
    }

    async fn launch(
        &mut self,
        system: ActorSystem,
        parent: ExitNotifier,
    ) -> Result<(), ChildError> {
        if self.running.as_ref().is_some_and(|r| !r.join.is_finished()) {
            return Err(ChildError::AlreadyRunning(self.name.to_string()));
        }
        let handle = tokio::runtime::Handle::try_current()
            .map_err(|_| ChildError::Spawn(SpawnError::NoRuntime))?;
        let entries = self.parked.lock().ok().and_then(|mut p| p.take());
        let Some(entries) = entries else {
            return Err(ChildError::StartFailed {
                child: self.name.to_string(),
                reason: "its children were lost when it was killed".to_owned(),
            });
        };
        let (cmd_tx, mut cmd_rx) = mpsc::unbounded_channel();
        let (done_tx, done_rx) = watch::channel(None);
        let (started_tx, started_rx) = oneshot::channel();
        let (events_tx, events_rx) = mpsc::unbounded_channel();
        let mut run = NodeRun {
            name: Arc::clone(&self.name),
            config: self.config.clone(),
            window: Arc::new(Mutex::new(RestartWindow::new(self.config.intensity))),
            system,
            entries,
            events_tx,
            events_rx,
            token: 0,
        };
        let parked = Arc::clone(&self.parked);
        let join = handle.spawn(async move {
            let reason = run.run(&mut cmd_rx, started_tx).await;
            let entries = std::mem::take(&mut run.entries);
            if parent.tx.is_some() {
                // A parent may restart this supervisor: keep the children (and their mailboxes).
                if let Ok(mut p) = parked.lock() {
                    *p = Some(entries);
                }
            } else {
                // A root supervisor is never restarted: finalize its children now, so their
                // names are released and their queues dead-lettered.
                drop(entries);
            }
            parent.notify(reason.clone());
            let _ = done_tx.send(Some(reason));
        });
        self.running = Some(Running {
            cmd: cmd_tx,
            join,
            done: done_rx,
        });
        match started_rx.await {
            Ok(result) => result,
            Err(_) => Err(ChildError::StartFailed {
                child: self.name.to_string(),
                reason: "the supervisor task ended while starting".to_owned(),
            }),
        }
    }

    async fn stop_running(&mut self, shutdown: bool, timeout: Duration) -> Result<(), ChildError> {
        let Some(mut running) = self.running.take() else {
            return Ok(());
        };
        let (reply, _ack) = oneshot::channel();
        let _ = running.cmd.send(Command::Stop { shutdown, reply });
        if tokio::time::timeout(timeout, &mut running.join)
            .await
            .is_ok()
        {
            return Ok(());
        }
        running.join.abort();
        let _ = running.join.await;
        Err(ChildError::StopTimedOut(self.name.to_string()))
    }

    fn supervisor_ref(&self) -> Option<SupervisorRef> {
        self.running.as_ref().map(|r| SupervisorRef {
            name: Arc::clone(&self.name),
            cmd: r.cmd.clone(),
            done: r.done.clone(),
        })
    }
}

impl Child for SupervisorNode {
    async fn start(&mut self, ctx: ChildContext) -> Result<(), ChildError> {
        self.launch(ctx.system, ctx.notifier).await
    }

    async fn stop(&mut self, timeout: Duration) -> Result<(), ChildError> {
        self.stop_running(false, timeout).await
    }

    async fn health_check(&mut self) -> ChildHealth {
        match &self.running {
            Some(r) if !r.join.is_finished() => ChildHealth::Healthy,
            _ => ChildHealth::Failed(format!("supervisor {} is not running", self.name)),
        }
    }
}

/// The system's handle on a root supervisor.
pub(crate) struct SupervisorHandle {
    node: SupervisorNode,
}

impl SupervisorHandle {
    pub(crate) fn supervisor_ref(&self) -> SupervisorRef {
        self.node.supervisor_ref().unwrap_or_else(|| {
            let (_tx, done) = watch::channel(Some(StopReason::Normal));
            let (cmd, _rx) = mpsc::unbounded_channel();
            SupervisorRef {
                name: Arc::clone(&self.node.name),
                cmd,
                done,
            }
        })
    }

    /// Stops the tree (children drain, reverse order) and finalizes every child.
    pub(crate) async fn shutdown(
        mut self,
        system: &ActorSystem,
        drain_until: Instant,
        per_child: Duration,
    ) {
        let budget = drain_until
            .saturating_duration_since(Instant::now())
            .saturating_add(per_child);
        if let Err(e) = self.node.stop_running(true, budget).await {
            tracing::warn!(supervisor = %self.node.name, error = %e, "supervisor did not stop in time");
            system.record_timed_out(self.node.name.to_string());
        }
        // Dropping the node drops its children: their queues are dead-lettered, names removed.
    }
}

/// A handle on a running root supervisor.
#[derive(Clone)]
pub struct SupervisorRef {
    name: Arc<str>,
    cmd: mpsc::UnboundedSender<Command>,
    done: watch::Receiver<Option<StopReason>>,
}

impl fmt::Debug for SupervisorRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SupervisorRef")
            .field("name", &self.name)
            .field("running", &self.is_running())
            .finish()
    }
}

impl SupervisorRef {
    /// The supervisor's name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `false` once the supervisor has stopped (or given up and escalated).
    #[must_use]
    pub fn is_running(&self) -> bool {
        self.done.borrow().is_none()
    }

    /// Waits until the supervisor stops and returns why. A root supervisor whose restart
    /// intensity was exceeded returns [`StopReason::Failed`].
    pub async fn wait(&self) -> StopReason {
        let mut done = self.done.clone();
        loop {
            if let Some(reason) = done.borrow_and_update().clone() {
                return reason;
            }
            if done.changed().await.is_err() {
                return done.borrow().clone().unwrap_or(StopReason::Killed);
            }
        }
    }

    /// The state of every child.
    ///
    /// # Errors
    ///
    /// [`ChildError::SupervisorStopped`] if the supervisor is not running.
    pub async fn children(&self) -> Result<Vec<ChildStatus>, ChildError> {
        let (tx, rx) = oneshot::channel();
        self.cmd
            .send(Command::Status(tx))
            .map_err(|_| ChildError::SupervisorStopped)?;
        rx.await.map_err(|_| ChildError::SupervisorStopped)
    }

    /// Stops every child in reverse start order and then the supervisor; waits for it.
    pub async fn stop(&self) -> StopReason {
        let (reply, rx) = oneshot::channel();
        if self
            .cmd
            .send(Command::Stop {
                shutdown: false,
                reply,
            })
            .is_ok()
        {
            let _ = rx.await;
        }
        self.wait().await
    }
}

/// The running state of a supervisor, owned by its task.
struct NodeRun {
    name: Arc<str>,
    config: NodeConfig,
    /// Shared with the children that may restart in place: one window for every restart.
    window: Arc<Mutex<RestartWindow>>,
    system: ActorSystem,
    entries: Vec<Entry>,
    events_tx: mpsc::UnboundedSender<Event>,
    events_rx: mpsc::UnboundedReceiver<Event>,
    token: u64,
}

async fn tick(interval: &mut Option<Interval>) {
    match interval {
        Some(i) => {
            i.tick().await;
        }
        None => std::future::pending().await,
    }
}

impl NodeRun {
    async fn run(
        &mut self,
        cmd_rx: &mut mpsc::UnboundedReceiver<Command>,
        started: oneshot::Sender<Result<(), ChildError>>,
    ) -> StopReason {
        self.window_lock().clear();
        for i in 0..self.entries.len() {
            if let Err(e) = self.start_child(i).await {
                self.stop_range_rev(0, i).await;
                let reason = StopReason::Failed(e.to_string());
                let _ = started.send(Err(e));
                return reason;
            }
        }
        let _ = started.send(Ok(()));
        let mut health = self
            .config
            .health_interval
            .map(|d| tokio::time::interval_at(crate::time::deadline_after(Instant::now(), d), d));
        loop {
            tokio::select! {
                cmd = cmd_rx.recv() => match cmd {
                    Some(Command::Status(reply)) => {
                        let _ = reply.send(self.status());
                    }
                    Some(Command::Stop { shutdown, reply }) => {
                        self.stop_range_rev(0, self.entries.len()).await;
                        let _ = reply.send(());
                        return if shutdown { StopReason::Shutdown } else { StopReason::Normal };
                    }
                    None => {
                        self.stop_range_rev(0, self.entries.len()).await;
                        return StopReason::Normal;
                    }
                },
                Some(event) = self.events_rx.recv() => {
                    if let Some(why) = self.on_event(event).await {
                        return self.give_up(why).await;
                    }
                }
                () = tick(&mut health) => {
                    if let Some(why) = self.check_health().await {
                        return self.give_up(why).await;
                    }
                }
            }
        }
    }

    async fn give_up(&mut self, why: String) -> StopReason {
        tracing::error!(supervisor = %self.name, reason = %why, "supervisor gives up and escalates");
        if let Some(obs) = self.system.inner.observer.get() {
            obs.on_event(&RuntimeEvent::SupervisorEscalated {
                supervisor: &self.name,
                reason: &why,
            });
        }
        self.stop_range_rev(0, self.entries.len()).await;
        StopReason::Failed(format!("supervisor {}: {why}", self.name))
    }

    fn window_lock(&self) -> std::sync::MutexGuard<'_, RestartWindow> {
        self.window
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn status(&self) -> Vec<ChildStatus> {
        self.entries
            .iter()
            .filter_map(|e| {
                e.spec.as_ref().map(|s| {
                    let stats = e.stats.lock();
                    ChildStatus {
                        id: s.id.to_string(),
                        running: e.running,
                        restarts: stats.restarts,
                        last_exit: stats.last_exit.clone(),
                    }
                })
            })
            .collect()
    }

    async fn start_child(&mut self, i: usize) -> Result<(), ChildError> {
        let events_tx = self.events_tx.clone();
        let system = self.system.clone();
        let Some(entry) = self.entries.get_mut(i) else {
            return Ok(());
        };
        let Some(spec) = entry.spec.as_mut() else {
            return Ok(());
        };
        entry.generation += 1;
        entry.pending = None;
        // The supervisor would restart a failure of this child at once and alone: the child's
        // task may do it itself (see `in_place.rs`).
        let in_place = (self.config.strategy == SupervisionStrategy::OneForOne
            && matches!(spec.backoff, Backoff::Immediate)
            && spec.restart != RestartPolicy::Temporary)
            .then(|| InPlace {
                supervisor: Arc::clone(&self.name),
                child: Arc::clone(&spec.id),
                policy: spec.restart,
                window: Arc::clone(&self.window),
                within: self.config.intensity.within,
                stats: Arc::clone(&entry.stats),
            });
        let ctx = ChildContext {
            system,
            child_id: Arc::clone(&spec.id),
            notifier: ExitNotifier {
                tx: Some(events_tx),
                index: i,
                generation: entry.generation,
            },
            in_place,
        };
        spec.child.start_boxed(ctx).await?;
        entry.running = true;
        entry.stats.lock().last_start = Instant::now();
        Ok(())
    }

    async fn stop_child(&mut self, i: usize) {
        let Some(entry) = self.entries.get_mut(i) else {
            return;
        };
        entry.pending = None;
        if !entry.running {
            return;
        }
        entry.running = false;
        if let Some(spec) = entry.spec.as_mut()
            && let Err(e) = spec.child.stop_boxed(spec.shutdown_timeout).await
        {
            tracing::warn!(supervisor = %self.name, child = %spec.id, error = %e, "child did not stop cleanly");
        }
    }

    /// Stops children `from..to` in reverse order.
    async fn stop_range_rev(&mut self, from: usize, to: usize) {
        for i in (from..to).rev() {
            self.stop_child(i).await;
        }
    }

    async fn on_event(&mut self, event: Event) -> Option<String> {
        match event {
            Event::Exit {
                index,
                generation,
                reason,
            } => {
                let entry = self.entries.get_mut(index)?;
                if entry.spec.is_none() || !entry.running || entry.generation != generation {
                    return None;
                }
                entry.running = false;
                self.on_exit(index, reason).await
            }
            Event::RestartDue {
                group,
                token,
                attempt,
                delay,
            } => {
                let due: Vec<usize> = group
                    .into_iter()
                    .filter(|&i| {
                        self.entries
                            .get(i)
                            .is_some_and(|e| e.pending == Some(token))
                    })
                    .collect();
                self.restart_group(&due, attempt, delay).await;
                None
            }
        }
    }

    /// A child stopped (it is already marked not running). `Some(why)` to give up.
    async fn on_exit(&mut self, index: usize, reason: StopReason) -> Option<String> {
        let now = Instant::now();
        let within = self.config.intensity.within;
        let entry = self.entries.get_mut(index)?;
        entry.stats.lock().last_exit = Some(reason.clone());
        let spec = entry.spec.as_ref()?;
        let id = Arc::clone(&spec.id);
        let policy = spec.restart;
        let backoff = spec.backoff;
        tracing::warn!(supervisor = %self.name, child = %id, %reason, "child stopped");
        if let StopReason::Escalated(e) = &reason {
            return Some(format!("child {id} escalated: {e}"));
        }
        if !policy.should_restart(&reason) {
            // Removed for good: dropping the child finalizes it.
            entry.spec = None;
            return None;
        }
        let attempt = entry.stats.lock().record_exit(&reason, now, within);
        if !self.window_lock().record(now) {
            let i = self.config.intensity;
            return Some(format!(
                "restart intensity exceeded ({} restarts within {:?}); child {id} {reason}",
                i.max_restarts, i.within
            ));
        }
        let mut group = self.group_for(index);
        for &i in group.iter().rev() {
            if i != index && self.entries[i].running {
                self.stop_child(i).await;
                if self.entries[i]
                    .spec
                    .as_ref()
                    .is_some_and(|s| s.restart == RestartPolicy::Temporary)
                {
                    self.entries[i].spec = None;
                }
            }
        }
        group.retain(|&i| self.entries[i].spec.is_some());
        let delay = backoff.delay(attempt);
        if delay.is_zero() {
            self.restart_group(&group, attempt + 1, delay).await;
        } else {
            self.token += 1;
            let token = self.token;
            for &i in &group {
                self.entries[i].pending = Some(token);
            }
            let tx = self.events_tx.clone();
            tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                let _ = tx.send(Event::RestartDue {
                    group,
                    token,
                    attempt: attempt + 1,
                    delay,
                });
            });
        }
        None
    }

    fn group_for(&self, index: usize) -> Vec<usize> {
        let live = |i: &usize| self.entries[*i].spec.is_some();
        match self.config.strategy {
            SupervisionStrategy::OneForOne => vec![index],
            SupervisionStrategy::OneForAll => (0..self.entries.len()).filter(live).collect(),
            SupervisionStrategy::RestForOne => (index..self.entries.len()).filter(live).collect(),
        }
    }

    async fn restart_group(&mut self, group: &[usize], attempt: u32, delay: Duration) {
        for &i in group {
            let Some(entry) = self.entries.get(i) else {
                continue;
            };
            if entry.spec.is_none() || entry.running {
                continue;
            }
            match self.start_child(i).await {
                Ok(()) => {
                    let entry = &mut self.entries[i];
                    {
                        let mut stats = entry.stats.lock();
                        stats.restarts = stats.restarts.saturating_add(1);
                    }
                    if let (Some(obs), Some(spec)) =
                        (self.system.inner.observer.get(), entry.spec.as_ref())
                    {
                        obs.on_event(&RuntimeEvent::ChildRestarted {
                            supervisor: &self.name,
                            child: &spec.id,
                            attempt,
                            delay,
                        });
                    }
                }
                Err(e) => {
                    tracing::error!(supervisor = %self.name, error = %e, "restart failed");
                    // Count it as a failure of that child: it goes through intensity and backoff.
                    let entry = &mut self.entries[i];
                    entry.running = true;
                    let _ = self.events_tx.send(Event::Exit {
                        index: i,
                        generation: entry.generation,
                        reason: StopReason::Failed(e.to_string()),
                    });
                }
            }
        }
    }

    async fn check_health(&mut self) -> Option<String> {
        for i in 0..self.entries.len() {
            if !self.entries[i].running {
                continue;
            }
            let timeout = self.config.health_timeout;
            let Some(spec) = self.entries[i].spec.as_mut() else {
                continue;
            };
            let health = tokio::time::timeout(timeout, spec.child.health_boxed())
                .await
                .unwrap_or_else(|_| ChildHealth::Failed("no answer to the health check".into()));
            match health {
                ChildHealth::Healthy => {}
                ChildHealth::Degraded(why) => {
                    tracing::warn!(supervisor = %self.name, child = %spec.id, %why, "child degraded");
                }
                ChildHealth::Failed(why) => {
                    self.stop_child(i).await;
                    if let Some(give_up) = self.on_exit(i, StopReason::HealthCheckFailed(why)).await
                    {
                        return Some(give_up);
                    }
                }
            }
        }
        None
    }
}
