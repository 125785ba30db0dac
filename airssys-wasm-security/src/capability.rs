//! [`CapabilitySet`]: what one component may touch, built once and never widened.

mod messaging;
mod network;
mod path;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use self::network::{HostPattern, NetworkGrant, PortRange};
pub use self::path::{FileAccess, FileGrant, FilePermission, FileTarget};
use crate::pattern::{NamePattern, TopicPattern};
use crate::{CapabilitySpec, Decision, DenyReason, FileSpec};

/// A grant that could not be built.
///
/// Every variant carries the offending input, so the message alone says what to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CapabilityError {
    /// A file grant names a relative path.
    #[error("relative path {path:?}: file grants need an absolute path")]
    RelativePath {
        /// The path as given.
        path: PathBuf,
    },
    /// A file grant contains a `..` component.
    #[error("path {path:?} contains \"..\": file grants must not climb out of a directory")]
    ParentTraversal {
        /// The path as given.
        path: PathBuf,
    },
    /// A file grant contains a NUL byte.
    #[error("path {path:?} contains a NUL byte")]
    InvalidPath {
        /// The path as given.
        path: PathBuf,
    },
    /// The host part of a network grant is malformed.
    #[error("malformed host pattern {pattern:?}: {reason}")]
    MalformedHostPattern {
        /// The grant as given.
        pattern: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The port part of a network grant is malformed.
    #[error("malformed port range in {pattern:?}: {reason}")]
    MalformedPortRange {
        /// The grant as given.
        pattern: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A `send` or `request` pattern is malformed.
    #[error("malformed component pattern {pattern:?}: {reason}")]
    MalformedNamePattern {
        /// The pattern as given.
        pattern: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A `publish` or `subscribe` pattern is malformed.
    #[error("malformed topic pattern {pattern:?}: {reason}")]
    MalformedTopicPattern {
        /// The pattern as given.
        pattern: String,
        /// What is wrong with it.
        reason: &'static str,
    },
}

/// Everything one component is allowed to do; anything not granted is denied.
///
/// Built with [`CapabilitySet::builder`] (or from a manifest with
/// [`CapabilitySpec::build`](crate::CapabilitySpec::build)) and immutable afterwards: there is
/// no method that widens a set, so the set handed to a component at spawn is the set it keeps.
/// Cloning is cheap (an `Arc`), the type is `Send + Sync`, checks take `&self`, and the lexical
/// checks never allocate, so they can run on every host call from any thread.
///
/// # Examples
///
/// ```
/// use std::path::Path;
/// use airssys_wasm_security::{CapabilitySet, FileAccess};
///
/// let caps = CapabilitySet::builder()
///     .read_dir("/data/in")
///     .read_write_dir("/data/out")
///     .connect("*.example.com:443")
///     .send_to("logger")
///     .publish("events.*")
///     .build()?;
///
/// assert!(caps.check_file(Path::new("/data/in/a.csv"), FileAccess::Read).is_allowed());
/// assert!(caps.check_file(Path::new("/data/in2/a.csv"), FileAccess::Read).is_denied());
/// assert!(caps.check_connect("api.example.com", 443).is_allowed());
/// assert!(caps.check_connect("evilexample.com", 443).is_denied());
/// assert!(caps.check_send("logger").is_allowed());
/// assert!(caps.check_request("logger").is_denied());
/// # Ok::<(), airssys_wasm_security::CapabilityError>(())
/// ```
#[derive(Clone)]
pub struct CapabilitySet {
    inner: Arc<Grants>,
}

/// The grants of every deny-all set: one allocation per process, not one per component.
static NOTHING: std::sync::LazyLock<Arc<Grants>> = std::sync::LazyLock::new(Arc::default);

impl Default for CapabilitySet {
    /// A set that denies everything (the same as [`CapabilitySet::deny_all`]).
    fn default() -> Self {
        Self {
            inner: Arc::clone(&NOTHING),
        }
    }
}

#[derive(Debug, Default)]
struct Grants {
    files: Vec<FileGrant>,
    network: Vec<NetworkGrant>,
    send: Vec<NamePattern>,
    request: Vec<NamePattern>,
    publish: Vec<TopicPattern>,
    subscribe: Vec<TopicPattern>,
}

impl Grants {
    fn is_empty(&self) -> bool {
        self.files.is_empty()
            && self.network.is_empty()
            && self.send.is_empty()
            && self.request.is_empty()
            && self.publish.is_empty()
            && self.subscribe.is_empty()
    }
}

impl CapabilitySet {
    /// Starts an empty builder: nothing is granted until a builder method grants it.
    pub fn builder() -> CapabilitySetBuilder {
        CapabilitySetBuilder::default()
    }

    /// Returns a set that denies everything. Every deny-all set shares one allocation.
    #[must_use]
    pub fn deny_all() -> Self {
        Self::default()
    }

    /// Returns `true` when the set grants nothing at all.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.inner.is_empty()
    }

    /// Checks a file operation lexically, without touching the disk and without allocating.
    ///
    /// The path must be absolute; `.` segments and repeated separators are ignored and grants
    /// match whole components, so `/data/in` covers `/data/in/x` but not `/data/in2/x`. A `..`
    /// component is always denied: lexically `dir/link/..` looks like `dir`, but if `link` is a
    /// symlink it is not, so `..` cannot be resolved without the disk.
    ///
    /// Symlinks are *not* followed. Use this to reject a request early or to reason about paths
    /// that are never opened; before real file I/O the host must call
    /// [`check_file_resolved`](Self::check_file_resolved).
    pub fn check_file(&self, path: &Path, access: FileAccess) -> Decision {
        path::check_lexical(&self.inner.files, path, access)
    }

    /// Checks a file operation against the real filesystem; the check a host must use before
    /// real file I/O.
    ///
    /// Resolves the path with [`std::fs::canonicalize`] (symlinks and `..` followed by the
    /// kernel) or, for a file not yet created, canonicalizes its nearest existing ancestor and
    /// appends the missing components (which may not contain `..`). A symlink to nothing is
    /// denied, because creating through it would write wherever it points. The resolved path is
    /// compared with the canonical form of each grant, taken when the set was built (or the
    /// declared path if the directory did not exist then). This allocates and performs system
    /// calls.
    ///
    /// A check followed by an open by path is still a race against a process that swaps a
    /// directory for a symlink in between: use [`file_target`](Self::file_target) and open the
    /// file beneath a handle on the granting directory instead.
    pub fn check_file_resolved(&self, path: &Path, access: FileAccess) -> Decision {
        path::check_resolved(&self.inner.files, path, access)
    }

    /// As [`check_file_resolved`](Self::check_file_resolved), and, when allowed, where to open
    /// the file: the granting directory and the path beneath it. A host that opens the
    /// directory and then the relative path with a resolver that cannot leave it (`openat2`
    /// with `RESOLVE_BENEATH`, as `cap-std` does) closes the check-then-open race: a directory
    /// swapped for a symlink after the check cannot lead outside the grant.
    ///
    /// # Errors
    ///
    /// Why the operation is denied, as in the [`Decision`] of `check_file_resolved`.
    pub fn file_target(&self, path: &Path, access: FileAccess) -> Result<FileTarget, DenyReason> {
        path::resolve_target(&self.inner.files, path, access)
    }

    /// Checks an outbound connection to `host:port`.
    ///
    /// `host` is a DNS name (case-insensitive, one trailing dot allowed), an IPv4 literal or
    /// an IPv6 literal with or without brackets. Names that look numeric but are not valid IP
    /// literals (`127.1`, `0x7f.0.0.1`) are always denied, as are port 0 and hosts with
    /// characters outside DNS syntax (internationalized names must be given in punycode).
    pub fn check_connect(&self, host: &str, port: u16) -> Decision {
        network::check(&self.inner.network, host, port)
    }

    /// Checks sending a message (no reply) to the component `target`.
    pub fn check_send(&self, target: &str) -> Decision {
        messaging::check_target(&self.inner.send, target, DenyReason::NoSendGrant)
    }

    /// Checks sending a request (awaiting a reply) to the component `target`.
    pub fn check_request(&self, target: &str) -> Decision {
        messaging::check_target(&self.inner.request, target, DenyReason::NoRequestGrant)
    }

    /// Checks publishing to the concrete `topic` (wildcards are denied as invalid topics).
    pub fn check_publish(&self, topic: &str) -> Decision {
        messaging::check_publish(&self.inner.publish, topic)
    }

    /// Checks subscribing to `subject`, which may contain `*` and `>` wildcards; allowed only
    /// if a single subscribe grant covers every topic the subscription could receive.
    pub fn check_subscribe(&self, subject: &str) -> Decision {
        messaging::check_subscribe(&self.inner.subscribe, subject)
    }

    /// Returns the file grants, in the order they were granted.
    #[must_use]
    pub fn file_grants(&self) -> &[FileGrant] {
        &self.inner.files
    }

    /// Returns the directories the host should preopen for the component, with their
    /// permission: the canonical path when the directory existed at build time, else the
    /// declared one.
    pub fn preopens(&self) -> impl ExactSizeIterator<Item = (&Path, FilePermission)> + '_ {
        self.inner
            .files
            .iter()
            .map(|g| (g.effective_path(), g.permission()))
    }

    /// Returns the outbound network grants.
    #[must_use]
    pub fn network_grants(&self) -> &[NetworkGrant] {
        &self.inner.network
    }

    /// Returns the patterns of components this component may send to.
    #[must_use]
    pub fn send_grants(&self) -> &[NamePattern] {
        &self.inner.send
    }

    /// Returns the patterns of components this component may send requests to.
    #[must_use]
    pub fn request_grants(&self) -> &[NamePattern] {
        &self.inner.request
    }

    /// Returns the topic patterns this component may publish to.
    #[must_use]
    pub fn publish_grants(&self) -> &[TopicPattern] {
        &self.inner.publish
    }

    /// Returns the topic patterns this component may subscribe to.
    #[must_use]
    pub fn subscribe_grants(&self) -> &[TopicPattern] {
        &self.inner.subscribe
    }

    /// Returns the grants in manifest form, for an audit record or a status endpoint.
    /// Building the returned spec again yields an equivalent set.
    #[must_use]
    pub fn to_spec(&self) -> CapabilitySpec {
        let g = &*self.inner;
        let strings = |v: &[NamePattern]| v.iter().map(|p| p.as_str().to_owned()).collect();
        let topics = |v: &[TopicPattern]| v.iter().map(|p| p.as_str().to_owned()).collect();
        CapabilitySpec {
            files: g
                .files
                .iter()
                .map(|f| FileSpec {
                    path: f.path().to_path_buf(),
                    access: f.permission(),
                })
                .collect(),
            network: g.network.iter().map(ToString::to_string).collect(),
            send: strings(&g.send),
            request: strings(&g.request),
            publish: topics(&g.publish),
            subscribe: topics(&g.subscribe),
        }
    }
}

