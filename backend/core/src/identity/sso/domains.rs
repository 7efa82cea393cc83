//! Proof that an org owns the email domains its IdP speaks for.
//!
//! Claiming a domain (`PUT …/sso`'s `email_domains`) proves nothing: any org
//! admin could type `victim.com`. A claim starts `pending` with a random
//! challenge; the org proves the domain by publishing
//! `attest-verification=<token>` at `_attest-challenge.<domain>` (or a
//! platform operator vouches for it). Only a `verified` domain routes sign-ins
//! (home-realm discovery) and lets the org's IdP vouch for an email. One org at
//! most holds a domain verified; others may keep a pending claim. DNS-proven
//! domains are checked again daily: a domain whose record is gone is
//! `suspended` (audited, its admins mailed) until it is proven again.

use std::time::Duration;

use attest_shared::{
    api::{Page, SsoDomain},
    error::FieldError,
    permissions::Permission,
};
use chrono::{DateTime, Utc};
use sea_orm::{
    sea_query::Expr, ActiveModelTrait as _, ColumnTrait as _, ConnectionTrait, EntityTrait as _,
    QueryFilter as _, QueryOrder as _, QuerySelect as _, Set,
};
use uuid::Uuid;

use super::dns::{self, TxtAnswer};
use crate::{
    audit::{self, Action, Facts, Metadata, Reason, Record, Source},
    authz::OrgScope,
    clock,
    crypto::random_token,
    mail::{outbox, templates},
    store::{
        entities::{orgs, sso_domains, users},
        page::PageRequest,
    },
    AppError, AppResult, AppState, ErrorKind,
};

/// The label the challenge record lives under.
pub const TXT_LABEL: &str = "_attest-challenge";
/// What the challenge record's value starts with.
pub const TXT_PREFIX: &str = "attest-verification=";
/// How often a DNS-proven domain is checked again.
pub const RECHECK_EVERY: Duration = Duration::from_secs(24 * 3600);
/// How often the re-check job looks for domains that are due.
const RECHECK_TICK: Duration = Duration::from_secs(3600);
/// How many TXT values a refusal quotes back, and how much of each.
const QUOTED_RECORDS: usize = 5;
const QUOTED_CHARS: usize = 100;

/// Where a claim stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Pending,
    Verified,
    Suspended,
}

impl State {
    pub const fn as_str(self) -> &'static str {
        match self {
            State::Pending => "pending",
            State::Verified => "verified",
            State::Suspended => "suspended",
        }
    }
}

/// How a domain is proven.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// The challenge TXT record, looked up now.
    Dns,
    /// A platform operator vouches for the domain (air-gapped sites, or a
    /// domain whose DNS the org cannot change).
    Operator,
}

impl Method {
    pub fn parse(raw: &str) -> AppResult<Method> {
        match raw {
            "dns" => Ok(Method::Dns),
            "operator" => Ok(Method::Operator),
            _ => Err(AppError::invalid_field("method", "must be `dns` or `operator`")),
        }
    }

    pub const fn as_str(self) -> &'static str {
        match self {
            Method::Dns => "dns",
            Method::Operator => "operator",
        }
    }
}

/// The name the challenge record goes at.
pub fn txt_name(domain: &str) -> String {
    format!("{TXT_LABEL}.{domain}")
}

fn txt_value(claim: &sso_domains::Model) -> String {
    format!("{TXT_PREFIX}{}", claim.txt_token)
}

fn view(claim: &sso_domains::Model) -> SsoDomain {
    SsoDomain {
        domain: claim.domain.clone(),
        state: claim.state.clone(),
        txt_name: txt_name(&claim.domain),
        txt_value: txt_value(claim),
        verified_at: claim.verified_at.map(|at| at.to_utc()),
    }
}

