//! Building the application: configuration in, a bound listener and a running
//! server out. `Application::build` opens the parts (`crate::open`), starts
//! the schedules (`crate::schedules`), binds the listener itself and exposes
//! `port()`, so tests run the real application on port 0.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{Server, ServiceRequest, ServiceResponse};
use actix_web::middleware::{Next, from_fn};
use actix_web::{App, HttpMessage, HttpServer, web};

use crate::auth::extractor::RequestId;
use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::metrics::Metrics;
use crate::open::AppState;

pub use crate::open::SNAPSHOT_FILE;

pub struct Application {
    server: Server,
    port: u16,
    state: Arc<AppState>,
}

impl Application {
    /// Opens every part (store, keys, users, log, catalog) and binds the listener.
    /// Any failure is a sentence saying what to fix.
    pub async fn build(config: Config) -> Result<Self, String> {
        Self::build_with_clock(config, Arc::new(SystemClock)).await
    }

    /// Like [`Application::build`], with the clock grants expire by (tests).
    pub async fn build_with_clock(config: Config, clock: Arc<dyn Clock>) -> Result<Self, String> {
        // The certificate first: a broken one stops the start before any part opens.
        let tls = match config.server.tls.enabled() {
            true => Some(crate::tls::server_config(&config.server.tls)?),
            false => None,
        };
        let state = Arc::new(crate::open::open_state(config, clock).await?);
        let server = &state.config.server;
        let listener = TcpListener::bind(&server.bind)
            .map_err(|e| format!("cannot listen on {}: {e}", server.bind))?;
        let port = listener.local_addr().map_err(|e| e.to_string())?.port();
        let workers = match server.workers {
            0 => std::thread::available_parallelism().map_or(2, |n| n.get()),
            n => n,
        };
        let edge = crate::api::Edge::new(
            &state.services,
            state.accounts.clone(),
            state.auditing.clone(),
            state.metrics.clone(),
            crate::api::BodyLimits {
                max_json_bytes: server.max_json_bytes,
                max_metadata_bytes: server.max_metadata_bytes,
            },
        );
        let sessions = crate::web::sessions(&state.config.auth);
        let calendar = web::Data::new(state.auditing.calendar());
        crate::schedules::spawn_all(&state);
        let server = HttpServer::new(move || {
            App::new()
                .wrap(crate::api::security_headers())
                .wrap(from_fn(crate::api::record_unrecorded))
                .wrap(from_fn(request_id))
                .configure(|cfg| edge.configure(cfg))
                .configure(|cfg| crate::web::configure(cfg, &sessions, &calendar))
                .default_service(web::to(crate::web::not_found))
        })
        .workers(workers);
        let https = tls.is_some();
        let server = match tls {
            Some(tls) => server.listen_rustls_0_23(listener, tls),
            None => server.listen(listener),
        }
        .map_err(|e| format!("cannot start the HTTP server: {e}"))?
        .run();
        tracing::info!(port, https, "listening");
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
    if let Some(metrics) = res.request().app_data::<web::Data<Metrics>>() {
        let route = res
            .request()
            .match_pattern()
            .unwrap_or_else(|| "unmatched".into());
        metrics.observe(
            method.as_str(),
            &route,
            res.status().as_u16(),
            started.elapsed().as_secs_f64(),
        );
    }
    Ok(res)
}
