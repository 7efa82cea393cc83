//! `/ofrep/v1`: the OpenFeature Remote Evaluation Protocol, for the key's org.
//!
//! Answers and errors take OFREP's shapes, never problem+json: the handlers
//! write the protocol's own errors (`FLAG_NOT_FOUND`, `PARSE_ERROR`, …), and
//! [`errors_in_ofrep_shape`] rewrites every other error answer on these paths
//! (`401`, `403`, `429`, …) with its status kept.

use actix_web::{
    body::{self, BoxBody, MessageBody},
    dev::{ServiceRequest, ServiceResponse},
    http::{header, StatusCode},
    middleware::Next,
    web, HttpRequest, HttpResponse,
};
use attest_core::{flags, AppState};
use attest_shared::flags::{
    BulkEvaluation, ErrorCode, Evaluated, EvaluationFailure, EvaluationRequest, EvaluationSuccess,
};

use crate::{middleware::caller::InKeyOrg, problem::ApiResult};

/// Where OFREP lives.
pub const OFREP: &str = "/ofrep/";

/// The request's `context`, or why it is refused (a `400`).
fn context(body: &[u8]) -> Result<flags::engine::Context, EvaluationFailure> {
    let request: EvaluationRequest = serde_json::from_slice(body).map_err(|error| EvaluationFailure {
        key: None,
        error_code: ErrorCode::ParseError,
        error_details: Some(format!("the body is not an OFREP request: {error}")),
    })?;
    flags::context(request.context)
}

fn failed(status: StatusCode, failure: &EvaluationFailure) -> HttpResponse {
    HttpResponse::build(status).json(failure)
}

#[utoipa::path(post, path = "/ofrep/v1/evaluate/flags/{key}", tag = "ofrep", summary = "Evaluate one flag (OFREP)", request_body = EvaluationRequest, responses((status = 200, body = EvaluationSuccess), (status = 400, body = EvaluationFailure), (status = 404, body = EvaluationFailure, description = "FLAG_NOT_FOUND")))]
pub async fn evaluate(
    InKeyOrg(org): InKeyOrg,
    state: web::Data<AppState>,
    key: web::Path<String>,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    let context = match context(&body) {
        Ok(context) => context,
        Err(refused) => return Ok(failed(StatusCode::BAD_REQUEST, &refused)),
    };
    Ok(match flags::evaluate(&state, &org.scope, &key, &context).await? {
        Evaluated::Success(success) => HttpResponse::Ok().json(success),
        Evaluated::Failure(failure) => {
            let status = match failure.error_code {
                ErrorCode::FlagNotFound => StatusCode::NOT_FOUND,
                ErrorCode::General => StatusCode::INTERNAL_SERVER_ERROR,
                _ => StatusCode::BAD_REQUEST,
            };
            failed(status, &failure)
        }
    })
}

#[utoipa::path(post, path = "/ofrep/v1/evaluate/flags", tag = "ofrep", summary = "Evaluate every flag of the key's org (OFREP bulk; ETag / If-None-Match)", params(("If-None-Match" = Option<String>, Header, description = "the ETag of an earlier answer: `304` while the answer is the same")), request_body = EvaluationRequest, responses((status = 200, body = BulkEvaluation), (status = 304), (status = 400, body = EvaluationFailure)))]
pub async fn evaluate_all(
    InKeyOrg(org): InKeyOrg,
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    let context = match context(&body) {
        Ok(context) => context,
        Err(refused) => return Ok(failed(StatusCode::BAD_REQUEST, &refused)),
    };
    let evaluated = flags::evaluate_all(&state, &org.scope, &context).await?;
    let body = serde_json::to_vec(&evaluated).map_err(attest_core::AppError::internal)?;
    // The answer's own digest: equal exactly when the answer is.
    let etag = format!("\"{}\"", &attest_core::crypto::sha256_hex(&body)[..32]);
    let unchanged = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|tags| tags.split(',').any(|tag| tag.trim() == etag || tag.trim() == "*"));
    let mut answer = if unchanged {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    answer.insert_header((header::ETAG, etag));
    Ok(if unchanged {
        answer.finish()
    } else {
        answer.content_type("application/json").body(body)
    })
}

/// Rewrites error answers on OFREP paths that are not OFREP's own (problem+json
/// from authentication, authorization, the rate limiter, unknown methods) into
/// `{"errorCode":"GENERAL","errorDetails":…}`, keeping the status and headers.
pub async fn errors_in_ofrep_shape(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let ofrep = req.path().starts_with(OFREP);
    let res = next.call(req).await?.map_into_boxed_body();
    let problem = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with(crate::problem::CONTENT_TYPE));
    if !ofrep || !problem {
        return Ok(res);
    }
    let (req, res) = res.into_parts();
    let (mut head, body) = res.into_parts();
    let bytes = body::to_bytes(body).await.unwrap_or_default();
    let problem: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
    let details = problem["detail"]
        .as_str()
        .or_else(|| problem["title"].as_str())
        .map(str::to_owned);
    let failure = EvaluationFailure {
        key: None,
        error_code: ErrorCode::General,
        error_details: details,
    };
    head.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    let rendered = serde_json::to_vec(&failure).unwrap_or_default();
    Ok(ServiceResponse::new(req, head.set_body(BoxBody::new(rendered))))
}
