//! The retrieval log as auditors use it: queries, exports, verification, and
//! tampering of every kind found with its position.

use std::time::{Duration, Instant};

use dangan::audit::checkpoint::{Checkpoint, parse_public_key, read_local};
use dangan::audit::verify_with;
use serde_json::Value;

use crate::helpers::{
    Store, TestApp, error_code, repair_order, spawn_app, spawn_app_in, test_config,
};

async fn app_with_fast_checkpoints() -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let mut config = test_config(dir.path(), &Store::Local);
    config.audit.checkpoint_interval_secs = 1;
    spawn_app_in(dir, config).await
}

/// Waits for a checkpoint covering at least record `seq`.
async fn checkpoint_covering(app: &TestApp, seq: u64) -> Vec<Checkpoint> {
    let started = Instant::now();
    loop {
        let cps = read_local(&app.dir.path().join("audit/checkpoints.jsonl")).unwrap();
        if cps.last().is_some_and(|c| c.body.seq >= seq) {
            return cps;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "no checkpoint covering {seq}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn auditors_filter_page_and_export_the_log_and_their_queries_are_recorded() {
    let app = spawn_app().await;
    let clerk = app.token("clerk_bj").await;
    let doc = app.file_ok(&clerk, &repair_order(), b"x").await;
    let id = doc["id"].as_str().unwrap();
    let staff = app.token("staff_bj").await;
    for _ in 0..3 {
        app.get(&staff, &format!("/api/v1/documents/{id}")).await;
    }
    app.get(
        &app.token("staff_sh").await,
        &format!("/api/v1/documents/{id}"),
    )
    .await;
    let auditor = app.token("auditor").await;
    let page: Value = app
        .get(
            &auditor,
            "/api/v1/audit/events?user=staff_bj&action=document.view",
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["events"].as_array().unwrap().len(), 3);
    let e = &page["events"][0];
    for field in [
        "seq",
        "time",
        "user",
        "roles",
        "branch",
        "client",
        "action",
        "document",
        "archive_no",
        "vin",
        "outcome",
        "request_id",
        "prev_hash",
        "hash",
    ] {
        assert!(e.get(field).is_some(), "event lacks {field}: {e}");
    }
    let denied: Value = app
        .get(
            &auditor,
            "/api/v1/audit/events?outcome=denied&document=BJ01-WX-2026-000001",
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(denied["events"].as_array().unwrap().len(), 1);
    assert_eq!(denied["events"][0]["user"], "staff_sh");
    let vin = repair_order()["vehicle"]["vin"]
        .as_str()
        .unwrap()
        .to_lowercase();
    let by_vin: Value = app
        .get(&auditor, &format!("/api/v1/audit/events?vin={vin}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(by_vin["events"].as_array().unwrap().len(), 5, "{by_vin}");

    // Cursor paging returns every record once, in order.
    let mut seqs = vec![];
    let mut cursor = String::new();
    loop {
        let page: Value = app
            .get(&auditor, &format!("/api/v1/audit/events?limit=4{cursor}"))
            .await
            .json()
            .await
            .unwrap();
        seqs.extend(
            page["events"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["seq"].as_u64().unwrap()),
        );
        match page["next_cursor"].as_u64() {
            Some(c) => cursor = format!("&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(seqs, (1..=seqs.len() as u64).collect::<Vec<_>>());

    let r = app
        .get(
            &auditor,
            "/api/v1/audit/events?format=csv&action=document.view",
        )
        .await;
    assert_eq!(r.headers()["content-type"], "text/csv; charset=utf-8");
    let csv = r.text().await.unwrap();
    assert!(
        csv.starts_with("seq,time,user,roles,branch,client,action,outcome,document,archive_no"),
        "{csv}"
    );
    assert_eq!(csv.lines().count(), 1 + 4);

    assert_eq!(
        error_code(app.get(&staff, "/api/v1/audit/events").await).await,
        (403, "forbidden".into())
    );
    assert_eq!(
        error_code(app.get(&auditor, "/api/v1/audit/events?format=xml").await)
            .await
            .0,
        400
    );
    let own: Value = app
        .get(
            &auditor,
            "/api/v1/audit/events?user=auditor&action=audit.query",
        )
        .await
        .json()
        .await
        .unwrap();
    assert!(
        own["events"].as_array().unwrap().len() >= 5,
        "auditors' own queries are in the log"
    );
}

fn lines(path: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(String::from)
        .collect()
}

fn write(path: &std::path::Path, lines: &[String]) {
    std::fs::write(path, lines.join("\n") + "\n").unwrap();
}

#[tokio::test]
async fn verification_finds_every_kind_of_tampering_with_its_position() {
    let app = app_with_fast_checkpoints().await;
    let clerk = app.token("clerk_bj").await;
    let doc = app.file_ok(&clerk, &repair_order(), b"x").await;
    let staff = app.token("staff_bj").await;
    for _ in 0..20 {
        app.get(
            &staff,
            &format!("/api/v1/documents/{}", doc["id"].as_str().unwrap()),
        )
        .await;
    }
    let n = lines(&app.dir.path().join("audit/retrieval.log")).len() as u64;
    checkpoint_covering(&app, n).await;
    let auditor = app.token("auditor").await;
    let report: Value = app
        .get(&auditor, "/api/v1/audit/verify")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(report["ok"], true, "{report}");
    assert!(report["checkpoints_checked"].as_u64().unwrap() >= 1);

    // Freeze the log: stop the server, then tamper with copies.
    let dir = app.dir.path().to_path_buf();
    let app = app.restart().await;
    drop(app.token("auditor").await);
    let log = dir.join("audit/retrieval.log");
    let original = lines(&log);
    let checkpoints = read_local(&dir.join("audit/checkpoints.jsonl")).unwrap();
    let key =
        parse_public_key(&std::fs::read_to_string(dir.join("keys/audit-ed25519.der.pub")).unwrap())
            .unwrap();
    let scratch = tempfile::tempdir().unwrap();
    let copy = scratch.path().join("log");
    let check = |variant: Vec<String>| {
        write(&copy, &variant);
        verify_with(&copy, &checkpoints, Some(&key)).unwrap()
    };
    assert!(check(original.clone()).ok, "the untouched log verifies");

    let mut v = original.clone();
    v[4] = v[4].replacen("\"allowed\"", "\"denied\"", 1);
    assert_eq!(check(v).first_bad_seq, Some(5), "one changed byte");
    let mut v = original.clone();
    v.remove(6);
    assert_eq!(check(v).first_bad_seq, Some(7), "a deleted record");
    let mut v = original.clone();
    v.swap(8, 9);
    assert_eq!(check(v).first_bad_seq, Some(9), "two records reordered");
    let v: Vec<String> = original[..10].to_vec();
    let r = check(v);
    assert_eq!(r.first_bad_seq, Some(11), "a truncated tail: {r:?}");
    assert!(r.problem.unwrap().contains("missing"));

    // Rollback to an older, self-consistent state: a valid chain, cut short and
    // continued differently, no longer matches the signed checkpoint.
    let mut v: Vec<String> = original[..10].to_vec();
    let mut last: Value = serde_json::from_str(&v[9]).unwrap();
    for seq in 11..=(original.len() as u64) {
        let mut rec = last.clone();
        rec["seq"] = seq.into();
        rec["prev_hash"] = last["hash"].clone();
        rec["action"] = "auth.me".into();
        let mut record: dangan::audit::Record = serde_json::from_value(rec.clone()).unwrap();
        record.prev_hash = last["hash"].as_str().unwrap().to_string();
        rec["hash"] = dangan::audit::record_hash(&record).into();
        v.push(rec.to_string());
        last = rec;
    }
    let r = check(v);
    assert!(!r.ok, "{r:?}");
    assert!(
        r.problem.as_deref().unwrap().contains("signed checkpoint"),
        "{r:?}"
    );

    // The offline command says the same, with the auditor's copy of the key.
    let mut v = original.clone();
    v[2] = v[2].replacen("\"127.0.0.1\"", "\"127.0.0.2\"", 1);
    write(&copy, &v);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_dangan"))
        .args(["audit-verify", "--log"])
        .arg(&copy)
        .arg("--checkpoints")
        .arg(dir.join("audit/checkpoints.jsonl"))
        .arg("--public-key")
        .arg(dir.join("keys/audit-ed25519.der.pub"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["first_bad_seq"], 3);
}

#[tokio::test]
async fn a_replaced_sealed_segment_in_the_store_is_reported() {
    let app = app_with_fast_checkpoints().await;
    let clerk = app.token("clerk_bj").await;
    app.file_ok(&clerk, &repair_order(), b"x").await;
    let n = lines(&app.dir.path().join("audit/retrieval.log")).len() as u64;
    let cps = checkpoint_covering(&app, n).await;
    let first = &cps[0].body;
    let segment = app.dir.path().join("objects").join(&first.segment);
    let other = app.dir.path().join("objects/system/users");
    std::fs::copy(&other, &segment).unwrap();
    let auditor = app.token("auditor").await;
    let report: Value = app
        .get(&auditor, "/api/v1/audit/verify")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(report["ok"], false, "{report}");
    assert_eq!(report["first_bad_seq"], first.first_seq);
    assert!(
        report["problem"].as_str().unwrap().contains("segment"),
        "{report}"
    );
    let listed: Value = app
        .get(&auditor, "/api/v1/audit/checkpoints")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed["public_key"].as_str().unwrap().len(), 64);
    assert!(!listed["checkpoints"].as_array().unwrap().is_empty());
}
