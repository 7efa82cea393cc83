//! The tables a snapshot holds, and how each is written out and read back: as
//! its entity's models, one JSON object per line, so the same snapshot loads
//! onto SQLite or PostgreSQL.

use std::{io::BufRead, marker::PhantomData, str::FromStr as _};

use futures_util::TryStreamExt as _;
use sea_orm::{
    prelude::async_trait, ActiveModelTrait, DatabaseTransaction, EntityTrait, IntoActiveModel, Iterable as _,
    PrimaryKeyToColumn as _, QueryOrder as _,
};
use serde::{de::DeserializeOwned, Serialize};

use crate::{
    compliance::frameworks::parents_first,
    store::entities::{
        api_keys, audit_checkpoints, audit_events, audit_heads, control_requirements, control_tags, controls,
        evidence, evidence_controls, flags, frameworks, idempotency_keys, invitations, mail_outbox,
        membership_roles, memberships, org_roles, orgs, password_resets, policies, policy_acknowledgments,
        policy_versions, requirements, sessions, sso_configs, sso_domains, sso_flows, status_components,
        status_incident_updates, status_incidents, status_maintenances, status_page, status_subscribers,
        user_identities, users,
    },
    store::write::WriteTxn,
    AppError, AppResult,
};

/// Rows inserted per statement: well under both databases' bound-parameter limits.
const BATCH: usize = 500;

/// One table of a snapshot.
#[async_trait::async_trait(?Send)]
pub trait Table: Sync {
    fn name(&self) -> &'static str;
    /// Writes every row, one JSON line each, in primary-key order; returns how many.
    async fn dump(&self, txn: &DatabaseTransaction, out: &mut dyn std::io::Write) -> AppResult<u64>;
    async fn clear(&self, db: &WriteTxn) -> AppResult<()>;
    /// Inserts the rows `lines` holds; returns how many.
    async fn load(&self, db: &WriteTxn, lines: &mut dyn BufRead) -> AppResult<u64>;
}

/// Puts a whole table's rows in an insertable order.
type Arrange<E> = fn(Vec<<E as EntityTrait>::Model>) -> Vec<<E as EntityTrait>::Model>;

/// A table given by its entity.
struct Rows<E: EntityTrait> {
    name: &'static str,
    /// Columns the rows are written in order of (default: the primary key).
    order_by: &'static [&'static str],
    /// Puts the whole table in an insertable order, for a table that refers to
    /// itself (a batch may only name parents that an earlier one inserted).
    arrange: Option<Arrange<E>>,
    entity: PhantomData<E>,
}

const fn rows<E: EntityTrait>(name: &'static str) -> Rows<E> {
    Rows {
        name,
        order_by: &[],
        arrange: None,
        entity: PhantomData,
    }
}

impl<E: EntityTrait> Rows<E> {
    const fn ordered_by(mut self, columns: &'static [&'static str]) -> Self {
        self.order_by = columns;
        self
    }

    const fn arranged(mut self, arrange: Arrange<E>) -> Self {
        self.arrange = Some(arrange);
        self
    }
}

#[async_trait::async_trait(?Send)]
impl<E> Table for Rows<E>
where
    E: EntityTrait + Sync,
    E::Model: Serialize + DeserializeOwned + IntoActiveModel<E::ActiveModel> + Sync,
    E::ActiveModel: ActiveModelTrait<Entity = E> + Send,
{
    fn name(&self) -> &'static str {
        self.name
    }

    async fn dump(&self, txn: &DatabaseTransaction, out: &mut dyn std::io::Write) -> AppResult<u64> {
        let mut query = E::find();
        if self.order_by.is_empty() {
            for key in E::PrimaryKey::iter() {
                query = query.order_by_asc(key.into_column());
            }
        }
        for name in self.order_by {
            let column = E::Column::from_str(name)
                .map_err(|_| AppError::internal(format!("{} has no column {name}", self.name)))?;
            query = query.order_by_asc(column);
        }
        let mut stream = query.stream(txn).await?;
        let mut count = 0;
        while let Some(row) = stream.try_next().await? {
            serde_json::to_writer(&mut *out, &row).map_err(AppError::internal)?;
            out.write_all(b"\n").map_err(AppError::internal)?;
            count += 1;
        }
        Ok(count)
    }

    async fn clear(&self, db: &WriteTxn) -> AppResult<()> {
        E::delete_many().exec(db).await?;
        Ok(())
    }

    async fn load(&self, db: &WriteTxn, lines: &mut dyn BufRead) -> AppResult<u64> {
        let mut batch = Vec::with_capacity(BATCH);
        let mut held = Vec::new();
        let mut count = 0;
        for (number, line) in lines.lines().enumerate() {
            let line = line.map_err(|e| unreadable(self.name, number, &e))?;
            let row: E::Model = serde_json::from_str(&line).map_err(|e| unreadable(self.name, number, &e))?;
            count += 1;
            if self.arrange.is_some() {
                held.push(row);
                continue;
            }
            batch.push(row);
            if batch.len() == BATCH {
                insert::<E>(db, std::mem::take(&mut batch)).await?;
            }
        }
        if let Some(arrange) = self.arrange {
            for chunk in arrange(held).chunks(BATCH) {
                insert::<E>(db, chunk.to_vec()).await?;
            }
        }
        insert::<E>(db, batch).await?;
        Ok(count)
    }
}

