//! Opening the application's parts, in order, without serving them (the
//! server and the offline commands both start here): the data directory, the
//! schema, the master key, the object store, users, tokens, the search index
//! and the catalog (read side by side), the retrieval log anchored by its
//! newest checkpoint, then the services. Every failure is a sentence saying
//! what to fix.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use object_store::path::Path as ObjectPath;
use secrecy::ExposeSecret;

use crate::archive::access::{AccessLimits, AccessStore};
use crate::archive::auditing::Auditing;
use crate::archive::catalog::snapshot;
use crate::archive::{Limits, Parts, Services};
use crate::audit::checkpoint::{AuditSigner, Sealer, spawn_checkpointer};
use crate::auth::Policy;
use crate::auth::accounts::Accounts;
use crate::auth::external::ExternalIdp;
use crate::auth::tokens::TokenIssuer;
use crate::auth::users::{NewUser, UserStore};
use crate::clock::Clock;
use crate::config::Config;
use crate::domain::{Branch, Classification, Level, Role};
use crate::index::SearchIndex;
use crate::storage::envelope::random_bytes;
use crate::storage::{BlobStore, keys};

const BUILTIN_CLASSIFICATION: &str = include_str!("../schema/classification.toml");
const BUILTIN_ROLES: &str = include_str!("../schema/roles.toml");
const BUILTIN_MASKING: &str = include_str!("../schema/masking.toml");
/// The catalog snapshot, in the data directory.
pub const SNAPSHOT_FILE: &str = "catalog.snapshot";

/// Every opened part: what the server serves and the schedules tend.
pub struct AppState {
    pub services: Services,
    pub accounts: Arc<Accounts>,
    pub auditing: Arc<Auditing>,
    pub metrics: Arc<crate::metrics::Metrics>,
    pub config: Config,
    /// How the catalog was loaded at start.
    pub start: snapshot::LoadReport,
}

impl AppState {
    /// What a clean stop leaves behind: a clean catalog snapshot, so the next
    /// start reads no manifest. Call once nothing is served any more.
    pub async fn close(&self) {
        if let Err(e) = self.services.maintenance.save_snapshot(true).await {
            tracing::error!(error = ?e, "catalog snapshot at stop failed; the next start reads the store");
        }
    }
}

