//! OCR of scans, Chinese and English (spec §10), in the extraction child.
//!
//! The engine is RapidOCR (PyPI `rapidocr` on `onnxruntime`; its wheel carries
//! the PP-OCR detection and recognition models, so nothing is downloaded at
//! run time), chosen by measurement: 0.00% character error after NFKC on
//! generated 委托书 pages against 5.9–27.6% for tesseract 5.3 `chi_sim`
//! (`docs/ocr-engine/`). The child runs the Python interpreter the server
//! found at start with the script [`SCRIPT`] (compiled into the binary), the
//! image on stdin and one JSON object out, as it runs `pdftotext`: its own
//! CPU limit, the child's memory limit, an empty environment, no file written.
//! Image-only PDF pages are first drawn at 200 dpi by poppler's `pdftoppm`.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::MAX_TEXT_BYTES;
use super::program::run;

/// The recognition script the interpreter runs (`python3 -c`).
pub const SCRIPT: &str = include_str!("ocr.py");

/// The largest scan OCR takes (bytes).
pub const MAX_SCAN_BYTES: u64 = 32 * 1024 * 1024;

/// Pages of a PDF recognised at most; the rest are said to be left out.
pub const MAX_PAGES: u32 = 20;

/// The engine's name, as the document shows it.
pub const ENGINE: &str = "rapidocr (PP-OCR, onnxruntime)";

/// Reason given when the server has no OCR engine.
pub const NOT_INSTALLED: &str = "OCR is not installed on this server (pip install rapidocr onnxruntime); add a transcript to the metadata to make the scan searchable";

/// Where the child finds the engine.
#[derive(Debug, Clone)]
pub struct Ocr {
    /// The Python interpreter that imports `rapidocr`.
    pub python: PathBuf,
    /// poppler's `pdftoppm`, for image-only PDFs.
    pub pdftoppm: Option<PathBuf>,
    /// CPU time one page may take (seconds).
    pub cpu_secs: u64,
}

/// What OCR read of one scan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OcrRead {
    /// The lines read, top to bottom, a line each.
    pub text: String,
    /// The engine's mean confidence over the lines (0–1), `None` with no line.
    pub confidence: Option<f64>,
    pub lines: u32,
    pub pages: u32,
}

/// The script's answer for one image.
#[derive(Deserialize)]
struct PageAnswer {
    #[serde(default)]
    text: String,
    #[serde(default)]
    confidence: Option<f64>,
    #[serde(default)]
    lines: u32,
    #[serde(default)]
    error: Option<String>,
}

/// The environment of the interpreter: nothing of the server's; no
/// telemetry (onnxruntime would otherwise write a device id under `~/.cache`);
/// numpy's and OpenMP's thread pools at one thread (the script holds
/// onnxruntime to two).
const ENV: [(&str, &str); 5] = [
    ("ORT_DISABLE_TELEMETRY", "1"),
    ("OMP_NUM_THREADS", "1"),
    ("OPENBLAS_NUM_THREADS", "1"),
    // One malloc arena: ~10% less address space under the limit.
    ("MALLOC_ARENA_MAX", "1"),
    ("HOME", "/nonexistent"),
];

impl Ocr {
    /// Reads a scan of `scan_type` (JPEG, PNG, TIFF or PDF).
    ///
    /// # Errors
    /// One sentence for the clerk: not a scan OCR takes, the engine missing or
    /// failing, or over its limits.
    pub fn read(&self, scan_type: &str, bytes: &[u8]) -> Result<OcrRead, String> {
        if scan_type == "application/pdf" {
            return self.read_pdf(bytes);
        }
        if !super::inspect::SCAN_TYPES.contains(&scan_type) {
            return Err(format!(
                "OCR reads JPEG, PNG, TIFF and PDF scans, not {scan_type}"
            ));
        }
        let page = self.read_image(bytes)?;
        Ok(OcrRead {
            text: page.text,
            confidence: page.confidence,
            lines: page.lines,
            pages: 1,
        })
    }

