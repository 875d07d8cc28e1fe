//! `dangan import` (spec §10), the real binary against a running server: a
//! generated folder of 200 rows (text, PDF, DOCX, JPEG scans; bad rows of
//! every kind) with a UTF-8 manifest and a GB18030 one; the receipt; a second
//! run filing nothing; a run killed halfway and run again filing each file
//! exactly once; the exit codes.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::time::Duration;

use rand::SeedableRng;
use serde_json::Value;

use crate::helpers::{PASSWORD, TestApp, spawn_app};

/// The smallest JPEG header `infer` recognises: a scan as far as filing knows.
const JPEG: &[u8] = &[
    0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0, 1, 1, 0, 0, 1, 0, 1, 0, 0, 0xFF,
    0xD9,
];

/// What each generated row is meant to end as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    Filed,
    UnknownCategory,
    BadVin,
    Missing,
    Duplicate,
}

/// Writes `rows` files under `dir` and returns the manifest's CSV text and
/// each row's expected outcome. Every fifth row is bad, by turns.
fn generate(dir: &Path, prefix: &str, rows: usize, seed: u64) -> (String, Vec<(String, Expect)>) {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut csv = String::from(
        "file,category,title,branch,vehicle.vin,customer.name,service.service_date,vehicle.mileage_km,tags\n",
    );
    let mut expected = vec![];
    let mut last_good = None;
    for n in 0..rows {
        let vin = dangan::corpus::vin(&mut rng, 2021);
        let name = dangan::corpus::name(&mut rng);
        let expect = match (n % 5, n / 5 % 4) {
            (4, 0) => Expect::UnknownCategory,
            (4, 1) => Expect::BadVin,
            (4, 2) => Expect::Missing,
            (4, 3) => Expect::Duplicate,
            _ => Expect::Filed,
        };
        let (file, bytes): (String, Vec<u8>) = match n % 4 {
            0 => (
                format!("{prefix}/txt/委托书-{n:03}.txt"),
                format!("维修委托书 {n}\n车架号 {vin}\n客户 {name}\n更换刹车片").into_bytes(),
            ),
            1 => (
                format!("{prefix}/pdf/结算单-{n:03}.pdf"),
                dangan::corpus::files::pdf_with_text(&[&format!("结算清单 {n}"), &vin]),
            ),
            2 => (
                format!("{prefix}/docx/质检单-{n:03}.docx"),
                dangan::corpus::files::docx_with_text(&[&format!("质量检验单 {n}"), &vin]),
            ),
            _ => (format!("{prefix}/scan/scan-{n:03}.jpg"), JPEG.to_vec()),
        };
        let file = if expect == Expect::Duplicate {
            last_good.clone().expect("a good row came before")
        } else {
            file
        };
        if expect != Expect::Missing && expect != Expect::Duplicate {
            let path = dir.join(&file);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            // Each file differs, so no two rows share a source key by content.
            let mut bytes = bytes;
            if file.ends_with(".txt") || file.ends_with(".jpg") {
                bytes.extend(format!("\n{n}").as_bytes());
            }
            std::fs::write(path, bytes).unwrap();
        }
        let category = if expect == Expect::UnknownCategory {
            "ZZ"
        } else {
            "WX"
        };
        let vin = if expect == Expect::BadVin {
            // Another check digit (ISO 3779: the ninth character).
            let mut v: Vec<char> = vin.chars().collect();
            v[8] = if v[8] == '0' { '1' } else { '0' };
            v.into_iter().collect()
        } else {
            vin
        };
        csv.push_str(&format!(
            "{file},{category},维修委托书 第{n}号,BJ01,{vin},{name},2026-03-{:02},{},保养;首保\n",
            n % 28 + 1,
            10000 + n
        ));
        if expect == Expect::Filed {
            last_good = Some(file.clone());
        }
        expected.push((file, expect));
    }
    (csv, expected)
}

/// Runs `dangan import` to its end: (exit code, stdout, stderr).
async fn import(
    app: &TestApp,
    dir: &Path,
    manifest: &Path,
    out: &Path,
    password: &str,
) -> (i32, String, String) {
    let output = import_command(&app.address, dir, manifest, out, password)
        .output()
        .await
        .unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn import_command(
    url: &str,
    dir: &Path,
    manifest: &Path,
    out: &Path,
    password: &str,
) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_dangan"));
    cmd.arg("import")
        .arg(dir)
        .args(["--url", url, "--user", "clerk_bj", "--jobs", "3"])
        .arg("--manifest")
        .arg(manifest)
        .arg("--receipt-dir")
        .arg(out)
        .env("DANGAN_PASSWORD", password)
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    cmd
}

/// The receipt's rows by file: (status, archive_no, sha256, reason).
fn receipt(out: &Path) -> Vec<[String; 5]> {
    let mut r = csv::Reader::from_path(out.join("receipt.csv")).unwrap();
    assert_eq!(
        r.headers().unwrap(),
        vec!["file", "status", "archive_no", "sha256", "reason"]
    );
    r.records()
        .map(|rec| {
            let rec = rec.unwrap();
            std::array::from_fn(|i| rec[i].to_string())
        })
        .collect()
}

