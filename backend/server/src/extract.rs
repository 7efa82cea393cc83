//! Request extractors that fail in the contract's problem+json shape.

use std::{future::Future, pin::Pin};

use actix_web::{dev::Payload, http::header, web, FromRequest, HttpMessage as _, HttpRequest};
use attest_core::{precondition::Expected, store::page::PageRequest, AppError, ErrorKind};
use attest_shared::error::FieldError;
use futures_util::StreamExt as _;
use serde::{de::DeserializeOwned, Deserialize};

use crate::{middleware::session::check_form_origin, problem::ApiError};

/// The JSON body limit, shared by every JSON route (`ATTEST_MAX_BODY_BYTES`).
#[derive(Clone, Copy, Debug)]
pub struct JsonLimit(pub usize);

/// A JSON body. Unlike actix's `Json` it tells malformed JSON (`400 bad_request`)
/// from valid JSON with wrong or unknown fields (`400 validation_failed` naming the
/// field), and answers `413` and `415` as problems.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for ApiJson<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let limit = req.app_data::<web::Data<JsonLimit>>().map_or(1_048_576, |l| l.0);
        let is_json = req
            .mime_type()
            .ok()
            .flatten()
            .is_some_and(|m| m.subtype() == mime::JSON || m.suffix() == Some(mime::JSON));
        let declared_len = declared_length(req);
        let mut payload = payload.take();
        Box::pin(async move {
            if !is_json {
                return Err(AppError::new(
                    ErrorKind::UnsupportedMediaType,
                    "this route takes a JSON body (Content-Type: application/json)",
                )
                .into());
            }
            let body = read_limited(&mut payload, declared_len, limit).await?;
            parse_json(&body).map(ApiJson).map_err(ApiError)
        })
    }
}

/// A body from the API (JSON, as [`ApiJson`]) or from a console form that
/// works without JavaScript (`application/x-www-form-urlencoded`, refused
/// unless it comes from this console's own pages); a handler answers a form
/// with a redirect back to a page rather than a status.
pub enum JsonOrForm<T> {
    Json(T),
    Form(T),
}

impl<T: DeserializeOwned + 'static> FromRequest for JsonOrForm<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        if is_form(req) {
            // A form any site could post: only this console's pages may.
            let origin_checked = check_form_origin(req);
            let form = web::Form::<T>::from_request(req, payload);
            Box::pin(async move {
                origin_checked?;
                form.await
                    .map(|form| JsonOrForm::Form(form.into_inner()))
                    .map_err(|_| unreadable_form().into())
            })
        } else {
            let json = ApiJson::<T>::from_request(req, payload);
            Box::pin(async move { json.await.map(|ApiJson(value)| JsonOrForm::Json(value)) })
        }
    }
}

/// Whether the body is a submitted HTML form (`application/x-www-form-urlencoded`).
pub fn is_form(req: &HttpRequest) -> bool {
    req.mime_type()
        .ok()
        .flatten()
        .is_some_and(|m| m.essence_str() == mime::APPLICATION_WWW_FORM_URLENCODED.essence_str())
}

/// A form's fields with one of them taken out: a console form carries its CSRF
/// token as a field the payload type does not know.
pub fn take_form_field<T: DeserializeOwned>(
    fields: Vec<(String, String)>,
    name: &str,
) -> Result<(Option<String>, T), AppError> {
    let (taken, rest): (Vec<_>, Vec<_>) = fields.into_iter().partition(|(field, _)| field == name);
    let encoded = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(rest)
        .finish();
    let payload = serde_urlencoded::from_str(&encoded).map_err(|_| unreadable_form())?;
    Ok((taken.into_iter().next().map(|(_, value)| value), payload))
}

pub fn unreadable_form() -> AppError {
    AppError::new(ErrorKind::BadRequest, "the form could not be read")
}

/// The limits of the routes that take documents and files rather than JSON
/// (`ATTEST_MAX_IMPORT_BYTES`, `ATTEST_MAX_UPLOAD_BYTES`).
#[derive(Clone, Copy, Debug)]
pub struct BodyLimits {
    pub import: usize,
    pub upload: usize,
}

/// The length a request declares (`Content-Length`), if it does.
pub fn declared_length(req: &HttpRequest) -> Option<usize> {
    req.headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
}

