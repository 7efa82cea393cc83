//! The OpenAPI 3.1 document of the HTTP API (`GET /api/v1/openapi.json`) and its
//! interactive docs (`/api/docs`, Swagger UI served from the binary).
//!
//! Each handler describes its own request and success answer (`#[utoipa::path]`).
//! What holds for every route alike comes from the route table, so it cannot
//! drift: path parameters, the security each [`Access`] takes, deprecation, and
//! the problem+json answers. A test keeps the document's operations equal to
//! the table's routes.

use std::sync::LazyLock;

use actix_web::{http::Method, HttpResponse};
use utoipa::{
    openapi::{
        path::{HttpMethod, Operation, ParameterBuilder, ParameterIn},
        security::{ApiKey, ApiKeyValue, Http, HttpAuthScheme, SecurityRequirement, SecurityScheme},
        Content, Deprecated, KnownFormat, ObjectBuilder, OpenApi as Document, Ref, RefOr, Required,
        ResponseBuilder, SchemaFormat, Type,
    },
    Modify, OpenApi, PartialSchema as _,
};

use crate::{
    problem::Problem,
    routes::{self, Access, RouteDef},
};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Attest API",
        version = "1",
        description = "Attest's partner and console API. Authenticate with `Authorization: Bearer atk_…` (an organization API key) or, from the console, the session cookie plus `X-CSRF-Token`. Errors are RFC 9457 problem documents. Guide: docs/api.md.",
        license(name = "AGPL-3.0-only", identifier = "AGPL-3.0-only")
    ),
    paths(
        routes::health::livez,
        routes::health::readyz,
        routes::metrics::metrics,
        routes::auth::login,
        routes::auth::logout,
        routes::auth::session,
        routes::sso::realm,
        routes::sso::start,
        routes::sso::callback,
        routes::sso::backchannel_logout,
        routes::invitations::accept,
        routes::auth::password_reset,
        routes::auth::password_reset_confirm,
        routes::me::me,
        routes::me::list_sessions,
        routes::me::revoke_session,
        routes::me::totp_begin,
        routes::me::totp_confirm,
        routes::me::totp_disable,
        routes::me::change_password,
        routes::me::list_identities,
        routes::me::link_identity,
        routes::me::unlink_identity,
        routes::me::export,
        routes::exports::request,
        routes::exports::get,
        routes::exports::file,
        routes::orgs::list,
        routes::orgs::create,
        routes::orgs::get,
        routes::orgs::update,
        routes::orgs::delete,
        routes::members::list,
        routes::members::remove,
        routes::roles::set_member_roles,
        routes::roles::list,
        routes::roles::create,
        routes::roles::replace,
        routes::roles::delete,
        routes::audit::checkpoint_key,
        routes::audit::list,
        routes::audit::export,
        routes::audit::verify,
        routes::audit::checkpoints,
        routes::audit::retention,
        routes::audit::set_retention,
        routes::invitations::list,
        routes::invitations::create,
        routes::invitations::revoke,
        routes::sso::get_settings,
        routes::sso::put_settings,
        routes::sso::test_connection,
        routes::sso::list_domains,
        routes::sso::verify_domain,
        routes::api_keys::list,
        routes::api_keys::create,
        routes::api_keys::revoke,
        routes::api_keys::rotate,
        routes::members::list_sessions,
        routes::members::revoke_session,
        routes::frameworks::list,
        routes::frameworks::import,
        routes::frameworks::starter,
        routes::frameworks::get,
        routes::frameworks::delete,
        routes::frameworks::requirements,
        routes::frameworks::readiness,
        routes::controls::list,
        routes::controls::create,
        routes::controls::get,
        routes::controls::update,
        routes::controls::delete,
        routes::evidence::list,
        routes::evidence::create,
        routes::evidence::run_check,
        routes::evidence::get,
        routes::evidence::file,
        routes::evidence::update,
        routes::evidence::delete,
        routes::policies::list,
        routes::policies::create,
        routes::policies::get,
        routes::policies::update,
        routes::policies::delete,
        routes::policies::publish,
        routes::policies::versions,
        routes::policies::acknowledge,
        routes::policies::acknowledgments,
        routes::flags::list,
        routes::flags::create,
        routes::flags::get,
        routes::flags::update,
        routes::flags::delete,
        routes::status_admin::list_components,
        routes::status_admin::create_component,
        routes::status_admin::get_component,
        routes::status_admin::update_component,
        routes::status_admin::delete_component,
        routes::status_admin::list_incidents,
        routes::status_admin::create_incident,
        routes::status_admin::get_incident,
        routes::status_admin::post_incident_update,
        routes::status_admin::list_maintenances,
        routes::status_admin::create_maintenance,
        routes::status_admin::get_maintenance,
        routes::status_admin::update_maintenance,
        routes::status_admin::delete_maintenance,
        routes::status_page::page,
        routes::status_page::stylesheet,
        routes::status_page::feed,
        routes::status_page::subscribed,
        routes::status_page::subscribe,
        routes::status_page::confirm_page,
        routes::status_page::confirm,
        routes::status_page::unsubscribe_page,
        routes::status_page::unsubscribe,
        routes::status_page::summary,
        routes::status_page::status,
        routes::status_page::components,
        routes::status_page::incidents,
        routes::status_page::unresolved_incidents,
        routes::status_page::scheduled_maintenances,
        routes::status_page::upcoming_maintenances,
        routes::status_page::active_maintenances,
        routes::ofrep::evaluate_all,
        routes::ofrep::evaluate,
        document,
    ),
    components(schemas(Problem)),
    modifiers(&FromRouteTable)
)]
struct ApiDoc;

