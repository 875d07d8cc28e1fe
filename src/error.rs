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

/// Declares the closed list of error codes: each code once, with the kind that
/// decides its status. A code that is not listed here cannot be given to an
/// [`Error`], so one code can never mean 400 in one place and 422 in another.
macro_rules! error_codes {
    ($($(#[doc = $doc:literal])* $variant:ident = $code:literal => $kind:ident;)*) => {
        /// Every stable, machine-readable error code the API answers with.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Code {
            $($(#[doc = $doc])* $variant,)*
        }

        impl Code {
            /// Every code, in the order of the list.
            pub const ALL: &'static [Code] = &[$(Code::$variant),*];

            /// The code as it appears in the body: `{"error": {"code": ..}}`.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Code::$variant => $code,)*
                }
            }

            /// The kind, and so the one HTTP status, of this code.
            pub fn kind(self) -> ErrorKind {
                match self {
                    $(Code::$variant => ErrorKind::$kind,)*
                }
            }
        }
    };
}

error_codes! {
    /// The document was already destroyed.
    AlreadyDisposed = "already_disposed" => Conflict;
    /// The thing to create exists already.
    AlreadyExists = "already_exists" => Conflict;
    /// The document is in an open disposal batch.
    AlreadyProposed = "already_proposed" => Conflict;
    /// The retrieval log cannot take a record, so nothing is served.
    AuditUnavailable = "audit_unavailable" => Unavailable;
    /// The file arrived other than its sender declared (SHA-256 or size).
    ContentMismatch = "content_mismatch" => Invalid;
    /// The request body is above its limit.
    BodyTooLarge = "body_too_large" => TooLarge;
    /// The caller or request needs a branch.
    BranchRequired = "branch_required" => Invalid;
    /// The server is at capacity for this work; try again shortly.
    Busy = "busy" => Unavailable;
    /// A multipart part appears twice.
    DuplicatePart = "duplicate_part" => BadRequest;
    /// The uploaded file has no bytes.
    EmptyFile = "empty_file" => Invalid;
    /// The search names nothing to look for.
    EmptyQuery = "empty_query" => BadRequest;
    /// The multipart body has no file part.
    FileMissing = "file_missing" => BadRequest;
    /// The file is above the upload limit.
    FileTooLarge = "file_too_large" => TooLarge;
    /// The caller's roles or the document's rules refuse the action.
    Forbidden = "forbidden" => Forbidden;
    /// Stored data failed its integrity check.
    IntegrityError = "integrity_error" => Integrity;
    /// An unexpected failure; the request id finds it in the server log.
    Internal = "internal" => Internal;
    /// A disposal batch lists nothing or something not due.
    InvalidBatch = "invalid_batch" => Invalid;
    /// The JSON body is well formed but a field is wrong.
    InvalidBody = "invalid_body" => Invalid;
    /// The branch parameter is malformed.
    InvalidBranch = "invalid_branch" => BadRequest;
    /// The category parameter is not in the scheme.
    InvalidCategory = "invalid_category" => BadRequest;
    /// The checkpoint parameter is malformed.
    InvalidCheckpoint = "invalid_checkpoint" => BadRequest;
    /// Wrong username or password.
    InvalidCredentials = "invalid_credentials" => Unauthenticated;
    /// The date range is malformed or reversed.
    InvalidDates = "invalid_dates" => BadRequest;
    /// The grant duration is out of range.
    InvalidDays = "invalid_days" => Invalid;
    /// The export format is unknown.
    InvalidFormat = "invalid_format" => BadRequest;
    /// The body is not JSON.
    InvalidJson = "invalid_json" => BadRequest;
    /// The document metadata breaks a rule of its category.
    InvalidMetadata = "invalid_metadata" => Invalid;
    /// The multipart body is malformed.
    InvalidMultipart = "invalid_multipart" => BadRequest;
    /// A decision note is too long or has control characters.
    InvalidNote = "invalid_note" => Invalid;
    /// The page or page size is out of range.
    InvalidPage = "invalid_page" => BadRequest;
    /// A path parameter is malformed.
    InvalidPath = "invalid_path" => BadRequest;
    /// The plate parameter is malformed.
    InvalidPlate = "invalid_plate" => BadRequest;
    /// A query parameter is malformed.
    InvalidQuery = "invalid_query" => BadRequest;
    /// The `source` part of a filing is malformed.
    InvalidSource = "invalid_source" => Invalid;
    /// The reason is too long, has control characters or is not UTF-8.
    InvalidReason = "invalid_reason" => Invalid;
    /// An access request names no valid document or vehicle.
    InvalidRequest = "invalid_request" => Invalid;
    /// A role is unknown or roles are missing.
    InvalidRoles = "invalid_roles" => Invalid;
    /// The sort parameter is unknown.
    InvalidSort = "invalid_sort" => BadRequest;
    /// The request or batch was already decided.
    InvalidState = "invalid_state" => Conflict;
    /// The token is malformed, expired or not ours.
    InvalidToken = "invalid_token" => Unauthenticated;
    /// The username breaks the naming rule.
    InvalidUsername = "invalid_username" => Invalid;
    /// The VIN parameter is malformed or fails its check digit.
    InvalidVin = "invalid_vin" => BadRequest;
    /// The document is under legal hold.
    LegalHold = "legal_hold" => Invalid;
    /// The multipart body has no metadata part.
    MetadataMissing = "metadata_missing" => BadRequest;
    /// The document is already in the asked state.
    NoChange = "no_change" => Conflict;
    /// Unknown, or not visible to the caller.
    NotFound = "not_found" => NotFound;
    /// A correction that changes nothing.
    NothingToCorrect = "nothing_to_correct" => Invalid;
    /// A multipart text part is above its limit.
    PartTooLarge = "part_too_large" => TooLarge;
    /// An access request needs a purpose.
    PurposeRequired = "purpose_required" => Invalid;
    /// The same source file is being filed by another request.
    SourceInProgress = "source_in_progress" => Conflict;
    /// The search text is above its limit.
    QueryTooLong = "query_too_long" => BadRequest;
    /// The multipart body has no reason part.
    ReasonMissing = "reason_missing" => BadRequest;
    /// The change needs a reason.
    ReasonRequired = "reason_required" => Invalid;
    /// The document's retention period has not ended.
    RetentionRunning = "retention_running" => Invalid;
    /// The disk under the store or log is full; nothing was stored.
    StorageFull = "storage_full" => InsufficientStorage;
    /// The object store is unavailable.
    StorageUnavailable = "storage_unavailable" => Unavailable;
    /// The token was revoked (logout, disable, role change).
    TokenRevoked = "token_revoked" => Unauthenticated;
    /// Too many failed logins; wait for the lockout to end.
    TooManyAttempts = "too_many_attempts" => TooManyRequests;
    /// A token is required.
    Unauthenticated = "unauthenticated" => Unauthenticated;
    /// The multipart body has a part this endpoint does not take.
    UnknownPart = "unknown_part" => BadRequest;
    /// The request body could not be read.
    UnreadableBody = "unreadable_body" => BadRequest;
    /// The endpoint does not take this content type.
    UnsupportedMediaType = "unsupported_media_type" => UnsupportedMediaType;
    /// The account is disabled.
    UserDisabled = "user_disabled" => Unauthenticated;
    /// A user of that name exists (names are case-insensitive).
    UserExists = "user_exists" => Conflict;
    /// The password is too short or too common.
    WeakPassword = "weak_password" => Invalid;
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Compares with the code as it appears in a body (`code == "not_found"`).
impl PartialEq<&str> for Code {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

type Source = Box<dyn std::error::Error + Send + Sync + 'static>;

/// The one error type of the service layer.
pub struct Error {
    pub kind: ErrorKind,
    pub code: Code,
    message: String,
    source: Option<Source>,
}

impl Error {
    /// An error with `code`; its kind (and so its status) is the code's.
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Error {
            kind: code.kind(),
            code,
            message: message.into(),
            source: None,
        }
    }

    pub fn with_source(mut self, source: impl Into<Source>) -> Self {
        self.source = Some(source.into());
        self
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(Code::NotFound, format!("{what} not found"))
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(Code::Forbidden, message)
    }

    /// The disk is full: nothing was stored, and the access was refused.
    pub fn storage_full() -> Self {
        Self::new(
            Code::StorageFull,
            "the server's storage is full; nothing was stored and the request was refused",
        )
    }

    pub fn integrity(message: impl Into<String>) -> Self {
        Self::new(Code::IntegrityError, message)
    }

    /// An unexpected failure: the message is for the log, never for the client.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(Code::Internal, message)
    }

    /// The message and its cause, for an operator (start-up failures, logs);
    /// never for a client.
    pub fn describe(&self) -> String {
        match &self.source {
            Some(s) => format!("{}: {s}", self.message),
            None => self.message.clone(),
        }
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
fn error_response(status: StatusCode, code: &str, message: &str) -> HttpResponse {
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
            tracing::error!(code = self.code.as_str(), error = ?self, "request failed");
        }
        error_response(
            self.status_code(),
            self.code.as_str(),
            self.public_message(),
        )
    }
}

impl From<object_store::Error> for Error {
    fn from(err: object_store::Error) -> Self {
        match err {
            object_store::Error::NotFound { .. } => {
                Error::new(Code::NotFound, "object not found").with_source(err)
            }
            other if disk_full(&other) => Error::storage_full().with_source(other),
            other => Error::new(Code::StorageUnavailable, "the object store is unavailable")
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
    fn every_code_is_listed_once_with_one_status() {
        let mut seen = std::collections::HashMap::new();
        for code in Code::ALL {
            let status = code.kind().status().as_u16();
            if let Some(other) = seen.insert(code.as_str(), status) {
                panic!("code {code} is listed twice: {other} and {status}");
            }
            let snake = code
                .as_str()
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b == b'_');
            assert!(snake, "code {code} is not snake_case");
        }
        assert_eq!(Code::NothingToCorrect.kind().status().as_u16(), 422);
        assert_eq!(Code::NoChange.kind().status().as_u16(), 409);
        assert_eq!(Code::InvalidVin.kind().status().as_u16(), 400);
    }

    #[test]
    fn kinds_map_to_statuses() {
        assert_eq!(ErrorKind::Invalid.status().as_u16(), 422);
        assert_eq!(ErrorKind::TooLarge.status().as_u16(), 413);
        assert_eq!(ErrorKind::NotFound.status().as_u16(), 404);
        assert_eq!(ErrorKind::Unavailable.status().as_u16(), 503);
    }
}
