//! The deadlines of pending asks: one timer task per system instead of one tokio timer per ask.
//!
//! A tokio timer registered while the timer wheel is empty (or earlier than everything in it)
//! has to unpark the worker that sleeps in the time driver: a system call and a thread wake-up
//! per ask, which cost more than the ask itself. Here an ask only puts its deadline and waker in
//! a table (a mutex, no system call) and takes it out when its reply comes; one task per system
//! sleeps until the earliest deadline it knows of and wakes the asks that are past theirs. Asks
//! with the same timeout have ever later deadlines, so a new one never needs to wake that task.
//!
//! The table is used only from a multi-thread runtime, whose workers always drive its timer
//! task. An ask awaited on a current-thread runtime uses a tokio timer of its own instead: the
//! timer task may live on another runtime that nobody drives any more (a current-thread
//! runtime outside `block_on`), and an ask must time out whatever runtime it runs on.

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
            clock: Clock::Undecided,
            force_table: false,
        }
    }

    /// As [`wait`](Self::wait), always through the table (for the tests).
    #[cfg(test)]
    fn wait_in_table<R>(&self, reply: ReplyRx<R>, deadline: Instant) -> ReplyWithin<'_, R> {
        ReplyWithin {
            reply,
            deadline,
            timers: self,
            clock: Clock::Undecided,
            force_table: true,
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

/// How an ask waits for its deadline.
enum Clock {
    /// Not decided yet (decided at the first poll that has to wait).
    Undecided,
    /// An entry of the system's table (multi-thread runtimes).
    Table(usize),
    /// A tokio timer of its own (current-thread runtimes).
    Own(Pin<Box<tokio::time::Sleep>>),
    /// Done (expired or answered).
    Done,
}

/// The reply of an ask, or [`Elapsed`] once its deadline passed.
pub(crate) struct ReplyWithin<'a, R> {
    reply: ReplyRx<R>,
    deadline: Instant,
    timers: &'a AskTimers,
    clock: Clock,
    /// Tests force the table on a current-thread runtime (paused time needs one).
    force_table: bool,
}

/// Whether the ask runs on a multi-thread runtime (which drives the timer task).
fn on_multi_thread_runtime() -> bool {
    tokio::runtime::Handle::try_current()
        .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread)
}

impl<R> Future for ReplyWithin<'_, R> {
    type Output = Result<Result<R, Unanswered>, Elapsed>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        if let Poll::Ready(reply) = Pin::new(&mut this.reply).poll(cx) {
            this.finish();
            return Poll::Ready(Ok(reply));
        }
        match &mut this.clock {
            Clock::Undecided => {
                if this.force_table || on_multi_thread_runtime() {
                    // A deadline already past is expired by the timer task at once (it is
                    // earlier than anything the task waits for, so the task is woken).
                    this.clock =
                        Clock::Table(this.timers.insert(this.deadline, cx.waker().clone()));
                    return Poll::Pending;
                }
                let mut sleep = Box::pin(tokio::time::sleep_until(this.deadline));
                if sleep.as_mut().poll(cx).is_ready() {
                    this.clock = Clock::Done;
                    return Poll::Ready(Err(Elapsed));
                }
                this.clock = Clock::Own(sleep);
                Poll::Pending
            }
            Clock::Table(key) => {
                let key = *key;
                if this.timers.check(key, cx.waker()) {
                    this.finish();
                    return Poll::Ready(Err(Elapsed));
                }
                Poll::Pending
            }
            Clock::Own(sleep) => {
                if sleep.as_mut().poll(cx).is_ready() {
                    this.clock = Clock::Done;
                    return Poll::Ready(Err(Elapsed));
                }
                Poll::Pending
            }
            Clock::Done => Poll::Ready(Err(Elapsed)),
        }
    }
}

impl<R> ReplyWithin<'_, R> {
    /// Takes this ask out of the table, if it is in it.
    fn finish(&mut self) {
        if let Clock::Table(key) = std::mem::replace(&mut self.clock, Clock::Done) {
            self.timers.remove(key);
        }
    }
}

impl<R> Drop for ReplyWithin<'_, R> {
    fn drop(&mut self) {
        self.finish();
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
        let out = timers
            .wait_in_table(rx, start + Duration::from_secs(3))
            .await;
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
                timers.wait_in_table(long_rx, d).await.is_err()
            })
        };
        tokio::task::yield_now().await;
        let (_tx, rx) = reply::channel::<u32>();
        let start = Instant::now();
        assert!(
            timers
                .wait_in_table(rx, start + Duration::from_secs(1))
                .await
                .is_err()
        );
        assert_eq!(start.elapsed(), Duration::from_secs(1));
        assert!(long.await.unwrap_or(false));
    }

    #[tokio::test(start_paused = true)]
    async fn on_a_current_thread_runtime_an_ask_keeps_its_own_timer_and_no_entry() {
        let timers = AskTimers::default();
        let (_tx, rx) = reply::channel::<u32>();
        let start = Instant::now();
        let out = timers.wait(rx, start + Duration::from_secs(2)).await;
        assert!(matches!(out, Err(Elapsed)));
        assert_eq!(start.elapsed(), Duration::from_secs(2));
        let table = timers.shared.lock();
        assert!(table.entries.is_empty(), "the table was not used");
        assert!(table.task.is_none(), "no timer task was started");
    }

    /// The timer task of a system can live on a current-thread runtime that is no longer
    /// driven; asks from a multi-thread runtime must still time out (they get the task
    /// re-made on theirs only if the first one is gone, so the first one must not be made
    /// on a current-thread runtime at all).
    #[test]
    fn an_ask_times_out_after_an_earlier_ask_ran_on_a_parked_current_thread_runtime() {
        let timers = Arc::new(AskTimers::default());
        let parked = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap_or_else(|e| unreachable!("runtime: {e}"));
        let (_tx1, rx1) = reply::channel::<u32>();
        let first = parked.block_on(timers.wait(rx1, Instant::now() + Duration::from_millis(20)));
        assert!(matches!(first, Err(Elapsed)));
        // `parked` stays alive, undriven. Now a multi-thread runtime asks.
        let multi = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap_or_else(|e| unreachable!("runtime: {e}"));
        let (done_tx, done_rx) = std::sync::mpsc::channel();
        let t = Arc::clone(&timers);
        multi.spawn(async move {
            let (_tx2, rx2) = reply::channel::<u32>();
            let out = t
                .wait(rx2, Instant::now() + Duration::from_millis(20))
                .await;
            let _ = done_tx.send(matches!(out, Err(Elapsed)));
        });
        assert_eq!(
            done_rx.recv_timeout(std::time::Duration::from_secs(10)),
            Ok(true),
            "the second ask did not time out"
        );
        drop(parked);
    }

    #[tokio::test]
    async fn a_reply_before_the_deadline_is_received_and_leaves_no_entry() {
        let timers = AskTimers::default();
        let (tx, rx) = reply::channel::<u32>();
        let waiting = timers.wait_in_table(rx, Instant::now() + Duration::from_secs(60));
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
        let waiting = timers.wait_in_table(rx, Instant::now() + Duration::from_secs(60));
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
