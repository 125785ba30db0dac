//! Property tests: checks never widen beyond the grants.

use std::path::{Path, PathBuf};

use airssys_wasm_security::{
    CapabilitySet, CapabilitySetBuilder, FileAccess, FilePermission, NetworkGrant,
};
use proptest::prelude::*;

/// Directory names for grants: no `.` or `..` (the builder refuses `..`).
fn grant_segment() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec!["a", "b", "in", "data", "in2"])
}

/// Segments of a requested path, tricks included (empty = doubled separator).
fn query_segment() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "a", "b", "in", "in2", "data", ".", "..", "", "In", "in.", "x",
    ])
}

fn grant_path() -> impl Strategy<Value = Vec<&'static str>> {
    prop::collection::vec(grant_segment(), 1..4)
}

fn query_path() -> impl Strategy<Value = Vec<&'static str>> {
    prop::collection::vec(query_segment(), 0..7)
}

/// Reference normalization: drop empty and `.`, pop on `..` (clamped at the root).
fn normalize(segments: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in segments {
        match *s {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            other => out.push(other.to_owned()),
        }
    }
    out
}

fn under_any(path: &[String], grants: &[Vec<&str>]) -> bool {
    grants
        .iter()
        .any(|g| g.len() <= path.len() && g.iter().zip(path).all(|(a, b)| *a == b.as_str()))
}

fn join(root: &Path, segments: &[&str]) -> PathBuf {
    let mut text = root.as_os_str().to_owned();
    for s in segments {
        text.push("/");
        text.push(s);
    }
    PathBuf::from(text)
}

