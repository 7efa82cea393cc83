//! Policies: Markdown documents the org lives by. The working text is edited
//! freely; publishing (which needs `policies:write`, and is the approval)
//! freezes it as the next numbered version, read-only from then on. Members
//! acknowledge having read the current version; each version has its list.

use attest_shared::{
    api::Page,
    compliance::{
        AcknowledgmentView, CreatePolicy, PolicyStatus, PolicyVersionView, PolicyView, UpdatePolicy,
    },
    permissions::Permission,
};
use sea_orm::{
    sea_query::{Expr, OnConflict},
    ActiveValue::Set,
    ColumnTrait as _, ConnectionTrait, EntityTrait as _, QueryFilter as _,
};
use sha2::{Digest as _, Sha256};
use uuid::Uuid;

use crate::{
    audit::{Action, ComplianceFacts, Record},
    authz::OrgScope,
    clock,
    precondition::{self, Expected},
    store::{
        entities::{policies, policy_acknowledgments, policy_versions},
        page::PageRequest,
    },
    validate::{finish, invalid, text},
    AppError, AppResult, AppState, ErrorKind,
};

const THE_POLICY: &str = "the policy";
const MAX_TITLE: usize = 300;
const MAX_BODY: usize = 500_000;

fn view(row: policies::Model) -> AppResult<PolicyView> {
    Ok(PolicyView {
        id: row.id,
        status: super::stored(&row.status, PolicyStatus::parse)?,
        title: row.title,
        body: row.body,
        current_version: row.current_version,
        unpublished_changes: row.unpublished_changes,
        version: row.version,
        created_at: row.created_at.to_utc(),
        updated_at: row.updated_at.to_utc(),
    })
}

fn version_view(row: policy_versions::Model) -> PolicyVersionView {
    PolicyVersionView {
        number: row.number,
        body: row.body,
        published_at: row.published_at.to_utc(),
        published_by: row.published_by,
    }
}

fn acknowledgment_view(row: policy_acknowledgments::Model) -> AcknowledgmentView {
    AcknowledgmentView {
        user_id: row.user_id,
        version: row.version,
        acknowledged_at: row.acknowledged_at.to_utc(),
    }
}

/// The text is recorded by its hash: the versions keep the text itself.
fn facts(row: &policies::Model) -> ComplianceFacts {
    ComplianceFacts {
        title: Some(row.title.clone()),
        status: Some(row.status.clone()),
        policy_version: row.current_version,
        body_sha256: Some(hex::encode(Sha256::digest(row.body.as_bytes()))),
        ..ComplianceFacts::default()
    }
}

fn checked_body(body: &str) -> AppResult<()> {
    if body.chars().count() > MAX_BODY {
        return Err(invalid("body", format!("must be at most {MAX_BODY} characters")));
    }
    Ok(())
}

pub async fn list(state: &AppState, scope: &OrgScope, page: &PageRequest) -> AppResult<Page<PolicyView>> {
    scope.require(Permission::PoliciesRead)?;
    let query = policies::Entity::find().filter(policies::Column::OrgId.eq(scope.org_id()));
    let rows = page
        .load(&state.db, query.cursor_by(policies::Column::Id), |p| p.id)
        .await?;
    super::views(rows, view)
}

async fn row<C: ConnectionTrait>(db: &C, scope: &OrgScope, id: Uuid) -> AppResult<policies::Model> {
    super::one_in_org::<policies::Entity, _>(db, scope, id, policies::Column::Id, policies::Column::OrgId)
        .await
}

pub async fn get(state: &AppState, scope: &OrgScope, id: Uuid) -> AppResult<PolicyView> {
    scope.require(Permission::PoliciesRead)?;
    view(row(&state.db, scope, id).await?)
}

pub async fn create(state: &AppState, scope: &OrgScope, body: &CreatePolicy) -> AppResult<PolicyView> {
    scope.require(Permission::PoliciesWrite)?;
    let mut errors = Vec::new();
    let title = text("title", &body.title, MAX_TITLE, &mut errors);
    finish(errors)?;
    checked_body(&body.body)?;
    let now = clock::now();
    let row = policies::Model {
        id: Uuid::now_v7(),
        org_id: scope.org_id(),
        title,
        body: body.body.clone(),
        status: PolicyStatus::Draft.as_str().to_owned(),
        current_version: None,
        unpublished_changes: true,
        version: 1,
        created_at: now,
        updated_at: now,
    };
    let txn = state.begin().await?;
    policies::Entity::insert(policies::ActiveModel::from(row.clone()))
        .exec_without_returning(&txn)
        .await?;
    scope
        .audit(
            &txn,
            Record::of(Action::PolicyCreated, "policy", row.id).with(super::created(facts(&row))),
        )
        .await?;
    txn.commit().await?;
    view(row)
}

