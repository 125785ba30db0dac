//! Messaging grants: which components a component may address and which topics it may use.

use crate::pattern::{self, NamePattern, SubjectKind, TopicPattern};
use crate::{Decision, DenyReason};

/// Checks a target component id against `send` or `request` patterns; `missing` is the reason
/// used when nothing matches.
pub(crate) fn check_target(
    patterns: &[NamePattern],
    target: &str,
    missing: DenyReason,
) -> Decision {
    if !pattern::is_valid_name(target) {
        return Decision::denied(DenyReason::InvalidComponentId);
    }
    if patterns.iter().any(|p| p.matches(target)) {
        Decision::Allowed
    } else {
        Decision::denied(missing)
    }
}

/// Checks a concrete topic against `publish` patterns.
pub(crate) fn check_publish(patterns: &[TopicPattern], topic: &str) -> Decision {
    if pattern::validate_subject(topic, SubjectKind::Literal).is_err() {
        return Decision::denied(DenyReason::InvalidTopic);
    }
    if patterns.iter().any(|p| pattern::covers(p.as_str(), topic)) {
        Decision::Allowed
    } else {
        Decision::denied(DenyReason::NoPublishGrant)
    }
}

/// Checks a subscription (which may contain wildcards) against `subscribe` patterns.
pub(crate) fn check_subscribe(patterns: &[TopicPattern], subject: &str) -> Decision {
    if pattern::validate_subject(subject, SubjectKind::Pattern).is_err() {
        return Decision::denied(DenyReason::InvalidTopic);
    }
    if patterns
        .iter()
        .any(|p| pattern::covers(p.as_str(), subject))
    {
        Decision::Allowed
    } else {
        Decision::denied(DenyReason::NoSubscribeGrant)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn send_checks_report_invalid_ids_apart_from_missing_grants() {
        let p = vec![NamePattern::parse("stage-*").unwrap()];
        assert!(check_target(&p, "stage-1", DenyReason::NoSendGrant).is_allowed());
        assert_eq!(
            check_target(&p, "db", DenyReason::NoSendGrant),
            Decision::denied(DenyReason::NoSendGrant)
        );
        assert_eq!(
            check_target(&p, "stage 1", DenyReason::NoSendGrant),
            Decision::denied(DenyReason::InvalidComponentId)
        );
    }

    #[test]
    fn publishing_to_a_wildcard_is_an_invalid_topic() {
        let p = vec![TopicPattern::parse(">").unwrap()];
        assert_eq!(
            check_publish(&p, "events.*"),
            Decision::denied(DenyReason::InvalidTopic)
        );
        assert!(check_publish(&p, "events.a").is_allowed());
    }

    #[test]
    fn subscribing_wider_than_the_grant_is_denied() {
        let p = vec![TopicPattern::parse("events.*").unwrap()];
        assert!(check_subscribe(&p, "events.*").is_allowed());
        assert_eq!(
            check_subscribe(&p, "events.>"),
            Decision::denied(DenyReason::NoSubscribeGrant)
        );
    }
}
