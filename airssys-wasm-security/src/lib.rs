#![doc = include_str!("../README.md")]

mod audit;
mod capability;
mod decision;
mod manifest;
mod pattern;

pub use crate::audit::{
    AuditDecision, AuditError, AuditEventKind, AuditLog, AuditLogBuilder, AuditRecord, FlushPolicy,
    GENESIS_HASH, Operation, TRACING_TARGET, Tamper, TamperKind, VerifyReport, verify,
    verify_reader,
};
pub use crate::capability::{
    CapabilityError, CapabilitySet, CapabilitySetBuilder, FileAccess, FileGrant, FilePermission,
    FileTarget, HostPattern, NetworkGrant, PortRange,
};
pub use crate::decision::{Decision, DenyReason};
pub use crate::manifest::{
    CAPABILITY_KINDS, CapabilitySpec, FileSpec, ManifestError, parse_capabilities,
};
pub use crate::pattern::{NamePattern, TopicPattern};
