//! HTML to text with html5ever's tokenizer (the WHATWG tokenizer, linear in its
//! input): the character data of the page, without tags, comments, scripts or
//! styles, character references decoded. No tree is built, so no nesting depth
//! can cost stack or quadratic time.

use std::cell::{Cell, RefCell};

use html5ever::tendril::StrTendril;
use html5ever::tokenizer::states::RawKind;
use html5ever::tokenizer::{
    BufferQueue, TagKind, Token, TokenSink, TokenSinkResult, Tokenizer, TokenizerOpts,
};

use super::MAX_TEXT_BYTES;

#[derive(Default)]
struct TextSink {
    out: RefCell<String>,
    /// Inside `<script>` or `<style>`: their raw text is not page text.
    in_raw: Cell<bool>,
}

/// Elements whose end starts a new line of text.
fn breaks_line(name: &str) -> bool {
    matches!(
        name,
        "p" | "br"
            | "div"
            | "li"
            | "tr"
            | "td"
            | "th"
            | "h1"
            | "h2"
            | "h3"
            | "h4"
            | "h5"
            | "h6"
            | "table"
            | "section"
            | "article"
            | "title"
    )
}

impl TokenSink for TextSink {
    type Handle = ();

    fn process_token(&self, token: Token, _line: u64) -> TokenSinkResult<()> {
        match token {
            Token::TagToken(tag) => {
                let name: &str = &tag.name;
                let raw = matches!(name, "script" | "style");
                match tag.kind {
                    TagKind::StartTag if raw && !tag.self_closing => {
                        self.in_raw.set(true);
                        return TokenSinkResult::RawData(if name == "script" {
                            RawKind::ScriptData
                        } else {
                            RawKind::Rawtext
                        });
                    }
                    TagKind::EndTag if raw => self.in_raw.set(false),
                    _ => {}
                }
                let mut out = self.out.borrow_mut();
                out.push(if breaks_line(name) { '\n' } else { ' ' });
            }
            Token::CharacterTokens(text) if !self.in_raw.get() => {
                let mut out = self.out.borrow_mut();
                if out.len() < MAX_TEXT_BYTES {
                    out.push_str(&text);
                }
            }
            _ => {}
        }
        TokenSinkResult::Continue
    }
}

/// The text of an HTML page.
pub(super) fn text(html: &str) -> Result<String, String> {
    let tokenizer = Tokenizer::new(TextSink::default(), TokenizerOpts::default());
    let input = BufferQueue::default();
    input.push_back(StrTendril::from_slice(html));
    let _ = tokenizer.feed(&input);
    tokenizer.end();
    Ok(tokenizer.sink.out.take())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_loses_tags_scripts_styles_comments_and_entities() {
        let html = "<html><head><style>p{}</style><script>var x='<b>';</script></head><body><p>刹车片&amp;刹车盘</p><!-- note --><p>A&lt;B&nbsp;&#x4E2D;</p></body></html>";
        let text = text(html).unwrap();
        assert!(text.contains("刹车片&刹车盘"), "{text}");
        assert!(text.contains("A<B\u{a0}中"), "{text}");
        assert!(
            !text.contains("var x") && !text.contains("note") && !text.contains("p{}"),
            "{text}"
        );
    }

    #[test]
    fn many_empty_scripts_are_read_in_one_pass() {
        // 2 MiB of `<script></script>`: quadratic with a find-the-end-tag scan.
        let html = "<script></script>".repeat(2 * 1024 * 1024 / 17) + "<p>更换机油</p>";
        let started = std::time::Instant::now();
        let text = text(&html).unwrap();
        assert!(text.contains("更换机油"));
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
    }

    #[test]
    fn unclosed_script_and_deep_nesting_end_cleanly() {
        assert_eq!(text("<p>a</p><script>never closed").unwrap().trim(), "a");
        let deep = "<div>".repeat(200_000) + "深" + &"</div>".repeat(200_000);
        assert!(text(&deep).unwrap().contains('深'));
    }
}
