//! [`ComponentActor`]: a WebAssembly component instance as an airssys actor.

use std::fmt;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use airssys_rt::{
    Actor, ActorChild, ActorContext, ChildHealth, ChildSpec, ErrorAction, MailboxConfig, Message,
    MessageBroker, StopReason,
};
use airssys_wasm_security::{AuditLog, CapabilitySet};
use wasmtime::{Store, UpdateDeadline};

use crate::bindings::Component as Guest;
use crate::bindings::airssys::component::types::{self, HealthStatus};
use crate::host::HostState;
use crate::observer::ComponentEvent;
use crate::route::Route;
use crate::{ComponentId, ComponentLimits, ComponentTemplate};

/// A message for a component.
#[derive(Clone)]
#[non_exhaustive]
pub enum ComponentMessage {
    /// An application message for the component's `handle` export. Boxed: mailboxes
    /// preallocate slots, so a small message keeps every idle component's mailbox small.
    Deliver(Box<Envelope>),
    /// Replace the running code with a new version (see [`upgrade`](crate::upgrade)).
    Upgrade(ComponentTemplate),
}

impl fmt::Debug for ComponentMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Deliver(e) => f.debug_tuple("Deliver").field(e).finish(),
            Self::Upgrade(t) => f.debug_tuple("Upgrade").field(&t.digest()).finish(),
        }
    }
}

/// An application message: who sent it, on which topic, and the bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Envelope {
    /// The sender: a component id, or `host`.
    pub sender: String,
    /// The topic, for a published message.
    pub topic: Option<String>,
    /// The body.
    pub payload: Vec<u8>,
}

impl ComponentMessage {
    /// A direct message from `sender`.
    pub fn deliver(sender: impl Into<String>, payload: impl Into<Vec<u8>>) -> Self {
        Self::Deliver(Box::new(Envelope {
            sender: sender.into(),
            topic: None,
            payload: payload.into(),
        }))
    }

    /// A message published by `sender` on `topic`.
    pub fn published(
        sender: impl Into<String>,
        topic: impl Into<String>,
        payload: impl Into<Vec<u8>>,
    ) -> Self {
        Self::Deliver(Box::new(Envelope {
            sender: sender.into(),
            topic: Some(topic.into()),
            payload: payload.into(),
        }))
    }
}

impl Message for ComponentMessage {
    /// The component's reply (`None` when it returned no bytes), or why there is none.
    type Reply = Result<Option<Vec<u8>>, ComponentError>;
}

/// Why a component did not produce a reply.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ComponentError {
    /// The component's `handle` (or `init`) returned this error; the instance is fine.
    #[error("the component returned an error: {0}")]
    Guest(String),
    /// The instance trapped; it is discarded and its supervisor restarts it on a fresh store.
    #[error("the component trapped: {0}")]
    Trapped(String),
    /// The call ran past the component's deadline and was interrupted.
    #[error("the component exceeded its deadline of {0:?} and was interrupted")]
    DeadlineExceeded(Duration),
    /// The component tried to grow its memory past its limit.
    #[error("the component exceeded its memory limit of {0} bytes")]
    MemoryLimit(usize),
    /// The call used up its fuel.
    #[error("the component ran out of fuel")]
    OutOfFuel,
    /// No instance is running (the last one failed and has not been replaced yet).
    #[error("the component is not running")]
    NotRunning,
    /// Instantiating the component failed (for example the instance pool is exhausted).
    #[error("the component could not be instantiated: {0}")]
    Instantiate(String),
    /// A hot upgrade failed and the previous version keeps running.
    #[error("upgrade rolled back, the previous version keeps running: {0}")]
    UpgradeRolledBack(String),
}

/// What every instance of one component shares: identity, grants, limits, configuration, and
/// the current version (updated by a successful upgrade, so restarts use it).
pub(crate) struct Shared {
    pub(crate) id: ComponentId,
    pub(crate) current: RwLock<ComponentTemplate>,
    pub(crate) caps: CapabilitySet,
    pub(crate) limits: ComponentLimits,
    pub(crate) config: Vec<u8>,
    pub(crate) audit: Option<AuditLog>,
    pub(crate) subscriptions: Vec<String>,
    /// Fuel per call: the component's limit, else the engine default, else unmetered.
    pub(crate) fuel: Option<u64>,
    /// The cluster broker, when the component runs in a cluster.
    #[cfg(feature = "cluster")]
    pub(crate) cluster: Option<airssys_rt::NatsBroker<ComponentMessage>>,
}

