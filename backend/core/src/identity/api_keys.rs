//! Org API keys for the partner API.
//!
//! A key reads `atk_<public id>_<secret>`: the `atk_` prefix lets secret scanners
//! recognise it, the public id finds its row, and the database holds only the
//! secret's SHA-256 (192 random bits need no slow hash). A key acts for its
//! creator, in its org only, with at most the permissions it was given and never
//! more than its creator still holds there (see [`crate::authz::scope`]).

use std::{sync::Arc, time::Duration};

use attest_shared::{api::Page, permissions::Permission};
use chrono::{DateTime, Utc};
use rand::RngCore as _;
use sea_orm::{
    prelude::DateTimeWithTimeZone, sea_query::Expr, ActiveModelTrait as _, ColumnTrait as _,
    EntityTrait as _, PaginatorTrait as _, QueryFilter as _, QuerySelect as _, Set,
};
use uuid::Uuid;

use crate::{
    actor::KeyGrant,
    audit::{Action, Facts, Metadata, Record},
    authz::{roles, OrgScope},
    clock,
    crypto::{constant_time_eq, sha256_hex},
    identity::verified::Epoch,
    store::{
        entities::{api_keys, orgs, users},
        page::{self, PageRequest},
    },
    AppError, AppResult, AppState, ErrorKind,
};

/// What every key starts with.
pub const PREFIX: &str = "atk_";
const PUBLIC_ID_BYTES: usize = 8;
const SECRET_BYTES: usize = 24;
/// Live (unrevoked, unexpired) keys an org may hold at once; rotating one
/// replaces it and is always allowed.
pub const MAX_PER_ORG: u64 = 100;
/// The longest a rotated key keeps working.
pub const MAX_GRACE: Duration = Duration::from_secs(7 * 24 * 3600);
/// `last_used_at` is written at most this often per key.
const TOUCH_INTERVAL: Duration = Duration::from_secs(60);
const MAX_NAME_CHARS: usize = 100;

/// A key just made: `key` is shown to its creator once and never stored.
pub struct NewKey {
    pub key: String,
    pub model: api_keys::Model,
}

/// A presented key that is live, with the user it acts for.
#[derive(Debug, Clone)]
pub struct LiveKey {
    pub grant: KeyGrant,
    pub creator: users::Model,
    last_used_at: Option<DateTimeWithTimeZone>,
    /// When this verification stops holding by itself (expiry, a time-boxed membership).
    until: Option<DateTime<Utc>>,
}

/// `atk_<public id>`: how a key is recognised without its secret.
pub fn prefix(key: &api_keys::Model) -> String {
    format!("{PREFIX}{}", key.public_id)
}

pub fn permissions(key: &api_keys::Model) -> Vec<Permission> {
    roles::decode(&key.permissions)
}

/// Whether `text` has the shape of an API key (for refusing keys where they do
/// not belong, such as a query string).
pub fn looks_like_key(text: &str) -> bool {
    split(text).is_some()
}

/// The public id and secret of a well-formed key.
fn split(presented: &str) -> Option<(&str, &str)> {
    let (public_id, secret) = presented.strip_prefix(PREFIX)?.split_once('_')?;
    let hex = |s: &str, bytes: usize| s.len() == 2 * bytes && s.bytes().all(|b| b.is_ascii_hexdigit());
    (hex(public_id, PUBLIC_ID_BYTES) && hex(secret, SECRET_BYTES)).then_some((public_id, secret))
}

fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    hex::encode(buf)
}

