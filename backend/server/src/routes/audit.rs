//! `/api/v1/orgs/{org}/audit-events`: the org's audit trail, read-only.

use actix_web::{http::header, web, web::Bytes, HttpResponse};
use attest_core::{
    audit::{self, query},
    store::page::PageRequest,
    AppError, AppState,
};
use attest_shared::{
    api::Page,
    audit::{
        micros, AuditEvent, AuditRetention, ChainVerification, SetAuditRetention, SignedCheckpoint,
        EXPORT_EVENTS_HEADER,
    },
    error::FieldError,
};
use chrono::{DateTime, Utc};
use futures_util::{stream, StreamExt as _};
use serde::Deserialize;
use uuid::Uuid;

use crate::{
    extract::{ApiJson, PageQuery},
    middleware::caller::InOrg,
    problem::ApiResult,
};

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    action: Option<String>,
    actor_id: Option<Uuid>,
    target_id: Option<String>,
    since: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
    cursor: Option<String>,
    limit: Option<u64>,
}

#[utoipa::path(get, path = "/api/v1/orgs/{org}/audit-events", tag = "audit", summary = "Search the audit trail (newest first, cursor pagination)", params(ListQuery), responses((status = 200, body = Page<AuditEvent>)))]
pub async fn list(
    org: InOrg,
    state: web::Data<AppState>,
    params: web::Query<ListQuery>,
) -> ApiResult<HttpResponse> {
    let params = params.into_inner();
    let filter = query::Filter {
        action: params.action,
        actor_id: params.actor_id,
        target_id: params.target_id,
        since: params.since,
        until: params.until,
    };
    let page = PageRequest::new(params.limit, params.cursor)?;
    Ok(HttpResponse::Ok().json(query::list(&state, &org.scope, &filter, &page).await?))
}

/// `GET …/audit-events/checkpoints`: the org's signed checkpoints.
#[utoipa::path(get, path = "/api/v1/orgs/{org}/audit-events/checkpoints", tag = "audit", summary = "The chain's signed checkpoints, oldest first", params(PageQuery), responses((status = 200, body = Page<SignedCheckpoint>)))]
pub async fn checkpoints(
    org: InOrg,
    state: web::Data<AppState>,
    page: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let page = page.into_inner().request()?;
    Ok(HttpResponse::Ok().json(query::checkpoints(&state, &org.scope, &page).await?))
}

/// `GET /api/v1/orgs/{org}/audit-retention`.
#[utoipa::path(get, path = "/api/v1/orgs/{org}/audit-retention", tag = "audit", summary = "How long events are kept", responses((status = 200, body = AuditRetention)))]
pub async fn retention(org: InOrg) -> ApiResult<HttpResponse> {
    let days = audit::retention::get(&org.scope).await?;
    Ok(HttpResponse::Ok().json(retention_view(days)))
}

/// `PUT /api/v1/orgs/{org}/audit-retention` `{"days": N|null}`.
#[utoipa::path(put, path = "/api/v1/orgs/{org}/audit-retention", tag = "audit", summary = "Set how long events are kept", request_body = SetAuditRetention, responses((status = 200, body = AuditRetention)))]
pub async fn set_retention(
    org: InOrg,
    state: web::Data<AppState>,
    ApiJson(body): ApiJson<SetAuditRetention>,
) -> ApiResult<HttpResponse> {
    let days = audit::retention::set(&state, &org.scope, body.days).await?;
    Ok(HttpResponse::Ok().json(retention_view(days)))
}

fn retention_view(days: Option<i32>) -> AuditRetention {
    AuditRetention {
        days,
        minimum_days: audit::retention::MINIMUM_DAYS,
        maximum_days: audit::retention::MAXIMUM_DAYS,
    }
}

#[utoipa::path(get, path = "/api/v1/orgs/{org}/audit-events/verify", tag = "audit", summary = "Recompute the chain and check its signed checkpoints", responses((status = 200, body = ChainVerification)))]
pub async fn verify(org: InOrg, state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    let verification = query::verify(&state, &org.scope).await?;
    Ok(HttpResponse::Ok().json(verification.report()))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    format: Option<String>,
}

/// The two export formats: JSON lines (what verification reads) and CSV.
#[derive(Clone, Copy)]
enum Format {
    Jsonl,
    Csv,
}

impl Format {
    fn parse(name: Option<&str>) -> Result<Format, AppError> {
        match name.unwrap_or("jsonl") {
            "jsonl" => Ok(Format::Jsonl),
            "csv" => Ok(Format::Csv),
            _ => Err(AppError::validation(vec![FieldError {
                field: "format".into(),
                message: "must be jsonl or csv".into(),
            }])),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Format::Jsonl => "jsonl",
            Format::Csv => "csv",
        }
    }

