//! Hand-written matchers for component-id globs ([`NamePattern`]) and NATS-style topic patterns
//! ([`TopicPattern`]).
//!
//! Both match without allocating, so they can run on every host call.

use std::fmt;

/// Longest component id or component-id pattern accepted, in bytes.
pub(crate) const MAX_NAME_LEN: usize = 255;
/// Longest topic or topic pattern accepted, in bytes.
pub(crate) const MAX_TOPIC_LEN: usize = 1024;

/// A pattern over component ids, used for `send` and `request` grants.
///
/// Syntax: the characters of a component id (ASCII letters, digits, `-`, `_`, `.`, `:`, `/`,
/// `@`) plus `*`, which matches any run of characters, including none. `stage-*` matches
/// `stage-1` and `stage-` but not `stage`; `logger` matches only `logger`. There is no other
/// wildcard and no escaping.
///
/// # Examples
///
/// ```
/// use airssys_wasm_security::NamePattern;
///
/// let pattern = NamePattern::parse("stage-*")?;
/// assert!(pattern.matches("stage-2"));
/// assert!(!pattern.matches("stage"));
/// # Ok::<(), airssys_wasm_security::CapabilityError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NamePattern {
    pattern: Box<str>,
}

impl NamePattern {
    /// Parses a component-id pattern.
    ///
    /// # Errors
    ///
    /// Returns [`CapabilityError::MalformedNamePattern`](crate::CapabilityError::MalformedNamePattern)
    /// when the pattern is empty, too long, or contains a character outside the syntax above.
    pub fn parse(pattern: &str) -> Result<Self, crate::CapabilityError> {
        let fail = |reason| crate::CapabilityError::MalformedNamePattern {
            pattern: pattern.to_owned(),
            reason,
        };
        if pattern.is_empty() {
            return Err(fail("the pattern is empty"));
        }
        if pattern.len() > MAX_NAME_LEN {
            return Err(fail("the pattern is longer than 255 bytes"));
        }
        if !pattern.bytes().all(|b| b == b'*' || is_name_byte(b)) {
            return Err(fail(
                "only ASCII letters, digits, '-', '_', '.', ':', '/', '@' and '*' are allowed",
            ));
        }
        Ok(Self {
            pattern: pattern.into(),
        })
    }

    /// Returns the pattern as written.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.pattern
    }

    /// Returns `true` when `name` matches the pattern. Invalid component ids never match.
    #[must_use]
    pub fn matches(&self, name: &str) -> bool {
        is_valid_name(name) && glob_match(self.pattern.as_bytes(), name.as_bytes())
    }
}

impl fmt::Display for NamePattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.pattern)
    }
}

/// Returns `true` for the bytes a component id may contain.
const fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':' | b'/' | b'@')
}

/// Returns `true` when `name` is a syntactically valid component id.
pub(crate) fn is_valid_name(name: &str) -> bool {
    !name.is_empty() && name.len() <= MAX_NAME_LEN && name.bytes().all(is_name_byte)
}

/// Matches `text` against a glob where `*` matches any run of bytes.
///
/// Greedy with single-star backtracking: O(|pattern| * |text|) in the worst case, no allocation.
fn glob_match(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some(b'*') => {
                star = Some((p, t));
                p += 1;
            }
            Some(&c) if c == text[t] => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

/// A NATS-style subject pattern, used for `publish` and `subscribe` grants.
///
/// Topics are dot-separated tokens (`orders.eu.created`). In a pattern, a token `*` matches
/// exactly one token and a final token `>` matches one or more tokens. The syntax is NATS's on
/// purpose: topics map to NATS subjects when a cluster is configured, so a grant means the same
/// thing on both brokers. Tokens are non-empty and contain printable ASCII other than `.`;
/// `*` and `>` are only wildcards when they are a whole token, and anything else containing
/// them is rejected.
///
/// A subscription may itself contain wildcards: `events.>` covers a subscription to
/// `events.*`, but `events.*` does not cover `events.>`.
///
/// # Examples
///
/// ```
/// use airssys_wasm_security::TopicPattern;
///
/// let pattern = TopicPattern::parse("events.>")?;
/// assert!(pattern.matches("events.user.created"));
/// assert!(!pattern.matches("events"));
/// assert!(TopicPattern::parse("events.*")?.matches("events.user"));
/// # Ok::<(), airssys_wasm_security::CapabilityError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TopicPattern {
    pattern: Box<str>,
}

/// What [`validate_subject`] accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SubjectKind {
    /// A concrete topic: no wildcard tokens.
    Literal,
    /// A pattern: `*` tokens anywhere, `>` as the last token.
    Pattern,
}

/// Checks a subject or subject pattern; returns the reason it is malformed.
pub(crate) fn validate_subject(subject: &str, kind: SubjectKind) -> Result<(), &'static str> {
    if subject.is_empty() {
        return Err("the topic is empty");
    }
    if subject.len() > MAX_TOPIC_LEN {
        return Err("the topic is longer than 1024 bytes");
    }
    let mut tokens = subject.split('.').peekable();
    while let Some(token) = tokens.next() {
        if token.is_empty() {
            return Err("a token is empty (leading, trailing or doubled '.')");
        }
        match token {
            "*" | ">" if kind == SubjectKind::Literal => {
                return Err("a topic cannot contain wildcards");
            }
            "*" => {}
            ">" if tokens.peek().is_none() => {}
            ">" => return Err("'>' is only allowed as the last token"),
            _ => {
                if !token.bytes().all(|b| b.is_ascii_graphic()) {
                    return Err("only printable ASCII without spaces is allowed");
                }
                if token.bytes().any(|b| b == b'*' || b == b'>') {
                    return Err("'*' and '>' must be whole tokens");
                }
            }
        }
    }
    Ok(())
}

