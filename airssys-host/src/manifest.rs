//! The TOML manifest: which components to run, with what grants, limits, mailboxes and
//! supervision. [`Manifest::load`] collects every problem it finds, each naming its component
//! and field, instead of stopping at the first.

mod raw;
mod size;

use std::collections::HashSet;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use airssys_rt::{
    Backoff, MailboxConfig, MailboxPolicy, RestartIntensity, RestartPolicy, SupervisionStrategy,
};
use airssys_wasm::ComponentLimits;
use airssys_wasm_security::{CapabilitySet, CapabilitySpec};

pub use size::parse_size;

/// The environment variable that holds the admin bearer token when the manifest has none.
pub const ADMIN_TOKEN_ENV: &str = "AIRSSYS_ADMIN_TOKEN";

/// One thing wrong with a manifest: where (component and field) and what.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Problem {
    /// The component it belongs to, if any (`None` for `[host]` and file-level problems).
    pub component: Option<String>,
    /// The field, as a dotted path (`limits.memory`, `capabilities.network[1]`, `wasm`).
    pub field: String,
    /// What is wrong.
    pub message: String,
}

impl Problem {
    pub(crate) fn new(
        component: Option<&str>,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            component: component.map(str::to_owned),
            field: field.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.component, self.field.is_empty()) {
            (Some(c), false) => write!(f, "component {c:?}: {}: {}", self.field, self.message),
            (Some(c), true) => write!(f, "component {c:?}: {}", self.message),
            (None, false) => write!(f, "{}: {}", self.field, self.message),
            (None, true) => f.write_str(&self.message),
        }
    }
}

/// A manifest that could not be used, with every problem found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{} has {} problem(s): {}", path.display(), problems.len(), problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
#[non_exhaustive]
pub struct ManifestError {
    /// The manifest file.
    pub path: PathBuf,
    /// What is wrong, in file order.
    pub problems: Vec<Problem>,
}

/// The `[host]` section.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct HostConfig {
    /// Where ingress, `/metrics`, `/health` and admin listen (default `127.0.0.1:8080`).
    pub listen: SocketAddr,
    /// The admin bearer token (from the manifest, else [`ADMIN_TOKEN_ENV`]); admin endpoints
    /// are refused when there is none.
    pub admin_token: Option<String>,
    /// The audit log file (JSON Lines, hash-chained); none = audit records go to `tracing` only.
    pub audit_log: Option<PathBuf>,
    /// How long an ingress request waits for a component's reply (default 5 s).
    pub request_timeout: Duration,
    /// How long a graceful shutdown may drain mailboxes (default 10 s).
    pub drain_timeout: Duration,
    /// Component instances alive at once (sizes the pooling allocator; default 1 000).
    pub max_instances: u32,
    /// Where compiled components are cached (`.cwasm`), if anywhere.
    pub cache_dir: Option<PathBuf>,
    /// The NATS server(s) of the cluster to join (`nats://127.0.0.1:4222`), if any.
    pub cluster: Option<String>,
    /// This node's id in the cluster (default: generated).
    pub node_id: Option<String>,
}

impl Default for HostConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            admin_token: None,
            audit_log: None,
            request_timeout: Duration::from_secs(5),
            drain_timeout: Duration::from_secs(10),
            max_instances: 1_000,
            cache_dir: None,
            cluster: None,
            node_id: None,
        }
    }
}

/// One `[[supervisor]]` (or the implicit one of a component that names none).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SupervisorConfig {
    /// Its name (unique among supervisors).
    pub name: String,
    /// Which children restart when one fails.
    pub strategy: SupervisionStrategy,
    /// Restarts allowed within a window before it gives up.
    pub intensity: RestartIntensity,
    /// How often children are health-checked, if at all.
    pub health_interval: Option<Duration>,
    /// Its components, in start order.
    pub components: Vec<String>,
}

