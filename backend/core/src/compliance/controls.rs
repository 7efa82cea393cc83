//! Controls: what the org does to meet its frameworks' requirements. A
//! control maps to requirements of any of the org's frameworks, has an owner
//! (a member), tags, a review cadence, and a health derived from its status,
//! its evidence and its review date.

use std::collections::HashMap;

use attest_shared::{
    api::Page,
    compliance::{ControlHealth, ControlStatus, ControlView, CreateControl, UpdateControl},
    error::FieldError,
    permissions::Permission,
};
use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    prelude::DateTimeWithTimeZone,
    sea_query::{Expr, Query},
    ActiveValue::Set,
    ColumnTrait as _, ConnectionTrait, EntityTrait as _, JoinType, QueryFilter as _, QuerySelect as _,
    RelationTrait as _,
};
use uuid::Uuid;

use crate::{
    audit::{Action, ComplianceFacts, Record},
    authz::OrgScope,
    clock,
    precondition::{self, Expected},
    store::{
        entities::{control_requirements, control_tags, controls, evidence, evidence_controls, requirements},
        page::PageRequest,
    },
    tenancy::members::is_live_member,
    validate::{finish, optional_text, problem, text},
    AppResult, AppState,
};

const THE_CONTROL: &str = "the control";
const MAX_TITLE: usize = 300;
const MAX_TEXT: usize = 20_000;
const MAX_TAGS: usize = 50;
const MAX_TAG: usize = 64;
const MAX_REVIEW_DAYS: i32 = 3_650;

/// `GET …/controls` filters.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub status: Option<ControlStatus>,
    pub owner_id: Option<Uuid>,
    pub framework_id: Option<Uuid>,
    pub tag: Option<String>,
}

/// A control as it is about to be stored: what create and update both check.
#[derive(Debug, Clone, PartialEq)]
struct Draft {
    title: String,
    description: Option<String>,
    status: ControlStatus,
    justification: Option<String>,
    owner_id: Option<Uuid>,
    tags: Vec<String>,
    requirement_ids: Vec<Uuid>,
    review_every_days: Option<i32>,
    next_review_at: Option<DateTime<Utc>>,
}

impl Draft {
    fn facts(&self) -> ComplianceFacts {
        ComplianceFacts {
            title: Some(self.title.clone()),
            status: Some(self.status.as_str().to_owned()),
            justification: self.justification.clone(),
            owner_id: self.owner_id,
            tags: Some(self.tags.clone()),
            requirement_ids: Some(self.requirement_ids.clone()),
            review_every_days: self.review_every_days,
            next_review_at: self.next_review_at,
            ..ComplianceFacts::default()
        }
    }

    /// Trims and checks every field, collecting all problems; `requirement_ids`
    /// and `owner_id` are checked against the org by [`Self::resolve`].
    fn normalized(mut self) -> AppResult<Draft> {
        let mut errors = Vec::new();
        self.title = text("title", &self.title, MAX_TITLE, &mut errors);
        self.description = optional_text("description", self.description.as_deref(), MAX_TEXT, &mut errors);
        self.justification = optional_text(
            "justification",
            self.justification.as_deref(),
            MAX_TEXT,
            &mut errors,
        );
        if self.status == ControlStatus::NotApplicable && self.justification.is_none() {
            errors.push(problem(
                "justification",
                "a control that is not applicable says why",
            ));
        }
        self.tags = tags(std::mem::take(&mut self.tags), &mut errors);
        self.requirement_ids = super::distinct(std::mem::take(&mut self.requirement_ids));
        if let Some(days) = self.review_every_days {
            if !(1..=MAX_REVIEW_DAYS).contains(&days) {
                errors.push(problem(
                    "review_every_days",
                    format!("must be between 1 and {MAX_REVIEW_DAYS}"),
                ));
            }
        }
        finish(errors)?;
        Ok(self)
    }

    /// The draft's requirements with their frameworks, all the org's; the
    /// owner a member of it.
    async fn resolve<C: ConnectionTrait>(&self, db: &C, scope: &OrgScope) -> AppResult<Vec<(Uuid, Uuid)>> {
        if let Some(owner) = self.owner_id {
            if !is_live_member(db, scope.org_id(), owner).await? {
                return Err(crate::validate::invalid(
                    "owner_id",
                    "is not a member of this organization",
                ));
            }
        }
        super::all_in_org::<requirements::Entity, _>(
            db,
            scope,
            &self.requirement_ids,
            requirements::Column::Id,
            requirements::Column::OrgId,
            "requirement_ids",
        )
        .await?;
        if self.requirement_ids.is_empty() {
            return Ok(Vec::new());
        }
        Ok(requirements::Entity::find()
            .select_only()
            .column(requirements::Column::Id)
            .column(requirements::Column::FrameworkId)
            .filter(requirements::Column::OrgId.eq(scope.org_id()))
            .filter(requirements::Column::Id.is_in(self.requirement_ids.iter().copied()))
            .into_tuple()
            .all(db)
            .await?)
    }
}

