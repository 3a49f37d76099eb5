//! Registry credentials per run: the run's ServiceAccount's `imagePullSecrets`, then the
//! controller's own (its docker `config.json` or `--registry-secret`), as Tekton Chains
//! does. A registry client is kept per distinct set of credentials, and a
//! ServiceAccount's lookup for a minute.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{Secret, ServiceAccount};
use kube::Api;
use serde_json::{Map, Value};

use crate::oci::client::{CredentialSource, RegistryClient, RegistryOptions};
use crate::oci::{OciError, Pusher};

/// Where the registry client of a run comes from.
pub trait Registries: Send + Sync {
    /// The client type.
    type Registry: Pusher + 'static;

    /// The registry client for a run of `namespace` running as `service_account`.
    fn for_run(
        &self,
        namespace: &str,
        service_account: &str,
    ) -> impl Future<Output = Arc<Self::Registry>> + Send;
}

/// One registry (or image layout) for every run.
pub struct Fixed<P>(pub Arc<P>);

impl<P: Pusher + 'static> Registries for Fixed<P> {
    type Registry = P;

    async fn for_run(&self, _namespace: &str, _service_account: &str) -> Arc<P> {
        Arc::clone(&self.0)
    }
}

/// The `auths` of a docker config (`.dockerconfigjson`), or of a legacy `.dockercfg`
/// (the map itself).
#[must_use]
pub fn auths_of(bytes: &[u8]) -> Map<String, Value> {
    let Ok(Value::Object(v)) = serde_json::from_slice::<Value>(bytes) else {
        return Map::new();
    };
    match v.get("auths") {
        Some(Value::Object(a)) => a.clone(),
        _ => v,
    }
}

/// A docker config holding `layers` of auths; earlier layers win.
#[must_use]
pub fn merged_config(layers: &[Map<String, Value>]) -> Vec<u8> {
    let mut auths = Map::new();
    for layer in layers.iter().rev() {
        for (k, v) in layer {
            auths.insert(k.clone(), v.clone());
        }
    }
    serde_json::to_vec(&serde_json::json!({ "auths": auths })).unwrap_or_default()
}

/// Clients per run credentials, from the cluster.
pub struct KubeRegistries {
    client: kube::Client,
    base: RegistryOptions,
    own: Map<String, Value>,
    default: Arc<RegistryClient>,
    by_config: Mutex<HashMap<Vec<u8>, Arc<RegistryClient>>>,
    by_account: Mutex<HashMap<AccountKey, (Instant, Arc<RegistryClient>)>>,
}

/// A ServiceAccount: namespace and name.
type AccountKey = (String, String);

const ACCOUNT_TTL: Duration = Duration::from_secs(60);
const MAX_CLIENTS: usize = 256;

impl KubeRegistries {
    /// `base`: how registries are reached; `own`: the controller's docker config bytes
    /// (`None`: none).
    ///
    /// # Errors
    ///
    /// [`OciError::Config`] when a CA file of `base` is unusable.
    pub fn new(
        client: kube::Client,
        base: RegistryOptions,
        own: Option<&[u8]>,
    ) -> Result<Self, OciError> {
        let own = own.map(auths_of).unwrap_or_default();
        let default = Arc::new(RegistryClient::new(RegistryOptions {
            credentials: CredentialSource::DockerConfigJson(merged_config(std::slice::from_ref(
                &own,
            ))),
            ..base.clone()
        })?);
        Ok(Self {
            client,
            base,
            own,
            default,
            by_config: Mutex::default(),
            by_account: Mutex::default(),
        })
    }

    async fn pull_secrets(&self, namespace: &str, account: &str) -> Vec<Map<String, Value>> {
        let accounts: Api<ServiceAccount> = Api::namespaced(self.client.clone(), namespace);
        let sa = match accounts.get_opt(account).await {
            Ok(Some(sa)) => sa,
            Ok(None) => {
                tracing::info!(
                    namespace,
                    account,
                    "no such ServiceAccount: the controller's registry credentials are used"
                );
                return Vec::new();
            }
            Err(e) => {
                tracing::warn!(namespace, account, error = %e, "cannot read the ServiceAccount: the controller's registry credentials are used");
                return Vec::new();
            }
        };
        let secrets: Api<Secret> = Api::namespaced(self.client.clone(), namespace);
        let mut out = Vec::new();
        for r in sa.image_pull_secrets.unwrap_or_default() {
            match secrets.get_opt(&r.name).await {
                Ok(Some(s)) => {
                    let data = s.data.unwrap_or_default();
                    if let Some(b) = data
                        .get(".dockerconfigjson")
                        .or_else(|| data.get(".dockercfg"))
                    {
                        out.push(auths_of(&b.0));
                    }
                }
                Ok(None) => {
                    tracing::warn!(namespace, secret = %r.name, "imagePullSecret not found")
                }
                Err(e) => {
                    tracing::warn!(namespace, secret = %r.name, error = %e, "cannot read an imagePullSecret")
                }
            }
        }
        out
    }
}

impl Registries for KubeRegistries {
    type Registry = RegistryClient;

    async fn for_run(&self, namespace: &str, service_account: &str) -> Arc<RegistryClient> {
        let key = (namespace.to_owned(), service_account.to_owned());
        if let Ok(m) = self.by_account.lock()
            && let Some((at, c)) = m.get(&key)
            && at.elapsed() < ACCOUNT_TTL
        {
            return Arc::clone(c);
        }
        let mut layers = self.pull_secrets(namespace, service_account).await;
        let client = if layers.is_empty() {
            Arc::clone(&self.default)
        } else {
            layers.push(self.own.clone());
            let config = merged_config(&layers);
            let cached = self
                .by_config
                .lock()
                .ok()
                .and_then(|m| m.get(&config).cloned());
            match cached {
                Some(c) => c,
                None => match RegistryClient::new(RegistryOptions {
                    credentials: CredentialSource::DockerConfigJson(config.clone()),
                    ..self.base.clone()
                }) {
                    Ok(c) => {
                        let c = Arc::new(c);
                        if let Ok(mut m) = self.by_config.lock() {
                            if m.len() >= MAX_CLIENTS {
                                m.clear();
                            }
                            m.insert(config, Arc::clone(&c));
                        }
                        c
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "registry client with the run's credentials");
                        Arc::clone(&self.default)
                    }
                },
            }
        };
        if let Ok(mut m) = self.by_account.lock() {
            if m.len() >= MAX_CLIENTS {
                m.clear();
            }
            m.insert(key, (Instant::now(), Arc::clone(&client)));
        }
        client
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_runs_secrets_win_over_the_controllers_own() {
        let run = auths_of(br#"{"auths":{"r.example":{"auth":"cnVuOnB3"}}}"#);
        let legacy = auths_of(br#"{"old.example":{"auth":"b2xkOnB3"}}"#);
        let own =
            auths_of(br#"{"auths":{"r.example":{"auth":"b3duOnB3"},"o.example":{"auth":"eDp5"}}}"#);
        let merged: Value =
            serde_json::from_slice(&merged_config(&[run, legacy, own])).unwrap_or_default();
        assert_eq!(merged["auths"]["r.example"]["auth"], "cnVuOnB3");
        assert_eq!(merged["auths"]["o.example"]["auth"], "eDp5");
        assert_eq!(merged["auths"]["old.example"]["auth"], "b2xkOnB3");
        assert!(auths_of(b"not json").is_empty());
    }
}
