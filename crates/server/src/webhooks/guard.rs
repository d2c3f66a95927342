//! What a webhook may reach (SSRF): checked when it is registered, and again at each
//! delivery against the address its host resolves to then, so a name that later resolves
//! to the cloud metadata service or to the loopback is refused; the connection is pinned to
//! the address checked, and redirects are never followed.
//!
//! - The URL is `http` or `https`, at most [`MAX_URL_LEN`] bytes, written plainly (no
//!   blanks, backslashes, `@` or credentials, no missing slash: a URL that a parser would
//!   have to repair is refused, not rewritten), to a host and port in the allow list. An
//!   entry is `host` (ports 80 and 443 only), `host:port`, or `host:*` (any port but 0,
//!   for a development receiver); IPv6 in brackets, `[::1]:9000`.
//! - Never: link-local (`169.254.0.0/16`, which holds the metadata service, and
//!   `fe80::/10`), unspecified, multicast or broadcast addresses.
//! - Loopback and private addresses only when the allow list names that very address (or
//!   `localhost`): an operator's own receiver, never a public name that resolves inward.

use super::{DeliveryError, WebhookConfig};
use crate::domain::InvalidInput;
use std::net::{IpAddr, SocketAddr};

/// Longest webhook URL accepted, in bytes.
pub const MAX_URL_LEN: usize = 2048;

/// Checks a URL for registration; the message says what is wrong.
pub fn check_url(config: &WebhookConfig, raw: &str) -> Result<url::Url, InvalidInput> {
    let refuse = |why: &str| InvalidInput::new(format!("url {why}"));
    if !config.enabled() {
        return Err(refuse(
            "cannot be registered: webhooks are off until the server is started with --webhook-allow-hosts",
        ));
    }
    if raw.len() > MAX_URL_LEN {
        return Err(refuse(&format!("must be at most {MAX_URL_LEN} bytes")));
    }
    if raw.chars().any(|c| c.is_whitespace() || c.is_control() || c == '\\') {
        return Err(refuse("must not contain blanks, control characters or backslashes"));
    }
    let lower = raw.get(..8).unwrap_or(raw).to_ascii_lowercase();
    if !(lower.starts_with("http://") || lower.starts_with("https://")) {
        return Err(refuse("must start with http:// or https://"));
    }
    let authority = raw.split_once("//").map_or("", |(_, rest)| rest);
    let authority = authority.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        return Err(refuse("must not carry credentials"));
    }
    let url = url::Url::parse(raw).map_err(|_| refuse("must be an absolute http or https URL"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(refuse("must be http or https"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(refuse("must not carry credentials"));
    }
    let host = url.host_str().ok_or_else(|| refuse("must name a host"))?;
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = bare.parse::<IpAddr>()
        && never(ip)
    {
        return Err(refuse("names an address webhooks may never reach"));
    }
    let port = url
        .port_or_known_default()
        .filter(|&p| p != 0)
        .ok_or_else(|| refuse("must not name port 0"))?;
    if allowed_entry(config, host, port).is_none() {
        return Err(refuse(
            "names a host and port that are not in --webhook-allow-hosts (a bare host allows ports 80 and 443)",
        ));
    }
    Ok(url)
}

/// The ports one allow-list entry opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ports {
    /// A bare host: the web's two, 80 and 443.
    Web,
    /// `host:port`.
    One(u16),
    /// `host:*`: any but 0.
    Any,
}

/// Splits an allow-list entry into its host (without brackets) and ports; `None` when it
/// is not one (such an entry allows nothing).
fn split_entry(entry: &str) -> Option<(&str, Ports)> {
    let port = |p: &str| match p {
        "*" => Some(Ports::Any),
        p => p.parse::<u16>().ok().filter(|&p| p != 0).map(Ports::One),
    };
    if let Some(rest) = entry.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        return match after {
            "" => Some((host, Ports::Web)),
            p => Some((host, port(p.strip_prefix(':')?)?)),
        };
    }
    match entry.matches(':').count() {
        0 => Some((entry, Ports::Web)),
        1 => entry.split_once(':').and_then(|(h, p)| Some((h, port(p)?))),
        _ => Some((entry, Ports::Web)), // a bare IPv6 address
    }
}

/// Refuses an allow-list entry that could never allow anything (`host:0`, `host:http`,
/// `[::1`, an empty host), so a typo stops the start instead of silently allowing nothing.
pub fn check_allow_entry(entry: &str) -> Result<(), String> {
    match split_entry(entry) {
        Some((host, _)) if !host.is_empty() && !host.contains(['/', '@', ' ']) => Ok(()),
        _ => Err(format!(
            "--webhook-allow-hosts: {entry:?} is not `host`, `host:port` or `host:*` (a port from 1 to 65535)"
        )),
    }
}

/// The host of the allow-list entry matching `host` and `port`, if any.
fn allowed_entry<'a>(config: &'a WebhookConfig, host: &str, port: u16) -> Option<&'a str> {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    config
        .allow_hosts
        .iter()
        .filter_map(|e| split_entry(e))
        .find(|(h, ports)| {
            h.eq_ignore_ascii_case(host)
                && match ports {
                    Ports::Web => matches!(port, 80 | 443),
                    Ports::One(p) => *p == port,
                    Ports::Any => port != 0,
                }
        })
        .map(|(h, _)| h)
}