/// Tags trimmed, each checked, duplicates dropped, sorted.
fn tags(tags: Vec<String>, errors: &mut Vec<FieldError>) -> Vec<String> {
    let mut kept: Vec<String> = tags.iter().map(|t| t.trim().to_owned()).collect();
    if kept
        .iter()
        .any(|t| t.is_empty() || t.chars().count() > MAX_TAG || t.chars().any(char::is_control))
    {
        errors.push(problem(
            "tags",
            format!("each tag is 1 to {MAX_TAG} printable characters"),
        ));
    }
    kept.sort();
    kept.dedup();
    if kept.len() > MAX_TAGS {
        errors.push(problem("tags", format!("at most {MAX_TAGS} tags")));
    }
    kept
}

/// How a control is doing (see [`ControlHealth`]); `validity` holds the
/// `valid_until` of each piece of its evidence.
pub fn health(
    status: ControlStatus,
    next_review_at: Option<DateTime<Utc>>,
    validity: &[Option<DateTime<Utc>>],
    now: DateTime<Utc>,
) -> ControlHealth {
    let overdue = next_review_at.is_some_and(|at| at < now);
    let current = validity
        .iter()
        .any(|&until| super::evidence::is_current(until, now));
    match status {
        ControlStatus::NotStarted | ControlStatus::InProgress => ControlHealth::Grey,
        ControlStatus::NotApplicable if overdue => ControlHealth::Amber,
        ControlStatus::NotApplicable => ControlHealth::Green,
        ControlStatus::Implemented if validity.is_empty() => ControlHealth::Red,
        ControlStatus::Implemented if !current || overdue => ControlHealth::Amber,
        ControlStatus::Implemented => ControlHealth::Green,
    }
}

/// What the views of `rows` need besides the rows: tags, mappings, evidence validity.
struct Linked {
    tags: HashMap<Uuid, Vec<String>>,
    requirements: HashMap<Uuid, Vec<Uuid>>,
    validity: HashMap<Uuid, Vec<Option<DateTime<Utc>>>>,
}

impl Linked {
    async fn of<C: ConnectionTrait>(db: &C, rows: &[controls::Model]) -> AppResult<Linked> {
        let ids: Vec<Uuid> = rows.iter().map(|c| c.id).collect();
        let mut linked = Linked {
            tags: HashMap::new(),
            requirements: HashMap::new(),
            validity: HashMap::new(),
        };
        if ids.is_empty() {
            return Ok(linked);
        }
        let tags: Vec<(Uuid, String)> = control_tags::Entity::find()
            .select_only()
            .columns([control_tags::Column::ControlId, control_tags::Column::Tag])
            .filter(control_tags::Column::ControlId.is_in(ids.clone()))
            .into_tuple()
            .all(db)
            .await?;
        for (control, tag) in tags {
            linked.tags.entry(control).or_default().push(tag);
        }
        let mappings: Vec<(Uuid, Uuid)> = control_requirements::Entity::find()
            .select_only()
            .columns([
                control_requirements::Column::ControlId,
                control_requirements::Column::RequirementId,
            ])
            .filter(control_requirements::Column::ControlId.is_in(ids.clone()))
            .into_tuple()
            .all(db)
            .await?;
        for (control, requirement) in mappings {
            linked.requirements.entry(control).or_default().push(requirement);
        }
        let validity: Vec<(Uuid, Option<DateTimeWithTimeZone>)> = evidence_controls::Entity::find()
            .select_only()
            .column(evidence_controls::Column::ControlId)
            .column(evidence::Column::ValidUntil)
            .join(JoinType::InnerJoin, evidence_controls::Relation::Evidence.def())
            .filter(evidence_controls::Column::ControlId.is_in(ids))
            .into_tuple()
            .all(db)
            .await?;
        for (control, until) in validity {
            linked
                .validity
                .entry(control)
                .or_default()
                .push(until.map(|u| u.to_utc()));
        }
        Ok(linked)
    }

