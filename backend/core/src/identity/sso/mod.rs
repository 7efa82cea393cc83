//! Organization SSO over OpenID Connect: per-org provider settings, the
//! sign-in flow, proof of domain ownership, provisioning, linking an identity
//! to an existing account, and back-channel logout. See docs/sso.md.

pub mod backchannel;
pub mod dns;
pub mod domains;
pub mod http;
pub mod linking;
pub mod providers;
pub mod provisioning;
pub mod settings;
pub mod signin;

pub use providers::Providers;

use crate::{audit::Reason, AppError};

/// What a trip to the IdP is for: signing in, or linking an identity to the
/// signed-in account (see [`linking`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    SignIn,
    Link,
}

/// Why an SSO flow did not finish: refused for a reason the user is told (and
/// the org's audit trail records), or failed.
#[derive(Debug)]
pub enum SsoFailure {
    Refused { reason: Reason, purpose: Purpose },
    Error(AppError),
}

impl From<AppError> for SsoFailure {
    fn from(error: AppError) -> Self {
        SsoFailure::Error(error)
    }
}
