//! The one route table of the HTTP API.
//!
//! Every API route is declared here, with the access it requires, so tests (and
//! later the authorization matrix and the OpenAPI document) can enumerate them.
//! The console's pages and assets are mounted by [`crate::console`].

pub(crate) mod api_keys;
pub(crate) mod audit;
pub(crate) mod auth;
pub(crate) mod controls;
pub(crate) mod evidence;
pub(crate) mod exports;
pub(crate) mod flags;
pub(crate) mod frameworks;
pub(crate) mod health;
pub(crate) mod invitations;
pub(crate) mod me;
pub(crate) mod members;
pub mod metrics;
pub(crate) mod ofrep;
pub(crate) mod orgs;
pub(crate) mod policies;
pub(crate) mod roles;
pub(crate) mod sso;
pub(crate) mod status_admin;
pub(crate) mod status_page;

use actix_web::{
    body::BoxBody,
    http::Method,
    middleware::{from_fn, Next},
    web, HttpRequest,
};
use attest_core::{AppError, ErrorKind};
use attest_shared::permissions::Permission;

use crate::{middleware::idempotency, problem::ApiError};

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone, no credentials (probes, sign-in).
    Public,
    /// `Authorization: Bearer $ATTEST_METRICS_TOKEN` when a token is configured.
    MetricsToken,
    /// A signed-in person (session cookie, CSRF on unsafe methods); API keys `403`.
    SignedIn,
    /// A signed-in person or an API key.
    Caller,
    /// A signed-in platform operator.
    Operator,
    /// An org API key granting this permission, in the key's own org (OFREP);
    /// sessions `403`.
    Key(Permission),
    /// A signed-in member of the org in the path holding this permission, or an
    /// API key of that org granting it; members without it get `403`, everyone
    /// else `404`.
    Org(Permission),
}

/// One API route: `handler` attaches the handler to a route of the right method.
#[derive(Clone)]
pub struct RouteDef {
    pub method: Method,
    pub path: &'static str,
    pub access: Access,
    /// Set on routes on their way out (docs/api.md, "Versioning").
    pub deprecation: Option<Deprecation>,
    handler: fn(actix_web::Route) -> actix_web::Route,
}

/// A deprecated route answers with `Deprecation` (RFC 9745) and `Sunset`
/// (RFC 8594) headers, and the OpenAPI document marks it deprecated.
#[derive(Debug, Clone, Copy)]
pub struct Deprecation {
    /// When it was deprecated (Unix seconds).
    pub since: i64,
    /// When it stops answering (Unix seconds): at least six months later.
    pub sunset: i64,
}

impl Deprecation {
    fn headers(self) -> actix_web::middleware::DefaultHeaders {
        let sunset = std::time::UNIX_EPOCH + std::time::Duration::from_secs(self.sunset.unsigned_abs());
        actix_web::middleware::DefaultHeaders::new()
            .add(("deprecation", format!("@{}", self.since)))
            .add((
                "sunset",
                actix_web::http::header::HttpDate::from(sunset).to_string(),
            ))
    }
}

impl RouteDef {
    /// Marks the route deprecated.
    pub const fn deprecated(mut self, deprecation: Deprecation) -> RouteDef {
        self.deprecation = Some(deprecation);
        self
    }
}

const fn route(
    method: Method,
    path: &'static str,
    access: Access,
    handler: fn(actix_web::Route) -> actix_web::Route,
) -> RouteDef {
    RouteDef {
        method,
        path,
        access,
        deprecation: None,
        handler,
    }
}

