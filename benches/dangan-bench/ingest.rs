//! Bringing documents in (spec §10), against ceilings of the same run:
//! - `dangan import` of a folder (files/s, MB/s) against the same files filed
//!   over HTTP by as many plain concurrent clients as the import's `--jobs`;
//! - OCR pages per minute, and search p99 and filing p99 while OCR runs
//!   against the same figures with OCR idle (goal: search p99 ≤ 1.5× idle).

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::Row;
use crate::load::{self, Until};
use crate::server::{self, Server, login};

/// Files of the import scenario, and their size.
const FILES: usize = 300;
const FILE_BYTES: usize = 50 * 1024;
/// Import `--jobs`, and the ceiling's clients.
const JOBS: usize = 4;
/// Scans read by OCR in the OCR scenario.
const PAGES: usize = 6;

fn metadata(n: usize) -> Value {
    json!({
        "category": "WX",
        "title": format!("维修委托书 第{n}号"),
        "vehicle": {"vin": "LFV2A21K2M3000001"},
        "service": {"service_date": "2026-03-01"},
        "branch": "BJ01"
    })
}

fn body(n: usize) -> Vec<u8> {
    let mut b = server::padded("维修委托书 更换前刹车片 检查制动液 四轮定位 ", FILE_BYTES);
    b.extend(format!("\n{n}").as_bytes());
    b
}

/// Writes `FILES` text files and their manifest under `dir/prefix`.
fn folder(dir: &Path, prefix: &str) -> anyhow::Result<std::path::PathBuf> {
    let mut csv = String::from("file,category,title,vehicle.vin,service.service_date,branch\n");
    for n in 0..FILES {
        let file = format!("{prefix}/{n:04}.txt");
        let path = dir.join(&file);
        std::fs::create_dir_all(path.parent().expect("a folder"))?;
        std::fs::write(&path, body(n))?;
        csv.push_str(&format!(
            "{file},WX,维修委托书 第{n}号,LFV2A21K2M3000001,2026-03-01,BJ01\n"
        ));
    }
    let manifest = dir.join(format!("{prefix}.csv"));
    std::fs::write(&manifest, csv)?;
    Ok(manifest)
}

