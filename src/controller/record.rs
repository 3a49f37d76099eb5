//! What the controller reads from and writes onto a run: Chains' annotations (unchanged in
//! meaning), hallmark's own (`hallmark.dev/...`), the state label that takes recorded runs
//! out of the watch, and the finalizer. Pure: a run's JSON becomes a typed [`RunView`],
//! and [`decide`] says what to do with it; patches are built as JSON values.

use std::collections::BTreeMap;

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::bundle::TransparencyLogEntry;
use crate::config::Config;

/// `chains.tekton.dev/signed`: `true` once recorded, `failed` after the retry budget.
pub const SIGNED: &str = "chains.tekton.dev/signed";
/// `chains.tekton.dev/transparency`: the URL of the run's (first) Rekor entry.
pub const TRANSPARENCY: &str = "chains.tekton.dev/transparency";
/// `chains.tekton.dev/retries`: how many attempts failed.
pub const RETRIES: &str = "chains.tekton.dev/retries";
/// `chains.tekton.dev/transparency-upload`: `true` asks for an upload in `manual` mode.
pub const TRANSPARENCY_UPLOAD: &str = "chains.tekton.dev/transparency-upload";
/// `hallmark.dev/transparency`: every Rekor entry URL of the run, as a JSON list.
pub const HM_TRANSPARENCY: &str = "hallmark.dev/transparency";
/// `hallmark.dev/claim`: `HOLDER RFC3339`, the controller working on the run.
pub const CLAIM: &str = "hallmark.dev/claim";
/// `hallmark.dev/signed-record`: the signed bytes ([`SignedRecord`]), stored before any
/// sink is written so that a retry republishes exactly them.
pub const RECORD: &str = "hallmark.dev/signed-record";
/// `hallmark.dev/progress`: per-sink progress ([`Progress`]).
pub const PROGRESS: &str = "hallmark.dev/progress";
/// `hallmark.dev/reason`: why the run is not signed (yet).
pub const REASON: &str = "hallmark.dev/reason";
/// The label put on recorded runs; the watch selects runs without it.
pub const STATE_LABEL: &str = "hallmark.dev/state";
/// The finalizer held while a claimed run is not recorded.
pub const FINALIZER: &str = "hallmark.dev/signing";
/// The label Tekton puts on a PipelineRun's child TaskRuns.
pub const PIPELINE_RUN_LABEL: &str = "tekton.dev/pipelineRun";

/// TaskRun or PipelineRun.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Kind {
    /// `tekton.dev/v1` TaskRun.
    TaskRun,
    /// `tekton.dev/v1` PipelineRun.
    PipelineRun,
}

impl Kind {
    /// `taskrun` / `pipelinerun` (metric and key names, as Chains).
    #[must_use]
    pub fn lower(self) -> &'static str {
        match self {
            Self::TaskRun => "taskrun",
            Self::PipelineRun => "pipelinerun",
        }
    }

    /// The resource's plural (`taskruns`).
    #[must_use]
    pub fn plural(self) -> &'static str {
        match self {
            Self::TaskRun => "taskruns",
            Self::PipelineRun => "pipelineruns",
        }
    }
}

/// A run's identity: kind, namespace, name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RunKey {
    /// The kind.
    pub kind: Kind,
    /// The namespace.
    pub namespace: String,
    /// The name.
    pub name: String,
}

impl std::fmt::Display for RunKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}/{}", self.kind.lower(), self.namespace, self.name)
    }
}

/// What the controller reads of a run object.
#[derive(Debug, Clone, Default)]
pub struct RunView {
    /// `metadata.uid`.
    pub uid: String,
    /// `metadata.resourceVersion`.
    pub resource_version: String,
    /// `metadata.labels`.
    pub labels: BTreeMap<String, String>,
    /// `metadata.annotations`.
    pub annotations: BTreeMap<String, String>,
    /// `metadata.finalizers`.
    pub finalizers: Vec<String>,
    /// `metadata.deletionTimestamp`.
    pub deletion: Option<jiff::Timestamp>,
    /// `spec.managedBy`.
    pub managed_by: Option<String>,
    /// The `Succeeded` condition's status (`True`, `False`, `Unknown`), if any.
    pub succeeded: Option<String>,
    /// `status.completionTime`, else the condition's `lastTransitionTime`.
    pub completed_at: Option<jiff::Timestamp>,
    /// PipelineRun: `status.childReferences[].name` of kind TaskRun.
    pub children: Vec<String>,
    /// The ServiceAccount the run ran as (`spec.serviceAccountName`, a PipelineRun's
    /// `spec.taskRunTemplate.serviceAccountName`; `default` when unset).
    pub service_account: String,
}

