//! The API test binary: every behaviour a user relies on, through the real
//! application on a loopback port (`helpers::spawn_app`).

mod access;
mod architecture;
mod audit;
mod audit_records;
mod bad_input;
mod crash;
mod crash_harness;
mod disk_full;
mod disposal;
mod evidence;
mod extraction;
mod filing;
mod free_text_pii;
mod front_desk;
mod grants;
mod hardening;
mod helpers;
mod hostile;
mod idp;
mod integrity;
mod large_files;
mod matrix;
mod process;
mod purge_retry;
mod retention;
mod scale;
mod search;
mod side_doors;
mod snapshot;
mod soak;
mod stats;
mod storage_conformance;
mod store_faults;
mod tls;
mod users;
