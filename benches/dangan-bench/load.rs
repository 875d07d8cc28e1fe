//! A closed-loop HTTP load generator: `connections` clients, each sending its
//! next request when the previous answer has been read, for a fixed time or a
//! fixed number of requests. Every answer must have the expected status; the
//! latency of each is kept for percentiles.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::percentile;

#[derive(Debug, Clone, Serialize)]
pub struct Load {
    pub connections: usize,
    pub requests: usize,
    pub errors: usize,
    pub seconds: f64,
    pub per_sec: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    /// Response bytes read, per second (MB/s).
    pub mb_per_sec: f64,
}

pub enum Until {
    Elapsed(Duration),
    /// Request numbers `0..n`, shared among the connections.
    Count(usize),
}

/// Runs the load. `request(i)` builds request number `i`; an answer whose status
/// is not `expect` counts as an error (and its latency is not kept).
pub async fn run<F>(connections: usize, until: Until, expect: u16, request: F) -> Load
where
    F: Fn(usize) -> reqwest::RequestBuilder + Send + Sync + 'static,
{
    let request = Arc::new(request);
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let deadline = match until {
        Until::Elapsed(d) => Some(started + d),
        Until::Count(_) => None,
    };
    let limit = match until {
        Until::Count(n) => n,
        Until::Elapsed(_) => usize::MAX,
    };
    let mut tasks = Vec::with_capacity(connections);
    for _ in 0..connections {
        let (request, next) = (request.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let (mut latencies, mut errors, mut bytes) = (Vec::new(), 0usize, 0usize);
            loop {
                if deadline.is_some_and(|d| Instant::now() >= d) {
                    break;
                }
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= limit {
                    break;
                }
                let t = Instant::now();
                let ok = match request(i).send().await {
                    Ok(r) if r.status().as_u16() == expect => match r.bytes().await {
                        Ok(b) => {
                            bytes += b.len();
                            true
                        }
                        Err(_) => false,
                    },
                    Ok(r) => {
                        if errors == 0 {
                            let status = r.status();
                            let text = r.text().await.unwrap_or_default();
                            eprintln!("  unexpected {status}: {}", &text[..text.len().min(300)]);
                        }
                        false
                    }
                    Err(e) => {
                        if errors == 0 {
                            eprintln!("  request failed: {e}");
                        }
                        false
                    }
                };
                if ok {
                    latencies.push(t.elapsed().as_secs_f64() * 1e3);
                } else {
                    errors += 1;
                }
            }
            (latencies, errors, bytes)
        }));
    }
    let (mut all, mut errors, mut bytes) = (Vec::new(), 0, 0);
    for t in tasks {
        let (l, e, b) = t.await.expect("load task");
        all.extend(l);
        errors += e;
        bytes += b;
    }
    let seconds = started.elapsed().as_secs_f64();
    let requests = all.len();
    let p = |all: &mut Vec<f64>, q| {
        if all.is_empty() {
            f64::NAN
        } else {
            percentile(all, q)
        }
    };
    Load {
        connections,
        requests,
        errors,
        seconds,
        per_sec: requests as f64 / seconds,
        p50_ms: p(&mut all, 0.5),
        p90_ms: p(&mut all, 0.9),
        p99_ms: p(&mut all, 0.99),
        mb_per_sec: bytes as f64 / seconds / 1e6,
    }
}
