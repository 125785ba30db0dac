//! The reply slot of an `ask`: a one-shot channel whose sending half is a single pointer.
//!
//! `tokio::sync::oneshot::Sender` keeps an `Option` inside, so an envelope's
//! `Option<oneshot::Sender<_>>` takes two words, and every slot of a mailbox block pays for it
//! (32 slots per block). [`ReplyTx`] is one `Arc`, so `Option<ReplyTx<_>>` is one word.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};

struct State<R> {
    value: Option<R>,
    waker: Option<Waker>,
    /// The sender was dropped without sending.
    closed: bool,
    /// The receiver was dropped (the asker stopped waiting).
    abandoned: bool,
}

struct Shared<R> {
    state: Mutex<State<R>>,
    /// Set (under the lock) once a reply was sent: the sender's drop then skips the lock.
    sent: AtomicBool,
}

impl<R> Shared<R> {
    fn lock(&self) -> MutexGuard<'_, State<R>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Creates a reply slot.
#[cfg(test)]
pub(crate) fn channel<R>() -> (ReplyTx<R>, ReplyRx<R>) {
    channel_with(None)
}

/// Creates a reply slot that already holds the receiver's waker, so that its first poll can be
/// skipped (see `ask_timer::AskTimers::wait_registered`).
pub(crate) fn channel_for<R>(waker: Waker) -> (ReplyTx<R>, ReplyRx<R>) {
    channel_with(Some(waker))
}

fn channel_with<R>(waker: Option<Waker>) -> (ReplyTx<R>, ReplyRx<R>) {
    let shared = Arc::new(Shared {
        state: Mutex::new(State {
            value: None,
            waker,
            closed: false,
            abandoned: false,
        }),
        sent: AtomicBool::new(false),
    });
    (
        ReplyTx {
            shared: Arc::clone(&shared),
        },
        ReplyRx {
            shared,
            done: false,
        },
    )
}

/// The sending half: answers once; dropping it unanswered completes the receiver with an error.
pub(crate) struct ReplyTx<R> {
    shared: Arc<Shared<R>>,
}

impl<R> ReplyTx<R> {
    /// Sends the reply; gives it back if the receiver is gone.
    pub(crate) fn send(self, value: R) -> Result<(), R> {
        let waker = {
            let mut state = self.shared.lock();
            if state.abandoned {
                return Err(value);
            }
            state.value = Some(value);
            self.shared.sent.store(true, Ordering::Release);
            state.waker.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
        Ok(())
    }
}

impl<R> Drop for ReplyTx<R> {
    fn drop(&mut self) {
        if self.shared.sent.load(Ordering::Acquire) {
            return;
        }
        let waker = {
            let mut state = self.shared.lock();
            if state.value.is_some() || state.abandoned {
                return;
            }
            state.closed = true;
            state.waker.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
    }
}

/// The sender was dropped without answering.
#[derive(Debug)]
pub(crate) struct Unanswered;

/// The receiving half: a future of the reply.
pub(crate) struct ReplyRx<R> {
    shared: Arc<Shared<R>>,
    /// The reply (or the sender's end) was taken: nothing is left to release on drop.
    done: bool,
}

impl<R> Future for ReplyRx<R> {
    type Output = Result<R, Unanswered>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let mut state = this.shared.lock();
        if let Some(value) = state.value.take() {
            drop(state);
            this.done = true;
            return Poll::Ready(Ok(value));
        }
        if state.closed {
            drop(state);
            this.done = true;
            return Poll::Ready(Err(Unanswered));
        }
        match &mut state.waker {
            Some(w) if w.will_wake(cx.waker()) => {}
            slot => *slot = Some(cx.waker().clone()),
        }
        Poll::Pending
    }
}

impl<R> Drop for ReplyRx<R> {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        let value = {
            let mut state = self.shared.lock();
            state.abandoned = true;
            state.waker = None;
            state.value.take()
        };
        // Dropped outside the lock: a reply's destructor may do anything.
        drop(value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_sent_reply_is_received() {
        let (tx, rx) = channel::<u32>();
        assert!(tx.send(7).is_ok());
        assert_eq!(rx.await.ok(), Some(7));
    }

    #[tokio::test]
    async fn a_reply_sent_later_wakes_the_receiver() {
        let (tx, rx) = channel::<u32>();
        let task = tokio::spawn(rx);
        tokio::task::yield_now().await;
        assert!(tx.send(8).is_ok());
        assert_eq!(task.await.ok().and_then(Result::ok), Some(8));
    }

    #[tokio::test]
    async fn a_dropped_sender_fails_the_receiver() {
        let (tx, rx) = channel::<u32>();
        let task = tokio::spawn(rx);
        tokio::task::yield_now().await;
        drop(tx);
        assert!(matches!(task.await.ok(), Some(Err(Unanswered))));
    }

    #[test]
    fn a_reply_to_a_dropped_receiver_is_handed_back() {
        let (tx, rx) = channel::<u32>();
        drop(rx);
        assert_eq!(tx.send(9).err(), Some(9));
    }

    #[test]
    fn an_optional_sender_is_one_word() {
        assert_eq!(
            std::mem::size_of::<Option<ReplyTx<u64>>>(),
            std::mem::size_of::<usize>()
        );
    }
}