/// The body of the policy's current published version, if any.
async fn published_body<C: ConnectionTrait>(db: &C, row: &policies::Model) -> AppResult<Option<String>> {
    let Some(number) = row.current_version else {
        return Ok(None);
    };
    Ok(policy_versions::Entity::find_by_id((row.id, number))
        .one(db)
        .await?
        .map(|v| v.body))
}

/// Stores `after` if the policy is still at `current`'s version (`412` otherwise).
async fn save<C: ConnectionTrait>(
    db: &C,
    current: &policies::Model,
    after: &policies::Model,
) -> AppResult<()> {
    let updated = policies::Entity::update_many()
        .col_expr(policies::Column::Title, Expr::value(after.title.clone()))
        .col_expr(policies::Column::Body, Expr::value(after.body.clone()))
        .col_expr(policies::Column::Status, Expr::value(after.status.clone()))
        .col_expr(
            policies::Column::CurrentVersion,
            Expr::value(after.current_version),
        )
        .col_expr(
            policies::Column::UnpublishedChanges,
            Expr::value(after.unpublished_changes),
        )
        .col_expr(policies::Column::Version, Expr::value(after.version))
        .col_expr(policies::Column::UpdatedAt, Expr::value(after.updated_at))
        .filter(policies::Column::Id.eq(current.id))
        .filter(policies::Column::Version.eq(current.version))
        .exec(db)
        .await?;
    if updated.rows_affected == 1 {
        Ok(())
    } else {
        Err(precondition::stale(THE_POLICY))
    }
}

/// Changes the title or the working text at the expected version.
pub async fn update(
    state: &AppState,
    scope: &OrgScope,
    id: Uuid,
    patch: &UpdatePolicy,
    expected: Expected,
) -> AppResult<PolicyView> {
    scope.require(Permission::PoliciesWrite)?;
    let mut errors = Vec::new();
    let title = patch
        .title
        .as_deref()
        .map(|t| text("title", t, MAX_TITLE, &mut errors));
    finish(errors)?;
    if let Some(body) = &patch.body {
        checked_body(body)?;
    }
    let txn = state.begin().await?;
    let current = row(&txn, scope, id).await?;
    expected.check(current.version, THE_POLICY)?;
    let body = patch.body.clone().unwrap_or_else(|| current.body.clone());
    let unpublished_changes = published_body(&txn, &current)
        .await?
        .is_none_or(|published| published != body);
    let after = policies::Model {
        title: title.unwrap_or_else(|| current.title.clone()),
        body,
        unpublished_changes,
        version: current.version + 1,
        updated_at: clock::now(),
        ..current.clone()
    };
    save(&txn, &current, &after).await?;
    scope
        .audit(
            &txn,
            Record::of(Action::PolicyUpdated, "policy", id)
                .with(super::change(facts(&current), facts(&after))),
        )
        .await?;
    txn.commit().await?;
    view(after)
}

/// Approves the working text as the next version (`409` when it is the
/// current version already).
pub async fn publish(state: &AppState, scope: &OrgScope, id: Uuid) -> AppResult<PolicyVersionView> {
    scope.require(Permission::PoliciesWrite)?;
    let txn = state.begin().await?;
    let current = row(&txn, scope, id).await?;
    if current.body.trim().is_empty() {
        return Err(invalid("body", "an empty policy cannot be published"));
    }
    if !current.unpublished_changes {
        return Err(AppError::new(
            ErrorKind::Conflict,
            format!(
                "nothing to publish: the text is version {}",
                current.current_version.unwrap_or_default()
            ),
        ));
    }
    let now = clock::now();
    let number = current.current_version.unwrap_or(0) + 1;
    let version = policy_versions::Model {
        policy_id: id,
        number,
        org_id: scope.org_id(),
        body: current.body.clone(),
        published_at: now,
        published_by: scope.actor().user_id(),
    };
    policy_versions::Entity::insert(policy_versions::ActiveModel::from(version.clone()))
        .exec_without_returning(&txn)
        .await?;
    let after = policies::Model {
        status: PolicyStatus::Published.as_str().to_owned(),
        current_version: Some(number),
        unpublished_changes: false,
        version: current.version + 1,
        updated_at: now,
        ..current.clone()
    };
    save(&txn, &current, &after).await?;
    scope
        .audit(
            &txn,
            Record::of(Action::PolicyPublished, "policy", id).with(super::created(facts(&after))),
        )
        .await?;
    txn.commit().await?;
    Ok(version_view(version))
}

