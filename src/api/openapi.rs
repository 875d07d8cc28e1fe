//! The OpenAPI 3.1 document served at `/api/v1/openapi.json`, built from one
//! table of every endpoint: method, path, the permission it needs, its query
//! parameters, its body and its answers. Request bodies and errors have full
//! schemas; success bodies are described by their media type and the README.

use serde_json::{Map, Value, json};

/// What an endpoint takes as a body.
#[derive(Clone, Copy)]
enum Body {
    None,
    /// A JSON body described by the named schema in `components.schemas`.
    Json(&'static str),
    /// A JSON body that may also be left empty.
    OptionalJson(&'static str),
    Multipart(&'static [&'static str]),
}

struct Endpoint {
    method: &'static str,
    path: &'static str,
    /// The permission (schema/roles.toml); `None` for open endpoints.
    action: Option<&'static str>,
    summary: &'static str,
    query: &'static [&'static str],
    body: Body,
    success: u16,
}

const fn ep(
    method: &'static str,
    path: &'static str,
    action: Option<&'static str>,
    summary: &'static str,
    query: &'static [&'static str],
    body: Body,
    success: u16,
) -> Endpoint {
    Endpoint {
        method,
        path,
        action,
        summary,
        query,
        body,
        success,
    }
}

const ENDPOINTS: &[Endpoint] = &[
    ep(
        "post",
        "/auth/login",
        None,
        "log in: {username, password} -> {access_token, token_type, expires_in}",
        &[],
        Body::Json("Login"),
        200,
    ),
    ep(
        "get",
        "/auth/me",
        Some("auth.me"),
        "the caller: username, roles, branch, clearance",
        &[],
        Body::None,
        200,
    ),
    ep(
        "post",
        "/users",
        Some("users.manage"),
        "create a user: {username, password, roles, branch, clearance}",
        &[],
        Body::Json("NewUser"),
        201,
    ),
    ep(
        "get",
        "/users",
        Some("users.manage"),
        "list users",
        &[],
        Body::None,
        200,
    ),
    ep(
        "patch",
        "/users/{username}",
        Some("users.manage"),
        "change or disable a user",
        &[],
        Body::Json("UserChange"),
        200,
    ),
    ep(
        "get",
        "/classification",
        Some("classification.read"),
        "the classification scheme in force",
        &[],
        Body::None,
        200,
    ),
    ep(
        "post",
        "/documents",
        Some("documents.file"),
        "file a document: part `metadata` (JSON) then part `file`",
        &[],
        Body::Multipart(&["metadata", "file"]),
        201,
    ),
    ep(
        "get",
        "/documents/{id}",
        Some("documents.read"),
        "a document's metadata (id or archive number), PII masked",
        &[],
        Body::None,
        200,
    ),
    ep(
        "patch",
        "/documents/{id}",
        Some("documents.correct"),
        "correct metadata: {changes (merge patch), reason}",
        &[],
        Body::Json("Correction"),
        200,
    ),
    ep(
        "get",
        "/documents/{id}/content",
        Some("documents.content"),
        "a version's bytes, decrypted and verified",
        &["version"],
        Body::None,
        200,
    ),
    ep(
        "get",
        "/documents/{id}/versions",
        Some("documents.read"),
        "the version list",
        &[],
        Body::None,
        200,
    ),
    ep(
        "post",
        "/documents/{id}/versions",
        Some("documents.version"),
        "add a version: part `reason` then part `file`",
        &[],
        Body::Multipart(&["reason", "file"]),
        201,
    ),
    ep(
        "put",
        "/documents/{id}/legal-hold",
        Some("documents.hold"),
        "set or lift a legal hold: {hold, reason}",
        &[],
        Body::Json("LegalHold"),
        200,
    ),
    ep(
        "get",
        "/vehicles/{vin}/documents",
        Some("documents.read"),
        "a vehicle's archive, newest first",
        &[],
        Body::None,
        200,
    ),
    ep(
        "get",
        "/search",
        Some("documents.read"),
        "search -> {total, hits, facets}",
        &[
            "q", "category", "branch", "vin", "plate", "order_no", "from", "to", "page",
            "per_page", "sort",
        ],
        Body::None,
        200,
    ),
    ep(
        "post",
        "/access-requests",
        Some("access.request"),
        "ask for access: {document_id | vin, purpose, days}",
        &[],
        Body::Json("AccessRequest"),
        201,
    ),
    ep(
        "get",
        "/access-requests",
        Some("access.request"),
        "one's requests, and a supervisor's branch's",
        &["status"],
        Body::None,
        200,
    ),
    ep(
        "post",
        "/access-requests/{id}/approve",
        Some("access.decide"),
        "approve a request: optional {note}",
        &[],
        Body::OptionalJson("Decision"),
        200,
    ),
    ep(
        "post",
        "/access-requests/{id}/reject",
        Some("access.decide"),
        "reject a request: optional {note}",
        &[],
        Body::OptionalJson("Decision"),
        200,
    ),
    ep(
        "post",
        "/access-requests/{id}/revoke",
        Some("access.decide"),
        "revoke a grant: optional {note}",
        &[],
        Body::OptionalJson("Decision"),
        200,
    ),
    ep(
        "get",
        "/retention/due",
        Some("retention.read"),
        "records past retention, not on hold",
        &["as_of"],
        Body::None,
        200,
    ),
    ep(
        "post",
        "/disposals",
        Some("disposals.propose"),
        "propose a disposal batch: {document_ids, reason}",
        &[],
        Body::Json("Proposal"),
        201,
    ),
    ep(
        "post",
        "/disposals/{id}/approve",
        Some("disposals.approve"),
        "approve and execute a batch (not the proposer)",
        &[],
        Body::None,
        200,
    ),
    ep(
        "post",
        "/disposals/{id}/reject",
        Some("disposals.approve"),
        "turn a batch down, optionally {note}: nothing is destroyed, its documents may be proposed again",
        &[],
        Body::OptionalJson("Decision"),
        200,
    ),
    ep(
        "get",
        "/disposals/{id}",
        Some("disposals.read"),
        "the register entry: JSON, CSV (format=csv) or the PDF certificate (format=pdf)",
        &["format"],
        Body::None,
        200,
    ),
    ep(
        "get",
        "/audit/events",
        Some("audit.read"),
        "retrieval-log records -> {events, next_cursor}, or CSV",
        &[
            "user", "document", "vin", "action", "outcome", "from", "to", "cursor", "limit",
            "format",
        ],
        Body::None,
        200,
    ),
    ep(
        "get",
        "/audit/verify",
        Some("audit.read"),
        "seal, then verify the log, anchored in the signed checkpoints -> {ok, status, records_checked, first_bad_seq, head, problem, anchored_through, unanchored_from}; checkpoint=SEQ:HASH checks one the auditor kept",
        &["checkpoint"],
        Body::None,
        200,
    ),
    ep(
        "get",
        "/audit/checkpoints",
        Some("audit.read"),
        "the signed checkpoints and the public key",
        &[],
        Body::None,
        200,
    ),
    ep(
        "post",
        "/admin/reindex",
        Some("index.rebuild"),
        "rebuild the search index",
        &[],
        Body::None,
        200,
    ),
    ep(
        "get",
        "/admin/key-rotation",
        Some("keys.read"),
        "the active master key and the state of the server's key rotation",
        &[],
        Body::None,
        200,
    ),
    ep(
        "get",
        "/openapi.json",
        None,
        "this document",
        &[],
        Body::None,
        200,
    ),
];