/// One `[[component]]`, validated.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ComponentConfig {
    /// Its id: its name in the system and in ingress URLs.
    pub id: String,
    /// The component file, resolved against the manifest's directory.
    pub wasm: PathBuf,
    /// The supervisor it runs under.
    pub supervisor: String,
    /// When it is restarted.
    pub restart: RestartPolicy,
    /// How long to wait before a restart.
    pub backoff: Backoff,
    /// Its mailbox.
    pub mailbox: MailboxConfig,
    /// Its limits.
    pub limits: ComponentLimits,
    /// What it may touch.
    pub capabilities: CapabilitySet,
    /// The bytes handed to its `init`.
    pub config: Vec<u8>,
    /// Topics it subscribes to at start.
    pub subscribe: Vec<String>,
}

/// A validated manifest.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Manifest {
    /// The file it was read from.
    pub path: PathBuf,
    /// The `[host]` section.
    pub host: HostConfig,
    /// Supervisors in start order (explicit ones and one per component that names none, in
    /// the order they first appear).
    pub supervisors: Vec<SupervisorConfig>,
    /// Components in manifest order.
    pub components: Vec<ComponentConfig>,
}

impl Manifest {
    /// Reads and validates the manifest at `path`. `${VAR}` in paths is replaced with the
    /// environment variable `VAR` (`${VAR:-default}` falls back to `default`); relative paths are relative to the manifest's directory.
    /// The component files are checked to exist, not loaded (see
    /// [`check`](crate::check::check_manifest) for the full check).
    ///
    /// # Errors
    ///
    /// [`ManifestError`] listing every problem found.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, ManifestError> {
        let path = path.as_ref().to_path_buf();
        let fail = |problems| ManifestError {
            path: path.clone(),
            problems,
        };
        let text = std::fs::read_to_string(&path).map_err(|e| {
            fail(vec![Problem::new(
                None,
                "",
                format!("cannot read the manifest: {e}"),
            )])
        })?;
        let base = path
            .parent()
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
        Self::parse(&text, &base, &path).map_err(fail)
    }

    /// Validates manifest `text`; relative paths resolve against `base`.
    ///
    /// # Errors
    ///
    /// Every problem found.
    pub fn parse(text: &str, base: &Path, path: &Path) -> Result<Self, Vec<Problem>> {
        let (manifest, problems) = Self::parse_lenient(text, base, path);
        if problems.is_empty() {
            Ok(manifest)
        } else {
            Err(problems)
        }
    }

    /// As [`parse`](Self::parse), but returns what could be validated (the components without
    /// problems of their own) together with every problem, for `airssys check`.
    pub(crate) fn parse_lenient(text: &str, base: &Path, path: &Path) -> (Self, Vec<Problem>) {
        let mut problems = Vec::new();
        let raw = raw::RawManifest::parse(text, &mut problems);
        let host = resolve_host(&raw.host, base, &mut problems);

        let mut supervisors: Vec<SupervisorConfig> = Vec::new();
        for (i, s) in raw.supervisors.iter().enumerate() {
            let field = format!("supervisor[{i}]");
            if supervisors.iter().any(|x| x.name == s.name) {
                problems.push(Problem::new(
                    None,
                    format!("{field}.name"),
                    format!("duplicate supervisor name {:?}", s.name),
                ));
                continue;
            }
            supervisors.push(SupervisorConfig {
                name: s.name.clone(),
                strategy: s.strategy.into(),
                intensity: RestartIntensity::new(s.max_restarts, s.within),
                health_interval: s.health_interval,
                components: Vec::new(),
            });
        }
        let explicit: HashSet<String> = supervisors.iter().map(|s| s.name.clone()).collect();

        let mut components = Vec::new();
        let mut ids = HashSet::new();
        for c in &raw.components {
            let id = c.id.as_str();
            if !ids.insert(c.id.clone()) {
                problems.push(Problem::new(Some(id), "id", "duplicate component id"));
                continue;
            }
            let before = problems.len();
            let wasm = resolve_path(&c.wasm, base, Some(id), "wasm", &mut problems);
            if let Some(w) = &wasm
                && !w.is_file()
            {
                problems.push(Problem::new(
                    Some(id),
                    "wasm",
                    format!("file not found: {}", w.display()),
                ));
            }
            let supervisor = match &c.supervisor {
                Some(name) if !explicit.contains(name) => {
                    problems.push(Problem::new(
                        Some(id),
                        "supervisor",
                        format!("no [[supervisor]] named {name:?}"),
                    ));
                    name.clone()
                }
                Some(name) => {
                    if c.max_restarts.is_some() || c.within.is_some() {
                        problems.push(Problem::new(
                            Some(id),
                            "max_restarts",
                            format!(
                                "max_restarts/within belong to the supervisor {name:?} when the \
                                 component names one"
                            ),
                        ));
                    }
                    name.clone()
                }
                None => {
                    if supervisors.iter().any(|s| s.name == c.id) {
                        problems.push(Problem::new(
                            Some(id),
                            "supervisor",
                            "a [[supervisor]] has this component's id as its name: name it \
                             explicitly or rename one",
                        ));
                    } else {
                        let default = RestartIntensity::default();
                        supervisors.push(SupervisorConfig {
                            name: c.id.clone(),
                            strategy: SupervisionStrategy::OneForOne,
                            intensity: RestartIntensity::new(
                                c.max_restarts.unwrap_or(default.max_restarts),
                                c.within.unwrap_or(default.within),
                            ),
                            health_interval: c.health_interval,
                            components: Vec::new(),
                        });
                    }
                    c.id.clone()
                }
            };
            let capabilities = match CapabilitySpec::from_toml(id, &c.capabilities) {
                Ok(spec) => match spec.build(id) {
                    Ok(set) => Some(set),
                    Err(e) => {
                        problems.push(capability_problem(id, &e));
                        None
                    }
                },
                Err(e) => {
                    problems.push(capability_problem(id, &e));
                    None
                }
            };
            for (i, topic) in c.subscribe.iter().enumerate() {
                if let Some(caps) = &capabilities
                    && let Some(reason) = caps.check_subscribe(topic).reason()
                {
                    problems.push(Problem::new(
                        Some(id),
                        format!("subscribe[{i}]"),
                        format!("{topic:?} is not covered by capabilities.subscribe: {reason}"),
                    ));
                }
            }
            let limits = c.limits.to_limits(id, &mut problems);
            let mailbox = match c.mailbox.capacity {
                Some(0) => {
                    problems.push(Problem::new(
                        Some(id),
                        "mailbox.capacity",
                        "must be at least 1 (leave it out for the default of 1024)",
                    ));
                    MailboxConfig::default()
                }
                Some(n) => MailboxConfig::bounded(n),
                None => MailboxConfig::default(),
            }
            .with_policy(c.mailbox.policy.map_or(MailboxPolicy::Block, Into::into));

            if problems.len() > before {
                continue;
            }
            if let (Some(wasm), Some(capabilities)) = (wasm, capabilities) {
                if let Some(s) = supervisors.iter_mut().find(|s| s.name == supervisor) {
                    s.components.push(c.id.clone());
                }
                components.push(ComponentConfig {
                    id: c.id.clone(),
                    wasm,
                    supervisor,
                    restart: c.restart.into(),
                    backoff: c.backoff.to_backoff(),
                    mailbox,
                    limits,
                    capabilities,
                    config: c.config.clone().into_bytes(),
                    subscribe: c.subscribe.clone(),
                });
            }
        }
        for (i, s) in supervisors.iter().enumerate() {
            if explicit.contains(&s.name)
                && s.components.is_empty()
                && !raw
                    .components
                    .iter()
                    .any(|c| c.supervisor.as_ref() == Some(&s.name))
            {
                problems.push(Problem::new(
                    None,
                    format!("supervisor[{i}]"),
                    format!("supervisor {:?} has no components", s.name),
                ));
            }
        }
        if raw.components.is_empty() && problems.is_empty() {
            problems.push(Problem::new(
                None,
                "component",
                "the manifest lists no [[component]]",
            ));
        }
        // Start order: a supervisor starts where its first component appears.
        let first = |s: &SupervisorConfig| {
            s.components
                .first()
                .and_then(|id| {
                    components
                        .iter()
                        .position(|c: &ComponentConfig| &c.id == id)
                })
                .unwrap_or(usize::MAX)
        };
        supervisors.sort_by_key(|s| first(s));
        let manifest = Self {
            path: path.to_path_buf(),
            host: host.unwrap_or_default(),
            supervisors,
            components,
        };
        (manifest, problems)
    }

    /// The component `id`.
    #[must_use]
    pub fn component(&self, id: &str) -> Option<&ComponentConfig> {
        self.components.iter().find(|c| c.id == id)
    }
}