impl Shared {
    /// Where this component's host calls go.
    fn route(&self, system: &airssys_rt::ActorSystem) -> Route {
        #[cfg(feature = "cluster")]
        if let Some(broker) = &self.cluster {
            return Route::Cluster(broker.clone());
        }
        Route::Local(system.clone())
    }
}

impl Shared {
    pub(crate) fn template(&self) -> ComponentTemplate {
        match self.current.read() {
            Ok(t) => t.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    fn set_template(&self, template: ComponentTemplate) {
        match self.current.write() {
            Ok(mut t) => *t = template,
            Err(poisoned) => *poisoned.into_inner() = template,
        }
    }

    fn audit(&self, event: &str, detail: &str) {
        if let Some(audit) = &self.audit
            && let Err(e) = audit.lifecycle(self.id.as_str(), event, Some(detail))
        {
            tracing::error!(component = %self.id, error = %e, "audit log write failed");
        }
    }
}

/// How to run one component: what it is, what it may do, its limits and configuration.
///
/// Build one, then spawn it with [`spawn`](Self::spawn) (unsupervised) or put
/// [`child_spec`](Self::child_spec) under a [`SupervisorNode`](airssys_rt::SupervisorNode):
/// a trap, deadline kill or limit hit then fails that actor only and the supervisor restarts
/// it on a fresh `Store` from the cached `InstancePre`.
#[must_use]
pub struct ComponentSpec {
    id: ComponentId,
    template: ComponentTemplate,
    caps: CapabilitySet,
    limits: Option<ComponentLimits>,
    config: Vec<u8>,
    audit: Option<AuditLog>,
    mailbox: Option<MailboxConfig>,
    subscriptions: Vec<String>,
    #[cfg(feature = "cluster")]
    cluster: Option<airssys_rt::NatsBroker<ComponentMessage>>,
}

impl fmt::Debug for ComponentSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ComponentSpec")
            .field("id", &self.id)
            .field("template", &self.template)
            .field("limits", &self.limits)
            .finish()
    }
}

impl ComponentSpec {
    /// A component named `id` running `template`, with no capabilities (deny-all), the
    /// engine's default limits and empty configuration.
    pub fn new(id: impl Into<ComponentId>, template: ComponentTemplate) -> Self {
        Self {
            id: id.into(),
            template,
            caps: CapabilitySet::deny_all(),
            limits: None,
            config: Vec::new(),
            audit: None,
            mailbox: None,
            subscriptions: Vec::new(),
            #[cfg(feature = "cluster")]
            cluster: None,
        }
    }

    /// Runs the component on a cluster broker (feature `cluster`): its `send`, `request` and
    /// `publish` reach components on every node (local names first), its subscriptions are
    /// cluster-wide, and, supervised through [`child_spec`](Self::child_spec), it runs on
    /// that broker. Make its id reachable from the other nodes with
    /// [`NatsBroker::register`](airssys_rt::NatsBroker::register) once it has started.
    #[cfg(feature = "cluster")]
    pub fn cluster(mut self, broker: airssys_rt::NatsBroker<ComponentMessage>) -> Self {
        self.cluster = Some(broker);
        self
    }

    /// Grants these capabilities (immutable for the life of the component).
    pub fn capabilities(mut self, caps: CapabilitySet) -> Self {
        self.caps = caps;
        self
    }

    /// Sets the limits (default: the engine's).
    pub fn limits(mut self, limits: ComponentLimits) -> Self {
        self.limits = Some(limits);
        self
    }

    /// The bytes handed to the component's `init`.
    pub fn config(mut self, config: impl Into<Vec<u8>>) -> Self {
        self.config = config.into();
        self
    }

    /// Writes the grant at start, lifecycle events and every denial to this audit log.
    pub fn audit(mut self, audit: AuditLog) -> Self {
        self.audit = Some(audit);
        self
    }

    /// Uses this mailbox instead of the system default.
    pub fn mailbox(mut self, mailbox: MailboxConfig) -> Self {
        self.mailbox = Some(mailbox);
        self
    }

    /// Subscribes the component to `topic` at start (needs a matching `subscribe` grant).
    pub fn subscribe(mut self, topic: impl Into<String>) -> Self {
        self.subscriptions.push(topic.into());
        self
    }

    /// The component id.
    #[must_use]
    pub fn id(&self) -> &ComponentId {
        &self.id
    }

