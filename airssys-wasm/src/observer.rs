//! [`ComponentObserver`]: what the component layer reports to metrics and other exporters.
//!
//! The runtime's [`RuntimeObserver`](airssys_rt::RuntimeObserver) sees actors and messages;
//! this hook sees what only the component layer knows: instances coming and going, capability
//! denials, the kind of failure that killed an instance, error values returned by guests, and
//! upgrades. It is installed on the
//! engine ([`WasmEngine::with_observer`](crate::WasmEngine::with_observer)) and shared by every
//! component of that engine.

use std::sync::Arc;

use crate::{ComponentError, ComponentId};

/// Why an instance was discarded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FailureKind {
    /// A trap (`unreachable`, out-of-bounds access, stack overflow, ...).
    Trap,
    /// The call ran past its wall-clock deadline and was interrupted.
    Deadline,
    /// The instance tried to grow its memory past its limit.
    Memory,
    /// The call used up its fuel.
    Fuel,
}

impl FailureKind {
    /// A short lowercase label (`trap`, `deadline`, `memory`, `fuel`).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Trap => "trap",
            Self::Deadline => "deadline",
            Self::Memory => "memory",
            Self::Fuel => "fuel",
        }
    }

    /// The kind of a failure that discards an instance; `None` for errors that do not (a
    /// guest error value, a refused upgrade).
    #[must_use]
    pub fn of(error: &ComponentError) -> Option<Self> {
        match error {
            ComponentError::Trapped(_) => Some(Self::Trap),
            ComponentError::DeadlineExceeded(_) => Some(Self::Deadline),
            ComponentError::MemoryLimit(_) => Some(Self::Memory),
            ComponentError::OutOfFuel => Some(Self::Fuel),
            _ => None,
        }
    }
}

/// Something that happened to a component.
#[derive(Debug)]
#[non_exhaustive]
pub enum ComponentEvent<'a> {
    /// An instance was created and its `init` succeeded (at start and after every restart).
    InstanceStarted {
        /// The component.
        id: &'a ComponentId,
    },
    /// A running instance was discarded (stop, failure, or restart).
    InstanceStopped {
        /// The component.
        id: &'a ComponentId,
    },
    /// A host call was refused by the component's capabilities.
    CapabilityDenied {
        /// The component.
        id: &'a ComponentId,
        /// The operation, as in the audit log (`send`, `file.read`, `net.connect`, ...).
        operation: &'static str,
    },
    /// An instance failed and was discarded.
    InstanceFailed {
        /// The component.
        id: &'a ComponentId,
        /// How.
        kind: FailureKind,
    },
    /// The component's `handle` answered a message with an error value. The message was
    /// handled (the runtime counts it `ok`): the instance keeps running and nothing restarts.
    GuestError {
        /// The component.
        id: &'a ComponentId,
    },
    /// A hot upgrade finished.
    Upgraded {
        /// The component.
        id: &'a ComponentId,
        /// `true` when the new version runs, `false` when it was rolled back.
        success: bool,
    },
}

/// Receives [`ComponentEvent`]s. Called inline on the component's task: keep it cheap.
///
/// # Examples
///
/// ```
/// use std::sync::atomic::{AtomicU64, Ordering};
/// use airssys_wasm::{ComponentEvent, ComponentObserver};
///
/// #[derive(Default)]
/// struct Denials(AtomicU64);
///
/// impl ComponentObserver for Denials {
///     fn on_event(&self, event: &ComponentEvent<'_>) {
///         if let ComponentEvent::CapabilityDenied { .. } = event {
///             self.0.fetch_add(1, Ordering::Relaxed);
///         }
///     }
/// }
/// ```
pub trait ComponentObserver: Send + Sync + 'static {
    /// Called for every event.
    fn on_event(&self, event: &ComponentEvent<'_>);
}

/// The engine's optional observer.
#[derive(Clone, Default)]
pub(crate) struct ObserverSlot(Option<Arc<dyn ComponentObserver>>);

impl ObserverSlot {
    pub(crate) fn new(observer: Option<Arc<dyn ComponentObserver>>) -> Self {
        Self(observer)
    }

    #[inline]
    pub(crate) fn emit(&self, event: &ComponentEvent<'_>) {
        if let Some(o) = &self.0 {
            o.on_event(event);
        }
    }
}
