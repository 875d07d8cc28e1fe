//! A filing acknowledged with 201 survives `kill -9` of the server.

use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::helpers::{MASTER_KEY, repair_order};

pub use crate::process::*;

#[tokio::test]
async fn a_filing_acknowledged_with_201_survives_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let client = reqwest::Client::new();
    let mut server = start_server(dir.path()).await;
    let (_, token) = add_clerk(&client, &server.address).await;
    let mut filed = vec![];
    for i in 0..5 {
        let body = format!("第{i}份委托书").repeat(1000).into_bytes();
        let form = reqwest::multipart::Form::new()
            .text("metadata", repair_order().to_string())
            .part(
                "file",
                reqwest::multipart::Part::bytes(body.clone()).file_name("a.txt"),
            );
        let r = client
            .post(format!("{}/api/v1/documents", server.address))
            .bearer_auth(&token)
            .multipart(form)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        let doc: Value = r.json().await.unwrap();
        filed.push((
            doc["id"].as_str().unwrap().to_string(),
            doc["archive_no"].as_str().unwrap().to_string(),
            body,
        ));
    }
    server.child.kill().unwrap(); // SIGKILL, right after the last 201
    server.child.wait().unwrap();

    let mut server = start_server(dir.path()).await;
    let token = login(&client, &server.address, "clerk", "clerk-password").await;
    for (id, archive_no, body) in &filed {
        let r = client
            .get(format!(
                "{}/api/v1/documents/{archive_no}/content",
                server.address
            ))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{archive_no}");
        assert_eq!(r.bytes().await.unwrap().as_ref(), body.as_slice());
        let meta: Value = client
            .get(format!("{}/api/v1/documents/{id}", server.address))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(meta["archive_no"], archive_no.as_str());
    }
    let report = dangan::audit::verify(&dir.path().join("audit/retrieval.log")).unwrap();
    assert!(report.ok, "{report:?}");
    server.child.kill().unwrap();
    server.child.wait().unwrap();
}

#[tokio::test]
async fn documents_filed_just_before_kill_9_are_searchable_after_restart() {
    let dir = tempfile::tempdir().unwrap();
    let client = reqwest::Client::new();
    let mut server = start_server(dir.path()).await;
    let (_, token) = add_clerk(&client, &server.address).await;
    for i in 0..10 {
        let form = reqwest::multipart::Form::new()
            .text("metadata", repair_order().to_string())
            .part(
                "file",
                reqwest::multipart::Part::bytes(format!("冷却液渗漏 第{i}次").into_bytes())
                    .file_name("a.txt")
                    .mime_str("text/plain")
                    .unwrap(),
            );
        let r = client
            .post(format!("{}/api/v1/documents", server.address))
            .bearer_auth(&token)
            .multipart(form)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
    }
    // Killed within the index's commit interval: the store has the documents,
    // the index may not.
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    let server = start_server(dir.path()).await;
    let token = login(&client, &server.address, "clerk", "clerk-password").await;
    let r: Value = client
        .get(format!(
            "{}/api/v1/search?q=%E5%86%B7%E5%8D%B4%E6%B6%B2%E6%B8%97%E6%BC%8F",
            server.address
        ))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r["total"], 10, "{r}");
}

#[tokio::test]
async fn the_reindex_command_rebuilds_the_index_from_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let client = reqwest::Client::new();
    {
        let server = start_server(dir.path()).await;
        let (admin, token) = add_clerk(&client, &server.address).await;
        for _ in 0..3 {
            let form = reqwest::multipart::Form::new()
                .text("metadata", repair_order().to_string())
                .part(
                    "file",
                    reqwest::multipart::Part::bytes(b"x".to_vec()).file_name("a.txt"),
                );
            client
                .post(format!("{}/api/v1/documents", server.address))
                .bearer_auth(&token)
                .multipart(form)
                .send()
                .await
                .unwrap();
        }
        let r = client
            .post(format!("{}/api/v1/admin/reindex", server.address))
            .bearer_auth(&admin)
            .send()
            .await
            .unwrap();
        assert_eq!(r.json::<Value>().await.unwrap()["reindexed"], 3);
        let r = client
            .post(format!("{}/api/v1/admin/reindex", server.address))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403);
    }
    std::fs::write(dir.path().join("index/meta.json"), b"garbage").unwrap();
    assert!(run_cli("reindex", dir.path(), MASTER_KEY).contains("rebuilt: 3 documents"));
}

