//! A recording HTTP/1.1 forwarder between the client and Prism.
//!
//! Every request the client sends goes through it: it reads the request
//! (head and body), writes down method, target, headers and body, forwards
//! it to Prism with `Connection: close`, reads Prism's whole answer, writes
//! down its status and `sl-violations` header, and hands the answer back
//! unchanged except for `Connection: close`. One request per connection
//! keeps it simple; the clients of the suite do not pool connections.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// One request and what Prism answered.
#[derive(Debug, Clone)]
pub struct Exchange {
    /// Request method, upper case.
    pub method: String,
    /// Request target as sent (`/v2/dlq?label=a`).
    pub target: String,
    /// Request headers, names in lower case, in order.
    pub headers: Vec<(String, String)>,
    /// Request body (de-chunked).
    pub body: Vec<u8>,
    /// Response status from Prism (0 when Prism could not be reached).
    pub status: u16,
    /// The `sl-violations` response header, parsed (a JSON list).
    pub violations: Vec<Value>,
    /// Set when the `sl-violations` header was present but not a JSON list.
    pub violations_unreadable: Option<String>,
    /// The response body (for failure messages).
    pub response_body: Vec<u8>,
}

impl Exchange {
    /// The path, without the query.
    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or_default()
    }

    /// The query pairs, names and values percent-decoded, in order.
    pub fn query(&self) -> Vec<(String, String)> {
        let Some((_, q)) = self.target.split_once('?') else {
            return Vec::new();
        };
        q.split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                (percent_decode(k), percent_decode(v))
            })
            .collect()
    }

    /// Values of the query parameter `name`, in order.
    pub fn query_values(&self, name: &str) -> Vec<String> {
        self.query()
            .into_iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v)
            .collect()
    }

    /// Values of a request header (any case), in order.
    pub fn header(&self, name: &str) -> Vec<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .filter(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The entries of `sl-violations` about the request (their `location`
    /// starts with `request`).
    pub fn request_violations(&self) -> Vec<&Value> {
        self.violations
            .iter()
            .filter(|v| violation_is_request_side(v))
            .collect()
    }

    /// `METHOD /target -> status`, for messages.
    pub fn describe(&self) -> String {
        format!("{} {} -> {}", self.method, self.target, self.status)
    }
}

/// True for a violation whose `location` starts with `request` (a list
/// such as `["request", "header", "x"]`, or a string).
pub fn violation_is_request_side(v: &Value) -> bool {
    match v.get("location") {
        Some(Value::Array(parts)) => parts.first().and_then(Value::as_str) == Some("request"),
        Some(Value::String(s)) => s.starts_with("request"),
        _ => false,
    }
}

/// Percent-decodes a query component (`+` is a space).
pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The running forwarder; stops when dropped.
pub struct Recorder {
    /// Where the client should send its requests.
    pub addr: SocketAddr,
    log: Arc<Mutex<Vec<Exchange>>>,
    task: JoinHandle<()>,
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Recorder {
    /// Starts forwarding to `upstream` on a free loopback port.
    pub async fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the recording proxy on 127.0.0.1");
        let addr = listener.local_addr().expect("proxy address");
        let log: Arc<Mutex<Vec<Exchange>>> = Arc::default();
        let task_log = log.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let log = task_log.clone();
                tokio::spawn(async move {
                    if let Err(e) = handle(stream, upstream, log.clone()).await {
                        eprintln!("contract proxy: {e}");
                    }
                });
            }
        });
        Self { addr, log, task }
    }

    /// The base URL to give the client.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every exchange recorded so far, in order.
    pub fn len(&self) -> usize {
        self.log.lock().unwrap().len()
    }

    /// The exchanges from index `from` on.
    pub fn since(&self, from: usize) -> Vec<Exchange> {
        self.log.lock().unwrap()[from..].to_vec()
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Reads until the end of an HTTP head; returns (head, bytes after it).
async fn read_head(stream: &mut TcpStream) -> std::io::Result<Option<(String, Vec<u8>)>> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        if let Some(end) = find(&buf, b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).into_owned();
            return Ok(Some((head, buf[end + 4..].to_vec())));
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(None);
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

fn parse_headers<'a>(lines: impl Iterator<Item = &'a str>) -> Vec<(String, String)> {
    lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect()
}

/// Reads a request body as its headers frame it.
async fn read_body(
    stream: &mut TcpStream,
    headers: &[(String, String)],
    mut already: Vec<u8>,
) -> std::io::Result<Vec<u8>> {
    let get = |n: &str| headers.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
    let mut chunk = [0u8; 8192];
    if get("transfer-encoding").is_some_and(|v| v.to_ascii_lowercase().contains("chunked")) {
        // Read until the terminating zero-size chunk, then decode.
        loop {
            if let Some(body) = dechunk(&already) {
                return Ok(body);
            }
            let n = stream.read(&mut chunk).await?;
            if n == 0 {
                return Err(std::io::Error::other(
                    "connection closed inside a chunked body",
                ));
            }
            already.extend_from_slice(&chunk[..n]);
        }
    }
    let len: usize = get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    while already.len() < len {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::Error::other("connection closed inside the body"));
        }
        already.extend_from_slice(&chunk[..n]);
    }
    already.truncate(len);
    Ok(already)
}