impl TopicPattern {
    /// Parses a topic pattern.
    ///
    /// # Errors
    ///
    /// Returns [`CapabilityError::MalformedTopicPattern`](crate::CapabilityError::MalformedTopicPattern)
    /// for an empty token, a `>` that is not last, a wildcard inside a token, whitespace or
    /// non-ASCII characters.
    pub fn parse(pattern: &str) -> Result<Self, crate::CapabilityError> {
        validate_subject(pattern, SubjectKind::Pattern).map_err(|reason| {
            crate::CapabilityError::MalformedTopicPattern {
                pattern: pattern.to_owned(),
                reason,
            }
        })?;
        Ok(Self {
            pattern: pattern.into(),
        })
    }

    /// Returns the pattern as written.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.pattern
    }

    /// Returns `true` when the concrete `topic` matches the pattern. Topics containing
    /// wildcards or malformed tokens never match.
    #[must_use]
    pub fn matches(&self, topic: &str) -> bool {
        validate_subject(topic, SubjectKind::Literal).is_ok() && covers(&self.pattern, topic)
    }

    /// Returns `true` when every topic matched by `subscription` is matched by this pattern.
    /// Malformed subscriptions are never covered.
    #[must_use]
    pub fn covers(&self, subscription: &str) -> bool {
        validate_subject(subscription, SubjectKind::Pattern).is_ok()
            && covers(&self.pattern, subscription)
    }
}

impl fmt::Display for TopicPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.pattern)
    }
}

/// Token-wise subsumption of `request` by `grant`; both are already validated.
pub(crate) fn covers(grant: &str, request: &str) -> bool {
    let mut grant_tokens = grant.split('.');
    let mut request_tokens = request.split('.');
    loop {
        match (grant_tokens.next(), request_tokens.next()) {
            (Some(">"), Some(_)) => return true,
            (Some("*"), Some(token)) => {
                if token == ">" {
                    return false;
                }
            }
            (Some(g), Some(r)) => {
                if g != r {
                    return false;
                }
            }
            (None, None) => return true,
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_star_matches_any_run_including_none() {
        let p = NamePattern::parse("stage-*").unwrap();
        assert!(p.matches("stage-"));
        assert!(p.matches("stage-12"));
        assert!(!p.matches("stage"));
        assert!(!p.matches("xstage-1"));
        let p = NamePattern::parse("*-worker-*").unwrap();
        assert!(p.matches("a-worker-b"));
        assert!(p.matches("-worker-"));
        assert!(!p.matches("a-worke-b"));
        assert!(NamePattern::parse("*").unwrap().matches("anything"));
    }

    #[test]
    fn glob_without_star_is_exact() {
        let p = NamePattern::parse("logger").unwrap();
        assert!(p.matches("logger"));
        assert!(!p.matches("logger2"));
        assert!(!p.matches("Logger"));
    }

    #[test]
    fn invalid_component_ids_never_match_even_a_bare_star() {
        let p = NamePattern::parse("*").unwrap();
        assert!(!p.matches(""));
        assert!(!p.matches("has space"));
        assert!(!p.matches("a*b"));
        assert!(!p.matches("ünicode"));
    }

    #[test]
    fn name_pattern_rejects_bad_characters() {
        assert!(NamePattern::parse("").is_err());
        assert!(NamePattern::parse("a b").is_err());
        assert!(NamePattern::parse("a?b").is_err());
    }

    #[test]
    fn topic_star_is_one_token_and_gt_is_the_rest() {
        let star = TopicPattern::parse("events.*").unwrap();
        assert!(star.matches("events.a"));
        assert!(!star.matches("events.a.b"));
        assert!(!star.matches("events"));
        let rest = TopicPattern::parse("events.>").unwrap();
        assert!(rest.matches("events.a"));
        assert!(rest.matches("events.a.b"));
        assert!(!rest.matches("events"));
        assert!(!rest.matches("eventsx.a"));
    }

    #[test]
    fn topic_with_wildcards_is_never_a_concrete_match() {
        let rest = TopicPattern::parse(">").unwrap();
        assert!(!rest.matches("a.*"));
        assert!(!rest.matches("a.>"));
        assert!(!rest.matches("a..b"));
        assert!(!rest.matches(""));
    }

    #[test]
    fn subscription_coverage_respects_wildcard_strength() {
        let rest = TopicPattern::parse("events.>").unwrap();
        assert!(rest.covers("events.*"));
        assert!(rest.covers("events.>"));
        assert!(rest.covers("events.*.x"));
        let star = TopicPattern::parse("events.*").unwrap();
        assert!(star.covers("events.*"));
        assert!(!star.covers("events.>"));
        let literal = TopicPattern::parse("events.a").unwrap();
        assert!(!literal.covers("events.*"));
    }

    #[test]
    fn topic_pattern_rejects_malformed_tokens() {
        for bad in ["", ".a", "a.", "a..b", "a.>.b", "a*", "a.b>", "a b", "é"] {
            assert!(
                TopicPattern::parse(bad).is_err(),
                "{bad:?} should be rejected"
            );
        }
    }
}
