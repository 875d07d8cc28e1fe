//! Nothing readable reaches the store, and any damage to what is stored is
//! caught on read as an integrity error, never served as garbage.

use std::path::PathBuf;

use crate::helpers::{
    Store, TestApp, error_code, repair_order, spawn_app, spawn_app_in, test_config,
};

const MARKER: &str = "PLAINTEXT-MARKER-维修委托书-7f3a";

async fn filed(app: &TestApp, body: &str) -> String {
    let clerk = app.token("clerk_bj").await;
    app.file_ok(&clerk, &repair_order(), body.as_bytes()).await["id"]
        .as_str()
        .unwrap()
        .to_string()
}

fn content_file(app: &TestApp, id: &str) -> PathBuf {
    app.dir.path().join(format!("objects/docs/{id}/content/1"))
}

async fn assert_integrity_error(app: &TestApp, id: &str) {
    let staff = app.token("staff_bj").await;
    let r = app.content(&staff, id).await;
    assert_eq!(error_code(r).await, (500, "integrity_error".into()));
}

#[tokio::test]
async fn the_object_store_holds_no_plaintext() {
    let app = spawn_app().await;
    filed(
        &app,
        &format!("{MARKER} 客户王伟 13812341234 11010519491231002X"),
    )
    .await;
    let files = app.object_files();
    assert!(
        files.len() >= 3,
        "expected manifest, content and system objects, got {files:?}"
    );
    let vin = repair_order()["vehicle"]["vin"]
        .as_str()
        .unwrap()
        .to_string();
    for file in files {
        let bytes = std::fs::read(&file).unwrap();
        for needle in [
            MARKER,
            "13812341234",
            "11010519491231002X",
            "王伟",
            "刹车片",
            vin.as_str(),
            "clerk_bj",
            "staff_bj",
        ] {
            let found = bytes.windows(needle.len()).any(|w| w == needle.as_bytes());
            assert!(!found, "{needle:?} found in {}", file.display());
        }
    }
}

#[tokio::test]
async fn flipping_any_byte_of_a_content_object_is_an_integrity_error() {
    let app = spawn_app().await;
    let id = filed(&app, &"内容".repeat(100)).await;
    let path = content_file(&app, &id);
    let original = std::fs::read(&path).unwrap();
    // Every byte position of the header, then a spread over the body and the tag.
    let positions: Vec<usize> = (0..15)
        .chain((15..original.len()).step_by(37))
        .chain([original.len() - 1])
        .collect();
    for pos in positions {
        let mut bad = original.clone();
        bad[pos] ^= 0x40;
        std::fs::write(&path, &bad).unwrap();
        assert_integrity_error(&app, &id).await;
    }
    std::fs::write(&path, &original).unwrap();
    assert_eq!(
        app.content(&app.token("staff_bj").await, &id)
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn truncated_or_missing_content_is_an_integrity_error() {
    let app = spawn_app().await;
    let id = filed(&app, &"x".repeat(200_000)).await;
    let path = content_file(&app, &id);
    let original = std::fs::read(&path).unwrap();
    for len in [0, 10, 15 + 65_536 + 16, original.len() - 1] {
        std::fs::write(&path, &original[..len]).unwrap();
        assert_integrity_error(&app, &id).await;
    }
    std::fs::remove_file(&path).unwrap();
    assert_integrity_error(&app, &id).await;
}

#[tokio::test]
async fn swapping_two_documents_objects_is_detected() {
    let app = spawn_app().await;
    let a = filed(&app, "document A").await;
    let b = filed(&app, "document B").await;
    let (pa, pb) = (content_file(&app, &a), content_file(&app, &b));
    let (ca, cb) = (std::fs::read(&pa).unwrap(), std::fs::read(&pb).unwrap());
    std::fs::write(&pa, &cb).unwrap();
    std::fs::write(&pb, &ca).unwrap();
    assert_integrity_error(&app, &a).await;
    assert_integrity_error(&app, &b).await;
}

#[tokio::test]
async fn a_damaged_or_swapped_manifest_is_an_integrity_error_after_restart() {
    let app = spawn_app().await;
    let a = filed(&app, "document A").await;
    let b = filed(&app, "document B").await;
    let c = filed(&app, "document C").await;
    let manifest = |id: &str| app.dir.path().join(format!("objects/docs/{id}/manifest"));
    let mut bytes = std::fs::read(manifest(&a)).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x01;
    std::fs::write(manifest(&a), bytes).unwrap();
    std::fs::copy(manifest(&c), manifest(&b)).unwrap();
    let app = app.restart().await;
    let staff = app.token("staff_bj").await;
    for id in [&a, &b] {
        let r = app.get(&staff, &format!("/api/v1/documents/{id}")).await;
        assert_eq!(error_code(r).await, (500, "integrity_error".into()), "{id}");
    }
    assert_eq!(
        app.get(&staff, &format!("/api/v1/documents/{c}"))
            .await
            .status(),
        200,
        "the rest stays available"
    );
}

#[tokio::test]
async fn a_wrong_master_key_fails_cleanly_at_start() {
    let app = spawn_app().await;
    filed(&app, "x").await;
    let mut config = test_config(app.dir.path(), &Store::Local);
    config.crypto.master_key = "ff".repeat(32).into();
    let err = dangan::startup::Application::build(config)
        .await
        .err()
        .expect("refuses to start");
    assert!(err.contains("wrong master key"), "{err}");
}

#[tokio::test]
async fn the_generated_master_key_file_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let mut config = test_config(dir.path(), &Store::Local);
    config.crypto.master_key = String::new().into();
    let app = spawn_app_in(dir, config).await;
    for file in ["keys/master.key", "keys/jwt-ed25519.der"] {
        let mode = std::fs::metadata(app.dir.path().join(file))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{file}");
    }
}

#[tokio::test]
async fn the_fixity_check_names_damaged_objects_and_passes_a_clean_archive() {
    let app = spawn_app().await;
    let clerk = app.token("clerk_bj").await;
    let mut ids = vec![];
    for i in 0..30 {
        let doc = app
            .file_ok(
                &clerk,
                &repair_order(),
                format!("第{i}份").repeat(2000).as_bytes(),
            )
            .await;
        ids.push((
            doc["id"].as_str().unwrap().to_string(),
            doc["archive_no"].as_str().unwrap().to_string(),
        ));
    }
    let (dir, _config) = app.stop().await;
    let run = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_dangan"))
            .args(["fixity", "--data-dir"])
            .arg(dir.path())
            .env("DANGAN__CRYPTO__MASTER_KEY", crate::helpers::MASTER_KEY)
            .env("RUST_LOG", "error")
            .output()
            .unwrap()
    };
    let out = run();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (report["ok"].as_bool(), report["versions"].as_u64()),
        (Some(true), Some(30))
    );
    assert!(
        report["seconds"].as_f64().is_some(),
        "the report says how long it took"
    );

    let (id, archive_no) = &ids[17];
    let path = dir.path().join(format!("objects/docs/{id}/content/1"));
    let mut bytes = std::fs::read(&path).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x08;
    std::fs::write(&path, bytes).unwrap();
    let out = run();
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["damaged"].as_array().unwrap().len(), 1);
    assert_eq!(report["damaged"][0]["archive_no"], archive_no.as_str());
    let log = std::fs::read_to_string(dir.path().join("audit/retrieval.log")).unwrap();
    assert!(
        log.contains("\"fixity.damage\""),
        "the damage is in the retrieval log"
    );
}

