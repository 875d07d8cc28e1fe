//! Text extraction for search: every parser of uploaded bytes, and the isolation
//! they run in (spec §6, "files are hostile until parsed").
//!
//! The parsers ([`Parsers::extract`]) run only inside a child process: the
//! `dangan` binary re-executed as the hidden `extract-worker` subcommand
//! ([`worker`]), with limits on address space, CPU time and wall-clock time, no
//! environment (so no master key) and no open store. The server keeps a small
//! warm pool of such children ([`pool::ExtractPool`]); a child that crashes,
//! overflows its stack, balloons or loops is killed and replaced, and the filing
//! goes on without text — `text.indexed: false` with a reason a clerk can act on.
//! Nothing here runs on an HTTP worker thread or inside the server process.
//!
//! Handled: plain text (UTF-8, with or without BOM), HTML (html5ever's tokenizer:
//! linear time), DOCX (the paragraphs of `word/document.xml`) and PDF (poppler's
//! `pdftotext`, an external program run by the child, which reads predefined CJK
//! CMaps such as UniGB-UCS2-H and GBK-EUC-H through `poppler-data`). Every parser
//! works in time linear in its input and stops at [`MAX_TEXT_BYTES`] of text.

mod docx;
mod html;
pub mod inspect;
pub mod ocr;
mod pdf;
pub mod pool;
mod program;
pub mod worker;

use std::path::PathBuf;

/// Files larger than this are not text-extracted (their transcript still is).
pub const MAX_EXTRACT_BYTES: u64 = 4 * 1024 * 1024;
/// Extracted text beyond this is not indexed (bytes of UTF-8).
pub const MAX_TEXT_BYTES: usize = 2 * 1024 * 1024;

pub use crate::storage::manifest::TextStatus;

const DOCX: &str = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";

/// The kinds of file there is a parser for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Plain,
    Html,
    Pdf,
    Docx,
}

fn kind(content_type: &str) -> Option<Kind> {
    Some(match content_type {
        "text/plain" | "text/csv" | "text/markdown" | "application/json" | "text/xml"
        | "application/xml" => Kind::Plain,
        "text/html" | "application/xhtml+xml" => Kind::Html,
        "application/pdf" => Kind::Pdf,
        DOCX => Kind::Docx,
        _ => return None,
    })
}

/// Whether `content_type` has a parser (so filing keeps a copy of the text).
pub fn extractable(content_type: &str) -> bool {
    kind(content_type).is_some()
}

/// Why a type is not text-indexed.
pub fn unsupported(content_type: &str) -> String {
    format!(
        "no text extractor for {content_type} yet; add a transcript to the metadata to make it searchable"
    )
}

/// The parsers, as configured in the child. Cheap to build.
#[derive(Debug, Clone)]
pub struct Parsers {
    /// Absolute path of poppler's `pdftotext`, or `None` when it is not installed
    /// (PDFs are then filed without text, saying so).
    pub pdftotext: Option<PathBuf>,
    /// CPU time `pdftotext` may take over one file (seconds).
    pub cpu_secs: u64,
    /// The OCR engine, in a child started for OCR only.
    pub ocr: Option<ocr::Ocr>,
}

impl Default for Parsers {
    /// No `pdftotext`, no OCR, 10 s of CPU per file.
    fn default() -> Self {
        Parsers {
            pdftotext: None,
            cpu_secs: 10,
            ocr: None,
        }
    }
}

impl Parsers {
    /// The text of a file of `content_type`, at most [`MAX_TEXT_BYTES`] long, or
    /// a reason (one sentence a clerk can act on) why there is none.
    ///
    /// Runs the parser on the calling thread: only the child process calls this
    /// (and the fuzz target, which is the child's entry point).
    pub fn extract(&self, content_type: &str, bytes: &[u8]) -> Result<String, String> {
        let text = match kind(content_type) {
            Some(Kind::Plain) => utf8(bytes).map(str::to_string),
            Some(Kind::Html) => html::text(utf8(bytes)?),
            Some(Kind::Docx) => docx::text(bytes),
            Some(Kind::Pdf) => pdf::text(self.pdftotext.as_deref(), self.cpu_secs, bytes),
            None => Err(unsupported(content_type)),
        }?;
        Ok(truncate(text))
    }
}

fn utf8(bytes: &[u8]) -> Result<&str, String> {
    std::str::from_utf8(bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes))
        .map_err(|_| "the text is not UTF-8".to_string())
}

fn truncate(mut text: String) -> String {
    if text.len() > MAX_TEXT_BYTES {
        let mut end = MAX_TEXT_BYTES;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsupported_types_and_bad_encodings_give_a_reason() {
        let p = Parsers::default();
        assert!(
            p.extract("image/jpeg", b"\xff\xd8")
                .unwrap_err()
                .contains("transcript")
        );
        assert!(
            p.extract("text/plain", &[0xff, 0xfe, 0x00])
                .unwrap_err()
                .contains("UTF-8")
        );
        assert_eq!(p.extract("text/plain", "维修".as_bytes()).unwrap(), "维修");
        assert_eq!(
            p.extract("text/plain", "\u{feff}维修".as_bytes()).unwrap(),
            "维修"
        );
    }

    #[test]
    fn text_is_cut_at_the_limit_on_a_character_boundary() {
        let long = "维".repeat(MAX_TEXT_BYTES / 3 + 10);
        let text = Parsers::default()
            .extract("text/plain", long.as_bytes())
            .unwrap();
        assert!(text.len() <= MAX_TEXT_BYTES && text.len() > MAX_TEXT_BYTES - 3);
    }
}