    fn read_image(&self, image: &[u8]) -> Result<PageAnswer, String> {
        let ran = run(
            &self.python,
            // -I: no user site, no PYTHON* variables, not the working
            // directory on the path; -B: no bytecode written.
            ["-I", "-B", "-c", SCRIPT],
            &ENV,
            image,
            self.cpu_secs,
            MAX_TEXT_BYTES * 2,
        )
        .map_err(|_| NOT_INSTALLED.to_string())?;
        let answer: Option<PageAnswer> = serde_json::from_slice(&ran.out).ok();
        if !ran.status.success() || answer.is_none() {
            use std::os::unix::process::ExitStatusExt;
            return Err(match (ran.status.signal(), answer.and_then(|a| a.error)) {
                (Some(libc::SIGXCPU | libc::SIGKILL), _) => format!(
                    "OCR used more than {} s of CPU time on a page (damaged or hostile file?)",
                    self.cpu_secs
                ),
                (_, Some(e)) => format!("OCR could not read the scan: {e}"),
                _ => "OCR could not read the scan (damaged file, or more memory than allowed)"
                    .to_string(),
            });
        }
        let answer = answer.expect("checked above");
        match answer.error {
            Some(e) => Err(format!("OCR could not read the scan: {e}")),
            None => Ok(answer),
        }
    }

    /// Draws each page at 200 dpi (`pdftoppm`, PNG on stdout) and reads it.
    fn read_pdf(&self, pdf: &[u8]) -> Result<OcrRead, String> {
        let Some(pdftoppm) = &self.pdftoppm else {
            return Err(
                "reading scanned PDFs needs poppler's pdftoppm (Debian poppler-utils)".into(),
            );
        };
        let mut read = OcrRead {
            text: String::new(),
            confidence: None,
            lines: 0,
            pages: 0,
        };
        let mut weighted = 0.0;
        for n in 1..=MAX_PAGES {
            let page = n.to_string();
            let ran = run(
                pdftoppm,
                // The PDF on stdin and, with no output name, one PNG on
                // stdout (`-` as output name would write a file named `-.png`).
                ["-r", "200", "-png", "-f", &page, "-l", &page, "-"],
                &[],
                pdf,
                self.cpu_secs,
                MAX_SCAN_BYTES as usize,
            )
            .map_err(|_| "poppler's pdftoppm could not be started".to_string())?;
            if !ran.status.success() || ran.out.is_empty() {
                if n == 1 {
                    return Err("the PDF's pages could not be drawn for OCR (damaged?)".into());
                }
                break; // past the last page
            }
            let answer = self.read_image(&ran.out)?;
            if !read.text.is_empty() && !answer.text.is_empty() {
                read.text.push('\n');
            }
            read.text.push_str(&answer.text);
            if let Some(c) = answer.confidence {
                weighted += c * f64::from(answer.lines);
            }
            read.lines += answer.lines;
            read.pages = n;
            if read.text.len() > MAX_TEXT_BYTES {
                break;
            }
        }
        read.confidence = (read.lines > 0).then(|| weighted / f64::from(read.lines));
        Ok(read)
    }
}

/// A VIN in recognised text, repaired by its check digit (ISO 3779): each run
/// of 17 letters and digits, with the letters a VIN never has read as the
/// digits they resemble (O→0, I→1, Q→0), whose check digit holds.
pub fn find_vin(text: &str) -> Option<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut start = 0;
    while start < chars.len() {
        if !chars[start].is_ascii_alphanumeric() {
            start += 1;
            continue;
        }
        let mut end = start;
        while end < chars.len() && chars[end].is_ascii_alphanumeric() {
            end += 1;
        }
        for w in chars[start..end].windows(17) {
            let repaired: String = w
                .iter()
                .map(|c| match c.to_ascii_uppercase() {
                    'O' | 'Q' => '0',
                    'I' => '1',
                    c => c,
                })
                .collect();
            if crate::domain::vehicle::Vin::parse(&repaired).is_ok() {
                return Some(repaired);
            }
        }
        start = end;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_misread_vin_is_repaired_by_its_check_digit() {
        assert_eq!(
            find_vin("车架号(VIN):LFV2A21K2M3OOOOO1 里程").as_deref(),
            Some("LFV2A21K2M3000001")
        );
        assert_eq!(
            find_vin("VIN LFV2A21K2M3000001").as_deref(),
            Some("LFV2A21K2M3000001")
        );
        // Wrong check digit, and too short: no suggestion.
        assert_eq!(find_vin("LFV2A21K5M3000001"), None);
        assert_eq!(find_vin("LFV2A21K2M300001"), None);
    }

    #[test]
    fn other_types_are_refused_without_running_anything() {
        let ocr = Ocr {
            python: "/nonexistent/python3".into(),
            pdftoppm: None,
            cpu_secs: 1,
        };
        assert!(ocr.read("text/plain", b"x").unwrap_err().contains("JPEG"));
        assert!(
            ocr.read("image/png", b"x")
                .unwrap_err()
                .contains("pip install")
        );
        assert!(
            ocr.read("application/pdf", b"%PDF")
                .unwrap_err()
                .contains("pdftoppm")
        );
    }
}
