//! [`ActorChild`]: any [`Actor`] as a supervised [`Child`], keeping its mailbox across restarts.

use std::fmt;
use std::marker::PhantomData;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::in_place::InPlace;
use super::{Child, ChildContext, ChildHealth, StopReason};
use crate::mailbox::MailboxReceiver;
use crate::observer::RuntimeEvent;
use crate::runner::{self, Instance, panic_message, run_actor};
use crate::task::{self, ActorTask};
use crate::{
    Actor, ActorContext, ActorRef, ActorSystem, ChildError, InMemoryBroker, MailboxConfig, Message,
    MessageBroker, SpawnError,
};

/// Where the child's broker comes from.
enum BrokerSource<B> {
    System(fn(&ActorSystem) -> B),
    Given(B),
}

impl<B: Clone> BrokerSource<B> {
    fn broker(&self, system: &ActorSystem) -> B {
        match self {
            Self::System(make) => make(system),
            Self::Given(b) => b.clone(),
        }
    }
}

impl<B: Clone> Clone for BrokerSource<B> {
    fn clone(&self) -> Self {
        match self {
            Self::System(make) => Self::System(*make),
            Self::Given(b) => Self::Given(b.clone()),
        }
    }
}

/// Makes a fresh instance with the child's factory; `Err` with the panic message if it panics.
fn make_actor<A, F: FnMut() -> A>(factory: &Mutex<F>) -> Result<A, String> {
    // The guard lives outside `catch_unwind`: a panicking factory does not poison the lock.
    let mut factory = factory
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    std::panic::catch_unwind(AssertUnwindSafe(|| (*factory)()))
        .map_err(|p| panic_message(p.as_ref()))
}

/// What a supervised actor's task needs to restart itself in place (see `in_place.rs`).
struct Renew<B, F> {
    factory: Arc<Mutex<F>>,
    broker: BrokerSource<B>,
    leave: InPlace,
}

impl<B, F> Renew<B, F> {
    /// Replaces the instance that stopped for `reason` by a fresh one, started, if the
    /// supervisor's leave admits it; `Err` with why the task must end instead (the supervisor
    /// then hears of it).
    async fn restart<A>(
        &self,
        inst: &mut Instance<A, B>,
        reason: StopReason,
    ) -> Result<(), StopReason>
    where
        A: Actor,
        B: MessageBroker<A::Message>,
        F: FnMut() -> A,
    {
        let system = inst.ctx.system().clone();
        let actor_ref = inst.ctx.myself().clone();
        let Some(attempt) = self.leave.admit(&reason, &system, actor_ref.lane()) else {
            return Err(reason);
        };
        let t0 = system
            .inner
            .observer
            .get()
            .map(|_| std::time::Instant::now());
        let fresh = make_actor(&self.factory)
            .map_err(|p| StopReason::Failed(format!("factory panicked: {p}")))?;
        // The old instance's state (for a component, its store and pool slot) is released
        // before the fresh one starts.
        inst.actor = fresh;
        let broker = self.broker.broker(&system);
        inst.ctx = ActorContext::new(actor_ref, broker, system.clone());
        runner::pre_start(&mut inst.actor, &mut inst.ctx).await?;
        self.leave.restarted(&system, attempt);
        if let (Some(obs), Some(t0)) = (system.inner.observer.get(), t0) {
            let r = inst.ctx.myself();
            obs.on_event(&RuntimeEvent::ActorSpawned {
                id: r.id(),
                name: r.name(),
                actor_type: std::any::type_name::<A>(),
                duration: t0.elapsed(),
            });
        }
        Ok(())
    }
}

type Slot<M> = Arc<Mutex<Option<(MailboxReceiver<M>, StopReason)>>>;

/// Holds the mailbox while `pre_start` runs in the starter's future, and parks it back in the
/// slot if that future is dropped (the next start finds it there).
struct ParkOnDrop<'a, M: Message> {
    slot: &'a Slot<M>,
    rx: Option<MailboxReceiver<M>>,
}

impl<M: Message> Drop for ParkOnDrop<'_, M> {
    fn drop(&mut self) {
        if let Some(rx) = self.rx.take()
            && let Ok(mut s) = self.slot.lock()
        {
            *s = Some((rx, StopReason::Killed));
        }
    }
}

/// Supervises an [`Actor`] as a [`Child`]: a fresh instance from the factory at every (re)start,
/// the same mailbox and registered name throughout.
///
/// Generic over the broker `B` the actor runs on (the system's [`InMemoryBroker`] unless
/// it is built with [`with_broker`](Self::with_broker)).
#[must_use]
pub struct ActorChild<A: Actor, B: MessageBroker<A::Message>, F> {
    name: Arc<str>,
    /// Shared with the actor's task, which may restart it in place.
    factory: Arc<Mutex<F>>,
    mailbox: Option<MailboxConfig>,
    broker: BrokerSource<B>,
    actor_ref: Option<ActorRef<A::Message>>,
    slot: Slot<A::Message>,
    task: Option<ActorTask>,
    system: Option<ActorSystem>,
    _actor: PhantomData<fn() -> A>,
}

