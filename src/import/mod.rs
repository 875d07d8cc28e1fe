//! `dangan import DIR --url URL --user NAME [--manifest FILE.csv]
//! [--receipt-dir OUT]` (spec §10): a folder exported from a DMS or scanned in
//! batches, filed through a running server's API as the named user — the same
//! checks, archive numbers and log records as a clerk's filing.
//!
//! Each file is sent with its source (`{path, sha256, size}`), so the server
//! files it once however often the import runs: a re-run, or a run after a
//! kill, answers `already_filed` for what is in. A bad row is reported and
//! skipped, never half-filed. Exit status: 0 every row filed or already filed,
//! 2 some refused, 1 the run could not proceed (server unreachable, login
//! refused, manifest unreadable).

mod client;
pub mod manifest;
pub mod receipt;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use futures_util::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};

use client::{Client, Sent};
use manifest::Row;
use receipt::{Entry, Outcome};

/// The command line of `dangan import`.
#[derive(Debug, Clone, clap::Args)]
pub struct ImportArgs {
    /// The folder to import.
    pub dir: PathBuf,
    /// The server, e.g. http://127.0.0.1:8080
    #[arg(long)]
    pub url: String,
    /// The user the files are filed as (a clerk).
    #[arg(long)]
    pub user: String,
    /// The manifest (CSV: `file` and metadata columns); without it each file's
    /// `NAME.json` sidecar holds its metadata.
    #[arg(long)]
    pub manifest: Option<PathBuf>,
    /// Where the receipt (receipt.csv, receipt.pdf) is written.
    #[arg(long, default_value = ".")]
    pub receipt_dir: PathBuf,
    /// Files sent at once.
    #[arg(long, default_value_t = 4)]
    pub jobs: usize,
    /// The password; prompted for when not set.
    #[arg(long, env = "DANGAN_PASSWORD", hide_env_values = true, hide = true)]
    pub password: Option<String>,
}

/// Runs the import; returns the exit status.
pub fn main(args: ImportArgs) -> i32 {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("dangan import: cannot start: {e}");
            return 1;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("dangan import: {e}");
            1
        }
    }
}

async fn run(args: ImportArgs) -> Result<i32, String> {
    let rows = match &args.manifest {
        Some(file) => {
            let bytes = std::fs::read(file)
                .map_err(|e| format!("cannot read the manifest {}: {e}", file.display()))?;
            manifest::from_csv(&args.dir, &manifest::decode(&bytes)?)?
        }
        None => manifest::from_sidecars(&args.dir)?,
    };
    let password = match args.password.clone() {
        Some(p) => p,
        None => rpassword::prompt_password(format!("password for {}: ", args.user))
            .map_err(|e| format!("cannot read the password: {e}"))?,
    };
    let client = Arc::new(Client::login(&args.url, &args.user, &password).await?);
    let total_bytes: u64 = rows
        .iter()
        .filter_map(|r| std::fs::metadata(&r.path).ok())
        .map(|m| m.len())
        .sum();
    let progress = Progress::new(rows.len() as u64, total_bytes);
    let started = Instant::now();
    let mut results: Vec<(usize, Result<Entry, String>)> =
        futures_util::stream::iter(rows.into_iter().enumerate())
            .map(|(n, row)| {
                let client = client.clone();
                let progress = progress.clone();
                async move {
                    let size = std::fs::metadata(&row.path).map_or(0, |m| m.len());
                    let entry = file_one(&client, row).await;
                    progress.done(&entry, size);
                    (n, entry)
                }
            })
            .buffer_unordered(args.jobs.max(1))
            .collect()
            .await;
    progress.finish();
    results.sort_by_key(|(n, _)| *n);
    let mut entries = vec![];
    let mut stopped = None;
    for (_, r) in results {
        match r {
            Ok(e) => entries.push(e),
            Err(e) => stopped = Some(e),
        }
    }
    let title = format!(
        "来源 source: {}  服务器 server: {}  经办人 by: {}  {}",
        args.dir.display(),
        args.url,
        args.user,
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC")
    );
    receipt::write(&args.receipt_dir, &entries, &title).map_err(|e| {
        format!(
            "cannot write the receipt in {}: {e}",
            args.receipt_dir.display()
        )
    })?;
    let count = |s| entries.iter().filter(|e| e.status == s).count();
    let (filed, already, refused) = (
        count(Outcome::Filed),
        count(Outcome::AlreadyFiled),
        count(Outcome::Refused),
    );
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{filed} filed, {already} already filed, {refused} refused in {secs:.1} s; receipt in {}",
        args.receipt_dir.display()
    );
    for line in receipt::check_summary(&entries) {
        println!("  {line}");
    }
    if let Some(e) = stopped {
        eprintln!("dangan import: stopped: {e}");
        return Ok(1);
    }
    Ok(if refused > 0 { 2 } else { 0 })
}

