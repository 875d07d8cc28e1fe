//! The server over HTTP on loopback: filing, search at scale, a 1 GiB file,
//! rebuild and cold start, each next to its ceiling (a bare actix + tantivy
//! endpoint for search, bare durable puts for filing, bare indexing for rebuild)
//! or, where the issue sets an absolute goal, next to that goal.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use dangan::corpus::Record;
use futures_util::StreamExt;
use serde::Serialize;

use crate::Row;
use crate::bare::{self, Bare, CASES};
use crate::load::{self, Load, Until};
use crate::server::{self, Server, filing, login, padded};

pub struct Settings {
    /// Seconds of load per search case and side.
    pub search_secs: f64,
    /// 50 KiB documents filed in the filing scenario.
    pub filing_docs: usize,
    /// Size of the large-file scenario, MiB (0 skips it).
    pub big_mib: usize,
    /// Bare durable 50 KiB puts/s at 16 writers, measured earlier in the run.
    pub put_ceiling: f64,
    /// Bare tantivy indexing rate with dangan's analyses, measured earlier.
    pub index_ceiling: f64,
    /// The bare index with dangan's exact matching, over the generated records.
    pub bare_index: std::path::PathBuf,
}

/// One point of the latency-vs-concurrency sweep.
#[derive(Debug, Clone, Serialize)]
pub struct Point {
    pub side: &'static str,
    pub load: Load,
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .build()
        .expect("client")
}

/// dangan's URL for query `case` of [`CASES`].
fn search_url(address: &str, case: usize, i: usize, vins: &[String]) -> String {
    let params: Vec<(&str, String)> = match case {
        0 => vec![("q", "发动机".into())],
        1 => vec![("q", "发动机 更换".into())],
        2 => vec![("q", "\"更换前刹车片\"".into())],
        3 => vec![
            ("q", "更换".into()),
            ("category", "WX".into()),
            ("from", "2021-01-01".into()),
            ("to", "2022-12-31".into()),
        ],
        _ => vec![("vin", vins[i % vins.len()].clone())],
    };
    url::Url::parse_with_params(&format!("{address}/api/v1/search"), &params)
        .expect("valid URL")
        .to_string()
}

async fn dangan_search(
    s: &Server,
    token: &str,
    case: usize,
    connections: usize,
    secs: f64,
    vins: &Arc<Vec<String>>,
) -> Load {
    let (c, address, token, vins) = (client(), s.address.clone(), token.to_string(), vins.clone());
    load::run(
        connections,
        Until::Elapsed(Duration::from_secs_f64(secs)),
        200,
        move |i| {
            c.get(search_url(&address, case, i, &vins))
                .bearer_auth(&token)
        },
    )
    .await
}

async fn bare_search(address: &str, case: usize, connections: usize, secs: f64) -> Load {
    let (c, address) = (client(), address.to_string());
    load::run(
        connections,
        Until::Elapsed(Duration::from_secs_f64(secs)),
        200,
        move |i| c.get(format!("{address}/search?case={case}&i={i}")),
    )
    .await
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    /// The record's text as a text/plain file, padded: all of it extracted and
    /// indexed.
    Text,
    /// A scan: incompressible image bytes, the record's text as the transcript
    /// in its metadata (what is indexed).
    Scan,
    /// [`Kind::Text`]'s very text given as the transcript, its file of a type
    /// nothing parses: the same filing and indexing with no extraction at all,
    /// the ceiling of the text filings' isolated extraction (spec §6).
    TextUnparsed,
}

/// Files `n` documents with 16 clients: record `i % len` with a file of `size`
/// bytes (0: the text as generated).
async fn file_many(
    s: &Server,
    token: &str,
    records: &Arc<Vec<Record>>,
    n: usize,
    size: usize,
    kind: Kind,
) -> Load {
    let (c, address, token, records) = (
        client(),
        s.address.clone(),
        token.to_string(),
        records.clone(),
    );
    load::run(16, Until::Count(n), 201, move |i| {
        let r = &records[i % records.len()];
        match kind {
            Kind::Text => filing(&c, &address, &token, &r.metadata, padded(&r.body, size)),
            Kind::Scan => {
                let mut meta = r.metadata.clone();
                meta["transcript"] = r.body.clone().into();
                let mut state = i as u64 | 1;
                let bytes: Vec<u8> = (0..size)
                    .map(|_| {
                        state ^= state << 13;
                        state ^= state >> 7;
                        state ^= state << 17;
                        state as u8
                    })
                    .collect();
                server::filing_as(&c, &address, &token, &meta, bytes, "scan.jpg", "image/jpeg")
            }
            Kind::TextUnparsed => {
                let body = padded(&r.body, size);
                let mut meta = r.metadata.clone();
                meta["transcript"] = String::from_utf8_lossy(&body).into_owned().into();
                server::filing_as(
                    &c,
                    &address,
                    &token,
                    &meta,
                    body,
                    "order.bin",
                    "application/octet-stream",
                )
            }
        }
    })
    .await
}

