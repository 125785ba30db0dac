//! The manifest form of capabilities: [`CapabilitySpec`], parsed from TOML with errors that name
//! the component and the entry that is wrong.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::{CapabilityError, CapabilitySet, FilePermission};

/// The capability kinds a manifest may declare, in the order they are documented.
pub const CAPABILITY_KINDS: [&str; 6] = [
    "files",
    "network",
    "send",
    "request",
    "publish",
    "subscribe",
];

/// Capabilities as declared in a manifest, before validation.
///
/// The host's manifest embeds this per component (for example as
/// `[component.capabilities]`); unknown keys are rejected. Every list defaults to empty, and an
/// empty spec grants nothing.
///
/// ```toml
/// files = [ { path = "/data/in", access = "read" }, { path = "/data/out", access = "read-write" } ]
/// network = [ "api.example.com:443", "*.example.com:8000-8080", "10.0.0.0/8:443", "[::1]:9000" ]
/// send = [ "logger", "stage-*" ]
/// request = [ "db" ]
/// publish = [ "events.*" ]
/// subscribe = [ "events.>" ]
/// ```
///
/// `network` entries follow [`NetworkGrant`](crate::NetworkGrant), `send`/`request` entries
/// [`NamePattern`](crate::NamePattern), `publish`/`subscribe` entries
/// [`TopicPattern`](crate::TopicPattern) (NATS subject syntax).
///
/// # Examples
///
/// ```
/// use airssys_wasm_security::CapabilitySpec;
///
/// let spec = CapabilitySpec::from_toml("echo", r#"publish = ["events.*"]"#)?;
/// let caps = spec.build("echo")?;
/// assert!(caps.check_publish("events.echoed").is_allowed());
/// # Ok::<(), airssys_wasm_security::ManifestError>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct CapabilitySpec {
    /// Directories and their access.
    #[serde(default)]
    pub files: Vec<FileSpec>,
    /// Outbound `host:port` grants.
    #[serde(default)]
    pub network: Vec<String>,
    /// Component-id patterns this component may send to.
    #[serde(default)]
    pub send: Vec<String>,
    /// Component-id patterns this component may send requests to.
    #[serde(default)]
    pub request: Vec<String>,
    /// Topic patterns this component may publish to.
    #[serde(default)]
    pub publish: Vec<String>,
    /// Topic patterns this component may subscribe to.
    #[serde(default)]
    pub subscribe: Vec<String>,
}

/// One `files` entry: an absolute directory and its access.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct FileSpec {
    /// The absolute directory.
    pub path: PathBuf,
    /// `read` or `read-write`.
    pub access: FilePermission,
}

impl FileSpec {
    /// Creates a file entry.
    #[must_use]
    pub fn new(path: impl Into<PathBuf>, access: FilePermission) -> Self {
        Self {
            path: path.into(),
            access,
        }
    }
}

/// A manifest's capabilities could not be read or validated.
///
/// Each variant names the component; [`InvalidEntry`](Self::InvalidEntry) also names the entry
/// (`capabilities.network[1]`) and carries what is wrong with it as its source.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ManifestError {
    /// The text is not valid TOML or does not have the expected shape (wrong type, unknown
    /// field inside an entry, unknown `access` value). The source names line and column.
    #[error("component {component:?}: capabilities do not parse")]
    Parse {
        /// The component whose capabilities were being read.
        component: String,
        /// The TOML error, with its location.
        #[source]
        source: toml::de::Error,
    },
    /// A capability kind that does not exist (`capabilities.filesystem`).
    #[error(
        "component {component:?}: capabilities.{kind}: unknown capability kind (expected one of files, network, send, request, publish, subscribe)"
    )]
    UnknownKind {
        /// The component whose capabilities were being read.
        component: String,
        /// The unknown key.
        kind: String,
    },
    /// One entry is malformed (relative path, malformed host pattern, ...).
    #[error("component {component:?}: capabilities.{kind}[{index}]")]
    InvalidEntry {
        /// The component whose capabilities were being validated.
        component: String,
        /// The capability kind of the entry (`files`, `network`, ...).
        kind: &'static str,
        /// The zero-based position of the entry in its list.
        index: usize,
        /// What is wrong with the entry; its message quotes the entry.
        #[source]
        source: CapabilityError,
    },
}

