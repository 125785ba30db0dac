//! `airssys check` reports every problem of a broken manifest, each with its component and
//! field, and exits 1; a good manifest passes.

use super::support::{airssys, demo_manifest, guest, guest_dir};

fn check(path: &std::path::Path) -> (Option<i32>, String) {
    let out = airssys()
        .arg("check")
        .arg(path)
        .env("AIRSSYS_GUEST_DIR", guest_dir())
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn check_passes_the_demo_manifest() {
    let (code, out) = check(&demo_manifest());
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("ok, 5 component(s)"), "{out}");
}

#[test]
fn check_fills_and_reuses_the_manifests_cache_dir() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let manifest = dir.path().join("cached.toml");
    let text = format!(
        "[host]\ncache_dir = \"{}\"\n\n[[component]]\nid = \"echo\"\nwasm = \"{}\"\n",
        cache.display(),
        guest("echo").display()
    );
    std::fs::write(&manifest, text).unwrap();
    let (code, out) = check(&manifest);
    assert_eq!(code, Some(0), "{out}");
    let cached = || -> Vec<_> {
        std::fs::read_dir(&cache)
            .map(|d| {
                d.filter_map(Result::ok)
                    .map(|e| (e.path(), e.metadata().and_then(|m| m.modified()).ok()))
                    .collect()
            })
            .unwrap_or_default()
    };
    let first = cached();
    assert_eq!(
        first.len(),
        1,
        "one compiled component in {cache:?}: {first:?}"
    );
    let (code, out) = check(&manifest);
    assert_eq!(code, Some(0), "{out}");
    assert_eq!(
        cached(),
        first,
        "the second check reads the cached file, unchanged"
    );
}

#[test]
fn check_reports_every_problem_with_its_component_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("broken.toml");
    let text = format!(
        r#"
[host]
listen = "127.0.0.1:0"

[[component]]
id = "typo"
wasm = "{echo}"
restrat = "permanent"

[[component]]
id = "missing"
wasm = "does-not-exist.wasm"

[[component]]
id = "badcap"
wasm = "{echo}"
[component.capabilities]
network = ["api.example.com:443", "no-port-here"]

[[component]]
id = "wrongworld"
wasm = "{bad}"

[[component]]
id = "fine"
wasm = "{echo}"
mailbox = {{ capacity = 8, policy = "sometimes" }}
"#,
        echo = guest("echo").display(),
        bad = guest("bad_missing_export").display(),
    );
    std::fs::write(&manifest, text).unwrap();
    let (code, out) = check(&manifest);
    assert_eq!(code, Some(1), "{out}");
    let line = |needle: &str| {
        out.lines()
            .find(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no line with {needle:?} in:\n{out}"))
            .to_owned()
    };
    assert!(line("component \"typo\"").contains("restrat"), "{out}");
    let missing = line("component \"missing\"");
    assert!(
        missing.contains("wasm") && missing.contains("file not found"),
        "{out}"
    );
    assert!(
        line("component \"badcap\"").contains("capabilities.network[1]"),
        "{out}"
    );
    let world = line("component \"wrongworld\"");
    assert!(
        world.contains("does not implement the airssys:component world"),
        "{out}"
    );
    assert!(line("component \"fine\"").contains("sometimes"), "{out}");
    assert!(out.contains("5 problem(s)"), "{out}");
}

#[test]
fn check_reports_invalid_toml_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("bad.toml");
    std::fs::write(&manifest, "[host]\nlisten = \n").unwrap();
    let (code, out) = check(&manifest);
    assert_eq!(code, Some(1));
    assert!(out.contains("not valid TOML (line 2)"), "{out}");
}