impl fmt::Debug for CapabilitySet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let g = &*self.inner;
        f.debug_struct("CapabilitySet")
            .field("files", &g.files)
            .field("network", &g.network)
            .field("send", &g.send)
            .field("request", &g.request)
            .field("publish", &g.publish)
            .field("subscribe", &g.subscribe)
            .finish()
    }
}

/// Builds a [`CapabilitySet`]; every permission is an explicit call.
///
/// Methods take the grant as text and never fail on their own: the first malformed grant is
/// kept and returned by [`build`](Self::build).
#[derive(Debug, Default)]
#[must_use = "a builder grants nothing until build() is called"]
pub struct CapabilitySetBuilder {
    grants: Grants,
    error: Option<CapabilityError>,
}

impl CapabilitySetBuilder {
    fn push<T>(
        mut self,
        parsed: Result<T, CapabilityError>,
        select: impl FnOnce(&mut Grants) -> &mut Vec<T>,
    ) -> Self {
        match parsed {
            Ok(value) => select(&mut self.grants).push(value),
            Err(e) => {
                self.error.get_or_insert(e);
            }
        }
        self
    }

    /// Grants `permission` on everything under the absolute directory `dir`.
    pub fn dir(self, dir: impl AsRef<Path>, permission: FilePermission) -> Self {
        let grant = FileGrant::new(dir.as_ref(), permission);
        self.push(grant, |g| &mut g.files)
    }

