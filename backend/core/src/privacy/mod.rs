//! A person's own data: what Attest holds about them, for them to take away
//! (`GET /api/v1/me/export`; docs/privacy.md).

pub mod export;
