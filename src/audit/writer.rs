//! The single writer of the retrieval log, with group commit.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, mpsc};

use tokio::sync::oneshot;

use super::chain::{Line, record_hash};
use super::recovery::settle;
use super::scan::{Touched, scan};
use super::{Event, Record};
use crate::domain::free_text::mask_free_text;
use crate::error::{Code, Error, Result};

/// Most records written under one `fdatasync`.
const MAX_BATCH: usize = 1024;

type Job = (
    Event,
    oneshot::Sender<std::result::Result<u64, std::io::Error>>,
);

/// Handle to the log; cheap to clone.
#[derive(Clone)]
pub struct AuditLog {
    tx: mpsc::SyncSender<Job>,
    path: PathBuf,
    head: Arc<Mutex<Head>>,
    recent: Arc<Mutex<RecentRequests>>,
}

/// The request ids of the latest records, so the edge can tell whether a
/// request's answer already left a record (spec §4: every authenticated answer
/// does).
#[derive(Default)]
struct RecentRequests {
    ids: std::collections::HashSet<String>,
    order: std::collections::VecDeque<String>,
}

/// Request ids remembered (a few MiB at most).
const RECENT_REQUESTS: usize = 16 * 1024;

impl RecentRequests {
    fn insert(&mut self, id: &str) {
        if id.is_empty() || !self.ids.insert(id.to_string()) {
            return;
        }
        self.order.push_back(id.to_string());
        if self.order.len() > RECENT_REQUESTS
            && let Some(old) = self.order.pop_front()
        {
            self.ids.remove(&old);
        }
    }
}

/// The last durable record: its sequence number and hash, and the file length.
/// Also the mark a snapshot of derived state keeps of the log.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Head {
    pub seq: u64,
    pub hash: String,
    pub len: u64,
}

struct Writer {
    head: Arc<Mutex<Head>>,
    file: File,
    len: u64,
    next_seq: u64,
    prev_hash: String,
}

impl AuditLog {
    /// Opens (or creates) the log at `path` and starts its writer thread. A torn
    /// last line left by a crash mid-write is set aside (see `recovery`); other
    /// damage refuses the open.
    pub fn open(path: &Path) -> std::result::Result<Self, String> {
        Self::open_after(path, None).map(|(log, _)| log)
    }

    /// Like [`AuditLog::open`], reading only the records after `mark` when the
    /// log still holds that record where the mark says. Returns the records
    /// after the mark that name a document, or `None` when the mark was not
    /// usable (absent, or from another log) and the whole file was read.
    pub fn open_after(
        path: &Path,
        mark: Option<&Head>,
    ) -> std::result::Result<(Self, Option<Vec<Touched>>), String> {
        Self::open_with(path, mark, false, None)
    }

