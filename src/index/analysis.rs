//! Text analysis for Chinese-first search.
//!
//! Two tokenizers over the same normalised text (NFKC, so full-width letters and
//! digits fold to ASCII; CJK is left alone — no accent folding that strips it):
//!
//! - [`CharTokenizer`]: every CJK character is a token, every run of ASCII
//!   letters/digits is one lower-cased token. Positions are token ordinals with a
//!   gap at every separator, so a phrase never matches across punctuation. Any
//!   substring query — one character, a surname, a rare part name jieba does not
//!   know — is a term or phrase query on this field, which makes matching exact.
//! - [`JiebaTokenizer`]: jieba's search mode (whole words plus their sub-words), for
//!   ranking by words rather than characters.
//!
//! [`ANALYZER_VERSION`] is recorded in the index; changing a tokenizer or the schema must
//! bump it, which makes the next start rebuild the index.

use std::sync::OnceLock;

use jieba_rs::Jieba;
use tantivy::tokenizer::{Token, TokenStream, Tokenizer};
use unicode_normalization::UnicodeNormalization;

pub const ANALYZER_VERSION: u32 = 6;
pub const CHARS: &str = "dangan_chars";
pub const WORDS: &str = "dangan_words";
pub const BIGRAMS: &str = "dangan_bigrams";

/// The process-wide jieba instance (its dictionary takes a moment to load).
pub fn jieba() -> &'static Jieba {
    static JIEBA: OnceLock<Jieba> = OnceLock::new();
    JIEBA.get_or_init(Jieba::new)
}

/// NFKC-normalises text; indexing and querying both go through it.
pub fn normalize(text: &str) -> String {
    text.nfkc().collect()
}

pub fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x2FA1F | 0x3040..=0x30FF | 0xAC00..=0xD7AF)
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() && !is_cjk(c)
}

/// Splits text into (byte offset, end, position, text) character/word tokens.
pub fn char_tokens(text: &str) -> Vec<(usize, usize, usize, String)> {
    let mut out = Vec::new();
    let mut position = 0usize;
    let mut gap = false;
    let mut word_start: Option<usize> = None;
    let flush = |start: usize,
                 end: usize,
                 out: &mut Vec<(usize, usize, usize, String)>,
                 position: &mut usize,
                 gap: &mut bool| {
        if *gap && !out.is_empty() {
            *position += 1;
        }
        *gap = false;
        out.push((start, end, *position, text[start..end].to_lowercase()));
        *position += 1;
    };
    for (i, c) in text.char_indices() {
        if is_word_char(c) {
            word_start.get_or_insert(i);
            continue;
        }
        if let Some(start) = word_start.take() {
            flush(start, i, &mut out, &mut position, &mut gap);
        }
        if is_cjk(c) {
            flush(i, i + c.len_utf8(), &mut out, &mut position, &mut gap);
        } else {
            gap = true;
        }
    }
    if let Some(start) = word_start {
        flush(start, text.len(), &mut out, &mut position, &mut gap);
    }
    out
}

/// A token stream over precomputed tokens.
pub struct VecTokenStream {
    tokens: Vec<Token>,
    index: usize,
}

impl TokenStream for VecTokenStream {
    fn advance(&mut self) -> bool {
        self.index += 1;
        self.index <= self.tokens.len()
    }
    fn token(&self) -> &Token {
        &self.tokens[self.index - 1]
    }
    fn token_mut(&mut self) -> &mut Token {
        &mut self.tokens[self.index - 1]
    }
}

#[derive(Clone, Default)]
pub struct CharTokenizer;

/// Streams character/word tokens without allocating per token: one `Token` is
/// reused, as tantivy's own tokenizers do.
pub struct CharTokenStream<'a> {
    text: &'a str,
    chars: std::str::CharIndices<'a>,
    pending: Option<(usize, char)>,
    token: Token,
    next_position: usize,
    gap: bool,
    started: bool,
}

impl TokenStream for CharTokenStream<'_> {
    fn advance(&mut self) -> bool {
        loop {
            let Some((i, c)) = self.pending.take().or_else(|| self.chars.next()) else {
                return false;
            };
            if is_word_char(c) {
                let mut end = i + c.len_utf8();
                for (j, d) in self.chars.by_ref() {
                    if is_word_char(d) {
                        end = j + d.len_utf8();
                    } else {
                        self.pending = Some((j, d));
                        break;
                    }
                }
                self.emit(i, end, true);
                return true;
            }
            if is_cjk(c) {
                self.emit(i, i + c.len_utf8(), false);
                return true;
            }
            self.gap = true;
        }
    }
    fn token(&self) -> &Token {
        &self.token
    }
    fn token_mut(&mut self) -> &mut Token {
        &mut self.token
    }
}

