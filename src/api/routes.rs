//! The route table: every endpoint once — method, path, handler, the
//! permission it needs, its summary and what it takes and answers. The one
//! table feeds actix ([`register`]), the OpenAPI document (`openapi.rs`) and,
//! through that document, the route × role matrix test. A route's permission
//! is checked against its handler's guard at compile time: a handler whose
//! `Authorized<perm::X>` differs from the table's `X` does not build.

use actix_web::{Handler, web};

use super::{access, admin, audit, auth, classification, documents, health, openapi};
use super::{records, search, users, vehicles};
use crate::auth::Action;
use crate::auth::extractor::{Authorized, AuthorizedJson, Permission, perm};

/// What an endpoint takes as a body (for the OpenAPI document).
#[derive(Debug, Clone, Copy)]
pub enum Body {
    None,
    /// A JSON body described by the named schema in `components.schemas`.
    Json(&'static str),
    /// A JSON body that may also be left empty.
    OptionalJson(&'static str),
    Multipart(&'static [&'static str]),
}

impl Body {
    /// The named schema of a JSON body, if it has one.
    pub fn schema(self) -> Option<&'static str> {
        match self {
            Body::Json(name) | Body::OptionalJson(name) => Some(name),
            Body::None | Body::Multipart(_) => None,
        }
    }
}

/// One endpoint.
#[derive(Debug)]
pub struct Route {
    /// Upper-case HTTP method.
    pub method: &'static str,
    /// The full path template, `{name}` for a path parameter.
    pub path: &'static str,
    /// The handler, as `module::function` under `api/`.
    pub handler: &'static str,
    /// The permission (`schema/roles.toml`); `None` for open endpoints.
    pub permission: Option<Action>,
    pub summary: &'static str,
    /// Query parameters it reads.
    pub query: &'static [&'static str],
    pub body: Body,
    /// The status of a success.
    pub success: u16,
}

/// A handler's arguments whose first is the guard of permission `P`.
pub trait GuardedBy<P> {}
impl<P> GuardedBy<P> for (Authorized<P>,) {}
impl<P, A> GuardedBy<P> for (Authorized<P>, A) {}
impl<P, A, B> GuardedBy<P> for (Authorized<P>, A, B) {}
impl<P, A, B, C> GuardedBy<P> for (Authorized<P>, A, B, C) {}
impl<P, A, B, C, D> GuardedBy<P> for (Authorized<P>, A, B, C, D) {}
impl<P, T> GuardedBy<P> for (AuthorizedJson<P, T>,) {}
impl<P, T, A> GuardedBy<P> for (AuthorizedJson<P, T>, A) {}
impl<P, T, A, B> GuardedBy<P> for (AuthorizedJson<P, T>, A, B) {}

/// Compiles only if `handler`'s guard is `Authorized<P>` (or `AuthorizedJson<P, _>`).
fn guarded<P: Permission, F: Handler<Args>, Args: GuardedBy<P>>(_: &F) {}

macro_rules! routes {
    ($($method:ident $path:literal => $module:ident::$handler:ident, $perm:ident;
        $summary:literal,
        query [$($query:literal),* $(,)?], body $body:expr, success $success:literal;)*) => {
        /// Every endpoint, in the order actix matches them.
        pub const ROUTES: &[Route] = &[$(Route {
            method: stringify!($method),
            path: $path,
            handler: concat!(stringify!($module), "::", stringify!($handler)),
            permission: routes!(@action $perm),
            summary: $summary,
            query: &[$($query),*],
            body: $body,
            success: $success,
        },)*];

        /// Registers every route of [`ROUTES`] with its handler.
        pub fn register(cfg: &mut web::ServiceConfig) {
            $(
                routes!(@check $perm, $module::$handler);
                cfg.route($path, web::method(actix_web::http::Method::$method).to($module::$handler));
            )*
        }
    };
    (@action Open) => { None };
    (@action $perm:ident) => { Some(Action::$perm) };
    (@check Open, $handler:path) => {};
    (@check $perm:ident, $handler:path) => { guarded::<perm::$perm, _, _>(&$handler) };
}

