//! Organizations and the memberships that tie users to them.

pub mod invitations;
pub mod members;
pub mod orgs;
