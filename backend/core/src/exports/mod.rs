//! Org exports: everything an org holds that the requester may read, as one
//! zip (docs/privacy.md "Org exports"). A request is answered at once with a
//! queued export; a background task writes the zip under the export folder;
//! its download works for [`VALID_FOR`] after it is written, then the file is
//! removed. Requests and downloads are audited.
//!
//! The export reads through the same services as the API, with the
//! requester's scope: a section the requester may not read is left out (and
//! the manifest says so), so an export never shows more than its requester
//! could see; and only its requester may see or download it.

mod writer;

use std::path::PathBuf;

use attest_shared::{
    exports::{ExportStatus, OrgExportView},
    permissions::Permission,
};
use chrono::Duration;
use sea_orm::{
    sea_query::Expr, ActiveModelTrait as _, ActiveValue::Set, ColumnTrait as _, EntityTrait as _,
    QueryFilter as _,
};
use uuid::Uuid;

use crate::{
    audit::{Action, Record},
    authz::OrgScope,
    clock,
    store::{decode_name, entities::org_exports},
    AppError, AppResult, AppState, ErrorKind,
};

/// How long a written export can be downloaded.
pub const VALID_FOR: Duration = Duration::hours(24);

/// `POST …/exports`: queues an export of the org and starts writing it.
pub async fn request(state: &AppState, scope: &OrgScope) -> AppResult<OrgExportView> {
    scope.require(Permission::DataExport)?;
    let row = org_exports::Model {
        id: Uuid::now_v7(),
        org_id: scope.org_id(),
        requested_by: scope.actor().user_id(),
        status: ExportStatus::Queued.as_str().to_owned(),
        progress: 0,
        error: None,
        file_size: None,
        file_sha256: None,
        created_at: clock::now(),
        completed_at: None,
        expires_at: None,
    };
    let txn = state.begin().await?;
    org_exports::Entity::insert(org_exports::ActiveModel::from(row.clone()))
        .exec_without_returning(&txn)
        .await?;
    scope
        .audit(&txn, Record::of(Action::ExportRequested, "export", row.id))
        .await?;
    txn.commit().await?;
    tokio::spawn(writer::run(state.clone(), scope.clone(), row.id));
    view(scope, row)
}

/// `GET …/exports/{id}`.
pub async fn get(state: &AppState, scope: &OrgScope, id: Uuid) -> AppResult<OrgExportView> {
    scope.require(Permission::DataExport)?;
    view(scope, current(state, scope, id).await?)
}

/// `GET …/exports/{id}/file`: the zip while it is downloadable, recorded.
pub async fn file(state: &AppState, scope: &OrgScope, id: Uuid) -> AppResult<(PathBuf, String)> {
    scope.require(Permission::DataExport)?;
    let row = current(state, scope, id).await?;
    match decode_name(&row.status, ExportStatus::parse)? {
        ExportStatus::Completed => {}
        ExportStatus::Expired => {
            return Err(AppError::new(
                ErrorKind::Conflict,
                "this export has expired and its file is gone: request a new one",
            ))
        }
        _ => {
            return Err(AppError::new(
                ErrorKind::Conflict,
                "this export is not written yet: its status says when it is",
            ))
        }
    }
    let txn = state.begin().await?;
    scope
        .audit(&txn, Record::of(Action::ExportDownloaded, "export", row.id))
        .await?;
    txn.commit().await?;
    let name = format!(
        "attest-{}-{}.zip",
        scope.org().slug,
        row.created_at.format("%Y%m%d-%H%M%S")
    );
    Ok((path_of(state, &row), name))
}

/// Marks exports that a stopped server left unfinished as failed, and removes
/// the files of those that expired (at start-up).
pub async fn tidy(state: &AppState) -> AppResult<()> {
    org_exports::Entity::update_many()
        .col_expr(
            org_exports::Column::Status,
            Expr::value(ExportStatus::Failed.as_str()),
        )
        .col_expr(
            org_exports::Column::Error,
            Expr::value("the server stopped while writing it: request a new one"),
        )
        .filter(
            org_exports::Column::Status
                .is_in([ExportStatus::Queued.as_str(), ExportStatus::Running.as_str()]),
        )
        .exec(&state.db)
        .await?;
    let expired = org_exports::Entity::find()
        .filter(org_exports::Column::Status.eq(ExportStatus::Completed.as_str()))
        .filter(org_exports::Column::ExpiresAt.lte(clock::now()))
        .all(&state.db)
        .await?;
    for row in expired {
        expire(state, row).await?;
    }
    Ok(())
}

/// The export as it stands now: one whose window has passed is expired first.
/// Only its requester sees it: it holds what *they* may read, which another
/// holder of `data:export` may not.
async fn current(state: &AppState, scope: &OrgScope, id: Uuid) -> AppResult<org_exports::Model> {
    let row = org_exports::Entity::find_by_id(id)
        .filter(org_exports::Column::OrgId.eq(scope.org_id()))
        .filter(org_exports::Column::RequestedBy.eq(scope.actor().user_id()))
        .one(&state.db)
        .await?
        .ok_or_else(|| AppError::new(ErrorKind::NotFound, "no such export in this organization"))?;
    let over = row.expires_at.is_some_and(|until| until <= clock::now());
    if over && row.status == ExportStatus::Completed.as_str() {
        return expire(state, row).await;
    }
    Ok(row)
}

async fn expire(state: &AppState, row: org_exports::Model) -> AppResult<org_exports::Model> {
    match std::fs::remove_file(path_of(state, &row)) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(AppError::internal(e)),
    }
    let mut active: org_exports::ActiveModel = row.into();
    active.status = Set(ExportStatus::Expired.as_str().to_owned());
    Ok(active.update(&state.db).await?)
}

fn path_of(state: &AppState, row: &org_exports::Model) -> PathBuf {
    state
        .config
        .export_dir
        .join(row.org_id.to_string())
        .join(format!("{}.zip", row.id))
}

fn view(scope: &OrgScope, row: org_exports::Model) -> AppResult<OrgExportView> {
    let status = decode_name(&row.status, ExportStatus::parse)?;
    Ok(OrgExportView {
        id: row.id,
        status,
        progress: row.progress,
        requested_by: row.requested_by,
        created_at: row.created_at.to_utc(),
        completed_at: row.completed_at.map(|t| t.to_utc()),
        expires_at: row.expires_at.map(|t| t.to_utc()),
        size: row.file_size,
        sha256: row.file_sha256,
        download_url: (status == ExportStatus::Completed)
            .then(|| format!("/api/v1/orgs/{}/exports/{}/file", scope.org().slug, row.id)),
        error: row.error,
    })
}
