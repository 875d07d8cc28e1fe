//! PDF to text with poppler's `pdftotext`, run by the extraction child (so it
//! inherits the child's limits on memory and CPU time, and dies with it).
//!
//! Chosen by recall on generated dealership PDFs (README, "PDF text"): poppler
//! reads simple fonts, Identity-H with ToUnicode, and the predefined Chinese
//! CMaps (UniGB-UCS2-H, GBK-EUC-H, UniGB-UTF16-H, with `poppler-data`) that
//! e-invoices and DMS printouts use, which the pure-Rust crates we measured
//! could not. The bytes go in on stdin and the text comes out on stdout: no file
//! of plaintext is written anywhere.

use std::path::Path;

use super::MAX_TEXT_BYTES;

/// Reason given when the server has no `pdftotext`.
pub const NOT_INSTALLED: &str = "PDF text extraction is not installed on this server (Debian packages poppler-utils and poppler-data); add a transcript to the metadata to make it searchable";

pub(super) fn text(
    pdftotext: Option<&Path>,
    cpu_secs: u64,
    bytes: &[u8],
) -> Result<String, String> {
    if !bytes.starts_with(b"%PDF-") {
        return Err("not a PDF file".into());
    }
    let Some(program) = pdftotext else {
        return Err(NOT_INSTALLED.into());
    };
    let unreadable = || "the PDF could not be parsed for text (damaged?)".to_string();
    let ran = super::program::run(
        program,
        ["-enc", "UTF-8", "-nopgbrk", "-", "-"],
        &[],
        bytes,
        cpu_secs,
        MAX_TEXT_BYTES,
    )
    .map_err(|_| NOT_INSTALLED.to_string())?;
    let (status, out) = (ran.status, ran.out);
    {
        if out.len() <= MAX_TEXT_BYTES && !status.success() {
            use std::os::unix::process::ExitStatusExt;
            return Err(match status.signal() {
                Some(libc::SIGXCPU | libc::SIGKILL) => format!(
                    "reading the PDF's text used more than {cpu_secs} s of CPU time (damaged or hostile file?)"
                ),
                Some(libc::SIGABRT) => {
                    "reading the PDF's text needed more memory than allowed (damaged or hostile file?)"
                        .to_string()
                }
                _ if ran.diagnostics.contains("password") => {
                    "the PDF is encrypted; file an unencrypted copy or add a transcript".to_string()
                }
                _ => unreadable(),
            });
        }
        let text = String::from_utf8_lossy(&out).into_owned();
        if text.trim().is_empty() {
            return Err(
                "the PDF has no text layer (a scan?); add a transcript to the metadata".into(),
            );
        }
        Ok(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::corpus::pdf::{Variant, pdf_variant};

    fn pdftotext() -> Option<std::path::PathBuf> {
        crate::extract::pool::find_pdftotext()
    }

    #[test]
    fn pdfs_without_pdftotext_say_what_to_install() {
        let pdf = pdf_variant(Variant::IdentityToUnicode, &["发动机"]);
        assert!(text(None, 10, &pdf).unwrap_err().contains("poppler-utils"));
        assert_eq!(text(None, 10, b"GIF89a").unwrap_err(), "not a PDF file");
    }

    #[test]
    fn every_generated_chinese_variant_is_read() {
        let Some(program) = pdftotext() else {
            assert!(std::env::var("CI").is_err(), "CI installs poppler-utils");
            return;
        };
        for variant in Variant::ALL {
            let lines = variant.sample_lines();
            let pdf = pdf_variant(variant, &lines);
            let got = text(Some(&program), 10, &pdf).unwrap();
            // GBK-EUC-H's one-byte codes name full-width glyphs; the index folds
            // them (NFKC) as it does every text.
            let got: String = unicode_normalization::UnicodeNormalization::nfkc(got.as_str())
                .filter(|c| !c.is_whitespace())
                .collect();
            // Word by word: a rotated page's reading order may interleave lines.
            for word in lines.iter().flat_map(|l| l.split_whitespace()) {
                assert!(got.contains(word), "{variant:?}: {word} in {got:?}");
            }
        }
    }

    #[test]
    fn damaged_and_encrypted_pdfs_give_a_reason() {
        let Some(program) = pdftotext() else { return };
        let pdf = pdf_variant(Variant::IdentityToUnicode, &["发动机"]);
        assert!(text(Some(&program), 10, &pdf[..pdf.len() / 2]).is_err());
        assert!(text(Some(&program), 10, b"%PDF-1.7\n garbage").is_err());
        let encrypted = crate::corpus::hostile::encrypted_pdf();
        assert!(
            text(Some(&program), 10, &encrypted)
                .unwrap_err()
                .contains("encrypted")
        );
    }
}
