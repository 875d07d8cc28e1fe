//! `/documents`: file, read, download, versions, correct.

use actix_multipart::Multipart;
use actix_web::http::header::{ContentDisposition, DispositionParam, DispositionType};
use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::json;

use super::multipart::{filing_parts, text_then_file};
use crate::archive::Documents;
use crate::archive::documents::{CorrectionRequest, Filed, SourceClaim};
use crate::archive::views::{Content, ContentBody};
use crate::auth::extractor::{Authorized, AuthorizedJson, perm};
use crate::error::{Code, Error, Result};

const METADATA_FIRST: &str = "send the `metadata` part before the `file` part";

/// `POST /documents`: multipart with an optional `source` (an import's
/// `{path, sha256, size}`), then `metadata` (JSON), then `file`. 201 when
/// filed; 200 with the document already filed from the same source.
pub async fn file(
    caller: Authorized<perm::DocumentsFile>,
    documents: web::Data<Documents>,
    limits: web::Data<super::BodyLimits>,
    payload: Multipart,
) -> Result<HttpResponse> {
    let (source, metadata, file) = filing_parts(payload, limits.max_metadata_bytes, || {
        Error::new(Code::MetadataMissing, METADATA_FIRST)
    })
    .await?;
    let source = source.as_deref().map(SourceClaim::parse).transpose()?;
    Ok(
        match documents.file(&caller, &metadata, source, file).await? {
            Filed::New(view) => HttpResponse::Created().json(view),
            Filed::Already(view) => HttpResponse::Ok().json(view),
        },
    )
}

pub async fn get(
    caller: Authorized<perm::DocumentsRead>,
    documents: web::Data<Documents>,
    id: web::Path<String>,
) -> Result<HttpResponse> {
    Ok(HttpResponse::Ok().json(documents.get(&caller, &id).await?))
}

pub async fn versions(
    caller: Authorized<perm::DocumentsRead>,
    documents: web::Data<Documents>,
    id: web::Path<String>,
) -> Result<HttpResponse> {
    let versions = documents.versions(&caller, &id).await?;
    Ok(HttpResponse::Ok().json(json!({"versions": versions})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContentQuery {
    version: Option<u32>,
}

pub async fn content(
    caller: Authorized<perm::DocumentsContent>,
    documents: web::Data<Documents>,
    id: web::Path<String>,
    query: web::Query<ContentQuery>,
) -> Result<HttpResponse> {
    let Content { version, body } = documents.content(&caller, &id, query.version).await?;
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

/// `GET /documents/{id}/text`: what OCR read of the latest version.
pub async fn text(
    caller: Authorized<perm::DocumentsContent>,
    documents: web::Data<Documents>,
    id: web::Path<String>,
) -> Result<HttpResponse> {
    Ok(HttpResponse::Ok().json(documents.recognised_text(&caller, &id).await?))
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
    documents: web::Data<Documents>,
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
    let view = documents.add_version(&caller, &id, &reason, file).await?;
    Ok(HttpResponse::Created().json(view))
}

/// `PATCH /documents/{id}`: `{changes: {...}, reason}`.
pub async fn correct(
    request: AuthorizedJson<perm::DocumentsCorrect, CorrectionRequest>,
    documents: web::Data<Documents>,
    id: web::Path<String>,
) -> Result<HttpResponse> {
    Ok(HttpResponse::Ok().json(
        documents
            .correct(&request.caller, &id, request.body)
            .await?,
    ))
}
