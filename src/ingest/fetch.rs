//! Fetching a URL (or a local file) under podsift's rules: connect and total timeouts, a size
//! cap enforced while the body streams in, conditional GET, and redirects followed by hand so a
//! permanent move can be remembered.
//!
//! Errors say what happened in words an operator can act on, and classify themselves
//! (`retry_after`, `is_transient`) so callers decide on backoff without parsing messages.
//!
//! Addresses found inside a feed (transcripts, audio) come from whoever wrote the feed. A fetcher
//! made [`Fetcher::for_links_of`] a feed on a public address never fetches a loopback, private,
//! link-local or metadata address for it: not named as an IP, not through a redirect, and not
//! through a name that resolves there, which is checked on the addresses the connection is made
//! to (the DNS resolver drops them), so a name that changes its answer between checks gains
//! nothing. Feeds the operator serves on a private address may name private addresses.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use reqwest::StatusCode;
use reqwest::header::{self, HeaderValue};

use crate::config::IngestConfig;

/// Validators from the previous fetch, for a conditional GET.
#[derive(Debug, Default, Clone)]
pub struct Validators {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

#[derive(Debug)]
pub enum Fetched {
    /// 304: the copy we have is current.
    NotModified {
        /// Every address that answered was private or local (see [`Body::private_origin`]).
        private_origin: bool,
        /// As [`Body::moved_to`]: a feed that moved answers 304 at its new address.
        moved_to: Option<String>,
    },
    Body(Body),
}

#[derive(Debug)]
pub struct Body {
    pub bytes: Vec<u8>,
    pub validators: Validators,
    /// The URL that finally answered.
    pub final_url: String,
    /// Set when every redirect on the way was permanent (301/308): fetch from here next time.
    pub moved_to: Option<String>,
    /// A local file, or every address that answered on the way was private or local: the
    /// operator's own server, whose links may point at private addresses too.
    pub private_origin: bool,
}

/// What is fetched: it names the setting that bounds its size and what a failure advises.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Document {
    Feed,
    Transcript,
    /// An episode's audio, downloaded for speech-to-text.
    Audio,
    /// A podcast directory's search answer.
    DirectoryAnswer,
}

impl Document {
    /// How to accept a larger one.
    fn raise(self) -> &'static str {
        match self {
            Document::Feed => "raise ingest.max_feed_bytes to accept it",
            Document::Transcript => "raise ingest.max_transcript_bytes to accept it",
            Document::Audio => "raise llm.max_audio_bytes to transcribe it",
            Document::DirectoryAnswer => "a directory's search answer is never this large; try another query",
        }
    }
}

/// The most of one document that is read, and what it is.
#[derive(Debug, Clone, Copy)]
pub struct Limit {
    pub bytes: u64,
    pub what: Document,
}

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("timed out after {secs} s fetching {url} (ingest.timeout_secs)")]
    Timeout { url: String, secs: u64 },
    #[error("{url} is larger than the {limit} byte limit ({})", what.raise())]
    TooLarge { url: String, limit: u64, what: Document },
    #[error(
        "{url} answered HTTP {status}{}{}",
        retry_after.map(|d| format!(" (retry after {} s)", d.as_secs())).unwrap_or_default(),
        status_hint(*status, *what)
    )]
    Status { url: String, status: u16, retry_after: Option<Duration>, what: Document },
    #[error("could not reach {url}: {reason}")]
    Network { url: String, reason: String },
    #[error("cannot read {path}: {reason}")]
    File { path: PathBuf, reason: String },
    #[error("{url}: more than {max} redirects")]
    TooManyRedirects { url: String, max: usize },
    #[error("{url} is not a valid URL or path: {reason}")]
    InvalidUrl { url: String, reason: String },
    #[error("refused to fetch {url}: {reason}; a feed on a public address may not point podsift at it")]
    Refused { url: String, reason: String },
}

/// What an HTTP status most likely means for whoever added the address, or for the operator
/// whose feed links the document.
fn status_hint(status: u16, what: Document) -> &'static str {
    match (status, what) {
        (404 | 410, Document::Transcript) => {
            ": the feed links a transcript the host does not have (yet, or any more); it is tried again at the next ingests, then the episode makes do with its show notes when it has any"
        }
        (404, Document::Feed) => {
            ": the host has nothing at this address (any more); check the feed's address (one that moved without a redirect needs its new one)"
        }
        (404, _) => ": the host has nothing at this address (any more)",
        (410, Document::Feed) => {
            ": the host says it was removed for good (a subscribed feed that answers so is asked again weekly; `podsift feeds rm` removes it)"
        }
        (401 | 403, _) => {
            ": the host refuses podsift; the address may need a login, or the host blocks clients it does not know"
        }
        _ => "",
    }
}

