//! The deadlines of pending asks: one timer task per system instead of one tokio timer per ask,
//! and, while asks come densely, no clock read per ask either.
//!
//! A tokio timer registered while the timer wheel is empty (or earlier than everything in it)
//! has to unpark the worker that sleeps in the time driver: a system call and a thread wake-up
//! per ask, which cost more than the ask itself. Here an ask only puts its deadline (or timeout)
//! and waker in a table (one uncontended lock) and takes them out when its reply comes
//! (another). One task per system sleeps until the earliest deadline it knows of and wakes the
//! asks past theirs.
//!
//! Reading the clock costs about 40 ns on the machines we measure (VMs), a good part of an ask.
//! The table has two modes:
//!
//! - **Quiet** (the start): an ask reads the clock and enters its deadline. It wakes the timer
//!   task only if that deadline is earlier than the one the task sleeps until, which asks with
//!   the same timeout never are. No periodic wake-ups.
//! - **Dense**: after [`DENSE`] asks since the task last looked, the next ask switches the table
//!   to dense and wakes the task. Asks then enter only their timeout; the task looks every
//!   [`BATCH`] and stamps each new entry with the time it sees it, which is never before the ask
//!   was made. A batch with fewer than [`DENSE`] new entries puts the table back to quiet.
//!
//! Either way an ask times out no earlier than its timeout. In dense mode it may be up to a
//! batch, rounded up to tokio's 1 ms timer tick, late to be stamped, and its expiry is rounded up
//! to a tick as well: on a runtime that is not overloaded, no more than about 3 ms after its
//! timeout (quiet: about 1 ms, tokio's own granularity).
//!
//! The timer task runs only on a multi-thread runtime, whose workers always drive it. It is
//! spawned by the first ask made on one; an ask made before that on a current-thread runtime
//! uses a tokio timer of its own (the task may otherwise land on a runtime that nobody drives
//! any more, a current-thread runtime outside `block_on`, and an ask must time out whatever
//! runtime it runs on). Once the task runs, asks from every runtime use the table. If that
//! runtime shuts down, the task's guard hands every waiting ask back to a tokio timer of its own.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

use crate::reply::{ReplyRx, Unanswered};
use crate::time::deadline_after;

/// How often the timer task looks for new entries in dense mode.
pub(crate) const BATCH: Duration = Duration::from_millis(1);

/// Asks since the timer task last looked that switch the table to dense mode; fewer new
/// entries in a batch switch it back.
pub(crate) const DENSE: u32 = 64;

/// How late an ask may time out on an idle runtime (dense mode; see the module docs).
#[cfg(test)]
const LATE: Duration = Duration::from_millis(3);

struct Entry {
    timeout: Duration,
    /// `None` until the timer task stamps the entry.
    deadline: Option<Instant>,
    waker: Waker,
    expired: bool,
    /// The timer task is gone: the ask must keep time itself.
    orphaned: bool,
}

#[derive(Default)]
struct Table {
    entries: Vec<Option<Entry>>,
    free: Vec<usize>,
    /// Keys of the entries added unstamped since the timer task last looked (some may be gone).
    unstamped: Vec<usize>,
    /// Stamped deadlines, earliest first, with their keys. An item whose entry is gone (its ask
    /// was answered) or was replaced is skipped when it comes up; the heap is rebuilt when such
    /// items outnumber the live entries.
    heap: BinaryHeap<Reverse<(Instant, usize)>>,
    /// Dense mode: new entries come unstamped, and the timer task looks every batch.
    dense: bool,
    /// Dense mode was just switched on: the task's next look starts the first batch.
    fresh: bool,
    /// Quiet mode: the deadline the timer task sleeps until (`None`: it waits to be woken).
    armed: Option<Instant>,
    /// Asks since the timer task last looked.
    since_look: u32,
    /// A timer task runs (or was spawned and not yet dropped).
    alive: bool,
    live: usize,
}

