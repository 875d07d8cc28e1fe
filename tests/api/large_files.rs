//! Large files stream through: byte-identical round trips at 100 MiB, and a
//! 1 GiB upload and download that keep the server's memory flat.

use futures_util::StreamExt;
use sha2::{Digest, Sha256};

use crate::crash::{add_clerk, start_server};
use crate::helpers::{repair_order, spawn_app};

/// Deterministic, incompressible-looking bytes, produced piece by piece.
fn pattern(
    total: u64,
    piece: usize,
) -> impl futures_util::Stream<Item = Result<Vec<u8>, std::io::Error>> {
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut sent = 0u64;
    futures_util::stream::iter(std::iter::from_fn(move || {
        if sent >= total {
            return None;
        }
        let n = piece.min((total - sent) as usize);
        let mut buf = Vec::with_capacity(n);
        while buf.len() < n {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            buf.extend_from_slice(&state.to_le_bytes()[..8.min(n - buf.len())]);
        }
        sent += n as u64;
        Some(Ok(buf))
    }))
}

async fn pattern_sha(total: u64) -> String {
    let mut h = Sha256::new();
    let mut s = std::pin::pin!(pattern(total, 1 << 20));
    while let Some(p) = s.next().await {
        h.update(p.unwrap());
    }
    hex::encode(h.finalize())
}

async fn upload(
    client: &reqwest::Client,
    address: &str,
    token: &str,
    total: u64,
) -> reqwest::Response {
    let part = reqwest::multipart::Part::stream_with_length(
        reqwest::Body::wrap_stream(pattern(total, 1 << 20)),
        total,
    )
    .file_name("big.bin");
    let form = reqwest::multipart::Form::new()
        .text("metadata", repair_order().to_string())
        .part("file", part);
    client
        .post(format!("{address}/api/v1/documents"))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .unwrap()
}

async fn download_sha(
    client: &reqwest::Client,
    address: &str,
    token: &str,
    id: &str,
) -> (String, u64) {
    let r = client
        .get(format!("{address}/api/v1/documents/{id}/content"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let mut h = Sha256::new();
    let mut n = 0u64;
    let mut s = r.bytes_stream();
    while let Some(p) = s.next().await {
        let p = p.unwrap();
        n += p.len() as u64;
        h.update(&p);
    }
    (hex::encode(h.finalize()), n)
}

#[tokio::test]
async fn a_100_mib_file_round_trips_byte_for_byte() {
    let app = spawn_app().await;
    let clerk = app.token("clerk_bj").await;
    let total = 100 * 1024 * 1024;
    let r = upload(&app.client, &app.address, &clerk, total).await;
    assert_eq!(r.status(), 201);
    let doc: serde_json::Value = r.json().await.unwrap();
    let expected = pattern_sha(total).await;
    assert_eq!(doc["versions"][0]["sha256"], expected.as_str());
    let (sha, n) = download_sha(
        &app.client,
        &app.address,
        &clerk,
        doc["id"].as_str().unwrap(),
    )
    .await;
    assert_eq!((sha, n), (expected, total));
}

fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// Peak RSS of the server across a 1 GiB upload and download. Prints the figure
/// the README quotes.
#[tokio::test]
async fn a_1_gib_upload_and_download_stay_under_150_mib_of_server_memory() {
    let dir = tempfile::tempdir().unwrap();
    let client = reqwest::Client::new();
    let mut server = start_server(dir.path()).await;
    let (_, token) = add_clerk(&client, &server.address).await;
    let before = peak_rss_kib(server.child.id());
    let total = 1024 * 1024 * 1024;
    let started = std::time::Instant::now();
    let r = upload(&client, &server.address, &token, total).await;
    assert_eq!(r.status(), 201);
    let up = started.elapsed();
    let doc: serde_json::Value = r.json().await.unwrap();
    let started = std::time::Instant::now();
    let (sha, n) = download_sha(
        &client,
        &server.address,
        &token,
        doc["id"].as_str().unwrap(),
    )
    .await;
    let down = started.elapsed();
    assert_eq!(n, total);
    assert_eq!(sha, doc["versions"][0]["sha256"].as_str().unwrap());
    let peak = peak_rss_kib(server.child.id());
    eprintln!(
        "1 GiB: upload {:.1} s ({:.0} MB/s), download {:.1} s ({:.0} MB/s); server peak RSS {:.1} MiB (after start {:.1} MiB)",
        up.as_secs_f64(),
        total as f64 / up.as_secs_f64() / 1e6,
        down.as_secs_f64(),
        total as f64 / down.as_secs_f64() / 1e6,
        peak as f64 / 1024.0,
        before as f64 / 1024.0
    );
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    assert!(
        peak < 150 * 1024,
        "server peak RSS {peak} KiB is over 150 MiB"
    );
}
