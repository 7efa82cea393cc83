//! Types shared by the Attest server and its browser console.
//!
//! This crate compiles to `wasm32-unknown-unknown`: it holds data shapes and
//! names only, never I/O.

#[macro_use]
mod named;

pub mod api;
pub mod audit;
pub mod compliance;
pub mod error;
pub mod exports;
pub mod flags;
pub mod nullable;
pub mod permissions;
pub mod privacy;
pub mod request_id;
pub mod roles;
pub mod status;

pub use error::ErrorKind;