/// The type of a query parameter, by name (the same name means the same thing
/// on every endpoint).
fn query_schema(name: &str) -> Value {
    match name {
        "page" | "per_page" | "limit" => json!({"type": "integer", "minimum": 1}),
        "from" | "to" | "as_of" => json!({"type": "string", "format": "date"}),
        "sort" => json!({"type": "string", "enum": ["relevance", "date"]}),
        "status" => {
            json!({"type": "string", "enum": ["pending", "approved", "rejected", "revoked"]})
        }
        _ => json!({"type": "string"}),
    }
}

/// The request bodies (all refuse unknown fields) and the error body.
fn schemas() -> Value {
    let role =
        json!({"type": "string", "enum": ["clerk", "staff", "supervisor", "auditor", "admin"]});
    let level =
        json!({"type": "string", "enum": ["public", "internal", "confidential", "restricted"]});
    let branch = json!({"type": "string", "description": "store code (2-8 upper-case letters and digits) or *"});
    let object = |required: &[&str], properties: Value| json!({"type": "object", "additionalProperties": false, "required": required, "properties": properties});
    json!({
        "Error": {
            "type": "object",
            "required": ["error"],
            "properties": {"error": {"type": "object", "required": ["code", "message"], "properties": {"code": {"type": "string"}, "message": {"type": "string"}}}}
        },
        "Login": object(&["username", "password"], json!({"username": {"type": "string"}, "password": {"type": "string"}})),
        "NewUser": object(&["username", "password", "roles", "branch", "clearance"], json!({
            "username": {"type": "string"}, "password": {"type": "string"},
            "roles": {"type": "array", "items": role}, "branch": branch, "clearance": level})),
        "UserChange": object(&[], json!({
            "password": {"type": "string"}, "roles": {"type": "array", "items": role},
            "branch": branch, "clearance": level, "disabled": {"type": "boolean"}})),
        "Correction": object(&["changes", "reason"], json!({
            "changes": {"type": "object", "description": "JSON merge patch over the metadata"},
            "reason": {"type": "string"}})),
        "LegalHold": object(&["hold", "reason"], json!({"hold": {"type": "boolean"}, "reason": {"type": "string"}})),
        "AccessRequest": object(&["purpose"], json!({
            "document_id": {"type": "string"}, "vin": {"type": "string"}, "purpose": {"type": "string"},
            "days": {"type": "integer", "minimum": 1}, "contact": {"type": "boolean"}})),
        "Decision": object(&[], json!({"note": {"type": "string"}})),
        "Proposal": object(&["document_ids", "reason"], json!({
            "document_ids": {"type": "array", "items": {"type": "string"}}, "reason": {"type": "string"}})),
    })
}

