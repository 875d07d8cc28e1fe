//! `/documents`: file, read, download, versions, correct.

use actix_multipart::Multipart;
use actix_web::http::header::{ContentDisposition, DispositionParam, DispositionType};
use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::json;

use super::multipart::text_then_file;
use crate::archive::filing::CorrectionRequest;
use crate::archive::register;
use crate::archive::views::{Content, ContentBody};
use crate::auth::extractor::{Authorized, AuthorizedJson, perm};
use crate::error::{Code, Error, Result};
use crate::startup::AppState;

const METADATA_FIRST: &str = "send the `metadata` part before the `file` part";

/// `POST /documents`: multipart with exactly `metadata` (JSON), then `file`.
pub async fn file(
    caller: Authorized<perm::DocumentsFile>,
    state: web::Data<AppState>,
    payload: Multipart,
) -> Result<HttpResponse> {
    let (metadata, file) = text_then_file(
        payload,
        "metadata",
        state.config.server.max_metadata_bytes,
        || Error::new(Code::MetadataMissing, METADATA_FIRST),
    )
    .await?;
    let view = state.archive.file(&caller.ctx, &metadata, file).await?;
    Ok(HttpResponse::Created().json(view))
}

pub async fn get(
    caller: Authorized<perm::DocumentsRead>,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse> {
    Ok(HttpResponse::Ok().json(state.archive.get(&caller.ctx, &id).await?))
}

pub async fn versions(
    caller: Authorized<perm::DocumentsRead>,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse> {
    let versions = state.archive.versions(&caller.ctx, &id).await?;
    Ok(HttpResponse::Ok().json(json!({"versions": versions})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContentQuery {
    version: Option<u32>,
}

pub async fn content(
    caller: Authorized<perm::DocumentsContent>,
    state: web::Data<AppState>,
    id: web::Path<String>,
    query: web::Query<ContentQuery>,
) -> Result<HttpResponse> {
    let Content { version, body } = state
        .archive
        .content(&caller.ctx, &id, query.version)
        .await?;
    let mut response = HttpResponse::Ok();
    response
        .content_type(version.content_type.as_str())
        .insert_header(ContentDisposition {
            disposition: DispositionType::Attachment,
            parameters: vec![
                // An ASCII fallback for clients that ignore filename* (curl -J).
                DispositionParam::Filename(ascii_filename(&version.filename)),
                DispositionParam::FilenameExt(actix_web::http::header::ExtendedValue {
                    charset: actix_web::http::header::Charset::Ext("UTF-8".into()),
                    language_tag: None,
                    value: version.filename.clone().into_bytes(),
                }),
            ],
        })
        .insert_header(("x-content-sha256", version.sha256.clone()))
        .insert_header(("x-document-version", version.version.to_string()));
    Ok(match body {
        ContentBody::Verified(bytes) => response.body(bytes),
        ContentBody::Streaming(stream) => response.no_chunking(version.size).streaming(stream),
    })
}

/// The filename with everything but printable ASCII replaced by `_`.
fn ascii_filename(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// `POST /documents/{id}/versions`: multipart with exactly `reason`, then `file`.
pub async fn add_version(
    caller: Authorized<perm::DocumentsVersion>,
    state: web::Data<AppState>,
    id: web::Path<String>,
    payload: Multipart,
) -> Result<HttpResponse> {
    let (raw, file) = text_then_file(payload, "reason", 4096, || {
        Error::new(
            Code::ReasonMissing,
            "send the `reason` part before the `file` part",
        )
    })
    .await?;
    let reason = String::from_utf8(raw)
        .map_err(|_| Error::new(Code::InvalidReason, "reason must be UTF-8 text"))?;
    let view = state
        .archive
        .add_version(&caller.ctx, &id, &reason, file)
        .await?;
    Ok(HttpResponse::Created().json(view))
}

/// `PATCH /documents/{id}`: `{changes: {...}, reason}`.
pub async fn correct(
    request: AuthorizedJson<perm::DocumentsCorrect, CorrectionRequest>,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse> {
    Ok(HttpResponse::Ok().json(
        state
            .archive
            .correct(&request.ctx, &id, request.body)
            .await?,
    ))
}

/// `PUT /documents/{id}/legal-hold`: `{hold, reason}`.
pub async fn legal_hold(
    request: AuthorizedJson<perm::DocumentsHold, crate::archive::retention::HoldRequest>,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse> {
    Ok(HttpResponse::Ok().json(
        state
            .archive
            .legal_hold(&request.ctx, &id, request.body)
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
    state: web::Data<AppState>,
    query: web::Query<DueQuery>,
) -> Result<HttpResponse> {
    let due = state
        .archive
        .retention_due(&caller.ctx, query.as_of)
        .await?;
    Ok(HttpResponse::Ok().json(json!({"total": due.len(), "documents": due})))
}

/// `POST /disposals`: `{document_ids, reason}`.
pub async fn propose_disposal(
    request: AuthorizedJson<perm::DisposalsPropose, crate::archive::disposal::Proposal>,
    state: web::Data<AppState>,
) -> Result<HttpResponse> {
    Ok(HttpResponse::Created().json(
        state
            .archive
            .propose_disposal(&request.ctx, request.body)
            .await?,
    ))
}

/// `POST /disposals/{id}/approve`: approve and execute.
pub async fn approve_disposal(
    caller: Authorized<perm::DisposalsApprove>,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse> {
    Ok(HttpResponse::Ok().json(state.archive.approve_disposal(&caller.ctx, &id).await?))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RejectBody {
    note: Option<String>,
}

/// `POST /disposals/{id}/reject`: turn a batch down, optionally with a note.
pub async fn reject_disposal(
    caller: Authorized<perm::DisposalsApprove>,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: Option<web::Json<RejectBody>>,
) -> Result<HttpResponse> {
    let note = body.map(|b| b.into_inner().note).unwrap_or_default();
    Ok(HttpResponse::Ok().json(
        state
            .archive
            .reject_disposal(&caller.ctx, &id, note)
            .await?,
    ))
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
    state: web::Data<AppState>,
    id: web::Path<String>,
    query: web::Query<RegisterQuery>,
) -> Result<HttpResponse> {
    let format = query.format.as_deref().unwrap_or("json");
    if !matches!(format, "json" | "csv" | "pdf") {
        return Err(Error::new(Code::InvalidFormat, "format: json, csv or pdf"));
    }
    let d = state.archive.disposal(&caller.ctx, &id).await?;
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