pub async fn run(scratch: &Path) -> anyhow::Result<Vec<Row>> {
    let mut rows = vec![];
    let s = Server::start(&scratch.join("ingest-server")).await?;
    let c = reqwest::Client::new();
    server::add_users(&c, &s.address).await?;
    let clerk = login(&c, &s.address, "clerk").await?;

    eprintln!("  {FILES} × 50 KiB filed over HTTP by {JOBS} clients (the import's ceiling)…");
    let (address, token) = (s.address.clone(), clerk.clone());
    let ceiling = load::run(JOBS, Until::Count(FILES), 201, move |i| {
        server::filing(&c, &address, &token, &metadata(i), body(i))
    })
    .await;
    anyhow::ensure!(ceiling.errors == 0, "filing errors: {}", ceiling.errors);

    eprintln!("  dangan import of {FILES} × 50 KiB, --jobs {JOBS}…");
    let input = scratch.join("import-in");
    let manifest = folder(&input, "batch")?;
    let started = Instant::now();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_dangan"))
        .arg("import")
        .arg(&input)
        .args([
            "--url",
            &s.address,
            "--user",
            "clerk",
            "--jobs",
            &JOBS.to_string(),
        ])
        .arg("--manifest")
        .arg(&manifest)
        .arg("--receipt-dir")
        .arg(scratch.join("import-receipt"))
        .env("DANGAN_PASSWORD", server::PASSWORD)
        .stderr(std::process::Stdio::null())
        .output()?;
    let secs = started.elapsed().as_secs_f64();
    anyhow::ensure!(
        out.status.success(),
        "import failed: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    let mb = (FILES * FILE_BYTES) as f64 / 1e6;
    rows.push(Row::rate(
        &format!("dangan import, {FILES} × 50 KiB, --jobs {JOBS} (goal ≥ 0.8)"),
        FILES as f64 / secs,
        &format!("the same files filed over HTTP, {JOBS} clients"),
        ceiling.per_sec,
        "files/s",
    ));
    rows.push(Row::rate(
        &format!("dangan import, {FILES} × 50 KiB (bytes)"),
        mb / secs,
        &format!("the same files filed over HTTP, {JOBS} clients"),
        mb / ceiling.seconds,
        "MB/s",
    ));
    s.stop()?;
    rows.extend(ocr(scratch).await?);
    Ok(rows)
}

/// Renders `PAGES` A4 pages with the tests' generator (Python, Pillow, Noto CJK).
fn render(dir: &Path) -> anyhow::Result<()> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ocr/page.py");
    let seeds: Vec<String> = (1..=PAGES).map(|n| n.to_string()).collect();
    let out = std::process::Command::new("python3")
        .arg(script)
        .arg(dir)
        .args(&seeds)
        .output()?;
    anyhow::ensure!(
        out.status.success(),
        "rendering pages: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(())
}

async fn search_load(s: &Server, token: &str, secs: f64) -> load::Load {
    let (c, address, token) = (reqwest::Client::new(), s.address.clone(), token.to_string());
    load::run(
        4,
        Until::Elapsed(Duration::from_secs_f64(secs)),
        200,
        move |_| {
            c.get(format!("{address}/api/v1/search?q=刹车片"))
                .bearer_auth(&token)
        },
    )
    .await
}

async fn filing_load(s: &Server, token: &str, n: usize, from: usize) -> load::Load {
    let (c, address, token) = (reqwest::Client::new(), s.address.clone(), token.to_string());
    load::run(1, Until::Count(n), 201, move |i| {
        server::filing(&c, &address, &token, &metadata(from + i), body(from + i))
    })
    .await
}

async fn ocr(scratch: &Path) -> anyhow::Result<Vec<Row>> {
    let pages = scratch.join("pages");
    if let Err(e) = render(&pages) {
        eprintln!("  OCR scenario skipped: {e}");
        return Ok(vec![]);
    }
    let s = Server::start_with(
        &scratch.join("ocr-server"),
        &[("DANGAN__OCR__ENABLED", "true")],
    )
    .await?;
    let c = reqwest::Client::new();
    server::add_users(&c, &s.address).await?;
    let clerk = login(&c, &s.address, "clerk").await?;
    let staff = login(&c, &s.address, "staff").await?;
    eprintln!("  200 documents to search, then search and filing with OCR idle…");
    let f = filing_load(&s, &clerk, 200, 0).await;
    anyhow::ensure!(f.errors == 0, "filing errors");
    tokio::time::sleep(Duration::from_secs(1)).await;
    let idle_search = search_load(&s, &staff, 10.0).await;
    let idle_filing = filing_load(&s, &clerk, 40, 1000).await;

    eprintln!("  {PAGES} scanned A4 pages filed, OCR in the background…");
    let started = Instant::now();
    let mut ids = vec![];
    for n in 1..=PAGES {
        let bytes = std::fs::read(pages.join(format!("page-{n}.jpg")))?;
        let r = server::filing_as(
            &c,
            &s.address,
            &clerk,
            &metadata(5000 + n),
            bytes,
            "scan.jpg",
            "image/jpeg",
        )
        .send()
        .await?;
        anyhow::ensure!(r.status() == 201, "scan filing: {}", r.status());
        let d: Value = r.json().await?;
        ids.push(d["id"].as_str().unwrap_or_default().to_string());
    }
    let busy_search = search_load(&s, &staff, 10.0).await;
    let busy_filing = filing_load(&s, &clerk, 40, 2000).await;
    // Until every page is read.
    loop {
        let mut pending = 0;
        for id in &ids {
            let d: Value = c
                .get(format!("{}/api/v1/documents/{id}", s.address))
                .bearer_auth(&clerk)
                .send()
                .await?
                .json()
                .await?;
            pending += usize::from(!d["text"]["pending"].is_null());
        }
        if pending == 0 {
            break;
        }
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(900),
            "OCR did not finish"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let minutes = started.elapsed().as_secs_f64() / 60.0;
    s.stop()?;
    eprintln!("  the engine alone on the same pages, one after another…");
    let alone = Instant::now();
    for n in 1..=PAGES {
        let mut child = std::process::Command::new("python3")
            .args(["-I", "-B", "-c", dangan::extract::ocr::SCRIPT])
            .env("ORT_DISABLE_TELEMETRY", "1")
            .env("OPENBLAS_NUM_THREADS", "1")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .spawn()?;
        let bytes = std::fs::read(pages.join(format!("page-{n}.jpg")))?;
        std::io::Write::write_all(&mut child.stdin.take().expect("piped"), &bytes)?;
        anyhow::ensure!(child.wait()?.success(), "the engine failed on page {n}");
    }
    let alone_minutes = alone.elapsed().as_secs_f64() / 60.0;
    Ok(vec![
        Row::rate(
            &format!("OCR, {PAGES} A4 pages at 200 dpi, 1 OCR worker, while searched and filed"),
            PAGES as f64 / minutes,
            "the engine alone (python3 + rapidocr), no server",
            PAGES as f64 / alone_minutes,
            "pages/min",
        ),
        Row::latency(
            "search p99 while OCR runs, 4 conns (goal ≤ 1.5× idle)",
            busy_search.p99_ms,
            "search p99 with OCR idle",
            idle_search.p99_ms,
            "ms",
        ),
        Row::latency(
            "filing 50 KiB p99 while OCR runs, 1 client",
            busy_filing.p99_ms,
            "filing p99 with OCR idle",
            idle_filing.p99_ms,
            "ms",
        ),
    ])
}
