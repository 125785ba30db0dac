//! [`ActorSystem`]: spawning, lookup, supervision roots and graceful shutdown.

mod shutdown;

use std::any::{Any, TypeId};
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use dashmap::DashMap;

pub use shutdown::{ShutdownOptions, ShutdownReport};

use crate::dead_letter::DeadLetters;
use crate::mailbox::{self, MailboxReceiver};
use crate::observer::{ObserverSlot, RuntimeEvent};
use crate::registry::Registry;
use crate::runner::{self, Instance, run_actor};
use crate::signal::SignalLane;
use crate::supervisor::{StopReason, SupervisorHandle};
use crate::task::{self, ActorTask};
use crate::{
    Actor, ActorContext, ActorId, ActorRef, ChildError, InMemoryBroker, MailboxConfig, Message,
    MessageBroker, RuntimeObserver, SpawnError, SupervisorNode, SupervisorRef,
};

/// A set of actors sharing a registry, brokers, a dead-letter queue and an observer.
///
/// Cheap to clone (shared). Many actor types with different message types live in one system.
/// Actors run as tokio tasks on the runtime that is current when they are spawned; an actor's
/// task is created by its first message or signal.
///
/// # Examples
///
/// ```
/// use std::convert::Infallible;
/// use airssys_rt::{Actor, ActorContext, ActorSystem, Message, MessageBroker};
///
/// struct Printer;
/// struct Line(String);
/// impl Message for Line {
///     type Reply = ();
/// }
///
/// impl Actor for Printer {
///     type Message = Line;
///     type Error = Infallible;
///     async fn handle_message<B: MessageBroker<Line>>(
///         &mut self,
///         Line(text): Line,
///         _ctx: &mut ActorContext<Line, B>,
///     ) -> Result<(), Infallible> {
///         tracing::info!("{text}");
///         Ok(())
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let system = ActorSystem::new();
/// let printer = system.spawn_named("printer", Printer).await?;
/// printer.tell(Line("hello".into())).await?;
/// let same = system.lookup::<Line>("printer").expect("registered");
/// assert_eq!(same.id(), printer.id());
/// let report = system.shutdown().await;
/// assert_eq!(report.drained + report.dead_lettered, 1);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct ActorSystem {
    pub(crate) inner: Arc<SystemInner>,
}

pub(crate) struct SystemInner {
    pub(crate) registry: Registry,
    pub(crate) dead_letters: DeadLetters,
    pub(crate) observer: ObserverSlot,
    pub(crate) drained: AtomicU64,
    next_id: AtomicU64,
    default_mailbox: MailboxConfig,
    publish_timeout: Duration,
    brokers: DashMap<TypeId, Box<dyn Any + Send + Sync>>,
    top: DashMap<ActorId, TopLevel>,
    shutting_down: AtomicBool,
    timed_out: Mutex<Vec<String>>,
    /// Whether the keeper task runs (see [`ActorSystem::ensure_keeper`]).
    keeper: AtomicBool,
}

/// Owned by the keeper task: when tokio drops that task (its runtime shuts down), drops the
/// top-level actors that never got a task, as tokio drops the tasks of the others. Without it
/// such an actor would outlive the runtime: its state and the system point at each other.
struct Keeper(Weak<SystemInner>);

impl Drop for Keeper {
    fn drop(&mut self) {
        let Some(inner) = self.0.upgrade() else {
            return;
        };
        let pending: Vec<_> = inner
            .top
            .iter_mut()
            .filter_map(|mut entry| match entry.value_mut() {
                TopLevel::Actor { task, .. } => task.take_pending(),
                TopLevel::Supervisor(_) => None,
            })
            .collect();
        // Dropped after the table's locks are released: an actor's drop may do anything.
        drop(pending);
    }
}

pub(crate) enum TopLevel {
    Actor {
        name: Option<Arc<str>>,
        lane: Arc<SignalLane>,
        task: ActorTask,
    },
    Supervisor(Box<SupervisorHandle>),
}