/// Creates a key in the scope's org: `permissions` must be a subset of what the
/// creator holds there. Keys cannot make keys: that needs a signed-in user.
pub async fn create(
    state: &AppState,
    scope: &OrgScope,
    name: &str,
    permissions: &[String],
    expires_at: Option<DateTime<Utc>>,
) -> AppResult<NewKey> {
    require_user(scope)?;
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
        return Err(AppError::invalid_field(
            "name",
            format!("give the key a name of 1 to {MAX_NAME_CHARS} characters"),
        ));
    }
    let permissions = roles::parse_permissions(permissions)?;
    if permissions.is_empty() {
        return Err(AppError::invalid_field(
            "permissions",
            "name at least one permission",
        ));
    }
    roles::require_all(scope, &permissions, "this key")?;
    let now = clock::now();
    if expires_at.is_some_and(|at| at <= now) {
        return Err(AppError::invalid_field("expires_at", "must lie in the future"));
    }
    let txn = state.begin().await?;
    // Hold the org row, so concurrent creations count one after the other.
    orgs::Entity::find_by_id(scope.org_id())
        .lock_exclusive()
        .one(&txn)
        .await?;
    let live = api_keys::Entity::find()
        .filter(api_keys::Column::OrgId.eq(scope.org_id()))
        .filter(api_keys::Column::RevokedAt.is_null())
        .filter(
            api_keys::Column::ExpiresAt
                .is_null()
                .or(api_keys::Column::ExpiresAt.gt(now)),
        )
        .count(&txn)
        .await?;
    if live >= MAX_PER_ORG {
        return Err(AppError::new(
            ErrorKind::Conflict,
            format!("an organization holds at most {MAX_PER_ORG} live API keys; revoke one first"),
        ));
    }
    let made = insert(&txn, scope, name, &permissions, expires_at.map(Into::into)).await?;
    let facts = Facts {
        name: Some(name.to_owned()),
        permissions: Some(permissions),
        expires_at,
        ..Facts::default()
    };
    scope
        .audit(
            &txn,
            Record::of(Action::ApiKeyCreated, "api_key", made.model.id).with(Metadata::facts(facts)),
        )
        .await?;
    txn.commit().await?;
    Ok(made)
}

async fn insert<C: sea_orm::ConnectionTrait>(
    db: &C,
    scope: &OrgScope,
    name: &str,
    permissions: &[Permission],
    expires_at: Option<sea_orm::prelude::DateTimeWithTimeZone>,
) -> AppResult<NewKey> {
    let public_id = random_hex(PUBLIC_ID_BYTES);
    let secret = random_hex(SECRET_BYTES);
    let model = api_keys::ActiveModel {
        id: Set(Uuid::now_v7()),
        org_id: Set(scope.org_id()),
        public_id: Set(public_id.clone()),
        secret_hash: Set(sha256_hex(secret.as_bytes())),
        name: Set(name.to_owned()),
        permissions: Set(roles::encode(permissions)?),
        created_by: Set(scope.actor().user_id()),
        created_at: Set(clock::now()),
        expires_at: Set(expires_at),
        last_used_at: Set(None),
        revoked_at: Set(None),
        rotated_to: Set(None),
    }
    .insert(db)
    .await?;
    Ok(NewKey {
        key: format!("{PREFIX}{public_id}_{secret}"),
        model,
    })
}

fn require_user(scope: &OrgScope) -> AppResult<()> {
    scope.require(Permission::ApiKeysManage)?;
    if scope.actor().key().is_some() {
        return Err(AppError::new(
            ErrorKind::Forbidden,
            "API keys cannot create or rotate API keys; sign in to do that",
        ));
    }
    Ok(())
}

/// The org's keys that are not revoked (expired ones included), newest first.
pub async fn list(
    state: &AppState,
    scope: &OrgScope,
    page: &PageRequest,
) -> AppResult<Page<api_keys::Model>> {
    scope.require(Permission::ApiKeysRead)?;
    let query = api_keys::Entity::find()
        .filter(api_keys::Column::OrgId.eq(scope.org_id()))
        .filter(api_keys::Column::RevokedAt.is_null());
    page.load(&state.db, page::descending(query, api_keys::Column::Id), |k| k.id)
        .await
}

