//! `/admin`: the administrator's desk — users (create; change roles, branch
//! and clearance; disable; set a new password), the key rotation's state and
//! the search index's rebuild with its progress. `Accounts::{list_users,
//! create_user, update_user}`, `Maintenance::rotation_state` and
//! `Search::rebuild_index`, the API's use cases: the rules of spec §3 (admin
//! is held alone, nobody changes their own roles) are theirs, explained here
//! in the page's language. No document page is reachable from this desk:
//! administrators hold no document permission (schema/roles.toml).

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use super::see_other;
use crate::archive::maintenance::rotation::RotationState;
use crate::archive::search::RebuildState;
use crate::archive::{Maintenance, Search};
use crate::auth::Action;
use crate::auth::accounts::{Accounts, UserView};
use crate::auth::users::{NewUser, UserChange};
use crate::domain::{Branch, Level, Role};
use crate::error::{Code, Error};
use crate::web::PageError;
use crate::web::caller::{Chrome, Form, Page, PageForm, perm};
use crate::web::render::{Explained, OrPage, explain, is_input, render, render_with};

/// Roles and levels as the forms offer them.
pub const ROLES: [&str; 5] = ["clerk", "staff", "supervisor", "auditor", "admin"];
pub const LEVELS: [&str; 4] = ["public", "internal", "confidential", "restricted"];

#[derive(Template)]
#[template(path = "users.html")]
struct UsersPage<'a> {
    c: &'a Chrome,
    users: Vec<UserView>,
    roles: [&'static str; 5],
    levels: [&'static str; 4],
    /// The create form as sent, when it was refused.
    draft: Draft,
    error: Option<Explained>,
    done: Option<String>,
}

#[derive(Template)]
#[template(path = "user.html")]
struct UserPage<'a> {
    c: &'a Chrome,
    user: UserView,
    roles: [&'static str; 5],
    levels: [&'static str; 4],
    error: Option<Explained>,
}

impl UsersPage<'_> {
    /// Whether the refused form had role `r` ticked.
    fn holds(&self, r: &str) -> bool {
        self.draft.roles.iter().any(|d| d == r)
    }
}

impl UserPage<'_> {
    /// Whether the user holds role `r`.
    fn holds(&self, r: &str) -> bool {
        self.user.roles.iter().any(|d| d == r)
    }
}

/// The create form's fields, kept to show again after a refusal.
#[derive(Default)]
pub struct Draft {
    pub username: String,
    pub roles: Vec<String>,
    pub branch: String,
    pub clearance: String,
}

fn roles_of(form: &Form) -> Result<Vec<Role>, Error> {
    form.all("roles")
        .into_iter()
        .map(|r| {
            r.parse::<Role>()
                .map_err(|e| Error::new(Code::InvalidRoles, format!("roles: {e}")))
        })
        .collect()
}

fn branch_of(raw: &str) -> Result<Branch, Error> {
    Branch::parse(raw).map_err(|e| Error::new(Code::InvalidBranch, format!("branch: {e}")))
}

fn level_of(raw: &str) -> Result<Level, Error> {
    serde_json::from_value(serde_json::Value::String(raw.to_string())).map_err(|_| {
        Error::new(
            Code::InvalidBody,
            "clearance: public, internal, confidential or restricted",
        )
    })
}

async fn users_page(
    page_: &Page<perm::UsersManage>,
    accounts: &Accounts,
    draft: Draft,
    refused: Option<&Error>,
    done: Option<String>,
) -> Result<HttpResponse, PageError> {
    let c = &page_.chrome;
    let users = accounts.list_users(page_).await.or_page(c)?;
    let status = refused.map_or(actix_web::http::StatusCode::OK, |e| e.kind.status());
    let error = refused.map(|e| explain(e, c.lang));
    render_with(
        status,
        &UsersPage {
            c,
            users,
            roles: ROLES,
            levels: LEVELS,
            draft,
            error,
            done,
        },
    )
}

/// `GET /admin/users[?done=NAME]`: every user, and the form for a new one.
pub async fn users(
    page_: Page<perm::UsersManage>,
    req: HttpRequest,
    accounts: web::Data<Accounts>,
) -> Result<HttpResponse, PageError> {
    let done =
        web::Query::<std::collections::HashMap<String, String>>::from_query(req.query_string())
            .ok()
            .and_then(|q| q.get("done").cloned());
    users_page(&page_, &accounts, Draft::default(), None, done).await
}

/// `POST /admin/users`: `username`, `password`, `roles` (repeated), `branch`,
/// `clearance`. A refusal shows the form again with the sentence and the
/// field named; nothing is created.
pub async fn create(
    form: PageForm<perm::UsersManage>,
    accounts: web::Data<Accounts>,
) -> Result<HttpResponse, PageError> {
    let c = &form.page.chrome;
    let f = &form.form;
    let draft = Draft {
        username: f.get("username").unwrap_or_default().to_string(),
        roles: f.all("roles").iter().map(|r| r.to_string()).collect(),
        branch: f.get("branch").unwrap_or_default().to_string(),
        clearance: f.get("clearance").unwrap_or_default().to_string(),
    };
    let new = (|| {
        Ok::<_, Error>(NewUser {
            username: draft.username.clone(),
            password: f.get("password").unwrap_or_default().to_string(),
            roles: roles_of(f)?,
            branch: branch_of(&draft.branch)?,
            clearance: level_of(&draft.clearance)?,
        })
    })();
    let created = match new {
        Ok(new) => accounts.create_user(&form.page, new).await,
        Err(e) => Err(e),
    };
    match created {
        Ok(user) => Ok(see_other(&format!(
            "/admin/users?done={}",
            crate::web::render::urlencode(&user.username)
        ))),
        Err(e) if is_input(&e) => users_page(&form.page, &accounts, draft, Some(&e), None).await,
        Err(e) => Err(PageError::failed(e, c)),
    }
}

