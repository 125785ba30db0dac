//! `cargo xtask layer-check`: enforces the crate layer table of SPEC §1 on `cargo metadata`.
//!
//! Two kinds of rules:
//! - internal edges (workspace member → workspace member) must be listed in the crate's
//!   `may_depend_on`; normal and build dependencies always, dev-dependencies unless the edge is
//!   listed in [`DEV_ALLOW`];
//! - forbidden externals are searched transitively over the resolved graph, following only
//!   normal and build edges, and reported with the full path.
//!
//! Limitation: `cargo metadata` resolves features for the whole workspace at once, so a feature
//! that one member enables on a shared dependency shows up in every member's tree. The check errs
//! on the strict side; a false alarm means the feature has to be enabled elsewhere.

use std::collections::{HashMap, HashSet, VecDeque};
use std::path::Path;

use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::util;

/// A dependency that a crate must never have, directly or transitively.
struct Forbidden {
    /// Package name; a trailing `*` matches any name with that prefix (`wasmtime*`).
    pattern: &'static str,
    /// Allowed when reached only through an optional dependency the crate declares itself
    /// (the `nats` feature of `airssys-rt` pulls `async-nats` this way).
    optional_ok: bool,
}

/// One row of the layer table.
struct Layer {
    krate: &'static str,
    may_depend_on: &'static [&'static str],
    never: &'static [Forbidden],
}

const fn never(pattern: &'static str) -> Forbidden {
    Forbidden {
        pattern,
        optional_ok: false,
    }
}

const fn never_unless_optional(pattern: &'static str) -> Forbidden {
    Forbidden {
        pattern,
        optional_ok: true,
    }
}

const RT: &str = "airssys-rt";
const SECURITY: &str = "airssys-wasm-security";
const METRICS: &str = "airssys-wasm-metrics";
const WASM: &str = "airssys-wasm";
const HOST: &str = "airssys-host";
const ALL_LIBS: &[&str] = &[RT, SECURITY, METRICS, WASM, HOST];

/// The layer table (SPEC §1). Every workspace member must have a row.
const LAYERS: &[Layer] = &[
    Layer {
        krate: RT,
        may_depend_on: &[],
        never: &[
            never("wasmtime*"),
            never("prometheus-client"),
            never("axum"),
            never("hyper"),
            never("clap"),
            // No NATS in the tree unless the optional `nats` feature is on.
            never_unless_optional("async-nats"),
            never_unless_optional("nats*"),
        ],
    },
    Layer {
        krate: SECURITY,
        may_depend_on: &[],
        never: &[
            never("wasmtime*"),
            never("tokio"),
            never("prometheus-client"),
        ],
    },
    Layer {
        krate: METRICS,
        may_depend_on: &[RT],
        never: &[never("wasmtime*"), never("clap")],
    },
    Layer {
        krate: WASM,
        may_depend_on: &[RT, SECURITY, METRICS],
        never: &[never("clap"), never("axum")],
    },
    Layer {
        krate: HOST,
        may_depend_on: &[RT, SECURITY, METRICS, WASM],
        never: &[],
    },
    Layer {
        krate: "airssys-benches",
        may_depend_on: ALL_LIBS,
        never: &[],
    },
    Layer {
        krate: "airssys-examples",
        may_depend_on: ALL_LIBS,
        never: &[],
    },
    Layer {
        krate: "xtask",
        may_depend_on: &[],
        never: &[],
    },
];

/// Dev-dependency edges `(from, to)` between workspace members that may cross layers (for
/// example a lower crate testing itself against a higher one). Empty on purpose: add an edge
/// here only with a comment saying why the test cannot live in the higher crate.
const DEV_ALLOW: &[(&str, &str)] = &[];

/// The outcome of a check.
#[derive(Debug)]
pub(crate) struct Report {
    /// Number of workspace members checked.
    pub(crate) crates: usize,
    /// Number of dependency edges examined.
    pub(crate) edges: usize,
    /// One line per violation: the edge or path and the rule it breaks.
    pub(crate) violations: Vec<String>,
}

