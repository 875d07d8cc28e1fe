//! A full local disk: the server runs with its data directory on a small tmpfs
//! (mounted in a user + mount namespace of its own, so no privileges are
//! needed). Filled up, it answers with a clear error and corrupts nothing; once
//! space is freed it serves normally without a restart.

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::crash::{Server, add_clerk, file_one, free_port, login, server_env, wait_until_up};
use crate::helpers::{MASTER_KEY, error_code};

/// Starts dangan on a fresh 48 MiB tmpfs; `None` where namespaces are not allowed.
async fn start_on_tmpfs(mount_point: &std::path::Path) -> Option<Server> {
    start_with_tmpfs(mount_point, "", "48m").await
}

/// Starts dangan with its data directory at `root/data` and a fresh tmpfs of
/// `size` mounted at `root/under` (in a user + mount namespace of its own);
/// `None` where namespaces are not allowed.
pub async fn start_with_tmpfs(root: &std::path::Path, under: &str, size: &str) -> Option<Server> {
    let probe = Command::new("unshare")
        .args(["--user", "--map-root-user", "--mount", "true"])
        .status();
    if !probe.is_ok_and(|s| s.success()) {
        return None;
    }
    let port = free_port();
    let script = format!(
        "mkdir -p '{mount}' && mount -t tmpfs -o size={size} tmpfs '{mount}' && exec '{bin}' serve --bind 127.0.0.1:{port} --data-dir '{root}/data'",
        mount = root.join(under).display(),
        root = root.display(),
        bin = env!("CARGO_BIN_EXE_dangan"),
    );
    let mut cmd = Command::new("unshare");
    cmd.args(["--user", "--map-root-user", "--mount", "sh", "-c", &script]);
    let child = server_env(&mut cmd, MASTER_KEY).spawn().unwrap();
    Some(wait_until_up(child, port).await)
}

/// Fills the file system of `filler` to its last byte; returns the filler's size.
pub fn fill(filler: &std::path::Path) -> u64 {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(filler)
        .unwrap();
    for size in [64 * 1024, 4096, 256, 16, 1] {
        let chunk = vec![0u8; size];
        while f.write_all(&chunk).and_then(|()| f.sync_data()).is_ok() {}
    }
    f.metadata().unwrap().len()
}

