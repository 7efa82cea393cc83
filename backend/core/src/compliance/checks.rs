//! Platform checks: evidence Attest computes from its own state rather than
//! evidence someone uploads. Each result is stored as evidence (a note saying
//! what was found) with the org's audit chain head at that moment, so an
//! auditor can tie it to the verifiable trail. A passing result is current
//! evidence for `valid_days`; a failing one never is.

use std::collections::HashSet;

use attest_shared::{
    compliance::{
        ChainPosition, CheckResult, EvidenceKind, EvidenceView, PlatformCheck, ReviewState, RunCheck,
    },
    permissions::Permission,
    roles,
};
use chrono::Duration;
use sea_orm::{ColumnTrait as _, EntityTrait as _, QueryFilter as _, QuerySelect as _};
use uuid::Uuid;

use crate::{
    audit::{checkpoint::CheckpointKey, verify},
    authz::OrgScope,
    clock,
    store::entities::{
        api_keys, audit_heads, evidence, membership_roles, memberships, sso_configs, user_identities, users,
    },
    tenancy::members,
    validate::invalid,
    AppError, AppResult, AppState,
};

const DEFAULT_MAX_KEY_AGE_DAYS: u32 = 90;
const DEFAULT_VALID_DAYS: u32 = 30;
const MAX_DAYS: u32 = 3_650;

/// The org's live members, and which of them have a second factor or an
/// identity of the org's IdP.
struct Members {
    all: Vec<Uuid>,
    with_totp: HashSet<Uuid>,
    with_sso: HashSet<Uuid>,
}

impl Members {
    async fn of(state: &AppState, scope: &OrgScope) -> AppResult<Members> {
        let all: Vec<Uuid> = memberships::Entity::find()
            .select_only()
            .column(memberships::Column::UserId)
            .filter(memberships::Column::OrgId.eq(scope.org_id()))
            .filter(members::live())
            .into_tuple()
            .all(&state.db)
            .await?;
        let with_totp = users::Entity::find()
            .select_only()
            .column(users::Column::Id)
            .filter(users::Column::Id.is_in(all.clone()))
            .filter(users::Column::TotpEnabledAt.is_not_null())
            .into_tuple::<Uuid>()
            .all(&state.db)
            .await?
            .into_iter()
            .collect();
        let with_sso = user_identities::Entity::find()
            .select_only()
            .column(user_identities::Column::UserId)
            .filter(user_identities::Column::OrgId.eq(scope.org_id()))
            .into_tuple::<Uuid>()
            .all(&state.db)
            .await?
            .into_iter()
            .collect();
        Ok(Members {
            all,
            with_totp,
            with_sso,
        })
    }

    fn without(&self, ok: impl Fn(&Uuid) -> bool) -> Vec<Uuid> {
        let mut failing: Vec<Uuid> = self.all.iter().filter(|id| !ok(id)).copied().collect();
        failing.sort_unstable();
        failing
    }
}