impl<A: Actor, B: MessageBroker<A::Message>, F> fmt::Debug for ActorChild<A, B, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ActorChild")
            .field("name", &self.name)
            .field("actor", &std::any::type_name::<A>())
            .field("running", &self.task.is_some())
            .finish()
    }
}

impl<A, F> ActorChild<A, InMemoryBroker<A::Message>, F>
where
    A: Actor,
    F: FnMut() -> A + Send + 'static,
{
    /// An actor registered under `name`, created by `factory` at every (re)start.
    pub fn new(name: impl Into<Arc<str>>, factory: F) -> Self {
        Self {
            name: name.into(),
            factory: Arc::new(Mutex::new(factory)),
            mailbox: None,
            broker: BrokerSource::System(ActorSystem::broker::<A::Message>),
            actor_ref: None,
            slot: Arc::new(Mutex::new(None)),
            task: None,
            system: None,
            _actor: PhantomData,
        }
    }
}

impl<A, B, F> ActorChild<A, B, F>
where
    A: Actor,
    B: MessageBroker<A::Message>,
    F: FnMut() -> A + Send + 'static,
{
    /// An actor registered under `name`, created by `factory` at every (re)start, running on
    /// `broker` (for example a cluster broker) instead of the system's in-memory broker.
    pub fn with_broker(name: impl Into<Arc<str>>, factory: F, broker: B) -> Self {
        Self {
            name: name.into(),
            factory: Arc::new(Mutex::new(factory)),
            mailbox: None,
            broker: BrokerSource::Given(broker),
            actor_ref: None,
            slot: Arc::new(Mutex::new(None)),
            task: None,
            system: None,
            _actor: PhantomData,
        }
    }

    /// Uses this mailbox instead of the system default.
    pub fn mailbox(mut self, mailbox: MailboxConfig) -> Self {
        self.mailbox = Some(mailbox);
        self
    }

    fn take_slot(&self) -> Option<MailboxReceiver<A::Message>> {
        self.slot
            .lock()
            .ok()
            .and_then(|mut s| s.take())
            .map(|(rx, _)| rx)
    }

    fn running(&self) -> bool {
        self.task.as_ref().is_some_and(|t| !t.is_finished())
    }
}

