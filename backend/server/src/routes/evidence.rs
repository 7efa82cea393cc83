//! `/api/v1/orgs/{org}/evidence`: notes, links and uploaded files that show
//! controls work.

use actix_multipart::Multipart;
use actix_web::{
    http::{
        header::{self, ContentDisposition, DispositionParam, DispositionType},
        StatusCode,
    },
    web, FromRequest as _, HttpMessage as _, HttpRequest, HttpResponse,
};
use attest_core::{
    compliance::{
        checks,
        evidence::{self, Upload},
    },
    validate::invalid,
    AppError, AppState, ErrorKind,
};
use attest_shared::{
    api::Page,
    compliance::{CreateEvidence, EvidenceKind, EvidenceView, ReviewState, RunCheck, UpdateEvidence},
    permissions::Permission,
};
use futures_util::TryStreamExt as _;
use serde::Deserialize;
use uuid::Uuid;

use crate::{
    extract::{parse_json, too_large, versioned, ApiJson, BodyLimits, IfMatch, JsonLimit, PageQuery},
    middleware::caller::InOrg,
    problem::{ApiError, ApiResult},
};

/// The list's filters (all of those sent must hold).
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EvidenceFilter {
    /// Evidence supporting this control.
    control_id: Option<Uuid>,
    kind: Option<EvidenceKind>,
    review_state: Option<ReviewState>,
}

#[utoipa::path(get, path = "/api/v1/orgs/{org}/evidence", tag = "compliance", summary = "The org's evidence, oldest first", params(PageQuery, EvidenceFilter), responses((status = 200, body = Page<EvidenceView>)))]
pub async fn list(
    org: InOrg,
    state: web::Data<AppState>,
    page: web::Query<PageQuery>,
    filter: web::Query<EvidenceFilter>,
) -> ApiResult<HttpResponse> {
    let page = page.into_inner().request()?;
    let filter = filter.into_inner();
    let filter = evidence::Filter {
        control_id: filter.control_id,
        kind: filter.kind,
        review_state: filter.review_state,
    };
    Ok(HttpResponse::Ok().json(evidence::list(&state, &org.scope, &filter, &page).await?))
}

fn is_multipart(req: &HttpRequest) -> bool {
    req.mime_type()
        .ok()
        .flatten()
        .is_some_and(|m| m.type_() == mime::MULTIPART && m.subtype() == mime::FORM_DATA)
}

fn unreadable() -> ApiError {
    AppError::new(ErrorKind::BadRequest, "the multipart body could not be read").into()
}

/// The `metadata` (JSON) and `file` parts of an upload, each within its limit.
async fn read_upload(
    req: &HttpRequest,
    payload: web::Payload,
    json_limit: usize,
    upload_limit: usize,
) -> Result<(CreateEvidence, Upload), ApiError> {
    let mut parts = Multipart::new(req.headers(), payload);
    let (mut metadata, mut file) = (None, None);
    while let Some(mut part) = parts.try_next().await.map_err(|_| unreadable())? {
        let (limit, name) = match part.name() {
            Some("metadata") => (json_limit, "metadata"),
            Some("file") => (upload_limit, "file"),
            other => {
                return Err(invalid(
                    other.unwrap_or_default(),
                    "an upload has the parts `metadata` and `file` only",
                )
                .into())
            }
        };
        let bytes = part
            .bytes(limit)
            .await
            .map_err(|_| too_large(limit))?
            .map_err(|_| unreadable())?;
        if name == "metadata" {
            metadata = Some(parse_json::<CreateEvidence>(&bytes)?);
        } else {
            let file_name = part
                .content_disposition()
                .and_then(ContentDisposition::get_filename)
                .unwrap_or("evidence")
                .to_owned();
            file = Some(Upload {
                name: file_name,
                bytes,
            });
        }
    }
    match (metadata, file) {
        (Some(metadata), Some(file)) => Ok((metadata, file)),
        (None, _) => Err(attest_core::validate::invalid(
            "metadata",
            "the upload needs its `metadata` part (JSON)",
        )
        .into()),
        (_, None) => Err(invalid("file", "the upload needs its `file` part").into()),
    }
}

