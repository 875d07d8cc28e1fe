//! `/stats`: the statistics desk (spec §9) — filings, reads, downloads,
//! denials and grants per month, per branch and per category, each as a chart
//! with its table, and the whole as CSV. `Auditing::stats`, the API's use
//! case: an auditor sees every branch, a supervisor their own; the figures are
//! counted from the retrieval log (`audit::stats`) and the asking is recorded.
//!
//! The charts are SVG drawn on the server: bars (`rect`) whose heights are
//! computed here and labels (`text`) the browser lays out in the page's CJK
//! font. A plotting crate would have to measure the labels itself, with a
//! font embedded in the binary (a CJK one is 16 MB); the table under each
//! chart is its accessible equivalent.

use std::collections::BTreeMap;

use actix_web::{HttpResponse, web};
use askama::Template;

use crate::archive::Documents;
use crate::archive::auditing::Auditing;
use crate::audit::stats::{Row, to_csv};
use crate::web::PageError;
use crate::web::caller::{Chrome, Page, perm};
use crate::web::render::{OrPage, render};

/// The five measures, in the order of the columns and the bars.
pub const MEASURES: [&str; 5] = ["filings", "reads", "downloads", "denials", "grants"];

/// The counts of one group (a month, a branch or a category).
pub struct Group {
    pub label: String,
    pub counts: [u64; 5],
}

/// One bar of a chart: where it stands, its measure and its count.
pub struct Bar {
    pub x: f64,
    pub y: f64,
    pub height: f64,
    pub measure: &'static str,
    pub count: u64,
}

/// A grouped bar chart's geometry, in SVG user units.
pub struct Chart {
    pub width: f64,
    pub height: f64,
    pub baseline: f64,
    pub max: u64,
    pub bars: Vec<Bar>,
    /// Group labels: x of the group's centre, text.
    pub labels: Vec<(f64, String)>,
}

const BAR: f64 = 9.0;
const GAP: f64 = 14.0;
const LEFT: f64 = 44.0;
const PLOT: f64 = 180.0;
const TOP: f64 = 12.0;

impl Chart {
    fn of(groups: &[Group]) -> Chart {
        let max = groups
            .iter()
            .flat_map(|g| g.counts)
            .max()
            .unwrap_or(0)
            .max(1);
        let span = BAR * MEASURES.len() as f64 + GAP;
        let baseline = TOP + PLOT;
        let mut bars = vec![];
        let mut labels = vec![];
        for (i, g) in groups.iter().enumerate() {
            let x0 = LEFT + GAP / 2.0 + i as f64 * span;
            for (j, count) in g.counts.iter().enumerate() {
                let height = PLOT * *count as f64 / max as f64;
                bars.push(Bar {
                    x: x0 + j as f64 * BAR,
                    y: baseline - height,
                    height,
                    measure: MEASURES[j],
                    count: *count,
                });
            }
            labels.push((x0 + BAR * MEASURES.len() as f64 / 2.0, g.label.clone()));
        }
        Chart {
            width: (LEFT + groups.len() as f64 * span + GAP).max(320.0),
            height: baseline + 28.0,
            baseline,
            max,
            bars,
            labels,
        }
    }
}

/// One view of the figures: its title key, groups, chart and totals.
pub struct Section {
    pub id: &'static str,
    pub title: &'static str,
    pub groups: Vec<Group>,
    pub chart: Chart,
}

fn counts(r: &Row) -> [u64; 5] {
    [r.filings, r.reads, r.downloads, r.denials, r.grants]
}

/// The rows summed by `key`, in the key's order.
fn by(rows: &[Row], key: impl Fn(&Row) -> String) -> Vec<Group> {
    let mut sums: BTreeMap<String, [u64; 5]> = BTreeMap::new();
    for r in rows {
        let sum = sums.entry(key(r)).or_default();
        for (s, c) in sum.iter_mut().zip(counts(r)) {
            *s += c;
        }
    }
    sums.into_iter()
        .map(|(label, counts)| Group { label, counts })
        .collect()
}

fn section(id: &'static str, title: &'static str, groups: Vec<Group>) -> Section {
    Section {
        id,
        title,
        chart: Chart::of(&groups),
        groups,
    }
}

#[derive(Template)]
#[template(path = "stats.html")]
struct StatsPage<'a> {
    c: &'a Chrome,
    sections: Vec<Section>,
    totals: [u64; 5],
    measures: [&'static str; 5],
}

/// `GET /stats`.
pub async fn page(
    page_: Page<perm::StatsRead>,
    auditing: web::Data<Auditing>,
    documents: web::Data<Documents>,
) -> Result<HttpResponse, PageError> {
    let c = &page_.chrome;
    let stats = auditing.stats(&page_).await.or_page(c)?;
    let none = c.t("stats.none");
    let blank = |s: &str| {
        if s.is_empty() {
            none.to_string()
        } else {
            s.to_string()
        }
    };
    let scheme = documents.scheme();
    let sections = vec![
        section(
            "by-month",
            "stats.by_month",
            by(&stats.rows, |r| r.month.clone()),
        ),
        section(
            "by-branch",
            "stats.by_branch",
            by(&stats.rows, |r| blank(&r.branch)),
        ),
        section(
            "by-category",
            "stats.by_category",
            by(&stats.rows, |r| {
                if r.category.is_empty() {
                    none.to_string()
                } else {
                    c.category(scheme, &r.category)
                }
            }),
        ),
    ];
    render(&StatsPage {
        c,
        sections,
        totals: counts(&stats.totals),
        measures: MEASURES,
    })
}

/// `GET /stats/export`: the figures as CSV, one row per branch, category and
/// month (the API's `format=csv`).
pub async fn export(
    page_: Page<perm::StatsRead>,
    auditing: web::Data<Auditing>,
) -> Result<HttpResponse, PageError> {
    let stats = auditing.stats(&page_).await.or_page(&page_.chrome)?;
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            "content-disposition",
            "attachment; filename=\"statistics.csv\"",
        ))
        .body(to_csv(&stats)))
}