impl<'a> CharTokenStream<'a> {
    fn new(text: &'a str) -> CharTokenStream<'a> {
        CharTokenStream {
            text,
            chars: text.char_indices(),
            pending: None,
            token: Token::default(),
            next_position: 0,
            gap: false,
            started: false,
        }
    }

    fn emit(&mut self, from: usize, to: usize, word: bool) {
        if self.gap && self.started {
            self.next_position += 1;
        }
        self.gap = false;
        self.started = true;
        self.token.offset_from = from;
        self.token.offset_to = to;
        self.token.position = self.next_position;
        self.token.position_length = 1;
        self.token.text.clear();
        let piece = &self.text[from..to];
        if word && !piece.is_ascii() {
            self.token.text.push_str(&piece.to_lowercase());
        } else {
            self.token.text.push_str(piece);
            if word {
                self.token.text.make_ascii_lowercase();
            }
        }
        self.next_position += 1;
    }
}

impl Tokenizer for CharTokenizer {
    type TokenStream<'a> = CharTokenStream<'a>;
    fn token_stream<'a>(&'a mut self, text: &'a str) -> CharTokenStream<'a> {
        CharTokenStream::new(text)
    }
}

/// Pairs of adjacent CJK characters (within one run, never across punctuation),
/// positioned at their first character: a word of n ≥ 2 CJK characters is
/// exactly a phrase of n-1 bigrams, with much shorter posting lists than single
/// characters. A lone CJK character yields nothing here (the character field has
/// it); ASCII words are tokens as in the character field.
pub fn bigram_tokens(text: &str) -> Vec<(usize, usize, usize, String)> {
    let chars = char_tokens(text);
    let mut out = Vec::with_capacity(chars.len());
    for (i, (from, to, pos, t)) in chars.iter().enumerate() {
        let cjk = t.chars().next().is_some_and(is_cjk);
        if !cjk {
            out.push((*from, *to, *pos, t.clone()));
            continue;
        }
        if let Some((_, next_to, next_pos, next)) = chars.get(i + 1)
            && *next_pos == pos + 1
            && next.chars().next().is_some_and(is_cjk)
        {
            out.push((*from, *next_to, *pos, format!("{t}{next}")));
        }
    }
    out
}

#[derive(Clone, Default)]
pub struct BigramTokenizer;

/// Streams the tokens of [`bigram_tokens`] from a character stream, reusing one
/// `Token` and allocating nothing per token.
pub struct BigramTokenStream<'a> {
    chars: CharTokenStream<'a>,
    /// The previous token when it was a CJK character: (offset, position, char).
    prev: Option<(usize, usize, char)>,
    token: Token,
}

impl TokenStream for BigramTokenStream<'_> {
    fn advance(&mut self) -> bool {
        while self.chars.advance() {
            let cur = self.chars.token();
            let mut it = cur.text.chars();
            let cjk = match (it.next(), it.next()) {
                (Some(c), None) if is_cjk(c) => Some(c),
                _ => None,
            };
            let Some(c) = cjk else {
                self.prev = None;
                self.token.clone_from(cur);
                return true;
            };
            let prev = self.prev.replace((cur.offset_from, cur.position, c));
            if let Some((from, position, p)) = prev
                && cur.position == position + 1
            {
                let to = cur.offset_to;
                self.token.offset_from = from;
                self.token.offset_to = to;
                self.token.position = position;
                self.token.position_length = 1;
                self.token.text.clear();
                self.token.text.push(p);
                self.token.text.push(c);
                return true;
            }
        }
        false
    }
    fn token(&self) -> &Token {
        &self.token
    }
    fn token_mut(&mut self) -> &mut Token {
        &mut self.token
    }
}

impl Tokenizer for BigramTokenizer {
    type TokenStream<'a> = BigramTokenStream<'a>;
    fn token_stream<'a>(&'a mut self, text: &'a str) -> BigramTokenStream<'a> {
        BigramTokenStream {
            chars: CharTokenStream::new(text),
            prev: None,
            token: Token::default(),
        }
    }
}

#[derive(Clone, Default)]
pub struct JiebaTokenizer;

/// Words of `text` in jieba's search mode (for indexing) or precise mode (for queries).
pub fn words(text: &str, search_mode: bool) -> Vec<(usize, usize, String)> {
    let tokens = if search_mode {
        jieba().cut_for_search(text, true)
    } else {
        jieba().cut(text, true)
    };
    tokens
        .into_iter()
        .filter(|t| t.word.chars().any(|c| c.is_alphanumeric()))
        .map(|t| (t.byte_start, t.byte_end, t.word.to_lowercase()))
        .collect()
}

