//! The manifest as written, before validation: serde shapes with unknown fields rejected,
//! read section by section so that one bad component does not hide the problems of another.

use std::time::Duration;

use airssys_rt::{Backoff, MailboxPolicy, RestartPolicy, SupervisionStrategy};
use airssys_wasm::ComponentLimits;
use serde::Deserialize;

use super::Problem;
use super::size::serde_size;

const TOP_LEVEL: [&str; 3] = ["host", "supervisor", "component"];

#[derive(Debug, Default)]
pub(crate) struct RawManifest {
    pub(crate) host: RawHost,
    pub(crate) supervisors: Vec<RawSupervisor>,
    pub(crate) components: Vec<RawComponent>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawHost {
    #[serde(default = "default_listen")]
    pub(crate) listen: String,
    pub(crate) admin_token: Option<String>,
    pub(crate) audit_log: Option<String>,
    #[serde(default = "default_request_timeout", with = "humantime_serde")]
    pub(crate) request_timeout: Duration,
    #[serde(default = "default_drain", with = "humantime_serde")]
    pub(crate) drain_timeout: Duration,
    #[serde(default = "default_max_instances")]
    pub(crate) max_instances: u32,
    pub(crate) cache_dir: Option<String>,
    pub(crate) cluster: Option<String>,
    pub(crate) node_id: Option<String>,
}

impl Default for RawHost {
    fn default() -> Self {
        Self {
            listen: default_listen(),
            admin_token: None,
            audit_log: None,
            request_timeout: default_request_timeout(),
            drain_timeout: default_drain(),
            max_instances: default_max_instances(),
            cache_dir: None,
            cluster: None,
            node_id: None,
        }
    }
}

fn default_listen() -> String {
    "127.0.0.1:8080".to_owned()
}
fn default_request_timeout() -> Duration {
    Duration::from_secs(5)
}
fn default_drain() -> Duration {
    Duration::from_secs(10)
}
fn default_max_instances() -> u32 {
    1_000
}

#[derive(Debug, Clone, Copy, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Strategy {
    #[default]
    OneForOne,
    OneForAll,
    RestForOne,
}