    /// A control just created from `draft`.
    fn of_new(id: Uuid, draft: &Draft) -> Linked {
        Linked {
            tags: HashMap::from([(id, draft.tags.clone())]),
            requirements: HashMap::from([(id, draft.requirement_ids.clone())]),
            validity: HashMap::new(),
        }
    }

    fn view(&mut self, row: controls::Model, now: DateTime<Utc>) -> AppResult<ControlView> {
        let status = super::stored(&row.status, ControlStatus::parse)?;
        let next_review_at = row.next_review_at.map(|t| t.to_utc());
        let mut tags = self.tags.remove(&row.id).unwrap_or_default();
        tags.sort();
        let requirement_ids = super::distinct(self.requirements.remove(&row.id).unwrap_or_default());
        let validity = self.validity.remove(&row.id).unwrap_or_default();
        Ok(ControlView {
            id: row.id,
            title: row.title,
            description: row.description,
            status,
            justification: row.justification,
            owner_id: row.owner_id,
            tags,
            requirement_ids,
            review_every_days: row.review_every_days,
            next_review_at,
            health: health(status, next_review_at, &validity, now),
            version: row.version,
            created_at: row.created_at.to_utc(),
            updated_at: row.updated_at.to_utc(),
        })
    }
}

async fn view_of<C: ConnectionTrait>(db: &C, row: controls::Model) -> AppResult<ControlView> {
    Linked::of(db, std::slice::from_ref(&row))
        .await?
        .view(row, Utc::now())
}

fn draft_of(row: &controls::Model, view: &ControlView) -> Draft {
    Draft {
        title: row.title.clone(),
        description: row.description.clone(),
        status: view.status,
        justification: row.justification.clone(),
        owner_id: row.owner_id,
        tags: view.tags.clone(),
        requirement_ids: view.requirement_ids.clone(),
        review_every_days: row.review_every_days,
        next_review_at: view.next_review_at,
    }
}

pub async fn list(
    state: &AppState,
    scope: &OrgScope,
    filter: &Filter,
    page: &PageRequest,
) -> AppResult<Page<ControlView>> {
    scope.require(Permission::ControlsRead)?;
    let mut query = controls::Entity::find().filter(controls::Column::OrgId.eq(scope.org_id()));
    if let Some(status) = filter.status {
        query = query.filter(controls::Column::Status.eq(status.as_str()));
    }
    if let Some(owner) = filter.owner_id {
        query = query.filter(controls::Column::OwnerId.eq(owner));
    }
    if let Some(framework) = filter.framework_id {
        query = query.filter(
            controls::Column::Id.in_subquery(
                Query::select()
                    .column(control_requirements::Column::ControlId)
                    .from(control_requirements::Entity)
                    .and_where(control_requirements::Column::FrameworkId.eq(framework))
                    .and_where(control_requirements::Column::OrgId.eq(scope.org_id()))
                    .to_owned(),
            ),
        );
    }
    if let Some(tag) = filter.tag.as_deref() {
        query = query.filter(
            controls::Column::Id.in_subquery(
                Query::select()
                    .column(control_tags::Column::ControlId)
                    .from(control_tags::Entity)
                    .and_where(control_tags::Column::OrgId.eq(scope.org_id()))
                    .and_where(control_tags::Column::Tag.eq(tag.trim()))
                    .to_owned(),
            ),
        );
    }
    let rows = page
        .load(&state.db, query.cursor_by(controls::Column::Id), |c| c.id)
        .await?;
    let mut linked = Linked::of(&state.db, &rows.items).await?;
    let now = Utc::now();
    super::views(rows, |row| linked.view(row, now))
}

pub(super) async fn row<C: ConnectionTrait>(
    db: &C,
    scope: &OrgScope,
    id: Uuid,
) -> AppResult<controls::Model> {
    super::one_in_org::<controls::Entity, _>(db, scope, id, controls::Column::Id, controls::Column::OrgId)
        .await
}

pub async fn get(state: &AppState, scope: &OrgScope, id: Uuid) -> AppResult<ControlView> {
    scope.require(Permission::ControlsRead)?;
    view_of(&state.db, row(&state.db, scope, id).await?).await
}

/// Replaces the control's tags and requirement mappings with the draft's.
async fn write_links<C: ConnectionTrait>(
    db: &C,
    scope: &OrgScope,
    control: Uuid,
    draft: &Draft,
    mappings: &[(Uuid, Uuid)],
) -> AppResult<()> {
    control_tags::Entity::delete_many()
        .filter(control_tags::Column::ControlId.eq(control))
        .exec(db)
        .await?;
    control_requirements::Entity::delete_many()
        .filter(control_requirements::Column::ControlId.eq(control))
        .exec(db)
        .await?;
    insert_links(db, scope, control, draft, mappings).await
}

