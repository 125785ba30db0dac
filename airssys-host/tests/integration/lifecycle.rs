//! Health under failure, graceful shutdown on SIGTERM, and the audit log it leaves.

use std::time::Duration;

use super::support::{
    ADMIN_TOKEN, HostProcess, airssys, client, demo_manifest, demo_variant, eventually, post,
};

#[tokio::test]
async fn health_turns_503_naming_the_component_whose_restart_intensity_is_exhausted() {
    let host = HostProcess::start(&demo_manifest());
    let c = client();
    let health = c.get(host.url("/health")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    // flaky allows 5 restarts within 10 s; every crash is a trap and a restart.
    for _ in 0..8 {
        let (status, _) = post(&c, host.url("/components/flaky"), "crash").await;
        if status == 404 {
            break; // its supervisor gave up and the name is gone
        }
    }
    let body = eventually(Duration::from_secs(20), || async {
        let r = c.get(host.url("/health")).send().await.ok()?;
        (r.status() == 503).then_some(())?;
        r.text().await.ok()
    })
    .await
    .expect("/health did not turn 503");
    let body: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["status"], "unhealthy");
    assert_eq!(body["failed"], serde_json::json!(["flaky"]), "{body}");
    // Its restarts stay counted after its supervisor is gone: 5 allowed, the 6th failure gave up.
    let flaky = body["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "flaky")
        .unwrap();
    assert_eq!(flaky["restarts"], 5, "{body}");
    assert_eq!(flaky["state"], "failed", "{body}");
    // The others keep serving.
    assert_eq!(
        post(&c, host.url("/components/echo"), "still here").await,
        (200, "still here".to_owned())
    );
}

#[tokio::test]
async fn sigterm_answers_every_accepted_request_then_exits_zero_with_a_drain_report() {
    let dir = tempfile::tempdir().unwrap();
    // A longer restart backoff for flaky, so requests are provably in flight at SIGTERM.
    let manifest = demo_variant(dir.path(), |t| {
        t.replace(
            r#"backoff = { kind = "exponential", initial = "50ms", max = "1s" }"#,
            r#"backoff = { kind = "delayed", delay = "1500ms" }"#,
        )
        .replace(r#"request_timeout = "2s""#, r#"request_timeout = "10s""#)
    });
    let mut host = HostProcess::start(&manifest);
    let c = client();
    // Trap flaky: it restarts after 1.5 s; requests sent meanwhile wait in its mailbox.
    assert_eq!(
        post(&c, host.url("/components/flaky"), "crash").await.0,
        500
    );
    let pending: Vec<_> = ["a", "b", "c"]
        .into_iter()
        .map(|p| {
            let c = c.clone();
            let url = host.url("/components/flaky");
            tokio::spawn(async move { post(&c, url, p).await })
        })
        .collect();
    let status_url = host.url("/admin/status");
    eventually(Duration::from_secs(5), || async {
        let r = c
            .get(&status_url)
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .ok()?;
        let v: serde_json::Value = r.json().await.ok()?;
        let flaky = v["components"]
            .as_array()?
            .iter()
            .find(|x| x["id"] == "flaky")?;
        (flaky["mailbox_depth"] == 3).then_some(())
    })
    .await
    .expect("the three requests did not queue at flaky");
    host.sigterm();
    let mut replies = Vec::new();
    for p in pending {
        replies.push(p.await.unwrap());
    }
    // All three answered with success; they reach flaky in any order, so each gets one of
    // the sequence numbers 1..=3.
    assert!(replies.iter().all(|(s, _)| *s == 200), "{replies:?}");
    let mut seqs: Vec<&str> = replies
        .iter()
        .map(|(_, b)| b.strip_prefix("ok ").unwrap().split(':').next().unwrap())
        .collect();
    let mut payloads: Vec<&str> = replies
        .iter()
        .map(|(_, b)| b.rsplit(": ").next().unwrap())
        .collect();
    seqs.sort_unstable();
    payloads.sort_unstable();
    assert_eq!(seqs, ["1", "2", "3"], "{replies:?}");
    assert_eq!(payloads, ["a", "b", "c"], "{replies:?}");
    let status = host.wait(Duration::from_secs(30));
    assert!(status.success(), "exit status {status}");
    let out = host.stdout();
    assert!(
        out.iter()
            .any(|l| l.starts_with("airssys: shutdown complete")),
        "{out:?}"
    );

    // The audit log it wrote verifies; a changed byte does not.
    let audit = host.state_dir.path().join("audit.jsonl");
    let ok = airssys()
        .args(["audit", "verify"])
        .arg(&audit)
        .output()
        .unwrap();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stdout)
    );
    assert!(String::from_utf8_lossy(&ok.stdout).contains("intact"));
    let text = std::fs::read_to_string(&audit).unwrap();
    assert!(text.contains("\"component\":\"flaky\""), "{text}");
    std::fs::write(&audit, text.replacen("\"flaky\"", "\"flakx\"", 1)).unwrap();
    let bad = airssys()
        .args(["audit", "verify"])
        .arg(&audit)
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stdout).contains("TAMPERED"));
}
