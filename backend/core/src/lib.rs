//! Attest's domain layer.
//!
//! Services, authorization, audit, tenancy and storage live here, behind plain Rust
//! types: nothing in this crate knows about HTTP, so every entry point (REST, the
//! console's server functions, the CLI, background jobs) runs the same checks.

pub mod actor;
pub mod audit;
pub mod authz;
pub mod backup;
pub mod clock;
pub mod compliance;
pub mod config;
pub mod crypto;
pub mod error;
pub mod exports;
pub mod flags;
pub mod idempotency;
pub mod identity;
pub mod mail;
pub mod precondition;
pub mod privacy;
pub mod status;
pub mod store;
pub mod tenancy;
pub mod validate;

use std::sync::Arc;

pub use actor::Actor;
pub use config::CoreConfig;
pub use error::{AppError, AppResult, ErrorKind};

use sea_orm::DatabaseConnection;

/// What every service needs, shared by all requests of one process.
#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub key: crypto::ServerKey,
    pub config: Arc<CoreConfig>,
    /// Compiled authorization decisions, per org (one cache per instance).
    pub decisions: Arc<authz::decisions::Decisions>,
    /// Discovery documents and signing keys of the orgs' IdPs (one cache per instance).
    pub providers: Arc<identity::sso::Providers>,
    /// Sessions, keys and orgs verified under the current credentials epoch.
    pub verified: Arc<identity::verified::Verified>,
    /// How requests read that epoch.
    pub epoch: Arc<identity::epoch_reader::EpochReader>,
    /// Activity stamps waiting for the next batched write.
    pub activity: Arc<identity::activity::Activity>,
    /// Members pages read under the current credentials epoch.
    pub member_pages: Arc<tenancy::members::Pages>,
    /// Each org's flags, compiled (one cache per instance).
    pub flags: Arc<flags::snapshots::Snapshots>,
    /// The public status page, rendered (one per instance).
    pub status: Arc<status::published::Cache>,
    /// Where evidence files' bytes are kept.
    pub blobs: Arc<dyn compliance::blobs::BlobStore>,
    write_lock: store::write::WriteLock,
}

impl AppState {
    pub fn new(db: DatabaseConnection, key: crypto::ServerKey, config: CoreConfig) -> Self {
        Self {
            write_lock: store::write::WriteLock::for_db(&db),
            epoch: Arc::new(identity::epoch_reader::EpochReader::for_db(&db)),
            db,
            key,
            providers: Arc::new(identity::sso::Providers::new(config.sso_allow_private_issuers)),
            blobs: Arc::new(compliance::blobs::LocalBlobs::new(config.blob_dir.clone())),
            config: Arc::new(config),
            decisions: Arc::default(),
            verified: Arc::default(),
            member_pages: Arc::new(tenancy::members::Pages::new(tenancy::members::PAGES_CAPACITY)),
            activity: Arc::default(),
            flags: Arc::default(),
            status: Arc::default(),
        }
    }

    /// Tells `observer()`'s observers of every statement run on the state's
    /// connections (set once, before the state is shared).
    pub fn observe_statements<F>(&mut self, observer: impl Fn() -> F)
    where
        F: Fn(&sea_orm::metric::Info<'_>) + Send + Sync + 'static,
    {
        self.db.set_metric_callback(observer());
        self.write_lock.observe(observer());
        self.epoch.observe(observer());
    }

    /// Closes the state's connections (at the end of serving or of a command).
    pub async fn close(self) -> Result<(), sea_orm::DbErr> {
        self.write_lock.close().await?;
        self.db.close().await
    }

    /// Begins a transaction that writes (see [`store::write`]).
    pub async fn begin(&self) -> AppResult<store::write::WriteTxn> {
        Ok(self.write_lock.begin(&self.db).await?)
    }
}
