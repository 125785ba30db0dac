//! The tokio task of one actor run, created when the actor first has something to do.
//!
//! `spawn` returns once `pre_start` has run; what the actor's task would do next is wait for a
//! message or a signal. On a multi-thread runtime, creating that task also wakes an idle worker
//! to steal it (an OS-level wake-up, several microseconds on a small VM, and a second core busy
//! while the spawner goes on). An actor that was sent nothing yet does not need the task, so
//! [`ActorTask`] registers a waker in the actor's mailbox and signal lane instead, and the first
//! message or signal creates the task. Thousands of idle actors then hold no task at all.
//!
//! Until then the actor's state is owned by that waker (the mailbox and lane hold it) and by the
//! [`ActorTask`]. Whoever owns the `ActorTask` must drop a pending run when its runtime goes
//! away, as tokio drops a task's future: a supervisor's child does it when the supervisor's
//! task is dropped, the system's top-level table through its keeper task (`system.rs`).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, TryLockError};
use std::task::{Wake, Waker};

use tokio::task::JoinHandle;

/// Creates the run's task (a `Handle::spawn` of the run's future).
pub(crate) type Spawn = Box<dyn FnOnce() -> JoinHandle<()> + Send>;

enum State {
    /// No task yet: the first wake-up creates it. A thin box, so that this state stays two
    /// words, in every started actor's `Start` too.
    Pending(Box<Spawn>),
    /// The task exists.
    Running(JoinHandle<()>),
    /// The task's handle moved to the owner, or the pending run was dropped.
    Taken,
}

/// The waker registered while the run is pending.
struct Start {
    /// Mirrors `State::Pending`, read without the lock.
    pending: AtomicBool,
    state: Mutex<State>,
}

impl Start {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Creates the task if it does not exist yet (the owner's way: waits for the lock).
    fn start(&self) {
        self.start_locked(self.lock());
    }

    fn start_locked(&self, mut state: MutexGuard<'_, State>) {
        if matches!(*state, State::Pending(_))
            && let State::Pending(spawn) = std::mem::replace(&mut *state, State::Taken)
        {
            // Under the lock, so the owner never sees neither a pending run nor a handle.
            // Spawning moves the future into a new task and runs none of it; only on a runtime
            // that is shutting down does tokio drop the future here, and a wake-up from that
            // drop finds the lock taken and is skipped (see `wake_by_ref`).
            let spawn: Spawn = *spawn;
            *state = State::Running(spawn());
            self.pending.store(false, Ordering::Release);
        }
    }
}

impl Wake for Start {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    /// A wake-up that finds the lock taken is skipped: the holder is creating the task
    /// (another wake-up, the owner's `join_handle`, or this very thread inside `spawn`) or
    /// dropping the pending run (`abort`, `take_pending`); `is_finished` takes the lock only
    /// once the run is no longer pending. So none is lost, and none can deadlock.
    fn wake_by_ref(self: &Arc<Self>) {
        if !self.pending.load(Ordering::Acquire) {
            return;
        }
        match self.state.try_lock() {
            Ok(state) => self.start_locked(state),
            Err(TryLockError::Poisoned(p)) => self.start_locked(p.into_inner()),
            Err(TryLockError::WouldBlock) => {}
        }
    }
}

/// One actor run's task, created at once or on the first message or signal.
pub(crate) struct ActorTask {
    start: Option<Arc<Start>>,
    join: Option<JoinHandle<()>>,
}

impl ActorTask {
    /// The run made by `spawn`, started at once if `has_work` says a message or signal is
    /// already waiting, otherwise when a waker given to `arm` is woken.
    ///
    /// `arm` must register the waker where a new message or signal wakes it (the mailbox that
    /// is not open yet, the signal lane), and then say whether work arrived meanwhile: anything
    /// that came before the registration is seen by that look, anything after wakes the waker.
    pub(crate) fn new(
        spawn: impl FnOnce() -> JoinHandle<()> + Send + 'static,
        has_work: impl Fn() -> bool,
        arm: impl FnOnce(&Waker),
    ) -> Self {
        if has_work() {
            return Self {
                start: None,
                join: Some(spawn()),
            };
        }
        let start = Arc::new(Start {
            pending: AtomicBool::new(true),
            state: Mutex::new(State::Pending(Box::new(Box::new(spawn)))),
        });
        arm(&Waker::from(Arc::clone(&start)));
        if has_work() {
            start.start();
        }
        Self {
            start: Some(start),
            join: None,
        }
    }

