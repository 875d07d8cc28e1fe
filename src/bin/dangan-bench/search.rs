//! Search at scale: indexing generated records and answering the queries staff
//! type, through dangan's index layer and on a bare tantivy index with the same
//! analyzers, in the same run.

use std::path::Path;
use std::time::Instant;

use chrono::{NaiveDate, Utc};
use dangan::corpus::generate;
use dangan::domain::metadata::Metadata;
use dangan::domain::{ArchiveNo, Branch, Classification, DocumentId, Level};
use dangan::index::analysis::{
    BIGRAMS, BigramTokenizer, CHARS, CharTokenizer, JiebaTokenizer, WORDS, bigram_tokens,
    char_tokens, normalize,
};
use dangan::index::{SearchIndex, SearchRequest, Sort, Visibility};
use dangan::storage::envelope::WrappedKey;
use dangan::storage::manifest::{FORMAT, Manifest, Version};
use tantivy::collector::{Count, TopDocs};
use tantivy::query::{BooleanQuery, Occur, PhraseQuery, Query, RangeQuery, TermQuery};
use tantivy::schema::{
    FAST, INDEXED, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing, TextOptions, Value,
};
use tantivy::{Index, TantivyDocument, Term, doc};

use crate::{Row, percentile};

const HEAP: usize = 200_000_000;

fn manifest(i: usize, r: &dangan::corpus::Record, scheme: &Classification) -> Manifest {
    let metadata =
        Metadata::from_value(r.metadata.clone(), scheme).expect("generated records are valid");
    let branch = metadata.branch.clone().expect("generated with a branch");
    let category = scheme.get(&metadata.category).expect("known category");
    let date = metadata.service_date().expect("generated with a date");
    Manifest {
        format: FORMAT,
        id: DocumentId::new(),
        archive_no: ArchiveNo {
            branch: branch.clone(),
            category: category.code.clone(),
            year: 2026,
            seq: i as u64 + 1,
        },
        confidentiality: metadata.confidentiality.unwrap_or(category.default_level),
        retention_until: category.retention_until(date),
        metadata,
        branch,
        filed_by: "bench".into(),
        filed_at: Utc::now(),
        legal_hold: None,
        versions: vec![Version {
            version: 1,
            sha256: String::new(),
            size: r.body.len() as u64,
            content_type: "text/plain".into(),
            filename: r.filename.clone(),
            filed_by: "bench".into(),
            filed_at: Utc::now(),
            reason: None,
            key: WrappedKey {
                kek: "bench".into(),
                blob: String::new(),
            },
        }],
        corrections: vec![],
        revision: 1,
        text: None,
    }
}

struct Bare {
    index: Index,
    words: tantivy::schema::Field,
    chars: tantivy::schema::Field,
    /// Only in the index with dangan's exact-match analysis.
    bigrams: Option<tantivy::schema::Field>,
    category: tantivy::schema::Field,
    vin: tantivy::schema::Field,
    day: tantivy::schema::Field,
    title: tantivy::schema::Field,
}

/// A bare index over title + body: jieba words and characters (the analyses the
/// issue's ceiling names), and with `bigrams` also the bigram field dangan's
/// exact substring matching uses.
fn bare_index(dir: &Path, bigrams: bool) -> Bare {
    let mut b = Schema::builder();
    let words = b.add_text_field(
        "words",
        TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(WORDS)
                .set_index_option(IndexRecordOption::WithFreqs),
        ),
    );
    let chars = b.add_text_field(
        "chars",
        TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(CHARS)
                .set_index_option(IndexRecordOption::WithFreqsAndPositions),
        ),
    );
    let bigrams = bigrams.then(|| {
        b.add_text_field(
            "bigrams",
            TextOptions::default().set_indexing_options(
                TextFieldIndexing::default()
                    .set_tokenizer(BIGRAMS)
                    .set_index_option(IndexRecordOption::WithFreqsAndPositions),
            ),
        )
    });
    let category = b.add_text_field("category", STRING);
    let vin = b.add_text_field("vin", STRING);
    let day = b.add_u64_field("day", INDEXED | FAST);
    let title = b.add_text_field("title", STORED);
    let index = Index::create_in_dir(dir, b.build()).expect("bare index");
    index.tokenizers().register(WORDS, JiebaTokenizer);
    index.tokenizers().register(CHARS, CharTokenizer);
    index.tokenizers().register(BIGRAMS, BigramTokenizer);
    Bare {
        index,
        words,
        chars,
        bigrams,
        category,
        vin,
        day,
        title,
    }
}

