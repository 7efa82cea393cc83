//! Who is acting: every service call takes an `Actor`.

use uuid::Uuid;

use crate::store::entities::users;

/// How the actor proved who they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// A browser session (cookie); unsafe requests also passed the CSRF check.
    Session { session_id: Uuid },
}

/// Where a request came from, as the audit trail records it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Origin {
    pub request_id: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

/// An authenticated user acting through some credential.
#[derive(Debug, Clone)]
pub struct Actor {
    pub user: users::Model,
    pub credential: Credential,
    pub origin: Origin,
}

impl Actor {
    pub fn user_id(&self) -> Uuid {
        self.user.id
    }

    pub fn is_operator(&self) -> bool {
        self.user.is_operator
    }

    pub fn session_id(&self) -> Option<Uuid> {
        match self.credential {
            Credential::Session { session_id } => Some(session_id),
        }
    }
}
