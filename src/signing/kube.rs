//! A minimal Kubernetes API client for the two things signing needs from a cluster:
//!
//! - **TokenRequest** (`POST /api/v1/namespaces/NS/serviceaccounts/SA/token`): a
//!   service-account token at audience `sigstore` for keyless signing
//!   ([`TokenRequestSource`], minted again whenever a new certificate is needed);
//! - **`k8s://NS/SECRET`** key references (`GET /api/v1/namespaces/NS/secrets/SECRET`):
//!   cosign's `cosign.key` + `cosign.password` Secret layout ([`read_cosign_secret`]);
//! - and, for `hallmark verify --chain --kubeconfig`, the TaskRuns of PipelineRuns
//!   ([`KubeClient::pipeline_task_runs`]), whose `tekton` storage annotations hold their
//!   attestations.
//!
//! Credentials come from a kubeconfig (`--kubeconfig`, `KUBECONFIG`, `~/.kube/config`;
//! its current context: server, `certificate-authority[-data]`, a bearer `token` /
//! `tokenFile` or `client-certificate[-data]` + `client-key[-data]`) or, inside a pod,
//! from the mounted service-account token and CA. Exec plugins and auth providers are not
//! supported (a clear error says so). This is deliberately small: hallmark's controller
//! uses the `kube` crate; the CLI only needs these few calls.

use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine as _;
use zeroize::Zeroizing;

use super::token::{IdentityToken, Secret, TokenError};

/// Errors talking to the Kubernetes API. Never carries a token or key.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KubeError {
    /// No kubeconfig and not in a pod.
    #[error("no Kubernetes credentials: set KUBECONFIG (or ~/.kube/config), or run in a pod")]
    NoConfig,
    /// The kubeconfig cannot be read.
    #[error("cannot read {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The kubeconfig is not usable.
    #[error("kubeconfig {path}: {problem}")]
    Config {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        problem: String,
    },
    /// The API server cannot be reached.
    #[error("cannot reach the Kubernetes API at {url}")]
    Unreachable {
        /// The URL.
        url: String,
        /// The transport error.
        #[source]
        source: reqwest::Error,
    },
    /// The API server refused.
    #[error("the Kubernetes API refused {what} ({status}): {message}")]
    Refused {
        /// What was asked.
        what: String,
        /// HTTP status.
        status: u16,
        /// The Status message.
        message: String,
    },
    /// An answer of another shape.
    #[error("unexpected Kubernetes API response: {0}")]
    Response(&'static str),
    /// A `k8s://` reference that is not `k8s://NAMESPACE/NAME`.
    #[error("invalid key reference {0:?}: expected k8s://NAMESPACE/SECRET")]
    BadReference(String),
}

impl KubeError {
    /// Whether retrying later may help.
    #[must_use]
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Unreachable { .. } => true,
            Self::Refused { status, .. } => *status == 429 || *status >= 500,
            _ => false,
        }
    }
}

#[derive(serde::Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
struct Kubeconfig {
    #[serde(default)]
    clusters: Vec<Named<Cluster>>,
    #[serde(default)]
    users: Vec<Named<User>>,
    #[serde(default)]
    contexts: Vec<Named<Context>>,
    #[serde(default)]
    current_context: String,
}

#[derive(serde::Deserialize)]
struct Named<T> {
    name: String,
    #[serde(alias = "cluster", alias = "user", alias = "context")]
    value: Option<T>,
}

#[derive(serde::Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
struct Cluster {
    server: String,
    certificate_authority: Option<String>,
    certificate_authority_data: Option<String>,
    #[serde(default)]
    insecure_skip_tls_verify: bool,
}

#[derive(serde::Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
struct User {
    token: Option<String>,
    token_file: Option<String>,
    client_certificate: Option<String>,
    client_certificate_data: Option<String>,
    client_key: Option<String>,
    client_key_data: Option<String>,
    exec: Option<serde_yaml_ng::Value>,
    auth_provider: Option<serde_yaml_ng::Value>,
}

