//! [`RegistryClient`]: the OCI distribution API over HTTP (reqwest with rustls and
//! aws-lc-rs), implementing [`Fetcher`].
//!
//! - Credentials come from docker's `config.json` (`$DOCKER_CONFIG` or `~/.docker`,
//!   credential helpers included) or from the bytes of a `dockerconfigjson` secret.
//! - Authentication follows the registry's `WWW-Authenticate` challenge: HTTP basic, or
//!   the bearer-token flow (a token per repository scope, cached).
//! - Plain HTTP is used only for registries in the insecure list (by default `localhost`,
//!   `127.0.0.1` and `[::1]` on any port, as cosign and crane do), and only after HTTPS
//!   failed to connect (go-containerregistry's order: HTTPS first, then HTTP).
//! - Extra CA certificates are added to the system roots.
//! - Every body is read up to a limit and checked against its digest.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderValue, WWW_AUTHENTICATE};

use super::manifest::{ACCEPT_MANIFESTS, Descriptor, MAX_MANIFEST_BYTES};
use super::reference::{DOCKER_HUB, Digest, Repository};
use super::{Fetched, Fetcher, OciError};

/// Where registry credentials come from.
#[derive(Clone, Debug, Default)]
pub enum CredentialSource {
    /// docker's `config.json` in `$DOCKER_CONFIG` or `~/.docker` (the default).
    #[default]
    DockerConfig,
    /// The content of a docker `config.json` (a Kubernetes `dockerconfigjson` secret).
    DockerConfigJson(Vec<u8>),
    /// No credentials.
    Anonymous,
}

/// How to reach registries.
#[derive(Clone, Debug)]
pub struct RegistryOptions {
    /// Registries (`host` or `host:port`) reached over plain HTTP. Hosts `localhost`,
    /// `127.0.0.1` and `[::1]` are always included, on any port.
    pub insecure_registries: Vec<String>,
    /// PEM files of extra CA certificates, trusted besides the system roots.
    pub ca_files: Vec<PathBuf>,
    /// Timeout of one HTTP request (connect and whole response).
    pub timeout: Duration,
    /// Where credentials come from.
    pub credentials: CredentialSource,
}

impl Default for RegistryOptions {
    fn default() -> Self {
        Self {
            insecure_registries: Vec::new(),
            ca_files: Vec::new(),
            timeout: Duration::from_secs(30),
            credentials: CredentialSource::DockerConfig,
        }
    }
}

#[derive(Clone)]
enum Credential {
    Basic(String, String),
    IdentityToken(String),
}

/// An OCI registry client. Cheap to share: tokens and credentials are cached inside.
pub struct RegistryClient {
    http: reqwest::Client,
    options: RegistryOptions,
    /// Authorization header values by (registry, scope).
    tokens: Mutex<HashMap<(String, String), HeaderValue>>,
    /// Credentials by registry (None: anonymous).
    credentials: Mutex<HashMap<String, Option<Credential>>>,
    /// The scheme each insecure registry answered on.
    schemes: Mutex<HashMap<String, &'static str>>,
    /// Whether each registry completes a single-`POST` blob upload (`true`), or answered
    /// one with `202 Accepted` and so needs `POST` + `PUT` (`false`).
    single_post: Mutex<HashMap<String, bool>>,
}

/// Blobs up to this size are uploaded without a `HEAD` first on registries that take a
/// single-`POST` upload: one request either way, and the upload leaves no doubt.
const SMALL_BLOB: usize = 64 << 10;
/// How many times a request is sent when the registry answers 429, 500, 502, 503 or 504,
/// or cannot be connected to (not after a timeout: that already took long).
const REQUEST_ATTEMPTS: usize = 3;
/// The wait before the second attempt (then 4 times longer).
const RETRY_DELAY: std::time::Duration = std::time::Duration::from_millis(100);

/// Statuses worth another try.
fn retryable_status(status: StatusCode) -> bool {
    matches!(status.as_u16(), 429 | 500 | 502 | 503 | 504)
}

const USER_AGENT: &str = concat!("hallmark/", env!("CARGO_PKG_VERSION"));

