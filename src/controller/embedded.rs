//! Embedded mode: the controller's pipeline without a cluster.
//!
//! `hallmark controller --source dir:PATH --once --output oci-layout:PATH` reads the run
//! files (TaskRuns and PipelineRuns, JSON or YAML, `kind: List` too) in a directory, and
//! runs each finished one through the same [`Engine`](super::engine::Engine) as the cluster mode, with a
//! [`DirStore`] in place of the Kubernetes API and an OCI image layout in place of the
//! registry. TaskRuns go first, so that PipelineRuns find their children recorded.
//!
//! The run files are not modified: what the controller records on runs (annotations,
//! labels) is kept in `hallmark-state.json` inside the layout, so a second invocation
//! republishes nothing it already published.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde_json::{Map, Value};

use super::engine::{RunStore, StoreError};
use super::record::{Kind, RunKey};

/// Errors reading the source directory.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EmbeddedError {
    /// A file or directory cannot be read or written.
    #[error("{path}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A run file does not parse.
    #[error("{path}: not a run document")]
    Parse {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: serde_yaml_ng::Error,
    },
    /// Two files hold the same run.
    #[error("{0} appears twice in the source directory")]
    Duplicate(String),
}

impl EmbeddedError {
    /// Never transient: the files must change.
    #[must_use]
    pub fn is_transient(&self) -> bool {
        false
    }
}

/// The metadata the controller wrote on one run.
type Recorded = Map<String, Value>;

/// Runs held in memory, from a directory; what the controller writes on them is saved in
/// a state file.
pub struct DirStore {
    runs: Mutex<BTreeMap<RunKey, Value>>,
    state_path: PathBuf,
}

fn run_documents(v: Value) -> Vec<Value> {
    if v["kind"] == "List" {
        return v["items"].as_array().cloned().unwrap_or_default();
    }
    vec![v]
}

/// The key of a run document, `None` for other kinds.
fn key_of(v: &Value) -> Option<RunKey> {
    let kind = match v["kind"].as_str()? {
        "TaskRun" => Kind::TaskRun,
        "PipelineRun" => Kind::PipelineRun,
        _ => return None,
    };
    Some(RunKey {
        kind,
        namespace: v["metadata"]["namespace"]
            .as_str()
            .unwrap_or("default")
            .to_owned(),
        name: v["metadata"]["name"].as_str()?.to_owned(),
    })
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> EmbeddedError + '_ {
    move |source| EmbeddedError::Io {
        path: path.to_owned(),
        source,
    }
}

/// RFC 7386 JSON merge patch.
fn merge(target: &mut Value, patch: &Value) {
    match patch {
        Value::Object(p) => {
            if !target.is_object() {
                *target = Value::Object(Map::new());
            }
            if let Value::Object(t) = target {
                for (k, v) in p {
                    if v.is_null() {
                        t.remove(k);
                    } else {
                        merge(t.entry(k.clone()).or_insert(Value::Null), v);
                    }
                }
            }
        }
        other => *target = other.clone(),
    }
}

impl DirStore {
    /// Read every run file in `dir` (not recursive), and the saved state in
    /// `state_path` when it exists.
    ///
    /// # Errors
    ///
    /// [`EmbeddedError`] for unreadable files, documents that do not parse, and runs
    /// that appear twice.
    pub fn load(dir: &Path, state_path: &Path) -> Result<Self, EmbeddedError> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(io(dir))?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| {
                p.extension()
                    .and_then(|e| e.to_str())
                    .is_some_and(|e| matches!(e, "json" | "yaml" | "yml"))
            })
            .collect();
        files.sort();
        let state: BTreeMap<String, Recorded> = std::fs::read(state_path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        let mut runs = BTreeMap::new();
        for path in files {
            let bytes = std::fs::read(&path).map_err(io(&path))?;
            let doc: Value =
                serde_yaml_ng::from_slice(&bytes).map_err(|source| EmbeddedError::Parse {
                    path: path.clone(),
                    source,
                })?;
            for mut v in run_documents(doc) {
                let Some(key) = key_of(&v) else { continue };
                let meta = &mut v["metadata"];
                if meta["uid"].as_str().is_none() {
                    // A stable uid for runs written by hand.
                    use sha2::Digest as _;
                    let h = sha2::Sha256::digest(key.to_string().as_bytes());
                    meta["uid"] = Value::String(hex::encode(&h[..16]));
                }
                meta["namespace"] = Value::String(key.namespace.clone());
                meta["resourceVersion"] = Value::String("1".into());
                if let Some(saved) = state.get(&key.to_string()) {
                    merge(meta, &Value::Object(saved.clone()));
                }
                if runs.insert(key.clone(), v).is_some() {
                    return Err(EmbeddedError::Duplicate(key.to_string()));
                }
            }
        }
        Ok(Self {
            runs: Mutex::new(runs),
            state_path: state_path.to_owned(),
        })
    }

    /// Every run, TaskRuns first.
    #[must_use]
    pub fn keys(&self) -> Vec<RunKey> {
        let mut keys: Vec<RunKey> = self
            .runs
            .lock()
            .map(|r| r.keys().cloned().collect())
            .unwrap_or_default();
        keys.sort_by_key(|k| (k.kind != Kind::TaskRun, k.namespace.clone(), k.name.clone()));
        keys
    }

    fn save(&self, runs: &BTreeMap<RunKey, Value>) -> Result<(), StoreError> {
        let state: BTreeMap<String, Value> = runs
            .iter()
            .map(|(k, v)| {
                let m = &v["metadata"];
                let mut saved = Map::new();
                for field in ["annotations", "labels", "finalizers"] {
                    if !m[field].is_null() {
                        saved.insert(field.to_owned(), m[field].clone());
                    }
                }
                (k.to_string(), Value::Object(saved))
            })
            .collect();
        let bytes =
            serde_json::to_vec_pretty(&state).map_err(|e| StoreError::Permanent(e.to_string()))?;
        let tmp = self.state_path.with_extension("json.tmp");
        std::fs::write(&tmp, bytes)
            .and_then(|()| std::fs::rename(&tmp, &self.state_path))
            .map_err(|e| {
                StoreError::Permanent(format!("writing {}: {e}", self.state_path.display()))
            })
    }
}