#[derive(serde::Deserialize, Default)]
struct Context {
    cluster: String,
    user: String,
}

/// A client of one API server with one set of credentials.
#[derive(Clone)]
pub struct KubeClient {
    http: reqwest::Client,
    server: String,
    bearer: Option<Secret>,
}

impl std::fmt::Debug for KubeClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KubeClient")
            .field("server", &self.server)
            .finish_non_exhaustive()
    }
}

const IN_CLUSTER: &str = "/var/run/secrets/kubernetes.io/serviceaccount";

impl KubeClient {
    /// A client from `kubeconfig`, else `KUBECONFIG`, else `~/.kube/config`, else the
    /// pod's service account.
    ///
    /// # Errors
    ///
    /// [`KubeError`] when no usable configuration is found.
    pub fn from_env(kubeconfig: Option<&Path>) -> Result<Self, KubeError> {
        let path = kubeconfig
            .map(Path::to_path_buf)
            .or_else(|| {
                std::env::var_os("KUBECONFIG")
                    .filter(|v| !v.is_empty())
                    .and_then(|v| std::env::split_paths(&v).next())
            })
            .or_else(|| {
                std::env::var_os("HOME")
                    .map(|h| PathBuf::from(h).join(".kube/config"))
                    .filter(|p| p.is_file())
            });
        match path {
            Some(p) => Self::from_kubeconfig(&p),
            None => Self::in_cluster(),
        }
    }

    fn in_cluster() -> Result<Self, KubeError> {
        let host = std::env::var("KUBERNETES_SERVICE_HOST").map_err(|_| KubeError::NoConfig)?;
        let port = std::env::var("KUBERNETES_SERVICE_PORT").unwrap_or_else(|_| "443".into());
        let dir = Path::new(IN_CLUSTER);
        let read = |name: &str| {
            std::fs::read(dir.join(name)).map_err(|source| KubeError::Read {
                path: dir.join(name),
                source,
            })
        };
        let token = Zeroizing::new(read("token")?);
        let ca = read("ca.crt")?;
        let server = if host.contains(':') {
            format!("https://[{host}]:{port}")
        } else {
            format!("https://{host}:{port}")
        };
        Self::build(
            dir,
            server,
            Some(&ca),
            false,
            None,
            Some(Secret::new(String::from_utf8_lossy(&token).trim())),
        )
    }