async fn find(
    page_: &Page<perm::UsersManage>,
    accounts: &Accounts,
    name: &str,
) -> Result<UserView, PageError> {
    accounts.user(page_, name).await.or_page(&page_.chrome)
}

/// `GET /admin/users/{username}`: one user's change form.
pub async fn user(
    page_: Page<perm::UsersManage>,
    name: web::Path<String>,
    accounts: web::Data<Accounts>,
) -> Result<HttpResponse, PageError> {
    let user = find(&page_, &accounts, &name).await?;
    render(&UserPage {
        c: &page_.chrome,
        user,
        roles: ROLES,
        levels: LEVELS,
        error: None,
    })
}

/// `POST /admin/users/{username}`: `roles` (repeated), `branch`,
/// `clearance`, `disabled` (`1` when ticked), and `password` when a new one
/// is set.
pub async fn update(
    form: PageForm<perm::UsersManage>,
    name: web::Path<String>,
    accounts: web::Data<Accounts>,
) -> Result<HttpResponse, PageError> {
    let c = &form.page.chrome;
    let f = &form.form;
    let change = (|| {
        Ok::<_, Error>(UserChange {
            password: f.get("password").map(str::to_string),
            roles: Some(roles_of(f)?),
            branch: Some(branch_of(f.get("branch").unwrap_or_default())?),
            clearance: Some(level_of(f.get("clearance").unwrap_or_default())?),
            disabled: Some(f.get("disabled") == Some("1")),
        })
    })();
    let result = match change {
        Ok(change) => accounts.update_user(&form.page, &name, change).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(user) => Ok(see_other(&format!(
            "/admin/users?done={}",
            crate::web::render::urlencode(&user.username)
        ))),
        Err(e) if is_input(&e) => {
            let user = find(&form.page, &accounts, &name).await?;
            render_with(
                e.kind.status(),
                &UserPage {
                    c,
                    user,
                    roles: ROLES,
                    levels: LEVELS,
                    error: Some(refusal(&e, c)),
                },
            )
        }
        Err(e) => Err(PageError::failed(e, c)),
    }
}

/// A refused change explained: the one refusal of this form that is
/// `forbidden` is a change to one's own account (spec §3), said so.
fn refusal(e: &Error, c: &Chrome) -> Explained {
    if e.kind == crate::error::ErrorKind::Forbidden {
        return Explained {
            message: c.t("err.own_account").to_string(),
            field: None,
            detail: None,
        };
    }
    explain(e, c.lang)
}

#[derive(Template)]
#[template(path = "system.html")]
struct SystemPage<'a> {
    c: &'a Chrome,
    rotation: RotationState,
    /// The text key of the rotation's status.
    rotation_key: &'static str,
    index: RebuildState,
    indexed: u64,
    may_rebuild: bool,
    rebuilt: Option<usize>,
}

#[derive(Template)]
#[template(path = "rebuild_progress.html")]
struct ProgressFragment<'a> {
    c: &'a Chrome,
    index: RebuildState,
    indexed: u64,
}

fn rotation_key(status: &str) -> &'static str {
    match status {
        "running" => "system.rotation.running",
        "done" => "system.rotation.done",
        "failed" => "system.rotation.failed",
        _ => "system.rotation.idle",
    }
}

/// `GET /admin/system`: the key rotation's state and the search index.
pub async fn system(
    page_: Page<perm::KeysRead>,
    req: HttpRequest,
    maintenance: web::Data<Maintenance>,
    search: web::Data<Search>,
) -> Result<HttpResponse, PageError> {
    let c = &page_.chrome;
    let rotation = maintenance.rotation_state(&page_).await.or_page(c)?;
    let rebuilder = if page_.may(&req, Action::IndexRebuild) {
        page_.also::<perm::IndexRebuild>(&req).await.ok()
    } else {
        None
    };
    let index = match &rebuilder {
        Some(r) => search.rebuild_state(r),
        None => RebuildState {
            rebuilding: false,
            total: 0,
            done: 0,
        },
    };
    render(&SystemPage {
        c,
        rotation_key: rotation_key(rotation.status),
        rotation,
        index,
        indexed: search.indexed_documents(),
        may_rebuild: rebuilder.is_some(),
        rebuilt: None,
    })
}

/// `POST /admin/reindex`: rebuilds the index from the archive (the answer
/// comes when it is done; `/admin/reindex/progress` tells how far it is).
pub async fn reindex(
    form: PageForm<perm::IndexRebuild>,
    req: HttpRequest,
    maintenance: web::Data<Maintenance>,
    search: web::Data<Search>,
) -> Result<HttpResponse, PageError> {
    let c = &form.page.chrome;
    let rebuilt = search.rebuild_index(&form.page).await.or_page(c)?;
    let keys = form.page.also::<perm::KeysRead>(&req).await?;
    let rotation = maintenance.rotation_state(&keys).await.or_page(c)?;
    render(&SystemPage {
        c,
        rotation_key: rotation_key(rotation.status),
        rotation,
        index: search.rebuild_state(&form.page),
        indexed: search.indexed_documents(),
        may_rebuild: true,
        rebuilt: Some(rebuilt),
    })
}

/// `GET /admin/reindex/progress`: the progress fragment htmx polls.
pub async fn progress(
    page_: Page<perm::IndexRebuild>,
    search: web::Data<Search>,
) -> Result<HttpResponse, PageError> {
    render(&ProgressFragment {
        c: &page_.chrome,
        index: search.rebuild_state(&page_),
        indexed: search.indexed_documents(),
    })
}
