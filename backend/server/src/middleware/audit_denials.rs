//! Records refused requests in the org's audit trail (`access.denied`).
//!
//! A service refuses by returning the `403` that `OrgScope::denied` builds, which
//! names the missing permission; the `InOrg` extractor left the org and the
//! actor on the request. Together they make the event, appended in a transaction
//! of its own once the handler has answered (its own work was rolled back).

use actix_web::{
    body::MessageBody,
    dev::{ServiceRequest, ServiceResponse},
    http::StatusCode,
    middleware::Next,
    web, Error, HttpMessage as _,
};
use attest_core::{
    audit::{self, Source},
    authz::DENIED_PERMISSION,
    AppState,
};
use attest_shared::permissions::Permission;
use uuid::Uuid;

use crate::problem::ApiError;

/// Left on the request by `InOrg`: where a denial would be recorded, and as whom.
#[derive(Clone)]
pub struct DenialTrail {
    pub org_id: Uuid,
    pub source: Source,
}

pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let res = next.call(req).await?;
    if res.status() != StatusCode::FORBIDDEN {
        return Ok(res);
    }
    let permission = res
        .response()
        .error()
        .and_then(|e| e.as_error::<ApiError>())
        .and_then(|e| e.0.extensions.get(DENIED_PERMISSION))
        .and_then(|v| v.as_str())
        .and_then(Permission::parse);
    let trail = res.request().extensions().get::<DenialTrail>().cloned();
    let state = res.request().app_data::<web::Data<AppState>>().cloned();
    if let (Some(permission), Some(trail), Some(state)) = (permission, trail, state) {
        let request = res.request();
        let route = format!(
            "{} {}",
            request.method(),
            request.match_pattern().unwrap_or_default()
        );
        if let Err(e) = audit::record_denial(&state, trail.org_id, &trail.source, permission, route).await {
            tracing::error!(error = %e, "a refused request could not be audited");
        }
    }
    Ok(res)
}
