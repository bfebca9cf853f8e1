//! SSRF guard: deliveries may only reach global addresses unless the operator allows more.
//! The check runs on resolved addresses inside the HTTP client's resolver, so the address that is
//! connected to is the one that was checked (no DNS-rebinding window).

use ipnet::IpNet;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

#[derive(Debug, Clone, Default)]
pub struct SsrfGuard {
    /// `--allow-private`: every address is allowed (the demo and tests deliver to loopback).
    pub allow_private: bool,
    /// Networks allowed even though they are not global (config `allow_networks`).
    pub allowlist: Vec<IpNet>,
}

/// A refused address, recognisable in the client's error chain.
#[derive(Debug)]
pub struct Blocked(pub String);

impl std::fmt::Display for Blocked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for Blocked {}

/// A name that did not resolve, recognisable in the client's error chain.
#[derive(Debug)]
pub struct DnsFailure(pub String);

impl std::fmt::Display for DnsFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for DnsFailure {}

impl SsrfGuard {
    pub fn check(&self, ip: IpAddr) -> Result<(), Blocked> {
        if self.allow_private || is_global(ip) || self.allowlist.iter().any(|net| net.contains(&ip)) {
            return Ok(());
        }
        Err(Blocked(format!(
            "refused by the SSRF guard: {ip} is not a public address (start with --allow-private or add it to allow_networks in the config)"
        )))
    }

    /// Checks `url`'s host when it is an address literal, so a target that could never be reached
    /// is refused when it is set rather than spending its retries. A name is checked when it
    /// resolves, at every delivery (what it resolves to may change).
    pub fn check_literal(&self, url: &str) -> Result<(), Blocked> {
        url::Url::parse(url).map_or(Ok(()), |url| self.check_parsed(&url))
    }

    /// `check_literal` for a URL already parsed (IP literals never reach the resolver). A name
    /// without a dot (`localhost`, `crm`) can only name a machine of this host's own network, so
    /// it is a target only when the guard lets more than public addresses through.
    pub fn check_parsed(&self, url: &url::Url) -> Result<(), Blocked> {
        match url.host() {
            Some(url::Host::Ipv4(ip)) => self.check(IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => self.check(IpAddr::V6(ip)),
            Some(url::Host::Domain(name)) if !name.trim_end_matches('.').contains('.') && !self.opens_private() => {
                Err(Blocked(format!(
                    "refused by the SSRF guard: {name:?} has no dot, so it names a machine of a private network; \
                     write its full name (e.g. crm.example.com), or start with --allow-private or add its network \
                     to allow_networks in the config"
                )))
            }
            _ => Ok(()),
        }
    }

    /// Whether anything but public addresses may be reached.
    fn opens_private(&self) -> bool {
        self.allow_private || !self.allowlist.is_empty()
    }

    pub fn resolver(self: &Arc<Self>) -> Arc<GuardedResolver> {
        Arc::new(GuardedResolver { guard: self.clone() })
    }
}

pub struct GuardedResolver {
    guard: Arc<SsrfGuard>,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let guard = self.guard.clone();
        Box::pin(async move {
            let host = name.as_str().to_string();
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await
                .map_err(|e| -> Box<dyn std::error::Error + Send + Sync> {
                    Box::new(DnsFailure(format!("{host} did not resolve: {e}")))
                })?
                .collect();
            let mut refused = None;
            let allowed: Vec<SocketAddr> = addrs
                .into_iter()
                .filter(|a| match guard.check(a.ip()) {
                    Ok(()) => true,
                    Err(e) => {
                        refused = Some(e);
                        false
                    }
                })
                .collect();
            match (allowed.is_empty(), refused) {
                (true, Some(e)) => Err(Box::new(Blocked(format!("{host}: {}", e.0))) as _),
                (true, None) => Err(Box::new(DnsFailure(format!("{host} resolved to no address"))) as _),
                _ => Ok(Box::new(allowed.into_iter()) as Addrs),
            }
        })
    }
}

/// Whether an address is publicly routable (std's `is_global` is not stable yet).
pub fn is_global(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_global_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_global_v4(v4),
            None => is_global_v6(v6),
        },
    }
}

fn is_global_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_documentation()
        || ip.is_multicast()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // shared address space (CGNAT)
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || a >= 240) // reserved
}

fn is_global_v6(ip: Ipv6Addr) -> bool {
    let seg = ip.segments();
    !(seg[..6] == [0; 6] // ::/96: unspecified, loopback and IPv4-compatible (::127.0.0.2)
        || seg[..5] == [0, 0, 0, 0, 0xffff] // IPv4-mapped (also checked as IPv4 above)
        || seg[..6] == [0, 0, 0, 0, 0xffff, 0] // IPv4-translated, ::ffff:0:a.b.c.d
        || ip.is_multicast()
        || seg[..4] == [0x100, 0, 0, 0] // discard-only
        || (seg[0] & 0xfe00) == 0xfc00 // unique local
        || (seg[0] & 0xffc0) == 0xfe80 // link local
        || (seg[0] & 0xffc0) == 0xfec0 // site local (deprecated, still routed by some)
        || (seg[0] == 0x2001 && seg[1] < 0x200) // IETF protocol assignments, Teredo among them
        || (seg[0] == 0x2001 && seg[1] == 0x0db8) // documentation
        || (seg[0] == 0x64 && seg[1] == 0xff9b) // NAT64 can reach private v4
        || seg[0] == 0x2002) // 6to4 can embed private v4
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_and_special_addresses_are_refused() {
        let guard = SsrfGuard::default();
        for ip in [
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
            "::",
            "::127.0.0.2",
            "::10.0.0.1",
            "::8.8.8.8",
            "::ffff:0:7f00:1",
            "64:ff9b::7f00:1",
            "64:ff9b:1::a00:1",
            "2001::1",
            "2001:0:4136:e378:8000:63bf:3fff:fdd2",
            "2002:7f00:1::1",
            "100::1",
            "fec0::1",
        ] {
            assert!(guard.check(ip.parse().unwrap()).is_err(), "{ip} must be refused");
        }
        for ip in ["93.184.216.34", "1.1.1.1", "2606:4700:4700::1111"] {
            assert!(guard.check(ip.parse().unwrap()).is_ok(), "{ip} must be allowed");
        }
    }

    #[test]
    fn allow_private_and_allowlist_open_the_guard() {
        let open = SsrfGuard { allow_private: true, allowlist: vec![] };
        assert!(open.check("127.0.0.1".parse().unwrap()).is_ok());
        let listed = SsrfGuard { allow_private: false, allowlist: vec!["10.0.0.0/8".parse().unwrap()] };
        assert!(listed.check("10.9.9.9".parse().unwrap()).is_ok());
        assert!(listed.check("192.168.0.1".parse().unwrap()).is_err());
    }

    #[test]
    fn a_name_without_a_dot_is_a_target_only_when_private_networks_are() {
        for url in ["http://localhost:8080/h", "https://crm/h", "https://crm./h"] {
            let said = SsrfGuard::default().check_literal(url).unwrap_err().0;
            assert!(said.contains("full name") && said.contains("allow_networks"), "{url}: {said}");
            assert!(SsrfGuard { allow_private: true, allowlist: vec![] }.check_literal(url).is_ok(), "{url}");
            let listed = SsrfGuard { allow_private: false, allowlist: vec!["10.0.0.0/8".parse().unwrap()] };
            assert!(listed.check_literal(url).is_ok(), "{url}: checked where it resolves");
        }
        assert!(SsrfGuard::default().check_literal("https://crm.example.com/h").is_ok());
    }
}
