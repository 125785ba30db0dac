//! Outbound network grants: host patterns, IP literals, CIDR ranges and port ranges.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::{CapabilityError, Decision, DenyReason};

/// Which hosts a network grant covers.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HostPattern {
    /// One DNS name, compared case-insensitively (`api.example.com`).
    Name(Box<str>),
    /// `*.suffix`: any name that ends with `.suffix` and has at least one more whole label in
    /// front of it. `*.example.com` matches `a.example.com` and `a.b.example.com`, not
    /// `example.com`, `evilexample.com` or `example.com.evil.net`. Holds the suffix.
    Wildcard(Box<str>),
    /// One IP address, given as an IP literal.
    Ip(IpAddr),
    /// A CIDR range such as `10.0.0.0/8` or `fd00::/8`; only IP literals match it.
    Cidr {
        /// The network address (host bits are zero).
        network: IpAddr,
        /// The prefix length in bits.
        prefix: u8,
    },
}

impl HostPattern {
    /// Returns `true` when the already-validated, lowercase-insensitive `host` matches.
    fn matches_name(&self, host: &str) -> bool {
        match self {
            Self::Name(name) => host.eq_ignore_ascii_case(name),
            Self::Wildcard(suffix) => {
                let (h, s) = (host.as_bytes(), suffix.as_bytes());
                h.len() > s.len() + 1
                    && h[h.len() - s.len() - 1] == b'.'
                    && h[h.len() - s.len()..].eq_ignore_ascii_case(s)
            }
            Self::Ip(_) | Self::Cidr { .. } => false,
        }
    }

    fn matches_ip(&self, ip: IpAddr) -> bool {
        match *self {
            Self::Ip(granted) => granted == ip,
            Self::Cidr { network, prefix } => in_cidr(network, prefix, ip),
            Self::Name(_) | Self::Wildcard(_) => false,
        }
    }
}

impl fmt::Display for HostPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Name(name) => f.write_str(name),
            Self::Wildcard(suffix) => write!(f, "*.{suffix}"),
            Self::Ip(IpAddr::V4(ip)) => write!(f, "{ip}"),
            Self::Ip(IpAddr::V6(ip)) => write!(f, "[{ip}]"),
            Self::Cidr {
                network: IpAddr::V4(ip),
                prefix,
            } => write!(f, "{ip}/{prefix}"),
            Self::Cidr {
                network: IpAddr::V6(ip),
                prefix,
            } => write!(f, "[{ip}/{prefix}]"),
        }
    }
}

/// An inclusive range of destination ports; a single port is a range of one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PortRange {
    start: u16,
    end: u16,
}

impl PortRange {
    /// Returns the first port of the range.
    #[must_use]
    pub const fn start(self) -> u16 {
        self.start
    }

    /// Returns the last port of the range (inclusive).
    #[must_use]
    pub const fn end(self) -> u16 {
        self.end
    }

    /// Returns `true` when `port` lies in the range.
    #[must_use]
    pub const fn contains(self, port: u16) -> bool {
        self.start <= port && port <= self.end
    }
}

impl fmt::Display for PortRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.start == self.end {
            write!(f, "{}", self.start)
        } else {
            write!(f, "{}-{}", self.start, self.end)
        }
    }
}

/// One outbound network grant: a host pattern and a port range.
///
/// Written `host:port` or `host:first-last`, where host is a DNS name, `*.suffix`, an IPv4
/// literal, an IPv4 CIDR (`10.0.0.0/8:443`), or a bracketed IPv6 literal or CIDR
/// (`[::1]:9000`, `[fd00::/8]:443`).
///
/// Name grants trust DNS: `api.example.com:443` allows connecting to whatever that name
/// resolves to. IP and CIDR grants only match IP literals.
///
/// # Examples
///
/// ```
/// use airssys_wasm_security::NetworkGrant;
///
/// let grant = NetworkGrant::parse("*.example.com:8000-8080")?;
/// assert!(grant.matches("api.example.com", 8080));
/// assert!(!grant.matches("evilexample.com", 8080));
/// assert!(!grant.matches("api.example.com", 8081));
/// # Ok::<(), airssys_wasm_security::CapabilityError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NetworkGrant {
    host: HostPattern,
    ports: PortRange,
}