/// The document, rendered once.
static DOCUMENT: LazyLock<String> = LazyLock::new(|| ApiDoc::openapi().to_pretty_json().unwrap_or_default());

/// `GET /api/v1/openapi.json`.
#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    tag = "meta",
    summary = "This document",
    responses((status = 200, body = Object))
)]
pub async fn document() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(DOCUMENT.as_str())
}

/// Where the interactive docs live.
pub const DOCS_PATH: &str = "/api/docs";

/// Mounts Swagger UI at [`DOCS_PATH`], its assets compiled into the binary (no
/// CDN), reading [`document`]; the bare path redirects to it.
pub fn configure_docs(cfg: &mut actix_web::web::ServiceConfig) {
    cfg.route(
        DOCS_PATH,
        actix_web::web::get().to(|| async {
            HttpResponse::MovedPermanently()
                .insert_header((actix_web::http::header::LOCATION, format!("{DOCS_PATH}/")))
                .finish()
        }),
    )
    .service(
        utoipa_swagger_ui::SwaggerUi::new(format!("{DOCS_PATH}/{{_:.*}}")).config(
            utoipa_swagger_ui::Config::new([format!("{}/openapi.json", routes::API_V1)]),
        ),
    );
}

const SESSION: &str = "session";
const API_KEY: &str = "api_key";
const METRICS_TOKEN: &str = "metrics_token";

/// Completes the handlers' descriptions from the route table.
struct FromRouteTable;

impl Modify for FromRouteTable {
    fn modify(&self, doc: &mut Document) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            SESSION,
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                "attest_session",
                "The console's session cookie (`__Host-attest_session` in production); unsafe methods also need `X-CSRF-Token`.",
            ))),
        );
        components.add_security_scheme(
            API_KEY,
            SecurityScheme::Http(
                Http::builder()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("atk_<public id>_<secret>")
                    .description(Some("An organization API key. Never in a query string."))
                    .build(),
            ),
        );
        components.add_security_scheme(
            METRICS_TOKEN,
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
        for route in routes::table() {
            let Some(item) = doc.paths.paths.get_mut(route.path) else {
                continue;
            };
            let operation = match http_method(&route.method) {
                Some(HttpMethod::Get) => item.get.as_mut(),
                Some(HttpMethod::Post) => item.post.as_mut(),
                Some(HttpMethod::Put) => item.put.as_mut(),
                Some(HttpMethod::Patch) => item.patch.as_mut(),
                Some(HttpMethod::Delete) => item.delete.as_mut(),
                _ => None,
            };
            if let Some(operation) = operation {
                describe(operation, &route);
            }
        }
    }
}

fn http_method(method: &Method) -> Option<HttpMethod> {
    Some(match *method {
        Method::GET => HttpMethod::Get,
        Method::POST => HttpMethod::Post,
        Method::PUT => HttpMethod::Put,
        Method::PATCH => HttpMethod::Patch,
        Method::DELETE => HttpMethod::Delete,
        _ => return None,
    })
}

fn describe(operation: &mut Operation, route: &RouteDef) {
    operation.operation_id = Some(operation_id(route));
    for (status, response) in operation.responses.responses.iter_mut() {
        if let RefOr::T(response) = response {
            if response.description.is_empty() {
                response.description = success_description(status).to_owned();
            }
        }
    }
    add_path_parameters(operation, route.path);
    if route.method == Method::POST && route.path.starts_with(routes::API_V1) {
        add_idempotency_key(operation);
    }
    operation.security = Some(security(route.access));
    if route.deprecation.is_some() {
        operation.deprecated = Some(Deprecated::True);
    }
    // Optimistic locking is documented by the handler's `If-Match` parameter.
    let if_match = operation
        .parameters
        .iter()
        .flatten()
        .find(|p| p.parameter_in == ParameterIn::Header && p.name.eq_ignore_ascii_case("if-match"))
        .map(|p| matches!(p.required, Required::True));
    // OFREP answers its errors in its own shape (routes::ofrep).
    let (content_type, schema) = match route.access {
        Access::Key(_) => ("application/json", "EvaluationFailure"),
        _ => (crate::problem::CONTENT_TYPE, "Problem"),
    };
    for status in problem_statuses(route, operation.request_body.is_some(), if_match) {
        let response = ResponseBuilder::new()
            .description(problem_description(status))
            .content(content_type, Content::new(Some(Ref::from_schema_name(schema))))
            .build();
        operation
            .responses
            .responses
            .entry(status.to_string())
            .or_insert(response.into());
    }
}

