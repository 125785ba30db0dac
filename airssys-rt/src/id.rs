//! [`ActorId`]: the process-unique identity of an actor.

use std::fmt;

/// The identity of an actor, unique within one process.
///
/// Ids increase monotonically, so they also record start order: an actor with a larger id was
/// spawned later (graceful shutdown stops actors in reverse id order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ActorId(pub(crate) u64);

impl ActorId {
    /// The numeric value of this id.
    #[must_use]
    pub fn as_u64(self) -> u64 {
        self.0
    }
}

impl fmt::Display for ActorId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "actor#{}", self.0)
    }
}