impl Table {
    /// Whether the item is the current, unexpired entry at its key.
    fn is_current(&self, deadline: Instant, key: usize) -> bool {
        matches!(
            self.entries.get(key),
            Some(Some(e)) if !e.expired && e.deadline == Some(deadline)
        )
    }

    /// Stamps the new entries with `now`.
    fn stamp(&mut self, now: Instant) {
        let keys = std::mem::take(&mut self.unstamped);
        for &key in &keys {
            if let Some(Some(e)) = self.entries.get_mut(key)
                && e.deadline.is_none()
            {
                let d = deadline_after(now, e.timeout);
                e.deadline = Some(d);
                self.heap.push(Reverse((d, key)));
            }
        }
        // Keep the buffer's capacity.
        self.unstamped = keys;
        self.unstamped.clear();
    }

    /// Marks the entries past their deadline expired and returns their wakers; then the next
    /// deadline to wake up at.
    fn expire(&mut self, now: Instant, wake: &mut Vec<Waker>) -> Option<Instant> {
        if self.heap.len() > 2 * self.live + 32 {
            let heap = std::mem::take(&mut self.heap);
            self.heap = heap
                .into_iter()
                .filter(|Reverse((d, k))| self.is_current(*d, *k))
                .collect();
        }
        while let Some(&Reverse((d, key))) = self.heap.peek() {
            if !self.is_current(d, key) {
                self.heap.pop();
                continue;
            }
            if d > now {
                return Some(d);
            }
            self.heap.pop();
            if let Some(Some(e)) = self.entries.get_mut(key) {
                e.expired = true;
                wake.push(e.waker.clone());
            }
        }
        None
    }
}

#[derive(Default)]
struct Shared {
    table: Mutex<Table>,
    changed: Notify,
    /// Mirrors `Table::alive`, read without the lock on an ask's fast path.
    alive: AtomicBool,
    /// Mirrors `Table::dense`, read before the lock to decide whether to read the clock.
    dense: AtomicBool,
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

/// What `check` found.
enum Check {
    Waiting,
    Expired,
    /// The timer task is gone; the deadline, if it was stamped.
    Orphaned(Option<Instant>),
}

impl AskTimers {
    /// Waits for `reply` for `timeout` (measured from the first poll that has to wait).
    pub(crate) fn wait<R>(&self, reply: ReplyRx<R>, timeout: Duration) -> ReplyWithin<'_, R> {
        ReplyWithin {
            reply,
            timeout,
            timers: self,
            clock: Clock::Undecided,
            force_table: false,
            fresh: false,
        }
    }