/// Files one row. `Err` only when the run cannot go on (the server gone).
async fn file_one(client: &Client, row: Row) -> Result<Entry, String> {
    let refused = |file: String, sha256: String, reason: String| Entry {
        file,
        status: Outcome::Refused,
        archive_no: String::new(),
        sha256,
        reason,
        checks: None,
    };
    let metadata = match row.metadata {
        Ok(m) => m,
        Err(reason) => return Ok(refused(row.file, String::new(), reason)),
    };
    let (sha256, size) = match client::hash_file(&row.path).await {
        Ok(h) => h,
        Err(e) => return Ok(refused(row.file, String::new(), e)),
    };
    match client
        .file(&row.file, &row.path, &sha256, size, &metadata)
        .await?
    {
        Sent::Filed(d, already) => {
            let notes: Vec<String> = d
                .checks
                .as_ref()
                .map(|c| {
                    c.each()
                        .iter()
                        .filter(|(_, c)| c.status != crate::domain::ingest::Status::Pass)
                        .map(|(name, c)| {
                            format!("{name} {:?}: {}", c.status, c.findings.join("; "))
                                .to_lowercase()
                        })
                        .collect()
                })
                .unwrap_or_default();
            Ok(Entry {
                file: row.file,
                status: if already {
                    Outcome::AlreadyFiled
                } else {
                    Outcome::Filed
                },
                archive_no: d.archive_no,
                sha256,
                reason: notes.join(" | "),
                checks: d.checks,
            })
        }
        Sent::Refused(reason) => {
            let reason = match row.row {
                Some(n) => format!("row {n}: {reason}"),
                None => reason,
            };
            Ok(refused(row.file, sha256, reason))
        }
    }
}

/// A progress bar on a terminal (files, bytes, rate, ETA), plain lines otherwise.
#[derive(Clone)]
struct Progress {
    bar: Option<ProgressBar>,
    files: Arc<std::sync::atomic::AtomicU64>,
    total: u64,
}

impl Progress {
    fn new(files: u64, bytes: u64) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new(bytes);
            bar.set_style(
                ProgressStyle::with_template(
                    "{msg} {wide_bar} {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta}",
                )
                .expect("a valid template"),
            );
            bar.set_message(format!("0/{files} files"));
            bar
        });
        Progress {
            bar,
            files: Arc::default(),
            total: files,
        }
    }

    fn done(&self, entry: &Result<Entry, String>, size: u64) {
        let n = self.files.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
        match &self.bar {
            Some(bar) => {
                bar.inc(size);
                bar.set_message(format!("{n}/{} files", self.total));
            }
            None => {
                let line = match entry {
                    Ok(e) => format!(
                        "[{n}/{}] {} {} {}",
                        self.total,
                        e.status.as_str(),
                        e.file,
                        if e.status == Outcome::Refused {
                            &e.reason
                        } else {
                            &e.archive_no
                        }
                    ),
                    Err(e) => format!("[{n}/{}] stopped: {e}", self.total),
                };
                eprintln!("{line}");
            }
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish();
        }
    }
}
