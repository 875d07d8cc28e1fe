//! One conformance suite for the object store wrapper, run against the local
//! filesystem store and a real S3-compatible server (SeaweedFS, started by
//! `.ci/run`), plus the whole filing round trip on S3.

use dangan::storage::BlobStore;
use object_store::path::Path;
use sha2::{Digest, Sha256};

use crate::helpers::{Store, error_code, repair_order, s3_target, spawn_app_with, test_config};

async fn conformance(store: BlobStore) {
    let p = |s: &str| Path::from(s);
    assert!(
        store.get(&p("t/missing")).await.unwrap().is_none(),
        "missing objects are None"
    );
    assert!(store.get_stream(&p("t/missing")).await.unwrap().is_none());
    store
        .delete(&p("t/missing"))
        .await
        .expect("deleting a missing object succeeds");

    store.put(&p("t/a/1"), b"one".to_vec()).await.unwrap();
    store.put(&p("t/a/2"), b"two".to_vec()).await.unwrap();
    store.put(&p("t/b/1"), Vec::new()).await.unwrap();
    assert_eq!(
        store.get(&p("t/a/1")).await.unwrap().unwrap().as_ref(),
        b"one"
    );
    assert_eq!(
        store.get(&p("t/b/1")).await.unwrap().unwrap().len(),
        0,
        "empty objects exist"
    );
    store.put(&p("t/a/1"), b"uno".to_vec()).await.unwrap();
    assert_eq!(
        store.get(&p("t/a/1")).await.unwrap().unwrap().as_ref(),
        b"uno",
        "put replaces"
    );
    let mut listed: Vec<String> = store
        .list(&p("t/a"))
        .await
        .unwrap()
        .iter()
        .map(|p| p.to_string())
        .collect();
    listed.sort();
    assert_eq!(listed, ["t/a/1", "t/a/2"], "list is by path segment");

    // Large objects stream up as multipart uploads and come back identical.
    let big: Vec<u8> = (0..20 * 1024 * 1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    let mut w = store.writer(p("t/big"));
    for piece in big.chunks(1_000_003) {
        w.write(piece).await.unwrap();
    }
    w.finish().await.unwrap();
    let mut stream = store.get_stream(&p("t/big")).await.unwrap().unwrap();
    let mut hasher = Sha256::new();
    let mut n = 0;
    while let Some(piece) = futures_util::StreamExt::next(&mut stream).await {
        let piece = piece.unwrap();
        n += piece.len();
        hasher.update(&piece);
    }
    assert_eq!(n, big.len());
    assert_eq!(hasher.finalize(), Sha256::digest(&big));

    // An abandoned upload leaves nothing visible.
    let mut w = store.writer(p("t/abandoned"));
    w.write(&big).await.unwrap();
    w.abort().await;
    assert!(store.get(&p("t/abandoned")).await.unwrap().is_none());
    let mut w = store.writer(p("t/small-abandoned"));
    w.write(b"x").await.unwrap();
    w.abort().await;
    assert!(store.get(&p("t/small-abandoned")).await.unwrap().is_none());

    // Create-only writes never replace what is there.
    store
        .put_new(&p("t/once"), b"first".to_vec())
        .await
        .unwrap();
    let again = store
        .put_new(&p("t/once"), b"second".to_vec())
        .await
        .unwrap_err();
    assert_eq!(again.code, "already_exists");
    assert_eq!(
        store.get(&p("t/once")).await.unwrap().unwrap().as_ref(),
        b"first"
    );

    for path in ["t/a/1", "t/a/2", "t/b/1", "t/big", "t/once"] {
        store.delete(&p(path)).await.unwrap();
    }
    assert!(store.list(&p("t")).await.unwrap().is_empty());
}

#[tokio::test]
async fn local_store_conforms() {
    let dir = tempfile::tempdir().unwrap();
    let config = test_config(dir.path(), &Store::Local);
    conformance(BlobStore::open(&config.storage, &dir.path().join("objects")).unwrap()).await;
}

#[tokio::test]
async fn s3_store_conforms() {
    let Some(target) = s3_target() else { return };
    let dir = tempfile::tempdir().unwrap();
    let config = test_config(dir.path(), &Store::S3(target));
    let store = BlobStore::open(&config.storage, &dir.path().join("objects")).unwrap();
    conformance(store).await;
}

#[tokio::test]
async fn filing_round_trip_on_s3() {
    let Some(target) = s3_target() else { return };
    let app = spawn_app_with(Store::S3(target)).await;
    let clerk = app.token("clerk_bj").await;
    let body = "S3 上的维修委托书".repeat(10_000).into_bytes();
    let doc = app.file_ok(&clerk, &repair_order(), &body).await;
    let id = doc["id"].as_str().unwrap();
    let staff = app.token("staff_bj").await;
    let r = app.content(&staff, id).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.bytes().await.unwrap().as_ref(), body.as_slice());
    let r = app
        .get(&staff, "/api/v1/documents/BJ01-WX-2026-000002")
        .await;
    assert_eq!(error_code(r).await.0, 404);
    assert!(
        app.object_files().is_empty(),
        "nothing lands on the local disk when the store is S3"
    );
}

#[tokio::test]
async fn an_unreachable_store_is_refused_at_start_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let target = crate::helpers::S3Target {
        endpoint: "http://127.0.0.1:9".into(),
        bucket: "nowhere".into(),
        access_key: "x".into(),
        secret_key: "y".into(),
    };
    let mut config = test_config(dir.path(), &Store::S3(target));
    config.storage.s3.max_retries = 0;
    config.storage.s3.request_timeout_secs = 2;
    let err = dangan::startup::Application::build(config)
        .await
        .err()
        .expect("refuses to start");
    assert!(err.contains("unreachable"), "{err}");
}
