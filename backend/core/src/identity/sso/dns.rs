//! TXT lookups for proving domain ownership: through the system resolver, or
//! the server `ATTEST_DNS_RESOLVER` names. Every lookup builds its own resolver,
//! so no answer is cached between checks: a record just published, or just
//! removed, counts at once. Timeouts are short and the whole lookup bounded.

use std::{net::SocketAddr, time::Duration};

use hickory_resolver::{
    config::{NameServerConfig, ResolverConfig, ResolverOpts},
    net::runtime::TokioRuntimeProvider,
    proto::rr::RData,
    Resolver,
};

/// One query's wait for an answer.
const QUERY_TIMEOUT: Duration = Duration::from_secs(3);
/// The whole lookup, retries and TCP fallback included.
const LOOKUP_TIMEOUT: Duration = Duration::from_secs(8);

/// What a lookup found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TxtAnswer {
    /// The name has these TXT records (each one's strings joined, as RFC 7208 reads them).
    Records(Vec<String>),
    /// The name does not exist, or has no TXT record.
    None,
    /// No answer: the resolver failed or timed out (say nothing about the record).
    Failed(String),
}

/// The TXT records at `name` (a fully qualified name, without the final dot).
pub async fn txt(server: Option<SocketAddr>, name: &str) -> TxtAnswer {
    match tokio::time::timeout(LOOKUP_TIMEOUT, lookup(server, name)).await {
        Ok(answer) => answer,
        Err(_) => TxtAnswer::Failed("the DNS lookup timed out".into()),
    }
}

async fn lookup(server: Option<SocketAddr>, name: &str) -> TxtAnswer {
    let builder = match server {
        Some(server) => {
            let mut name_server = NameServerConfig::udp_and_tcp(server.ip());
            for connection in &mut name_server.connections {
                connection.port = server.port();
            }
            Resolver::builder_with_config(
                ResolverConfig::from_name_servers(vec![name_server]),
                TokioRuntimeProvider::default(),
            )
        }
        None => match Resolver::builder_tokio() {
            Ok(builder) => builder,
            Err(e) => return TxtAnswer::Failed(format!("the system resolver is not usable: {e}")),
        },
    };
    let mut options = ResolverOpts::default();
    options.timeout = QUERY_TIMEOUT;
    options.attempts = 1;
    options.cache_size = 0;
    let resolver = match builder.with_options(options).build() {
        Ok(resolver) => resolver,
        Err(e) => return TxtAnswer::Failed(format!("the resolver cannot start: {e}")),
    };
    // The final dot: never tried under the resolver's search domains.
    match resolver.txt_lookup(format!("{name}.")).await {
        Ok(found) => {
            let records: Vec<String> = found
                .answers()
                .iter()
                .filter_map(|record| match &record.data {
                    RData::TXT(txt) => Some(
                        txt.txt_data
                            .iter()
                            .map(|part| String::from_utf8_lossy(part))
                            .collect::<String>(),
                    ),
                    _ => None,
                })
                .collect();
            if records.is_empty() {
                TxtAnswer::None
            } else {
                TxtAnswer::Records(records)
            }
        }
        Err(e) if e.is_no_records_found() => TxtAnswer::None,
        Err(e) => TxtAnswer::Failed(format!("the DNS lookup failed: {e}")),
    }
}