/// A key of this org that is not revoked (`404` otherwise, and for other orgs' keys).
async fn find_unrevoked(state: &AppState, scope: &OrgScope, id: Uuid) -> AppResult<api_keys::Model> {
    api_keys::Entity::find_by_id(id)
        .filter(api_keys::Column::OrgId.eq(scope.org_id()))
        .filter(api_keys::Column::RevokedAt.is_null())
        .one(&state.db)
        .await?
        .ok_or_else(AppError::not_found)
}

/// Revokes a key: it is refused from its next request on.
pub async fn revoke(state: &AppState, scope: &OrgScope, id: Uuid) -> AppResult<()> {
    scope.require(Permission::ApiKeysManage)?;
    let key = find_unrevoked(state, scope, id).await?;
    let facts = Facts {
        name: Some(key.name.clone()),
        ..Facts::default()
    };
    let txn = state.begin().await?;
    let mut active: api_keys::ActiveModel = key.into();
    active.revoked_at = Set(Some(clock::now()));
    active.update(&txn).await?;
    scope
        .audit(
            &txn,
            Record::of(Action::ApiKeyRevoked, "api_key", id).with(Metadata::facts(facts)),
        )
        .await?;
    txn.commit().await?;
    Ok(())
}

/// Replaces a key by a new one with the same name, permissions and expiry; the
/// old key keeps working for `grace_seconds` (at most [`MAX_GRACE`]).
pub async fn rotate(state: &AppState, scope: &OrgScope, id: Uuid, grace_seconds: u32) -> AppResult<NewKey> {
    require_user(scope)?;
    let grace = Duration::from_secs(grace_seconds.into());
    if grace > MAX_GRACE {
        return Err(AppError::invalid_field(
            "grace_seconds",
            format!("at most {} (seven days)", MAX_GRACE.as_secs()),
        ));
    }
    let old = find_unrevoked(state, scope, id).await?;
    let now = clock::now();
    if old.expires_at.is_some_and(|at| at <= now) {
        return Err(AppError::new(
            ErrorKind::Conflict,
            "this key has expired; create a new one",
        ));
    }
    if old.rotated_to.is_some() {
        return Err(already_rotated());
    }
    let permissions = permissions(&old);
    roles::require_all(scope, &permissions, "this key")?;

    let txn = state.begin().await?;
    let made = insert(&txn, scope, &old.name, &permissions, old.expires_at).await?;
    let grace_ends = clock::after(now, grace);
    // Only a key neither rotated nor revoked since it was read, so two concurrent
    // rotations make one successor and a revoked key gets none.
    let rotated = api_keys::Entity::update_many()
        .col_expr(
            api_keys::Column::ExpiresAt,
            Expr::value(old.expires_at.map_or(grace_ends, |at| at.min(grace_ends))),
        )
        .col_expr(api_keys::Column::RotatedTo, Expr::value(made.model.id))
        .filter(api_keys::Column::Id.eq(id))
        .filter(api_keys::Column::RotatedTo.is_null())
        .filter(api_keys::Column::RevokedAt.is_null())
        .exec(&txn)
        .await?
        .rows_affected;
    if rotated != 1 {
        return Err(AppError::new(
            ErrorKind::Conflict,
            "this key was rotated or revoked meanwhile; reload the list",
        ));
    }
    let metadata = Metadata {
        facts: Facts {
            name: Some(old.name.clone()),
            ..Facts::default()
        },
        successor: Some(made.model.id),
        grace_seconds: Some(grace_seconds),
        ..Metadata::default()
    };
    scope
        .audit(
            &txn,
            Record::of(Action::ApiKeyRotated, "api_key", id).with(metadata),
        )
        .await?;
    txn.commit().await?;
    Ok(made)
}

fn already_rotated() -> AppError {
    AppError::new(
        ErrorKind::Conflict,
        "this key was already rotated; rotate its successor",
    )
}

