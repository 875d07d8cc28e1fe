//! OCR of scans in the background (spec §10): pages rendered here from known
//! Chinese text (Debian's Noto CJK, a few sizes, slight rotation and noise,
//! `tests/ocr/page.py`), filed as JPEG, PNG and image-only PDF, become
//! searchable by their words within a bounded time; the character error rate
//! of each page is reported and held under 2%; the VIN on the page is
//! suggested; a restart with pages queued finishes them.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use unicode_normalization::UnicodeNormalization;

use crate::helpers::{TestApp, spawn_app_in, test_config};

/// Whether this machine has the OCR engine; CI installs it (`.ci/run`).
fn engine_installed() -> bool {
    let ok = std::process::Command::new("python3")
        .args(["-c", "import rapidocr, onnxruntime, PIL"])
        .output()
        .is_ok_and(|o| o.status.success())
        && Path::new("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc").exists();
    assert!(
        ok || std::env::var("CI").is_err(),
        "CI installs rapidocr, onnxruntime and fonts-noto-cjk"
    );
    ok
}

async fn spawn_ocr_app() -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let mut config = test_config(dir.path(), &crate::helpers::Store::Local);
    config.ocr.enabled = true;
    spawn_app_in(dir, config).await
}

/// Renders pages `seeds` into `dir` (page-SEED.{jpg,png,pdf,txt,vin}).
fn render(dir: &Path, seeds: &[u32]) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ocr/page.py");
    let out = std::process::Command::new("python3")
        .arg(script)
        .arg(dir)
        .args(seeds.iter().map(u32::to_string))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Character error rate: edit distance over the reference's length, both
/// sides NFKC-normalised (full- and half-width punctuation alike) and without
/// whitespace (the engine drops the gaps between words).
fn cer(reference: &str, read: &str) -> f64 {
    let norm = |s: &str| -> Vec<char> { s.nfkc().filter(|c| !c.is_whitespace()).collect() };
    let (a, b) = (norm(reference), norm(read));
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()] as f64 / a.len() as f64
}

/// Files a scan as clerk_bj; its metadata names none of the page's words.
async fn file_scan(app: &TestApp, token: &str, path: &Path, content_type: &str, n: usize) -> Value {
    let metadata = json!({
        "category": "WX",
        "title": format!("扫描件 {n}"),
        "vehicle": {"vin": "LFV2A21K2M3000001"},
        "service": {"service_date": "2026-03-01"},
        "branch": "BJ01"
    });
    let form = reqwest::multipart::Form::new()
        .text("metadata", metadata.to_string())
        .part(
            "file",
            reqwest::multipart::Part::bytes(std::fs::read(path).unwrap())
                .file_name(path.file_name().unwrap().to_string_lossy().into_owned())
                .mime_str(content_type)
                .unwrap(),
        );
    let r = app
        .client
        .post(app.url("/api/v1/documents"))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let d: Value = r.json().await.unwrap();
    assert_eq!(
        d["text"],
        json!({"indexed": false, "reason": null, "pending": "ocr"}),
        "the 201 does not wait for OCR"
    );
    d
}