impl TopLevel {
    /// An actor whose mailbox is closing, or a root supervisor that has stopped, either
    /// about to leave the table.
    pub(crate) fn is_stopped(&self) -> bool {
        match self {
            Self::Actor { lane, .. } => lane.is_closed(),
            Self::Supervisor(handle) => !handle.supervisor_ref().is_running(),
        }
    }
}

impl fmt::Debug for ActorSystem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ActorSystem")
            .field("actors", &self.inner.top.len())
            .field("names", &self.inner.registry.len())
            .finish()
    }
}

impl Default for ActorSystem {
    fn default() -> Self {
        Self::new()
    }
}

/// Unregisters the name of an actor whose spawn was cancelled during `pre_start`.
struct Unstarted<'a> {
    system: &'a ActorSystem,
    name: Option<&'a str>,
    id: ActorId,
    armed: bool,
}

impl Drop for Unstarted<'_> {
    fn drop(&mut self) {
        if self.armed
            && let Some(name) = self.name
        {
            self.system.unregister(name, self.id);
        }
    }
}

/// Options of one spawn: a name and a mailbox configuration.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
#[must_use]
pub struct SpawnOptions {
    name: Option<Arc<str>>,
    mailbox: Option<MailboxConfig>,
}

impl SpawnOptions {
    /// No name, the system's default mailbox.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers the actor under `name` (removed again when it stops).
    pub fn name(mut self, name: impl Into<Arc<str>>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Uses this mailbox instead of the system default.
    pub fn mailbox(mut self, mailbox: MailboxConfig) -> Self {
        self.mailbox = Some(mailbox);
        self
    }

    /// The name the actor will be registered under.
    #[cfg(feature = "nats")]
    pub(crate) fn registered_name(&self) -> Option<&Arc<str>> {
        self.name.as_ref()
    }
}

/// Builds an [`ActorSystem`].
#[must_use]
pub struct ActorSystemBuilder {
    observer: Option<Arc<dyn RuntimeObserver>>,
    default_mailbox: MailboxConfig,
    dead_letter_capacity: usize,
    publish_timeout: Duration,
}

impl fmt::Debug for ActorSystemBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ActorSystemBuilder")
            .field("observer", &self.observer.is_some())
            .field("default_mailbox", &self.default_mailbox)
            .field("dead_letter_capacity", &self.dead_letter_capacity)
            .field("publish_timeout", &self.publish_timeout)
            .finish()
    }
}

impl ActorSystemBuilder {
    /// Installs a runtime event observer (metrics, tracing exporters).
    pub fn observer(mut self, observer: Arc<dyn RuntimeObserver>) -> Self {
        self.observer = Some(observer);
        self
    }

    /// The mailbox of actors spawned without one (default: bounded 1024, `Block`).
    pub fn default_mailbox(mut self, mailbox: MailboxConfig) -> Self {
        self.default_mailbox = mailbox;
        self
    }

    /// How many recent dead letters are kept for inspection (default 1024; all are counted).
    pub fn dead_letter_capacity(mut self, capacity: usize) -> Self {
        self.dead_letter_capacity = capacity;
        self
    }

    /// The longest a publish waits on one subscriber whose `Block` mailbox is full (default 1 s).
    pub fn publish_timeout(mut self, timeout: Duration) -> Self {
        self.publish_timeout = timeout;
        self
    }

    /// Builds the system.
    pub fn build(self) -> ActorSystem {
        let observer = ObserverSlot::new(self.observer);
        ActorSystem {
            inner: Arc::new(SystemInner {
                registry: Registry::default(),
                dead_letters: DeadLetters::new(self.dead_letter_capacity, observer.clone()),
                observer,
                drained: AtomicU64::new(0),
                next_id: AtomicU64::new(1),
                default_mailbox: self.default_mailbox,
                publish_timeout: self.publish_timeout,
                brokers: DashMap::new(),
                top: DashMap::new(),
                shutting_down: AtomicBool::new(false),
                timed_out: Mutex::new(Vec::new()),
                keeper: AtomicBool::new(false),
            }),
        }
    }
}

