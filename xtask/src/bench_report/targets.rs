//! The performance targets of SPEC §7 (and the issues that refine them), checked against the
//! rows of one run: each target names the rows it compares, so the verdict is regenerated with
//! the table and is never typed by hand.

use std::fmt::Write as _;

use super::table::{Row, fmt_time};

/// What a target compares.
#[derive(Debug, Clone, Copy)]
enum Check {
    /// `airssys` over `floor` of `measure`, at most `max`.
    OverFloor { measure: &'static str, max: f64 },
    /// `airssys` over another column of `measure` (a second floor), at most `max`.
    OverColumn {
        measure: &'static str,
        column: &'static str,
        max: f64,
    },
    /// Every peer's time over `airssys` of `measure`, at least `min` (airssys `min`× faster).
    FasterThanPeers { measure: &'static str, min: f64 },
    /// `airssys` of `measure` at most `max` (nanoseconds, or the row's unit).
    Absolute { measure: &'static str, max: f64 },
    /// `airssys` of `measure` over `airssys` of `base`, at most `max` (flat as it grows).
    Flat {
        measure: &'static str,
        base: &'static str,
        max: f64,
    },
}

/// One target: what it says, and how it is checked.
struct Target {
    text: &'static str,
    check: Check,
}

const TARGETS: &[Target] = &[
    Target {
        text: "tell ≤ 1.5× a raw bounded channel",
        check: Check::OverFloor {
            measure: "tell_1to1",
            max: 1.5,
        },
    },
    Target {
        text: "tell ≥ 2× faster than ractor and kameo",
        check: Check::FasterThanPeers {
            measure: "tell_1to1",
            min: 2.0,
        },
    },
    Target {
        text: "ask ≤ 1.3× mpsc + oneshot",
        check: Check::OverFloor {
            measure: "ask_roundtrip",
            max: 1.3,
        },
    },
    Target {
        text: "ask faster than ractor and kameo",
        check: Check::FasterThanPeers {
            measure: "ask_roundtrip",
            min: 1.0,
        },
    },
    Target {
        text: "spawn + started ≤ 2× tokio spawn + join",
        check: Check::OverFloor {
            measure: "spawn",
            max: 2.0,
        },
    },
    Target {
        text: "≤ 2 KiB per idle actor (never sent a message)",
        check: Check::Absolute {
            measure: "memory_per_idle_actor",
            max: 2048.0,
        },
    },
    Target {
        text: "≤ 2 KiB per idle actor (sent one message)",
        check: Check::Absolute {
            measure: "memory_per_used_actor",
            max: 2048.0,
        },
    },
    Target {
        text: "registry lookup flat from 10 to 100 000 names (≤ 1.5× the 10-name time)",
        check: Check::Flat {
            measure: "registry_lookup/100000",
            base: "registry_lookup/10",
            max: 1.5,
        },
    },
    Target {
        text: "registry lookup ≤ 1.2× a `DashMap` get of the same handles (10 names)",
        check: Check::OverColumn {
            measure: "registry_lookup/10",
            column: "floor_same_handles",
            max: 1.2,
        },
    },
    Target {
        text: "registry lookup ≤ 1.2× a `DashMap` get of the same handles (100 000 names)",
        check: Check::OverColumn {
            measure: "registry_lookup/100000",
            column: "floor_same_handles",
            max: 1.2,
        },
    },
    Target {
        text: "publish to 100 subscribers ≤ 1.5× 100 raw sends",
        check: Check::OverFloor {
            measure: "publish_100",
            max: 1.5,
        },
    },
    Target {
        text: "panic → restarted → next message handled ≤ 10 µs",
        check: Check::Absolute {
            measure: "restart_after_panic",
            max: 10_000.0,
        },
    },
    Target {
        text: "component spawn ≤ 1.2× raw `InstancePre` instantiation",
        check: Check::OverFloor {
            measure: "component_spawn",
            max: 1.2,
        },
    },
    Target {
        text: "component spawn ≤ 1.2× raw `InstancePre` instantiation (alternating batches, \
               median of the rounds' ratios)",
        check: Check::OverFloor {
            measure: "component_spawn_alternating",
            max: 1.2,
        },
    },
    Target {
        text: "message into a component and back ≤ 1.5× a typed call + one channel hop",
        check: Check::OverFloor {
            measure: "component_roundtrip",
            max: 1.5,
        },
    },
    Target {
        text: "restart after a trap ≤ 1.5× fresh Store + instantiate",
        check: Check::OverFloor {
            measure: "component_restart_after_trap",
            max: 1.5,
        },
    },
    Target {
        text: "memory per idle component ≤ 1.2× a raw instance (never sent a message)",
        check: Check::OverFloor {
            measure: "memory_per_idle_component",
            max: 1.2,
        },
    },
    Target {
        text: "memory per idle component ≤ 1.2× a raw instance (after one message)",
        check: Check::OverFloor {
            measure: "memory_per_used_component",
            max: 1.2,
        },
    },
    Target {
        text: "cross-node ask ≤ 1.5× a raw NATS request",
        check: Check::OverFloor {
            measure: "cluster_ask",
            max: 1.5,
        },
    },
];

fn value(rows: &[Row], measure: &str, column: &str) -> Option<f64> {
    rows.iter()
        .find(|r| r.measure == measure)
        .and_then(|r| r.values.get(column).copied())
}

fn unit(rows: &[Row], measure: &str) -> Option<String> {
    rows.iter()
        .find(|r| r.measure == measure)
        .and_then(|r| r.unit.clone())
}

/// The measured figure and whether it meets the target; `None` when the rows are missing.
fn verdict(rows: &[Row], check: Check) -> Option<(String, bool)> {
    match check {
        Check::OverFloor { measure, max } => {
            let r = value(rows, measure, "airssys")? / value(rows, measure, "floor")?;
            Some((format!("{r:.2}× (`{measure}`)"), r <= max))
        }
        Check::OverColumn {
            measure,
            column,
            max,
        } => {
            let r = value(rows, measure, "airssys")? / value(rows, measure, column)?;
            Some((format!("{r:.2}× (`{measure}`, `{column}`)"), r <= max))
        }
        Check::FasterThanPeers { measure, min } => {
            let ours = value(rows, measure, "airssys")?;
            let peers: Vec<(&str, f64)> = ["ractor", "kameo"]
                .into_iter()
                .filter_map(|p| value(rows, measure, p).map(|v| (p, v / ours)))
                .collect();
            if peers.is_empty() {
                return None;
            }
            let text = peers
                .iter()
                .map(|(p, r)| format!("{p} {r:.2}×"))
                .collect::<Vec<_>>()
                .join(", ");
            let met = peers.iter().all(|(_, r)| *r >= min);
            Some((format!("{text} (`{measure}`)"), met))
        }
        Check::Absolute { measure, max } => {
            let v = value(rows, measure, "airssys")?;
            let shown = match unit(rows, measure).as_deref() {
                Some("bytes") => format!("{v:.0} B"),
                Some(u) => format!("{v:.0} {u}"),
                None => fmt_time(v),
            };
            Some((format!("{shown} (`{measure}`)"), v <= max))
        }
        Check::Flat { measure, base, max } => {
            let r = value(rows, measure, "airssys")? / value(rows, base, "airssys")?;
            Some((format!("{r:.2}× (`{measure}` / `{base}`)"), r <= max))
        }
    }
}

/// The targets as a markdown table: target, measured in this run, met or not.
pub(crate) fn render(rows: &[Row]) -> String {
    let mut out = String::from("| target | this run | met |\n|---|---|---|\n");
    for t in TARGETS {
        let (measured, met) = match verdict(rows, t.check) {
            Some((m, true)) => (m, "yes"),
            Some((m, false)) => (m, "**no**"),
            None => ("not measured in this run".to_owned(), "—"),
        };
        let _ = writeln!(out, "| {} | {measured} | {met} |", t.text);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn row(measure: &str, unit: Option<&str>, values: &[(&str, f64)]) -> Row {
        Row {
            measure: measure.to_owned(),
            unit: unit.map(str::to_owned),
            values: values
                .iter()
                .map(|(k, v)| ((*k).to_owned(), *v))
                .collect::<BTreeMap<_, _>>(),
        }
    }

    #[test]
    fn each_kind_of_target_is_judged_from_the_rows() {
        let rows = [
            row(
                "tell_1to1",
                None,
                &[
                    ("airssys", 100.0),
                    ("floor", 80.0),
                    ("ractor", 400.0),
                    ("kameo", 150.0),
                ],
            ),
            row(
                "memory_per_idle_actor",
                Some("bytes"),
                &[("airssys", 2100.0)],
            ),
            row("registry_lookup/10", None, &[("airssys", 30.0)]),
            row(
                "registry_lookup/100000",
                None,
                &[("airssys", 40.0), ("floor_same_handles", 32.0)],
            ),
        ];
        let table = render(&rows);
        assert!(
            table.contains("| tell ≤ 1.5× a raw bounded channel | 1.25× (`tell_1to1`) | yes |"),
            "{table}"
        );
        assert!(
            table.contains("ractor 4.00×, kameo 1.50× (`tell_1to1`) | **no** |"),
            "{table}"
        );
        assert!(
            table.contains("2100 B (`memory_per_idle_actor`) | **no** |"),
            "{table}"
        );
        assert!(table.contains("1.33× (`registry_lookup/100000` / `registry_lookup/10`) | yes |"));
        assert!(
            table.contains("1.25× (`registry_lookup/100000`, `floor_same_handles`) | **no** |"),
            "{table}"
        );
        assert!(table.contains("| ask ≤ 1.3× mpsc + oneshot | not measured in this run | — |"));
    }
}
