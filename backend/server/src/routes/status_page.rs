//! The public status page: `/status` (HTML without script), its Atom feed,
//! mail subscriptions, and `/api/v2/*.json` in the hosted status-page API's
//! shape. No credentials, no cookies; everything but the subscription steps
//! is served from the in-memory rendering (`attest_core::status::published`).

use actix_web::{
    http::{header, StatusCode},
    web, HttpRequest, HttpResponse,
};
use attest_core::{
    status::{
        hosted_api::Endpoint,
        published::{Published, PAGE_NAME},
        subscriptions,
    },
    AppError, AppState, ErrorKind,
};
use attest_frontend::status_page;
use attest_shared::status::Subscribe;
use bytes::Bytes;
use serde::Deserialize;

use crate::{extract::JsonOrForm, problem::ApiResult, routes::see_other};

pub const STATUS: &str = "/status";
pub const SUBSCRIPTIONS: &str = "/status/subscriptions";
/// The hosted-API documents.
pub const HOSTED_API: &str = "/api/v2/";

/// Whether `path` is the public page's (never rate limited per credential,
/// never given a session).
pub fn is_public_page(path: &str) -> bool {
    path == STATUS || path.starts_with("/status/") || path.starts_with(HOSTED_API)
}

/// A rendering, or `304` when the client holds it already.
fn cached(req: &HttpRequest, published: &Published, content_type: &str, body: Bytes) -> HttpResponse {
    let fresh = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|tags| tags.split(',').any(|t| t.trim() == published.etag));
    let mut response = if fresh {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    response
        .insert_header((header::ETAG, published.etag.clone()))
        .insert_header((header::CACHE_CONTROL, "public, max-age=10"))
        .insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"));
    if fresh {
        response.finish()
    } else {
        response.content_type(content_type).body(body)
    }
}

#[utoipa::path(get, path = "/status", tag = "status page", summary = "The public status page (HTML, complete without JavaScript)", responses((status = 200, content_type = "text/html")))]
pub async fn page(req: HttpRequest, state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    let published = state.status.current(&state).await?;
    let html = published
        .html
        .get_or_init(|| Bytes::from(status_page::render(&published.page)))
        .clone();
    Ok(cached(&req, &published, "text/html; charset=utf-8", html))
}

#[utoipa::path(get, path = "/status/status.css", tag = "status page", summary = "The page's stylesheet", responses((status = 200, content_type = "text/css")))]
pub async fn stylesheet() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(status_page::STYLESHEET)
}

#[utoipa::path(get, path = "/status/feed.atom", tag = "status page", summary = "Incident updates and maintenances as an Atom feed", responses((status = 200, content_type = "application/atom+xml")))]
pub async fn feed(req: HttpRequest, state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    let published = state.status.current(&state).await?;
    let atom = published.atom.clone();
    Ok(cached(
        &req,
        &published,
        "application/atom+xml; charset=utf-8",
        atom,
    ))
}

async fn hosted(req: HttpRequest, state: web::Data<AppState>, endpoint: Endpoint) -> ApiResult<HttpResponse> {
    let published = state.status.current(&state).await?;
    let body = published.json(endpoint);
    Ok(cached(&req, &published, "application/json", body))
}

macro_rules! hosted_endpoints {
    ($($name:ident => $endpoint:ident, $path:literal, $summary:literal;)+) => {
        $(
            #[utoipa::path(get, path = $path, tag = "status page", summary = $summary, responses((status = 200, body = Object)))]
            pub async fn $name(req: HttpRequest, state: web::Data<AppState>) -> ApiResult<HttpResponse> {
                hosted(req, state, Endpoint::$endpoint).await
            }
        )+
    };
}

hosted_endpoints! {
    summary => Summary, "/api/v2/summary.json", "Page, components, open incidents, open maintenances and the indicator";
    status => Status, "/api/v2/status.json", "The indicator and its description";
    components => Components, "/api/v2/components.json", "Every component (groups with their members)";
    incidents => Incidents, "/api/v2/incidents.json", "The latest incidents (open and resolved)";
    unresolved_incidents => UnresolvedIncidents, "/api/v2/incidents/unresolved.json", "Open incidents";
    scheduled_maintenances => ScheduledMaintenances, "/api/v2/scheduled-maintenances.json", "The latest maintenances";
    upcoming_maintenances => UpcomingMaintenances, "/api/v2/scheduled-maintenances/upcoming.json", "Maintenances not started yet";
    active_maintenances => ActiveMaintenances, "/api/v2/scheduled-maintenances/active.json", "Maintenances in progress";
}

fn message(status: StatusCode, heading: &str, text: &str, form: Option<(&str, &str)>) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(status_page::render_message(PAGE_NAME, heading, text, form))
}

