//! Feature flags: each org's flags, managed through the API (audited, with
//! optimistic locking) and evaluated in memory for OFREP (docs/flags.md).

pub mod definition;
pub mod engine;
pub mod snapshots;
mod stored;

use attest_shared::{
    api::Page,
    flags::{
        BulkEvaluation, CreateFlag, ErrorCode, Evaluated, EvaluationFailure, EvaluationSuccess,
        FlagDefinition, FlagView, UpdateFlag,
    },
    permissions::Permission,
};
use chrono::{Duration, Utc};
use sea_orm::{
    sea_query::{Expr, Func, LikeExpr},
    ActiveModelTrait as _, ColumnTrait as _, EntityTrait as _, QueryFilter as _, Set, SqlErr,
};
use serde_json::Value;

use crate::{
    audit::{Action, Facts, Metadata, Record},
    authz::OrgScope,
    clock,
    precondition::{self, Expected},
    store::{entities::flags, page::PageRequest},
    AppError, AppResult, AppState, ErrorKind,
};
use engine::{CompiledFlag, Context};

const THE_FLAG: &str = "the flag";

/// A flag not evaluated for this long is shown as stale.
const STALE_AFTER_DAYS: i64 = 30;

fn view(row: flags::Model) -> AppResult<FlagView> {
    let definition = stored::definition(&row)?;
    let last_evaluated_at = row.last_evaluated_at.map(|t| t.to_utc());
    let since = Utc::now() - Duration::days(STALE_AFTER_DAYS);
    Ok(FlagView {
        stale: last_evaluated_at.unwrap_or(row.created_at.to_utc()) < since,
        key: row.key,
        definition,
        version: row.version,
        created_at: row.created_at.to_utc(),
        updated_at: row.updated_at.to_utc(),
        last_evaluated_at,
    })
}

/// A page of the org's flags by key; `search` keeps those whose key contains
/// it (case-insensitively).
pub async fn list(
    state: &AppState,
    scope: &OrgScope,
    page: &PageRequest,
    search: Option<&str>,
) -> AppResult<Page<FlagView>> {
    scope.require(Permission::FlagsRead)?;
    let mut query = flags::Entity::find().filter(flags::Column::OrgId.eq(scope.org_id()));
    if let Some(search) = search.map(str::trim).filter(|s| !s.is_empty()) {
        let mut pattern = String::from("%");
        for c in search.to_lowercase().chars() {
            if matches!(c, '%' | '_' | '\\') {
                pattern.push('\\');
            }
            pattern.push(c);
        }
        pattern.push('%');
        query = query.filter(
            Expr::expr(Func::lower(Expr::col(flags::Column::Key))).like(LikeExpr::new(pattern).escape('\\')),
        );
    }
    let mut cursor = query.cursor_by(flags::Column::Key);
    if let Some(after) = page.after::<String>()? {
        cursor.after(after);
    }
    let rows = cursor.first(page.fetch()).all(&state.db).await?;
    let views = rows.into_iter().map(view).collect::<AppResult<Vec<_>>>()?;
    Ok(page.page(views, |flag| flag.key.clone()))
}

async fn row(state: &AppState, scope: &OrgScope, key: &str) -> AppResult<flags::Model> {
    flags::Entity::find_by_id((scope.org_id(), key.to_owned()))
        .one(&state.db)
        .await?
        .ok_or_else(AppError::not_found)
}

pub async fn get(state: &AppState, scope: &OrgScope, key: &str) -> AppResult<FlagView> {
    scope.require(Permission::FlagsRead)?;
    view(row(state, scope, key).await?)
}

fn described(definition: &FlagDefinition) -> Facts {
    Facts {
        flag: Some(definition.clone()),
        ..Facts::default()
    }
}

pub async fn create(state: &AppState, scope: &OrgScope, body: &CreateFlag) -> AppResult<FlagView> {
    scope.require(Permission::FlagsManage)?;
    definition::check_key(&body.key)?;
    let definition = definition::from_create(body)?;
    let now = clock::now();
    let txn = state.begin().await?;
    let inserted = flags::ActiveModel {
        org_id: Set(scope.org_id()),
        key: Set(body.key.clone()),
        kind: Set(definition.kind.as_str().to_owned()),
        enabled: Set(definition.enabled),
        definition: Set(stored::encode(&definition)?),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        last_evaluated_at: Set(None),
    }
    .insert(&txn)
    .await
    .map_err(|error| match error.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(_)) => {
            AppError::new(ErrorKind::Conflict, "a flag with this key exists")
        }
        _ => error.into(),
    })?;
    scope
        .audit(
            &txn,
            Record::of(Action::FlagCreated, "flag", &body.key).with(Metadata::facts(described(&definition))),
        )
        .await?;
    txn.commit().await?;
    view(inserted)
}

