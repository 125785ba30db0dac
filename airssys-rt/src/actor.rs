//! The [`Actor`] trait and [`ErrorAction`].

use std::future::Future;

use crate::supervisor::{ChildHealth, StopReason};
use crate::{ActorContext, Message, MessageBroker};

/// What to do after a handler returned an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorAction {
    /// Keep the current state and go on with the next message. The failed message counts as
    /// handled (with an error outcome).
    Resume,
    /// Stop with [`StopReason::Failed`]: the message in flight is dead-lettered and the supervisor
    /// restarts the actor from a fresh instance; queued messages survive the restart. An actor
    /// without a supervisor stops.
    Restart,
    /// Stop with [`StopReason::Normal`]: the message in flight is dead-lettered; a `Transient` or
    /// `Temporary` child is not restarted.
    Stop,
    /// Stop with [`StopReason::Escalated`]: the supervisor does not restart the actor but fails
    /// itself, handing the decision to its own parent.
    Escalate,
}

/// An actor: private state, handling one message at a time from its mailbox.
///
/// The methods are generic over the [`MessageBroker`] the actor runs on, so the same actor code
/// runs on the in-memory broker and on a cluster broker. Handlers are `async fn`s (no boxing on
/// the message path).
///
/// A panic in any of these methods is caught and treated as a failure.
///
/// # Examples
///
/// ```
/// use airssys_rt::{Actor, ActorContext, ErrorAction, Message, MessageBroker};
///
/// #[derive(Debug, thiserror::Error)]
/// #[error("negative amount")]
/// struct Negative;
///
/// struct Account {
///     balance: i64,
/// }
///
/// enum AccountMsg {
///     Deposit(i64),
///     Balance,
/// }
///
/// impl Message for AccountMsg {
///     type Reply = i64;
/// }
///
/// impl Actor for Account {
///     type Message = AccountMsg;
///     type Error = Negative;
///
///     async fn handle_message<B: MessageBroker<AccountMsg>>(
///         &mut self,
///         msg: AccountMsg,
///         ctx: &mut ActorContext<AccountMsg, B>,
///     ) -> Result<(), Negative> {
///         match msg {
///             AccountMsg::Deposit(n) if n < 0 => return Err(Negative),
///             AccountMsg::Deposit(n) => self.balance += n,
///             AccountMsg::Balance => {
///                 ctx.reply(self.balance);
///             }
///         }
///         Ok(())
///     }
///
///     fn on_error<B: MessageBroker<AccountMsg>>(
///         &mut self,
///         _error: &Negative,
///         _ctx: &mut ActorContext<AccountMsg, B>,
///     ) -> ErrorAction {
///         ErrorAction::Resume
///     }
/// }
/// ```
pub trait Actor: Send + Sized + 'static {
    /// The messages this actor handles.
    type Message: Message;
    /// The error its handlers return.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Handles one message. Reply to an `ask` with [`ActorContext::reply`].
    fn handle_message<B: MessageBroker<Self::Message>>(
        &mut self,
        msg: Self::Message,
        ctx: &mut ActorContext<Self::Message, B>,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send;

    /// Runs before the first message (and after every restart, on the fresh instance). An error
    /// (or a panic) fails the spawn (or the restart).
    ///
    /// It runs in the future of whoever starts the actor ([`ActorSystem::spawn`] or the
    /// supervisor's start of the child), which waits for it anyway; the actor's own task is
    /// made afterwards, by the first message or signal (at once if one was sent during
    /// `pre_start`), and handles the messages.
    ///
    /// [`ActorSystem::spawn`]: crate::ActorSystem::spawn
    fn pre_start<B: MessageBroker<Self::Message>>(
        &mut self,
        ctx: &mut ActorContext<Self::Message, B>,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send {
        let _ = ctx;
        async { Ok(()) }
    }

    /// Runs when the actor stops, whatever the reason (also before a restart).
    fn post_stop<B: MessageBroker<Self::Message>>(
        &mut self,
        ctx: &mut ActorContext<Self::Message, B>,
        reason: &StopReason,
    ) -> impl Future<Output = ()> + Send {
        let _ = (ctx, reason);
        async {}
    }

    /// Decides what a handler error means. The default restarts the actor.
    fn on_error<B: MessageBroker<Self::Message>>(
        &mut self,
        error: &Self::Error,
        ctx: &mut ActorContext<Self::Message, B>,
    ) -> ErrorAction {
        let _ = (error, ctx);
        ErrorAction::Restart
    }

    /// Reports health when a supervisor asks (between messages). The default is healthy;
    /// [`ChildHealth::Failed`] makes the supervisor restart the actor.
    fn health_check(&mut self) -> impl Future<Output = ChildHealth> + Send {
        async { ChildHealth::Healthy }
    }
}
