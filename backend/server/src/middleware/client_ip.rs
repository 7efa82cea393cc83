//! The client's IP address: the peer, unless the peer is a trusted proxy
//! (`ATTEST_TRUSTED_PROXIES`), in which case the right-most `X-Forwarded-For`
//! entry that is not itself a trusted proxy. A client can therefore never choose
//! its own address by sending the header.

use std::net::IpAddr;

use actix_web::{web, HttpRequest};
use ipnet::IpNet;

/// The configured trusted proxy networks.
#[derive(Clone, Debug, Default)]
pub struct TrustedProxies(pub Vec<IpNet>);

impl TrustedProxies {
    fn trusts(&self, ip: &IpAddr) -> bool {
        self.0.iter().any(|net| net.contains(ip))
    }
}

pub fn client_ip(req: &HttpRequest) -> Option<IpAddr> {
    let peer = req.peer_addr()?.ip();
    let trusted = req.app_data::<web::Data<TrustedProxies>>()?;
    if !trusted.trusts(&peer) {
        return Some(peer);
    }
    let forwarded: Vec<IpAddr> = req
        .headers()
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|part| part.trim().parse().ok())
        .collect();
    Some(
        forwarded
            .into_iter()
            .rev()
            .find(|ip| !trusted.trusts(ip))
            .unwrap_or(peer),
    )
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;

    use super::*;

    fn request(peer: &str, xff: Option<&str>, trusted: &[&str]) -> HttpRequest {
        let mut req = TestRequest::default()
            .peer_addr(format!("{peer}:4000").parse().unwrap())
            .app_data(web::Data::new(TrustedProxies(
                trusted.iter().map(|n| n.parse().unwrap()).collect(),
            )));
        if let Some(xff) = xff {
            req = req.insert_header(("x-forwarded-for", xff));
        }
        req.to_http_request()
    }

    #[test]
    fn an_untrusted_peer_cannot_spoof_its_address() {
        let req = request("203.0.113.9", Some("1.2.3.4"), &[]);
        assert_eq!(client_ip(&req), Some("203.0.113.9".parse().unwrap()));
    }

    #[test]
    fn a_trusted_proxy_forwards_the_nearest_untrusted_address() {
        let req = request(
            "10.0.0.2",
            Some("1.2.3.4, 198.51.100.7, 10.0.0.1"),
            &["10.0.0.0/8"],
        );
        assert_eq!(client_ip(&req), Some("198.51.100.7".parse().unwrap()));
    }
}
