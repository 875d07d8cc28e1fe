//! Hostile files and floods against the real `dangan` binary (spec §6): each
//! file once stopped, hung or ballooned the server. Now each costs at most an
//! extraction child: the server stays up and answers, its memory stays small,
//! its CPU returns to idle, and the retrieval log verifies afterwards.

use std::time::{Duration, Instant};

use serde_json::Value;

use dangan::corpus::files::pdf_with_text;
use dangan::corpus::hostile;

use crate::crash::{Server, login};
use crate::helpers::{ADMIN_PASSWORD, repair_order};

/// Limits the test server's extraction children run under.
const CHILD_MEMORY_MB: u64 = 384;
const CHILD_TIMEOUT_SECS: u64 = 4;

const DOCX: &str = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";

async fn start(data_dir: &std::path::Path, env: &[(&str, &str)]) -> Server {
    crate::process::start_server_env(data_dir, &[], env).await
}

/// A field of `/proc/<pid>/status` in KiB (`VmHWM`: peak resident memory).
fn status_kib(pid: u32, field: &str) -> u64 {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    text.lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// `pid`'s descendants, found through every process's parent id.
fn descendants(pid: u32) -> Vec<u32> {
    let parents: Vec<(u32, u32)> = std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|p| {
            let stat = std::fs::read_to_string(format!("/proc/{p}/stat")).ok()?;
            let after = stat.rsplit_once(')')?.1;
            let ppid = after.split_whitespace().nth(1)?.parse().ok()?;
            Some((p, ppid))
        })
        .collect();
    let mut out = vec![];
    let mut frontier = vec![pid];
    while let Some(p) = frontier.pop() {
        for (child, _) in parents.iter().filter(|(_, pp)| *pp == p) {
            out.push(*child);
            frontier.push(*child);
        }
    }
    out
}

/// Every process in one of the process groups `groups` (the extraction
/// children lead their own; a `pdftotext` they ran stays in it even when
/// orphaned).
fn in_groups(groups: &[u32]) -> Vec<u32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|p| {
            std::fs::read_to_string(format!("/proc/{p}/stat"))
                .ok()
                .and_then(|stat| {
                    let after = stat.rsplit_once(')')?.1.to_string();
                    after.split_whitespace().nth(2)?.parse::<u32>().ok()
                })
                .is_some_and(|g| groups.contains(&g))
        })
        .collect()
}

/// CPU time (clock ticks) used so far by `pids`.
fn cpu_ticks(pids: &[u32]) -> u64 {
    pids.iter()
        .filter_map(|p| std::fs::read_to_string(format!("/proc/{p}/stat")).ok())
        .filter_map(|stat| {
            let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
            Some(fields[11].parse::<u64>().ok()? + fields[12].parse::<u64>().ok()?)
        })
        .sum()
}

