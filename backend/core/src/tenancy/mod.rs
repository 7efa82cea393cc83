//! Organizations and the memberships that tie users to them.

pub mod orgs;
