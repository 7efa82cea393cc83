//! `/api/v1/orgs/{org}/frameworks`: importing catalogs, browsing their
//! requirements, and readiness.

use actix_web::{http::header, web, HttpMessage as _, HttpRequest, HttpResponse};
use attest_core::{
    compliance::{frameworks, readiness},
    AppError, AppState, ErrorKind,
};
use attest_shared::{
    api::Page,
    compliance::{FrameworkView, Readiness, RequirementView},
    permissions::Permission,
};
use serde::Deserialize;
use uuid::Uuid;

use crate::{
    extract::{declared_length, read_limited, BodyLimits, PageQuery},
    middleware::caller::InOrg,
    problem::ApiResult,
};

/// `?name=` of an import.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportQuery {
    /// The framework's name; an OSCAL catalog's own title when absent.
    name: Option<String>,
}

/// `?format=` of readiness.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReadinessQuery {
    /// Absent: the summary. `json`: the summary with one item per requirement.
    /// `csv`: one line per requirement (`ref,title,covered,control_ids`).
    #[param(inline, value_type = Option<String>)]
    format: Option<ReadinessFormat>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
enum ReadinessFormat {
    Json,
    Csv,
}

/// What the body of an import is, by its `Content-Type`.
fn format_of(req: &HttpRequest) -> Result<frameworks::Format, AppError> {
    let mime = req.mime_type().ok().flatten();
    match mime
        .as_ref()
        .map(|m| (m.type_().as_str(), m.subtype().as_str(), m.suffix()))
    {
        Some((_, "json", _)) | Some((_, _, Some(mime::JSON))) => Ok(frameworks::Format::Oscal),
        Some(("text" | "application", "csv", _)) => Ok(frameworks::Format::Csv),
        _ => Err(AppError::new(
            ErrorKind::UnsupportedMediaType,
            "send an OSCAL catalog as application/json, or a CSV as text/csv",
        )),
    }
}

#[utoipa::path(get, path = "/api/v1/orgs/{org}/frameworks", tag = "compliance", summary = "The org's frameworks", params(PageQuery), responses((status = 200, body = Page<FrameworkView>)))]
pub async fn list(
    org: InOrg,
    state: web::Data<AppState>,
    page: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let page = page.into_inner().request()?;
    Ok(HttpResponse::Ok().json(frameworks::list(&state, &org.scope, &page).await?))
}

#[utoipa::path(post, path = "/api/v1/orgs/{org}/frameworks/import", tag = "compliance", summary = "Import a catalog: OSCAL catalog JSON (`application/json`) or CSV (`text/csv`, header `id,title,description,parent`), up to ATTEST_MAX_IMPORT_BYTES", params(ImportQuery), request_body(content = String, description = "the catalog document", content_type = "application/json"), responses((status = 201, body = FrameworkView), (status = 413, description = "the document exceeds ATTEST_MAX_IMPORT_BYTES")))]
pub async fn import(
    org: InOrg,
    state: web::Data<AppState>,
    limits: web::Data<BodyLimits>,
    query: web::Query<ImportQuery>,
    req: HttpRequest,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    // Refused before a large body is read, not after.
    org.scope.require(Permission::ControlsWrite)?;
    let format = format_of(&req)?;
    let document = read_limited(&mut payload.into_inner(), declared_length(&req), limits.import).await?;
    let framework = frameworks::import(&state, &org.scope, query.name.as_deref(), format, document).await?;
    Ok(HttpResponse::Created().json(framework))
}

#[utoipa::path(post, path = "/api/v1/orgs/{org}/frameworks/starter", tag = "compliance", summary = "Import Attest's starter catalog (twenty baseline security requirements)", responses((status = 201, body = FrameworkView)))]
pub async fn starter(org: InOrg, state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Created().json(frameworks::import_starter(&state, &org.scope).await?))
}

#[utoipa::path(get, path = "/api/v1/orgs/{org}/frameworks/{id}", tag = "compliance", summary = "One framework", responses((status = 200, body = FrameworkView)))]
pub async fn get(
    org: InOrg,
    state: web::Data<AppState>,
    path: web::Path<(String, Uuid)>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(frameworks::get(&state, &org.scope, path.1).await?))
}

#[utoipa::path(delete, path = "/api/v1/orgs/{org}/frameworks/{id}", tag = "compliance", summary = "Delete a framework with its requirements (controls stay, unmapped from them)", responses((status = 204)))]
pub async fn delete(
    org: InOrg,
    state: web::Data<AppState>,
    path: web::Path<(String, Uuid)>,
) -> ApiResult<HttpResponse> {
    frameworks::delete(&state, &org.scope, path.1).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(get, path = "/api/v1/orgs/{org}/frameworks/{id}/requirements", tag = "compliance", summary = "The framework's requirements in catalog order", params(PageQuery), responses((status = 200, body = Page<RequirementView>)))]
pub async fn requirements(
    org: InOrg,
    state: web::Data<AppState>,
    path: web::Path<(String, Uuid)>,
    page: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let page = page.into_inner().request()?;
    Ok(HttpResponse::Ok().json(frameworks::requirements(&state, &org.scope, path.1, &page).await?))
}

#[utoipa::path(get, path = "/api/v1/orgs/{org}/frameworks/{id}/readiness", tag = "compliance", summary = "How much of the framework is covered (implemented controls with current evidence, or not applicable)", params(ReadinessQuery), responses((status = 200, body = Readiness), (status = 200, description = "with `?format=csv`: one line per requirement", content_type = "text/csv")))]
pub async fn readiness(
    org: InOrg,
    state: web::Data<AppState>,
    path: web::Path<(String, Uuid)>,
    query: web::Query<ReadinessQuery>,
) -> ApiResult<HttpResponse> {
    let detail = query.format.is_some();
    let figures = readiness::of_framework(&state, &org.scope, path.1, detail).await?;
    Ok(match query.format {
        Some(ReadinessFormat::Csv) => HttpResponse::Ok()
            .content_type("text/csv; charset=utf-8")
            .insert_header((
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"readiness-{}.csv\"", figures.framework_id),
            ))
            .body(readiness::to_csv(&figures)?),
        _ => HttpResponse::Ok().json(figures),
    })
}
