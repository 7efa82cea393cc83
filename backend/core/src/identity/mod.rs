//! Users, passwords, sign-in with lockout, and server-side sessions.

pub mod login;
pub mod passwords;
pub mod sessions;
pub mod totp;
pub mod users;
