//! Who may use `gik serve`, decided from the request alone: the checks
//! that keep a server left running on a laptop from becoming a way for any
//! web page to read the user's files or buckets.
//!
//! - **`Host`** must name this server (an IP literal, `localhost`, or a
//!   `--server-name`), with its port: a DNS-rebound name is refused.
//! - **`Origin`** / **`Sec-Fetch-Site`**: on the data routes a request from
//!   another origin is refused unless that origin was allowed
//!   (`--allow-origin`); only allowed origins get CORS headers.
//! - **A token**, printed in the url (as Jupyter does), is needed for
//!   everything but the static page; the page keeps it in a
//!   `SameSite=Strict`, `HttpOnly` cookie.
//! - **The proxy's targets**: an allow-list of hosts and url prefixes, and
//!   the addresses those hosts resolve to (never link-local or metadata
//!   addresses; loopback and private networks only with
//!   `--proxy-allow-private`).
//!
//! Everything here is a pure function of its inputs, unit-tested on values
//! alone (no request ever leaves the machine for an address under test).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Where an address lies, for the proxy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddrClass {
    /// A globally routable unicast address.
    Public,
    /// Loopback, RFC 1918, shared (CGNAT), unique-local IPv6 and other
    /// non-global ranges: reachable only with `--proxy-allow-private`.
    Private,
    /// Never fetched: unspecified, link-local (where cloud metadata
    /// services answer, 169.254.169.254), known metadata addresses,
    /// multicast, broadcast and "this network".
    Forbidden,
}

/// Cloud metadata services outside the link-local ranges: Alibaba Cloud's
/// 100.100.100.200 and AWS's IPv6 endpoint fd00:ec2::254.
const METADATA_V4: [Ipv4Addr; 1] = [Ipv4Addr::new(100, 100, 100, 200)];
const METADATA_V6: [Ipv6Addr; 1] = [Ipv6Addr::new(0xfd00, 0x0ec2, 0, 0, 0, 0, 0, 0x0254)];

/// Classifies an address; IPv4-mapped and IPv4-compatible IPv6 addresses
/// (`::ffff:127.0.0.1`) and NAT64 (`64:ff9b::/96`) count as the IPv4 address
/// inside them.
#[must_use]
pub fn classify(ip: IpAddr) -> AddrClass {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return classify_v4(v4);
            }
            let s = v6.segments();
            if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
                let [a, b] = s[6].to_be_bytes();
                let [c, d] = s[7].to_be_bytes();
                return classify_v4(Ipv4Addr::new(a, b, c, d));
            }
            classify_v6(v6)
        }
    }
}

fn classify_v4(ip: Ipv4Addr) -> AddrClass {
    let [a, b, ..] = ip.octets();
    if ip.is_unspecified()
        || ip.is_link_local()
        || ip.is_multicast()
        || ip.is_broadcast()
        || a == 0
        || METADATA_V4.contains(&ip)
    {
        return AddrClass::Forbidden;
    }
    let shared = a == 100 && (64..128).contains(&b); // 100.64.0.0/10
    let benchmarking = a == 198 && (b == 18 || b == 19); // 198.18.0.0/15
    let reserved = a >= 240; // 240.0.0.0/4
    let documentation = ip.is_documentation();
    let ietf = a == 192 && b == 0 && ip.octets()[2] == 0; // 192.0.0.0/24
    if ip.is_loopback()
        || ip.is_private()
        || shared
        || benchmarking
        || reserved
        || documentation
        || ietf
    {
        return AddrClass::Private;
    }
    AddrClass::Public
}

fn classify_v6(ip: Ipv6Addr) -> AddrClass {
    let s = ip.segments();
    let link_local = (s[0] & 0xffc0) == 0xfe80; // fe80::/10
    let site_local = (s[0] & 0xffc0) == 0xfec0; // fec0::/10 (deprecated)
    if ip.is_unspecified() || ip.is_multicast() || link_local || METADATA_V6.contains(&ip) {
        return AddrClass::Forbidden;
    }
    let unique_local = (s[0] & 0xfe00) == 0xfc00; // fc00::/7
    let documentation = s[0] == 0x2001 && s[1] == 0x0db8; // 2001:db8::/32
    let compatible = s[..6] == [0, 0, 0, 0, 0, 0]; // ::a.b.c.d (deprecated)
    if ip.is_loopback() || unique_local || site_local || documentation || compatible {
        return AddrClass::Private;
    }
    AddrClass::Public
}

