//! Running one actor instance: `pre_start` (in the starter's future), then the task's loop of
//! messages and signals, then `post_stop`.

use std::any::Any;
use std::future::poll_fn;
use std::panic::AssertUnwindSafe;
use std::task::Poll;
use std::time::Instant;

use futures_util::FutureExt;
use tracing::Instrument;

use crate::dead_letter::DeadLetterReason;
use crate::mailbox::{Envelope, MailboxReceiver};
use crate::observer::{HandleOutcome, RuntimeEvent};
use crate::signal::{DRAIN, HEALTH, STOP};
use crate::supervisor::{ChildHealth, StopReason};
use crate::{Actor, ActorContext, ErrorAction, MessageBroker};

enum Next<E> {
    Signal(u8),
    Msg(E),
    Closed,
}

pub(crate) fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-string panic payload".to_owned()
    }
}

/// Runs `pre_start` on a fresh instance, catching a panic; `Err` with why it failed.
///
/// It runs in the future of whoever starts the actor (`spawn`, a supervisor's `start`), before the
/// actor's task exists: the starter waits for it anyway, and running it here saves a task hop
/// and a cross-task wake-up per (re)start. Messages sent meanwhile queue in the mailbox.
pub(crate) async fn pre_start<A: Actor, B: MessageBroker<A::Message>>(
    actor: &mut A,
    ctx: &mut ActorContext<A::Message, B>,
) -> Result<(), StopReason> {
    // Boxed: a cold path, kept out of the starter's future.
    match Box::pin(AssertUnwindSafe(actor.pre_start(ctx)).catch_unwind()).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(StopReason::Failed(e.to_string())),
        Err(p) => Err(StopReason::Panicked(panic_message(p.as_ref()))),
    }
}

/// One instance of an actor with its mailbox and context, as its task owns them.
///
/// The loop takes it by one reference (not three), which keeps the task's future small.
pub(crate) struct Instance<A: Actor, B: MessageBroker<A::Message>> {
    pub(crate) actor: A,
    pub(crate) rx: MailboxReceiver<A::Message>,
    pub(crate) ctx: ActorContext<A::Message, B>,
}

/// Runs a started `actor` (its `pre_start` done) on `rx` until it stops, then `post_stop`.
/// The receiver is left in place for a restart.
pub(crate) async fn run_actor<A: Actor, B: MessageBroker<A::Message>>(
    inst: &mut Instance<A, B>,
) -> StopReason {
    // Cold paths (health, drain, post_stop) are boxed: they run rarely, and an idle actor's task
    // then holds only the hot path (poll the lane and mailbox, handle one). Nothing else is kept
    // across the wait (the lane and the observer are read through `ctx`): every byte of this
    // future is in every idle actor's task.
    //
    // The lane's waker is registered once, not each time the actor goes idle: this loop runs in
    // one task for its whole life, only this loop takes the lane's bits, and a signal takes the
    // waker only when it raises bits, which the loop then sees (and registers again). A new run
    // (a restart, on a new task) registers afresh.
    inst.rx.lane_armed = false;
    let reason = loop {
        let next = poll_fn(|cx| {
            let lane = inst.ctx.myself().lane();
            let bits = lane.take();
            if bits != 0 {
                inst.rx.lane_armed = false;
                return Poll::Ready(Next::Signal(bits));
            }
            match inst.rx.poll_recv(cx) {
                Poll::Ready(Some(env)) => Poll::Ready(Next::Msg(env)),
                Poll::Ready(None) => Poll::Ready(Next::Closed),
                Poll::Pending if inst.rx.lane_armed => Poll::Pending,
                Poll::Pending => {
                    lane.register(cx.waker());
                    inst.rx.lane_armed = true;
                    match lane.take() {
                        0 => Poll::Pending,
                        bits => {
                            inst.rx.lane_armed = false;
                            Poll::Ready(Next::Signal(bits))
                        }
                    }
                }
            }
        })
        .await;
        match next {
            Next::Msg(env) => {
                if let Some(reason) = start_one(inst, env).await {
                    break reason;
                }
            }
            Next::Signal(bits) => {
                if bits & HEALTH != 0 {
                    let health =
                        Box::pin(AssertUnwindSafe(inst.actor.health_check()).catch_unwind())
                            .await
                            .unwrap_or_else(|p| ChildHealth::Failed(panic_message(p.as_ref())));
                    for waiter in inst.ctx.myself().lane().take_health_waiters() {
                        let _ = waiter.send(health.clone());
                    }
                }
                if bits & STOP != 0 {
                    if bits & DRAIN != 0 {
                        if let Some(reason) = Box::pin(drain(inst)).await {
                            break reason;
                        }
                        break StopReason::Shutdown;
                    }
                    break StopReason::Normal;
                }
            }
            Next::Closed => break StopReason::Normal,
        }
    };
    let _ = Box::pin(AssertUnwindSafe(inst.actor.post_stop(&mut inst.ctx, &reason)).catch_unwind())
        .await;
    reason
}