impl FetchError {
    /// The wait the server asked for, if any.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            FetchError::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

/// Says whether an address is private or local (loopback, private, link-local, metadata...).
/// [`is_private_address`] in production; tests pass their own so that a loopback server can
/// play a public one.
pub type AddressClass = Arc<dyn Fn(IpAddr) -> bool + Send + Sync>;

/// Fetches feeds and transcripts. Cheap to clone (the HTTP clients are shared).
#[derive(Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    /// The same client with a resolver that drops private addresses, for guarded fetches.
    guarded_client: reqwest::Client,
    is_private: AddressClass,
    /// Refuse private and local addresses (the links of a feed on a public address).
    guarded: bool,
    /// Requests go through an HTTP proxy (HTTP_PROXY, HTTPS_PROXY or ALL_PROXY): the peer is the
    /// proxy and the proxy resolves names, so the guard checks what names resolve to here
    /// before each request instead.
    proxied: bool,
    timeout: Duration,
    max_redirects: usize,
}

impl Fetcher {
    pub fn new(config: &IngestConfig) -> Result<Fetcher, FetchError> {
        Fetcher::with_address_class(config, Arc::new(is_private_address))
    }

    /// A fetcher that tells private addresses from public ones with `is_private`.
    pub fn with_address_class(config: &IngestConfig, is_private: AddressClass) -> Result<Fetcher, FetchError> {
        Fetcher::build(config, is_private, None)
    }

    /// The same, every request through the HTTP proxy at `proxy` whatever the environment says.
    pub fn with_proxy(config: &IngestConfig, is_private: AddressClass, proxy: &str) -> Result<Fetcher, FetchError> {
        let proxy = reqwest::Proxy::all(proxy)
            .map_err(|e| FetchError::InvalidUrl { url: proxy.to_string(), reason: e.to_string() })?;
        Fetcher::build(config, is_private, Some(proxy))
    }

    fn build(
        config: &IngestConfig,
        is_private: AddressClass,
        proxy: Option<reqwest::Proxy>,
    ) -> Result<Fetcher, FetchError> {
        let error = |reason| FetchError::Network { url: String::new(), reason };
        let builder = || {
            let b = crate::http::builder(config.connect_timeout(), Some(config.timeout()));
            match &proxy {
                Some(p) => b.proxy(p.clone()),
                None => b,
            }
        };
        let client = builder().build().map_err(|e| error(format!("cannot build an HTTP client: {e}")))?;
        let proxied = proxy.is_some() || proxy_in_environment();
        // Through a proxy, the resolver would only ever see the proxy's own name (often on a
        // private network): the names fetched are checked before each request instead.
        let guarded_client = if proxied {
            client.clone()
        } else {
            builder()
                .dns_resolver(Arc::new(PublicOnly { is_private: is_private.clone() }))
                .build()
                .map_err(|e| error(format!("cannot build an HTTP client: {e}")))?
        };
        Ok(Fetcher {
            client,
            guarded_client,
            is_private,
            guarded: false,
            proxied,
            timeout: config.timeout(),
            max_redirects: config.max_redirects,
        })
    }

    /// Through a proxy: the addresses `url`'s host has here, and an error when the fetch is
    /// guarded and one of them is private. A name that does not resolve here has none (the
    /// proxy may still know it).
    async fn resolved_here(&self, url: &url::Url) -> Result<Vec<IpAddr>, FetchError> {
        let ips: Vec<IpAddr> = match url.host() {
            Some(url::Host::Ipv4(ip)) => vec![IpAddr::V4(ip)],
            Some(url::Host::Ipv6(ip)) => vec![IpAddr::V6(ip)],
            Some(url::Host::Domain(name)) => {
                let port = url.port_or_known_default().unwrap_or(80);
                match tokio::net::lookup_host((name, port)).await {
                    Ok(found) => found.map(|a| a.ip()).collect(),
                    Err(_) => Vec::new(),
                }
            }
            None => Vec::new(),
        };
        if self.guarded {
            if let Some(ip) = ips.iter().find(|ip| (self.is_private)(**ip)) {
                return Err(FetchError::Refused {
                    url: url.to_string(),
                    reason: format!("{} resolves to {ip}", url.host_str().unwrap_or("")),
                });
            }
        }
        Ok(ips)
    }

