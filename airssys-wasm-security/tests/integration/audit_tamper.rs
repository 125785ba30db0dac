//! The audit log's hash chain: a clean file verifies, and each kind of tampering is reported at
//! the right line.

use std::path::{Path, PathBuf};

use airssys_wasm_security::{
    AuditDecision, AuditError, AuditEventKind, AuditLog, AuditRecord, CapabilitySet, FlushPolicy,
    GENESIS_HASH, Tamper, TamperKind, VerifyReport, verify, verify_reader,
};

const RECORDS: u64 = 6;

/// Writes `RECORDS` records (one grant, denials, lifecycle events) and returns the log.
fn write_log(path: &Path, policy: FlushPolicy) -> AuditLog {
    let log = AuditLog::builder()
        .tracing(false)
        .file(path, policy)
        .build()
        .unwrap();
    let caps = CapabilitySet::builder()
        .read_dir("/data/in")
        .publish("events.*")
        .build()
        .unwrap();
    log.granted("c0", &caps).unwrap();
    for i in 1..RECORDS - 1 {
        log.denied(
            &format!("c{i}"),
            "msg.publish",
            "admin.x",
            &"no publish grant",
        )
        .unwrap();
    }
    log.lifecycle(&format!("c{}", RECORDS - 1), "stopped", Some("normal"))
        .unwrap();
    log.flush().unwrap();
    log
}

struct Fixture {
    _dir: tempfile::TempDir,
    path: PathBuf,
    log: AuditLog,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let log = write_log(&path, FlushPolicy::EveryRecord);
    Fixture {
        _dir: dir,
        path,
        log,
    }
}

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

fn rewrite(path: &Path, lines: &[String]) {
    let mut text = lines.join("\n");
    text.push('\n');
    std::fs::write(path, text).unwrap();
}

/// The first problem as (line, kind).
fn found(report: &VerifyReport) -> (u64, TamperKind) {
    let t = tamper(report);
    (t.line, t.kind.clone())
}

fn tamper(report: &VerifyReport) -> &Tamper {
    report
        .tamper
        .as_ref()
        .expect("tampering should be reported")
}

#[test]
fn a_clean_file_verifies_and_its_head_matches_the_log() {
    let f = fixture();
    let report = verify(&f.path).unwrap();
    assert!(report.is_intact(), "{report}");
    assert_eq!(report.records, RECORDS);
    assert_eq!(report.head, f.log.head());
}

