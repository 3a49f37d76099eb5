//! The controller's Kubernetes side, on `kube` / `kube-runtime`: the [`RunStore`] over
//! `tekton.dev/v1` TaskRuns and PipelineRuns, the watches that feed the work queue, Events
//! on runs, the configuration ConfigMap, and leader election on a Lease.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures::StreamExt as _;
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::api::core::v1::{ConfigMap, ObjectReference};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use kube::api::{
    Api, ApiResource, DynamicObject, GroupVersionKind, Patch, PatchParams, PostParams,
};
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use kube::runtime::watcher;
use serde_json::Value;

use super::engine::{RunStore, StoreError};
use super::queue::WorkQueue;
use super::record::{self, Kind, RunKey, RunView};

/// Errors setting up the Kubernetes client.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KubeSetupError {
    /// No usable kubeconfig or in-cluster configuration.
    #[error("Kubernetes client configuration")]
    Config(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The client could not be built.
    #[error("Kubernetes client")]
    Client(#[source] kube::Error),
}

impl KubeSetupError {
    /// Never transient: the configuration must change.
    #[must_use]
    pub fn is_transient(&self) -> bool {
        false
    }
}

/// A client from `--kubeconfig`, else `KUBECONFIG` / `~/.kube/config`, else in-cluster.
///
/// # Errors
///
/// [`KubeSetupError`] when no configuration is usable.
pub async fn client(kubeconfig: Option<&std::path::Path>) -> Result<kube::Client, KubeSetupError> {
    let config = match kubeconfig {
        Some(p) => {
            let kc = kube::config::Kubeconfig::read_from(p)
                .map_err(|e| KubeSetupError::Config(Box::new(e)))?;
            kube::Config::from_custom_kubeconfig(kc, &kube::config::KubeConfigOptions::default())
                .await
                .map_err(|e| KubeSetupError::Config(Box::new(e)))?
        }
        None => kube::Config::infer()
            .await
            .map_err(|e| KubeSetupError::Config(Box::new(e)))?,
    };
    kube::Client::try_from(config).map_err(KubeSetupError::Client)
}

/// The API resource of a run kind.
#[must_use]
pub fn resource(kind: Kind) -> ApiResource {
    let k = match kind {
        Kind::TaskRun => "TaskRun",
        Kind::PipelineRun => "PipelineRun",
    };
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk("tekton.dev", "v1", k), kind.plural())
}

fn store_error(e: kube::Error) -> StoreError {
    match &e {
        kube::Error::Api(s) if s.code == 409 => StoreError::Conflict,
        kube::Error::Api(s) if s.code == 403 || s.code == 422 || s.code == 400 => {
            StoreError::Permanent(format!("Kubernetes API: {} ({})", s.message, s.code))
        }
        kube::Error::Api(s) => {
            StoreError::Transient(format!("Kubernetes API: {} ({})", s.message, s.code))
        }
        other => StoreError::Transient(format!("Kubernetes API: {other}")),
    }
}

/// Runs in the cluster.
#[derive(Clone)]
pub struct KubeStore {
    client: kube::Client,
    recorder: Recorder,
}

impl KubeStore {
    /// A store over `client`; Events are reported as `hallmark-controller` from `instance`.
    #[must_use]
    pub fn new(client: kube::Client, instance: &str) -> Self {
        let reporter = Reporter {
            controller: "hallmark-controller".into(),
            instance: Some(instance.to_owned()),
        };
        Self {
            recorder: Recorder::new(client.clone(), reporter),
            client,
        }
    }

    fn api(&self, key: &RunKey) -> Api<DynamicObject> {
        Api::namespaced_with(self.client.clone(), &key.namespace, &resource(key.kind))
    }
}

impl RunStore for KubeStore {
    async fn get(&self, key: &RunKey) -> Result<Option<Value>, StoreError> {
        let obj = self
            .api(key)
            .get_opt(&key.name)
            .await
            .map_err(store_error)?;
        obj.map(|o| serde_json::to_value(o).map_err(|e| StoreError::Permanent(e.to_string())))
            .transpose()
    }

