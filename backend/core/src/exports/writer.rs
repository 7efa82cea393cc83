//! Writing one org export: each section through the service the API uses,
//! with the requester's scope, into a zip with a manifest of SHA-256s.

use std::{future::Future, io::Write as _, sync::Arc};

use attest_shared::{api::Page, exports::ExportStatus, permissions::Permission};
use sea_orm::{sea_query::Expr, ColumnTrait as _, EntityTrait as _, QueryFilter as _};
use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

use super::{path_of, VALID_FOR};
use crate::{
    audit::export::Export,
    authz::{roles, OrgScope},
    backup::{Archive, Entry, Hashing},
    clock,
    compliance::{controls, evidence, frameworks, policies},
    flags,
    store::{
        entities::{audit_heads, org_exports},
        page::PageRequest,
    },
    tenancy::members,
    AppError, AppResult, AppState,
};

/// What the zip says about itself (`manifest.json`).
#[derive(Serialize)]
struct Manifest {
    format: &'static str,
    format_version: u32,
    org: serde_json::Value,
    created_at: chrono::DateTime<chrono::Utc>,
    requested_by: Uuid,
    entries: Vec<Entry>,
    /// Sections left out, with the permission the requester lacks.
    omitted: Vec<serde_json::Value>,
    /// The audit chain's head the export's events end at.
    audit_head: Option<serde_json::Value>,
}

/// The sections, in the order they are written, with what each needs.
const SECTIONS: [(&str, Permission); 9] = [
    ("org.json", Permission::OrgRead),
    ("members.json", Permission::MembersRead),
    ("roles.json", Permission::OrgRead),
    ("flags.json", Permission::FlagsRead),
    ("frameworks.json", Permission::ControlsRead),
    ("controls.json", Permission::ControlsRead),
    ("evidence.json", Permission::EvidenceRead),
    ("policies.json", Permission::PoliciesRead),
    ("audit-events.jsonl", Permission::AuditExport),
];

/// Writes the export `id`; a failure marks it failed, saying so in general
/// terms (the log has the detail).
pub(super) async fn run(state: AppState, scope: OrgScope, id: Uuid) {
    if let Err(e) = write(&state, &scope, id).await {
        tracing::warn!(export_id = %id, org_id = %scope.org_id(), error = %e, "an org export failed");
        let failed = org_exports::Entity::update_many()
            .col_expr(
                org_exports::Column::Status,
                Expr::value(ExportStatus::Failed.as_str()),
            )
            .col_expr(
                org_exports::Column::Error,
                Expr::value("writing the export failed: request a new one"),
            )
            .filter(org_exports::Column::Id.eq(id))
            .exec(&state.db)
            .await;
        if let Err(e) = failed {
            tracing::error!(export_id = %id, error = %e, "an org export failed and could not be marked so");
        }
    }
}

async fn write(state: &AppState, scope: &OrgScope, id: Uuid) -> AppResult<()> {
    let row = org_exports::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .ok_or_else(|| AppError::internal("the export vanished before it was written"))?;
    progress(state, id, ExportStatus::Running, 0).await?;
    let path = path_of(state, &row);
    let dir = path
        .parent()
        .ok_or_else(|| AppError::internal("an export path has a folder"))?;
    std::fs::create_dir_all(dir).map_err(AppError::internal)?;
    let partial = path.with_extension("partial");
    let _ = std::fs::remove_file(&partial);
    let mut archive = Archive::create(&partial)?;
    let org = scope.org();
    let mut manifest = Manifest {
        format: "attest-org-export",
        format_version: 1,
        org: json!({"id": org.id, "slug": org.slug, "name": org.name}),
        created_at: clock::now().to_utc(),
        requested_by: row.requested_by,
        entries: Vec::new(),
        omitted: Vec::new(),
        audit_head: None,
    };
    for (done, (name, needs)) in SECTIONS.iter().enumerate() {
        if scope.can(*needs) {
            section(state, scope, name, &mut archive, &mut manifest).await?;
        } else {
            manifest.omitted.push(json!({"section": name, "needs": needs}));
        }
        let percent = i32::try_from((done + 1) * 100 / (SECTIONS.len() + 1)).unwrap_or(99);
        progress(state, id, ExportStatus::Running, percent).await?;
    }
    archive.finish(&manifest)?;
    let mut hashing = Hashing::new(std::io::sink());
    std::io::copy(
        &mut std::fs::File::open(&partial).map_err(AppError::internal)?,
        &mut hashing,
    )
    .map_err(AppError::internal)?;
    let (sha256, size) = hashing.digest();
    std::fs::rename(&partial, &path).map_err(AppError::internal)?;
    let now = clock::now();
    org_exports::Entity::update_many()
        .col_expr(
            org_exports::Column::Status,
            Expr::value(ExportStatus::Completed.as_str()),
        )
        .col_expr(org_exports::Column::Progress, Expr::value(100))
        .col_expr(
            org_exports::Column::FileSize,
            Expr::value(i64::try_from(size).unwrap_or(i64::MAX)),
        )
        .col_expr(org_exports::Column::FileSha256, Expr::value(sha256))
        .col_expr(org_exports::Column::CompletedAt, Expr::value(now))
        .col_expr(org_exports::Column::ExpiresAt, Expr::value(now + VALID_FOR))
        .filter(org_exports::Column::Id.eq(id))
        .exec(&state.db)
        .await?;
    Ok(())
}

