//! `/documents/{id}`: a document's page — metadata (masked as the caller's
//! role requires), versions, corrections, text status, preview and download —
//! and its forms: a new version and a metadata correction, each with a reason.
//! Every view is the API's use case, so it leaves the same `document.read`
//! (and, for the file, `document.content`) record as the API.

use actix_multipart::Multipart;
use actix_web::http::header::{ContentDisposition, DispositionParam, DispositionType};
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::see_other;
use crate::api::multipart::text_then_file;
use crate::archive::Documents;
use crate::archive::documents::CorrectionRequest;
use crate::archive::views::{Content, ContentBody, DocumentView, VersionView};
use crate::auth::Action;
use crate::error::{Code, Error};
use crate::web::PageError;
use crate::web::caller::{Chrome, Page, PageForm, perm};
use crate::web::render::{OrPage, render};

/// Content types a page may show inline (spec §6): PDF (drawn by pdf.js),
/// raster images, plain text. Anything else is only downloaded.
const INLINE: &[&str] = &[
    "application/pdf",
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "text/plain",
];

/// The metadata fields a page shows and a clerk may correct, in order.
pub const FIELDS: &[&str] = &[
    "title",
    "summary",
    "tags",
    "vehicle.vin",
    "vehicle.plate",
    "vehicle.model",
    "vehicle.mileage_km",
    "customer.name",
    "customer.phone",
    "customer.id_number",
    "service.order_no",
    "service.service_date",
    "service.technician",
];

/// One metadata row: its text key, dotted path and shown value.
pub struct Field {
    pub key: &'static str,
    pub value: String,
}

fn value_at<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(v, |v, part| v.get(part))
}

fn shown(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(items) => items.iter().map(shown).collect::<Vec<_>>().join("；"),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// How the page previews the current version.
#[derive(PartialEq, Eq)]
pub enum Preview {
    Pdf,
    Image,
    Text,
    /// Active content was found (spec §10): never shown inline.
    Active,
    None,
}

/// Whether the ingest checks found active content in a version.
fn active(v: &VersionView) -> bool {
    v.checks.as_ref().is_some_and(|c| c.active_content())
}

fn preview_of(content_type: &str) -> Preview {
    let base = content_type.split(';').next().unwrap_or("").trim();
    match base {
        "application/pdf" => Preview::Pdf,
        "text/plain" => Preview::Text,
        t if INLINE.contains(&t) => Preview::Image,
        _ => Preview::None,
    }
}

#[derive(Template)]
#[template(path = "document.html")]
struct DocumentPage<'a> {
    c: &'a Chrome,
    d: DocumentView,
    category: String,
    fields: Vec<Field>,
    transcript: Option<String>,
    preview: Preview,
    may_content: bool,
    may_correct: bool,
    may_version: bool,
    done: Option<&'static str>,
}

#[derive(Deserialize)]
struct DocQuery {
    done: Option<String>,
}

/// `GET /documents/{id}` (id or archive number).
pub async fn page(
    page_: Page<perm::DocumentsRead>,
    req: HttpRequest,
    documents: web::Data<Documents>,
    id: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let c = &page_.chrome;
    let d = documents.get(&page_, &id).await.or_page(c)?;
    let fields = FIELDS
        .iter()
        .filter_map(|&key| {
            let v = value_at(&d.metadata, key)?;
            Some(Field {
                key,
                value: shown(v),
            })
        })
        .filter(|f| !f.value.is_empty())
        .collect();
    let category = value_at(&d.metadata, "category")
        .map(shown)
        .unwrap_or_default();
    let category = match documents.scheme().get(&category) {
        Some(def) if c.lang == crate::web::i18n::Lang::Zh => {
            format!("{} {}", def.code, def.name_zh)
        }
        Some(def) => format!("{} {}", def.code, def.name_en),
        None => category,
    };
    let transcript = value_at(&d.metadata, "transcript").map(shown);
    let preview = d.versions.last().map_or(Preview::None, |v| {
        if active(v) {
            Preview::Active
        } else {
            preview_of(&v.content_type)
        }
    });
    let done = serde_urlencoded::from_str::<DocQuery>(req.query_string())
        .ok()
        .and_then(|q| q.done)
        .and_then(|d| match d.as_str() {
            "version" => Some("version.done"),
            "correct" => Some("correct.done"),
            _ => None,
        });
    render(&DocumentPage {
        c,
        category,
        fields,
        transcript,
        preview,
        may_content: page_.may(&req, Action::DocumentsContent),
        may_correct: page_.may(&req, Action::DocumentsCorrect),
        may_version: page_.may(&req, Action::DocumentsVersion),
        done,
        d,
    })
}

