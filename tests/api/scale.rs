//! Key rotation and fixity at archive scale: 10,000 documents filed through the
//! real binary; the server rotates the master key in the background while
//! clients read, file and correct documents; it is killed halfway and resumes;
//! afterwards the old key is removed and `dangan fixity` checks every version.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde_json::{Value, json};

use crate::crash::{add_clerk, file_one, login, run_cli, start_server, start_server_with};
use crate::helpers::{ADMIN_PASSWORD, MASTER_KEY};

const DOCS: usize = 10_000;
const NEW_KEY: &str = "6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b";

fn body(i: usize) -> Vec<u8> {
    format!("维修记录 {i} 更换刹车片 {}", uuid::Uuid::new_v4()).into_bytes()
}

async fn rotation(client: &reqwest::Client, address: &str, admin: &str) -> Value {
    client
        .get(format!("{address}/api/v1/admin/key-rotation"))
        .bearer_auth(admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn read_ok(client: &reqwest::Client, address: &str, token: &str, id: &str, body: &[u8]) {
    let r = client
        .get(format!("{address}/api/v1/documents/{id}/content"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "reading {id}");
    assert_eq!(r.bytes().await.unwrap(), body, "content of {id}");
}

async fn correct(client: &reqwest::Client, address: &str, token: &str, id: &str, n: usize) {
    let r = client
        .patch(format!("{address}/api/v1/documents/{id}"))
        .bearer_auth(token)
        .json(&json!({"changes": {"title": format!("更正后的标题 {n}")}, "reason": "录入错误更正"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "correcting {id}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ten_thousand_documents_rotate_while_served_and_pass_fixity() {
    let dir = tempfile::tempdir().unwrap();
    let client = reqwest::Client::new();
    let server = start_server(dir.path()).await;
    let address = server.address.clone();
    let (_, clerk) = add_clerk(&client, &address).await;
    let started = Instant::now();
    let filed: Vec<(String, Vec<u8>)> = futures_util::stream::iter(0..DOCS)
        .map(|i| {
            let (client, address, clerk) = (client.clone(), address.clone(), clerk.clone());
            async move {
                let b = body(i);
                let doc = file_one(&client, &address, &clerk, b.clone()).await;
                (doc["id"].as_str().unwrap().to_string(), b)
            }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    eprintln!(
        "filed {DOCS} documents in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    drop(server); // kill -9: every 201 is durable

    // The operator configures a new master key and retires the old one.
    let old_key = dir.path().join("old.key");
    std::fs::write(&old_key, MASTER_KEY).unwrap();
    let cfg = dir.path().join("rotate.toml");
    std::fs::write(
        &cfg,
        format!(
            "[crypto]\nretired_key_files = [{:?}]\n",
            old_key.display().to_string()
        ),
    )
    .unwrap();
    let cfg = cfg.display().to_string();
    let args = ["--config", cfg.as_str()];
    let server = start_server_with(dir.path(), &args, NEW_KEY).await;
    let address = server.address.clone();
    let admin = login(&client, &address, "admin", ADMIN_PASSWORD).await;
    let clerk = login(&client, &address, "clerk", "clerk-password").await;
    let filed = Arc::new(filed);

    // While the server rotates: read, file and correct; stop it halfway.
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let busy = {
        let (client, address, clerk, filed, stop) = (
            client.clone(),
            address.clone(),
            clerk.clone(),
            filed.clone(),
            stop.clone(),
        );
        tokio::spawn(async move {
            let (mut reads, mut new_docs, mut corrected) = (0, vec![], BTreeMap::new());
            let mut n = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let (id, b) = &filed[(n * 7919) % filed.len()];
                read_ok(&client, &address, &clerk, id, b).await;
                reads += 1;
                if n % 10 == 0 {
                    let b = body(DOCS + n);
                    let doc = file_one(&client, &address, &clerk, b.clone()).await;
                    new_docs.push((doc["id"].as_str().unwrap().to_string(), b));
                    let (id, _) = &filed[(n * 104_729) % filed.len()];
                    correct(&client, &address, &clerk, id, n).await;
                    corrected.insert(id.clone(), n);
                }
                n += 1;
            }
            (reads, new_docs, corrected)
        })
    };
    let state = loop {
        let state = rotation(&client, &address, &admin).await;
        if state["checked"].as_u64().unwrap() >= (DOCS / 2) as u64 || state["status"] != "running" {
            break state;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (reads, new_docs, corrected) = busy.await.unwrap();
    assert_eq!(state["status"], "running", "{state}");
    drop(server); // kill -9 in the middle of the rotation
    eprintln!(
        "during rotation: {reads} reads, {} filings and corrections; killed at {state}",
        new_docs.len()
    );
    assert!(reads > 0 && !corrected.is_empty());

    let server = start_server_with(dir.path(), &args, NEW_KEY).await;
    let address = server.address.clone();
    let started = Instant::now();
    let state = loop {
        let state = rotation(&client, &address, &admin).await;
        if state["status"] != "running" {
            break state;
        }
        assert!(
            started.elapsed() < Duration::from_secs(600),
            "rotation hangs: {state}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    eprintln!("resumed rotation: {state}");
    assert_eq!(state["status"], "done", "{state}");
    assert_eq!(state["report"]["remaining"], 0);
    let resumed = state["report"]["manifests_rewrapped"].as_u64().unwrap();
    assert!(
        resumed > 0 && resumed < DOCS as u64,
        "the second run finished what the first left: {state}"
    );
    drop(server);

    // The old key goes; everything reads with the new key alone.
    let server = start_server_with(dir.path(), &[], NEW_KEY).await;
    let address = server.address.clone();
    let clerk = login(&client, &address, "clerk", "clerk-password").await;
    let admin = login(&client, &address, "admin", ADMIN_PASSWORD).await;
    assert_eq!(rotation(&client, &address, &admin).await["status"], "idle");
    let all: Vec<(String, Vec<u8>)> = filed.iter().cloned().chain(new_docs).collect();
    futures_util::stream::iter(all.iter())
        .for_each_concurrent(16, |(id, b)| {
            let (client, address, clerk) = (&client, &address, &clerk);
            async move { read_ok(client, address, clerk, id, b).await }
        })
        .await;
    for (id, n) in &corrected {
        let doc: Value = client
            .get(format!("{address}/api/v1/documents/{id}"))
            .bearer_auth(&clerk)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            doc["title"],
            format!("更正后的标题 {n}"),
            "a correction made during the rotation is kept"
        );
    }
    drop(server);

    let out = run_cli("fixity", dir.path(), NEW_KEY);
    let report: Value = serde_json::from_str(&out).unwrap();
    eprintln!("fixity: {report}");
    assert_eq!(report["ok"], true);
    assert_eq!(report["documents"].as_u64().unwrap() as usize, all.len());
    assert!(report["seconds"].as_f64().unwrap() > 0.0);
}
