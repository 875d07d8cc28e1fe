//! `/audit`: the auditor's desk — the retrieval log as a filterable, paged
//! table whose records open to their every field, the CSV export of the
//! filter shown (cells a spreadsheet would run neutralised), and the anchored
//! verification with its report (spec §4). Each is `Auditing::events` or
//! `verify`, the API's use cases, and so is itself recorded.

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;
use serde_json::Value;

use crate::archive::auditing::Auditing;
use crate::audit::query::day_bound;
use crate::audit::query::{EventFilter, MAX_PAGE, to_csv};
use crate::audit::{Outcome, VerifyReport};
use crate::error::{Code, Error};
use crate::web::PageError;
use crate::web::caller::{Chrome, Page, PageForm, perm};
use crate::web::render::{Explained, OrPage, explain, render, render_with, urlencode};

/// Records per page of the table.
const PER_PAGE: usize = 50;

/// The filter form's fields, as the query string carries them.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct Query {
    #[serde(default)]
    user: String,
    #[serde(default)]
    document: String,
    #[serde(default)]
    vin: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    outcome: String,
    /// Days of the archive's calendar, `YYYY-MM-DD`.
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    cursor: Option<u64>,
}

fn some(s: &str) -> Option<String> {
    Some(s.trim().to_string()).filter(|s| !s.is_empty())
}

impl Query {
    /// The use case's filter: `limit` records after the cursor.
    fn filter(&self, auditing: &Auditing, limit: usize) -> Result<EventFilter, Error> {
        let outcome = match self.outcome.as_str() {
            "" => None,
            "allowed" => Some(Outcome::Allowed),
            "denied" => Some(Outcome::Denied),
            "error" => Some(Outcome::Error),
            _ => {
                return Err(Error::new(
                    Code::InvalidQuery,
                    "outcome: allowed, denied or error",
                ));
            }
        };
        let calendar = auditing.calendar();
        Ok(EventFilter {
            user: some(&self.user),
            document: some(&self.document),
            vin: some(&self.vin).map(|v| v.to_ascii_uppercase()),
            action: some(&self.action),
            outcome,
            from: day_bound(&some(&self.from), false, "from", calendar)?,
            to: day_bound(&some(&self.to), true, "to", calendar)?,
            cursor: self.cursor,
            limit,
        })
    }

    /// The query string of this filter, without the cursor.
    fn params(&self) -> String {
        [
            ("user", &self.user),
            ("document", &self.document),
            ("vin", &self.vin),
            ("action", &self.action),
            ("outcome", &self.outcome),
            ("from", &self.from),
            ("to", &self.to),
        ]
        .iter()
        .filter(|(_, v)| !v.trim().is_empty())
        .map(|(k, v)| format!("{k}={}", urlencode(v.trim())))
        .collect::<Vec<_>>()
        .join("&")
    }
}

/// One record as a table row, and all its fields for the expanded view.
pub struct Row {
    pub seq: u64,
    pub time: String,
    pub user: String,
    pub action: String,
    pub outcome: String,
    pub target: String,
    pub vin: String,
    pub fields: Vec<(String, String)>,
}

fn row(e: &Value, c: &Chrome) -> Row {
    let text = |k: &str| e[k].as_str().unwrap_or_default().to_string();
    let time = e["time"]
        .as_str()
        .and_then(|t| t.parse::<chrono::DateTime<chrono::Utc>>().ok())
        .map_or_else(|| text("time"), |t| c.calendar.local_second(t));
    let fields = e
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(_, v)| !v.is_null())
        .map(|(k, v)| {
            let shown = match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            (k.clone(), shown)
        })
        .collect();
    Row {
        seq: e["seq"].as_u64().unwrap_or_default(),
        time,
        user: text("user"),
        action: text("action"),
        outcome: text("outcome"),
        target: e["archive_no"]
            .as_str()
            .or(e["document"].as_str())
            .unwrap_or_default()
            .to_string(),
        vin: text("vin"),
        fields,
    }
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage<'a> {
    c: &'a Chrome,
    q: Query,
    rows: Vec<Row>,
    /// The filter's query string (for the export link and the pager).
    params: String,
    next: Option<String>,
    paged: bool,
    error: Option<Explained>,
}