/// Addresses no webhook may reach, whatever the allow list says.
fn never(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_link_local() || v4.is_unspecified() || v4.is_multicast() || v4.is_broadcast(),
        IpAddr::V6(v6) => {
            v6.is_unspecified()
                || v6.is_multicast()
                || (v6.segments()[0] & 0xffc0) == 0xfe80
                || v6.to_ipv4_mapped().is_some_and(|v4| never(IpAddr::V4(v4)))
        }
    }
}

/// Loopback and private ranges: allowed only when the allow list names them itself.
fn inward(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            v4.is_loopback() || v4.is_private() || (v4.octets()[0] == 100 && (v4.octets()[1] & 0xc0) == 64)
        }
        IpAddr::V6(v6) => {
            v6.is_loopback()
                || (v6.segments()[0] & 0xfe00) == 0xfc00
                || v6.to_ipv4_mapped().is_some_and(|v4| inward(IpAddr::V4(v4)))
        }
    }
}

/// At delivery: resolves the URL's host and returns the first address it may reach, or
/// why none.
pub async fn resolve(config: &WebhookConfig, url: &url::Url) -> Result<SocketAddr, DeliveryError> {
    let host = url.host_str().ok_or(DeliveryError::Incomplete("host"))?;
    let port = url.port_or_known_default().ok_or(DeliveryError::Incomplete("port"))?;
    let entry = allowed_entry(config, host, port).ok_or_else(|| DeliveryError::NotAllowed {
        host: host.to_owned(),
        port,
    })?;
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((bare, port))
        .await
        .map_err(|source| DeliveryError::Resolve {
            host: host.to_owned(),
            source,
        })?
        .collect();
    // The operator named this address (or localhost) itself: it may be inward.
    let named = entry.parse::<IpAddr>().is_ok() || entry.eq_ignore_ascii_case("localhost");
    addrs
        .iter()
        .copied()
        .find(|a| !never(a.ip()) && (named || !inward(a.ip())))
        .ok_or_else(|| DeliveryError::Unreachable(host.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(hosts: &[&str]) -> WebhookConfig {
        WebhookConfig {
            allow_hosts: hosts.iter().map(|h| h.to_string()).collect(),
            ..WebhookConfig::default()
        }
    }

    #[test]
    fn allow_list_entries_that_allow_nothing_are_refused() {
        for good in [
            "hooks.example.com",
            "h:9000",
            "h:*",
            "[::1]:9000",
            "[::1]",
            "::1",
            "127.0.0.1:1",
        ] {
            assert!(super::check_allow_entry(good).is_ok(), "{good}");
        }
        for bad in [
            "h:0", "h:http", "h:70000", "[::1", "[::1]x", ":80", "http://h", "u@h", "h:",
        ] {
            assert!(super::check_allow_entry(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn registration_needs_an_allowed_http_host() {
        let c = config(&["hooks.example.com", "127.0.0.1:9000", "[::1]:*"]);
        assert!(check_url(&c, "https://hooks.example.com/in").is_ok());
        assert!(check_url(&c, "http://hooks.example.com/in").is_ok());
        assert!(check_url(&c, "http://127.0.0.1:9000/x").is_ok());
        assert!(check_url(&c, "http://[::1]:7/x").is_ok());
        for bad in [
            "https://hooks.example.com:6379/",
            "http://127.0.0.1:9001/x",
            "http://127.0.0.1/x",
            "http://127.0.0.1:0/x",
            "http://[::1]:0/x",
            " http://127.0.0.1:9000/x",
            "http:/127.0.0.1:9000/x",
            "http:\\\\127.0.0.1:9000\\x",
            "http://:@127.0.0.1:9000/x",
            "http://a@127.0.0.1:9000/x",
            "http://127.0.0.1:9000/x\ty",
            &format!("http://127.0.0.1:9000/{}", "a".repeat(MAX_URL_LEN)),
            "ftp://hooks.example.com/",
            "https://user:pw@hooks.example.com/",
            "https://evil.example.com/",
            "http://localhost:9000/",
            "http://169.254.169.254/latest/meta-data/",
            "not a url",
        ] {
            assert!(check_url(&c, bad).is_err(), "{bad}");
        }
        assert!(
            check_url(&config(&[]), "https://hooks.example.com/").is_err(),
            "off without a list"
        );
        let metadata = config(&["169.254.169.254"]);
        assert!(
            check_url(&metadata, "http://169.254.169.254/").is_err(),
            "never, even if listed"
        );
    }

    #[tokio::test]
    async fn delivery_refuses_names_that_resolve_inward_unless_named() {
        let url = |s: &str| url::Url::parse(s).unwrap();
        let c = config(&["localhost:9"]);
        assert!(
            resolve(&c, &url("http://localhost:9/")).await.is_ok(),
            "localhost was named"
        );
        assert!(resolve(&c, &url("http://localhost:10/")).await.is_err(), "another port");
        let c = config(&["127.0.0.1:*"]);
        assert!(resolve(&c, &url("http://127.0.0.1:9/")).await.is_ok());
        // A public-looking name the operator allowed, resolving to the loopback, is refused.
        let c = config(&["localtest.me:9", "127.0.0.1.nip.io:9", "a.localhost:9"]);
        assert!(resolve(&c, &url("http://a.localhost:9/")).await.is_err());
        assert!(never("169.254.169.254".parse().unwrap()));
        assert!(never("::ffff:169.254.169.254".parse().unwrap()));
        assert!(inward("10.1.2.3".parse().unwrap()) && inward("::1".parse().unwrap()));
        assert!(!inward("93.184.216.34".parse().unwrap()));
    }
}
