//! `/requests`: asking for access (调阅) with a purpose and a duration, and the
//! status of one's own requests — `AccessRequests::request_access` and
//! `list_access`, the API's use cases (asking reveals nothing, spec §3).

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::see_other;
use crate::archive::AccessRequests;
use crate::archive::access::{AccessRequest, NewRequest};
use crate::error::{Code, Error};
use crate::web::PageError;
use crate::web::caller::{Chrome, Page, PageForm, perm};
use crate::web::render::{OrPage, render};

#[derive(Template)]
#[template(path = "requests.html")]
struct RequestsPage<'a> {
    c: &'a Chrome,
    mine: Vec<AccessRequest>,
    document: String,
    vin: String,
    sent: bool,
}

#[derive(Deserialize, Default)]
struct Query {
    document: Option<String>,
    vin: Option<String>,
    sent: Option<u8>,
}

/// `GET /requests?document=…`: the form (prefilled from a document page) and
/// the caller's own requests, newest first.
pub async fn page(
    page_: Page<perm::AccessRequest>,
    req: HttpRequest,
    access: web::Data<AccessRequests>,
) -> Result<HttpResponse, PageError> {
    let c = &page_.chrome;
    let q: Query = serde_urlencoded::from_str(req.query_string()).unwrap_or_default();
    let me = page_.principal().username.clone();
    let mut mine: Vec<AccessRequest> = access
        .list_access(&page_, None)
        .await
        .or_page(c)?
        .into_iter()
        .filter(|r| r.requester == me)
        .collect();
    mine.sort_by_key(|r| std::cmp::Reverse(r.created_at));
    render(&RequestsPage {
        c,
        mine,
        document: q.document.unwrap_or_default(),
        vin: q.vin.unwrap_or_default(),
        sent: q.sent == Some(1),
    })
}

/// `POST /requests`: `document` or `vin`, `purpose`, `days`.
pub async fn create(
    form: PageForm<perm::AccessRequest>,
    access: web::Data<AccessRequests>,
) -> Result<HttpResponse, PageError> {
    let c = &form.page.chrome;
    let days = match form.form.get("days") {
        None => None,
        Some(d) => Some(
            d.parse::<u32>()
                .map_err(|_| Error::new(Code::InvalidDays, "days: a whole number of days"))
                .or_page(c)?,
        ),
    };
    let new = NewRequest {
        document_id: form.form.get("document").map(str::to_string),
        vin: form.form.get("vin").map(str::to_string),
        purpose: form.form.get("purpose").unwrap_or("").to_string(),
        days,
        contact: None,
    };
    access.request_access(&form.page, new).await.or_page(c)?;
    Ok(see_other("/requests?sent=1"))
}