/// Opens every part of the application without serving it (also used by the
/// offline commands).
pub async fn open_state(config: Config, clock: Arc<dyn Clock>) -> Result<AppState, String> {
    crate::storage::private::make_private(&config.data_dir).map_err(|e| {
        format!(
            "cannot create data directory {} or make it private: {e}",
            config.data_dir.display()
        )
    })?;
    let (scheme, policy) = load_schema(&config)?;
    let keyring = Arc::new(keys::load_keyring(&config)?);
    let blob = BlobStore::open(&config.storage, &config.data_dir.join("objects"))?;
    blob.list(&ObjectPath::from("system")).await.map_err(|e| {
        format!(
            "object store {} is unreachable: {}",
            blob.describe(),
            e.describe()
        )
    })?;
    let store_id = keys::check_master_key(&blob, &keyring).await?;
    let users = UserStore::load(blob.clone(), keyring.clone())
        .await
        .map_err(|e| format!("cannot load users: {}", e.describe()))?;
    bootstrap_admin(&users, config.auth.bootstrap_admin_password.expose_secret()).await?;
    let tokens = TokenIssuer::load_or_create(
        &config.resolve(&config.auth.signing_key_file, "keys/jwt-ed25519.der"),
        &config.auth.issuer,
        &config.auth.audience,
        config.auth.token_ttl_secs,
    )?;
    let external = if config.auth.external.enabled() {
        Some(ExternalIdp::new(&config.auth.external, &config.auth.issuer).await?)
    } else {
        None
    };
    // The search index (with its dictionaries) opens and reads what it holds
    // on another thread while the catalog loads: at a million documents each
    // takes about a second.
    let index_dir = config.data_dir.join("index");
    let pii_key = keyring.derive_key("dangan/search-index/pii/v1");
    let heap_bytes = config.index.writer_heap_mb * 1024 * 1024;
    let calendar = crate::domain::calendar::Calendar::parse(&config.archive.timezone)?;
    let opening = tokio::task::spawn_blocking(move || {
        let index = SearchIndex::open_in(&index_dir, pii_key, heap_bytes, calendar)?;
        let indexed = index
            .indexed()
            .map_err(|e| format!("cannot read the search index: {}", e.describe()))?;
        Ok::<_, String>((index, indexed))
    });
    // An empty data directory restored from a backup of the store gets its log
    // back from the sealed segments. Then the newest signed checkpoint anchors
    // the local log: one that ends before it was cut off or rolled back (§4).
    crate::audit::checkpoint::restore_log(
        &blob,
        &keyring,
        &config.data_dir.join("audit").join("retrieval.log"),
    )
    .await?;
    let anchor = crate::audit::checkpoint::latest_in_store(&blob)
        .await
        .map_err(|e| {
            format!(
                "cannot read the retrieval log's checkpoints: {}",
                e.describe()
            )
        })?;
    let (catalog, audit, loaded) = snapshot::open_with_log(
        &config.data_dir.join(SNAPSHOT_FILE),
        &config.data_dir.join("audit").join("retrieval.log"),
        &blob,
        &keyring,
        &store_id,
        config.audit.open_new_log_segment,
        anchor.as_ref().map(|c| c.body.seq),
    )
    .await?;
    let (index, indexed) = opening.await.map_err(|e| format!("search index: {e}"))??;
    let limits = Limits {
        max_upload_bytes: config.server.max_upload_bytes,
        verify_before_send_bytes: config.server.verify_before_send_bytes,
    };
    // The index writer lock is held from here on: no other dangan process writes
    // this archive, so content no manifest refers to is a crash's leftover.
    let leftovers = catalog.take_leftovers();
    for path in &leftovers {
        blob.delete(path)
            .await
            .map_err(|e| format!("cannot remove a half-filed object: {}", e.describe()))?;
    }
    // Staging files are left only by writes a crash interrupted; walking the
    // whole local store for them is skipped after a clean stop.
    let staged = if loaded.from_snapshot {
        0 // after a clean stop there are none; otherwise the sweep takes them
    } else {
        blob.remove_staged_leftovers(None)
            .map_err(|e| format!("cannot remove staging files of interrupted writes: {e}"))?
    };
    if !leftovers.is_empty() || staged > 0 {
        tracing::warn!(
            objects = leftovers.len(),
            staging_files = staged,
            "removed what interrupted writes left behind"
        );
    }
    let services = Services::new(Parts {
        blob: blob.clone(),
        keyring: keyring.clone(),
        catalog: Arc::new(catalog),
        scheme: Arc::new(scheme),
        policy: policy.clone(),
        audit: audit.clone(),
        limits,
        index: Arc::new(index),
        access: Arc::new(
            AccessStore::load(blob.clone(), keyring.clone())
                .await
                .map_err(|e| format!("cannot load access requests: {}", e.describe()))?,
        ),
        masking: Arc::new(load_masking(&config)?),
        access_limits: AccessLimits {
            default_days: config.access.default_days,
            max_days: config.access.max_days,
        },
        clock,
        extractor: Arc::new(open_extractor(&config)?),
        ocr: open_ocr(&config)?.map(Arc::new),
        calendar,
    });
    let caught_up = services
        .search
        .catch_up_index_from(indexed)
        .await
        .map_err(|e| format!("cannot bring the search index up to date: {}", e.describe()))?;
    if caught_up > 0 {
        tracing::info!(
            documents = caught_up,
            "search index caught up with the archive"
        );
    }
    let accounts = Arc::new(Accounts::new(
        users,
        tokens,
        policy.clone(),
        audit.clone(),
        crate::auth::throttle::ThrottleConfig {
            max_failures: config.auth.max_failed_logins.max(1),
            lockout: std::time::Duration::from_secs(config.auth.lockout_secs),
        },
        external,
    ));
    let signer = Arc::new(AuditSigner::load_or_create(
        &config.data_dir.join("keys").join("audit-ed25519.der"),
    )?);
    let sealer = Arc::new(Sealer::new(
        audit.clone(),
        blob.clone(),
        keyring.clone(),
        signer.clone(),
        config.data_dir.join("audit").join("checkpoints.jsonl"),
        anchor,
    ));
    spawn_checkpointer(
        sealer.clone(),
        std::time::Duration::from_secs(config.audit.checkpoint_interval_secs.max(1)),
    );
    let auditing = Arc::new(Auditing {
        log: audit,
        blob,
        keyring,
        signer,
        sealer,
        calendar,
    });
    let metrics = Arc::new(crate::metrics::Metrics::default());
    metrics
        .catalog_from_snapshot
        .set(i64::from(loaded.from_snapshot));
    metrics
        .catalog_manifests_read
        .set(loaded.manifests_read as i64);
    Ok(AppState {
        services,
        accounts,
        auditing,
        metrics,
        config,
        start: loaded,
    })
}

/// The text-extraction children, saying once at start what they cannot read.
fn open_extractor(config: &Config) -> Result<crate::extract::pool::ExtractPool, String> {
    let pool = crate::extract::pool::PoolConfig::from_config(&config.extract)?;
    if pool.pdftotext.is_none() {
        tracing::warn!(
            "pdftotext not found: PDFs are filed without text (install Debian packages poppler-utils and poppler-data)"
        );
    }
    Ok(crate::extract::pool::ExtractPool::new(pool))
}