#[tokio::test]
async fn key_rotation_rewraps_every_key_resumes_and_retires_the_old_key() {
    let app = spawn_app().await;
    let clerk = app.token("clerk_bj").await;
    let mut bodies = vec![];
    for i in 0..12 {
        let doc = app
            .file_ok(&clerk, &repair_order(), format!("轮换测试 {i}").as_bytes())
            .await;
        bodies.push((
            doc["id"].as_str().unwrap().to_string(),
            format!("轮换测试 {i}"),
        ));
    }
    let (dir, _) = app.stop().await;
    let old = dir.path().join("old.key");
    let new = dir.path().join("new.key");
    std::fs::write(&old, crate::helpers::MASTER_KEY).unwrap();
    let new_hex = "5a".repeat(32);
    std::fs::write(&new, &new_hex).unwrap();
    let cfg = dir.path().join("rotate.toml");
    std::fs::write(
        &cfg,
        format!(
            "[crypto]\nmaster_key_file = {:?}\nretired_key_files = [{:?}]\n",
            new.display().to_string(),
            old.display().to_string()
        ),
    )
    .unwrap();
    // Keep five manifests as they were, to play an interrupted rotation afterwards.
    let manifest = |id: &str| dir.path().join(format!("objects/docs/{id}/manifest"));
    let before: Vec<(String, Vec<u8>)> = bodies
        .iter()
        .take(5)
        .map(|(id, _)| (id.clone(), std::fs::read(manifest(id)).unwrap()))
        .collect();
    let rotate = || {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_dangan"))
            .args(["keys-rotate", "--config"])
            .arg(&cfg)
            .arg("--data-dir")
            .arg(dir.path())
            .env("RUST_LOG", "error")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    let report = rotate();
    assert_eq!(report["manifests_rewrapped"], 12, "{report}");
    assert_eq!(report["remaining"], 0);
    assert!(
        report["objects_rewrapped"].as_u64().unwrap() >= 2,
        "users and key check at least: {report}"
    );
    for (id, bytes) in &before {
        std::fs::write(manifest(id), bytes).unwrap();
    }
    let report = rotate();
    assert_eq!(
        (
            report["manifests_rewrapped"].as_u64(),
            report["remaining"].as_u64()
        ),
        (Some(5), Some(0)),
        "the interrupted part is finished"
    );

    // The old key can go: the archive reads with the new key alone.
    let mut config = test_config(dir.path(), &Store::Local);
    config.crypto.master_key = new_hex.clone().into();
    let app = spawn_app_in(dir, config).await;
    let staff = app.token("staff_bj").await;
    for (id, body) in &bodies {
        let r = app.content(&staff, id).await;
        assert_eq!(r.text().await.unwrap(), *body);
    }
    let found: serde_json::Value = app
        .get(&staff, "/api/v1/search?q=13812341234")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        found["total"], 12,
        "phone lookups work after the index is rebuilt under the new key"
    );
    let (dir, _) = app.stop().await;
    let mut config = test_config(dir.path(), &Store::Local);
    config.crypto.master_key = crate::helpers::MASTER_KEY.to_string().into();
    let err = dangan::startup::Application::build(config)
        .await
        .err()
        .expect("the old key alone no longer opens the archive");
    assert!(err.contains("wrong master key"), "{err}");
}