impl Tokenizer for JiebaTokenizer {
    type TokenStream<'a> = VecTokenStream;
    fn token_stream<'a>(&'a mut self, text: &'a str) -> VecTokenStream {
        let tokens = words(text, true)
            .into_iter()
            .enumerate()
            .map(|(position, (from, to, text))| Token {
                offset_from: from,
                offset_to: to,
                position,
                text,
                position_length: 1,
            })
            .collect();
        VecTokenStream { tokens, index: 0 }
    }
}

/// Replaces mobile numbers and resident ID numbers in free text by their masked
/// forms, so that neither the index nor a snippet holds them in plaintext
/// (every common writing: see [`crate::domain::free_text`]).
pub fn mask_pii(text: &str) -> (String, Vec<String>) {
    crate::domain::free_text::mask_free_text(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(s: &str) -> Vec<(usize, String)> {
        char_tokens(s)
            .into_iter()
            .map(|(_, _, p, t)| (p, t))
            .collect()
    }

    #[test]
    fn cjk_characters_and_ascii_words_become_tokens_with_gaps_at_punctuation() {
        assert_eq!(
            texts("更换前刹车片,Brake pads"),
            vec![
                (0, "更".into()),
                (1, "换".into()),
                (2, "前".into()),
                (3, "刹".into()),
                (4, "车".into()),
                (5, "片".into()),
                (7, "brake".into()),
                (9, "pads".into())
            ]
        );
        assert_eq!(
            texts("车架号LFV2A21K2M3000001"),
            vec![
                (0, "车".into()),
                (1, "架".into()),
                (2, "号".into()),
                (3, "lfv2a21k2m3000001".into())
            ]
        );
    }

    #[test]
    fn the_streaming_tokenizer_agrees_with_char_tokens() {
        for text in [
            "更换前刹车片,Brake pads",
            "车架号LFV2A21K2M3000001 ÄBC 刹车",
            "",
            ",,",
            "abc",
            "王",
        ] {
            let mut tokenizer = CharTokenizer;
            let mut stream = tokenizer.token_stream(text);
            let mut got = vec![];
            while stream.advance() {
                let t = stream.token();
                got.push((t.offset_from, t.offset_to, t.position, t.text.clone()));
            }
            assert_eq!(got, char_tokens(text), "{text}");
        }
    }

    #[test]
    fn the_streaming_bigram_tokenizer_agrees_with_bigram_tokens() {
        for text in [
            "更换前刹车片,刹车 ABS泵",
            "车架号LFV2A21K2M3000001 ÄBC 刹车。王\n李四",
            "",
            "王",
            "a王b李",
        ] {
            let mut tokenizer = BigramTokenizer;
            let mut stream = tokenizer.token_stream(text);
            let mut got = vec![];
            while stream.advance() {
                let t = stream.token();
                got.push((t.offset_from, t.offset_to, t.position, t.text.clone()));
            }
            assert_eq!(got, bigram_tokens(text), "{text}");
        }
    }

    #[test]
    fn bigrams_pair_adjacent_cjk_characters_only() {
        let b: Vec<(usize, String)> = bigram_tokens("更换前刹车片,刹车 ABS泵")
            .into_iter()
            .map(|(_, _, p, t)| (p, t))
            .collect();
        assert_eq!(
            b,
            vec![
                (0, "更换".into()),
                (1, "换前".into()),
                (2, "前刹".into()),
                (3, "刹车".into()),
                (4, "车片".into()),
                (7, "刹车".into()),
                (10, "abs".into())
            ]
        );
    }

    #[test]
    fn normalisation_folds_full_width_but_keeps_cjk() {
        assert_eq!(normalize("ABC123,刹车"), "ABC123,刹车");
    }

    #[test]
    fn jieba_finds_whole_words_and_sub_words() {
        let w: Vec<String> = words("发动机异响", true).into_iter().map(|t| t.2).collect();
        assert!(w.contains(&"发动机".to_string()), "{w:?}");
        let precise: Vec<String> = words("刹车片磨损", false)
            .into_iter()
            .map(|t| t.2)
            .collect();
        assert!(!precise.is_empty());
    }

    #[test]
    fn phone_and_id_numbers_are_masked_in_text() {
        let (masked, found) =
            mask_pii("客户王伟,联系电话13812341234,身份证号11010519491231002X。订单123");
        assert_eq!(
            masked,
            "客户王伟,联系电话138****1234,身份证号110***********002X。订单123"
        );
        assert_eq!(found, ["13812341234", "11010519491231002X"]);
        let (masked, found) = mask_pii("VIN LFV13812341234567 金额13812341234567元");
        assert_eq!(found.len(), 0, "{masked}");
    }
}
