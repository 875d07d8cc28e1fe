//! Crash injection: concurrent clients file, read and search while the server is
//! killed with `kill -9` at varied moments (`DANGAN_CRASH_RUNS`, default 20).
//! After each crash, offline: the retrieval log verifies. After each restart:
//! every document acknowledged with 201 reads back byte for byte, has its own
//! archive number, is found by search, and has its `document.file` record.
//! One client files large documents (9 MiB, above the size written as a
//! multipart upload or, locally, through a staging file), so kills land in
//! the middle of those writes too.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use serde_json::Value;

use crate::crash::{add_clerk, login, start_server};

#[derive(Clone)]
struct Filed {
    id: String,
    archive_no: String,
    /// SHA-256 of the body (large bodies are not kept).
    sha: Vec<u8>,
    word: String,
    /// Small enough to be text-indexed.
    searchable: bool,
}

/// Large documents one client files per run (kept few: they take disk).
const LARGE_PER_RUN: usize = 4;
const LARGE_BYTES: usize = 9 * 1024 * 1024;

fn sha(bytes: &[u8]) -> Vec<u8> {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).to_vec()
}

/// Files until the server dies; every 201 is recorded.
async fn filer(
    client: reqwest::Client,
    address: String,
    token: String,
    run: usize,
    who: usize,
    large: bool,
    out: Arc<Mutex<Vec<Filed>>>,
) {
    for n in 0.. {
        if large && n == LARGE_PER_RUN {
            return;
        }
        let word = format!("crashrun{run}");
        let mut body = format!(
            "{word} 第{n}份 客户{who} 更换机油滤芯 {}",
            uuid::Uuid::new_v4()
        )
        .into_bytes();
        if large {
            body.resize(LARGE_BYTES, b'.');
        }
        let form = reqwest::multipart::Form::new()
            .text("metadata", crate::helpers::repair_order().to_string())
            .part(
                "file",
                reqwest::multipart::Part::bytes(body.clone()).file_name("a.txt"),
            );
        let Ok(r) = client
            .post(format!("{address}/api/v1/documents"))
            .bearer_auth(&token)
            .multipart(form)
            .send()
            .await
        else {
            return;
        };
        if r.status() != 201 {
            return;
        }
        let Ok(doc) = r.json::<Value>().await else {
            return; // the 201 never fully arrived: not acknowledged
        };
        out.lock().unwrap().push(Filed {
            id: doc["id"].as_str().unwrap().to_string(),
            archive_no: doc["archive_no"].as_str().unwrap().to_string(),
            sha: sha(&body),
            word,
            searchable: !large,
        });
    }
}

/// Reads and searches until the server dies; any answer but 200 is a failure.
async fn reader(
    client: reqwest::Client,
    address: String,
    token: String,
    known: Arc<Mutex<Vec<Filed>>>,
    seed: u64,
) {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    loop {
        let pick = {
            let known = known.lock().unwrap();
            (!known.is_empty()).then(|| known[rng.random_range(0..known.len())].clone())
        };
        let url = match &pick {
            Some(f) if rng.random_bool(0.5) => {
                format!("{address}/api/v1/documents/{}/content", f.id)
            }
            _ => format!("{address}/api/v1/search?q=%E6%9C%BA%E6%B2%B9"),
        };
        match client.get(&url).bearer_auth(&token).send().await {
            Ok(r) => {
                let status = r.status();
                let Ok(bytes) = r.bytes().await else { return };
                assert_eq!(status, 200, "{url} during the run");
                if let Some(f) = pick.filter(|_| url.ends_with("/content")) {
                    assert_eq!(sha(&bytes), f.sha, "content of {}", f.id);
                }
            }
            Err(_) => return,
        }
    }
}

