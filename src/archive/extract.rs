//! Text extraction for search. Extraction never blocks filing: a document whose
//! text cannot be extracted is filed and marked "not text-indexed" with the
//! reason, which clerks see; its metadata and transcript are still indexed.
//!
//! Handled: plain text (UTF-8), HTML, PDF (its text layer) and DOCX. Images and
//! scans are filed with a transcript in the metadata until OCR slots in behind
//! [`Extractor`]. PDF and DOCX parsing runs on a thread of its own with a time
//! limit ([`extract_isolated`]): a hostile or broken file costs that thread, never
//! a filing, and the parser's panic messages stay out of the logs.

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

const EXTRACTORS: [&dyn Extractor; 4] = [
    &PlainText,
    &Html,
    &super::extract_office::Pdf,
    &super::extract_office::Docx,
];

/// Why a type is not text-indexed.
pub fn unsupported(content_type: &str) -> String {
    format!(
        "no text extractor for {content_type} yet; add a transcript to the metadata to make it searchable"
    )
}

/// Extracts text from a file of `content_type`, on the calling thread.
pub fn extract(content_type: &str, bytes: &[u8]) -> Result<String, String> {
    match EXTRACTORS.iter().find(|e| e.handles(content_type)) {
        Some(e) => e.extract(bytes).map(|mut text| {
            if text.len() > MAX_TEXT_BYTES {
                let mut end = MAX_TEXT_BYTES;
                while !text.is_char_boundary(end) {
                    end -= 1;
                }
                text.truncate(end);
            }
            text
        }),
        None => Err(unsupported(content_type)),
    }
}

/// Whether `content_type` has an extractor (so filing keeps a copy of the text).
pub fn extractable(content_type: &str) -> bool {
    EXTRACTORS.iter().any(|e| e.handles(content_type))
}

/// Extracted text beyond this is not indexed.
const MAX_TEXT_BYTES: usize = 2 * 1024 * 1024;
/// How long a parser may take over one file.
const TIME_LIMIT: std::time::Duration = std::time::Duration::from_secs(20);
const THREAD_NAME: &str = "dangan-extract";

/// [`extract`] for container formats on a thread of its own, with a time limit;
/// text formats are cheap and run inline.
pub async fn extract_isolated(content_type: &str, bytes: Vec<u8>) -> Result<String, String> {
    if PlainText.handles(content_type) || Html.handles(content_type) {
        return extract(content_type, &bytes);
    }
    if !extractable(content_type) {
        return Err(unsupported(content_type));
    }
    quiet_extractor_panics();
    let (tx, rx) = tokio::sync::oneshot::channel();
    let content_type = content_type.to_string();
    let spawned = std::thread::Builder::new()
        .name(THREAD_NAME.into())
        .spawn(move || {
            let _ = tx.send(extract(&content_type, &bytes));
        });
    if spawned.is_err() {
        return Err("no thread for text extraction; try again later".into());
    }
    match tokio::time::timeout(TIME_LIMIT, rx).await {
        Ok(Ok(result)) => result,
        Ok(Err(_)) => Err("the file could not be parsed for text".into()),
        Err(_) => Err(format!(
            "text extraction took longer than {} s",
            TIME_LIMIT.as_secs()
        )),
    }
}

/// Parsers of foreign formats may panic on malformed files, and a panic message
/// can quote the file. Panics on extraction threads are reported as a failed
/// extraction (with a reason the clerk sees) and not printed; all others reach
/// the previous hook unchanged.
fn quiet_extractor_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if std::thread::current().name() == Some(THREAD_NAME) {
                tracing::warn!("a text extractor gave up on a malformed file");
            } else {
                previous(info);
            }
        }));
    });
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
            extract("image/jpeg", b"\xff\xd8")
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
