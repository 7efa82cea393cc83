//! Who is acting: every service call takes an `Actor`.

use attest_shared::permissions::PermissionSet;
use uuid::Uuid;

use crate::{identity::verified::Epoch, store::entities::users};

/// How the actor proved who they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// A browser session (cookie); unsafe requests also passed the CSRF check.
    /// A session opened through an org's IdP remembers its issuer: it reaches
    /// only the orgs that sign in with that IdP (see [`crate::authz::scope`]).
    Session {
        session_id: Uuid,
        idp_issuer: Option<String>,
    },
    /// An org API key, acting for its creator within its org and permissions.
    ApiKey(KeyGrant),
}

/// What an API key may do in this request, in its org only: the permissions it
/// was given that its creator still holds there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyGrant {
    pub key_id: Uuid,
    pub org_id: Uuid,
    pub name: String,
    pub permissions: PermissionSet,
}

/// Where a request came from, as sessions and the audit trail record it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Origin {
    pub request_id: Option<String>,
    pub ip: Option<String>,
    /// At most [`Origin::MAX_USER_AGENT`] bytes.
    pub user_agent: Option<String>,
}

impl Origin {
    /// A client can send any user agent; what is stored of it is bounded.
    pub const MAX_USER_AGENT: usize = 512;

    pub fn new(request_id: Option<String>, ip: Option<String>, user_agent: Option<&str>) -> Origin {
        Origin {
            request_id,
            ip,
            user_agent: user_agent.map(|ua| truncate(ua, Origin::MAX_USER_AGENT)),
        }
    }
}

fn truncate(s: &str, max: usize) -> String {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_owned()
}

/// An authenticated user acting through some credential. For an API key,
/// `user` is the key's creator: the key never does more than they may.
#[derive(Debug, Clone)]
pub struct Actor {
    pub user: users::Model,
    pub credential: Credential,
    pub origin: Origin,
    /// The credentials epoch the credential was verified under, for a request:
    /// what else of that request may come from memory. `None` (the CLI, jobs):
    /// everything is read from the database.
    pub epoch: Option<Epoch>,
}

impl Actor {
    pub fn user_id(&self) -> Uuid {
        self.user.id
    }

    /// Operators act as operators only in person, signed in with their own
    /// password: their API keys are org keys, and no org's IdP confers
    /// platform powers.
    pub fn is_operator(&self) -> bool {
        self.user.is_operator && matches!(self.credential, Credential::Session { idp_issuer: None, .. })
    }

    pub fn session_id(&self) -> Option<Uuid> {
        match self.credential {
            Credential::Session { session_id, .. } => Some(session_id),
            Credential::ApiKey(_) => None,
        }
    }

    /// The IdP that opened this session, when an org's SSO did.
    pub fn idp_issuer(&self) -> Option<&str> {
        match &self.credential {
            Credential::Session { idp_issuer, .. } => idp_issuer.as_deref(),
            Credential::ApiKey(_) => None,
        }
    }

    /// The API key acting, if it is one.
    pub fn key(&self) -> Option<&KeyGrant> {
        match &self.credential {
            Credential::ApiKey(grant) => Some(grant),
            Credential::Session { .. } => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_user_agent_is_cut_at_a_character_boundary() {
        assert_eq!(truncate("héllo", 2), "h");
        assert_eq!(truncate("abc", 10), "abc");
        let long = "é".repeat(400);
        let origin = Origin::new(None, None, Some(&long));
        assert_eq!(origin.user_agent.unwrap().len(), Origin::MAX_USER_AGENT);
    }
}
