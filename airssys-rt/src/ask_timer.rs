//! The deadlines of pending asks: one timer task per system instead of one tokio timer per ask.
//!
//! A tokio timer registered while the timer wheel is empty (or earlier than everything in it)
//! has to unpark the worker that sleeps in the time driver: a system call and a thread wake-up
//! per ask, which cost more than the ask itself. Here an ask only puts its deadline and waker in
//! a table (a mutex, no system call) and takes it out when its reply comes; one task per system
//! sleeps until the earliest deadline it knows of and wakes the asks that are past theirs. Asks
//! with the same timeout have ever later deadlines, so a new one never needs to wake that task.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};

use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::reply::{ReplyRx, Unanswered};

struct Entry {
    deadline: Instant,
    waker: Waker,
    expired: bool,
}

#[derive(Default)]
struct Table {
    entries: Vec<Option<Entry>>,
    free: Vec<usize>,
    /// The deadline the timer task sleeps until (`None`: it waits for a first entry).
    armed: Option<Instant>,
    task: Option<JoinHandle<()>>,
}

impl Table {
    fn earliest(&self) -> Option<Instant> {
        self.entries
            .iter()
            .flatten()
            .filter(|e| !e.expired)
            .map(|e| e.deadline)
            .min()
    }
}

#[derive(Default)]
struct Shared {
    table: Mutex<Table>,
    changed: Notify,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The ask deadlines of one system (one per system, kept with its dead-letter queue).
#[derive(Default)]
pub(crate) struct AskTimers {
    shared: Arc<Shared>,
}

/// The ask's deadline passed.
#[derive(Debug)]
pub(crate) struct Elapsed;

impl AskTimers {
    /// Waits for `reply` until `deadline`.
    pub(crate) fn wait<R>(&self, reply: ReplyRx<R>, deadline: Instant) -> ReplyWithin<'_, R> {
        ReplyWithin {
            reply,
            deadline,
            timers: self,
            key: None,
        }
    }

    fn insert(&self, deadline: Instant, waker: Waker) -> usize {
        let mut table = self.shared.lock();
        let entry = Some(Entry {
            deadline,
            waker,
            expired: false,
        });
        let key = match table.free.pop() {
            Some(k) => {
                if let Some(slot) = table.entries.get_mut(k) {
                    *slot = entry;
                }
                k
            }
            None => {
                table.entries.push(entry);
                table.entries.len() - 1
            }
        };
        let running = table.task.as_ref().is_some_and(|t| !t.is_finished());
        if !running {
            // First ask on this runtime, or the runtime of the previous timer task is gone.
            if let Ok(handle) = tokio::runtime::Handle::try_current() {
                table.armed = None;
                table.task = Some(handle.spawn(run(Arc::clone(&self.shared))));
            }
        } else if table.armed.is_none_or(|armed| deadline < armed) {
            self.shared.changed.notify_one();
        }
        key
    }

    fn remove(&self, key: usize) {
        let mut table = self.shared.lock();
        if let Some(slot) = table.entries.get_mut(key)
            && slot.take().is_some()
        {
            table.free.push(key);
        }
    }

    /// `true` if the entry expired; otherwise refreshes its waker.
    fn check(&self, key: usize, waker: &Waker) -> bool {
        let mut table = self.shared.lock();
        match table.entries.get_mut(key).and_then(Option::as_mut) {
            Some(e) if e.expired => true,
            Some(e) => {
                if !e.waker.will_wake(waker) {
                    e.waker = waker.clone();
                }
                false
            }
            None => true,
        }
    }
}

/// The timer task: sleeps until the earliest deadline, wakes the asks past theirs. Ends when the
/// system's `AskTimers` is dropped (it then holds the last reference).
async fn run(shared: Arc<Shared>) {
    loop {
        if Arc::strong_count(&shared) == 1 {
            return;
        }
        let next = {
            let mut table = shared.lock();
            let now = Instant::now();
            let mut wake = Vec::new();
            for e in table.entries.iter_mut().flatten() {
                if !e.expired && e.deadline <= now {
                    e.expired = true;
                    wake.push(e.waker.clone());
                }
            }
            let next = table.earliest();
            table.armed = next;
            drop(table);
            for w in wake {
                w.wake();
            }
            next
        };
        let changed = shared.changed.notified();
        match next {
            Some(deadline) => {
                tokio::select! {
                    () = tokio::time::sleep_until(deadline) => {}
                    () = changed => {}
                }
            }
            None => changed.await,
        }
    }
}

