//! Components across nodes (feature `cluster`): the wire form of [`ComponentMessage`] and its
//! reply, for [`airssys_rt::NatsBroker`].
//!
//! Only `Deliver` crosses nodes (sender, topic, payload); an `Upgrade` carries compiled code and
//! refuses to be encoded, so it never leaves its node. The format is length-prefixed and
//! versioned by its first byte.

use std::time::Duration;

use airssys_rt::{CodecError, RemoteMessage};

use crate::{ComponentError, ComponentMessage, Envelope};

const VERSION: u8 = 1;

fn put_bytes(buf: &mut Vec<u8>, bytes: &[u8]) -> Result<(), CodecError> {
    let len = u32::try_from(bytes.len()).map_err(|_| CodecError::new("a field is over 4 GiB"))?;
    buf.extend_from_slice(&len.to_le_bytes());
    buf.extend_from_slice(bytes);
    Ok(())
}

/// Reads the wire form back, field by field.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], CodecError> {
        if self.0.len() < n {
            return Err(CodecError::new("truncated component message"));
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn byte(&mut self) -> Result<u8, CodecError> {
        Ok(self.take(1)?[0])
    }

    fn u64(&mut self) -> Result<u64, CodecError> {
        let mut b = [0u8; 8];
        b.copy_from_slice(self.take(8)?);
        Ok(u64::from_le_bytes(b))
    }

    fn bytes(&mut self) -> Result<&'a [u8], CodecError> {
        let mut b = [0u8; 4];
        b.copy_from_slice(self.take(4)?);
        let len = u32::from_le_bytes(b) as usize;
        self.take(len)
    }

    fn string(&mut self) -> Result<String, CodecError> {
        String::from_utf8(self.bytes()?.to_vec())
            .map_err(|e| CodecError::with_source("a text field is not UTF-8", e))
    }

    fn version(&mut self) -> Result<(), CodecError> {
        match self.byte()? {
            VERSION => Ok(()),
            v => Err(CodecError::new(format!(
                "component message format version {v} is not supported (expected {VERSION})"
            ))),
        }
    }
}

impl RemoteMessage for ComponentMessage {
    fn encode(&self, buf: &mut Vec<u8>) -> Result<(), CodecError> {
        match self {
            Self::Deliver(env) => {
                buf.push(VERSION);
                put_bytes(buf, env.sender.as_bytes())?;
                match &env.topic {
                    Some(t) => {
                        buf.push(1);
                        put_bytes(buf, t.as_bytes())?;
                    }
                    None => buf.push(0),
                }
                put_bytes(buf, &env.payload)
            }
            Self::Upgrade(_) => Err(CodecError::new(
                "an upgrade carries compiled code and cannot cross nodes",
            )),
        }
    }

    fn decode(bytes: &[u8]) -> Result<Self, CodecError> {
        let mut r = Reader(bytes);
        r.version()?;
        let sender = r.string()?;
        let topic = match r.byte()? {
            0 => None,
            1 => Some(r.string()?),
            t => return Err(CodecError::new(format!("bad topic tag {t}"))),
        };
        let payload = r.bytes()?.to_vec();
        Ok(Self::Deliver(Box::new(Envelope {
            sender,
            topic,
            payload,
        })))
    }

    fn encode_reply(reply: &Self::Reply, buf: &mut Vec<u8>) -> Result<(), CodecError> {
        buf.push(VERSION);
        match reply {
            Ok(None) => buf.push(0),
            Ok(Some(bytes)) => {
                buf.push(1);
                put_bytes(buf, bytes)?;
            }
            Err(e) => {
                let (tag, text, n) = match e {
                    ComponentError::Guest(t) => (2, t.as_str(), 0),
                    ComponentError::Trapped(t) => (3, t.as_str(), 0),
                    ComponentError::DeadlineExceeded(d) => {
                        (4, "", u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
                    }
                    ComponentError::MemoryLimit(b) => (5, "", *b as u64),
                    ComponentError::OutOfFuel => (6, "", 0),
                    ComponentError::NotRunning => (7, "", 0),
                    ComponentError::Instantiate(t) => (8, t.as_str(), 0),
                    ComponentError::UpgradeRolledBack(t) => (9, t.as_str(), 0),
                };
                buf.push(tag);
                put_bytes(buf, text.as_bytes())?;
                buf.extend_from_slice(&n.to_le_bytes());
            }
        }
        Ok(())
    }

    fn decode_reply(bytes: &[u8]) -> Result<Self::Reply, CodecError> {
        let mut r = Reader(bytes);
        r.version()?;
        let tag = r.byte()?;
        match tag {
            0 => return Ok(Ok(None)),
            1 => return Ok(Ok(Some(r.bytes()?.to_vec()))),
            _ => {}
        }
        let text = r.string()?;
        let n = r.u64()?;
        let err = match tag {
            2 => ComponentError::Guest(text),
            3 => ComponentError::Trapped(text),
            4 => ComponentError::DeadlineExceeded(Duration::from_millis(n)),
            5 => ComponentError::MemoryLimit(usize::try_from(n).unwrap_or(usize::MAX)),
            6 => ComponentError::OutOfFuel,
            7 => ComponentError::NotRunning,
            8 => ComponentError::Instantiate(text),
            9 => ComponentError::UpgradeRolledBack(text),
            t => return Err(CodecError::new(format!("bad reply tag {t}"))),
        };
        Ok(Err(err))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deliveries_and_replies_round_trip() {
        for msg in [
            ComponentMessage::deliver("a", b"payload".to_vec()),
            ComponentMessage::published("b", "t.x", Vec::new()),
        ] {
            let mut buf = Vec::new();
            msg.encode(&mut buf).unwrap();
            let back = ComponentMessage::decode(&buf).unwrap();
            assert_eq!(format!("{back:?}"), format!("{msg:?}"));
        }
        let replies: [<ComponentMessage as airssys_rt::Message>::Reply; 5] = [
            Ok(None),
            Ok(Some(b"x".to_vec())),
            Err(ComponentError::Guest("no".into())),
            Err(ComponentError::DeadlineExceeded(Duration::from_millis(250))),
            Err(ComponentError::MemoryLimit(1 << 20)),
        ];
        for r in replies {
            let mut buf = Vec::new();
            ComponentMessage::encode_reply(&r, &mut buf).unwrap();
            assert_eq!(ComponentMessage::decode_reply(&buf).unwrap(), r);
        }
    }

    #[test]
    fn truncated_or_foreign_bytes_are_errors_not_panics() {
        let mut buf = Vec::new();
        ComponentMessage::deliver("sender", b"body".to_vec())
            .encode(&mut buf)
            .unwrap();
        for cut in 0..buf.len() {
            assert!(ComponentMessage::decode(&buf[..cut]).is_err(), "cut {cut}");
        }
        assert!(ComponentMessage::decode(&[9, 0, 0]).is_err());
        assert!(ComponentMessage::decode_reply(&[1, 77]).is_err());
    }
}