routes! {
    GET "/healthz" => health::healthz, Open;
        "liveness: the process answers",
        query [], body Body::None, success 200;
    GET "/readyz" => health::readyz, Open;
        "readiness: the object store answers; the number of documents",
        query [], body Body::None, success 200;
    GET "/metrics" => health::metrics, Open;
        "Prometheus metrics: counts and latencies only",
        query [], body Body::None, success 200;
    POST "/api/v1/auth/login" => auth::login, Open;
        "log in: {username, password} -> {access_token, token_type, expires_in}",
        query [], body Body::Json("Login"), success 200;
    GET "/api/v1/auth/me" => auth::me, AuthMe;
        "the caller: username, roles, branch, clearance",
        query [], body Body::None, success 200;
    POST "/api/v1/users" => users::create, UsersManage;
        "create a user: {username, password, roles, branch, clearance}",
        query [], body Body::Json("NewUser"), success 201;
    GET "/api/v1/users" => users::list, UsersManage;
        "list users",
        query [], body Body::None, success 200;
    PATCH "/api/v1/users/{username}" => users::update, UsersManage;
        "change or disable a user",
        query [], body Body::Json("UserChange"), success 200;
    GET "/api/v1/classification" => classification::get, ClassificationRead;
        "the classification scheme in force",
        query [], body Body::None, success 200;
    POST "/api/v1/documents" => documents::file, DocumentsFile;
        "file a document: optionally part `source` (an import's {path, sha256, size}), part `metadata` (JSON), then part `file`; 200 with the document already filed from that source",
        query [], body Body::Multipart(&["metadata", "file"]), success 201;
    GET "/api/v1/documents/{id}" => documents::get, DocumentsRead;
        "a document's metadata (id or archive number), PII masked",
        query [], body Body::None, success 200;
    PATCH "/api/v1/documents/{id}" => documents::correct, DocumentsCorrect;
        "correct metadata: {changes (merge patch), reason}",
        query [], body Body::Json("Correction"), success 200;
    GET "/api/v1/documents/{id}/content" => documents::content, DocumentsContent;
        "a version's bytes, decrypted and verified",
        query ["version"], body Body::None, success 200;
    GET "/api/v1/documents/{id}/text" => documents::text, DocumentsContent;
        "the text OCR read of the latest version -> {version, text, ocr}; 404 before OCR read it",
        query [], body Body::None, success 200;
    GET "/api/v1/documents/{id}/versions" => documents::versions, DocumentsRead;
        "the version list",
        query [], body Body::None, success 200;
    POST "/api/v1/documents/{id}/versions" => documents::add_version, DocumentsVersion;
        "add a version: part `reason` then part `file`",
        query [], body Body::Multipart(&["reason", "file"]), success 201;
    PUT "/api/v1/documents/{id}/legal-hold" => records::legal_hold, DocumentsHold;
        "set or lift a legal hold: {hold, reason}",
        query [], body Body::Json("LegalHold"), success 200;
    GET "/api/v1/vehicles/{vin}/documents" => vehicles::documents, DocumentsRead;
        "a vehicle's archive, newest first",
        query [], body Body::None, success 200;
    GET "/api/v1/search" => search::search, DocumentsRead;
        "search -> {total, hits, facets}",
        query ["q", "category", "branch", "vin", "plate", "order_no", "from", "to", "page",
            "per_page", "sort",], body Body::None, success 200;
    POST "/api/v1/access-requests" => access::create, AccessRequest;
        "ask for access: {document_id | vin, purpose, days}",
        query [], body Body::Json("AccessRequest"), success 201;
    GET "/api/v1/access-requests" => access::list, AccessRequest;
        "one's requests, and a supervisor's branch's",
        query ["status"], body Body::None, success 200;
    GET "/api/v1/access-requests/queue" => access::queue, AccessDecide;
        "the caller's approval queue: {pending (first asked first), running (grants not expired)}; never their own requests, nothing above their clearance",
        query [], body Body::None, success 200;
    POST "/api/v1/access-requests/{id}/approve" => access::approve, AccessDecide;
        "approve a request: optional {note, days} (days: 1 to the days asked)",
        query [], body Body::OptionalJson("Decision"), success 200;
    POST "/api/v1/access-requests/{id}/reject" => access::reject, AccessDecide;
        "reject a request: optional {note}",
        query [], body Body::OptionalJson("Decision"), success 200;
    POST "/api/v1/access-requests/{id}/revoke" => access::revoke, AccessDecide;
        "revoke a grant: optional {note}",
        query [], body Body::OptionalJson("Decision"), success 200;
    GET "/api/v1/retention/due" => records::retention_due, RetentionRead;
        "records past retention, not on hold",
        query ["as_of"], body Body::None, success 200;
    GET "/api/v1/legal-holds" => records::legal_holds, DocumentsHold;
        "the documents on legal hold the caller may see, with each hold's reason",
        query [], body Body::None, success 200;
    GET "/api/v1/disposals" => records::disposals, DisposalsRead;
        "the disposal register entries the caller may read, newest first",
        query ["status"], body Body::None, success 200;
    POST "/api/v1/disposals" => records::propose_disposal, DisposalsPropose;
        "propose a disposal batch: {document_ids, reason}",
        query [], body Body::Json("Proposal"), success 201;
    POST "/api/v1/disposals/{id}/approve" => records::approve_disposal, DisposalsApprove;
        "approve and execute a batch (not the proposer)",
        query [], body Body::None, success 200;
    POST "/api/v1/disposals/{id}/reject" => records::reject_disposal, DisposalsApprove;
        "turn a batch down, optionally {note}: nothing is destroyed, its documents may be proposed again",
        query [], body Body::OptionalJson("Decision"), success 200;
    GET "/api/v1/disposals/{id}" => records::disposal, DisposalsRead;
        "the register entry: JSON, CSV (format=csv) or the PDF certificate (format=pdf)",
        query ["format"], body Body::None, success 200;
    GET "/api/v1/audit/events" => audit::events, AuditRead;
        "retrieval-log records -> {events, next_cursor}, or CSV",
        query ["user", "document", "vin", "action", "outcome", "from", "to", "cursor", "limit",
            "format",], body Body::None, success 200;
    GET "/api/v1/audit/verify" => audit::verify, AuditRead;
        "seal, then verify the log, anchored in the signed checkpoints -> {ok, status, records_checked, first_bad_seq, head, problem, anchored_through, unanchored_from}; checkpoint=SEQ:HASH checks one the auditor kept",
        query ["checkpoint"], body Body::None, success 200;
    GET "/api/v1/stats" => audit::stats, StatsRead;
        "filings, reads, downloads, denials and grants per branch, category and month (auditors: all branches; others: their own); format=csv",
        query ["format"], body Body::None, success 200;
    GET "/api/v1/audit/checkpoints" => audit::checkpoints, AuditRead;
        "the signed checkpoints and the public key",
        query [], body Body::None, success 200;
    POST "/api/v1/admin/reindex" => admin::reindex, IndexRebuild;
        "rebuild the search index",
        query [], body Body::None, success 200;
    GET "/api/v1/admin/key-rotation" => admin::key_rotation, KeysRead;
        "the active master key and the state of the server's key rotation",
        query [], body Body::None, success 200;
    GET "/api/v1/openapi.json" => openapi::serve, Open;
        "this document",
        query [], body Body::None, success 200;
}