impl ActorSystem {
    /// A system with default settings and no observer.
    #[must_use]
    pub fn new() -> Self {
        Self::builder().build()
    }

    /// Starts building a system.
    pub fn builder() -> ActorSystemBuilder {
        ActorSystemBuilder {
            observer: None,
            default_mailbox: MailboxConfig::default(),
            dead_letter_capacity: 1024,
            publish_timeout: Duration::from_secs(1),
        }
    }

    /// Spawns an actor and waits until its `pre_start` has run. A message sent right after this
    /// returns is delivered.
    ///
    /// `pre_start` runs in this future (on the caller's task). The actor's task, which handles
    /// the messages, is created by the first message or signal (a stop, a drain, a health
    /// check), so spawning wakes no other worker and an actor that is never sent anything holds
    /// no task; messages sent meanwhile (also from `pre_start`) queue in its mailbox.
    ///
    /// # Errors
    ///
    /// [`SpawnError::PreStartFailed`], [`SpawnError::ShuttingDown`], [`SpawnError::NoRuntime`].
    ///
    /// # Cancel safety
    ///
    /// Cancelling before this returns drops the actor during (or before) its `pre_start`: it
    /// never runs, its name is released and anything already sent to it is dead-lettered.
    pub async fn spawn<A: Actor>(&self, actor: A) -> Result<ActorRef<A::Message>, SpawnError> {
        self.spawn_with(actor, SpawnOptions::new()).await
    }

    /// Spawns an actor registered under `name`.
    ///
    /// # Errors
    ///
    /// [`SpawnError::NameTaken`] if a live actor holds the name, otherwise as [`spawn`](Self::spawn).
    pub async fn spawn_named<A: Actor>(
        &self,
        name: impl Into<Arc<str>>,
        actor: A,
    ) -> Result<ActorRef<A::Message>, SpawnError> {
        self.spawn_with(actor, SpawnOptions::new().name(name)).await
    }

    /// Spawns an actor with options, on the system's in-memory broker.
    ///
    /// # Errors
    ///
    /// As [`spawn_named`](Self::spawn_named).
    pub async fn spawn_with<A: Actor>(
        &self,
        actor: A,
        options: SpawnOptions,
    ) -> Result<ActorRef<A::Message>, SpawnError> {
        let broker = self.broker::<A::Message>();
        self.spawn_on(actor, options, broker).await
    }

