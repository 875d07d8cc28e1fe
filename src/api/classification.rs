//! `GET /classification`: the scheme in force.

use actix_web::{HttpResponse, web};

use crate::archive::Documents;
use crate::auth::extractor::{Authorized, perm};
use crate::error::Result;

pub async fn get(
    caller: Authorized<perm::ClassificationRead>,
    documents: web::Data<Documents>,
) -> Result<HttpResponse> {
    Ok(HttpResponse::Ok().json(documents.classification(&caller).await?))
}
