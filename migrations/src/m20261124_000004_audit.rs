//! The audit trail: per-org hash-chained events, the chain heads that serialize
//! appends, signed checkpoints, and per-org retention.
//!
//! Events are append-only. Triggers refuse every `UPDATE`, and every `DELETE`
//! that is not covered by a row in `audit_erasures`, which only the retention
//! job and an org's purge write, inside their own transaction (so the permit is
//! never visible to anyone else). The same mechanism serves SQLite and
//! PostgreSQL.

use sea_orm_migration::{prelude::*, schema::*, sea_orm::DatabaseBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum AuditEvents {
    Table,
    Id,
    OrgId,
    Seq,
    OccurredAt,
    ActorType,
    ActorId,
    ActorDisplay,
    Action,
    TargetType,
    TargetId,
    Outcome,
    RequestId,
    Ip,
    UserAgent,
    Metadata,
    PrevHash,
    Hash,
}

#[derive(DeriveIden)]
enum AuditHeads {
    Table,
    OrgId,
    Seq,
    Hash,
}

#[derive(DeriveIden)]
enum AuditCheckpoints {
    Table,
    OrgId,
    Seq,
    Hash,
    SignedAt,
    Signature,
}

#[derive(DeriveIden)]
enum AuditErasures {
    Table,
    OrgId,
    UpToSeq,
}

#[derive(DeriveIden)]
enum Orgs {
    Table,
    Id,
    AuditRetentionDays,
}

fn org_fk(table: impl IntoIden + 'static, column: impl IntoIden + 'static) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(table, column)
        .to(Orgs::Table, Orgs::Id)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

fn hash_column(column: impl IntoIden) -> ColumnDef {
    string_len(column, 64)
}

fn immutability_triggers(backend: DatabaseBackend) -> Vec<String> {
    const REFUSAL: &str = "audit events are append-only";
    let permitted = "EXISTS (SELECT 1 FROM audit_erasures e \
                     WHERE e.org_id = OLD.org_id AND OLD.seq <= e.up_to_seq)";
    match backend {
        DatabaseBackend::Postgres => vec![
            format!(
                "CREATE FUNCTION attest_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    IF TG_OP = 'DELETE' AND {permitted} THEN
                        RETURN OLD;
                    END IF;
                    RAISE EXCEPTION '{REFUSAL}';
                END $$"
            ),
            "CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events \
             FOR EACH ROW EXECUTE FUNCTION attest_audit_append_only()"
                .to_owned(),
        ],
        _ => vec![
            format!(
                "CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events \
                 BEGIN SELECT RAISE(ABORT, '{REFUSAL}'); END"
            ),
            format!(
                "CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events \
                 WHEN NOT {permitted} BEGIN SELECT RAISE(ABORT, '{REFUSAL}'); END"
            ),
        ],
    }
}

fn drop_triggers(backend: DatabaseBackend) -> Vec<String> {
    match backend {
        DatabaseBackend::Postgres => vec![
            "DROP TRIGGER IF EXISTS audit_events_append_only ON audit_events".to_owned(),
            "DROP FUNCTION IF EXISTS attest_audit_append_only()".to_owned(),
        ],
        _ => vec![
            "DROP TRIGGER IF EXISTS audit_events_no_update".to_owned(),
            "DROP TRIGGER IF EXISTS audit_events_no_delete".to_owned(),
        ],
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(AuditEvents::Table)
                    .col(uuid(AuditEvents::Id).primary_key())
                    .col(uuid(AuditEvents::OrgId))
                    .col(big_integer(AuditEvents::Seq))
                    .col(timestamp_with_time_zone(AuditEvents::OccurredAt))
                    .col(string_len(AuditEvents::ActorType, 16))
                    .col(uuid_null(AuditEvents::ActorId))
                    .col(string(AuditEvents::ActorDisplay))
                    .col(string_len(AuditEvents::Action, 64))
                    .col(string_len(AuditEvents::TargetType, 32))
                    .col(string_null(AuditEvents::TargetId))
                    .col(string_len(AuditEvents::Outcome, 16))
                    .col(string_null(AuditEvents::RequestId))
                    .col(string_null(AuditEvents::Ip))
                    .col(text_null(AuditEvents::UserAgent))
                    // JSON object.
                    .col(text(AuditEvents::Metadata))
                    .col(hash_column(AuditEvents::PrevHash))
                    .col(hash_column(AuditEvents::Hash))
                    .foreign_key(&mut org_fk(AuditEvents::Table, AuditEvents::OrgId))
                    .to_owned(),
            )
            .await?;
        // One chain per org, read in `seq` order; the filters of the list route
        // each have an index that keeps that order.
        for (name, column) in [
            ("audit_events_org_seq", None),
            ("audit_events_org_action_seq", Some(AuditEvents::Action)),
            ("audit_events_org_actor_seq", Some(AuditEvents::ActorId)),
            ("audit_events_org_target_seq", Some(AuditEvents::TargetId)),
            ("audit_events_org_time_seq", Some(AuditEvents::OccurredAt)),
        ] {
            let mut index = Index::create();
            index.name(name).table(AuditEvents::Table).col(AuditEvents::OrgId);
            match column {
                Some(column) => index.col(column),
                // The chain itself: one event per (org, seq).
                None => index.unique(),
            };
            index.col(AuditEvents::Seq);
            manager.create_index(index.to_owned()).await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(AuditHeads::Table)
                    .col(uuid(AuditHeads::OrgId).primary_key())
                    .col(big_integer(AuditHeads::Seq))
                    .col(hash_column(AuditHeads::Hash))
                    .foreign_key(&mut org_fk(AuditHeads::Table, AuditHeads::OrgId))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(AuditCheckpoints::Table)
                    .col(uuid(AuditCheckpoints::OrgId))
                    .col(big_integer(AuditCheckpoints::Seq))
                    .col(hash_column(AuditCheckpoints::Hash))
                    .col(timestamp_with_time_zone(AuditCheckpoints::SignedAt))
                    .col(string_len(AuditCheckpoints::Signature, 128))
                    .primary_key(
                        Index::create()
                            .col(AuditCheckpoints::OrgId)
                            .col(AuditCheckpoints::Seq),
                    )
                    .foreign_key(&mut org_fk(AuditCheckpoints::Table, AuditCheckpoints::OrgId))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(AuditErasures::Table)
                    .col(uuid(AuditErasures::OrgId).primary_key())
                    .col(big_integer(AuditErasures::UpToSeq))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Orgs::Table)
                    .add_column(integer_null(Orgs::AuditRetentionDays))
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        // Orgs that exist already get an empty chain.
        db.execute_unprepared(&format!(
            "INSERT INTO audit_heads (org_id, seq, hash) SELECT id, 0, '{}' FROM orgs",
            "0".repeat(64)
        ))
        .await?;
        for statement in immutability_triggers(manager.get_database_backend()) {
            db.execute_unprepared(&statement).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for statement in drop_triggers(manager.get_database_backend()) {
            db.execute_unprepared(&statement).await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(Orgs::Table)
                    .drop_column(Orgs::AuditRetentionDays)
                    .to_owned(),
            )
            .await?;
        for table in [
            AuditErasures::Table.into_iden(),
            AuditCheckpoints::Table.into_iden(),
            AuditHeads::Table.into_iden(),
            AuditEvents::Table.into_iden(),
        ] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