    /// [`AuditLog::open_after`], with the operator's consent to continue past
    /// damage in a new chain segment (`--open-new-log-segment`).
    ///
    /// `anchored_seq` is the newest signed checkpoint's record in the object
    /// store: a log ending before it was cut off or rolled back, and is
    /// treated as damaged.
    pub fn open_with(
        path: &Path,
        mark: Option<&Head>,
        open_new_segment: bool,
        anchored_seq: Option<u64>,
    ) -> std::result::Result<(Self, Option<Vec<Touched>>), String> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        }
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(path)
            .map_err(|e| format!("cannot open retrieval log {}: {e}", path.display()))?;
        let mut scanned =
            scan(&mut file, mark).map_err(|e| format!("retrieval log {}: {e}", path.display()))?;
        if let Some(checkpoint_seq) = anchored_seq
            && scanned.head.seq < checkpoint_seq
        {
            match &mut scanned.damage {
                // Damaged and behind the store: a new segment must also number
                // above every record the store has sealed.
                Some(super::scan::Damage::Broken { max_seq, .. }) => {
                    *max_seq = (*max_seq).max(checkpoint_seq);
                }
                _ => {
                    scanned.damage = Some(super::scan::Damage::Cut {
                        seq: scanned.head.seq + 1,
                        offset: scanned.head.len,
                        checkpoint_seq,
                    })
                }
            }
        }
        let settled = settle(
            &mut file,
            path,
            scanned.head.clone(),
            scanned.damage,
            open_new_segment,
        )?;
        let head = Arc::new(Mutex::new(scanned.head));
        let mut writer = Writer {
            head: head.clone(),
            file,
            len: settled.len,
            next_seq: settled.next_seq,
            prev_hash: settled.prev_hash,
        };
        // What opening found is in the log before anything else.
        for event in settled.notices {
            let (done, mut wait) = oneshot::channel();
            writer.commit(vec![(event, done)]);
            match wait.try_recv() {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => return Err(format!("retrieval log {}: {e}", path.display())),
                Err(_) => return Err("the retrieval log writer gave no answer".into()),
            }
        }
        let (tx, rx) = mpsc::sync_channel::<Job>(4096);
        std::thread::Builder::new()
            .name("audit-writer".into())
            .spawn(move || writer.run(rx))
            .map_err(|e| format!("cannot start the retrieval log writer: {e}"))?;
        let log = AuditLog {
            tx,
            path: path.to_path_buf(),
            head,
            recent: Default::default(),
        };
        Ok((log, scanned.after_mark))
    }

    /// The last durable record.
    pub fn head(&self) -> Head {
        self.head.lock().expect("head lock").clone()
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether a record of request `request_id` was written lately.
    pub fn recorded(&self, request_id: &str) -> bool {
        self.recent
            .lock()
            .expect("recent lock")
            .ids
            .contains(request_id)
    }

    /// Appends a record and waits until it is durable. Returns its sequence number.
    pub async fn record(&self, mut event: Event) -> Result<u64> {
        // Personal data typed into free text (a purpose, a reason, a note, a
        // query) never reaches the log in full (spec §3).
        event.purpose = event.purpose.map(|p| mask_free_text(&p).0);
        mask_strings(&mut event.detail);
        self.recent
            .lock()
            .expect("recent lock")
            .insert(&event.request_id);
        let (done, wait) = oneshot::channel();
        let unavailable = || {
            Error::new(
                Code::AuditUnavailable,
                "the retrieval log cannot record this access; it was refused",
            )
        };
        self.tx.try_send((event, done)).map_err(|_| unavailable())?;
        match wait.await {
            Ok(Ok(seq)) => Ok(seq),
            Ok(Err(cause)) if cause.kind() == std::io::ErrorKind::StorageFull => {
                Err(Error::storage_full().with_source(cause))
            }
            Ok(Err(cause)) => Err(unavailable().with_source(cause)),
            Err(_) => Err(unavailable()),
        }
    }
}

/// Keys of a record's detail that hold identifiers, never free text: a user
/// name or an order number that happens to look like a phone number stays
/// as it is.
const IDENTIFIERS: [&str; 10] = [
    "requester",
    "user",
    "username",
    "document",
    "archive_no",
    "archive_nos",
    "vin",
    "order_no",
    "request",
    "disposal",
];

