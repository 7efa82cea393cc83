//! The `attest` server: configuration, start-up, middleware, routes and the
//! console it hosts. The domain lives in `attest-core`; this crate only adapts
//! HTTP to it.

pub mod config;
pub mod console;
pub mod extract;
pub mod middleware;
pub mod openapi;
pub mod problem;
pub mod routes;
pub mod secret_key;
pub mod startup;
pub mod telemetry;
pub mod views;

pub use startup::Application;
