//! The account use cases: login, "who am I", and user administration. Each one
//! records itself in the retrieval log before it answers.

use serde::Serialize;
use serde_json::json;

use super::tokens::{TokenError, TokenIssuer};
use super::users::{NewUser, User, UserChange, UserStore};
use super::{Policy, Principal};
use crate::audit::{AuditLog, Context, Outcome};
use crate::auth::guard::{Permitted, perm};
use crate::error::{Code, Error, Result};

pub struct Accounts {
    pub users: UserStore,
    pub tokens: TokenIssuer,
    policy: Policy,
    audit: AuditLog,
    throttle: super::throttle::LoginThrottle,
    external: Option<super::external::ExternalIdp>,
}

#[derive(Debug, Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
}

/// A user as shown to administrators and to the user themself: no password hash.
#[derive(Debug, Serialize)]
pub struct UserView {
    pub username: String,
    pub roles: Vec<String>,
    pub branch: String,
    pub clearance: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disabled: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_at: Option<chrono::DateTime<chrono::Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl From<&User> for UserView {
    fn from(u: &User) -> Self {
        UserView {
            username: u.username.clone(),
            roles: u.roles.iter().map(|r| r.to_string()).collect(),
            branch: u.branch.to_string(),
            clearance: u.clearance.to_string(),
            disabled: Some(u.disabled),
            created_at: Some(u.created_at),
            updated_at: Some(u.updated_at),
        }
    }
}

impl From<&Principal> for UserView {
    fn from(p: &Principal) -> Self {
        UserView {
            username: p.username.clone(),
            roles: p.roles.iter().map(|r| r.to_string()).collect(),
            branch: p.branch.to_string(),
            clearance: p.clearance.to_string(),
            disabled: None,
            created_at: None,
            updated_at: None,
        }
    }
}

impl Accounts {
    pub fn new(
        users: UserStore,
        tokens: TokenIssuer,
        policy: Policy,
        audit: AuditLog,
        throttle: super::throttle::ThrottleConfig,
        external: Option<super::external::ExternalIdp>,
    ) -> Self {
        Accounts {
            users,
            tokens,
            policy,
            audit,
            throttle: super::throttle::LoginThrottle::new(throttle),
            external,
        }
    }

    /// Who a bearer token belongs to, as of now: a token of ours names a local
    /// account, which must exist, be enabled and not have changed since the token
    /// was issued; a token naming a `kid` comes from the external identity
    /// provider and carries the identity in its claims. Every refusal is recorded.
    pub async fn authenticate(
        &self,
        ctx: &Context,
        token: Option<&str>,
        path: &str,
    ) -> Result<Principal> {
        let refuse = |why: &str, user: Option<&str>| {
            let event = ctx
                .event("auth.token_refused", Outcome::Denied)
                .detail(json!({"reason": why, "path": path}));
            match user {
                Some(u) => event.user(u),
                None => event,
            }
        };
        let Some(token) = token else {
            self.audit.record(refuse("missing", None)).await?;
            return Err(Error::new(
                Code::Unauthenticated,
                "an Authorization: Bearer token is required",
            ));
        };
        let kid = jsonwebtoken::decode_header(token)
            .ok()
            .and_then(|h| h.kid)
            .filter(|_| token.len() <= 8 * 1024);
        if let Some(kid) = kid {
            return self.authenticate_external(token, &kid, refuse).await;
        }
        let claims = match self.tokens.verify(token) {
            Ok(c) => c,
            Err(e) => {
                let why = if e == TokenError::Expired {
                    "expired"
                } else {
                    "invalid"
                };
                self.audit.record(refuse(why, None)).await?;
                return Err(Error::new(Code::InvalidToken, e.to_string()));
            }
        };
        let sub = claims.sub.as_str();
        let Some((principal, disabled, valid_after)) = self.users.principal(sub).await else {
            self.audit.record(refuse("unknown user", Some(sub))).await?;
            return Err(Error::new(
                Code::InvalidToken,
                "the token's user does not exist",
            ));
        };
        if valid_after.is_some_and(|t| claims.issued_ns() <= t) {
            self.audit
                .record(refuse("issued before an account change", Some(sub)))
                .await?;
            return Err(Error::new(
                Code::TokenRevoked,
                "this token was issued before a change to the account; log in again",
            ));
        }
        if disabled {
            self.audit
                .record(refuse("user disabled", Some(sub)))
                .await?;
            return Err(Error::new(Code::UserDisabled, "this account is disabled"));
        }
        // An account stored before the rule existed may still combine admin
        // with another role: it is refused until an administrator fixes it.
        if let Err(why) = crate::domain::Role::separation_of_duties(&principal.roles) {
            self.audit
                .record(refuse("roles break separation of duties", Some(sub)))
                .await?;
            return Err(Error::forbidden(why));
        }
        Ok(principal)
    }

