//! [`RemoteMessage`]: how a message and its reply cross a node boundary.

use std::borrow::Cow;
use std::fmt;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::Message;

/// A message type that can be sent to an actor on another node.
///
/// Only messages that cross a node are encoded; a message to a local actor is moved through its
/// mailbox as always, whatever broker the sender uses.
///
/// Every type that is `Serialize + DeserializeOwned` with a `Reply` that is too implements this
/// trait through a blanket impl (encoded with [postcard](https://docs.rs/postcard), a compact
/// binary format). A type that is not serde implements it by hand; an `encode` error keeps a
/// message (or a variant of it) from ever leaving its node.
///
/// # Examples
///
/// A serde message needs nothing more than its derives:
///
/// ```
/// use airssys_rt::{Message, RemoteMessage};
///
/// #[derive(serde::Serialize, serde::Deserialize)]
/// enum Counter {
///     Add(u64),
///     Get,
/// }
/// impl Message for Counter {
///     type Reply = u64;
/// }
///
/// let mut buf = Vec::new();
/// Counter::Add(7).encode(&mut buf)?;
/// assert!(matches!(Counter::decode(&buf)?, Counter::Add(7)));
/// # Ok::<(), airssys_rt::CodecError>(())
/// ```
///
/// A message that is not serde, with a variant that must stay local:
///
/// ```
/// use airssys_rt::{CodecError, Message, RemoteMessage};
///
/// enum Job {
///     Run(Vec<u8>),
///     /// Holds a local handle; never crosses a node.
///     Local(std::sync::Arc<()>),
/// }
/// impl Message for Job {
///     type Reply = Vec<u8>;
/// }
///
/// impl RemoteMessage for Job {
///     fn encode(&self, buf: &mut Vec<u8>) -> Result<(), CodecError> {
///         match self {
///             Job::Run(bytes) => {
///                 buf.extend_from_slice(bytes);
///                 Ok(())
///             }
///             Job::Local(_) => Err(CodecError::new("Job::Local cannot cross nodes")),
///         }
///     }
///     fn decode(bytes: &[u8]) -> Result<Self, CodecError> {
///         Ok(Job::Run(bytes.to_vec()))
///     }
///     fn encode_reply(reply: &Vec<u8>, buf: &mut Vec<u8>) -> Result<(), CodecError> {
///         buf.extend_from_slice(reply);
///         Ok(())
///     }
///     fn decode_reply(bytes: &[u8]) -> Result<Vec<u8>, CodecError> {
///         Ok(bytes.to_vec())
///     }
/// }
/// ```
pub trait RemoteMessage: Message + Sized {
    /// Appends the encoded message to `buf`.
    ///
    /// # Errors
    ///
    /// A [`CodecError`] when the message cannot (or must not) cross nodes.
    fn encode(&self, buf: &mut Vec<u8>) -> Result<(), CodecError>;

    /// Decodes a message encoded by [`encode`](Self::encode).
    ///
    /// # Errors
    ///
    /// A [`CodecError`] for bytes that are not a message of this type.
    fn decode(bytes: &[u8]) -> Result<Self, CodecError>;

    /// Appends the encoded reply to `buf`.
    ///
    /// # Errors
    ///
    /// A [`CodecError`] when the reply cannot be encoded.
    fn encode_reply(reply: &Self::Reply, buf: &mut Vec<u8>) -> Result<(), CodecError>;

    /// Decodes a reply encoded by [`encode_reply`](Self::encode_reply).
    ///
    /// # Errors
    ///
    /// A [`CodecError`] for bytes that are not a reply of this type.
    fn decode_reply(bytes: &[u8]) -> Result<Self::Reply, CodecError>;
}

impl<M> RemoteMessage for M
where
    M: Message + Serialize + DeserializeOwned,
    M::Reply: Serialize + DeserializeOwned,
{
    fn encode(&self, buf: &mut Vec<u8>) -> Result<(), CodecError> {
        postcard_encode(self, buf)
    }

    fn decode(bytes: &[u8]) -> Result<Self, CodecError> {
        postcard::from_bytes(bytes).map_err(|e| CodecError::with_source("decoding a message", e))
    }

    fn encode_reply(reply: &Self::Reply, buf: &mut Vec<u8>) -> Result<(), CodecError> {
        postcard_encode(reply, buf)
    }

    fn decode_reply(bytes: &[u8]) -> Result<Self::Reply, CodecError> {
        postcard::from_bytes(bytes).map_err(|e| CodecError::with_source("decoding a reply", e))
    }
}

fn postcard_encode<T: Serialize>(value: &T, buf: &mut Vec<u8>) -> Result<(), CodecError> {
    let out = postcard::to_extend(value, std::mem::take(buf))
        .map_err(|e| CodecError::with_source("encoding with postcard", e))?;
    *buf = out;
    Ok(())
}

/// A message or reply could not be encoded or decoded for another node.
pub struct CodecError {
    what: Cow<'static, str>,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

impl CodecError {
    /// An error that says what failed, for example `"Upgrade cannot cross nodes"`.
    pub fn new(what: impl Into<Cow<'static, str>>) -> Self {
        Self {
            what: what.into(),
            source: None,
        }
    }

    /// An error that says what failed, caused by `source` (for example a serde error).
    pub fn with_source(
        what: impl Into<Cow<'static, str>>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Self {
            what: what.into(),
            source: Some(Box::new(source)),
        }
    }
}

impl fmt::Debug for CodecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CodecError")
            .field("what", &self.what)
            .field("source", &self.source)
            .finish()
    }
}

impl fmt::Display for CodecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "message codec failed: {}", self.what)
    }
}

impl std::error::Error for CodecError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}