    /// As [`wait`](Self::wait), for a reply slot made (with `reply::channel_for`) in the very poll
    /// that will first poll this future, holding that poll's waker: that first poll then skips
    /// looking at the slot (a lock). A reply that came in between woke the waker, so the future
    /// is polled again and sees it.
    pub(crate) fn wait_registered<R>(
        &self,
        reply: ReplyRx<R>,
        timeout: Duration,
    ) -> ReplyWithin<'_, R> {
        let mut wait = self.wait(reply, timeout);
        wait.fresh = true;
        wait
    }

    /// As [`wait`](Self::wait), always through the table (for the tests).
    #[cfg(test)]
    fn wait_in_table<R>(&self, reply: ReplyRx<R>, timeout: Duration) -> ReplyWithin<'_, R> {
        let mut wait = self.wait(reply, timeout);
        wait.force_table = true;
        wait
    }

    /// Puts an entry in the table; `None` if there is no timer task and none can be started
    /// here (the ask then keeps its own timer).
    fn insert(&self, timeout: Duration, waker: &Waker, force: bool) -> Option<usize> {
        if !self.shared.alive.load(Ordering::Acquire) && !self.start_task(force) {
            return None;
        }
        // Quiet mode: the deadline, from a clock read before the lock (so never early).
        let mut deadline = if self.shared.dense.load(Ordering::Relaxed) {
            None
        } else {
            Some(deadline_after(Instant::now(), timeout))
        };
        let mut table = self.shared.lock();
        if !table.alive {
            // The task ended between the check and the lock.
            return None;
        }
        let mut notify = false;
        table.since_look = table.since_look.saturating_add(1);
        if table.dense {
            deadline = None;
        } else {
            let d = *deadline.get_or_insert_with(|| deadline_after(Instant::now(), timeout));
            if table.since_look >= DENSE {
                // Asks come densely: let the task stamp them from now on.
                table.dense = true;
                table.fresh = true;
                self.shared.dense.store(true, Ordering::Relaxed);
                notify = true;
            } else if table.armed.is_none_or(|armed| d < armed) {
                table.armed = Some(d);
                notify = true;
            }
        }
        let entry = Some(Entry {
            timeout,
            deadline,
            waker: waker.clone(),
            expired: false,
            orphaned: false,
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
        table.live += 1;
        match deadline {
            Some(d) => table.heap.push(Reverse((d, key))),
            None => table.unstamped.push(key),
        }
        drop(table);
        if notify {
            self.shared.changed.notify_one();
        }
        Some(key)
    }

    /// Starts the timer task if this is a multi-thread runtime (or `force`); `true` if a task
    /// runs afterwards.
    #[cold]
    fn start_task(&self, force: bool) -> bool {
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            return false;
        };
        if !force && handle.runtime_flavor() != tokio::runtime::RuntimeFlavor::MultiThread {
            return false;
        }
        {
            let mut table = self.shared.lock();
            if table.alive {
                return true;
            }
            table.alive = true;
            table.dense = false;
            table.armed = None;
            table.since_look = 0;
            self.shared.alive.store(true, Ordering::Release);
            self.shared.dense.store(false, Ordering::Relaxed);
        }
        // Spawned outside the lock: a runtime that is shutting down drops the task at once, and
        // its guard takes the lock.
        let guard = TaskGuard(Arc::clone(&self.shared));
        drop(handle.spawn(run(guard)));
        true
    }

    fn remove(&self, key: usize) {
        let mut table = self.shared.lock();
        if let Some(slot) = table.entries.get_mut(key)
            && slot.take().is_some()
        {
            table.free.push(key);
            table.live -= 1;
        }
    }

    /// Whether the entry expired; otherwise refreshes its waker.
    fn check(&self, key: usize, waker: &Waker) -> Check {
        let mut table = self.shared.lock();
        match table.entries.get_mut(key).and_then(Option::as_mut) {
            Some(e) if e.expired => Check::Expired,
            Some(e) if e.orphaned => Check::Orphaned(e.deadline),
            Some(e) => {
                if !e.waker.will_wake(waker) {
                    e.waker = waker.clone();
                }
                Check::Waiting
            }
            None => Check::Expired,
        }
    }
}

/// Owned by the timer task. When the task ends, for whatever reason (its system is gone, or its
/// runtime shuts down and drops it), every ask still in the table is told to keep time itself.
struct TaskGuard(Arc<Shared>);

impl Drop for TaskGuard {
    fn drop(&mut self) {
        let wake: Vec<Waker> = {
            let mut table = self.0.lock();
            table.alive = false;
            self.0.alive.store(false, Ordering::Release);
            table.unstamped.clear();
            table.heap.clear();
            table
                .entries
                .iter_mut()
                .flatten()
                .map(|e| {
                    e.orphaned = true;
                    e.waker.clone()
                })
                .collect()
        };
        for w in wake {
            w.wake();
        }
    }
}