    fn content_type(self) -> &'static str {
        match self {
            Format::Jsonl => "application/x-ndjson",
            Format::Csv => "text/csv; charset=utf-8",
        }
    }

    /// What comes before the first event.
    fn preamble(self) -> Bytes {
        match self {
            Format::Jsonl => Bytes::new(),
            Format::Csv => Bytes::from(format!("{}\r\n", audit::EVENT_COLUMNS.join(","))),
        }
    }

    fn encode(self, events: &[AuditEvent]) -> Result<Bytes, std::io::Error> {
        let mut out = Vec::with_capacity(events.len() * 512);
        match self {
            Format::Jsonl => {
                for event in events {
                    serde_json::to_writer(&mut out, event)?;
                    out.push(b'\n');
                }
            }
            Format::Csv => {
                let mut writer = csv::WriterBuilder::new().has_headers(false).from_writer(&mut out);
                for event in events {
                    writer.write_record(csv_row(event).iter().map(|cell| spreadsheet_safe(cell)))?;
                }
                writer.flush()?;
            }
        }
        Ok(Bytes::from(out))
    }
}

fn csv_row(e: &AuditEvent) -> [String; 16] {
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    [
        e.id.to_string(),
        e.seq.to_string(),
        micros::format(&e.occurred_at),
        e.actor.kind.as_str().to_owned(),
        e.actor.id.map(|id| id.to_string()).unwrap_or_default(),
        e.actor.display.clone(),
        e.action.clone(),
        e.target.kind.clone(),
        text(&e.target.id),
        e.outcome.as_str().to_owned(),
        text(&e.request_id),
        text(&e.ip),
        text(&e.user_agent),
        e.metadata.to_string(),
        e.prev_hash.clone(),
        e.hash.clone(),
    ]
}

/// A cell a spreadsheet would run as a formula gets a leading `'` (CSV
/// injection). Verification reads the JSON lines export, which is verbatim.
fn spreadsheet_safe(cell: &str) -> String {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{cell}")
    } else {
        cell.to_owned()
    }
}

/// `GET …/audit-events/export?format=jsonl|csv`: the chain as of the request,
/// oldest first, streamed a page at a time.
#[utoipa::path(get, path = "/api/v1/orgs/{org}/audit-events/export", tag = "audit", summary = "Export the whole chain, oldest first, streamed", params(ExportQuery), responses((status = 200, content((String = "application/x-ndjson"), (String = "text/csv")))))]
pub async fn export(
    org: InOrg,
    state: web::Data<AppState>,
    params: web::Query<ExportQuery>,
) -> ApiResult<HttpResponse> {
    let format = Format::parse(params.format.as_deref())?;
    let export = audit::export::begin(&state, &org.scope, format.name()).await?;
    let pages = stream::unfold(Some(0i64), move |after| {
        let state = state.clone();
        async move {
            let after = after?;
            match export.page(&state, after).await {
                Ok(events) => {
                    let last = events.last()?.seq;
                    Some((format.encode(&events), Some(last)))
                }
                Err(e) => Some((Err(std::io::Error::other(e.to_string())), None)),
            }
        }
    });
    let body = stream::once(async move { Ok(format.preamble()) }).chain(pages);
    let filename = format!(
        "{}-audit-{}.{}",
        org.scope.org().slug,
        chrono::Utc::now().format("%Y%m%dT%H%M%SZ"),
        format.name()
    );
    Ok(HttpResponse::Ok()
        .content_type(format.content_type())
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{filename}\""),
        ))
        .insert_header((EXPORT_EVENTS_HEADER, export.events.to_string()))
        .streaming(body))
}

/// `GET /api/v1/audit/checkpoint-key`: the public key that checkpoint
/// signatures verify against (docs/audit.md). Public on purpose.
#[utoipa::path(get, path = "/api/v1/audit/checkpoint-key", tag = "audit", summary = "The public key audit checkpoints are signed with", responses((status = 200, body = Object, example = json!({"algorithm": "Ed25519", "public_key": "3b6a27bcceb6a42d62a3a8d02a6f0d73653215771de243a63ac048a18b59da29"}))))]
pub async fn checkpoint_key(state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    let key = audit::checkpoint::CheckpointKey::derive(&state.key);
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "algorithm": "Ed25519",
        "public_key": key.public_hex(),
    })))
}
