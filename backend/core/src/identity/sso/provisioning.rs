//! Who an IdP's verified identity is in Attest, and whether they may come in.
//!
//! An identity is its issuer and subject, never its email. An identity not yet
//! linked is matched by its verified email, and only for emails in the org's
//! *verified* domains: an org's IdP vouches for the domains it proved and
//! nobody else's, so it cannot squat an address. Even then it never attaches
//! an existing account that belongs anywhere but this org (or is an operator):
//! that account's other orgs never trusted this IdP, so the sign-in is refused
//! (`account_exists`) and the user links the identity from their account page
//! with their own credentials ([`super::linking`]). Then: an existing member
//! gets in; a pending invitation is accepted; with just-in-time provisioning
//! on, a new member is created with the default role. A known identity whose
//! membership was removed is refused. A sign-in that makes the user a member
//! is still one audited action: its `auth.signed_in` event says how they
//! joined (`joined_via`) and with which roles.

use attest_shared::audit::{ActorKind, AuditActor, Outcome};
use sea_orm::{
    ActiveModelTrait as _, ColumnTrait as _, ConnectionTrait, EntityTrait as _, QueryFilter as _, Set,
};
use uuid::Uuid;

use super::{settings::Provider, signin::Identity, Purpose, SsoFailure};
use crate::{
    actor::Origin,
    audit::{self, Action, Metadata, Reason, Record, Source},
    clock,
    identity::{
        sessions::{self, NewSession, SignInMethod},
        users,
    },
    store::entities::{memberships, user_identities, users as user_entity},
    tenancy::{invitations as invitation_rules, members},
    AppResult, AppState,
};

/// Signs the identity in to the provider's org, provisioning it if allowed.
pub async fn sign_in(
    state: &AppState,
    provider: &Provider,
    identity: Identity,
    origin: &Origin,
) -> Result<(user_entity::Model, NewSession), SsoFailure> {
    match admit(state, provider, &identity, origin).await? {
        Ok(signed_in) => Ok(signed_in),
        Err(reason) => {
            let refusal = Refusal::new(provider.org_id, Purpose::SignIn, reason);
            Err(refused(state, refusal, Some(&identity), origin).await)
        }
    }
}

/// A flow refused in an org, for a reason.
#[derive(Debug, Clone, Copy)]
pub struct Refusal {
    pub org_id: Uuid,
    pub purpose: Purpose,
    pub reason: Reason,
}

impl Refusal {
    pub fn new(org_id: Uuid, purpose: Purpose, reason: Reason) -> Refusal {
        Refusal {
            org_id,
            purpose,
            reason,
        }
    }
}

/// Records a refused sign-in (or link) in the org's chain and says why.
pub async fn refused(
    state: &AppState,
    refusal: Refusal,
    identity: Option<&Identity>,
    origin: &Origin,
) -> SsoFailure {
    let Refusal {
        org_id,
        purpose,
        reason,
    } = refusal;
    let source = Source {
        actor: AuditActor {
            kind: ActorKind::User,
            id: None,
            display: identity
                .and_then(|i| i.email.clone())
                .unwrap_or_else(|| "unknown".into()),
        },
        origin: origin.clone(),
    };
    let action = match purpose {
        Purpose::SignIn => Action::SignedIn,
        Purpose::Link => Action::IdentityLinked,
    };
    let record = Record::of(action, "org", org_id)
        .outcome(Outcome::Failure)
        .with(Metadata {
            reason: Some(reason),
            method: Some("sso".into()),
            ..Metadata::default()
        });
    let recorded = async {
        let txn = state.begin().await?;
        audit::append(&txn, org_id, &source, record).await?;
        txn.commit().await?;
        AppResult::Ok(())
    }
    .await;
    if let Err(error) = recorded {
        return SsoFailure::Error(error);
    }
    tracing::info!(?reason, ?purpose, %org_id, "SSO flow refused");
    SsoFailure::Refused { reason, purpose }
}