/// Makes the org's claims the given domains (inside the settings' transaction):
/// a domain it already claims keeps its state and challenge, a new one starts
/// pending, one no longer listed is dropped.
pub async fn replace<C: ConnectionTrait>(db: &C, org_id: Uuid, domains: &[String]) -> AppResult<()> {
    let current = claims_of(db, org_id).await?;
    let dropped: Vec<String> = current
        .iter()
        .filter(|claim| !domains.contains(&claim.domain))
        .map(|claim| claim.domain.clone())
        .collect();
    if !dropped.is_empty() {
        sso_domains::Entity::delete_many()
            .filter(sso_domains::Column::OrgId.eq(org_id))
            .filter(sso_domains::Column::Domain.is_in(dropped))
            .exec(db)
            .await?;
    }
    let now = clock::now();
    for domain in domains {
        if current.iter().any(|claim| &claim.domain == domain) {
            continue;
        }
        sso_domains::ActiveModel {
            org_id: Set(org_id),
            domain: Set(domain.clone()),
            state: Set(State::Pending.as_str().to_owned()),
            txt_token: Set(random_token()),
            created_at: Set(now),
            verified_at: Set(None),
            verified_method: Set(None),
            checked_at: Set(None),
        }
        .insert(db)
        .await?;
    }
    Ok(())
}

/// Which of `domains` another org holds verified.
pub async fn verified_elsewhere<C: ConnectionTrait>(
    db: &C,
    org_id: Uuid,
    domains: &[String],
) -> AppResult<Vec<String>> {
    Ok(sso_domains::Entity::find()
        .filter(sso_domains::Column::Domain.is_in(domains.to_vec()))
        .filter(sso_domains::Column::OrgId.ne(org_id))
        .filter(sso_domains::Column::State.eq(State::Verified.as_str()))
        .all(db)
        .await?
        .into_iter()
        .map(|claim| claim.domain)
        .collect())
}

/// The org that holds `domain` verified, if any.
pub async fn verified_owner<C: ConnectionTrait>(db: &C, domain: &str) -> AppResult<Option<Uuid>> {
    Ok(sso_domains::Entity::find()
        .filter(sso_domains::Column::Domain.eq(domain.to_ascii_lowercase()))
        .filter(sso_domains::Column::State.eq(State::Verified.as_str()))
        .one(db)
        .await?
        .map(|claim| claim.org_id))
}

/// Every domain the org claims, in any state, by name.
pub async fn claims_of<C: ConnectionTrait>(db: &C, org_id: Uuid) -> AppResult<Vec<sso_domains::Model>> {
    Ok(sso_domains::Entity::find()
        .filter(sso_domains::Column::OrgId.eq(org_id))
        .order_by_asc(sso_domains::Column::Domain)
        .all(db)
        .await?)
}

/// `GET …/sso/domains`.
pub async fn list(state: &AppState, scope: &OrgScope, page: &PageRequest) -> AppResult<Page<SsoDomain>> {
    scope.require(Permission::SsoManage)?;
    let by_name = sso_domains::Entity::find()
        .filter(sso_domains::Column::OrgId.eq(scope.org_id()))
        .cursor_by(sso_domains::Column::Domain);
    let claims = page
        .load(&state.db, by_name, |claim| claim.domain.clone())
        .await?;
    Ok(claims.map(|claim| view(&claim)))
}

