//! Text extraction for search. Extraction never blocks filing: a document whose
//! text cannot be extracted is filed and marked "not text-indexed" with the
//! reason, which clerks see; its metadata and transcript are still indexed.
//!
//! Handled now: plain text (UTF-8) and HTML. PDF, DOCX and images are filed with
//! a transcript in the metadata until their extractors (and OCR) slot in behind
//! [`Extractor`].

use serde::{Deserialize, Serialize};

/// Files larger than this are not text-extracted (their transcript still is).
pub const MAX_EXTRACT_BYTES: u64 = 4 * 1024 * 1024;

/// Whether a version's text made it into the index, and if not, why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TextStatus {
    pub indexed: bool,
    pub reason: Option<String>,
}

/// Something that turns a file's bytes into searchable text.
pub trait Extractor: Send + Sync {
    fn handles(&self, content_type: &str) -> bool;
    fn extract(&self, bytes: &[u8]) -> Result<String, String>;
}

struct PlainText;
struct Html;

fn utf8(bytes: &[u8]) -> Result<&str, String> {
    std::str::from_utf8(bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes))
        .map_err(|_| "the text is not UTF-8".to_string())
}

impl Extractor for PlainText {
    fn handles(&self, content_type: &str) -> bool {
        matches!(
            content_type,
            "text/plain"
                | "text/csv"
                | "text/markdown"
                | "application/json"
                | "text/xml"
                | "application/xml"
        )
    }
    fn extract(&self, bytes: &[u8]) -> Result<String, String> {
        utf8(bytes).map(str::to_string)
    }
}

impl Extractor for Html {
    fn handles(&self, content_type: &str) -> bool {
        matches!(content_type, "text/html" | "application/xhtml+xml")
    }
    /// Drops tags, comments, scripts and styles; decodes the common entities.
    fn extract(&self, bytes: &[u8]) -> Result<String, String> {
        let html = utf8(bytes)?;
        let mut out = String::with_capacity(html.len() / 2);
        let mut rest = html;
        while let Some(lt) = rest.find('<') {
            out.push_str(&rest[..lt]);
            let tag = &rest[lt..];
            let lower: String = tag.chars().take(8).collect::<String>().to_ascii_lowercase();
            let close = if lower.starts_with("<!--") {
                tag.find("-->").map(|i| i + 3)
            } else if lower.starts_with("<script") || lower.starts_with("<style") {
                let end_tag = if lower.starts_with("<script") {
                    "</script"
                } else {
                    "</style"
                };
                tag.to_ascii_lowercase()
                    .find(end_tag)
                    .and_then(|i| tag[i..].find('>').map(|j| i + j + 1))
            } else {
                tag.find('>').map(|i| i + 1)
            };
            out.push(' ');
            match close {
                Some(n) => rest = &tag[n..],
                None => {
                    rest = "";
                }
            }
        }
        out.push_str(rest);
        Ok(out
            .replace("&nbsp;", " ")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&#39;", "'")
            .replace("&amp;", "&"))
    }
}

/// Extracts text from a file of `content_type`.
pub fn extract(content_type: &str, bytes: &[u8]) -> Result<String, String> {
    let extractors: [&dyn Extractor; 2] = [&PlainText, &Html];
    match extractors.iter().find(|e| e.handles(content_type)) {
        Some(e) => e.extract(bytes),
        None => Err(format!(
            "no text extractor for {content_type} yet; add a transcript to the metadata to make it searchable"
        )),
    }
}

/// Whether `content_type` has an extractor (so filing keeps a copy of the text).
pub fn extractable(content_type: &str) -> bool {
    PlainText.handles(content_type) || Html.handles(content_type)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_loses_tags_scripts_and_entities() {
        let html = "<html><head><style>p{}</style><script>var x='<b>';</script></head><body><p>刹车片&amp;刹车盘</p><!-- note --></body></html>";
        let text = extract("text/html", html.as_bytes()).unwrap();
        assert!(text.contains("刹车片&刹车盘"), "{text}");
        assert!(
            !text.contains("var x") && !text.contains("note") && !text.contains('<'),
            "{text}"
        );
    }

    #[test]
    fn unsupported_types_and_bad_encodings_give_a_reason() {
        assert!(
            extract("application/pdf", b"%PDF")
                .unwrap_err()
                .contains("transcript")
        );
        assert!(
            extract("text/plain", &[0xff, 0xfe, 0x00])
                .unwrap_err()
                .contains("UTF-8")
        );
        assert_eq!(extract("text/plain", "维修".as_bytes()).unwrap(), "维修");
    }
}