    /// Grants reading everything under the absolute directory `dir`.
    pub fn read_dir(self, dir: impl AsRef<Path>) -> Self {
        self.dir(dir, FilePermission::Read)
    }

    /// Grants reading and writing everything under the absolute directory `dir`.
    pub fn read_write_dir(self, dir: impl AsRef<Path>) -> Self {
        self.dir(dir, FilePermission::ReadWrite)
    }

    /// Grants outbound connections matching `grant`, written as in [`NetworkGrant::parse`].
    pub fn connect(self, grant: &str) -> Self {
        self.push(NetworkGrant::parse(grant), |g| &mut g.network)
    }

    /// Grants sending messages to components matching `pattern` (see [`NamePattern`]).
    pub fn send_to(self, pattern: &str) -> Self {
        self.push(NamePattern::parse(pattern), |g| &mut g.send)
    }

    /// Grants sending requests to components matching `pattern` (see [`NamePattern`]).
    pub fn request_from(self, pattern: &str) -> Self {
        self.push(NamePattern::parse(pattern), |g| &mut g.request)
    }

    /// Grants publishing to topics matching `pattern` (see [`TopicPattern`]).
    pub fn publish(self, pattern: &str) -> Self {
        self.push(TopicPattern::parse(pattern), |g| &mut g.publish)
    }

