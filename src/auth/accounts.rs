//! The account use cases: login, "who am I", and user administration. Each one
//! records itself in the retrieval log before it answers.

use serde::Serialize;
use serde_json::json;

use super::tokens::TokenIssuer;
use super::users::{NewUser, User, UserChange, UserStore};
use super::{Action, Policy, Principal};
use crate::audit::{AuditLog, Context, Outcome};
use crate::error::{Error, Result};

pub struct Accounts {
    pub users: UserStore,
    pub tokens: TokenIssuer,
    policy: Policy,
    audit: AuditLog,
    throttle: super::throttle::LoginThrottle,
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
    ) -> Self {
        Accounts {
            users,
            tokens,
            policy,
            audit,
            throttle: super::throttle::LoginThrottle::new(throttle),
        }
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
        if self.throttle.locked(username, &ctx.client) {
            self.audit
                .record(ctx.event("auth.login_locked", Outcome::Denied).user(&who))
                .await?;
            return Err(Error::new(
                crate::error::ErrorKind::TooManyRequests,
                "too_many_attempts",
                "too many failed logins for this user or address; try again later",
            ));
        }
        match self.users.authenticate(username, password).await? {
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
                Err(Error::unauthenticated(
                    "invalid_credentials",
                    "unknown user, wrong password, or disabled account",
                ))
            }
        }
    }

    pub async fn me(&self, ctx: &Context) -> Result<UserView> {
        let p = ctx
            .principal
            .as_ref()
            .ok_or_else(|| Error::unauthenticated("unauthenticated", "a token is required"))?;
        self.audit
            .record(ctx.event("auth.me", Outcome::Allowed))
            .await?;
        Ok(UserView::from(p))
    }

    async fn require_admin(&self, ctx: &Context, what: &'static str) -> Result<String> {
        let p = ctx
            .principal
            .as_ref()
            .ok_or_else(|| Error::unauthenticated("unauthenticated", "a token is required"))?;
        if self.policy.permits(&p.roles, Action::UsersManage) {
            return Ok(p.username.clone());
        }
        self.audit.record(ctx.event(what, Outcome::Denied)).await?;
        Err(Error::forbidden("your roles do not allow users.manage"))
    }

    pub async fn list_users(&self, ctx: &Context) -> Result<Vec<UserView>> {
        self.require_admin(ctx, "admin.user.list").await?;
        let users = self.users.list().await;
        self.audit
            .record(
                ctx.event("admin.user.list", Outcome::Allowed)
                    .detail(json!({"users": users.len()})),
            )
            .await?;
        Ok(users.iter().map(UserView::from).collect())
    }

    pub async fn create_user(&self, ctx: &Context, new: NewUser) -> Result<UserView> {
        self.require_admin(ctx, "admin.user.create").await?;
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
        ctx: &Context,
        username: &str,
        change: UserChange,
    ) -> Result<UserView> {
        let actor = self.require_admin(ctx, "admin.user.update").await?;
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
