//! The [`Child`] trait — what a supervisor manages — and [`ChildSpec`].

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use super::in_place::InPlace;
use super::node::Event;
use super::{ActorChild, Backoff, ChildHealth, RestartPolicy, StopReason, SupervisorNode};
use crate::{Actor, ActorSystem, ChildError};

/// Something a [`SupervisorNode`] starts, stops, health-checks and restarts.
///
/// Every [`Actor`] is supervised as a child through [`ActorChild`] (see [`ChildSpec::actor`]) with
/// no extra code; `ActorChild` is generic over the broker the actor runs on. Implement `Child`
/// directly for anything else with a lifecycle (a nested supervisor is one).
///
/// A child that stops on its own must tell its supervisor through the [`ExitNotifier`] in the
/// [`ChildContext`] it was started with.
pub trait Child: Send + 'static {
    /// Starts (or restarts) the child. Resolves once it is running.
    fn start(&mut self, ctx: ChildContext) -> impl Future<Output = Result<(), ChildError>> + Send;

    /// Stops the child, killing it if it takes longer than `timeout`.
    fn stop(&mut self, timeout: Duration) -> impl Future<Output = Result<(), ChildError>> + Send;

    /// Reports health; [`ChildHealth::Failed`] makes the supervisor restart the child.
    fn health_check(&mut self) -> impl Future<Output = ChildHealth> + Send {
        async { ChildHealth::Healthy }
    }
}

/// What a child gets when it is started.
#[derive(Debug, Clone)]
pub struct ChildContext {
    pub(crate) system: ActorSystem,
    pub(crate) child_id: Arc<str>,
    pub(crate) notifier: ExitNotifier,
    /// Set when the supervisor lets the child restart a failure itself (see `in_place.rs`).
    pub(crate) in_place: Option<InPlace>,
}

impl ChildContext {
    /// The actor system the supervisor runs in.
    #[must_use]
    pub fn system(&self) -> &ActorSystem {
        &self.system
    }

    /// The child's id within its supervisor.
    #[must_use]
    pub fn child_id(&self) -> &str {
        &self.child_id
    }

    /// The handle to report that the child stopped on its own.
    #[must_use]
    pub fn exit_notifier(&self) -> ExitNotifier {
        self.notifier.clone()
    }
}

/// Tells a supervisor that one start of one child has ended.
#[derive(Clone)]
pub struct ExitNotifier {
    pub(crate) tx: Option<mpsc::UnboundedSender<Event>>,
    pub(crate) index: usize,
    pub(crate) generation: u64,
}

impl fmt::Debug for ExitNotifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExitNotifier")
            .field("index", &self.index)
            .field("generation", &self.generation)
            .finish()
    }
}

impl ExitNotifier {
    /// Reports that the child stopped for `reason`. Reports about an older start of the child
    /// are ignored by the supervisor.
    pub fn notify(&self, reason: StopReason) {
        if let Some(tx) = &self.tx {
            let _ = tx.send(Event::Exit {
                index: self.index,
                generation: self.generation,
                reason,
            });
        }
    }

    pub(crate) fn detached() -> Self {
        Self {
            tx: None,
            index: 0,
            generation: 0,
        }
    }
}

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Object-safe form of [`Child`] (supervision is off the message hot path, so boxing is fine).
pub(crate) trait ErasedChild: Send {
    fn start_boxed(&mut self, ctx: ChildContext) -> BoxFuture<'_, Result<(), ChildError>>;
    fn stop_boxed(&mut self, timeout: Duration) -> BoxFuture<'_, Result<(), ChildError>>;
    fn health_boxed(&mut self) -> BoxFuture<'_, ChildHealth>;
}

impl<C: Child> ErasedChild for C {
    fn start_boxed(&mut self, ctx: ChildContext) -> BoxFuture<'_, Result<(), ChildError>> {
        Box::pin(self.start(ctx))
    }

    fn stop_boxed(&mut self, timeout: Duration) -> BoxFuture<'_, Result<(), ChildError>> {
        Box::pin(self.stop(timeout))
    }

    fn health_boxed(&mut self) -> BoxFuture<'_, ChildHealth> {
        Box::pin(self.health_check())
    }
}

/// One child of a supervisor: what it is, and how it is restarted.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use airssys_rt::{Backoff, ChildSpec, RestartPolicy};
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
/// let spec = ChildSpec::actor("worker", || Worker)
///     .restart(RestartPolicy::Transient)
///     .backoff(Backoff::exponential().with_jitter(0.2))
///     .shutdown_timeout(Duration::from_secs(2));
/// assert_eq!(spec.id(), "worker");
/// ```
#[must_use]
pub struct ChildSpec {
    pub(crate) id: Arc<str>,
    pub(crate) child: Box<dyn ErasedChild>,
    pub(crate) restart: RestartPolicy,
    pub(crate) backoff: Backoff,
    pub(crate) shutdown_timeout: Duration,
}

impl fmt::Debug for ChildSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChildSpec")
            .field("id", &self.id)
            .field("restart", &self.restart)
            .field("backoff", &self.backoff)
            .field("shutdown_timeout", &self.shutdown_timeout)
            .finish()
    }
}

impl ChildSpec {
    /// A child with id `id` (unique within its supervisor): `Permanent`, immediate restart, 5 s
    /// stop timeout.
    pub fn new(id: impl Into<Arc<str>>, child: impl Child) -> Self {
        Self {
            id: id.into(),
            child: Box::new(child),
            restart: RestartPolicy::Permanent,
            backoff: Backoff::Immediate,
            shutdown_timeout: Duration::from_secs(5),
        }
    }

    /// An actor registered under `name`, created by `factory` at every (re)start, on the
    /// in-memory broker with the system's default mailbox. Use [`ActorChild`] for more options.
    pub fn actor<A, F>(name: impl Into<Arc<str>>, factory: F) -> Self
    where
        A: Actor,
        F: FnMut() -> A + Send + 'static,
    {
        let name = name.into();
        Self::new(Arc::clone(&name), ActorChild::new(name, factory))
    }

    /// A nested supervisor; its id is its name.
    pub fn supervisor(node: SupervisorNode) -> Self {
        let id = Arc::clone(node.name_arc());
        Self::new(id, node)
    }

    /// Sets the restart policy.
    pub fn restart(mut self, policy: RestartPolicy) -> Self {
        self.restart = policy;
        self
    }

    /// Sets the restart backoff.
    pub fn backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// Sets how long the child may take to stop before it is killed.
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = timeout;
        self
    }

    /// The child's id within its supervisor.
    #[must_use]
    pub fn id(&self) -> &str {
        &self.id
    }
}