/// May the proxy connect to `ip`?
#[must_use]
pub fn address_allowed(ip: IpAddr, allow_private: bool) -> bool {
    match classify(ip) {
        AddrClass::Public => true,
        AddrClass::Private => allow_private,
        AddrClass::Forbidden => false,
    }
}

/// The host part of a `Host` header value (`name`, `1.2.3.4`, `[::1]`) and its port.
fn split_host(value: &str) -> Option<(&str, Option<u16>)> {
    let value = value.trim();
    if let Some(rest) = value.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        return match after {
            "" => Some((host, None)),
            p => Some((host, Some(p.strip_prefix(':')?.parse().ok()?))),
        };
    }
    match value.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') => Some((h, Some(p.parse().ok()?))),
        Some(_) => None, // a bare IPv6 address without brackets
        None => Some((value, None)),
    }
}

/// Is `host_header` a name this server answers to on `port`? IP literals
/// cannot be rebound by DNS, so any is accepted; of names, `localhost` and
/// those in `names` (`--server-name`). The port must be the server's.
#[must_use]
pub fn host_allowed(host_header: &str, port: u16, names: &[String]) -> bool {
    let Some((host, p)) = split_host(host_header) else {
        return false;
    };
    if p.unwrap_or(80) != port {
        return false;
    }
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    host.parse::<IpAddr>().is_ok()
        || host == "localhost"
        || host.ends_with(".localhost")
        || names.iter().any(|n| n.eq_ignore_ascii_case(&host))
}

/// How a cross-origin check came out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OriginCheck {
    /// The page's own origin, or no browser context at all (curl, a script).
    SameOrigin,
    /// Another origin the user allowed: answer with CORS headers for it.
    Allowed(String),
    /// Another origin, not allowed: refuse.
    Refused(String),
}

/// Decides from `Origin`, `Sec-Fetch-Site` and the request's own `Host`.
/// Browsers send `Origin` on every cross-origin `fetch`; `Sec-Fetch-Site`
/// also covers `<img>`/`<script>` loads that carry no `Origin`.
#[must_use]
pub fn check_origin(
    origin: Option<&str>,
    fetch_site: Option<&str>,
    host_header: &str,
    allowed: &[String],
) -> OriginCheck {
    let own = format!("http://{}", host_header.trim());
    match origin {
        Some(o) if o.eq_ignore_ascii_case(&own) => OriginCheck::SameOrigin,
        Some(o) if allowed.iter().any(|a| a.eq_ignore_ascii_case(o)) => {
            OriginCheck::Allowed(o.to_string())
        }
        Some(o) => OriginCheck::Refused(o.to_string()),
        None => match fetch_site {
            Some(s @ ("cross-site" | "same-site")) => OriginCheck::Refused(format!("a {s} page")),
            _ => OriginCheck::SameOrigin,
        },
    }
}

/// The name of the cookie holding the token of the server on `port`
/// (cookies are not scoped by port, so two servers must not share one).
#[must_use]
pub fn cookie_name(port: u16) -> String {
    format!("gik-token-{port}")
}

/// The token a request carries: `?token=`, `Authorization: token …`
/// (or `Bearer …`), or the cookie.
#[must_use]
pub fn request_token<'a>(
    query: Option<&'a str>,
    authorization: Option<&'a str>,
    cookie: Option<&'a str>,
    cookie_name: &str,
) -> Option<std::borrow::Cow<'a, str>> {
    if let Some(t) = query.and_then(|q| {
        q.split('&')
            .find_map(|kv| kv.strip_prefix("token="))
            .filter(|t| !t.is_empty())
    }) {
        return Some(t.into());
    }
    if let Some(a) = authorization {
        let a = a.trim();
        if let Some(t) = a
            .strip_prefix("token ")
            .or_else(|| a.strip_prefix("Bearer "))
        {
            return Some(t.trim().into());
        }
    }
    cookie.and_then(|c| {
        c.split(';').find_map(|kv| {
            let (k, v) = kv.trim().split_once('=')?;
            (k == cookie_name).then_some(std::borrow::Cow::Borrowed(v))
        })
    })
}