impl RegistryClient {
    /// Build a client.
    ///
    /// # Errors
    ///
    /// [`OciError::Config`] when a CA file cannot be read or parsed, or the TLS stack
    /// cannot be set up.
    pub fn new(options: RegistryOptions) -> Result<Self, OciError> {
        let mut roots = Vec::new();
        for path in &options.ca_files {
            let pem = std::fs::read(path).map_err(|e| {
                OciError::Config(format!("reading CA file {}: {e}", path.display()))
            })?;
            let certs = pem_rfc7468_certificates(&pem)
                .map_err(|e| OciError::Config(format!("CA file {}: {e}", path.display())))?;
            if certs.is_empty() {
                return Err(OciError::Config(format!(
                    "CA file {} holds no PEM certificate",
                    path.display()
                )));
            }
            roots.extend(certs);
        }
        let http = crate::http::client_builder_with_roots(roots)
            .user_agent(USER_AGENT)
            .connect_timeout(options.timeout)
            .timeout(options.timeout)
            .build()
            .map_err(|e| OciError::Config(format!("building the HTTP client: {e}")))?;
        Ok(Self {
            http,
            options,
            tokens: Mutex::new(HashMap::new()),
            credentials: Mutex::new(HashMap::new()),
            schemes: Mutex::new(HashMap::new()),
            single_post: Mutex::new(HashMap::new()),
        })
    }

    /// Whether `registry` is reached over plain HTTP.
    #[must_use]
    pub fn is_insecure(&self, registry: &str) -> bool {
        let host = host_of(registry);
        matches!(host, "localhost" | "127.0.0.1" | "[::1]" | "::1")
            || self
                .options
                .insecure_registries
                .iter()
                .any(|r| r == registry || r == host)
    }