fn error_response(description: &str) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}})
}

/// The whole document.
pub fn document() -> Value {
    let mut paths = Map::new();
    for e in ENDPOINTS {
        let mut params: Vec<Value> = e
            .path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
            .collect();
        params.extend(e.query.iter().map(
            |q| json!({"name": q, "in": "query", "required": false, "schema": query_schema(q)}),
        ));
        let mut responses = Map::new();
        responses.insert(e.success.to_string(), json!({"description": "success"}));
        for (code, what) in [
            ("400", "bad input"),
            ("404", "unknown, or not visible to the caller"),
            ("409", "conflict"),
            ("413", "too large"),
            ("415", "unsupported media type"),
            ("422", "invalid metadata or values"),
            ("429", "too many failed logins"),
            ("500", "internal or integrity error"),
            ("503", "object store or retrieval log unavailable"),
            ("507", "storage full"),
        ] {
            responses.insert(code.into(), error_response(what));
        }
        let mut op = json!({"summary": e.summary, "parameters": params, "responses": responses});
        if let Some(action) = e.action {
            op["security"] = json!([{"bearer": []}]);
            op["x-dangan-permission"] = json!(action);
            op["responses"]["401"] = error_response("no, invalid or expired token");
            op["responses"]["403"] = error_response("the caller's roles do not allow this");
        }
        match e.body {
            Body::None => {}
            Body::Json(schema) | Body::OptionalJson(schema) => {
                let required = matches!(e.body, Body::Json(_));
                op["requestBody"] = json!({"required": required, "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{schema}")}}}})
            }
            Body::Multipart(parts) => {
                let props: Map<String, Value> = parts
                    .iter()
                    .map(|p| (p.to_string(), json!({"type": "string", "format": "binary"})))
                    .collect();
                op["requestBody"] = json!({"required": true, "content": {"multipart/form-data": {"schema": {"type": "object", "properties": props, "required": parts}}}});
            }
        }
        let path = paths
            .entry(format!("/api/v1{}", e.path))
            .or_insert_with(|| json!({}));
        path[e.method] = op;
    }
    json!({
        "openapi": "3.1.0",
        "info": {"title": "dangan", "version": env!("CARGO_PKG_VERSION"), "description": "Document archive and retrieval server for car dealerships (档案)"},
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
            "schemas": schemas()
        }
    })
}

pub async fn serve() -> actix_web::HttpResponse {
    actix_web::HttpResponse::Ok().json(document())
}
