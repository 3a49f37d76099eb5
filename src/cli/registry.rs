//! Registry flags shared by the subcommands that read or write images.

use std::path::PathBuf;

use crate::oci::client::CredentialSource;
use crate::oci::{RegistryClient, RegistryOptions};

/// How to reach registries.
#[derive(Debug, Clone, clap::Args)]
pub struct RegistryArgs {
    /// A registry (`host` or `host:port`) to reach over plain HTTP when HTTPS fails to
    /// connect. Repeatable. `localhost`, `127.0.0.1` and `[::1]` always are, as in cosign.
    #[arg(long = "insecure-registry", value_name = "HOST[:PORT]")]
    pub insecure_registries: Vec<String>,

    /// A PEM file of CA certificates to trust for registries, besides the system roots.
    /// Repeatable.
    #[arg(long = "registry-ca", value_name = "FILE")]
    pub registry_cas: Vec<PathBuf>,

    /// Registry credentials from a Kubernetes `kubernetes.io/dockerconfigjson` Secret
    /// (`NAMESPACE/NAME`, its `.dockerconfigjson` key), read with `KUBECONFIG`'s
    /// credentials, instead of docker's `config.json`.
    #[arg(long, value_name = "NS/NAME")]
    pub registry_secret: Option<String>,

    /// Timeout of each registry (and transparency log) request, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    pub registry_timeout: u64,
}

impl RegistryArgs {
    /// The request timeout.
    #[must_use]
    pub fn timeout(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.registry_timeout.max(1))
    }

    /// A registry client with docker `config.json` credentials, or those of
    /// `--registry-secret`. Call it outside an async context (it may read the Secret).
    ///
    /// # Errors
    ///
    /// [`crate::oci::OciError::Config`] when a CA file is unusable, or when the Secret
    /// cannot be read or has no `.dockerconfigjson`.
    pub fn client(&self) -> Result<RegistryClient, crate::oci::OciError> {
        let credentials = match &self.registry_secret {
            None => CredentialSource::DockerConfig,
            Some(reference) => CredentialSource::DockerConfigJson(read_secret(reference)?),
        };
        RegistryClient::new(RegistryOptions {
            insecure_registries: self.insecure_registries.clone(),
            ca_files: self.registry_cas.clone(),
            timeout: self.timeout(),
            credentials,
        })
    }
}

impl RegistryArgs {
    /// How to reach registries, with `credentials`.
    #[must_use]
    pub fn options(&self, credentials: CredentialSource) -> RegistryOptions {
        RegistryOptions {
            insecure_registries: self.insecure_registries.clone(),
            ca_files: self.registry_cas.clone(),
            timeout: self.timeout(),
            credentials,
        }
    }

    /// The controller's own docker config: `--registry-secret`'s, else docker's
    /// `config.json` (`$DOCKER_CONFIG`, `~/.docker`) when there is one. Call it outside
    /// an async context (it may read the Secret).
    ///
    /// # Errors
    ///
    /// As [`RegistryArgs::client`].
    pub fn own_config(&self) -> Result<Option<Vec<u8>>, crate::oci::OciError> {
        if let Some(reference) = &self.registry_secret {
            return read_secret(reference).map(Some);
        }
        let dir = std::env::var_os("DOCKER_CONFIG")
            .map(std::path::PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| std::path::Path::new(&h).join(".docker")));
        Ok(dir.and_then(|d| std::fs::read(d.join("config.json")).ok()))
    }
}

/// The `.dockerconfigjson` of Secret `NS/NAME`.
fn read_secret(reference: &str) -> Result<Vec<u8>, crate::oci::OciError> {
    let fail =
        |why: String| crate::oci::OciError::Config(format!("--registry-secret {reference}: {why}"));
    let (ns, name) = reference
        .split_once('/')
        .filter(|(n, m)| !n.is_empty() && !m.is_empty() && !m.contains('/'))
        .ok_or_else(|| fail("expected NAMESPACE/NAME".into()))?;
    let kube = crate::signing::kube::KubeClient::from_env(None)
        .map_err(|e| fail(super::error_chain(&e)))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| fail(e.to_string()))?;
    let data = runtime
        .block_on(kube.secret_data(ns, name))
        .map_err(|e| fail(super::error_chain(&e)))?;
    data.into_iter()
        .find(|(k, _)| k == ".dockerconfigjson")
        .map(|(_, v)| v.to_vec())
        .ok_or_else(|| {
            fail("the Secret has no .dockerconfigjson (kubernetes.io/dockerconfigjson)".into())
        })
}