async fn search_ids(
    client: &reqwest::Client,
    address: &str,
    token: &str,
    word: &str,
) -> BTreeSet<String> {
    let mut ids = BTreeSet::new();
    for page in 1.. {
        let r: Value = client
            .get(format!(
                "{address}/api/v1/search?q={word}&per_page=100&page={page}&sort=date"
            ))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let hits = r["hits"].as_array().unwrap();
        ids.extend(hits.iter().map(|h| h["id"].as_str().unwrap().to_string()));
        if hits.len() < 100 {
            break;
        }
    }
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kill_9_at_random_moments_loses_nothing_acknowledged() {
    let runs: usize = std::env::var("DANGAN_CRASH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let dir = tempfile::tempdir().unwrap();
    let client = reqwest::Client::new();
    let mut rng = rand::rngs::StdRng::seed_from_u64(20261127);
    let acknowledged: Arc<Mutex<Vec<Filed>>> = Arc::default();
    let started = Instant::now();
    let mut server = start_server(dir.path()).await;
    add_clerk(&client, &server.address).await;
    for run in 0..runs {
        let address = server.address.clone();
        let token = login(&client, &address, "clerk", "clerk-password").await;
        let mut tasks = vec![];
        for who in 0..4 {
            tasks.push(tokio::spawn(filer(
                client.clone(),
                address.clone(),
                token.clone(),
                run,
                who,
                who == 3,
                acknowledged.clone(),
            )));
        }
        for r in 0..2 {
            tasks.push(tokio::spawn(reader(
                client.clone(),
                address.clone(),
                token.clone(),
                acknowledged.clone(),
                (run * 10 + r) as u64,
            )));
        }
        // Kill at a varied moment: often within the first index commit window
        // (250 ms) or a log flush, sometimes after a while.
        let wait = if rng.random_bool(0.4) {
            rng.random_range(20..300)
        } else {
            rng.random_range(300..1500)
        };
        tokio::time::sleep(Duration::from_millis(wait)).await;
        server.child.kill().unwrap();
        server.child.wait().unwrap();
        for t in tasks {
            t.await.unwrap();
        }

        // The log verifies after kill -9, anchored in the store's checkpoints.
        crate::crash::verify_offline(dir.path());

        server = start_server(dir.path()).await;
        let address = server.address.clone();
        let token = login(&client, &address, "clerk", "clerk-password").await;
        let filed = acknowledged.lock().unwrap().clone();
        let mut numbers = BTreeMap::new();
        for f in &filed {
            if let Some(other) = numbers.insert(f.archive_no.clone(), f.id.clone()) {
                panic!("run {run}: {} given to {other} and {}", f.archive_no, f.id);
            }
        }
        // Everything from this run (and a sample of earlier ones) reads back and is found.
        let this_run: Vec<&Filed> = filed
            .iter()
            .filter(|f| f.word == format!("crashrun{run}"))
            .collect();
        for f in this_run.iter().copied().chain(filed.iter().step_by(17)) {
            let r = client
                .get(format!("{address}/api/v1/documents/{}/content", f.id))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200, "run {run}: {} after restart", f.archive_no);
            assert_eq!(
                sha(&r.bytes().await.unwrap()),
                f.sha,
                "run {run}: {}",
                f.archive_no
            );
        }
        let found = search_ids(&client, &address, &token, &format!("crashrun{run}")).await;
        for f in this_run.iter().filter(|f| f.searchable) {
            assert!(
                found.contains(&f.id),
                "run {run}: {} is searchable after restart",
                f.archive_no
            );
        }
        let log = std::fs::read_to_string(dir.path().join("audit/retrieval.log")).unwrap();
        let recorded: BTreeSet<String> = log
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|r| r["action"] == "document.file" && r["outcome"] == "allowed")
            .filter_map(|r| r["document"].as_str().map(str::to_string))
            .collect();
        for f in &filed {
            assert!(
                recorded.contains(&f.id),
                "run {run}: {} has its log record",
                f.archive_no
            );
        }
        eprintln!(
            "run {run}: killed after {wait} ms; {} acknowledged in this run, {} in all",
            this_run.len(),
            filed.len()
        );
    }
    // Content written by a filing that never got its manifest (no key to it exists:
    // data keys live only in manifests) is removed after the next start, by a
    // sweep that runs while the server serves (and files: the runs above filed
    // during it, and lost nothing).
    let started_waiting = Instant::now();
    loop {
        let metrics = crate::helpers::metrics_text(&server.address).await;
        if metrics.contains("\ndangan_leftover_sweep_running 0") {
            break;
        }
        assert!(
            started_waiting.elapsed() < Duration::from_secs(60),
            "the sweep for leftovers ends"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut orphans = vec![];
    for entry in std::fs::read_dir(dir.path().join("objects/docs")).unwrap() {
        let path = entry.unwrap().path();
        let content = std::fs::read_dir(path.join("content"))
            .map(|d| d.count())
            .unwrap_or(0);
        if content > 0 && !path.join("manifest").exists() {
            orphans.push(path.clone());
        }
        for f in std::fs::read_dir(path.join("content"))
            .into_iter()
            .flatten()
        {
            let f = f.unwrap().path();
            if f.to_string_lossy().contains('#') {
                orphans.push(f); // a staging file of an interrupted write
            }
        }
    }
    assert!(orphans.is_empty(), "half-filed objects remain: {orphans:?}");
    let total = acknowledged.lock().unwrap().len();
    let large = acknowledged
        .lock()
        .unwrap()
        .iter()
        .filter(|f| !f.searchable)
        .count();
    eprintln!(
        "{runs} kill -9 runs, {total} acknowledged documents ({large} of 9 MiB), 0 lost, {:.0} s",
        started.elapsed().as_secs_f64()
    );
    assert!(total > runs, "the runs filed something");
    assert!(large > 0, "large documents were acknowledged too");
}
