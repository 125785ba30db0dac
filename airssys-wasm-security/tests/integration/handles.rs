//! Public handles are thread-safe and errors are well-behaved.

use airssys_wasm_security::{
    AuditError, AuditLog, CapabilityError, CapabilitySet, CapabilitySpec, Decision, DenyReason,
    ManifestError, VerifyReport,
};

fn is_send_sync<T: Send + Sync>() {}
fn is_error<T: std::error::Error + Send + Sync + 'static>() {}

#[test]
fn public_handles_are_send_and_sync() {
    is_send_sync::<CapabilitySet>();
    is_send_sync::<AuditLog>();
    is_send_sync::<Decision>();
    is_send_sync::<DenyReason>();
    is_send_sync::<CapabilitySpec>();
    is_send_sync::<VerifyReport>();
}

#[test]
fn errors_are_error_send_sync_and_static() {
    is_error::<CapabilityError>();
    is_error::<ManifestError>();
    is_error::<AuditError>();
}

#[test]
fn capability_sets_are_shared_across_threads() {
    let caps = CapabilitySet::builder().publish("a.*").build().unwrap();
    let handles: Vec<_> = (0..4)
        .map(|i| {
            let caps = caps.clone();
            std::thread::spawn(move || caps.check_publish(&format!("a.{i}")).is_allowed())
        })
        .collect();
    for h in handles {
        assert!(h.join().unwrap());
    }
}

#[test]
fn audit_logs_written_from_many_threads_keep_one_intact_chain() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let log = AuditLog::builder()
        .tracing(false)
        .file(&path, airssys_wasm_security::FlushPolicy::Buffered)
        .build()
        .unwrap();
    let handles: Vec<_> = (0..4)
        .map(|t| {
            let log = log.clone();
            std::thread::spawn(move || {
                for i in 0..25 {
                    log.lifecycle(&format!("c{t}"), "tick", Some(&i.to_string()))
                        .unwrap();
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    log.flush().unwrap();
    let report = airssys_wasm_security::verify(&path).unwrap();
    assert!(report.is_intact(), "{report}");
    assert_eq!(report.records, 100);
    assert_eq!(report.head, log.head());
}