/// Entry point: `cargo xtask layer-check [--metadata FILE]`.
pub(crate) fn run(args: &[&str]) -> Result<()> {
    let mut file = None;
    let mut it = args.iter().copied();
    while let Some(arg) = it.next() {
        match arg {
            "--metadata" => file = Some(util::flag_value(arg, &mut it)?),
            other => bail!("layer-check: unknown argument `{other}`"),
        }
    }
    let metadata = match file {
        Some(path) => load(Path::new(path))?,
        None => util::metadata(false)?,
    };
    let report = check(&metadata)?;
    for line in &report.violations {
        println!("{line}");
    }
    if !report.violations.is_empty() {
        bail!(
            "layer-check: {} violation(s) in {} crates",
            report.violations.len(),
            report.crates
        );
    }
    println!(
        "layer-check: {} crates, {} edges checked, no violations",
        report.crates, report.edges
    );
    Ok(())
}

/// Reads a `cargo metadata` JSON file.
pub(crate) fn load(path: &Path) -> Result<Value> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}

/// The kind of a dependency edge.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Normal,
    Build,
    Dev,
}

impl Kind {
    fn parse(v: &Value) -> Self {
        match v.as_str() {
            Some("dev") => Self::Dev,
            Some("build") => Self::Build,
            _ => Self::Normal,
        }
    }

    fn label(self) -> &'static str {
        match self {
            Self::Normal => "normal",
            Self::Build => "build",
            Self::Dev => "dev",
        }
    }

    fn followed(self) -> bool {
        self != Self::Dev
    }
}

/// The resolved dependency graph, by package id.
struct Graph<'a> {
    names: HashMap<&'a str, &'a str>,
    members: Vec<&'a str>,
    deps: HashMap<&'a str, Vec<(&'a str, Vec<Kind>)>>,
    /// Per package id: names of its direct normal/build dependencies that are all `optional`.
    optional: HashMap<&'a str, HashSet<&'a str>>,
}

fn str_field<'a>(v: &'a Value, key: &str) -> Result<&'a str> {
    v.get(key)
        .and_then(Value::as_str)
        .with_context(|| format!("metadata: missing string field `{key}`"))
}

fn array_field<'a>(v: &'a Value, key: &str) -> Result<&'a Vec<Value>> {
    v.get(key)
        .and_then(Value::as_array)
        .with_context(|| format!("metadata: missing array field `{key}`"))
}

impl<'a> Graph<'a> {
    fn parse(metadata: &'a Value) -> Result<Self> {
        let mut names = HashMap::new();
        let mut optional = HashMap::new();
        for pkg in array_field(metadata, "packages")? {
            let id = str_field(pkg, "id")?;
            names.insert(id, str_field(pkg, "name")?);
            let mut required = HashSet::new();
            let mut optional_deps = HashSet::new();
            for dep in array_field(pkg, "dependencies")? {
                let kind = Kind::parse(dep.get("kind").unwrap_or(&Value::Null));
                if !kind.followed() {
                    continue;
                }
                let name = str_field(dep, "name")?;
                if dep.get("optional").and_then(Value::as_bool) == Some(true) {
                    optional_deps.insert(name);
                } else {
                    required.insert(name);
                }
            }
            optional_deps.retain(|n| !required.contains(n));
            optional.insert(id, optional_deps);
        }
        let members = array_field(metadata, "workspace_members")?
            .iter()
            .map(|m| {
                m.as_str()
                    .context("metadata: workspace member is not a string")
            })
            .collect::<Result<Vec<_>>>()?;
        let resolve = metadata
            .get("resolve")
            .filter(|r| !r.is_null())
            .context("metadata has no `resolve` graph (was it made with --no-deps?)")?;
        let mut deps = HashMap::new();
        for node in array_field(resolve, "nodes")? {
            let mut edges = Vec::new();
            for dep in array_field(node, "deps")? {
                let kinds = array_field(dep, "dep_kinds")?
                    .iter()
                    .map(|k| Kind::parse(k.get("kind").unwrap_or(&Value::Null)))
                    .collect();
                edges.push((str_field(dep, "pkg")?, kinds));
            }
            deps.insert(str_field(node, "id")?, edges);
        }
        Ok(Self {
            names,
            members,
            deps,
            optional,
        })
    }

