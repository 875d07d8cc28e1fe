//! Building tantivy queries by hand (no query parser): the caller's visibility
//! filter, structured filters as exact terms and ranges, and each word of `q` as
//! a term or phrase on the character field (exact substring match), with jieba
//! words as optional clauses that only rank.

use std::collections::BTreeMap;
use std::ops::Bound;

use chrono::NaiveDate;
use serde::Serialize;
use tantivy::Term;
use tantivy::query::{
    AllQuery, BooleanQuery, BoostQuery, Occur, PhraseQuery, Query, RangeQuery, TermQuery,
};
use tantivy::schema::{Field, IndexRecordOption};

use super::analysis::{bigram_tokens, char_tokens, is_cjk, normalize, words};
use super::document::{epoch_day, pii_key};
use super::schema::Fields;
use crate::domain::{ArchiveNo, Branch, Level, Plate};
use crate::error::{Code, Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Sort {
    #[default]
    Relevance,
    Date,
}

/// A search as the service layer hands it over, already checked.
#[derive(Debug, Clone, Default)]
pub struct SearchRequest {
    pub q: Option<String>,
    pub category: Option<String>,
    pub branch: Option<Branch>,
    pub vin: Option<String>,
    pub plate: Option<Plate>,
    pub order_no: Option<String>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub page: u32,
    pub per_page: u32,
    pub sort: Sort,
}

/// What the caller may see, as part of the query itself, so that totals, facets,
/// snippets and pages only ever count visible documents.
#[derive(Debug, Clone)]
pub struct Visibility {
    /// `None`: every branch.
    pub branch: Option<Branch>,
    /// `None`: every level.
    pub max_level: Option<Level>,
    /// Whether `q` may match content text and snippets may show it.
    pub content: bool,
    /// Documents visible through access grants regardless of branch and level.
    pub granted: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct SearchHit {
    pub id: String,
    pub archive_no: String,
    pub title: String,
    pub category: String,
    pub branch: String,
    pub service_date: String,
    pub vin: Option<String>,
    pub plate: Option<String>,
    pub snippet: String,
    pub score: f32,
}

#[derive(Debug, Serialize, Default)]
pub struct Facets {
    pub category: BTreeMap<String, u64>,
    pub branch: BTreeMap<String, u64>,
    pub year: BTreeMap<String, u64>,
}

#[derive(Debug, Serialize)]
pub struct SearchResults {
    pub total: u64,
    pub hits: Vec<SearchHit>,
    pub facets: Facets,
}

fn term(field: Field, text: &str) -> Box<dyn Query> {
    Box::new(TermQuery::new(
        Term::from_field_text(field, text),
        IndexRecordOption::Basic,
    ))
}

/// Splits `q` into words and quoted phrases.
pub fn split_query(q: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut rest = q;
    while !rest.is_empty() {
        rest = rest.trim_start();
        if let Some(after) = rest.strip_prefix('"') {
            let end = after.find('"').unwrap_or(after.len());
            parts.push(after[..end].to_string());
            rest = after.get(end + 1..).unwrap_or("");
        } else {
            let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
            parts.push(rest[..end].to_string());
            rest = &rest[end..];
        }
    }
    parts.retain(|p| !p.trim().is_empty());
    parts
}

/// Whether `tokens` are one run of two or more CJK characters: such a word is
/// matched exactly as a bigram term or phrase, anything else on the character
/// fields.
fn is_cjk_run(tokens: &[(usize, usize, usize, String)]) -> bool {
    tokens.len() >= 2
        && tokens.iter().enumerate().all(|(i, (_, _, pos, t))| {
            *pos == tokens[0].2 + i && t.chars().next().is_some_and(is_cjk)
        })
}

/// A term, or a phrase of the tokens at their relative positions.
fn exact(field: Field, tokens: &[(usize, usize, usize, String)]) -> Option<Box<dyn Query>> {
    match tokens {
        [] => None,
        [one] => Some(term(field, &one.3)),
        _ => {
            let first = tokens[0].2;
            let terms = tokens
                .iter()
                .map(|(_, _, pos, t)| (pos - first, Term::from_field_text(field, t)))
                .collect();
            Some(Box::new(PhraseQuery::new_with_offset(terms)))
        }
    }
}

fn word_query(
    fields: &Fields,
    key: &[u8; 32],
    word: &str,
    content: bool,
) -> Option<Box<dyn Query>> {
    let norm = normalize(word);
    if let Ok(p) = crate::domain::pii::Phone::parse(&norm) {
        return Some(term(fields.pii, &pii_key(key, p.as_str())));
    }
    if let Ok(id) = crate::domain::pii::IdNumber::parse(&norm) {
        return Some(term(fields.pii, &pii_key(key, id.as_str())));
    }
    let mut matchers: Vec<(Occur, Box<dyn Query>)> = vec![];
    if let Ok(a) = ArchiveNo::parse(norm.trim()) {
        matchers.push((Occur::Should, term(fields.archive_no, &a.to_string())));
    }
    // Exact substring match: a caller who may see content matches metadata and
    // content in one bigram field; others match metadata only.
    let tokens = char_tokens(&norm);
    if is_cjk_run(&tokens) {
        let field = if content {
            fields.all_bigrams
        } else {
            fields.meta_bigrams
        };
        matchers.extend(exact(field, &bigram_tokens(&norm)).map(|q| (Occur::Should, q)));
    } else {
        matchers.extend(exact(fields.meta_chars, &tokens).map(|q| (Occur::Should, q)));
        if content {
            matchers.extend(exact(fields.body_chars, &tokens).map(|q| (Occur::Should, q)));
        }
    }
    if matchers.is_empty() {
        return None;
    }
    let matcher: Box<dyn Query> = if matchers.len() == 1 {
        matchers.remove(0).1
    } else {
        Box::new(BooleanQuery::new(matchers))
    };
    let mut clauses: Vec<(Occur, Box<dyn Query>)> = vec![(Occur::Must, matcher)];
    if content {
        for (_, _, w) in words(&norm, false) {
            clauses.push((
                Occur::Should,
                Box::new(BoostQuery::new(term(fields.words, &w), 2.0)),
            ));
        }
    }
    Some(Box::new(BooleanQuery::new(clauses)))
}

/// Normalises a VIN filter: the full VIN or its last 6 or 8 characters.
pub fn vin_key(raw: &str) -> Result<String> {
    let v = raw.trim().to_ascii_uppercase();
    if !matches!(v.len(), 6 | 8 | 17) || !v.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(Error::new(
            Code::InvalidVin,
            "vin: the full 17-character VIN, or its last 6 or 8 characters",
        ));
    }
    if v.len() == 17 {
        crate::domain::Vin::parse(&v).map_err(|e| Error::new(Code::InvalidVin, e))?;
    }
    Ok(v)
}

pub fn build(
    fields: &Fields,
    key: &[u8; 32],
    r: &SearchRequest,
    vis: &Visibility,
) -> Result<Box<dyn Query>> {
    let mut must: Vec<(Occur, Box<dyn Query>)> = vec![];
    // The caller's visibility first: nothing outside it can be counted or shown.
    let mut scope: Vec<(Occur, Box<dyn Query>)> = vec![];
    if let Some(b) = &vis.branch {
        scope.push((Occur::Must, term(fields.branch, b.as_str())));
    }
    if let Some(max) = vis.max_level
        && max != Level::Restricted
    {
        scope.push((Occur::Must, term(fields.clearance, max.as_str())));
    }
    if !scope.is_empty() {
        let mut visible: Vec<(Occur, Box<dyn Query>)> =
            vec![(Occur::Should, Box::new(BooleanQuery::new(scope)))];
        visible.extend(
            vis.granted
                .iter()
                .map(|id| (Occur::Should, term(fields.id, id))),
        );
        must.push((Occur::Must, Box::new(BooleanQuery::new(visible))));
    }
    if let Some(q) = r.q.as_deref().filter(|q| !q.trim().is_empty()) {
        let words: Vec<Box<dyn Query>> = split_query(q)
            .iter()
            .filter_map(|word| word_query(fields, key, word, vis.content))
            .collect();
        // A query of nothing searchable (`🚗`, `！`, `*`) must not quietly
        // become "everything you may see".
        if words.is_empty() {
            return Err(Error::new(
                Code::EmptyQuery,
                "q: nothing searchable in the query (letters, digits or Chinese characters)",
            ));
        }
        must.extend(words.into_iter().map(|w| (Occur::Must, w)));
    }
    if let Some(c) = &r.category {
        must.push((Occur::Must, term(fields.category, c)));
    }
    if let Some(b) = &r.branch {
        must.push((Occur::Must, term(fields.branch, b.as_str())));
    }
    if let Some(v) = &r.vin {
        must.push((Occur::Must, term(fields.vin_keys, &vin_key(v)?)));
    }
    if let Some(p) = &r.plate {
        must.push((Occur::Must, term(fields.plate, p.as_str())));
    }
    if let Some(o) = &r.order_no {
        must.push((Occur::Must, term(fields.order_no, o.trim())));
    }
    if r.from.is_some() || r.to.is_some() {
        let lower = r.from.map_or(Bound::Unbounded, |d| {
            Bound::Included(Term::from_field_u64(fields.day, epoch_day(d)))
        });
        let upper = r.to.map_or(Bound::Unbounded, |d| {
            Bound::Included(Term::from_field_u64(fields.day, epoch_day(d)))
        });
        must.push((Occur::Must, Box::new(RangeQuery::new(lower, upper))));
    }
    if must.is_empty() {
        return Ok(Box::new(AllQuery));
    }
    Ok(Box::new(BooleanQuery::new(must)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_split_into_words_and_quoted_phrases() {
        assert_eq!(split_query("刹车片 更换"), ["刹车片", "更换"]);
        assert_eq!(split_query("\"刹车片 更换\" 王"), ["刹车片 更换", "王"]);
        assert_eq!(split_query("  \"unterminated"), ["unterminated"]);
        assert!(split_query("   ").is_empty());
    }

    #[test]
    fn vin_filters_take_full_vins_or_tails() {
        assert_eq!(vin_key("m3000001").unwrap(), "M3000001");
        assert!(vin_key("123").is_err());
        assert!(vin_key("LFV2A21K1M3000001").is_err());
    }
}