/// The policy's published versions, oldest first.
pub async fn versions(
    state: &AppState,
    scope: &OrgScope,
    id: Uuid,
    page: &PageRequest,
) -> AppResult<Page<PolicyVersionView>> {
    scope.require(Permission::PoliciesRead)?;
    let policy = row(&state.db, scope, id).await?;
    let query = policy_versions::Entity::find().filter(policy_versions::Column::PolicyId.eq(policy.id));
    let rows = page
        .load(&state.db, query.cursor_by(policy_versions::Column::Number), |v| {
            v.number
        })
        .await?;
    Ok(rows.map(version_view))
}

pub async fn delete(state: &AppState, scope: &OrgScope, id: Uuid) -> AppResult<()> {
    scope.require(Permission::PoliciesWrite)?;
    let txn = state.begin().await?;
    let current = row(&txn, scope, id).await?;
    policies::Entity::delete_by_id(id).exec(&txn).await?;
    scope
        .audit(
            &txn,
            Record::of(Action::PolicyDeleted, "policy", id).with(super::deleted(facts(&current))),
        )
        .await?;
    txn.commit().await?;
    Ok(())
}

/// Records that the signed-in member read the current version. Asking again
/// changes nothing and answers the first acknowledgment.
pub async fn acknowledge(state: &AppState, scope: &OrgScope, id: Uuid) -> AppResult<AcknowledgmentView> {
    scope.require(Permission::PoliciesRead)?;
    if scope.actor().key().is_some() {
        return Err(AppError::new(
            ErrorKind::Forbidden,
            "a member acknowledges a policy in person; an API key cannot",
        ));
    }
    let user_id = scope.actor().user_id();
    let txn = state.begin().await?;
    let policy = row(&txn, scope, id).await?;
    let number = policy
        .current_version
        .ok_or_else(|| AppError::new(ErrorKind::Conflict, "the policy has no published version yet"))?;
    let inserted = policy_acknowledgments::Entity::insert(policy_acknowledgments::ActiveModel {
        policy_id: Set(id),
        version: Set(number),
        user_id: Set(user_id),
        org_id: Set(scope.org_id()),
        acknowledged_at: Set(clock::now()),
    })
    .on_conflict(
        OnConflict::columns([
            policy_acknowledgments::Column::PolicyId,
            policy_acknowledgments::Column::Version,
            policy_acknowledgments::Column::UserId,
        ])
        .do_nothing()
        .to_owned(),
    )
    .exec_without_returning(&txn)
    .await?;
    if inserted == 1 {
        scope
            .audit(
                &txn,
                Record::of(Action::PolicyAcknowledged, "policy", id).with(super::created(ComplianceFacts {
                    title: Some(policy.title.clone()),
                    policy_version: Some(number),
                    ..ComplianceFacts::default()
                })),
            )
            .await?;
    }
    let stored = policy_acknowledgments::Entity::find_by_id((id, number, user_id))
        .one(&txn)
        .await?
        .ok_or_else(|| AppError::internal("an acknowledgment just written is there"))?;
    txn.commit().await?;
    Ok(acknowledgment_view(stored))
}

/// Who acknowledged which version (`version` keeps one), by version then member.
pub async fn acknowledgments(
    state: &AppState,
    scope: &OrgScope,
    id: Uuid,
    version: Option<i32>,
    page: &PageRequest,
) -> AppResult<Page<AcknowledgmentView>> {
    scope.require(Permission::PoliciesRead)?;
    let policy = row(&state.db, scope, id).await?;
    let mut query =
        policy_acknowledgments::Entity::find().filter(policy_acknowledgments::Column::PolicyId.eq(policy.id));
    if let Some(version) = version {
        query = query.filter(policy_acknowledgments::Column::Version.eq(version));
    }
    let cursor = query.cursor_by((
        policy_acknowledgments::Column::Version,
        policy_acknowledgments::Column::UserId,
    ));
    let rows = page.load(&state.db, cursor, |a| (a.version, a.user_id)).await?;
    Ok(rows.map(acknowledgment_view))
}
