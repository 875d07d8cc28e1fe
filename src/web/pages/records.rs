//! The records desks (spec §5, §9): the clerk's retention due list with the
//! disposal proposal, the supervisor's legal holds (set, lift, the held list),
//! the disposal batches awaiting a second person's approval with every
//! document listed, and the register (销毁清册) with its PDF certificate.
//! `Records::{retention_due, propose_disposal, legal_hold, legal_holds,
//! list_disposals, disposal, approve_disposal, reject_disposal}`: the API's
//! use cases, with their rules (两人监销, a hold blocks disposal) and records.

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use super::see_other;
use crate::archive::Records;
use crate::archive::records::disposal::{Disposal, DisposalStatus, Proposal};
use crate::archive::records::listing::HeldDocument;
use crate::archive::records::register;
use crate::archive::records::retention::HoldRequest;
use crate::archive::views::DocumentSummary;
use crate::auth::Action;
use crate::web::PageError;
use crate::web::caller::{Chrome, Page, PageForm, perm};
use crate::web::render::{Explained, OrPage, explain, is_input, render, render_with, urlencode};

#[derive(Template)]
#[template(path = "retention.html")]
struct RetentionPage<'a> {
    c: &'a Chrome,
    due: Vec<DocumentSummary>,
    /// Whether the caller may propose (clerks; supervisors only read the list).
    may_propose: bool,
    error: Option<Explained>,
}

/// `GET /retention`: the records past retention and not on hold, oldest
/// first, each with a box to include it in a disposal proposal.
pub async fn retention(
    page_: Page<perm::RetentionRead>,
    req: HttpRequest,
    records: web::Data<Records>,
) -> Result<HttpResponse, PageError> {
    let c = &page_.chrome;
    let due = records.retention_due(&page_, None).await.or_page(c)?;
    render(&RetentionPage {
        c,
        due,
        may_propose: page_.may(&req, Action::DisposalsPropose),
        error: None,
    })
}

/// `POST /disposals`: `documents` (repeated ids) and `reason`. A refusal (a
/// document put on hold meanwhile, a reason missing) is shown above the list.
pub async fn propose(
    form: PageForm<perm::DisposalsPropose>,
    req: HttpRequest,
    records: web::Data<Records>,
) -> Result<HttpResponse, PageError> {
    let c = &form.page.chrome;
    let proposal = Proposal {
        document_ids: form
            .form
            .all("documents")
            .iter()
            .map(|d| d.to_string())
            .collect(),
        reason: form.form.get("reason").unwrap_or_default().to_string(),
    };
    match records.propose_disposal(&form.page, proposal).await {
        Ok(d) => Ok(see_other(&format!("/disposals/{}", d.id))),
        Err(e) if is_input(&e) => {
            let status = e.kind.status();
            let reader = form.page.also::<perm::RetentionRead>(&req).await?;
            let due = records.retention_due(&reader, None).await.or_page(c)?;
            render_with(
                status,
                &RetentionPage {
                    c,
                    due,
                    may_propose: true,
                    error: Some(explain(&e, c.lang)),
                },
            )
        }
        Err(e) => Err(PageError::failed(e, c)),
    }
}

#[derive(Template)]
#[template(path = "holds.html")]
struct HoldsPage<'a> {
    c: &'a Chrome,
    held: Vec<HeldDocument>,
    document: String,
    error: Option<Explained>,
    done: bool,
}

async fn holds_page(
    page_: &Page<perm::DocumentsHold>,
    records: &Records,
    document: String,
    refused: Option<&crate::error::Error>,
    done: bool,
) -> Result<HttpResponse, PageError> {
    let c = &page_.chrome;
    let held = records.legal_holds(page_).await.or_page(c)?;
    let status = refused.map_or(actix_web::http::StatusCode::OK, |e| e.kind.status());
    let error = refused.map(|e| explain(e, c.lang));
    render_with(
        status,
        &HoldsPage {
            c,
            held,
            document,
            error,
            done,
        },
    )
}

/// `GET /holds[?document=…]`: the documents on hold, and the form to set one.
pub async fn holds(
    page_: Page<perm::DocumentsHold>,
    req: HttpRequest,
    records: web::Data<Records>,
) -> Result<HttpResponse, PageError> {
    let q = web::Query::<std::collections::HashMap<String, String>>::from_query(req.query_string())
        .map(|q| q.into_inner())
        .unwrap_or_default();
    let document = q.get("document").cloned().unwrap_or_default();
    holds_page(&page_, &records, document, None, q.contains_key("done")).await
}