    async fn authenticate_external(
        &self,
        token: &str,
        kid: &str,
        refuse: impl Fn(&str, Option<&str>) -> crate::audit::Event,
    ) -> Result<Principal> {
        let Some(idp) = &self.external else {
            self.audit
                .record(refuse(
                    "names a key (kid) but no identity provider is configured",
                    None,
                ))
                .await?;
            return Err(Error::new(
                Code::InvalidToken,
                TokenError::Invalid.to_string(),
            ));
        };
        let principal = match idp.verify(token, kid).await {
            Ok(p) => p,
            Err(e) => {
                let why = match &e {
                    TokenError::Expired => "external: expired".to_string(),
                    TokenError::Invalid => "external: invalid".to_string(),
                    TokenError::Unmapped(m) => format!("external: {m}"),
                };
                self.audit.record(refuse(&why, None)).await?;
                return Err(Error::new(Code::InvalidToken, e.to_string()));
            }
        };
        // A provider must not speak for a local account (say, the bootstrap admin).
        if self.users.name_taken(&principal.username).await {
            self.audit
                .record(refuse(
                    "external: the user name belongs to a local account",
                    Some(&principal.username),
                ))
                .await?;
            return Err(Error::new(
                Code::InvalidToken,
                "the token's user name belongs to a local account",
            ));
        }
        Ok(principal)
    }

    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    pub fn audit(&self) -> &AuditLog {
        &self.audit
    }

    pub async fn login(
        &self,
        ctx: &Context,
        username: &str,
        password: &str,
    ) -> Result<TokenResponse> {
        let who = crate::domain::people::truncate(username, 64);
        if !self.throttle.begin(username, &ctx.client) {
            self.audit
                .record(ctx.event("auth.login_locked", Outcome::Denied).user(&who))
                .await?;
            return Err(Error::new(
                Code::TooManyAttempts,
                "too many failed logins for this user or address; try again later",
            ));
        }
        let checked = self.users.authenticate(username, password).await;
        if checked.is_err() {
            // Not decided (too busy to check): every attempt is still recorded.
            self.throttle.cancelled(username, &ctx.client);
            self.audit
                .record(ctx.event("auth.login", Outcome::Error).user(&who))
                .await?;
        }
        match checked? {
            Some(p) => {
                self.throttle.succeeded(username, &ctx.client);
                let c = Context {
                    principal: Some(p),
                    ..ctx.clone()
                };
                self.audit
                    .record(c.event("auth.login", Outcome::Allowed))
                    .await?;
                Ok(TokenResponse {
                    access_token: self.tokens.issue(username),
                    token_type: "Bearer",
                    expires_in: self.tokens.ttl_secs(),
                })
            }
            None => {
                tokio::time::sleep(self.throttle.failed(username, &ctx.client)).await;
                self.audit
                    .record(ctx.event("auth.login_failed", Outcome::Denied).user(&who))
                    .await?;
                Err(Error::new(
                    Code::InvalidCredentials,
                    "unknown user, wrong password, or disabled account",
                ))
            }
        }
    }

