//! The extraction child: `dangan extract-worker`, a hidden subcommand the server
//! starts (see [`super::pool`]). It limits itself before it reads a byte, then
//! answers one request at a time on stdin/stdout until stdin closes.
//!
//! Limits (setrlimit(2)), inherited by the `pdftotext` it runs:
//! - `RLIMIT_AS`: address space, so a decompression bomb ends in a failed
//!   allocation (the child aborts), not in the server's memory;
//! - `RLIMIT_CPU`: raised before each request to the CPU already used plus the
//!   per-file allowance, so a loop ends in SIGXCPU even if the server's
//!   wall-clock kill were late;
//! - `RLIMIT_CORE` 0 (a core dump would hold plaintext), `RLIMIT_FSIZE` 0 (no
//!   parser writes a file) and `RLIMIT_NOFILE` 64;
//! - no new privileges (`PR_SET_NO_NEW_PRIVS`), death with the server
//!   (`PR_SET_DEATHSIG`), and `/` as working directory (not the data directory).
//!
//! The server itself is not dumpable (see `main`), so a child subverted by a
//! file cannot read the server's memory or environment through `/proc`.
//!
//! The frames, all integers big-endian:
//! - request: `u32` length + content type (UTF-8), `u32` length + the file's
//!   bytes; a content type `ocr:TYPE` asks for OCR of a scan of `TYPE` (only a
//!   child started with `--ocr-python` takes it);
//! - answer: `u32` length + an [`Answer`] as JSON.

use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::inspect::Inspection;
use super::ocr::{Ocr, OcrRead};
use super::{MAX_EXTRACT_BYTES, MAX_TEXT_BYTES, Parsers};

/// The child's answer to one file: its text or why there is none, what the
/// ingest checks need to know of it, and for an OCR request what was read.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Answer {
    pub text: Result<String, String>,
    pub inspection: Inspection,
    pub ocr: Option<OcrRead>,
}

/// The longest answer frame: the text, JSON-escaped, and the rest.
pub const MAX_ANSWER_BYTES: usize = MAX_TEXT_BYTES * 6 + 64 * 1024;

/// The child's limits, passed on its command line.
#[derive(Debug, Clone)]
pub struct WorkerLimits {
    /// Address space of the child and of each program it runs (MiB).
    pub memory_mb: u64,
    /// CPU time one file may take (seconds).
    pub cpu_secs: u64,
}

/// Largest content-type string accepted in a request.
const MAX_CONTENT_TYPE: usize = 256;

/// One request read from `input`; `None` at a clean end of input.
pub fn read_request(input: &mut impl Read) -> io::Result<Option<(String, Vec<u8>)>> {
    let mut len = [0u8; 4];
    match input.read_exact(&mut len) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let ct_len = u32::from_be_bytes(len) as usize;
    if ct_len > MAX_CONTENT_TYPE {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "content type"));
    }
    let mut ct = vec![0u8; ct_len];
    input.read_exact(&mut ct)?;
    input.read_exact(&mut len)?;
    let body_len = u32::from_be_bytes(len) as u64;
    let limit = if ct.starts_with(b"ocr:") {
        super::ocr::MAX_SCAN_BYTES
    } else {
        MAX_EXTRACT_BYTES
    };
    if body_len > limit {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "body length"));
    }
    let mut body = vec![0u8; body_len as usize];
    input.read_exact(&mut body)?;
    let ct = String::from_utf8(ct).map_err(|_| io::Error::from(io::ErrorKind::InvalidData))?;
    Ok(Some((ct, body)))
}

/// Writes a request frame (the server's side of [`read_request`]).
pub fn encode_request(content_type: &str, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + content_type.len() + body.len());
    out.extend_from_slice(&(content_type.len() as u32).to_be_bytes());
    out.extend_from_slice(content_type.as_bytes());
    out.extend_from_slice(&(body.len() as u32).to_be_bytes());
    out.extend_from_slice(body);
    out
}

fn write_answer(out: &mut impl Write, answer: &Answer) -> io::Result<()> {
    let json = serde_json::to_vec(answer).map_err(io::Error::other)?;
    out.write_all(&(json.len() as u32).to_be_bytes())?;
    out.write_all(&json)?;
    out.flush()
}

/// Answers one request: the child's whole job, callable in-process by the fuzz
/// target and the benchmark's ceiling. A parser panic is an answer, not a crash.
pub fn answer(parsers: &Parsers, content_type: &str, body: &[u8]) -> Answer {
    let damaged = || "the file could not be parsed for text (damaged?)".to_string();
    if let Some(scan_type) = content_type.strip_prefix("ocr:") {
        let read = match &parsers.ocr {
            Some(ocr) => std::panic::catch_unwind(|| ocr.read(scan_type, body))
                .unwrap_or_else(|_| Err(damaged())),
            None => Err(super::ocr::NOT_INSTALLED.to_string()),
        };
        return Answer {
            text: read.as_ref().map(|r| r.text.clone()).map_err(Clone::clone),
            inspection: Inspection::default(),
            ocr: read.ok(),
        };
    }
    std::panic::catch_unwind(|| {
        let text = parsers.extract(content_type, body);
        let inspection = super::inspect::inspect(body, text.is_ok());
        Answer {
            text,
            inspection,
            ocr: None,
        }
    })
    .unwrap_or_else(|_| Answer {
        text: Err(damaged()),
        inspection: Inspection {
            examined: true,
            ..Inspection::default()
        },
        ocr: None,
    })
}

