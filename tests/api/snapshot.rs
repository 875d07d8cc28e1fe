//! Start-up from the catalog snapshot. A clean stop leaves a snapshot that the
//! next start uses without reading a manifest; after a crash, only documents
//! changed since the snapshot's mark are read again, and nothing is missing;
//! without a usable snapshot the whole store is read, as before.

use serde_json::{Value, json};

use crate::helpers::{TestApp, repair_order, spawn_app, spawn_app_in};

/// (from snapshot, manifests read) at the app's start, from `/metrics`.
async fn start_figures(app: &TestApp) -> (i64, i64) {
    let text = crate::helpers::metrics_text(&app.address).await;
    let gauge = |name: &str| -> i64 {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{name} ")))
            .unwrap_or_else(|| panic!("{name} in /metrics"))
            .trim()
            .parse()
            .unwrap()
    };
    (
        gauge("dangan_start_catalog_from_snapshot"),
        gauge("dangan_start_catalog_manifests_read"),
    )
}

async fn file_three(app: &TestApp, clerk: &str) -> Vec<Value> {
    let mut docs = vec![];
    for i in 0..3 {
        docs.push(
            app.file_ok(clerk, &repair_order(), format!("工单 {i}").as_bytes())
                .await,
        );
    }
    docs
}

/// Every document answers by archive number and the next filing continues
/// the series: the catalog is whole.
async fn assert_whole(app: &TestApp, docs: &[Value], next: &str) {
    let clerk = app.token("clerk_bj").await;
    for d in docs {
        let no = d["archive_no"].as_str().unwrap();
        let r = app.get(&clerk, &format!("/api/v1/documents/{no}")).await;
        assert_eq!(r.status(), 200, "{no} resolves");
        let id = d["id"].as_str().unwrap();
        assert_eq!(app.content(&clerk, id).await.status(), 200);
    }
    let later = app.file_ok(&clerk, &repair_order(), b"later").await;
    assert_eq!(later["archive_no"], next, "no number is handed out twice");
}

#[tokio::test]
async fn a_restart_after_a_clean_stop_reads_no_manifest() {
    let app = spawn_app().await;
    let clerk = app.token("clerk_bj").await;
    let docs = file_three(&app, &clerk).await;
    let (dir, config) = app.stop().await;
    let marker = dir.path().join("catalog.clean");
    assert!(marker.exists(), "a graceful stop marks its snapshot clean");
    let app = spawn_app_in(dir, config).await;
    assert!(
        !marker.exists(),
        "taken at start: a crash from here on is no clean stop"
    );
    assert_eq!(start_figures(&app).await, (1, 0));
    assert_whole(&app, &docs, "BJ01-WX-2026-000004").await;
    app.stop().await;
}

#[tokio::test]
async fn after_a_crash_the_documents_changed_since_the_snapshot_are_read_again() {
    let app = spawn_app().await;
    // A start that read the store snapshots at once, in the background.
    let path = app.dir.path().join(dangan::startup::SNAPSHOT_FILE);
    let started = std::time::Instant::now();
    while !path.exists() {
        assert!(started.elapsed().as_secs() < 10, "a snapshot after start");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let clerk = app.token("clerk_bj").await;
    let docs = file_three(&app, &clerk).await;
    let id = docs[0]["id"].as_str().unwrap();
    let r = app
        .client
        .patch(app.url(&format!("/api/v1/documents/{id}")))
        .bearer_auth(&clerk)
        .json(&json!({"changes": {"title": "更正后的标题"}, "reason": "录入错误"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // The state a crash leaves now: the snapshot written after start (no
    // documents) and the log with four change records after its mark.
    let image = tempfile::tempdir().unwrap();
    let copied = std::process::Command::new("cp")
        .arg("-a")
        .arg(format!("{}/.", app.dir.path().display()))
        .arg(image.path())
        .status()
        .unwrap();
    assert!(copied.success());
    let mut config = app.config.clone();
    config.data_dir = image.path().to_path_buf();
    let crashed = spawn_app_in(image, config).await;
    assert_eq!(
        start_figures(&crashed).await,
        (1, 3),
        "the three changed documents, each read once"
    );
    let clerk = crashed.token("clerk_bj").await;
    let corrected: Value = crashed
        .get(&clerk, &format!("/api/v1/documents/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(corrected["title"], "更正后的标题");
    assert_whole(&crashed, &docs, "BJ01-WX-2026-000004").await;
    crashed.stop().await;
    app.stop().await;
}

#[tokio::test]
async fn an_unusable_snapshot_means_reading_the_store() {
    let app = spawn_app().await;
    let clerk = app.token("clerk_bj").await;
    let docs = file_three(&app, &clerk).await;
    let (dir, config) = app.stop().await;
    let path = dir.path().join(dangan::startup::SNAPSHOT_FILE);
    assert!(path.exists(), "a clean stop leaves a snapshot");
    std::fs::write(&path, b"{\"not\": \"a sealed snapshot\"}").unwrap();
    let app = spawn_app_in(dir, config).await;
    assert_eq!(start_figures(&app).await, (0, 3));
    assert_whole(&app, &docs, "BJ01-WX-2026-000004").await;
    app.stop().await;
}
