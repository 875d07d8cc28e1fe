//! The guard every handler declares: `Authorized<perm::X>` authenticates the
//! bearer token, loads the caller's current roles, and passes them through
//! [`super::guard::permit`], which refuses (with a retrieval-log record) anyone
//! whose roles do not allow action X — before the handler body runs. What it
//! hands the handler is the proof the use case takes. A handler without it
//! cannot learn who the caller is.

use std::future::Future;
use std::ops::Deref;
use std::pin::Pin;

use super::accounts::Accounts;
use crate::audit::Context;
use crate::error::Error;
use actix_web::{FromRequest, HttpMessage, HttpRequest, dev::Payload, web};

pub use super::guard::{Permission, Permitted, perm};

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

/// An authenticated caller allowed to attempt `P::ACTION`: derefs to the
/// [`Permitted`] proof a use case takes.
pub struct Authorized<P>(Permitted<P>);

impl<P> Deref for Authorized<P> {
    type Target = Permitted<P>;
    fn deref(&self) -> &Permitted<P> {
        &self.0
    }
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
        let accounts = req.app_data::<web::Data<Accounts>>().cloned();
        let mut ctx = request_context(req);
        let token = bearer(req);
        let path = req.path().to_string();
        let req = req.clone();
        Box::pin(async move {
            let accounts = accounts.ok_or_else(|| Error::internal("accounts missing"))?;
            let principal = accounts.authenticate(&ctx, token.as_deref(), &path).await?;
            ctx.principal = Some(principal);
            // The edge records any answer of this caller's that the use case
            // did not (a malformed query, say): see `api::record_unrecorded`.
            req.extensions_mut().insert(ctx.clone());
            let permitted =
                super::guard::permit::<P>(ctx, accounts.policy(), accounts.audit(), &path).await?;
            Ok(Authorized(permitted))
        })
    }
}

/// An authorized caller and a JSON body, extracted in that order: a caller who
/// may not use the route is refused before the body is read or judged, so a
/// refusal never depends on (or reveals anything about) the body.
pub struct AuthorizedJson<P, T> {
    pub caller: Authorized<P>,
    pub body: T,
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
                caller,
                body: body.into_inner(),
            })
        })
    }
}
