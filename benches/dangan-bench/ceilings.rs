//! Crypto, hashing, durable puts and log appends: the machine's ceilings next to
//! dangan's own paths.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use aes_gcm::aead::{AeadInOut, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use dangan::audit::{AuditLog, Context, Outcome};
use dangan::config::{Config, Overrides};
use dangan::storage::BlobStore;
use dangan::storage::envelope::DataKey;
use dangan::storage::stream::{ContentEncryptor, DEFAULT_CHUNK};
use object_store::path::Path as ObjectPath;
use sha2::{Digest, Sha256};

use crate::{Row, percentile};

const MB: f64 = 1e6;

pub fn crypto() -> Vec<Row> {
    let total = 256 * 1024 * 1024;
    let data = vec![0x5au8; total];
    // Ceiling: AES-256-GCM over 64 KiB chunks, in place, nothing else.
    let cipher = Aes256Gcm::new(&[7u8; 32].into());
    let mut buf = vec![0u8; DEFAULT_CHUNK];
    let t = Instant::now();
    for (i, chunk) in data.chunks(DEFAULT_CHUNK).enumerate() {
        buf.copy_from_slice(chunk);
        let mut nonce = [0u8; 12];
        nonce[..8].copy_from_slice(&(i as u64).to_be_bytes());
        let _tag = cipher
            .encrypt_inout_detached(&Nonce::from(nonce), b"", buf.as_mut_slice().into())
            .unwrap();
    }
    let raw_aes = total as f64 / t.elapsed().as_secs_f64() / MB;
    // dangan: the STREAM encryptor content goes through.
    let (mut enc, header) = ContentEncryptor::new(&DataKey::generate(), "bench/1", DEFAULT_CHUNK);
    let mut out = header;
    let t = Instant::now();
    for chunk in data.chunks(1 << 20) {
        enc.update(chunk, &mut out).unwrap();
        out.clear();
    }
    enc.finish(&mut out).unwrap();
    let stream = total as f64 / t.elapsed().as_secs_f64() / MB;
    // SHA-256 ceiling, and the hash + encrypt pair as filing does it.
    let t = Instant::now();
    let _ = Sha256::digest(&data);
    let sha = total as f64 / t.elapsed().as_secs_f64() / MB;
    let both_ceiling = 1.0 / (1.0 / sha + 1.0 / raw_aes);
    let (mut enc, header) = ContentEncryptor::new(&DataKey::generate(), "bench/2", DEFAULT_CHUNK);
    let mut out = header;
    let mut hasher = Sha256::new();
    let t = Instant::now();
    for chunk in data.chunks(1 << 20) {
        hasher.update(chunk);
        enc.update(chunk, &mut out).unwrap();
        out.clear();
    }
    let both = total as f64 / t.elapsed().as_secs_f64() / MB;
    vec![
        Row::rate(
            "content encryption (STREAM, 64 KiB chunks)",
            stream,
            "AES-256-GCM in place",
            raw_aes,
            "MB/s",
        ),
        Row::rate(
            "SHA-256 + encryption, as filing does",
            both,
            "SHA-256 then AES-GCM",
            both_ceiling,
            "MB/s",
        ),
    ]
}

fn config(dir: &Path) -> Config {
    Config::load(
        None,
        &Overrides {
            bind: None,
            data_dir: Some(dir.to_path_buf()),
            ..Overrides::default()
        },
    )
    .expect("defaults load")
}

/// 50 KiB objects: our durable store wrapper vs. write + fsync file + fsync dir.
pub async fn durable_puts(scratch: &Path) -> anyhow::Result<Vec<Row>> {
    let body = vec![0xa5u8; 50 * 1024];
    let mut rows = vec![];
    for writers in [1usize, 16] {
        let n = 400 * writers.min(4);
        // Ceiling: plain files, fsynced with their directory.
        let dir = scratch.join(format!("raw-{writers}"));
        std::fs::create_dir_all(&dir)?;
        let t = Instant::now();
        let mut tasks = vec![];
        for w in 0..writers {
            let (dir, body) = (dir.clone(), body.clone());
            tasks.push(tokio::task::spawn_blocking(
                move || -> std::io::Result<()> {
                    for i in 0..n / writers {
                        let sub = dir.join(format!("{w}-{i}"));
                        std::fs::create_dir(&sub)?;
                        let mut f = std::fs::File::create(sub.join("obj"))?;
                        f.write_all(&body)?;
                        f.sync_all()?;
                        std::fs::File::open(&sub)?.sync_all()?;
                        std::fs::File::open(&dir)?.sync_all()?;
                    }
                    Ok(())
                },
            ));
        }
        for t in tasks {
            t.await??;
        }
        let raw = n as f64 / t.elapsed().as_secs_f64();
        // dangan: BlobStore on the local filesystem (object_store with fsync).
        let store = BlobStore::open(
            &config(scratch).storage,
            &scratch.join(format!("store-{writers}")),
        )
        .map_err(anyhow::Error::msg)?;
        let store = Arc::new(store);
        let t = Instant::now();
        let mut tasks = vec![];
        for w in 0..writers {
            let (store, body) = (store.clone(), body.clone());
            tasks.push(tokio::spawn(async move {
                for i in 0..n / writers {
                    store
                        .put(
                            &ObjectPath::from(format!("docs/{w}-{i}/content/1")),
                            body.clone(),
                        )
                        .await
                        .unwrap();
                }
            }));
        }
        for t in tasks {
            t.await?;
        }
        let ours = n as f64 / t.elapsed().as_secs_f64();
        rows.push(Row::rate(
            &format!("durable 50 KiB put, {writers} writer(s)"),
            ours,
            "write + fsync file and dirs",
            raw,
            "puts/s",
        ));
    }
    Ok(rows)
}

