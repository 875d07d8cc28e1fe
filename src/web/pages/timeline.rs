//! A vehicle's (一车一档, by VIN) and a customer's (by phone) history as a
//! timeline, newest first: `Documents::vehicle_documents` and
//! `Search::search`, the API's use cases, so only what the caller may see.

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::api::search::{SearchParams, parse};
use crate::archive::{Documents, Search};
use crate::domain::pii::Phone;
use crate::error::{Code, Error};
use crate::index::Sort;
use crate::web::PageError;
use crate::web::caller::{Chrome, Page, perm};
use crate::web::render::{OrPage, render};

/// One entry of a timeline.
pub struct Entry {
    pub id: String,
    pub archive_no: String,
    pub date: String,
    pub title: String,
    pub category: String,
    pub branch: String,
}

#[derive(Template)]
#[template(path = "timeline.html")]
struct Timeline<'a> {
    c: &'a Chrome,
    /// `timeline.vehicle` or `timeline.customer`.
    heading: &'static str,
    /// The VIN, or the customer's phone masked.
    subject: String,
    entries: Vec<Entry>,
    /// The phone form (customer page).
    ask_phone: bool,
}

/// `GET /vehicles/{vin}`.
pub async fn vehicle(
    page_: Page<perm::DocumentsRead>,
    documents: web::Data<Documents>,
    vin: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let c = &page_.chrome;
    let docs = documents.vehicle_documents(&page_, &vin).await.or_page(c)?;
    let entries = docs
        .into_iter()
        .map(|d| {
            let date = d
                .service_date
                .unwrap_or_else(|| d.filed_at.date_naive())
                .to_string();
            Entry {
                date,
                category: c.category(documents.scheme(), &d.category),
                id: d.id,
                archive_no: d.archive_no,
                title: d.title,
                branch: d.branch,
            }
        })
        .collect();
    render(&Timeline {
        c,
        heading: "timeline.vehicle",
        subject: vin.trim().to_ascii_uppercase(),
        entries,
        ask_phone: false,
    })
}

#[derive(Deserialize)]
struct PhoneQuery {
    phone: Option<String>,
}

/// `GET /customers?phone=…`: the documents whose customer has that phone.
pub async fn customer(
    page_: Page<perm::DocumentsRead>,
    req: HttpRequest,
    search: web::Data<Search>,
) -> Result<HttpResponse, PageError> {
    let c = &page_.chrome;
    let phone = serde_urlencoded::from_str::<PhoneQuery>(req.query_string())
        .ok()
        .and_then(|q| q.phone)
        .filter(|p| !p.trim().is_empty());
    let Some(raw) = phone else {
        return render(&Timeline {
            c,
            heading: "timeline.customer",
            subject: String::new(),
            entries: vec![],
            ask_phone: true,
        });
    };
    let phone = Phone::parse(&raw)
        .map_err(|e| Error::new(Code::InvalidQuery, format!("customer.phone: {e}")))
        .or_page(c)?;
    let mut request = parse(
        SearchParams {
            q: Some(phone.as_str().to_string()),
            per_page: Some(100),
            sort: Some("date".into()),
            ..Default::default()
        },
        &search,
    )
    .or_page(c)?;
    request.sort = Sort::Date;
    let results = search.search(&page_, request).await.or_page(c)?;
    let entries = results
        .hits
        .into_iter()
        .map(|h| Entry {
            date: h.service_date.clone(),
            category: c.category(search.scheme(), &h.category),
            id: h.id,
            archive_no: h.archive_no,
            title: h.title,
            branch: h.branch,
        })
        .collect();
    render(&Timeline {
        c,
        heading: "timeline.customer",
        subject: phone.masked(),
        entries,
        ask_phone: true,
    })
}