impl From<Strategy> for SupervisionStrategy {
    fn from(s: Strategy) -> Self {
        match s {
            Strategy::OneForOne => Self::OneForOne,
            Strategy::OneForAll => Self::OneForAll,
            Strategy::RestForOne => Self::RestForOne,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSupervisor {
    pub(crate) name: String,
    #[serde(default)]
    pub(crate) strategy: Strategy,
    #[serde(default = "default_max_restarts")]
    pub(crate) max_restarts: u32,
    #[serde(default = "default_within", with = "humantime_serde")]
    pub(crate) within: Duration,
    #[serde(default, with = "humantime_serde")]
    pub(crate) health_interval: Option<Duration>,
}

fn default_max_restarts() -> u32 {
    3
}
fn default_within() -> Duration {
    Duration::from_secs(5)
}

#[derive(Debug, Clone, Copy, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Restart {
    #[default]
    Permanent,
    Transient,
    Temporary,
}

impl From<Restart> for RestartPolicy {
    fn from(r: Restart) -> Self {
        match r {
            Restart::Permanent => Self::Permanent,
            Restart::Transient => Self::Transient,
            Restart::Temporary => Self::Temporary,
        }
    }
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Policy {
    Block,
    DropNewest,
    Reject,
}

impl From<Policy> for MailboxPolicy {
    fn from(p: Policy) -> Self {
        match p {
            Policy::Block => Self::Block,
            Policy::DropNewest => Self::DropNewest,
            Policy::Reject => Self::Reject,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawMailbox {
    pub(crate) capacity: Option<usize>,
    pub(crate) policy: Option<Policy>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub(crate) enum RawBackoff {
    #[default]
    Immediate,
    Delayed {
        #[serde(with = "humantime_serde")]
        delay: Duration,
    },
    Exponential {
        #[serde(default = "default_initial", with = "humantime_serde")]
        initial: Duration,
        #[serde(default = "default_factor")]
        factor: u32,
        #[serde(default = "default_max", with = "humantime_serde")]
        max: Duration,
        #[serde(default)]
        jitter: f64,
    },
}

fn default_initial() -> Duration {
    Duration::from_secs(1)
}
fn default_factor() -> u32 {
    2
}
fn default_max() -> Duration {
    Duration::from_secs(30)
}

impl RawBackoff {
    pub(crate) fn to_backoff(&self) -> Backoff {
        match self {
            Self::Immediate => Backoff::Immediate,
            Self::Delayed { delay } => Backoff::Delayed(*delay),
            Self::Exponential {
                initial,
                factor,
                max,
                jitter,
            } => Backoff::Exponential {
                initial: *initial,
                factor: (*factor).max(1),
                max: *max,
                jitter: 0.0,
            }
            .with_jitter(*jitter),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawLimits {
    #[serde(default, deserialize_with = "serde_size::deserialize")]
    pub(crate) memory: Option<usize>,
    pub(crate) table_elements: Option<usize>,
    pub(crate) instances: Option<usize>,
    #[serde(default, with = "humantime_serde")]
    pub(crate) deadline: Option<Duration>,
    pub(crate) fuel: Option<u64>,
}

impl RawLimits {
    pub(crate) fn to_limits(&self, id: &str, problems: &mut Vec<Problem>) -> ComponentLimits {
        let mut l = ComponentLimits::default();
        if let Some(m) = self.memory {
            if m < (64 << 10) {
                problems.push(Problem::new(
                    Some(id),
                    "limits.memory",
                    "must be at least 64KiB (one WebAssembly page)",
                ));
            }
            l = l.with_memory_bytes(m);
        }
        if let Some(t) = self.table_elements {
            l = l.with_table_elements(t);
        }
        if let Some(i) = self.instances {
            if i < 3 {
                problems.push(Problem::new(
                    Some(id),
                    "limits.instances",
                    "must be at least 3 (a Rust wasm32-wasip2 component uses 3 core instances)",
                ));
            }
            l.instances = i;
        }
        if let Some(d) = self.deadline {
            if d.is_zero() {
                problems.push(Problem::new(Some(id), "limits.deadline", "must be above 0"));
            }
            l = l.with_deadline(d);
        }
        if let Some(f) = self.fuel {
            l = l.with_fuel(f);
        }
        l
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawComponent {
    pub(crate) id: String,
    pub(crate) wasm: String,
    pub(crate) supervisor: Option<String>,
    #[serde(default)]
    pub(crate) restart: Restart,
    #[serde(default)]
    pub(crate) backoff: RawBackoff,
    pub(crate) max_restarts: Option<u32>,
    #[serde(default, with = "humantime_serde")]
    pub(crate) within: Option<Duration>,
    #[serde(default, with = "humantime_serde")]
    pub(crate) health_interval: Option<Duration>,
    #[serde(default)]
    pub(crate) mailbox: RawMailbox,
    #[serde(default)]
    pub(crate) limits: RawLimits,
    #[serde(default)]
    pub(crate) config: String,
    #[serde(default)]
    pub(crate) subscribe: Vec<String>,
    /// Kept as TOML text for the security crate's parser, which names the bad entry.
    #[serde(skip)]
    pub(crate) capabilities: String,
}

/// A field path from a serde message such as "unknown field `foo`" or "... for key `a.b`".
fn field_of(message: &str, section: &str) -> String {
    if let Some(rest) = message.split("for key `").nth(1)
        && let Some(key) = rest.split('`').next()
    {
        return format!("{section}.{key}")
            .trim_start_matches('.')
            .to_owned();
    }
    if let Some(rest) = message.split("unknown field `").nth(1)
        && let Some(key) = rest.split('`').next()
    {
        return format!("{section}.{key}")
            .trim_start_matches('.')
            .to_owned();
    }
    if let Some(rest) = message.split("missing field `").nth(1)
        && let Some(key) = rest.split('`').next()
    {
        return format!("{section}.{key}")
            .trim_start_matches('.')
            .to_owned();
    }
    section.to_owned()
}

fn clean(e: &toml::de::Error) -> String {
    e.message().trim().to_owned()
}

impl RawManifest {
    pub(crate) fn parse(text: &str, problems: &mut Vec<Problem>) -> Self {
        let table: toml::Table = match toml::from_str(text) {
            Ok(t) => t,
            Err(e) => {
                let at = e
                    .span()
                    .map(|s| {
                        let line = text[..s.start.min(text.len())].lines().count().max(1);
                        format!(" (line {line})")
                    })
                    .unwrap_or_default();
                problems.push(Problem::new(
                    None,
                    "",
                    format!("not valid TOML{at}: {}", clean(&e)),
                ));
                return Self::default();
            }
        };
        let mut raw = Self::default();
        for key in table.keys() {
            if !TOP_LEVEL.contains(&key.as_str()) {
                problems.push(Problem::new(
                    None,
                    key.clone(),
                    "unknown section (expected [host], [[supervisor]] or [[component]])",
                ));
            }
        }
        if let Some(host) = table.get("host") {
            match host.clone().try_into::<RawHost>() {
                Ok(h) => raw.host = h,
                Err(e) => {
                    let m = clean(&e);
                    problems.push(Problem::new(None, field_of(&m, "host"), m));
                }
            }
        }
        for (i, s) in array_of_tables(&table, "supervisor", problems)
            .into_iter()
            .enumerate()
        {
            match s.try_into::<RawSupervisor>() {
                Ok(s) => raw.supervisors.push(s),
                Err(e) => {
                    let m = clean(&e);
                    let section = format!("supervisor[{i}]");
                    problems.push(Problem::new(None, field_of(&m, &section), m));
                }
            }
        }
        for (i, c) in array_of_tables(&table, "component", problems)
            .into_iter()
            .enumerate()
        {
            let id = c.get("id").and_then(toml::Value::as_str).map(str::to_owned);
            let label = id.clone().unwrap_or_else(|| format!("#{}", i + 1));
            if id.as_deref().is_some_and(|s| s.trim().is_empty()) {
                problems.push(Problem::new(Some(&label), "id", "must not be empty"));
                continue;
            }
            let mut table = c;
            let caps = match table.remove("capabilities") {
                None => Ok(String::new()),
                Some(toml::Value::Table(t)) => toml::to_string(&t).map_err(|e| e.to_string()),
                Some(_) => Err("must be a table ([component.capabilities])".to_owned()),
            };
            let caps = match caps {
                Ok(c) => c,
                Err(m) => {
                    problems.push(Problem::new(Some(&label), "capabilities", m));
                    continue;
                }
            };
            match toml::Value::Table(table).try_into::<RawComponent>() {
                Ok(mut rc) => {
                    rc.capabilities = caps;
                    raw.components.push(rc);
                }
                Err(e) => {
                    let m = clean(&e);
                    problems.push(Problem::new(Some(&label), field_of(&m, ""), m));
                }
            }
        }
        raw
    }
}

fn array_of_tables(
    table: &toml::Table,
    key: &str,
    problems: &mut Vec<Problem>,
) -> Vec<toml::Table> {
    match table.get(key) {
        None => Vec::new(),
        Some(toml::Value::Array(items)) => {
            let mut out = Vec::new();
            for (i, item) in items.iter().enumerate() {
                match item {
                    toml::Value::Table(t) => out.push(t.clone()),
                    _ => problems.push(Problem::new(
                        None,
                        format!("{key}[{i}]"),
                        format!("must be a table ([[{key}]])"),
                    )),
                }
            }
            out
        }
        Some(_) => {
            problems.push(Problem::new(
                None,
                key,
                format!("must be written as [[{key}]] (an array of tables)"),
            ));
            Vec::new()
        }
    }
}
