//! `/search`: one search box for staff (spec §9) — words, a VIN or its last
//! digits, a plate, an order number or a customer's phone — with facets,
//! highlighted snippets, paging and sort. `/search/results` is the results
//! fragment htmx swaps in; both call `Search::search`, the API's use case.

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use chrono::NaiveDate;
use serde::Deserialize;

use crate::api::search::{SearchParams, parse};
use crate::archive::Search;
use crate::domain::Plate;
use crate::index::{SearchHit, SearchResults};
use crate::web::PageError;
use crate::web::caller::{Chrome, Page, perm};
use crate::web::render::{Explained, OrPage, explain, render, urlencode};

/// Results per page.
const PER_PAGE: u32 = 20;

/// What the search form sends.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct Query {
    #[serde(default)]
    q: String,
    category: Option<String>,
    branch: Option<String>,
    year: Option<i32>,
    sort: Option<String>,
    page: Option<u32>,
}

impl Query {
    fn parse(raw: &str) -> Query {
        serde_urlencoded::from_str(raw).unwrap_or_default()
    }

    fn is_empty(&self) -> bool {
        self.q.trim().is_empty() && self.category.is_none() && self.branch.is_none()
    }

    /// This search's URL with `key` set to `value` (or removed), back on page 1.
    pub fn with(&self, key: &str, value: Option<&str>) -> String {
        let mut q = self.clone();
        q.page = None;
        match key {
            "category" => q.category = value.map(str::to_string),
            "branch" => q.branch = value.map(str::to_string),
            "year" => q.year = value.and_then(|v| v.parse().ok()),
            "sort" => q.sort = value.map(str::to_string),
            _ => {}
        }
        q.url()
    }

    fn page_url(&self, page: u32) -> String {
        let mut q = self.clone();
        q.page = Some(page);
        q.url()
    }

    fn url(&self) -> String {
        let mut parts = vec![format!("q={}", urlencode(self.q.trim()))];
        let opt = [
            ("category", self.category.clone()),
            ("branch", self.branch.clone()),
            ("year", self.year.map(|y| y.to_string())),
            ("sort", self.sort.clone()),
            ("page", self.page.filter(|&p| p > 1).map(|p| p.to_string())),
        ];
        for (k, v) in opt {
            if let Some(v) = v {
                parts.push(format!("{k}={}", urlencode(&v)));
            }
        }
        format!("/search?{}", parts.join("&"))
    }

    /// The API's parameters: the box's text goes to `plate` when it is a
    /// plate, to `vin` when it is a VIN or its last 6 or 8 characters, else to
    /// `q`; a year facet is the year's first to last day.
    fn params(&self, as_vin: bool) -> SearchParams {
        let text = self.q.trim().to_string();
        let mut p = SearchParams {
            category: self.category.clone(),
            branch: self.branch.clone(),
            sort: self.sort.clone(),
            page: self.page,
            per_page: Some(PER_PAGE),
            ..Default::default()
        };
        if let Some(y) = self.year {
            p.from = NaiveDate::from_ymd_opt(y, 1, 1);
            p.to = NaiveDate::from_ymd_opt(y, 12, 31);
        }
        if text.is_empty() {
        } else if Plate::parse(&text).is_ok() {
            p.plate = Some(text);
        } else if as_vin {
            p.vin = Some(text);
        } else {
            p.q = Some(text);
        }
        p
    }

    /// Whether the text may be a VIN or its tail (tried before words).
    fn may_be_vin(&self) -> bool {
        let t = self.q.trim();
        matches!(t.len(), 6 | 8 | 17)
            && t.bytes().all(|b| b.is_ascii_alphanumeric())
            && t.bytes().any(|b| b.is_ascii_digit())
            && crate::index::vin_key(t).is_ok()
    }
}

/// One facet entry: label, count, the URL that applies (or removes) it.
pub struct FacetEntry {
    pub label: String,
    pub count: u64,
    pub url: String,
    pub active: bool,
}

pub struct FacetGroup {
    pub label: &'static str,
    pub entries: Vec<FacetEntry>,
}

/// The results as the fragment shows them.
pub struct ResultsView {
    pub total: u64,
    pub hits: Vec<SearchHit>,
    pub facets: Vec<FacetGroup>,
    pub page: u32,
    pub pages: u64,
    pub prev: Option<String>,
    pub next: Option<String>,
    pub by_date: String,
    pub by_relevance: String,
    pub sorted_by_date: bool,
}

#[derive(Template)]
#[template(path = "search.html")]
struct SearchPage<'a> {
    c: &'a Chrome,
    q: String,
    results: Option<ResultsView>,
    error: Option<Explained>,
}

#[derive(Template)]
#[template(path = "search_results.html")]
struct ResultsFragment<'a> {
    c: &'a Chrome,
    results: Option<ResultsView>,
    error: Option<Explained>,
}

