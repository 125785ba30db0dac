//! Reads criterion's JSON results and the `airssys-bench` JSON files and renders one markdown table.
//!
//! Naming convention of the benches: criterion group = one measure (`tell_1to1`), function id =
//! the implementation (`airssys`, `floor`, `ractor`, `kameo`, others become extra columns), an
//! optional parameter makes its own row (`registry_lookup/100000`).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;
use std::time::SystemTime;

use anyhow::{Context, Result};
use serde_json::Value;

/// Columns always shown, in this order.
const FIXED: &[&str] = &["airssys", "floor", "ractor", "kameo"];
/// Columns compared against airssys in "best peer/airssys".
const PEERS: &[&str] = &["ractor", "kameo"];
/// Column name for a criterion benchmark that has no function id.
const NO_FUNCTION: &str = "time";

/// One row of the table: a measure, its unit, and a value per implementation.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Row {
    /// `group` or `group/param`.
    pub(crate) measure: String,
    /// `None` for criterion times (nanoseconds), else the unit named by the JSON file.
    pub(crate) unit: Option<String>,
    /// Implementation (column) → value.
    pub(crate) values: BTreeMap<String, f64>,
}

/// All rows found under `target_dir`: criterion times first, then the `airssys-bench` files.
/// With `since`, results written before that time (stale runs) are left out.
pub(crate) fn collect(target_dir: &Path, since: Option<SystemTime>) -> Result<Vec<Row>> {
    let mut rows = criterion_rows(&target_dir.join("criterion"), since)?;
    rows.extend(extra_rows(&target_dir.join("airssys-bench"), since)?);
    Ok(rows)
}

fn fresh(path: &Path, since: Option<SystemTime>) -> Result<bool> {
    let Some(since) = since else { return Ok(true) };
    let modified = std::fs::metadata(path)
        .and_then(|m| m.modified())
        .with_context(|| format!("reading the time of {}", path.display()))?;
    Ok(modified >= since)
}

fn read_json(path: &Path) -> Result<Value> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}

/// Rows from every `<dir>/**/new/{benchmark,estimates}.json`.
fn criterion_rows(dir: &Path, since: Option<SystemTime>) -> Result<Vec<Row>> {
    let mut found = Vec::new();
    find_new_dirs(dir, &mut found)?;
    let mut by_measure: BTreeMap<String, BTreeMap<String, f64>> = BTreeMap::new();
    for new_dir in found {
        let estimates_path = new_dir.join("estimates.json");
        if !fresh(&estimates_path, since)? {
            continue;
        }
        let bench = read_json(&new_dir.join("benchmark.json"))?;
        let estimates = read_json(&estimates_path)?;
        let group = bench["group_id"]
            .as_str()
            .with_context(|| format!("{}: no group_id", new_dir.display()))?;
        let column = bench["function_id"].as_str().unwrap_or(NO_FUNCTION);
        let measure = match bench["value_str"].as_str() {
            Some(param) => format!("{group}/{param}"),
            None => group.to_owned(),
        };
        let mean = estimates["mean"]["point_estimate"]
            .as_f64()
            .with_context(|| format!("{}: no mean.point_estimate", estimates_path.display()))?;
        by_measure
            .entry(measure)
            .or_default()
            .insert(column.to_owned(), mean);
    }
    let mut rows: Vec<Row> = by_measure
        .into_iter()
        .map(|(measure, values)| Row {
            measure,
            unit: None,
            values,
        })
        .collect();
    rows.sort_by(|a, b| measure_order(&a.measure, &b.measure));
    Ok(rows)
}

fn find_new_dirs(dir: &Path, found: &mut Vec<std::path::PathBuf>) -> Result<()> {
    if !dir.is_dir() {
        return Ok(());
    }
    for entry in std::fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))? {
        let path = entry?.path();
        if !path.is_dir() {
            continue;
        }
        if path.file_name().is_some_and(|n| n == "new") {
            if path.join("benchmark.json").is_file() && path.join("estimates.json").is_file() {
                found.push(path);
            }
        } else {
            find_new_dirs(&path, found)?;
        }
    }
    Ok(())
}

