//! What every HTTP conversation of podsift shares: the client it is built from (rustls, user
//! agent, timeouts), reading Retry-After, backoff with jitter, and the helpers for signed
//! requests (hex, constant-time comparison). Feeds, the LLM engine and the adapters all use it,
//! so a fix here reaches them all.

use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::header::{self, HeaderMap};

/// Sent with every request podsift makes.
pub const USER_AGENT: &str = concat!("podsift/", env!("CARGO_PKG_VERSION"));
/// A Retry-After longer than this is read as this: a server cannot park a feed for months.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(7 * 24 * 3600);

/// A client with podsift's user agent, the given timeouts and no automatic redirects (callers
/// that follow redirects do it themselves, to remember permanent ones and bound the hops).
pub fn client(connect_timeout: Duration, timeout: Option<Duration>) -> Result<reqwest::Client, String> {
    builder(connect_timeout, timeout).build().map_err(|e| format!("cannot build an HTTP client: {e}"))
}

/// The builder behind [`client`], for a caller that adds to it (a DNS resolver of its own).
pub fn builder(connect_timeout: Duration, timeout: Option<Duration>) -> reqwest::ClientBuilder {
    crate::ensure_tls_provider();
    let mut b = reqwest::Client::builder()
        .user_agent(USER_AGENT)
        .connect_timeout(connect_timeout)
        .redirect(reqwest::redirect::Policy::none());
    if let Some(t) = timeout {
        b = b.timeout(t);
    }
    b
}

/// The innermost cause of an error, which says the most ("connection refused", "dns error"),
/// with what to check when it is TLS's own words, which name no fix.
pub fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut reason = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        reason = s.to_string();
        source = s.source();
    }
    if answered_in_plain_http(&reason) {
        reason.push_str(" (the server does not speak TLS there: is the address http://, not https://?)");
    } else if reason.contains("invalid peer certificate") {
        reason.push_str(" (the server's TLS certificate is not trusted: expired, self-signed, or for another name)");
    }
    reason
}

/// Whether a connection's error (as [`root_cause`] gives it) says the server answered an https://
/// address in plain HTTP: the TLS library read that answer as the start of a handshake. Not an
/// outage that passes, but an address written wrong.
pub fn answered_in_plain_http(reason: &str) -> bool {
    reason.contains("InvalidContentType")
}

/// Reads Retry-After as seconds or an HTTP date.
pub fn retry_after(headers: &HeaderMap, now: DateTime<Utc>) -> Option<Duration> {
    let v = headers.get(header::RETRY_AFTER)?.to_str().ok()?.trim();
    let d = match v.parse::<u64>() {
        Ok(secs) => Duration::from_secs(secs),
        Err(_) => {
            let when = DateTime::parse_from_rfc2822(v).ok()?.with_timezone(&Utc);
            (when - now).to_std().unwrap_or(Duration::ZERO)
        }
    };
    Some(d.min(MAX_RETRY_AFTER))
}

/// base * 2^(n-1), at most `cap`: the wait before attempt n+1 (n counts failures from 1).
pub fn exponential(base: Duration, n: u32, cap: Duration) -> Duration {
    base.saturating_mul(1u32 << n.saturating_sub(1).min(30)).min(cap)
}

/// base * 2^(n-1), with up to 50% random jitter so retries of many destinations spread out.
pub fn backoff(base_ms: u64, n: u32) -> Duration {
    let exp = exponential(Duration::from_millis(base_ms), n.min(17), Duration::MAX).as_millis() as u64;
    let jitter = std::collections::hash_map::RandomState::new().build_hasher().finish() % (exp / 2 + 1);
    Duration::from_millis(exp + jitter)
}

/// HMAC-SHA256 of `message` under `key`.
pub fn hmac_sha256(key: &[u8], message: &[u8]) -> Vec<u8> {
    use hmac::Mac;
    let mut mac = <hmac::Hmac<sha2::Sha256> as Mac>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(message);
    mac.finalize().into_bytes().to_vec()
}

/// Lower-case hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Compares secrets in time independent of where they differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = a.len() ^ b.len();
    for i in 0..a.len().max(b.len()) {
        diff |= (*a.get(i).unwrap_or(&0) ^ *b.get(i).unwrap_or(&0)) as usize;
    }
    diff == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    /// An https:// address of a server that speaks plain HTTP fails with a hint at the scheme.
    #[tokio::test]
    async fn https_to_a_plain_http_server_says_to_check_the_scheme() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 1024];
            let _ = socket.read(&mut buf).await;
            let _ = socket.write_all(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n").await;
        });
        let client = client(Duration::from_secs(5), Some(Duration::from_secs(5))).unwrap();
        let e = client.get(format!("https://{addr}/feed.xml")).send().await.unwrap_err();
        let reason = root_cause(&e);
        assert!(reason.contains("is the address http://, not https://?"), "{reason}");
    }

    /// A server whose certificate no one vouches for: the hint names what to check.
    #[tokio::test]
    async fn an_untrusted_certificate_says_what_to_check() {
        crate::ensure_tls_provider();
        let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
        let der = rustls::pki_types::CertificateDer::from(cert.cert.der().to_vec());
        let key = rustls::pki_types::PrivateKeyDer::Pkcs8(cert.key_pair.serialize_der().into());
        let config = rustls::ServerConfig::builder().with_no_client_auth().with_single_cert(vec![der], key).unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.unwrap();
            let _ = acceptor.accept(tcp).await;
        });
        let client = client(Duration::from_secs(5), Some(Duration::from_secs(5))).unwrap();
        let e = client.get(format!("https://localhost:{port}/feed.xml")).send().await.unwrap_err();
        let reason = root_cause(&e);
        assert!(reason.contains("certificate is not trusted: expired, self-signed"), "{reason}");
    }

    #[test]
    fn retry_after_seconds_and_dates() {
        let mut h = HeaderMap::new();
        let now = DateTime::parse_from_rfc2822("Wed, 21 Oct 2015 07:28:00 GMT").unwrap().with_timezone(&Utc);
        h.insert(header::RETRY_AFTER, HeaderValue::from_static("120"));
        assert_eq!(retry_after(&h, now), Some(Duration::from_secs(120)));
        h.insert(header::RETRY_AFTER, HeaderValue::from_static("Wed, 21 Oct 2015 07:30:00 GMT"));
        assert_eq!(retry_after(&h, now), Some(Duration::from_secs(120)));
        h.insert(header::RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&h, now), None);
        h.insert(header::RETRY_AFTER, HeaderValue::from_static("99999999999"));
        assert_eq!(retry_after(&h, now), Some(MAX_RETRY_AFTER));
    }

    #[test]
    fn backoff_doubles_with_bounded_jitter() {
        for n in 1..6 {
            let d = backoff(100, n).as_millis() as u64;
            let base = 100 << (n - 1);
            assert!(d >= base && d <= base + base / 2, "{n}: {d}");
        }
    }

    #[test]
    fn secrets_compare_in_constant_time_shape() {
        assert!(constant_time_eq(b"secret", b"secret"));
        assert!(!constant_time_eq(b"secret", b"secreT"));
        assert!(!constant_time_eq(b"secret", b"secret-longer"));
        assert!(!constant_time_eq(b"", b"x"));
        assert_eq!(hex(&[0, 15, 255]), "000fff");
    }
}