async fn file_as(
    client: &reqwest::Client,
    address: &str,
    token: &str,
    mime: &str,
    bytes: Vec<u8>,
) -> (u16, Value) {
    let form = reqwest::multipart::Form::new()
        .text("metadata", repair_order().to_string())
        .part(
            "file",
            reqwest::multipart::Part::bytes(bytes)
                .file_name("hostile")
                .mime_str(mime)
                .unwrap(),
        );
    let r = client
        .post(format!("{address}/api/v1/documents"))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// Creates a user of `role` and logs them in.
async fn add_user(
    client: &reqwest::Client,
    address: &str,
    admin: &str,
    name: &str,
    role: &str,
) -> String {
    let user = serde_json::json!({"username": name, "password": "password-of-a-test-user", "roles": [role], "branch": "BJ01", "clearance": "restricted"});
    let r = client
        .post(format!("{address}/api/v1/users"))
        .bearer_auth(admin)
        .json(&user)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    login(client, address, name, "password-of-a-test-user").await
}

#[tokio::test]
async fn hostile_files_cost_a_child_process_never_the_server() {
    let _heavy = crate::helpers::HEAVY.lock().await;
    if dangan::extract::pool::find_pdftotext().is_none() {
        assert!(std::env::var("CI").is_err(), "CI installs poppler-utils");
        eprintln!("pdftotext is not installed: skipping (.ci/run installs it)");
        return;
    }
    // The files are built first: building the bombs takes seconds, and a
    // pooled connection left idle that long is closed by the server.
    let plain = pdf_with_text(&["安全气囊故障灯常亮"]);
    let files: Vec<(&str, &str, Vec<u8>)> = vec![
        (
            "recursive XObject",
            "application/pdf",
            hostile::recursive_xobject_pdf(),
        ),
        (
            "looping page tree",
            "application/pdf",
            hostile::looping_page_tree_pdf(),
        ),
        (
            "inflate bomb (1 GiB)",
            "application/pdf",
            hostile::inflate_bomb_pdf(1 << 30),
        ),
        (
            "deep nesting",
            "application/pdf",
            hostile::deeply_nested_pdf(200_000),
        ),
        (
            "truncated PDF",
            "application/pdf",
            plain[..plain.len() / 2].to_vec(),
        ),
        ("encrypted PDF", "application/pdf", hostile::encrypted_pdf()),
        (
            "quadratic HTML",
            "text/html",
            hostile::quadratic_html(2 << 20),
        ),
        (
            "quadratic HTML, again",
            "text/html",
            hostile::quadratic_html(2 << 20),
        ),
        ("DOCX zip bomb", DOCX, hostile::docx_zip_bomb(256 << 20)),
    ];
    let dir = tempfile::tempdir().unwrap();
    let memory = CHILD_MEMORY_MB.to_string();
    let timeout = CHILD_TIMEOUT_SECS.to_string();
    let mut server = start(
        dir.path(),
        &[
            ("DANGAN__EXTRACT__MEMORY_MB", &memory),
            ("DANGAN__EXTRACT__TIMEOUT_SECS", &timeout),
            ("DANGAN__EXTRACT__CPU_SECS", "3"),
            ("DANGAN__EXTRACT__WORKERS", "2"),
        ],
    )
    .await;
    let pid = server.child.id();
    let address = server.address.clone();
    // Idle connections are dropped well before actix's 5 s keep-alive closes
    // them, so a request never races the server's close.
    let client = reqwest::Client::builder()
        .pool_idle_timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    let admin = login(&client, &address, "admin", ADMIN_PASSWORD).await;
    let clerk = add_user(&client, &address, &admin, "clerk", "clerk").await;
    let auditor = add_user(&client, &address, &admin, "auditor", "auditor").await;

    // Health is asked every 100 ms throughout; the slowest answer is kept.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let watcher = {
        let (stop, address) = (stop.clone(), address.clone());
        tokio::spawn(async move {
            let client = reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .build()
                .unwrap();
            let (mut slowest, mut failures) = (Duration::ZERO, 0);
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let t = Instant::now();
                match client.get(format!("{address}/healthz")).send().await {
                    Ok(r) if r.status() == 200 => slowest = slowest.max(t.elapsed()),
                    _ => failures += 1,
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            (slowest, failures)
        })
    };

    let started = Instant::now();
    let filings = files.into_iter().map(|(name, mime, bytes)| {
        let (client, address, clerk) = (client.clone(), address.clone(), clerk.clone());
        async move { (name, file_as(&client, &address, &clerk, mime, bytes).await) }
    });
    let (mut limits_seen, mut groups) = (vec![], vec![]);
    let results = {
        let all = futures_util::future::join_all(filings);
        tokio::pin!(all);
        loop {
            // While the files are being read, look at the children's limits.
            tokio::select! {
                results = &mut all => break results,
                _ = tokio::time::sleep(Duration::from_millis(200)) => {
                    for child in descendants(pid) {
                        groups.push(child);
                        let limits = std::fs::read_to_string(format!("/proc/{child}/limits")).unwrap_or_default();
                        if let Some(line) = limits.lines().find(|l| l.starts_with("Max address space")) {
                            limits_seen.push(line.split_whitespace().nth(3).unwrap_or("").to_string());
                        }
                    }
                }
            }
        }
    };
    let filed_in = started.elapsed();
    limits_seen.sort();
    limits_seen.dedup();
    for (name, (status, body)) in &results {
        match status {
            201 => {
                let text = &body["text"];
                assert!(
                    text["indexed"] == true
                        || text["reason"].as_str().is_some_and(|r| !r.is_empty()),
                    "{name}: {body}"
                );
                eprintln!("{name}: 201, text {text}");
            }
            400..=499 => eprintln!("{name}: {status} {body}"),
            _ => panic!("{name}: {status} {body}"),
        }
    }
    assert!(
        server.child.try_wait().unwrap().is_none(),
        "the server is up"
    );

    // Every child's deadline has passed: nothing may still burn CPU.
    tokio::time::sleep(Duration::from_secs(2)).await;
    groups.sort();
    groups.dedup();
    let mut all = in_groups(&groups);
    all.extend(descendants(pid));
    all.push(pid);
    let before = cpu_ticks(&all);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let used = cpu_ticks(&all).saturating_sub(before);
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (slowest, failures) = watcher.await.unwrap();

    let peak_mib = status_kib(pid, "VmHWM") / 1024;
    eprintln!(
        "hostile files: filed in {filed_in:?}; slowest /healthz {slowest:?}; server peak RSS {peak_mib} MiB; CPU after {used} ticks/s; child limits {limits_seen:?}"
    );
    assert_eq!(failures, 0, "/healthz failed while files were read");
    assert!(
        slowest < Duration::from_secs(1),
        "/healthz took {slowest:?}"
    );
    assert!(peak_mib < 300, "server peak RSS {peak_mib} MiB");
    assert!(
        used <= 20,
        "CPU still busy after the deadline: {used} ticks in 1 s"
    );
    let want = (CHILD_MEMORY_MB * 1024 * 1024).to_string();
    assert!(!limits_seen.is_empty(), "an extraction child was seen");
    assert!(limits_seen.iter().all(|l| *l == want), "{limits_seen:?}");

    let report: Value = client
        .get(format!("{address}/api/v1/audit/verify"))
        .bearer_auth(&auditor)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(report["ok"], true, "{report}");
    assert!(report["records_checked"].as_u64().unwrap() > 10, "{report}");
    server.child.kill().unwrap();
}

#[tokio::test]
async fn fifty_concurrent_failed_logins_keep_the_server_small() {
    let dir = tempfile::tempdir().unwrap();
    // No lockout in the way: every guess reaches the password check.
    let server = start(dir.path(), &[("DANGAN__AUTH__MAX_FAILED_LOGINS", "1000")]).await;
    let pid = server.child.id();
    let client = reqwest::Client::new();
    let guesses = (0..50).map(|n| {
        let (client, address) = (client.clone(), server.address.clone());
        async move {
            client
                .post(format!("{address}/api/v1/auth/login"))
                .json(&serde_json::json!({"username": format!("guess{n}"), "password": "wrong-password"}))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    });
    let statuses = futures_util::future::join_all(guesses).await;
    let peak_mib = status_kib(pid, "VmHWM") / 1024;
    eprintln!("50 failed logins: statuses {statuses:?}; peak RSS {peak_mib} MiB");
    assert!(
        statuses.iter().all(|s| *s == 401 || *s == 503),
        "{statuses:?}"
    );
    assert!(peak_mib < 300, "server peak RSS {peak_mib} MiB");
}
