//! Which web pages may open `/sync`: a browser sends every cross-site WebSocket with the
//! page's `Origin`, and nothing else stops a page the user visits from syncing as them.
//! Decides from the request's headers only; tokens are checked later, at Hello.

use axum::http::{header, HeaderMap, Uri};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OriginPolicy {
    /// `--allow-origin '*'`: any page.
    Any,
    Listed {
        /// `scheme://host[:port]`, lower case, as `--allow-origin` gave them.
        origins: Vec<String>,
        /// Pages served from loopback (any port): the default without a secret, where the
        /// server itself only listens on loopback.
        loopback_pages: bool,
    },
}

impl OriginPolicy {
    /// The policy for `--allow-origin` values (`*` allows any page); pages of the server's own
    /// origin are always allowed, loopback pages too when no secret is set.
    pub fn new(allow: &[String], has_secret: bool) -> Self {
        if allow.iter().any(|origin| origin.trim() == "*") {
            return OriginPolicy::Any;
        }
        OriginPolicy::Listed {
            origins: allow.iter().map(|origin| normalize(origin)).collect(),
            loopback_pages: !has_secret,
        }
    }

    /// Whether a request with these headers may open a sync connection. One without `Origin`
    /// comes from a native or Node client, not a page: its token decides.
    pub fn allows(&self, headers: &HeaderMap) -> bool {
        let Some(origin) = headers.get(header::ORIGIN) else {
            return true;
        };
        let OriginPolicy::Listed {
            origins,
            loopback_pages,
        } = self
        else {
            return true;
        };
        let Ok(origin) = origin.to_str() else {
            return false;
        };
        let origin = normalize(origin);
        if origins.contains(&origin) {
            return true;
        }
        // "null" (a sandboxed frame or a file) and anything unparsable stop here.
        let Some((host, port)) = host_of(&origin) else {
            return false;
        };
        let own = headers
            .get(header::HOST)
            .and_then(|host| host.to_str().ok())
            .is_some_and(|served| authority_matches(served, &host, port.as_deref()));
        own || (*loopback_pages && is_loopback(&host))
    }
}

fn normalize(origin: &str) -> String {
    origin.trim().trim_end_matches('/').to_ascii_lowercase()
}

/// The host and explicit port of an `http(s)://…` origin.
fn host_of(origin: &str) -> Option<(String, Option<String>)> {
    let uri: Uri = origin.parse().ok()?;
    if !matches!(uri.scheme_str(), Some("http" | "https")) {
        return None;
    }
    let host = uri.host()?.to_ascii_lowercase();
    Some((host, uri.port().map(|port| port.to_string())))
}

/// Whether the request's `Host` (what the page's address named) is the origin's host and port.
fn authority_matches(served: &str, host: &str, port: Option<&str>) -> bool {
    let served = served.to_ascii_lowercase();
    match port {
        Some(port) => served == format!("{host}:{port}"),
        None => served == host,
    }
}

fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare == "localhost"
        || bare
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use {super::*, axum::http::HeaderValue};

    fn request(origin: Option<&str>, host: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::from_str(host).unwrap());
        if let Some(origin) = origin {
            headers.insert(header::ORIGIN, HeaderValue::from_str(origin).unwrap());
        }
        headers
    }

    #[test]
    fn pages_of_other_sites_are_refused_unless_listed() {
        let dev = OriginPolicy::new(&[], false);
        let host = "127.0.0.1:8787";
        assert!(dev.allows(&request(None, host)));
        assert!(dev.allows(&request(Some("http://127.0.0.1:8787"), host)));
        assert!(dev.allows(&request(Some("http://localhost:5173"), host)));
        assert!(dev.allows(&request(Some("http://[::1]:3000"), host)));
        assert!(!dev.allows(&request(Some("https://evil.example"), host)));
        assert!(!dev.allows(&request(Some("http://127.0.0.1.evil.example"), host)));
        assert!(!dev.allows(&request(Some("null"), host)));

        let production = OriginPolicy::new(&["https://App.example/".into()], true);
        let host = "sync.example";
        assert!(production.allows(&request(Some("https://app.example"), host)));
        assert!(production.allows(&request(Some("https://sync.example"), host)));
        assert!(production.allows(&request(None, host)));
        assert!(!production.allows(&request(Some("http://localhost:5173"), host)));
        assert!(!production.allows(&request(Some("https://evil.example"), host)));

        let any = OriginPolicy::new(&["*".into()], true);
        assert!(any.allows(&request(Some("https://evil.example"), host)));
    }
}
