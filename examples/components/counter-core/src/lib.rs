//! Shared logic of the counter guests (`counter`, `counter-v2`, `counter-bad-restore`,
//! `counter-unhealthy`): the text commands and the two snapshot formats.
//!
//! This is a plain library, not a component; each counter guest keeps its own count and calls
//! these functions from its `handle`, `snapshot` and `restore`.
//!
//! Commands (UTF-8 payloads, surrounding whitespace ignored), each answered with a reply text:
//! - `inc` adds one and replies the new value;
//! - `add N` adds the decimal `N` and replies the new value;
//! - `get` replies the value;
//! - `version` replies the guest's version (`1` or `2`).
//!
//! Snapshot formats:
//! - v1: the count as 8 bytes, little-endian;
//! - v2: the text `v2:` followed by the count in decimal (`v2:42`).

/// Applies one command to `count` and returns the reply text.
///
/// # Errors
/// A text naming the problem when the payload is not UTF-8, not a known command, `add` has
/// no valid number, or the count would overflow; `count` is then unchanged.
pub fn apply(count: &mut u64, payload: &[u8], version: u32) -> Result<String, String> {
    let text = std::str::from_utf8(payload).map_err(|_| "payload is not UTF-8".to_owned())?;
    let text = text.trim();
    let (cmd, arg) = text.split_once(' ').unwrap_or((text, ""));
    let arg = arg.trim();
    match (cmd, arg) {
        ("inc", "") => add(count, 1),
        ("add", n) if !n.is_empty() => {
            let n: u64 = n
                .parse()
                .map_err(|_| format!("add: `{n}` is not a non-negative integer"))?;
            add(count, n)
        }
        ("get", "") => Ok(count.to_string()),
        ("version", "") => Ok(version.to_string()),
        _ => Err(format!(
            "unknown command `{text}` (expected inc, add N, get or version)"
        )),
    }
}

fn add(count: &mut u64, n: u64) -> Result<String, String> {
    *count = count
        .checked_add(n)
        .ok_or_else(|| format!("add: {count} + {n} overflows u64"))?;
    Ok(count.to_string())
}

/// The v1 snapshot: `count` as 8 bytes, little-endian.
pub fn encode_v1(count: u64) -> Vec<u8> {
    count.to_le_bytes().to_vec()
}

/// Reads a v1 snapshot.
///
/// # Errors
/// When `state` is not exactly 8 bytes.
pub fn decode_v1(state: &[u8]) -> Result<u64, String> {
    let bytes: [u8; 8] = state
        .try_into()
        .map_err(|_| format!("v1 state must be 8 bytes, got {}", state.len()))?;
    Ok(u64::from_le_bytes(bytes))
}

/// The v2 snapshot: `v2:` followed by `count` in decimal.
pub fn encode_v2(count: u64) -> Vec<u8> {
    format!("v2:{count}").into_bytes()
}

/// Reads a v2 snapshot (`v2:<decimal>`) or, for an upgrade from version 1, a v1 snapshot.
///
/// # Errors
/// When `state` is neither format.
pub fn decode_v1_or_v2(state: &[u8]) -> Result<u64, String> {
    if let Some(digits) = state.strip_prefix(b"v2:") {
        return std::str::from_utf8(digits)
            .ok()
            .and_then(|d| d.parse().ok())
            .ok_or_else(|| "v2 state must be `v2:` followed by a decimal u64".to_owned());
    }
    if state.len() == 8 {
        return decode_v1(state);
    }
    Err(format!(
        "state is neither v2 (`v2:<decimal>`) nor v1 (8 bytes); got {} bytes",
        state.len()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_change_and_report_the_count() {
        let mut c = 0;
        assert_eq!(apply(&mut c, b"inc", 1), Ok("1".to_owned()));
        assert_eq!(apply(&mut c, b"add 41\n", 1), Ok("42".to_owned()));
        assert_eq!(apply(&mut c, b"get", 1), Ok("42".to_owned()));
        assert_eq!(apply(&mut c, b"version", 2), Ok("2".to_owned()));
        assert!(apply(&mut c, b"add x", 1).is_err());
        assert!(apply(&mut c, b"add", 1).is_err());
        assert!(apply(&mut c, b"dec", 1).is_err());
        assert!(apply(&mut c, &[0xff], 1).is_err());
        assert!(apply(&mut c, format!("add {}", u64::MAX).as_bytes(), 1).is_err());
        assert_eq!(c, 42);
    }

    #[test]
    fn snapshots_round_trip_and_v2_reads_v1() {
        assert_eq!(decode_v1(&encode_v1(7)), Ok(7));
        assert!(decode_v1(b"v2:7").is_err());
        assert_eq!(decode_v1_or_v2(&encode_v2(7)), Ok(7));
        assert_eq!(decode_v1_or_v2(&encode_v1(u64::MAX)), Ok(u64::MAX));
        assert!(decode_v1_or_v2(b"v2:").is_err());
        assert!(decode_v1_or_v2(b"v3:1").is_err());
    }
}
