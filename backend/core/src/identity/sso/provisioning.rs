//! Who an IdP's verified identity is in Attest, and whether they may come in.
//!
//! An identity is its issuer and subject, never its email. The first time an
//! identity signs in it is linked to a user by its verified email, but only
//! for emails in the org's claimed domains: an org's IdP vouches for its own
//! domains and nobody else's, so it can neither take over another org's
//! member nor squat an address. Then: an existing member gets in; a pending
//! invitation is accepted; with just-in-time provisioning on, a new member is
//! created with the default role. A known identity whose membership was
//! removed is refused. A sign-in that makes the user a member is still one
//! audited action: its `auth.signed_in` event says how they joined
//! (`joined_via`) and with which roles.

use attest_shared::audit::{ActorKind, AuditActor, Outcome};
use sea_orm::{ActiveModelTrait as _, EntityTrait as _, Set};

use super::{settings::Provider, signin::Identity, SsoFailure};
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
        Err(reason) => Err(refused(state, provider.org_id, Some(&identity), reason, origin).await),
    }
}

/// Records a refused sign-in in the org's chain and says why.
pub async fn refused(
    state: &AppState,
    org_id: uuid::Uuid,
    identity: Option<&Identity>,
    reason: Reason,
    origin: &Origin,
) -> SsoFailure {
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
    let record = Record::of(Action::SignedIn, "org", org_id)
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
    tracing::info!(?reason, %org_id, "SSO sign-in refused");
    SsoFailure::Refused(reason)
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
