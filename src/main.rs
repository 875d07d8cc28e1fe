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
    /// Verify the retrieval log offline: its hash chain, and its agreement with
    /// signed checkpoints under a public key the auditor trusts. Exits 1 if bad.
    AuditVerify {
        /// The log file (default: <data_dir>/audit/retrieval.log).
        #[arg(long)]
        log: Option<PathBuf>,
        /// Checkpoints, one JSON per line (default: <data_dir>/audit/checkpoints.jsonl).
        #[arg(long)]
        checkpoints: Option<PathBuf>,
        /// The audit public key as hex, or a file holding it
        /// (default: <data_dir>/keys/audit-ed25519.der.pub).
        #[arg(long)]
        public_key: Option<String>,
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
    },
}

fn main() -> anyhow::Result<()> {
    // SAFETY: first thing in main, before any other thread exists.
    unsafe { dangan::memory::tune_allocator() };
    let cli = Cli::parse();
    if let Some(Command::ExtractWorker {
        memory_mb,
        cpu_secs,
        pdftotext,
    }) = cli.command
    {
        // Before any configuration, logging or thread: the child limits itself
        // and touches nothing but its pipes.
        let limits = dangan::extract::worker::WorkerLimits {
            memory_mb,
            cpu_secs,
        };
        dangan::extract::worker::run(&limits, pdftotext)?;
        return Ok(());
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
    };
    let config =
        Config::load(cli.serve.config.as_deref(), &overrides).map_err(anyhow::Error::msg)?;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(config),
        Command::Reindex => reindex(config),
        Command::Fixity => fixity(config),
        Command::KeysRotate => rotate(config),
        Command::ExtractWorker { .. } => unreachable!("handled before configuration"),
        Command::AuditVerify {
            log,
            checkpoints,
            public_key,
        } => {
            let path = log.unwrap_or_else(|| config.data_dir.join("audit").join("retrieval.log"));
            let cp_path = checkpoints
                .unwrap_or_else(|| config.data_dir.join("audit").join("checkpoints.jsonl"));
            let checkpoints = dangan::audit::checkpoint::read_local(&cp_path)?;
            let key_text = match public_key {
                Some(k) if std::path::Path::new(&k).is_file() => std::fs::read_to_string(k)?,
                Some(k) => k,
                None => std::fs::read_to_string(
                    config.data_dir.join("keys").join("audit-ed25519.der.pub"),
                )
                .unwrap_or_default(),
            };
            let key = if key_text.trim().is_empty() {
                anyhow::ensure!(
                    checkpoints.is_empty(),
                    "checkpoints need the audit public key (--public-key)"
                );
                None
            } else {
                Some(
                    dangan::audit::checkpoint::parse_public_key(&key_text)
                        .map_err(anyhow::Error::msg)?,
                )
            };
            let report = dangan::audit::verify_with(&path, &checkpoints, key.as_ref())?;
            println!("{}", serde_json::to_string_pretty(&report)?);
            if report.ok {
                Ok(())
            } else {
                std::process::exit(1)
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
    dangan::archive::catalog::snapshot::remove(
        &config.data_dir.join(dangan::startup::SNAPSHOT_FILE),
    )?;
    actix_web::rt::System::new().block_on(async move {
        let state =
            dangan::startup::open_state(config, std::sync::Arc::new(dangan::clock::SystemClock))
                .await
                .map_err(anyhow::Error::msg)?;
        println!(
            "search index rebuilt: {} documents",
            state.archive.index().num_docs()
        );
        state.close().await;
        Ok(())
    })
}

fn fixity(config: Config) -> anyhow::Result<()> {
    actix_web::rt::System::new().block_on(async move {
        let state =
            dangan::startup::open_state(config, std::sync::Arc::new(dangan::clock::SystemClock))
                .await
                .map_err(anyhow::Error::msg)?;
        let ctx = dangan::audit::Context::anonymous("fixity-cli".into(), "local".into());
        let report = state
            .archive
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
            dangan::startup::open_state(config, std::sync::Arc::new(dangan::clock::SystemClock))
                .await
                .map_err(anyhow::Error::msg)?;
        let report = state
            .archive
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