#[tokio::test]
async fn a_full_disk_gives_a_clear_error_and_service_returns_once_space_is_freed() {
    let mount_point = tempfile::tempdir().unwrap();
    let Some(server) = start_on_tmpfs(mount_point.path()).await else {
        assert!(
            std::env::var("CI").is_err(),
            "CI must run the disk-full test: user namespaces are not available"
        );
        eprintln!("unshare --user --mount is not permitted here: skipping the disk-full test");
        return;
    };
    let client = reqwest::Client::new();
    let address = server.address.clone();
    // The tmpfs as the server sees it, through its /proc root.
    let inside = std::path::PathBuf::from(format!(
        "/proc/{}/root{}",
        server.child.id(),
        mount_point.path().display()
    ));
    let (admin, clerk) = add_clerk(&client, &address).await;
    let auditor = json!({"username": "auditor", "password": "auditor-password", "roles": ["auditor"], "branch": "*", "clearance": "restricted"});
    let r = client
        .post(format!("{address}/api/v1/users"))
        .bearer_auth(&admin)
        .json(&auditor)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let auditor = login(&client, &address, "auditor", "auditor-password").await;
    let mut filed = vec![];
    for i in 0..3 {
        let body = format!("满盘前 {i}").into_bytes();
        let doc = file_one(&client, &address, &clerk, body.clone()).await;
        filed.push((doc["id"].as_str().unwrap().to_string(), body));
    }

    let filler = inside.join("filler");
    let fill = || fill(&filler);
    // Room for a document but not for its index segment: the index commit fails,
    // is retried, and succeeds once there is room again.
    let full = fill();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&filler)
        .unwrap()
        .set_len(full - 2 * 1024 * 1024)
        .unwrap();
    let text: String = (0..300_000u32)
        .map(|i| char::from_u32(0x4E00 + (i * 7919) % 20_000).unwrap())
        .collect();
    let long = format!("索引重试标记 {text}").into_bytes();
    let doc = file_one(&client, &address, &clerk, long.clone()).await;
    let long_id = doc["id"].as_str().unwrap().to_string();
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let searchable = || async {
        client
            .get(format!(
                "{address}/api/v1/search?q=%E7%B4%A2%E5%BC%95%E9%87%8D%E8%AF%95%E6%A0%87%E8%AE%B0"
            ))
            .bearer_auth(&clerk)
            .send()
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap()["total"]
            == 1
    };
    let before = searchable().await;
    std::fs::remove_file(&filler).unwrap();
    let freed = Instant::now();
    while !searchable().await {
        assert!(
            freed.elapsed() < Duration::from_secs(15),
            "the index catches up once space is freed"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    eprintln!(
        "searchable while full: {before}; after freeing: in {:?}",
        freed.elapsed()
    );
    filed.push((long_id, long));

    // Fill the disk but for about 1 MiB (once the index has settled): an 8 MiB
    // filing cannot be stored.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let full = fill();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&filler)
        .unwrap()
        .set_len(full - 1024 * 1024)
        .unwrap();
    let content_files = || {
        let mut n = 0;
        for doc in std::fs::read_dir(inside.join("data/objects/docs")).unwrap() {
            n += std::fs::read_dir(doc.unwrap().path().join("content"))
                .map(|d| d.count())
                .unwrap_or(0);
        }
        n
    };
    let big = |len| {
        reqwest::multipart::Form::new()
            .text("metadata", crate::helpers::repair_order().to_string())
            .part(
                "file",
                reqwest::multipart::Part::bytes(vec![7u8; len]).file_name("a.txt"),
            )
    };
    let r = client
        .post(format!("{address}/api/v1/documents"))
        .bearer_auth(&clerk)
        .multipart(big(8 * 1024 * 1024))
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_code(r).await,
        (507, "storage_full".into()),
        "a filing the object store has no room for"
    );
    assert_eq!(content_files(), 4, "nothing of it is left in the store");
    let r = client
        .get(format!("{address}/api/v1/documents/{}/content", filed[0].0))
        .bearer_auth(&clerk)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "reads go on while the log has room");

    // Completely full: not even the retrieval log can take a record.
    fill();
    let r = client
        .post(format!("{address}/api/v1/documents"))
        .bearer_auth(&clerk)
        .multipart(big(1024))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(r).await, (507, "storage_full".into()));
    // Reads go on while the log's last page has room for their records (tmpfs
    // fills by pages); then they are refused: no access without a durable record.
    let mut refused = None;
    for n in 0..1000 {
        let r = client
            .get(format!("{address}/api/v1/documents/{}/content", filed[0].0))
            .bearer_auth(&clerk)
            .send()
            .await
            .unwrap();
        if r.status() != 200 {
            assert_eq!(error_code(r).await, (507, "storage_full".into()));
            refused = Some(n);
            break;
        }
    }
    assert!(refused.is_some(), "reads are refused once the log is full");

    // Free the space: service resumes without a restart.
    std::fs::remove_file(&filler).unwrap();
    let body = "空间释放后".as_bytes().to_vec();
    let doc = file_one(&client, &address, &clerk, body.clone()).await;
    filed.push((doc["id"].as_str().unwrap().to_string(), body));
    for (id, body) in &filed {
        let r = client
            .get(format!("{address}/api/v1/documents/{id}/content"))
            .bearer_auth(&clerk)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.bytes().await.unwrap(), *body);
    }
    let mut found = Value::Null;
    for _ in 0..20 {
        found = client
            .get(format!(
                "{address}/api/v1/search?q=%E7%A9%BA%E9%97%B4%E9%87%8A%E6%94%BE"
            ))
            .bearer_auth(&clerk)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if found["total"] == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert_eq!(found["total"], 1, "the index works again: {found}");
    let report: Value = client
        .get(format!("{address}/api/v1/audit/verify"))
        .bearer_auth(&auditor)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(report["ok"], true, "the retrieval log is whole: {report}");
}
