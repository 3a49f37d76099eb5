//! The work done for one run, the same in the cluster and in embedded mode: decide, claim,
//! format and sign once, store the signed bytes on the run, publish them to every sink
//! that has not got them yet, and record the outcome.
//!
//! Order and durability:
//! 1. **Claim** (`hallmark.dev/claim` + the finalizer), conditioned on the resourceVersion
//!    read, so two controllers never both sign a run.
//! 2. **Sign once**: the statement is formatted and signed, the signature checked against
//!    the signer's key, and the envelope (with the image signatures of `artifacts.oci`)
//!    stored on the run ([`SignedRecord`]) before any sink is written.
//! 3. **Publish** the stored bytes: Rekor first (the OCI layouts carry its entry), then
//!    every OCI target concurrently. Each sink's result is saved in `hallmark.dev/progress`,
//!    and a retry only repeats the sinks that failed — with the same bytes, so Rekor's 409
//!    and the registry's digest checks make a repeat harmless.
//! 4. **Record**: `chains.tekton.dev/signed=true`, the transparency URLs, the state label
//!    that takes the run out of the watch; the claim and finalizer go. After the retry
//!    budget the run is recorded `failed` with the reason.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use super::credentials::Registries;
use super::record::{
    self, DecideOptions, Decision, ImageSignatureRecord, Kind, Progress, RunKey, RunView,
    SignedRecord, SinkState, b64, unb64,
};
use crate::config::{Config, OciEncoding, StorageBackend};
use crate::dsse::{Envelope, IN_TOTO_PAYLOAD_TYPE};
use crate::oci::{ImageRef, Pusher};
use crate::provenance::{self, Format};
use crate::publish::{self, Attestation, BundleFormat, ImageSignature, Material, OciSink};
use crate::rekor::upload::{LogTarget, SignerMaterial, legacy_bundle_annotation};
use crate::signing::tsa::TsaClient;
use crate::signing::{self, AsyncSigner, PublicKey};
use crate::tekton::{self, Run, RunKind, TaskRun};
use crate::trust::TrustedRoot;

/// Errors of the store of runs (the Kubernetes API, or the embedded directory).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The object changed since it was read (HTTP 409): read it again.
    #[error("the run changed since it was read (conflict)")]
    Conflict,
    /// A request failed and may succeed later.
    #[error("{0}")]
    Transient(String),
    /// A request failed for good (forbidden, invalid).
    #[error("{0}")]
    Permanent(String),
}

impl StoreError {
    /// Whether a retry may succeed.
    #[must_use]
    pub fn is_transient(&self) -> bool {
        !matches!(self, Self::Permanent(_))
    }
}

/// Where runs live: the Kubernetes API in the cluster, a directory in embedded mode.
pub trait RunStore: Send + Sync {
    /// The run object, `None` when it is gone.
    ///
    /// # Errors
    ///
    /// [`StoreError`].
    fn get(&self, key: &RunKey) -> impl Future<Output = Result<Option<Value>, StoreError>> + Send;

    /// Apply a JSON merge patch (a `metadata.resourceVersion` in it is a precondition) and
    /// return the object after it.
    ///
    /// # Errors
    ///
    /// [`StoreError::Conflict`] when the precondition fails.
    fn patch(
        &self,
        key: &RunKey,
        patch: &Value,
    ) -> impl Future<Output = Result<Value, StoreError>> + Send;

    /// Report an event on the run (a Kubernetes Event; a log line elsewhere). Best effort.
    fn event(
        &self,
        key: &RunKey,
        uid: &str,
        warning: bool,
        reason: &str,
        message: &str,
    ) -> impl Future<Output = ()> + Send;
}

/// A signer with what goes with its signatures.
#[derive(Clone)]
pub struct SignerHandle {
    /// The signer.
    pub signer: Arc<dyn AsyncSigner>,
    /// What it is, for messages (never a secret).
    pub what: String,
    /// The timestamp authority for keyless signatures, if any.
    pub tsa: Option<TsaClient>,
}

