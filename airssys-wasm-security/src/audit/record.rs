//! One audit record, its JSON Lines form and the hash that chains records together.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::CapabilitySpec;

/// The `prev_hash` of the first record of a log: 64 zeros.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum AuditEventKind {
    /// A capability set was granted to a component at spawn.
    Grant,
    /// A capability check denied an operation.
    Denial,
    /// A lifecycle event handed in by the host (started, stopped, restarted, upgraded, ...).
    Lifecycle,
}

/// The decision an audit record reports, when there is one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum AuditDecision {
    /// Capabilities were granted (spawn).
    Granted,
    /// An operation was allowed.
    Allowed,
    /// An operation was denied.
    Denied,
}

/// One line of the audit log.
///
/// Every key is always present (`null` when it does not apply), so tools such as `jq` see one
/// schema. `prev_hash` is the lowercase hex SHA-256 of the previous line's bytes (without its
/// newline), or [`GENESIS_HASH`] for the first record.
///
/// ```json
/// {"seq":0,"time":"2025-01-01T00:00:00.000000Z","component":"echo","event":"grant","operation":"spawn","target":null,"decision":"granted","reason":null,"detail":null,"capabilities":{"files":[],"network":[],"send":["logger"],"request":[],"publish":[],"subscribe":[]},"prev_hash":"0000…"}
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct AuditRecord {
    /// Position in the log, from 0, increasing by one per record.
    pub seq: u64,
    /// When the record was written, UTC, RFC 3339 with microseconds.
    #[serde(with = "rfc3339")]
    pub time: DateTime<Utc>,
    /// The component the event is about.
    pub component: String,
    /// What kind of event this is.
    pub event: AuditEventKind,
    /// The operation: `spawn`, `file.read`, `net.connect`, `msg.publish`, a lifecycle event...
    pub operation: String,
    /// What the operation was aimed at (path, `host:port`, component, topic), if anything.
    pub target: Option<String>,
    /// The decision, if the event has one.
    pub decision: Option<AuditDecision>,
    /// Why an operation was denied.
    pub reason: Option<String>,
    /// Free-form detail handed in by the host for lifecycle events.
    pub detail: Option<String>,
    /// The capabilities granted at spawn.
    pub capabilities: Option<CapabilitySpec>,
    /// Hex SHA-256 of the previous line.
    pub prev_hash: String,
}

/// Returns the lowercase hex SHA-256 of one line (without its newline).
pub(crate) fn line_hash(line: &[u8]) -> String {
    hex::encode(Sha256::digest(line))
}

/// RFC 3339 in UTC with a `Z` suffix and microseconds, so every record has the same shape.
mod rfc3339 {
    use chrono::{DateTime, SecondsFormat, Utc};
    use serde::{Deserialize, Deserializer, Serializer, de::Error as _};

    pub(super) fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&t.to_rfc3339_opts(SecondsFormat::Micros, true))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        DateTime::parse_from_rfc3339(&text)
            .map(|t| t.with_timezone(&Utc))
            .map_err(D::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn genesis_is_as_long_as_a_sha256_hex_digest() {
        assert_eq!(GENESIS_HASH.len(), line_hash(b"").len());
    }

    #[test]
    fn records_round_trip_through_json_with_every_key_present() {
        let record = AuditRecord {
            seq: 3,
            time: DateTime::parse_from_rfc3339("2025-01-02T03:04:05.678901Z")
                .unwrap()
                .with_timezone(&Utc),
            component: "echo".into(),
            event: AuditEventKind::Denial,
            operation: "file.read".into(),
            target: Some("/etc/passwd".into()),
            decision: Some(AuditDecision::Denied),
            reason: Some("no file grant covers the path".into()),
            detail: None,
            capabilities: None,
            prev_hash: GENESIS_HASH.into(),
        };
        let line = serde_json::to_string(&record).unwrap();
        assert!(
            line.contains(r#""time":"2025-01-02T03:04:05.678901Z""#),
            "{line}"
        );
        assert!(line.contains(r#""detail":null"#));
        assert!(line.contains(r#""event":"denial""#));
        let back: AuditRecord = serde_json::from_str(&line).unwrap();
        assert_eq!(back, record);
    }
}