/// `GET /audit?user=…&document=…&vin=…&action=…&outcome=…&from=…&to=…&cursor=…`:
/// fifty records at a time, oldest first, from the cursor on.
pub async fn page(
    page_: Page<perm::AuditRead>,
    req: HttpRequest,
    auditing: web::Data<Auditing>,
) -> Result<HttpResponse, PageError> {
    let c = &page_.chrome;
    let (q, filter) = match parse(req.query_string(), &auditing, PER_PAGE) {
        Ok((q, f)) => (q, Ok(f)),
        Err(e) => (Query::default(), Err(e)),
    };
    let params = q.params();
    let status = filter
        .as_ref()
        .map_or_else(|e| e.kind.status(), |_| actix_web::http::StatusCode::OK);
    let (rows, next, error) = match filter {
        Err(e) => (vec![], None, Some(explain(&e, c.lang))),
        Ok(filter) => {
            let found = auditing.events(&page_, filter).await.or_page(c)?;
            let next = found.next_cursor.map(|n| {
                let sep = if params.is_empty() { "" } else { "&" };
                format!("/audit?{params}{sep}cursor={n}")
            });
            (found.events.iter().map(|e| row(e, c)).collect(), next, None)
        }
    };
    render_with(
        status,
        &AuditPage {
            c,
            paged: q.cursor.is_some(),
            q,
            rows,
            params,
            next,
            error,
        },
    )
}

/// The filter a query string asks for; a query that cannot be read (a
/// cursor that is not a number, say) is refused, never read as no filter.
fn parse(raw: &str, auditing: &Auditing, limit: usize) -> Result<(Query, EventFilter), Error> {
    let q: Query = serde_urlencoded::from_str(raw)
        .map_err(|e| Error::new(Code::InvalidQuery, format!("the filter: {e}")))?;
    let filter = q.filter(auditing, limit)?;
    Ok((q, filter))
}

/// `GET /audit/export?…`: the records of the filter shown, as CSV (at most
/// 10 000 from the cursor; `X-Next-Cursor` says where more begin).
pub async fn export(
    page_: Page<perm::AuditRead>,
    req: HttpRequest,
    auditing: web::Data<Auditing>,
) -> Result<HttpResponse, PageError> {
    let c = &page_.chrome;
    let (_, filter) = parse(req.query_string(), &auditing, MAX_PAGE).or_page(c)?;
    let found = auditing.events(&page_, filter).await.or_page(c)?;
    let mut response = HttpResponse::Ok();
    if let Some(next) = found.next_cursor {
        response.insert_header(("x-next-cursor", next.to_string()));
    }
    Ok(response
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            "content-disposition",
            "attachment; filename=\"retrieval-log.csv\"",
        ))
        .body(to_csv(&found)))
}

#[derive(Template)]
#[template(path = "verify.html")]
struct VerifyPage<'a> {
    c: &'a Chrome,
    report: Option<VerifyReport>,
}

/// `GET /audit/verify`: the button (verifying seals a checkpoint first, so
/// it is a form post, not a link).
pub async fn verify_form(page_: Page<perm::AuditRead>) -> Result<HttpResponse, PageError> {
    render(&VerifyPage {
        c: &page_.chrome,
        report: None,
    })
}

/// `POST /audit/verify`: seals, verifies the log against every signed
/// checkpoint, and shows the report.
pub async fn verify(
    form: PageForm<perm::AuditRead>,
    auditing: web::Data<Auditing>,
) -> Result<HttpResponse, PageError> {
    let c = &form.page.chrome;
    let report = auditing.verify(&form.page, None).await.or_page(c)?;
    render(&VerifyPage {
        c,
        report: Some(report),
    })
}
