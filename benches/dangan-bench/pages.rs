//! The front desk's pages next to the API calls they wrap (issue #17), on the
//! server the HTTP scenario filled: the search results fragment against
//! `GET /api/v1/search`, the document page against `GET /api/v1/documents/{id}`,
//! each over one loopback connection so the figure is the server's time, and
//! the time from Enter to results painted in headless Chromium
//! (`tests/e2e/bench_search.mjs`), reported against the fragment's round trip.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use crate::Row;
use crate::load::{self, Load, Until};
use crate::server::{self, Server};

/// What the person types, and the API's parameters for the same search.
const QUERIES: [(&str, &str); 4] = [
    ("发动机", "q=%E5%8F%91%E5%8A%A8%E6%9C%BA"),
    ("更换", "q=%E6%9B%B4%E6%8D%A2"),
    ("刹车片", "q=%E5%88%B9%E8%BD%A6%E7%89%87"),
    ("机油 保养", "q=%E6%9C%BA%E6%B2%B9+%E4%BF%9D%E5%85%BB"),
];

/// Both sides of one comparison, one connection each, `secs` apiece,
/// alternating in halves so that neither gets the warmer cache.
async fn pair<P, A>(secs: f64, page: P, api: A) -> (Load, Load)
where
    P: Fn(usize) -> reqwest::RequestBuilder + Send + Sync + Clone + 'static,
    A: Fn(usize) -> reqwest::RequestBuilder + Send + Sync + Clone + 'static,
{
    let half = Until::Elapsed(Duration::from_secs_f64(secs / 2.0));
    let again = || Until::Elapsed(Duration::from_secs_f64(secs / 2.0));
    let p1 = load::run(1, half, 200, page.clone()).await;
    let a1 = load::run(1, again(), 200, api.clone()).await;
    let a2 = load::run(1, again(), 200, api).await;
    let p2 = load::run(1, again(), 200, page).await;
    (merge(p1, p2), merge(a1, a2))
}

/// Two runs as one: the medians and tails averaged, counts summed.
fn merge(a: Load, b: Load) -> Load {
    Load {
        requests: a.requests + b.requests,
        errors: a.errors + b.errors,
        seconds: a.seconds + b.seconds,
        per_sec: (a.requests + b.requests) as f64 / (a.seconds + b.seconds),
        p50_ms: (a.p50_ms + b.p50_ms) / 2.0,
        p90_ms: (a.p90_ms + b.p90_ms) / 2.0,
        p99_ms: (a.p99_ms + b.p99_ms) / 2.0,
        mb_per_sec: (a.mb_per_sec + b.mb_per_sec) / 2.0,
        ..a
    }
}

pub async fn run(s: &Server, token: &str, docs: usize, secs: f64) -> anyhow::Result<Vec<Row>> {
    let c = reqwest::Client::new();
    let cookie = Arc::new(format!(
        "dangan_session={}",
        server::page_session(&s.address, "staff").await?
    ));
    let (address, token) = (Arc::new(s.address.clone()), Arc::new(token.to_string()));
    let mut rows = vec![];

    let (page, api) = {
        let (pc, pa, cookie) = (c.clone(), address.clone(), cookie.clone());
        let page = move |i: usize| {
            let (_, params) = QUERIES[i % QUERIES.len()];
            pc.get(format!("{pa}/search/results?{params}"))
                .header("cookie", cookie.as_str())
                .header("hx-request", "true")
        };
        let (ac, aa, token) = (c.clone(), address.clone(), token.clone());
        let api = move |i: usize| {
            let (_, params) = QUERIES[i % QUERIES.len()];
            ac.get(format!("{aa}/api/v1/search?{params}&per_page=20"))
                .bearer_auth(token.as_str())
        };
        pair(secs, page, api).await
    };
    anyhow::ensure!(page.errors + api.errors == 0, "search page errors");
    let fragment_ms = page.p50_ms;
    rows.push(Row::latency(
        &format!("search results fragment p50 at {docs} documents, 1 conn (goal ratio ≥ 0.67: ≤ 1.5× the API)"),
        page.p50_ms,
        "GET /api/v1/search, same words, 20 per page",
        api.p50_ms,
        "ms",
    ));

    let hits: Value = c
        .get(format!(
            "{address}/api/v1/search?q=%E5%8F%91%E5%8A%A8%E6%9C%BA&per_page=50"
        ))
        .bearer_auth(token.as_str())
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let ids: Arc<Vec<String>> = Arc::new(
        hits["hits"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|h| h["id"].as_str().map(str::to_string))
            .collect(),
    );
    anyhow::ensure!(!ids.is_empty(), "no documents to open");
    let (page, api) = {
        let (pc, pa, cookie, pids) = (c.clone(), address.clone(), cookie.clone(), ids.clone());
        let page = move |i: usize| {
            pc.get(format!("{pa}/documents/{}", pids[i % pids.len()]))
                .header("cookie", cookie.as_str())
        };
        let (ac, aa, token, aids) = (c.clone(), address.clone(), token.clone(), ids.clone());
        let api = move |i: usize| {
            ac.get(format!("{aa}/api/v1/documents/{}", aids[i % aids.len()]))
                .bearer_auth(token.as_str())
        };
        pair(secs, page, api).await
    };
    anyhow::ensure!(page.errors + api.errors == 0, "document page errors");
    rows.push(Row::latency(
        &format!(
            "document page p50 at {docs} documents, 1 conn (goal ratio ≥ 0.67: ≤ 1.5× the API)"
        ),
        page.p50_ms,
        "GET /api/v1/documents/{id}",
        api.p50_ms,
        "ms",
    ));

    match browser(&s.address) {
        Ok(mut samples) => {
            let p50 = crate::percentile(&mut samples, 0.5);
            let p95 = crate::percentile(&mut samples, 0.95);
            for (label, figure) in [("p50", p50), ("p95", p95)] {
                rows.push(Row::latency(
                    &format!(
                        "search: Enter → results painted in Chromium {label}, {} searches (reported)",
                        samples.len()
                    ),
                    figure,
                    "the results fragment's round trip p50",
                    fragment_ms,
                    "ms",
                ));
            }
        }
        Err(e) => eprintln!("  the browser figure is skipped: {e}"),
    }
    Ok(rows)
}

/// Runs `tests/e2e/bench_search.mjs` (needs `npm ci --prefix tests/e2e` and
/// Debian's chromium); returns its samples, ms.
fn browser(address: &str) -> anyhow::Result<Vec<f64>> {
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/e2e/bench_search.mjs");
    let modules = script.with_file_name("node_modules");
    anyhow::ensure!(
        modules.is_dir(),
        "{} is missing (npm ci --prefix tests/e2e)",
        modules.display()
    );
    let queries: Vec<&str> = QUERIES.iter().map(|(q, _)| *q).collect();
    let out = std::process::Command::new("node")
        .arg(&script)
        .env("DANGAN_URL", address)
        .env("DANGAN_USER", "staff")
        .env("DANGAN_PASSWORD", server::PASSWORD)
        .env("DANGAN_QUERIES", serde_json::to_string(&queries)?)
        .env("DANGAN_ROUNDS", "5")
        .output()?;
    anyhow::ensure!(
        out.status.success(),
        "node failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = String::from_utf8_lossy(&out.stdout);
    let v: Value = serde_json::from_str(line.lines().last().unwrap_or_default())?;
    let samples: Vec<f64> = v["samples_ms"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_f64)
        .collect();
    anyhow::ensure!(!samples.is_empty(), "no samples");
    Ok(samples)
}
