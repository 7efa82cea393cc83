//! Who is acting: every service call takes an `Actor`.

use uuid::Uuid;

use crate::store::entities::users;

/// How the actor proved who they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// A browser session (cookie); unsafe requests also passed the CSRF check.
    Session { session_id: Uuid },
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
