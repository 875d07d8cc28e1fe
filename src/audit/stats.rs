//! Statistics of the retrieval log (spec §9, the auditor's statistics): how
//! many filings, reads, downloads, denials and grants per branch, category
//! and month, counted from the log itself, so every figure can be traced to
//! its records.
//!
//! What each column counts:
//! - `filings`: `document.file`, allowed;
//! - `reads`: `document.view`, allowed (a document's metadata shown);
//! - `downloads`: `document.content`, allowed;
//! - `denials`: any record refused (`outcome: denied`);
//! - `grants`: `access.approve`, allowed (an access grant 调阅 issued).
//!
//! A record is placed by the archive number it names: the branch and category
//! the document was filed under, which never change (a document a correction
//! moved to another branch keeps counting under the branch of its number). One
//! that names none (a refused search, a grant for a whole vehicle) is placed by
//! the caller's branch with an empty category, and one of no known caller (a
//! refused token, a failed login) under an empty branch, which only the
//! all-branch view shows. The month is the record's time in the archive's
//! calendar (spec §2).

use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::Path;

use serde::Serialize;
use serde_json::Value;

use crate::domain::calendar::Calendar;
use crate::domain::{ArchiveNo, Branch};

/// One row: the counts of one branch, category and month.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Row {
    pub branch: String,
    /// The category code; empty for records that name no document.
    pub category: String,
    /// `YYYY-MM` in the archive's calendar.
    pub month: String,
    pub filings: u64,
    pub reads: u64,
    pub downloads: u64,
    pub denials: u64,
    pub grants: u64,
}

/// Every row, sorted by branch, category and month, and their totals.
#[derive(Debug, Clone, Serialize)]
pub struct Stats {
    pub rows: Vec<Row>,
    pub totals: Row,
}

/// Counts the log at `path`, keeping only rows whose branch `scope` covers
/// (`None`: every branch). Lines that are not records are skipped, as the
/// verifier reports them.
pub fn tally(path: &Path, calendar: Calendar, scope: Option<&Branch>) -> std::io::Result<Stats> {
    let mut rows: BTreeMap<(String, String, String), Row> = BTreeMap::new();
    let file = match std::fs::File::open(path) {
        Ok(f) => Some(f),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e),
    };
    for line in file
        .into_iter()
        .flat_map(|f| std::io::BufReader::new(f).lines())
    {
        let Ok(record) = serde_json::from_str::<Value>(&line?) else {
            continue;
        };
        let Some(column) = column(&record) else {
            continue;
        };
        let (branch, category) = place(&record);
        if let Some(scope) = scope
            && !Branch::parse(&branch).is_ok_and(|b| scope.covers(&b))
        {
            continue;
        }
        let Some(time) = record["time"]
            .as_str()
            .and_then(|t| t.parse::<chrono::DateTime<chrono::Utc>>().ok())
        else {
            continue;
        };
        let month = calendar.day_of(time).format("%Y-%m").to_string();
        let key = (branch, category, month);
        let row = rows.entry(key.clone()).or_insert_with(|| Row {
            branch: key.0,
            category: key.1,
            month: key.2,
            ..Row::default()
        });
        *column(row) += 1;
    }
    let rows: Vec<Row> = rows.into_values().collect();
    let mut totals = Row::default();
    for r in &rows {
        totals.filings += r.filings;
        totals.reads += r.reads;
        totals.downloads += r.downloads;
        totals.denials += r.denials;
        totals.grants += r.grants;
    }
    Ok(Stats { rows, totals })
}

/// Which count a record adds to, if any.
fn column(record: &Value) -> Option<fn(&mut Row) -> &mut u64> {
    let outcome = record["outcome"].as_str()?;
    if outcome == "denied" {
        return Some(|r| &mut r.denials);
    }
    if outcome != "allowed" {
        return None;
    }
    match record["action"].as_str()? {
        "document.file" => Some(|r| &mut r.filings),
        "document.view" => Some(|r| &mut r.reads),
        "document.content" => Some(|r| &mut r.downloads),
        "access.approve" => Some(|r| &mut r.grants),
        _ => None,
    }
}

/// The branch and category a record counts under (see the module docs).
fn place(record: &Value) -> (String, String) {
    match record["archive_no"]
        .as_str()
        .and_then(|a| ArchiveNo::parse(a).ok())
    {
        Some(no) => (no.branch.as_str().to_string(), no.category),
        None => (
            record["branch"].as_str().unwrap_or_default().to_string(),
            String::new(),
        ),
    }
}

/// The rows as CSV (`branch,category,month,filings,reads,downloads,denials,grants`).
pub fn to_csv(stats: &Stats) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(vec![]);
    for r in &stats.rows {
        w.serialize(r).expect("writing to memory");
    }
    w.into_inner().expect("writing to memory")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(action: &str, outcome: &str, archive_no: Option<&str>, time: &str) -> String {
        serde_json::json!({"action": action, "outcome": outcome, "archive_no": archive_no,
            "branch": "SH01", "time": time})
        .to_string()
    }

    #[test]
    fn records_are_counted_by_branch_category_and_local_month() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        let lines = [
            line(
                "document.file",
                "allowed",
                Some("BJ01-WX-2026-000001"),
                "2026-01-31T16:30:00Z",
            ),
            line(
                "document.view",
                "allowed",
                Some("BJ01-WX-2026-000001"),
                "2026-01-31T10:00:00Z",
            ),
            line(
                "document.content",
                "allowed",
                Some("BJ01-WX-2026-000001"),
                "2026-02-01T00:00:00Z",
            ),
            line(
                "document.view",
                "denied",
                Some("BJ01-WX-2026-000001"),
                "2026-02-01T00:00:00Z",
            ),
            line("search", "denied", None, "2026-02-01T00:00:00Z"),
            line(
                "document.file",
                "error",
                Some("BJ01-WX-2026-000002"),
                "2026-02-01T00:00:00Z",
            ),
            line("search", "allowed", None, "2026-02-01T00:00:00Z"),
            serde_json::json!({"action": "auth.token_refused", "outcome": "denied",
                "time": "2026-02-01T00:00:00Z"})
            .to_string(),
            "not a record".to_string(),
        ];
        std::fs::write(&path, lines.join("\n")).unwrap();
        let shanghai = Calendar::parse("Asia/Shanghai").unwrap();
        let all = tally(&path, shanghai, None).unwrap();
        let got: Vec<_> = all
            .rows
            .iter()
            .map(|r| {
                (
                    r.branch.as_str(),
                    r.category.as_str(),
                    r.month.as_str(),
                    r.filings,
                    r.reads,
                    r.downloads,
                    r.denials,
                )
            })
            .collect();
        // 16:30 UTC on 31 January is 00:30 on 1 February in Shanghai.
        assert_eq!(
            got,
            [
                ("", "", "2026-02", 0, 0, 0, 1),
                ("BJ01", "WX", "2026-01", 0, 1, 0, 0),
                ("BJ01", "WX", "2026-02", 1, 0, 1, 1),
                ("SH01", "", "2026-02", 0, 0, 0, 1),
            ]
        );
        assert_eq!((all.totals.filings, all.totals.denials), (1, 3));
        // Records of no known caller show only in the all-branch view.
        let sh = tally(&path, shanghai, Some(&Branch::parse("SH01").unwrap())).unwrap();
        assert_eq!(sh.rows.len(), 1);
        assert_eq!(sh.rows[0].branch, "SH01");
    }
}