/// Decodes a complete chunked body; `None` while incomplete.
fn dechunk(data: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut at = 0;
    loop {
        let line_end = at + find(&data[at..], b"\r\n")?;
        let size_text = String::from_utf8_lossy(&data[at..line_end]);
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        at = line_end + 2;
        if size == 0 {
            return Some(out);
        }
        if data.len() < at + size + 2 {
            return None;
        }
        out.extend_from_slice(&data[at..at + size]);
        at += size + 2;
    }
}

const HOP_BY_HOP: [&str; 5] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "content-length",
];

async fn handle(
    mut client: TcpStream,
    upstream: SocketAddr,
    log: Arc<Mutex<Vec<Exchange>>>,
) -> std::io::Result<()> {
    let Some((head, rest)) = read_head(&mut client).await? else {
        return Ok(());
    };
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap_or_default().to_string();
    let mut parts = request_line.split(' ');
    let method = parts.next().unwrap_or_default().to_string();
    let target = parts.next().unwrap_or_default().to_string();
    let headers = parse_headers(lines);
    let body = read_body(&mut client, &headers, rest).await?;

    // Forward, framed by Content-Length, asking Prism to close afterwards.
    let mut out = format!("{method} {target} HTTP/1.1\r\n");
    for (k, v) in &headers {
        if !HOP_BY_HOP.contains(&k.as_str()) {
            out.push_str(&format!("{k}: {v}\r\n"));
        }
    }
    out.push_str(&format!(
        "content-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    ));
    let mut request_bytes = out.into_bytes();
    request_bytes.extend_from_slice(&body);

    let response = async {
        let mut up = TcpStream::connect(upstream).await?;
        up.write_all(&request_bytes).await?;
        let mut response = Vec::new();
        up.read_to_end(&mut response).await?;
        Ok::<_, std::io::Error>(response)
    };
    let response = match tokio::time::timeout(Duration::from_secs(30), response).await {
        Ok(Ok(r)) if find(&r, b"\r\n\r\n").is_some() => r,
        other => {
            let why = match other {
                Ok(Ok(_)) => "Prism closed the connection without an HTTP answer".to_string(),
                Ok(Err(e)) => format!("cannot talk to Prism: {e}"),
                Err(_) => "Prism did not answer within 30 s".to_string(),
            };
            log.lock().unwrap().push(Exchange {
                method,
                target,
                headers,
                body,
                status: 0,
                violations: Vec::new(),
                violations_unreadable: Some(why.clone()),
                response_body: Vec::new(),
            });
            let msg = format!(
                "HTTP/1.1 502 Bad Gateway\r\ncontent-type: text/plain\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{why}",
                why.len()
            );
            client.write_all(msg.as_bytes()).await?;
            return client.shutdown().await;
        }
    };

    let end = find(&response, b"\r\n\r\n").unwrap_or_default();
    let response_head = String::from_utf8_lossy(&response[..end]).into_owned();
    let response_body = response[end + 4..].to_vec();
    let mut rlines = response_head.split("\r\n");
    let status_line = rlines.next().unwrap_or_default().to_string();
    let status: u16 = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let rheaders: Vec<(String, String)> = rlines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let raw_violations = rheaders
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("sl-violations"))
        .map(|(_, v)| v.clone());
    let (violations, violations_unreadable) = match &raw_violations {
        None => (Vec::new(), None),
        Some(raw) => match serde_json::from_str::<Vec<Value>>(raw) {
            Ok(list) => (list, None),
            Err(e) => (Vec::new(), Some(format!("{e}: {raw}"))),
        },
    };

    let mut back = format!("{status_line}\r\n");
    for (k, v) in &rheaders {
        let lower = k.to_ascii_lowercase();
        if lower != "connection" && lower != "keep-alive" {
            back.push_str(&format!("{k}: {v}\r\n"));
        }
    }
    back.push_str("connection: close\r\n\r\n");
    let mut back = back.into_bytes();
    back.extend_from_slice(&response_body);

    log.lock().unwrap().push(Exchange {
        method,
        target,
        headers,
        body,
        status,
        violations,
        violations_unreadable,
        response_body: response_body.clone(),
    });
    client.write_all(&back).await?;
    client.shutdown().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dechunks_a_complete_body() {
        assert_eq!(
            dechunk(b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n").unwrap(),
            b"abcde"
        );
        assert!(dechunk(b"3\r\nab").is_none());
    }

    #[test]
    fn decodes_query_components() {
        assert_eq!(percent_decode("a%2Fb+c"), "a/b c");
        assert_eq!(percent_decode("100%"), "100%");
    }
}
