//! Error types of the runtime, one enum per operation family.

use std::fmt;

/// Why a message could not be delivered. The message is handed back.
///
/// `Debug` does not require `M: Debug`; it prints the variant only.
#[non_exhaustive]
pub enum SendError<M> {
    /// The mailbox is full and its policy is [`Reject`](crate::MailboxPolicy::Reject)
    /// (or the call was a non-waiting `try_` call).
    Full(M),
    /// The actor has stopped; its mailbox is closed.
    Stopped(M),
    /// No actor is registered under the name the message was addressed to.
    NotFound(M),
}

impl<M> SendError<M> {
    /// Takes back the message that could not be delivered.
    pub fn into_inner(self) -> M {
        match self {
            Self::Full(m) | Self::Stopped(m) | Self::NotFound(m) => m,
        }
    }

    fn describe(&self) -> &'static str {
        match self {
            Self::Full(_) => "mailbox is full",
            Self::Stopped(_) => "actor has stopped",
            Self::NotFound(_) => "no actor is registered under that name",
        }
    }
}

impl<M> fmt::Debug for SendError<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let variant = match self {
            Self::Full(_) => "Full",
            Self::Stopped(_) => "Stopped",
            Self::NotFound(_) => "NotFound",
        };
        write!(f, "SendError::{variant}(..)")
    }
}

impl<M> fmt::Display for SendError<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "message not delivered: {}", self.describe())
    }
}

impl<M> std::error::Error for SendError<M> {}

/// Why an `ask` did not produce a reply.
#[non_exhaustive]
pub enum AskError<M> {
    /// The request was not delivered; the message is handed back.
    Send(SendError<M>),
    /// No reply arrived within the timeout. The request may still be handled later; its reply is
    /// then discarded.
    Timeout,
    /// The actor finished handling the request without replying, or failed while handling it.
    NoReply,
}

impl<M> fmt::Debug for AskError<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Send(e) => write!(f, "AskError::Send({e:?})"),
            Self::Timeout => f.write_str("AskError::Timeout"),
            Self::NoReply => f.write_str("AskError::NoReply"),
        }
    }
}

impl<M> fmt::Display for AskError<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Send(e) => write!(f, "request not delivered: {}", e.describe()),
            Self::Timeout => f.write_str("no reply within the timeout"),
            Self::NoReply => f.write_str("the actor handled the request without replying"),
        }
    }
}

impl<M> std::error::Error for AskError<M> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        None
    }
}

impl<M> From<SendError<M>> for AskError<M> {
    fn from(e: SendError<M>) -> Self {
        Self::Send(e)
    }
}

/// Why an actor could not be spawned.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SpawnError {
    /// Another live actor already holds this name.
    #[error("the name {0:?} is already registered")]
    NameTaken(String),
    /// The system is shutting down and accepts no new actors.
    #[error("the actor system is shutting down")]
    ShuttingDown,
    /// There is no tokio runtime on this thread to run the actor on.
    #[error("no tokio runtime is running on this thread")]
    NoRuntime,
    /// The actor's `pre_start` returned an error or panicked.
    #[error("pre_start failed: {0}")]
    PreStartFailed(String),
}

/// Why a supervised child could not be started or stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ChildError {
    /// The child failed to start.
    #[error("child {child:?} failed to start: {reason}")]
    StartFailed {
        /// The child id in its supervisor.
        child: String,
        /// What went wrong.
        reason: String,
    },
    /// The child is already running.
    #[error("child {0:?} is already running")]
    AlreadyRunning(String),
    /// The child did not stop within its timeout and was killed.
    #[error("child {0:?} did not stop in time and was killed")]
    StopTimedOut(String),
    /// Spawning the child's actor failed.
    #[error("spawning the child's actor failed")]
    Spawn(#[from] SpawnError),
    /// The supervisor has stopped.
    #[error("the supervisor has stopped")]
    SupervisorStopped,
}

/// Why a publish could not be carried out.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PublishError {
    /// The topic name is empty.
    #[error("the topic name is empty")]
    EmptyTopic,
}
