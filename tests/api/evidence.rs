//! The retrieval log is never repaired by deletion (spec §4), against the real
//! binary: a damaged record stops the start without a byte changed; the
//! operator's explicit flag continues in a new chain segment that names the
//! damage and reuses no number; a log rolled back behind the object store's
//! signed checkpoints stops the start too.

use std::process::{Command, Stdio};
use std::time::Duration;

use crate::crash::{free_port, login, run_cli_status, serve_command, server_env, start_server_env};
use crate::helpers::{ADMIN_PASSWORD, MASTER_KEY};

fn log_path(dir: &std::path::Path) -> std::path::PathBuf {
    dir.join("audit").join("retrieval.log")
}

/// Runs `dangan serve` expecting it to refuse to start; returns what it said.
fn refused_start(dir: &std::path::Path) -> String {
    let mut cmd = serve_command(dir, free_port());
    server_env(&mut cmd, MASTER_KEY).stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let started = std::time::Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(!status.success(), "the server refused");
            let out = child.wait_with_output().unwrap();
            return String::from_utf8_lossy(&out.stderr).to_string();
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the server started on a damaged log"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

async fn start(dir: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> crate::crash::Server {
    start_server_env(dir, args, env).await
}

/// `n` records: requests with a bad token, each refused with one record.
async fn make_records(address: &str, n: usize) {
    let client = reqwest::Client::new();
    for _ in 0..n {
        let r = client
            .get(format!("{address}/api/v1/auth/me"))
            .bearer_auth("not-a-token")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
    }
}

fn records(dir: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(log_path(dir))
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

#[tokio::test]
async fn a_damaged_record_stops_the_start_and_the_flag_continues_in_a_new_segment() {
    let dir = tempfile::tempdir().unwrap();
    let env = [];
    let mut server = start(dir.path(), &[], &env).await;
    make_records(&server.address, 40).await;
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    let total = records(dir.path()).len();
    assert!(total >= 40);

    // One altered byte in record 30 makes it unreadable.
    let path = log_path(dir.path());
    let mut bytes = std::fs::read(&path).unwrap();
    let start_of_30: usize = bytes
        .split_inclusive(|&b| b == b'\n')
        .take(29)
        .map(<[u8]>::len)
        .sum();
    bytes[start_of_30] = b'X';
    std::fs::write(&path, &bytes).unwrap();

    let said = refused_start(dir.path());
    assert!(said.contains("record 30"), "{said}");
    assert_eq!(std::fs::read(&path).unwrap(), bytes, "the log is untouched");

    let server = start(dir.path(), &["--open-new-log-segment"], &env).await;
    let client = reqwest::Client::new();
    let admin = login(&client, &server.address, "admin", ADMIN_PASSWORD).await;
    assert!(!admin.is_empty());
    drop(server);
    let after = std::fs::read(&path).unwrap();
    assert!(
        after.starts_with(&bytes),
        "the damaged bytes stay where they are"
    );
    let seqs: Vec<u64> = records(dir.path())[total..]
        .iter()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v["seq"].as_u64())
        .collect();
    assert!(!seqs.is_empty());
    assert!(
        seqs.iter().all(|s| *s > total as u64),
        "no sequence number is reused: {seqs:?} after {total}"
    );
    let (ok, report) = run_cli_status("audit-verify", dir.path(), MASTER_KEY);
    assert!(!ok, "verification keeps reporting the damage: {report}");
    let report: serde_json::Value = serde_json::from_str(&report).unwrap();
    assert_eq!(report["first_bad_seq"], 30, "{report}");
    assert_eq!(report["segments"], 2, "{report}");
    // The acknowledged damage needs no flag at the next start.
    let server = start(dir.path(), &[], &env).await;
    drop(server);
}

#[tokio::test]
async fn a_log_rolled_back_behind_a_signed_checkpoint_stops_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let env = [("DANGAN__AUDIT__CHECKPOINT_INTERVAL_SECS", "1")];
    let mut server = start(dir.path(), &[], &env).await;
    make_records(&server.address, 5).await;
    let older = std::fs::read(log_path(dir.path())).unwrap();
    make_records(&server.address, 20).await;
    // Wait until the store holds a checkpoint beyond the older copy.
    let checkpoints = dir.path().join("objects/audit/checkpoints");
    let older_records = older.split(|&b| b == b'\n').count() as u64 - 1;
    let started = std::time::Instant::now();
    loop {
        let newest = std::fs::read_dir(&checkpoints)
            .map(|d| {
                d.flatten()
                    .filter_map(|e| e.file_name().to_str()?.parse::<u64>().ok())
                    .max()
                    .unwrap_or(0)
            })
            .unwrap_or(0);
        if newest > older_records {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "no checkpoint was written"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    server.child.kill().unwrap();
    server.child.wait().unwrap();

    std::fs::write(log_path(dir.path()), &older).unwrap();
    let said = refused_start(dir.path());
    assert!(said.contains("signed checkpoint"), "{said}");
    assert_eq!(std::fs::read(log_path(dir.path())).unwrap(), older);

    // With the flag it continues, and the checkpointer seals new records
    // again instead of failing on every tick.
    let server = start(dir.path(), &["--open-new-log-segment"], &env).await;
    let before = std::fs::read_dir(&checkpoints).unwrap().count();
    make_records(&server.address, 3).await;
    let started = std::time::Instant::now();
    while std::fs::read_dir(&checkpoints).unwrap().count() == before {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the checkpointer is stuck"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Runs `dangan audit-verify` on `dir` with extra arguments; (exit code, report).
fn offline_verify(dir: &std::path::Path, args: &[&std::ffi::OsStr]) -> (i32, serde_json::Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_dangan"))
        .args(["audit-verify", "--data-dir"])
        .arg(dir)
        .args(args)
        .env("RUST_LOG", "error")
        .output()
        .unwrap();
    let report = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&out.stderr)));
    (out.status.code().unwrap_or(-1), report)
}

fn copy_tree(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(e.file_name());
        if e.path().is_dir() {
            copy_tree(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).unwrap();
        }
    }
}

/// Rewrites record `seq`'s client address and recomputes the chain after it,
/// as an intruder with the whole data directory would.
fn rewrite_with_chain(log: &std::path::Path, seq: u64) {
    let mut prev = String::new();
    let mut out = String::new();
    for line in std::fs::read_to_string(log).unwrap().lines() {
        let mut v: serde_json::Value = serde_json::from_str(line).unwrap();
        let n = v["seq"].as_u64().unwrap();
        if n == seq {
            v["client"] = serde_json::json!("10.9.9.9");
        }
        if n > seq {
            v["prev_hash"] = serde_json::json!(prev);
        }
        v.as_object_mut().unwrap().remove("hash");
        let record: dangan::audit::Record = serde_json::from_value(v.clone()).unwrap();
        let hash = dangan::audit::record_hash(&record);
        v["hash"] = serde_json::json!(hash);
        prev = hash;
        out.push_str(&v.to_string());
        out.push('\n');
    }
    std::fs::write(log, out).unwrap();
}

#[tokio::test]
async fn offline_verification_is_anchored_in_the_store_and_the_auditors_key() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(
        dir.path(),
        &[],
        &[("DANGAN__AUDIT__CHECKPOINT_INTERVAL_SECS", "1")],
    )
    .await;
    make_records(&server.address, 12).await;
    // The auditor's own verify seals everything first.
    let client = reqwest::Client::new();
    let admin = login(&client, &server.address, "admin", ADMIN_PASSWORD).await;
    let auditor = serde_json::json!({"username": "auditor", "password": "auditor-password", "roles": ["auditor"], "branch": "*", "clearance": "restricted"});
    client
        .post(format!("{}/api/v1/users", server.address))
        .bearer_auth(&admin)
        .json(&auditor)
        .send()
        .await
        .unwrap();
    let token = login(&client, &server.address, "auditor", "auditor-password").await;
    let report: serde_json::Value = client
        .get(format!("{}/api/v1/audit/verify", server.address))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(report["status"], "ok", "{report}");
    // The verify's own record is sealed by the next tick.
    let started = std::time::Instant::now();
    loop {
        let newest = std::fs::read_dir(dir.path().join("objects/audit/checkpoints"))
            .unwrap()
            .flatten()
            .filter_map(|e| e.file_name().to_str()?.parse::<usize>().ok())
            .max()
            .unwrap_or(0);
        if newest == records(dir.path()).len() {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "not sealed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    drop(server);

    // What the auditor kept: the public key and one checkpoint.
    let kept = tempfile::tempdir().unwrap();
    let key = kept.path().join("audit.pub");
    std::fs::copy(dir.path().join("keys/audit-ed25519.der.pub"), &key).unwrap();
    let line5: serde_json::Value = serde_json::from_str(&records(dir.path())[4]).unwrap();
    let held = format!("5:{}", line5["hash"].as_str().unwrap());
    let key_arg = [std::ffi::OsStr::new("--public-key"), key.as_os_str()];
    assert_eq!(offline_verify(dir.path(), &key_arg).0, 0, "pristine");
    let (code, report) = offline_verify(dir.path(), &[]);
    assert_eq!(
        (code, report["status"].as_str()),
        (2, Some("unanchored")),
        "{report}"
    );

    let pristine = kept.path().join("pristine");
    copy_tree(dir.path(), &pristine);
    let fresh = |name: &str| {
        let d = kept.path().join(name);
        copy_tree(&pristine, &d);
        d
    };

    // An altered record with the local checkpoint file deleted: the store's
    // checkpoints still catch it.
    let d = fresh("altered");
    let log = log_path(&d);
    let text = std::fs::read_to_string(&log)
        .unwrap()
        .replacen("\"127.0.0.1\"", "\"127.0.0.2\"", 1);
    std::fs::write(&log, text).unwrap();
    std::fs::remove_file(d.join("audit/checkpoints.jsonl")).unwrap();
    let (code, report) = offline_verify(&d, &key_arg);
    assert_eq!(code, 1, "{report}");

    // A corrupted line in a checkpoints file given to the verifier is reported.
    let d = fresh("bad-line");
    let cps = d.join("audit/checkpoints.jsonl");
    let mut text = std::fs::read_to_string(&cps).unwrap();
    text.push_str("{\"seq\": 99, broken\n");
    std::fs::write(&cps, text).unwrap();
    let mut args = key_arg.to_vec();
    args.extend([std::ffi::OsStr::new("--checkpoints"), cps.as_os_str()]);
    let (code, report) = offline_verify(&d, &args);
    assert_eq!(code, 1, "{report}");
    assert!(
        report["problem"].as_str().unwrap().contains("unreadable"),
        "{report}"
    );

    // data/audit rolled back to an empty log: the store's checkpoints say what is missing.
    let d = fresh("rolled-back");
    std::fs::write(log_path(&d), b"").unwrap();
    std::fs::write(d.join("audit/checkpoints.jsonl"), b"").unwrap();
    let (code, report) = offline_verify(&d, &key_arg);
    assert_eq!(code, 1, "{report}");

    // A checkpoint object altered in the store fails its signature.
    let d = fresh("forged-checkpoint");
    let store_cps = d.join("objects/audit/checkpoints");
    let first = std::fs::read_dir(&store_cps)
        .unwrap()
        .flatten()
        .next()
        .unwrap()
        .path();
    let mut cp: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&first).unwrap()).unwrap();
    cp["head"] = serde_json::json!("ab".repeat(32));
    std::fs::write(&first, cp.to_string()).unwrap();
    assert_eq!(offline_verify(&d, &key_arg).0, 1);

    // The full rewrite: a record changed, the chain recomputed, every checkpoint
    // and sealed segment deleted. Never `ok`: unanchored — and with the
    // checkpoint the auditor kept, damaged.
    let d = fresh("rewritten");
    rewrite_with_chain(&log_path(&d), 3);
    std::fs::remove_dir_all(d.join("objects/audit")).unwrap();
    std::fs::remove_file(d.join("audit/checkpoints.jsonl")).unwrap();
    let (code, report) = offline_verify(&d, &key_arg);
    assert_eq!(
        (code, report["status"].as_str()),
        (2, Some("unanchored")),
        "{report}"
    );
    let mut args = key_arg.to_vec();
    let held_arg = std::ffi::OsString::from(&held);
    args.extend([std::ffi::OsStr::new("--checkpoint"), held_arg.as_os_str()]);
    let (code, report) = offline_verify(&d, &args);
    assert_eq!(code, 1, "{report}");
    assert_eq!(report["first_bad_seq"], 5, "{report}");
}