    pub(crate) fn into_shared(self) -> (Arc<Shared>, Option<MailboxConfig>) {
        let engine_config = self.template.engine().config();
        let limits = self.limits.unwrap_or(engine_config.default_limits);
        // Fuel only exists when the engine meters it.
        let fuel = engine_config
            .fuel
            .map(|default| limits.fuel.unwrap_or(default));
        if let Some(audit) = &self.audit
            && let Err(e) = audit.granted(self.id.as_str(), &self.caps)
        {
            tracing::error!(component = %self.id, error = %e, "audit log write failed");
        }
        (
            Arc::new(Shared {
                id: self.id,
                current: RwLock::new(self.template),
                caps: self.caps,
                limits,
                config: self.config,
                audit: self.audit,
                subscriptions: self.subscriptions,
                fuel,
                #[cfg(feature = "cluster")]
                cluster: self.cluster,
            }),
            self.mailbox,
        )
    }

    /// A supervised child running this component, registered under its id.
    pub fn child_spec(self) -> ChildSpec {
        let id = self.id.clone();
        let (shared, mailbox) = self.into_shared();
        #[cfg(feature = "cluster")]
        if let Some(broker) = shared.cluster.clone() {
            let factory = move || ComponentActor::new(Arc::clone(&shared));
            let mut child = ActorChild::with_broker(Arc::clone(id.as_arc()), factory, broker);
            if let Some(m) = mailbox {
                child = child.mailbox(m);
            }
            return ChildSpec::new(Arc::clone(id.as_arc()), child);
        }
        let factory = move || ComponentActor::new(Arc::clone(&shared));
        let mut child = ActorChild::new(Arc::clone(id.as_arc()), factory);
        if let Some(m) = mailbox {
            child = child.mailbox(m);
        }
        ChildSpec::new(Arc::clone(id.as_arc()), child)
    }

    /// Spawns the component unsupervised (a trap stops it), registered under its id.
    ///
    /// # Errors
    ///
    /// [`airssys_rt::SpawnError`], for example when `init` fails or the id is taken.
    pub async fn spawn(
        self,
        system: &airssys_rt::ActorSystem,
    ) -> Result<airssys_rt::ActorRef<ComponentMessage>, airssys_rt::SpawnError> {
        let id = self.id.clone();
        let (shared, mailbox) = self.into_shared();
        let mut options = airssys_rt::SpawnOptions::new().name(Arc::clone(id.as_arc()));
        if let Some(m) = mailbox {
            options = options.mailbox(m);
        }
        system
            .spawn_with(ComponentActor::new(shared), options)
            .await
    }
}

/// One live instance: its store and typed exports.
struct Instance {
    store: Store<HostState>,
    guest: Guest,
}

impl Drop for Instance {
    fn drop(&mut self) {
        let data = self.store.data();
        data.observer
            .emit(&ComponentEvent::InstanceStopped { id: &data.id });
    }
}

/// A component instance as an actor: one `Store` per actor, messages delivered to the
/// component's `handle` export one at a time, replies returned to `ask`.
///
/// Implements [`Actor`]; supervised through [`ActorChild`] (see [`ComponentSpec::child_spec`])
/// it is a [`Child`](airssys_rt::Child) like any native actor.
pub struct ComponentActor {
    shared: Arc<Shared>,
    instance: Option<Instance>,
}

impl fmt::Debug for ComponentActor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ComponentActor")
            .field("id", &self.shared.id)
            .field("running", &self.instance.is_some())
            .finish()
    }
}

impl ComponentActor {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        Self {
            shared,
            instance: None,
        }
    }
}

/// Creates a store and instance of `template` and runs `init`.
async fn instantiate(
    shared: &Shared,
    template: &ComponentTemplate,
    system: &airssys_rt::ActorSystem,
) -> Result<Instance, ComponentError> {
    let engine = template.engine();
    let state = HostState::new(
        shared.id.clone(),
        shared.caps.clone(),
        shared.audit.clone(),
        shared.route(system),
        &shared.limits,
        engine.inner.observer.clone(),
    );
    let mut store = Store::new(&engine.inner.engine, state);
    store.limiter(HostState::limiter);
    store.epoch_deadline_callback(|mut ctx| {
        if ctx.data_mut().past_deadline() {
            Ok(UpdateDeadline::Interrupt)
        } else {
            Ok(UpdateDeadline::Yield(1))
        }
    });
    let fuel = shared.fuel;
    prepare_call(&mut store, fuel);
    let guest = match template.inner.pre.instantiate_async(&mut store).await {
        Ok(g) => g,
        Err(e) => return Err(ComponentError::Instantiate(format!("{e:#}"))),
    };
    prepare_call(&mut store, fuel);
    match guest.call_init(&mut store, &shared.config).await {
        Ok(Ok(())) => {
            store
                .data()
                .observer
                .emit(&ComponentEvent::InstanceStarted { id: &shared.id });
            Ok(Instance { store, guest })
        }
        Ok(Err(text)) => Err(ComponentError::Guest(format!("init: {text}"))),
        Err(e) => Err(store.data().classify(&e)),
    }
}

