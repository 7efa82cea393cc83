//! The mail outbox: a table of messages to deliver, drained by a background worker.
//!
//! A failed delivery is retried after 1, 2, 4 … seconds, at most 5 minutes apart,
//! for as long as it takes. Until jobs run under a leader lock, run one worker
//! per database (every instance runs one; a message may then, rarely, be sent twice).
//! A sent message keeps its envelope (recipient, subject, times) but not its
//! bodies: they may carry single-use links (invitations, password resets) that
//! must not outlive the delivery in the database.

use std::{sync::Arc, time::Duration};

use sea_orm::{
    ActiveModelTrait as _, ColumnTrait as _, ConnectionTrait, DatabaseConnection, EntityTrait as _,
    QueryFilter as _, QueryOrder as _, QuerySelect as _, Set,
};
use uuid::Uuid;

use super::{Mail, Mailer};
use crate::{clock, store::entities::mail_outbox, AppResult};

const BATCH: u64 = 20;
const MAX_BACKOFF: Duration = Duration::from_secs(300);

/// Queues a message. Call it inside the transaction of the change it reports.
pub async fn enqueue<C: ConnectionTrait>(db: &C, mail: Mail) -> AppResult<()> {
    let now = clock::now();
    mail_outbox::ActiveModel {
        id: Set(Uuid::now_v7()),
        recipient: Set(mail.to),
        subject: Set(mail.subject),
        text_body: Set(mail.text),
        html_body: Set(mail.html),
        list_unsubscribe: Set(mail.list_unsubscribe),
        attempts: Set(0),
        next_attempt_at: Set(now),
        last_error: Set(None),
        sent_at: Set(None),
        created_at: Set(now),
    }
    .insert(db)
    .await?;
    Ok(())
}

fn backoff(attempts: i32) -> Duration {
    let exponent = u32::try_from(attempts.saturating_sub(1)).unwrap_or(0).min(16);
    Duration::from_secs(1u64 << exponent).min(MAX_BACKOFF)
}

/// Delivers every message that is due; returns how many were sent.
pub async fn deliver_due(db: &DatabaseConnection, mailer: &Mailer) -> AppResult<usize> {
    let due = mail_outbox::Entity::find()
        .filter(mail_outbox::Column::SentAt.is_null())
        .filter(mail_outbox::Column::NextAttemptAt.lte(clock::now()))
        .order_by_asc(mail_outbox::Column::NextAttemptAt)
        .limit(BATCH)
        .all(db)
        .await?;
    let mut sent = 0;
    for row in due {
        let mail = Mail {
            to: row.recipient.clone(),
            subject: row.subject.clone(),
            text: row.text_body.clone(),
            html: row.html_body.clone(),
            list_unsubscribe: row.list_unsubscribe.clone(),
        };
        let outcome = mailer.send(&mail).await;
        let attempts = row.attempts.saturating_add(1);
        let mut active: mail_outbox::ActiveModel = row.into();
        active.attempts = Set(attempts);
        match outcome {
            Ok(()) => {
                active.sent_at = Set(Some(clock::now()));
                active.last_error = Set(None);
                active.text_body = Set(String::new());
                active.html_body = Set(String::new());
                active.list_unsubscribe = Set(None);
                sent += 1;
            }
            Err(error) => {
                tracing::warn!(%error, attempts, "mail delivery failed; will retry");
                active.last_error = Set(Some(error));
                active.next_attempt_at = Set(clock::after(clock::now(), backoff(attempts)));
            }
        }
        active.update(db).await?;
    }
    Ok(sent)
}

/// Runs the outbox worker until the process ends: a pass every second.
pub fn spawn_worker(db: DatabaseConnection, mailer: Arc<Mailer>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = deliver_due(&db, &mailer).await {
                tracing::warn!(error = %e, "mail outbox pass failed");
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_exponentially_up_to_five_minutes() {
        assert_eq!(backoff(1), Duration::from_secs(1));
        assert_eq!(backoff(2), Duration::from_secs(2));
        assert_eq!(backoff(4), Duration::from_secs(8));
        assert_eq!(backoff(30), MAX_BACKOFF);
    }
}