fn str_map(v: &Value) -> BTreeMap<String, String> {
    v.as_object()
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_owned())))
                .collect()
        })
        .unwrap_or_default()
}

fn time(v: &Value) -> Option<jiff::Timestamp> {
    v.as_str().and_then(|s| s.parse().ok())
}

impl RunView {
    /// Read a run object (any JSON; missing fields are empty).
    #[must_use]
    pub fn from_json(obj: &Value) -> Self {
        let meta = &obj["metadata"];
        let condition = obj["status"]["conditions"]
            .as_array()
            .and_then(|cs| cs.iter().find(|c| c["type"] == "Succeeded"));
        Self {
            uid: meta["uid"].as_str().unwrap_or_default().to_owned(),
            resource_version: meta["resourceVersion"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            labels: str_map(&meta["labels"]),
            annotations: str_map(&meta["annotations"]),
            finalizers: meta["finalizers"]
                .as_array()
                .map(|f| {
                    f.iter()
                        .filter_map(|s| s.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default(),
            deletion: time(&meta["deletionTimestamp"]),
            managed_by: obj["spec"]["managedBy"]
                .as_str()
                .filter(|s| !s.is_empty())
                .map(str::to_owned),
            succeeded: condition.and_then(|c| c["status"].as_str().map(str::to_owned)),
            completed_at: time(&obj["status"]["completionTime"])
                .or_else(|| condition.and_then(|c| time(&c["lastTransitionTime"]))),
            children: obj["status"]["childReferences"]
                .as_array()
                .map(|cs| {
                    cs.iter()
                        .filter(|c| c["kind"].as_str().is_none_or(|k| k == "TaskRun"))
                        .filter_map(|c| c["name"].as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default(),
            service_account: obj["spec"]["serviceAccountName"]
                .as_str()
                .or_else(|| obj["spec"]["taskRunTemplate"]["serviceAccountName"].as_str())
                .filter(|s| !s.is_empty())
                .unwrap_or("default")
                .to_owned(),
        }
    }

    /// Done: the `Succeeded` condition is there and not `Unknown` (failed runs are signed
    /// too, as Chains does).
    #[must_use]
    pub fn is_done(&self) -> bool {
        self.succeeded.as_deref().is_some_and(|s| s != "Unknown")
    }

    /// Recorded by hallmark (or marked so): carries the state label.
    #[must_use]
    pub fn is_recorded(&self) -> bool {
        self.labels.contains_key(STATE_LABEL)
    }

    /// The claim's holder and time, when claimed.
    #[must_use]
    pub fn claim(&self) -> Option<(&str, Option<jiff::Timestamp>)> {
        let c = self.annotations.get(CLAIM)?;
        let (holder, at) = c.split_once(' ').unwrap_or((c.as_str(), ""));
        Some((holder, at.parse().ok()))
    }

    /// `chains.tekton.dev/retries`.
    #[must_use]
    pub fn retries(&self) -> u32 {
        self.annotations
            .get(RETRIES)
            .and_then(|r| r.parse().ok())
            .unwrap_or(0)
    }

    /// The stored signed record, when there is one and it parses.
    #[must_use]
    pub fn record(&self) -> Option<SignedRecord> {
        self.annotations
            .get(RECORD)
            .and_then(|r| serde_json::from_str(r).ok())
    }

    /// The stored progress (empty when none).
    #[must_use]
    pub fn progress(&self) -> Progress {
        self.annotations
            .get(PROGRESS)
            .and_then(|r| serde_json::from_str(r).ok())
            .unwrap_or_default()
    }
}

/// What to do with a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Nothing (not finished, not ours, or already recorded).
    Ignore(&'static str),
    /// Signed by Tekton Chains: left alone.
    SignedByChains,
    /// Claimed by another controller: its claim expires after this long (then look again).
    ClaimedByOther(String, std::time::Duration),
    /// Sign (or resume publishing the stored record).
    Process,
    /// Being deleted past the finalizer deadline: drop the finalizer, record nothing.
    Release,
}

/// Settings [`decide`] needs.
#[derive(Debug, Clone)]
pub struct DecideOptions {
    /// This controller's identity (claims).
    pub holder: String,
    /// A claim older than this is abandoned and may be taken over.
    pub claim_ttl: std::time::Duration,
    /// How long a deleted run's finalizer may hold it.
    pub finalizer_deadline: std::time::Duration,
}

/// Decide what to do with `run` (a pure function of the object, the configuration and
/// the time).
#[must_use]
pub fn decide(
    kind: Kind,
    run: &RunView,
    config: &Config,
    opts: &DecideOptions,
    now: jiff::Timestamp,
) -> Decision {
    if run.is_recorded() {
        return Decision::Ignore("already recorded");
    }
    if let Some(deleted) = run.deletion {
        let past =
            now.duration_since(deleted).as_secs_f64() >= opts.finalizer_deadline.as_secs_f64();
        if past && run.finalizers.iter().any(|f| f == FINALIZER) {
            return Decision::Release;
        }
        if !run.finalizers.iter().any(|f| f == FINALIZER) {
            return Decision::Ignore("being deleted");
        }
    }
    if !run.is_done() {
        return Decision::Ignore("not finished");
    }
    let artifact = match kind {
        Kind::TaskRun => &config.taskrun,
        Kind::PipelineRun => &config.pipelinerun,
    };
    if !artifact.enabled() {
        return Decision::Ignore("signing disabled for this kind");
    }
    if let Some(m) = &run.managed_by
        && m != "tekton.dev/pipeline"
        && !config.managed_by.iter().any(|x| x == m)
    {
        return Decision::Ignore("managed by another controller (filter.managed-by)");
    }
    match run.annotations.get(SIGNED).map(String::as_str) {
        Some("true") if !run.annotations.contains_key(CLAIM) => {
            return Decision::SignedByChains;
        }
        Some("true" | "failed") if !run.annotations.contains_key(CLAIM) => {
            return Decision::Ignore("marked by Chains");
        }
        _ => {}
    }
    if let Some((holder, at)) = run.claim()
        && holder != opts.holder
    {
        let age = at.map_or(0.0, |at| now.duration_since(at).as_secs_f64().max(0.0));
        let ttl = opts.claim_ttl.as_secs_f64();
        if at.is_some() && age < ttl {
            return Decision::ClaimedByOther(
                holder.to_owned(),
                std::time::Duration::from_secs_f64(ttl - age),
            );
        }
    }
    Decision::Process
}

/// The signed bytes of a run, stored on it before the first sink write.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedRecord {
    /// The DSSE envelope, exactly as published.
    pub envelope: String,
    /// Key signers: the public key (PEM) that verifies the envelope.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key: Option<String>,
    /// Keyless: the certificate chain, base64 DER, leaf first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub chain: Vec<String>,
    /// RFC 3161 timestamps over the signature, base64 DER.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub timestamps: Vec<String>,
    /// The predicate type.
    pub predicate_type: String,
    /// The OCI images the statement names (`REPO@sha256:HEX`): attestations go beside them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subjects: Vec<String>,
    /// `artifacts.oci`: simple-signing signatures of the images, by image.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub image_signatures: Vec<ImageSignatureRecord>,
}

/// One stored image signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageSignatureRecord {
    /// `REPO@sha256:HEX`.
    pub image: String,
    /// The signature over the simple-signing payload, base64.
    pub signature: String,
    /// Key signers: the public key (PEM).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key: Option<String>,
    /// Keyless: the chain, base64 DER, leaf first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub chain: Vec<String>,
}

/// Base64 (standard) of bytes.
#[must_use]
pub fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Bytes of standard base64; `None` when malformed.
#[must_use]
pub fn unb64(s: &str) -> Option<Vec<u8>> {
    base64::engine::general_purpose::STANDARD.decode(s).ok()
}

/// One sink's state for one target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", tag = "state")]
pub enum SinkState {
    /// Written.
    Done {
        /// What was written.
        #[serde(default, skip_serializing_if = "String::is_empty")]
        detail: String,
    },
    /// The last attempt failed.
    Error {
        /// Why.
        reason: String,
    },
}

/// Per-sink progress of a run: `SINK TARGET` → state, and the Rekor entries obtained,
/// by target (so that a retry republishes them rather than logging again).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    /// Sink states.
    #[serde(default)]
    pub sinks: BTreeMap<String, SinkState>,
    /// Rekor entries: `attestation` or the image (`REPO@sha256:HEX`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub entries: BTreeMap<String, TransparencyLogEntry>,
    /// Rekor entry URLs, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub urls: Vec<String>,
}

impl Progress {
    /// Whether `sink` is done.
    #[must_use]
    pub fn is_done(&self, sink: &str) -> bool {
        matches!(self.sinks.get(sink), Some(SinkState::Done { .. }))
    }

    /// The failed sinks and their reasons.
    #[must_use]
    pub fn failures(&self) -> Vec<(String, String)> {
        self.sinks
            .iter()
            .filter_map(|(k, v)| match v {
                SinkState::Error { reason } => Some((k.clone(), reason.clone())),
                SinkState::Done { .. } => None,
            })
            .collect()
    }
}

fn annotations_patch(resource_version: Option<&str>, annotations: Value) -> Value {
    let mut meta = json!({ "annotations": annotations });
    if let Some(rv) = resource_version {
        meta["resourceVersion"] = Value::String(rv.to_owned());
    }
    json!({ "metadata": meta })
}

/// The claim: `hallmark.dev/claim` and the finalizer, conditioned on the resourceVersion
/// read (a concurrent writer makes it fail with a conflict).
#[must_use]
pub fn claim_patch(run: &RunView, holder: &str, now: jiff::Timestamp) -> Value {
    let mut finalizers = run.finalizers.clone();
    if !finalizers.iter().any(|f| f == FINALIZER) {
        finalizers.push(FINALIZER.to_owned());
    }
    let mut p = annotations_patch(
        Some(&run.resource_version),
        json!({ CLAIM: format!("{holder} {now}") }),
    );
    p["metadata"]["finalizers"] = json!(finalizers);
    p
}

/// Store the signed record and the (empty) progress, conditioned on the claim's
/// resourceVersion.
#[must_use]
pub fn store_patch(resource_version: &str, record: &SignedRecord) -> Value {
    annotations_patch(
        Some(resource_version),
        json!({
            RECORD: serde_json::to_string(record).unwrap_or_default(),
            REASON: Value::Null,
        }),
    )
}

/// Save progress (unconditional: only the claim holder writes it).
#[must_use]
pub fn progress_patch(progress: &Progress) -> Value {
    annotations_patch(
        None,
        json!({ PROGRESS: serde_json::to_string(progress).unwrap_or_default() }),
    )
}

/// A failed attempt: the reason and the retry count.
#[must_use]
pub fn retry_patch(retries: u32, reason: &str) -> Value {
    annotations_patch(
        None,
        json!({ RETRIES: retries.to_string(), REASON: reason }),
    )
}

/// A reason without counting a retry (configuration problems, waiting on children).
#[must_use]
pub fn reason_patch(reason: &str) -> Value {
    annotations_patch(None, json!({ REASON: reason }))
}

/// Record the outcome: `chains.tekton.dev/signed` (`true` or `failed`), the transparency
/// URLs, the state label (out of the watch), the claim and the finalizer gone.
#[must_use]
pub fn record_patch(
    run: &RunView,
    signed: bool,
    progress: &Progress,
    reason: Option<&str>,
) -> Value {
    let mut annotations = json!({
        SIGNED: if signed { "true" } else { "failed" },
        CLAIM: Value::Null,
        PROGRESS: serde_json::to_string(progress).unwrap_or_default(),
        REASON: reason.map_or(Value::Null, |r| Value::String(r.to_owned())),
    });
    if let Some(first) = progress.urls.first() {
        annotations[TRANSPARENCY] = Value::String(first.clone());
        annotations[HM_TRANSPARENCY] =
            Value::String(serde_json::to_string(&progress.urls).unwrap_or_default());
    }
    let finalizers: Vec<&String> = run.finalizers.iter().filter(|f| *f != FINALIZER).collect();
    json!({
        "metadata": {
            "resourceVersion": run.resource_version,
            "annotations": annotations,
            "labels": { STATE_LABEL: if signed { "done" } else { "failed" } },
            "finalizers": finalizers,
        }
    })
}

/// Drop the finalizer (conditioned on the resourceVersion, since the list is replaced).
#[must_use]
pub fn release_patch(run: &RunView) -> Value {
    let finalizers: Vec<&String> = run.finalizers.iter().filter(|f| *f != FINALIZER).collect();
    json!({ "metadata": { "resourceVersion": run.resource_version, "finalizers": finalizers } })
}

/// Chains' `tekton` storage backend annotations (`chains.tekton.dev/{payload,signature,
/// cert,chain}-<kind>-<uid>`, base64): the statement, the envelope, the leaf and chain PEM.
#[must_use]
pub fn tekton_storage_patch(
    kind: Kind,
    uid: &str,
    statement: &[u8],
    envelope: &[u8],
    cert_pem: &str,
    chain_pem: &str,
) -> Value {
    let key = format!("{}-{uid}", kind.lower());
    annotations_patch(
        None,
        json!({
            format!("chains.tekton.dev/payload-{key}"): b64(statement),
            format!("chains.tekton.dev/signature-{key}"): b64(envelope),
            format!("chains.tekton.dev/cert-{key}"): b64(cert_pem.as_bytes()),
            format!("chains.tekton.dev/chain-{key}"): b64(chain_pem.as_bytes()),
        }),
    )
}

/// Chains' Rekor entry URL: `{rekor}/api/v1/log/entries?logIndex={index}`.
#[must_use]
pub fn entry_url(rekor: &str, log_index: i64) -> String {
    format!(
        "{}/api/v1/log/entries?logIndex={log_index}",
        rekor.trim_end_matches('/')
    )
}

#[cfg(test)]
#[allow(clippy::panic)]
mod tests {
    use super::*;

    fn opts() -> DecideOptions {
        DecideOptions {
            holder: "me".into(),
            claim_ttl: std::time::Duration::from_secs(300),
            finalizer_deadline: std::time::Duration::from_secs(60),
        }
    }

    fn run(extra: Value) -> RunView {
        let mut obj = json!({
            "metadata": {"name": "r", "namespace": "ns", "uid": "u1", "resourceVersion": "7"},
            "spec": {},
            "status": {"conditions": [{"type": "Succeeded", "status": "True",
                                       "lastTransitionTime": "2026-01-01T00:00:00Z"}]}
        });
        merge(&mut obj, extra);
        RunView::from_json(&obj)
    }

    fn merge(a: &mut Value, b: Value) {
        match (a, b) {
            (Value::Object(a), Value::Object(b)) => {
                for (k, v) in b {
                    merge(a.entry(k).or_insert(Value::Null), v);
                }
            }
            (a, b) => *a = b,
        }
    }

    fn now() -> jiff::Timestamp {
        "2026-01-01T00:01:00Z"
            .parse()
            .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn decisions_follow_state_and_config() {
        let c = Config::default();
        let d = |v: &RunView| decide(Kind::TaskRun, v, &c, &opts(), now());
        assert_eq!(d(&run(json!({}))), Decision::Process);
        assert_eq!(
            d(&run(
                json!({"status": {"conditions": [{"type": "Succeeded", "status": "Unknown"}]}})
            )),
            Decision::Ignore("not finished")
        );
        assert_eq!(
            d(&run(
                json!({"status": {"conditions": [{"type": "Succeeded", "status": "False"}]}})
            )),
            Decision::Process,
            "failed runs are signed too"
        );
        assert_eq!(
            d(&run(json!({"metadata": {"annotations": {SIGNED: "true"}}}))),
            Decision::SignedByChains
        );
        assert_eq!(
            d(&run(json!({"metadata": {"labels": {STATE_LABEL: "done"}}}))),
            Decision::Ignore("already recorded")
        );
        assert_eq!(
            d(&run(json!({"spec": {"managedBy": "other.dev/x"}}))),
            Decision::Ignore("managed by another controller (filter.managed-by)")
        );
        let c2 = Config {
            managed_by: vec!["other.dev/x".into()],
            ..Config::default()
        };
        assert_eq!(
            decide(
                Kind::TaskRun,
                &run(json!({"spec": {"managedBy": "other.dev/x"}})),
                &c2,
                &opts(),
                now()
            ),
            Decision::Process
        );
        // A fresh claim by another holder is respected; a stale one is taken over.
        assert_eq!(
            d(&run(
                json!({"metadata": {"annotations": {CLAIM: "other 2026-01-01T00:00:30Z"}}})
            )),
            Decision::ClaimedByOther("other".into(), std::time::Duration::from_secs(270))
        );
        let stale =
            run(json!({"metadata": {"annotations": {CLAIM: "other 2025-12-31T00:00:00Z"}}}));
        assert_eq!(d(&stale), Decision::Process);
        // Deleted past the deadline with our finalizer: release.
        let deleted = run(
            json!({"metadata": {"deletionTimestamp": "2026-01-01T00:00:00Z",
                                              "finalizers": [FINALIZER]}}),
        );
        assert_eq!(d(&deleted), Decision::Release);
    }

    #[test]
    fn claim_and_record_patches_keep_other_finalizers() {
        let r = run(json!({"metadata": {"finalizers": ["x.dev/keep"]}}));
        let p = claim_patch(&r, "me", now());
        assert_eq!(p["metadata"]["resourceVersion"], "7");
        assert_eq!(
            p["metadata"]["finalizers"],
            json!(["x.dev/keep", FINALIZER])
        );
        let claimed = run(json!({"metadata": {"finalizers": ["x.dev/keep", FINALIZER]}}));
        let mut progress = Progress::default();
        progress.urls.push(entry_url("http://rekor/", 42));
        let rec = record_patch(&claimed, true, &progress, None);
        assert_eq!(rec["metadata"]["finalizers"], json!(["x.dev/keep"]));
        assert_eq!(rec["metadata"]["labels"][STATE_LABEL], "done");
        assert_eq!(rec["metadata"]["annotations"][SIGNED], "true");
        assert_eq!(
            rec["metadata"]["annotations"][TRANSPARENCY],
            "http://rekor/api/v1/log/entries?logIndex=42"
        );
        assert_eq!(rec["metadata"]["annotations"][CLAIM], Value::Null);
        let failed = record_patch(&claimed, false, &Progress::default(), Some("boom"));
        assert_eq!(failed["metadata"]["annotations"][SIGNED], "failed");
        assert_eq!(failed["metadata"]["annotations"][REASON], "boom");
    }

    #[test]
    fn records_round_trip_through_annotations() {
        let rec = SignedRecord {
            envelope: "{}".into(),
            public_key: Some("PEM".into()),
            chain: vec![],
            timestamps: vec![],
            predicate_type: "https://slsa.dev/provenance/v0.2".into(),
            subjects: vec!["r/app@sha256:00".into()],
            image_signatures: vec![],
        };
        let p = store_patch("9", &rec);
        let annotations = p["metadata"]["annotations"].clone();
        let v = RunView::from_json(&json!({"metadata": {"annotations": annotations}}));
        assert_eq!(v.record(), Some(rec));
        let mut progress = Progress::default();
        progress.sinks.insert(
            "rekor attestation".into(),
            SinkState::Done {
                detail: String::new(),
            },
        );
        progress.sinks.insert(
            "oci-legacy x".into(),
            SinkState::Error {
                reason: "503".into(),
            },
        );
        let p = progress_patch(&progress);
        let v = RunView::from_json(
            &json!({"metadata": {"annotations": p["metadata"]["annotations"].clone()}}),
        );
        assert_eq!(v.progress(), progress);
        assert!(v.progress().is_done("rekor attestation"));
        assert_eq!(
            v.progress().failures(),
            vec![("oci-legacy x".into(), "503".into())]
        );
    }
}
