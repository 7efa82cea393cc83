//! `/api/v1/orgs/{org}/exports`: everything the org holds that the caller may
//! read, as one zip written in the background (`data:export`).

use actix_web::{
    http::header::{self, ContentDisposition, DispositionParam, DispositionType},
    web, HttpResponse,
};
use attest_core::{exports, AppError, AppState};
use attest_shared::exports::OrgExportView;
use uuid::Uuid;

use crate::{middleware::caller::InOrg, problem::ApiResult};

#[utoipa::path(post, path = "/api/v1/orgs/{org}/exports", tag = "data", summary = "Export the organization's data (written in the background; poll its status)", responses((status = 202, body = OrgExportView)))]
pub async fn request(org: InOrg, state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    let queued = exports::request(&state, &org.scope).await?;
    let status = format!("/api/v1/orgs/{}/exports/{}", org.scope.org().slug, queued.id);
    Ok(HttpResponse::Accepted()
        .insert_header((header::LOCATION, status))
        .json(queued))
}

#[utoipa::path(get, path = "/api/v1/orgs/{org}/exports/{id}", tag = "data", summary = "An export's status and, once written, where to download it", responses((status = 200, body = OrgExportView)))]
pub async fn get(
    org: InOrg,
    state: web::Data<AppState>,
    path: web::Path<(String, Uuid)>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(exports::get(&state, &org.scope, path.1).await?))
}

#[utoipa::path(get, path = "/api/v1/orgs/{org}/exports/{id}/file", tag = "data", summary = "The written export (a zip), while it has not expired", responses((status = 200, description = "the zip", content_type = "application/zip"), (status = 409, description = "not written yet, or expired", body = crate::problem::Problem, content_type = "application/problem+json")))]
pub async fn file(
    org: InOrg,
    state: web::Data<AppState>,
    path: web::Path<(String, Uuid)>,
) -> ApiResult<HttpResponse> {
    let (path, name) = exports::file(&state, &org.scope, path.1).await?;
    // Streamed from the open file: an expiry removing it meanwhile cannot cut it short.
    let file = tokio::fs::File::open(&path).await.map_err(AppError::internal)?;
    let size = file.metadata().await.map_err(AppError::internal)?.len();
    Ok(HttpResponse::Ok()
        .content_type("application/zip")
        .insert_header(ContentDisposition {
            disposition: DispositionType::Attachment,
            parameters: vec![DispositionParam::Filename(name)],
        })
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .no_chunking(size)
        .streaming(tokio_util::io::ReaderStream::new(file)))
}
