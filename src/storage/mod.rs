//! Everything that reaches the object store, and how: the store itself
//! ([`blob`]), envelope encryption ([`envelope`]), chunked content encryption
//! ([`stream`]) and document manifests ([`manifest`]).
//!
//! Layout in the store (no plaintext anywhere; ids are random):
//!
//! ```text
//! system/keycheck                 sealed marker proving the master key matches
//! system/users                    sealed user list
//! docs/<id>/manifest              sealed manifest: metadata, PII, versions, history
//! docs/<id>/content/<version>     encrypted content stream of one version
//! ```

pub mod blob;
pub mod envelope;
pub mod manifest;
pub mod stream;

pub use blob::BlobStore;