/// Masks phone and ID numbers in the free-text strings of a record's detail.
fn mask_strings(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::String(s) => {
            let (masked, found) = mask_free_text(s);
            if !found.is_empty() {
                *s = masked;
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(mask_strings),
        serde_json::Value::Object(map) => map
            .iter_mut()
            .filter(|(k, _)| !IDENTIFIERS.contains(&k.as_str()))
            .for_each(|(_, v)| mask_strings(v)),
        _ => {}
    }
}

impl Writer {
    fn run(&mut self, rx: mpsc::Receiver<Job>) {
        while let Ok(first) = rx.recv() {
            let mut batch = vec![first];
            while batch.len() < MAX_BATCH {
                match rx.try_recv() {
                    Ok(job) => batch.push(job),
                    Err(_) => break,
                }
            }
            self.commit(batch);
        }
    }

    fn commit(&mut self, batch: Vec<Job>) {
        let (start_seq, start_hash) = (self.next_seq, self.prev_hash.clone());
        let mut bytes = Vec::with_capacity(batch.len() * 512);
        let mut seqs = Vec::with_capacity(batch.len());
        for (event, _) in &batch {
            let record = Record {
                seq: self.next_seq,
                time: chrono::Utc::now(),
                event: event.clone(),
                prev_hash: self.prev_hash.clone(),
            };
            let hash = record_hash(&record);
            serde_json::to_writer(
                &mut bytes,
                &Line {
                    record,
                    hash: hash.clone(),
                },
            )
            .expect("a record always serialises");
            bytes.push(b'\n');
            seqs.push(self.next_seq);
            self.prev_hash = hash;
            self.next_seq += 1;
        }
        let written = self
            .file
            .write_all(&bytes)
            .and_then(|()| self.file.sync_data());
        match written {
            Ok(()) => {
                self.len += bytes.len() as u64;
                *self.head.lock().expect("head lock") = Head {
                    seq: self.next_seq - 1,
                    hash: self.prev_hash.clone(),
                    len: self.len,
                };
                for ((_, done), seq) in batch.into_iter().zip(seqs) {
                    let _ = done.send(Ok(seq));
                }
            }
            Err(e) => {
                // Roll back to the last durable record so the chain stays whole.
                tracing::error!(error = %e, "retrieval log write failed");
                let _ = self.file.set_len(self.len);
                self.next_seq = start_seq;
                self.prev_hash = start_hash;
                for (_, done) in batch {
                    let _ = done.send(Err(std::io::Error::new(e.kind(), e.to_string())));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{Context, Outcome, verify};

    fn ctx() -> Context {
        Context::anonymous("req-1".into(), "127.0.0.1".into())
    }

    #[tokio::test]
    async fn records_chain_verify_and_survive_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.log");
        let log = AuditLog::open(&path).unwrap();
        let mut handles = vec![];
        for _ in 0..50 {
            let log = log.clone();
            handles.push(tokio::spawn(async move {
                log.record(ctx().event("login", Outcome::Allowed))
                    .await
                    .unwrap()
            }));
        }
        let mut seqs: Vec<u64> = vec![];
        for h in handles {
            seqs.push(h.await.unwrap());
        }
        seqs.sort();
        assert_eq!(seqs, (1..=50).collect::<Vec<_>>());
        let report = verify(&path).unwrap();
        assert!(report.ok);
        assert_eq!(report.records_checked, 50);
        drop(log);
        // A torn line from a crash is set aside at reopen (record 51 says so)
        // and numbering continues.
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(b"{\"seq\":51,\"ti")
            .unwrap();
        let log = AuditLog::open(&path).unwrap();
        assert_eq!(
            log.record(ctx().event("login", Outcome::Denied))
                .await
                .unwrap(),
            52
        );
        assert!(verify(&path).unwrap().ok);
    }

    #[tokio::test]
    async fn verify_finds_an_altered_record() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.log");
        let log = AuditLog::open(&path).unwrap();
        for _ in 0..5 {
            log.record(ctx().event("search", Outcome::Allowed))
                .await
                .unwrap();
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let mut lines: Vec<String> = text.lines().map(String::from).collect();
        lines[2] = lines[2].replace("\"search\"", "\"login\"");
        std::fs::write(&path, lines.join("\n") + "\n").unwrap();
        let report = verify(&path).unwrap();
        assert!(!report.ok);
        assert_eq!(report.first_bad_seq, Some(3));
        lines.remove(2);
        std::fs::write(&path, lines.join("\n") + "\n").unwrap();
        assert_eq!(verify(&path).unwrap().first_bad_seq, Some(3));
    }
}