/// Runs `check` on the scope's org: whether it passes, a sentence, and who fails it.
async fn run(state: &AppState, scope: &OrgScope, body: &RunCheck) -> AppResult<(bool, String, Vec<Uuid>)> {
    let now = clock::now();
    Ok(match body.check {
        PlatformCheck::SsoEnforced => {
            let enabled = sso_configs::Entity::find_by_id(scope.org_id())
                .one(&state.db)
                .await?
                .is_some_and(|c| c.enabled);
            let members = Members::of(state, scope).await?;
            let failing = members.without(|id| members.with_sso.contains(id));
            let summary = match (enabled, failing.len()) {
                (false, _) => "SSO is not enabled for the organization".to_owned(),
                (true, 0) => format!(
                    "SSO is enabled and all {} members sign in through it",
                    members.all.len()
                ),
                (true, n) => format!(
                    "{n} of {} members have never signed in through SSO",
                    members.all.len()
                ),
            };
            (enabled && failing.is_empty(), summary, failing)
        }
        PlatformCheck::MfaOrSso => {
            let members = Members::of(state, scope).await?;
            let failing =
                members.without(|id| members.with_totp.contains(id) || members.with_sso.contains(id));
            let summary = match failing.len() {
                0 => format!("all {} members use two-factor sign-in or SSO", members.all.len()),
                n => format!(
                    "{n} of {} members have neither two-factor sign-in nor SSO",
                    members.all.len()
                ),
            };
            (failing.is_empty(), summary, failing)
        }
        PlatformCheck::OwnersHaveMfa => {
            let members = Members::of(state, scope).await?;
            let owners: HashSet<Uuid> = membership_roles::Entity::find()
                .select_only()
                .column(membership_roles::Column::UserId)
                .filter(membership_roles::Column::OrgId.eq(scope.org_id()))
                .filter(membership_roles::Column::Role.eq(roles::OWNER))
                .into_tuple::<Uuid>()
                .all(&state.db)
                .await?
                .into_iter()
                .collect();
            let failing = members.without(|id| {
                !owners.contains(id) || members.with_totp.contains(id) || members.with_sso.contains(id)
            });
            let summary = match failing.len() {
                0 => format!("all {} owners use two-factor sign-in or SSO", owners.len()),
                n => format!(
                    "{n} of {} owners have neither two-factor sign-in nor SSO",
                    owners.len()
                ),
            };
            (failing.is_empty(), summary, failing)
        }
        PlatformCheck::ApiKeyAge => {
            let days = body.max_age_days.unwrap_or(DEFAULT_MAX_KEY_AGE_DAYS);
            let oldest = now - Duration::days(i64::from(days));
            let mut failing: Vec<Uuid> = api_keys::Entity::find()
                .select_only()
                .column(api_keys::Column::Id)
                .filter(api_keys::Column::OrgId.eq(scope.org_id()))
                .filter(api_keys::Column::RevokedAt.is_null())
                .filter(
                    api_keys::Column::ExpiresAt
                        .is_null()
                        .or(api_keys::Column::ExpiresAt.gt(now)),
                )
                .filter(api_keys::Column::CreatedAt.lt(oldest))
                .into_tuple()
                .all(&state.db)
                .await?;
            failing.sort_unstable();
            let summary = match failing.len() {
                0 => format!("no live API key is older than {days} days"),
                n => format!("{n} live API keys are older than {days} days"),
            };
            (failing.is_empty(), summary, failing)
        }
        PlatformCheck::AuditChainVerifies => {
            let key = CheckpointKey::derive(&state.key).public();
            match verify::verify(&state.db, &key, scope.org_id()).await? {
                verify::Verification::Intact { events, .. } => (
                    true,
                    format!("the audit chain verifies ({events} events)"),
                    Vec::new(),
                ),
                verify::Verification::Broken { first_bad_seq } => (
                    false,
                    format!("the audit chain does not verify from event {first_bad_seq}"),
                    Vec::new(),
                ),
            }
        }
    })
}

/// Runs the check now and stores its result as evidence for `control_ids`.
pub async fn record(state: &AppState, scope: &OrgScope, body: &RunCheck) -> AppResult<EvidenceView> {
    scope.require(Permission::EvidenceWrite)?;
    for (field, days) in [
        ("max_age_days", body.max_age_days),
        ("valid_days", body.valid_days),
    ] {
        if days.is_some_and(|d| !(1..=MAX_DAYS).contains(&d)) {
            return Err(invalid(field, format!("must be between 1 and {MAX_DAYS}")));
        }
    }
    let audit_head = audit_heads::Entity::find_by_id(scope.org_id())
        .one(&state.db)
        .await?
        .map(|head| ChainPosition {
            seq: head.seq,
            hash: head.hash,
        });
    let (passed, summary, failing) = run(state, scope, body).await?;
    let now = clock::now();
    let valid_until = if passed {
        now + Duration::days(i64::from(body.valid_days.unwrap_or(DEFAULT_VALID_DAYS)))
    } else {
        now
    };
    let result = CheckResult {
        check: body.check,
        passed,
        summary: summary.clone(),
        failing,
        audit_head,
    };
    let row = evidence::Model {
        id: Uuid::now_v7(),
        org_id: scope.org_id(),
        kind: EvidenceKind::Note.as_str().to_owned(),
        title: format!("Platform check: {}", body.check.label()),
        note: Some(summary),
        url: None,
        file_name: None,
        file_size: None,
        file_sha256: None,
        file_content_type: None,
        platform_check: Some(serde_json::to_string(&result).map_err(AppError::internal)?),
        collected_at: now,
        valid_until: Some(valid_until),
        // Computed by Attest itself: nobody needs to vouch for it.
        review_state: ReviewState::Accepted.as_str().to_owned(),
        reviewer_id: None,
        reviewed_at: Some(now),
        version: 1,
        created_at: now,
        updated_at: now,
    };
    super::evidence::insert(state, scope, row, super::distinct(body.control_ids.clone())).await
}
