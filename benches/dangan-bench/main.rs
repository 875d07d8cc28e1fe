//! `dangan-bench`: measures this machine's ceilings and dangan's figures in the
//! same run, and reports each figure next to its ceiling as a ratio.
//!
//! ```text
//! cargo bench --bench dangan-bench -- [--docs 100000] [--out target/bench] [--million]
//! cargo bench --bench dangan-bench -- --pdf-recall
//! ```
//!
//! In-process: crypto, hashing, durable puts, log appends, indexing and queries
//! (dangan's index layer against bare tantivy). Then the real `dangan` binary
//! over HTTP on loopback: filing, search against a bare actix + tantivy
//! endpoint, the front desk's pages against the API calls they wrap (and
//! Enter → results painted in Chromium), a 1 GiB file, rebuild, cold start. Writes `report.md` (the table
//! the README quotes), `report.json` and `latency-vs-concurrency.svg`.

mod bare;
mod ceilings;
mod http;
mod ingest;
mod load;
mod pages;
mod pdf_recall;
mod plot;
mod search;
mod server;
mod starts;

use std::path::PathBuf;
use std::time::Instant;

use clap::Parser;
use serde::Serialize;

#[derive(Parser)]
#[command(about = "dangan benchmarks against this machine's ceilings")]
struct Args {
    /// Generated records to index for the search benchmarks.
    #[arg(long, default_value_t = 100_000)]
    docs: usize,
    /// Where to write report.md and report.json.
    #[arg(long, default_value = "target/bench")]
    out: PathBuf,
    /// Scratch folder (on the disk to measure).
    #[arg(long)]
    scratch: Option<PathBuf>,
    /// Seconds of HTTP load per search query and side.
    #[arg(long, default_value_t = 5.0)]
    search_secs: f64,
    /// 50 KiB documents filed over HTTP in the filing scenario.
    #[arg(long, default_value_t = 3000)]
    filing_docs: usize,
    /// Size of the large-file scenario in MiB (0 skips it).
    #[arg(long, default_value_t = 1024)]
    big_mib: usize,
    /// The 1M-document scenario: `--docs 1000000`, in-process query timings
    /// skipped (they would repeat the 100k figures at ten times the wait).
    #[arg(long)]
    million: bool,
    /// Only the in-process measurements (no server).
    #[arg(long)]
    no_http: bool,
    /// Only the start-up scenarios, on the data directory a `--keep` run left
    /// (`<kept>/server`): from the snapshot, after kill -9, without a snapshot.
    #[arg(long, value_name = "DIR")]
    starts: Option<PathBuf>,
    /// Keep the scratch folder (the server's data directory is `server/` in
    /// it), e.g. to profile a start on a large archive.
    #[arg(long)]
    keep: bool,
    /// Only the PDF recall table: words of each generated PDF variant that
    /// each candidate reader returns.
    #[arg(long)]
    pdf_recall: bool,
    /// Only the import and OCR scenarios (spec §10).
    #[arg(long)]
    ingest_only: bool,
    /// Passed by `cargo bench`; ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

/// Size of the files in `dir` (not recursive: a tantivy index is flat), MiB.
pub fn dir_mib(dir: &std::path::Path) -> f64 {
    let bytes: u64 = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok()?.metadata().ok())
        .filter(|m| m.is_file())
        .map(|m| m.len())
        .sum();
    bytes as f64 / (1024.0 * 1024.0)
}

/// One line of the report: dangan's figure and the ceiling it is compared with.
#[derive(Debug, Serialize)]
pub struct Row {
    pub what: String,
    pub figure: f64,
    pub ceiling_what: String,
    pub ceiling: f64,
    pub unit: &'static str,
    /// figure / ceiling for rates (higher is better), ceiling / figure for
    /// latencies, so 1.0 means "as fast as the ceiling" either way.
    pub ratio: f64,
}

impl Row {
    pub fn rate(
        what: &str,
        figure: f64,
        ceiling_what: &str,
        ceiling: f64,
        unit: &'static str,
    ) -> Row {
        Row {
            what: what.into(),
            figure,
            ceiling_what: ceiling_what.into(),
            ceiling,
            unit,
            ratio: figure / ceiling,
        }
    }

    pub fn latency(
        what: &str,
        figure: f64,
        ceiling_what: &str,
        ceiling: f64,
        unit: &'static str,
    ) -> Row {
        Row {
            ratio: ceiling / figure,
            ..Row::rate(what, figure, ceiling_what, ceiling, unit)
        }
    }
}

pub fn percentile(samples: &mut [f64], p: f64) -> f64 {
    samples.sort_by(|a, b| a.total_cmp(b));
    let i = ((samples.len() as f64 - 1.0) * p).round() as usize;
    samples[i.min(samples.len() - 1)]
}