    fn from_kubeconfig(path: &Path) -> Result<Self, KubeError> {
        let text = Zeroizing::new(std::fs::read(path).map_err(|source| KubeError::Read {
            path: path.to_path_buf(),
            source,
        })?);
        let bad = |problem: String| KubeError::Config {
            path: path.to_path_buf(),
            problem,
        };
        let cfg: Kubeconfig =
            serde_yaml_ng::from_slice(&text).map_err(|_| bad("not a kubeconfig (YAML)".into()))?;
        let ctx = cfg
            .contexts
            .iter()
            .find(|c| c.name == cfg.current_context)
            .and_then(|c| c.value.as_ref())
            .ok_or_else(|| {
                bad(format!(
                    "current-context {:?} not found",
                    cfg.current_context
                ))
            })?;
        let cluster = cfg
            .clusters
            .iter()
            .find(|c| c.name == ctx.cluster)
            .and_then(|c| c.value.as_ref())
            .ok_or_else(|| bad(format!("cluster {:?} not found", ctx.cluster)))?;
        let default_user = User::default();
        let user = cfg
            .users
            .iter()
            .find(|u| u.name == ctx.user)
            .and_then(|u| u.value.as_ref())
            .unwrap_or(&default_user);
        if user.exec.is_some() || user.auth_provider.is_some() {
            return Err(bad(format!(
                "user {:?} uses an exec plugin or auth provider, which hallmark does not run: \
                 use a token or client certificate",
                ctx.user
            )));
        }
        let base = path.parent().unwrap_or(Path::new("."));
        let file_or_data = |file: &Option<String>, data: &Option<String>, what: &str| {
            if let Some(d) = data {
                base64::engine::general_purpose::STANDARD
                    .decode(d.trim())
                    .map(Some)
                    .map_err(|_| bad(format!("{what}-data is not base64")))
            } else if let Some(f) = file {
                let p = base.join(f);
                std::fs::read(&p)
                    .map(Some)
                    .map_err(|source| KubeError::Read { path: p, source })
            } else {
                Ok(None)
            }
        };
        let ca = file_or_data(
            &cluster.certificate_authority,
            &cluster.certificate_authority_data,
            "certificate-authority",
        )?;
        let cert = file_or_data(
            &user.client_certificate,
            &user.client_certificate_data,
            "client-certificate",
        )?;
        let key = Zeroizing::new(
            file_or_data(&user.client_key, &user.client_key_data, "client-key")?
                .unwrap_or_default(),
        );
        let identity = match cert {
            Some(mut pem) if !key.is_empty() => {
                pem.push(b'\n');
                pem.extend_from_slice(&key);
                Some(Zeroizing::new(pem))
            }
            _ => None,
        };
        let bearer = match (&user.token, &user.token_file) {
            (Some(t), _) => Some(Secret::new(t.trim())),
            (None, Some(f)) => {
                let p = base.join(f);
                let t = Zeroizing::new(
                    std::fs::read_to_string(&p)
                        .map_err(|source| KubeError::Read { path: p, source })?,
                );
                Some(Secret::new(t.trim()))
            }
            _ => None,
        };
        Self::build(
            path,
            cluster.server.trim_end_matches('/').to_owned(),
            ca.as_deref(),
            cluster.insecure_skip_tls_verify,
            identity.as_deref().map(Vec::as_slice),
            bearer,
        )
    }

    fn build(
        origin: &Path,
        server: String,
        ca: Option<&[u8]>,
        insecure: bool,
        identity: Option<&[u8]>,
        bearer: Option<Secret>,
    ) -> Result<Self, KubeError> {
        let bad = |problem: String| KubeError::Config {
            path: origin.to_path_buf(),
            problem,
        };
        if reqwest::Url::parse(&server).is_err() {
            return Err(bad(format!("server {server:?} is not a URL")));
        }
        let mut b = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .user_agent(concat!("hallmark/", env!("CARGO_PKG_VERSION")));
        if let Some(ca) = ca {
            let certs = reqwest::Certificate::from_pem_bundle(ca)
                .map_err(|_| bad("certificate-authority is not PEM".into()))?;
            b = b.tls_certs_merge(certs);
        }
        if insecure {
            b = b.tls_danger_accept_invalid_certs(true);
        }
        if let Some(id) = identity {
            let id = reqwest::Identity::from_pem(id)
                .map_err(|_| bad("client certificate/key are not PEM".into()))?;
            b = b.identity(id);
        }
        let http = b.build().map_err(|source| KubeError::Unreachable {
            url: server.clone(),
            source,
        })?;
        Ok(Self {
            http,
            server,
            bearer,
        })
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<serde_json::Value>,
        what: String,
    ) -> Result<serde_json::Value, KubeError> {
        let url = format!("{}{path}", self.server);
        let mut req = self.http.request(method, &url);
        if let Some(t) = &self.bearer {
            req = req.bearer_auth(t.expose());
        }
        if let Some(b) = &body {
            req = req.json(b);
        }
        let unreachable = |e: reqwest::Error| KubeError::Unreachable {
            url: url.clone(),
            source: e.without_url(),
        };
        let resp = req.send().await.map_err(unreachable)?;
        let status = resp.status();
        let bytes = resp.bytes().await.map_err(unreachable)?;
        let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
        if !status.is_success() {
            return Err(KubeError::Refused {
                what,
                status: status.as_u16(),
                message: v
                    .get("message")
                    .and_then(|m| m.as_str())
                    .unwrap_or("")
                    .chars()
                    .take(300)
                    .collect(),
            });
        }
        Ok(v)
    }