    /// Whether the run has ended (a pending run has not; a dropped one has).
    pub(crate) fn is_finished(&self) -> bool {
        if let Some(join) = &self.join {
            return join.is_finished();
        }
        // Without the lock while pending: a wake-up may be creating the task right now.
        if self
            .start
            .as_deref()
            .is_some_and(|s| s.pending.load(Ordering::Acquire))
        {
            return false;
        }
        match self.start.as_deref().map(|s| s.lock()) {
            Some(state) => match &*state {
                State::Pending(_) => false,
                State::Running(join) => join.is_finished(),
                State::Taken => true,
            },
            None => true,
        }
    }

    /// Whether the task exists (false while the run waits for its first message or signal).
    #[cfg(test)]
    pub(crate) fn is_spawned(&self) -> bool {
        self.join.is_some()
            || self
                .start
                .as_deref()
                .is_some_and(|s| matches!(*s.lock(), State::Running(_)))
    }

    /// The run's task, creating it if it is pending (`None` once a pending run was dropped).
    pub(crate) fn join_handle(&mut self) -> Option<&mut JoinHandle<()>> {
        if self.join.is_none()
            && let Some(start) = &self.start
        {
            start.start();
            if let State::Running(join) = std::mem::replace(&mut *start.lock(), State::Taken) {
                self.join = Some(join);
            }
        }
        self.join.as_mut()
    }

    /// Aborts the task, or drops the pending run (its actor, context and mailbox receiver), as
    /// tokio drops an aborted task's future.
    pub(crate) fn abort(&mut self) {
        if let Some(join) = &self.join {
            join.abort();
            return;
        }
        let Some(start) = &self.start else {
            return;
        };
        let pending = match std::mem::replace(&mut *start.lock(), State::Taken) {
            State::Pending(spawn) => {
                start.pending.store(false, Ordering::Release);
                Some(spawn)
            }
            State::Running(join) => {
                join.abort();
                self.join = Some(join);
                None
            }
            State::Taken => None,
        };
        // Dropped outside the lock: the actor's drop may do anything.
        drop(pending);
    }

    /// Takes the run if it is still pending, for the caller to drop (when its runtime goes
    /// away); a running task is left to the runtime. Later wake-ups create nothing.
    pub(crate) fn take_pending(&mut self) -> Option<Spawn> {
        if self.join.is_some() {
            return None;
        }
        let start = self.start.as_deref()?;
        let mut state = start.lock();
        if !matches!(*state, State::Pending(_)) {
            return None;
        }
        start.pending.store(false, Ordering::Release);
        match std::mem::replace(&mut *state, State::Taken) {
            State::Pending(spawn) => Some(*spawn),
            _ => None,
        }
    }
}

/// The task of `actor_ref`'s run made by `spawn`, created once it is sent a message or a
/// signal (at once if one already waits).
pub(crate) fn for_actor<M: crate::Message>(
    actor_ref: &crate::ActorRef<M>,
    spawn: impl FnOnce() -> JoinHandle<()> + Send + 'static,
) -> ActorTask {
    ActorTask::new(
        spawn,
        || actor_ref.mailbox().has_queued() || actor_ref.lane().has_pending(),
        |waker| {
            actor_ref.mailbox().register_opening_waker(waker);
            actor_ref.lane().register(waker);
        },
    )
}

#[cfg(test)]
mod tests {
    use futures_util::task::AtomicWaker;

    use super::*;

    struct Probe {
        work: AtomicBool,
        waker: AtomicWaker,
        dropped: Arc<AtomicBool>,
    }

    struct DropFlag(Arc<AtomicBool>);
    impl Drop for DropFlag {
        fn drop(&mut self) {
            self.0.store(true, Ordering::SeqCst);
        }
    }

    fn task(probe: &Arc<Probe>) -> ActorTask {
        let flag = DropFlag(Arc::clone(&probe.dropped));
        let handle = tokio::runtime::Handle::current();
        let (p1, p2) = (Arc::clone(probe), Arc::clone(probe));
        ActorTask::new(
            move || {
                handle.spawn(async move {
                    let _flag = flag;
                })
            },
            move || p1.work.load(Ordering::SeqCst),
            move |w| p2.waker.register(w),
        )
    }