impl NetworkGrant {
    /// Parses a grant written `host:ports`.
    ///
    /// # Errors
    ///
    /// Returns [`CapabilityError::MalformedHostPattern`] for a bad host part (bad characters,
    /// misplaced `*`, unbracketed IPv6, CIDR with host bits set, numeric-looking name) and
    /// [`CapabilityError::MalformedPortRange`] for a missing, zero, out-of-range or reversed
    /// port.
    pub fn parse(grant: &str) -> Result<Self, CapabilityError> {
        let host_err = |reason| CapabilityError::MalformedHostPattern {
            pattern: grant.to_owned(),
            reason,
        };
        let (host, ports) = if let Some(rest) = grant.strip_prefix('[') {
            let (inner, after) = rest
                .split_once(']')
                .ok_or_else(|| host_err("'[' without a closing ']'"))?;
            let ports = after
                .strip_prefix(':')
                .ok_or_else(|| host_err("expected ':port' after ']'"))?;
            (parse_v6(inner).map_err(host_err)?, ports)
        } else {
            let (host, ports) = grant
                .rsplit_once(':')
                .ok_or_else(|| host_err("expected host:port"))?;
            if host.contains(':') {
                return Err(host_err("IPv6 literals must be written in brackets"));
            }
            (parse_host(host).map_err(host_err)?, ports)
        };
        let ports = parse_ports(ports).map_err(|reason| CapabilityError::MalformedPortRange {
            pattern: grant.to_owned(),
            reason,
        })?;
        Ok(Self { host, ports })
    }

    /// Returns the host part of the grant.
    #[must_use]
    pub const fn host(&self) -> &HostPattern {
        &self.host
    }

    /// Returns the port range of the grant.
    #[must_use]
    pub const fn ports(&self) -> PortRange {
        self.ports
    }

    /// Returns `true` when connecting to `host:port` is covered by this grant.
    #[must_use]
    pub fn matches(&self, host: &str, port: u16) -> bool {
        match classify(host, port) {
            Ok(Target::Ip(ip)) => self.ports.contains(port) && self.host.matches_ip(ip),
            Ok(Target::Name(name)) => self.ports.contains(port) && self.host.matches_name(name),
            Err(_) => false,
        }
    }
}

impl fmt::Display for NetworkGrant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.host, self.ports)
    }
}

/// A validated connection target.
enum Target<'a> {
    Ip(IpAddr),
    Name(&'a str),
}

/// Validates a connection target without allocating.
fn classify(host: &str, port: u16) -> Result<Target<'_>, DenyReason> {
    if port == 0 {
        return Err(DenyReason::InvalidPort);
    }
    if let Some(inner) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return inner
            .parse::<Ipv6Addr>()
            .map(|ip| Target::Ip(IpAddr::V6(ip).to_canonical()))
            .map_err(|_| DenyReason::InvalidHost);
    }
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(Target::Ip(ip.to_canonical()));
    }
    let name = host.strip_suffix('.').unwrap_or(host);
    validate_dns(name).map_err(|_| DenyReason::InvalidHost)?;
    if is_numeric_looking(name) {
        return Err(DenyReason::AmbiguousNumericHost);
    }
    Ok(Target::Name(name))
}

/// Checks `host:port` against `grants`.
pub(crate) fn check(grants: &[NetworkGrant], host: &str, port: u16) -> Decision {
    let target = match classify(host, port) {
        Ok(target) => target,
        Err(reason) => return Decision::denied(reason),
    };
    let allowed = grants.iter().any(|g| {
        g.ports.contains(port)
            && match target {
                Target::Ip(ip) => g.host.matches_ip(ip),
                Target::Name(name) => g.host.matches_name(name),
            }
    });
    if allowed {
        Decision::Allowed
    } else {
        Decision::denied(DenyReason::NoNetworkGrant)
    }
}

/// Validates DNS name syntax: 1..=253 bytes, labels 1..=63 of `[A-Za-z0-9_-]`, no label
/// starting or ending with `-`.
pub(crate) fn validate_dns(name: &str) -> Result<(), &'static str> {
    if name.is_empty() || name.len() > 253 {
        return Err("a host name is 1 to 253 bytes long");
    }
    for label in name.split('.') {
        if label.is_empty() || label.len() > 63 {
            return Err("a label is 1 to 63 bytes long (no empty labels)");
        }
        if !label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err("a label holds only ASCII letters, digits, '-' and '_' (use punycode)");
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err("a label cannot start or end with '-'");
        }
    }
    Ok(())
}

