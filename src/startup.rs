//! Building the application: configuration in, a bound listener and a running
//! server out. `Application::build` binds the listener itself and exposes
//! `port()`, so tests run the real application on port 0.

use std::io::Write;

use sha2::Digest;
use std::net::TcpListener;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{Server, ServiceRequest, ServiceResponse};
use actix_web::middleware::{Next, from_fn};
use actix_web::{App, HttpMessage, HttpServer, web};
use object_store::path::Path as ObjectPath;
use secrecy::ExposeSecret;

use crate::archive::access::{AccessLimits, AccessStore};
use crate::archive::catalog::snapshot;
use crate::archive::{Archive, ArchiveParts, Limits};
use crate::audit::checkpoint::{AuditSigner, Sealer, spawn_checkpointer};
use crate::audit::query::Auditing;
use crate::auth::Policy;
use crate::auth::accounts::Accounts;
use crate::auth::external::ExternalIdp;
use crate::auth::extractor::RequestId;
use crate::auth::tokens::TokenIssuer;
use crate::auth::users::{NewUser, UserStore};
use crate::clock::{Clock, SystemClock};
use crate::config::{Config, parse_key_text};
use crate::domain::{Branch, Classification, Level, Role};
use crate::index::SearchIndex;
use crate::storage::BlobStore;
use crate::storage::envelope::{CryptoError, Keyring, MasterKey, random_bytes};

const BUILTIN_CLASSIFICATION: &str = include_str!("../schema/classification.toml");
const BUILTIN_ROLES: &str = include_str!("../schema/roles.toml");
const BUILTIN_MASKING: &str = include_str!("../schema/masking.toml");
const KEYCHECK: &str = "system/keycheck";
/// The catalog snapshot, in the data directory.
pub const SNAPSHOT_FILE: &str = "catalog.snapshot";

/// Everything the handlers reach through `web::Data`.
pub struct AppState {
    pub archive: Archive,
    pub accounts: Accounts,
    pub auditing: Auditing,
    pub metrics: crate::metrics::Metrics,
    pub blob: BlobStore,
    pub config: Config,
    /// How the catalog was loaded at start.
    pub start: snapshot::LoadReport,
}

pub struct Application {
    server: Server,
    port: u16,
    state: web::Data<AppState>,
}

impl AppState {
    /// What a clean stop leaves behind: a clean catalog snapshot, so the next
    /// start reads no manifest. Call once nothing is served any more.
    pub async fn close(&self) {
        if let Err(e) = self
            .archive
            .catalog()
            .save_snapshot(&self.auditing.log, true)
            .await
        {
            tracing::error!(error = ?e, "catalog snapshot at stop failed; the next start reads the store");
        }
    }
}

impl Application {
    /// Opens every part (store, keys, users, log, catalog) and binds the listener.
    /// Any failure is a sentence saying what to fix.
    pub async fn build(config: Config) -> Result<Self, String> {
        Self::build_with_clock(config, Arc::new(SystemClock)).await
    }

    /// Like [`Application::build`], with the clock grants expire by (tests).
    pub async fn build_with_clock(config: Config, clock: Arc<dyn Clock>) -> Result<Self, String> {
        let state = open_state(config, clock).await?;
        let listener = TcpListener::bind(&state.config.server.bind)
            .map_err(|e| format!("cannot listen on {}: {e}", state.config.server.bind))?;
        let port = listener.local_addr().map_err(|e| e.to_string())?.port();
        let workers = match state.config.server.workers {
            0 => std::thread::available_parallelism().map_or(2, |n| n.get()),
            n => n,
        };
        let max_json = state.config.server.max_json_bytes;
        let fixity = (
            state.config.fixity.interval_hours,
            state.config.fixity.max_mb_per_sec,
        );
        let data = web::Data::new(state);
        let state = data.clone();
        // After reading every manifest, snapshot at once so the next start
        // need not; after a start from a snapshot, only once documents change.
        let first = if data.start.from_snapshot {
            SNAPSHOT_EVERY
        } else {
            std::time::Duration::ZERO
        };
        spawn_snapshots(Arc::downgrade(&data.clone().into_inner()), first);
        if data.start.from_snapshot && !data.start.after_clean_stop {
            spawn_sweep(data.clone());
        }
        if fixity.0 > 0 {
            // A weak reference, so the schedule never keeps a stopped server's state
            // (and its index lock) alive.
            let state = Arc::downgrade(&data.clone().into_inner());
            tokio::spawn(async move {
                let mut tick =
                    tokio::time::interval(std::time::Duration::from_secs(fixity.0 * 3600));
                tick.tick().await; // not at start: the first run comes one interval later
                loop {
                    tick.tick().await;
                    let Some(data) = state.upgrade() else { return };
                    let ctx =
                        crate::audit::Context::anonymous("fixity-schedule".into(), "local".into());
                    match data.archive.fixity_check(&ctx, fixity.1 * 1_000_000).await {
                        Ok(r) if r.ok => tracing::info!(
                            versions = r.versions,
                            seconds = r.seconds,
                            "fixity check passed"
                        ),
                        Ok(r) => {
                            tracing::error!(damaged = r.damaged.len(), "fixity check found damage")
                        }
                        Err(e) => tracing::error!(error = ?e, "fixity check failed"),
                    }
                }
            });
        }
        if data.archive.retired_keys() > 0 {
            // Retired keys are configured: rewrap what still uses them while serving.
            // An interrupted run resumes here at the next start.
            let data = data.clone();
            tokio::spawn(async move {
                let ctx = crate::audit::Context::anonymous("key-rotation".into(), "local".into());
                data.archive.run_rotation(&ctx).await;
            });
        }

        let server = HttpServer::new(move || {
            App::new()
                .wrap(crate::api::security_headers())
                .wrap(from_fn(crate::api::record_unrecorded))
                .wrap(from_fn(request_id))
                .app_data(data.clone())
                .configure(|cfg| crate::api::routes(cfg, max_json))
        })
        .workers(workers)
        .listen(listener)
        .map_err(|e| format!("cannot start the HTTP server: {e}"))?
        .run();
        tracing::info!(port, "listening");
        Ok(Application {
            server,
            port,
            state,
        })
    }

