//! `/documents/{id}/legal-hold`, `/retention/due`, `/disposals`: legal hold,
//! retention and disposal 销毁 with its register's exports.

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::json;

use crate::archive::Records;
use crate::archive::records::register;
use crate::auth::extractor::{Authorized, AuthorizedJson, perm};
use crate::error::{Code, Error, Result};

/// `PUT /documents/{id}/legal-hold`: `{hold, reason}`.
pub async fn legal_hold(
    request: AuthorizedJson<perm::DocumentsHold, crate::archive::records::retention::HoldRequest>,
    records: web::Data<Records>,
    id: web::Path<String>,
) -> Result<HttpResponse> {
    Ok(HttpResponse::Ok().json(
        records
            .legal_hold(&request.caller, &id, request.body)
            .await?,
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DueQuery {
    as_of: Option<chrono::NaiveDate>,
}

/// `GET /retention/due[?as_of=YYYY-MM-DD]`.
pub async fn retention_due(
    caller: Authorized<perm::RetentionRead>,
    records: web::Data<Records>,
    query: web::Query<DueQuery>,
) -> Result<HttpResponse> {
    let due = records.retention_due(&caller, query.as_of).await?;
    Ok(HttpResponse::Ok().json(json!({"total": due.len(), "documents": due})))
}

/// `POST /disposals`: `{document_ids, reason}`.
pub async fn propose_disposal(
    request: AuthorizedJson<perm::DisposalsPropose, crate::archive::records::disposal::Proposal>,
    records: web::Data<Records>,
) -> Result<HttpResponse> {
    Ok(HttpResponse::Created().json(
        records
            .propose_disposal(&request.caller, request.body)
            .await?,
    ))
}

/// `POST /disposals/{id}/approve`: approve and execute.
pub async fn approve_disposal(
    caller: Authorized<perm::DisposalsApprove>,
    records: web::Data<Records>,
    id: web::Path<String>,
) -> Result<HttpResponse> {
    Ok(HttpResponse::Ok().json(records.approve_disposal(&caller, &id).await?))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RejectBody {
    note: Option<String>,
}

/// `POST /disposals/{id}/reject`: turn a batch down, optionally with a note.
pub async fn reject_disposal(
    caller: Authorized<perm::DisposalsApprove>,
    records: web::Data<Records>,
    id: web::Path<String>,
    body: Option<web::Json<RejectBody>>,
) -> Result<HttpResponse> {
    let note = body.map(|b| b.into_inner().note).unwrap_or_default();
    Ok(HttpResponse::Ok().json(records.reject_disposal(&caller, &id, note).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterQuery {
    format: Option<String>,
}

/// `GET /disposals/{id}[?format=csv|pdf]`: the register entry (销毁清册), as
/// JSON, CSV, or the printable certificate (销毁证明).
pub async fn disposal(
    caller: Authorized<perm::DisposalsRead>,
    records: web::Data<Records>,
    id: web::Path<String>,
    query: web::Query<RegisterQuery>,
) -> Result<HttpResponse> {
    let format = query.format.as_deref().unwrap_or("json");
    if !matches!(format, "json" | "csv" | "pdf") {
        return Err(Error::new(Code::InvalidFormat, "format: json, csv or pdf"));
    }
    let d = records.disposal(&caller, &id).await?;
    let (content_type, body) = match format {
        "csv" => ("text/csv; charset=utf-8", register::to_csv(&d)?),
        "pdf" => ("application/pdf", register::to_pdf(&d)),
        _ => return Ok(HttpResponse::Ok().json(d)),
    };
    Ok(HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((
            "content-disposition",
            format!("attachment; filename=\"disposal-{}.{format}\"", d.id),
        ))
        .body(body))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DisposalsQuery {
    status: Option<crate::archive::records::disposal::DisposalStatus>,
}

/// `GET /disposals[?status=proposed|executed|rejected]`: the register
/// entries the caller may read, newest first.
pub async fn disposals(
    caller: Authorized<perm::DisposalsRead>,
    records: web::Data<Records>,
    query: web::Query<DisposalsQuery>,
) -> Result<HttpResponse> {
    let found = records.list_disposals(&caller, query.status).await?;
    Ok(HttpResponse::Ok().json(json!({"total": found.len(), "disposals": found})))
}

/// `GET /legal-holds`: the documents on hold the caller may see.
pub async fn legal_holds(
    caller: Authorized<perm::DocumentsHold>,
    records: web::Data<Records>,
) -> Result<HttpResponse> {
    let held = records.legal_holds(&caller).await?;
    Ok(HttpResponse::Ok().json(json!({"total": held.len(), "documents": held})))
}
