//! Where a webhook may send: `https` to public addresses only, unless the server is told
//! otherwise (`DIGIHJELPEN_WEBHOOK_ALLOW_PRIVATE=true`, for tests and closed networks).
//!
//! The address is checked where the connection is made, by the resolver the delivery
//! client uses, so a name that resolves to a public address when the subscription is made
//! and to a private one later is refused then too.

use std::future::Future;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::pin::Pin;
use std::task::{Context, Poll};

use hyper_util::client::legacy::connect::dns::Name;
use url::Url;

/// Whether a target may be on loopback, link-local or private networks (and over `http`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TargetPolicy {
    pub allow_private: bool,
}

impl TargetPolicy {
    /// `https`, and `http` where private targets are allowed.
    pub fn allows_scheme(&self, scheme: &str) -> bool {
        scheme == "https" || (self.allow_private && scheme == "http")
    }

    /// Why `url` is not a target this server sends to, as the 422 message for `url`.
    pub async fn refusal(&self, url: &str) -> Option<String> {
        let parsed = match Url::parse(url) {
            Ok(parsed) => parsed,
            Err(err) => return Some(format!("is not a URL ({err})")),
        };
        if !self.allows_scheme(parsed.scheme()) {
            return Some("must be an https URL".into());
        }
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Some("must not hold a user name or password".into());
        }
        let Some(host) = parsed.host_str() else {
            return Some("must name a host".into());
        };
        if self.allow_private {
            return None;
        }
        let port = parsed.port_or_known_default().unwrap_or(443);
        let host = host.trim_start_matches('[').trim_end_matches(']');
        // A name that does not resolve now (or not within two seconds) is taken: its
        // deliveries fail and are retried, and the resolver checks it again then.
        let lookup = tokio::net::lookup_host((host, port));
        let addresses: Vec<SocketAddr> =
            match tokio::time::timeout(std::time::Duration::from_secs(2), lookup).await {
                Ok(Ok(found)) => found.collect(),
                _ => return None,
            };
        addresses
            .iter()
            .find(|a| !is_public(a.ip()))
            .map(|a| format!("resolves to {}, which is not a public address", a.ip()))
    }
}

/// Whether `ip` is on the public internet: not loopback, private, link-local, shared
/// (carrier NAT), documentation, multicast, broadcast or unspecified.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public_v4(v4);
            }
            let segments = v6.segments();
            if segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
                // NAT64: the IPv4 address it stands for decides.
                let [.., a, b, c, d] = v6.octets();
                return is_public_v4(Ipv4Addr::new(a, b, c, d));
            }
            let first = segments[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00 // unique local
                || (first & 0xffc0) == 0xfe80 // link-local
                || (first == 0x2001 && segments[1] == 0x0db8)) // documentation
        }
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    !(ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // shared address space (carrier NAT)
        || (a == 192 && b == 0 && ip.octets()[2] == 0) // IETF protocol assignments
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || a >= 240)
}

/// The delivery client's resolver: the addresses of a name, less those that are not public
/// (unless allowed); none left is an error, so no connection is made.
#[derive(Debug, Clone, Copy)]
pub struct CheckedResolver(pub TargetPolicy);

impl tower_service::Service<Name> for CheckedResolver {
    type Response = std::vec::IntoIter<SocketAddr>;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<Self::Response>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, name: Name) -> Self::Future {
        let policy = self.0;
        Box::pin(async move {
            let found: Vec<SocketAddr> = tokio::net::lookup_host((name.as_str(), 0))
                .await?
                .filter(|a| policy.allow_private || is_public(a.ip()))
                .collect();
            if found.is_empty() {
                return Err(io::Error::new(
                    io::ErrorKind::PermissionDenied,
                    format!("{name} has no public address"),
                ));
            }
            Ok(found.into_iter())
        })
    }
}

/// Whether the host of `url`, when it is an address written out, may be sent to (the
/// resolver is not asked for those).
pub fn literal_host_allowed(url: &Url, policy: TargetPolicy) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => policy.allow_private || is_public(ip.into()),
        Some(url::Host::Ipv6(ip)) => policy.allow_private || is_public(ip.into()),
        Some(url::Host::Domain(_)) | None => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_and_special_addresses_are_not_public() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a00:1",
        ] {
            assert!(!is_public(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["193.69.0.1", "8.8.8.8", "2a01:79c::1", "64:ff9b::808:808"] {
            assert!(is_public(ip.parse().unwrap()), "{ip}");
        }
    }

    #[tokio::test]
    async fn targets_must_be_https_and_public_unless_allowed() {
        let strict = TargetPolicy::default();
        for url in [
            "http://hooks.example.no/x",
            "ftp://hooks.example.no/x",
            "https://127.0.0.1/x",
            "https://[::1]:8443/x",
            "https://10.0.0.5/x",
            "https://169.254.169.254/latest/meta-data",
            "https://localhost/x",
            "https://user:pw@hooks.example.no/x",
            "not a url",
        ] {
            assert!(strict.refusal(url).await.is_some(), "{url}");
        }
        let open = TargetPolicy {
            allow_private: true,
        };
        assert_eq!(open.refusal("http://127.0.0.1:9000/hook").await, None);
        assert!(open.refusal("ftp://127.0.0.1/x").await.is_some());
    }
}