    fn name(&self, id: &'a str) -> &'a str {
        self.names.get(id).copied().unwrap_or(id)
    }

    fn edges(&self, id: &str) -> &[(&'a str, Vec<Kind>)] {
        self.deps.get(id).map_or(&[], Vec::as_slice)
    }
}

fn matches(pattern: &str, name: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => name.starts_with(prefix),
        None => name == pattern,
    }
}

/// Checks a parsed `cargo metadata` document against the layer table.
pub(crate) fn check(metadata: &Value) -> Result<Report> {
    let graph = Graph::parse(metadata)?;
    let members: HashSet<&str> = graph.members.iter().copied().collect();
    let mut report = Report {
        crates: graph.members.len(),
        edges: 0,
        violations: Vec::new(),
    };
    for &member in &graph.members {
        let name = graph.name(member);
        let Some(layer) = LAYERS.iter().find(|l| l.krate == name) else {
            report.violations.push(format!(
                "{name}: workspace member not in the layer table \
                 (add it to LAYERS in xtask/src/layer_check.rs)"
            ));
            continue;
        };
        check_internal(&graph, &members, member, layer, &mut report);
        let strict: Vec<&Forbidden> = layer.never.iter().filter(|f| !f.optional_ok).collect();
        let lenient: Vec<&Forbidden> = layer.never.iter().filter(|f| f.optional_ok).collect();
        walk(&graph, member, layer, &strict, false, &mut report);
        walk(&graph, member, layer, &lenient, true, &mut report);
    }
    Ok(report)
}

fn allowed_text(layer: &Layer) -> String {
    if layer.may_depend_on.is_empty() {
        format!("{} may depend on no airssys crate", layer.krate)
    } else {
        format!(
            "{} may depend only on {}",
            layer.krate,
            layer.may_depend_on.join(", ")
        )
    }
}

/// Direct edges from `member` to other workspace members.
fn check_internal(
    graph: &Graph<'_>,
    members: &HashSet<&str>,
    member: &str,
    layer: &Layer,
    report: &mut Report,
) {
    for (dep, kinds) in graph.edges(member) {
        if !members.contains(dep) {
            continue;
        }
        report.edges += 1;
        let dep_name = graph.name(dep);
        if layer.may_depend_on.contains(&dep_name) {
            continue;
        }
        let mut labels: Vec<&str> = kinds
            .iter()
            .filter(|k| k.followed())
            .map(|k| k.label())
            .collect();
        labels.dedup();
        if !labels.is_empty() {
            report.violations.push(format!(
                "{} -> {dep_name} ({}): {}",
                layer.krate,
                labels.join(", "),
                allowed_text(layer)
            ));
        } else if !DEV_ALLOW.contains(&(layer.krate, dep_name)) {
            report.violations.push(format!(
                "{} -> {dep_name} (dev): {} (dev-dependencies may cross layers only when \
                 listed in DEV_ALLOW)",
                layer.krate,
                allowed_text(layer)
            ));
        }
    }
}

/// Breadth-first search from `root` over normal/build edges for packages matching `rules`;
/// reports the shortest path to each hit and does not look past a hit. With `skip_optional`,
/// the root's own optional dependencies are not followed.
fn walk(
    graph: &Graph<'_>,
    root: &str,
    layer: &Layer,
    rules: &[&Forbidden],
    skip_optional: bool,
    report: &mut Report,
) {
    if rules.is_empty() {
        return;
    }
    let no_optional = HashSet::new();
    let optional = if skip_optional {
        graph.optional.get(root).unwrap_or(&no_optional)
    } else {
        &no_optional
    };
    let mut parent: HashMap<&str, &str> = HashMap::new();
    let mut seen: HashSet<&str> = HashSet::from([root]);
    let mut queue = VecDeque::from([root]);
    while let Some(node) = queue.pop_front() {
        for (dep, kinds) in graph.edges(node) {
            if !kinds.iter().any(|k| k.followed()) {
                continue;
            }
            let dep_name = graph.name(dep);
            if node == root && optional.contains(dep_name) {
                continue;
            }
            report.edges += 1;
            if !seen.insert(dep) {
                continue;
            }
            parent.insert(dep, node);
            match rules.iter().find(|r| matches(r.pattern, dep_name)) {
                Some(rule) => report
                    .violations
                    .push(violation(graph, &parent, dep, layer, rule)),
                None => queue.push_back(dep),
            }
        }
    }
}

fn violation(
    graph: &Graph<'_>,
    parent: &HashMap<&str, &str>,
    hit: &str,
    layer: &Layer,
    rule: &Forbidden,
) -> String {
    let mut path = vec![graph.name(hit)];
    let mut node = hit;
    while let Some(&p) = parent.get(node) {
        path.push(graph.name(p));
        node = p;
    }
    path.reverse();
    let via = if path.len() > 2 {
        format!(" (via {})", path.join(" -> "))
    } else {
        String::new()
    };
    let exception = if rule.optional_ok {
        " (outside its own optional dependencies)"
    } else {
        ""
    };
    format!(
        "{} -> {}{via}: {} must never depend on {}{exception}",
        layer.krate,
        graph.name(hit),
        layer.krate,
        rule.pattern
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Value {
        let path = crate::util::workspace_root()
            .join("xtask")
            .join("fixtures")
            .join(name);
        load(&path).unwrap()
    }

    #[test]
    fn bad_fixture_reports_each_violation_with_edge_and_rule() {
        let report = check(&fixture("layer_bad.json")).unwrap();
        assert_eq!(
            report.violations,
            [
                "airssys-rt -> airssys-wasm (dev): airssys-rt may depend on no airssys crate \
                 (dev-dependencies may cross layers only when listed in DEV_ALLOW)",
                "airssys-rt -> wasmtime (via airssys-rt -> foo -> wasmtime): \
                 airssys-rt must never depend on wasmtime*",
                "airssys-rt -> nats-proto (via airssys-rt -> foo -> nats-proto): \
                 airssys-rt must never depend on nats* (outside its own optional dependencies)",
                "airssys-wasm-security -> tokio: airssys-wasm-security must never depend on tokio",
                "airssys-wasm-metrics -> airssys-wasm-security (normal): \
                 airssys-wasm-metrics may depend only on airssys-rt",
                "airssys-wasm-metrics -> wasmtime \
                 (via airssys-wasm-metrics -> airssys-rt -> foo -> wasmtime): \
                 airssys-wasm-metrics must never depend on wasmtime*",
                "airssys-extra: workspace member not in the layer table \
                 (add it to LAYERS in xtask/src/layer_check.rs)",
            ]
        );
        assert_eq!(report.crates, 9);
    }

    #[test]
    fn good_fixture_passes_with_optional_nats_and_dev_only_tokio() {
        let report = check(&fixture("layer_good.json")).unwrap();
        assert_eq!(report.violations, Vec::<String>::new());
        assert_eq!(report.crates, 8);
        assert!(report.edges > 0);
    }

    #[test]
    fn nats_is_a_violation_when_airssys_rt_depends_on_it_unconditionally() {
        let mut metadata = fixture("layer_good.json");
        let packages = metadata["packages"].as_array_mut().unwrap();
        let rt = packages.iter_mut().find(|p| p["name"] == RT).unwrap();
        for dep in rt["dependencies"].as_array_mut().unwrap() {
            dep["optional"] = Value::Bool(false);
        }
        let report = check(&metadata).unwrap();
        assert_eq!(
            report.violations,
            [
                "airssys-rt -> async-nats: airssys-rt must never depend on async-nats \
              (outside its own optional dependencies)"
            ]
        );
    }

    #[test]
    fn patterns_match_prefix_only_with_a_star() {
        assert!(matches("wasmtime*", "wasmtime"));
        assert!(matches("wasmtime*", "wasmtime-wasi"));
        assert!(!matches("wasmtime*", "wasm-encoder"));
        assert!(matches("tokio", "tokio"));
        assert!(!matches("tokio", "tokio-util"));
    }

    #[test]
    fn metadata_without_resolve_is_an_error() {
        let mut metadata = fixture("layer_good.json");
        metadata["resolve"] = Value::Null;
        assert!(check(&metadata).is_err());
    }

    #[test]
    fn every_table_entry_names_only_table_crates() {
        for layer in LAYERS {
            for dep in layer.may_depend_on {
                assert!(LAYERS.iter().any(|l| l.krate == *dep), "{dep}");
            }
        }
    }

    #[test]
    fn real_workspace_passes() {
        let report = check(&util::metadata(false).unwrap()).unwrap();
        assert_eq!(report.violations, Vec::<String>::new());
        assert_eq!(report.crates, LAYERS.len());
    }
}
