//! Highlighted snippets: a window of a document's stored (PII-masked) content
//! text around the first place a query word occurs, the words in `<b>`, the
//! rest HTML-escaped.
//!
//! Matching is on whole query words as exact substrings, the same rule the query
//! itself applies, so a snippet marks what made the document match rather than
//! every occurrence of each of its characters. It is plain string search over the
//! one stored text: no re-tokenising per hit, which made tantivy's generator a
//! third of a search's time.

use super::analysis::normalize;
use super::query::split_query;

/// Characters of content a snippet shows at most.
pub const SNIPPET_CHARS: usize = 120;
/// Characters shown before the first match, for context.
const LEAD_CHARS: usize = 20;

/// What to highlight for a query: its words and phrases, normalised as the
/// index normalises text, ASCII letters lower-cased.
#[derive(Debug, Clone)]
pub struct Highlighter {
    words: Vec<String>,
}

impl Highlighter {
    pub fn new(q: &str) -> Highlighter {
        let mut words: Vec<String> = split_query(q)
            .iter()
            .map(|w| normalize(w).trim().to_ascii_lowercase())
            .filter(|w| !w.is_empty())
            .collect();
        // Longer words first, so that where two overlap the longer one is marked.
        words.sort_by_key(|w| std::cmp::Reverse(w.len()));
        words.dedup();
        Highlighter { words }
    }

    /// The snippet of `text` (already normalised and masked by the index).
    pub fn snippet(&self, text: &str) -> String {
        // ASCII lower-casing keeps byte offsets, so ranges found in `lower` are
        // ranges of `text`.
        let lower = text.to_ascii_lowercase();
        let mut ranges: Vec<(usize, usize)> = vec![];
        for w in &self.words {
            for (at, _) in lower.match_indices(w.as_str()) {
                let range = (at, at + w.len());
                if !ranges.iter().any(|&(s, e)| range.0 < e && s < range.1) {
                    ranges.push(range);
                }
            }
        }
        ranges.sort_unstable();
        let first = ranges.first().map_or(0, |r| r.0);
        let start = text[..first]
            .char_indices()
            .rev()
            .nth(LEAD_CHARS - 1)
            .map_or(0, |(i, _)| i);
        let end = text[start..]
            .char_indices()
            .nth(SNIPPET_CHARS)
            .map_or(text.len(), |(i, _)| start + i);
        let mut out = String::with_capacity(end - start + 16 * ranges.len());
        let mut at = start;
        for &(s, e) in ranges.iter().filter(|&&(s, e)| s >= start && e <= end) {
            escape_into(&mut out, &text[at..s]);
            out.push_str("<b>");
            escape_into(&mut out, &text[s..e]);
            out.push_str("</b>");
            at = e;
        }
        escape_into(&mut out, &text[at..end]);
        out
    }
}

fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_whole_words_and_phrases() {
        let h = Highlighter::new("刹车片 \"更换 机油\"");
        assert_eq!(
            h.snippet("客户反映刹车片磨损,更换 机油。车片"),
            "客户反映<b>刹车片</b>磨损,<b>更换 机油</b>。车片"
        );
    }

    #[test]
    fn ascii_matches_ignore_case_and_keep_the_text() {
        let h = Highlighter::new("abs");
        assert_eq!(h.snippet("ABS 故障灯亮"), "<b>ABS</b> 故障灯亮");
    }

    #[test]
    fn overlapping_words_mark_the_longer_once() {
        let h = Highlighter::new("刹车 刹车片");
        assert_eq!(h.snippet("刹车片"), "<b>刹车片</b>");
    }

    #[test]
    fn long_texts_show_a_window_around_the_first_match() {
        let text = format!("{}发动机{}", "甲".repeat(300), "乙".repeat(300));
        let s = Highlighter::new("发动机").snippet(&text);
        assert_eq!(s.chars().count(), SNIPPET_CHARS + 7);
        assert!(s.starts_with(&"甲".repeat(LEAD_CHARS)));
        assert!(s.contains("<b>发动机</b>"));
    }

    #[test]
    fn no_match_shows_the_start_and_markup_is_escaped() {
        let h = Highlighter::new("<b>");
        assert_eq!(h.snippet("a <b> & c"), "a <b>&lt;b&gt;</b> &amp; c");
        assert_eq!(Highlighter::new("无").snippet("x<y"), "x&lt;y");
    }
}
