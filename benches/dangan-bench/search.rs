//! Search at scale: indexing generated records and answering the queries staff
//! type, through dangan's index layer and on a bare tantivy index with the same
//! analyzers, in the same run.

use std::path::Path;
use std::time::Instant;

use chrono::{NaiveDate, Utc};
use dangan::corpus::Record;
use dangan::domain::metadata::Metadata;
use dangan::domain::{ArchiveNo, Branch, Classification, DocumentId, Level};
use dangan::index::{SearchIndex, SearchRequest, Sort, Visibility};
use dangan::storage::envelope::WrappedKey;
use dangan::storage::manifest::{FORMAT, Manifest, Version};

use crate::bare::{self, Bare, CASES};
use crate::{Row, percentile};

const HEAP: usize = 200_000_000;
/// Timed runs of each query per side: enough for a p99 of ten samples.
const QUERY_SAMPLES: usize = 1000;

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
            checks: None,
            ocr: None,
        }],
        corrections: vec![],
        revision: 1,
        text: None,
        source: None,
    }
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

/// dangan's request for query `case` of [`CASES`]; `i` picks the VIN.
pub fn request(case: usize, i: usize, vins: &[String]) -> SearchRequest {
    let req = |q: &str| SearchRequest {
        q: Some(q.to_string()),
        page: 1,
        per_page: 20,
        sort: Sort::Relevance,
        ..Default::default()
    };
    match case {
        0 => req("发动机"),
        1 => req("发动机 更换"),
        2 => req("\"更换前刹车片\""),
        3 => SearchRequest {
            category: Some("WX".into()),
            from: NaiveDate::from_ymd_opt(2021, 1, 1),
            to: NaiveDate::from_ymd_opt(2022, 12, 31),
            ..req("更换")
        },
        _ => SearchRequest {
            q: None,
            vin: Some(vins[i % vins.len()].clone()),
            ..req("")
        },
    }
}

/// The last 8 characters of the VINs of the first 500 records.
pub fn vin_tails(records: &[Record]) -> Vec<String> {
    records
        .iter()
        .take(500)
        .map(|r| r.metadata["vehicle"]["vin"].as_str().unwrap_or_default()[9..].to_string())
        .collect()
}

/// Indexes `records` through dangan's index layer and into bare tantivy, times
/// the queries of [`CASES`] on each; returns the rows, the bare index with
/// dangan's exact matching (the HTTP scenarios serve it) and its indexing rate.
pub async fn run(scratch: &Path, records: &[Record]) -> anyhow::Result<(Vec<Row>, Bare, f64)> {
    let docs = records.len();
    let scheme = Classification::from_toml(include_str!("../../schema/classification.toml"))
        .map_err(anyhow::Error::msg)?;
    let manifests: Vec<Manifest> = records
        .iter()
        .enumerate()
        .map(|(i, r)| manifest(i, r, &scheme))
        .collect();
    let mut rows = vec![];

    // Bare tantivy: the same analyzers, nothing else; once with the analyses of
    // the ceiling, once with dangan's exact-match analysis added.
    let (jieba, bare_rate) = bare::build(&scratch.join("bare-index"), false, records)?;
    let (exact, exact_rate) = bare::build(&scratch.join("bare-exact-index"), true, records)?;

    // dangan's index layer: documents built from manifests (PII masked, keyed
    // hashes, VIN tails, facets, both analyzers), written by its writer thread.
    let index = SearchIndex::open(&scratch.join("dangan-index"), [9u8; 32], HEAP)
        .map_err(anyhow::Error::msg)?;
    let t = Instant::now();
    for (m, r) in manifests.iter().zip(records) {
        index.upsert(m, &r.body);
    }
    index.flush().await;
    let ours_rate = docs as f64 / t.elapsed().as_secs_f64();
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
    rows.push(Row::latency(
        &format!("search index size, {docs} records (after the last commit)"),
        crate::dir_mib(&scratch.join("dangan-index")),
        "bare tantivy, jieba + characters + bigrams",
        crate::dir_mib(&scratch.join("bare-exact-index")),
        "MiB",
    ));

    let vins = vin_tails(records);
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
    for (case, name) in CASES.iter().enumerate() {
        let (_, jieba_p99) = time_queries(QUERY_SAMPLES, |i| {
            std::hint::black_box(jieba.search(jieba.query(case, i, &vins).as_ref()));
        });
        let (_, same_p99) = time_queries(QUERY_SAMPLES, |i| {
            std::hint::black_box(exact.search(exact.query(case, i, &vins).as_ref()));
        });
        let (_, p99) = time_queries(QUERY_SAMPLES, |i| {
            std::hint::black_box(
                index
                    .search(&request(case, i, &vins), &visibility)
                    .expect("search"),
            );
        });
        let (_, staff_p99) = time_queries(QUERY_SAMPLES, |i| {
            std::hint::black_box(
                index
                    .search(&request(case, i, &vins), &staff)
                    .expect("search"),
            );
        });
        let all = format!("query p99 {name}, top 20 + facets + snippets");
        let same = "bare tantivy, same exact matching, top 20 + count + fetch";
        rows.push(Row::latency(&all, p99, same, same_p99, "µs"));
        rows.push(Row::latency(
            &format!("query p99 {name}, as BJ01 staff"),
            staff_p99,
            same,
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
    Ok((rows, exact, exact_rate))
}
