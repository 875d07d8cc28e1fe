//! The `dangan` binary: parse the command line, set up logging, run.

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use dangan::config::{Config, Overrides};
use dangan::startup::Application;

#[derive(Parser)]
#[command(
    name = "dangan",
    version,
    about = "Document archive and retrieval server for car dealerships (档案)"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    serve: ServeArgs,
}

#[derive(clap::Args, Clone, Default)]
struct ServeArgs {
    /// Configuration file (TOML); only the keys it sets override the defaults.
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    /// Address and port to listen on, e.g. 127.0.0.1:8080.
    #[arg(long, global = true)]
    bind: Option<String>,
    /// Folder for local state (objects, keys, retrieval log).
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
    /// Start although the retrieval log is damaged: its bytes are kept where
    /// they are and a new chain segment, naming the damage, continues it.
    /// For this one start only; verification keeps reporting the damage.
    #[arg(long, global = true)]
    open_new_log_segment: bool,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (the default).
    Serve,
    /// Rebuild the search index from the object store, then exit.
    Reindex,
    /// Re-read and verify every stored version; print the report; exit 1 on damage.
    Fixity,
    /// Rewrap every data key under the configured master key; the previous key
    /// must be listed in crypto.retired_key_files. Safe to run again.
    KeysRotate,
    /// Verify the retrieval log offline, anchored in the signed checkpoints in
    /// the object store and a public key the auditor holds. Exits 0 when ok,
    /// 1 when damaged, 2 when intact but not (wholly) anchored.
    AuditVerify {
        /// The log file (default: <data_dir>/audit/retrieval.log).
        #[arg(long)]
        log: Option<PathBuf>,
        /// A local checkpoints file to read besides the object store's.
        #[arg(long)]
        checkpoints: Option<PathBuf>,
        /// The audit public key the auditor holds, as hex or a file holding it.
        /// Without it nothing is anchored.
        #[arg(long)]
        public_key: Option<String>,
        /// A checkpoint the auditor kept, SEQ:HASH: the log must contain it.
        #[arg(long)]
        checkpoint: Option<String>,
    },
    /// The text-extraction child the server starts (spec §6); not for people.
    #[command(hide = true)]
    ExtractWorker {
        #[arg(long)]
        memory_mb: u64,
        #[arg(long)]
        cpu_secs: u64,
        #[arg(long)]
        pdftotext: Option<PathBuf>,
        /// The Python interpreter with `rapidocr`: this child does OCR.
        #[arg(long)]
        ocr_python: Option<PathBuf>,
        #[arg(long)]
        pdftoppm: Option<PathBuf>,
    },
    /// Bulk import of a folder through a running server's API (spec §10).
    Import(dangan::import::ImportArgs),
}

fn main() -> anyhow::Result<()> {
    // SAFETY: first thing in main, before any other thread exists.
    unsafe { dangan::memory::tune_allocator() };
    let cli = Cli::parse();
    match cli.command {
        Some(Command::ExtractWorker {
            memory_mb,
            cpu_secs,
            pdftotext,
            ocr_python,
            pdftoppm,
        }) => {
            // Before any configuration, logging or thread: the child limits
            // itself and touches nothing but its pipes.
            let limits = dangan::extract::worker::WorkerLimits {
                memory_mb,
                cpu_secs,
            };
            let ocr = ocr_python.map(|python| dangan::extract::ocr::Ocr {
                python,
                pdftoppm,
                cpu_secs,
            });
            dangan::extract::worker::run(&limits, pdftotext, ocr)?;
            return Ok(());
        }
        // A client of a server: no server configuration is read.
        Some(Command::Import(args)) => std::process::exit(dangan::import::main(args)),
        _ => {}
    }
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let overrides = Overrides {
        bind: cli.serve.bind.clone(),
        data_dir: cli.serve.data_dir.clone(),
        open_new_log_segment: cli.serve.open_new_log_segment,
    };
    let config =
        Config::load(cli.serve.config.as_deref(), &overrides).map_err(anyhow::Error::msg)?;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(config),
        Command::Reindex => reindex(config),
        Command::Fixity => fixity(config),
        Command::KeysRotate => rotate(config),
        Command::ExtractWorker { .. } | Command::Import(_) => {
            unreachable!("handled before configuration")
        }
        Command::AuditVerify {
            log,
            checkpoints,
            public_key,
            checkpoint,
        } => {
            let held = checkpoint
                .as_deref()
                .map(dangan::audit::offline::parse_held_checkpoint)
                .transpose()
                .map_err(|e| anyhow::anyhow!("--checkpoint: {e}"))?;
            let request = dangan::audit::offline::OfflineRequest {
                log,
                checkpoints,
                public_key,
                held,
            };
            let report = actix_web::rt::System::new()
                .block_on(dangan::audit::offline::verify_offline(&config, request))
                .map_err(anyhow::Error::msg)?;
            println!("{}", serde_json::to_string_pretty(&report)?);
            match dangan::audit::offline::exit_code(&report) {
                0 => Ok(()),
                code => std::process::exit(code),
            }
        }
    }
}

fn reindex(config: Config) -> anyhow::Result<()> {
    let dir = config.data_dir.join("index");
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    // From the store alone: the catalog snapshot is derived data too.
    dangan::archive::catalog::snapshot::remove(&config.data_dir.join(dangan::open::SNAPSHOT_FILE))?;
    actix_web::rt::System::new().block_on(async move {
        let state =
            dangan::open::open_state(config, std::sync::Arc::new(dangan::clock::SystemClock))
                .await
                .map_err(anyhow::Error::msg)?;
        println!(
            "search index rebuilt: {} documents",
            state.services.search.indexed_documents()
        );
        state.close().await;
        Ok(())
    })
}

fn fixity(config: Config) -> anyhow::Result<()> {
    actix_web::rt::System::new().block_on(async move {
        let state =
            dangan::open::open_state(config, std::sync::Arc::new(dangan::clock::SystemClock))
                .await
                .map_err(anyhow::Error::msg)?;
        let ctx = dangan::audit::Context::anonymous("fixity-cli".into(), "local".into());
        let report = state
            .services
            .maintenance
            .fixity_check(&ctx, 0)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        state.close().await;
        println!("{}", serde_json::to_string_pretty(&report)?);
        if report.ok {
            Ok(())
        } else {
            std::process::exit(1)
        }
    })
}

fn rotate(config: Config) -> anyhow::Result<()> {
    actix_web::rt::System::new().block_on(async move {
        let state =
            dangan::open::open_state(config, std::sync::Arc::new(dangan::clock::SystemClock))
                .await
                .map_err(anyhow::Error::msg)?;
        let report = state
            .services
            .maintenance
            .rotate_keys(&dangan::audit::Context::anonymous(
                "keys-rotate".into(),
                "local".into(),
            ))
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        state.close().await;
        println!("{}", serde_json::to_string_pretty(&report)?);
        Ok(())
    })
}

fn serve(config: Config) -> anyhow::Result<()> {
    // Not dumpable: no core dump of a process holding plaintext and keys, and
    // no other process of this user (an extraction child included) can read its
    // memory or environment through /proc.
    // SAFETY: prctl(PR_SET_DUMPABLE) only changes this process's flag.
    if unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0) } != 0 {
        anyhow::bail!(
            "cannot make the server undumpable: {}",
            std::io::Error::last_os_error()
        );
    }
    actix_web::rt::System::new().block_on(async move {
        let app = Application::build(config)
            .await
            .map_err(anyhow::Error::msg)?;
        dangan::memory::spawn_trimmer();
        app.run_until_stopped().await?;
        Ok(())
    })
}