/// Applies a PATCH if the flag is still at the expected version (`412`
/// otherwise). A change of `enabled` alone is recorded as `flag.toggled`.
pub async fn update(
    state: &AppState,
    scope: &OrgScope,
    key: &str,
    patch: &UpdateFlag,
    expected: Expected,
) -> AppResult<FlagView> {
    scope.require(Permission::FlagsManage)?;
    let txn = state.begin().await?;
    let current = flags::Entity::find_by_id((scope.org_id(), key.to_owned()))
        .one(&txn)
        .await?
        .ok_or_else(AppError::not_found)?;
    expected.check(current.version, THE_FLAG)?;
    let before = stored::definition(&current)?;
    let after = definition::patched(&before, patch)?;
    let version = current.version + 1;
    let now = clock::now();
    let encoded = stored::encode(&after)?;
    // Conditional on the version read, so a concurrent change is never overwritten.
    let updated = flags::Entity::update_many()
        .col_expr(flags::Column::Kind, Expr::value(after.kind.as_str()))
        .col_expr(flags::Column::Enabled, Expr::value(after.enabled))
        .col_expr(flags::Column::Definition, Expr::value(encoded.clone()))
        .col_expr(flags::Column::Version, Expr::value(version))
        .col_expr(flags::Column::UpdatedAt, Expr::value(now))
        .filter(flags::Column::OrgId.eq(scope.org_id()))
        .filter(flags::Column::Key.eq(key))
        .filter(flags::Column::Version.eq(current.version))
        .exec(&txn)
        .await?;
    if updated.rows_affected != 1 {
        return Err(precondition::stale(THE_FLAG));
    }
    let toggled_only = FlagDefinition {
        enabled: after.enabled,
        ..before.clone()
    } == after
        && before.enabled != after.enabled;
    let record = if toggled_only {
        let enabled = |enabled| Facts {
            enabled: Some(enabled),
            ..Facts::default()
        };
        Record::of(Action::FlagToggled, "flag", key)
            .with(Metadata::change(enabled(before.enabled), enabled(after.enabled)))
    } else {
        Record::of(Action::FlagUpdated, "flag", key)
            .with(Metadata::change(described(&before), described(&after)))
    };
    scope.audit(&txn, record).await?;
    txn.commit().await?;
    view(flags::Model {
        kind: after.kind.as_str().to_owned(),
        enabled: after.enabled,
        definition: encoded,
        version,
        updated_at: now,
        ..current
    })
}

pub async fn delete(state: &AppState, scope: &OrgScope, key: &str) -> AppResult<()> {
    scope.require(Permission::FlagsManage)?;
    let txn = state.begin().await?;
    let current = flags::Entity::find_by_id((scope.org_id(), key.to_owned()))
        .one(&txn)
        .await?
        .ok_or_else(AppError::not_found)?;
    flags::Entity::delete_by_id((scope.org_id(), key.to_owned()))
        .exec(&txn)
        .await?;
    scope
        .audit(
            &txn,
            Record::of(Action::FlagDeleted, "flag", key).with(Metadata {
                before: Some(described(&stored::definition(&current)?)),
                ..Metadata::default()
            }),
        )
        .await?;
    txn.commit().await?;
    Ok(())
}

fn failure(key: Option<&str>, code: ErrorCode, details: impl Into<String>) -> EvaluationFailure {
    EvaluationFailure {
        key: key.map(str::to_owned),
        error_code: code,
        error_details: Some(details.into()),
    }
}

/// The OFREP `context`, or why it is refused.
pub fn context(context: Value) -> Result<Context, EvaluationFailure> {
    Context::from_json(context).map_err(|(code, details)| failure(None, code, details))
}

fn evaluated(
    state: &AppState,
    scope: &OrgScope,
    flag: &snapshots::SnapshotFlag,
    context: &Context,
    now: chrono::DateTime<Utc>,
) -> Evaluated {
    if flag.stamp_due(now) {
        state
            .activity
            .flag_evaluated(scope.org_id(), &flag.flag.key, now.fixed_offset());
    }
    resolve(&flag.flag, context)
}

fn resolve(flag: &CompiledFlag, context: &Context) -> Evaluated {
    match flag.evaluate(context) {
        Ok(resolution) => Evaluated::Success(EvaluationSuccess {
            key: flag.key.clone(),
            value: resolution.value.clone(),
            reason: resolution.reason,
            variant: resolution.variant.to_owned(),
            metadata: serde_json::Map::new(),
        }),
        Err(failed) => Evaluated::Failure(failure(Some(&flag.key), failed.code, failed.details)),
    }
}

/// One flag of the scope's org for `context` (OFREP single evaluation).
pub async fn evaluate(
    state: &AppState,
    scope: &OrgScope,
    key: &str,
    context: &Context,
) -> AppResult<Evaluated> {
    scope.require(Permission::FlagsRead)?;
    let snapshot = state.flags.of(&state.db, scope.org()).await?;
    Ok(match snapshot.get(key) {
        Some(flag) => evaluated(state, scope, flag, context, Utc::now()),
        None => Evaluated::Failure(failure(
            Some(key),
            ErrorCode::FlagNotFound,
            format!("no flag `{key}`"),
        )),
    })
}

/// Every flag of the scope's org for `context`, in key order (OFREP bulk).
pub async fn evaluate_all(
    state: &AppState,
    scope: &OrgScope,
    context: &Context,
) -> AppResult<BulkEvaluation> {
    scope.require(Permission::FlagsRead)?;
    let snapshot = state.flags.of(&state.db, scope.org()).await?;
    let now = Utc::now();
    Ok(BulkEvaluation {
        flags: snapshot
            .flags
            .iter()
            .map(|flag| evaluated(state, scope, flag, context, now))
            .collect(),
    })
}