    /// The fetcher for addresses named inside a feed: guarded unless the feed itself came from a
    /// private origin (see [`Body::private_origin`]).
    pub fn for_links_of(&self, feed_private_origin: bool) -> Fetcher {
        Fetcher { guarded: !feed_private_origin, ..self.clone() }
    }

    fn check_host(&self, url: &url::Url) -> Result<(), FetchError> {
        let ip = match url.host() {
            Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip),
            Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip),
            // Names are checked by the resolver, on the addresses it is about to connect to.
            _ => return Ok(()),
        };
        if (self.is_private)(ip) {
            return Err(FetchError::Refused {
                url: url.to_string(),
                reason: format!("{ip} is a private or local address"),
            });
        }
        Ok(())
    }

    /// Fetches `location` (http(s) URL, file:// URL or local path), reading at most `limit` bytes.
    pub async fn fetch(&self, location: &str, validators: &Validators, limit: Limit) -> Result<Fetched, FetchError> {
        match self.location(location)? {
            Location::File(path) => read_file(path, limit).await,
            Location::Http(url) => {
                let mut sink = Sink::Memory(Vec::new());
                let work = self.fetch_http(url, validators, limit, &mut sink);
                // reqwest's timeout covers one request; this one covers the whole redirect chain.
                let head = match tokio::time::timeout(self.timeout, work).await {
                    Ok(r) => r?,
                    Err(_) => {
                        return Err(FetchError::Timeout { url: location.to_string(), secs: self.timeout.as_secs() });
                    }
                };
                match (head, sink) {
                    (Err((private_origin, moved_to)), _) => Ok(Fetched::NotModified { private_origin, moved_to }),
                    (Ok(mut body), Sink::Memory(bytes)) => {
                        body.bytes = bytes;
                        Ok(Fetched::Body(body))
                    }
                    (Ok(body), Sink::File { .. }) => Ok(Fetched::Body(body)),
                }
            }
        }
    }

    /// Streams `location` into the file at `path`, stopping once `limit` bytes are exceeded.
    /// Returns the bytes written. For audio, which is too large to hold in memory.
    pub async fn download_to(&self, location: &str, path: &std::path::Path, limit: Limit) -> Result<u64, FetchError> {
        let file_err = |e: std::io::Error| FetchError::File { path: path.to_path_buf(), reason: e.to_string() };
        match self.location(location)? {
            Location::File(src) => {
                let len = tokio::fs::metadata(&src)
                    .await
                    .map_err(|e| FetchError::File { path: src.clone(), reason: e.to_string() })?
                    .len();
                if len > limit.bytes {
                    return Err(FetchError::TooLarge {
                        url: src.display().to_string(),
                        limit: limit.bytes,
                        what: limit.what,
                    });
                }
                tokio::fs::copy(&src, path).await.map_err(file_err)
            }
            Location::Http(url) => {
                let file = tokio::fs::File::create(path).await.map_err(file_err)?;
                let mut sink = Sink::File { file, written: 0, path: path.to_path_buf() };
                let none = Validators::default();
                let work = self.fetch_http(url, &none, limit, &mut sink);
                match tokio::time::timeout(self.timeout, work).await {
                    // No validators were sent, so there is no 304 to tell apart.
                    Ok(r) => r.map(|_| ())?,
                    Err(_) => {
                        return Err(FetchError::Timeout { url: location.to_string(), secs: self.timeout.as_secs() });
                    }
                };
                match sink {
                    Sink::File { mut file, written, .. } => {
                        use tokio::io::AsyncWriteExt;
                        file.flush().await.map_err(file_err)?;
                        Ok(written)
                    }
                    Sink::Memory(_) => unreachable!("the sink was created as a file"),
                }
            }
        }
    }

    /// Where `location` is; a guarded fetcher takes only http(s) URLs, since a feed's author has
    /// no business naming files on podsift's disk.
    fn location(&self, location: &str) -> Result<Location, FetchError> {
        match classify(location)? {
            Location::File(_) if self.guarded => Err(FetchError::Refused {
                url: location.to_string(),
                reason: "it is a local file, not an http(s) URL".into(),
            }),
            found => Ok(found),
        }
    }

    /// Follows redirects by hand and streams the body into `sink`. On 304 the error side says
    /// whether every address that answered was private, and where the feed moved.
    async fn fetch_http(
        &self,
        start: url::Url,
        validators: &Validators,
        limit: Limit,
        sink: &mut Sink,
    ) -> Result<Result<Body, (bool, Option<String>)>, FetchError> {
        let mut url = start;
        // Where the unbroken run of permanent redirects at the start of the chain leads: a feed
        // that moved for good and then passes through a temporary hop (a CDN, a signed address)
        // has moved to the address before that hop.
        let mut moved: Option<url::Url> = None;
        let mut permanent_run = true;
        let mut all_private = true;
        let mut hops = 0;
        let client = if self.guarded { &self.guarded_client } else { &self.client };
        loop {
            if self.guarded {
                self.check_host(&url)?;
            }
            let here = if self.proxied { Some(self.resolved_here(&url).await?) } else { None };
            let mut req = client.get(url.clone());
            if let Some(etag) = &validators.etag {
                req = req.header(header::IF_NONE_MATCH, etag);
            }
            if let Some(lm) = &validators.last_modified {
                req = req.header(header::IF_MODIFIED_SINCE, lm);
            }
            let resp = req.send().await.map_err(|e| net_error(&url, e, self.timeout))?;
            // Unknown counts as public: trust is never assumed. Through a proxy the peer is the
            // proxy, so what the name resolves to here stands in for it.
            let peer_private = match &here {
                Some(ips) => !ips.is_empty() && ips.iter().all(|ip| (self.is_private)(*ip)),
                None => resp.remote_addr().is_some_and(|a| (self.is_private)(a.ip())),
            };
            if self.guarded && here.is_none() && peer_private {
                let peer = resp.remote_addr().map(|a| a.ip().to_string()).unwrap_or_default();
                return Err(FetchError::Refused { url: url.to_string(), reason: format!("it answered from {peer}") });
            }
            all_private &= peer_private;
            let status = resp.status();
            if status.is_redirection() && status != StatusCode::NOT_MODIFIED {
                hops += 1;
                if hops > self.max_redirects {
                    return Err(FetchError::TooManyRedirects { url: url.to_string(), max: self.max_redirects });
                }
                let target = resp
                    .headers()
                    .get(header::LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|loc| url.join(loc).ok())
                    .ok_or_else(|| FetchError::Network {
                        url: url.to_string(),
                        reason: format!("HTTP {} without a usable Location header", status.as_u16()),
                    })?;
                permanent_run &= matches!(status, StatusCode::MOVED_PERMANENTLY | StatusCode::PERMANENT_REDIRECT);
                if permanent_run {
                    moved = Some(target.clone());
                }
                url = target;
                continue;
            }
            let moved_to = moved.as_ref().map(url::Url::to_string);
            if status == StatusCode::NOT_MODIFIED {
                return Ok(Err((all_private, moved_to)));
            }
            if !status.is_success() {
                return Err(FetchError::Status {
                    url: url.to_string(),
                    status: status.as_u16(),
                    retry_after: crate::http::retry_after(resp.headers(), Utc::now()),
                    what: limit.what,
                });
            }
            let headers = resp.headers().clone();
            let too_large = || FetchError::TooLarge { url: url.to_string(), limit: limit.bytes, what: limit.what };
            if resp.content_length().is_some_and(|n| n > limit.bytes) {
                return Err(too_large());
            }
            let mut resp = resp;
            while let Some(chunk) = resp.chunk().await.map_err(|e| net_error(&url, e, self.timeout))? {
                if sink.len() + chunk.len() as u64 > limit.bytes {
                    return Err(too_large());
                }
                sink.write(&chunk).await?;
            }
            let header_str = |name| headers.get(name).and_then(|v: &HeaderValue| v.to_str().ok()).map(str::to_string);
            return Ok(Ok(Body {
                private_origin: all_private,
                bytes: Vec::new(),
                validators: Validators {
                    etag: header_str(header::ETAG),
                    last_modified: header_str(header::LAST_MODIFIED),
                },
                moved_to,
                final_url: url.to_string(),
            }));
        }
    }
}