fn fmt(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}

/// The Markdown report: a title line and one table row per figure.
fn table(title: &str, rows: &[Row]) -> String {
    let mut md =
        format!("{title}\n\n| what | dangan | ceiling (same run) | ratio |\n|---|---|---|---|\n");
    for r in rows {
        md.push_str(&format!(
            "| {} | {} {} | {}: {} {} | {:.2} |\n",
            r.what,
            fmt(r.figure),
            r.unit,
            r.ceiling_what,
            fmt(r.ceiling),
            r.unit,
            r.ratio
        ));
    }
    md
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.pdf_recall {
        println!("{}", pdf_recall::table());
        return Ok(());
    }
    if let Some(data) = &args.starts {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?;
        let rows = runtime.block_on(starts::starts(data))?;
        std::fs::create_dir_all(&args.out)?;
        let md = table("dangan-bench --starts", &rows);
        std::fs::write(args.out.join("starts.md"), &md)?;
        println!("{md}");
        return Ok(());
    }
    let scratch = tempfile::tempdir_in(args.scratch.clone().unwrap_or_else(std::env::temp_dir))?;
    let started = Instant::now();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    if args.ingest_only {
        eprintln!("import and OCR…");
        let rows = runtime.block_on(ingest::run(scratch.path()))?;
        std::fs::create_dir_all(&args.out)?;
        let md = table(
            &format!(
                "dangan-bench --ingest-only, {:.0} s, {}",
                started.elapsed().as_secs_f64(),
                chrono::Utc::now().format("%Y-%m-%d")
            ),
            &rows,
        );
        std::fs::write(args.out.join("ingest.md"), &md)?;
        println!("{md}");
        return Ok(());
    }
    let mut rows = Vec::new();
    eprintln!("crypto and hashing…");
    rows.extend(ceilings::crypto());
    eprintln!("durable puts…");
    rows.extend(runtime.block_on(ceilings::durable_puts(scratch.path()))?);
    eprintln!("retrieval log appends…");
    rows.extend(runtime.block_on(ceilings::audit_appends(scratch.path()))?);
    let docs = if args.million { 1_000_000 } else { args.docs };
    eprintln!("generating {docs} records…");
    let records = dangan::corpus::generate(docs, 7);
    // The bare index with dangan's exact matching serves the HTTP baseline; its
    // indexing rate is the ceiling of a rebuild.
    let bare_index = scratch.path().join("bare-exact-index");
    let (search_rows, exact, index_ceiling) = if args.million {
        eprintln!("bare tantivy over {docs} records…");
        let (exact, rate) = bare::build(&bare_index, true, &records)?;
        (vec![], exact, rate)
    } else {
        eprintln!("search over {docs} generated records…");
        runtime.block_on(search::run(scratch.path(), &records))?
    };
    let put_ceiling = rows
        .iter()
        .find(|r| r.what == "durable 50 KiB put, 16 writer(s)")
        .map_or(f64::NAN, |r| r.ceiling);
    rows.extend(search_rows);
    let mut sweep = vec![];
    if !args.no_http {
        eprintln!("the server over HTTP…");
        let settings = http::Settings {
            search_secs: args.search_secs,
            filing_docs: args.filing_docs,
            big_mib: args.big_mib,
            put_ceiling,
            index_ceiling,
            bare_index,
        };
        let (http_rows, points) =
            runtime.block_on(http::run(scratch.path(), records, exact, &settings))?;
        rows.extend(http_rows);
        sweep = points;
        eprintln!("import and OCR…");
        rows.extend(runtime.block_on(ingest::run(scratch.path()))?);
    }

    std::fs::create_dir_all(&args.out)?;
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let md = table(
        &format!(
            "dangan-bench, {docs} records, {cores} cores, {:.0} s, {}",
            started.elapsed().as_secs_f64(),
            chrono::Utc::now().format("%Y-%m-%d")
        ),
        &rows,
    );
    std::fs::write(args.out.join("report.md"), &md)?;
    std::fs::write(
        args.out.join("report.json"),
        serde_json::to_vec_pretty(&serde_json::json!({"rows": rows, "sweep": sweep}))?,
    )?;
    if !sweep.is_empty() {
        std::fs::write(
            args.out.join("latency-vs-concurrency.svg"),
            plot::svg(
                &format!("HTTP search 发动机 at {docs} documents: latency vs. concurrency"),
                &sweep,
            ),
        )?;
    }
    println!("{md}");
    if args.keep {
        eprintln!("kept: {}", scratch.keep().display());
    }
    Ok(())
}