/// Durable retrieval-log appends: group commit under concurrency vs. the disk's
/// ceiling for batches of the same size, and the latency a request waits.
pub async fn audit_appends(scratch: &Path) -> anyhow::Result<Vec<Row>> {
    let mut rows = vec![];
    let record = vec![b'x'; 200];
    for waiters in [32usize, 256] {
        // Ceiling: write `waiters` 200-byte records, one fdatasync, repeat.
        let path = scratch.join(format!("raw-audit-{waiters}"));
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)?;
        let batches = 20_000 / waiters;
        let t = Instant::now();
        for _ in 0..batches {
            let mut buf = Vec::with_capacity(waiters * 201);
            for _ in 0..waiters {
                buf.extend_from_slice(&record);
                buf.push(b'\n');
            }
            f.write_all(&buf)?;
            f.sync_data()?;
        }
        let raw = (batches * waiters) as f64 / t.elapsed().as_secs_f64();
        // dangan: the real log (hash chain, JSON, group commit) with `waiters` tasks.
        let log = AuditLog::open(&scratch.join(format!("audit-{waiters}/retrieval.log")))
            .map_err(anyhow::Error::msg)?;
        let per_task = 20_000 / waiters;
        let t = Instant::now();
        let mut tasks = vec![];
        for _ in 0..waiters {
            let log = log.clone();
            tasks.push(tokio::spawn(async move {
                let ctx = Context::anonymous("bench".into(), "127.0.0.1".into());
                let mut lat = Vec::with_capacity(per_task);
                for _ in 0..per_task {
                    let s = Instant::now();
                    log.record(ctx.event("document.view", Outcome::Allowed))
                        .await
                        .unwrap();
                    lat.push(s.elapsed().as_secs_f64() * 1000.0);
                }
                lat
            }));
        }
        let mut lat = vec![];
        for t in tasks {
            lat.extend(t.await?);
        }
        let ours = (per_task * waiters) as f64 / t.elapsed().as_secs_f64();
        rows.push(Row::rate(
            &format!("retrieval-log appends, {waiters} concurrent"),
            ours,
            "200 B records, fdatasync per batch",
            raw,
            "records/s",
        ));
        let p99 = percentile(&mut lat, 0.99);
        rows.push(Row::latency(
            &format!("retrieval-log append p99, {waiters} concurrent"),
            p99,
            "p50",
            percentile(&mut lat, 0.5),
            "ms",
        ));
    }
    // Added latency at a modest rate: one request at a time, as at 1,000 req/s.
    let log =
        AuditLog::open(&scratch.join("audit-single/retrieval.log")).map_err(anyhow::Error::msg)?;
    let ctx = Context::anonymous("bench".into(), "127.0.0.1".into());
    let mut lat = vec![];
    for _ in 0..2000 {
        let s = Instant::now();
        log.record(ctx.event("document.view", Outcome::Allowed))
            .await?;
        lat.push(s.elapsed().as_secs_f64() * 1000.0);
        tokio::time::sleep(std::time::Duration::from_micros(500)).await;
    }
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(scratch.join("raw-single"))?;
    let mut raw = vec![];
    for _ in 0..2000 {
        let s = Instant::now();
        f.write_all(&record)?;
        f.sync_data()?;
        raw.push(s.elapsed().as_secs_f64() * 1000.0);
    }
    rows.push(Row::latency(
        "added latency per request (log append p99, one at a time)",
        percentile(&mut lat, 0.99),
        "write + fdatasync p99",
        percentile(&mut raw, 0.99),
        "ms",
    ));
    Ok(rows)
}
