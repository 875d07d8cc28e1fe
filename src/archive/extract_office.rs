//! Extractors for the container formats dealerships file: PDF (the text layer
//! printed by a DMS or office software; scans without one have no text) and DOCX
//! (the paragraphs of `word/document.xml`). Both parse untrusted bytes, so both
//! bound what they unpack; [`super::extract::extract_isolated`] runs them on a
//! thread of their own.

use std::io::Read;

use quick_xml::events::Event;

use super::extract::Extractor;

pub(super) struct Pdf;
pub(super) struct Docx;

const DOCX: &str = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";
/// The most `word/document.xml` may unpack to (a zip bomb stops here).
const MAX_DOCX_XML: u64 = 64 * 1024 * 1024;

impl Extractor for Pdf {
    fn handles(&self, content_type: &str) -> bool {
        content_type == "application/pdf"
    }

    fn extract(&self, bytes: &[u8]) -> Result<String, String> {
        if !bytes.starts_with(b"%PDF-") {
            return Err("not a PDF file".into());
        }
        let text = std::panic::catch_unwind(|| pdf_extract::extract_text_from_mem(bytes))
            .map_err(|_| "the PDF could not be parsed for text".to_string())?
            .map_err(|e| match e {
                pdf_extract::OutputError::PdfError(lopdf::Error::Decryption(_)) => {
                    "the PDF is encrypted".to_string()
                }
                _ => "the PDF could not be parsed for text".to_string(),
            })?;
        if text.trim().is_empty() {
            return Err(
                "the PDF has no text layer (a scan?); add a transcript to the metadata".into(),
            );
        }
        Ok(text)
    }
}

impl Extractor for Docx {
    fn handles(&self, content_type: &str) -> bool {
        content_type == DOCX
    }

    fn extract(&self, bytes: &[u8]) -> Result<String, String> {
        let not_docx = |_| "not a DOCX file".to_string();
        let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(not_docx)?;
        let mut part = zip.by_name("word/document.xml").map_err(not_docx)?;
        if part.size() > MAX_DOCX_XML {
            return Err("the DOCX text part is too large".into());
        }
        let mut xml = Vec::with_capacity(part.size() as usize);
        part.by_ref()
            .take(MAX_DOCX_XML)
            .read_to_end(&mut xml)
            .map_err(|_| "the DOCX file is damaged".to_string())?;
        paragraphs(&xml)
    }
}

/// The text runs (`w:t`) of a WordprocessingML body, a line per paragraph (`w:p`),
/// tabs and breaks as whitespace.
fn paragraphs(xml: &[u8]) -> Result<String, String> {
    let bad = |_| "the DOCX text part is not well-formed XML".to_string();
    let mut reader = quick_xml::Reader::from_reader(xml);
    let mut out = String::new();
    let mut in_text = false;
    let mut buf = Vec::new();
    loop {
        match reader
            .read_event_into(&mut buf)
            .map_err(|e| bad(e.to_string()))?
        {
            Event::Start(e) if e.name().as_ref() == b"w:t" => in_text = true,
            Event::End(e) if e.name().as_ref() == b"w:t" => in_text = false,
            Event::End(e) if e.name().as_ref() == b"w:p" => out.push('\n'),
            Event::Empty(e) if matches!(e.name().as_ref(), b"w:tab" | b"w:br" | b"w:cr") => {
                out.push(' ')
            }
            Event::Text(t) if in_text => out.push_str(&t.decode().map_err(|e| bad(e.to_string()))?),
            Event::CData(t) if in_text => {
                out.push_str(&t.decode().map_err(|e| bad(e.to_string()))?)
            }
            Event::GeneralRef(r) if in_text => {
                let name: &[u8] = &r;
                let ch = match name {
                    b"amp" => Some('&'),
                    b"lt" => Some('<'),
                    b"gt" => Some('>'),
                    b"quot" => Some('"'),
                    b"apos" => Some('\''),
                    _ => r.resolve_char_ref().map_err(|e| bad(e.to_string()))?,
                };
                out.extend(ch);
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::corpus::files::{docx_with_text, pdf_with_text};

    #[test]
    fn docx_paragraphs_and_runs_become_lines() {
        let docx = docx_with_text(&["维修委托书 京A·12345", "更换刹车片 & 刹车盘"]);
        let text = Docx.extract(&docx).unwrap();
        assert_eq!(text, "维修委托书 京A·12345\n更换刹车片 & 刹车盘\n");
    }

    #[test]
    fn pdf_text_layers_in_chinese_are_read() {
        let pdf = pdf_with_text(&[
            "维修委托书 VIN LFV2A21K2M3000001",
            "故障:发动机异响,更换刹车片",
        ]);
        let text = Pdf.extract(&pdf).unwrap();
        for needle in [
            "维修委托书",
            "LFV2A21K2M3000001",
            "发动机异响",
            "更换刹车片",
        ] {
            assert!(text.contains(needle), "{needle} in {text:?}");
        }
    }

    #[test]
    fn damaged_and_hostile_files_give_a_reason_not_a_panic() {
        let pdf = pdf_with_text(&["发动机"]);
        for bad in [
            &b"%PDF-1.7\n garbage"[..],
            &pdf[..pdf.len() / 2],
            b"not a pdf",
        ] {
            assert!(Pdf.extract(bad).is_err());
        }
        let docx = docx_with_text(&["x"]);
        assert!(Docx.extract(&docx[..docx.len() / 2]).is_err());
        assert!(Docx.extract(b"PK\x03\x04 nonsense").is_err());
    }
}
