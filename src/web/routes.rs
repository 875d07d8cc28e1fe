//! The page table: every page and form target of the front desk once — method,
//! path, handler and the permission it needs. It feeds actix ([`register`]) and
//! the route × role test of the pages. As in `api::routes`, a row's permission
//! is checked against its handler's guard at compile time: a handler whose
//! `Page<perm::X>` (or `PageForm<perm::X>`) differs from the row's does not build.

use actix_web::{Handler, web};

use super::caller::{Page, PageForm};
use super::pages::{
    admin, approvals, audit, documents, filing, home, login, records, requests, search, stats,
    timeline,
};
use crate::auth::Action;
use crate::auth::extractor::{Permission, perm};

/// One page or form target.
#[derive(Debug)]
pub struct PageRoute {
    pub method: &'static str,
    /// The path template, `{name}` for a path parameter.
    pub path: &'static str,
    /// `module::function` under `web/pages/`.
    pub handler: &'static str,
    /// `None` for the open pages (login, language, assets).
    pub permission: Option<Action>,
}

/// A handler's arguments whose first is the page guard of permission `P`.
pub trait GuardedBy<P> {}
impl<P> GuardedBy<P> for (Page<P>,) {}
impl<P, A> GuardedBy<P> for (Page<P>, A) {}
impl<P, A, B> GuardedBy<P> for (Page<P>, A, B) {}
impl<P, A, B, C> GuardedBy<P> for (Page<P>, A, B, C) {}
impl<P, A, B, C, D> GuardedBy<P> for (Page<P>, A, B, C, D) {}
impl<P, A> GuardedBy<P> for (PageForm<P>, A) {}
impl<P, A, B> GuardedBy<P> for (PageForm<P>, A, B) {}
impl<P, A, B, C> GuardedBy<P> for (PageForm<P>, A, B, C) {}

fn guarded<P: Permission, F: Handler<Args>, Args: GuardedBy<P>>(_: &F) {}

macro_rules! pages {
    ($($method:ident $path:literal => $module:ident::$handler:ident, $perm:ident;)*) => {
        /// Every page, in the order actix matches them.
        pub const PAGES: &[PageRoute] = &[$(PageRoute {
            method: stringify!($method),
            path: $path,
            handler: concat!(stringify!($module), "::", stringify!($handler)),
            permission: pages!(@action $perm),
        },)*];

        /// Registers every page of [`PAGES`] with its handler.
        pub fn register(cfg: &mut web::ServiceConfig) {
            $(
                pages!(@check $perm, $module::$handler);
                cfg.route($path, web::method(actix_web::http::Method::$method).to($module::$handler));
            )*
        }
    };
    (@action Open) => { None };
    (@action $perm:ident) => { Some(Action::$perm) };
    (@check Open, $handler:path) => {};
    (@check $perm:ident, $handler:path) => { guarded::<perm::$perm, _, _>(&$handler) };
}

pages! {
    GET "/" => home::home, AuthMe;
    GET "/login" => login::form, Open;
    POST "/login" => login::submit, Open;
    POST "/logout" => login::logout, AuthMe;
    POST "/lang" => login::switch_lang, Open;
    GET "/assets/{version}/{path:.*}" => home::asset, Open;
    GET "/search" => search::page, DocumentsRead;
    GET "/search/results" => search::results, DocumentsRead;
    GET "/file" => filing::form, DocumentsFile;
    POST "/file" => filing::upload, DocumentsFile;
    GET "/documents/{id}" => documents::page, DocumentsRead;
    GET "/documents/{id}/file" => documents::file, DocumentsContent;
    POST "/documents/{id}/versions" => documents::add_version, DocumentsVersion;
    POST "/documents/{id}/correct" => documents::correct, DocumentsCorrect;
    GET "/vehicles/{vin}" => timeline::vehicle, DocumentsRead;
    GET "/customers" => timeline::customer, DocumentsRead;
    GET "/requests" => requests::page, AccessRequest;
    POST "/requests" => requests::create, AccessRequest;
    GET "/approvals" => approvals::page, AccessDecide;
    POST "/approvals/{id}/{decision}" => approvals::decide, AccessDecide;
    GET "/audit" => audit::page, AuditRead;
    GET "/audit/export" => audit::export, AuditRead;
    GET "/audit/verify" => audit::verify_form, AuditRead;
    POST "/audit/verify" => audit::verify, AuditRead;
    GET "/retention" => records::retention, RetentionRead;
    POST "/disposals" => records::propose, DisposalsPropose;
    GET "/disposals" => records::disposals, DisposalsRead;
    GET "/disposals/{id}" => records::disposal, DisposalsRead;
    GET "/disposals/{id}/certificate" => records::certificate, DisposalsRead;
    POST "/disposals/{id}/approve" => records::approve, DisposalsApprove;
    POST "/disposals/{id}/reject" => records::reject, DisposalsApprove;
    GET "/holds" => records::holds, DocumentsHold;
    POST "/holds" => records::hold, DocumentsHold;
    GET "/stats" => stats::page, StatsRead;
    GET "/stats/export" => stats::export, StatsRead;
    GET "/admin/users" => admin::users, UsersManage;
    POST "/admin/users" => admin::create, UsersManage;
    GET "/admin/users/{username}" => admin::user, UsersManage;
    POST "/admin/users/{username}" => admin::update, UsersManage;
    GET "/admin/system" => admin::system, KeysRead;
    POST "/admin/reindex" => admin::reindex, IndexRebuild;
    GET "/admin/reindex/progress" => admin::progress, IndexRebuild;
}