fn capability_problem(id: &str, e: &airssys_wasm_security::ManifestError) -> Problem {
    use airssys_wasm_security::ManifestError as E;
    let mut message = String::new();
    let mut source: Option<&dyn std::error::Error> = std::error::Error::source(e);
    while let Some(s) = source {
        if !message.is_empty() {
            message.push_str(": ");
        }
        message.push_str(s.to_string().trim());
        source = s.source();
    }
    let field = match e {
        E::InvalidEntry { kind, index, .. } => format!("capabilities.{kind}[{index}]"),
        E::UnknownKind { kind, .. } => {
            message = "unknown capability kind (expected one of files, network, send, request, \
                       publish, subscribe)"
                .to_owned();
            format!("capabilities.{kind}")
        }
        _ => "capabilities".to_owned(),
    };
    if message.is_empty() {
        message = e.to_string();
    }
    Problem::new(Some(id), field, message)
}

fn resolve_host(
    raw: &raw::RawHost,
    base: &Path,
    problems: &mut Vec<Problem>,
) -> Option<HostConfig> {
    let listen = match raw.listen.parse::<SocketAddr>() {
        Ok(a) => Some(a),
        Err(_) => {
            problems.push(Problem::new(
                None,
                "host.listen",
                format!(
                    "{:?} is not an address with a port (for example \"127.0.0.1:8080\")",
                    raw.listen
                ),
            ));
            None
        }
    };
    let audit_log = raw
        .audit_log
        .as_ref()
        .and_then(|p| resolve_path(p, base, None, "host.audit_log", problems));
    let cache_dir = raw
        .cache_dir
        .as_ref()
        .and_then(|p| resolve_path(p, base, None, "host.cache_dir", problems));
    let admin_token = raw
        .admin_token
        .clone()
        .or_else(|| std::env::var(ADMIN_TOKEN_ENV).ok())
        .filter(|t| !t.is_empty());
    if raw.max_instances == 0 {
        problems.push(Problem::new(
            None,
            "host.max_instances",
            "must be at least 1",
        ));
    }
    Some(HostConfig {
        listen: listen?,
        admin_token,
        audit_log,
        request_timeout: raw.request_timeout,
        drain_timeout: raw.drain_timeout,
        max_instances: raw.max_instances,
        cache_dir,
        cluster: raw.cluster.clone(),
        node_id: raw.node_id.clone(),
    })
}