    async fn patch(&self, key: &RunKey, patch: &Value) -> Result<Value, StoreError> {
        let o = self
            .api(key)
            .patch(&key.name, &PatchParams::default(), &Patch::Merge(patch))
            .await
            .map_err(store_error)?;
        serde_json::to_value(o).map_err(|e| StoreError::Permanent(e.to_string()))
    }

    async fn event(&self, key: &RunKey, uid: &str, warning: bool, reason: &str, message: &str) {
        let reference = ObjectReference {
            api_version: Some("tekton.dev/v1".into()),
            kind: Some(match key.kind {
                Kind::TaskRun => "TaskRun".into(),
                Kind::PipelineRun => "PipelineRun".into(),
            }),
            name: Some(key.name.clone()),
            namespace: Some(key.namespace.clone()),
            uid: Some(uid.to_owned()),
            ..ObjectReference::default()
        };
        let ev = Event {
            type_: if warning {
                EventType::Warning
            } else {
                EventType::Normal
            },
            reason: reason.to_owned(),
            note: Some(message.chars().take(1000).collect()),
            action: "Sign".into(),
            secondary: None,
        };
        if let Err(e) = self.recorder.publish(&ev, &reference).await {
            tracing::warn!(run = %key, error = %e, "cannot report an Event");
        }
    }
}

/// Watch the runs of `kind` (in `namespaces`, or all) that carry no state label, and
/// queue those that are finished or being deleted. Runs until the stream ends.
pub async fn watch_runs(
    client: kube::Client,
    kind: Kind,
    namespace: Option<String>,
    queue: Arc<WorkQueue<RunKey>>,
    ready: Arc<AtomicBool>,
) {
    let ar = resource(kind);
    let api: Api<DynamicObject> = match &namespace {
        Some(ns) => Api::namespaced_with(client, ns, &ar),
        None => Api::all_with(client, &ar),
    };
    let selector = format!("!{}", record::STATE_LABEL);
    let config = watcher::Config::default().labels(&selector);
    let mut stream = std::pin::pin!(kube::runtime::WatchStreamExt::default_backoff(watcher(
        api, config
    )));
    while let Some(ev) = stream.next().await {
        let obj = match ev {
            Ok(watcher::Event::Apply(o) | watcher::Event::InitApply(o)) => o,
            Ok(watcher::Event::InitDone) => {
                ready.store(true, Ordering::Relaxed);
                continue;
            }
            Ok(watcher::Event::Init | watcher::Event::Delete(_)) => continue,
            Err(e) => {
                tracing::warn!(kind = kind.lower(), error = %e, "watch error (retrying)");
                continue;
            }
        };
        let (Some(ns), Some(name)) = (obj.metadata.namespace.clone(), obj.metadata.name.clone())
        else {
            continue;
        };
        let Ok(v) = serde_json::to_value(&obj) else {
            continue;
        };
        let view = RunView::from_json(&v);
        if view.is_done() || view.deletion.is_some() {
            queue.add(RunKey {
                kind,
                namespace: ns,
                name,
            });
        }
    }
}

/// The `data` of a ConfigMap, `None` when it does not exist.
///
/// # Errors
///
/// The API's error.
pub async fn configmap_data(
    client: &kube::Client,
    namespace: &str,
    name: &str,
) -> Result<Option<std::collections::BTreeMap<String, String>>, kube::Error> {
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), namespace);
    Ok(api
        .get_opt(name)
        .await?
        .map(|cm| cm.data.unwrap_or_default()))
}

/// Call `on_change` with the ConfigMap's data whenever it changes (created, edited,
/// deleted: then empty). Runs until the stream ends.
pub async fn watch_configmap<F>(
    client: kube::Client,
    namespace: String,
    name: String,
    mut on_change: F,
) where
    F: FnMut(std::collections::BTreeMap<String, String>) + Send,
{
    let api: Api<ConfigMap> = Api::namespaced(client, &namespace);
    let config = watcher::Config::default().fields(&format!("metadata.name={name}"));
    let mut stream = std::pin::pin!(kube::runtime::WatchStreamExt::default_backoff(watcher(
        api, config
    )));
    let mut last: Option<std::collections::BTreeMap<String, String>> = None;
    while let Some(ev) = stream.next().await {
        let data = match ev {
            Ok(watcher::Event::Apply(cm) | watcher::Event::InitApply(cm)) => {
                cm.data.unwrap_or_default()
            }
            Ok(watcher::Event::Delete(_)) => Default::default(),
            Ok(_) => continue,
            Err(e) => {
                tracing::warn!(error = %e, "configmap watch error (retrying)");
                continue;
            }
        };
        if last.as_ref() != Some(&data) {
            last = Some(data.clone());
            on_change(data);
        }
    }
}

