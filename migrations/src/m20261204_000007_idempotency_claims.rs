//! Idempotency records learn whose claim they are and keep the answer's `ETag`.
//!
//! `claim` is a random token the request that claimed a key holds: only that
//! request may keep its answer or free the key, so a request that outlived its
//! claim cannot overwrite the request that took the key over. Rows from before
//! this step have no token (`''`); they are finished answers and keep replaying.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum IdempotencyKeys {
    Table,
    Claim,
    Etag,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters a table one change at a time.
        for column in [
            string_len(IdempotencyKeys::Claim, 32).default("").to_owned(),
            string_len_null(IdempotencyKeys::Etag, 255),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(IdempotencyKeys::Table)
                        .add_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [IdempotencyKeys::Etag, IdempotencyKeys::Claim] {
            manager
                .alter_table(
                    Table::alter()
                        .table(IdempotencyKeys::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