/// Waits until a match-all search by group-level staff counts `n` documents.
async fn wait_indexed(s: &Server, token: &str, n: usize) -> anyhow::Result<()> {
    let c = client();
    let started = Instant::now();
    loop {
        let r: serde_json::Value = c
            .get(format!("{}/api/v1/search?per_page=1", s.address))
            .bearer_auth(token)
            .send()
            .await?
            .json()
            .await?;
        if r["total"].as_u64() == Some(n as u64) {
            return Ok(());
        }
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(300),
            "index did not reach {n} documents: {}",
            r["total"]
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Uploads and downloads one file of `mib` MiB on a fresh server; returns the
/// rates (MB/s) and the server's peak RSS (MiB) and RSS after start.
async fn big_file(
    dir: &Path,
    mib: usize,
    meta: &serde_json::Value,
) -> anyhow::Result<(f64, f64, f64, f64)> {
    let s = Server::start(dir).await?;
    let c = client();
    server::add_users(&c, &s.address).await?;
    let clerk = login(&c, &s.address, "clerk").await?;
    let idle = s.rss_mib();
    let len = (mib as u64) << 20;
    let mut chunk = padded("大文件测试 large file ", 1 << 20);
    chunk.resize(1 << 20, b' ');
    let chunk = bytes::Bytes::from(chunk);
    let stream =
        futures_util::stream::iter((0..mib).map(move |_| Ok::<_, std::io::Error>(chunk.clone())));
    let form = reqwest::multipart::Form::new()
        .text("metadata", meta.to_string())
        .part(
            "file",
            reqwest::multipart::Part::stream_with_length(reqwest::Body::wrap_stream(stream), len)
                .file_name("big.bin")
                .mime_str("application/octet-stream")?,
        );
    let t = Instant::now();
    let r = c
        .post(format!("{}/api/v1/documents", s.address))
        .bearer_auth(&clerk)
        .multipart(form)
        .send()
        .await;
    let r = match r {
        Ok(r) => r,
        Err(e) => {
            // The server answers a refused upload before reading it all; show why.
            let probe = filing(&c, &s.address, &clerk, meta, b"probe".to_vec())
                .send()
                .await?;
            anyhow::bail!(
                "upload failed ({e}); a small filing answers {}: {}",
                probe.status(),
                probe.text().await?
            )
        }
    };
    anyhow::ensure!(r.status() == 201, "upload: {}", r.text().await?);
    let up = len as f64 / t.elapsed().as_secs_f64() / 1e6;
    let id = r.json::<serde_json::Value>().await?["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let t = Instant::now();
    let mut body = c
        .get(format!("{}/api/v1/documents/{id}/content", s.address))
        .bearer_auth(&clerk)
        .send()
        .await?
        .error_for_status()?
        .bytes_stream();
    let mut got = 0u64;
    while let Some(b) = body.next().await {
        got += b?.len() as u64;
    }
    anyhow::ensure!(got == len, "downloaded {got} of {len} bytes");
    let down = len as f64 / t.elapsed().as_secs_f64() / 1e6;
    let peak = s.peak_rss_mib();
    s.stop()?;
    Ok((up, down, peak, idle))
}

pub async fn run(
    scratch: &Path,
    records: Vec<Record>,
    exact: Bare,
    settings: &Settings,
) -> anyhow::Result<(Vec<Row>, Vec<Point>)> {
    let mut rows = vec![];
    if settings.big_mib > 0 {
        eprintln!("  {} MiB upload and download…", settings.big_mib);
        let (up, down, peak, idle) =
            big_file(&scratch.join("big"), settings.big_mib, &records[0].metadata).await?;
        let what = format!("{} MiB", settings.big_mib);
        rows.push(Row::rate(
            &format!("{what} upload"),
            up,
            "goal",
            300.0,
            "MB/s",
        ));
        rows.push(Row::rate(
            &format!("{what} download"),
            down,
            "goal",
            500.0,
            "MB/s",
        ));
        rows.push(Row::latency(
            &format!("server peak RSS, {what} up and down (idle: {idle:.0} MiB)"),
            peak,
            "goal",
            150.0,
            "MiB",
        ));
    }

    let docs = records.len();
    let data = scratch.join("server");
    let s = Server::start(&data).await?;
    let c = client();
    server::add_users(&c, &s.address).await?;
    let clerk = login(&c, &s.address, "clerk").await?;
    let staff = login(&c, &s.address, "staff").await?;
    let records = Arc::new(records);

    let mut rates = vec![];
    for (kind, label) in [
        (Kind::Scan, "scans + transcript"),
        (Kind::Text, "text, all indexed"),
        (
            Kind::TextUnparsed,
            "the same text as transcript, nothing parsed",
        ),
    ] {
        eprintln!(
            "  filing {} × 50 KiB {label}, 16 clients…",
            settings.filing_docs
        );
        let f = file_many(&s, &clerk, &records, settings.filing_docs, 50 * 1024, kind).await;
        anyhow::ensure!(f.errors == 0, "filing errors: {}", f.errors);
        rates.push(f.per_sec);
        rows.push(Row::rate(
            &format!("filing 50 KiB documents ({label}) over HTTP, 16 clients"),
            f.per_sec,
            "durable 50 KiB put, 16 writers",
            settings.put_ceiling,
            "docs/s",
        ));
        rows.push(Row::latency(
            &format!("filing 50 KiB ({label}) p99, 16 clients"),
            f.p99_ms,
            "p50",
            f.p50_ms,
            "ms",
        ));
    }
    rows.push(Row::rate(
        "text filing with extraction in child processes (goal ≥ 0.8)",
        rates[1],
        "the same text filed with no extraction at all",
        rates[2],
        "docs/s",
    ));

    eprintln!("  filing the {docs} search records, 16 clients…");
    let f = file_many(&s, &clerk, &records, docs, 0, Kind::Text).await;
    anyhow::ensure!(f.errors == 0, "filing errors: {}", f.errors);
    let total = docs + 3 * settings.filing_docs;
    wait_indexed(&s, &staff, total).await?;
    rows.push(Row::rate(
        &format!("filing {docs} generated records (~1 KiB) over HTTP, 16 clients"),
        f.per_sec,
        "durable 50 KiB put, 16 writers",
        settings.put_ceiling,
        "docs/s",
    ));

    let vins = Arc::new(crate::search::vin_tails(&records));
    let bare_address = bare::serve(Arc::new(exact), vins.clone())?;
    let secs = settings.search_secs;
    eprintln!("  search over HTTP, 32 connections, {secs} s per query and side…");
    for (case, name) in CASES.iter().enumerate() {
        let theirs = bare_search(&bare_address, case, 32, secs).await;
        let ours = dangan_search(&s, &staff, case, 32, secs, &vins).await;
        anyhow::ensure!(ours.errors == 0, "search errors: {}", ours.errors);
        rows.push(Row::rate(
            &format!("HTTP search {name}, 32 conns, logged"),
            ours.per_sec,
            "bare actix + tantivy, same matching",
            theirs.per_sec,
            "req/s",
        ));
        rows.push(Row::latency(
            &format!("HTTP search {name} p99, 32 conns (goal 10 ms)"),
            ours.p99_ms,
            "bare actix + tantivy p99",
            theirs.p99_ms,
            "ms",
        ));
    }

    eprintln!("  latency vs concurrency…");
    let mut sweep = vec![];
    for conns in [1, 2, 4, 8, 16, 32, 64, 128] {
        let theirs = bare_search(&bare_address, 0, conns, secs.min(3.0)).await;
        let ours = dangan_search(&s, &staff, 0, conns, secs.min(3.0), &vins).await;
        sweep.push(Point {
            side: "bare actix + tantivy",
            load: theirs,
        });
        sweep.push(Point {
            side: "dangan (logged)",
            load: ours,
        });
    }
    eprintln!("  the front desk's pages against the API calls they wrap…");
    rows.extend(crate::pages::run(&s, &staff, docs, secs).await?);
    let (serving_rss, serving_anon) = (s.rss_mib(), s.anon_mib());
    s.stop()?;
    rows.push(Row::latency(
        &format!(
            "search index size, {total} documents (of which {} are the 50 KiB filings)",
            total - docs
        ),
        crate::dir_mib(&data.join("index")),
        &format!("bare tantivy, same analyses, the {docs} records alone"),
        crate::dir_mib(&settings.bare_index),
        "MiB",
    ));

    eprintln!("  rebuilding the index from the store…");
    let (rebuild, rebuild_rss) = server::reindex(&data)?;
    rows.push(Row::rate(
        &format!("rebuild from the local store, {total} documents"),
        total as f64 / rebuild,
        "bare tantivy indexing, same analyses",
        settings.index_ceiling,
        "docs/s",
    ));
    rows.push(Row::latency(
        &format!("rebuild peak RSS, {total} documents"),
        rebuild_rss,
        "server RSS goal",
        1024.0,
        "MiB",
    ));

    eprintln!("  cold start…");
    let s = Server::start(&data).await?;
    let start = s.start_secs;
    let idle = s.rss_mib();
    let ours = dangan_search(&s, &staff, 0, 32, secs, &vins).await;
    rows.push(Row::latency(
        &format!("cold start with {total} documents (from the catalog snapshot)"),
        start,
        "goal",
        3.0,
        "s",
    ));
    rows.push(Row::latency(
        &format!(
            "server RSS at {total} documents after filing and search (after a restart: {idle:.0} MiB)"
        ),
        serving_rss,
        "goal",
        1024.0,
        "MiB",
    ));
    rows.push(Row::latency(
        &format!("  of which anonymous (heap), {total} documents"),
        serving_anon,
        "goal",
        1024.0,
        "MiB",
    ));
    rows.push(Row::latency(
        &format!("HTTP search term p99 after a cold start, {total} documents"),
        ours.p99_ms,
        "goal",
        25.0,
        "ms",
    ));
    s.kill()?;
    rows.extend(crate::starts::crash_and_full_starts(&data, total).await?);
    Ok((rows, sweep))
}
