//! Who the caller is and what they may do: passwords, tokens, users, and the
//! role × action table with the per-document rules of spec §3.
//!
//! Only [`extractor`] knows about HTTP; everything else is plain Rust.

pub mod accounts;
pub mod external;
pub mod extractor;
pub mod guard;
pub mod hashing;
pub mod policy;
pub mod sessions;
pub mod throttle;
pub mod tokens;
pub mod users;

pub use policy::{Action, Policy};
pub use users::{Principal, User, UserStore};