/// Every API route.
pub fn table() -> Vec<RouteDef> {
    use Access::*;
    use Permission::*;
    vec![
        route(Method::GET, "/livez", Public, |r| r.to(health::livez)),
        route(Method::GET, "/readyz", Public, |r| r.to(health::readyz)),
        route(Method::GET, "/metrics", MetricsToken, |r| r.to(metrics::metrics)),
        route(Method::POST, "/auth/login", Public, |r| r.to(auth::login)),
        route(Method::POST, "/auth/logout", SignedIn, |r| r.to(auth::logout)),
        route(Method::GET, "/auth/session", SignedIn, |r| r.to(auth::session)),
        route(Method::GET, "/auth/sso/realm", Public, |r| r.to(sso::realm)),
        route(Method::GET, "/auth/sso/start", Public, |r| r.to(sso::start)),
        route(Method::GET, "/auth/sso/callback", Public, |r| r.to(sso::callback)),
        route(Method::POST, "/auth/sso/backchannel-logout", Public, |r| {
            r.to(sso::backchannel_logout)
        }),
        route(Method::POST, "/auth/invitations/accept", Public, |r| {
            r.to(invitations::accept)
        }),
        route(Method::POST, "/auth/password-reset", Public, |r| {
            r.to(auth::password_reset)
        }),
        route(Method::POST, "/auth/password-reset/confirm", Public, |r| {
            r.to(auth::password_reset_confirm)
        }),
        route(Method::GET, "/api/v1/me", Caller, |r| r.to(me::me)),
        route(Method::GET, "/api/v1/me/sessions", SignedIn, |r| {
            r.to(me::list_sessions)
        }),
        route(Method::DELETE, "/api/v1/me/sessions/{id}", SignedIn, |r| {
            r.to(me::revoke_session)
        }),
        route(Method::POST, "/api/v1/me/totp", SignedIn, |r| {
            r.to(me::totp_begin)
        }),
        route(Method::POST, "/api/v1/me/totp/confirm", SignedIn, |r| {
            r.to(me::totp_confirm)
        }),
        route(Method::POST, "/api/v1/me/totp/disable", SignedIn, |r| {
            r.to(me::totp_disable)
        }),
        route(Method::POST, "/api/v1/me/password", SignedIn, |r| {
            r.to(me::change_password)
        }),
        route(Method::GET, "/api/v1/me/identities", SignedIn, |r| {
            r.to(me::list_identities)
        }),
        route(Method::GET, "/api/v1/me/export", SignedIn, |r| r.to(me::export)),
        route(Method::POST, "/api/v1/me/identities", SignedIn, |r| {
            r.to(me::link_identity)
        }),
        route(Method::DELETE, "/api/v1/me/identities/{slug}", SignedIn, |r| {
            r.to(me::unlink_identity)
        }),
        route(Method::GET, "/api/v1/orgs", Caller, |r| r.to(orgs::list)),
        route(Method::POST, "/api/v1/orgs", Operator, |r| r.to(orgs::create)),
        route(Method::GET, "/api/v1/orgs/{org}", Org(OrgRead), |r| {
            r.to(orgs::get)
        }),
        route(Method::PATCH, "/api/v1/orgs/{org}", Org(OrgUpdate), |r| {
            r.to(orgs::update)
        }),
        route(Method::DELETE, "/api/v1/orgs/{org}", Org(OrgDelete), |r| {
            r.to(orgs::delete)
        }),
        route(Method::GET, "/api/v1/orgs/{org}/members", Org(MembersRead), |r| {
            r.to(members::list)
        }),
        route(
            Method::DELETE,
            "/api/v1/orgs/{org}/members/{user_id}",
            Org(MembersManage),
            |r| r.to(members::remove),
        ),
        route(
            Method::PUT,
            "/api/v1/orgs/{org}/members/{user_id}/roles",
            Org(MembersManage),
            |r| r.to(roles::set_member_roles),
        ),
        route(Method::GET, "/api/v1/orgs/{org}/roles", Org(OrgRead), |r| {
            r.to(roles::list)
        }),
        route(Method::POST, "/api/v1/orgs/{org}/roles", Org(RolesManage), |r| {
            r.to(roles::create)
        }),
        route(
            Method::PUT,
            "/api/v1/orgs/{org}/roles/{name}",
            Org(RolesManage),
            |r| r.to(roles::replace),
        ),
        route(
            Method::DELETE,
            "/api/v1/orgs/{org}/roles/{name}",
            Org(RolesManage),
            |r| r.to(roles::delete),
        ),
        route(Method::GET, "/api/v1/openapi.json", Public, |r| {
            r.to(crate::openapi::document)
        }),
        route(Method::GET, "/api/v1/audit/checkpoint-key", Public, |r| {
            r.to(audit::checkpoint_key)
        }),
        route(
            Method::GET,
            "/api/v1/orgs/{org}/audit-events",
            Org(AuditRead),
            |r| r.to(audit::list),
        ),
        route(
            Method::GET,
            "/api/v1/orgs/{org}/audit-events/export",
            Org(AuditExport),
            |r| r.to(audit::export),
        ),
        route(
            Method::GET,
            "/api/v1/orgs/{org}/audit-events/verify",
            Org(AuditRead),
            |r| r.to(audit::verify),
        ),
        route(
            Method::GET,
            "/api/v1/orgs/{org}/audit-events/checkpoints",
            Org(AuditRead),
            |r| r.to(audit::checkpoints),
        ),
        route(
            Method::GET,
            "/api/v1/orgs/{org}/audit-retention",
            Org(AuditRead),
            |r| r.to(audit::retention),
        ),
        route(
            Method::PUT,
            "/api/v1/orgs/{org}/audit-retention",
            Org(OrgUpdate),
            |r| r.to(audit::set_retention),
        ),
        route(
            Method::GET,
            "/api/v1/orgs/{org}/invitations",
            Org(MembersRead),
            |r| r.to(invitations::list),
        ),
        route(
            Method::POST,
            "/api/v1/orgs/{org}/invitations",
            Org(MembersManage),
            |r| r.to(invitations::create),
        ),
        route(
            Method::DELETE,
            "/api/v1/orgs/{org}/invitations/{id}",
            Org(MembersManage),
            |r| r.to(invitations::revoke),
        ),
        route(Method::GET, "/api/v1/orgs/{org}/sso", Org(SsoManage), |r| {
            r.to(sso::get_settings)
        }),
        route(Method::PUT, "/api/v1/orgs/{org}/sso", Org(SsoManage), |r| {
            r.to(sso::put_settings)
        }),
        route(Method::POST, "/api/v1/orgs/{org}/sso/test", Org(SsoManage), |r| {
            r.to(sso::test_connection)
        }),
        route(
            Method::GET,
            "/api/v1/orgs/{org}/sso/domains",
            Org(SsoManage),
            |r| r.to(sso::list_domains),
        ),
        route(
            Method::POST,
            "/api/v1/orgs/{org}/sso/domains/{domain}/verify",
            Org(SsoManage),
            |r| r.to(sso::verify_domain),
        ),
        route(
            Method::GET,
            "/api/v1/orgs/{org}/api-keys",
            Org(ApiKeysRead),
            |r| r.to(api_keys::list),
        ),
        route(
            Method::POST,
            "/api/v1/orgs/{org}/api-keys",
            Org(ApiKeysManage),
            |r| r.to(api_keys::create),
        ),
        route(
            Method::DELETE,
            "/api/v1/orgs/{org}/api-keys/{id}",
            Org(ApiKeysManage),
            |r| r.to(api_keys::revoke),
        ),
        route(
            Method::POST,
            "/api/v1/orgs/{org}/api-keys/{id}/rotate",
            Org(ApiKeysManage),
            |r| r.to(api_keys::rotate),
        ),
        route(
            Method::GET,
            "/api/v1/orgs/{org}/sessions",
            Org(SessionsRead),
            |r| r.to(members::list_sessions),
        ),
        route(
            Method::DELETE,
            "/api/v1/orgs/{org}/sessions/{id}",
            Org(SessionsRevoke),
            |r| r.to(members::revoke_session),
        ),
        route(Method::GET, "/api/v1/orgs/{org}/flags", Org(FlagsRead), |r| {
            r.to(flags::list)
        }),
        route(Method::POST, "/api/v1/orgs/{org}/flags", Org(FlagsManage), |r| {
            r.to(flags::create)
        }),
        route(
            Method::GET,
            "/api/v1/orgs/{org}/flags/{key}",
            Org(FlagsRead),
            |r| r.to(flags::get),
        ),
        route(
            Method::PATCH,
            "/api/v1/orgs/{org}/flags/{key}",
            Org(FlagsManage),
            |r| r.to(flags::update),
        ),
        route(
            Method::DELETE,
            "/api/v1/orgs/{org}/flags/{key}",
            Org(FlagsManage),
            |r| r.to(flags::delete),
        ),
        route(
            Method::GET,
            "/api/v1/orgs/{org}/frameworks",
            Org(ControlsRead),
            |r| r.to(frameworks::list),
        ),
        route(
            Method::POST,
            "/api/v1/orgs/{org}/frameworks/import",
            Org(ControlsWrite),
            |r| r.to(frameworks::import),
        ),
        route(
            Method::POST,
            "/api/v1/orgs/{org}/frameworks/starter",
            Org(ControlsWrite),
            |r| r.to(frameworks::starter),
        ),
        route(
            Method::GET,
            "/api/v1/orgs/{org}/frameworks/{id}",
            Org(ControlsRead),
            |r| r.to(frameworks::get),
        ),
        route(
            Method::DELETE,
            "/api/v1/orgs/{org}/frameworks/{id}",
            Org(ControlsWrite),
            |r| r.to(frameworks::delete),
        ),
        route(
            Method::GET,
            "/api/v1/orgs/{org}/frameworks/{id}/requirements",
            Org(ControlsRead),
            |r| r.to(frameworks::requirements),
        ),
        route(
            Method::GET,
            "/api/v1/orgs/{org}/frameworks/{id}/readiness",
            Org(ControlsRead),
            |r| r.to(frameworks::readiness),
        ),
        route(
            Method::GET,
            "/api/v1/orgs/{org}/controls",
            Org(ControlsRead),
            |r| r.to(controls::list),
        ),
        route(
            Method::POST,
            "/api/v1/orgs/{org}/controls",
            Org(ControlsWrite),
            |r| r.to(controls::create),
        ),
        route(
            Method::GET,
            "/api/v1/orgs/{org}/controls/{id}",
            Org(ControlsRead),
            |r| r.to(controls::get),
        ),
        route(
            Method::PATCH,
            "/api/v1/orgs/{org}/controls/{id}",
            Org(ControlsWrite),
            |r| r.to(controls::update),
        ),
        route(
            Method::DELETE,
            "/api/v1/orgs/{org}/controls/{id}",
            Org(ControlsWrite),
            |r| r.to(controls::delete),
        ),
        route(Method::POST, "/api/v1/orgs/{org}/exports", Org(DataExport), |r| {
            r.to(exports::request)
        }),
        route(
            Method::GET,
            "/api/v1/orgs/{org}/exports/{id}",
            Org(DataExport),
            |r| r.to(exports::get),
        ),
        route(
            Method::GET,
            "/api/v1/orgs/{org}/exports/{id}/file",
            Org(DataExport),
            |r| r.to(exports::file),
        ),
        route(
            Method::GET,
            "/api/v1/orgs/{org}/evidence",
            Org(EvidenceRead),
            |r| r.to(evidence::list),
        ),
        route(
            Method::POST,
            "/api/v1/orgs/{org}/evidence",
            Org(EvidenceWrite),
            |r| r.to(evidence::create),
        ),
        route(
            Method::POST,
            "/api/v1/orgs/{org}/evidence/checks",
            Org(EvidenceWrite),
            |r| r.to(evidence::run_check),
        ),
        route(
            Method::GET,
            "/api/v1/orgs/{org}/evidence/{id}",
            Org(EvidenceRead),
            |r| r.to(evidence::get),
        ),
        route(
            Method::GET,
            "/api/v1/orgs/{org}/evidence/{id}/file",
            Org(EvidenceRead),
            |r| r.to(evidence::file),
        ),
        route(
            Method::PATCH,
            "/api/v1/orgs/{org}/evidence/{id}",
            Org(EvidenceWrite),
            |r| r.to(evidence::update),
        ),
        route(
            Method::DELETE,
            "/api/v1/orgs/{org}/evidence/{id}",
            Org(EvidenceWrite),
            |r| r.to(evidence::delete),
        ),
        route(
            Method::GET,
            "/api/v1/orgs/{org}/policies",
            Org(PoliciesRead),
            |r| r.to(policies::list),
        ),
        route(
            Method::POST,
            "/api/v1/orgs/{org}/policies",
            Org(PoliciesWrite),
            |r| r.to(policies::create),
        ),
        route(
            Method::GET,
            "/api/v1/orgs/{org}/policies/{id}",
            Org(PoliciesRead),
            |r| r.to(policies::get),
        ),
        route(
            Method::PATCH,
            "/api/v1/orgs/{org}/policies/{id}",
            Org(PoliciesWrite),
            |r| r.to(policies::update),
        ),
        route(
            Method::DELETE,
            "/api/v1/orgs/{org}/policies/{id}",
            Org(PoliciesWrite),
            |r| r.to(policies::delete),
        ),
        route(
            Method::POST,
            "/api/v1/orgs/{org}/policies/{id}/publish",
            Org(PoliciesWrite),
            |r| r.to(policies::publish),
        ),
        route(
            Method::GET,
            "/api/v1/orgs/{org}/policies/{id}/versions",
            Org(PoliciesRead),
            |r| r.to(policies::versions),
        ),
        route(
            Method::POST,
            "/api/v1/orgs/{org}/policies/{id}/acknowledgments",
            Org(PoliciesRead),
            |r| r.to(policies::acknowledge),
        ),
        route(
            Method::GET,
            "/api/v1/orgs/{org}/policies/{id}/acknowledgments",
            Org(PoliciesRead),
            |r| r.to(policies::acknowledgments),
        ),
        route(Method::GET, "/api/v1/status/components", Operator, |r| {
            r.to(status_admin::list_components)
        }),
        route(Method::POST, "/api/v1/status/components", Operator, |r| {
            r.to(status_admin::create_component)
        }),
        route(Method::GET, "/api/v1/status/components/{id}", Operator, |r| {
            r.to(status_admin::get_component)
        }),
        route(Method::PATCH, "/api/v1/status/components/{id}", Operator, |r| {
            r.to(status_admin::update_component)
        }),
        route(Method::DELETE, "/api/v1/status/components/{id}", Operator, |r| {
            r.to(status_admin::delete_component)
        }),
        route(Method::GET, "/api/v1/status/incidents", Operator, |r| {
            r.to(status_admin::list_incidents)
        }),
        route(Method::POST, "/api/v1/status/incidents", Operator, |r| {
            r.to(status_admin::create_incident)
        }),
        route(Method::GET, "/api/v1/status/incidents/{id}", Operator, |r| {
            r.to(status_admin::get_incident)
        }),
        route(
            Method::POST,
            "/api/v1/status/incidents/{id}/updates",
            Operator,
            |r| r.to(status_admin::post_incident_update),
        ),
        route(Method::GET, "/api/v1/status/maintenances", Operator, |r| {
            r.to(status_admin::list_maintenances)
        }),
        route(Method::POST, "/api/v1/status/maintenances", Operator, |r| {
            r.to(status_admin::create_maintenance)
        }),
        route(Method::GET, "/api/v1/status/maintenances/{id}", Operator, |r| {
            r.to(status_admin::get_maintenance)
        }),
        route(Method::PATCH, "/api/v1/status/maintenances/{id}", Operator, |r| {
            r.to(status_admin::update_maintenance)
        }),
        route(
            Method::DELETE,
            "/api/v1/status/maintenances/{id}",
            Operator,
            |r| r.to(status_admin::delete_maintenance),
        ),
        route(Method::GET, "/status", Public, |r| r.to(status_page::page)),
        route(Method::GET, "/status/status.css", Public, |r| {
            r.to(status_page::stylesheet)
        }),
        route(Method::GET, "/status/feed.atom", Public, |r| {
            r.to(status_page::feed)
        }),
        route(Method::GET, "/status/subscriptions", Public, |r| {
            r.to(status_page::subscribed)
        }),
        route(Method::POST, "/status/subscriptions", Public, |r| {
            r.to(status_page::subscribe)
        }),
        route(Method::GET, "/status/subscriptions/confirm", Public, |r| {
            r.to(status_page::confirm_page)
        }),
        route(Method::POST, "/status/subscriptions/confirm", Public, |r| {
            r.to(status_page::confirm)
        }),
        route(Method::GET, "/status/subscriptions/unsubscribe", Public, |r| {
            r.to(status_page::unsubscribe_page)
        }),
        route(Method::POST, "/status/subscriptions/unsubscribe", Public, |r| {
            r.to(status_page::unsubscribe)
        }),
        route(Method::GET, "/api/v2/summary.json", Public, |r| {
            r.to(status_page::summary)
        }),
        route(Method::GET, "/api/v2/status.json", Public, |r| {
            r.to(status_page::status)
        }),
        route(Method::GET, "/api/v2/components.json", Public, |r| {
            r.to(status_page::components)
        }),
        route(Method::GET, "/api/v2/incidents.json", Public, |r| {
            r.to(status_page::incidents)
        }),
        route(Method::GET, "/api/v2/incidents/unresolved.json", Public, |r| {
            r.to(status_page::unresolved_incidents)
        }),
        route(Method::GET, "/api/v2/scheduled-maintenances.json", Public, |r| {
            r.to(status_page::scheduled_maintenances)
        }),
        route(
            Method::GET,
            "/api/v2/scheduled-maintenances/upcoming.json",
            Public,
            |r| r.to(status_page::upcoming_maintenances),
        ),
        route(
            Method::GET,
            "/api/v2/scheduled-maintenances/active.json",
            Public,
            |r| r.to(status_page::active_maintenances),
        ),
        route(Method::POST, "/ofrep/v1/evaluate/flags", Key(FlagsRead), |r| {
            r.to(ofrep::evaluate_all)
        }),
        route(
            Method::POST,
            "/ofrep/v1/evaluate/flags/{key}",
            Key(FlagsRead),
            |r| r.to(ofrep::evaluate),
        ),
    ]
}

