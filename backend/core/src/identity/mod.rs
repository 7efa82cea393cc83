//! Users, passwords (change and reset), sign-in with lockout, org SSO,
//! server-side sessions and org API keys.

pub mod activity;
pub mod api_keys;
pub mod epoch_cache;
pub mod epoch_reader;
pub mod login;
pub mod password_change;
pub mod password_reset;
pub mod passwords;
pub mod sessions;
pub mod sso;
pub mod totp;
pub mod users;
pub mod verified;