impl<A, B, F> Child for ActorChild<A, B, F>
where
    A: Actor,
    B: MessageBroker<A::Message>,
    F: FnMut() -> A + Send + 'static,
{
    async fn start(&mut self, ctx: ChildContext) -> Result<(), ChildError> {
        let system = ctx.system.clone();
        if system.is_shutting_down() {
            return Err(ChildError::Spawn(SpawnError::ShuttingDown));
        }
        let handle = tokio::runtime::Handle::try_current()
            .map_err(|_| ChildError::Spawn(SpawnError::NoRuntime))?;
        let rx = match self.take_slot() {
            Some(rx) => rx,
            None => {
                if self.actor_ref.is_some() && self.running() {
                    return Err(ChildError::AlreadyRunning(self.name.to_string()));
                }
                // First start, or the mailbox was lost when the actor had to be killed.
                if let Some(old) = self.actor_ref.take() {
                    system.unregister(&self.name, old.id());
                }
                let (actor_ref, rx) =
                    system.new_mailbox(Some(Arc::clone(&self.name)), self.mailbox)?;
                self.actor_ref = Some(actor_ref);
                rx
            }
        };
        let Some(actor_ref) = self.actor_ref.clone() else {
            return Err(ChildError::StartFailed {
                child: self.name.to_string(),
                reason: "no mailbox".to_owned(),
            });
        };
        actor_ref.lane().reset();
        let actor = match make_actor(&self.factory) {
            Ok(actor) => actor,
            Err(p) => {
                if let Ok(mut s) = self.slot.lock() {
                    *s = Some((rx, StopReason::Panicked(p.clone())));
                }
                return Err(ChildError::StartFailed {
                    child: self.name.to_string(),
                    reason: format!("factory panicked: {p}"),
                });
            }
        };
        let broker = self.broker.broker(&system);
        let notifier = ctx.notifier.clone();
        self.system = Some(system.clone());
        let t0 = system
            .inner
            .observer
            .get()
            .map(|_| std::time::Instant::now());
        // pre_start runs here, in the supervisor's future (it waits for it anyway); the task
        // spawned afterwards only runs the message loop.
        let mut actor = actor;
        let mut actor_ctx = ActorContext::new(actor_ref, broker, system);
        let mut parked = ParkOnDrop {
            slot: &self.slot,
            rx: Some(rx),
        };
        let pre = runner::pre_start(&mut actor, &mut actor_ctx).await;
        let Some(rx) = parked.rx.take() else {
            return Err(ChildError::StartFailed {
                child: self.name.to_string(),
                reason: "no mailbox".to_owned(),
            });
        };
        drop(parked);
        if let Err(reason) = pre {
            let text = reason.to_string();
            if let Ok(mut s) = self.slot.lock() {
                *s = Some((rx, reason));
            }
            return Err(ChildError::StartFailed {
                child: self.name.to_string(),
                reason: text,
            });
        }
        let slot = Arc::clone(&self.slot);
        // Boxed: one word in every idle supervised actor's task.
        let renew = ctx.in_place.map(|leave| {
            Box::new(Renew {
                factory: Arc::clone(&self.factory),
                broker: self.broker.clone(),
                leave,
            })
        });
        // Built here and moved in whole: the task's future then holds the instance once.
        let mut inst = Instance {
            actor,
            rx,
            ctx: actor_ctx,
        };
        let Some(actor_ref) = self.actor_ref.as_ref() else {
            return Err(ChildError::StartFailed {
                child: self.name.to_string(),
                reason: "no mailbox".to_owned(),
            });
        };
        // The task itself is created by the first message or signal (see `task.rs`); a
        // restarted actor with queued messages gets it at once.
        let task = task::for_actor(actor_ref, move || {
            handle.spawn(async move {
                let reason = loop {
                    let reason = run_actor(&mut inst).await;
                    let Some(renew) = &renew else {
                        break reason;
                    };
                    // Boxed: a cold path, kept out of every idle actor's task.
                    if let Err(reason) = Box::pin(renew.restart(&mut inst, reason)).await {
                        break reason;
                    }
                };
                let Instance { actor, rx, ctx } = inst;
                // The old instance's state (for a component, its store and pool slot) is
                // released before the supervisor hears of the stop and starts a replacement.
                drop(actor);
                drop(ctx);
                if let Ok(mut s) = slot.lock() {
                    *s = Some((rx, reason.clone()));
                }
                notifier.notify(reason);
            })
        });
        self.task = Some(task);
        if let (Some(system), Some(t0)) = (&self.system, t0)
            && let (Some(obs), Some(r)) = (system.inner.observer.get(), &self.actor_ref)
        {
            obs.on_event(&RuntimeEvent::ActorSpawned {
                id: r.id(),
                name: Some(&self.name),
                actor_type: std::any::type_name::<A>(),
                duration: t0.elapsed(),
            });
        }
        Ok(())
    }

    async fn stop(&mut self, timeout: Duration) -> Result<(), ChildError> {
        let Some(mut task) = self.task.take() else {
            return Ok(());
        };
        if let Some(r) = &self.actor_ref {
            let shutting_down = self
                .system
                .as_ref()
                .is_some_and(ActorSystem::is_shutting_down);
            if shutting_down {
                let until = crate::time::deadline_after(
                    tokio::time::Instant::now(),
                    timeout.saturating_sub(timeout / 10),
                );
                r.lane().request_drain(until);
            } else {
                r.lane().request_stop();
            }
        }
        // The stop or drain request created the task of an actor that had none yet.
        let Some(join) = task.join_handle() else {
            return Ok(());
        };
        if tokio::time::timeout(timeout, &mut *join).await.is_ok() {
            return Ok(());
        }
        join.abort();
        let _ = join.await;
        if let Some(system) = &self.system {
            system.record_timed_out(self.name.to_string());
        }
        Err(ChildError::StopTimedOut(self.name.to_string()))
    }

    async fn health_check(&mut self) -> ChildHealth {
        match &self.actor_ref {
            Some(r) if self.running() => match r.lane().request_health().await {
                Ok(h) => h,
                Err(_) => ChildHealth::Failed("the actor stopped during the health check".into()),
            },
            _ => ChildHealth::Failed("not running".into()),
        }
    }
}

impl<A: Actor, B: MessageBroker<A::Message>, F> Drop for ActorChild<A, B, F> {
    fn drop(&mut self) {
        // Aborts the task, or drops a run still waiting for its first message (this child is
        // dropped with its supervisor's task, also when the runtime shuts down).
        if let Some(mut task) = self.task.take() {
            task.abort();
        }
        let last = self.slot.lock().ok().and_then(|mut s| s.take());
        let reason = last.as_ref().map_or(StopReason::Normal, |(_, r)| r.clone());
        drop(last);
        if let (Some(system), Some(r)) = (&self.system, &self.actor_ref) {
            system.unregister(&self.name, r.id());
            if let Some(obs) = system.inner.observer.get() {
                obs.on_event(&RuntimeEvent::ActorStopped {
                    id: r.id(),
                    name: Some(&self.name),
                    reason: &reason,
                });
            }
        }
    }
}