/// A name whose last label is all digits or a `0x` hex number is read as an IPv4 address by
/// some resolvers (`127.1`, `0x7f.0.0.1`, `2130706433`); such names are never treated as names.
fn is_numeric_looking(name: &str) -> bool {
    let last = name.rsplit('.').next().unwrap_or(name);
    let hex = last
        .strip_prefix("0x")
        .or_else(|| last.strip_prefix("0X"))
        .is_some_and(|digits| digits.bytes().all(|b| b.is_ascii_hexdigit()));
    hex || last.bytes().all(|b| b.is_ascii_digit())
}

fn parse_host(host: &str) -> Result<HostPattern, &'static str> {
    if host.is_empty() {
        return Err("the host is empty");
    }
    if let Some((addr, prefix)) = host.split_once('/') {
        let ip: Ipv4Addr = addr
            .parse()
            .map_err(|_| "a CIDR range needs an IPv4 address or a bracketed IPv6 one")?;
        return cidr(IpAddr::V4(ip), prefix, 32);
    }
    if let Ok(ip) = host.parse::<Ipv4Addr>() {
        return Ok(HostPattern::Ip(IpAddr::V4(ip)));
    }
    let (wildcard, name) = match host.strip_prefix("*.") {
        Some(suffix) => (true, suffix),
        None => (false, host),
    };
    if name.contains('*') {
        return Err("'*' is only allowed as the whole first label, as in *.example.com");
    }
    let name = name.strip_suffix('.').unwrap_or(name);
    validate_dns(name)?;
    if is_numeric_looking(name) {
        return Err("a name whose last label is numeric is ambiguous; write an IP literal");
    }
    let name: Box<str> = name.to_ascii_lowercase().into();
    Ok(if wildcard {
        HostPattern::Wildcard(name)
    } else {
        HostPattern::Name(name)
    })
}

fn parse_v6(inner: &str) -> Result<HostPattern, &'static str> {
    if let Some((addr, prefix)) = inner.split_once('/') {
        let ip: Ipv6Addr = addr.parse().map_err(|_| "not a valid IPv6 address")?;
        return cidr(IpAddr::V6(ip), prefix, 128);
    }
    let ip: Ipv6Addr = inner.parse().map_err(|_| "not a valid IPv6 address")?;
    Ok(HostPattern::Ip(IpAddr::V6(ip).to_canonical()))
}

fn cidr(network: IpAddr, prefix: &str, max: u8) -> Result<HostPattern, &'static str> {
    let prefix: u8 = prefix
        .parse()
        .map_err(|_| "the CIDR prefix is not a number")?;
    if prefix > max {
        return Err("the CIDR prefix is longer than the address");
    }
    if mask_bits(network, prefix) != Some(bits(network)) {
        return Err("the CIDR address has host bits set");
    }
    Ok(HostPattern::Cidr { network, prefix })
}

fn bits(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v4) => u128::from(u32::from(v4)),
        IpAddr::V6(v6) => u128::from(v6),
    }
}

/// Returns `ip` with its host bits (beyond `prefix`) cleared.
fn mask_bits(ip: IpAddr, prefix: u8) -> Option<u128> {
    let width: u32 = if ip.is_ipv4() { 32 } else { 128 };
    let host_bits = width.checked_sub(u32::from(prefix))?;
    let mask = if host_bits >= 128 {
        0
    } else {
        (u128::MAX << host_bits) & (u128::MAX >> (128 - width))
    };
    Some(bits(ip) & mask)
}

fn in_cidr(network: IpAddr, prefix: u8, ip: IpAddr) -> bool {
    network.is_ipv4() == ip.is_ipv4() && mask_bits(ip, prefix) == mask_bits(network, prefix)
}

