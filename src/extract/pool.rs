//! The server's side of extraction: a small warm pool of child processes
//! ([`super::worker`]), at most `workers` busy at once, each reused for file
//! after file. A child that crashes, breaks its limits or misses the wall-clock
//! deadline is killed with its whole process group (it may be running
//! `pdftotext`) and replaced on the next request; the caller gets a reason, the
//! server notices nothing else.
//!
//! Children start with an empty environment, no inherited descriptors but the
//! three pipes (Rust opens every other descriptor close-on-exec), and their own
//! process group.

use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use tokio::sync::Semaphore;

use super::inspect::Inspection;
use super::worker::{Answer, MAX_ANSWER_BYTES, encode_request};
use super::{MAX_TEXT_BYTES, extractable, unsupported};

/// How the pool starts its children.
#[derive(Debug, Clone)]
pub struct PoolConfig {
    /// The `dangan` executable to run as `extract-worker`.
    pub program: PathBuf,
    /// Children busy at once (≥ 1).
    pub workers: usize,
    /// Address-space limit of each child (MiB).
    pub memory_mb: u64,
    /// CPU time one file may take (seconds).
    pub cpu_secs: u64,
    /// Wall-clock time one file may take, queueing excluded.
    pub timeout: Duration,
    /// poppler's `pdftotext`, if installed.
    pub pdftotext: Option<PathBuf>,
    /// The OCR engine, for a pool of OCR children (`None` in the text pool).
    pub ocr: Option<super::ocr::Ocr>,
}

impl PoolConfig {
    /// From the `[extract]` configuration: an empty `program` is this very
    /// executable, 0 workers one per core, an empty `pdftotext` the one on `PATH`.
    pub fn from_config(c: &crate::config::ExtractConfig) -> Result<PoolConfig, String> {
        let program = if c.program.is_empty() {
            std::env::current_exe()
                .map_err(|e| format!("cannot find this executable to run text extraction: {e}"))?
        } else {
            PathBuf::from(&c.program)
        };
        let workers = match c.workers {
            0 => std::thread::available_parallelism().map_or(2, |n| n.get()),
            n => n,
        };
        Ok(PoolConfig {
            program,
            workers,
            memory_mb: c.memory_mb,
            cpu_secs: c.cpu_secs,
            timeout: Duration::from_secs(c.timeout_secs),
            pdftotext: resolve_pdftotext(&c.pdftotext)?,
            ocr: None,
        })
    }
}

/// Finds `pdftotext` on `PATH`, as an absolute path (children get no `PATH`).
pub fn find_pdftotext() -> Option<PathBuf> {
    find_program("pdftotext")
}

/// Finds a program on `PATH`, as an absolute path.
pub fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

pub struct ExtractPool {
    config: PoolConfig,
    permits: Semaphore,
    idle: std::sync::Mutex<Vec<Worker>>,
}

struct Worker {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    /// Files answered so far; a worker is replaced after [`FILES_PER_WORKER`].
    files: u32,
}

/// A child is replaced after this many files, so whatever a long run leaves in
/// it (fragmented memory, CPU time counted against its limit) stays bounded.
const FILES_PER_WORKER: u32 = 500;

impl Worker {
    fn kill_group(&self) {
        if let Some(pid) = self.child.id() {
            // SAFETY: kill(2) with a negative pid signals the child's own group
            // (it was started with process_group(0), so its pgid is its pid).
            unsafe { libc::kill(-(pid as i32), libc::SIGKILL) };
        }
    }

    /// Sends one request and reads its answer.
    async fn ask(&mut self, frame: &[u8]) -> std::io::Result<Answer> {
        self.stdin.write_all(frame).await?;
        self.stdin.flush().await?;
        let len = self.stdout.read_u32().await? as usize;
        if len > MAX_ANSWER_BYTES {
            return Err(std::io::ErrorKind::InvalidData.into());
        }
        let mut json = vec![0u8; len];
        self.stdout.read_exact(&mut json).await?;
        let mut answer: Answer =
            serde_json::from_slice(&json).map_err(|_| std::io::ErrorKind::InvalidData)?;
        if let Ok(text) = &mut answer.text
            && text.len() > MAX_TEXT_BYTES
        {
            return Err(std::io::ErrorKind::InvalidData.into());
        }
        Ok(answer)
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        // A worker dropped while busy (a deadline, a cancelled request) takes
        // its `pdftotext` with it; an idle one just ends. tokio reaps it.
        self.kill_group();
    }
}

impl ExtractPool {
    pub fn new(config: PoolConfig) -> Self {
        let workers = config.workers.max(1);
        ExtractPool {
            permits: Semaphore::new(workers),
            idle: std::sync::Mutex::new(Vec::with_capacity(workers)),
            config,
        }
    }

    pub fn config(&self) -> &PoolConfig {
        &self.config
    }

