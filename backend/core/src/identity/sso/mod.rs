//! Organization SSO over OpenID Connect: per-org provider settings, the
//! sign-in flow, provisioning, and back-channel logout. See docs/sso.md.

pub mod backchannel;
pub mod http;
pub mod providers;
pub mod provisioning;
pub mod settings;
pub mod signin;

pub use providers::Providers;

use crate::{audit::Reason, AppError};

/// Why an SSO sign-in did not happen: refused for a reason the user is told
/// (and the org's audit trail records), or failed.
#[derive(Debug)]
pub enum SsoFailure {
    Refused(Reason),
    Error(AppError),
}

impl From<AppError> for SsoFailure {
    fn from(error: AppError) -> Self {
        SsoFailure::Error(error)
    }
}
