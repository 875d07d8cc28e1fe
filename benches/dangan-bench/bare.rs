//! Bare tantivy over the same generated records: the same analyzers, no access
//! rules, no facets, no snippets, a title as the only stored field. The ceiling
//! dangan's search is measured against, in-process and behind a bare actix
//! endpoint.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use actix_web::{App, HttpResponse, HttpServer, web};
use chrono::NaiveDate;
use dangan::index::analysis::{
    BIGRAMS, BigramTokenizer, CHARS, CharTokenizer, JiebaTokenizer, WORDS, bigram_tokens,
    char_tokens, normalize,
};
use tantivy::collector::{Count, TopDocs};
use tantivy::query::{BooleanQuery, Occur, PhraseQuery, Query, RangeQuery, TermQuery};
use tantivy::schema::{
    FAST, Field, INDEXED, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing,
    TextOptions, Value,
};
use tantivy::{Index, IndexReader, TantivyDocument, Term, doc};

const HEAP: usize = 200_000_000;

/// The queries staff type, as the benchmark names them.
pub const CASES: [&str; 5] = [
    "term 发动机",
    "AND 发动机 更换",
    "phrase \"更换前刹车片\"",
    "filtered 更换 + WX + 2021-2022",
    "VIN last 8",
];

pub struct Bare {
    pub reader: IndexReader,
    words: Field,
    chars: Field,
    /// Only in the index with dangan's exact-match analysis.
    bigrams: Option<Field>,
    category: Field,
    vin: Field,
    day: Field,
    title: Field,
}

pub fn day(d: &str) -> u64 {
    let d: NaiveDate = d.parse().expect("date");
    (d - NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch")).num_days() as u64
}

/// Builds a bare index over title + body: jieba words and characters (the
/// analyses of the ceiling), and with `bigrams` also the bigram field
/// dangan's exact substring matching uses. Returns it with its indexing rate.
pub fn build(
    dir: &Path,
    bigrams: bool,
    records: &[dangan::corpus::Record],
) -> anyhow::Result<(Bare, f64)> {
    std::fs::create_dir_all(dir)?;
    let mut b = Schema::builder();
    let text = |tokenizer, record| {
        TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(tokenizer)
                .set_index_option(record),
        )
    };
    let words = b.add_text_field("words", text(WORDS, IndexRecordOption::WithFreqs));
    let chars = b.add_text_field(
        "chars",
        text(CHARS, IndexRecordOption::WithFreqsAndPositions),
    );
    let bigrams = bigrams.then(|| {
        b.add_text_field(
            "bigrams",
            text(BIGRAMS, IndexRecordOption::WithFreqsAndPositions),
        )
    });
    let category = b.add_text_field("category", STRING);
    let vin = b.add_text_field("vin", STRING);
    let day_field = b.add_u64_field("day", INDEXED | FAST);
    let title = b.add_text_field("title", STORED);
    let index = Index::create_in_dir(dir, b.build())?;
    index.tokenizers().register(WORDS, JiebaTokenizer);
    index.tokenizers().register(CHARS, CharTokenizer);
    index.tokenizers().register(BIGRAMS, BigramTokenizer);
    let t = Instant::now();
    let mut w: tantivy::IndexWriter = index.writer_with_num_threads(1, HEAP)?;
    for r in records {
        let m = &r.metadata;
        let text = normalize(&format!(
            "{}\n{}",
            m["title"].as_str().unwrap_or_default(),
            r.body
        ));
        let v = m["vehicle"]["vin"].as_str().unwrap_or_default();
        let mut d = doc!(
            words => text.clone(),
            chars => text.clone(),
            category => m["category"].as_str().unwrap_or_default(),
            vin => v[9..].to_string(),
            day_field => day(m["service"]["service_date"].as_str().unwrap_or("2020-01-01")),
            title => m["title"].as_str().unwrap_or_default(),
        );
        if let Some(f) = bigrams {
            d.add_text(f, text);
        }
        w.add_document(d)?;
    }
    w.commit()?;
    let rate = records.len() as f64 / t.elapsed().as_secs_f64();
    let reader = index.reader()?;
    Ok((
        Bare {
            reader,
            words,
            chars,
            bigrams,
            category,
            vin,
            day: day_field,
            title,
        },
        rate,
    ))
}