/// Rows from `<dir>/*.json`, each `[{"measure", "unit", "<impl>": number | null, ...}]`.
fn extra_rows(dir: &Path, since: Option<SystemTime>) -> Result<Vec<Row>> {
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .with_context(|| format!("listing {}", dir.display()))?
        .map(|e| e.map(|e| e.path()))
        .collect::<std::io::Result<_>>()?;
    files.retain(|p| p.extension().is_some_and(|e| e == "json"));
    files.sort();
    let mut rows = Vec::new();
    for file in files {
        if !fresh(&file, since)? {
            continue;
        }
        let json = read_json(&file)?;
        let entries = json
            .as_array()
            .with_context(|| format!("{}: expected a JSON array", file.display()))?;
        for entry in entries {
            let measure = entry["measure"]
                .as_str()
                .with_context(|| format!("{}: entry without `measure`", file.display()))?;
            let unit = entry["unit"].as_str().unwrap_or("").to_owned();
            let values = entry
                .as_object()
                .into_iter()
                .flatten()
                .filter(|(k, _)| *k != "measure" && *k != "unit")
                .filter_map(|(k, v)| v.as_f64().map(|v| (k.clone(), v)))
                .collect();
            rows.push(Row {
                measure: measure.to_owned(),
                unit: Some(unit),
                values,
            });
        }
    }
    rows.sort_by(|a, b| measure_order(&a.measure, &b.measure));
    Ok(rows)
}

/// Orders `group/param` by group, then by the parameter as a number when it is one.
fn measure_order(a: &str, b: &str) -> std::cmp::Ordering {
    let split = |m: &str| -> (String, Option<f64>, String) {
        match m.split_once('/') {
            Some((g, p)) => (g.to_owned(), p.parse().ok(), p.to_owned()),
            None => (m.to_owned(), None, String::new()),
        }
    };
    let (ga, na, pa) = split(a);
    let (gb, nb, pb) = split(b);
    ga.cmp(&gb).then_with(|| match (na, nb) {
        (Some(x), Some(y)) => x.total_cmp(&y),
        _ => pa.cmp(&pb),
    })
}

/// Formats nanoseconds as `ns`, `µs`, `ms` or `s` with three significant digits.
pub(crate) fn fmt_time(ns: f64) -> String {
    let (value, unit) = if ns < 1e3 {
        (ns, "ns")
    } else if ns < 1e6 {
        (ns / 1e3, "µs")
    } else if ns < 1e9 {
        (ns / 1e6, "ms")
    } else {
        (ns / 1e9, "s")
    };
    format!("{} {unit}", three_digits(value))
}