fn bare_build(
    scratch: &Path,
    name: &str,
    bigrams: bool,
    records: &[dangan::corpus::Record],
) -> anyhow::Result<(Bare, f64)> {
    let dir = scratch.join(name);
    std::fs::create_dir_all(&dir)?;
    let bare = bare_index(&dir, bigrams);
    let t = Instant::now();
    let mut w: tantivy::IndexWriter = bare.index.writer_with_num_threads(1, HEAP)?;
    for r in records {
        let m = &r.metadata;
        let text = normalize(&format!(
            "{}\n{}",
            m["title"].as_str().unwrap_or_default(),
            r.body
        ));
        let vin = m["vehicle"]["vin"].as_str().unwrap_or_default();
        let mut d = doc!(
            bare.words => text.clone(),
            bare.chars => text.clone(),
            bare.category => m["category"].as_str().unwrap_or_default(),
            bare.vin => vin[9..].to_string(),
            bare.day => day(m["service"]["service_date"].as_str().unwrap_or("2020-01-01")),
            bare.title => m["title"].as_str().unwrap_or_default(),
        );
        if let Some(f) = bare.bigrams {
            d.add_text(f, text);
        }
        w.add_document(d)?;
    }
    w.commit()?;
    let rate = records.len() as f64 / t.elapsed().as_secs_f64();
    Ok((bare, rate))
}