impl CapabilitySpec {
    /// Parses a standalone capabilities table (the body of `[component.capabilities]`) for
    /// the component `component`.
    ///
    /// # Errors
    ///
    /// [`ManifestError::UnknownKind`] for a top-level key that is not a capability kind, and
    /// [`ManifestError::Parse`] for any other TOML or shape error.
    pub fn from_toml(component: &str, text: &str) -> Result<Self, ManifestError> {
        let parse_err = |source| ManifestError::Parse {
            component: component.to_owned(),
            source,
        };
        let table: toml::Table = toml::from_str(text).map_err(parse_err)?;
        if let Some(kind) = table
            .keys()
            .find(|k| !CAPABILITY_KINDS.contains(&k.as_str()))
        {
            return Err(ManifestError::UnknownKind {
                component: component.to_owned(),
                kind: kind.clone(),
            });
        }
        toml::from_str(text).map_err(parse_err)
    }

    /// Validates the spec into a [`CapabilitySet`] for the component `component`.
    ///
    /// # Errors
    ///
    /// [`ManifestError::InvalidEntry`] naming the first malformed entry.
    pub fn build(&self, component: &str) -> Result<CapabilitySet, ManifestError> {
        let invalid = |kind: &'static str, index: usize| {
            move |source| ManifestError::InvalidEntry {
                component: component.to_owned(),
                kind,
                index,
                source,
            }
        };
        let mut b = CapabilitySet::builder();
        // After each entry, a builder error belongs to that entry, so the error names it.
        for (i, f) in self.files.iter().enumerate() {
            b = b.dir(&f.path, f.access);
            b.take_error()
                .map_or(Ok(()), |e| Err(invalid("files", i)(e)))?;
        }
        for (i, n) in self.network.iter().enumerate() {
            b = b.connect(n);
            b.take_error()
                .map_or(Ok(()), |e| Err(invalid("network", i)(e)))?;
        }
        for (i, s) in self.send.iter().enumerate() {
            b = b.send_to(s);
            b.take_error()
                .map_or(Ok(()), |e| Err(invalid("send", i)(e)))?;
        }
        for (i, r) in self.request.iter().enumerate() {
            b = b.request_from(r);
            b.take_error()
                .map_or(Ok(()), |e| Err(invalid("request", i)(e)))?;
        }
        for (i, p) in self.publish.iter().enumerate() {
            b = b.publish(p);
            b.take_error()
                .map_or(Ok(()), |e| Err(invalid("publish", i)(e)))?;
        }
        for (i, s) in self.subscribe.iter().enumerate() {
            b = b.subscribe(s);
            b.take_error()
                .map_or(Ok(()), |e| Err(invalid("subscribe", i)(e)))?;
        }
        // Every entry's error was taken above, so this cannot fail; map it rather than assume.
        b.build().map_err(invalid("files", 0))
    }
}

/// Parses a standalone capabilities table and validates it into a [`CapabilitySet`].
///
/// # Errors
///
/// Any [`ManifestError`]: unknown kind, TOML or shape errors, malformed entries.
///
/// # Examples
///
/// ```
/// use airssys_wasm_security::{parse_capabilities, ManifestError};
///
/// let err = parse_capabilities("echo", r#"network = ["api.example.com:443", "*.exa mple.com:80"]"#)
///     .unwrap_err();
/// assert!(matches!(err, ManifestError::InvalidEntry { kind: "network", index: 1, .. }));
/// assert_eq!(err.to_string(), r#"component "echo": capabilities.network[1]"#);
/// ```
pub fn parse_capabilities(component: &str, text: &str) -> Result<CapabilitySet, ManifestError> {
    CapabilitySpec::from_toml(component, text)?.build(component)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    #[test]
    fn the_documented_example_parses_and_builds() {
        let text = r#"
            files = [ { path = "/data/in", access = "read" }, { path = "/data/out", access = "read-write" } ]
            network = [ "api.example.com:443", "*.example.com:8000-8080", "10.0.0.0/8:443", "[::1]:9000" ]
            send = [ "logger", "stage-*" ]
            request = [ "db" ]
            publish = [ "events.*" ]
            subscribe = [ "events.>" ]
        "#;
        let caps = parse_capabilities("echo", text).unwrap();
        assert_eq!(caps.file_grants().len(), 2);
        assert_eq!(caps.network_grants().len(), 4);
        assert!(caps.check_subscribe("events.a.b").is_allowed());
    }

    #[test]
    fn an_empty_table_grants_nothing() {
        assert!(parse_capabilities("c", "").unwrap().is_empty());
    }

    #[test]
    fn entry_errors_chain_to_the_reason() {
        let err = parse_capabilities("echo", r#"files = [{ path = "data", access = "read" }]"#)
            .unwrap_err();
        let source = err.source().unwrap().to_string();
        assert_eq!(
            err.to_string(),
            r#"component "echo": capabilities.files[0]"#
        );
        assert!(source.starts_with(r#"relative path "data""#), "{source}");
    }
}
