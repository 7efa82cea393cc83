//! Attest's domain layer.
//!
//! Services, authorization, audit, tenancy and storage live here, behind plain Rust
//! types: nothing in this crate knows about HTTP, so every entry point (REST, the
//! console's server functions, the CLI, background jobs) runs the same checks.

pub mod error;
pub mod store;

pub use error::{AppError, AppResult, ErrorKind};

use sea_orm::DatabaseConnection;

/// What every service needs, shared by all requests of one process.
#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
}

impl AppState {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }
}
