//! Admin endpoints: refused without the right token, and then nothing changes; with it,
//! status and a hot upgrade with rollback.

use super::support::{ADMIN_TOKEN, HostProcess, client, demo_manifest, guest, post};

async fn counter_digest(c: &reqwest::Client, host: &HostProcess) -> String {
    let v: serde_json::Value = c
        .get(host.url("/admin/status"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let counter = v["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["id"] == "counter")
        .unwrap()
        .clone();
    counter["digest"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn admin_endpoints_refuse_a_missing_or_wrong_token_and_change_nothing() {
    let host = HostProcess::start(&demo_manifest());
    let c = client();
    let before = counter_digest(&c, &host).await;
    // The token is checked before the body is read (the server does not read the upload of a
    // refused request), so a small prefix of a real component is enough here.
    let v2: Vec<u8> = std::fs::read(guest("counter_v2")).unwrap()[..1024].to_vec();

    let none = c.get(host.url("/admin/status")).send().await.unwrap();
    assert_eq!(none.status(), 401);
    let wrong = c
        .get(host.url("/admin/status"))
        .bearer_auth("not-the-token")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    for auth in [None, Some("not-the-token"), Some("test-admin-token2")] {
        let mut req = c
            .post(host.url("/admin/components/counter/upgrade"))
            .header("content-type", "application/wasm")
            .body(v2.clone());
        if let Some(t) = auth {
            req = req.bearer_auth(t);
        }
        assert_eq!(req.send().await.unwrap().status(), 401, "token {auth:?}");
    }
    assert_eq!(
        counter_digest(&c, &host).await,
        before,
        "a refused upgrade changed the code"
    );
    assert_eq!(
        post(&c, host.url("/components/counter"), "version").await,
        (200, "1".to_owned())
    );
}

#[tokio::test]
async fn upgrade_with_the_token_keeps_state_and_a_bad_version_is_rolled_back() {
    let host = HostProcess::start(&demo_manifest());
    let c = client();
    assert_eq!(
        post(&c, host.url("/components/counter"), "add 41").await.1,
        "41"
    );
    let upgrade = |bytes: Vec<u8>| {
        c.post(host.url("/admin/components/counter/upgrade"))
            .bearer_auth(ADMIN_TOKEN)
            .header("content-type", "application/wasm")
            .body(bytes)
            .send()
    };
    // A new version that fails to restore the state is rolled back: 409, old code runs.
    let bad = upgrade(std::fs::read(guest("counter_bad_restore")).unwrap())
        .await
        .unwrap();
    assert_eq!(bad.status(), 409);
    assert!(bad.text().await.unwrap().contains("rolled back"));
    assert_eq!(
        post(&c, host.url("/components/counter"), "version").await.1,
        "1"
    );
    // Bytes that are not a component: 400 naming the problem.
    let junk = upgrade(b"not wasm at all".to_vec()).await.unwrap();
    assert_eq!(junk.status(), 400);
    assert!(
        junk.text()
            .await
            .unwrap()
            .contains("not a WebAssembly binary")
    );
    // A good new version: state preserved.
    let good = upgrade(std::fs::read(guest("counter_v2")).unwrap())
        .await
        .unwrap();
    assert_eq!(good.status(), 200);
    assert_eq!(
        post(&c, host.url("/components/counter"), "version").await.1,
        "2"
    );
    assert_eq!(
        post(&c, host.url("/components/counter"), "inc").await.1,
        "42"
    );
    // JSON form naming a file, to an unknown component: 404.
    let unknown = c
        .post(host.url("/admin/components/nope/upgrade"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&serde_json::json!({ "wasm": guest("counter_v2") }))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
}
