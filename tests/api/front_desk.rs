//! The web front desk end to end in headless Chromium (issue #17): this test
//! starts the real binary, makes the users and files, runs
//! `tests/e2e/front_desk.mjs` (playwright-core driving Debian's chromium) and
//! then checks in the retrieval log what the pages did.
//!
//! Needs node, `/usr/bin/chromium` (or `CHROMIUM`) and `tests/e2e/node_modules`
//! (`npm ci --prefix tests/e2e`); `.ci/run` installs all three. Without them
//! the test fails under CI (`CI` set) and is skipped with a message elsewhere.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};

use crate::helpers::{ADMIN_PASSWORD, repair_order};
use crate::process::{login, start_server};

pub fn e2e_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/e2e")
}

/// Whether the browser harness is installed; panics under CI when it is not.
pub fn browser_ready() -> bool {
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let missing: Vec<&str> = [
        (!Path::new(&chromium).exists()).then_some("chromium (apt-get install chromium)"),
        (!e2e_dir().join("node_modules/playwright-core").exists())
            .then_some("tests/e2e/node_modules (npm ci --prefix tests/e2e)"),
        Command::new("node")
            .arg("--version")
            .output()
            .is_err()
            .then_some("node"),
    ]
    .into_iter()
    .flatten()
    .collect();
    if missing.is_empty() {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "the browser tests need {missing:?}: .ci/run installs them"
    );
    eprintln!("skipping the browser test: missing {missing:?}");
    false
}