    /// A token for ServiceAccount `namespace/name` at `audience` (TokenRequest), valid
    /// `expiration_seconds`.
    ///
    /// # Errors
    ///
    /// [`KubeError`].
    pub async fn token_request(
        &self,
        namespace: &str,
        name: &str,
        audience: &str,
        expiration_seconds: u64,
    ) -> Result<Secret, KubeError> {
        let body = serde_json::json!({
            "apiVersion": "authentication.k8s.io/v1",
            "kind": "TokenRequest",
            "spec": {"audiences": [audience], "expirationSeconds": expiration_seconds},
        });
        let v = self
            .call(
                reqwest::Method::POST,
                &format!("/api/v1/namespaces/{namespace}/serviceaccounts/{name}/token"),
                Some(body),
                format!("a token for ServiceAccount {namespace}/{name}"),
            )
            .await?;
        v.pointer("/status/token")
            .and_then(|t| t.as_str())
            .filter(|t| !t.is_empty())
            .map(Secret::new)
            .ok_or(KubeError::Response("TokenRequest: no status.token"))
    }

    /// The TaskRuns (`tekton.dev/v1`) that belong to a PipelineRun (those with a
    /// `tekton.dev/pipelineRun` label), in `namespace` or in every namespace: the list
    /// object as the API server returns it.
    ///
    /// # Errors
    ///
    /// [`KubeError`].
    pub async fn pipeline_task_runs(
        &self,
        namespace: Option<&str>,
    ) -> Result<serde_json::Value, KubeError> {
        let scope = namespace.map_or_else(String::new, |ns| format!("/namespaces/{ns}"));
        self.call(
            reqwest::Method::GET,
            &format!("/apis/tekton.dev/v1{scope}/taskruns?labelSelector=tekton.dev%2FpipelineRun"),
            None,
            format!(
                "listing TaskRuns{}",
                namespace.map_or_else(String::new, |ns| format!(" in {ns}"))
            ),
        )
        .await
    }

