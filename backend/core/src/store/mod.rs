//! Storage: connecting to SQLite or PostgreSQL, migrations, and readiness.
//!
//! Entities and repositories for each domain area live beside this module as the
//! features that need them arrive.

mod connect;
pub mod entities;
pub mod migrations;
pub mod page;
pub mod readiness;
pub mod write;

pub use connect::{connect, Backend, StoreConfig};

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