/// Filings recorded in the log, by source path.
fn filings(app: &TestApp) -> BTreeMap<String, usize> {
    let mut by_source = BTreeMap::new();
    for r in app.audit_records() {
        if r["action"] == "document.file" && r["outcome"] == "allowed" {
            let source = r["detail"]["source"].as_str().unwrap_or("").to_string();
            *by_source.entry(source).or_insert(0) += 1;
        }
    }
    by_source
}

fn check_receipt(rows: &[[String; 5]], expected: &[(String, Expect)], first_run: bool) {
    assert_eq!(rows.len(), expected.len(), "a receipt row per manifest row");
    for (n, (row, (file, expect))) in rows.iter().zip(expected).enumerate() {
        let [f, status, archive_no, sha, reason] = row;
        assert_eq!(f, file, "row {n}: in manifest order");
        let want = match expect {
            Expect::Filed if first_run => "filed",
            Expect::Filed => "already_filed",
            _ => "refused",
        };
        assert_eq!(status, want, "row {n} ({file}): {reason}");
        match expect {
            Expect::Filed => {
                assert!(archive_no.starts_with("BJ01-WX-2026-"), "{archive_no}");
                assert_eq!(sha.len(), 64);
            }
            Expect::UnknownCategory => assert!(reason.contains("category"), "{reason}"),
            Expect::BadVin => assert!(reason.contains("vehicle.vin"), "{reason}"),
            Expect::Missing => assert!(reason.contains("not found"), "{reason}"),
            Expect::Duplicate => assert!(reason.contains("same file as row"), "{reason}"),
        }
        if *expect != Expect::Filed {
            assert!(archive_no.is_empty(), "a refused row has no number");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_files_every_good_row_once_and_the_receipt_says_so() {
    let app = spawn_app().await;
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("in");
    let (csv, expected) = generate(&dir, "a", 200, 19);
    let good = expected.iter().filter(|(_, e)| *e == Expect::Filed).count();
    let bad = 200 - good;
    assert_eq!(bad, 40);
    let manifest = work.path().join("manifest.csv");
    std::fs::write(
        &manifest,
        [b"\xEF\xBB\xBF".as_slice(), csv.as_bytes()].concat(),
    )
    .unwrap();
    let out = work.path().join("receipt1");

    let (code, stdout, stderr) = import(&app, &dir, &manifest, &out, PASSWORD).await;
    assert_eq!(code, 2, "some rows refused: {stdout}\n{stderr}");
    check_receipt(&receipt(&out), &expected, true);
    assert!(
        stdout.contains(&format!("{good} filed, 0 already filed, {bad} refused")),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("authenticity: {good} pass")),
        "{stdout}"
    );
    let pdf = std::fs::read(out.join("receipt.pdf")).unwrap();
    assert!(pdf.starts_with(b"%PDF-"));
    if let Some(text) = pdf_text(&out.join("receipt.pdf")) {
        assert!(
            text.contains("档案移交接收记录") && text.contains(&format!("已归档 filed {good}")),
            "{text}"
        );
    }
    let filed = filings(&app);
    assert_eq!(filed.values().sum::<usize>(), good);
    assert!(filed.values().all(|n| *n == 1));

    // A scan's checks: format by content; the text waits for an OCR engine
    // this server does not run.
    let rows = receipt(&out);
    let (n, scan) = rows
        .iter()
        .enumerate()
        .find(|(_, r)| r[0].ends_with(".jpg") && r[1] == "filed")
        .unwrap();
    let token = app.token("clerk_bj").await;
    let d: Value = app
        .get(&token, &format!("/api/v1/documents/{}", scan[2]))
        .await
        .json()
        .await
        .unwrap();
    let checks = &d["versions"][0]["checks"];
    assert_eq!(checks["authenticity"]["status"], "pass", "{checks}");
    assert!(
        checks["usability"]["findings"][0]
            .as_str()
            .unwrap()
            .contains("image/jpeg"),
        "{checks}"
    );
    assert_eq!(d["title"], format!("维修委托书 第{n}号"));
    assert_eq!(d["text"]["indexed"], false);

    // The second run files nothing new.
    let out2 = work.path().join("receipt2");
    let (code, stdout, _) = import(&app, &dir, &manifest, &out2, PASSWORD).await;
    assert_eq!(code, 2);
    check_receipt(&receipt(&out2), &expected, false);
    assert!(
        stdout.contains(&format!("0 filed, {good} already filed")),
        "{stdout}"
    );
    assert_eq!(
        filings(&app).values().sum::<usize>(),
        good,
        "nothing filed twice"
    );
    let first: Vec<String> = receipt(&out).into_iter().map(|r| r[2].clone()).collect();
    let second: Vec<String> = receipt(&out2).into_iter().map(|r| r[2].clone()).collect();
    assert_eq!(first, second, "the same archive numbers");
}

fn pdf_text(path: &Path) -> Option<String> {
    let out = std::process::Command::new("pdftotext")
        .arg(path)
        .arg("-")
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gb18030_manifest_is_read_and_a_bad_cell_names_its_row_and_column() {
    let app = spawn_app().await;
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("in");
    let (mut csv, expected) = generate(&dir, "b", 12, 7);
    // Row 14 (the header is row 1): mileage in words.
    std::fs::write(dir.join("b/extra.txt"), "补录 维修记录").unwrap();
    csv.push_str("b/extra.txt,WX,补录的维修记录,BJ01,LFV2A21K2M3000001,张三,2026-03-02,一万二,\n");
    let (gb, _, unmappable) = encoding_rs::GB18030.encode(&csv);
    assert!(!unmappable);
    assert!(std::str::from_utf8(&gb).is_err(), "really not UTF-8");
    let manifest = work.path().join("manifest-gb18030.csv");
    std::fs::write(&manifest, &gb).unwrap();
    let out = work.path().join("receipt");
    let (code, stdout, stderr) = import(&app, &dir, &manifest, &out, PASSWORD).await;
    assert_eq!(code, 2, "{stdout}{stderr}");
    let rows = receipt(&out);
    check_receipt(&rows[..12], &expected, true);
    let last = &rows[12];
    assert_eq!(last[1], "refused");
    assert!(
        last[4].contains("row 14, column vehicle.mileage_km"),
        "{}",
        last[4]
    );
    // The titles arrived as written.
    let token = app.token("clerk_bj").await;
    let d: Value = app
        .get(&token, &format!("/api/v1/documents/{}", rows[0][2]))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(d["title"], "维修委托书 第0号");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_killed_halfway_and_run_again_files_each_file_exactly_once() {
    let app = spawn_app().await;
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("in");
    // Good rows only, larger files, one at a time: the kill lands mid-run.
    let mut csv = String::from("file,category,title,vehicle.vin,service.service_date\n");
    let mut rng = rand::rngs::StdRng::seed_from_u64(3);
    for n in 0..150 {
        let file = format!("c/{n:03}.txt");
        let body = format!("{n} {}\n", "维修记录 ".repeat(40_000));
        std::fs::create_dir_all(dir.join("c")).unwrap();
        std::fs::write(dir.join(&file), body).unwrap();
        csv.push_str(&format!(
            "{file},WX,维修记录 {n},{},2026-04-01\n",
            dangan::corpus::vin(&mut rng, 2022)
        ));
    }
    let manifest = work.path().join("manifest.csv");
    std::fs::write(&manifest, csv).unwrap();
    let out = work.path().join("receipt");
    let mut child = import_command(&app.address, &dir, &manifest, &out, PASSWORD)
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    loop {
        let n = filings(&app).values().sum::<usize>();
        if n >= 20 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the import files"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "killed before it ended"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    child.kill().await.unwrap(); // SIGKILL
    eprintln!("killed after {:?}", started.elapsed());
    let killed_at = filings(&app).values().sum::<usize>();
    assert!(killed_at < 150, "killed halfway ({killed_at} of 150 filed)");
    assert!(
        !out.join("receipt.csv").exists(),
        "no receipt from a killed run"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;

    let (code, stdout, stderr) = import(&app, &dir, &manifest, &out, PASSWORD).await;
    assert_eq!(code, 0, "{stdout}{stderr}");
    let rows = receipt(&out);
    assert_eq!(rows.len(), 150);
    let numbers: HashSet<&str> = rows.iter().map(|r| r[2].as_str()).collect();
    assert_eq!(numbers.len(), 150, "150 different archive numbers");
    let filed = filings(&app);
    assert_eq!(filed.len(), 150, "every source filed");
    assert!(filed.values().all(|n| *n == 1), "exactly once: {filed:?}");
    let again = rows.iter().filter(|r| r[1] == "already_filed").count();
    assert!(
        again >= 20,
        "what the killed run filed is found, not filed again ({again})"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_that_cannot_proceed_exits_1_and_says_why() {
    let app = spawn_app().await;
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("in");
    let (csv, _) = generate(&dir, "d", 3, 1);
    let manifest = work.path().join("manifest.csv");
    std::fs::write(&manifest, csv).unwrap();
    let out = work.path().join("receipt");
    let (code, _, stderr) = import(&app, &dir, &manifest, &out, "wrong-password").await;
    assert_eq!(code, 1);
    assert!(stderr.contains("login refused"), "{stderr}");
    let port = crate::process::free_port();
    let output = import_command(
        &format!("http://127.0.0.1:{port}"),
        &dir,
        &manifest,
        &out,
        PASSWORD,
    )
    .output()
    .await
    .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("unreachable"));
    std::fs::write(&manifest, "file,colour\na,b\n").unwrap();
    let (code, _, stderr) = import(&app, &dir, &manifest, &out, PASSWORD).await;
    assert_eq!(code, 1);
    assert!(stderr.contains("colour"), "{stderr}");
    assert!(filings(&app).is_empty(), "nothing filed");
    // Every row good: 0.
    let dir = work.path().join("good");
    let (csv, _) = generate(&dir, "e", 4, 2);
    std::fs::write(&manifest, csv).unwrap();
    let (code, stdout, stderr) = import(&app, &dir, &manifest, &out, PASSWORD).await;
    assert_eq!(code, 0, "{stdout}{stderr}");
}