/// Compares tokens in time independent of where they differ.
#[must_use]
pub fn token_matches(given: &str, expected: &str) -> bool {
    let (g, e) = (given.as_bytes(), expected.as_bytes());
    if g.len() != e.len() {
        return false;
    }
    g.iter().zip(e).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
}

/// A fresh random token: 24 bytes from the operating system, as hex.
///
/// # Errors
/// When the system's random source cannot be read.
pub fn new_token() -> std::io::Result<String> {
    use std::io::Read;
    let mut buf = [0u8; 24];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut buf)?;
    Ok(buf.iter().map(|b| format!("{b:02x}")).collect())
}

/// One entry of the proxy's allow-list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Allow {
    /// Any `http(s)` url on this host (a name or an address).
    Host(String),
    /// Urls below this prefix (`s3://bucket/`, `https://host/path/`).
    Prefix(url::Url),
}

impl Allow {
    /// Parses `--allow-host`: a host name, or a url prefix (`s3://bucket`,
    /// `https://storage.googleapis.com/bucket/`).
    ///
    /// # Errors
    /// When the value is neither.
    pub fn parse(s: &str) -> Result<Self, String> {
        let s = s.trim();
        if s.contains("://") {
            let mut u = url::Url::parse(s).map_err(|e| format!("{s}: {e}"))?;
            if !u.path().ends_with('/') {
                let p = format!("{}/", u.path());
                u.set_path(&p);
            }
            if u.host_str().is_none_or(str::is_empty) {
                return Err(format!("{s}: no host or bucket"));
            }
            return Ok(Self::Prefix(u));
        }
        if s.is_empty() || s.contains(['/', '?', '#', '@', ' ']) {
            return Err(format!(
                "{s}: give a host name (data.example.org) or a url prefix (s3://bucket)"
            ));
        }
        Ok(Self::Host(s.trim_end_matches('.').to_ascii_lowercase()))
    }

    fn matches(&self, url: &url::Url) -> bool {
        match self {
            Self::Host(h) => {
                matches!(url.scheme(), "http" | "https")
                    && url
                        .host_str()
                        .is_some_and(|u| u.trim_end_matches('.').eq_ignore_ascii_case(h))
            }
            Self::Prefix(p) => {
                url.scheme() == p.scheme()
                    && url.host_str() == p.host_str()
                    && url.port_or_known_default() == p.port_or_known_default()
                    && url.path().starts_with(p.path())
            }
        }
    }
}

impl std::fmt::Display for Allow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Host(h) => f.write_str(h),
            Self::Prefix(p) => f.write_str(p.as_str()),
        }
    }
}

/// ECMWF's open-data mirrors, as the `ecmwf-opendata` client names them:
/// ECMWF's own server, AWS, Azure and Google.
#[must_use]
pub fn default_allow_list() -> Vec<Allow> {
    [
        "data.ecmwf.int",
        "s3://ecmwf-forecasts/",
        "https://ecmwf-forecasts.s3.eu-central-1.amazonaws.com/",
        "https://ecmwf-forecasts.s3.amazonaws.com/",
        "https://ai4edataeuwest.blob.core.windows.net/ecmwf/",
        "gs://ecmwf-open-data/",
        "https://storage.googleapis.com/ecmwf-open-data/",
    ]
    .iter()
    .filter_map(|s| Allow::parse(s).ok())
    .collect()
}

/// Why the proxy will not read a url (before any address is looked up).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UrlRefusal {
    /// Not a url, or one with a scheme the proxy does not read.
    Unsupported(String),
    /// User name or password in the url.
    Userinfo,
    /// Not on the allow-list.
    NotAllowed(String),
}

impl std::fmt::Display for UrlRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Unsupported(why) => write!(f, "the proxy reads https://, http://, s3:// and gs:// urls only ({why})"),
            Self::Userinfo => f.write_str("urls with a user name or password are not proxied"),
            Self::NotAllowed(host) => write!(
                f,
                "{host} is not on the proxy's allow-list (ECMWF's open-data mirrors; add more with --allow-host)"
            ),
        }
    }
}