fn prepare_call(store: &mut Store<HostState>, fuel: Option<u64>) {
    store.data_mut().begin_call();
    store.set_epoch_deadline(1);
    if let Some(fuel) = fuel {
        // Only fails when fuel is not enabled on the engine, which `fuel` being set rules out.
        let _ = store.set_fuel(fuel);
    }
}

impl Actor for ComponentActor {
    type Message = ComponentMessage;
    type Error = ComponentError;

    async fn pre_start<B: MessageBroker<ComponentMessage>>(
        &mut self,
        ctx: &mut ActorContext<ComponentMessage, B>,
    ) -> Result<(), ComponentError> {
        for topic in &self.shared.subscriptions {
            let decision = self.shared.caps.check_subscribe(topic);
            if let Some(reason) = decision.reason() {
                return Err(ComponentError::Instantiate(format!(
                    "subscription to {topic:?} denied: {reason}"
                )));
            }
            ctx.subscribe(topic.as_str()).await;
        }
        let template = self.shared.template();
        let instance = instantiate(&self.shared, &template, ctx.system()).await?;
        self.instance = Some(instance);
        self.shared.audit("started", template.digest());
        Ok(())
    }

    fn handle_message<B: MessageBroker<ComponentMessage>>(
        &mut self,
        msg: ComponentMessage,
        ctx: &mut ActorContext<ComponentMessage, B>,
    ) -> impl Future<Output = Result<(), ComponentError>> + Send {
        // The whole handler is boxed: the future of a message in flight (wasmtime's call
        // future) is then not part of every idle component's task, which holds only this
        // pointer between messages. One small allocation per message, next to a guest call.
        // The upgrade path (a whole instantiation's future, over 1 KiB) is boxed apart, so that
        // this box holds only a delivery: 1616 bytes with it inline, a malloc in glibc's
        // large-chunk path on every message.
        Box::pin(async move {
            match msg {
                ComponentMessage::Deliver(env) => self.deliver(env, ctx).await,
                ComponentMessage::Upgrade(template) => {
                    let result = Box::pin(self.upgrade(template, ctx.system())).await;
                    ctx.reply(result.clone().map(|()| None));
                    match result {
                        // A failed snapshot poisons the old store: restart it.
                        Err(e) if self.instance.is_none() => Err(e),
                        _ => Ok(()),
                    }
                }
            }
        })
    }

    async fn post_stop<B: MessageBroker<ComponentMessage>>(
        &mut self,
        _ctx: &mut ActorContext<ComponentMessage, B>,
        reason: &StopReason,
    ) {
        self.instance = None;
        self.shared.audit("stopped", &reason.to_string());
    }

    fn on_error<B: MessageBroker<ComponentMessage>>(
        &mut self,
        error: &ComponentError,
        _ctx: &mut ActorContext<ComponentMessage, B>,
    ) -> ErrorAction {
        self.shared.audit("failed", &error.to_string());
        ErrorAction::Restart
    }

    async fn health_check(&mut self) -> ChildHealth {
        let Some(inst) = self.instance.as_mut() else {
            return ChildHealth::Failed("no running instance".into());
        };
        let fuel = self.shared.fuel;
        prepare_call(&mut inst.store, fuel);
        // Boxed, like a delivery: an idle component's task should not carry wasmtime's call
        // future for a health check it may never get.
        match Box::pin(inst.guest.call_health(&mut inst.store)).await {
            Ok(h) => health_of(&h),
            Err(e) => {
                let err = inst.store.data().classify(&e);
                self.instance = None;
                ChildHealth::Failed(err.to_string())
            }
        }
    }
}

fn health_of(h: &types::Health) -> ChildHealth {
    match h.status {
        HealthStatus::Healthy => ChildHealth::Healthy,
        HealthStatus::Degraded => ChildHealth::Degraded(h.detail.clone()),
        HealthStatus::Failed => ChildHealth::Failed(h.detail.clone()),
    }
}