fn view(query: &Query, r: SearchResults, search: &Search, c: &Chrome) -> ResultsView {
    let page = query.page.unwrap_or(1).max(1);
    let pages = r.total.div_ceil(PER_PAGE as u64).max(1);
    let group = |label,
                 key: &str,
                 counts: &std::collections::BTreeMap<String, u64>,
                 current: Option<String>| {
        FacetGroup {
            label,
            entries: counts
                .iter()
                .map(|(value, count)| {
                    let active = current.as_deref() == Some(value.as_str());
                    FacetEntry {
                        label: match key {
                            "category" => c.category(search.scheme(), value),
                            _ => value.clone(),
                        },
                        count: *count,
                        url: query.with(key, (!active).then_some(value.as_str())),
                        active,
                    }
                })
                .collect(),
        }
    };
    let facets = vec![
        group(
            "category",
            "category",
            &r.facets.category,
            query.category.clone(),
        ),
        group(
            "meta.branch",
            "branch",
            &r.facets.branch,
            query.branch.clone(),
        ),
        group(
            "search.year",
            "year",
            &r.facets.year,
            query.year.map(|y| y.to_string()),
        ),
    ];
    let mut hits = r.hits;
    for h in &mut hits {
        h.category = c.category(search.scheme(), &h.category);
    }
    ResultsView {
        total: r.total,
        hits,
        facets,
        page,
        pages,
        prev: (page > 1).then(|| query.page_url(page - 1)),
        next: ((page as u64) < pages && page * PER_PAGE < crate::api::search::MAX_DEPTH)
            .then(|| query.page_url(page + 1)),
        by_date: query.with("sort", Some("date")),
        by_relevance: query.with("sort", None),
        sorted_by_date: query.sort.as_deref() == Some("date"),
    }
}

impl ResultsView {
    /// The fragment URL of a page URL (what htmx fetches for a link).
    pub fn frag(&self, url: &str) -> String {
        url.replacen("/search?", "/search/results?", 1)
    }
}

/// Runs the search the query asks for: a VIN-like text as a VIN first, then,
/// if that finds nothing, as words.
async fn run(
    page_: &Page<perm::DocumentsRead>,
    search: &Search,
    query: &Query,
) -> Result<Option<ResultsView>, PageError> {
    if query.is_empty() {
        return Ok(None);
    }
    let c = &page_.chrome;
    if query.may_be_vin() {
        let request = parse(query.params(true), search).or_page(c)?;
        let r = search.search(page_, request).await.or_page(c)?;
        if r.total > 0 {
            return Ok(Some(view(query, r, search, c)));
        }
    }
    let request = parse(query.params(false), search).or_page(c)?;
    let r = search.search(page_, request).await.or_page(c)?;
    Ok(Some(view(query, r, search, c)))
}

/// A refusal of the input itself (a bad VIN, too long a query) is shown
/// beside the box; anything else is the error page.
fn inline_error(e: PageError) -> Result<Explained, PageError> {
    match e {
        PageError::Failed { error, lang, .. }
            if matches!(
                error.kind,
                crate::error::ErrorKind::BadRequest | crate::error::ErrorKind::Invalid
            ) =>
        {
            Ok(explain(&error, lang))
        }
        other => Err(other),
    }
}

/// `GET /search?q=…`: the page, with results when it asks for any.
pub async fn page(
    page_: Page<perm::DocumentsRead>,
    req: HttpRequest,
    search: web::Data<Search>,
) -> Result<HttpResponse, PageError> {
    let query = Query::parse(req.query_string());
    let (results, error) = match run(&page_, &search, &query).await {
        Ok(r) => (r, None),
        Err(e) => (None, Some(inline_error(e)?)),
    };
    render(&SearchPage {
        c: &page_.chrome,
        q: query.q.trim().to_string(),
        results,
        error,
    })
}

/// `GET /search/results?q=…`: the results fragment.
pub async fn results(
    page_: Page<perm::DocumentsRead>,
    req: HttpRequest,
    search: web::Data<Search>,
) -> Result<HttpResponse, PageError> {
    let query = Query::parse(req.query_string());
    let (results, error) = match run(&page_, &search, &query).await {
        Ok(r) => (r, None),
        Err(e) => (None, Some(inline_error(e)?)),
    };
    let mut response = render(&ResultsFragment {
        c: &page_.chrome,
        results,
        error,
    })?;
    // The address bar shows the page of this search, not the fragment.
    if let Ok(url) = actix_web::http::header::HeaderValue::from_str(&query.url()) {
        response.headers_mut().insert(
            actix_web::http::header::HeaderName::from_static("hx-push-url"),
            url,
        );
    }
    Ok(response)
}