    /// Stops the server from elsewhere (tests, signal handlers).
    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves until stopped (SIGTERM, SIGINT or [`Self::handle`]); in-flight
    /// requests finish, then the catalog snapshot is written.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let served = self.server.await;
        self.state.close().await;
        served
    }
}

/// After a start from the snapshot of a stop that was not clean: removes what
/// interrupted writes left, while serving (listing a large store takes
/// minutes with a cold cache; nothing depends on the leftovers being gone).
fn spawn_sweep(data: web::Data<AppState>) {
    let started = std::time::SystemTime::now();
    data.metrics.leftover_sweep_running.set(1);
    tokio::spawn(async move {
        match data.archive.catalog().sweep_leftovers(started).await {
            Ok(n) if n > 0 => {
                tracing::warn!(objects = n, "removed what interrupted writes left behind")
            }
            Ok(_) => {}
            Err(e) => {
                tracing::error!(error = ?e, "sweep for leftovers of interrupted writes failed")
            }
        }
        data.metrics.leftover_sweep_running.set(0);
    });
}

/// How often a running server snapshots its catalog when documents changed:
/// a crash then replays at most this long's changes at the next start.
const SNAPSHOT_EVERY: std::time::Duration = std::time::Duration::from_secs(300);

fn spawn_snapshots(state: std::sync::Weak<AppState>, first: std::time::Duration) {
    tokio::spawn(async move {
        let mut tick =
            tokio::time::interval_at(tokio::time::Instant::now() + first, SNAPSHOT_EVERY);
        // Started from a snapshot: write again only once documents changed.
        let mut saved = (!first.is_zero()).then_some(0);
        loop {
            tick.tick().await;
            let Some(state) = state.upgrade() else { return };
            let changes = state.archive.catalog().changes().begun();
            if saved == Some(changes) {
                continue;
            }
            match state
                .archive
                .catalog()
                .save_snapshot(&state.auditing.log, false)
                .await
            {
                Ok(()) => saved = Some(changes),
                Err(e) => tracing::error!(error = ?e, "catalog snapshot failed"),
            }
        }
    });
}