/// Where a body goes while it streams in.
enum Sink {
    Memory(Vec<u8>),
    File { file: tokio::fs::File, written: u64, path: PathBuf },
}

impl Sink {
    fn len(&self) -> u64 {
        match self {
            Sink::Memory(v) => v.len() as u64,
            Sink::File { written, .. } => *written,
        }
    }

    async fn write(&mut self, chunk: &[u8]) -> Result<(), FetchError> {
        match self {
            Sink::Memory(v) => v.extend_from_slice(chunk),
            Sink::File { file, written, path } => {
                use tokio::io::AsyncWriteExt;
                file.write_all(chunk)
                    .await
                    .map_err(|e| FetchError::File { path: path.clone(), reason: e.to_string() })?;
                *written += chunk.len() as u64;
            }
        }
        Ok(())
    }
}

enum Location {
    Http(url::Url),
    File(PathBuf),
}

fn classify(location: &str) -> Result<Location, FetchError> {
    let invalid = |reason: &str| FetchError::InvalidUrl { url: location.to_string(), reason: reason.to_string() };
    match url::Url::parse(location) {
        Ok(u) if u.scheme() == "http" || u.scheme() == "https" => Ok(Location::Http(u)),
        Ok(u) if u.scheme() == "file" => {
            u.to_file_path().map(Location::File).map_err(|_| invalid("file:// URL without a usable path"))
        }
        // A Windows drive letter parses as a one-letter scheme.
        Ok(u) if u.scheme().len() > 1 => Err(invalid("only http, https and file URLs are supported")),
        _ => Ok(Location::File(PathBuf::from(location))),
    }
}