#[tokio::test]
async fn every_response_received_before_kill_9_has_its_record() {
    let dir = tempfile::tempdir().unwrap();
    let client = reqwest::Client::new();
    let mut server = start_server(dir.path()).await;
    let (_, token) = add_clerk(&client, &server.address).await;
    let doc = file_one(&client, &server.address, &token, b"x".to_vec()).await;
    let url = format!(
        "{}/api/v1/documents/{}",
        server.address,
        doc["id"].as_str().unwrap()
    );
    let received = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let mut readers = vec![];
    for _ in 0..16 {
        let (client, url, token, received) =
            (client.clone(), url.clone(), token.clone(), received.clone());
        readers.push(tokio::spawn(async move {
            for _ in 0..10_000 {
                match client.get(&url).bearer_auth(&token).send().await {
                    Ok(r) if r.status() == 200 => {
                        let id = r.headers()["x-request-id"].to_str().unwrap().to_string();
                        if r.bytes().await.is_ok() {
                            received.lock().unwrap().push(id);
                        }
                    }
                    _ => return,
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    for r in readers {
        r.await.unwrap();
    }
    let received = received.lock().unwrap().clone();
    assert!(
        received.len() > 100,
        "only {} reads before the kill",
        received.len()
    );
    let log = std::fs::read_to_string(dir.path().join("audit/retrieval.log")).unwrap();
    let recorded: std::collections::HashSet<String> = log
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|r| r["action"] == "document.view" && r["outcome"] == "allowed")
        .map(|r| r["request_id"].as_str().unwrap().to_string())
        .collect();
    let missing: Vec<&String> = received
        .iter()
        .filter(|id| !recorded.contains(*id))
        .collect();
    assert!(
        missing.is_empty(),
        "{} of {} responses have no record",
        missing.len(),
        received.len()
    );
    let _server = start_server(dir.path()).await;
    let report = dangan::audit::verify(&dir.path().join("audit/retrieval.log")).unwrap();
    assert!(report.ok, "{report:?}");
}

#[tokio::test]
async fn sigterm_finishes_in_flight_work_and_exits_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let client = reqwest::Client::new();
    let mut server = start_server(dir.path()).await;
    let (_, token) = add_clerk(&client, &server.address).await;
    let form = reqwest::multipart::Form::new()
        .text("metadata", repair_order().to_string())
        .part(
            "file",
            reqwest::multipart::Part::bytes("机油泄漏".as_bytes().to_vec())
                .file_name("a.txt")
                .mime_str("text/plain")
                .unwrap(),
        );
    let r = client
        .post(format!("{}/api/v1/documents", server.address))
        .bearer_auth(&token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    // SAFETY: sending a signal to our own child process.
    unsafe {
        libc::kill(server.child.id() as i32, libc::SIGTERM);
    }
    let started = Instant::now();
    let status = loop {
        if let Some(s) = server.child.try_wait().unwrap() {
            break s;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "still running 30 s after SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(status.success(), "exit status {status}");
    // The index was committed on the way out: no catch-up needed to find it.
    let keyring = dangan::storage::envelope::Keyring::new(
        dangan::storage::envelope::MasterKey::from_bytes(&hex::decode(MASTER_KEY).unwrap())
            .unwrap(),
    );
    let key = keyring.derive_key("dangan/search-index/pii/v1");
    let index =
        dangan::index::SearchIndex::open(&dir.path().join("index"), key, 20_000_000).unwrap();
    assert_eq!(index.num_docs(), 1);
}

/// No access without a durable record: when the retrieval log cannot be
/// written (here the disk refuses to let the file grow), reads fail with 503
/// and nothing is served.
#[tokio::test]
async fn when_the_log_cannot_be_written_access_is_refused_with_503() {
    use std::os::unix::process::CommandExt;
    let dir = tempfile::tempdir().unwrap();
    let client = reqwest::Client::new();
    // Prepare the archive with a normal server first.
    let (id, token) = {
        let server = start_server(dir.path()).await;
        let (_, token) = add_clerk(&client, &server.address).await;
        let doc = file_one(&client, &server.address, &token, b"secret body".to_vec()).await;
        (doc["id"].as_str().unwrap().to_string(), token)
    };
    // Restart with a file-size limit a little above the log's current size; a
    // write past it fails with EFBIG (SIGXFSZ is ignored, as exec keeps it).
    let log_len = std::fs::metadata(dir.path().join("audit/retrieval.log"))
        .unwrap()
        .len();
    let limit = log_len + 20_000;
    let port = free_port();
    let mut cmd = serve_command(dir.path(), port);
    cmd.env("DANGAN__CRYPTO__MASTER_KEY", MASTER_KEY)
        .env("DANGAN__SERVER__WORKERS", "2")
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            let lim = libc::rlimit {
                rlim_cur: limit,
                rlim_max: limit,
            };
            libc::setrlimit(libc::RLIMIT_FSIZE, &lim);
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            Ok(())
        });
    }
    let server = Server {
        child: cmd.spawn().unwrap(),
        address: format!("http://127.0.0.1:{port}"),
    };
    let started = Instant::now();
    while reqwest::get(format!("{}/healthz", server.address))
        .await
        .is_err()
    {
        assert!(started.elapsed() < Duration::from_secs(30));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let url = format!("{}/api/v1/documents/{id}/content", server.address);
    let mut served = 0;
    let refused = loop {
        let r = client.get(&url).bearer_auth(&token).send().await.unwrap();
        let status = r.status().as_u16();
        let body = r.text().await.unwrap();
        if status == 503 {
            break body;
        }
        assert_eq!((status, body.as_str()), (200, "secret body"));
        served += 1;
        assert!(served < 1000, "the log never filled up");
    };
    let error: Value = serde_json::from_str(&refused).unwrap();
    assert_eq!(error["error"]["code"], "audit_unavailable", "{refused}");
    assert!(!refused.contains("secret body"));
    // Every read that was served has its record: the log still verifies.
    drop(server);
    let report = dangan::audit::verify(&dir.path().join("audit/retrieval.log")).unwrap();
    assert!(report.ok, "{report:?}");
    let log = std::fs::read_to_string(dir.path().join("audit/retrieval.log")).unwrap();
    let reads = log
        .lines()
        .filter(|l| l.contains("\"document.content\"") && l.contains("\"allowed\""))
        .count();
    assert_eq!(reads, served, "one record per served read");
}
