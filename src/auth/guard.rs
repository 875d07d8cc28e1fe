//! The proof that a caller passed the role × action table: [`Permitted<P>`].
//!
//! A route states the permission it needs once, as a type (`perm::DocumentsRead`)
//! in its handler's guard (see `auth::extractor`). [`permit`] checks the caller's
//! roles against the table and either records the refusal — the one place
//! refusals of a permission are recorded, as `permission.denied` — or hands back
//! a `Permitted<P>`. A use case takes that value instead of checking again: it
//! cannot be called without the check having passed, and it cannot be built
//! anywhere but here. Nothing in this module knows about HTTP.

use std::marker::PhantomData;

use serde_json::json;

use super::{Action, Policy, Principal};
use crate::audit::{AuditLog, Context, Outcome};
use crate::error::{Code, Error, Result};

/// A permission a route requires, as a type.
pub trait Permission {
    const ACTION: Action;
}

/// One zero-sized type per action, for `Authorized<perm::DocumentsRead>`.
pub mod perm {
    use super::{Action, Permission};

    macro_rules! permissions {
        ($($name:ident = $text:literal,)*) => {$(
            #[doc = concat!("The permission `", $text, "` of `schema/roles.toml`.")]
            pub struct $name;
            impl Permission for $name {
                const ACTION: Action = Action::$name;
            }
        )*};
    }

    crate::auth::policy::for_each_action!(permissions);
}

/// An authenticated caller whose roles allow `P::ACTION`; made only by [`permit`].
pub struct Permitted<P> {
    ctx: Context,
    _permission: PhantomData<P>,
}

impl<P> Permitted<P> {
    /// The request's context, its principal set.
    pub fn ctx(&self) -> &Context {
        &self.ctx
    }

    /// Who the caller is.
    pub fn principal(&self) -> &Principal {
        self.ctx.principal.as_ref().expect("set by permit")
    }
}

/// Checks an authenticated caller (`ctx.principal` set) against the table:
/// `Ok(Permitted)`, or a `forbidden` error after a `permission.denied` record
/// naming the action and `path` (spec §3, §4).
pub async fn permit<P: Permission>(
    ctx: Context,
    policy: &Policy,
    audit: &AuditLog,
    path: &str,
) -> Result<Permitted<P>> {
    let Some(principal) = ctx.principal.as_ref() else {
        return Err(Error::new(Code::Unauthenticated, "a token is required"));
    };
    if policy.permits(&principal.roles, P::ACTION) {
        return Ok(Permitted {
            ctx,
            _permission: PhantomData,
        });
    }
    let event = ctx
        .event("permission.denied", Outcome::Denied)
        .detail(json!({"action": P::ACTION.as_str(), "path": path}));
    audit.record(event).await?;
    Err(Error::forbidden(format!(
        "your roles do not allow {}",
        P::ACTION.as_str()
    )))
}