/// `POST …/sso/domains/{domain}/verify`: proves a claimed domain by its TXT
/// record (`sso:manage`), or by an operator's word (an operator who also holds
/// `sso:manage` in the org). Proving a verified domain again changes nothing.
pub async fn verify(
    state: &AppState,
    scope: &OrgScope,
    domain: &str,
    method: Method,
) -> AppResult<SsoDomain> {
    match method {
        Method::Dns => scope.require(Permission::SsoManage)?,
        // The route's own permission too: the same answer with or without an Idempotency-Key.
        Method::Operator if scope.actor().is_operator() => scope.require(Permission::SsoManage)?,
        Method::Operator => {
            return Err(AppError::new(
                ErrorKind::Forbidden,
                "only a platform operator can vouch for a domain; prove it with DNS instead",
            ))
        }
    }
    let domain = domain.trim().to_ascii_lowercase();
    let claim = sso_domains::Entity::find_by_id((scope.org_id(), domain.clone()))
        .one(&state.db)
        .await?
        .ok_or_else(|| {
            AppError::new(
                ErrorKind::NotFound,
                "this organization does not claim that domain",
            )
        })?;
    if claim.state == State::Verified.as_str() {
        return Ok(view(&claim));
    }
    if !verified_elsewhere(&state.db, scope.org_id(), std::slice::from_ref(&domain))
        .await?
        .is_empty()
    {
        return Err(taken(&domain));
    }
    if method == Method::Dns {
        let expected = txt_value(&claim);
        match dns::txt(state.config.dns_resolver, &txt_name(&domain)).await {
            TxtAnswer::Records(found) if found.contains(&expected) => {}
            answer => return Err(not_proven(&domain, &answer)),
        }
    }
    let txn = state.begin().await?;
    let now = clock::now();
    // The claim as it was proven: dropped or re-claimed meanwhile (a new
    // challenge), it changes nothing. Two orgs proving one domain at once:
    // the unique index lets one through.
    let updated = sso_domains::Entity::update_many()
        .col_expr(sso_domains::Column::State, Expr::value(State::Verified.as_str()))
        .col_expr(sso_domains::Column::VerifiedAt, Expr::value(now))
        .col_expr(sso_domains::Column::VerifiedMethod, Expr::value(method.as_str()))
        .col_expr(sso_domains::Column::CheckedAt, Expr::value(now))
        .filter(sso_domains::Column::OrgId.eq(scope.org_id()))
        .filter(sso_domains::Column::Domain.eq(domain.as_str()))
        .filter(sso_domains::Column::TxtToken.eq(claim.txt_token.as_str()))
        .filter(sso_domains::Column::State.ne(State::Verified.as_str()))
        .exec(&txn)
        .await;
    match updated {
        Ok(done) if done.rows_affected == 1 => {}
        Ok(_) => {
            return Err(AppError::new(
                ErrorKind::Conflict,
                "the claim changed while it was being checked; look at it again",
            ))
        }
        Err(e) if matches!(e.sql_err(), Some(sea_orm::SqlErr::UniqueConstraintViolation(_))) => {
            return Err(taken(&domain))
        }
        Err(e) => return Err(e.into()),
    }
    let verified = sso_domains::Entity::find_by_id((scope.org_id(), domain.clone()))
        .one(&txn)
        .await?
        .ok_or_else(AppError::not_found)?;
    let record = Record::of(Action::SsoDomainVerified, "sso_domain", &domain).with(Metadata::facts(Facts {
        domain: Some(domain.clone()),
        verification_method: Some(method.as_str().to_owned()),
        ..Facts::default()
    }));
    scope.audit(&txn, record).await?;
    txn.commit().await?;
    Ok(view(&verified))
}

fn taken(domain: &str) -> AppError {
    AppError::new(
        ErrorKind::Conflict,
        format!("another organization has verified {domain}"),
    )
}

/// `422`: what the lookup found instead of the challenge.
fn not_proven(domain: &str, answer: &TxtAnswer) -> AppError {
    let name = txt_name(domain);
    let found = match answer {
        TxtAnswer::Records(records) => {
            let quoted: Vec<String> = records
                .iter()
                .take(QUOTED_RECORDS)
                .map(|r| format!("\"{}\"", r.chars().take(QUOTED_CHARS).collect::<String>()))
                .collect();
            format!(
                "the TXT records at {name} are {}, none of them the challenge",
                quoted.join(", ")
            )
        }
        TxtAnswer::None => format!("there is no TXT record at {name}"),
        TxtAnswer::Failed(why) => format!("{why} (looking up {name})"),
    };
    let mut error = AppError::new(ErrorKind::Unprocessable, found.clone());
    error.errors.push(FieldError {
        field: "domain".into(),
        message: found,
    });
    error
}