/// Leader election on a `coordination.k8s.io/v1` Lease.
pub struct LeaderElector {
    api: Api<Lease>,
    name: String,
    holder: String,
    duration: Duration,
}

impl LeaderElector {
    /// Elect on Lease `namespace/name` as `holder`, holding it for `duration`.
    #[must_use]
    pub fn new(
        client: kube::Client,
        namespace: &str,
        name: &str,
        holder: &str,
        duration: Duration,
    ) -> Self {
        Self {
            api: Api::namespaced(client, namespace),
            name: name.to_owned(),
            holder: holder.to_owned(),
            duration,
        }
    }

    /// One round: acquire or renew the lease. `Ok(true)` when this process holds it.
    ///
    /// # Errors
    ///
    /// The API's error (a conflict means another candidate won the round).
    pub async fn try_acquire(&self) -> Result<bool, kube::Error> {
        let now = jiff::Timestamp::now();
        let micro = MicroTime(now);
        let secs = i32::try_from(self.duration.as_secs())
            .unwrap_or(i32::MAX)
            .max(1);
        let Some(mut lease) = self.api.get_opt(&self.name).await? else {
            let lease = Lease {
                metadata: kube::api::ObjectMeta {
                    name: Some(self.name.clone()),
                    ..Default::default()
                },
                spec: Some(LeaseSpec {
                    holder_identity: Some(self.holder.clone()),
                    lease_duration_seconds: Some(secs),
                    acquire_time: Some(micro.clone()),
                    renew_time: Some(micro),
                    lease_transitions: Some(0),
                    ..Default::default()
                }),
            };
            return match self.api.create(&PostParams::default(), &lease).await {
                Ok(_) => Ok(true),
                Err(kube::Error::Api(s)) if s.code == 409 => Ok(false),
                Err(e) => Err(e),
            };
        };
        let spec = lease.spec.get_or_insert_with(LeaseSpec::default);
        let mine = spec.holder_identity.as_deref() == Some(self.holder.as_str());
        let expired = match (&spec.renew_time, spec.lease_duration_seconds) {
            (Some(t), Some(d)) => now.duration_since(t.0).as_secs_f64() > f64::from(d),
            _ => true,
        };
        if !mine && !expired {
            return Ok(false);
        }
        if !mine {
            spec.holder_identity = Some(self.holder.clone());
            spec.acquire_time = Some(micro.clone());
            spec.lease_transitions = Some(spec.lease_transitions.unwrap_or(0) + 1);
        }
        spec.renew_time = Some(micro);
        spec.lease_duration_seconds = Some(secs);
        match self
            .api
            .replace(&self.name, &PostParams::default(), &lease)
            .await
        {
            Ok(_) => Ok(true),
            Err(kube::Error::Api(s)) if s.code == 409 => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Wait until this process holds the lease (polling every third of its duration).
    pub async fn acquire(&self) {
        loop {
            match self.try_acquire().await {
                Ok(true) => return,
                Ok(false) => {}
                Err(e) => tracing::warn!(error = %e, lease = %self.name, "leader election"),
            }
            tokio::time::sleep(self.duration / 3).await;
        }
    }

    /// Renew every third of the duration; return when the lease is lost (not renewed
    /// within its duration).
    pub async fn hold(&self) {
        let mut last_ok = std::time::Instant::now();
        loop {
            tokio::time::sleep(self.duration / 3).await;
            match self.try_acquire().await {
                Ok(true) => last_ok = std::time::Instant::now(),
                Ok(false) => return,
                Err(e) => {
                    tracing::warn!(error = %e, lease = %self.name, "renewing the lease");
                    if last_ok.elapsed() >= self.duration {
                        return;
                    }
                }
            }
        }
    }
}
