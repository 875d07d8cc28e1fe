//! The OpenAPI 3.1 document served at `/api/v1/openapi.json`, built from the
//! route table ([`super::routes::ROUTES`]): method, path, the permission it
//! needs, its query parameters, its body and its answers; the error codes
//! come from the registry in `crate::error`. Request bodies and errors have full
//! schemas; success bodies are described by their media type and the README.

use serde_json::{Map, Value, json};

use super::routes::{Body, ROUTES};

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
            "properties": {"error": {"type": "object", "required": ["code", "message"], "properties": {"code": {"type": "string", "enum": crate::error::Code::ALL.iter().map(|c| c.as_str()).collect::<Vec<_>>()}, "message": {"type": "string"}}}}
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
        "Decision": object(&[], json!({"note": {"type": "string"}, "days": {"type": "integer", "minimum": 1}})),
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
    for e in ROUTES {
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
        if let Some(action) = e.permission.map(|a| a.as_str()) {
            op["security"] = json!([{"bearer": []}]);
            op["x-dangan-permission"] = json!(action);
            op["responses"]["401"] = error_response("no, invalid or expired token");
            op["responses"]["403"] = error_response("the caller's roles do not allow this");
        } else if e.body.schema() == Some("Login") {
            op["responses"]["401"] =
                error_response("unknown user, wrong password, or disabled account");
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
        let path = paths.entry(e.path.to_string()).or_insert_with(|| json!({}));
        op["x-dangan-handler"] = json!(e.handler);
        path[e.method.to_lowercase()] = op;
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
