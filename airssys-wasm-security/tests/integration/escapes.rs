//! A table of escape attempts: every one is denied, with the expected reason, and every one
//! produces an audit record.

use std::path::{Path, PathBuf};

use airssys_wasm_security::{
    AuditLog, AuditRecord, CapabilitySet, Decision, DenyReason, FileAccess, FlushPolicy, Operation,
    verify,
};

/// One attempted operation.
enum Attempt {
    /// Lexical file check.
    File(PathBuf, FileAccess),
    /// Symlink-aware file check (on the temp tree).
    Real(PathBuf, FileAccess),
    Connect(&'static str, u16),
    Send(&'static str),
    Request(&'static str),
    Publish(&'static str),
    Subscribe(&'static str),
}

/// The expected denial; `AnyUnresolvable` accepts any I/O error kind.
enum Expect {
    Reason(DenyReason),
    AnyUnresolvable,
}

impl Attempt {
    fn run(&self, caps: &CapabilitySet) -> (Operation, String, Decision) {
        match self {
            Self::File(p, a) => ((*a).into(), p.display().to_string(), caps.check_file(p, *a)),
            Self::Real(p, a) => (
                (*a).into(),
                p.display().to_string(),
                caps.check_file_resolved(p, *a),
            ),
            Self::Connect(h, port) => (
                Operation::Connect,
                format!("{h}:{port}"),
                caps.check_connect(h, *port),
            ),
            Self::Send(t) => (Operation::Send, (*t).to_owned(), caps.check_send(t)),
            Self::Request(t) => (Operation::Request, (*t).to_owned(), caps.check_request(t)),
            Self::Publish(t) => (Operation::Publish, (*t).to_owned(), caps.check_publish(t)),
            Self::Subscribe(t) => (
                Operation::Subscribe,
                (*t).to_owned(),
                caps.check_subscribe(t),
            ),
        }
    }
}

/// The temp tree: `root/data/in` (read), `root/data/out` (read-write), `root/outside/secret.txt`,
/// and symlinks inside `in` that point out of it.
struct Tree {
    _dir: tempfile::TempDir,
    root: PathBuf,
}

fn tree() -> Tree {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    std::fs::create_dir_all(root.join("data/in")).unwrap();
    std::fs::create_dir_all(root.join("data/out")).unwrap();
    std::fs::create_dir_all(root.join("outside")).unwrap();
    std::fs::write(root.join("outside/secret.txt"), "secret").unwrap();
    std::fs::write(root.join("data/in/ok.txt"), "ok").unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::symlink;
        let in_dir = root.join("data/in");
        symlink(root.join("outside"), in_dir.join("link_out")).unwrap();
        symlink("/etc/passwd", in_dir.join("link_abs")).unwrap();
        symlink(root.join("outside/new.txt"), in_dir.join("dangle")).unwrap();
        symlink("../..", in_dir.join("up")).unwrap();
        symlink(in_dir.join("loop2"), in_dir.join("loop1")).unwrap();
        symlink(in_dir.join("loop1"), in_dir.join("loop2")).unwrap();
        symlink(root.join("data/in"), root.join("data/out/to_in")).unwrap();
    }
    Tree { _dir: dir, root }
}

fn caps(t: &Tree) -> CapabilitySet {
    CapabilitySet::builder()
        .read_dir("/data/input")
        .read_write_dir("/data/out")
        .read_dir(t.root.join("data/in"))
        .read_write_dir(t.root.join("data/out"))
        .connect("api.example.com:443")
        .connect("*.example.com:8000-8080")
        .connect("10.0.0.0/8:443")
        .connect("[::1]:9000")
        .send_to("logger")
        .send_to("stage-*")
        .request_from("db")
        .publish("events.*")
        .subscribe("events.>")
        .build()
        .unwrap()
}

fn table(t: &Tree) -> Vec<(Attempt, Expect)> {
    use Attempt::*;
    use DenyReason as R;
    use Expect::Reason;
    let p = PathBuf::from;
    let (read, write) = (FileAccess::Read, FileAccess::Write);
    let r = |rel: &str| t.root.join(rel);
    #[allow(unused_mut)]
    let mut rows = vec![
        // Lexical traversal and normalization tricks.
        (
            File(p("/data/input/../secret"), read),
            Reason(R::ParentTraversal),
        ),
        (
            File(p("/data/input/../../etc/passwd"), read),
            Reason(R::ParentTraversal),
        ),
        (
            File(p("/data/input/./../etc"), read),
            Reason(R::ParentTraversal),
        ),
        (
            File(p("/data/out/../input/x"), write),
            Reason(R::ParentTraversal),
        ),
        (File(p("/data/input2/x"), read), Reason(R::NoFileGrant)),
        (File(p("/data/inputx"), read), Reason(R::NoFileGrant)),
        (File(p("/data"), read), Reason(R::NoFileGrant)),
        (File(p("/"), read), Reason(R::NoFileGrant)),
        (File(p("//etc//passwd"), read), Reason(R::NoFileGrant)),
        (File(p("data/input/x"), read), Reason(R::RelativePath)),
        (File(p("./data/input/x"), read), Reason(R::RelativePath)),
        (File(p(""), read), Reason(R::RelativePath)),
        (File(p("/data/input\0/x"), read), Reason(R::InvalidPath)),
        // Encoded and look-alike separators and names are literal bytes, not separators.
        (
            File(p("/data/input%2f..%2f..%2fetc/passwd"), read),
            Reason(R::NoFileGrant),
        ),
        (
            File(p("/data/%2e%2e/input/x"), read),
            Reason(R::NoFileGrant),
        ),
        (
            File(p("/data/input\u{2215}..\u{2215}etc"), read),
            Reason(R::NoFileGrant),
        ),
        (
            File(p("/data/\u{ff49}nput/x"), read),
            Reason(R::NoFileGrant),
        ),
        (File(p("/data/INPUT/x"), read), Reason(R::NoFileGrant)),
        (
            File(p("/data/input\\..\\etc"), read),
            Reason(R::NoFileGrant),
        ),
        // Writes under a read grant.
        (File(p("/data/input/x"), write), Reason(R::ReadOnly)),
        (File(p("/data/input/"), write), Reason(R::ReadOnly)),
        // Real filesystem: traversal resolved by the kernel.
        (
            Real(r("data/in/../../outside/secret.txt"), read),
            Reason(R::NoFileGrant),
        ),
        (
            Real(r("data/in/missing/../../../outside/new.txt"), write),
            Reason(R::ParentTraversal),
        ),
        (Real(r("data/in2/x"), read), Reason(R::NoFileGrant)),
        (Real(r("data/in/ok.txt"), write), Reason(R::ReadOnly)),
        // Hosts: suffix tricks, numeric forms, look-alikes, injected syntax.
        (Connect("evilexample.com", 8000), Reason(R::NoNetworkGrant)),
        (
            Connect("example.com.evil.net", 8000),
            Reason(R::NoNetworkGrant),
        ),
        (Connect("example.com", 8000), Reason(R::NoNetworkGrant)),
        (
            Connect("api.example.com.evil.net", 443),
            Reason(R::NoNetworkGrant),
        ),
        (Connect("xapi.example.com", 443), Reason(R::NoNetworkGrant)),
        (Connect("a.example.com.", 443), Reason(R::NoNetworkGrant)),
        (Connect("127.1", 443), Reason(R::AmbiguousNumericHost)),
        (Connect("0x0a.0.0.1", 443), Reason(R::AmbiguousNumericHost)),
        (Connect("167772161", 443), Reason(R::AmbiguousNumericHost)),
        (Connect("010.0.0.1", 443), Reason(R::AmbiguousNumericHost)),
        (Connect("11.0.0.1", 443), Reason(R::NoNetworkGrant)),
        (Connect("9.255.255.255", 443), Reason(R::NoNetworkGrant)),
        (Connect("::ffff:11.0.0.1", 443), Reason(R::NoNetworkGrant)),
        (Connect("[::2]", 9000), Reason(R::NoNetworkGrant)),
        (
            Connect("a.ex\u{0430}mple.com", 8000),
            Reason(R::InvalidHost),
        ),
        (Connect("api.example.com:443", 443), Reason(R::InvalidHost)),
        (Connect("user@api.example.com", 443), Reason(R::InvalidHost)),
        (Connect("api.example.com/x", 443), Reason(R::InvalidHost)),
        (Connect("*.example.com", 8000), Reason(R::InvalidHost)),
        (Connect("", 443), Reason(R::InvalidHost)),
        (Connect("fe80::1%eth0", 9000), Reason(R::InvalidHost)),
        // Ports: range edges, zero, neighbours.
        (Connect("api.example.com", 444), Reason(R::NoNetworkGrant)),
        (Connect("api.example.com", 442), Reason(R::NoNetworkGrant)),
        (Connect("api.example.com", 0), Reason(R::InvalidPort)),
        (Connect("a.example.com", 7999), Reason(R::NoNetworkGrant)),
        (Connect("a.example.com", 8081), Reason(R::NoNetworkGrant)),
        (Connect("10.1.2.3", 65535), Reason(R::NoNetworkGrant)),
        (Connect("::1", 9001), Reason(R::NoNetworkGrant)),
        // Messaging.
        (Send("logger2"), Reason(R::NoSendGrant)),
        (Send("stage"), Reason(R::NoSendGrant)),
        (Send("../logger"), Reason(R::NoSendGrant)),
        (Send("logger "), Reason(R::InvalidComponentId)),
        (Send(""), Reason(R::InvalidComponentId)),
        (Request("logger"), Reason(R::NoRequestGrant)),
        (Publish("events.a.b"), Reason(R::NoPublishGrant)),
        (Publish("events.*"), Reason(R::InvalidTopic)),
        (Publish("events..x"), Reason(R::InvalidTopic)),
        (Publish("events"), Reason(R::NoPublishGrant)),
        (Subscribe("events"), Reason(R::NoSubscribeGrant)),
        (Subscribe(">"), Reason(R::NoSubscribeGrant)),
        (Subscribe("*.a"), Reason(R::NoSubscribeGrant)),
        (Subscribe("events.>.x"), Reason(R::InvalidTopic)),
    ];
    #[cfg(unix)]
    rows.extend([
        // Symlinks inside a grant that point out of it.
        (
            Real(r("data/in/link_out/secret.txt"), read),
            Reason(R::NoFileGrant),
        ),
        (Real(r("data/in/link_abs"), read), Reason(R::NoFileGrant)),
        (Real(r("data/in/dangle"), write), Reason(R::DanglingSymlink)),
        (
            Real(r("data/in/up/outside/secret.txt"), read),
            Reason(R::NoFileGrant),
        ),
        (
            Real(r("data/in/link_out/brand-new.txt"), write),
            Reason(R::NoFileGrant),
        ),
        (Real(r("data/in/loop1/x"), read), Expect::AnyUnresolvable),
        // A symlink from a read-write grant into a read grant does not make it writable.
        (Real(r("data/out/to_in/ok.txt"), write), Reason(R::ReadOnly)),
    ]);
    rows
}

#[test]
fn every_escape_attempt_is_denied_and_audited() {
    let t = tree();
    let caps = caps(&t);
    let rows = table(&t);
    assert!(rows.len() >= 30, "only {} attempts", rows.len());

    let log_path = t.root.join("audit.jsonl");
    let audit = AuditLog::builder()
        .tracing(false)
        .file(&log_path, FlushPolicy::EveryRecord)
        .build()
        .unwrap();
    let mut targets = Vec::new();
    for (i, (attempt, expect)) in rows.iter().enumerate() {
        let (op, target, decision) = attempt.run(&caps);
        match (expect, decision.reason()) {
            (Expect::Reason(want), Some(got)) => {
                assert_eq!(got, want, "row {i} ({op} {target:?})");
            }
            (Expect::AnyUnresolvable, Some(DenyReason::Unresolvable { .. })) => {}
            (_, got) => panic!("row {i} ({op} {target:?}): unexpected {got:?}"),
        }
        audit
            .record_decision("mallory", op.as_str(), &target, &decision)
            .unwrap();
        targets.push((op, target));
    }

    let text = std::fs::read_to_string(&log_path).unwrap();
    let records: Vec<AuditRecord> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(records.len(), rows.len());
    for (record, (op, target)) in records.iter().zip(&targets) {
        assert_eq!(record.component, "mallory");
        assert_eq!(record.operation, op.as_str());
        assert_eq!(record.target.as_deref(), Some(target.as_str()));
        assert!(record.reason.is_some());
    }
    assert!(verify(&log_path).unwrap().is_intact());
}

#[test]
fn legitimate_neighbours_of_the_escapes_are_allowed() {
    let t = tree();
    let caps = caps(&t);
    let r = |rel: &str| t.root.join(rel);
    assert!(
        caps.check_file(Path::new("/data/input/x"), FileAccess::Read)
            .is_allowed()
    );
    assert!(
        caps.check_file(Path::new("/data//input/./x"), FileAccess::Read)
            .is_allowed()
    );
    assert!(
        caps.check_file(Path::new("/data/out/new"), FileAccess::Write)
            .is_allowed()
    );
    assert!(
        caps.check_file_resolved(&r("data/in/ok.txt"), FileAccess::Read)
            .is_allowed()
    );
    assert!(
        caps.check_file_resolved(&r("data/out/new/deep.txt"), FileAccess::Write)
            .is_allowed()
    );
    assert!(
        caps.check_file_resolved(&r("data/out/../in/ok.txt"), FileAccess::Read)
            .is_allowed()
    );
    assert!(caps.check_connect("a.b.example.com", 8080).is_allowed());
    assert!(caps.check_connect("A.EXAMPLE.COM", 8000).is_allowed());
    assert!(caps.check_connect("10.255.255.255", 443).is_allowed());
    assert!(caps.check_connect("[::1]", 9000).is_allowed());
    assert!(caps.check_send("stage-").is_allowed());
    assert!(caps.check_request("db").is_allowed());
    assert!(caps.check_publish("events.x").is_allowed());
    assert!(caps.check_subscribe("events.*.x").is_allowed());
}

#[cfg(unix)]
#[test]
fn a_symlinked_grant_directory_is_matched_through_its_real_path() {
    let t = tree();
    std::os::unix::fs::symlink(t.root.join("data/in"), t.root.join("alias")).unwrap();
    let caps = CapabilitySet::builder()
        .read_dir(t.root.join("alias"))
        .build()
        .unwrap();
    let grant = &caps.file_grants()[0];
    assert_eq!(
        grant.resolved_path().unwrap(),
        std::fs::canonicalize(t.root.join("data/in")).unwrap()
    );
    assert!(
        caps.check_file_resolved(&t.root.join("alias/ok.txt"), FileAccess::Read)
            .is_allowed()
    );
    assert!(
        caps.check_file_resolved(&t.root.join("data/in/ok.txt"), FileAccess::Read)
            .is_allowed()
    );
    assert_eq!(
        caps.preopens().next().unwrap().0,
        grant.resolved_path().unwrap()
    );
}
