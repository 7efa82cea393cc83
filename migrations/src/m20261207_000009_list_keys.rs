//! Indexes on the keys lists page by (`store::page` in attest-core).
//!
//! Each list walks its rows in the order of a unique key within its owner (an
//! org's invitations and API keys by id, a user's sessions by id, a user's SSO
//! identities by issuer and subject), so each owner gets an index on exactly
//! that. Where an older index was a prefix of the new one, the new one replaces it.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Sessions {
    Table,
    UserId,
    Id,
}

#[derive(DeriveIden)]
enum Invitations {
    Table,
    OrgId,
    Id,
}

#[derive(DeriveIden)]
enum ApiKeys {
    Table,
    OrgId,
    Id,
    CreatedAt,
}

#[derive(DeriveIden)]
enum UserIdentities {
    Table,
    UserId,
    Issuer,
    Subject,
}

/// An index: its name, table and columns.
struct Key {
    name: &'static str,
    table: DynIden,
    columns: Vec<DynIden>,
}

impl Key {
    fn new(name: &'static str, table: impl Iden + 'static, columns: Vec<DynIden>) -> Self {
        Self {
            name,
            table: SeaRc::new(table),
            columns,
        }
    }

    async fn create(&self, manager: &SchemaManager<'_>) -> Result<(), DbErr> {
        let mut index = Index::create();
        index.name(self.name).table(self.table.clone());
        for column in &self.columns {
            index.col(column.clone());
        }
        manager.create_index(index.to_owned()).await
    }

    async fn drop(&self, manager: &SchemaManager<'_>) -> Result<(), DbErr> {
        manager
            .drop_index(Index::drop().name(self.name).table(self.table.clone()).to_owned())
            .await
    }
}

fn col(column: impl Iden + 'static) -> DynIden {
    SeaRc::new(column)
}

/// (the new key, the index it replaces, if any)
fn keys() -> Vec<(Key, Option<Key>)> {
    vec![
        (
            Key::new(
                "sessions_user_id",
                Sessions::Table,
                vec![col(Sessions::UserId), col(Sessions::Id)],
            ),
            Some(Key::new(
                "idx_sessions_user",
                Sessions::Table,
                vec![col(Sessions::UserId)],
            )),
        ),
        (
            Key::new(
                "invitations_org_id",
                Invitations::Table,
                vec![col(Invitations::OrgId), col(Invitations::Id)],
            ),
            Some(Key::new(
                "idx_invitations_org",
                Invitations::Table,
                vec![col(Invitations::OrgId)],
            )),
        ),
        (
            Key::new(
                "api_keys_org_id",
                ApiKeys::Table,
                vec![col(ApiKeys::OrgId), col(ApiKeys::Id)],
            ),
            Some(Key::new(
                "api_keys_org",
                ApiKeys::Table,
                vec![col(ApiKeys::OrgId), col(ApiKeys::CreatedAt)],
            )),
        ),
        (
            Key::new(
                "user_identities_user",
                UserIdentities::Table,
                vec![
                    col(UserIdentities::UserId),
                    col(UserIdentities::Issuer),
                    col(UserIdentities::Subject),
                ],
            ),
            None,
        ),
    ]
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (key, replaced) in keys() {
            key.create(manager).await?;
            if let Some(old) = replaced {
                old.drop(manager).await?;
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (key, replaced) in keys() {
            if let Some(old) = replaced {
                old.create(manager).await?;
            }
            key.drop(manager).await?;
        }
        Ok(())
    }
}