/// Expands `${VAR}` and makes `text` absolute against `base`.
pub(crate) fn resolve_path(
    text: &str,
    base: &Path,
    component: Option<&str>,
    field: &str,
    problems: &mut Vec<Problem>,
) -> Option<PathBuf> {
    match expand_env(text) {
        Ok(expanded) => {
            let p = PathBuf::from(expanded);
            Some(if p.is_absolute() { p } else { base.join(p) })
        }
        Err(message) => {
            problems.push(Problem::new(component, field, message));
            None
        }
    }
}

/// Replaces every `${VAR}` in `text` with the value of the environment variable `VAR`, and
/// every `${VAR:-default}` with that value or, when it is unset or empty, `default`.
///
/// # Errors
///
/// A message naming the variable that is not set, or an unclosed `${`.
pub fn expand_env(text: &str) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            return Err(format!("{text:?}: `${{` without a closing `}}`"));
        };
        let inner = &after[..end];
        let (name, default) = match inner.split_once(":-") {
            Some((n, d)) => (n, Some(d)),
            None => (inner, None),
        };
        match (std::env::var(name), default) {
            (Ok(v), _) if !v.is_empty() => out.push_str(&v),
            (_, Some(d)) => out.push_str(d),
            (_, None) => {
                return Err(format!(
                    "{text:?} uses the environment variable {name}, which is not set"
                ));
            }
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}