async fn read_file(path: PathBuf, limit: Limit) -> Result<Fetched, FetchError> {
    use tokio::io::AsyncReadExt;
    let err = |e: std::io::Error| FetchError::File { path: path.clone(), reason: e.to_string() };
    let file = tokio::fs::File::open(&path).await.map_err(err)?;
    let mut bytes = Vec::new();
    file.take(limit.bytes + 1).read_to_end(&mut bytes).await.map_err(err)?;
    if bytes.len() as u64 > limit.bytes {
        return Err(FetchError::TooLarge { url: path.display().to_string(), limit: limit.bytes, what: limit.what });
    }
    Ok(Fetched::Body(Body {
        bytes,
        validators: Validators::default(),
        final_url: path.display().to_string(),
        moved_to: None,
        private_origin: true,
    }))
}

/// Loopback, private (RFC 1918, unique local), link-local (which holds the cloud metadata
/// address 169.254.169.254), carrier-grade NAT, unspecified, broadcast and multicast addresses,
/// IPv4 ones also when written as IPv4-mapped or IPv4-compatible IPv6.
pub fn is_private_address(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_broadcast()
                || v4.is_multicast()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_private_address(IpAddr::V4(v4));
            }
            let s = v6.segments();
            // ::a.b.c.d, the deprecated IPv4-compatible form.
            if s[..6] == [0; 6] && !v6.is_unspecified() && !v6.is_loopback() {
                return is_private_address(IpAddr::V4(std::net::Ipv4Addr::from(((s[6] as u32) << 16) | s[7] as u32)));
            }
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00
                || (s[0] & 0xffc0) == 0xfe80
        }
    }
}

/// Whether reqwest will send requests through a proxy named in the environment.
fn proxy_in_environment() -> bool {
    ["HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"]
        .iter()
        .any(|k| std::env::var(k).is_ok_and(|v| !v.trim().is_empty()))
}

