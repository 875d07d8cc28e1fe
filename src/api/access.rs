//! `/access-requests`: ask for access (调阅), decide, revoke.

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::json;

use crate::archive::AccessRequests;
use crate::archive::access::{NewRequest, Status};
use crate::auth::extractor::{Authorized, AuthorizedJson, perm};
use crate::error::{Code, Error, Result};

pub async fn create(
    request: AuthorizedJson<perm::AccessRequest, NewRequest>,
    access: web::Data<AccessRequests>,
) -> Result<HttpResponse> {
    Ok(HttpResponse::Created().json(access.request_access(&request.caller, request.body).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    status: Option<Status>,
}

pub async fn list(
    caller: Authorized<perm::AccessRequest>,
    access: web::Data<AccessRequests>,
    params: web::Query<ListParams>,
) -> Result<HttpResponse> {
    let requests = access.list_access(&caller, params.status).await?;
    Ok(HttpResponse::Ok().json(json!({"requests": requests})))
}

/// `GET /access-requests/queue`: the supervisor's approval queue.
pub async fn queue(
    caller: Authorized<perm::AccessDecide>,
    access: web::Data<AccessRequests>,
) -> Result<HttpResponse> {
    Ok(HttpResponse::Ok().json(access.queue(&caller).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Decision {
    note: Option<String>,
    /// Approval only: fewer days than asked.
    days: Option<u32>,
}

/// The optional `{note, days}` body of a decision; an empty body means
/// neither.
fn decision(body: &[u8]) -> Result<Decision> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Decision {
            note: None,
            days: None,
        });
    }
    let d: Decision = serde_json::from_slice(body).map_err(|e| {
        if e.is_data() {
            Error::new(Code::InvalidBody, e.to_string())
        } else {
            Error::new(Code::InvalidJson, e.to_string())
        }
    })?;
    Ok(d)
}

async fn decide(
    caller: Authorized<perm::AccessDecide>,
    access: web::Data<AccessRequests>,
    id: web::Path<String>,
    body: web::Bytes,
    to: Status,
) -> Result<HttpResponse> {
    let d = decision(&body)?;
    let decided = access.decide(&caller, &id, to, d.note, d.days).await?;
    Ok(HttpResponse::Ok().json(decided))
}

pub async fn approve(
    caller: Authorized<perm::AccessDecide>,
    access: web::Data<AccessRequests>,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse> {
    decide(caller, access, id, body, Status::Approved).await
}

pub async fn reject(
    caller: Authorized<perm::AccessDecide>,
    access: web::Data<AccessRequests>,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse> {
    decide(caller, access, id, body, Status::Rejected).await
}

pub async fn revoke(
    caller: Authorized<perm::AccessDecide>,
    access: web::Data<AccessRequests>,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse> {
    decide(caller, access, id, body, Status::Revoked).await
}
