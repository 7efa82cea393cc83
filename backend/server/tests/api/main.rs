//! API integration tests: one binary, a real server per test on a random port with
//! a fresh database. SQLite by default; PostgreSQL when `ATTEST_TEST_DATABASE_URL`
//! names a server (each test then gets its own freshly created database).

// Test code may fail loudly: a panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod admin;
mod api_keys;
mod audit;
mod audit_coverage;
mod auth;
mod authz_matrix;
mod backup;
mod cli;
mod compliance;
mod console;
mod cors;
mod credentials_epoch;
mod dns;
mod errors;
mod exports;
mod fake_idp;
mod flags;
mod health;
mod helpers;
mod idempotency;
mod idp;
mod invitations;
mod logs;
mod mail;
mod members;
mod metrics;
mod migrations;
mod ofrep;
mod openapi;
mod orgs;
mod pagination;
mod passwords;
mod privacy;
mod rate_limit;
mod request_id;
mod roles;
mod security_headers;
mod shutdown;
mod sso;
mod sso_accounts;
mod statements;
mod status_page;
mod totp;
mod world;
