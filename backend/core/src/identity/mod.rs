//! Users, passwords, sign-in with lockout, org SSO, and server-side sessions.

pub mod login;
pub mod passwords;
pub mod sessions;
pub mod sso;
pub mod totp;
pub mod users;