fn three_digits(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

fn fmt_value(value: f64, unit: Option<&str>) -> String {
    match unit {
        None => fmt_time(value),
        Some("bytes") if value >= 1024.0 * 1024.0 => {
            format!("{} MiB", three_digits(value / (1024.0 * 1024.0)))
        }
        Some("bytes") if value >= 1024.0 => format!("{} KiB", three_digits(value / 1024.0)),
        Some("bytes") => format!("{value:.0} B"),
        Some("") => three_digits(value),
        Some(unit) => format!("{} {unit}", three_digits(value)),
    }
}

fn ratio(numerator: Option<f64>, denominator: Option<f64>) -> String {
    match (numerator, denominator) {
        (Some(n), Some(d)) if d > 0.0 => format!("{:.2}×", n / d),
        _ => "—".to_owned(),
    }
}

/// Renders the rows as one markdown table.
pub(crate) fn render(rows: &[Row]) -> String {
    let extra: BTreeSet<&str> = rows
        .iter()
        .flat_map(|r| r.values.keys().map(String::as_str))
        .filter(|c| !FIXED.contains(c))
        .collect();
    let columns: Vec<&str> = FIXED.iter().copied().chain(extra).collect();

    let mut header = vec!["measure"];
    header.extend(&columns);
    header.extend(["airssys/floor", "best peer/airssys"]);
    let mut out = String::new();
    let _ = writeln!(out, "| {} |", header.join(" | "));
    let _ = writeln!(
        out,
        "|{}",
        header
            .iter()
            .enumerate()
            .map(|(i, _)| if i == 0 { "---|" } else { "---:|" })
            .collect::<String>()
    );
    for row in rows {
        let get = |c: &str| row.values.get(c).copied();
        let mut cells = vec![match &row.unit {
            Some(unit) if !unit.is_empty() => format!("{} ({unit})", row.measure),
            _ => row.measure.clone(),
        }];
        for c in &columns {
            cells
                .push(get(c).map_or_else(|| "—".to_owned(), |v| fmt_value(v, row.unit.as_deref())));
        }
        let best_peer = PEERS.iter().filter_map(|p| get(p)).reduce(f64::min);
        cells.push(ratio(get("airssys"), get("floor")));
        cells.push(ratio(best_peer, get("airssys")));
        let _ = writeln!(out, "| {} |", cells.join(" | "));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn criterion_result(root: &Path, group: &str, function: &str, param: Option<&str>, ns: f64) {
        let mut dir = root.join("criterion").join(group).join(function);
        if let Some(p) = param {
            dir = dir.join(p);
        }
        let new = dir.join("new");
        std::fs::create_dir_all(&new).unwrap();
        let bench = serde_json::json!({
            "group_id": group,
            "function_id": function,
            "value_str": param,
            "throughput": null,
            "full_id": "ignored",
            "directory_name": "ignored",
            "title": "ignored",
        });
        std::fs::write(new.join("benchmark.json"), bench.to_string()).unwrap();
        let estimates = serde_json::json!({
            "mean": {"point_estimate": ns, "standard_error": 1.0,
                     "confidence_interval": {"confidence_level": 0.95,
                                             "lower_bound": ns, "upper_bound": ns}},
        });
        std::fs::write(new.join("estimates.json"), estimates.to_string()).unwrap();
        // A previous run's results live in `base/` and must be ignored.
        let base = dir.join("base");
        std::fs::create_dir_all(&base).unwrap();
        std::fs::write(base.join("benchmark.json"), "not json").unwrap();
    }

    fn fixture() -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        criterion_result(&root, "tell_1to1", "airssys", None, 52.4);
        criterion_result(&root, "tell_1to1", "floor", None, 40.0);
        criterion_result(&root, "tell_1to1", "ractor", None, 1250.0);
        criterion_result(&root, "tell_1to1", "kameo", None, 980.0);
        criterion_result(&root, "ask_roundtrip", "airssys", None, 2_346.0);
        criterion_result(&root, "ask_roundtrip", "floor", None, 2_000.0);
        criterion_result(&root, "ask_roundtrip", "std_mpsc", None, 3_500_000.0);
        criterion_result(&root, "registry_lookup", "airssys", Some("100000"), 31.0);
        criterion_result(&root, "registry_lookup", "floor", Some("100000"), 30.0);
        criterion_result(&root, "registry_lookup", "airssys", Some("10"), 20.0);
        criterion_result(&root, "registry_lookup", "floor", Some("10"), 19.0);
        std::fs::create_dir_all(root.join("criterion/report")).unwrap();
        std::fs::write(root.join("criterion/report/index.html"), "<html>").unwrap();
        std::fs::create_dir_all(root.join("airssys-bench")).unwrap();
        std::fs::write(
            root.join("airssys-bench/memory.json"),
            r#"[{"measure": "memory_per_idle_actor", "unit": "bytes",
                 "airssys": 1536.0, "floor": 1000.0, "ractor": null, "kameo": 3072.0}]"#,
        )
        .unwrap();
        std::fs::write(root.join("airssys-bench/notes.txt"), "ignored").unwrap();
        (dir, root)
    }

    #[test]
    fn table_has_one_row_per_measure_and_param_with_ratios() {
        let (_dir, root) = fixture();
        let rows = collect(&root, None).unwrap();
        assert_eq!(
            render(&rows),
            "\
| measure | airssys | floor | ractor | kameo | std_mpsc | airssys/floor | best peer/airssys |
|---|---:|---:|---:|---:|---:|---:|---:|
| ask_roundtrip | 2.35 µs | 2.00 µs | — | — | 3.50 ms | 1.17× | — |
| registry_lookup/10 | 20.0 ns | 19.0 ns | — | — | — | 1.05× | — |
| registry_lookup/100000 | 31.0 ns | 30.0 ns | — | — | — | 1.03× | — |
| tell_1to1 | 52.4 ns | 40.0 ns | 1.25 µs | 980 ns | — | 1.31× | 18.70× |
| memory_per_idle_actor (bytes) | 1.50 KiB | 1000 B | — | 3.00 KiB | — | 1.54× | 2.00× |
"
        );
    }

    #[test]
    fn results_older_than_the_run_are_left_out() {
        let (_dir, root) = fixture();
        let later = SystemTime::now() + std::time::Duration::from_secs(3600);
        assert_eq!(collect(&root, Some(later)).unwrap(), Vec::new());
    }

    #[test]
    fn missing_directories_give_no_rows() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(collect(dir.path(), None).unwrap(), Vec::new());
    }

    #[test]
    fn times_use_a_readable_unit() {
        assert_eq!(fmt_time(0.5), "0.50 ns");
        assert_eq!(fmt_time(999.0), "999 ns");
        assert_eq!(fmt_time(12_345.0), "12.3 µs");
        assert_eq!(fmt_time(4_500_000.0), "4.50 ms");
        assert_eq!(fmt_time(2.0e9), "2.00 s");
    }
}