#[derive(Deserialize)]
pub struct FileQuery {
    version: Option<u32>,
    inline: Option<u8>,
}

/// `GET /documents/{id}/file?version=N&inline=1`: the bytes, as a download,
/// or — for a safe type the page previews — inline under a CSP that lets the
/// file run nothing.
pub async fn file(
    page_: Page<perm::DocumentsContent>,
    req: HttpRequest,
    documents: web::Data<Documents>,
    id: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let c = &page_.chrome;
    let query: FileQuery = serde_urlencoded::from_str(req.query_string())
        .map_err(|e| Error::new(Code::InvalidQuery, e.to_string()))
        .or_page(c)?;
    let Content { version, body } = documents
        .content(&page_, &id, query.version)
        .await
        .or_page(c)?;
    let base = version.content_type.split(';').next().unwrap_or("").trim();
    let inline = query.inline == Some(1) && INLINE.contains(&base) && !active(&version);
    let mut response = HttpResponse::Ok();
    response
        .content_type(version.content_type.as_str())
        .insert_header(ContentDisposition {
            disposition: if inline {
                DispositionType::Inline
            } else {
                DispositionType::Attachment
            },
            parameters: vec![DispositionParam::FilenameExt(
                actix_web::http::header::ExtendedValue {
                    charset: actix_web::http::header::Charset::Ext("UTF-8".into()),
                    language_tag: None,
                    value: version.filename.clone().into_bytes(),
                },
            )],
        })
        .insert_header(("x-content-sha256", version.sha256.clone()));
    Ok(match body {
        ContentBody::Verified(bytes) => response.body(bytes),
        ContentBody::Streaming(stream) => response.no_chunking(version.size).streaming(stream),
    })
}

/// `POST /documents/{id}/versions`: multipart `reason`, then `file` (the
/// form's order), the CSRF token in the query or header.
pub async fn add_version(
    page_: Page<perm::DocumentsVersion>,
    documents: web::Data<Documents>,
    id: web::Path<String>,
    payload: Multipart,
) -> Result<HttpResponse, PageError> {
    let c = &page_.chrome;
    let (raw, file) = text_then_file(payload, "reason", 4096, || {
        Error::new(
            Code::ReasonRequired,
            "reason: give the reason for the new version",
        )
    })
    .await
    .or_page(c)?;
    let reason = String::from_utf8(raw)
        .map_err(|_| Error::new(Code::InvalidReason, "reason must be UTF-8 text"))
        .or_page(c)?;
    let view = documents
        .add_version(&page_, &id, &reason, file)
        .await
        .or_page(c)?;
    Ok(see_other(&format!("/documents/{}?done=version", view.id)))
}

/// `POST /documents/{id}/correct`: the fields to change (by dotted path; a
/// blank field is left as it is) and the reason.
pub async fn correct(
    form: PageForm<perm::DocumentsCorrect>,
    documents: web::Data<Documents>,
    id: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let c = &form.page.chrome;
    let mut changes = Map::new();
    for &path in FIELDS {
        let Some(raw) = form.form.get(path) else {
            continue;
        };
        let value = match path {
            "tags" => Value::Array(
                raw.split([';', '；'])
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                    .map(|t| Value::String(t.into()))
                    .collect(),
            ),
            "vehicle.mileage_km" => match raw.parse::<u32>() {
                Ok(n) => Value::from(n),
                Err(_) => {
                    return Err(PageError::failed(
                        Error::new(
                            Code::InvalidMetadata,
                            "vehicle.mileage_km: a whole number of kilometres",
                        ),
                        c,
                    ));
                }
            },
            _ => Value::String(raw.to_string()),
        };
        match path.split_once('.') {
            Some((group, leaf)) => {
                let entry = changes
                    .entry(group.to_string())
                    .or_insert_with(|| Value::Object(Map::new()));
                if let Value::Object(m) = entry {
                    m.insert(leaf.to_string(), value);
                }
            }
            None => {
                changes.insert(path.to_string(), value);
            }
        }
    }
    let request = CorrectionRequest {
        changes: Value::Object(changes),
        reason: form.form.get("reason").unwrap_or("").to_string(),
    };
    let view = documents
        .correct(&form.page, &id, request)
        .await
        .or_page(c)?;
    Ok(see_other(&format!("/documents/{}?done=correct", view.id)))
}
