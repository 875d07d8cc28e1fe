//! DOCX to text: a zip container (read by `zip`) whose `word/document.xml`
//! holds the paragraphs (read by `quick-xml`'s event reader: linear, no tree).
//! The XML part is unpacked to at most [`MAX_DOCX_XML`] bytes, so a zip bomb
//! stops there.

use std::io::Read;

use quick_xml::events::Event;

/// The most `word/document.xml` may unpack to (a zip bomb stops here).
const MAX_DOCX_XML: u64 = 64 * 1024 * 1024;

/// The text of a DOCX file, a line per paragraph.
pub(super) fn text(bytes: &[u8]) -> Result<String, String> {
    let not_docx = |_| "not a DOCX file".to_string();
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(not_docx)?;
    let mut part = zip.by_name("word/document.xml").map_err(not_docx)?;
    if part.size() > MAX_DOCX_XML {
        return Err("the DOCX text part is too large".into());
    }
    // The declared size may lie: `take` bounds what is unpacked, whatever it says.
    let mut xml = Vec::with_capacity(part.size().min(MAX_DOCX_XML) as usize);
    part.by_ref()
        .take(MAX_DOCX_XML + 1)
        .read_to_end(&mut xml)
        .map_err(|_| "the DOCX file is damaged".to_string())?;
    if xml.len() as u64 > MAX_DOCX_XML {
        return Err("the DOCX text part is too large".into());
    }
    paragraphs(&xml)
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
    use crate::corpus::files::docx_with_text;

    #[test]
    fn docx_paragraphs_and_runs_become_lines() {
        let docx = docx_with_text(&["维修委托书 京A·12345", "更换刹车片 & 刹车盘"]);
        assert_eq!(
            text(&docx).unwrap(),
            "维修委托书 京A·12345\n更换刹车片 & 刹车盘\n"
        );
    }

    #[test]
    fn damaged_docx_files_give_a_reason_not_a_panic() {
        let docx = docx_with_text(&["x"]);
        assert!(text(&docx[..docx.len() / 2]).is_err());
        assert!(text(b"PK\x03\x04 nonsense").is_err());
    }
}
