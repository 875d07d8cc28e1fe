//! `dangan-bench`: measures this machine's ceilings and dangan's figures in the
//! same run, and reports each figure next to its ceiling as a ratio.
//!
//! ```text
//! cargo run --release --bin dangan-bench -- [--docs 100000] [--out target/bench]
//! ```
//!
//! Writes `report.md` (the table the README quotes) and `report.json`.

mod ceilings;
mod search;

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
            what: what.into(),
            figure,
            ceiling_what: ceiling_what.into(),
            ceiling,
            unit,
            ratio: ceiling / figure,
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

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let scratch = tempfile::tempdir_in(args.scratch.clone().unwrap_or_else(std::env::temp_dir))?;
    let started = Instant::now();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let mut rows = Vec::new();
    eprintln!("crypto and hashing…");
    rows.extend(ceilings::crypto());
    eprintln!("durable puts…");
    rows.extend(runtime.block_on(ceilings::durable_puts(scratch.path()))?);
    eprintln!("retrieval log appends…");
    rows.extend(runtime.block_on(ceilings::audit_appends(scratch.path()))?);
    eprintln!("search over {} generated records…", args.docs);
    rows.extend(runtime.block_on(search::run(scratch.path(), args.docs))?);

    std::fs::create_dir_all(&args.out)?;
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mut md = format!(
        "dangan-bench, {} records, {cores} cores, {:.0} s, {}\n\n| what | dangan | ceiling (same run) | ratio |\n|---|---|---|---|\n",
        args.docs,
        started.elapsed().as_secs_f64(),
        chrono::Utc::now().format("%Y-%m-%d")
    );
    for r in &rows {
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
    std::fs::write(args.out.join("report.md"), &md)?;
    std::fs::write(
        args.out.join("report.json"),
        serde_json::to_vec_pretty(&rows)?,
    )?;
    println!("{md}");
    Ok(())
}