/// The whole body, refused with `413` as soon as it is known to exceed `limit`
/// (by its declared length, or while reading): never buffered past it.
pub async fn read_limited(
    payload: &mut Payload,
    declared_len: Option<usize>,
    limit: usize,
) -> Result<web::Bytes, ApiError> {
    if declared_len.is_some_and(|len| len > limit) {
        return Err(too_large(limit));
    }
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk =
            chunk.map_err(|_| AppError::new(ErrorKind::BadRequest, "the request body could not be read"))?;
        if body.len() + chunk.len() > limit {
            return Err(too_large(limit));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

pub fn too_large(limit: usize) -> ApiError {
    AppError::new(
        ErrorKind::PayloadTooLarge,
        format!("the body exceeds {limit} bytes"),
    )
    .into()
}

/// Deserializes `body`, classifying failures the way the contract asks.
pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, AppError> {
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        if inner.classify() == serde_json::error::Category::Data {
            field_error(&path, &inner)
        } else {
            AppError::new(ErrorKind::BadRequest, "the body is not valid JSON")
        }
    })?;
    deserializer.end().map_err(|_| {
        AppError::new(
            ErrorKind::BadRequest,
            "the body has trailing characters after the JSON value",
        )
    })?;
    Ok(value)
}

fn field_error(path: &str, err: &serde_json::Error) -> AppError {
    let message = err.to_string();
    let message = message.split(" at line ").next().unwrap_or(&message).to_owned();
    let field = if path == "." {
        String::new()
    } else {
        path.to_owned()
    };
    AppError::validation(vec![FieldError { field, message }])
}

/// A list's `?limit=` and `?cursor=` (CONTRACT.md "Lists").
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Items per page: 1 to 200, 50 when absent.
    limit: Option<u64>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

impl PageQuery {
    pub fn request(self) -> Result<PageRequest, ApiError> {
        Ok(PageRequest::new(self.limit, self.cursor)?)
    }
}

/// `If-Match` on an update that requires it: `*` or the ETag read; without it
/// the service answers `428` once the caller may make the change.
pub struct IfMatch(pub Expected);

/// `If-Match` on a whole-value replacement that needs none but honours one when
/// sent (CONTRACT.md: `PUT …/roles/{name}`, `PUT …/members/{user_id}/roles`).
pub struct IfMatchWhenSent(pub Expected);

/// The `If-Match` header as an expectation, if sent; a tag naming no version can
/// match none (`412`).
fn if_match(req: &HttpRequest) -> Option<Result<Expected, ApiError>> {
    let header = req.headers().get(header::IF_MATCH)?;
    Some(match header.to_str().map(str::trim) {
        Ok("*") => Ok(Expected::Any),
        tag => tag
            .ok()
            .and_then(parse_etag)
            .map(Expected::Version)
            .ok_or_else(|| {
                AppError::new(ErrorKind::PreconditionFailed, "If-Match matches no version").into()
            }),
    })
}

impl FromRequest for IfMatch {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        // Without one, the service answers `428` after its own checks.
        std::future::ready(if_match(req).unwrap_or(Ok(Expected::Missing)).map(IfMatch))
    }
}

impl FromRequest for IfMatchWhenSent {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(if_match(req).unwrap_or(Ok(Expected::Any)).map(IfMatchWhenSent))
    }
}

/// The ETag of a versioned resource: the version, quoted.
pub fn etag(version: i32) -> String {
    format!("\"{version}\"")
}

/// A versioned resource as JSON, with its `ETag`.
pub fn versioned<T: serde::Serialize>(
    status: actix_web::http::StatusCode,
    version: i32,
    body: &T,
) -> actix_web::HttpResponse {
    actix_web::HttpResponse::build(status)
        .insert_header((header::ETAG, etag(version)))
        .json(body)
}

fn parse_etag(tag: &str) -> Option<i32> {
    tag.trim_start_matches("W/").trim_matches('"').parse().ok()
}

/// Maps actix's own path and query extractor failures to problems.
pub fn configure_extractors(cfg: &mut web::ServiceConfig) {
    cfg.app_data(web::PathConfig::default().error_handler(|err, _| {
        ApiError(AppError::new(
            ErrorKind::NotFound,
            format!("no such resource ({err})"),
        ))
        .into()
    }))
    .app_data(web::QueryConfig::default().error_handler(|err, _| {
        ApiError(AppError::validation(vec![FieldError {
            field: "query".into(),
            message: err.to_string(),
        }]))
        .into()
    }))
    .app_data(
        web::JsonConfig::default()
            .error_handler(|err, _| ApiError(AppError::new(ErrorKind::BadRequest, err.to_string())).into()),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Login {
        email: String,
        count: u32,
    }

    #[test]
    fn malformed_json_is_a_bad_request() {
        let err = parse_json::<Login>(b"{\"email\":").unwrap_err();
        assert_eq!(err.kind, ErrorKind::BadRequest);
    }

    #[test]
    fn unknown_and_mistyped_fields_are_validation_errors_naming_the_field() {
        let err = parse_json::<Login>(br#"{"email":"a","count":1,"org_id":"x"}"#).unwrap_err();
        assert_eq!(err.kind, ErrorKind::ValidationFailed);
        assert_eq!(err.errors[0].field, "org_id");

        let err = parse_json::<Login>(br#"{"email":"a","count":"many"}"#).unwrap_err();
        assert_eq!(err.errors[0].field, "count");
    }
}