/// The guarded client's resolver: the system's answer without private addresses. A name with
/// nothing else left fails to resolve, so the connection never starts.
struct PublicOnly {
    is_private: AddressClass,
}

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let is_private = self.is_private.clone();
        Box::pin(async move {
            let host = name.as_str().to_string();
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let public = public_only(&host, found, &*is_private)?;
            Ok(Box::new(public.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

fn public_only(
    host: &str,
    found: Vec<SocketAddr>,
    is_private: &(dyn Fn(IpAddr) -> bool + Send + Sync),
) -> Result<Vec<SocketAddr>, Box<dyn std::error::Error + Send + Sync>> {
    let (private, public): (Vec<SocketAddr>, Vec<SocketAddr>) = found.into_iter().partition(|a| is_private(a.ip()));
    if public.is_empty() && !private.is_empty() {
        let ips: Vec<String> = private.iter().map(|a| a.ip().to_string()).collect();
        return Err(format!(
            "refused: {host} resolves to private or local addresses only ({}), which a feed on a public address may not point podsift at",
            ips.join(", ")
        )
        .into());
    }
    Ok(public)
}

fn net_error(url: &url::Url, e: reqwest::Error, timeout: Duration) -> FetchError {
    if e.is_timeout() {
        return FetchError::Timeout { url: url.to_string(), secs: timeout.as_secs() };
    }
    FetchError::Network { url: url.to_string(), reason: crate::http::root_cause(&e) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusing_or_missing_address_says_what_to_check() {
        let status = |status| {
            FetchError::Status { url: "https://x/feed".into(), status, retry_after: None, what: Document::Feed }
                .to_string()
        };
        assert!(status(404).contains("check the feed's address"), "{}", status(404));
        // A transcript the feed links is no address the operator gave: no feed advice.
        let transcript = FetchError::Status {
            url: "https://x/e1.vtt".into(),
            status: 404,
            retry_after: None,
            what: Document::Transcript,
        }
        .to_string();
        assert!(
            transcript.contains("the feed links a transcript") && !transcript.contains("feed's address"),
            "{transcript}"
        );
        // Too large names the one setting that bounds what was fetched.
        for (what, key) in [
            (Document::Feed, "ingest.max_feed_bytes"),
            (Document::Transcript, "ingest.max_transcript_bytes"),
            (Document::Audio, "llm.max_audio_bytes"),
        ] {
            let e = FetchError::TooLarge { url: "https://x/a".into(), limit: 10, what }.to_string();
            assert!(e.contains(key) && e.matches("max_").count() == 1, "{e}");
        }
        assert!(status(403).contains("refuses podsift"), "{}", status(403));
        assert_eq!(status(500), "https://x/feed answered HTTP 500");
        let timeout = FetchError::Timeout { url: "https://x/feed".into(), secs: 30 }.to_string();
        assert!(timeout.contains("ingest.timeout_secs"), "{timeout}");
    }

    #[test]
    fn locations() {
        assert!(matches!(classify("https://x.org/feed").unwrap(), Location::Http(_)));
        assert!(matches!(classify("file:///tmp/feed.xml").unwrap(), Location::File(_)));
        assert!(matches!(classify("config/demo/feed.xml").unwrap(), Location::File(_)));
        assert!(classify("ftp://x.org/feed").is_err());
    }

    #[test]
    fn private_and_local_addresses() {
        for ip in [
            "127.0.0.1",
            "127.8.9.10",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "::",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "::ffff:10.0.0.1",
            "::127.0.0.1",
        ] {
            assert!(is_private_address(ip.parse().unwrap()), "{ip} is private");
        }
        for ip in ["8.8.8.8", "172.32.0.1", "192.169.0.1", "1.1.1.1", "2606:4700::1111", "::ffff:8.8.8.8"] {
            assert!(!is_private_address(ip.parse().unwrap()), "{ip} is public");
        }
    }

    /// The resolver keeps public answers and refuses a name that has only private ones, which
    /// is what defeats a name rebound to 127.0.0.1 after a first, public answer.
    #[test]
    fn the_guarded_resolver_drops_private_answers() {
        let a = |s: &str| -> SocketAddr { s.parse().unwrap() };
        let kept = public_only("x", vec![a("10.0.0.1:0"), a("8.8.8.8:0")], &is_private_address).unwrap();
        assert_eq!(kept, vec![a("8.8.8.8:0")]);
        let err = public_only("rebound.example", vec![a("127.0.0.1:0"), a("[::1]:0")], &is_private_address)
            .unwrap_err()
            .to_string();
        assert!(err.contains("rebound.example") && err.contains("127.0.0.1"), "{err}");
    }

    #[tokio::test]
    async fn a_guarded_fetch_refuses_private_ips_names_and_files() {
        let fetcher = Fetcher::new(&IngestConfig::default()).unwrap().for_links_of(false);
        for url in
            ["http://127.0.0.1:9/t.vtt", "http://[::ffff:169.254.169.254]/latest/meta-data/", "http://localhost:9/x"]
        {
            let err = fetcher
                .fetch(url, &Validators::default(), Limit { bytes: 1000, what: Document::Transcript })
                .await
                .unwrap_err();
            assert!(err.to_string().contains("refused"), "{url}: {err}");
        }
        let err = fetcher
            .fetch("/etc/passwd", &Validators::default(), Limit { bytes: 1000, what: Document::Transcript })
            .await
            .unwrap_err();
        assert!(matches!(err, FetchError::Refused { .. }), "{err}");
    }
}