fn day(d: &str) -> u64 {
    let d: NaiveDate = d.parse().expect("date");
    (d - NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch")).num_days() as u64
}

fn time_queries(n: usize, mut run: impl FnMut(usize)) -> (f64, f64) {
    for i in 0..20 {
        run(i);
    }
    let mut lat = Vec::with_capacity(n);
    for i in 0..n {
        let t = Instant::now();
        run(i);
        lat.push(t.elapsed().as_secs_f64() * 1e6);
    }
    (percentile(&mut lat, 0.5), percentile(&mut lat, 0.99))
}

pub async fn run(scratch: &Path, docs: usize) -> anyhow::Result<Vec<Row>> {
    let scheme = Classification::from_toml(include_str!("../../../schema/classification.toml"))
        .map_err(anyhow::Error::msg)?;
    let records = generate(docs, 7);
    let manifests: Vec<Manifest> = records
        .iter()
        .enumerate()
        .map(|(i, r)| manifest(i, r, &scheme))
        .collect();
    let mut rows = vec![];

    // Bare tantivy: the same analyzers, nothing else; once with the analyses of
    // the ceiling, once with dangan's exact-match analysis added.
    let (bare, bare_rate) = bare_build(scratch, "bare-index", false, &records)?;
    let (exact, exact_rate) = bare_build(scratch, "bare-exact-index", true, &records)?;

    // dangan's index layer: documents built from manifests (PII masked, keyed
    // hashes, VIN tails, facets, both analyzers), written by its writer thread.
    let index = SearchIndex::open(&scratch.join("dangan-index"), [9u8; 32], HEAP)
        .map_err(anyhow::Error::msg)?;
    let t = Instant::now();
    for (m, r) in manifests.iter().zip(&records) {
        index.upsert(m, &r.body);
    }
    index.flush().await;
    let ours_rate = docs as f64 / t.elapsed().as_secs_f64();
    eprintln!("dangan index: {} segments after indexing", index.segments());
    rows.push(Row::rate(
        &format!("indexing {docs} records (1 thread)"),
        ours_rate,
        "bare tantivy, jieba + characters",
        bare_rate,
        "docs/s",
    ));
    rows.push(Row::rate(
        &format!("indexing {docs} records (1 thread)"),
        ours_rate,
        "bare tantivy, jieba + characters + bigrams",
        exact_rate,
        "docs/s",
    ));

    let (bare_reader, exact_reader) = (bare.index.reader()?, exact.index.reader()?);
    let tq = |f, t: &str| -> Box<dyn Query> {
        Box::new(TermQuery::new(
            Term::from_field_text(f, t),
            IndexRecordOption::WithFreqs,
        ))
    };
    // Exact substring match as dangan does it: a bigram term or phrase.
    let exact_q = |t: &str| -> Box<dyn Query> {
        let f = exact.bigrams.expect("the exact index has bigrams");
        let tokens = bigram_tokens(t);
        if tokens.len() == 1 {
            return tq(f, &tokens[0].3);
        }
        Box::new(PhraseQuery::new_with_offset(
            tokens
                .iter()
                .map(|(_, _, p, t)| (p - tokens[0].2, Term::from_field_text(f, t)))
                .collect(),
        ))
    };
    let bare_search = |b: &Bare, reader: &tantivy::IndexReader, q: &dyn Query| {
        let searcher = reader.searcher();
        let (_count, top) = searcher
            .search(q, &(Count, TopDocs::with_limit(20).order_by_score()))
            .expect("search");
        for (_, addr) in top {
            let d: TantivyDocument = searcher.doc(addr).expect("doc");
            std::hint::black_box(d.get_first(b.title).and_then(|v| v.as_str().map(str::len)));
        }
    };
    let vins: Vec<String> = records
        .iter()
        .take(500)
        .map(|r| r.metadata["vehicle"]["vin"].as_str().unwrap_or_default()[9..].to_string())
        .collect();
    let phrase_terms: Vec<(usize, Term)> = char_tokens("更换前刹车片")
        .into_iter()
        .map(|(_, _, p, t)| (p, Term::from_field_text(bare.chars, &t)))
        .collect();
    let range = |b: &Bare| -> Box<dyn Query> {
        Box::new(RangeQuery::new(
            std::ops::Bound::Included(Term::from_field_u64(b.day, day("2021-01-01"))),
            std::ops::Bound::Included(Term::from_field_u64(b.day, day("2022-12-31"))),
        ))
    };
    let visibility = Visibility {
        branch: None,
        max_level: Some(Level::Restricted),
        content: true,
        granted: vec![],
    };
    let staff = Visibility {
        branch: Some(Branch::parse("BJ01").expect("valid")),
        max_level: Some(Level::Internal),
        content: true,
        granted: vec![],
    };
    let req = |q: Option<&str>| SearchRequest {
        q: q.map(str::to_string),
        page: 1,
        per_page: 20,
        sort: Sort::Relevance,
        ..Default::default()
    };
    type Bq<'a> = Box<dyn Fn(usize) -> Box<dyn Query> + 'a>;
    // (name, dangan's request, bare query with jieba words, bare query with the
    // same exact matching as dangan)
    type Case<'a> = (
        &'a str,
        Box<dyn Fn(usize) -> SearchRequest + 'a>,
        Bq<'a>,
        Bq<'a>,
    );
    let cases: Vec<Case> = vec![
        (
            "term 发动机",
            Box::new(|_| req(Some("发动机"))),
            Box::new(|_| tq(bare.words, "发动机")),
            Box::new(|_| exact_q("发动机")),
        ),
        (
            "AND 发动机 更换",
            Box::new(|_| req(Some("发动机 更换"))),
            Box::new(|_| {
                Box::new(BooleanQuery::new(vec![
                    (Occur::Must, tq(bare.words, "发动机")),
                    (Occur::Must, tq(bare.words, "更换")),
                ]))
            }),
            Box::new(|_| {
                Box::new(BooleanQuery::new(vec![
                    (Occur::Must, exact_q("发动机")),
                    (Occur::Must, exact_q("更换")),
                ]))
            }),
        ),
        (
            "phrase \"更换前刹车片\"",
            Box::new(|_| req(Some("\"更换前刹车片\""))),
            Box::new(|_| Box::new(PhraseQuery::new_with_offset(phrase_terms.clone()))),
            Box::new(|_| exact_q("更换前刹车片")),
        ),
        (
            "filtered 更换 + WX + 2021-2022",
            Box::new(|_| SearchRequest {
                category: Some("WX".into()),
                from: NaiveDate::from_ymd_opt(2021, 1, 1),
                to: NaiveDate::from_ymd_opt(2022, 12, 31),
                ..req(Some("更换"))
            }),
            Box::new(|_| {
                Box::new(BooleanQuery::new(vec![
                    (Occur::Must, tq(bare.words, "更换")),
                    (Occur::Must, tq(bare.category, "WX")),
                    (Occur::Must, range(&bare)),
                ]))
            }),
            Box::new(|_| {
                Box::new(BooleanQuery::new(vec![
                    (Occur::Must, exact_q("更换")),
                    (Occur::Must, tq(exact.category, "WX")),
                    (Occur::Must, range(&exact)),
                ]))
            }),
        ),
        (
            "VIN last 8",
            Box::new(|i| SearchRequest {
                vin: Some(vins[i % vins.len()].clone()),
                ..req(None)
            }),
            Box::new(|i| tq(bare.vin, &vins[i % vins.len()])),
            Box::new(|i| tq(exact.vin, &vins[i % vins.len()])),
        ),
    ];
    for (name, ours, jieba, same) in &cases {
        let (_, jieba_p99) =
            time_queries(300, |i| bare_search(&bare, &bare_reader, jieba(i).as_ref()));
        let (_, same_p99) = time_queries(300, |i| {
            bare_search(&exact, &exact_reader, same(i).as_ref())
        });
        let (_, p99) = time_queries(300, |i| {
            std::hint::black_box(index.search(&ours(i), &visibility).expect("search"));
        });
        let (_, staff_p99) = time_queries(300, |i| {
            std::hint::black_box(index.search(&ours(i), &staff).expect("search"));
        });
        let all = format!("query p99 {name}, top 20 + facets + snippets");
        rows.push(Row::latency(
            &all,
            p99,
            "bare tantivy, same exact matching, top 20 + count + fetch",
            same_p99,
            "µs",
        ));
        rows.push(Row::latency(
            &format!("query p99 {name}, as BJ01 staff"),
            staff_p99,
            "bare tantivy, same exact matching, top 20 + count + fetch",
            same_p99,
            "µs",
        ));
        rows.push(Row::latency(
            &all,
            p99,
            "bare tantivy, jieba words, top 20 + count + fetch",
            jieba_p99,
            "µs",
        ));
    }
    Ok(rows)
}
