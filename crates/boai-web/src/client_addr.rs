//! Which address a request comes from. Directly connected clients are their
//! TCP peer. Behind a reverse proxy every request's peer is the proxy, so
//! per-client limits would lump everyone together; the proxy's
//! `X-Forwarded-For` names the client, but anyone can send that header.
//! So it is believed only from a configured proxy (`trusted_proxies`,
//! default none): walking the header from its right end (the entry the
//! trusted proxy appended), the first address that is not itself a trusted
//! proxy is the client. A malformed header falls back to the peer.

use axum::http::HeaderMap;
use std::net::IpAddr;

/// The client's address as decided by the server for one request (set on
/// every request; [`crate::auth::client_ip`] reads it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

/// Addresses or networks (`10.0.0.1`, `10.0.0.0/8`, `::1`, `fd00::/8`)
/// whose `X-Forwarded-For` is believed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<(IpAddr, u8)>);

impl TrustedProxies {
    /// Parses the setting; says which entry is wrong.
    pub fn parse<S: AsRef<str>>(entries: &[S]) -> Result<TrustedProxies, String> {
        let mut nets = Vec::new();
        for entry in entries {
            let entry = entry.as_ref().trim();
            let (addr, bits) = match entry.split_once('/') {
                Some((a, b)) => (a, Some(b)),
                None => (entry, None),
            };
            let ip: IpAddr = addr
                .parse()
                .map_err(|_| format!("trusted_proxies: {entry:?} is not an address or network"))?;
            let max = if ip.is_ipv4() { 32 } else { 128 };
            let bits = match bits {
                None => max,
                Some(b) => b
                    .parse::<u8>()
                    .ok()
                    .filter(|b| *b <= max)
                    .ok_or_else(|| format!("trusted_proxies: {entry:?} has a bad prefix length"))?,
            };
            nets.push((ip, bits));
        }
        Ok(TrustedProxies(nets))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `ip` is one of the trusted proxies.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.0.iter().any(|(net, bits)| in_network(ip, canonical(*net), *bits))
    }

    /// The client of a request that came from `peer` with `headers`.
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        if !self.contains(peer) {
            return peer;
        }
        let mut hops = Vec::new();
        for value in headers.get_all("x-forwarded-for") {
            let Ok(value) = value.to_str() else {
                return peer;
            };
            for hop in value.split(',') {
                match parse_hop(hop) {
                    Some(ip) => hops.push(ip),
                    None => return peer,
                }
            }
        }
        let mut client = peer;
        for hop in hops.into_iter().rev() {
            client = hop;
            if !self.contains(hop) {
                break;
            }
        }
        client
    }
}

/// One `X-Forwarded-For` entry: an address, maybe with a port
/// (`1.2.3.4:5678`, `[::1]:80`).
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    if let Ok(ip) = hop.parse() {
        return Some(ip);
    }
    if let Some(rest) = hop.strip_prefix('[') {
        return rest.split_once(']')?.0.parse().ok();
    }
    hop.rsplit_once(':')?
        .0
        .parse::<std::net::Ipv4Addr>()
        .ok()
        .map(IpAddr::V4)
}

/// IPv4-mapped IPv6 addresses as IPv4.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    }
}

fn in_network(ip: IpAddr, net: IpAddr, bits: u8) -> bool {
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(bits)).unwrap_or(0);
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(bits)).unwrap_or(0);
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(xff: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in xff {
            if let Ok(v) = v.parse() {
                h.append("x-forwarded-for", v);
            }
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap_or(IpAddr::from([0, 0, 0, 0]))
    }

    #[test]
    fn forwarded_for_is_believed_only_from_a_trusted_proxy() {
        let none = TrustedProxies::default();
        assert_eq!(none.client(ip("10.0.0.1"), &headers(&["1.2.3.4"])), ip("10.0.0.1"));
        let proxies = TrustedProxies::parse(&["10.0.0.0/8", "::1"]).unwrap_or_default();
        assert!(proxies.contains(ip("10.1.2.3")) && proxies.contains(ip("::1")));
        assert!(!proxies.contains(ip("11.0.0.1")));
        // From the proxy: the rightmost untrusted hop.
        assert_eq!(proxies.client(ip("10.0.0.1"), &headers(&["1.2.3.4"])), ip("1.2.3.4"));
        assert_eq!(
            proxies.client(ip("10.0.0.1"), &headers(&["6.6.6.6, 1.2.3.4, 10.0.0.2"])),
            ip("1.2.3.4")
        );
        assert_eq!(
            proxies.client(ip("10.0.0.1"), &headers(&["6.6.6.6", "1.2.3.4:555"])),
            ip("1.2.3.4")
        );
        // No header or a bad one: the peer.
        assert_eq!(proxies.client(ip("10.0.0.1"), &headers(&[])), ip("10.0.0.1"));
        assert_eq!(
            proxies.client(ip("10.0.0.1"), &headers(&["1.2.3.4, junk"])),
            ip("10.0.0.1")
        );
        // Not from the proxy: the header is ignored.
        assert_eq!(proxies.client(ip("8.8.8.8"), &headers(&["1.2.3.4"])), ip("8.8.8.8"));
        assert_eq!(
            proxies.client(ip("::ffff:10.0.0.1"), &headers(&["1.2.3.4"])),
            ip("1.2.3.4")
        );
        assert!(TrustedProxies::parse(&["10.0.0.0/33"]).is_err());
        assert!(TrustedProxies::parse(&["proxy.example"]).is_err());
    }
}
