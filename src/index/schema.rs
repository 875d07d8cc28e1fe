//! The tantivy schema: one document per archive document, latest version.

use tantivy::schema::{
    FAST, Field, INDEXED, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing, TextOptions,
};

use super::analysis::{BIGRAMS, CHARS, WORDS};
use super::facets;

#[derive(Clone)]
pub struct Fields {
    pub id: Field,
    pub archive_no: Field,
    pub revision: Field,
    pub title: Field,
    /// Metadata text (title, summary, tags, order number, model, items): characters.
    pub meta_chars: Field,
    /// Content text (extracted, transcript), PII masked, stored for snippets.
    pub body_chars: Field,
    /// CJK bigrams, for fast exact matching of longer words: of the metadata
    /// text, and of metadata and content together (`all_bigrams`), so a caller
    /// who may see content matches a word with one phrase, not a union of two.
    pub meta_bigrams: Field,
    pub all_bigrams: Field,
    /// Metadata and content as jieba words, for ranking.
    pub words: Field,
    pub category: Field,
    pub branch: Field,
    pub level: Field,
    /// Every clearance that may see the document (its level and above), so the
    /// visibility filter is one term.
    pub clearance: Field,
    pub vin: Field,
    pub vin_keys: Field,
    pub plate: Field,
    pub order_no: Field,
    pub tags: Field,
    /// Keyed hashes (HMAC) of normalised phone and ID numbers.
    pub pii: Field,
    /// Service (or filing) date as days since 1970-01-01.
    pub day: Field,
    pub service_date: Field,
    /// Service year, for the year facet (category and branch are fast fields too).
    pub year: Field,
}

pub fn build() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let chars = |stored: bool| {
        let o = TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(CHARS)
                .set_index_option(IndexRecordOption::WithFreqsAndPositions),
        );
        if stored { o.set_stored() } else { o }
    };
    let words = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(WORDS)
            .set_index_option(IndexRecordOption::WithFreqs),
    );
    let bigrams = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(BIGRAMS)
            .set_index_option(IndexRecordOption::WithFreqsAndPositions),
    );
    let fields = Fields {
        id: b.add_text_field("id", STRING | STORED | FAST),
        archive_no: b.add_text_field("archive_no", STRING | STORED),
        revision: b.add_u64_field("revision", STORED | FAST),
        title: b.add_text_field("title", STORED),
        meta_chars: b.add_text_field("meta_chars", chars(false)),
        body_chars: b.add_text_field("body_chars", chars(true)),
        meta_bigrams: b.add_text_field("meta_bigrams", bigrams.clone()),
        all_bigrams: b.add_text_field("all_bigrams", bigrams),
        words: b.add_text_field("words", words),
        category: b.add_text_field(facets::CATEGORY, STRING | STORED | FAST),
        branch: b.add_text_field(facets::BRANCH, STRING | STORED | FAST),
        level: b.add_text_field("level", STRING),
        clearance: b.add_text_field("clearance", STRING),
        vin: b.add_text_field("vin", STORED),
        vin_keys: b.add_text_field("vin_keys", STRING),
        plate: b.add_text_field("plate", STRING | STORED),
        order_no: b.add_text_field("order_no", STRING),
        tags: b.add_text_field("tags", STRING),
        pii: b.add_text_field("pii", STRING),
        day: b.add_u64_field("day", INDEXED | FAST),
        service_date: b.add_text_field("service_date", STORED),
        year: b.add_u64_field(facets::YEAR, FAST),
    };
    (b.build(), fields)
}