/// The child's main loop. Returns when the server closes stdin.
pub fn run(limits: &WorkerLimits, pdftotext: Option<PathBuf>, ocr: Option<Ocr>) -> io::Result<()> {
    limit_self(limits)?;
    // Panic messages may quote the file: none is printed.
    std::panic::set_hook(Box::new(|_| {}));
    let parsers = Parsers {
        pdftotext,
        cpu_secs: limits.cpu_secs,
        ocr,
    };
    let mut input = BufReader::new(io::stdin().lock());
    let mut output = BufWriter::new(io::stdout().lock());
    while let Some((content_type, body)) = read_request(&mut input)? {
        allow_cpu(limits.cpu_secs)?;
        let result = answer(&parsers, &content_type, &body);
        drop(body);
        write_answer(&mut output, &result)?;
    }
    Ok(())
}

/// Sets a limit, never above the hard limit already in force (a service
/// manager's `LimitAS=` or `LimitCPU=` wins; raising it would fail).
pub(super) fn set_limit(
    resource: libc::__rlimit_resource_t,
    soft: u64,
    hard: u64,
) -> io::Result<()> {
    let mut current = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit fills the struct we own.
    if unsafe { libc::getrlimit(resource, &mut current) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let hard = hard.min(current.rlim_max);
    let limit = libc::rlimit {
        rlim_cur: soft.min(hard),
        rlim_max: hard,
    };
    // SAFETY: setrlimit reads the struct we pass; no memory is shared.
    if unsafe { libc::setrlimit(resource, &limit) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

fn limit_self(limits: &WorkerLimits) -> io::Result<()> {
    let bytes = limits.memory_mb.saturating_mul(1024 * 1024);
    set_limit(libc::RLIMIT_AS, bytes, bytes)?;
    set_limit(libc::RLIMIT_CORE, 0, 0)?;
    set_limit(libc::RLIMIT_FSIZE, 0, 0)?;
    set_limit(libc::RLIMIT_NOFILE, 64, 64)?;
    // SAFETY: prctl with these options only changes this process's flags.
    unsafe {
        if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0
            || libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) != 0
        {
            return Err(io::Error::last_os_error());
        }
    }
    std::env::set_current_dir("/")
}

/// Sets the soft CPU limit to what this process has used so far plus `secs`.
/// Programs it starts inherit the limit and count their own time from zero.
fn allow_cpu(secs: u64) -> io::Result<()> {
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: getrusage fills the struct we own.
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let used = (usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) as u64 + 1;
    set_limit(libc::RLIMIT_CPU, used + secs, libc::RLIM_INFINITY)
}

/// Limits a program about to be started by the child (in its `pre_exec`) to
/// `secs` of CPU time of its own; it inherits every other limit.
pub(super) fn limit_program_cpu(secs: u64) -> io::Result<()> {
    // Only async-signal-safe calls here: this runs between fork and exec.
    let limit = libc::rlimit {
        rlim_cur: secs,
        rlim_max: secs + 1,
    };
    // SAFETY: setrlimit reads the struct we pass; no memory is shared.
    if unsafe { libc::setrlimit(libc::RLIMIT_CPU, &limit) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_round_trip_and_bad_frames_are_refused() {
        let frame = encode_request("text/plain", "维修".as_bytes());
        let mut input = &frame[..];
        let (ct, body) = read_request(&mut input).unwrap().unwrap();
        assert_eq!((ct.as_str(), &body[..]), ("text/plain", "维修".as_bytes()));
        assert!(read_request(&mut input).unwrap().is_none());
        let mut huge = (MAX_CONTENT_TYPE as u32 + 1).to_be_bytes().to_vec();
        huge.extend([0; 300]);
        assert!(read_request(&mut &huge[..]).is_err());
        assert!(read_request(&mut &frame[..frame.len() - 1]).is_err());
    }

    #[test]
    fn answers_carry_text_or_a_reason_and_the_inspection() {
        let parsers = Parsers::default();
        let a = answer(&parsers, "text/plain", "维修".as_bytes());
        assert_eq!(a.text.as_deref(), Ok("维修"));
        assert!(a.inspection.examined && a.inspection.active.is_empty());
        let a = answer(&parsers, "ocr:image/png", b"\x89PNG");
        assert!(
            a.text.unwrap_err().contains("OCR"),
            "no OCR engine configured"
        );
        let mut out = Vec::new();
        write_answer(&mut out, &answer(&parsers, "text/plain", b"ok")).unwrap();
        let len = u32::from_be_bytes(out[..4].try_into().unwrap()) as usize;
        let back: Answer = serde_json::from_slice(&out[4..]).unwrap();
        assert_eq!((len, back.text.as_deref()), (out.len() - 4, Ok("ok")));
    }
}
