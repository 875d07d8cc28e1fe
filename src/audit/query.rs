//! Reading the retrieval log for auditors: the filter, paged reads and the CSV
//! export (cells a spreadsheet would run are neutralised). The use cases that
//! record each question are `archive::auditing`.

use std::io::BufRead;
use std::path::Path;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Value, json};

use super::Outcome;

/// Largest page of events in one answer.
pub const MAX_PAGE: usize = 10_000;

/// An RFC 3339 time, or a day of the archive's calendar: from its first
/// instant, or to its last nanosecond (spec §2). `name` is the parameter's,
/// for the error (`invalid_query`, 400).
pub fn day_bound(
    raw: &Option<String>,
    end_of_day: bool,
    name: &str,
    calendar: crate::domain::calendar::Calendar,
) -> crate::error::Result<Option<DateTime<Utc>>> {
    let Some(raw) = raw else { return Ok(None) };
    if let Ok(t) = raw.parse::<DateTime<Utc>>() {
        return Ok(Some(t));
    }
    let date = raw.parse::<chrono::NaiveDate>().map_err(|_| {
        crate::error::Error::new(
            crate::error::Code::InvalidQuery,
            format!("{name}: expected a date (2026-03-01) or an RFC 3339 time"),
        )
    })?;
    // `to` includes its whole day, to the last nanosecond (records carry them).
    Ok(Some(if end_of_day {
        calendar.end_of(date)
    } else {
        calendar.start_of(date)
    }))
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct EventFilter {
    pub user: Option<String>,
    /// A document id or archive number.
    pub document: Option<String>,
    pub vin: Option<String>,
    pub action: Option<String>,
    pub outcome: Option<Outcome>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    /// Only records after this sequence number.
    pub cursor: Option<u64>,
    pub limit: usize,
}

#[derive(Debug, Serialize)]
pub struct EventPage {
    pub events: Vec<Value>,
    pub next_cursor: Option<u64>,
}

fn matches(f: &EventFilter, e: &Value) -> bool {
    let is = |key: &str, want: &Option<String>| {
        want.as_ref()
            .is_none_or(|w| e[key].as_str() == Some(w.as_str()))
    };
    let doc = f
        .document
        .as_ref()
        .is_none_or(|d| e["document"].as_str() == Some(d) || e["archive_no"].as_str() == Some(d));
    let outcome = f.outcome.is_none_or(|o| e["outcome"] == json!(o));
    let time = e["time"]
        .as_str()
        .and_then(|t| t.parse::<DateTime<Utc>>().ok());
    let in_range = f.from.is_none_or(|from| time.is_some_and(|t| t >= from))
        && f.to.is_none_or(|to| time.is_some_and(|t| t <= to));
    is("user", &f.user)
        && is("vin", &f.vin)
        && is("action", &f.action)
        && doc
        && outcome
        && in_range
}

/// Reads the records matching `filter`, in order, one page at a time.
pub fn read_events(path: &Path, filter: &EventFilter) -> std::io::Result<EventPage> {
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(EventPage {
                events: vec![],
                next_cursor: None,
            });
        }
        Err(e) => return Err(e),
    };
    let after = filter.cursor.unwrap_or(0);
    let mut events = Vec::new();
    let mut next_cursor = None;
    for line in std::io::BufReader::new(file).lines() {
        let line = line?;
        let Ok(e) = serde_json::from_str::<Value>(&line) else {
            continue;
        };
        let seq = e["seq"].as_u64().unwrap_or(0);
        if seq <= after || !matches(filter, &e) {
            continue;
        }
        if events.len() == filter.limit {
            next_cursor = events.last().and_then(|l: &Value| l["seq"].as_u64());
            break;
        }
        events.push(e);
    }
    Ok(EventPage {
        events,
        next_cursor,
    })
}

const CSV_COLUMNS: [&str; 15] = [
    "seq",
    "time",
    "user",
    "roles",
    "branch",
    "client",
    "action",
    "outcome",
    "document",
    "archive_no",
    "vin",
    "purpose",
    "request_id",
    "detail",
    "hash",
];

/// A cell a spreadsheet would take for a formula (`=`, `+`, `-`, `@`, tab or
/// carriage return first) gets a leading `'`, which spreadsheets show as text
/// (OWASP, "CSV Injection"; spec §4).
pub fn neutralise(cell: String) -> String {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{cell}")
    } else {
        cell
    }
}

/// The page as CSV, one record per row; lists and details as JSON text; every
/// cell safe to open in a spreadsheet ([`neutralise`]).
pub fn to_csv(page: &EventPage) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(CSV_COLUMNS).expect("writing to memory");
    for e in &page.events {
        let row = CSV_COLUMNS.map(|c| {
            neutralise(match &e[c] {
                Value::Null => String::new(),
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
        });
        w.write_record(&row).expect("writing to memory");
    }
    w.into_inner().expect("writing to memory")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_what_needs_quoting() {
        let page = EventPage {
            events: vec![
                json!({"seq": 1, "user": "a,b", "detail": {"q": "\"x\""}, "roles": ["staff"]}),
            ],
            next_cursor: None,
        };
        let text = String::from_utf8(to_csv(&page)).unwrap();
        assert!(text.starts_with("seq,time,user"));
        assert!(text.contains("\"a,b\""), "{text}");
        assert!(text.contains("\"[\"\"staff\"\"]\""), "{text}");
    }

    #[test]
    fn csv_cells_that_a_spreadsheet_would_run_are_neutralised() {
        let page = EventPage {
            events: vec![json!({
                "seq": 1,
                "user": "=HYPERLINK(\"http://x\",\"y\")",
                "purpose": "+1 保养",
                "action": "-x",
                "client": "@SUM(A1)",
                "archive_no": "\tTAB",
                "vin": "\rCR",
            })],
            next_cursor: None,
        };
        let rows: Vec<csv::StringRecord> = csv::Reader::from_reader(&to_csv(&page)[..])
            .records()
            .map(Result::unwrap)
            .collect();
        for cell in rows[0].iter().filter(|c| !c.is_empty()) {
            assert!(
                !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
                "{cell:?}"
            );
        }
        assert_eq!(&rows[0][2], "'=HYPERLINK(\"http://x\",\"y\")");
    }
}