    /// `https`; for an insecure registry, `http` when its port answers plain HTTP (with
    /// anything but a 400, which is a TLS port's answer), else `https` if that connects.
    async fn scheme(&self, repo: &Repository) -> &'static str {
        if !self.is_insecure(&repo.registry) {
            return "https";
        }
        if let Some(s) = self
            .schemes
            .lock()
            .ok()
            .and_then(|m| m.get(&repo.registry).copied())
        {
            return s;
        }
        // Plain HTTP first: an insecure registry is most often a plain one (a local or
        // test registry), and this spares a TLS handshake that cannot succeed (whose
        // first random number alone costs tens of milliseconds in aws-lc). A TLS port
        // answers a plain request with a 400: then HTTPS, so that a TLS error (an
        // untrusted CA) is reported as such. If nothing answers in plain HTTP, HTTPS when
        // it connects, else HTTP (whose error is then reported).
        let limit = self.options.timeout.min(std::time::Duration::from_secs(5));
        let plain = self
            .http
            .get(format!("http://{}/v2/", repo.api_host()))
            .timeout(limit)
            .send()
            .await;
        let scheme = match plain {
            Ok(r) if r.status() == StatusCode::BAD_REQUEST => "https",
            Ok(_) => "http",
            Err(_) => {
                let tls = self
                    .http
                    .get(format!("https://{}/v2/", repo.api_host()))
                    .timeout(limit)
                    .send()
                    .await;
                if tls.is_ok() { "https" } else { "http" }
            }
        };
        if let Ok(mut m) = self.schemes.lock() {
            m.insert(repo.registry.clone(), scheme);
        }
        scheme
    }

    async fn base_url(&self, repo: &Repository) -> String {
        let scheme = self.scheme(repo).await;
        format!("{scheme}://{}/v2/{}", repo.api_host(), repo.name)
    }

    fn credential(&self, registry: &str) -> Result<Option<Credential>, OciError> {
        if let Ok(cache) = self.credentials.lock()
            && let Some(c) = cache.get(registry)
        {
            return Ok(c.clone());
        }
        let keys: Vec<String> = if registry == DOCKER_HUB {
            vec![
                "https://index.docker.io/v1/".into(),
                "index.docker.io".into(),
                DOCKER_HUB.into(),
            ]
        } else {
            vec![
                registry.to_owned(),
                format!("https://{registry}"),
                format!("http://{registry}"),
            ]
        };
        let mut found = None;
        let no_config = matches!(self.options.credentials, CredentialSource::DockerConfig)
            && !docker_config_file().is_some_and(|p| p.exists());
        for key in keys.iter().filter(|_| !no_config) {
            let got = match &self.options.credentials {
                CredentialSource::Anonymous => break,
                CredentialSource::DockerConfig => docker_credential::get_credential(key),
                CredentialSource::DockerConfigJson(json) => {
                    docker_credential::get_credential_from_reader(json.as_slice(), key)
                }
            };
            match got {
                Ok(docker_credential::DockerCredential::UsernamePassword(u, p)) => {
                    found = Some(Credential::Basic(u, p));
                    break;
                }
                Ok(docker_credential::DockerCredential::IdentityToken(t)) => {
                    found = Some(Credential::IdentityToken(t));
                    break;
                }
                Err(
                    docker_credential::CredentialRetrievalError::NoCredentialConfigured
                    | docker_credential::CredentialRetrievalError::ConfigNotFound,
                ) => {}
                Err(e) => {
                    return Err(OciError::Credentials {
                        registry: registry.to_owned(),
                        reason: e.to_string(),
                    });
                }
            }
        }
        if let Ok(mut cache) = self.credentials.lock() {
            cache.insert(registry.to_owned(), found.clone());
        }
        Ok(found)
    }

    fn cached_auth(&self, registry: &str, scope: &str) -> Option<HeaderValue> {
        self.tokens
            .lock()
            .ok()?
            .get(&(registry.to_owned(), scope.to_owned()))
            .cloned()
    }

    /// Send a GET (with the cached authorization for the scope), answering a 401 challenge
    /// once: basic credentials, or a bearer token from the challenge's realm.
    async fn get(
        &self,
        repo: &Repository,
        url: &str,
        accept: &[&str],
    ) -> Result<reqwest::Response, OciError> {
        self.send(reqwest::Method::GET, repo, url, accept, None)
            .await
    }

    /// Send a request; `body` (bytes and content type) makes it a write, which asks for
    /// the `pull,push` scope.
    async fn send(
        &self,
        method: reqwest::Method,
        repo: &Repository,
        url: &str,
        accept: &[&str],
        body: Option<(&[u8], &str)>,
    ) -> Result<reqwest::Response, OciError> {
        let write = method != reqwest::Method::GET && method != reqwest::Method::HEAD;
        let scope = if write {
            format!("repository:{}:pull,push", repo.name)
        } else {
            format!("repository:{}:pull", repo.name)
        };
        let request = |auth: Option<HeaderValue>| {
            let mut r = self.http.request(method.clone(), url);
            if !accept.is_empty() {
                r = r.header(ACCEPT, accept.join(", "));
            }
            if let Some((bytes, content_type)) = body {
                r = r.header(CONTENT_TYPE, content_type).body(bytes.to_vec());
            } else if write {
                r = r.header(reqwest::header::CONTENT_LENGTH, "0");
            }
            if let Some(a) = auth {
                r = r.header(AUTHORIZATION, a);
            }
            r
        };
        // A busy or briefly failing registry (docker-registry answers concurrent writes of
        // one tag with a 500 now and then) gets a few more tries: every request here can
        // be sent again (reads, content-addressed blobs, a manifest under a tag).
        let send = |r: reqwest::RequestBuilder| async move {
            let mut delay = RETRY_DELAY;
            for _ in 1..REQUEST_ATTEMPTS {
                let Some(again) = r.try_clone() else { break };
                match again.send().await {
                    Ok(resp) if !retryable_status(resp.status()) => return Ok(resp),
                    Err(e) if !e.is_connect() => {
                        return Err(OciError::Request {
                            registry: repo.registry.clone(),
                            url: url.to_owned(),
                            source: e,
                        });
                    }
                    _ => {
                        tokio::time::sleep(delay).await;
                        delay *= 4;
                    }
                }
            }
            r.send().await.map_err(|source| OciError::Request {
                registry: repo.registry.clone(),
                url: url.to_owned(),
                source,
            })
        };
        let cached = self.cached_auth(&repo.registry, &scope);
        let had_cached = cached.is_some();
        let response = send(request(cached)).await?;
        if response.status() != StatusCode::UNAUTHORIZED {
            return Ok(response);
        }
        let challenge = response
            .headers()
            .get(WWW_AUTHENTICATE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let credential = self.credential(&repo.registry)?;
        let unauthorized = |status: u16| OciError::Unauthorized {
            registry: repo.registry.clone(),
            url: url.to_owned(),
            status,
            has_credentials: credential.is_some(),
        };
        let Some(challenge) = challenge else {
            return Err(unauthorized(401));
        };
        let auth = match parse_challenge(&challenge) {
            Some(Challenge::Basic) => match &credential {
                Some(Credential::Basic(u, p)) => basic_header(u, p),
                _ => return Err(unauthorized(401)),
            },
            Some(Challenge::Bearer { realm, service }) => {
                if had_cached {
                    // A cached token expired: forget it and fetch a new one.
                    if let Ok(mut t) = self.tokens.lock() {
                        t.remove(&(repo.registry.clone(), scope.clone()));
                    }
                }
                self.token(
                    repo,
                    &realm,
                    service.as_deref(),
                    &scope,
                    credential.as_ref(),
                )
                .await?
            }
            None => {
                return Err(OciError::Token {
                    registry: repo.registry.clone(),
                    reason: format!("unsupported WWW-Authenticate challenge `{challenge}`"),
                });
            }
        };
        if let Ok(mut t) = self.tokens.lock() {
            t.insert((repo.registry.clone(), scope.clone()), auth.clone());
        }
        let response = send(request(Some(auth))).await?;
        match response.status() {
            StatusCode::UNAUTHORIZED => Err(unauthorized(401)),
            _ => Ok(response),
        }
    }

    /// The bearer-token flow (distribution's token authentication).
    async fn token(
        &self,
        repo: &Repository,
        realm: &str,
        service: Option<&str>,
        scope: &str,
        credential: Option<&Credential>,
    ) -> Result<HeaderValue, OciError> {
        let token_error = |reason: String| OciError::Token {
            registry: repo.registry.clone(),
            reason,
        };
        let realm_url = reqwest::Url::parse(realm)
            .map_err(|e| token_error(format!("invalid realm `{realm}`: {e}")))?;
        if realm_url.scheme() != "https" && !self.is_insecure(&repo.registry) {
            return Err(token_error(format!(
                "the token realm {realm} is not https: refusing to send credentials over plain HTTP"
            )));
        }
        let mut query: Vec<(&str, &str)> = vec![("scope", scope)];
        if let Some(s) = service {
            query.push(("service", s));
        }
        let request = match credential {
            Some(Credential::IdentityToken(refresh)) => {
                let mut form = query.clone();
                form.extend([
                    ("grant_type", "refresh_token"),
                    ("refresh_token", refresh.as_str()),
                    ("client_id", "hallmark"),
                ]);
                self.http.post(realm_url).form(&form)
            }
            Some(Credential::Basic(u, p)) => self
                .http
                .get(realm_url)
                .query(&query)
                .basic_auth(u, Some(p)),
            None => self.http.get(realm_url).query(&query),
        };
        let response = request
            .send()
            .await
            .map_err(|e| token_error(format!("request to {realm} failed: {e}")))?;
        let status = response.status();
        if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
            return Err(OciError::Unauthorized {
                registry: repo.registry.clone(),
                url: realm.to_owned(),
                status: status.as_u16(),
                has_credentials: credential.is_some(),
            });
        }
        if !status.is_success() {
            return Err(token_error(format!(
                "{realm} answered HTTP {}",
                status.as_u16()
            )));
        }
        let body = read_limited(response, 1 << 20, realm, &repo.registry).await?;
        #[derive(serde::Deserialize)]
        struct TokenResponse {
            #[serde(default)]
            token: Option<String>,
            #[serde(default)]
            access_token: Option<String>,
        }
        let parsed: TokenResponse = serde_json::from_slice(&body).map_err(|e| {
            token_error(format!(
                "{realm} answered something other than a token: {e}"
            ))
        })?;
        let token = parsed
            .token
            .filter(|t| !t.is_empty())
            .or(parsed.access_token)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| token_error(format!("{realm} answered no token")))?;
        HeaderValue::from_str(&format!("Bearer {token}"))
            .map_err(|_| token_error("the token is not a valid header value".into()))
    }
}