    /// Spawns an actor with options on a given broker (for example a cluster broker).
    ///
    /// # Errors
    ///
    /// As [`spawn_named`](Self::spawn_named).
    pub async fn spawn_on<A: Actor, B: MessageBroker<A::Message>>(
        &self,
        actor: A,
        options: SpawnOptions,
        broker: B,
    ) -> Result<ActorRef<A::Message>, SpawnError> {
        let t0 = self.inner.observer.get().map(|_| Instant::now());
        if self.is_shutting_down() {
            return Err(SpawnError::ShuttingDown);
        }
        let handle = tokio::runtime::Handle::try_current().map_err(|_| SpawnError::NoRuntime)?;
        let (actor_ref, rx) = self.new_mailbox::<A::Message>(options.name, options.mailbox)?;
        // Releases the name if this future is dropped before the actor's task exists.
        let mut unstarted = Unstarted {
            system: self,
            name: actor_ref.name(),
            id: actor_ref.id(),
            armed: true,
        };
        let mut actor = actor;
        let mut ctx = ActorContext::new(actor_ref.clone(), broker, self.clone());
        if let Err(reason) = runner::pre_start(&mut actor, &mut ctx).await {
            unstarted.armed = false;
            drop(unstarted);
            self.finish_actor(&actor_ref, rx, &reason, false);
            return Err(SpawnError::PreStartFailed(reason.to_string()));
        }
        unstarted.armed = false;
        drop(unstarted);
        let id = actor_ref.id();
        let name = actor_ref.name_arc().cloned();
        let lane = Arc::clone(actor_ref.lane());
        // Built here and moved in whole: the task's future then holds the instance once (an
        // async block that assembled it from captured parts would keep both copies).
        let mut inst = Instance { actor, rx, ctx };
        self.ensure_keeper(&handle);
        // The task itself is created by the first message or signal (see `task.rs`).
        let task = task::for_actor(&actor_ref, move || {
            handle.spawn(async move {
                let reason = run_actor(&mut inst).await;
                let Instance { actor, rx, ctx } = inst;
                // The actor's state (for a component, its store) is released before the
                // mailbox closes, so an actor seen stopped holds nothing any more.
                drop(actor);
                let system = ctx.system().clone();
                system.finish_actor(ctx.myself(), rx, &reason, true);
            })
        });
        let finished = task.is_finished();
        self.inner.top.insert(
            id,
            TopLevel::Actor {
                name,
                lane: Arc::clone(&lane),
                task,
            },
        );
        if finished {
            self.inner.top.remove(&id);
        } else if self.is_shutting_down() {
            // The shutdown began while pre_start ran and may not have seen this actor.
            lane.request_stop();
        }
        if let (Some(obs), Some(t0)) = (self.inner.observer.get(), t0) {
            obs.on_event(&RuntimeEvent::ActorSpawned {
                id,
                name: actor_ref.name(),
                actor_type: std::any::type_name::<A>(),
                duration: t0.elapsed(),
            });
        }
        Ok(actor_ref)
    }

    /// Starts a supervision tree: the children start in order; an error stops the ones already
    /// started (in reverse) and is returned.
    ///
    /// # Errors
    ///
    /// [`ChildError`] from the first child that failed to start.
    pub async fn start_supervisor(
        &self,
        node: SupervisorNode,
    ) -> Result<SupervisorRef, ChildError> {
        if self.is_shutting_down() {
            return Err(ChildError::Spawn(SpawnError::ShuttingDown));
        }
        let id = self.next_id();
        let handle = node.start_root(self.clone()).await?;
        let sup_ref = handle.supervisor_ref();
        self.inner
            .top
            .insert(id, TopLevel::Supervisor(Box::new(handle)));
        // A root supervisor that stops or gives up leaves the top-level table (shutdown may
        // have taken the entry first; then this is a no-op).
        let watcher = sup_ref.clone();
        let inner = Arc::downgrade(&self.inner);
        tokio::spawn(async move {
            watcher.wait().await;
            if let Some(inner) = inner.upgrade() {
                inner.top.remove(&id);
            }
        });
        Ok(sup_ref)
    }

    /// The in-memory broker of message type `M` in this system (created on first use).
    #[must_use]
    pub fn broker<M: Message>(&self) -> InMemoryBroker<M> {
        let key = TypeId::of::<M>();
        if let Some(b) = self.inner.brokers.get(&key)
            && let Some(b) = b.downcast_ref::<InMemoryBroker<M>>()
        {
            return b.clone();
        }
        let entry = self.inner.brokers.entry(key).or_insert_with(|| {
            Box::new(InMemoryBroker::<M>::new(
                self.inner.registry.clone(),
                self.inner.publish_timeout,
            ))
        });
        match entry.downcast_ref::<InMemoryBroker<M>>() {
            Some(b) => b.clone(),
            // Unreachable: the key is the TypeId of the stored type.
            None => InMemoryBroker::new(self.inner.registry.clone(), self.inner.publish_timeout),
        }
    }

    /// The actor registered under `name`, if there is one and it takes messages of type `M`.
    #[must_use]
    pub fn lookup<M: Message>(&self, name: &str) -> Option<ActorRef<M>> {
        self.inner.registry.lookup(name)
    }

    /// The id of the actor registered under `name`, whatever its message type.
    #[must_use]
    pub fn lookup_id(&self, name: &str) -> Option<ActorId> {
        self.inner.registry.id_of(name)
    }