/// Links the control to the draft's tags and requirements.
async fn insert_links<C: ConnectionTrait>(
    db: &C,
    scope: &OrgScope,
    control: Uuid,
    draft: &Draft,
    mappings: &[(Uuid, Uuid)],
) -> AppResult<()> {
    if !draft.tags.is_empty() {
        control_tags::Entity::insert_many(draft.tags.iter().map(|tag| control_tags::ActiveModel {
            control_id: Set(control),
            tag: Set(tag.clone()),
            org_id: Set(scope.org_id()),
        }))
        .exec_without_returning(db)
        .await?;
    }
    if !mappings.is_empty() {
        control_requirements::Entity::insert_many(mappings.iter().map(|&(requirement, framework)| {
            control_requirements::ActiveModel {
                control_id: Set(control),
                requirement_id: Set(requirement),
                framework_id: Set(framework),
                org_id: Set(scope.org_id()),
            }
        }))
        .exec_without_returning(db)
        .await?;
    }
    Ok(())
}

pub async fn create(state: &AppState, scope: &OrgScope, body: &CreateControl) -> AppResult<ControlView> {
    scope.require(Permission::ControlsWrite)?;
    let now = clock::now();
    let draft = Draft {
        title: body.title.clone(),
        description: body.description.clone(),
        status: body.status.unwrap_or(ControlStatus::NotStarted),
        justification: body.justification.clone(),
        owner_id: body.owner_id,
        tags: body.tags.clone(),
        requirement_ids: body.requirement_ids.clone(),
        review_every_days: body.review_every_days,
        next_review_at: body.next_review_at.or_else(|| {
            body.review_every_days
                .map(|days| now.to_utc() + Duration::days(i64::from(days)))
        }),
    }
    .normalized()?;
    let txn = state.begin().await?;
    let mappings = draft.resolve(&txn, scope).await?;
    let row = controls::Model {
        id: Uuid::now_v7(),
        org_id: scope.org_id(),
        title: draft.title.clone(),
        description: draft.description.clone(),
        status: draft.status.as_str().to_owned(),
        justification: draft.justification.clone(),
        owner_id: draft.owner_id,
        review_every_days: draft.review_every_days,
        next_review_at: draft.next_review_at.map(|t| t.fixed_offset()),
        version: 1,
        created_at: now,
        updated_at: now,
    };
    controls::Entity::insert(controls::ActiveModel::from(row.clone()))
        .exec_without_returning(&txn)
        .await?;
    insert_links(&txn, scope, row.id, &draft, &mappings).await?;
    scope
        .audit(
            &txn,
            Record::of(Action::ControlCreated, "control", row.id).with(super::created(draft.facts())),
        )
        .await?;
    txn.commit().await?;
    // What was just written, without reading it back (no evidence yet).
    Linked::of_new(row.id, &draft).view(row, Utc::now())
}

