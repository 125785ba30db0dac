//! The bytes between nodes: request and reply frames, subjects and registry keys.
//!
//! A request on a node's inbox subject is one frame, no NATS headers:
//!
//! ```text
//! tell: [1u8] [name length: u16 BE] [name] [message]
//! ask:  [2u8] [name length: u16 BE] [name] [timeout ms: u32 BE] [message]
//! ```
//!
//! A reply is `[status: u8] [reply]`, the reply present only with [`Status::Ok`]. A publish
//! carries the encoded message alone; the topic is in the subject.

use std::time::Duration;

use bytes::Bytes;

use super::codec::{CodecError, RemoteMessage};

const KIND_TELL: u8 = 1;
const KIND_ASK: u8 = 2;

/// A request parsed from an inbox message.
pub(crate) struct Request<'a> {
    /// The name of the actor it is addressed to.
    pub(crate) name: &'a str,
    /// `Some` for an ask: how long the asker waits.
    pub(crate) ask_timeout: Option<Duration>,
    /// The encoded message.
    pub(crate) body: &'a [u8],
}

/// The outcome of a remote ask, first byte of its reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Status {
    /// The reply follows.
    Ok = 0,
    /// No actor of that name (and message type) on the node.
    NotFound = 1,
    /// The actor has stopped.
    Stopped = 2,
    /// The actor's mailbox was full.
    Full = 3,
    /// The actor handled the request without replying, or failed.
    NoReply = 4,
    /// The actor did not reply within the asker's timeout.
    Timeout = 5,
    /// The request (or the reply) could not be decoded or encoded.
    BadRequest = 6,
}

impl Status {
    fn from_byte(b: u8) -> Option<Self> {
        Some(match b {
            0 => Self::Ok,
            1 => Self::NotFound,
            2 => Self::Stopped,
            3 => Self::Full,
            4 => Self::NoReply,
            5 => Self::Timeout,
            6 => Self::BadRequest,
            _ => return None,
        })
    }
}

fn header(kind: u8, name: &str, extra: usize) -> Result<Vec<u8>, CodecError> {
    let len = u16::try_from(name.len())
        .map_err(|_| CodecError::new("an actor name longer than 65535 bytes cannot cross nodes"))?;
    let mut buf = Vec::with_capacity(3 + name.len() + extra + 32);
    buf.push(kind);
    buf.extend_from_slice(&len.to_be_bytes());
    buf.extend_from_slice(name.as_bytes());
    Ok(buf)
}

/// The frame of a tell of `msg` to `name`.
pub(crate) fn tell_frame<M: RemoteMessage>(name: &str, msg: &M) -> Result<Bytes, CodecError> {
    let mut buf = header(KIND_TELL, name, 0)?;
    msg.encode(&mut buf)?;
    Ok(buf.into())
}

/// The frame of an ask of `msg` to `name` that waits `timeout`.
pub(crate) fn ask_frame<M: RemoteMessage>(
    name: &str,
    msg: &M,
    timeout: Duration,
) -> Result<Bytes, CodecError> {
    let mut buf = header(KIND_ASK, name, 4)?;
    let ms = u32::try_from(timeout.as_millis()).unwrap_or(u32::MAX);
    buf.extend_from_slice(&ms.to_be_bytes());
    msg.encode(&mut buf)?;
    Ok(buf.into())
}

/// Parses a request frame; `None` if it is malformed.
pub(crate) fn parse_request(frame: &[u8]) -> Option<Request<'_>> {
    let (&kind, rest) = frame.split_first()?;
    let (len, rest) = rest.split_first_chunk::<2>()?;
    let len = usize::from(u16::from_be_bytes(*len));
    if rest.len() < len {
        return None;
    }
    let (name, rest) = rest.split_at(len);
    let name = std::str::from_utf8(name).ok()?;
    match kind {
        KIND_TELL => Some(Request {
            name,
            ask_timeout: None,
            body: rest,
        }),
        KIND_ASK => {
            let (ms, body) = rest.split_first_chunk::<4>()?;
            Some(Request {
                name,
                ask_timeout: Some(Duration::from_millis(u64::from(u32::from_be_bytes(*ms)))),
                body,
            })
        }
        _ => None,
    }
}

/// A reply frame with no body.
pub(crate) fn status_frame(status: Status) -> Bytes {
    Bytes::copy_from_slice(&[status as u8])
}