/// Everything built from one configuration: rebuilt, as a whole, when it changes.
pub struct Settings {
    /// The Chains configuration.
    pub config: Config,
    /// The signers of TaskRuns, PipelineRuns and images; `Err` names the configuration
    /// problem (runs then wait, unsigned, for a fixed configuration).
    pub signers: Result<Signers, String>,
    /// The transparency log, when `transparency.enabled`.
    pub log: Option<LogTarget>,
    /// Trust for checking log entries before recording them.
    pub trust: Arc<TrustedRoot>,
    /// The retry budget (attempts after the first).
    pub max_retries: u32,
    /// The first retry's delay; doubled each time, at most 64 times it.
    pub retry_base: Duration,
}

/// A signer slot: `Ok(None)` when that kind is not signed, `Err` naming the
/// configuration problem that stops it (runs of that kind wait, unsigned).
pub type SignerSlot = Result<Option<SignerHandle>, String>;

/// The signers of each artifact kind.
#[derive(Clone)]
pub struct Signers {
    /// `artifacts.taskrun.signer`.
    pub taskrun: SignerSlot,
    /// `artifacts.pipelinerun.signer`.
    pub pipelinerun: SignerSlot,
    /// `artifacts.oci.signer`.
    pub oci: SignerSlot,
}

/// What became of a run.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Recorded: signed (`true`) or failed for good (`false`).
    Recorded {
        /// `chains.tekton.dev/signed=true`.
        signed: bool,
        /// The TaskRun's PipelineRun (to wake it).
        parent: Option<String>,
        /// Seconds from the run's completion to the record.
        latency: Option<f64>,
        /// The attestation is in the transparency log.
        logged: bool,
    },
    /// Try again after this delay.
    Retry(Duration, String),
    /// Not for now: the reason (a PipelineRun waiting on children, a configuration
    /// problem). Woken by an event, not a timer.
    Waiting(String),
    /// Look again after this delay, without counting a retry (another controller's claim
    /// has not expired yet).
    Later(Duration, String),
    /// Nothing to do.
    Skipped(String),
    /// The finalizer of a deleted run was released past the deadline.
    Released,
}

/// Stop dead at a named step when the test failpoint says so (see
/// [`set_failpoints_enabled`]).
fn failpoint(step: &str) {
    if FAILPOINTS.get().copied().unwrap_or(false)
        && std::env::var("HALLMARK_FAILPOINT").is_ok_and(|f| f == step)
    {
        tracing::error!(failpoint = step, "failpoint reached: exiting");
        std::process::exit(86);
    }
}

static FAILPOINTS: std::sync::OnceLock<bool> = std::sync::OnceLock::new();

/// Honour `HALLMARK_FAILPOINT=after-sign|after-rekor|after-oci` (tests only: the
/// controller's `--insecure-test-failpoints` flag).
pub fn set_failpoints_enabled(on: bool) {
    let _ = FAILPOINTS.set(on);
}

/// The engine: one per controller, shared by its workers.
pub struct Engine<S, R> {
    /// The runs.
    pub store: S,
    /// The registry client of each run (or the image layout).
    pub registries: R,
    /// The current settings (replaced on a configuration change).
    pub settings: std::sync::RwLock<Arc<Settings>>,
    /// Claims and deadlines.
    pub decide: DecideOptions,
    /// Signatures this process made (envelopes and image signatures), for the
    /// `hallmark_signatures_total` metric.
    pub signatures: std::sync::atomic::AtomicU64,
}

/// A failure of one step, for the retry decision.
struct StepError {
    reason: String,
    transient: bool,
}

fn permanent(reason: impl Into<String>) -> StepError {
    StepError {
        reason: reason.into(),
        transient: false,
    }
}

impl From<StoreError> for StepError {
    fn from(e: StoreError) -> Self {
        Self {
            transient: e.is_transient(),
            reason: e.to_string(),
        }
    }
}