/// `$DOCKER_CONFIG/config.json`, or `~/.docker/config.json`.
fn docker_config_file() -> Option<PathBuf> {
    std::env::var_os("DOCKER_CONFIG")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".docker")))
        .map(|d| d.join("config.json"))
}

fn basic_header(user: &str, password: &str) -> HeaderValue {
    use base64::Engine as _;
    let raw = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    HeaderValue::from_str(&format!("Basic {raw}")).unwrap_or_else(|_| HeaderValue::from_static(""))
}

fn host_of(registry: &str) -> &str {
    if registry.starts_with('[') {
        return registry
            .split_once(']')
            .map_or(registry, |(h, _)| &registry[..=h.len()]);
    }
    registry.split(':').next().unwrap_or(registry)
}

#[derive(Debug, PartialEq, Eq)]
enum Challenge {
    Basic,
    Bearer {
        realm: String,
        service: Option<String>,
    },
}

/// The first supported challenge of a `WWW-Authenticate` value.
fn parse_challenge(value: &str) -> Option<Challenge> {
    let challenges = http_auth::parse_challenges(value).ok()?;
    for c in challenges {
        if c.scheme.eq_ignore_ascii_case("bearer") {
            let param = |name: &str| {
                c.params
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(name))
                    .map(|(_, v)| v.to_unescaped())
            };
            if let Some(realm) = param("realm") {
                return Some(Challenge::Bearer {
                    realm,
                    service: param("service"),
                });
            }
        } else if c.scheme.eq_ignore_ascii_case("basic") {
            return Some(Challenge::Basic);
        }
    }
    None
}