    /// Grants subscribing to subjects covered by `pattern` (see [`TopicPattern`]).
    pub fn subscribe(self, pattern: &str) -> Self {
        self.push(TopicPattern::parse(pattern), |g| &mut g.subscribe)
    }

    /// Takes the pending error, if any, so the caller can attribute it to the last call.
    pub(crate) fn take_error(&mut self) -> Option<CapabilityError> {
        self.error.take()
    }

    /// Finishes the set.
    ///
    /// # Errors
    ///
    /// Returns the first [`CapabilityError`] met by a builder call: relative or `..` file
    /// paths, malformed host, port, component or topic patterns.
    pub fn build(self) -> Result<CapabilitySet, CapabilityError> {
        match self.error {
            Some(e) => Err(e),
            None if self.grants.is_empty() => Ok(CapabilitySet::deny_all()),
            None => Ok(CapabilitySet {
                inner: Arc::new(self.grants),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deny_all_sets_share_one_allocation() {
        let a = CapabilitySet::deny_all();
        let b = CapabilitySet::default();
        let c = CapabilitySet::builder()
            .build()
            .unwrap_or_else(|e| unreachable!("{e}"));
        assert!(Arc::ptr_eq(&a.inner, &b.inner));
        assert!(Arc::ptr_eq(&a.inner, &c.inner));
        assert!(c.is_empty());
        let granted = CapabilitySet::builder()
            .send_to("logger")
            .build()
            .unwrap_or_else(|e| unreachable!("{e}"));
        assert!(!Arc::ptr_eq(&a.inner, &granted.inner));
        assert!(granted.check_send("logger").is_allowed());
        assert!(a.check_send("logger").is_denied());
    }

    #[test]
    fn an_empty_set_denies_everything() {
        let caps = CapabilitySet::deny_all();
        assert!(caps.is_empty());
        assert!(
            caps.check_file(Path::new("/"), FileAccess::Read)
                .is_denied()
        );
        assert!(caps.check_connect("localhost", 80).is_denied());
        assert!(caps.check_send("a").is_denied());
        assert!(caps.check_request("a").is_denied());
        assert!(caps.check_publish("a").is_denied());
        assert!(caps.check_subscribe("a").is_denied());
    }

    #[test]
    fn the_builder_reports_the_first_bad_grant() {
        let err = CapabilitySet::builder()
            .read_dir("/ok")
            .connect("bad host:80")
            .read_dir("relative")
            .build()
            .unwrap_err();
        assert!(matches!(err, CapabilityError::MalformedHostPattern { .. }));
    }

    #[test]
    fn clones_share_the_same_grants() {
        let caps = CapabilitySet::builder().publish("a.>").build().unwrap();
        let clone = caps.clone();
        assert!(Arc::ptr_eq(&caps.inner, &clone.inner));
    }

    #[test]
    fn to_spec_round_trips_to_an_equivalent_set() {
        let caps = CapabilitySet::builder()
            .read_dir("/data/in/")
            .read_write_dir("/data/out")
            .connect("API.example.com:443")
            .connect("[::1]:9000")
            .send_to("stage-*")
            .request_from("db")
            .publish("events.*")
            .subscribe("events.>")
            .build()
            .unwrap();
        let again = caps.to_spec().build("c").unwrap();
        assert_eq!(again.to_spec(), caps.to_spec());
        assert_eq!(
            caps.to_spec().network,
            vec!["api.example.com:443", "[::1]:9000"]
        );
    }

    #[test]
    fn preopens_list_every_file_grant_with_its_permission() {
        let caps = CapabilitySet::builder()
            .read_dir("/nonexistent-airssys/in")
            .read_write_dir("/nonexistent-airssys/out")
            .build()
            .unwrap();
        let preopens: Vec<_> = caps.preopens().collect();
        assert_eq!(
            preopens,
            vec![
                (Path::new("/nonexistent-airssys/in"), FilePermission::Read),
                (
                    Path::new("/nonexistent-airssys/out"),
                    FilePermission::ReadWrite
                ),
            ]
        );
    }
}