/// The frame of a successful reply (or [`Status::BadRequest`] if the reply cannot be encoded).
pub(crate) fn reply_frame<M: RemoteMessage>(reply: &M::Reply) -> Bytes {
    let mut buf = Vec::with_capacity(64);
    buf.push(Status::Ok as u8);
    match M::encode_reply(reply, &mut buf) {
        Ok(()) => buf.into(),
        Err(e) => {
            tracing::warn!(error = %e, "a reply could not be encoded for the asking node");
            status_frame(Status::BadRequest)
        }
    }
}

/// Parses a reply frame; `None` if it is malformed.
pub(crate) fn parse_reply(frame: &[u8]) -> Option<(Status, &[u8])> {
    let (&status, body) = frame.split_first()?;
    Status::from_byte(status).map(|s| (s, body))
}

/// `true` for a node id or prefix: one subject token that is also valid in a bucket name.
pub(crate) fn is_plain_token(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn push_escaped(out: &mut String, b: u8, escape: char) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    out.push(escape);
    out.push(char::from(HEX[usize::from(b >> 4)]));
    out.push(char::from(HEX[usize::from(b & 0x0f)]));
}

/// The registry key of an actor name: letters, digits, `-`, `_` and `/` are kept, every other
/// byte becomes `=XX` (a valid JetStream KV key for any non-empty name, reversible).
pub(crate) fn name_key(name: &str) -> String {
    let mut key = String::with_capacity(name.len());
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'/' {
            key.push(char::from(b));
        } else {
            push_escaped(&mut key, b, '=');
        }
    }
    key
}

/// The actor name of a registry key made by [`name_key`].
pub(crate) fn key_name(key: &str) -> Option<String> {
    let bytes = key.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'=' {
            let hex = key.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The subject of `topic` under `prefix`: `<prefix>.topic.<topic>`. Letters, digits, `-`, `_`
/// and the dots between non-empty tokens are kept (`a.b` → `<prefix>.topic.a.b`); every other
/// byte becomes `%XX`, and so does every dot of a topic with an empty token.
pub(crate) fn topic_subject(prefix: &str, topic: &str) -> String {
    let keep_dots = !topic.split('.').any(str::is_empty);
    let mut subject = String::with_capacity(prefix.len() + 7 + topic.len());
    subject.push_str(prefix);
    subject.push_str(".topic.");
    for b in topic.bytes() {
        if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || (b == b'.' && keep_dots) {
            subject.push(char::from(b));
        } else {
            push_escaped(&mut subject, b, '%');
        }
    }
    subject
}

/// The inbox subject of node `node` under `prefix`.
pub(crate) fn inbox_subject(prefix: &str, node: &str) -> String {
    format!("{prefix}.node.{node}")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::Message;

    #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    struct Num(u32);
    impl Message for Num {
        type Reply = u32;
    }

    #[test]
    fn names_map_to_valid_keys_and_back() {
        for name in [
            "echo",
            "a.b",
            "with space",
            "ünï",
            "=x=",
            "/a/b",
            "*",
            "a..b.",
        ] {
            let key = name_key(name);
            assert!(
                key.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_/=".contains(&b)),
                "{key}"
            );
            assert_eq!(key_name(&key).unwrap(), name);
        }
    }

    #[test]
    fn topics_keep_their_dots_unless_a_token_is_empty() {
        assert_eq!(topic_subject("p", "a.b"), "p.topic.a.b");
        assert_eq!(topic_subject("p", "a..b"), "p.topic.a%2E%2Eb");
        assert_eq!(topic_subject("p", "x y*>"), "p.topic.x%20y%2A%3E");
    }

    #[test]
    fn request_frames_round_trip() {
        let frame = ask_frame("echo", &Num(7), Duration::from_millis(1500)).unwrap();
        let req = parse_request(&frame).unwrap();
        assert_eq!(req.name, "echo");
        assert_eq!(req.ask_timeout, Some(Duration::from_millis(1500)));
        assert_eq!(Num::decode(req.body).unwrap(), Num(7));
        let frame = tell_frame("n", &Num(3)).unwrap();
        let req = parse_request(&frame).unwrap();
        assert_eq!((req.name, req.ask_timeout), ("n", None));
        assert!(parse_request(&[2, 0, 9, b'x']).is_none());
        assert!(parse_request(&[]).is_none());
    }

    #[test]
    fn reply_frames_round_trip() {
        let frame = reply_frame::<Num>(&5);
        let (status, body) = parse_reply(&frame).unwrap();
        assert_eq!(status, Status::Ok);
        assert_eq!(Num::decode_reply(body).unwrap(), 5);
        assert_eq!(
            parse_reply(&status_frame(Status::NotFound)).unwrap().0,
            Status::NotFound
        );
        assert!(parse_reply(&[42]).is_none());
    }
}