/// Read a response body, refusing more than `limit` bytes.
async fn read_limited(
    mut response: reqwest::Response,
    limit: usize,
    what: &str,
    registry: &str,
) -> Result<Vec<u8>, OciError> {
    if response.content_length().is_some_and(|n| n > limit as u64) {
        return Err(OciError::TooLarge {
            what: what.to_owned(),
            limit,
        });
    }
    let mut body = Vec::new();
    loop {
        let chunk = response.chunk().await.map_err(|source| OciError::Request {
            registry: registry.to_owned(),
            url: what.to_owned(),
            source,
        })?;
        let Some(chunk) = chunk else { break };
        if body.len() + chunk.len() > limit {
            return Err(OciError::TooLarge {
                what: what.to_owned(),
                limit,
            });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// An error for a status other than the expected one, with the start of the body.
async fn status_error(response: reqwest::Response, repo: &Repository, url: &str) -> OciError {
    let status = response.status().as_u16();
    if status == 401 || status == 403 {
        return OciError::Unauthorized {
            registry: repo.registry.clone(),
            url: url.to_owned(),
            status,
            has_credentials: true,
        };
    }
    let body = read_limited(response, 64 << 10, url, &repo.registry)
        .await
        .unwrap_or_default();
    let mut message: String = String::from_utf8_lossy(&body)
        .trim()
        .chars()
        .take(200)
        .collect();
    message.retain(|c| !c.is_control());
    OciError::Status {
        registry: repo.registry.clone(),
        url: url.to_owned(),
        status,
        message,
    }
}

/// Parse a tag list (`{"name": "...", "tags": ["..."]}`; `"tags": null` is an empty
/// list). Tags that are not valid tag names (`[A-Za-z0-9_][A-Za-z0-9._-]{0,127}`) are
/// dropped: they are never put into a URL.
///
/// # Errors
///
/// [`OciError::Malformed`] when the bytes are not such a document.
pub fn parse_tags_list(what: &str, bytes: &[u8]) -> Result<Vec<String>, OciError> {
    #[derive(serde::Deserialize)]
    struct TagList {
        #[serde(default)]
        tags: Option<Vec<String>>,
    }
    let list: TagList = serde_json::from_slice(bytes).map_err(|e| OciError::Malformed {
        what: what.to_owned(),
        reason: e.to_string(),
    })?;
    Ok(list
        .tags
        .unwrap_or_default()
        .into_iter()
        .filter(|t| is_valid_tag(t))
        .collect())
}

/// Whether `tag` is a valid tag name (the distribution spec's
/// `[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`).
#[must_use]
pub fn is_valid_tag(tag: &str) -> bool {
    let mut chars = tag.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
        && tag.len() <= 128
        && chars.all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
}

/// The `rel="next"` target of an RFC 8288 `Link` header value (`<URL>; rel="next"`), as
/// written (often a path relative to the registry).
#[must_use]
pub fn next_link(value: &str) -> Option<String> {
    value.split(',').find_map(|link| {
        let (target, params) = link.trim().split_once(';')?;
        let target = target.trim().strip_prefix('<')?.strip_suffix('>')?;
        params
            .split(';')
            .filter_map(|p| p.trim().split_once('='))
            .any(|(k, v)| {
                k.trim().eq_ignore_ascii_case("rel")
                    && v.trim()
                        .trim_matches('"')
                        .split_ascii_whitespace()
                        .any(|r| r.eq_ignore_ascii_case("next"))
            })
            .then(|| target.to_owned())
    })
}

/// `next` resolved against `base`, when it stays on the same scheme, host and port (a
/// registry's pagination link never sends the client, and its credentials, elsewhere).
fn same_origin_join(base: &str, next: &str) -> Option<String> {
    let base = reqwest::Url::parse(base).ok()?;
    let joined = base.join(next).ok()?;
    (joined.origin() == base.origin()).then(|| joined.to_string())
}

impl Fetcher for RegistryClient {
    async fn tags(&self, repo: &Repository, limit: usize) -> Result<Vec<String>, OciError> {
        self.list_tags(repo, limit).await
    }

    async fn manifest(
        &self,
        repo: &Repository,
        reference: &str,
    ) -> Result<Option<Fetched>, OciError> {
        let url = format!("{}/manifests/{reference}", self.base_url(repo).await);
        let response = self.get(repo, &url, &ACCEPT_MANIFESTS).await?;
        match response.status() {
            StatusCode::OK => {}
            StatusCode::NOT_FOUND => return Ok(None),
            _ => return Err(status_error(response, repo, &url).await),
        }
        let media_type = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|s| s.split(';').next().unwrap_or(s).trim().to_owned());
        let header_digest = response
            .headers()
            .get("docker-content-digest")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let bytes = read_limited(response, MAX_MANIFEST_BYTES, &url, &repo.registry).await?;
        let digest = Digest::of(&bytes);
        let expected = if reference.starts_with("sha256:") {
            Some(reference.to_owned())
        } else {
            header_digest.filter(|d| d.starts_with("sha256:"))
        };
        if let Some(expected) = expected
            && expected != digest.as_str()
        {
            return Err(OciError::DigestMismatch {
                what: format!("manifest {url}"),
                expected,
                actual: digest.to_string(),
            });
        }
        Ok(Some(Fetched {
            bytes,
            digest,
            media_type,
        }))
    }

    async fn blob(
        &self,
        repo: &Repository,
        descriptor: &Descriptor,
        limit: usize,
    ) -> Result<Vec<u8>, OciError> {
        let digest = descriptor.sha256()?;
        let size = descriptor.size_within(limit)?;
        let url = format!("{}/blobs/{digest}", self.base_url(repo).await);
        let response = self.get(repo, &url, &[]).await?;
        if response.status() != StatusCode::OK {
            return Err(status_error(response, repo, &url).await);
        }
        let bytes = read_limited(response, size, &url, &repo.registry).await?;
        let actual = Digest::of(&bytes);
        if actual != digest {
            return Err(OciError::DigestMismatch {
                what: format!("blob {url}"),
                expected: digest.to_string(),
                actual: actual.to_string(),
            });
        }
        Ok(bytes)
    }

    async fn referrers(
        &self,
        repo: &Repository,
        subject: &Digest,
    ) -> Result<Option<Vec<u8>>, OciError> {
        let url = format!("{}/referrers/{subject}", self.base_url(repo).await);
        let response = self.get(repo, &url, &[super::manifest::OCI_INDEX]).await?;
        match response.status() {
            StatusCode::OK => read_limited(response, MAX_MANIFEST_BYTES, &url, &repo.registry)
                .await
                .map(Some),
            StatusCode::NOT_FOUND => Ok(None),
            _ => Err(status_error(response, repo, &url).await),
        }
    }
}

/// The most tags read per page of a tag list.
const TAGS_PAGE: usize = 1000;
/// The most pages of a tag list followed.
const TAGS_MAX_PAGES: usize = 64;
/// The largest tag-list page read.
const MAX_TAGS_LIST_BYTES: usize = 4 << 20;

impl RegistryClient {
    /// [`Fetcher::tags`] for registries.
    async fn list_tags(&self, repo: &Repository, limit: usize) -> Result<Vec<String>, OciError> {
        let mut url = format!(
            "{}/tags/list?n={}",
            self.base_url(repo).await,
            TAGS_PAGE.min(limit.max(1))
        );
        let mut out = Vec::new();
        for _ in 0..TAGS_MAX_PAGES {
            let response = self.get(repo, &url, &["application/json"]).await?;
            match response.status() {
                StatusCode::OK => {}
                StatusCode::NOT_FOUND => return Ok(out),
                _ => return Err(status_error(response, repo, &url).await),
            }
            let link = response
                .headers()
                .get(reqwest::header::LINK)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let body = read_limited(response, MAX_TAGS_LIST_BYTES, &url, &repo.registry).await?;
            out.extend(parse_tags_list(&format!("tag list of {repo}"), &body)?);
            if out.len() >= limit {
                out.truncate(limit);
                break;
            }
            let Some(next) = link.as_deref().and_then(next_link) else {
                break;
            };
            url = same_origin_join(&url, &next).ok_or_else(|| OciError::Malformed {
                what: format!("tag list of {repo}"),
                reason: format!("the next page `{next}` is not on the registry's host"),
            })?;
        }
        Ok(out)
    }

    /// Whether `registry` is known to take (`Some(true)`) or refuse (`Some(false)`) a
    /// single-`POST` blob upload.
    fn single_post(&self, registry: &str) -> Option<bool> {
        self.single_post.lock().ok()?.get(registry).copied()
    }

    fn set_single_post(&self, registry: &str, supported: bool) {
        if let Ok(mut m) = self.single_post.lock() {
            m.insert(registry.to_owned(), supported);
        }
    }

    /// Upload `bytes` as the blob `digest`. Unless the registry is known not to, it is
    /// tried as one `POST .../blobs/uploads/?digest=` with the content (the distribution
    /// spec's single-request upload: `201 Created`); a registry without it answers
    /// `202 Accepted` with an upload `Location`, which then gets the content by `PUT`
    /// (and later blobs go straight to `POST` + `PUT`).
    async fn upload_blob(
        &self,
        repo: &Repository,
        base: &str,
        bytes: &[u8],
        digest: &Digest,
    ) -> Result<(), OciError> {
        let start_url = format!("{base}/blobs/uploads/");
        let single = self.single_post(&repo.registry) != Some(false);
        let started = if single {
            let url = format!("{start_url}?digest={digest}");
            let r = self
                .send(
                    reqwest::Method::POST,
                    repo,
                    &url,
                    &[],
                    Some((bytes, "application/octet-stream")),
                )
                .await?;
            match r.status() {
                StatusCode::CREATED => {
                    check_stored_digest(&r, digest, &url)?;
                    self.set_single_post(&repo.registry, true);
                    return Ok(());
                }
                StatusCode::ACCEPTED => {
                    self.set_single_post(&repo.registry, false);
                    r
                }
                _ => return Err(status_error(r, repo, &url).await),
            }
        } else {
            self.send(reqwest::Method::POST, repo, &start_url, &[], None)
                .await?
        };
        if started.status() != StatusCode::ACCEPTED {
            return Err(status_error(started, repo, &start_url).await);
        }
        let location = started
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
            .ok_or_else(|| OciError::Malformed {
                what: format!("registry {}: upload of {digest}", repo.registry),
                reason: "the registry gave no Location for the upload".into(),
            })?;
        let mut put_url = reqwest::Url::parse(&start_url)
            .and_then(|u| u.join(&location))
            .map_err(|e| OciError::Malformed {
                what: format!("registry {}: upload location `{location}`", repo.registry),
                reason: e.to_string(),
            })?;
        put_url
            .query_pairs_mut()
            .append_pair("digest", digest.as_str());
        let put_url = put_url.to_string();
        let put = self
            .send(
                reqwest::Method::PUT,
                repo,
                &put_url,
                &[],
                Some((bytes, "application/octet-stream")),
            )
            .await?;
        if put.status() != StatusCode::CREATED {
            return Err(status_error(put, repo, &put_url).await);
        }
        check_stored_digest(&put, digest, &put_url)
    }
}

/// A `Docker-Content-Digest` answer header, when there is one, must name what was sent.
fn check_stored_digest(
    response: &reqwest::Response,
    digest: &Digest,
    url: &str,
) -> Result<(), OciError> {
    match response
        .headers()
        .get("docker-content-digest")
        .and_then(|v| v.to_str().ok())
    {
        Some(d) if d.starts_with("sha256:") && d != digest.as_str() => {
            Err(OciError::DigestMismatch {
                what: format!("{url} (as stored)"),
                expected: digest.to_string(),
                actual: d.to_owned(),
            })
        }
        _ => Ok(()),
    }
}

impl super::Pusher for RegistryClient {
    async fn push_blob(&self, repo: &Repository, bytes: &[u8]) -> Result<Digest, OciError> {
        let digest = Digest::of(bytes);
        let base = self.base_url(repo).await;
        // Asking first only saves something when the upload costs more than the question.
        if bytes.len() > SMALL_BLOB || self.single_post(&repo.registry) != Some(true) {
            let head_url = format!("{base}/blobs/{digest}");
            let head = self
                .send(reqwest::Method::HEAD, repo, &head_url, &[], None)
                .await?;
            if head.status() == StatusCode::OK {
                return Ok(digest);
            }
        }
        self.upload_blob(repo, &base, bytes, &digest).await?;
        Ok(digest)
    }

    async fn push_new_blob(&self, repo: &Repository, bytes: &[u8]) -> Result<Digest, OciError> {
        let digest = Digest::of(bytes);
        let base = self.base_url(repo).await;
        self.upload_blob(repo, &base, bytes, &digest).await?;
        Ok(digest)
    }

    async fn push_manifest(
        &self,
        repo: &Repository,
        reference: &str,
        bytes: &[u8],
        media_type: &str,
    ) -> Result<Digest, OciError> {
        let digest = Digest::of(bytes);
        let url = format!("{}/manifests/{reference}", self.base_url(repo).await);
        let response = self
            .send(
                reqwest::Method::PUT,
                repo,
                &url,
                &[],
                Some((bytes, media_type)),
            )
            .await?;
        if response.status() != StatusCode::CREATED {
            return Err(status_error(response, repo, &url).await);
        }
        if let Some(d) = response
            .headers()
            .get("docker-content-digest")
            .and_then(|v| v.to_str().ok())
            && d.starts_with("sha256:")
            && d != digest.as_str()
        {
            return Err(OciError::DigestMismatch {
                what: format!("manifest {url} (as stored)"),
                expected: digest.to_string(),
                actual: d.to_owned(),
            });
        }
        Ok(digest)
    }
}

/// The `CERTIFICATE` blocks of a PEM bundle, as DER.
fn pem_rfc7468_certificates(
    pem: &[u8],
) -> Result<Vec<rustls::pki_types::CertificateDer<'static>>, String> {
    use rustls::pki_types::pem::PemObject as _;
    rustls::pki_types::CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("not a PEM certificate bundle: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges() {
        assert_eq!(
            parse_challenge(
                r#"Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a:pull""#
            ),
            Some(Challenge::Bearer {
                realm: "https://auth.example/token".into(),
                service: Some("registry.example".into())
            })
        );
        assert_eq!(
            parse_challenge(r#"Basic realm="hallmark""#),
            Some(Challenge::Basic)
        );
        assert_eq!(parse_challenge("Negotiate"), None);
        assert_eq!(parse_challenge("Bearer service=\"x\""), None);
        assert_eq!(parse_challenge("\u{1}"), None);
    }

    #[test]
    fn tag_lists_and_their_next_page() -> Result<(), OciError> {
        let tags = parse_tags_list(
            "t",
            br#"{"name":"a/b","tags":["v1","sha256-ab.att","../x","a/b","-x","_ok"]}"#,
        )?;
        assert_eq!(tags, vec!["v1", "sha256-ab.att", "_ok"]);
        assert!(parse_tags_list("t", br#"{"name":"a/b","tags":null}"#)?.is_empty());
        assert!(parse_tags_list("t", b"nope").is_err());
        assert!(!is_valid_tag(&"a".repeat(129)) && is_valid_tag(&"a".repeat(128)));
        assert_eq!(
            next_link(r#"</v2/a/b/tags/list?last=v1&n=2>; rel="next""#).as_deref(),
            Some("/v2/a/b/tags/list?last=v1&n=2")
        );
        assert_eq!(
            next_link(r#"<https://x/prev>; rel="prev", <https://x/n>; rel=next"#).as_deref(),
            Some("https://x/n")
        );
        assert_eq!(next_link("<https://x/n>"), None);
        let base = "http://reg:5000/v2/a/b/tags/list?n=2";
        assert_eq!(
            same_origin_join(base, "/v2/a/b/tags/list?last=v1&n=2").as_deref(),
            Some("http://reg:5000/v2/a/b/tags/list?last=v1&n=2")
        );
        assert_eq!(same_origin_join(base, "https://reg:5000/v2/a"), None);
        assert_eq!(same_origin_join(base, "//evil.example/v2/a"), None);
        Ok(())
    }

    #[test]
    fn insecure_registries() -> Result<(), OciError> {
        let c = RegistryClient::new(RegistryOptions {
            insecure_registries: vec!["registry.internal:5000".into()],
            ..RegistryOptions::default()
        })?;
        assert!(c.is_insecure("localhost:5000"));
        assert!(c.is_insecure("127.0.0.1:15000"));
        assert!(c.is_insecure("[::1]:5000"));
        assert!(c.is_insecure("registry.internal:5000"));
        assert!(!c.is_insecure("registry.internal:5001"));
        assert!(!c.is_insecure("localhost.example.com"));
        assert!(!c.is_insecure("ghcr.io"));
        Ok(())
    }

    #[test]
    fn unreadable_ca_file_is_a_config_error() {
        let r = RegistryClient::new(RegistryOptions {
            ca_files: vec!["/nonexistent/ca.pem".into()],
            ..RegistryOptions::default()
        });
        assert!(matches!(r, Err(OciError::Config(_))));
    }
}