#[test]
fn records_carry_every_documented_field() {
    let f = fixture();
    let records: Vec<AuditRecord> = lines(&f.path)
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let grant = &records[0];
    assert_eq!(grant.seq, 0);
    assert_eq!(grant.prev_hash, GENESIS_HASH);
    assert_eq!(grant.event, AuditEventKind::Grant);
    assert_eq!(grant.decision, Some(AuditDecision::Granted));
    let caps = grant.capabilities.as_ref().unwrap();
    assert_eq!(caps.publish, vec!["events.*"]);
    let denial = &records[1];
    assert_eq!(denial.operation, "msg.publish");
    assert_eq!(denial.target.as_deref(), Some("admin.x"));
    assert_eq!(denial.reason.as_deref(), Some("no publish grant"));
    assert_eq!(denial.decision, Some(AuditDecision::Denied));
    let last = records.last().unwrap();
    assert_eq!(last.event, AuditEventKind::Lifecycle);
    assert_eq!(last.detail.as_deref(), Some("normal"));
    assert_eq!(last.decision, None);
    for (i, r) in records.iter().enumerate() {
        assert_eq!(r.seq, i as u64);
    }
    let first_line = &lines(&f.path)[0];
    assert!(first_line.contains(r#""time":""#) && first_line.contains(r#"Z","#));
}

#[test]
fn one_changed_byte_is_reported_at_its_line() {
    let f = fixture();
    let mut l = lines(&f.path);
    l[2] = l[2].replace(r#""component":"c2""#, r#""component":"c9""#);
    rewrite(&f.path, &l);
    let report = verify(&f.path).unwrap();
    assert_eq!(found(&report), (3, TamperKind::Changed));
    assert_eq!(report.records, 2);
}

#[test]
fn a_changed_byte_that_breaks_the_json_is_reported_as_malformed() {
    let f = fixture();
    let mut bytes = std::fs::read(&f.path).unwrap();
    let second_line_start = bytes.iter().position(|&b| b == b'\n').unwrap() + 1;
    bytes[second_line_start] = b'[';
    std::fs::write(&f.path, bytes).unwrap();
    let report = verify(&f.path).unwrap();
    assert_eq!(tamper(&report).line, 2);
    assert!(matches!(tamper(&report).kind, TamperKind::Malformed { .. }));
}

#[test]
fn a_changed_prev_hash_is_reported_at_its_own_line() {
    let f = fixture();
    let mut l = lines(&f.path);
    let record: AuditRecord = serde_json::from_str(&l[3]).unwrap();
    l[3] = l[3].replace(&record.prev_hash, &"f".repeat(64));
    rewrite(&f.path, &l);
    let report = verify(&f.path).unwrap();
    assert_eq!(found(&report), (4, TamperKind::Changed));
}

#[test]
fn a_changed_sequence_number_is_reported_as_changed() {
    let f = fixture();
    let mut l = lines(&f.path);
    l[5] = l[5].replace(r#""seq":5"#, r#""seq":7"#);
    rewrite(&f.path, &l);
    let report = verify(&f.path).unwrap();
    assert_eq!(found(&report), (6, TamperKind::Changed));
}

#[test]
fn one_removed_line_is_reported_where_it_is_missing() {
    let f = fixture();
    let mut l = lines(&f.path);
    l.remove(2);
    rewrite(&f.path, &l);
    let report = verify(&f.path).unwrap();
    assert_eq!(
        found(&report),
        (
            3,
            TamperKind::Removed {
                expected_seq: 2,
                found_seq: 3
            }
        )
    );
}

#[test]
fn a_removed_first_line_is_reported_at_line_one() {
    let f = fixture();
    let mut l = lines(&f.path);
    l.remove(0);
    rewrite(&f.path, &l);
    let report = verify(&f.path).unwrap();
    assert_eq!(
        tamper(&report).kind,
        TamperKind::Removed {
            expected_seq: 0,
            found_seq: 1
        }
    );
    assert_eq!(tamper(&report).line, 1);
}

#[test]
fn a_removed_last_line_shows_as_a_head_that_no_longer_matches() {
    let f = fixture();
    let mut l = lines(&f.path);
    l.pop();
    rewrite(&f.path, &l);
    let report = verify(&f.path).unwrap();
    assert!(report.is_intact());
    assert_eq!(report.records, RECORDS - 1);
    assert_ne!(report.head, f.log.head());
}

#[test]
fn two_swapped_lines_are_reported_as_reordered() {
    let f = fixture();
    let mut l = lines(&f.path);
    l.swap(2, 3);
    rewrite(&f.path, &l);
    let report = verify(&f.path).unwrap();
    assert_eq!(
        found(&report),
        (
            3,
            TamperKind::Reordered {
                expected_seq: 2,
                found_seq: 3
            }
        )
    );
}

#[test]
fn two_distant_swapped_lines_are_reported_as_reordered() {
    let f = fixture();
    let mut l = lines(&f.path);
    l.swap(1, 4);
    rewrite(&f.path, &l);
    let report = verify(&f.path).unwrap();
    assert_eq!(
        found(&report),
        (
            2,
            TamperKind::Reordered {
                expected_seq: 1,
                found_seq: 4
            }
        )
    );
}

#[test]
fn a_duplicated_line_is_reported_as_reordered() {
    let f = fixture();
    let mut l = lines(&f.path);
    let copy = l[1].clone();
    l.insert(3, copy);
    rewrite(&f.path, &l);
    let report = verify(&f.path).unwrap();
    assert_eq!(tamper(&report).line, 4);
    assert!(matches!(tamper(&report).kind, TamperKind::Reordered { .. }));
}

#[test]
fn a_missing_final_newline_is_malformed() {
    let report = verify_reader(&b"{}"[..]).unwrap();
    assert_eq!(tamper(&report).line, 1);
    assert!(matches!(tamper(&report).kind, TamperKind::Malformed { .. }));
}

#[test]
fn an_empty_log_verifies_with_the_genesis_head() {
    let report = verify_reader(&b""[..]).unwrap();
    assert!(report.is_intact());
    assert_eq!(report.records, 0);
    assert_eq!(report.head, GENESIS_HASH);
}

#[test]
fn reopening_a_file_continues_its_chain() {
    let f = fixture();
    let head = f.log.head();
    drop(f.log);
    let reopened = AuditLog::builder()
        .tracing(false)
        .file(&f.path, FlushPolicy::Fsync)
        .build()
        .unwrap();
    assert_eq!(reopened.next_seq(), RECORDS);
    assert_eq!(reopened.head(), head);
    reopened.lifecycle("c0", "restarted", None).unwrap();
    let report = verify(&f.path).unwrap();
    assert!(report.is_intact(), "{report}");
    assert_eq!(report.records, RECORDS + 1);
    assert_eq!(report.head, reopened.head());
}

#[test]
fn opening_a_file_with_a_torn_last_line_is_refused() {
    let f = fixture();
    drop(f.log);
    let mut text = std::fs::read_to_string(&f.path).unwrap();
    text.push_str(r#"{"seq":6,"ti"#);
    std::fs::write(&f.path, text).unwrap();
    let err = AuditLog::builder()
        .tracing(false)
        .file(&f.path, FlushPolicy::EveryRecord)
        .build()
        .unwrap_err();
    assert!(matches!(err, AuditError::CorruptTail { .. }), "{err}");
}

#[test]
fn verifying_a_missing_file_is_a_read_error() {
    let dir = tempfile::tempdir().unwrap();
    let err = verify(&dir.path().join("nope.jsonl")).unwrap_err();
    assert!(matches!(err, AuditError::Read { .. }));
    assert!(err.to_string().contains("nope.jsonl"));
}

#[test]
fn every_flush_policy_produces_a_verifiable_file() {
    for policy in [
        FlushPolicy::Buffered,
        FlushPolicy::EveryRecord,
        FlushPolicy::Fsync,
    ] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let log = write_log(&path, policy);
        drop(log);
        let report = verify(&path).unwrap();
        assert!(report.is_intact(), "{policy:?}: {report}");
        assert_eq!(report.records, RECORDS);
    }
}