    /// The decoded `data` entries of Secret `namespace/name`.
    ///
    /// # Errors
    ///
    /// [`KubeError`].
    pub async fn secret_data(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<Vec<(String, Zeroizing<Vec<u8>>)>, KubeError> {
        let v = self
            .call(
                reqwest::Method::GET,
                &format!("/api/v1/namespaces/{namespace}/secrets/{name}"),
                None,
                format!("reading Secret {namespace}/{name}"),
            )
            .await?;
        let mut out = Vec::new();
        if let Some(data) = v.get("data").and_then(|d| d.as_object()) {
            for (k, val) in data {
                let bytes = val
                    .as_str()
                    .and_then(|s| base64::engine::general_purpose::STANDARD.decode(s).ok())
                    .ok_or(KubeError::Response("Secret data is not base64"))?;
                out.push((k.clone(), Zeroizing::new(bytes)));
            }
        }
        Ok(out)
    }
}

/// Parse `k8s://NAMESPACE/NAME`.
///
/// # Errors
///
/// [`KubeError::BadReference`].
pub fn parse_k8s_ref(reference: &str) -> Result<(String, String), KubeError> {
    let rest = reference
        .strip_prefix("k8s://")
        .ok_or_else(|| KubeError::BadReference(reference.to_owned()))?;
    match rest.split_once('/') {
        Some((ns, name)) if !ns.is_empty() && !name.is_empty() && !name.contains('/') => {
            Ok((ns.to_owned(), name.to_owned()))
        }
        _ => Err(KubeError::BadReference(reference.to_owned())),
    }
}

/// A cosign key Secret (`cosign.key`, `cosign.password`), as `cosign generate-key-pair
/// k8s://NS/NAME` and Chains' `signing-secrets` hold it; `x509.pem` is accepted too.
pub struct CosignSecret {
    /// The private key PEM (cosign-encrypted or PKCS#8).
    pub key: Zeroizing<Vec<u8>>,
    /// The password, if the Secret has one.
    pub password: Option<Zeroizing<Vec<u8>>>,
}

/// Read the key of `k8s://NAMESPACE/NAME`: `cosign.key` (+ `cosign.password`), else
/// `x509.pem` — Chains' precedence.
///
/// # Errors
///
/// [`KubeError`]; [`KubeError::Response`] when the Secret holds neither key.
pub async fn read_cosign_secret(
    client: &KubeClient,
    reference: &str,
) -> Result<CosignSecret, KubeError> {
    let (ns, name) = parse_k8s_ref(reference)?;
    let mut data = client.secret_data(&ns, &name).await?;
    let mut take = |k: &str| {
        data.iter()
            .position(|(n, _)| n == k)
            .map(|i| data.swap_remove(i).1)
    };
    let password = take("cosign.password");
    if let Some(key) = take("cosign.key") {
        return Ok(CosignSecret { key, password });
    }
    if let Some(key) = take("x509.pem") {
        return Ok(CosignSecret {
            key,
            password: None,
        });
    }
    Err(KubeError::Response(
        "the Secret holds neither cosign.key nor x509.pem",
    ))
}

/// Identity tokens minted by TokenRequest for one ServiceAccount, a fresh one per
/// certificate request.
#[derive(Clone, Debug)]
pub struct TokenRequestSource {
    /// The API client.
    pub client: KubeClient,
    /// The ServiceAccount's namespace.
    pub namespace: String,
    /// Its name.
    pub name: String,
    /// The audience (Fulcio's: `sigstore`).
    pub audience: String,
}

impl TokenRequestSource {
    /// Mint and parse a token (valid 10 minutes).
    ///
    /// # Errors
    ///
    /// [`KubeError`] from the API; a malformed token is [`KubeError::Response`].
    pub async fn token(&self) -> Result<IdentityToken, KubeError> {
        let t = self
            .client
            .token_request(&self.namespace, &self.name, &self.audience, 600)
            .await?;
        IdentityToken::parse(t.expose()).map_err(|e: TokenError| match e {
            TokenError::Malformed(_) | TokenError::NoSubject => {
                KubeError::Response("TokenRequest returned a token that is not a JWT")
            }
            _ => KubeError::Response("TokenRequest returned an unusable token"),
        })
    }
}

#[cfg(test)]
#[allow(clippy::panic)] // Tests report failures by panicking.
mod tests {
    use super::*;

    #[test]
    fn k8s_references() {
        assert_eq!(
            parse_k8s_ref("k8s://tekton-chains/signing-secrets").ok(),
            Some(("tekton-chains".into(), "signing-secrets".into()))
        );
        for bad in [
            "k8s://",
            "k8s://ns",
            "k8s://ns/",
            "k8s:///x",
            "k8s://a/b/c",
            "x",
        ] {
            assert!(parse_k8s_ref(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn kubeconfig_without_usable_context_names_it() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let p = dir.path().join("config");
        std::fs::write(&p, "apiVersion: v1\nkind: Config\ncurrent-context: nope\n")
            .unwrap_or_else(|e| panic!("{e}"));
        let e = KubeClient::from_env(Some(&p))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("nope"), "{e}");
        std::fs::write(
            &p,
            "clusters: [{name: c, cluster: {server: 'https://127.0.0.1:1'}}]\n\
             users: [{name: u, user: {exec: {command: aws}}}]\n\
             contexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let e = KubeClient::from_env(Some(&p))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("exec plugin"), "{e}");
        std::fs::write(
            &p,
            "clusters: [{name: c, cluster: {server: 'https://127.0.0.1:1'}}]\n\
             users: [{name: u, user: {token: canary-kube-token}}]\n\
             contexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let c = KubeClient::from_env(Some(&p)).unwrap_or_else(|e| panic!("{e}"));
        assert!(!format!("{c:?}").contains("canary-kube-token"));
    }
}