#[utoipa::path(post, path = "/api/v1/orgs/{org}/evidence", tag = "compliance", summary = "Add evidence: a note or link as JSON, or a file as multipart/form-data (parts `metadata`, the JSON fields, and `file`) up to ATTEST_MAX_UPLOAD_BYTES", request_body = CreateEvidence, responses((status = 201, body = EvidenceView), (status = 413, description = "the file exceeds ATTEST_MAX_UPLOAD_BYTES")))]
pub async fn create(
    org: InOrg,
    state: web::Data<AppState>,
    limits: web::Data<BodyLimits>,
    json_limit: web::Data<JsonLimit>,
    req: HttpRequest,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    let created = if is_multipart(&req) {
        // Refused before a large body is read, not after.
        org.scope.require(Permission::EvidenceWrite)?;
        let (metadata, upload) = read_upload(&req, payload, json_limit.0, limits.upload).await?;
        evidence::create(&state, &org.scope, &metadata, Some(upload)).await?
    } else {
        let ApiJson(body) = ApiJson::<CreateEvidence>::from_request(&req, &mut payload.into_inner()).await?;
        evidence::create(&state, &org.scope, &body, None).await?
    };
    Ok(versioned(StatusCode::CREATED, created.version, &created))
}

#[utoipa::path(get, path = "/api/v1/orgs/{org}/evidence/{id}", tag = "compliance", summary = "One piece of evidence (ETag for If-Match)", responses((status = 200, body = EvidenceView)))]
pub async fn get(
    org: InOrg,
    state: web::Data<AppState>,
    path: web::Path<(String, Uuid)>,
) -> ApiResult<HttpResponse> {
    let found = evidence::get(&state, &org.scope, path.1).await?;
    Ok(versioned(StatusCode::OK, found.version, &found))
}

#[utoipa::path(get, path = "/api/v1/orgs/{org}/evidence/{id}/file", tag = "compliance", summary = "The evidence's file, as an attachment", responses((status = 200, description = "the file's bytes", content_type = "application/octet-stream")))]
pub async fn file(
    org: InOrg,
    state: web::Data<AppState>,
    path: web::Path<(String, Uuid)>,
) -> ApiResult<HttpResponse> {
    let (file, bytes) = evidence::file(&state, &org.scope, path.1).await?;
    let disposition = ContentDisposition {
        disposition: DispositionType::Attachment,
        parameters: vec![
            DispositionParam::Filename(
                file.name
                    .chars()
                    .map(|c| if c.is_ascii() { c } else { '_' })
                    .collect(),
            ),
            DispositionParam::FilenameExt(header::ExtendedValue {
                charset: header::Charset::Ext("UTF-8".into()),
                language_tag: None,
                value: file.name.clone().into_bytes(),
            }),
        ],
    };
    Ok(HttpResponse::Ok()
        .content_type(file.content_type)
        .insert_header(disposition)
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        // Even opened in place, an uploaded page runs nothing.
        .insert_header((header::CONTENT_SECURITY_POLICY, "sandbox; default-src 'none'"))
        .insert_header((header::ETAG, format!("\"{}\"", file.sha256)))
        .body(bytes))
}

#[utoipa::path(patch, path = "/api/v1/orgs/{org}/evidence/{id}", tag = "compliance", summary = "Change or review evidence (setting `review_state` records you as reviewer)", params(("If-Match" = String, Header, description = "the ETag read (or `*`): `428` without, `412` when stale")), request_body = UpdateEvidence, responses((status = 200, body = EvidenceView)))]
pub async fn update(
    org: InOrg,
    state: web::Data<AppState>,
    path: web::Path<(String, Uuid)>,
    IfMatch(expected): IfMatch,
    ApiJson(body): ApiJson<UpdateEvidence>,
) -> ApiResult<HttpResponse> {
    let updated = evidence::update(&state, &org.scope, path.1, &body, expected).await?;
    Ok(versioned(StatusCode::OK, updated.version, &updated))
}

#[utoipa::path(delete, path = "/api/v1/orgs/{org}/evidence/{id}", tag = "compliance", summary = "Delete evidence (and its file, unless other evidence holds the same)", responses((status = 204)))]
pub async fn delete(
    org: InOrg,
    state: web::Data<AppState>,
    path: web::Path<(String, Uuid)>,
) -> ApiResult<HttpResponse> {
    evidence::delete(&state, &org.scope, path.1).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(post, path = "/api/v1/orgs/{org}/evidence/checks", tag = "compliance", summary = "Run a platform check now (sso_enforced, mfa_or_sso, api_key_age, audit_chain_verifies, owners_have_mfa) and keep its result as evidence, with the audit chain head it ran at", request_body = RunCheck, responses((status = 201, body = EvidenceView)))]
pub async fn run_check(
    org: InOrg,
    state: web::Data<AppState>,
    ApiJson(body): ApiJson<RunCheck>,
) -> ApiResult<HttpResponse> {
    let recorded = checks::record(&state, &org.scope, &body).await?;
    Ok(versioned(StatusCode::CREATED, recorded.version, &recorded))
}
