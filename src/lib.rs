//! dangan (档案): a document archive and retrieval server for car dealerships.
//!
//! Layers, lowest first. A module imports only from its own layer or a lower
//! one, and the import graph of the top-level modules has no cycle
//! (`tests/api/architecture.rs` reads this list and checks both):
//!
//! 1. `domain`, `error`, `clock`, `config`, `metrics`, `memory`, `printing` —
//!    parsed values (VIN, plate, archive number, metadata, levels, the
//!    principal), the closed list of error codes, time, configuration,
//!    counters, printable PDF pages.
//! 2. `storage` — the object store, envelope and stream encryption, manifests,
//!    key files.
//! 3. `extract` — text from uploaded files, parsed only in child processes
//!    with limits (a hostile file costs a child, never the server).
//! 4. `index` — the tantivy index: schema, Chinese analysis, the one writer.
//! 5. `audit` — the retrieval log: durable, hash-chained, checkpointed, verified.
//! 6. `auth` — tokens, users, accounts, the role × action table and the
//!    permission proof (`auth::guard::Permitted`) a use case takes.
//! 7. `archive` — the use cases, one service per resource (documents, search,
//!    access requests, records, maintenance, auditing) and the one writer of
//!    document changes.
//! 8. `api`, `web` — HTTP: the API's route table and one handler file per
//!    resource; the web front desk's pages, sessions and assets. A handler (of
//!    either) extracts the caller, parses, calls one use case, maps the result.
//!    `web` may use `api`'s parsing, never the other way round.
//! 9. `open`, `schedules`, `tls` — opening the parts in order; background
//!    work; the HTTPS certificate.
//! 10. `startup` — building, binding and running the server.
//! 11. `import` — the bulk import (`dangan import`, spec §10): a client of a
//!     running server's API, as a clerk would file.
//! 12. `corpus` — synthetic records and hostile files for tests and the
//!     benchmark (feature `test-support`; never in the server).
//!
//! actix-web is imported only by `api`, `web`, `auth::extractor`, `startup` and `error`.

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
pub mod import;
pub mod index;
pub mod memory;
pub mod metrics;
pub mod open;
pub mod printing;
pub mod schedules;
pub mod startup;
pub mod storage;
pub mod tls;
pub mod web;