/// Handles what is queued until the mailbox is empty or the drain deadline passes.
async fn drain<A: Actor, B: MessageBroker<A::Message>>(
    inst: &mut Instance<A, B>,
) -> Option<StopReason> {
    let deadline = inst.ctx.myself().lane().drain_deadline();
    let system = inst.ctx.system().clone();
    let drained = &system.inner.drained;
    loop {
        if deadline.is_some_and(|d| tokio::time::Instant::now() >= d) {
            return None;
        }
        let env = inst.rx.try_recv()?;
        drained.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if let Some(reason) = start_one(inst, env).await {
            return Some(reason);
        }
    }
}

/// Puts the envelope's reply slot in `inst.ctx` and returns the future that handles its message.
/// A plain function, so that neither the envelope nor its parts are kept in the caller's future
/// while the message is handled: every byte of that future is in every idle actor's task.
#[inline]
fn start_one<A: Actor, B: MessageBroker<A::Message>>(
    inst: &mut Instance<A, B>,
    env: Envelope<A::Message>,
) -> impl Future<Output = Option<StopReason>> + '_ {
    inst.ctx.reply = env.reply;
    handle_one(inst, env.msg)
}

/// Handles one message (its reply slot, if any, already in `inst.ctx`); `Some(reason)` when the
/// actor must stop.
#[inline]
async fn handle_one<A: Actor, B: MessageBroker<A::Message>>(
    inst: &mut Instance<A, B>,
    msg: A::Message,
) -> Option<StopReason> {
    let started_at = inst
        .ctx
        .system()
        .inner
        .observer
        .get()
        .map(|_| Instant::now());
    inst.rx.in_flight = true;
    let span = tracing::trace_span!(
        "handle_message",
        actor_id = inst.ctx.id().as_u64(),
        message_type = std::any::type_name::<A::Message>()
    );
    let result = AssertUnwindSafe(inst.actor.handle_message(msg, &mut inst.ctx))
        .catch_unwind()
        .instrument(span)
        .await;
    inst.rx.in_flight = false;
    inst.ctx.reply = None;
    let (outcome, exit) = match result {
        Ok(Ok(())) => (HandleOutcome::Ok, None),
        Ok(Err(error)) => {
            let action = std::panic::catch_unwind(AssertUnwindSafe(|| {
                inst.actor.on_error(&error, &mut inst.ctx)
            }))
            .unwrap_or(ErrorAction::Restart);
            tracing::warn!(actor = %inst.ctx.id(), %error, ?action, "handler failed");
            let text = error.to_string();
            let exit = match action {
                ErrorAction::Resume => None,
                ErrorAction::Restart => Some(StopReason::Failed(text.clone())),
                ErrorAction::Stop => Some(StopReason::Normal),
                ErrorAction::Escalate => Some(StopReason::Escalated(text.clone())),
            };
            if exit.is_some() {
                inst.rx
                    .dead_letter_in_flight(DeadLetterReason::Failed(text));
            }
            (HandleOutcome::Error, exit)
        }
        Err(payload) => {
            let text = panic_message(payload.as_ref());
            tracing::error!(actor = %inst.ctx.id(), panic = %text, "handler panicked");
            inst.rx
                .dead_letter_in_flight(DeadLetterReason::Panicked(text.clone()));
            (HandleOutcome::Panicked, Some(StopReason::Panicked(text)))
        }
    };
    if let (Some(obs), Some(t0)) = (inst.ctx.system().inner.observer.get(), started_at) {
        obs.on_event(&RuntimeEvent::MessageHandled {
            id: inst.ctx.id(),
            message_type: std::any::type_name::<A::Message>(),
            duration: t0.elapsed(),
            outcome,
            mailbox_depth: inst.ctx.myself().mailbox_depth(),
        });
    }
    if exit.is_none() && inst.ctx.stop_requested {
        inst.ctx.stop_requested = false;
        return Some(StopReason::Normal);
    }
    exit
}