/// Where the versioned API lives.
pub const API_V1: &str = "/api/v1";

/// Whether `path` is the partner API's (the versioned API, or OFREP): rate
/// limited by credential and open to the configured cross-origin callers.
pub fn is_partner_api(path: &str) -> bool {
    path.starts_with(API_V1) || path.starts_with(ofrep::OFREP)
}

/// Registers the table: one resource per path, answering `405` (with `Allow`)
/// for methods the path does not take. Every GET route answers HEAD too.
/// `/api/v1` is one scope with its own `404` problem for paths it does not have;
/// its `POST` routes wear the idempotency middleware, with their access.
pub fn configure(cfg: &mut web::ServiceConfig) {
    mount(cfg, table());
}

/// Registers `table` (see [`configure`]).
pub fn mount(cfg: &mut web::ServiceConfig, table: Vec<RouteDef>) {
    let mut paths: Vec<&'static str> = Vec::new();
    for r in &table {
        if !paths.contains(&r.path) {
            paths.push(r.path);
        }
    }
    let mut api = web::scope(API_V1).default_service(web::to(not_found));
    for path in paths {
        match path.strip_prefix(API_V1) {
            Some(rest) => api = api.service(resource(&table, path, rest)),
            None => {
                cfg.service(resource(&table, path, path));
            }
        }
    }
    cfg.service(api);
}

