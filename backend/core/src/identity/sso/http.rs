//! Outbound HTTP to identity providers. An org admin chooses the issuer URL,
//! so every request is bounded in time and size, follows no redirect, and, in
//! production, reaches only public addresses: an issuer cannot be pointed at
//! the metadata service or a database inside the network (SSRF). Names are
//! checked after resolution, so a DNS answer cannot smuggle a private address.

use std::{
    net::{IpAddr, SocketAddr},
    sync::Arc,
    time::Duration,
};

use openidconnect::{http, HttpRequest, HttpResponse};

/// The whole exchange, connection included.
const TIMEOUT: Duration = Duration::from_secs(10);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Discovery documents and key sets are a few KiB; token answers less.
const MAX_BODY: usize = 512 * 1024;

/// Why a request to an IdP failed: said plainly, never with the IdP's body.
#[derive(Debug)]
pub struct IdpHttpError(pub String);

impl std::fmt::Display for IdpHttpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for IdpHttpError {}

/// The HTTP client for IdPs.
#[derive(Clone)]
pub struct IdpHttp {
    client: reqwest::Client,
    allow_private: bool,
}

impl IdpHttp {
    /// `allow_private`: development only, where the IdP often runs on loopback.
    pub fn new(allow_private: bool) -> IdpHttp {
        let mut builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .timeout(TIMEOUT)
            .connect_timeout(CONNECT_TIMEOUT)
            .user_agent(concat!("attest/", env!("CARGO_PKG_VERSION")));
        if !allow_private {
            builder = builder.dns_resolver(Arc::new(PublicOnly));
        }
        let client = builder.build().unwrap_or_else(|error| {
            // Building fails only when TLS cannot initialise; requests then fail one by one.
            tracing::error!(%error, "the IdP HTTP client could not be built");
            reqwest::Client::new()
        });
        IdpHttp {
            client,
            allow_private,
        }
    }

    /// Sends one request (openidconnect's HTTP interface).
    pub async fn execute(&self, request: HttpRequest) -> Result<HttpResponse, IdpHttpError> {
        let request = reqwest::Request::try_from(request).map_err(|e| IdpHttpError(e.to_string()))?;
        self.check_target(request.url())?;
        let mut response = self
            .client
            .execute(request)
            .await
            .map_err(|e| IdpHttpError(describe(&e)))?;
        if response.status().is_redirection() {
            return Err(IdpHttpError(format!(
                "the identity provider answered {} (redirects are not followed)",
                response.status()
            )));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| IdpHttpError(describe(&e)))? {
            if body.len() + chunk.len() > MAX_BODY {
                return Err(IdpHttpError(format!(
                    "the identity provider's answer exceeds {} KiB",
                    MAX_BODY / 1024
                )));
            }
            body.extend_from_slice(&chunk);
        }
        let mut answer = http::Response::builder().status(response.status());
        for (name, value) in response.headers() {
            answer = answer.header(name, value);
        }
        answer.body(body).map_err(|e| IdpHttpError(e.to_string()))
    }

    /// The resolver guards names; a literal address never reaches it.
    fn check_target(&self, url: &url::Url) -> Result<(), IdpHttpError> {
        let literal = match url.host() {
            Some(url::Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
            _ => None,
        };
        match literal {
            Some(ip) if !self.allow_private && !is_public(ip) => Err(refused(ip)),
            _ => Ok(()),
        }
    }
}

/// `openidconnect` calls IdPs through a function; this is ours.
pub fn client(
    http: &IdpHttp,
) -> impl Fn(HttpRequest) -> futures_util::future::BoxFuture<'static, Result<HttpResponse, IdpHttpError>> + '_
{
    move |request| {
        let http = http.clone();
        Box::pin(async move { http.execute(request).await })
    }
}

fn refused(ip: IpAddr) -> IdpHttpError {
    IdpHttpError(format!(
        "{ip} is not a public address; in production Attest only contacts identity providers on the internet"
    ))
}

fn describe(error: &reqwest::Error) -> String {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(current) = cause {
        if let Some(refusal) = current.downcast_ref::<IdpHttpError>() {
            return refusal.0.clone();
        }
        cause = current.source();
    }
    if error.is_timeout() {
        "the identity provider did not answer in time".into()
    } else if error.is_connect() {
        "the identity provider could not be reached".into()
    } else {
        "the request to the identity provider failed".into()
    }
}

/// Whether an address is on the public internet: not loopback, private,
/// link-local, shared (CGNAT), unique-local, multicast or unspecified.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || a == 0
                || (a == 100 && (64..128).contains(&b)))
        }
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_public(IpAddr::V4(v4)),
            None => {
                let first = v6.segments()[0];
                !(v6.is_loopback()
                    || v6.is_unspecified()
                    || v6.is_multicast()
                    || (first & 0xfe00) == 0xfc00
                    || (first & 0xffc0) == 0xfe80)
            }
        },
    }
}

/// Resolves names and keeps public addresses only.
struct PublicOnly;

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        Box::pin(async move {
            let found: Vec<SocketAddr> = tokio::net::lookup_host((name.as_str(), 0)).await?.collect();
            let public: Vec<SocketAddr> = found.iter().copied().filter(|a| is_public(a.ip())).collect();
            match (public.is_empty(), found.first()) {
                (true, Some(first)) => {
                    Err(Box::new(refused(first.ip())) as Box<dyn std::error::Error + Send + Sync>)
                }
                _ => Ok(Box::new(public.into_iter()) as reqwest::dns::Addrs),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_internet_addresses_are_public() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
        ] {
            assert!(!is_public(private.parse().unwrap()), "{private}");
        }
        for public in ["8.8.8.8", "1.1.1.1", "2606:4700::1111", "::ffff:8.8.8.8"] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
    }

    #[tokio::test]
    async fn production_refuses_private_targets_before_connecting() {
        let http = IdpHttp::new(false);
        for url in [
            "http://127.0.0.1:9/x",
            "http://169.254.169.254/latest",
            "http://localhost:9/x",
        ] {
            let request = http::Request::get(url).body(Vec::new()).unwrap();
            let error = http.execute(request).await.unwrap_err();
            assert!(error.0.contains("not a public address"), "{url}: {}", error.0);
        }
    }
}