fn chain_text(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

/// The images a statement names: subjects with a SHA-256 digest whose name is an image
/// repository.
fn subject_images(statement: &provenance::Statement) -> Vec<ImageRef> {
    statement
        .subjects()
        .iter()
        .filter_map(|s| {
            let hex = s.digest.get("sha256")?;
            ImageRef::parse(&format!("{}@sha256:{hex}", s.name)).ok()
        })
        .collect()
}

impl<S: RunStore, R: Registries> Engine<S, R> {
    /// The settings now.
    #[must_use]
    pub fn settings(&self) -> Arc<Settings> {
        self.settings
            .read()
            .map(|s| Arc::clone(&s))
            .unwrap_or_else(|p| Arc::clone(&p.into_inner()))
    }

    /// Replace the settings (hot reload).
    pub fn replace_settings(&self, s: Settings) {
        let s = Arc::new(s);
        match self.settings.write() {
            Ok(mut g) => *g = s,
            Err(p) => *p.into_inner() = s,
        }
    }

    /// Process one run: see the module docs.
    pub async fn process(&self, key: &RunKey) -> Outcome {
        let settings = self.settings();
        match self.process_inner(key, &settings).await {
            Ok(o) => o,
            Err(e) => Outcome::Retry(settings.retry_base, e.reason),
        }
    }

    async fn process_inner(&self, key: &RunKey, st: &Settings) -> Result<Outcome, StepError> {
        let Some(obj) = self.store.get(key).await? else {
            return Ok(Outcome::Skipped("gone".into()));
        };
        let mut view = RunView::from_json(&obj);
        tracing::Span::current().record("uid", view.uid.as_str());
        match record::decide(
            key.kind,
            &view,
            &st.config,
            &self.decide,
            jiff::Timestamp::now(),
        ) {
            Decision::Process => {}
            Decision::Release => {
                self.store.patch(key, &record::release_patch(&view)).await?;
                self.store
                    .event(
                        key,
                        &view.uid,
                        true,
                        "FinalizerReleased",
                        "deleted before it could be signed: released after the finalizer deadline",
                    )
                    .await;
                return Ok(Outcome::Released);
            }
            Decision::SignedByChains => {
                return Ok(Outcome::Skipped("signed by Tekton Chains".into()));
            }
            Decision::ClaimedByOther(h, expires) => {
                return Ok(Outcome::Later(
                    expires + Duration::from_millis(100),
                    format!("claimed by {h}"),
                ));
            }
            Decision::Ignore(why) => return Ok(Outcome::Skipped(why.into())),
        }
        let signer = st.signers.as_ref().map_err(Clone::clone).and_then(|s| {
            let own = match key.kind {
                Kind::TaskRun => &s.taskrun,
                Kind::PipelineRun => &s.pipelinerun,
            };
            let own = own
                .as_ref()
                .map_err(|p| format!("{} signer: {p}", key.kind.lower()))?;
            let oci = s.oci.as_ref().map_err(|p| format!("image signer: {p}"))?;
            Ok((own.clone(), oci.clone()))
        });
        let (signer, oci_signer) = match signer {
            Ok((Some(own), oci)) => (own, oci),
            Ok((None, _)) => return Ok(Outcome::Skipped("signing disabled for this kind".into())),
            Err(problem) => {
                let reason = format!("configuration: {problem}");
                if view.annotations.get(record::REASON) != Some(&reason) {
                    self.store
                        .patch(key, &record::reason_patch(&reason))
                        .await?;
                    self.store
                        .event(key, &view.uid, true, "ConfigurationError", &reason)
                        .await;
                }
                return Ok(Outcome::Waiting(reason));
            }
        };

        // A PipelineRun waits for its children to be recorded.
        let mut children = Vec::new();
        if key.kind == Kind::PipelineRun {
            for name in &view.children {
                let child_key = RunKey {
                    kind: Kind::TaskRun,
                    namespace: key.namespace.clone(),
                    name: name.clone(),
                };
                let Some(child) = self.store.get(&child_key).await? else {
                    return self
                        .finish(
                            key,
                            &view,
                            false,
                            &Progress::default(),
                            Some(&format!("child TaskRun {name} not found")),
                        )
                        .await;
                };
                let cv = RunView::from_json(&child);
                let recorded = cv.is_recorded()
                    || cv
                        .annotations
                        .get(record::SIGNED)
                        .is_some_and(|s| s == "true");
                if st.config.taskrun.enabled() && !recorded {
                    let reason = format!("waiting for child TaskRun {name} to be signed");
                    return Ok(Outcome::Waiting(reason));
                }
                children.push(child);
            }
        }

        let record = match view.record() {
            Some(r) => r,
            None => {
                if view.claim().is_none_or(|(h, _)| h != self.decide.holder) {
                    let claimed = self
                        .store
                        .patch(
                            key,
                            &record::claim_patch(
                                &view,
                                &self.decide.holder,
                                jiff::Timestamp::now(),
                            ),
                        )
                        .await?;
                    view = RunView::from_json(&claimed);
                }
                let record =
                    match sign_run(key, &obj, &children, st, &signer, oci_signer.as_ref()).await {
                        Ok(r) => {
                            let made = 1 + u64::try_from(r.image_signatures.len()).unwrap_or(0);
                            self.signatures
                                .fetch_add(made, std::sync::atomic::Ordering::Relaxed);
                            r
                        }
                        Err(e) if !e.transient => {
                            return self
                                .finish(key, &view, false, &Progress::default(), Some(&e.reason))
                                .await;
                        }
                        Err(e) => return self.retry(key, &view, st, &e.reason).await,
                    };
                let stored = self
                    .store
                    .patch(key, &record::store_patch(&view.resource_version, &record))
                    .await?;
                view = RunView::from_json(&stored);
                failpoint("after-sign");
                record
            }
        };

        let mut progress = view.progress();
        let manual_skip = st.config.transparency.manual
            && view
                .annotations
                .get(record::TRANSPARENCY_UPLOAD)
                .is_none_or(|v| v != "true");
        let storage = match key.kind {
            Kind::TaskRun => &st.config.taskrun.storage,
            Kind::PipelineRun => &st.config.pipelinerun.storage,
        };
        let material = match record_material(&record) {
            Ok(m) => m,
            Err(e) => {
                return self.finish(key, &view, false, &progress, Some(&e)).await;
            }
        };

        // 1. The transparency log.
        if let Some(log) = st.log.as_ref().filter(|_| !manual_skip) {
            log_all(log, &record, &material, st, &mut progress).await;
            self.store
                .patch(key, &record::progress_patch(&progress))
                .await?;
            failpoint("after-rekor");
        }

        // 2. The registry (and Chains' tekton backend), once the log entries are there:
        //    the layouts carry them, and a layer once written is not rewritten.
        let logged = progress
            .failures()
            .iter()
            .all(|(s, _)| !s.starts_with("rekor "));
        if logged && (storage.contains(&StorageBackend::Oci) || st.config.oci.enabled()) {
            let registry = self
                .registries
                .for_run(&key.namespace, &view.service_account)
                .await;
            self.publish_oci(
                registry.as_ref(),
                &record,
                &material,
                st,
                storage,
                &mut progress,
            )
            .await;
            self.store
                .patch(key, &record::progress_patch(&progress))
                .await?;
            failpoint("after-oci");
        }
        if storage.contains(&StorageBackend::Tekton) && !progress.is_done("tekton") {
            let (cert, chain) = match &material.attestation {
                Material::Certificates(c) => (
                    c.first().map(|d| pem(d)).unwrap_or_default(),
                    c.iter().skip(1).map(|d| pem(d)).collect::<String>(),
                ),
                Material::Key => (String::new(), String::new()),
            };
            let envelope = record.envelope.as_bytes();
            let statement = Envelope::from_json(envelope)
                .map(|e| e.payload)
                .unwrap_or_default();
            let p = record::tekton_storage_patch(
                key.kind, &view.uid, &statement, envelope, &cert, &chain,
            );
            match self.store.patch(key, &p).await {
                Ok(_) => {
                    progress.sinks.insert(
                        "tekton".into(),
                        SinkState::Done {
                            detail: String::new(),
                        },
                    );
                }
                Err(e) => {
                    progress.sinks.insert(
                        "tekton".into(),
                        SinkState::Error {
                            reason: e.to_string(),
                        },
                    );
                }
            }
        }

        let failures = progress.failures();
        if failures.is_empty() {
            let fresh = self
                .store
                .get(key)
                .await?
                .map(|o| RunView::from_json(&o))
                .unwrap_or(view);
            return self.finish(key, &fresh, true, &progress, None).await;
        }
        let reason = failures
            .iter()
            .map(|(s, r)| format!("{s}: {r}"))
            .collect::<Vec<_>>()
            .join("; ");
        self.retry(key, &view, st, &reason).await
    }

    async fn retry(
        &self,
        key: &RunKey,
        view: &RunView,
        st: &Settings,
        reason: &str,
    ) -> Result<Outcome, StepError> {
        let retries = view.retries() + 1;
        if retries > st.max_retries {
            let fresh = self.store.get(key).await?.map(|o| RunView::from_json(&o));
            let v = fresh.as_ref().unwrap_or(view);
            return self
                .finish(
                    key,
                    v,
                    false,
                    &v.progress(),
                    Some(&format!("after {} attempts: {reason}", retries)),
                )
                .await;
        }
        self.store
            .patch(key, &record::retry_patch(retries, reason))
            .await?;
        self.store
            .event(key, &view.uid, true, "SigningRetry", reason)
            .await;
        let factor = 1u32 << (retries - 1).min(6);
        Ok(Outcome::Retry(st.retry_base * factor, reason.to_owned()))
    }

    async fn finish(
        &self,
        key: &RunKey,
        view: &RunView,
        signed: bool,
        progress: &Progress,
        reason: Option<&str>,
    ) -> Result<Outcome, StepError> {
        self.store
            .patch(key, &record::record_patch(view, signed, progress, reason))
            .await?;
        if signed {
            self.store
                .event(key, &view.uid, false, "Signed", "signed and published")
                .await;
        } else {
            self.store
                .event(
                    key,
                    &view.uid,
                    true,
                    "SigningFailed",
                    reason.unwrap_or("failed"),
                )
                .await;
        }
        let latency = view
            .completed_at
            .map(|t| jiff::Timestamp::now().duration_since(t).as_secs_f64());
        Ok(Outcome::Recorded {
            signed,
            parent: (key.kind == Kind::TaskRun)
                .then(|| view.labels.get(record::PIPELINE_RUN_LABEL).cloned())
                .flatten(),
            latency,
            logged: progress.entries.contains_key("attestation"),
        })
    }

    async fn publish_oci<P: Pusher>(
        &self,
        registry: &P,
        record: &SignedRecord,
        material: &RecordMaterial,
        st: &Settings,
        storage: &std::collections::BTreeSet<StorageBackend>,
        progress: &mut Progress,
    ) {
        let repository = st
            .config
            .oci_storage
            .repository
            .as_deref()
            .filter(|r| !r.is_empty())
            .and_then(|r| ImageRef::parse(&format!("{r}@sha256:{}", "0".repeat(64))).ok())
            .map(|i| i.repository);
        let format = match st.config.oci_storage.encoding {
            OciEncoding::Dsse => BundleFormat::Legacy,
            OciEncoding::SigstoreBundle => BundleFormat::Referrers,
        };
        let sink = OciSink {
            format,
            repository: repository.clone(),
        };
        let attestation = material.attestation_for(record, progress);
        let mut jobs = Vec::new();
        if storage.contains(&StorageBackend::Oci) {
            for subject in &record.subjects {
                let Ok(image) = ImageRef::parse(subject) else {
                    continue;
                };
                let names = match format {
                    BundleFormat::Legacy => vec!["oci-legacy"],
                    BundleFormat::Referrers => vec!["oci-referrers"],
                    BundleFormat::Both => vec!["oci-legacy", "oci-referrers"],
                };
                if names
                    .iter()
                    .all(|n| progress.is_done(&format!("{n} {subject}")))
                {
                    continue;
                }
                let (attestation, sink) = (&attestation, &sink);
                jobs.push(Box::pin(async move {
                    publish::publish(registry, attestation, &[image], sink)
                        .await
                        .into_iter()
                        .map(|r| {
                            (
                                format!("{} {subject}", r.sink),
                                r.outcome.map_err(|e| chain_text(&e)),
                            )
                        })
                        .collect::<Vec<_>>()
                })
                    as std::pin::Pin<
                        Box<dyn Future<Output = Vec<(String, Result<String, String>)>> + Send + '_>,
                    >);
            }
        }
        if st.config.oci.enabled() && st.config.oci.storage.contains(&StorageBackend::Oci) {
            for sig in &record.image_signatures {
                let name = format!("oci-signature {}", sig.image);
                if progress.is_done(&name) {
                    continue;
                }
                let Ok(image) = ImageRef::parse(&sig.image) else {
                    continue;
                };
                let signature = ImageSignature {
                    payload: publish::simplesigning_payload(&image),
                    signature: unb64(&sig.signature).unwrap_or_default(),
                    material: material_of_parts(sig.public_key.as_deref(), &sig.chain),
                    rekor_annotation: progress
                        .entries
                        .get(&sig.image)
                        .and_then(|e| legacy_bundle_annotation(e).ok()),
                };
                let repository = repository.clone();
                jobs.push(Box::pin(async move {
                    let r = publish::publish_signature(
                        registry,
                        &signature,
                        &image,
                        repository.as_ref(),
                    )
                    .await
                    .map_err(|e| chain_text(&e));
                    vec![(name, r)]
                }));
            }
        }
        for results in futures::future::join_all(jobs).await {
            for (name, r) in results {
                let state = match r {
                    Ok(detail) => SinkState::Done { detail },
                    Err(reason) => SinkState::Error { reason },
                };
                progress.sinks.insert(name, state);
            }
        }
    }
}

fn pem(der: &[u8]) -> String {
    pem_rfc7468::encode_string("CERTIFICATE", pem_rfc7468::LineEnding::LF, der).unwrap_or_default()
}

/// What verifies the stored signatures.
struct RecordMaterial {
    attestation: Material,
    log: Result<SignerMaterial, String>,
}

impl RecordMaterial {
    /// The attestation to publish: the stored envelope with the log entry obtained.
    fn attestation_for(&self, record: &SignedRecord, progress: &Progress) -> Attestation {
        let entry = progress.entries.get("attestation").cloned();
        Attestation {
            envelope: Envelope::from_json(record.envelope.as_bytes())
                .unwrap_or_else(|_| Envelope::new(IN_TOTO_PAYLOAD_TYPE, Vec::new())),
            predicate_type: record.predicate_type.clone(),
            material: self.attestation.clone(),
            rekor_annotation: entry
                .as_ref()
                .and_then(|e| legacy_bundle_annotation(e).ok()),
            tlog_entries: entry.into_iter().collect(),
            timestamps: record.timestamps.iter().filter_map(|t| unb64(t)).collect(),
        }
    }
}

fn material_of_parts(public_key: Option<&str>, chain: &[String]) -> Material {
    if chain.is_empty() || public_key.is_some() {
        Material::Key
    } else {
        Material::Certificates(chain.iter().filter_map(|c| unb64(c)).collect())
    }
}

fn signer_material(public_key: Option<&str>, chain: &[String]) -> Result<SignerMaterial, String> {
    if let Some(pem) = public_key {
        return PublicKey::from_pem(pem.as_bytes())
            .map(SignerMaterial::Key)
            .map_err(|e| format!("stored public key: {e}"));
    }
    let leaf = chain
        .first()
        .and_then(|c| unb64(c))
        .ok_or_else(|| "the stored record has neither key nor certificate".to_owned())?;
    SignerMaterial::certificate(&leaf).map_err(|e| format!("stored certificate: {e}"))
}

fn record_material(record: &SignedRecord) -> Result<RecordMaterial, String> {
    Envelope::from_json(record.envelope.as_bytes())
        .map_err(|e| format!("the stored envelope does not parse: {e}"))?;
    Ok(RecordMaterial {
        attestation: material_of_parts(record.public_key.as_deref(), &record.chain),
        log: signer_material(record.public_key.as_deref(), &record.chain),
    })
}

/// Log the attestation and every image signature not logged yet.
async fn log_all(
    log: &LogTarget,
    record: &SignedRecord,
    material: &RecordMaterial,
    st: &Settings,
    progress: &mut Progress,
) {
    let base = log.base_url().to_owned();
    if !progress.entries.contains_key("attestation") {
        let name = "rekor attestation".to_owned();
        let result = match &material.log {
            Ok(m) => {
                let signed_time = (!record.timestamps.is_empty()).then(jiff::Timestamp::now);
                log.log_dsse(record.envelope.as_bytes(), m, &st.trust, signed_time)
                    .await
                    .map_err(|e| chain_text(&e))
            }
            Err(e) => Err(e.clone()),
        };
        match result {
            Ok(entry) => {
                progress
                    .urls
                    .push(record::entry_url(&base, entry.log_index));
                progress.sinks.insert(
                    name,
                    SinkState::Done {
                        detail: format!("log index {}", entry.log_index),
                    },
                );
                progress.entries.insert("attestation".into(), entry);
            }
            Err(reason) => {
                progress.sinks.insert(name, SinkState::Error { reason });
            }
        }
    }
    let LogTarget::V1 { client, .. } = log else {
        return;
    };
    for sig in &record.image_signatures {
        if progress.entries.contains_key(&sig.image) {
            continue;
        }
        let name = format!("rekor {}", sig.image);
        let result = async {
            let image = ImageRef::parse(&sig.image).map_err(|e| e.to_string())?;
            let m = signer_material(sig.public_key.as_deref(), &sig.chain)?;
            let payload = publish::simplesigning_payload(&image);
            let digest: [u8; 32] =
                sha2::Digest::finalize(<sha2::Sha256 as sha2::Digest>::new_with_prefix(&payload))
                    .into();
            let signature = unb64(&sig.signature).ok_or("stored signature is not base64")?;
            crate::rekor::upload::upload_hashedrekord(client, &digest, &signature, &m, &st.trust)
                .await
                .map(|u| u.entry)
                .map_err(|e| chain_text(&e))
        }
        .await;
        match result {
            Ok(entry) => {
                progress
                    .urls
                    .push(record::entry_url(&base, entry.log_index));
                progress.sinks.insert(
                    name,
                    SinkState::Done {
                        detail: format!("log index {}", entry.log_index),
                    },
                );
                progress.entries.insert(sig.image.clone(), entry);
            }
            Err(reason) => {
                progress.sinks.insert(name, SinkState::Error { reason });
            }
        }
    }
}

/// Format and sign a run (and, with `artifacts.oci`, its images), checking every
/// signature against the signer's key before anything is stored.
async fn sign_run(
    key: &RunKey,
    obj: &Value,
    children: &[Value],
    st: &Settings,
    signer: &SignerHandle,
    oci_signer: Option<&SignerHandle>,
) -> Result<SignedRecord, StepError> {
    let bytes = serde_json::to_vec(obj).map_err(|e| permanent(e.to_string()))?;
    let hint = match key.kind {
        Kind::TaskRun => RunKind::TaskRun,
        Kind::PipelineRun => RunKind::PipelineRun,
    };
    let run = tekton::parse_runs(&bytes, Some(hint))
        .map_err(|e| permanent(format!("reading the run: {}", chain_text(&e))))?
        .into_iter()
        .next()
        .ok_or_else(|| permanent("the run object is empty"))?;
    let mut child_runs: Vec<TaskRun> = Vec::new();
    for c in children {
        let b = serde_json::to_vec(c).map_err(|e| permanent(e.to_string()))?;
        if let Ok(runs) = tekton::parse_runs(&b, Some(RunKind::TaskRun)) {
            child_runs.extend(runs.into_iter().filter_map(|r| match r {
                Run::TaskRun(t) => Some(t),
                Run::PipelineRun(_) => None,
            }));
        }
    }
    let (artifact, pipelinerun) = match key.kind {
        Kind::TaskRun => (&st.config.taskrun, false),
        Kind::PipelineRun => (&st.config.pipelinerun, true),
    };
    let format = artifact.format.unwrap_or(Format::SlsaV1);
    let statement = provenance::format(
        &run,
        &child_runs,
        format,
        &st.config.format_options(pipelinerun),
    )
    .map_err(|e| permanent(format!("formatting: {}", chain_text(&e))))?;
    let payload = statement.to_json();
    let mut signed =
        signing::sign_envelope_async(signer.signer.as_ref(), IN_TOTO_PAYLOAD_TYPE, &payload)
            .await
            .map_err(|e| StepError {
                transient: e.is_transient(),
                reason: format!("signing with {}: {}", signer.what, chain_text(&e)),
            })?;
    // Self-verify: the stored envelope must verify with the key that signs it.
    let pae = signed.envelope.pae();
    if signed
        .envelope
        .signatures
        .iter()
        .any(|s| signed.public_key.verify(&pae, &s.sig).is_err())
    {
        return Err(permanent(format!(
            "the signature of {} does not verify with its own key",
            signer.what
        )));
    }
    if let Some(tsa) = &signer.tsa
        && let Some(sig) = signed.envelope.signatures.first()
    {
        let ts = tsa.timestamp(&sig.sig).await.map_err(|e| StepError {
            transient: true,
            reason: format!("timestamping: {}", chain_text(&e)),
        })?;
        signed.timestamps.push(ts);
    }
    let (public_key, chain) = parts(&signed.public_key, signed.certificate_chain.as_deref());
    let images = subject_images(&statement);
    let mut image_signatures = Vec::new();
    if let Some(oci_signer) = oci_signer.filter(|_| st.config.oci.enabled()) {
        for image in &images {
            let payload = publish::simplesigning_payload(image);
            let out = oci_signer
                .signer
                .sign(&payload)
                .await
                .map_err(|e| StepError {
                    transient: e.is_transient(),
                    reason: format!(
                        "signing image {image} with {}: {}",
                        oci_signer.what,
                        chain_text(&e)
                    ),
                })?;
            if out.public_key.verify(&payload, &out.signature).is_err() {
                return Err(permanent(format!(
                    "the image signature of {} does not verify with its own key",
                    oci_signer.what
                )));
            }
            let (public_key, chain) = parts(&out.public_key, out.certificate_chain.as_deref());
            image_signatures.push(ImageSignatureRecord {
                image: image.to_string(),
                signature: b64(&out.signature),
                public_key,
                chain,
            });
        }
    }
    Ok(SignedRecord {
        envelope: String::from_utf8_lossy(&signed.envelope.to_json()).into_owned(),
        public_key,
        chain,
        timestamps: signed.timestamps.iter().map(|t| b64(t)).collect(),
        predicate_type: statement.predicate_type().to_owned(),
        subjects: images.iter().map(ToString::to_string).collect(),
        image_signatures,
    })
}

fn parts(key: &PublicKey, chain: Option<&[Vec<u8>]>) -> (Option<String>, Vec<String>) {
    match chain {
        Some(c) if !c.is_empty() => (None, c.iter().map(|d| b64(d)).collect()),
        _ => (Some(key.to_pem()), Vec::new()),
    }
}
