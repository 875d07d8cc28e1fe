//! The import's receipt (移交接收记录, spec §10): `receipt.csv` with the columns
//! `file,status,archive_no,sha256,reason`, one row per manifest row, and
//! `receipt.pdf`, the same to print and sign, with the totals and the ingest
//! checks summarised (counts per check and outcome).

use std::collections::BTreeMap;
use std::path::Path;

use crate::domain::ingest::{CHECKS, CheckReport, Status};
use crate::printing::{LEADING, MARGIN, PAGE_W, Page, SIZE, render, wrap};

/// A row's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Outcome {
    Filed,
    AlreadyFiled,
    Refused,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Filed => "filed",
            Outcome::AlreadyFiled => "already_filed",
            Outcome::Refused => "refused",
        }
    }
}

/// One receipt row.
#[derive(Debug, Clone)]
pub struct Entry {
    pub file: String,
    pub status: Outcome,
    pub archive_no: String,
    pub sha256: String,
    pub reason: String,
    /// The ingest checks of the version filed (or found filed).
    pub checks: Option<CheckReport>,
}

/// Counts per check and outcome, over the rows that have a report.
pub fn check_counts(entries: &[Entry]) -> BTreeMap<(&'static str, Status), usize> {
    let mut counts = BTreeMap::new();
    for r in entries.iter().filter_map(|e| e.checks.as_ref()) {
        for (name, check) in r.each() {
            *counts.entry((name, check.status)).or_insert(0) += 1;
        }
    }
    counts
}

/// One line per check: `authenticity: 198 pass, 2 warn, 0 fail`.
pub fn check_summary(entries: &[Entry]) -> Vec<String> {
    let counts = check_counts(entries);
    CHECKS
        .iter()
        .map(|name| {
            let n = |s| counts.get(&(*name, s)).copied().unwrap_or(0);
            format!(
                "{name}: {} pass, {} warn, {} fail",
                n(Status::Pass),
                n(Status::Warn),
                n(Status::Fail)
            )
        })
        .collect()
}

/// Writes `receipt.csv` and `receipt.pdf` into `dir`.
///
/// # Errors
/// The folder cannot be written.
pub fn write(dir: &Path, entries: &[Entry], title: &str) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let mut w = csv::Writer::from_path(dir.join("receipt.csv"))?;
    w.write_record(["file", "status", "archive_no", "sha256", "reason"])?;
    for e in entries {
        w.write_record([
            e.file.as_str(),
            e.status.as_str(),
            &e.archive_no,
            &e.sha256,
            &e.reason,
        ])?;
    }
    w.flush()?;
    std::fs::write(dir.join("receipt.pdf"), to_pdf(entries, title))
}

/// Column x offsets of the receipt's table.
const COLUMNS: [(f32, &str); 4] = [
    (0.0, "序号"),
    (30.0, "文件 file"),
    (250.0, "状态 status"),
    (330.0, "档号 archive_no"),
];

fn table_header(page: &mut Page) {
    for (x, title) in COLUMNS {
        page.text(MARGIN + x, SIZE, title);
    }
    page.y -= LEADING;
    page.rule();
}

fn status_zh(s: Outcome) -> &'static str {
    match s {
        Outcome::Filed => "已归档",
        Outcome::AlreadyFiled => "此前已归档",
        Outcome::Refused => "拒收",
    }
}

/// The printable receipt: totals, the checks' summary, every row (a refused
/// row with its reason under it), and lines to sign.
pub fn to_pdf(entries: &[Entry], title: &str) -> Vec<u8> {
    let count = |s| entries.iter().filter(|e| e.status == s).count();
    let mut pages = vec![];
    let mut page = Page::new();
    page.text(MARGIN, 18.0, "档案移交接收记录 (import receipt)");
    page.y -= 30.0;
    let max_em = (PAGE_W - 2.0 * MARGIN) / SIZE;
    for l in wrap(title, max_em) {
        page.line(&l);
    }
    page.line(&format!(
        "共 {} 件: 已归档 filed {}, 此前已归档 already_filed {}, 拒收 refused {}",
        entries.len(),
        count(Outcome::Filed),
        count(Outcome::AlreadyFiled),
        count(Outcome::Refused)
    ));
    page.line("四性检测 ingest checks:");
    for l in check_summary(entries) {
        page.line(&format!("    {l}"));
    }
    page.y -= LEADING / 2.0;
    table_header(&mut page);
    let name_em = (COLUMNS[2].0 - COLUMNS[1].0) / SIZE - 1.0;
    for (n, e) in entries.iter().enumerate() {
        let reason = if e.reason.is_empty() {
            vec![]
        } else {
            wrap(&e.reason, max_em - 3.0)
        };
        if page.y < MARGIN + (3 + reason.len().min(4)) as f32 * LEADING {
            pages.push(std::mem::take(&mut page));
            table_header(&mut page);
        }
        let name = wrap(&e.file, name_em)
            .into_iter()
            .next()
            .unwrap_or_default();
        let cells = [
            (n + 1).to_string(),
            name,
            status_zh(e.status).to_string(),
            e.archive_no.clone(),
        ];
        for ((x, _), cell) in COLUMNS.iter().zip(cells) {
            page.text(MARGIN + x, SIZE, &cell);
        }
        page.y -= LEADING;
        for l in reason.iter().take(4) {
            page.text(MARGIN + 30.0, SIZE - 2.0, l);
            page.y -= LEADING * 0.8;
        }
    }
    if page.y < MARGIN + 3.0 * LEADING {
        pages.push(std::mem::take(&mut page));
    }
    page.y -= LEADING;
    page.line("移交人签字:________________    接收人签字:________________");
    pages.push(page);
    render(pages)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(file: &str, status: Outcome) -> Entry {
        Entry {
            file: file.into(),
            status,
            archive_no: "BJ01-WX-2026-000001".into(),
            sha256: "ab".into(),
            reason: if status == Outcome::Refused {
                "row 3, column vehicle.vin: check digit".into()
            } else {
                String::new()
            },
            checks: None,
        }
    }

    #[test]
    fn the_receipt_lists_every_row_in_csv_and_pdf() {
        let dir = tempfile::tempdir().unwrap();
        let entries: Vec<Entry> = (0..120)
            .map(|i| {
                entry(
                    &format!("委托书-{i}.pdf"),
                    if i % 10 == 0 {
                        Outcome::Refused
                    } else {
                        Outcome::Filed
                    },
                )
            })
            .collect();
        write(dir.path(), &entries, "来源 DIR").unwrap();
        let mut csv = csv::Reader::from_path(dir.path().join("receipt.csv")).unwrap();
        assert_eq!(
            csv.headers().unwrap(),
            vec!["file", "status", "archive_no", "sha256", "reason"]
        );
        let rows: Vec<_> = csv.records().map(Result::unwrap).collect();
        assert_eq!(rows.len(), 120);
        assert_eq!(&rows[10][1], "refused");
        let pdf = std::fs::read(dir.path().join("receipt.pdf")).unwrap();
        let doc = lopdf::Document::load_mem(&pdf).unwrap();
        assert!(doc.get_pages().len() >= 3, "120 rows take several pages");
    }
}