impl RunStore for DirStore {
    async fn get(&self, key: &RunKey) -> Result<Option<Value>, StoreError> {
        Ok(self.runs.lock().ok().and_then(|r| r.get(key).cloned()))
    }

    async fn patch(&self, key: &RunKey, patch: &Value) -> Result<Value, StoreError> {
        let mut runs = self
            .runs
            .lock()
            .map_err(|_| StoreError::Permanent("state lock poisoned".into()))?;
        let obj = runs
            .get_mut(key)
            .ok_or_else(|| StoreError::Permanent(format!("{key} is gone")))?;
        let rv = obj["metadata"]["resourceVersion"]
            .as_str()
            .and_then(|r| r.parse::<u64>().ok())
            .unwrap_or(1);
        if let Some(want) = patch["metadata"]["resourceVersion"].as_str()
            && want != rv.to_string()
        {
            return Err(StoreError::Conflict);
        }
        merge(obj, patch);
        obj["metadata"]["resourceVersion"] = Value::String((rv + 1).to_string());
        let out = obj.clone();
        self.save(&runs)?;
        Ok(out)
    }

    async fn event(&self, key: &RunKey, _uid: &str, warning: bool, reason: &str, message: &str) {
        if warning {
            tracing::warn!(run = %key, reason, "{message}");
        } else {
            tracing::info!(run = %key, reason, "{message}");
        }
    }
}

#[cfg(test)]
#[allow(clippy::panic)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn patches_are_conditional_and_survive_a_reload() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(
            dir.path().join("runs.yaml"),
            "kind: List\nitems:\n- {apiVersion: tekton.dev/v1, kind: TaskRun, metadata: {name: a}}\n\
             - {apiVersion: tekton.dev/v1, kind: PipelineRun, metadata: {name: p, namespace: x}}\n\
             - {apiVersion: v1, kind: ConfigMap, metadata: {name: c}}\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let state = dir.path().join("state.json");
        let store = DirStore::load(dir.path(), &state).unwrap_or_else(|e| panic!("{e}"));
        let keys = store.keys();
        assert_eq!(keys.len(), 2);
        assert_eq!(keys[0].kind, Kind::TaskRun);
        assert_eq!(keys[0].namespace, "default");
        let a = &keys[0];
        let stale = serde_json::json!({"metadata": {"resourceVersion": "7", "labels": {"x": "y"}}});
        assert!(matches!(
            store.patch(a, &stale).await,
            Err(StoreError::Conflict)
        ));
        let p =
            serde_json::json!({"metadata": {"resourceVersion": "1", "annotations": {"k": "v"}}});
        let after = store.patch(a, &p).await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(after["metadata"]["resourceVersion"], "2");
        let removed = serde_json::json!({"metadata": {"annotations": {"k": null, "k2": "w"}}});
        store
            .patch(a, &removed)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let again = DirStore::load(dir.path(), &state).unwrap_or_else(|e| panic!("{e}"));
        let v = again
            .get(a)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_default();
        assert_eq!(v["metadata"]["annotations"], serde_json::json!({"k2": "w"}));
    }
}