/// The OCR children, if OCR is enabled and its engine installed: the
/// interpreter is asked (without loading the engine) whether it finds
/// `rapidocr` and `onnxruntime`. Says once at start when it does not.
fn open_ocr(config: &Config) -> Result<Option<crate::extract::pool::ExtractPool>, String> {
    use crate::extract::pool::{ExtractPool, PoolConfig, find_program};
    let o = &config.ocr;
    if !o.enabled {
        return Ok(None);
    }
    let python = if o.python.is_empty() {
        find_program("python3")
    } else {
        Some(std::path::PathBuf::from(&o.python))
    };
    // The interpreter itself, not a launcher (pyenv's `python3` is a shell
    // script that needs an environment the OCR child does not have).
    let probe = "import importlib.util as u, sys; ok = u.find_spec('rapidocr') and u.find_spec('onnxruntime'); print(sys.executable if ok else '')";
    let found = python.and_then(|p| {
        // Nothing of the server's environment (it may hold the master key)
        // but what a launcher needs to find its interpreter.
        let mut command = std::process::Command::new(p);
        command.env_clear();
        for key in ["PATH", "HOME", "PYENV_ROOT", "PYENV_VERSION"] {
            if let Some(v) = std::env::var_os(key) {
                command.env(key, v);
            }
        }
        let out = command
            .args(["-I", "-c", probe])
            .stdin(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .output()
            .ok()?;
        let exe = String::from_utf8(out.stdout).ok()?.trim().to_string();
        (out.status.success() && !exe.is_empty()).then(|| std::path::PathBuf::from(exe))
    });
    let Some(python) = found else {
        tracing::warn!(
            "OCR engine not found: scans are filed without text (python3 -m pip install rapidocr onnxruntime)"
        );
        return Ok(None);
    };
    let mut pool = PoolConfig::from_config(&config.extract)?;
    pool.workers = o.workers;
    pool.memory_mb = o.memory_mb;
    pool.cpu_secs = o.cpu_secs;
    pool.timeout = std::time::Duration::from_secs(o.timeout_secs);
    pool.pdftotext = None;
    pool.ocr = Some(crate::extract::ocr::Ocr {
        python,
        pdftoppm: find_program("pdftoppm"),
        cpu_secs: o.cpu_secs,
    });
    Ok(Some(ExtractPool::new(pool)))
}

/// The masking rules: `schema.dir`'s copy, or the built-in one.
fn load_masking(config: &Config) -> Result<crate::domain::pii::Masking, String> {
    let text = if config.schema.dir.is_empty() {
        BUILTIN_MASKING.to_string()
    } else {
        let path = Path::new(&config.schema.dir).join("masking.toml");
        std::fs::read_to_string(&path)
            .map_err(|e| format!("schema.dir: cannot read {}: {e}", path.display()))?
    };
    crate::domain::pii::Masking::from_toml(&text)
}

fn load_schema(config: &Config) -> Result<(Classification, Policy), String> {
    let (classification, roles) = if config.schema.dir.is_empty() {
        (
            BUILTIN_CLASSIFICATION.to_string(),
            BUILTIN_ROLES.to_string(),
        )
    } else {
        let dir = Path::new(&config.schema.dir);
        let read = |name: &str| {
            std::fs::read_to_string(dir.join(name))
                .map_err(|e| format!("schema.dir: cannot read {}: {e}", dir.join(name).display()))
        };
        (read("classification.toml")?, read("roles.toml")?)
    };
    Ok((
        Classification::from_toml(&classification)?,
        Policy::from_toml(&roles)?,
    ))
}

/// Creates the first administrator when there are no users.
async fn bootstrap_admin(users: &UserStore, configured: &str) -> Result<(), String> {
    if !users.is_empty().await {
        return Ok(());
    }
    let (password, generated) = match configured {
        "" => (hex::encode(random_bytes::<12>()), true),
        p => (p.to_string(), false),
    };
    let admin = NewUser {
        username: "admin".into(),
        password: password.clone(),
        roles: vec![Role::Admin],
        branch: Branch::parse(Branch::ALL).expect("valid"),
        clearance: Level::Public,
    };
    users
        .create(admin)
        .await
        .map_err(|e| format!("cannot create the admin user: {e}"))?;
    if generated {
        // Printed once, to the terminal, never to the log.
        let mut err = std::io::stderr();
        let _ = writeln!(
            err,
            "\n  dangan: created user `admin` with password {password}\n  (set DANGAN_ADMIN_PASSWORD to choose it; this is shown only once)\n"
        );
    }
    Ok(())
}