impl ComponentActor {
    async fn deliver<B: MessageBroker<ComponentMessage>>(
        &mut self,
        env: Box<Envelope>,
        ctx: &mut ActorContext<ComponentMessage, B>,
    ) -> Result<(), ComponentError> {
        let Some(inst) = self.instance.as_mut() else {
            ctx.reply(Err(ComponentError::NotRunning));
            return Err(ComponentError::NotRunning);
        };
        let env = *env;
        let wit = types::Envelope {
            sender: env.sender,
            topic: env.topic,
            payload: env.payload,
            expects_reply: ctx.is_ask(),
        };
        let fuel = self.shared.fuel;
        prepare_call(&mut inst.store, fuel);
        match inst.guest.call_handle(&mut inst.store, &wit).await {
            Ok(Ok(reply)) => {
                ctx.reply(Ok(reply));
                Ok(())
            }
            Ok(Err(text)) => {
                let host = inst.store.data();
                host.observer
                    .emit(&ComponentEvent::GuestError { id: &host.id });
                ctx.reply(Err(ComponentError::Guest(text)));
                Ok(())
            }
            Err(e) => {
                // A trap poisons the whole store: drop it; the supervisor restarts us fresh.
                let err = inst.store.data().classify(&e);
                self.instance = None;
                ctx.reply(Err(err.clone()));
                Err(err)
            }
        }
    }

    /// Moves to `new`: snapshot the old state, instantiate, restore, health-check; on any
    /// failure keep the old instance. Messages queue in the mailbox meanwhile.
    async fn upgrade(
        &mut self,
        new: ComponentTemplate,
        system: &airssys_rt::ActorSystem,
    ) -> Result<(), ComponentError> {
        let old_digest = self.shared.template().digest().to_owned();
        let Some(old) = self.instance.as_mut() else {
            return Err(ComponentError::NotRunning);
        };
        let fuel = self.shared.fuel;
        prepare_call(&mut old.store, fuel);
        let state = match old.guest.call_snapshot(&mut old.store).await {
            Ok(s) => s,
            Err(e) => {
                let err = old.store.data().classify(&e);
                self.instance = None;
                new.engine().inner.observer.emit(&ComponentEvent::Upgraded {
                    id: &self.shared.id,
                    success: false,
                });
                return Err(ComponentError::UpgradeRolledBack(format!(
                    "snapshot of the running version failed: {err}"
                )));
            }
        };
        let observer = &new.engine().inner.observer;
        let rollback = |stage: &str, why: String| {
            observer.emit(&ComponentEvent::Upgraded {
                id: &self.shared.id,
                success: false,
            });
            let reason = format!("{stage}: {why}");
            self.shared.audit("upgrade-rolled-back", &reason);
            tracing::warn!(component = %self.shared.id, %reason, "upgrade rolled back");
            ComponentError::UpgradeRolledBack(reason)
        };
        let mut next = match instantiate(&self.shared, &new, system).await {
            Ok(i) => i,
            Err(e) => return Err(rollback("instantiate", e.to_string())),
        };
        prepare_call(&mut next.store, fuel);
        match next.guest.call_restore(&mut next.store, &state).await {
            Ok(Ok(())) => {}
            Ok(Err(text)) => return Err(rollback("restore", text)),
            Err(e) => {
                return Err(rollback(
                    "restore",
                    next.store.data().classify(&e).to_string(),
                ));
            }
        }
        prepare_call(&mut next.store, fuel);
        match next.guest.call_health(&mut next.store).await {
            Ok(h) => {
                if let ChildHealth::Failed(why) = health_of(&h) {
                    return Err(rollback("health", why));
                }
            }
            Err(e) => {
                return Err(rollback(
                    "health",
                    next.store.data().classify(&e).to_string(),
                ));
            }
        }
        self.instance = Some(next);
        self.shared.set_template(new.clone());
        observer.emit(&ComponentEvent::Upgraded {
            id: &self.shared.id,
            success: true,
        });
        let detail = format!("{old_digest} -> {}", new.digest());
        self.shared.audit("upgraded", &detail);
        tracing::info!(component = %self.shared.id, %detail, "upgraded");
        Ok(())
    }
}

/// Asks the running component `actor` to upgrade to `template`, waiting up to `timeout`.
/// Messages sent meanwhile queue and are handled exactly once, by whichever version is
/// running when they are taken.
///
/// # Errors
///
/// [`ComponentError::UpgradeRolledBack`] when the new version failed to instantiate, restore or
/// report healthy (the old one keeps running), or the reason the request was not answered.
pub async fn upgrade(
    actor: &airssys_rt::ActorRef<ComponentMessage>,
    template: ComponentTemplate,
    timeout: Duration,
) -> Result<(), ComponentError> {
    match actor
        .ask(ComponentMessage::Upgrade(template), timeout)
        .await
    {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(e),
        Err(e) => Err(ComponentError::UpgradeRolledBack(format!(
            "the upgrade request was not answered: {e}"
        ))),
    }
}
