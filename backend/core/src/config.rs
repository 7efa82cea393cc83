//! The part of the configuration the domain needs (the server owns parsing).

use std::time::Duration;

#[derive(Debug, Clone)]
pub struct CoreConfig {
    /// A session unused this long is over.
    pub session_idle: Duration,
    /// A session is over this long after sign-in, however active.
    pub session_max: Duration,
    /// Failed sign-ins within `login_lockout` that lock an account.
    pub login_max_failures: u32,
    /// How long a locked account stays locked (and the failure-counting window).
    pub login_lockout: Duration,
    /// The console's address, for links in mail and the SSO redirect URI (no trailing slash).
    pub public_url: String,
    /// Development only: SSO issuers may be `http://` and on loopback or
    /// private addresses (a test IdP on this machine). Production refuses both.
    pub sso_allow_private_issuers: bool,
    /// The DNS server SSO domain verification asks (`ATTEST_DNS_RESOLVER`);
    /// `None` is the system resolver.
    pub dns_resolver: Option<std::net::SocketAddr>,
    /// Where evidence files are stored (`<data_dir>/blobs`).
    pub blob_dir: std::path::PathBuf,
    /// Where org exports are written until they expire (`<data_dir>/exports`).
    pub export_dir: std::path::PathBuf,
}

impl Default for CoreConfig {
    fn default() -> Self {
        Self {
            session_idle: Duration::from_secs(3600),
            session_max: Duration::from_secs(43_200),
            login_max_failures: 5,
            login_lockout: Duration::from_secs(900),
            public_url: "http://127.0.0.1:8080".into(),
            sso_allow_private_issuers: true,
            dns_resolver: None,
            blob_dir: "data/blobs".into(),
            export_dir: "data/exports".into(),
        }
    }
}
