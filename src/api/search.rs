//! `GET /search`: find documents, as the caller may see them.

use actix_web::{HttpResponse, web};
use chrono::NaiveDate;
use serde::Deserialize;

use crate::archive::Search;
use crate::auth::extractor::{Authorized, perm};
use crate::domain::{Branch, Plate};
use crate::error::{Code, Error, Result};
use crate::index::{SearchRequest, Sort};

/// Longest `q` accepted, in characters.
pub const MAX_QUERY_CHARS: usize = 200;
/// Deepest result reachable by paging.
pub const MAX_DEPTH: u32 = 10_000;

#[derive(Deserialize, Default, Clone)]
#[serde(deny_unknown_fields)]
pub struct SearchParams {
    pub q: Option<String>,
    pub category: Option<String>,
    pub branch: Option<String>,
    pub vin: Option<String>,
    pub plate: Option<String>,
    pub order_no: Option<String>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub page: Option<u32>,
    pub per_page: Option<u32>,
    pub sort: Option<String>,
}

/// The search a query string asks for, checked (shared with the search page).
pub fn parse(params: SearchParams, search: &Search) -> Result<SearchRequest> {
    let bad = |code: Code, m: String| Error::new(code, m);
    let q = params
        .q
        .map(|q| q.trim().to_string())
        .filter(|q| !q.is_empty());
    if q.as_ref()
        .is_some_and(|q| q.chars().count() > MAX_QUERY_CHARS)
    {
        return Err(bad(
            Code::QueryTooLong,
            format!("q: at most {MAX_QUERY_CHARS} characters"),
        ));
    }
    if let Some(c) = &params.category
        && search.scheme().get(c).is_none()
    {
        return Err(bad(
            Code::InvalidCategory,
            format!(
                "category: unknown code `{}`",
                crate::domain::people::truncate(c, 10)
            ),
        ));
    }
    let branch = params
        .branch
        .as_deref()
        .map(Branch::parse)
        .transpose()
        .map_err(|e| bad(Code::InvalidBranch, e))?;
    let plate = params
        .plate
        .as_deref()
        .map(Plate::parse)
        .transpose()
        .map_err(|e| bad(Code::InvalidPlate, e))?;
    let vin = params
        .vin
        .as_deref()
        .map(crate::index::vin_key)
        .transpose()?;
    let page = params.page.unwrap_or(1);
    let per_page = params.per_page.unwrap_or(20);
    if page == 0 || !(1..=100).contains(&per_page) {
        return Err(bad(
            Code::InvalidPage,
            "page starts at 1; per_page is 1 to 100".into(),
        ));
    }
    if page.saturating_mul(per_page) > MAX_DEPTH {
        return Err(bad(
            Code::InvalidPage,
            format!("results beyond the first {MAX_DEPTH} cannot be paged to; narrow the search"),
        ));
    }
    if let (Some(f), Some(t)) = (params.from, params.to)
        && f > t
    {
        return Err(bad(Code::InvalidDates, "from is after to".into()));
    }
    let sort = match params.sort.as_deref() {
        None | Some("relevance") => Sort::Relevance,
        Some("date") => Sort::Date,
        Some(_) => return Err(bad(Code::InvalidSort, "sort: relevance or date".into())),
    };
    Ok(SearchRequest {
        q,
        category: params.category,
        branch,
        vin,
        plate,
        order_no: params.order_no,
        from: params.from,
        to: params.to,
        page,
        per_page,
        sort,
    })
}

pub async fn search(
    caller: Authorized<perm::DocumentsRead>,
    search: web::Data<Search>,
    params: web::Query<SearchParams>,
) -> Result<HttpResponse> {
    let request = parse(params.into_inner(), &search)?;
    Ok(HttpResponse::Ok().json(search.search(&caller, request).await?))
}
