//! Attest's schema, as an ordered list of reversible migrations.
//!
//! Every step has a working `down`; the up → down → up round trip is tested on
//! SQLite and PostgreSQL (`backend/server/tests/api/migrations.rs`).

pub use sea_orm_migration::prelude::*;

mod m20261123_000001_identity_core;
mod m20261123_000002_custom_roles;
mod m20261123_000003_policy_version;
mod m20261124_000004_audit;
mod m20261204_000005_sso;
mod m20261204_000006_partner_api;
mod m20261204_000007_idempotency_claims;
mod m20261206_000008_sso_domain_proof;
mod m20261207_000009_list_keys;
mod m20261207_000010_credentials_epoch;
mod m20261207_000011_audit_head_follows;
mod m20261207_000012_flags;
mod m20261208_000013_status_page;
mod m20261209_000014_compliance;
mod m20261210_000015_org_exports;
mod m20261211_000016_identity_links_epoch;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261123_000001_identity_core::Migration),
            Box::new(m20261123_000002_custom_roles::Migration),
            Box::new(m20261123_000003_policy_version::Migration),
            Box::new(m20261124_000004_audit::Migration),
            Box::new(m20261204_000005_sso::Migration),
            Box::new(m20261204_000006_partner_api::Migration),
            Box::new(m20261204_000007_idempotency_claims::Migration),
            Box::new(m20261206_000008_sso_domain_proof::Migration),
            Box::new(m20261207_000009_list_keys::Migration),
            Box::new(m20261207_000010_credentials_epoch::Migration),
            Box::new(m20261207_000011_audit_head_follows::Migration),
            Box::new(m20261207_000012_flags::Migration),
            Box::new(m20261208_000013_status_page::Migration),
            Box::new(m20261209_000014_compliance::Migration),
            Box::new(m20261210_000015_org_exports::Migration),
            Box::new(m20261211_000016_identity_links_epoch::Migration),
        ]
    }
}
