//! `/api/v1/status/*`: operators manage the public status page.

use actix_web::{web, HttpResponse};
use attest_core::{
    status::{components, incidents, maintenances},
    AppState,
};
use attest_shared::status::{
    ComponentView, CreateComponent, CreateIncident, CreateMaintenance, IncidentView, MaintenanceView,
    PostIncidentUpdate, UpdateComponent, UpdateMaintenance,
};
use serde::Serialize;
use uuid::Uuid;

use crate::{extract::ApiJson, middleware::session::SignedIn, problem::ApiResult};

/// `{"items":[…]}`: the page's lists are short and unpaged.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Items<T> {
    items: Vec<T>,
}

fn items<T: Serialize>(items: Vec<T>) -> HttpResponse {
    HttpResponse::Ok().json(Items { items })
}

#[utoipa::path(get, path = "/api/v1/status/components", tag = "status page", summary = "The page's components, in display order (operators)", responses((status = 200, body = Items<ComponentView>)))]
pub async fn list_components(who: SignedIn, state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    Ok(items(components::list(&state, &who.actor).await?))
}

#[utoipa::path(post, path = "/api/v1/status/components", tag = "status page", summary = "Add a component (operators)", request_body = CreateComponent, responses((status = 201, body = ComponentView)))]
pub async fn create_component(
    who: SignedIn,
    state: web::Data<AppState>,
    ApiJson(body): ApiJson<CreateComponent>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Created().json(components::create(&state, &who.actor, &body).await?))
}

#[utoipa::path(get, path = "/api/v1/status/components/{id}", tag = "status page", summary = "One component (operators)", responses((status = 200, body = ComponentView)))]
pub async fn get_component(
    who: SignedIn,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(components::get(&state, &who.actor, *id).await?))
}

#[utoipa::path(patch, path = "/api/v1/status/components/{id}", tag = "status page", summary = "Change a component: the members sent replace its own (operators)", request_body = UpdateComponent, responses((status = 200, body = ComponentView)))]
pub async fn update_component(
    who: SignedIn,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    ApiJson(body): ApiJson<UpdateComponent>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(components::update(&state, &who.actor, *id, &body).await?))
}

#[utoipa::path(delete, path = "/api/v1/status/components/{id}", tag = "status page", summary = "Remove a component (operators)", responses((status = 204)))]
pub async fn delete_component(
    who: SignedIn,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    components::delete(&state, &who.actor, *id).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(get, path = "/api/v1/status/incidents", tag = "status page", summary = "The latest incidents, newest first (operators)", responses((status = 200, body = Items<IncidentView>)))]
pub async fn list_incidents(who: SignedIn, state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    Ok(items(incidents::list(&state, &who.actor).await?))
}

#[utoipa::path(post, path = "/api/v1/status/incidents", tag = "status page", summary = "Open an incident with its first update, setting the affected components' statuses (operators)", request_body = CreateIncident, responses((status = 201, body = IncidentView)))]
pub async fn create_incident(
    who: SignedIn,
    state: web::Data<AppState>,
    ApiJson(body): ApiJson<CreateIncident>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Created().json(incidents::create(&state, &who.actor, &body).await?))
}

#[utoipa::path(get, path = "/api/v1/status/incidents/{id}", tag = "status page", summary = "One incident with its updates (operators)", responses((status = 200, body = IncidentView)))]
pub async fn get_incident(
    who: SignedIn,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(incidents::get(&state, &who.actor, *id).await?))
}

#[utoipa::path(post, path = "/api/v1/status/incidents/{id}/updates", tag = "status page", summary = "Post an update; `resolved` returns the incident's other components to operational (operators)", request_body = PostIncidentUpdate, responses((status = 201, body = IncidentView)))]
pub async fn post_incident_update(
    who: SignedIn,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    ApiJson(body): ApiJson<PostIncidentUpdate>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Created().json(incidents::post_update(&state, &who.actor, *id, &body).await?))
}

#[utoipa::path(get, path = "/api/v1/status/maintenances", tag = "status page", summary = "Maintenances, latest window first (operators)", responses((status = 200, body = Items<MaintenanceView>)))]
pub async fn list_maintenances(who: SignedIn, state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    Ok(items(maintenances::list(&state, &who.actor).await?))
}

#[utoipa::path(post, path = "/api/v1/status/maintenances", tag = "status page", summary = "Schedule a maintenance; its status follows the window (operators)", request_body = CreateMaintenance, responses((status = 201, body = MaintenanceView)))]
pub async fn create_maintenance(
    who: SignedIn,
    state: web::Data<AppState>,
    ApiJson(body): ApiJson<CreateMaintenance>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Created().json(maintenances::create(&state, &who.actor, &body).await?))
}

#[utoipa::path(get, path = "/api/v1/status/maintenances/{id}", tag = "status page", summary = "One maintenance (operators)", responses((status = 200, body = MaintenanceView)))]
pub async fn get_maintenance(
    who: SignedIn,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(maintenances::get(&state, &who.actor, *id).await?))
}

#[utoipa::path(patch, path = "/api/v1/status/maintenances/{id}", tag = "status page", summary = "Change a maintenance: the members sent replace its own (operators)", request_body = UpdateMaintenance, responses((status = 200, body = MaintenanceView)))]
pub async fn update_maintenance(
    who: SignedIn,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    ApiJson(body): ApiJson<UpdateMaintenance>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(maintenances::update(&state, &who.actor, *id, &body).await?))
}

#[utoipa::path(delete, path = "/api/v1/status/maintenances/{id}", tag = "status page", summary = "Remove a maintenance (operators)", responses((status = 204)))]
pub async fn delete_maintenance(
    who: SignedIn,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    maintenances::delete(&state, &who.actor, *id).await?;
    Ok(HttpResponse::NoContent().finish())
}