/// Applies a PATCH to the control at the expected version (`412` otherwise).
pub async fn update(
    state: &AppState,
    scope: &OrgScope,
    id: Uuid,
    patch: &UpdateControl,
    expected: Expected,
) -> AppResult<ControlView> {
    scope.require(Permission::ControlsWrite)?;
    let txn = state.begin().await?;
    let current = row(&txn, scope, id).await?;
    expected.check(current.version, THE_CONTROL)?;
    let before = draft_of(&current, &view_of(&txn, current.clone()).await?);
    let pick =
        |sent: &Option<Option<String>>, was: &Option<String>| sent.clone().unwrap_or_else(|| was.clone());
    let after = Draft {
        title: patch.title.clone().unwrap_or_else(|| before.title.clone()),
        description: pick(&patch.description, &before.description),
        status: patch.status.unwrap_or(before.status),
        justification: pick(&patch.justification, &before.justification),
        owner_id: patch.owner_id.unwrap_or(before.owner_id),
        tags: patch.tags.clone().unwrap_or_else(|| before.tags.clone()),
        requirement_ids: patch
            .requirement_ids
            .clone()
            .unwrap_or_else(|| before.requirement_ids.clone()),
        review_every_days: patch.review_every_days.unwrap_or(before.review_every_days),
        next_review_at: patch.next_review_at.unwrap_or(before.next_review_at),
    }
    .normalized()?;
    let mappings = after.resolve(&txn, scope).await?;
    let now = clock::now();
    let version = current.version + 1;
    let updated = controls::Entity::update_many()
        .col_expr(controls::Column::Title, Expr::value(after.title.clone()))
        .col_expr(
            controls::Column::Description,
            Expr::value(after.description.clone()),
        )
        .col_expr(controls::Column::Status, Expr::value(after.status.as_str()))
        .col_expr(
            controls::Column::Justification,
            Expr::value(after.justification.clone()),
        )
        .col_expr(controls::Column::OwnerId, Expr::value(after.owner_id))
        .col_expr(
            controls::Column::ReviewEveryDays,
            Expr::value(after.review_every_days),
        )
        .col_expr(
            controls::Column::NextReviewAt,
            Expr::value(after.next_review_at.map(|t| t.fixed_offset())),
        )
        .col_expr(controls::Column::Version, Expr::value(version))
        .col_expr(controls::Column::UpdatedAt, Expr::value(now))
        .filter(controls::Column::Id.eq(id))
        .filter(controls::Column::OrgId.eq(scope.org_id()))
        .filter(controls::Column::Version.eq(current.version))
        .exec(&txn)
        .await?;
    if updated.rows_affected != 1 {
        return Err(precondition::stale(THE_CONTROL));
    }
    write_links(&txn, scope, id, &after, &mappings).await?;
    scope
        .audit(
            &txn,
            Record::of(Action::ControlUpdated, "control", id)
                .with(super::change(before.facts(), after.facts())),
        )
        .await?;
    let updated = controls::Model {
        title: after.title,
        description: after.description,
        status: after.status.as_str().to_owned(),
        justification: after.justification,
        owner_id: after.owner_id,
        review_every_days: after.review_every_days,
        next_review_at: after.next_review_at.map(|t| t.fixed_offset()),
        version,
        updated_at: now,
        ..current
    };
    let view = view_of(&txn, updated).await?;
    txn.commit().await?;
    Ok(view)
}

/// Deletes the control; its evidence stays, linked to its other controls.
pub async fn delete(state: &AppState, scope: &OrgScope, id: Uuid) -> AppResult<()> {
    scope.require(Permission::ControlsWrite)?;
    let txn = state.begin().await?;
    let current = row(&txn, scope, id).await?;
    let before = draft_of(&current, &view_of(&txn, current.clone()).await?);
    controls::Entity::delete_by_id(id).exec(&txn).await?;
    scope
        .audit(
            &txn,
            Record::of(Action::ControlDeleted, "control", id).with(super::deleted(before.facts())),
        )
        .await?;
    txn.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn health_follows_status_evidence_and_review() {
        let now = Utc::now();
        let past = Some(now - Duration::days(1));
        let future = Some(now + Duration::days(1));
        use ControlHealth::*;
        use ControlStatus::*;
        let cases = [
            (NotStarted, None, vec![None], Grey),
            (InProgress, None, vec![], Grey),
            (NotApplicable, None, vec![], Green),
            (NotApplicable, past, vec![], Amber),
            (Implemented, None, vec![], Red),
            (Implemented, None, vec![past], Amber),
            (Implemented, None, vec![past, None], Green),
            (Implemented, None, vec![future], Green),
            (Implemented, past, vec![future], Amber),
            (Implemented, future, vec![None], Green),
        ];
        for (status, review, validity, want) in cases {
            assert_eq!(
                health(status, review, &validity, now),
                want,
                "{status:?} {review:?} {validity:?}"
            );
        }
    }

    #[test]
    fn not_applicable_needs_a_justification_and_tags_are_tidied() {
        let draft = Draft {
            title: " Access reviews ".into(),
            description: Some("  ".into()),
            status: ControlStatus::NotApplicable,
            justification: None,
            owner_id: None,
            tags: vec![" soc2 ".into(), "iso".into(), "soc2".into()],
            requirement_ids: vec![],
            review_every_days: Some(0),
            next_review_at: None,
        };
        let err = draft.clone().normalized().unwrap_err();
        let fields: Vec<&str> = err.errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["justification", "review_every_days"]);
        let ok = Draft {
            justification: Some("No cardholder data".into()),
            review_every_days: Some(90),
            ..draft
        }
        .normalized()
        .unwrap();
        assert_eq!(ok.title, "Access reviews");
        assert_eq!(ok.description, None);
        assert_eq!(ok.tags, ["iso", "soc2"]);
    }
}