/// The resource at `mount` (relative to its scope) serving the table's `path`.
fn resource(table: &[RouteDef], path: &str, mount: &str) -> actix_web::Resource {
    let mut allow = Vec::new();
    let mut resource = web::resource(mount.to_owned());
    for r in table.iter().filter(|r| r.path == path) {
        let attach = |route: actix_web::Route| {
            let mut route = (r.handler)(route);
            if r.method == Method::POST && r.path.starts_with(API_V1) {
                let access = r.access;
                route = route.wrap(from_fn(move |req, next: Next<BoxBody>| {
                    idempotency::middleware(access, req, next)
                }));
            }
            // Outside idempotency: replays carry these as they stand now.
            match r.deprecation {
                Some(deprecation) => route.wrap(deprecation.headers()),
                None => route,
            }
        };
        resource = resource.route(attach(web::method(r.method.clone())));
        allow.push(r.method.as_str());
        if r.method == Method::GET {
            resource = resource.route(attach(web::head()));
            allow.push("HEAD");
        }
    }
    let allow = allow.join(", ");
    resource.default_service(web::to(move |_: HttpRequest| {
        let allow = allow.clone();
        async move { method_not_allowed(&allow) }
    }))
}

/// `303` to `location`: how a console form that works without JavaScript is
/// answered (back to its page, with the outcome in the query).
pub fn see_other(location: &str) -> actix_web::HttpResponse {
    actix_web::HttpResponse::SeeOther()
        .insert_header((actix_web::http::header::LOCATION, location.to_owned()))
        .finish()
}

