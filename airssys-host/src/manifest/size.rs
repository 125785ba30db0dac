//! Byte sizes in the manifest: `65536`, `"64KiB"`, `"16MiB"`, `"1GiB"`, `"500kB"`.

/// Parses a byte size: a plain number of bytes, or a number with one of the suffixes
/// `B`, `kB`/`KB` (1000), `KiB` (1024), `MB`, `MiB`, `GB`, `GiB`.
///
/// # Errors
///
/// A message quoting the text when it is not a size.
///
/// # Examples
///
/// ```
/// use airssys_host::manifest::parse_size;
/// assert_eq!(parse_size("16MiB"), Ok(16 << 20));
/// assert_eq!(parse_size("500 kB"), Ok(500_000));
/// assert!(parse_size("16 parsecs").is_err());
/// ```
pub fn parse_size(text: &str) -> Result<usize, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (digits, unit) = t.split_at(split);
    let bad = || {
        format!(
            "{text:?} is not a size (use bytes, or a number with B, kB, KiB, MB, MiB, GB or GiB)"
        )
    };
    let n: usize = digits.parse().map_err(|_| bad())?;
    let mult: usize = match unit.trim() {
        "" | "B" => 1,
        "kB" | "KB" => 1_000,
        "KiB" => 1 << 10,
        "MB" => 1_000_000,
        "MiB" => 1 << 20,
        "GB" => 1_000_000_000,
        "GiB" => 1 << 30,
        _ => return Err(bad()),
    };
    n.checked_mul(mult)
        .ok_or_else(|| format!("{text:?} is too large"))
}

/// serde helper: a size as an integer or a string with a unit.
pub(crate) mod serde_size {
    use serde::{Deserialize, Deserializer};

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either {
        Int(u64),
        Text(String),
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<usize>, D::Error> {
        match Option::<Either>::deserialize(d)? {
            None => Ok(None),
            Some(Either::Int(n)) => usize::try_from(n)
                .map(Some)
                .map_err(|_| serde::de::Error::custom(format!("{n} is too large"))),
            Some(Either::Text(t)) => super::parse_size(&t)
                .map(Some)
                .map_err(serde::de::Error::custom),
        }
    }
}