    fn probe(work: bool) -> Arc<Probe> {
        Arc::new(Probe {
            work: AtomicBool::new(work),
            waker: AtomicWaker::new(),
            dropped: Arc::new(AtomicBool::new(false)),
        })
    }

    #[test]
    fn a_started_runs_state_is_two_words() {
        // Kept by every actor whose task a wake-up created.
        assert!(std::mem::size_of::<State>() <= 2 * std::mem::size_of::<usize>());
    }

    #[tokio::test]
    async fn work_waiting_at_creation_spawns_at_once() {
        let p = probe(true);
        let mut t = task(&p);
        assert!(t.is_spawned());
        t.join_handle().expect("spawned").await.expect("ran");
        assert!(p.dropped.load(Ordering::SeqCst));
    }

    #[tokio::test]
    async fn a_pending_run_spawns_on_the_first_wake_only() {
        let p = probe(false);
        let mut t = task(&p);
        assert!(!t.is_spawned());
        assert!(!t.is_finished());
        p.waker.wake();
        assert!(t.is_spawned());
        // A second wake-up (a later message) creates nothing more.
        p.waker
            .register(&Waker::from(Arc::clone(t.start.as_ref().expect("lazy"))));
        p.waker.wake();
        t.join_handle().expect("spawned").await.expect("ran");
        assert!(t.is_finished());
    }

    #[tokio::test]
    async fn join_handle_starts_a_pending_run() {
        let p = probe(false);
        let mut t = task(&p);
        t.join_handle().expect("spawned").await.expect("ran");
        assert!(p.dropped.load(Ordering::SeqCst));
    }

    #[tokio::test]
    async fn aborting_or_dropping_a_pending_run_drops_its_state_and_later_wakes_do_nothing() {
        let p = probe(false);
        let mut t = task(&p);
        t.abort();
        assert!(
            p.dropped.load(Ordering::SeqCst),
            "the state went with the abort"
        );
        assert!(t.is_finished());
        p.waker.wake();
        assert!(!t.is_spawned());
        assert!(t.join_handle().is_none());

        let p = probe(false);
        let mut t = task(&p);
        let pending = t.take_pending();
        assert!(pending.is_some());
        assert!(!p.dropped.load(Ordering::SeqCst));
        drop(pending);
        assert!(p.dropped.load(Ordering::SeqCst));
        assert!(t.is_finished());
    }

    #[tokio::test]
    async fn work_arriving_while_arming_starts_the_run() {
        // The work comes after the first look and before the registration: only the second
        // look can see it.
        let p = probe(false);
        let handle = tokio::runtime::Handle::current();
        let p1 = Arc::clone(&p);
        let t = ActorTask::new(
            move || handle.spawn(async {}),
            move || p1.work.load(Ordering::SeqCst),
            |_| p.work.store(true, Ordering::SeqCst),
        );
        assert!(t.is_spawned());
    }

    #[test]
    fn a_wake_up_from_inside_the_spawn_is_skipped_not_a_deadlock() {
        // As when tokio drops the future inside `spawn` (runtime shutting down) and the
        // actor's drop sends itself a message.
        let (done_tx, done_rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .build()
                .expect("runtime");
            let p = probe(false);
            let work = Arc::clone(&p);
            // A second handle on the registered waker, for the wake-up from inside.
            let stash: Arc<Mutex<Option<Waker>>> = Arc::default();
            let (inside, arm) = (Arc::clone(&stash), Arc::clone(&stash));
            let handle = rt.handle().clone();
            let t = ActorTask::new(
                move || {
                    let waker = inside.lock().ok().and_then(|mut w| w.take());
                    if let Some(w) = waker {
                        w.wake();
                    }
                    handle.spawn(async {})
                },
                move || work.work.load(Ordering::SeqCst),
                |w| {
                    p.waker.register(w);
                    if let Ok(mut s) = arm.lock() {
                        *s = Some(w.clone());
                    }
                },
            );
            p.waker.wake();
            let _ = done_tx.send(t.is_spawned());
        });
        let spawned = done_rx.recv_timeout(std::time::Duration::from_secs(10));
        assert_eq!(spawned, Ok(true), "started once, without deadlock");
    }
}