impl Drop for AskTimers {
    fn drop(&mut self) {
        // The system is gone: let its timer task end.
        if Arc::strong_count(&self.shared) <= 2 {
            self.shared.changed.notify_one();
        }
    }
}

/// The reply of an ask, or [`Elapsed`] once its deadline passed.
pub(crate) struct ReplyWithin<'a, R> {
    reply: ReplyRx<R>,
    deadline: Instant,
    timers: &'a AskTimers,
    key: Option<usize>,
}

impl<R> Future for ReplyWithin<'_, R> {
    type Output = Result<Result<R, Unanswered>, Elapsed>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        if let Poll::Ready(reply) = Pin::new(&mut this.reply).poll(cx) {
            if let Some(key) = this.key.take() {
                this.timers.remove(key);
            }
            return Poll::Ready(Ok(reply));
        }
        match this.key {
            None => {
                // A deadline already past is expired by the timer task at once (it is earlier
                // than anything the task waits for, so the task is woken).
                this.key = Some(this.timers.insert(this.deadline, cx.waker().clone()));
                Poll::Pending
            }
            Some(key) => {
                if this.timers.check(key, cx.waker()) {
                    this.key = None;
                    this.timers.remove(key);
                    return Poll::Ready(Err(Elapsed));
                }
                Poll::Pending
            }
        }
    }
}

impl<R> Drop for ReplyWithin<'_, R> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            self.timers.remove(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::reply;

    #[tokio::test(start_paused = true)]
    async fn an_unanswered_ask_expires_at_its_deadline() {
        let timers = AskTimers::default();
        let (_tx, rx) = reply::channel::<u32>();
        let start = Instant::now();
        let out = timers.wait(rx, start + Duration::from_secs(3)).await;
        assert!(matches!(out, Err(Elapsed)));
        assert_eq!(start.elapsed(), Duration::from_secs(3));
    }

    #[tokio::test(start_paused = true)]
    async fn a_shorter_deadline_after_a_longer_one_expires_first() {
        let timers = Arc::new(AskTimers::default());
        let (_long_tx, long_rx) = reply::channel::<u32>();
        let long = {
            let timers = Arc::clone(&timers);
            tokio::spawn(async move {
                let d = Instant::now() + Duration::from_secs(60);
                timers.wait(long_rx, d).await.is_err()
            })
        };
        tokio::task::yield_now().await;
        let (_tx, rx) = reply::channel::<u32>();
        let start = Instant::now();
        assert!(
            timers
                .wait(rx, start + Duration::from_secs(1))
                .await
                .is_err()
        );
        assert_eq!(start.elapsed(), Duration::from_secs(1));
        assert!(long.await.unwrap_or(false));
    }

    #[tokio::test]
    async fn a_reply_before_the_deadline_is_received_and_leaves_no_entry() {
        let timers = AskTimers::default();
        let (tx, rx) = reply::channel::<u32>();
        let waiting = timers.wait(rx, Instant::now() + Duration::from_secs(60));
        let answer = tokio::spawn(async move {
            tokio::task::yield_now().await;
            tx.send(5).is_ok()
        });
        assert_eq!(waiting.await.ok().and_then(Result::ok), Some(5));
        assert!(answer.await.unwrap_or(false));
        let table = timers.shared.lock();
        assert!(table.entries.iter().all(Option::is_none));
    }

    #[tokio::test]
    async fn the_timer_task_ends_when_the_timers_are_dropped() {
        let timers = AskTimers::default();
        let (tx, rx) = reply::channel::<u32>();
        let waiting = timers.wait(rx, Instant::now() + Duration::from_secs(60));
        let answer = tokio::spawn(async move {
            tokio::task::yield_now().await;
            tx.send(1).is_ok()
        });
        assert!(waiting.await.is_ok());
        assert!(answer.await.unwrap_or(false));
        let task = timers.shared.lock().task.take();
        drop(timers);
        if let Some(task) = task {
            assert!(
                tokio::time::timeout(Duration::from_secs(5), task)
                    .await
                    .is_ok()
            );
        }
    }
}
