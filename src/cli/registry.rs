//! Registry flags shared by the subcommands that read or write images.

use std::path::PathBuf;

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

    /// A registry client with docker `config.json` credentials.
    ///
    /// # Errors
    ///
    /// [`crate::oci::OciError::Config`] when a CA file is unusable.
    pub fn client(&self) -> Result<RegistryClient, crate::oci::OciError> {
        RegistryClient::new(RegistryOptions {
            insecure_registries: self.insecure_registries.clone(),
            ca_files: self.registry_cas.clone(),
            timeout: self.timeout(),
            ..RegistryOptions::default()
        })
    }
}