/// Unique and stable: the method and the path's words (`post_orgs_org_api_keys`).
fn operation_id(route: &RouteDef) -> String {
    let words = route
        .path
        .trim_start_matches(routes::API_V1)
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty());
    std::iter::once(route.method.as_str().to_lowercase())
        .chain(words.map(str::to_owned))
        .collect::<Vec<_>>()
        .join("_")
}

fn success_description(status: &str) -> &'static str {
    match status {
        "201" => "created",
        "204" => "done; no content",
        "302" => "redirect",
        _ => "success",
    }
}

/// `{org}` takes an id or a slug; the other placeholders are ids or names.
fn add_path_parameters(operation: &mut Operation, path: &str) {
    let parameters = operation.parameters.get_or_insert_with(Vec::new);
    for name in path
        .split('/')
        .filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}'))
    {
        let (schema, description) = match name {
            "org" => (String::schema(), "the organization's id or slug"),
            "name" => (String::schema(), "the role's name"),
            _ => (
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid)))
                    .into(),
                "an id",
            ),
        };
        parameters.push(
            ParameterBuilder::new()
                .name(name)
                .parameter_in(ParameterIn::Path)
                .required(Required::True)
                .description(Some(description))
                .schema(Some(schema))
                .build(),
        );
    }
}

fn add_idempotency_key(operation: &mut Operation) {
    let schema = ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length(Some(1))
        .max_length(Some(attest_core::idempotency::MAX_KEY_LENGTH))
        .pattern(Some("^[!-~]+$"));
    operation.parameters.get_or_insert_with(Vec::new).push(
        ParameterBuilder::new()
            .name("Idempotency-Key")
            .parameter_in(ParameterIn::Header)
            .required(Required::False)
            .description(Some(
                "Retrying with the same key and body returns the original answer (kept 24 h); another body is `409`.",
            ))
            .schema(Some(schema))
            .build(),
    );
}

fn security(access: Access) -> Vec<SecurityRequirement> {
    let scheme = |name: &str| SecurityRequirement::new(name, Vec::<String>::new());
    match access {
        Access::Public => vec![SecurityRequirement::default()],
        Access::MetricsToken => vec![SecurityRequirement::default(), scheme(METRICS_TOKEN)],
        Access::SignedIn | Access::Operator => vec![scheme(SESSION)],
        Access::Caller | Access::Org(_) => vec![scheme(API_KEY), scheme(SESSION)],
        Access::Key(_) => vec![scheme(API_KEY)],
    }
}

/// The problem answers a route can give besides its own.
/// The problems a route may answer with; `if_match` is whether it takes
/// `If-Match` (`Some(true)`: requires it).
fn problem_statuses(route: &RouteDef, has_body: bool, if_match: Option<bool>) -> Vec<u16> {
    let mut statuses = vec![400, 404, 429, 500, 503];
    if !matches!(route.access, Access::Public | Access::MetricsToken) {
        statuses.extend([401, 403]);
    }
    if route.path.starts_with("/auth/login") {
        statuses.extend([401, 403]);
    }
    if route.method != Method::GET {
        statuses.push(409);
    }
    if has_body {
        statuses.extend([413, 415]);
    }
    match if_match {
        Some(true) => statuses.extend([412, 428]),
        Some(false) => statuses.push(412),
        None => {}
    }
    statuses.sort_unstable();
    statuses.dedup();
    statuses
}

fn problem_description(status: u16) -> &'static str {
    match status {
        400 => "malformed request, or invalid fields (`validation_failed` lists them)",
        401 => "no, or no longer valid, credentials",
        403 => "known, but not permitted (the problem names the missing `permission`)",
        404 => "no such resource, or one the caller may not know exists",
        409 => "conflicts with the current state",
        412 => "`If-Match` is stale",
        413 => "body too large",
        415 => "not JSON",
        428 => "`If-Match` is required",
        429 => "rate limited; see `Retry-After`",
        503 => "unavailable; retry later",
        _ => "internal error (quote the request id)",
    }
}
