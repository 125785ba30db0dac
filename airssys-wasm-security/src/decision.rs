//! The outcome of a capability check: [`Decision`] and, on denial, a [`DenyReason`].

use std::fmt;
use std::io;

/// The outcome of one capability check.
///
/// Checks never panic and never return an error: anything that is not positively granted is
/// `Denied` with a reason that says why. The `Allowed` path carries no data, so producing it
/// never allocates.
///
/// # Examples
///
/// ```
/// use airssys_wasm_security::CapabilitySet;
///
/// let caps = CapabilitySet::builder().publish("events.*").build()?;
/// assert!(caps.check_publish("events.created").is_allowed());
/// let denied = caps.check_publish("admin.reboot");
/// assert!(denied.is_denied());
/// assert_eq!(denied.reason().map(ToString::to_string).as_deref(), Some("no publish grant matches the topic"));
/// # Ok::<(), airssys_wasm_security::CapabilityError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
#[must_use = "a capability check is useless unless its decision is acted upon"]
pub enum Decision {
    /// A grant covers the operation.
    Allowed,
    /// No grant covers the operation (deny-by-default), or the input was malformed.
    Denied {
        /// Why the operation was denied.
        reason: DenyReason,
    },
}

impl Decision {
    /// Builds a denial with the given reason.
    pub const fn denied(reason: DenyReason) -> Self {
        Self::Denied { reason }
    }

    /// Returns `true` when the operation is allowed.
    #[must_use]
    pub const fn is_allowed(&self) -> bool {
        matches!(self, Self::Allowed)
    }

    /// Returns `true` when the operation is denied.
    #[must_use]
    pub const fn is_denied(&self) -> bool {
        !self.is_allowed()
    }

    /// Returns the reason of a denial, or `None` when the operation is allowed.
    #[must_use]
    pub const fn reason(&self) -> Option<&DenyReason> {
        match self {
            Self::Allowed => None,
            Self::Denied { reason } => Some(reason),
        }
    }
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Allowed => f.write_str("allowed"),
            Self::Denied { reason } => write!(f, "denied: {reason}"),
        }
    }
}

/// Why a capability check denied an operation.
///
/// The `Display` form is a short lowercase sentence fragment suitable for an audit record or a
/// guest-visible error.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DenyReason {
    /// The path is relative; checks only accept absolute paths.
    RelativePath,
    /// The path contains a `..` component that cannot be trusted (see
    /// [`CapabilitySet::check_file`](crate::CapabilitySet::check_file)).
    ParentTraversal,
    /// The path contains a NUL byte or is otherwise unusable.
    InvalidPath,
    /// The path could not be resolved on the filesystem.
    Unresolvable {
        /// The kind of I/O error met while resolving the path.
        kind: io::ErrorKind,
    },
    /// The path names a symbolic link whose target does not exist; creating it would write
    /// wherever the link points.
    DanglingSymlink,
    /// No file grant covers the path.
    NoFileGrant,
    /// Only read grants cover the path, and a write was asked for.
    ReadOnly,
    /// The host is not a valid DNS name or IP literal.
    InvalidHost,
    /// The host looks numeric but is not a valid IP literal (`127.1`, `0x7f.0.0.1`); resolvers
    /// disagree on what such names mean, so they are never matched.
    AmbiguousNumericHost,
    /// Port 0 is never a valid destination.
    InvalidPort,
    /// No network grant matches the host and port.
    NoNetworkGrant,
    /// The component id is empty or contains characters that component ids never contain.
    InvalidComponentId,
    /// No send grant matches the target component.
    NoSendGrant,
    /// No request grant matches the target component.
    NoRequestGrant,
    /// The topic is not a valid subject (empty segment, wildcard in a publish topic, ...).
    InvalidTopic,
    /// No publish grant matches the topic.
    NoPublishGrant,
    /// No subscribe grant covers the subscription.
    NoSubscribeGrant,
}

impl fmt::Display for DenyReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::RelativePath => f.write_str("path is not absolute"),
            Self::ParentTraversal => f.write_str("path contains a \"..\" component"),
            Self::InvalidPath => f.write_str("path contains a NUL byte"),
            Self::Unresolvable { kind } => write!(f, "path cannot be resolved: {kind}"),
            Self::DanglingSymlink => f.write_str("path is a symbolic link to nothing"),
            Self::NoFileGrant => f.write_str("no file grant covers the path"),
            Self::ReadOnly => f.write_str("the path is granted read-only"),
            Self::InvalidHost => f.write_str("host is not a valid DNS name or IP literal"),
            Self::AmbiguousNumericHost => {
                f.write_str("host looks numeric but is not a valid IP literal")
            }
            Self::InvalidPort => f.write_str("port 0 is not a valid destination"),
            Self::NoNetworkGrant => f.write_str("no network grant matches the host and port"),
            Self::InvalidComponentId => f.write_str("component id is not valid"),
            Self::NoSendGrant => f.write_str("no send grant matches the target component"),
            Self::NoRequestGrant => f.write_str("no request grant matches the target component"),
            Self::InvalidTopic => f.write_str("topic is not a valid subject"),
            Self::NoPublishGrant => f.write_str("no publish grant matches the topic"),
            Self::NoSubscribeGrant => f.write_str("no subscribe grant covers the subject"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allowed_has_no_reason_and_denied_has_one() {
        assert!(Decision::Allowed.is_allowed());
        assert_eq!(Decision::Allowed.reason(), None);
        let denied = Decision::denied(DenyReason::NoFileGrant);
        assert!(denied.is_denied());
        assert_eq!(denied.reason(), Some(&DenyReason::NoFileGrant));
        assert_eq!(denied.to_string(), "denied: no file grant covers the path");
    }

    #[test]
    fn decision_is_small_enough_to_return_by_value() {
        assert!(std::mem::size_of::<Decision>() <= 16);
    }
}