fn parse_ports(ports: &str) -> Result<PortRange, &'static str> {
    let parse_one = |p: &str| -> Result<u16, &'static str> {
        if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
            return Err("a port is a number from 1 to 65535");
        }
        match p.parse::<u16>() {
            Ok(0) => Err("port 0 is not a valid destination"),
            Ok(port) => Ok(port),
            Err(_) => Err("a port is a number from 1 to 65535"),
        }
    };
    let (start, end) = match ports.split_once('-') {
        Some((a, b)) => (parse_one(a)?, parse_one(b)?),
        None => {
            let port = parse_one(ports)?;
            (port, port)
        }
    };
    if start > end {
        return Err("the port range is reversed");
    }
    Ok(PortRange { start, end })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(s: &str) -> NetworkGrant {
        NetworkGrant::parse(s).unwrap()
    }

    #[test]
    fn exact_host_matches_case_insensitively_and_with_a_trailing_dot() {
        let g = grant("API.example.com:443");
        assert!(g.matches("api.example.com", 443));
        assert!(g.matches("Api.Example.Com.", 443));
        assert!(!g.matches("api.example.com", 444));
        assert!(!g.matches("x.api.example.com", 443));
    }

    #[test]
    fn wildcard_matches_whole_labels_only() {
        let g = grant("*.example.com:80");
        assert!(g.matches("a.example.com", 80));
        assert!(g.matches("a.b.example.com", 80));
        assert!(!g.matches("example.com", 80));
        assert!(!g.matches("evilexample.com", 80));
        assert!(!g.matches("example.com.evil.net", 80));
        assert!(!g.matches(".example.com", 80));
    }

    #[test]
    fn port_ranges_are_inclusive() {
        let g = grant("h.example:8000-8080");
        assert!(!g.matches("h.example", 7999));
        assert!(g.matches("h.example", 8000));
        assert!(g.matches("h.example", 8080));
        assert!(!g.matches("h.example", 8081));
    }

    #[test]
    fn cidr_matches_only_addresses_inside() {
        let g = grant("10.0.0.0/8:443");
        assert!(g.matches("10.1.2.3", 443));
        assert!(g.matches("::ffff:10.1.2.3", 443));
        assert!(!g.matches("11.0.0.1", 443));
        assert!(!g.matches("10.example.com", 443));
        let g6 = grant("[fd00::/8]:443");
        assert!(g6.matches("fd12::1", 443));
        assert!(g6.matches("[fd12::1]", 443));
        assert!(!g6.matches("fe80::1", 443));
        assert!(grant("0.0.0.0/0:1").matches("8.8.8.8", 1));
    }

    #[test]
    fn ipv6_literal_grant_matches_bracketed_and_bare_forms() {
        let g = grant("[::1]:9000");
        assert!(g.matches("::1", 9000));
        assert!(g.matches("[::1]", 9000));
        assert!(!g.matches("127.0.0.1", 9000));
        assert_eq!(g.to_string(), "[::1]:9000");
    }

    #[test]
    fn malformed_grants_are_rejected_with_the_right_variant() {
        for bad in [
            "*.exa mple.com:80",
            "ex*ample.com:80",
            "*:80",
            "::1:80",
            "10.0.0.1/8:80",
            "10.0.0.0/33:80",
            "127.1:80",
            "[::1:80",
            ":80",
            "héllo.com:80",
        ] {
            assert!(
                matches!(
                    NetworkGrant::parse(bad),
                    Err(CapabilityError::MalformedHostPattern { .. })
                ),
                "{bad:?}"
            );
        }
        for bad in [
            "a.com",
            "a.com:",
            "a.com:0",
            "a.com:65536",
            "a.com:90-80",
            "a.com:+1",
        ] {
            assert!(
                matches!(
                    NetworkGrant::parse(bad),
                    Err(CapabilityError::MalformedPortRange { .. }
                        | CapabilityError::MalformedHostPattern { .. })
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn numeric_looking_hosts_are_denied_as_ambiguous() {
        let g = vec![grant("*.example.com:80")];
        for host in ["127.1", "0x7f.0.0.1", "2130706433", "010.0.0.1"] {
            assert_eq!(
                check(&g, host, 80),
                Decision::denied(DenyReason::AmbiguousNumericHost),
                "{host}"
            );
        }
    }

    #[test]
    fn display_round_trips_through_parse() {
        for s in [
            "a.example.com:443",
            "*.example.com:8000-8080",
            "10.0.0.0/8:443",
            "[::1]:9000",
            "[fd00::/8]:1",
            "1.2.3.4:5",
        ] {
            assert_eq!(grant(s).to_string(), s);
            assert_eq!(grant(&grant(s).to_string()), grant(s));
        }
    }
}