const CHECK_INBOX: &str = "If the address can receive updates, a confirmation link is on its way. Open it within 24 hours to start receiving them.";

#[utoipa::path(post, path = "/status/subscriptions", tag = "status page", summary = "Subscribe an address (double opt-in by mail); the same answer whether or not it is known", request_body = Subscribe, responses((status = 202), (status = 303, description = "a form: to the page that says to check the inbox")))]
pub async fn subscribe(state: web::Data<AppState>, body: JsonOrForm<Subscribe>) -> ApiResult<HttpResponse> {
    match body {
        JsonOrForm::Json(body) => {
            subscriptions::subscribe(&state, &body.email).await?;
            Ok(HttpResponse::Accepted().json(serde_json::json!({"message": CHECK_INBOX})))
        }
        JsonOrForm::Form(body) => Ok(match subscriptions::subscribe(&state, &body.email).await {
            Ok(()) => see_other(SUBSCRIPTIONS),
            Err(error) if error.kind == ErrorKind::ValidationFailed => message(
                StatusCode::BAD_REQUEST,
                "That is not an email address",
                "Go back and check the address.",
                None,
            ),
            Err(error) => return Err(error.into()),
        }),
    }
}

#[utoipa::path(get, path = "/status/subscriptions", tag = "status page", summary = "The page a subscription form leads to", responses((status = 200, content_type = "text/html")))]
pub async fn subscribed() -> HttpResponse {
    message(StatusCode::OK, "Check your inbox", CHECK_INBOX, None)
}

/// `?token=` of a mailed link.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LinkToken {
    token: String,
}

fn link_action(path: &str, token: &str) -> String {
    let token: String = url::form_urlencoded::byte_serialize(token.as_bytes()).collect();
    format!("{path}?token={token}")
}

fn link_failed(error: AppError) -> ApiResult<HttpResponse> {
    if error.kind == ErrorKind::NotFound {
        Ok(message(
            StatusCode::NOT_FOUND,
            "This link does not work",
            "It is invalid or has expired. Subscribe again from the status page.",
            None,
        ))
    } else {
        Err(error.into())
    }
}

const CONFIRM: &str = "/status/subscriptions/confirm";
const UNSUBSCRIBE: &str = "/status/subscriptions/unsubscribe";

#[utoipa::path(get, path = "/status/subscriptions/confirm", tag = "status page", summary = "The mailed confirmation link: a page with the button that confirms (mail scanners follow links, they do not press buttons)", params(LinkToken), responses((status = 200, content_type = "text/html")))]
pub async fn confirm_page(token: web::Query<LinkToken>) -> HttpResponse {
    let action = link_action(CONFIRM, &token.token);
    message(
        StatusCode::OK,
        "Confirm your subscription",
        "You will be mailed when an incident or a maintenance is posted.",
        Some((&action, "Confirm")),
    )
}

#[utoipa::path(post, path = "/status/subscriptions/confirm", tag = "status page", summary = "Confirm a subscription", params(LinkToken), responses((status = 200, content_type = "text/html"), (status = 404, description = "the link is invalid or expired")))]
pub async fn confirm(state: web::Data<AppState>, token: web::Query<LinkToken>) -> ApiResult<HttpResponse> {
    match subscriptions::confirm(&state, &token.token).await {
        Ok(()) => Ok(message(
            StatusCode::OK,
            "You are subscribed",
            "Every mail has a link to unsubscribe.",
            None,
        )),
        Err(error) => link_failed(error),
    }
}

#[utoipa::path(get, path = "/status/subscriptions/unsubscribe", tag = "status page", summary = "A mail's unsubscribe link: a page with the button that unsubscribes", params(LinkToken), responses((status = 200, content_type = "text/html")))]
pub async fn unsubscribe_page(token: web::Query<LinkToken>) -> HttpResponse {
    let action = link_action(UNSUBSCRIBE, &token.token);
    message(
        StatusCode::OK,
        "Unsubscribe",
        "You will no longer be mailed about incidents and maintenances.",
        Some((&action, "Unsubscribe")),
    )
}

#[utoipa::path(post, path = "/status/subscriptions/unsubscribe", tag = "status page", summary = "Unsubscribe (also RFC 8058 one-click, from the mail's List-Unsubscribe header)", params(LinkToken), responses((status = 200, content_type = "text/html"), (status = 404, description = "the link is invalid")))]
pub async fn unsubscribe(
    state: web::Data<AppState>,
    token: web::Query<LinkToken>,
) -> ApiResult<HttpResponse> {
    match subscriptions::unsubscribe(&state, &token.token).await {
        Ok(()) => Ok(message(
            StatusCode::OK,
            "You are unsubscribed",
            "No more mail will be sent to this address.",
            None,
        )),
        Err(error) => link_failed(error),
    }
}