/// One grant of any kind, for the monotonicity property.
#[derive(Debug, Clone)]
enum Grant {
    File(Vec<&'static str>, FilePermission),
    Net(&'static str),
    Send(&'static str),
    Publish(&'static str),
    Subscribe(&'static str),
}

fn any_grant() -> impl Strategy<Value = Grant> {
    prop_oneof![
        (
            grant_path(),
            prop::sample::select(vec![FilePermission::Read, FilePermission::ReadWrite])
        )
            .prop_map(|(p, m)| Grant::File(p, m)),
        prop::sample::select(vec![
            "a.example.com:80",
            "*.example.com:1-1000",
            "*.com:443",
            "10.0.0.0/8:1-65535",
            "[::1]:80",
            "127.0.0.1:80",
        ])
        .prop_map(Grant::Net),
        prop::sample::select(vec!["a", "a-*", "*", "b*c"]).prop_map(Grant::Send),
        prop::sample::select(vec!["a.b", "a.*", "a.>", "*.b", ">"]).prop_map(Grant::Publish),
        prop::sample::select(vec!["a.b", "a.*", "a.>", "*.b", ">"]).prop_map(Grant::Subscribe),
    ]
}

fn apply(builder: CapabilitySetBuilder, grant: &Grant) -> CapabilitySetBuilder {
    match grant {
        Grant::File(p, m) => builder.dir(join(Path::new(""), p), *m),
        Grant::Net(n) => builder.connect(n),
        Grant::Send(s) => builder.send_to(s),
        Grant::Publish(t) => builder.publish(t),
        Grant::Subscribe(t) => builder.subscribe(t),
    }
}

/// Every check a query can make, as booleans, for comparing two sets.
fn verdicts(
    caps: &CapabilitySet,
    path: &Path,
    host: &str,
    port: u16,
    name: &str,
    topic: &str,
) -> [bool; 6] {
    [
        caps.check_file(path, FileAccess::Read).is_allowed(),
        caps.check_file(path, FileAccess::Write).is_allowed(),
        caps.check_connect(host, port).is_allowed(),
        caps.check_send(name).is_allowed(),
        caps.check_publish(topic).is_allowed(),
        caps.check_subscribe(topic).is_allowed(),
    ]
}

fn label() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9]{1,4}"
}

proptest! {
    #[test]
    fn a_path_outside_every_grant_is_never_allowed(
        grants in prop::collection::vec(grant_path(), 0..4),
        query in query_path(),
    ) {
        let mut builder = CapabilitySet::builder();
        for g in &grants {
            builder = builder.read_write_dir(join(Path::new(""), g));
        }
        let caps = builder.build().unwrap();
        let path = join(Path::new(""), &query);
        let path = if query.is_empty() { PathBuf::from("/") } else { path };
        if !under_any(&normalize(&query), &grants) {
            prop_assert!(caps.check_file(&path, FileAccess::Read).is_denied(), "{}", path.display());
            prop_assert!(caps.check_file(&path, FileAccess::Write).is_denied(), "{}", path.display());
        }
    }

    #[test]
    fn a_real_path_outside_every_grant_is_never_allowed(
        grants in prop::collection::vec(grant_path(), 0..3),
        query in query_path(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let mut builder = CapabilitySet::builder();
        for g in &grants {
            let p = join(root, g);
            std::fs::create_dir_all(&p).unwrap();
            builder = builder.read_write_dir(p);
        }
        let caps = builder.build().unwrap();
        let path = join(root, &query);
        // Outside the temp root (a `..` climbing above it) is outside every grant too.
        let climbs_out = query.iter().try_fold(0i32, |depth, s| match *s {
            ".." if depth == 0 => None,
            ".." => Some(depth - 1),
            "" | "." => Some(depth),
            _ => Some(depth + 1),
        }).is_none();
        if climbs_out || !under_any(&normalize(&query), &grants) {
            prop_assert!(caps.check_file_resolved(&path, FileAccess::Read).is_denied(), "{}", path.display());
            prop_assert!(caps.check_file_resolved(&path, FileAccess::Write).is_denied(), "{}", path.display());
        }
    }

    #[test]
    fn adding_a_grant_never_removes_access(
        base in prop::collection::vec(any_grant(), 0..6),
        extra in any_grant(),
        query in query_path(),
        host in prop::sample::select(vec!["a.example.com", "b.a.example.com", "example.com", "x.com", "10.1.1.1", "::1", "127.0.0.1", "evilexample.com"]),
        port in prop::sample::select(vec![1u16, 80, 443, 1000, 1001, 65535]),
        name in prop::sample::select(vec!["a", "a-1", "b", "bxc", "c"]),
        topic in prop::sample::select(vec!["a.b", "a.c", "a.b.c", "x.b", "a", "a.*", "a.>", "*.b"]),
    ) {
        let before = base.iter().fold(CapabilitySet::builder(), apply).build().unwrap();
        let after = apply(base.iter().fold(CapabilitySet::builder(), apply), &extra).build().unwrap();
        let path = join(Path::new(""), &query);
        let v_before = verdicts(&before, &path, host, port, name, topic);
        let v_after = verdicts(&after, &path, host, port, name, topic);
        for (b, a) in v_before.iter().zip(v_after) {
            prop_assert!(!*b || a, "{v_before:?} -> {v_after:?}");
        }
    }

    #[test]
    fn host_patterns_never_match_outside_their_label_suffix(
        suffix in prop::collection::vec(label(), 1..3),
        prefix in prop::collection::vec(label(), 0..3),
        glue in prop::sample::select(vec![".", "", "-", "x.", ".x"]),
        tail in prop::sample::select(vec!["", ".", ".evil.net", "x", ".com"]),
        port in 1u16..=3,
    ) {
        let suffix = suffix.join(".").to_ascii_lowercase();
        let host = format!("{}{glue}{suffix}{tail}", prefix.join("."));
        let wildcard = NetworkGrant::parse(&format!("*.{suffix}:1-2"));
        let exact = NetworkGrant::parse(&format!("{suffix}:1-2"));
        // Numeric-looking suffixes are refused by design; nothing to check then.
        if let (Ok(wildcard), Ok(exact)) = (wildcard, exact) {
            let h = host.strip_suffix('.').unwrap_or(&host).to_ascii_lowercase();
            if wildcard.matches(&host, port) {
                prop_assert!(h.ends_with(&format!(".{suffix}")), "{host} vs *.{suffix}");
                prop_assert!(h.len() > suffix.len() + 1);
                prop_assert!(port <= 2);
            }
            if exact.matches(&host, port) {
                prop_assert_eq!(&h, &suffix);
            }
        }
    }
}