/// Checks every DNS-proven domain last checked before `due_before` again; a
/// domain whose challenge is gone is suspended. A failed lookup decides
/// nothing (it is tried again at the next round). Returns how many were suspended.
pub async fn recheck(state: &AppState, due_before: DateTime<Utc>) -> AppResult<usize> {
    let due = sso_domains::Entity::find()
        .filter(sso_domains::Column::State.eq(State::Verified.as_str()))
        .filter(sso_domains::Column::VerifiedMethod.eq(Method::Dns.as_str()))
        .filter(sso_domains::Column::CheckedAt.lt(due_before))
        .order_by_asc(sso_domains::Column::CheckedAt)
        .limit(500)
        .all(&state.db)
        .await?;
    let mut suspended = 0;
    for claim in due {
        match dns::txt(state.config.dns_resolver, &txt_name(&claim.domain)).await {
            TxtAnswer::Failed(why) => {
                tracing::warn!(domain = %claim.domain, %why, "an SSO domain could not be checked again");
            }
            TxtAnswer::Records(found) if found.contains(&txt_value(&claim)) => {
                let mut active: sso_domains::ActiveModel = claim.into();
                active.checked_at = Set(Some(clock::now()));
                active.update(&state.db).await?;
            }
            _ => match suspend(state, claim).await {
                Ok(()) => suspended += 1,
                // One claim's failure leaves the others to be checked.
                Err(e) => tracing::warn!(error = %e, "an SSO domain could not be suspended"),
            },
        }
    }
    Ok(suspended)
}

/// Suspends a domain whose record is gone: audited in its org, its admins mailed.
async fn suspend(state: &AppState, claim: sso_domains::Model) -> AppResult<()> {
    let org_id = claim.org_id;
    let domain = claim.domain.clone();
    let txn = state.begin().await?;
    let Some(org) = orgs::Entity::find_by_id(org_id).one(&txn).await? else {
        return Ok(());
    };
    let mut active: sso_domains::ActiveModel = claim.into();
    active.state = Set(State::Suspended.as_str().to_owned());
    active.checked_at = Set(Some(clock::now()));
    active.update(&txn).await?;
    let admins = state
        .decisions
        .grants(&txn, &org, clock::now().to_utc())
        .await?
        .holding(Permission::SsoManage);
    let emails = users::Entity::find()
        .filter(users::Column::Id.is_in(admins))
        .all(&txn)
        .await?;
    let settings_url = format!("{}/orgs/{}/sso", state.config.public_url, org.slug);
    for admin in &emails {
        outbox::enqueue(
            &txn,
            templates::domain_suspended(
                &admin.email,
                &org.name,
                &domain,
                &txt_name(&domain),
                &settings_url,
            ),
        )
        .await?;
    }
    let record = Record::of(Action::SsoDomainSuspended, "sso_domain", &domain).with(Metadata {
        reason: Some(Reason::DomainRecordMissing),
        ..Metadata::facts(Facts {
            domain: Some(domain.clone()),
            ..Facts::default()
        })
    });
    audit::append(&txn, org_id, &Source::system(), record).await?;
    txn.commit().await?;
    tracing::warn!(%domain, %org_id, "an SSO domain's challenge record is gone: suspended");
    Ok(())
}

/// Re-checks DNS-proven domains every hour, each at most once a day.
pub fn spawn_rechecker(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(RECHECK_TICK);
        loop {
            ticks.tick().await;
            let due_before = Utc::now() - chrono::Duration::from_std(RECHECK_EVERY).unwrap_or_default();
            if let Err(e) = recheck(&state, due_before).await {
                tracing::warn!(error = %e, "SSO domains could not be checked again");
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_says_what_the_lookup_found() {
        let records = TxtAnswer::Records(vec!["v=spf1 -all".into(), "x".repeat(300)]);
        let error = not_proven("acme.example", &records);
        assert_eq!(error.kind, ErrorKind::Unprocessable);
        let detail = error.detail.unwrap_or_default();
        assert!(detail.contains("_attest-challenge.acme.example"), "{detail}");
        assert!(detail.contains("\"v=spf1 -all\""), "{detail}");
        assert!(!detail.contains(&"x".repeat(101)), "quotes are cut: {detail}");
        let none = not_proven("acme.example", &TxtAnswer::None)
            .detail
            .unwrap_or_default();
        assert_eq!(none, "there is no TXT record at _attest-challenge.acme.example");
    }

    #[test]
    fn methods_are_dns_or_operator() {
        assert_eq!(Method::parse("dns").ok(), Some(Method::Dns));
        assert_eq!(Method::parse("operator").ok(), Some(Method::Operator));
        assert!(Method::parse("http").is_err());
    }
}