    /// A fresh token for a caller authenticated just now (a front-desk session
    /// in use renews its token this way, spec §9). Only for local accounts: a
    /// provider's token is the provider's to renew.
    pub async fn renew(&self, caller: &Principal) -> Option<String> {
        self.users
            .name_taken(&caller.username)
            .await
            .then(|| self.tokens.issue(&caller.username))
    }

    /// The lifetime of the tokens this server issues.
    pub fn token_ttl(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.tokens.ttl_secs().max(0) as u64)
    }

    /// Records the end of a front-desk session at the user's request.
    pub async fn logout(&self, caller: &Permitted<perm::AuthMe>) -> Result<()> {
        self.audit
            .record(caller.ctx().event("auth.logout", Outcome::Allowed))
            .await
            .map(|_| ())
    }

    pub async fn me(&self, caller: &Permitted<perm::AuthMe>) -> Result<UserView> {
        let (ctx, p) = (caller.ctx(), caller.principal());
        self.audit
            .record(ctx.event("auth.me", Outcome::Allowed))
            .await?;
        Ok(UserView::from(p))
    }

    pub async fn list_users(&self, caller: &Permitted<perm::UsersManage>) -> Result<Vec<UserView>> {
        let ctx = caller.ctx();
        let users = self.users.list().await;
        self.audit
            .record(
                ctx.event("admin.user.list", Outcome::Allowed)
                    .detail(json!({"users": users.len()})),
            )
            .await?;
        Ok(users.iter().map(UserView::from).collect())
    }

    /// One user, for an administrator's change form; recorded like the list.
    pub async fn user(
        &self,
        caller: &Permitted<perm::UsersManage>,
        username: &str,
    ) -> Result<UserView> {
        let ctx = caller.ctx();
        let found = self.users.get(username).await;
        self.audit
            .record(
                ctx.event("admin.user.view", Outcome::Allowed)
                    .detail(json!({"username": username, "found": found.is_some()})),
            )
            .await?;
        found
            .map(|u| UserView::from(&u))
            .ok_or_else(|| Error::not_found("user"))
    }

    pub async fn create_user(
        &self,
        caller: &Permitted<perm::UsersManage>,
        new: NewUser,
    ) -> Result<UserView> {
        let ctx = caller.ctx();
        let detail = json!({"username": new.username, "roles": new.roles, "branch": new.branch, "clearance": new.clearance});
        match self.users.create(new).await {
            Ok(user) => {
                self.audit
                    .record(
                        ctx.event("admin.user.create", Outcome::Allowed)
                            .detail(detail),
                    )
                    .await?;
                Ok(UserView::from(&user))
            }
            Err(e) => {
                self.audit
                    .record(
                        ctx.event("admin.user.create", Outcome::Error)
                            .detail(json!({"request": detail, "code": e.code})),
                    )
                    .await?;
                Err(e)
            }
        }
    }

    pub async fn update_user(
        &self,
        caller: &Permitted<perm::UsersManage>,
        username: &str,
        change: UserChange,
    ) -> Result<UserView> {
        let ctx = caller.ctx();
        let actor = caller.principal().username.clone();
        let asked = json!({
            "username": username,
            "roles": change.roles,
            "branch": change.branch,
            "clearance": change.clearance,
            "disabled": change.disabled,
            "password_changed": change.password.is_some(),
        });
        match self.users.update(&actor, username, change).await {
            Ok((before, after)) => {
                let detail = json!({"request": asked, "before": UserView::from(&before), "after": UserView::from(&after)});
                self.audit
                    .record(
                        ctx.event("admin.user.update", Outcome::Allowed)
                            .detail(detail),
                    )
                    .await?;
                Ok(UserView::from(&after))
            }
            Err(e) => {
                let outcome = if e.kind == crate::error::ErrorKind::Forbidden {
                    Outcome::Denied
                } else {
                    Outcome::Error
                };
                self.audit
                    .record(
                        ctx.event("admin.user.update", outcome)
                            .detail(json!({"request": asked, "code": e.code})),
                    )
                    .await?;
                Err(e)
            }
        }
    }
}