/// Parses and checks a url against the allow-list.
///
/// # Errors
/// The reason it is refused.
pub fn check_url(raw: &str, allow: &[Allow]) -> Result<url::Url, UrlRefusal> {
    let url = url::Url::parse(raw).map_err(|e| UrlRefusal::Unsupported(e.to_string()))?;
    match url.scheme() {
        "http" | "https" | "s3" | "gs" => {}
        "az" | "abfs" | "abfss" => {
            return Err(UrlRefusal::Unsupported(
                "for Azure give the https://ACCOUNT.blob.core.windows.net/CONTAINER/… url".into(),
            ))
        }
        other => return Err(UrlRefusal::Unsupported(format!("{other}://"))),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(UrlRefusal::Userinfo);
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(UrlRefusal::Unsupported("no host".into()));
    }
    if !allow.iter().any(|a| a.matches(&url)) {
        let shown = match url.scheme() {
            "http" | "https" => url.host_str().unwrap_or_default().to_string(),
            s => format!("{s}://{}", url.host_str().unwrap_or_default()),
        };
        return Err(UrlRefusal::NotAllowed(shown));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn metadata_link_local_and_unspecified_addresses_are_never_fetched() {
        for a in [
            "169.254.169.254", // AWS, GCP, Azure metadata
            "169.254.170.2",   // ECS task metadata
            "100.100.100.200", // Alibaba metadata
            "fd00:ec2::254",   // AWS IPv6 metadata
            "0.0.0.0",
            "0.1.2.3",
            "::",
            "fe80::1",
            "224.0.0.1",
            "255.255.255.255",
            "ff02::1",
            "::ffff:169.254.169.254",
            "64:ff9b::a9fe:a9fe", // NAT64 of 169.254.169.254
        ] {
            assert_eq!(classify(ip(a)), AddrClass::Forbidden, "{a}");
            assert!(!address_allowed(ip(a), true), "{a}");
        }
    }

    #[test]
    fn loopback_and_private_addresses_need_the_flag() {
        for a in [
            "127.0.0.1",
            "127.8.9.10",
            "::1",
            "10.0.0.1",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "100.64.0.1",
            "198.18.0.1",
            "fc00::1",
            "fd12:3456::1",
            "::ffff:127.0.0.1",
            "::ffff:10.1.2.3",
            "192.0.2.1",
            "2001:db8::1",
            "240.0.0.1",
        ] {
            assert_eq!(classify(ip(a)), AddrClass::Private, "{a}");
            assert!(!address_allowed(ip(a), false), "{a}");
            assert!(address_allowed(ip(a), true), "{a}");
        }
    }

    #[test]
    fn public_addresses_are_allowed() {
        for a in [
            "136.156.180.1", // ECMWF
            "52.219.170.1",  // an AWS S3 address
            "8.8.8.8",
            "172.32.0.1",
            "100.128.0.1",
            "2a00:1450:4001::1",
            "::ffff:8.8.8.8",
        ] {
            assert_eq!(classify(ip(a)), AddrClass::Public, "{a}");
            assert!(address_allowed(ip(a), false), "{a}");
        }
    }

    #[test]
    fn host_must_name_this_server_and_its_port() {
        let names = vec!["workstation.lan".to_string()];
        for ok in [
            "127.0.0.1:8765",
            "localhost:8765",
            "LOCALHOST:8765",
            "[::1]:8765",
            "192.168.1.5:8765",
            "workstation.lan:8765",
            "app.localhost:8765",
        ] {
            assert!(host_allowed(ok, 8765, &names), "{ok}");
        }
        for bad in [
            "evil.example:8765",     // DNS rebinding
            "127.0.0.1.nip.io:8765", // a name that resolves to loopback
            "127.0.0.1:9999",        // another port
            "127.0.0.1",             // port 80 implied
            "localhost.evil.example:8765",
            "",
            "::1:8765",
            "[::1",
        ] {
            assert!(!host_allowed(bad, 8765, &names), "{bad}");
        }
        assert!(host_allowed("127.0.0.1", 80, &[]));
    }

    #[test]
    fn other_origins_are_refused_unless_allowed() {
        let allowed = vec!["https://dash.example".to_string()];
        let h = "127.0.0.1:8765";
        assert_eq!(
            check_origin(
                Some("http://127.0.0.1:8765"),
                Some("same-origin"),
                h,
                &allowed
            ),
            OriginCheck::SameOrigin
        );
        assert_eq!(
            check_origin(None, None, h, &allowed),
            OriginCheck::SameOrigin
        );
        assert_eq!(
            check_origin(None, Some("none"), h, &allowed),
            OriginCheck::SameOrigin
        );
        assert_eq!(
            check_origin(
                Some("https://dash.example"),
                Some("cross-site"),
                h,
                &allowed
            ),
            OriginCheck::Allowed("https://dash.example".into())
        );
        // another loopback port is another origin
        assert!(matches!(
            check_origin(
                Some("http://127.0.0.1:9999"),
                Some("same-site"),
                h,
                &allowed
            ),
            OriginCheck::Refused(_)
        ));
        assert!(matches!(
            check_origin(Some("null"), None, h, &allowed),
            OriginCheck::Refused(_)
        ));
        // an <img> or <script> load from another site carries no Origin
        assert!(matches!(
            check_origin(None, Some("cross-site"), h, &allowed),
            OriginCheck::Refused(_)
        ));
    }

    #[test]
    fn tokens_come_from_the_query_the_header_or_the_cookie() {
        let c = cookie_name(8765);
        assert_eq!(
            request_token(Some("a=1&token=abc"), None, None, &c).as_deref(),
            Some("abc")
        );
        assert_eq!(
            request_token(None, Some("token abc"), None, &c).as_deref(),
            Some("abc")
        );
        assert_eq!(
            request_token(None, Some("Bearer abc"), None, &c).as_deref(),
            Some("abc")
        );
        assert_eq!(
            request_token(None, None, Some("x=1; gik-token-8765=abc"), &c).as_deref(),
            Some("abc")
        );
        assert_eq!(
            request_token(None, None, Some("gik-token-9999=abc"), &c),
            None
        );
        assert_eq!(request_token(Some("token="), None, None, &c), None);
        assert!(token_matches("abc", "abc"));
        assert!(!token_matches("abd", "abc"));
        assert!(!token_matches("ab", "abc"));
        let t = new_token().unwrap();
        assert_eq!(t.len(), 48);
        assert_ne!(t, new_token().unwrap());
    }

    #[test]
    fn the_allow_list_matches_hosts_and_prefixes() {
        let allow = default_allow_list();
        for ok in [
            "https://data.ecmwf.int/forecasts/20260601/00z/ifs/0p25/enfo/x.grib2",
            "s3://ecmwf-forecasts/20260601/00z/ifs/0p25/enfo/x.grib2",
            "https://storage.googleapis.com/ecmwf-open-data/20260601/x.grib2",
            "gs://ecmwf-open-data/20260601/x.grib2",
            "https://ai4edataeuwest.blob.core.windows.net/ecmwf/20260601/x.grib2",
        ] {
            assert!(check_url(ok, &allow).is_ok(), "{ok}");
        }
        for (bad, why) in [
            ("https://evil.invalid/x", "not on"),
            ("s3://private-bucket/x", "not on"),
            ("https://storage.googleapis.com/other-bucket/x", "not on"),
            // `..` is resolved before matching
            (
                "https://storage.googleapis.com/ecmwf-open-data/../other/x",
                "not on",
            ),
            ("https://user:pw@data.ecmwf.int/x", "user name"),
            ("file:///etc/passwd", "reads https"),
            ("az://container/x", "reads https"),
            ("http://127.0.0.1:1/x", "not on"),
            ("not a url", "reads https"),
        ] {
            let e = check_url(bad, &allow).unwrap_err();
            assert!(e.to_string().contains(why), "{bad}: {e}");
        }
        let mut more = allow.clone();
        more.push(Allow::parse("mirror.example.org").unwrap());
        more.push(Allow::parse("s3://my-bucket").unwrap());
        assert!(check_url("https://mirror.example.org/a", &more).is_ok());
        assert!(check_url("http://MIRROR.example.org./a", &more).is_ok());
        assert!(check_url("s3://my-bucket/a/b", &more).is_ok());
        assert!(check_url("s3://my-bucket-2/a", &more).is_err());
        assert!(Allow::parse("a/b").is_err());
        assert!(Allow::parse("").is_err());
    }
}
