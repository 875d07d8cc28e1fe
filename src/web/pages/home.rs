//! `/`: each desk's start — clerks to filing, supervisors to their approval
//! queue, auditors to the log, administrators to the users, readers to search, anyone else to their own
//! account — and the embedded assets.

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use super::see_other;
use crate::auth::Action;
use crate::auth::accounts::{Accounts, UserView};
use crate::web::PageError;
use crate::web::caller::{Chrome, Page, perm};
use crate::web::render::{OrPage, render};

#[derive(Template)]
#[template(path = "me.html")]
struct Me<'a> {
    c: &'a Chrome,
    me: UserView,
}

/// `GET /`.
pub async fn home(
    page_: Page<perm::AuthMe>,
    req: HttpRequest,
    accounts: web::Data<Accounts>,
) -> Result<HttpResponse, PageError> {
    if page_.may(&req, Action::DocumentsFile) {
        return Ok(see_other("/file"));
    }
    if page_.may(&req, Action::AccessDecide) {
        return Ok(see_other("/approvals"));
    }
    if page_.may(&req, Action::AuditRead) {
        return Ok(see_other("/audit"));
    }
    if page_.may(&req, Action::UsersManage) {
        return Ok(see_other("/admin/users"));
    }
    if page_.may(&req, Action::DocumentsRead) {
        return Ok(see_other("/search"));
    }
    let me = accounts.me(&page_).await.or_page(&page_.chrome)?;
    render(&Me {
        c: &page_.chrome,
        me,
    })
}

/// `GET /assets/{version}/{path}`.
pub async fn asset(path: web::Path<(String, String)>) -> HttpResponse {
    crate::web::assets::serve(path).await
}
