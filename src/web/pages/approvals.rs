//! `/approvals`: a supervisor's desk for access requests (调阅审批) — the
//! queue of their branch's pending requests (never their own, spec §3) with
//! approve and reject, each with a note, and the running grants with revoke.
//! `AccessRequests::queue` and `decide`, the API's use cases, so the same
//! branch, clearance and self-decision rules and retrieval-log records apply.

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::see_other;
use crate::archive::AccessRequests;
use crate::archive::access::{AccessRequest, Status};
use crate::error::Error;
use crate::web::PageError;
use crate::web::caller::{Chrome, Page, PageForm, perm};
use crate::web::render::{OrPage, render};

#[derive(Template)]
#[template(path = "approvals.html")]
struct ApprovalsPage<'a> {
    c: &'a Chrome,
    pending: Vec<AccessRequest>,
    running: Vec<AccessRequest>,
    done: Option<&'static str>,
}

#[derive(Deserialize, Default)]
struct Query {
    done: Option<String>,
}

/// `GET /approvals`: pending requests the caller may decide, oldest first
/// (first asked, first answered), and the grants still running.
pub async fn page(
    page_: Page<perm::AccessDecide>,
    req: HttpRequest,
    access: web::Data<AccessRequests>,
) -> Result<HttpResponse, PageError> {
    let c = &page_.chrome;
    let queue = access.queue(&page_).await.or_page(c)?;
    let q: Query = serde_urlencoded::from_str(req.query_string()).unwrap_or_default();
    render(&ApprovalsPage {
        c,
        pending: queue.pending,
        running: queue.running,
        done: match q.done.as_deref() {
            Some("approve") => Some("approvals.done.approve"),
            Some("reject") => Some("approvals.done.reject"),
            Some("revoke") => Some("approvals.done.revoke"),
            _ => None,
        },
    })
}

/// `POST /approvals/{id}/{decision}`: `approve`, `reject` or `revoke`, with an
/// optional `note` (at most 1000 characters); an approval's `days` (1 to the
/// days asked).
pub async fn decide(
    form: PageForm<perm::AccessDecide>,
    path: web::Path<(String, String)>,
    access: web::Data<AccessRequests>,
) -> Result<HttpResponse, PageError> {
    let c = &form.page.chrome;
    let (id, decision) = path.into_inner();
    let to = match decision.as_str() {
        "approve" => Status::Approved,
        "reject" => Status::Rejected,
        "revoke" => Status::Revoked,
        _ => return Err(PageError::failed(Error::not_found("decision"), c)),
    };
    let note = form.form.get("note").map(str::to_string);
    let days = match form.form.get("days") {
        None => None,
        Some(d) => Some(
            d.parse::<u32>()
                .map_err(|_| {
                    Error::new(
                        crate::error::Code::InvalidDays,
                        "days: a whole number of days",
                    )
                })
                .or_page(c)?,
        ),
    };
    access
        .decide(&form.page, &id, to, note, days)
        .await
        .or_page(c)?;
    Ok(see_other(&format!("/approvals?done={decision}")))
}