/// `POST /holds`: `document`, `hold` (`1` to set, `0` to lift), `reason`.
pub async fn hold(
    form: PageForm<perm::DocumentsHold>,
    records: web::Data<Records>,
) -> Result<HttpResponse, PageError> {
    let c = &form.page.chrome;
    let document = form.form.get("document").unwrap_or_default().to_string();
    let hold = match form.form.get("hold") {
        Some("1") => true,
        Some("0") => false,
        _ => {
            let e = crate::error::Error::new(
                crate::error::Code::InvalidBody,
                "hold: 1 to set a hold, 0 to lift it",
            );
            return Err(PageError::failed(e, c));
        }
    };
    let request = HoldRequest {
        hold,
        reason: form.form.get("reason").unwrap_or_default().to_string(),
    };
    match records.legal_hold(&form.page, &document, request).await {
        Ok(_) => Ok(see_other("/holds?done=1")),
        Err(e) if is_input(&e) => holds_page(&form.page, &records, document, Some(&e), false).await,
        Err(e) => Err(PageError::failed(e, c)),
    }
}

#[derive(Template)]
#[template(path = "disposals.html")]
struct DisposalsPage<'a> {
    c: &'a Chrome,
    proposed: Vec<Disposal>,
    decided: Vec<Disposal>,
}

/// `GET /disposals`: the batches awaiting approval, then the register.
pub async fn disposals(
    page_: Page<perm::DisposalsRead>,
    records: web::Data<Records>,
) -> Result<HttpResponse, PageError> {
    let c = &page_.chrome;
    let (proposed, decided) = records
        .list_disposals(&page_, None)
        .await
        .or_page(c)?
        .into_iter()
        .partition(|d| d.status == DisposalStatus::Proposed);
    render(&DisposalsPage {
        c,
        proposed,
        decided,
    })
}

#[derive(Template)]
#[template(path = "disposal.html")]
struct DisposalPage<'a> {
    c: &'a Chrome,
    d: Disposal,
    /// Whether the caller may decide (a supervisor who did not propose it).
    may_decide: bool,
    /// Still awaiting a decision.
    open: bool,
    status: &'static str,
}

/// `GET /disposals/{id}`: one batch, every line, its decision and exports.
pub async fn disposal(
    page_: Page<perm::DisposalsRead>,
    req: HttpRequest,
    id: web::Path<String>,
    records: web::Data<Records>,
) -> Result<HttpResponse, PageError> {
    let c = &page_.chrome;
    let d = records.disposal(&page_, &id).await.or_page(c)?.masked();
    let may_decide = d.status == DisposalStatus::Proposed
        && d.proposed_by != page_.principal().username
        && page_.may(&req, Action::DisposalsApprove);
    render(&DisposalPage {
        c,
        open: d.status == DisposalStatus::Proposed,
        status: status_key(d.status),
        d,
        may_decide,
    })
}

fn status_key(s: DisposalStatus) -> &'static str {
    match s {
        DisposalStatus::Proposed => "disposal.status.proposed",
        DisposalStatus::Executed => "disposal.status.executed",
        DisposalStatus::Rejected => "disposal.status.rejected",
    }
}

/// `GET /disposals/{id}/certificate`: the register entry as the PDF
/// certificate (销毁证明) to print and sign.
pub async fn certificate(
    page_: Page<perm::DisposalsRead>,
    id: web::Path<String>,
    records: web::Data<Records>,
) -> Result<HttpResponse, PageError> {
    let d = records.disposal(&page_, &id).await.or_page(&page_.chrome)?;
    Ok(HttpResponse::Ok()
        .content_type("application/pdf")
        .insert_header((
            "content-disposition",
            format!("attachment; filename=\"disposal-{}.pdf\"", d.id),
        ))
        .body(register::to_pdf(&d)))
}

/// `POST /disposals/{id}/approve`: approve and execute (not the proposer).
pub async fn approve(
    form: PageForm<perm::DisposalsApprove>,
    id: web::Path<String>,
    records: web::Data<Records>,
) -> Result<HttpResponse, PageError> {
    let c = &form.page.chrome;
    let d = records.approve_disposal(&form.page, &id).await.or_page(c)?;
    Ok(see_other(&format!("/disposals/{}", urlencode(&d.id))))
}

/// `POST /disposals/{id}/reject`: turn the batch down, with a `note`.
pub async fn reject(
    form: PageForm<perm::DisposalsApprove>,
    id: web::Path<String>,
    records: web::Data<Records>,
) -> Result<HttpResponse, PageError> {
    let c = &form.page.chrome;
    let note = form.form.get("note").map(str::to_string);
    let d = records
        .reject_disposal(&form.page, &id, note)
        .await
        .or_page(c)?;
    Ok(see_other(&format!("/disposals/{}", urlencode(&d.id))))
}
