//! Messages to actors on other nodes: tell, ask, and the proxy actor behind a remote
//! [`ActorRef`](crate::ActorRef).

use std::convert::Infallible;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use async_nats::client::RequestErrorKind;

use super::codec::RemoteMessage;
use super::export::run_then_spawn;
use super::node::Node;
use super::registry::Owner;
use super::wire::{self, Status};
use crate::dead_letter::DeadLetterReason;
use crate::{Actor, ActorContext, AskError, MessageBroker, SendError};

/// Where `name` lives, if on another node. `Err` hands the message back.
async fn route<M>(
    node: &Node,
    name: &str,
    fresh: bool,
    msg: M,
) -> Result<(Owner, M), SendError<M>> {
    if !node.is_usable() {
        return Err(SendError::Stopped(msg));
    }
    let owner = if fresh {
        node.registry.fetch(name).await
    } else {
        node.registry.resolve(name).await
    };
    match owner {
        // Held by this node but not found locally (stopped, or another message type).
        Ok(Some(owner)) if *owner.node == *node.id => Err(SendError::NotFound(msg)),
        Ok(Some(owner)) => Ok((owner, msg)),
        Ok(None) => Err(SendError::NotFound(msg)),
        Err(e) => {
            tracing::debug!(name, error = %e, "the cluster registry could not be read");
            Err(SendError::Stopped(msg))
        }
    }
}

/// Sends `msg` to the actor `name` on another node, at most once.
pub(crate) async fn tell<M: RemoteMessage>(
    node: &Node,
    name: &str,
    msg: M,
) -> Result<(), SendError<M>> {
    let (owner, msg) = route(node, name, false, msg).await?;
    let frame = match wire::tell_frame(name, &msg) {
        Ok(frame) => frame,
        Err(e) => {
            tracing::warn!(name, error = %e, "a message could not be encoded for another node");
            return Err(SendError::Stopped(msg));
        }
    };
    // Bounded: the client's queue only fills while the connection is being lost.
    let publish = node.client.publish(owner.inbox, frame);
    match tokio::time::timeout(node.config.request_timeout, publish).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => {
            tracing::debug!(name, error = %e, "a tell to another node could not be sent");
            Err(SendError::Stopped(msg))
        }
        Err(_) => {
            tracing::debug!(
                name,
                "a tell to another node timed out in the client's queue"
            );
            Err(SendError::Stopped(msg))
        }
    }
}

/// Asks the actor `name` on another node. A stale route (the node is gone, or the name moved)
/// is looked up again once in the registry.
pub(crate) async fn ask<M: RemoteMessage>(
    node: &Node,
    name: &str,
    msg: M,
    timeout: Duration,
) -> Result<M::Reply, AskError<M>> {
    let deadline = tokio::time::Instant::now() + timeout;
    let mut msg = msg;
    let mut frame = None;
    for attempt in 0..2 {
        let (owner, m) = route(node, name, attempt > 0, msg).await?;
        msg = m;
        let payload = match &frame {
            Some(f) => bytes::Bytes::clone(f),
            None => match wire::ask_frame(name, &msg, timeout) {
                Ok(f) => frame.insert(f).clone(),
                Err(e) => {
                    tracing::warn!(name, error = %e, "a message could not be encoded for another node");
                    return Err(AskError::Send(SendError::Stopped(msg)));
                }
            },
        };
        let remaining = deadline.saturating_duration_since(tokio::time::Instant::now());
        let request = async_nats::Request::new()
            .payload(payload)
            .timeout(Some(remaining));
        let reply = match node.client.send_request(owner.inbox, request).await {
            Ok(reply) => reply,
            Err(e) => match e.kind() {
                RequestErrorKind::NoResponders if attempt == 0 => {
                    node.registry.invalidate(name);
                    continue;
                }
                RequestErrorKind::NoResponders => {
                    return Err(AskError::Send(SendError::Stopped(msg)));
                }
                RequestErrorKind::TimedOut => return Err(AskError::Timeout),
                _ => {
                    tracing::debug!(name, error = %e, "an ask to another node failed");
                    return Err(AskError::Send(SendError::Stopped(msg)));
                }
            },
        };
        let Some((status, body)) = wire::parse_reply(&reply.payload) else {
            tracing::warn!(name, "a malformed reply from another node");
            return Err(AskError::NoReply);
        };
        return match status {
            Status::Ok => M::decode_reply(body).map_err(|e| {
                tracing::warn!(name, error = %e, "a reply from another node could not be decoded");
                AskError::NoReply
            }),
            Status::NotFound if attempt == 0 => {
                node.registry.invalidate(name);
                continue;
            }
            Status::NotFound => Err(AskError::Send(SendError::NotFound(msg))),
            Status::Stopped => Err(AskError::Send(SendError::Stopped(msg))),
            Status::Full => Err(AskError::Send(SendError::Full(msg))),
            Status::Timeout => Err(AskError::Timeout),
            Status::NoReply => Err(AskError::NoReply),
            Status::BadRequest => {
                tracing::warn!(
                    name,
                    "the other node could not decode the request (another message type?)"
                );
                Err(AskError::NoReply)
            }
        };
    }
    Err(AskError::Send(SendError::NotFound(msg)))
}

/// The local stand-in of an actor on another node: a real actor of this system whose
/// [`ActorRef`](crate::ActorRef) is handed out for the remote name. It encodes what it gets and
/// forwards it; asks run concurrently (the reply handle is completed from a task).
pub(crate) struct RemoteProxy<M> {
    node: Arc<Node>,
    name: Arc<str>,
    _message: PhantomData<fn() -> M>,
}

impl<M> RemoteProxy<M> {
    pub(crate) fn new(node: Arc<Node>, name: Arc<str>) -> Self {
        Self {
            node,
            name,
            _message: PhantomData,
        }
    }
}

impl<M: RemoteMessage> Actor for RemoteProxy<M> {
    type Message = M;
    type Error = Infallible;

    async fn handle_message<B: MessageBroker<M>>(
        &mut self,
        msg: M,
        ctx: &mut ActorContext<M, B>,
    ) -> Result<(), Infallible> {
        match ctx.take_reply() {
            Some(reply) => {
                let node = Arc::clone(&self.node);
                let name = Arc::clone(&self.name);
                // The request is sent before this returns (in order with the tells around it);
                // only the wait for the reply runs on its own task.
                run_then_spawn(async move {
                    let timeout = node.config.request_timeout;
                    match ask(&node, &name, msg, timeout).await {
                        Ok(r) => {
                            reply.send(r);
                        }
                        Err(e) => {
                            tracing::debug!(name = %name, error = %e, "a remote ask failed");
                            drop(reply);
                        }
                    }
                })
                .await;
            }
            None => {
                if let Err(e) = tell(&self.node, &self.name, msg).await {
                    let reason = match e {
                        SendError::Full(_) => DeadLetterReason::MailboxFull,
                        _ => DeadLetterReason::Stopped,
                    };
                    tracing::debug!(name = %self.name, error = %e, "a remote tell was not sent");
                    ctx.myself().record_dead_letter(reason);
                }
            }
        }
        Ok(())
    }
}
