//! Readiness: how much of a framework the org's controls cover. A requirement
//! is covered when a control mapped to it is `not_applicable`, or is
//! `implemented` with at least one piece of evidence that is still valid
//! (no `valid_until`, or one in the future). Four indexed reads per framework,
//! whatever its size; nothing is cached, so the figure is always today's.

use std::collections::{HashMap, HashSet};

use attest_shared::{
    compliance::{ControlStatus, Readiness, RequirementReadiness},
    permissions::Permission,
};
use chrono::{DateTime, Utc};
use sea_orm::{
    prelude::DateTimeWithTimeZone, ColumnTrait as _, EntityTrait as _, JoinType, QueryFilter as _,
    QueryOrder as _, QuerySelect as _, RelationTrait as _,
};
use uuid::Uuid;

use crate::{
    authz::OrgScope,
    store::entities::{control_requirements, controls, evidence, evidence_controls, requirements},
    AppResult, AppState,
};

/// `100·covered/requirements` to one decimal; `0` without requirements.
pub fn percent(covered: u64, requirements: u64) -> f64 {
    if requirements == 0 {
        return 0.0;
    }
    // Exact for any count a catalog can hold (far below 2^52).
    #[allow(clippy::cast_precision_loss)]
    let ratio = (covered as f64) * 1000.0 / (requirements as f64);
    ratio.round() / 10.0
}

/// The framework's readiness; with `detail`, one line per requirement.
pub async fn of_framework(
    state: &AppState,
    scope: &OrgScope,
    framework_id: Uuid,
    detail: bool,
) -> AppResult<Readiness> {
    scope.require(Permission::ControlsRead)?;
    let framework = super::frameworks::row(&state.db, scope, framework_id).await?;
    let now = Utc::now();
    let requirements: Vec<(Uuid, String, String)> = requirements::Entity::find()
        .select_only()
        .columns([
            requirements::Column::Id,
            requirements::Column::Reference,
            requirements::Column::Title,
        ])
        .filter(requirements::Column::FrameworkId.eq(framework.id))
        .order_by_asc(requirements::Column::Position)
        .into_tuple()
        .all(&state.db)
        .await?;
    let mappings: Vec<(Uuid, Uuid)> = control_requirements::Entity::find()
        .select_only()
        .columns([
            control_requirements::Column::RequirementId,
            control_requirements::Column::ControlId,
        ])
        .filter(control_requirements::Column::FrameworkId.eq(framework.id))
        .into_tuple()
        .all(&state.db)
        .await?;
    let covering = covering_controls(state, scope, now).await?;
    let mut mapped: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
    for (requirement, control) in mappings {
        mapped.entry(requirement).or_default().push(control);
    }
    let total = requirements.len() as u64;
    let mut items = Vec::with_capacity(if detail { requirements.len() } else { 0 });
    let mut covered = 0;
    for (id, reference, title) in requirements {
        let mut control_ids = mapped.remove(&id).unwrap_or_default();
        let is_covered = control_ids.iter().any(|c| covering.contains(c));
        covered += u64::from(is_covered);
        if detail {
            control_ids.sort_unstable();
            items.push(RequirementReadiness {
                requirement_id: id,
                reference,
                title,
                covered: is_covered,
                control_ids,
            });
        }
    }
    Ok(Readiness {
        framework_id: framework.id,
        requirements: total,
        covered,
        percent: percent(covered, total),
        items: detail.then_some(items),
    })
}

/// The org's controls that cover whatever they are mapped to, at `now`.
async fn covering_controls(
    state: &AppState,
    scope: &OrgScope,
    now: DateTime<Utc>,
) -> AppResult<HashSet<Uuid>> {
    let statuses: Vec<(Uuid, String)> = controls::Entity::find()
        .select_only()
        .columns([controls::Column::Id, controls::Column::Status])
        .filter(controls::Column::OrgId.eq(scope.org_id()))
        .filter(controls::Column::Status.is_in([
            ControlStatus::Implemented.as_str(),
            ControlStatus::NotApplicable.as_str(),
        ]))
        .into_tuple()
        .all(&state.db)
        .await?;
    let evidenced: Vec<(Uuid, Option<DateTimeWithTimeZone>)> = evidence_controls::Entity::find()
        .select_only()
        .column(evidence_controls::Column::ControlId)
        .column(evidence::Column::ValidUntil)
        .join(JoinType::InnerJoin, evidence_controls::Relation::Evidence.def())
        .filter(evidence_controls::Column::OrgId.eq(scope.org_id()))
        .into_tuple()
        .all(&state.db)
        .await?;
    let current: HashSet<Uuid> = evidenced
        .into_iter()
        .filter(|(_, until)| super::evidence::is_current(until.map(|u| u.to_utc()), now))
        .map(|(control, _)| control)
        .collect();
    Ok(statuses
        .into_iter()
        .filter(|(id, status)| status == ControlStatus::NotApplicable.as_str() || current.contains(id))
        .map(|(id, _)| id)
        .collect())
}

/// The per-requirement lines as CSV: `ref,title,covered,control_ids`.
pub fn to_csv(readiness: &Readiness) -> AppResult<String> {
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record(["ref", "title", "covered", "control_ids"])
        .map_err(crate::AppError::internal)?;
    for item in readiness.items.iter().flatten() {
        let controls: Vec<String> = item.control_ids.iter().map(Uuid::to_string).collect();
        out.write_record([
            item.reference.as_str(),
            item.title.as_str(),
            if item.covered { "true" } else { "false" },
            controls.join(" ").as_str(),
        ])
        .map_err(crate::AppError::internal)?;
    }
    String::from_utf8(out.into_inner().map_err(crate::AppError::internal)?).map_err(crate::AppError::internal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_is_rounded_to_one_decimal_and_zero_without_requirements() {
        assert_eq!(percent(0, 0), 0.0);
        assert_eq!(percent(1, 3), 33.3);
        assert_eq!(percent(2, 3), 66.7);
        assert_eq!(percent(3, 3), 100.0);
        assert_eq!(percent(1, 8), 12.5);
        assert_eq!(percent(1, 1_200), 0.1);
    }
}