/// Gives every request an id (returned as `x-request-id`) and logs one line per
/// request: method, path without the query (which may hold personal data),
/// status and duration.
async fn request_id(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let id = uuid::Uuid::new_v4().simple().to_string();
    req.extensions_mut().insert(RequestId(id.clone()));
    let (method, path, started) = (req.method().clone(), req.path().to_string(), Instant::now());
    let mut res = next.call(req).await?;
    if let Ok(value) = actix_web::http::header::HeaderValue::from_str(&id) {
        res.headers_mut().insert(
            actix_web::http::header::HeaderName::from_static("x-request-id"),
            value,
        );
    }
    tracing::info!(request_id = %id, %method, path = %crate::domain::people::truncate(&path, 200), status = res.status().as_u16(), ms = started.elapsed().as_millis() as u64, "request");
    if let Some(state) = res.request().app_data::<web::Data<AppState>>() {
        let route = res
            .request()
            .match_pattern()
            .unwrap_or_else(|| "unmatched".into());
        state.metrics.observe(
            method.as_str(),
            &route,
            res.status().as_u16(),
            started.elapsed().as_secs_f64(),
        );
    }
    Ok(res)
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
    let keyring = Arc::new(load_keyring(&config)?);
    let blob = BlobStore::open(&config.storage, &config.data_dir.join("objects"))?;
    blob.list(&ObjectPath::from("system")).await.map_err(|e| {
        format!(
            "object store {} is unreachable: {}",
            blob.describe(),
            describe(&e)
        )
    })?;
    let store_id = check_master_key(&blob, &keyring).await?;
    let users = UserStore::load(blob.clone(), keyring.clone())
        .await
        .map_err(|e| format!("cannot load users: {}", describe(&e)))?;
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
            .map_err(|e| format!("cannot read the search index: {}", describe(&e)))?;
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
                describe(&e)
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
            .map_err(|e| format!("cannot remove a half-filed object: {}", describe(&e)))?;
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
    let archive = Archive::new(ArchiveParts {
        blob: blob.clone(),
        keyring: keyring.clone(),
        catalog,
        scheme,
        policy: policy.clone(),
        audit: audit.clone(),
        limits,
        index: Arc::new(index),
        access: AccessStore::load(blob.clone(), keyring.clone())
            .await
            .map_err(|e| format!("cannot load access requests: {}", describe(&e)))?,
        masking: load_masking(&config)?,
        access_limits: AccessLimits {
            default_days: config.access.default_days,
            max_days: config.access.max_days,
        },
        clock,
        extractor: Arc::new(open_extractor(&config)?),
        calendar,
    });
    let caught_up = archive
        .catch_up_index_from(indexed)
        .await
        .map_err(|e| format!("cannot bring the search index up to date: {}", describe(&e)))?;
    if caught_up > 0 {
        tracing::info!(
            documents = caught_up,
            "search index caught up with the archive"
        );
    }
    let accounts = Accounts::new(
        users,
        tokens,
        policy.clone(),
        audit.clone(),
        crate::auth::throttle::ThrottleConfig {
            max_failures: config.auth.max_failed_logins.max(1),
            lockout: std::time::Duration::from_secs(config.auth.lockout_secs),
        },
        external,
    );
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
    let auditing = Auditing {
        log: audit,
        blob: blob.clone(),
        keyring: keyring.clone(),
        signer,
        sealer,
        policy: policy.clone(),
    };
    let metrics = crate::metrics::Metrics::default();
    metrics
        .catalog_from_snapshot
        .set(i64::from(loaded.from_snapshot));
    metrics
        .catalog_manifests_read
        .set(loaded.manifests_read as i64);
    Ok(AppState {
        archive,
        accounts,
        auditing,
        metrics,
        blob,
        config,
        start: loaded,
    })
}

fn describe(e: &crate::error::Error) -> String {
    use std::error::Error as _;
    match e.source() {
        Some(s) => format!("{e}: {s}"),
        None => e.to_string(),
    }
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

fn read_key_file(path: &Path) -> Result<MasterKey, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read master key file {}: {e}", path.display()))?;
    let bytes =
        parse_key_text(&text).map_err(|e| format!("master key file {}: {e}", path.display()))?;
    MasterKey::from_bytes(&bytes)
}

/// The master key from configuration, or from the key file, created on first start.
fn load_keyring(config: &Config) -> Result<Keyring, String> {
    let active = if !config.crypto.master_key.expose_secret().is_empty() {
        MasterKey::from_bytes(
            &parse_key_text(config.crypto.master_key.expose_secret())
                .map_err(|e| format!("crypto.master_key: {e}"))?,
        )?
    } else if !config.crypto.master_key_file.is_empty() {
        read_key_file(Path::new(&config.crypto.master_key_file))?
    } else {
        let path = config.data_dir.join("keys").join("master.key");
        if !path.exists() {
            let key: [u8; 32] = random_bytes();
            write_secret_file(&path, format!("{}\n", hex::encode(key)).as_bytes())?;
            tracing::warn!(path = %path.display(), "created a new master key; back it up: without it the archive cannot be read");
        }
        read_key_file(&path)?
    };
    let mut ring = Keyring::new(active);
    for file in &config.crypto.retired_key_files {
        ring.add_retired(read_key_file(Path::new(file))?);
    }
    Ok(ring)
}

/// Refuses to start with a master key that does not match the archive.
/// Checks the configured master key against the store's key check object (made
/// at the first start). Returns an identity of the store: a hash of that
/// object, which is random, so another store (or a fresh one) differs.
async fn check_master_key(blob: &BlobStore, keyring: &Keyring) -> Result<String, String> {
    let path = ObjectPath::from(KEYCHECK);
    let identity = |bytes: &[u8]| hex::encode(sha2::Sha256::digest(bytes));
    match blob
        .get(&path)
        .await
        .map_err(|e| format!("object store: {}", describe(&e)))?
    {
        Some(bytes) => match keyring.open(KEYCHECK, &bytes) {
            Ok(_) => Ok(identity(&bytes)),
            Err(CryptoError::UnknownKey(id)) => Err(format!(
                "wrong master key: the archive was written with master key {id}, but the configured key is {}",
                keyring.active_id()
            )),
            Err(e) => Err(format!("wrong master key or damaged key check object: {e}")),
        },
        None => {
            let sealed = keyring.seal(KEYCHECK, b"dangan key check");
            let id = identity(&sealed);
            blob.put(&path, sealed)
                .await
                .map_err(|e| format!("object store: {}", describe(&e)))?;
            Ok(id)
        }
    }
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

/// Writes a new secret file with mode 0600 and syncs it and its directory.
pub fn write_secret_file(path: &Path, bytes: &[u8]) -> Result<(), String> {
    use std::os::unix::fs::OpenOptionsExt;
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| format!("cannot sync {}: {e}", dir.display()))?;
    Ok(())
}