async fn insert<E>(db: &WriteTxn, rows: Vec<E::Model>) -> AppResult<()>
where
    E: EntityTrait,
    E::Model: IntoActiveModel<E::ActiveModel>,
    E::ActiveModel: ActiveModelTrait<Entity = E> + Send,
{
    if rows.is_empty() {
        return Ok(());
    }
    let count = rows.len();
    E::insert_many(rows.into_iter().map(IntoActiveModel::into_active_model))
        .exec_without_returning(db)
        .await
        .map_err(|e| {
            AppError::internal(format!(
                "inserting {count} rows into {}: {e}",
                E::default().table_name()
            ))
        })?;
    Ok(())
}

fn unreadable(table: &str, number: usize, error: &dyn std::fmt::Display) -> AppError {
    AppError::new(
        crate::ErrorKind::Unprocessable,
        format!(
            "the snapshot's {table} table is unreadable at row {}: {error}",
            number + 1
        ),
    )
}

fn requirements_parents_first(rows: Vec<requirements::Model>) -> Vec<requirements::Model> {
    parents_first(rows, |r| r.id, |r| r.parent_id)
}

/// Every table, parents before children: restore inserts in this order and
/// clears in the reverse. Not here: the migrations' own table (the manifest
/// names the schema instead), the single-row credentials epoch (a restore moves
/// it through its triggers), audit erasure permits (never visible outside
/// the transaction that writes them), and org exports (downloads that expire
/// within a day, their files outside the database).
pub static TABLES: &[&dyn Table] = &[
    &rows::<orgs::Entity>("orgs"),
    &rows::<users::Entity>("users"),
    &rows::<org_roles::Entity>("org_roles"),
    &rows::<memberships::Entity>("memberships"),
    &rows::<membership_roles::Entity>("membership_roles"),
    &rows::<invitations::Entity>("invitations"),
    &rows::<sessions::Entity>("sessions"),
    &rows::<password_resets::Entity>("password_resets"),
    &rows::<api_keys::Entity>("api_keys"),
    &rows::<sso_configs::Entity>("sso_configs"),
    &rows::<sso_domains::Entity>("sso_domains"),
    &rows::<sso_flows::Entity>("sso_flows"),
    &rows::<user_identities::Entity>("user_identities"),
    &rows::<idempotency_keys::Entity>("idempotency_keys"),
    &rows::<mail_outbox::Entity>("mail_outbox"),
    &rows::<audit_heads::Entity>("audit_heads"),
    // In chain order: each insert moves the org's head to the event's hash.
    &rows::<audit_events::Entity>("audit_events").ordered_by(&["org_id", "seq"]),
    &rows::<audit_checkpoints::Entity>("audit_checkpoints"),
    &rows::<flags::Entity>("flags"),
    &rows::<status_page::Entity>("status_page"),
    &rows::<status_components::Entity>("status_components"),
    &rows::<status_incidents::Entity>("status_incidents"),
    &rows::<status_incident_updates::Entity>("status_incident_updates"),
    &rows::<status_maintenances::Entity>("status_maintenances"),
    &rows::<status_subscribers::Entity>("status_subscribers"),
    &rows::<frameworks::Entity>("frameworks"),
    &rows::<requirements::Entity>("requirements").arranged(requirements_parents_first),
    &rows::<controls::Entity>("controls"),
    &rows::<control_requirements::Entity>("control_requirements"),
    &rows::<control_tags::Entity>("control_tags"),
    &rows::<evidence::Entity>("evidence"),
    &rows::<evidence_controls::Entity>("evidence_controls"),
    &rows::<policies::Entity>("policies"),
    &rows::<policy_versions::Entity>("policy_versions"),
    &rows::<policy_acknowledgments::Entity>("policy_acknowledgments"),
];
