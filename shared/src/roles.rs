//! The built-in roles of CONTRACT.md. Their permissions arrive with authorization ([F3]).

pub const OWNER: &str = "owner";
pub const ADMIN: &str = "admin";
pub const COMPLIANCE_MANAGER: &str = "compliance_manager";
pub const CONTRIBUTOR: &str = "contributor";
pub const AUDITOR: &str = "auditor";

pub const BUILTIN: [&str; 5] = [OWNER, ADMIN, COMPLIANCE_MANAGER, CONTRIBUTOR, AUDITOR];
