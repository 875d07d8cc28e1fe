//! The guard every handler declares: `Authorized<perm::X>` authenticates the
//! bearer token, loads the caller's current roles, and refuses (with a
//! retrieval-log record) anyone whose roles do not allow action X — before the
//! handler body runs. A handler without it cannot learn who the caller is.

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;

use actix_web::{FromRequest, HttpMessage, HttpRequest, dev::Payload, web};
use serde_json::json;

use super::Action;
use crate::audit::{Context, Outcome};
use crate::error::Error;
use crate::startup::AppState;

/// A permission a route requires, as a type.
pub trait Permission {
    const ACTION: Action;
}

/// One zero-sized type per action, for `Authorized<perm::DocumentsRead>`.
pub mod perm {
    use super::{Action, Permission};

    macro_rules! permissions {
        ($($name:ident),*) => {$(
            pub struct $name;
            impl Permission for $name {
                const ACTION: Action = Action::$name;
            }
        )*};
    }

    permissions!(
        AuthMe,
        ClassificationRead,
        UsersManage,
        DocumentsFile,
        DocumentsRead,
        DocumentsContent,
        DocumentsVersion,
        DocumentsCorrect,
        IndexRebuild,
        KeysRead,
        AuditRead,
        AccessRequest,
        AccessDecide,
        DocumentsHold,
        RetentionRead,
        DisposalsPropose,
        DisposalsApprove,
        DisposalsRead
    );
}

/// The request id assigned by the request-id middleware.
#[derive(Clone)]
pub struct RequestId(pub String);

/// The caller's context for one request, before authentication.
pub fn request_context(req: &HttpRequest) -> Context {
    let request_id = req
        .extensions()
        .get::<RequestId>()
        .map(|r| r.0.clone())
        .unwrap_or_default();
    let client = req
        .peer_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_default();
    Context::anonymous(request_id, client)
}

/// An authenticated caller allowed to attempt `P::ACTION`.
pub struct Authorized<P> {
    pub ctx: Context,
    _permission: PhantomData<P>,
}

/// The caller of an endpoint open to everyone (login, health).
pub struct Anonymous(pub Context);

impl FromRequest for Anonymous {
    type Error = Error;
    type Future = std::future::Ready<Result<Self, Error>>;
    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(Ok(Anonymous(request_context(req))))
    }
}

/// The bearer token of a request, if it carries one.
pub fn bearer(req: &HttpRequest) -> Option<String> {
    let value = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_string())
}

impl<P: Permission + 'static> FromRequest for Authorized<P> {
    type Error = Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let mut ctx = request_context(req);
        let token = bearer(req);
        let path = req.path().to_string();
        let req = req.clone();
        Box::pin(async move {
            let state = state.ok_or_else(|| Error::internal("application state missing"))?;
            let accounts = &state.accounts;
            let principal = accounts.authenticate(&ctx, token.as_deref(), &path).await?;
            ctx.principal = Some(principal);
            // The edge records any answer of this caller's that the use case
            // did not (a malformed query, say): see `api::record_unrecorded`.
            req.extensions_mut().insert(ctx.clone());
            let roles = &ctx.principal.as_ref().expect("set above").roles;
            if !accounts.policy().permits(roles, P::ACTION) {
                let event = ctx
                    .event("permission.denied", Outcome::Denied)
                    .detail(json!({"action": P::ACTION.as_str(), "path": path}));
                accounts.audit().record(event).await?;
                return Err(Error::forbidden(format!(
                    "your roles do not allow {}",
                    P::ACTION.as_str()
                )));
            }
            Ok(Authorized {
                ctx,
                _permission: PhantomData,
            })
        })
    }
}

/// An authorized caller and a JSON body, extracted in that order: a caller who
/// may not use the route is refused before the body is read or judged, so a
/// refusal never depends on (or reveals anything about) the body.
pub struct AuthorizedJson<P, T> {
    pub ctx: Context,
    pub body: T,
    _permission: PhantomData<P>,
}

impl<P: Permission + 'static, T: serde::de::DeserializeOwned + 'static> FromRequest
    for AuthorizedJson<P, T>
{
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, actix_web::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let mut payload = payload.take();
        Box::pin(async move {
            let caller = Authorized::<P>::from_request(&req, &mut Payload::None).await?;
            let body = web::Json::<T>::from_request(&req, &mut payload).await?;
            Ok(AuthorizedJson {
                ctx: caller.ctx,
                body: body.into_inner(),
                _permission: PhantomData,
            })
        })
    }
}
