//! `/file`: the clerk's filing desk — a form driven by the classification
//! scheme (required fields per category, the default level, VIN and plate
//! checked as they are typed; the server still decides) and one or many files
//! by drag and drop, each uploaded with its progress and answered with the
//! archive number it got. Each upload is `Documents::file`, the API's use case.

use actix_multipart::Multipart;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Serialize;

use crate::api::multipart::text_then_file;
use crate::archive::Documents;
use crate::archive::views::DocumentView;
use crate::error::{Code, Error};
use crate::web::PageError;
use crate::web::caller::{Chrome, Page, perm};
use crate::web::render::{OrPage, render, render_with};

/// A category as the form's script needs it.
#[derive(Serialize)]
struct CategoryInfo {
    code: String,
    name: String,
    default_level: String,
    required: Vec<String>,
}

#[derive(Template)]
#[template(path = "file.html")]
struct FilingPage<'a> {
    c: &'a Chrome,
    categories: Vec<CategoryInfo>,
    /// The categories as JSON, for the script (a data block, not code).
    scheme_json: String,
    levels: [&'static str; 4],
    /// The server's plate rule's data, so the script checks the same.
    provinces: &'static str,
    plate_suffixes: &'static str,
}

/// `GET /file`.
pub async fn form(
    page_: Page<perm::DocumentsFile>,
    req: HttpRequest,
    documents: web::Data<Documents>,
) -> Result<HttpResponse, PageError> {
    let c = &page_.chrome;
    let reads = page_.also::<perm::ClassificationRead>(&req).await?;
    let scheme = documents.classification(&reads).await.or_page(c)?;
    let categories: Vec<CategoryInfo> = scheme
        .codes()
        .filter_map(|code| scheme.get(code))
        .map(|d| CategoryInfo {
            code: d.code.clone(),
            name: match c.lang {
                crate::web::i18n::Lang::Zh => d.name_zh.clone(),
                crate::web::i18n::Lang::En => d.name_en.clone(),
            },
            default_level: d.default_level.to_string(),
            required: d.required.clone(),
        })
        .collect();
    let scheme_json = serde_json::to_string(&categories)
        .map_err(|e| Error::internal(e.to_string()))
        .or_page(c)?;
    render(&FilingPage {
        c,
        categories,
        scheme_json,
        levels: ["public", "internal", "confidential", "restricted"],
        provinces: crate::domain::vehicle::PROVINCES,
        plate_suffixes: crate::domain::vehicle::PLATE_SUFFIXES,
    })
}

#[derive(Template)]
#[template(path = "filed.html")]
struct Filed<'a> {
    c: &'a Chrome,
    d: DocumentView,
}

/// `POST /file`: multipart `metadata` (JSON) then `file`, as the API takes
/// it; answers the fragment naming the archive number (201).
pub async fn upload(
    page_: Page<perm::DocumentsFile>,
    documents: web::Data<Documents>,
    limits: web::Data<crate::api::BodyLimits>,
    payload: Multipart,
) -> Result<HttpResponse, PageError> {
    let c = &page_.chrome;
    let (metadata, file) = text_then_file(payload, "metadata", limits.max_metadata_bytes, || {
        Error::new(Code::MetadataMissing, "send the metadata before the file")
    })
    .await
    .or_page(c)?;
    let d = match documents
        .file(&page_, &metadata, None, file)
        .await
        .or_page(c)?
    {
        crate::archive::documents::Filed::New(d) | crate::archive::documents::Filed::Already(d) => {
            d
        }
    };
    render_with(StatusCode::CREATED, &Filed { c, d })
}
