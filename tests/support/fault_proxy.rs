//! A fault-injecting HTTP proxy for tests: it forwards to a real registry (or Rekor) and,
//! for requests whose path contains a chosen fragment, replaces the answer with a fault:
//! a non-JSON manifest, a manifest of the wrong media type, a blob whose bytes do not
//! match its digest, a 500 (always, or once), or no answer within the client's timeout.
//!
//! HTTP/1.1 only, one request per connection (`Connection: close`); enough for reqwest and
//! hallmark, not a general proxy. TLS connections (a client probing HTTPS) are closed.
#![allow(dead_code, clippy::panic)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

/// What to do to matching answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Forward untouched.
    None,
    /// A success whose body is HTML, not a manifest or JSON answer (digest header dropped).
    NonJsonManifest,
    /// A manifest whose `mediaType` is rewritten to an unknown type (digest header dropped).
    WrongMediaType,
    /// A blob with one byte flipped.
    BadBlobDigest,
    /// HTTP 500 with a plain-text body.
    ServerError,
    /// HTTP 500 for the first matching request only; later ones are forwarded (a registry
    /// that fails once, as docker-registry does now and then under concurrent writes).
    ServerErrorOnce,
    /// Hold the connection this long before closing it without an answer.
    Timeout(Duration),
}

#[derive(Clone)]
struct Rule {
    fault: Fault,
    path_contains: String,
    method: Option<String>,
}

/// A running proxy.
pub struct FaultProxy {
    /// `127.0.0.1:PORT`.
    pub addr: String,
    rule: Arc<Mutex<Rule>>,
    /// Requests that hit the rule.
    hits: Arc<Mutex<usize>>,
}

impl FaultProxy {
    /// Start a proxy in front of `upstream` (`host:port`, plain HTTP) on the current
    /// tokio runtime.
    pub async fn start(upstream: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("binding the fault proxy: {e}"));
        let addr = listener
            .local_addr()
            .unwrap_or_else(|e| panic!("{e}"))
            .to_string();
        let rule = Arc::new(Mutex::new(Rule {
            fault: Fault::None,
            path_contains: String::new(),
            method: None,
        }));
        let hits = Arc::new(Mutex::new(0));
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        let upstream = upstream.to_owned();
        let (r, h) = (rule.clone(), hits.clone());
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (http, upstream, r, h) = (http.clone(), upstream.clone(), r.clone(), h.clone());
                tokio::spawn(async move {
                    let _ = serve(stream, &http, &upstream, &r, &h).await;
                });
            }
        });
        Self { addr, rule, hits }
    }

    /// Inject `fault` into answers to requests (of `method`, when given) whose path
    /// contains `path_contains`.
    pub fn set(&self, fault: Fault, method: Option<&str>, path_contains: &str) {
        if let Ok(mut r) = self.rule.lock() {
            *r = Rule {
                fault,
                path_contains: path_contains.to_owned(),
                method: method.map(str::to_owned),
            };
        }
        if let Ok(mut h) = self.hits.lock() {
            *h = 0;
        }
    }

    /// How many requests hit the rule since it was set.
    pub fn hits(&self) -> usize {
        self.hits.lock().map_or(0, |h| *h)
    }
}

async fn serve(
    mut stream: TcpStream,
    http: &reqwest::Client,
    upstream: &str,
    rule: &Mutex<Rule>,
    hits: &Mutex<usize>,
) -> std::io::Result<()> {
    // Read the head.
    let mut buf = Vec::new();
    let head_end = loop {
        let mut chunk = [0u8; 4096];
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
        if buf.first() == Some(&0x16) {
            return Ok(()); // a TLS handshake: not for us
        }
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        if buf.len() > 1 << 20 {
            return Ok(());
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap_or_default();
    let mut parts = request_line.split(' ');
    let (method, path) = (
        parts.next().unwrap_or("GET").to_owned(),
        parts.next().unwrap_or("/").to_owned(),
    );
    let headers: Vec<(String, String)> = lines
        .filter(|l| !l.is_empty())
        .filter_map(|l| {
            l.split_once(':')
                .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        })
        .collect();
    let length: usize = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = buf[head_end..].to_vec();
    while body.len() < length {
        let mut chunk = vec![0u8; (length - body.len()).min(1 << 16)];
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }

    let active = rule.lock().map(|r| r.clone()).ok();
    let applies = active.as_ref().is_some_and(|r| {
        r.fault != Fault::None
            && path.contains(&r.path_contains)
            && r.method
                .as_deref()
                .is_none_or(|m| m.eq_ignore_ascii_case(&method))
    });
    let fault = if applies {
        let first = hits.lock().is_ok_and(|mut h| {
            *h += 1;
            *h == 1
        });
        match active.map_or(Fault::None, |r| r.fault) {
            Fault::ServerErrorOnce if first => Fault::ServerError,
            Fault::ServerErrorOnce => Fault::None,
            f => f,
        }
    } else {
        Fault::None
    };
    match fault {
        Fault::ServerError => {
            return write_response(
                &mut stream,
                500,
                &[("Content-Type".into(), "text/plain".into())],
                b"injected failure",
            )
            .await;
        }
        Fault::Timeout(d) => {
            tokio::time::sleep(d).await;
            return Ok(());
        }
        _ => {}
    }

    // Forward, keeping the Host header so Location headers point back at the proxy.
    let url = format!("http://{upstream}{path}");
    let mut req = http.request(
        reqwest::Method::from_bytes(method.as_bytes()).unwrap_or(reqwest::Method::GET),
        &url,
    );
    for (k, v) in &headers {
        if !k.eq_ignore_ascii_case("content-length") && !k.eq_ignore_ascii_case("connection") {
            req = req.header(k.as_str(), v.as_str());
        }
    }
    let resp = match req.body(body).send().await {
        Ok(r) => r,
        Err(_) => return write_response(&mut stream, 502, &[], b"upstream unreachable").await,
    };
    let status = resp.status().as_u16();
    let mut out_headers: Vec<(String, String)> = resp
        .headers()
        .iter()
        .filter(|(k, _)| {
            let k = k.as_str();
            k != "content-length" && k != "connection" && k != "transfer-encoding"
        })
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                v.to_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let mut out = resp.bytes().await.map(|b| b.to_vec()).unwrap_or_default();
    let drop_digest =
        |h: &mut Vec<(String, String)>| h.retain(|(k, _)| k != "docker-content-digest");
    match fault {
        Fault::NonJsonManifest if (200..300).contains(&status) => {
            out = b"<html><body>not a manifest</body></html>".to_vec();
            drop_digest(&mut out_headers);
        }
        Fault::WrongMediaType if status == 200 => {
            let text = String::from_utf8_lossy(&out).to_string();
            out = text
                .replace(
                    "application/vnd.oci.image.manifest.v1+json",
                    "application/x-not-a-manifest",
                )
                .replace(
                    "application/vnd.oci.image.index.v1+json",
                    "application/x-not-an-index",
                )
                .into_bytes();
            drop_digest(&mut out_headers);
        }
        Fault::BadBlobDigest if status == 200 => {
            if let Some(b) = out.first_mut() {
                *b ^= 0xff;
            }
        }
        _ => {}
    }
    write_response(&mut stream, status, &out_headers, &out).await
}

async fn write_response(
    stream: &mut TcpStream,
    status: u16,
    headers: &[(String, String)],
    body: &[u8],
) -> std::io::Result<()> {
    let mut head = format!("HTTP/1.1 {status} X\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    ));
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body).await?;
    stream.shutdown().await
}