/// The timer task: stamps new entries, sleeps until the earliest deadline, wakes the asks past
/// theirs. Ends when the system's `AskTimers` is dropped (the guard then holds the last
/// reference).
async fn run(guard: TaskGuard) {
    let shared = &guard.0;
    let mut wake = Vec::new();
    loop {
        if Arc::strong_count(shared) == 1 {
            return;
        }
        let (now, next, dense) = {
            let mut table = shared.lock();
            // Read under the lock, so that no entry is stamped before it was made.
            let now = Instant::now();
            table.stamp(now);
            let next = table.expire(now, &mut wake);
            if table.dense && !std::mem::take(&mut table.fresh) && table.since_look < DENSE {
                // A whole batch with few asks: they read the clock again.
                table.dense = false;
                shared.dense.store(false, Ordering::Relaxed);
            }
            table.since_look = 0;
            table.armed = if table.dense { None } else { next };
            (now, next, table.dense)
        };
        for w in wake.drain(..) {
            w.wake();
        }
        let changed = shared.changed.notified();
        let until = if dense {
            Some(next.map_or(now + BATCH, |d| d.min(now + BATCH)))
        } else {
            next
        };
        match until {
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
    /// An entry of the system's table.
    Table(usize),
    /// A tokio timer of its own (no timer task could be started, or it ended).
    Own(Pin<Box<tokio::time::Sleep>>),
    /// Done (expired or answered).
    Done,
}

/// The reply of an ask, or [`Elapsed`] once its deadline passed.
pub(crate) struct ReplyWithin<'a, R> {
    reply: ReplyRx<R>,
    timeout: Duration,
    timers: &'a AskTimers,
    clock: Clock,
    /// Tests force the table on a current-thread runtime (paused time needs one).
    force_table: bool,
    /// The slot holds the waker of the first poll, made in it (see `wait_registered`).
    fresh: bool,
}

impl<R> Future for ReplyWithin<'_, R> {
    type Output = Result<Result<R, Unanswered>, Elapsed>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        if !std::mem::take(&mut this.fresh)
            && let Poll::Ready(reply) = Pin::new(&mut this.reply).poll(cx)
        {
            this.finish();
            return Poll::Ready(Ok(reply));
        }
        match &mut this.clock {
            Clock::Undecided => {
                if let Some(key) = this
                    .timers
                    .insert(this.timeout, cx.waker(), this.force_table)
                {
                    // A zero timeout expires as soon as the timer task stamps it.
                    this.clock = Clock::Table(key);
                    return Poll::Pending;
                }
                let deadline = deadline_after(Instant::now(), this.timeout);
                this.own_timer(deadline, cx)
            }
            Clock::Table(key) => {
                let key = *key;
                match this.timers.check(key, cx.waker()) {
                    Check::Waiting => Poll::Pending,
                    Check::Expired => {
                        this.finish();
                        Poll::Ready(Err(Elapsed))
                    }
                    Check::Orphaned(deadline) => {
                        this.finish();
                        // Unstamped: counted from now, late rather than early.
                        let deadline = deadline
                            .unwrap_or_else(|| deadline_after(Instant::now(), this.timeout));
                        this.own_timer(deadline, cx)
                    }
                }
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

    /// Waits until `deadline` on a tokio timer of its own.
    fn own_timer(
        &mut self,
        deadline: Instant,
        cx: &mut Context<'_>,
    ) -> Poll<Result<Result<R, Unanswered>, Elapsed>> {
        let mut sleep = Box::pin(tokio::time::sleep_until(deadline));
        if sleep.as_mut().poll(cx).is_ready() {
            self.clock = Clock::Done;
            return Poll::Ready(Err(Elapsed));
        }
        self.clock = Clock::Own(sleep);
        Poll::Pending
    }
}

impl<R> Drop for ReplyWithin<'_, R> {
    fn drop(&mut self) {
        self.finish();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reply;

    /// `elapsed` is at least `timeout` and at most [`LATE`] more.
    fn within_late(elapsed: Duration, timeout: Duration) -> bool {
        elapsed >= timeout && elapsed <= timeout + LATE
    }

    fn multi_thread() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap_or_else(|e| unreachable!("runtime: {e}"))
    }

    fn current_thread() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap_or_else(|e| unreachable!("runtime: {e}"))
    }

    #[tokio::test(start_paused = true)]
    async fn an_unanswered_ask_expires_after_its_timeout() {
        let timers = AskTimers::default();
        let (_tx, rx) = reply::channel::<u32>();
        let start = Instant::now();
        let out = timers.wait_in_table(rx, Duration::from_secs(3)).await;
        assert!(matches!(out, Err(Elapsed)));
        // The first ask after a quiet spell is stamped at once.
        assert_eq!(start.elapsed(), Duration::from_secs(3));
    }

    #[tokio::test(start_paused = true)]
    async fn a_shorter_timeout_after_a_longer_one_expires_first() {
        let timers = Arc::new(AskTimers::default());
        let (_long_tx, long_rx) = reply::channel::<u32>();
        let long = {
            let timers = Arc::clone(&timers);
            tokio::spawn(async move {
                let start = Instant::now();
                let out = timers.wait_in_table(long_rx, Duration::from_secs(60)).await;
                out.is_err() && within_late(start.elapsed(), Duration::from_secs(60))
            })
        };
        tokio::task::yield_now().await;
        let (_tx, rx) = reply::channel::<u32>();
        let start = Instant::now();
        assert!(
            timers
                .wait_in_table(rx, Duration::from_secs(1))
                .await
                .is_err()
        );
        let elapsed = start.elapsed();
        assert!(
            within_late(elapsed, Duration::from_secs(1)),
            "expired after {elapsed:?}"
        );
        assert!(long.await.unwrap_or(false));
    }

    /// A burst of asks switches the table to dense mode, where the timer task stamps them in
    /// batches: none expires early, none more than [`LATE`] late. After the burst the table
    /// goes back to quiet mode, where an ask's deadline is exact again.
    #[tokio::test(start_paused = true)]
    async fn asks_in_a_burst_are_never_early_and_at_most_a_few_ms_late() {
        let timers = Arc::new(AskTimers::default());
        let mut asks = Vec::new();
        let mut slots = Vec::new();
        let mut went_dense = false;
        for i in 0..300u64 {
            let (tx, rx) = reply::channel::<u32>();
            slots.push(tx);
            let t = Arc::clone(&timers);
            let timeout = Duration::from_millis(5 + i % 3);
            asks.push(tokio::spawn(async move {
                let start = Instant::now();
                let out = t.wait_in_table(rx, timeout).await;
                (out.is_err(), start.elapsed(), timeout)
            }));
            if i % 50 == 49 {
                tokio::time::sleep(Duration::from_micros(300)).await;
            } else {
                tokio::task::yield_now().await;
            }
            went_dense |= timers.shared.dense.load(Ordering::Relaxed);
        }
        assert!(
            went_dense,
            "the burst did not switch the table to dense mode"
        );
        for ask in asks {
            let (expired, elapsed, timeout) =
                ask.await.unwrap_or((false, Duration::ZERO, Duration::ZERO));
            assert!(expired);
            assert!(
                within_late(elapsed, timeout),
                "timeout {timeout:?} expired after {elapsed:?}"
            );
        }
        drop(slots);
        // Quiet again.
        tokio::time::sleep(BATCH * 3).await;
        assert!(!timers.shared.dense.load(Ordering::Relaxed));
        let (_tx, rx) = reply::channel::<u32>();
        let start = Instant::now();
        assert!(
            timers
                .wait_in_table(rx, Duration::from_millis(7))
                .await
                .is_err()
        );
        assert_eq!(start.elapsed(), Duration::from_millis(7));
    }

    #[tokio::test(start_paused = true)]
    async fn a_zero_timeout_expires_without_waiting_for_a_reply() {
        let timers = AskTimers::default();
        let (_tx, rx) = reply::channel::<u32>();
        let start = Instant::now();
        let out = timers.wait_in_table(rx, Duration::ZERO).await;
        assert!(matches!(out, Err(Elapsed)));
        assert!(start.elapsed() <= BATCH);
    }

    #[tokio::test(start_paused = true)]
    async fn on_a_current_thread_runtime_an_ask_keeps_its_own_timer_and_no_entry() {
        let timers = AskTimers::default();
        let (_tx, rx) = reply::channel::<u32>();
        let start = Instant::now();
        let out = timers.wait(rx, Duration::from_secs(2)).await;
        assert!(matches!(out, Err(Elapsed)));
        assert_eq!(start.elapsed(), Duration::from_secs(2));
        let table = timers.shared.lock();
        assert!(table.entries.is_empty(), "the table was not used");
        assert!(!table.alive, "no timer task was started");
    }

    /// A current-thread runtime that asked first and is then left undriven must not hold the
    /// timer task: asks from a multi-thread runtime must still time out.
    #[test]
    fn an_ask_times_out_after_an_earlier_ask_ran_on_a_parked_current_thread_runtime() {
        let timers = Arc::new(AskTimers::default());
        let parked = current_thread();
        let (_tx1, rx1) = reply::channel::<u32>();
        let first = parked.block_on(timers.wait(rx1, Duration::from_millis(20)));
        assert!(matches!(first, Err(Elapsed)));
        // `parked` stays alive, undriven. Now a multi-thread runtime asks.
        let multi = multi_thread();
        let (done_tx, done_rx) = std::sync::mpsc::channel();
        let t = Arc::clone(&timers);
        multi.spawn(async move {
            let (_tx2, rx2) = reply::channel::<u32>();
            let out = t.wait(rx2, Duration::from_millis(20)).await;
            let _ = done_tx.send(matches!(out, Err(Elapsed)));
        });
        assert_eq!(
            done_rx.recv_timeout(Duration::from_secs(10)),
            Ok(true),
            "the second ask did not time out"
        );
        drop(parked);
    }

    /// Once a multi-thread runtime runs the timer task, an ask made on a current-thread runtime
    /// uses the table too, and times out through it.
    #[test]
    fn an_ask_on_a_current_thread_runtime_uses_a_running_timer_task() {
        let timers = Arc::new(AskTimers::default());
        let multi = multi_thread();
        let t = Arc::clone(&timers);
        let answered = multi.block_on(async move {
            let (tx, rx) = reply::channel::<u32>();
            let answer = tokio::spawn(async move {
                tokio::task::yield_now().await;
                tx.send(1).is_ok()
            });
            let out = t.wait(rx, Duration::from_secs(10)).await;
            answer.await.unwrap_or(false) && matches!(out, Ok(Ok(1)))
        });
        assert!(answered);
        assert!(timers.shared.alive.load(Ordering::Acquire));
        let current = current_thread();
        let t = Arc::clone(&timers);
        let out = current.block_on(async move {
            let (_tx, rx) = reply::channel::<u32>();
            let mut wait = std::pin::pin!(t.wait(rx, Duration::from_millis(30)));
            let first = std::future::poll_fn(|cx| Poll::Ready(wait.as_mut().poll(cx))).await;
            let in_table = matches!(wait.clock, Clock::Table(_));
            assert!(first.is_pending());
            (in_table, wait.await)
        });
        assert!(out.0, "the ask used its own timer");
        assert!(matches!(out.1, Err(Elapsed)));
        drop(multi);
    }

    /// The runtime of the timer task shuts down while an ask from another runtime waits in the
    /// table: the ask keeps time itself and still times out.
    #[test]
    fn an_ask_still_times_out_when_the_timer_tasks_runtime_shuts_down() {
        let timers = Arc::new(AskTimers::default());
        let multi = multi_thread();
        let t = Arc::clone(&timers);
        multi.block_on(async move {
            let (tx, rx) = reply::channel::<u32>();
            assert!(tx.send(1).is_ok());
            // Answered before the first poll: no entry, but start the task for the next ask.
            assert!(t.wait(rx, Duration::from_secs(1)).await.is_ok());
            assert!(t.start_task(false));
        });
        let current = current_thread();
        let (_tx, rx) = reply::channel::<u32>();
        let start = std::time::Instant::now();
        let mut wait = Box::pin(timers.wait(rx, Duration::from_millis(200)));
        let first = current.block_on(std::future::poll_fn(|cx| {
            Poll::Ready(wait.as_mut().poll(cx))
        }));
        assert!(first.is_pending());
        assert!(matches!(wait.clock, Clock::Table(_)));
        drop(multi);
        let out = (current.block_on(wait), start.elapsed());
        assert!(matches!(out.0, Err(Elapsed)));
        assert!(out.1 >= Duration::from_millis(200), "early: {:?}", out.1);
        assert!(!timers.shared.alive.load(Ordering::Acquire));
    }

    /// `wait_registered` skips looking at the slot on its first poll: a reply that came before
    /// it must still be received, through the waker the slot was made with.
    #[tokio::test]
    async fn a_reply_sent_before_a_registered_wait_is_polled_is_received() {
        // In a task of its own, so that nothing but the reply can wake it.
        let waiting = tokio::spawn(async move {
            let timers = AskTimers::default();
            let waker = std::future::poll_fn(|cx| Poll::Ready(cx.waker().clone())).await;
            let (tx, rx) = reply::channel_for::<u32>(waker);
            assert!(tx.send(5).is_ok());
            timers
                .wait_registered(rx, Duration::from_secs(60))
                .await
                .ok()
                .and_then(Result::ok)
        });
        for _ in 0..500 {
            if waiting.is_finished() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(waiting.is_finished(), "the reply was missed");
        assert_eq!(waiting.await.ok().flatten(), Some(5));
    }

    #[tokio::test]
    async fn a_reply_before_the_deadline_is_received_and_leaves_no_entry() {
        let timers = AskTimers::default();
        let (tx, rx) = reply::channel::<u32>();
        let waiting = timers.wait_in_table(rx, Duration::from_secs(60));
        let answer = tokio::spawn(async move {
            tokio::task::yield_now().await;
            tx.send(5).is_ok()
        });
        assert_eq!(waiting.await.ok().and_then(Result::ok), Some(5));
        assert!(answer.await.unwrap_or(false));
        let table = timers.shared.lock();
        assert!(table.entries.iter().all(Option::is_none));
        assert_eq!(table.live, 0);
    }

    /// Asks answered after the timer task stamped them leave items in its heap; below an
    /// earlier ask that still waits, they cannot be popped off the top. The heap is rebuilt
    /// before they outnumber the live entries, so it does not grow with the number of asks.
    #[tokio::test(start_paused = true)]
    async fn answered_asks_do_not_pile_up_in_the_heap() {
        let timers = AskTimers::default();
        let (_early_tx, early_rx) = reply::channel::<u32>();
        let mut early = std::pin::pin!(timers.wait_in_table(early_rx, Duration::from_secs(30)));
        let first = std::future::poll_fn(|cx| Poll::Ready(early.as_mut().poll(cx))).await;
        assert!(first.is_pending());
        for i in 0..2_000u32 {
            let (tx, rx) = reply::channel::<u32>();
            let mut wait = std::pin::pin!(timers.wait_in_table(rx, Duration::from_secs(60)));
            let first = std::future::poll_fn(|cx| Poll::Ready(wait.as_mut().poll(cx))).await;
            assert!(first.is_pending());
            // Let the timer task stamp it.
            tokio::time::sleep(BATCH * 2).await;
            assert!(tx.send(i).is_ok());
            assert_eq!(wait.await.ok().and_then(Result::ok), Some(i));
        }
        {
            let table = timers.shared.lock();
            assert_eq!(table.live, 1);
            assert!(
                table.heap.len() <= 2 + 32 + 1,
                "the heap holds {}",
                table.heap.len()
            );
        }
        // The early ask still expires, after its own timeout.
        assert!(matches!(early.await, Err(Elapsed)));
    }

    #[tokio::test]
    async fn the_timer_task_ends_when_the_timers_are_dropped() {
        let timers = AskTimers::default();
        let (tx, rx) = reply::channel::<u32>();
        let waiting = timers.wait_in_table(rx, Duration::from_secs(60));
        let answer = tokio::spawn(async move {
            tokio::task::yield_now().await;
            tx.send(1).is_ok()
        });
        assert!(waiting.await.is_ok());
        assert!(answer.await.unwrap_or(false));
        let shared = Arc::downgrade(&timers.shared);
        drop(timers);
        for _ in 0..500 {
            if shared.upgrade().is_none() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("the timer task still holds the table");
    }
}