    /// The names currently registered.
    #[must_use]
    pub fn registered_names(&self) -> Vec<Arc<str>> {
        self.inner.registry.names()
    }

    /// The dead-letter queue.
    #[must_use]
    pub fn dead_letters(&self) -> &DeadLetters {
        &self.inner.dead_letters
    }

    /// How many top-level actors and supervisors are running (supervised children are not
    /// counted separately).
    #[must_use]
    pub fn top_level_count(&self) -> usize {
        // An actor that stopped (its mailbox closing) or a root supervisor that stopped leaves
        // the table a moment later; it is not running, so it is not counted meanwhile.
        self.inner.top.iter().filter(|e| !e.is_stopped()).count()
    }

    /// `true` once [`shutdown`](Self::shutdown) has begun.
    #[must_use]
    pub fn is_shutting_down(&self) -> bool {
        self.inner.shutting_down.load(Ordering::Acquire)
    }

    pub(crate) fn next_id(&self) -> ActorId {
        ActorId(self.inner.next_id.fetch_add(1, Ordering::Relaxed))
    }

    /// Creates a mailbox and its address, registering the name if given.
    pub(crate) fn new_mailbox<M: Message>(
        &self,
        name: Option<Arc<str>>,
        config: Option<MailboxConfig>,
    ) -> Result<(ActorRef<M>, MailboxReceiver<M>), SpawnError> {
        let id = self.next_id();
        let config = config.unwrap_or(self.inner.default_mailbox);
        let dead_letters = self.inner.dead_letters.clone();
        let tx = mailbox::sender(config);
        let lane = Arc::new(SignalLane::default());
        let actor_ref = ActorRef::new(id, name.clone(), tx, config.policy(), lane, dead_letters);
        let rx = MailboxReceiver::new(actor_ref.clone());
        if let Some(name) = name
            && !self.inner.registry.register(Arc::clone(&name), &actor_ref)
        {
            return Err(SpawnError::NameTaken(name.to_string()));
        }
        Ok((actor_ref, rx))
    }

    /// Final bookkeeping of an actor that stopped for good.
    pub(crate) fn finish_actor<M: Message>(
        &self,
        actor_ref: &ActorRef<M>,
        rx: MailboxReceiver<M>,
        reason: &StopReason,
        report: bool,
    ) {
        if let Some(name) = actor_ref.name() {
            self.inner.registry.unregister(name, actor_ref.id());
        }
        // Before the mailbox closes: from then on the actor is not counted as running, though
        // it leaves the top-level table only below.
        actor_ref.lane().mark_closed();
        drop(rx);
        self.inner.top.remove(&actor_ref.id());
        if report && let Some(obs) = self.inner.observer.get() {
            obs.on_event(&RuntimeEvent::ActorStopped {
                id: actor_ref.id(),
                name: actor_ref.name(),
                reason,
            });
        }
    }

    pub(crate) fn unregister(&self, name: &str, id: ActorId) {
        self.inner.registry.unregister(name, id);
    }

    /// Spawns, once per system, the task whose drop drops the top-level actors still waiting
    /// for their first message when the runtime shuts down (see [`Keeper`]).
    ///
    /// A system used from several runtimes has its keeper on the first; its pending actors
    /// are dropped when that one shuts down.
    fn ensure_keeper(&self, handle: &tokio::runtime::Handle) {
        if self.inner.keeper.load(Ordering::Acquire)
            || self.inner.keeper.swap(true, Ordering::AcqRel)
        {
            return;
        }
        let keeper = Keeper(Arc::downgrade(&self.inner));
        drop(handle.spawn(async move {
            let _keeper = keeper;
            std::future::pending::<()>().await;
        }));
    }

    pub(crate) fn record_timed_out(&self, what: String) {
        if let Ok(mut t) = self.inner.timed_out.lock() {
            t.push(what);
        }
    }
}
