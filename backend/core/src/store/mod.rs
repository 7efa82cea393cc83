//! Storage: connecting to SQLite or PostgreSQL, migrations, and readiness.
//!
//! Entities and repositories for each domain area live beside this module as the
//! features that need them arrive.

mod connect;
pub mod entities;
mod group_commit;
pub mod migrations;
pub mod page;
pub mod readiness;
pub mod write;

pub use connect::{connect, sqlite_file, Backend, StoreConfig};

/// A stored enum name back to its value: a name no variant has is a corrupt row.
pub fn decode_name<T>(text: &str, parse: fn(&str) -> Option<T>) -> crate::AppResult<T> {
    parse(text).ok_or_else(|| crate::AppError::internal(format!("unknown stored name {text:?}")))
}

/// Pool occupancy for metrics: (open connections, idle connections, limit).
pub fn pool_stats(db: &sea_orm::DatabaseConnection) -> (u32, u32, u32) {
    fn of<DB: sea_orm::sqlx::Database>(pool: &sea_orm::sqlx::Pool<DB>) -> (u32, u32, u32) {
        let idle = u32::try_from(pool.num_idle()).unwrap_or(u32::MAX);
        (pool.size(), idle, pool.options().get_max_connections())
    }
    match Backend::of_db(db) {
        Backend::Sqlite => of(db.get_sqlite_connection_pool()),
        Backend::Postgres => of(db.get_postgres_connection_pool()),
    }
}
