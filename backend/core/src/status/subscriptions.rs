//! Mail subscriptions to the page, double opt-in: a subscription mails a
//! confirmation link (token stored hashed, expiring); only confirmed
//! subscribers are notified, each mail with a one-click unsubscribe link
//! (RFC 8058). Subscribing answers the same whether or not the address is known.

use sea_orm::{
    ActiveModelTrait as _, ColumnTrait as _, ConnectionTrait, EntityTrait as _, QueryFilter as _, Set,
};
use uuid::Uuid;

use super::published::PAGE_NAME;
use crate::{
    clock, crypto,
    identity::users::{check_email, normalize_email},
    mail::{outbox, templates},
    store::entities::status_subscribers,
    AppError, AppResult, AppState, ErrorKind,
};

/// How long a confirmation link works.
pub const CONFIRM_HOURS: u64 = 24;

const UNSUBSCRIBE_PURPOSE: &str = "status-unsubscribe";

/// What subscribers are told.
pub struct Notice {
    pub subject: String,
    pub text: String,
}

fn invalid_link() -> AppError {
    AppError::new(ErrorKind::NotFound, "this link is invalid or has expired")
}

/// Subscribes `email`: a new or unconfirmed address gets a (fresh)
/// confirmation link; a confirmed one gets nothing, so the answer and the
/// mail traffic say nothing about who is subscribed.
pub async fn subscribe(state: &AppState, email: &str) -> AppResult<()> {
    let email = normalize_email(email);
    check_email(&email, "email")?;
    let token = crypto::random_token();
    let now = clock::now();
    let expires = clock::after(now, std::time::Duration::from_secs(CONFIRM_HOURS * 3600));
    let txn = state.begin().await?;
    let existing = status_subscribers::Entity::find()
        .filter(status_subscribers::Column::Email.eq(&email))
        .one(&txn)
        .await?;
    match existing {
        Some(row) if row.confirmed_at.is_some() => return Ok(()),
        Some(row) => {
            let mut active: status_subscribers::ActiveModel = row.into();
            active.confirm_token_hash = Set(Some(crypto::sha256_hex(token.as_bytes())));
            active.confirm_expires_at = Set(Some(expires));
            active.update(&txn).await?;
        }
        None => {
            status_subscribers::ActiveModel {
                id: Set(Uuid::now_v7()),
                email: Set(email.clone()),
                confirm_token_hash: Set(Some(crypto::sha256_hex(token.as_bytes()))),
                confirm_expires_at: Set(Some(expires)),
                confirmed_at: Set(None),
                created_at: Set(now),
            }
            .insert(&txn)
            .await?;
        }
    }
    let url = format!(
        "{}/status/subscriptions/confirm?token={token}",
        state.config.public_url
    );
    outbox::enqueue(
        &txn,
        templates::status_confirmation(&email, PAGE_NAME, &url, CONFIRM_HOURS),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// Confirms the subscription the mailed `token` belongs to.
pub async fn confirm(state: &AppState, token: &str) -> AppResult<()> {
    let txn = state.begin().await?;
    let row = status_subscribers::Entity::find()
        .filter(status_subscribers::Column::ConfirmTokenHash.eq(crypto::sha256_hex(token.as_bytes())))
        .one(&txn)
        .await?
        .filter(|row| row.confirm_expires_at.is_some_and(|at| at > clock::now()))
        .ok_or_else(invalid_link)?;
    let mut active: status_subscribers::ActiveModel = row.into();
    active.confirm_token_hash = Set(None);
    active.confirm_expires_at = Set(None);
    active.confirmed_at = Set(Some(clock::now()));
    active.update(&txn).await?;
    txn.commit().await?;
    Ok(())
}

/// The token of a subscriber's unsubscribe link: their id and a MAC of it,
/// so no token is stored and every mail can carry one.
pub fn unsubscribe_token(state: &AppState, id: Uuid) -> String {
    let mac = state.key.mac(UNSUBSCRIBE_PURPOSE, id.as_bytes());
    format!("{}.{}", id.simple(), hex::encode(mac))
}

/// Ends the subscription of the link's `token`; unsubscribing twice is fine.
pub async fn unsubscribe(state: &AppState, token: &str) -> AppResult<()> {
    let (id, mac) = token.split_once('.').ok_or_else(invalid_link)?;
    let id = Uuid::parse_str(id).map_err(|_| invalid_link())?;
    let mac = hex::decode(mac).map_err(|_| invalid_link())?;
    let expected = state.key.mac(UNSUBSCRIBE_PURPOSE, id.as_bytes());
    if !crypto::constant_time_eq(&mac, &expected) {
        return Err(invalid_link());
    }
    let txn = state.begin().await?;
    status_subscribers::Entity::delete_by_id(id).exec(&txn).await?;
    txn.commit().await?;
    Ok(())
}

/// Mails `notice` to every confirmed subscriber, through the outbox, in the
/// transaction of the change it reports.
pub async fn notify<C: ConnectionTrait>(db: &C, state: &AppState, notice: &Notice) -> AppResult<()> {
    let subscribers = status_subscribers::Entity::find()
        .filter(status_subscribers::Column::ConfirmedAt.is_not_null())
        .all(db)
        .await?;
    let page_url = format!("{}/status", state.config.public_url);
    for subscriber in subscribers {
        let unsubscribe = format!(
            "{}/status/subscriptions/unsubscribe?token={}",
            state.config.public_url,
            unsubscribe_token(state, subscriber.id)
        );
        let mail = templates::status_notice(
            &subscriber.email,
            &notice.subject,
            &notice.text,
            &page_url,
            &unsubscribe,
        );
        outbox::enqueue(db, mail).await?;
    }
    Ok(())
}
