//! Exported names: how a message from another node reaches a local actor.

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use async_nats::{Client, Subject};

use super::codec::RemoteMessage;
use super::wire::{self, Request, Status};
use crate::dead_letter::DeadLetterReason;
use crate::{ActorSystem, AskError, SendError};

/// A boxed future of the inbox loop.
pub(crate) type BoxFuture = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// What the inbox loop does next with a delivered request.
pub(crate) enum Delivered {
    /// Nothing more to do.
    Done,
    /// Runs alongside the next requests (an ask waiting for its reply). Its first poll, which
    /// queues the message, comes before the next request is taken.
    Pending(BoxFuture),
    /// Must finish before the next request (a tell waiting for room in a full mailbox).
    Wait(BoxFuture),
}

/// A name of this node that other nodes can reach, with the message type of its actor.
pub(crate) trait Export: Send + Sync + 'static {
    /// Decodes a request for this name and hands it to the local actor.
    fn deliver(&self, ctx: &Delivery, request: Request<'_>, reply: Option<Subject>) -> Delivered;
}

/// What a delivery needs from the node.
pub(crate) struct Delivery {
    pub(crate) system: ActorSystem,
    pub(crate) client: Client,
    pub(crate) delivery_timeout: Duration,
}

/// The export of a local actor taking messages of type `M`.
pub(crate) struct Exported<M> {
    name: Arc<str>,
    _message: PhantomData<fn() -> M>,
}

impl<M> Exported<M> {
    pub(crate) fn new(name: Arc<str>) -> Self {
        Self {
            name,
            _message: PhantomData,
        }
    }
}

/// Sends a reply frame to the asker (at most once; a lost reply is the asker's timeout).
pub(crate) async fn respond(client: &Client, to: Subject, frame: bytes::Bytes) {
    // Bounded: the client's queue only fills while the connection is being lost.
    match tokio::time::timeout(REPLY_TIMEOUT, client.publish(to, frame)).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::debug!(error = %e, "a reply to another node could not be sent"),
        Err(_) => tracing::debug!("a reply to another node timed out in the client's queue"),
    }
}

/// The longest a reply waits in the NATS client's queue.
const REPLY_TIMEOUT: Duration = Duration::from_secs(5);

/// A [`Delivered::Pending`] that sends a reply frame.
pub(crate) fn respond_later(client: &Client, to: Subject, frame: bytes::Bytes) -> Delivered {
    let client = client.clone();
    Delivered::Pending(Box::pin(async move { respond(&client, to, frame).await }))
}

/// Polls `fut` once on the current task and spawns the rest: whatever the future does before
/// its first suspension (queueing a message) happens in order with the caller's other work.
pub(crate) async fn run_then_spawn(fut: impl Future<Output = ()> + Send + 'static) {
    let mut fut = Box::pin(fut);
    let first = std::future::poll_fn(|cx| Poll::Ready(fut.as_mut().poll(cx))).await;
    if first.is_pending() {
        tokio::spawn(fut);
    }
}

impl<M: RemoteMessage> Export for Exported<M> {
    fn deliver(&self, ctx: &Delivery, request: Request<'_>, reply: Option<Subject>) -> Delivered {
        let msg = match M::decode(request.body) {
            Ok(msg) => msg,
            Err(e) => {
                tracing::warn!(name = %self.name, error = %e, "a message from another node could not be decoded; dropped");
                return match reply {
                    Some(to) => {
                        respond_later(&ctx.client, to, wire::status_frame(Status::BadRequest))
                    }
                    None => Delivered::Done,
                };
            }
        };
        let Some(actor) = ctx.system.lookup::<M>(&self.name) else {
            return match reply {
                Some(to) => respond_later(&ctx.client, to, wire::status_frame(Status::NotFound)),
                None => Delivered::Done,
            };
        };
        if let (Some(timeout), Some(to)) = (request.ask_timeout, reply) {
            let client = ctx.client.clone();
            return Delivered::Pending(Box::pin(async move {
                let frame = match actor.ask(msg, timeout).await {
                    Ok(r) => wire::reply_frame::<M>(&r),
                    Err(e) => wire::status_frame(ask_status(&e)),
                };
                respond(&client, to, frame).await;
            }));
        }
        match actor.try_tell(msg) {
            Ok(()) => Delivered::Done,
            // `Block` waits (bounded) and keeps the order; `Reject` says full at once.
            Err(SendError::Full(msg)) => {
                let wait = ctx.delivery_timeout;
                Delivered::Wait(Box::pin(async move {
                    match tokio::time::timeout(wait, actor.tell(msg)).await {
                        Ok(Ok(()) | Err(SendError::Stopped(_))) => {}
                        Ok(Err(_)) | Err(_) => {
                            actor.record_dead_letter(DeadLetterReason::MailboxFull);
                        }
                    }
                }))
            }
            Err(_) => {
                tracing::debug!(name = %self.name, "a tell from another node found the actor stopped");
                Delivered::Done
            }
        }
    }
}

fn ask_status<M>(e: &AskError<M>) -> Status {
    match e {
        AskError::Send(SendError::Full(_)) => Status::Full,
        AskError::Send(SendError::NotFound(_)) => Status::NotFound,
        AskError::Send(_) => Status::Stopped,
        AskError::Timeout => Status::Timeout,
        _ => Status::NoReply,
    }
}