/// The live key `presented` names, or `None` when it is malformed, unknown,
/// revoked, expired, its creator is disabled, its org deleted, or it grants
/// nothing its creator still holds there. The grant it returns is what the key
/// may do now: its permissions and its creator's, both. Verified once per
/// credentials epoch (see [`super::verified`]); records use (throttled).
pub async fn authenticate(
    state: &AppState,
    epoch: Epoch,
    presented: &str,
) -> AppResult<Option<Arc<LiveKey>>> {
    let hash = sha256_hex(presented.as_bytes());
    let now = clock::now();
    let live = match state.verified.key(&hash, epoch, now.to_utc()) {
        Some(live) => live,
        None => match verify(state, presented, now).await? {
            Some(live) => {
                let live = Arc::new(live);
                state
                    .verified
                    .remember_key(hash.clone(), epoch, live.until, live.clone());
                live
            }
            None => return Ok(None),
        },
    };
    if live
        .last_used_at
        .is_none_or(|at| clock::after(at, TOUCH_INTERVAL) <= now)
    {
        // Written by the activity flusher, off the request path.
        state.activity.key_used(live.grant.key_id, now);
        let touched = Arc::new(LiveKey {
            last_used_at: Some(now),
            ..LiveKey::clone(&live)
        });
        state
            .verified
            .remember_key(hash, epoch, live.until, touched.clone());
        return Ok(Some(touched));
    }
    Ok(Some(live))
}

/// Checks `presented` against the database: the key with its creator, and the
/// creator's grants in the key's org.
async fn verify(state: &AppState, presented: &str, now: DateTimeWithTimeZone) -> AppResult<Option<LiveKey>> {
    let Some((public_id, secret)) = split(presented) else {
        return Ok(None);
    };
    let found = api_keys::Entity::find()
        .filter(api_keys::Column::PublicId.eq(public_id))
        .find_also_related(users::Entity)
        .one(&state.db)
        .await?;
    let Some((key, Some(creator))) = found else {
        return Ok(None);
    };
    let live = constant_time_eq(
        sha256_hex(secret.as_bytes()).as_bytes(),
        key.secret_hash.as_bytes(),
    ) && key.revoked_at.is_none()
        && key.expires_at.is_none_or(|at| at > now)
        && creator.disabled_at.is_none();
    if !live {
        return Ok(None);
    }
    let org = orgs::Entity::find_by_id(key.org_id)
        .filter(orgs::Column::DeletedAt.is_null())
        .one(&state.db)
        .await?;
    let Some(org) = org else {
        return Ok(None);
    };
    let grants = state.decisions.grants(&state.db, &org, now.to_utc()).await?;
    let permissions = grants
        .of(creator.id)
        .intersection(permissions(&key).into_iter().collect());
    if permissions.is_empty() {
        return Ok(None);
    }
    let until = [key.expires_at.map(|at| at.to_utc()), grants.valid_until()]
        .into_iter()
        .flatten()
        .min();
    Ok(Some(LiveKey {
        grant: KeyGrant {
            key_id: key.id,
            org_id: key.org_id,
            permissions,
            name: key.name,
        },
        creator,
        last_used_at: key.last_used_at,
        until,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_have_a_scannable_shape_with_enough_secret() {
        let key = format!(
            "{PREFIX}{}_{}",
            random_hex(PUBLIC_ID_BYTES),
            random_hex(SECRET_BYTES)
        );
        let (public_id, secret) = split(&key).unwrap();
        assert_eq!(public_id.len(), 16);
        assert!(secret.len() * 4 >= 128, "at least 128 bits of secret");
        assert!(looks_like_key(&key));
        for bad in [
            "atk_",
            "atk_abc_def",
            &key.replace("atk_", "xtk_"),
            &format!("{key}0"),
            &key.replace('_', "-"),
        ] {
            assert!(split(bad).is_none(), "{bad}");
        }
    }
}