fn term(f: Field, t: &str) -> Box<dyn Query> {
    Box::new(TermQuery::new(
        Term::from_field_text(f, t),
        IndexRecordOption::WithFreqs,
    ))
}

impl Bare {
    /// A word as an exact substring, as dangan matches it (bigram term or
    /// phrase), or without bigrams as one jieba word.
    fn word(&self, w: &str) -> Box<dyn Query> {
        let Some(f) = self.bigrams else {
            return term(self.words, w);
        };
        let tokens = bigram_tokens(w);
        if tokens.len() == 1 {
            return term(f, &tokens[0].3);
        }
        Box::new(PhraseQuery::new_with_offset(
            tokens
                .iter()
                .map(|(_, _, p, t)| (p - tokens[0].2, Term::from_field_text(f, t)))
                .collect(),
        ))
    }

    /// Query `case` of [`CASES`]; `i` picks the VIN.
    pub fn query(&self, case: usize, i: usize, vins: &[String]) -> Box<dyn Query> {
        match case {
            0 => self.word("发动机"),
            1 => Box::new(BooleanQuery::new(vec![
                (Occur::Must, self.word("发动机")),
                (Occur::Must, self.word("更换")),
            ])),
            2 if self.bigrams.is_some() => self.word("更换前刹车片"),
            2 => Box::new(PhraseQuery::new_with_offset(
                char_tokens("更换前刹车片")
                    .into_iter()
                    .map(|(_, _, p, t)| (p, Term::from_field_text(self.chars, &t)))
                    .collect(),
            )),
            3 => Box::new(BooleanQuery::new(vec![
                (Occur::Must, self.word("更换")),
                (Occur::Must, term(self.category, "WX")),
                (
                    Occur::Must,
                    Box::new(RangeQuery::new(
                        std::ops::Bound::Included(Term::from_field_u64(
                            self.day,
                            day("2021-01-01"),
                        )),
                        std::ops::Bound::Included(Term::from_field_u64(
                            self.day,
                            day("2022-12-31"),
                        )),
                    )),
                ),
            ])),
            _ => term(self.vin, &vins[i % vins.len()]),
        }
    }

    /// Top 20 by score with the total count, and each hit's stored title.
    pub fn search(&self, q: &dyn Query) -> (usize, Vec<String>) {
        let searcher = self.reader.searcher();
        let (count, top) = searcher
            .search(q, &(Count, TopDocs::with_limit(20).order_by_score()))
            .expect("search");
        let titles = top
            .into_iter()
            .map(|(_, addr)| {
                let d: TantivyDocument = searcher.doc(addr).expect("doc");
                d.get_first(self.title)
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default()
            })
            .collect();
        (count, titles)
    }
}

#[derive(serde::Deserialize)]
struct Params {
    case: usize,
    i: usize,
}

/// Serves `GET /search?case=N&i=M` (the bare query, answered as JSON) with actix
/// on 2 workers, as dangan runs; returns its address. Runs until the process ends.
pub fn serve(bare: Arc<Bare>, vins: Arc<Vec<String>>) -> anyhow::Result<String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let address = format!("http://{}", listener.local_addr()?);
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            HttpServer::new(move || {
                let (bare, vins) = (bare.clone(), vins.clone());
                App::new().route(
                    "/search",
                    web::get().to(move |p: web::Query<Params>| {
                        let (bare, vins) = (bare.clone(), vins.clone());
                        async move {
                            // On the worker thread, as dangan's handler searches.
                            let (total, titles) =
                                bare.search(bare.query(p.case, p.i, &vins).as_ref());
                            HttpResponse::Ok()
                                .json(serde_json::json!({"total": total, "hits": titles}))
                        }
                    }),
                )
            })
            .workers(2)
            .listen(listener)
            .expect("listen")
            .run()
            .await
        })
    });
    Ok(address)
}