/// The signed-in user and session, or why not. Everything commits together:
/// the link, any new user or membership, the session and their events.
async fn admit(
    state: &AppState,
    provider: &Provider,
    identity: &Identity,
    origin: &Origin,
) -> AppResult<Result<(user_entity::Model, NewSession), Reason>> {
    let txn = state.begin().await?;
    let org_id = provider.org_id;
    let now = clock::now();
    let link = user_identities::Entity::find_by_id((identity.issuer.clone(), identity.subject.clone()))
        .one(&txn)
        .await?;
    let email = identity.email.clone().filter(|_| identity.email_verified);
    let vouched = email
        .as_deref()
        .is_some_and(|e| in_domains(e, &provider.email_domains));
    let user = match &link {
        Some(link) => user_entity::Entity::find_by_id(link.user_id).one(&txn).await?,
        None => match &email {
            Some(email) if vouched => users::find_by_email_in(&txn, email).await?,
            _ => None,
        },
    };
    if link.is_none() && !vouched {
        return Ok(Err(if email.is_none() {
            Reason::EmailUnverified
        } else {
            Reason::DomainNotClaimed
        }));
    }
    if user.as_ref().is_some_and(|u| u.disabled_at.is_some()) {
        return Ok(Err(Reason::AccountDisabled));
    }
    if let (None, Some(user)) = (&link, &user) {
        if !belongs_to_org_alone(&txn, user, org_id).await? {
            return Ok(Err(Reason::AccountExists));
        }
    }
    let membership = match &user {
        Some(user) => {
            memberships::Entity::find_by_id((org_id, user.id))
                .one(&txn)
                .await?
        }
        None => None,
    };
    let invitation = match &email {
        Some(email) if membership.is_none() => invitation_rules::pending_for(&txn, org_id, email).await?,
        _ => None,
    };
    // A sign-in that makes the user a member records that in its one event.
    let mut joined: Option<(&str, Vec<String>)> = None;
    let user = match (user, membership, invitation) {
        (Some(user), Some(membership), _) if members::is_live(&membership) => user,
        (Some(_), Some(_), _) => return Ok(Err(Reason::MembershipExpired)),
        (user, None, Some(invitation)) => {
            let user = match user {
                Some(user) => user,
                None => create_user(&txn, identity).await?,
            };
            let roles = invitation_rules::roles_of(&invitation);
            if !invitation_rules::claim(&txn, invitation.id).await? {
                return Ok(Err(Reason::NotAMember));
            }
            members::admit(&txn, org_id, user.id, &roles).await?;
            joined = Some(("invitation", roles));
            user
        }
        // A removed member stays out, even with provisioning on.
        (_, None, None) if link.is_some() => return Ok(Err(Reason::MembershipRemoved)),
        (user, None, None) if provider.jit_provisioning => {
            let user = match user {
                Some(user) => user,
                None => create_user(&txn, identity).await?,
            };
            let roles = vec![provider.default_role.clone()];
            members::admit(&txn, org_id, user.id, &roles).await?;
            joined = Some(("provisioning", roles));
            user
        }
        _ => return Ok(Err(Reason::NotAMember)),
    };
    match link {
        Some(link) => {
            let mut active: user_identities::ActiveModel = link.into();
            active.last_signed_in_at = Set(now);
            active.update(&txn).await?;
        }
        None => {
            user_identities::ActiveModel {
                issuer: Set(identity.issuer.clone()),
                subject: Set(identity.subject.clone()),
                user_id: Set(user.id),
                org_id: Set(org_id),
                created_at: Set(now),
                last_signed_in_at: Set(now),
            }
            .insert(&txn)
            .await?;
        }
    }
    let method = SignInMethod::Sso {
        issuer: &identity.issuer,
        sid: identity.sid.as_deref(),
    };
    let session = sessions::create(state, &txn, user.id, method, origin).await?;
    let mut metadata = Metadata {
        method: Some("sso".into()),
        ..Metadata::default()
    };
    if let Some((via, roles)) = joined {
        metadata.joined_via = Some(via.to_owned());
        metadata.facts.roles = Some(roles);
    }
    let record = Record::of(Action::SignedIn, "user", user.id).with(metadata);
    audit::append(&txn, org_id, &Source::user(&user, origin), record).await?;
    txn.commit().await?;
    Ok(Ok((user, session)))
}

/// Whether the account is this org's alone: a member here and nowhere else,
/// and no operator. Only such an account may be attached by the org's IdP.
async fn belongs_to_org_alone<C: ConnectionTrait>(
    db: &C,
    user: &user_entity::Model,
    org_id: Uuid,
) -> AppResult<bool> {
    if user.is_operator {
        return Ok(false);
    }
    let orgs: Vec<Uuid> = memberships::Entity::find()
        .filter(memberships::Column::UserId.eq(user.id))
        .all(db)
        .await?
        .into_iter()
        .map(|m| m.org_id)
        .collect();
    Ok(!orgs.is_empty() && orgs.iter().all(|org| *org == org_id))
}

fn in_domains(email: &str, domains: &[String]) -> bool {
    email
        .rsplit_once('@')
        .is_some_and(|(_, domain)| domains.iter().any(|d| d.eq_ignore_ascii_case(domain)))
}

/// A user who signs in only through SSO: no password.
async fn create_user<C: sea_orm::ConnectionTrait>(
    db: &C,
    identity: &Identity,
) -> AppResult<user_entity::Model> {
    let email = identity.email.clone().unwrap_or_default();
    let name = identity
        .name
        .clone()
        .filter(|n| !n.trim().is_empty())
        .unwrap_or_else(|| email.split('@').next().unwrap_or_default().to_owned());
    let name: String = name.trim().chars().take(200).collect();
    users::insert(db, &email, &name, None, false).await
}

#[cfg(test)]
mod tests {
    use super::in_domains;

    #[test]
    fn an_idp_vouches_only_for_its_claimed_domains() {
        let claimed = vec!["acme.example".to_owned()];
        assert!(in_domains("ada@acme.example", &claimed));
        assert!(in_domains("ada@ACME.example", &claimed));
        assert!(!in_domains("ada@evil.example", &claimed));
        assert!(!in_domains("ada@sub.acme.example", &claimed));
        assert!(!in_domains("acme.example", &claimed));
    }
}