async fn progress(state: &AppState, id: Uuid, status: ExportStatus, percent: i32) -> AppResult<()> {
    org_exports::Entity::update_many()
        .col_expr(org_exports::Column::Status, Expr::value(status.as_str()))
        .col_expr(org_exports::Column::Progress, Expr::value(percent))
        .filter(org_exports::Column::Id.eq(id))
        .exec(&state.db)
        .await?;
    Ok(())
}

/// Writes the section `name` (and, for evidence, its files).
async fn section(
    state: &AppState,
    scope: &OrgScope,
    name: &str,
    archive: &mut Archive,
    manifest: &mut Manifest,
) -> AppResult<()> {
    let entries = &mut manifest.entries;
    match name {
        "org.json" => {
            let org = scope.org();
            let about = json!({
                "id": org.id, "slug": org.slug, "name": org.name,
                "created_at": org.created_at.to_utc(),
                "audit_retention_days": org.audit_retention_days,
            });
            entries.push(json_entry(archive, name, &about)?);
        }
        "members.json" => {
            let all =
                every(
                    |page| async move { members::list(state, scope, &page).await.map(Arc::unwrap_or_clone) },
                )
                .await?;
            entries.push(json_entry(archive, name, &all)?);
        }
        "roles.json" => {
            let all = every(|page| async move { roles::list(state, scope, &page).await }).await?;
            let views: Vec<_> = all
                .iter()
                .map(|r| json!({"name": r.name, "permissions": r.permissions, "builtin": r.builtin}))
                .collect();
            entries.push(json_entry(archive, name, &views)?);
        }
        "flags.json" => {
            let all = every(|page| async move { flags::list(state, scope, &page, None).await }).await?;
            entries.push(json_entry(archive, name, &all)?);
        }
        "frameworks.json" => {
            let all = every(|page| async move { frameworks::list(state, scope, &page).await }).await?;
            let mut with_requirements = Vec::new();
            for framework in all {
                let id = framework.id;
                let requirements =
                    every(|page| async move { frameworks::requirements(state, scope, id, &page).await })
                        .await?;
                with_requirements.push(json!({"framework": framework, "requirements": requirements}));
            }
            entries.push(json_entry(archive, name, &with_requirements)?);
        }
        "controls.json" => {
            let filter = controls::Filter::default();
            let filter = &filter;
            let all = every(|page| async move { controls::list(state, scope, filter, &page).await }).await?;
            entries.push(json_entry(archive, name, &all)?);
        }
        "evidence.json" => {
            let filter = evidence::Filter::default();
            let filter = &filter;
            let all = every(|page| async move { evidence::list(state, scope, filter, &page).await }).await?;
            entries.push(json_entry(archive, name, &all)?);
            let files: std::collections::BTreeSet<String> = all
                .iter()
                .filter_map(|e| e.file.as_ref())
                .map(|f| f.sha256.clone())
                .collect();
            for sha256 in files {
                let bytes = state.blobs.get(scope.org_id(), &sha256).await?;
                let mut out = archive.start(&format!("evidence/{sha256}"))?;
                out.write_all(&bytes).map_err(AppError::internal)?;
                entries.push(out.finish());
            }
        }
        "policies.json" => {
            let all = every(|page| async move { policies::list(state, scope, &page).await }).await?;
            let mut with_history = Vec::new();
            for policy in all {
                let id = policy.id;
                let versions =
                    every(|page| async move { policies::versions(state, scope, id, &page).await }).await?;
                let acknowledgments =
                    every(
                        |page| async move { policies::acknowledgments(state, scope, id, None, &page).await },
                    )
                    .await?;
                with_history.push(json!({
                    "policy": policy, "versions": versions, "acknowledgments": acknowledgments,
                }));
            }
            entries.push(json_entry(archive, name, &with_history)?);
        }
        "audit-events.jsonl" => {
            let head = audit_heads::Entity::find_by_id(scope.org_id())
                .one(&state.db)
                .await?
                .ok_or_else(|| AppError::internal("the org has no audit chain"))?;
            let events = Export {
                org_id: scope.org_id(),
                up_to_seq: head.seq,
                events: 0,
            };
            let mut out = archive.start(name)?;
            let mut after = 0;
            loop {
                let page = events.page(state, after).await?;
                let Some(last) = page.last() else { break };
                after = last.seq;
                for event in &page {
                    serde_json::to_writer(&mut out, event).map_err(AppError::internal)?;
                    out.write_all(b"\n").map_err(AppError::internal)?;
                }
            }
            entries.push(out.finish());
            manifest.audit_head = Some(json!({"seq": head.seq, "hash": head.hash}));
        }
        _ => return Err(AppError::internal(format!("no export section {name}"))),
    }
    Ok(())
}

fn json_entry(archive: &mut Archive, path: &str, value: &impl Serialize) -> AppResult<Entry> {
    let mut out = archive.start(path)?;
    serde_json::to_writer_pretty(&mut out, value).map_err(AppError::internal)?;
    Ok(out.finish())
}

/// Every item of a listing, page by page as the API serves it.
async fn every<T, F, Fut>(mut page_of: F) -> AppResult<Vec<T>>
where
    F: FnMut(PageRequest) -> Fut,
    Fut: Future<Output = AppResult<Page<T>>>,
{
    let mut all = Vec::new();
    let mut cursor = None;
    loop {
        let page = page_of(PageRequest::new(Some(200), cursor)?).await?;
        all.extend(page.items);
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return Ok(all),
        }
    }
}