pub fn method_not_allowed(allow: &str) -> actix_web::HttpResponse {
    let mut res = actix_web::ResponseError::error_response(&ApiError(AppError::new(
        ErrorKind::MethodNotAllowed,
        format!("this resource answers {allow}"),
    )));
    if let Ok(value) = actix_web::http::header::HeaderValue::from_str(allow) {
        res.headers_mut().insert(actix_web::http::header::ALLOW, value);
    }
    res
}

/// The answer for paths no route or page matches.
pub async fn not_found() -> crate::problem::ApiResult<actix_web::HttpResponse> {
    Err(ApiError(AppError::new(ErrorKind::NotFound, "no such resource")))
}

#[cfg(test)]
mod tests {
    use actix_web::{test, App, HttpResponse};

    use super::*;

    #[actix_web::test]
    async fn a_deprecated_route_says_so_and_when_it_ends() {
        let table = vec![
            route(Method::GET, "/api/v1/old", Access::Public, |r| {
                r.to(HttpResponse::Ok)
            })
            .deprecated(Deprecation {
                since: 1_767_225_600,
                sunset: 1_782_864_000,
            }),
            route(Method::GET, "/api/v1/new", Access::Public, |r| {
                r.to(HttpResponse::Ok)
            }),
        ];
        let app = test::init_service(App::new().configure(|cfg| mount(cfg, table))).await;
        let old = test::call_service(&app, test::TestRequest::get().uri("/api/v1/old").to_request()).await;
        assert_eq!(old.status(), 200);
        assert_eq!(old.headers().get("deprecation").unwrap(), "@1767225600");
        assert_eq!(
            old.headers().get("sunset").unwrap(),
            "Wed, 01 Jul 2026 00:00:00 GMT"
        );
        let new = test::call_service(&app, test::TestRequest::get().uri("/api/v1/new").to_request()).await;
        assert!(!new.headers().contains_key("deprecation"));
        assert!(!new.headers().contains_key("sunset"));
    }
}
