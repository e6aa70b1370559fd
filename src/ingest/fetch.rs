//! Fetching a URL (or a local file) under podsift's rules: connect and total timeouts, a size
//! cap enforced while the body streams in, conditional GET, and redirects followed by hand so a
//! permanent move can be remembered.
//!
//! Errors say what happened in words an operator can act on, and classify themselves
//! (`retry_after`, `is_transient`) so callers decide on backoff without parsing messages.

use std::path::PathBuf;
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
    NotModified,
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
}

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("timed out after {secs} s fetching {url}")]
    Timeout { url: String, secs: u64 },
    #[error(
        "{url} is larger than the {limit} byte limit (raise ingest.max_feed_bytes or ingest.max_transcript_bytes to accept it)"
    )]
    TooLarge { url: String, limit: u64 },
    #[error("{url} answered HTTP {status}{}", retry_after.map(|d| format!(" (retry after {} s)", d.as_secs())).unwrap_or_default())]
    Status { url: String, status: u16, retry_after: Option<Duration> },
    #[error("could not reach {url}: {reason}")]
    Network { url: String, reason: String },
    #[error("cannot read {path}: {reason}")]
    File { path: PathBuf, reason: String },
    #[error("{url}: more than {max} redirects")]
    TooManyRedirects { url: String, max: usize },
    #[error("{url} is not a valid URL or path: {reason}")]
    InvalidUrl { url: String, reason: String },
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

/// Fetches feeds and transcripts. Cheap to clone (the HTTP client is shared).
#[derive(Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    timeout: Duration,
    max_redirects: usize,
}

impl Fetcher {
    pub fn new(config: &IngestConfig) -> Result<Fetcher, FetchError> {
        let client = crate::http::client(config.connect_timeout(), Some(config.timeout()))
            .map_err(|reason| FetchError::Network { url: String::new(), reason })?;
        Ok(Fetcher { client, timeout: config.timeout(), max_redirects: config.max_redirects })
    }

    /// Fetches `location` (http(s) URL, file:// URL or local path), reading at most `limit` bytes.
    pub async fn fetch(&self, location: &str, validators: &Validators, limit: u64) -> Result<Fetched, FetchError> {
        match classify(location)? {
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
                    (None, _) => Ok(Fetched::NotModified),
                    (Some(mut body), Sink::Memory(bytes)) => {
                        body.bytes = bytes;
                        Ok(Fetched::Body(body))
                    }
                    (Some(body), Sink::File { .. }) => Ok(Fetched::Body(body)),
                }
            }
        }
    }

    /// Streams `location` into the file at `path`, stopping once `limit` bytes are exceeded.
    /// Returns the bytes written. For audio, which is too large to hold in memory.
    pub async fn download_to(&self, location: &str, path: &std::path::Path, limit: u64) -> Result<u64, FetchError> {
        let file_err = |e: std::io::Error| FetchError::File { path: path.to_path_buf(), reason: e.to_string() };
        match classify(location)? {
            Location::File(src) => {
                let len = tokio::fs::metadata(&src)
                    .await
                    .map_err(|e| FetchError::File { path: src.clone(), reason: e.to_string() })?
                    .len();
                if len > limit {
                    return Err(FetchError::TooLarge { url: src.display().to_string(), limit });
                }
                tokio::fs::copy(&src, path).await.map_err(file_err)
            }
            Location::Http(url) => {
                let file = tokio::fs::File::create(path).await.map_err(file_err)?;
                let mut sink = Sink::File { file, written: 0, path: path.to_path_buf() };
                let none = Validators::default();
                let work = self.fetch_http(url, &none, limit, &mut sink);
                match tokio::time::timeout(self.timeout, work).await {
                    Ok(r) => r?,
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

    /// Follows redirects by hand and streams the body into `sink`. Returns None on 304.
    async fn fetch_http(
        &self,
        start: url::Url,
        validators: &Validators,
        limit: u64,
        sink: &mut Sink,
    ) -> Result<Option<Body>, FetchError> {
        let mut url = start;
        let mut all_permanent = true;
        let mut hops = 0;
        loop {
            let mut req = self.client.get(url.clone());
            if let Some(etag) = &validators.etag {
                req = req.header(header::IF_NONE_MATCH, etag);
            }
            if let Some(lm) = &validators.last_modified {
                req = req.header(header::IF_MODIFIED_SINCE, lm);
            }
            let resp = req.send().await.map_err(|e| net_error(&url, e, self.timeout))?;
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
                all_permanent &= matches!(status, StatusCode::MOVED_PERMANENTLY | StatusCode::PERMANENT_REDIRECT);
                url = target;
                continue;
            }
            if status == StatusCode::NOT_MODIFIED {
                return Ok(None);
            }
            if !status.is_success() {
                return Err(FetchError::Status {
                    url: url.to_string(),
                    status: status.as_u16(),
                    retry_after: crate::http::retry_after(resp.headers(), Utc::now()),
                });
            }
            let headers = resp.headers().clone();
            if resp.content_length().is_some_and(|n| n > limit) {
                return Err(FetchError::TooLarge { url: url.to_string(), limit });
            }
            let mut resp = resp;
            while let Some(chunk) = resp.chunk().await.map_err(|e| net_error(&url, e, self.timeout))? {
                if sink.len() + chunk.len() as u64 > limit {
                    return Err(FetchError::TooLarge { url: url.to_string(), limit });
                }
                sink.write(&chunk).await?;
            }
            let header_str = |name| headers.get(name).and_then(|v: &HeaderValue| v.to_str().ok()).map(str::to_string);
            return Ok(Some(Body {
                bytes: Vec::new(),
                validators: Validators {
                    etag: header_str(header::ETAG),
                    last_modified: header_str(header::LAST_MODIFIED),
                },
                moved_to: (hops > 0 && all_permanent).then(|| url.to_string()),
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

async fn read_file(path: PathBuf, limit: u64) -> Result<Fetched, FetchError> {
    use tokio::io::AsyncReadExt;
    let err = |e: std::io::Error| FetchError::File { path: path.clone(), reason: e.to_string() };
    let file = tokio::fs::File::open(&path).await.map_err(err)?;
    let mut bytes = Vec::new();
    file.take(limit + 1).read_to_end(&mut bytes).await.map_err(err)?;
    if bytes.len() as u64 > limit {
        return Err(FetchError::TooLarge { url: path.display().to_string(), limit });
    }
    Ok(Fetched::Body(Body {
        bytes,
        validators: Validators::default(),
        final_url: path.display().to_string(),
        moved_to: None,
    }))
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
    fn locations() {
        assert!(matches!(classify("https://x.org/feed").unwrap(), Location::Http(_)));
        assert!(matches!(classify("file:///tmp/feed.xml").unwrap(), Location::File(_)));
        assert!(matches!(classify("config/demo/feed.xml").unwrap(), Location::File(_)));
        assert!(classify("ftp://x.org/feed").is_err());
    }
}
