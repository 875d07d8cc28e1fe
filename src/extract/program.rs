//! Running an external program from the extraction child (`pdftotext`,
//! `pdftoppm`, the OCR engine): bytes in on stdin, bounded output from stdout,
//! a CPU-time limit of its own, every other limit inherited from the child, an
//! environment of only what the caller names. No file is written.

use std::ffi::OsStr;
use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};

/// The most of a program's diagnostics kept (they name no content).
const MAX_STDERR: u64 = 16 * 1024;

/// What a program run left: its status, up to `max_out` + 1 bytes of its
/// output (more means it was stopped for writing too much) and the start of
/// its diagnostics.
pub(super) struct Ran {
    pub status: ExitStatus,
    pub out: Vec<u8>,
    pub diagnostics: String,
}

/// Runs `program` with `args`, writing `input` to its stdin.
///
/// # Errors
/// The program could not be started.
pub(super) fn run<I, S>(
    program: &Path,
    args: I,
    env: &[(&str, &str)],
    input: &[u8],
    cpu_secs: u64,
    max_out: usize,
) -> std::io::Result<Ran>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut command = Command::new(program);
    // SAFETY: the closure only calls setrlimit (async-signal-safe) between fork
    // and exec.
    unsafe {
        command.pre_exec(move || super::worker::limit_program_cpu(cpu_secs));
    }
    let mut child = command
        .args(args)
        .env_clear()
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let mut stdin = child.stdin.take().expect("piped stdin");
    let mut stdout = child.stdout.take().expect("piped stdout");
    let mut stderr = child.stderr.take().expect("piped stderr");
    std::thread::scope(|s| {
        // The input is written while the output is read: a program that
        // writes before it has read everything would otherwise stall.
        s.spawn(move || {
            let _ = stdin.write_all(input);
        });
        let diagnostics = s.spawn(move || {
            let mut kept = String::new();
            let _ = (&mut stderr).take(MAX_STDERR).read_to_string(&mut kept);
            let _ = std::io::copy(&mut stderr, &mut std::io::sink());
            kept
        });
        let mut out = Vec::new();
        let read = (&mut stdout).take(max_out as u64 + 1).read_to_end(&mut out);
        if read.is_ok() && out.len() > max_out {
            let _ = child.kill();
        }
        drop(stdout);
        let status = child.wait()?;
        Ok(Ran {
            status,
            out,
            diagnostics: diagnostics.join().unwrap_or_default(),
        })
    })
}
