//! The closed list of error kinds and their one mapping to HTTP.
//!
//! Every module reports failures as [`Error`]: a [`ErrorKind`] that decides the
//! HTTP status, a stable snake_case `code` for machines, a message that is safe to
//! show a user, and an optional source that only ever goes to the log. Internal
//! errors never reach the client with their cause: the client gets a fixed message
//! and the request id under which the cause was logged.

use std::fmt;

use actix_web::{HttpResponse, ResponseError, http::StatusCode};
use serde::Serialize;

/// What went wrong, from the caller's point of view. Closed: adding a kind means
/// deciding its status here and nowhere else.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Malformed request: syntax, missing part, bad parameter (400).
    BadRequest,
    /// No, invalid, expired or revoked credentials (401).
    Unauthenticated,
    /// Authenticated but not allowed (403).
    Forbidden,
    /// Unknown, or not visible to the caller (404).
    NotFound,
    /// State conflict: duplicate user, concurrent change (409).
    Conflict,
    /// Body, file, metadata or query above a configured limit (413).
    TooLarge,
    /// Content type the endpoint does not take (415).
    UnsupportedMediaType,
    /// Well-formed but invalid metadata or values (422).
    Invalid,
    /// Too many failed attempts (429).
    TooManyRequests,
    /// Stored data failed its integrity check (500, code `integrity_error`).
    Integrity,
    /// A dependency (object store, retrieval log) is unavailable (503).
    Unavailable,
    /// The disk under the object store or the retrieval log is full (507).
    InsufficientStorage,
    /// A bug or an unexpected failure (500).
    Internal,
}

impl ErrorKind {
    pub fn status(self) -> StatusCode {
        match self {
            ErrorKind::BadRequest => StatusCode::BAD_REQUEST,
            ErrorKind::Unauthenticated => StatusCode::UNAUTHORIZED,
            ErrorKind::Forbidden => StatusCode::FORBIDDEN,
            ErrorKind::NotFound => StatusCode::NOT_FOUND,
            ErrorKind::Conflict => StatusCode::CONFLICT,
            ErrorKind::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorKind::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorKind::Invalid => StatusCode::UNPROCESSABLE_ENTITY,
            ErrorKind::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            ErrorKind::Integrity | ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ErrorKind::InsufficientStorage => StatusCode::INSUFFICIENT_STORAGE,
        }
    }
}

type Source = Box<dyn std::error::Error + Send + Sync + 'static>;

/// The one error type of the service layer.
pub struct Error {
    pub kind: ErrorKind,
    pub code: &'static str,
    message: String,
    source: Option<Source>,
}

impl Error {
    pub fn new(kind: ErrorKind, code: &'static str, message: impl Into<String>) -> Self {
        Error {
            kind,
            code,
            message: message.into(),
            source: None,
        }
    }

    pub fn with_source(mut self, source: impl Into<Source>) -> Self {
        self.source = Some(source.into());
        self
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::BadRequest, code, message)
    }

    pub fn invalid(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Invalid, code, message)
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(
            ErrorKind::NotFound,
            "not_found",
            format!("{what} not found"),
        )
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Forbidden, "forbidden", message)
    }

    pub fn unauthenticated(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unauthenticated, code, message)
    }

    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Conflict, code, message)
    }

    pub fn too_large(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::TooLarge, code, message)
    }

    pub fn unavailable(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unavailable, code, message)
    }

    /// The disk is full: nothing was stored, and the access was refused.
    pub fn storage_full() -> Self {
        Self::new(
            ErrorKind::InsufficientStorage,
            "storage_full",
            "the server's storage is full; nothing was stored and the request was refused",
        )
    }

    pub fn integrity(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Integrity, "integrity_error", message)
    }

    /// An unexpected failure: the message is for the log, never for the client.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Internal, "internal", message)
    }

    pub fn message(&self) -> &str {
        &self.message
    }

    /// What the client may see. Internal errors hide their message.
    pub fn public_message(&self) -> &str {
        match self.kind {
            ErrorKind::Internal => "internal error; the request id identifies it in the server log",
            _ => &self.message,
        }
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}/{}: {}", self.kind, self.code, self.message)?;
        if let Some(source) = &self.source {
            write!(f, " (caused by: {source})")?;
        }
        Ok(())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|s| s as &(dyn std::error::Error + 'static))
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: ErrorDetail<'a>,
}

#[derive(Serialize)]
struct ErrorDetail<'a> {
    code: &'a str,
    message: &'a str,
}

/// The JSON body every error response carries.
pub fn error_response(status: StatusCode, code: &str, message: &str) -> HttpResponse {
    HttpResponse::build(status).json(ErrorBody {
        error: ErrorDetail { code, message },
    })
}

impl ResponseError for Error {
    fn status_code(&self) -> StatusCode {
        self.kind.status()
    }

    fn error_response(&self) -> HttpResponse {
        if matches!(
            self.kind,
            ErrorKind::Internal
                | ErrorKind::Integrity
                | ErrorKind::Unavailable
                | ErrorKind::InsufficientStorage
        ) {
            tracing::error!(code = self.code, error = ?self, "request failed");
        }
        error_response(self.status_code(), self.code, self.public_message())
    }
}

impl From<object_store::Error> for Error {
    fn from(err: object_store::Error) -> Self {
        match err {
            object_store::Error::NotFound { .. } => {
                Error::new(ErrorKind::NotFound, "not_found", "object not found").with_source(err)
            }
            other if disk_full(&other) => Error::storage_full().with_source(other),
            other => Error::unavailable("storage_unavailable", "the object store is unavailable")
                .with_source(other),
        }
    }
}

/// Whether an I/O failure somewhere in `err`'s chain of causes is "no space left".
pub fn disk_full(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(err);
    while let Some(e) = cause {
        if let Some(io) = e.downcast_ref::<std::io::Error>()
            && io.kind() == std::io::ErrorKind::StorageFull
        {
            return true;
        }
        cause = e.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_errors_hide_their_message() {
        let err = Error::internal("secret path /var/x");
        assert!(!err.public_message().contains("/var/x"));
        assert_eq!(err.status_code(), StatusCode::INTERNAL_SERVER_ERROR);
    }

    #[test]
    fn kinds_map_to_statuses() {
        assert_eq!(ErrorKind::Invalid.status().as_u16(), 422);
        assert_eq!(ErrorKind::TooLarge.status().as_u16(), 413);
        assert_eq!(ErrorKind::NotFound.status().as_u16(), 404);
        assert_eq!(ErrorKind::Unavailable.status().as_u16(), 503);
    }
}