/// Runs the browser script `name` of `tests/e2e/` against the server at
/// `address` with `env`, screenshots to `artifacts`; prints its steps and
/// returns the JSON summary it prints last. Panics, with its output, when a
/// step failed.
pub fn run_script(name: &str, address: &str, artifacts: &Path, env: &[(&str, String)]) -> Value {
    let mut cmd = Command::new("node");
    cmd.arg(e2e_dir().join(name))
        .current_dir(e2e_dir())
        .env("DANGAN_URL", address)
        .env("DANGAN_E2E_ARTIFACTS", artifacts);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("node runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{stdout}");
    assert!(
        out.status.success(),
        "browser test {name} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(stdout.lines().last().unwrap()).unwrap()
}

/// Files `meta` with `bytes` as a text file through the API as `token`;
/// returns the 201's body.
pub async fn file_text(
    client: &reqwest::Client,
    address: &str,
    token: &str,
    meta: &Value,
    bytes: &[u8],
) -> Value {
    let form = reqwest::multipart::Form::new()
        .text("metadata", meta.to_string())
        .part(
            "file",
            reqwest::multipart::Part::bytes(bytes.to_vec()).file_name("c.txt"),
        );
    let r = client
        .post(format!("{address}/api/v1/documents"))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    r.json().await.unwrap()
}

pub async fn add_user(client: &reqwest::Client, address: &str, admin: &str, user: Value) {
    let r = client
        .post(format!("{address}/api/v1/users"))
        .bearer_auth(admin)
        .json(&user)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{user}");
}

pub async fn events(
    client: &reqwest::Client,
    address: &str,
    auditor: &str,
    query: &str,
) -> Vec<Value> {
    let r: Value = client
        .get(format!("{address}/api/v1/audit/events?limit=1000&{query}"))
        .bearer_auth(auditor)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    r["events"].as_array().cloned().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clerk_files_and_staff_find_through_the_front_desk_in_chromium() {
    if !browser_ready() {
        return;
    }
    let _heavy = crate::helpers::HEAVY.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let server = start_server(&dir.path().join("data")).await;
    let address = server.address.clone();
    let client = reqwest::Client::new();
    let admin = login(&client, &address, "admin", ADMIN_PASSWORD).await;
    let user = |name: &str, roles: &[&str], branch: &str| {
        json!({"username": name, "password": format!("{name}-password-1"), "roles": roles,
            "branch": branch, "clearance": "confidential"})
    };
    for u in [
        user("clerk1", &["clerk"], "BJ01"),
        user("staff1", &["staff"], "BJ01"),
        user("staff2", &["staff"], "SH01"),
        user("clerk2", &["clerk"], "SH01"),
        user("auditor1", &["auditor"], "*"),
    ] {
        add_user(&client, &address, &admin, u).await;
    }
    // A document of another branch for staff1 to ask for.
    let clerk2 = login(&client, &address, "clerk2", "clerk2-password-1").await;
    let mut other = repair_order();
    other["branch"] = json!("SH01");
    other["title"] = json!("上海店投诉处理记录");
    other["vehicle"]["plate"] = json!("沪B·77777");
    other["service"]["order_no"] = json!("SH01-20260301-000777");
    let mut other_vin = b"LSVAB2180E2000002".to_vec();
    other_vin[8] = dangan::domain::vehicle::vin_check_digit(&other_vin).unwrap();
    other["vehicle"]["vin"] = json!(String::from_utf8(other_vin).unwrap());
    let other = file_text(&client, &address, &clerk2, &other, b"complaint").await;

    // The files the clerk files through the page: a Chinese PDF whose text
    // pdf.js must lay out (predefined UniGB-UCS2-H CMap, served by us), and
    // two text files to drop.
    let files = dir.path().join("files");
    std::fs::create_dir_all(&files).unwrap();
    let pdf = dangan::corpus::pdf::pdf_variant(
        dangan::corpus::pdf::Variant::UniGbUcs2,
        &[
            "维修委托书 前轮刹车片更换",
            "检查制动液 更换刹车片 试车正常",
        ],
    );
    std::fs::write(files.join("委托书.pdf"), pdf).unwrap();
    std::fs::write(files.join("保养记录一.txt"), "保养检查：机油、滤芯。").unwrap();
    std::fs::write(files.join("保养记录二.txt"), "保养检查：轮胎、灯光。").unwrap();
    let vin = repair_order()["vehicle"]["vin"]
        .as_str()
        .unwrap()
        .to_string();

    let artifacts = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/e2e-artifacts");
    let summary = run_script(
        "front_desk.mjs",
        &address,
        &artifacts,
        &[
            (
                "DANGAN_E2E_FILES",
                json!({
                    "pdf": files.join("委托书.pdf"),
                    "text_a": files.join("保养记录一.txt"),
                    "text_b": files.join("保养记录二.txt"),
                })
                .to_string(),
            ),
            (
                "DANGAN_E2E_USERS",
                json!({
                    "clerk": {"username": "clerk1", "password": "clerk1-password-1"},
                    "staff": {"username": "staff1", "password": "staff1-password-1"},
                    "stranger": {"username": "staff2", "password": "staff2-password-1"},
                })
                .to_string(),
            ),
            (
                "DANGAN_E2E_OTHER_DOC",
                other["archive_no"].as_str().unwrap().to_string(),
            ),
            ("DANGAN_E2E_VIN", vin.clone()),
        ],
    );
    let first = summary["ids"][0].as_str().unwrap();

    // What the pages did is in the retrieval log, as the API's use cases write it.
    let auditor = login(&client, &address, "auditor1", "auditor1-password-1").await;
    let filed = events(
        &client,
        &address,
        &auditor,
        "user=clerk1&action=document.file",
    )
    .await;
    assert_eq!(filed.len(), 3, "three filings by the clerk's page");
    assert!(filed.iter().all(|e| e["outcome"] == "allowed"));
    for (action, user) in [
        ("document.correct", "clerk1"),
        ("document.version.add", "clerk1"),
        ("auth.logout", "clerk1"),
        ("vehicle.history", "staff1"),
        ("access.request", "staff1"),
    ] {
        let found = events(
            &client,
            &address,
            &auditor,
            &format!("user={user}&action={action}"),
        )
        .await;
        assert!(!found.is_empty(), "{action} by {user}");
    }
    let views = events(
        &client,
        &address,
        &auditor,
        &format!("user=staff1&action=document.view&document={first}"),
    )
    .await;
    assert!(
        !views.is_empty(),
        "the page view of the document is a document.view record"
    );
    let content = events(
        &client,
        &address,
        &auditor,
        &format!("user=staff1&action=document.content&document={first}"),
    )
    .await;
    assert!(
        !content.is_empty(),
        "the preview's download is a document.content record"
    );
    let searches = events(&client, &address, &auditor, "user=staff1&action=search").await;
    assert!(
        searches.iter().any(|e| e["detail"]["q"] == "制动液"),
        "the IME search is recorded with its query"
    );
    let denied = events(
        &client,
        &address,
        &auditor,
        "user=staff2&action=document.view",
    )
    .await;
    assert!(
        denied.iter().all(|e| e["outcome"] != "allowed"),
        "the other branch saw nothing"
    );
    // The forged form filed no request: staff1 has exactly the one asked for.
    let staff1 = login(&client, &address, "staff1", "staff1-password-1").await;
    let mine: Value = client
        .get(format!("{address}/api/v1/access-requests"))
        .bearer_auth(&staff1)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mine = mine["requests"].as_array().unwrap();
    assert_eq!(mine.len(), 1, "{mine:?}");
    assert_ne!(mine[0]["purpose"], summary["forged_purpose"]);
    drop(server);
}
