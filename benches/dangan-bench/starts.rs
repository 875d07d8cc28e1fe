//! Start-up of an archive: from its catalog snapshot, after a kill -9, and
//! reading every manifest, each next to its goal (3 s).

use std::path::Path;
use std::time::Duration;

use crate::Row;
use crate::server::Server;

/// Starts of the (stopped) archive in `data`: after a kill -9 (a sweep for
/// leftovers then runs while serving), and with no snapshot at all (every
/// manifest read, as a restore onto an empty data directory does).
pub async fn crash_and_full_starts(data: &Path, total: usize) -> anyhow::Result<Vec<Row>> {
    let mut rows = vec![];
    eprintln!("  start after kill -9…");
    let s = Server::start(data).await?;
    rows.push(Row::latency(
        &format!("start after kill -9, {total} documents"),
        s.start_secs,
        "goal",
        3.0,
        "s",
    ));
    s.stop()?;
    std::fs::remove_file(data.join("catalog.snapshot"))?;
    eprintln!("  start without a snapshot…");
    let s = Server::start(data).await?;
    rows.push(Row::latency(
        &format!("start reading every manifest (no snapshot), {total} documents"),
        s.start_secs,
        "goal",
        3.0,
        "s",
    ));
    s.stop()?;
    Ok(rows)
}

/// `--starts DIR`: the starts of an archive a `--keep` run left (DIR is its
/// `server/` folder, stopped cleanly): from its snapshot, after a kill -9, and
/// reading every manifest. To measure start-up alone, e.g. after a change to
/// it, without filing a million documents again.
pub async fn starts(data: &Path) -> anyhow::Result<Vec<Row>> {
    eprintln!("  cold start…");
    let s = Server::start(data).await?;
    let total = documents(&s).await?;
    let mut rows = vec![Row::latency(
        &format!("cold start with {total} documents (from the catalog snapshot)"),
        s.start_secs,
        "goal",
        3.0,
        "s",
    )];
    rows.push(Row::latency(
        &format!("server RSS after a cold start, {total} documents"),
        s.rss_mib(),
        "goal",
        1024.0,
        "MiB",
    ));
    // A start that had to read the store writes its snapshot in the
    // background; the crash start below should find one.
    let since = std::time::Instant::now();
    while !data.join("catalog.snapshot").exists() && since.elapsed().as_secs() < 600 {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    s.kill()?;
    rows.extend(crash_and_full_starts(data, total).await?);
    Ok(rows)
}

/// The documents the server's catalog holds (`/readyz`).
async fn documents(s: &Server) -> anyhow::Result<usize> {
    let r: serde_json::Value = reqwest::get(format!("{}/readyz", s.address))
        .await?
        .json()
        .await?;
    r["documents"]
        .as_u64()
        .map(|n| n as usize)
        .ok_or_else(|| anyhow::anyhow!("no document count in /readyz"))
}