    fn spawn(&self) -> std::io::Result<Worker> {
        let c = &self.config;
        let mut command = Command::new(&c.program);
        command
            .arg("extract-worker")
            .args(["--memory-mb", &c.memory_mb.to_string()])
            .args(["--cpu-secs", &c.cpu_secs.to_string()]);
        if let Some(p) = &c.pdftotext {
            command.arg("--pdftotext").arg(p);
        }
        if let Some(ocr) = &c.ocr {
            command.arg("--ocr-python").arg(&ocr.python);
            if let Some(p) = &ocr.pdftoppm {
                command.arg("--pdftoppm").arg(p);
            }
        }
        let mut child = command
            .env_clear()
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .process_group(0)
            .kill_on_drop(true)
            .spawn()?;
        let stdin = child.stdin.take().expect("piped stdin");
        let stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        Ok(Worker {
            child,
            stdin,
            stdout,
            files: 0,
        })
    }

    /// The text of a file, extracted by a child process, or the reason there is
    /// none (one sentence for the clerk). Waits for a free child first.
    pub async fn extract(&self, content_type: &str, bytes: &[u8]) -> Result<String, String> {
        if !extractable(content_type) {
            return Err(unsupported(content_type));
        }
        self.examine(content_type, bytes).await.text
    }

    /// What OCR reads of a scan of `scan_type` (a pool started with an OCR
    /// engine only).
    pub async fn recognise(
        &self,
        scan_type: &str,
        bytes: &[u8],
    ) -> Result<super::ocr::OcrRead, String> {
        let answer = self.examine(&format!("ocr:{scan_type}"), bytes).await;
        match (answer.ocr, answer.text) {
            (Some(read), _) => Ok(read),
            (None, Err(reason)) => Err(reason),
            (None, Ok(_)) => Err("OCR gave no answer".into()),
        }
    }

    /// A file's text (or why there is none) and its inspection for the ingest
    /// checks, by a child process. A child that dies or misses its deadline
    /// answers with a reason and an inspection that says the file was not
    /// examined whole.
    pub async fn examine(&self, content_type: &str, bytes: &[u8]) -> Answer {
        let failed = |reason: String| Answer {
            text: Err(reason),
            inspection: Inspection {
                format: super::inspect::sniff(bytes),
                ..Inspection::default()
            },
            ocr: None,
        };
        match self.ask_child(content_type, bytes).await {
            Ok(answer) => answer,
            Err(reason) => failed(reason),
        }
    }

    async fn ask_child(&self, content_type: &str, bytes: &[u8]) -> Result<Answer, String> {
        let _permit = self.permits.acquire().await.expect("never closed");
        // An idle child that died meanwhile (killed from outside) must not be
        // blamed on the next file.
        let idle = self.idle.lock().expect("pool lock").pop();
        let idle = idle.and_then(|mut w| matches!(w.child.try_wait(), Ok(None)).then_some(w));
        let mut worker = match idle {
            Some(w) => w,
            None => self.spawn().map_err(|e| {
                tracing::error!(error = %e, program = %self.config.program.display(), "cannot start the text extraction worker");
                "text extraction is unavailable on this server right now; the document is filed without text".to_string()
            })?,
        };
        let frame = encode_request(content_type, bytes);
        match tokio::time::timeout(self.config.timeout, worker.ask(&frame)).await {
            Ok(Ok(answer)) => {
                worker.files += 1;
                if worker.files < FILES_PER_WORKER {
                    self.idle.lock().expect("pool lock").push(worker);
                }
                Ok(answer)
            }
            Ok(Err(_)) => {
                let status = self.reap(worker).await;
                tracing::warn!(
                    ?status,
                    content_type,
                    "a text extraction worker died on a file"
                );
                Err(self.crash_reason(status))
            }
            Err(_) => {
                tracing::warn!(content_type, "a text extraction worker missed its deadline");
                drop(worker);
                Err(format!(
                    "reading the file's text took longer than {} s (damaged or hostile file?); it is filed without text",
                    self.config.timeout.as_secs()
                ))
            }
        }
    }

    async fn reap(&self, mut worker: Worker) -> Option<ExitStatus> {
        worker.kill_group();
        tokio::time::timeout(Duration::from_secs(2), worker.child.wait())
            .await
            .ok()
            .and_then(Result::ok)
    }

    fn crash_reason(&self, status: Option<ExitStatus>) -> String {
        use std::os::unix::process::ExitStatusExt;
        match status.and_then(|s| s.signal()) {
            Some(libc::SIGXCPU) => format!(
                "reading the file's text used more than {} s of CPU time (damaged or hostile file?); it is filed without text",
                self.config.cpu_secs
            ),
            // Rust aborts when an allocation fails at the address-space limit.
            Some(libc::SIGABRT) => format!(
                "reading the file's text needed more than {} MiB of memory (damaged or hostile file?); it is filed without text",
                self.config.memory_mb
            ),
            _ => "the text reader crashed on this file (damaged or hostile file?); it is filed without text".to_string(),
        }
    }

    /// Whether `pdftotext` was found; said once at start by the caller.
    pub fn reads_pdf(&self) -> bool {
        self.config.pdftotext.is_some()
    }
}

/// The `pdftotext` to use: `configured` if set (it must exist), else the one on
/// `PATH`, else none.
pub fn resolve_pdftotext(configured: &str) -> Result<Option<PathBuf>, String> {
    if configured.is_empty() {
        return Ok(find_pdftotext());
    }
    let path = Path::new(configured);
    if path.is_file() {
        Ok(Some(path.to_path_buf()))
    } else {
        Err(format!("extract.pdftotext: {configured} does not exist"))
    }
}