/// Waits until the document's text is indexed (or OCR said why not).
async fn wait_for_ocr(app: &TestApp, token: &str, id: &str, within: Duration) -> Value {
    let started = Instant::now();
    loop {
        let d: Value = app
            .get(token, &format!("/api/v1/documents/{id}"))
            .await
            .json()
            .await
            .unwrap();
        if d["text"]["pending"].is_null() {
            return d;
        }
        assert!(
            started.elapsed() < within,
            "OCR of {id} took longer than {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scans_become_searchable_by_their_recognised_text() {
    if !engine_installed() {
        return;
    }
    let pages = tempfile::tempdir().unwrap();
    render(pages.path(), &[1, 2, 3]);
    let app = spawn_ocr_app().await;
    let token = app.token("clerk_bj").await;
    let scans = [
        ("page-1.jpg", "image/jpeg"),
        ("page-2.png", "image/png"),
        ("page-3.pdf", "application/pdf"),
    ];
    let mut filed = vec![];
    for (n, (name, ct)) in scans.iter().enumerate() {
        filed.push(file_scan(&app, &token, &pages.path().join(name), ct, n).await);
    }
    for (d, (name, _)) in filed.iter().zip(scans) {
        let id = d["id"].as_str().unwrap();
        let d = wait_for_ocr(&app, &token, id, Duration::from_secs(240)).await;
        assert_eq!(d["text"]["indexed"], true, "{name}: {}", d["text"]);
        let stem = name.split('.').next().unwrap();
        let reference = std::fs::read_to_string(pages.path().join(format!("{stem}.txt"))).unwrap();
        let vin = std::fs::read_to_string(pages.path().join(format!("{stem}.vin"))).unwrap();
        let ocr = &d["versions"][0]["ocr"];
        assert_eq!(ocr["suggested_vin"], vin.as_str(), "{name}: {ocr}");
        assert!(ocr["confidence"].as_f64().unwrap() > 0.8, "{ocr}");
        let read: Value = app
            .get(&token, &format!("/api/v1/documents/{id}/text"))
            .await
            .json()
            .await
            .unwrap();
        let rate = cer(&reference, read["text"].as_str().unwrap());
        eprintln!(
            "OCR {name}: CER {:.2}%, confidence {}",
            rate * 100.0,
            ocr["confidence"]
        );
        assert!(
            rate <= 0.02,
            "{name}: CER {:.2}% > 2%:\n{}",
            rate * 100.0,
            read["text"]
        );
        // Searchable by a word only the page carries (the title says 扫描件).
        let fault = reference.lines().nth(6).unwrap(); // 维修项目：...
        let word: String = fault.chars().skip(5).take_while(|c| *c != '，').collect();
        // The index commits in batches: the hit shows within a commit interval.
        let started = Instant::now();
        loop {
            let r: Value = app
                .get(&token, &format!("/api/v1/search?q={word}"))
                .await
                .json()
                .await
                .unwrap();
            let hits: Vec<&str> = r["hits"]
                .as_array()
                .unwrap()
                .iter()
                .map(|h| h["id"].as_str().unwrap())
                .collect();
            if hits.contains(&id) {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "{name}: search for {word} finds it: {r}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // The ingest checks saw a scan.
        let usability = &d["versions"][0]["checks"]["usability"];
        assert!(usability.to_string().contains("OCR"), "{usability}");
    }
    let records = app.audit_records();
    let ocr_records = records
        .iter()
        .filter(|r| r["action"] == "document.ocr")
        .count();
    assert_eq!(ocr_records, 3, "each reading is recorded");
    // No plaintext of the page in the store: the recognised text is sealed.
    let reference = std::fs::read_to_string(pages.path().join("page-1.txt")).unwrap();
    let needle = reference.lines().nth(5).unwrap().as_bytes().to_vec();
    for f in app.object_files() {
        let bytes = std::fs::read(&f).unwrap();
        assert!(
            !bytes.windows(needle.len()).any(|w| w == needle),
            "{} holds plaintext",
            f.display()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_with_scans_queued_finishes_them() {
    if !engine_installed() {
        return;
    }
    let pages = tempfile::tempdir().unwrap();
    render(pages.path(), &[4, 5]);
    let app = spawn_ocr_app().await;
    let token = app.token("clerk_bj").await;
    let a = file_scan(
        &app,
        &token,
        &pages.path().join("page-4.jpg"),
        "image/jpeg",
        4,
    )
    .await;
    let b = file_scan(
        &app,
        &token,
        &pages.path().join("page-5.png"),
        "image/png",
        5,
    )
    .await;
    // Stopped at once: the scans are still queued (one may be half read).
    let app = app.restart().await;
    let token = app.token("clerk_bj").await;
    for (d, stem) in [(a, "page-4"), (b, "page-5")] {
        let id = d["id"].as_str().unwrap();
        let d = wait_for_ocr(&app, &token, id, Duration::from_secs(240)).await;
        assert_eq!(d["text"]["indexed"], true, "{stem}: {}", d["text"]);
        let vin = std::fs::read_to_string(pages.path().join(format!("{stem}.vin"))).unwrap();
        assert_eq!(d["versions"][0]["ocr"]["suggested_vin"], vin.as_str());
    }
}
