//! dangan (档案): a document archive and retrieval server for car dealerships.
//!
//! Architecture, outside in:
//!
//! - [`api`] — HTTP handlers, one file per resource. They extract the caller
//!   (declaring the permission the route needs), parse, call one use case, map
//!   the result. Only `api`, [`auth::extractor`], [`startup`] and [`error`]
//!   import actix.
//! - [`archive`] and [`auth::accounts`] — the use cases. They own the order of
//!   work: permission, retrieval-log record, then storage.
//! - [`auth`] — tokens, users, the role × action table and per-document rules.
//! - [`audit`] — the retrieval log: durable, hash-chained, verified.
//! - [`storage`] — the object store, envelope and stream encryption, manifests.
//! - [`extract`] — text from uploaded files, parsed only in child processes
//!   with limits (a hostile file costs a child, never the server).
//! - [`domain`] — parsed values: VIN, plate, archive number, metadata, levels.
//! - [`config`] — layered configuration, checked at start.

pub mod api;
pub mod archive;
pub mod audit;
pub mod auth;
pub mod clock;
pub mod config;
#[cfg(any(test, feature = "test-support"))]
pub mod corpus;
pub mod domain;
pub mod error;
pub mod extract;
pub mod index;
pub mod memory;
pub mod metrics;
pub mod open;
pub mod schedules;
pub mod startup;
pub mod storage;
