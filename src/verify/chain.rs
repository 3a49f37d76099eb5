//! `hallmark verify --chain`: the supply chain from an image back to its source.
//!
//! Starting from an image, the walk reads the image's verified SLSA provenance through an
//! [`AttestationSource`] (the CLI's source reads the registry and verifies each
//! attestation; tests use fakes), and follows the materials that are images:
//!
//! - **Walked:** materials recorded from `*ARTIFACT_INPUTS` results (SLSA v0.2 materials
//!   without the `oci://` scheme Chains gives step images; SLSA v1 resolved dependencies
//!   named `inputs/result`), and step or sidecar images that are products of an earlier
//!   run of the same PipelineRun (a subject of the PipelineRun's provenance, or an image
//!   result of one of its tasks).
//! - **Not walked:** any other material (step and sidecar images, task and pipeline
//!   definitions, anything that is not an image). It is a leaf with `walked: false` and
//!   why; a policy (`--policy`, its input's `chain`) decides whether it is allowed.
//! - **Sources:** `git+` materials are leaves holding the repository and commit.
//!
//! A PipelineRun's provenance is a node whose children are the TaskRun attestations of
//! the same images, and of the images its tasks produced.
//!
//! Each step's materials must be products of the step before it: an image material is
//! accepted only when a verified provenance names that exact digest as a subject. An image
//! without one is denied, naming the node. So is a cycle (content-addressed artifacts
//! cannot be their own inputs). The walk stops at a depth limit; what lies beyond is a
//! leaf marked `walked: false`.
//!
//! The result is a [`Chain`]: nodes and edges, serialisable (the JSON report's `chain`, a
//! Rego policy's `input.chain`), and printed as a tree by [`Chain::tree_lines`].

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Serialize;
use serde_json::Value;
use sha2::Digest as _;

use crate::oci::ImageRef;

/// Default depth limit of the walk (`--chain-depth`).
pub const DEFAULT_DEPTH: usize = 8;

/// A digest set: algorithm → lowercase hex, as in in-toto.
pub type DigestSet = BTreeMap<String, String>;

/// Errors of the walk.
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    /// The attestations of an image could not be read or checked (registry or log
    /// unreachable, unusable input): the walk cannot decide.
    #[error("reading the attestations of {image}: {message}")]
    Lookup {
        /// The image.
        image: String,
        /// What went wrong, with its causes.
        message: String,
        /// Whether trying again may succeed (a network failure).
        transient: bool,
    },
}

impl ChainError {
    /// Whether trying again may succeed.
    #[must_use]
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Lookup { transient, .. } => *transient,
        }
    }
}

/// A transparency log entry of a verified attestation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LogEntryRef {
    /// The log's base URL.
    pub log_url: String,
    /// The entry's index.
    pub log_index: i64,
}

/// One attestation of an image that verified (signature, log entry, subject).
#[derive(Clone, Debug)]
pub struct VerifiedAttestation {
    /// Where it was found (a referrer or tag, as the image report names it).
    pub location: String,
    /// Who signed it: a certificate identity, or the given key.
    pub signer: String,
    /// The log entries it verified against (empty with `--insecure-ignore-tlog`).
    pub log_entries: Vec<LogEntryRef>,
    /// The in-toto statement, as JSON.
    pub statement: Value,
}

/// What an [`AttestationSource`] found for an image.
#[derive(Clone, Debug)]
pub enum Lookup {
    /// These attestations verified (possibly none of them provenance).
    Verified(Vec<VerifiedAttestation>),
    /// None verified: why (no attestation, a bad signature, the wrong signer...).
    Denied(String),
}

/// Where the walk gets an image's verified attestations: the seam between the graph
/// logic and the registry, logs and verifier.
pub trait AttestationSource {
    /// The verified attestations of `image`.
    ///
    /// # Errors
    ///
    /// [`ChainError::Lookup`] when they cannot be read or checked (not a denial).
    fn lookup(&self, image: &ImageRef) -> Result<Lookup, ChainError>;

    /// The verified attestations of the TaskRuns of the PipelineRun `run`, found by the
    /// run rather than by an image: TaskRuns that produced no image (a git clone, a test)
    /// have no attestation in any registry. The CLI reads them from the runs' `tekton`
    /// storage annotations when given `--kubeconfig`: the TaskRuns owned by `run.uid`
    /// when it is known, else those of the pipeline `run.pipeline`. The walk keeps only
    /// TaskRun provenance that [binds](PipelineRunRef) to `run`: by the owner, or by task
    /// name and start and finish times. Default: none.
    ///
    /// # Errors
    ///
    /// [`ChainError::Lookup`] when they cannot be read or checked.
    fn children(&self, run: &PipelineRunRef) -> Result<Vec<VerifiedAttestation>, ChainError> {
        let _ = run;
        Ok(Vec::new())
    }
}

/// A PipelineRun as its provenance records it, for [`AttestationSource::children`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PipelineRunRef {
    /// Its uid, when recorded (SLSA v0.2 `metadata.buildInvocationID`, v1
    /// `runDetails.metadata.invocationID`; Chains' v0.2 PipelineRun provenance has none):
    /// the owner of its TaskRuns.
    pub uid: Option<String>,
    /// The `tekton.dev/pipeline` label, when recorded.
    pub pipeline: Option<String>,
    /// Its tasks as the provenance records them (SLSA v0.2 `buildConfig.tasks`).
    pub tasks: Vec<TaskTiming>,
}

/// A pipeline task of a PipelineRun's provenance: its name and when its TaskRun ran.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskTiming {
    /// The pipeline task's name.
    pub name: String,
    /// `startedOn` (RFC 3339), when recorded.
    pub started_on: Option<String>,
    /// `finishedOn` (RFC 3339), when recorded.
    pub finished_on: Option<String>,
}

impl PipelineRunRef {
    /// Whether a statement (JSON) is the provenance of a TaskRun that belongs to this
    /// PipelineRun: its `tekton.dev/pipelineTask` is one of the recorded tasks, and its
    /// start and finish times are that task's (to the second, as both are written).
    /// Without a recorded time on either side it does not match. With only a uid (SLSA
    /// v1, no task list), the source's owner check is all there is, and any TaskRun
    /// matches. A source uses it to pick candidates before it verifies them; the walk
    /// checks again.
    #[must_use]
    pub fn binds_statement(&self, statement: &Value) -> bool {
        parse_provenance(statement).is_some_and(|p| p.kind == RunKind::TaskRun && self.binds(&p))
    }

    /// [`PipelineRunRef::binds_statement`] for parsed provenance.
    fn binds(&self, child: &Provenance) -> bool {
        if self.tasks.is_empty() {
            return self.uid.is_some();
        }
        let Some(task) = child.labels.get("tekton.dev/pipelineTask") else {
            return false;
        };
        self.tasks.iter().any(|t| {
            &t.name == task
                && t.started_on.is_some()
                && t.finished_on.is_some()
                && t.started_on == child.started_on
                && t.finished_on == child.finished_on
        })
    }
}

/// Options of the walk.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// Materials more than this many steps from the root image are not walked.
    pub max_depth: usize,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            max_depth: DEFAULT_DEPTH,
        }
    }
}

/// What a node is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum NodeKind {
    /// An image whose provenance was looked up.
    Image,
    /// A verified provenance attestation (a TaskRun's or a PipelineRun's).
    Attestation,
    /// A git source: repository and commit.
    Source,
    /// A material that was not walked.
    Material,
}

/// A node's verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Verdict {
    /// Verified (images, attestations).
    Pass,
    /// Failed: the chain is denied.
    Deny,
    /// Not checked (sources and unwalked materials).
    Unchecked,
}

/// The kind of run a provenance describes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum RunKind {
    /// A Tekton TaskRun.
    TaskRun,
    /// A Tekton PipelineRun.
    PipelineRun,
    /// Provenance of another builder.
    Other,
}

/// What a verified provenance records of its run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunInfo {
    /// TaskRun, PipelineRun or other.
    pub kind: RunKind,
    /// The `tekton.dev/pipelineTask` label, when recorded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pipeline_task: Option<String>,
    /// The `tekton.dev/pipelineRun` label, when recorded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pipeline_run: Option<String>,
    /// The `tekton.dev/pipeline` label, when recorded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pipeline: Option<String>,
    /// The `tekton.dev/task` label, when recorded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task: Option<String>,
    /// The predicate type.
    pub predicate_type: String,
    /// Who signed the attestation.
    pub signer: String,
    /// Its transparency log entries.
    pub log_entries: Vec<LogEntryRef>,
    /// Where it was found.
    pub location: String,
    /// Its subjects: name → digests.
    pub products: BTreeMap<String, DigestSet>,
    /// Its materials (SLSA v1: resolved dependencies): URI → digests.
    pub materials: BTreeMap<String, DigestSet>,
}

/// A node of the chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Node {
    /// Unique within the chain: `image:REF`, `attestation:SHA256`, `source:URI@COMMIT`,
    /// `material:URI@ALG:HEX`.
    pub id: String,
    /// What it is.
    pub kind: NodeKind,
    /// The image repository, material URI, git repository, or for an attestation its
    /// run (`TaskRun build`).
    pub name: String,
    /// The image digest, material digests or git commit (empty for attestations).
    pub digest: DigestSet,
    /// Whether the walk followed it.
    pub walked: bool,
    /// Why it was not walked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub why: Option<String>,
    /// Its verdict.
    pub verdict: Verdict,
    /// Why it was denied.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The run, for attestations.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run: Option<RunInfo>,
}

/// How two nodes are linked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Relation {
    /// Image → a verified provenance naming it as a subject.
    AttestedBy,
    /// PipelineRun attestation → a child TaskRun's attestation, or an image its tasks
    /// produced.
    Child,
    /// Attestation → one of its materials.
    Material,
}

/// An edge of the chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Edge {
    /// The node the edge leaves (the consumer, or the image attested).
    pub from: String,
    /// The node it reaches.
    pub to: String,
    /// How they are linked.
    pub relation: Relation,
    /// The material's URI as the consuming provenance records it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub material: Option<String>,
    /// The edge closes a cycle.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub cycle: bool,
}

/// A node that failed, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Denial {
    /// The node's id.
    pub node: String,
    /// Why.
    pub reason: String,
}

/// The walked chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Chain {
    /// The root image's node id.
    pub root: String,
    /// The depth limit the walk used.
    pub max_depth: usize,
    /// Nodes, in the order the walk met them.
    pub nodes: Vec<Node>,
    /// Edges, in the order the walk made them.
    pub edges: Vec<Edge>,
    /// The nodes that failed; the chain passes when there are none.
    pub denials: Vec<Denial>,
}

// ---------------------------------------------------------------------------------------
// Reading provenance (pure)

/// How a material is treated.
#[derive(Clone, Debug, PartialEq, Eq)]
enum MaterialClass {
    /// From an `*ARTIFACT_INPUTS` result: walked when it is an image.
    ArtifactInput,
    /// A step or sidecar image.
    StepImage,
    /// A git source.
    Git,
    /// Anything else (task or pipeline definitions...).
    Other,
}

#[derive(Clone, Debug)]
struct Material {
    uri: String,
    digest: DigestSet,
    class: MaterialClass,
}

/// What the walk reads of one provenance statement.
#[derive(Clone, Debug)]
struct Provenance {
    kind: RunKind,
    labels: BTreeMap<String, String>,
    predicate_type: String,
    subjects: Vec<(String, DigestSet)>,
    materials: Vec<Material>,
    /// Images that the PipelineRun's tasks reported as results.
    task_products: Vec<ImageRef>,
    /// The run's uid (the invocation id), when recorded.
    invocation_id: Option<String>,
    /// When the run started and finished (RFC 3339), when recorded.
    started_on: Option<String>,
    finished_on: Option<String>,
    /// A PipelineRun's tasks (SLSA v0.2 `buildConfig.tasks`).
    pipeline_tasks: Vec<TaskTiming>,
}

fn digest_set(v: &Value) -> DigestSet {
    v.as_object()
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.to_ascii_lowercase(), v.as_str()?.to_owned())))
                .collect()
        })
        .unwrap_or_default()
}

fn str_of(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_owned()
}

/// An image reference from a material URI and its sha256, when it names an image.
fn image_of(uri: &str, digest: &DigestSet) -> Option<ImageRef> {
    let hex = digest.get("sha256")?;
    let name = uri
        .strip_prefix(crate::provenance::extract::OCI_SCHEME)
        .unwrap_or(uri);
    // `REPO@sha256:...` URIs carry their digest already; it must be the same one.
    let name = match name.split_once('@') {
        Some((n, d)) if d == format!("sha256:{hex}") => n,
        Some(_) => return None,
        None => name,
    };
    if name.contains("://") {
        return None;
    }
    ImageRef::parse(&format!("{name}@sha256:{hex}")).ok()
}

/// The SLSA provenance in an in-toto statement; `None` for any other predicate.
fn parse_provenance(statement: &Value) -> Option<Provenance> {
    let predicate_type = str_of(&statement["predicateType"]);
    let subjects = statement["subject"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| (str_of(&s["name"]), digest_set(&s["digest"])))
        .collect();
    let p = &statement["predicate"];
    let git = |uri: &str| uri.starts_with(crate::provenance::extract::GIT_SCHEME_PREFIX);
    if predicate_type.starts_with("https://slsa.dev/provenance/v0.") {
        let build_type = str_of(&p["buildType"]);
        let kind = run_kind(&build_type);
        let materials = p["materials"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|m| {
                let uri = str_of(&m["uri"]);
                let class = if git(&uri) {
                    MaterialClass::Git
                } else if uri.starts_with(crate::provenance::extract::OCI_SCHEME) {
                    // Chains writes step and sidecar images as `oci://REPO`, and
                    // `*ARTIFACT_INPUTS` URIs as they were given.
                    MaterialClass::StepImage
                } else {
                    MaterialClass::ArtifactInput
                };
                Material {
                    digest: digest_set(&m["digest"]),
                    uri,
                    class,
                }
            })
            .collect();
        let labels = p["invocation"]["environment"]["labels"]
            .as_object()
            .map(|m| m.iter().map(|(k, v)| (k.clone(), str_of(v))).collect())
            .unwrap_or_default();
        let task_products = p["buildConfig"]["tasks"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|t| result_images(&t["results"]))
            .collect();
        return Some(Provenance {
            kind,
            labels,
            predicate_type,
            subjects,
            materials,
            task_products,
            invocation_id: opt_str(&p["metadata"]["buildInvocationID"]),
            started_on: opt_str(&p["metadata"]["buildStartedOn"]),
            finished_on: opt_str(&p["metadata"]["buildFinishedOn"]),
            pipeline_tasks: p["buildConfig"]["tasks"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|t| {
                    Some(TaskTiming {
                        name: opt_str(&t["name"])?,
                        started_on: opt_str(&t["startedOn"]),
                        finished_on: opt_str(&t["finishedOn"]),
                    })
                })
                .collect(),
        });
    }
    if predicate_type.starts_with("https://slsa.dev/provenance/v1") {
        let def = &p["buildDefinition"];
        let spec = &def["externalParameters"]["runSpec"];
        let kind = if spec.get("pipelineSpec").is_some() || spec.get("pipelineRef").is_some() {
            RunKind::PipelineRun
        } else if spec.get("taskSpec").is_some() || spec.get("taskRef").is_some() {
            RunKind::TaskRun
        } else {
            run_kind(&str_of(&def["buildType"]))
        };
        let materials = def["resolvedDependencies"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|d| {
                let uri = str_of(&d["uri"]);
                let name = str_of(&d["name"]);
                let class = if git(&uri) {
                    MaterialClass::Git
                } else if name == "inputs/result" {
                    MaterialClass::ArtifactInput
                } else if name.is_empty() && uri.starts_with(crate::provenance::extract::OCI_SCHEME)
                {
                    MaterialClass::StepImage
                } else {
                    MaterialClass::Other
                };
                Material {
                    digest: digest_set(&d["digest"]),
                    uri,
                    class,
                }
            })
            .collect();
        return Some(Provenance {
            kind,
            labels: BTreeMap::new(),
            predicate_type,
            subjects,
            materials,
            task_products: Vec::new(),
            invocation_id: opt_str(&p["runDetails"]["metadata"]["invocationID"]),
            started_on: opt_str(&p["runDetails"]["metadata"]["startedOn"]),
            finished_on: opt_str(&p["runDetails"]["metadata"]["finishedOn"]),
            pipeline_tasks: Vec::new(),
        });
    }
    None
}

/// A non-empty string value.
fn opt_str(v: &Value) -> Option<String> {
    v.as_str().filter(|s| !s.is_empty()).map(str::to_owned)
}

fn run_kind(build_type: &str) -> RunKind {
    if build_type.ends_with("/TaskRun") {
        RunKind::TaskRun
    } else if build_type.ends_with("/PipelineRun") {
        RunKind::PipelineRun
    } else {
        RunKind::Other
    }
}

/// Images named by a task's results: `*IMAGE_URL`/`*IMAGE_DIGEST` pairs and
/// `*ARTIFACT_OUTPUTS` objects.
fn result_images(results: &Value) -> Vec<ImageRef> {
    let list = results.as_array().map(Vec::as_slice).unwrap_or_default();
    let value = |name: &str| {
        list.iter()
            .find(|r| r["name"].as_str() == Some(name))
            .and_then(|r| r["value"].as_str())
    };
    let mut out = Vec::new();
    for r in list {
        let name = r["name"].as_str().unwrap_or_default();
        if let Some(prefix) = name.strip_suffix("IMAGE_URL")
            && let (Some(url), Some(digest)) =
                (r["value"].as_str(), value(&format!("{prefix}IMAGE_DIGEST")))
            && let Ok(i) = ImageRef::parse(&format!("{url}@{digest}"))
        {
            out.push(i);
        }
        if name.ends_with(crate::provenance::extract::ARTIFACT_OUTPUTS)
            && let (Some(uri), Some(digest)) =
                (r["value"]["uri"].as_str(), r["value"]["digest"].as_str())
            && let Some(i) = digest
                .strip_prefix("sha256:")
                .and_then(|h| image_of(uri, &DigestSet::from([("sha256".into(), h.into())])))
        {
            out.push(i);
        }
    }
    out
}

// ---------------------------------------------------------------------------------------
// The walk

/// Walk the chain from `root`.
///
/// # Errors
///
/// [`ChainError`] when an image's attestations cannot be read or checked; denials are not
/// errors (they are in [`Chain::denials`]).
pub fn walk(
    root: &ImageRef,
    source: &dyn AttestationSource,
    options: Options,
) -> Result<Chain, ChainError> {
    let mut w = Walker {
        source,
        max_depth: options.max_depth,
        nodes: Vec::new(),
        index: HashMap::new(),
        edges: Vec::new(),
        denials: Vec::new(),
        path: Vec::new(),
    };
    w.image(root, None, 0, &BTreeSet::new())?;
    Ok(Chain {
        root: image_id(root),
        max_depth: options.max_depth,
        nodes: w.nodes,
        edges: w.edges,
        denials: w.denials,
    })
}

fn image_id(image: &ImageRef) -> String {
    format!("image:{image}")
}

/// Where an edge comes from: the node, the relation, the material URI.
type From = Option<(String, Relation, Option<String>)>;

struct Walker<'a> {
    source: &'a dyn AttestationSource,
    max_depth: usize,
    nodes: Vec<Node>,
    index: HashMap<String, usize>,
    edges: Vec<Edge>,
    denials: Vec<Denial>,
    /// Image node ids from the root to the image being walked.
    path: Vec<String>,
}

impl Walker<'_> {
    fn edge(&mut self, from: &From, to: &str, cycle: bool) {
        if let Some((f, relation, material)) = from {
            let e = Edge {
                from: f.clone(),
                to: to.to_owned(),
                relation: *relation,
                material: material.clone(),
                cycle,
            };
            if !self.edges.contains(&e) {
                self.edges.push(e);
            }
        }
    }

    /// Add a node unless one with its id exists; whether it is new.
    fn add(&mut self, node: Node) -> bool {
        if self.index.contains_key(&node.id) {
            return false;
        }
        self.index.insert(node.id.clone(), self.nodes.len());
        self.nodes.push(node);
        true
    }

    fn deny(&mut self, id: &str, reason: String) {
        if let Some(&i) = self.index.get(id)
            && let Some(n) = self.nodes.get_mut(i)
        {
            n.verdict = Verdict::Deny;
            n.reason = Some(reason.clone());
        }
        self.denials.push(Denial {
            node: id.to_owned(),
            reason,
        });
    }

    fn leaf(&mut self, from: &From, node: Node) {
        let id = node.id.clone();
        self.add(node);
        self.edge(from, &id, false);
    }

    fn image(
        &mut self,
        image: &ImageRef,
        from: From,
        depth: usize,
        products: &BTreeSet<String>,
    ) -> Result<(), ChainError> {
        let id = image_id(image);
        if self.path.contains(&id) {
            self.edge(&from, &id, true);
            self.deny(
                &id,
                format!("cycle: {image} is recorded among its own inputs"),
            );
            return Ok(());
        }
        if self.index.contains_key(&id) {
            self.edge(&from, &id, false);
            return Ok(());
        }
        let digest = DigestSet::from([("sha256".to_owned(), image.digest.hex().to_owned())]);
        if depth > self.max_depth {
            self.leaf(
                &from,
                Node {
                    id: format!("material:{image}"),
                    kind: NodeKind::Material,
                    name: image.repository.to_string(),
                    digest,
                    walked: false,
                    why: Some(format!("beyond the depth limit ({})", self.max_depth)),
                    verdict: Verdict::Unchecked,
                    reason: None,
                    run: None,
                },
            );
            return Ok(());
        }
        self.add(Node {
            id: id.clone(),
            kind: NodeKind::Image,
            name: image.repository.to_string(),
            digest,
            walked: true,
            why: None,
            verdict: Verdict::Pass,
            reason: None,
            run: None,
        });
        self.edge(&from, &id, false);
        self.path.push(id.clone());
        let r = self.image_inner(image, &id, depth, products);
        self.path.pop();
        r
    }

    fn image_inner(
        &mut self,
        image: &ImageRef,
        id: &str,
        depth: usize,
        products: &BTreeSet<String>,
    ) -> Result<(), ChainError> {
        let list = match self.source.lookup(image)? {
            Lookup::Denied(reason) => {
                self.deny(id, reason);
                return Ok(());
            }
            Lookup::Verified(list) => list,
        };
        let hex = image.digest.hex();
        let mut steps = Vec::new();
        for a in list {
            let Some(p) = parse_provenance(&a.statement) else {
                continue;
            };
            // The producer must name this exact digest: a material that is not the
            // product of an attested step is denied below.
            if p.subjects
                .iter()
                .any(|(_, d)| d.get("sha256").map(String::as_str) == Some(hex))
            {
                steps.push((a, p));
            }
        }
        if steps.is_empty() {
            self.deny(
                id,
                "no verified SLSA provenance names this digest as a subject: it is not the \
                 product of an attested step"
                    .to_owned(),
            );
            return Ok(());
        }
        let (prs, trs): (Vec<_>, Vec<_>) = steps
            .into_iter()
            .partition(|(_, p)| p.kind == RunKind::PipelineRun);
        let mut products = products.clone();
        let mut pipelines = Vec::new();
        for (a, p) in &prs {
            let (nid, new) = self.attestation(a, p);
            self.edge(
                &Some((id.to_owned(), Relation::AttestedBy, None)),
                &nid,
                false,
            );
            for (_, d) in &p.subjects {
                products.extend(d.get("sha256").cloned());
            }
            products.extend(p.task_products.iter().map(|i| i.digest.hex().to_owned()));
            pipelines.push((nid, new, p));
        }
        for (a, p) in &trs {
            let (nid, new) = self.attestation(a, p);
            let from = match pipelines.first() {
                Some((pid, _, _)) => (pid.clone(), Relation::Child, None),
                None => (id.to_owned(), Relation::AttestedBy, None),
            };
            self.edge(&Some(from), &nid, false);
            if new {
                self.materials(&nid, p, depth, &products)?;
            }
        }
        for (pid, new, p) in pipelines {
            if !new {
                continue;
            }
            self.materials(&pid, p, depth, &products)?;
            for child in &p.task_products {
                if child.digest.hex() != hex {
                    let from = Some((pid.clone(), Relation::Child, None));
                    self.image(child, from, depth + 1, &products)?;
                }
            }
            self.run_children(&pid, p, depth, &products)?;
        }
        Ok(())
    }

    /// The TaskRuns of a PipelineRun found by the run ([`AttestationSource::children`]):
    /// those not met through an image become children of the PipelineRun's node.
    fn run_children(
        &mut self,
        pid: &str,
        p: &Provenance,
        depth: usize,
        products: &BTreeSet<String>,
    ) -> Result<(), ChainError> {
        let run = PipelineRunRef {
            uid: p.invocation_id.clone(),
            pipeline: p.labels.get("tekton.dev/pipeline").cloned(),
            tasks: p.pipeline_tasks.clone(),
        };
        if run.uid.is_none() && run.tasks.is_empty() {
            return Ok(());
        }
        for a in self.source.children(&run)? {
            let Some(cp) = parse_provenance(&a.statement) else {
                continue;
            };
            if cp.kind != RunKind::TaskRun || !run.binds(&cp) {
                continue;
            }
            let (nid, new) = self.attestation(&a, &cp);
            if new {
                self.edge(&Some((pid.to_owned(), Relation::Child, None)), &nid, false);
                self.materials(&nid, &cp, depth, products)?;
            }
        }
        Ok(())
    }

    /// The node of a verified attestation, and whether it is new.
    fn attestation(&mut self, a: &VerifiedAttestation, p: &Provenance) -> (String, bool) {
        let bytes = serde_json::to_vec(&a.statement).unwrap_or_default();
        let id = format!("attestation:{}", hex::encode(sha2::Sha256::digest(&bytes)));
        let label = |k: &str| p.labels.get(k).cloned();
        let run = RunInfo {
            kind: p.kind,
            pipeline_task: label("tekton.dev/pipelineTask"),
            pipeline_run: label("tekton.dev/pipelineRun"),
            pipeline: label("tekton.dev/pipeline"),
            task: label("tekton.dev/task"),
            predicate_type: p.predicate_type.clone(),
            signer: a.signer.clone(),
            log_entries: a.log_entries.clone(),
            location: a.location.clone(),
            products: p.subjects.iter().cloned().collect(),
            materials: p
                .materials
                .iter()
                .map(|m| (m.uri.clone(), m.digest.clone()))
                .collect(),
        };
        let kind = match p.kind {
            RunKind::TaskRun => "TaskRun",
            RunKind::PipelineRun => "PipelineRun",
            RunKind::Other => "build",
        };
        let name = match (&run.pipeline_task, &run.pipeline_run, &run.pipeline) {
            (Some(t), Some(pr), _) => format!("{kind} {pr}/{t}"),
            (Some(t), None, _) => format!("{kind} {t}"),
            (None, _, Some(pl)) => format!("{kind} of pipeline {pl}"),
            _ => kind.to_owned(),
        };
        let new = self.add(Node {
            id: id.clone(),
            kind: NodeKind::Attestation,
            name,
            digest: DigestSet::new(),
            walked: true,
            why: None,
            verdict: Verdict::Pass,
            reason: None,
            run: Some(run),
        });
        (id, new)
    }

    fn materials(
        &mut self,
        node: &str,
        p: &Provenance,
        depth: usize,
        products: &BTreeSet<String>,
    ) -> Result<(), ChainError> {
        for m in &p.materials {
            let from = Some((node.to_owned(), Relation::Material, Some(m.uri.clone())));
            let image = image_of(&m.uri, &m.digest);
            let product = image
                .as_ref()
                .is_some_and(|i| products.contains(i.digest.hex()));
            let unwalked = |why: &str| Node {
                id: format!("material:{}@{}", m.uri, digest_text(&m.digest)),
                kind: NodeKind::Material,
                name: m.uri.clone(),
                digest: m.digest.clone(),
                walked: false,
                why: Some(why.to_owned()),
                verdict: Verdict::Unchecked,
                reason: None,
                run: None,
            };
            match (&m.class, image) {
                (MaterialClass::Git, _) => {
                    let uri = m
                        .uri
                        .strip_prefix(crate::provenance::extract::GIT_SCHEME_PREFIX)
                        .unwrap_or(&m.uri);
                    self.leaf(
                        &from,
                        Node {
                            id: format!("source:{uri}@{}", digest_text(&m.digest)),
                            kind: NodeKind::Source,
                            name: uri.to_owned(),
                            digest: m.digest.clone(),
                            walked: false,
                            why: Some("a git source".into()),
                            verdict: Verdict::Unchecked,
                            reason: None,
                            run: None,
                        },
                    );
                }
                (MaterialClass::ArtifactInput, Some(i)) => {
                    self.image(&i, from, depth + 1, products)?;
                }
                (MaterialClass::StepImage, Some(i)) if product => {
                    self.image(&i, from, depth + 1, products)?;
                }
                (MaterialClass::StepImage, _) => self.leaf(
                    &from,
                    unwalked(
                        "a step or sidecar image, not a product of this PipelineRun: \
                         allowed only by policy",
                    ),
                ),
                (MaterialClass::ArtifactInput, None) => self.leaf(
                    &from,
                    unwalked("an *ARTIFACT_INPUTS material that is not an OCI image"),
                ),
                (MaterialClass::Other, _) => self.leaf(
                    &from,
                    unwalked("not an *ARTIFACT_INPUTS material: allowed only by policy"),
                ),
            }
        }
        Ok(())
    }
}

/// `alg:hex` of the preferred digest (sha256, then any).
fn digest_text(d: &DigestSet) -> String {
    d.get_key_value("sha256")
        .or_else(|| d.iter().next())
        .map(|(a, h)| format!("{a}:{h}"))
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------------------
// The tree

impl Chain {
    /// Whether every node passed.
    #[must_use]
    pub fn passed(&self) -> bool {
        self.denials.is_empty()
    }

    /// The node with this id.
    #[must_use]
    pub fn node(&self, id: &str) -> Option<&Node> {
        self.nodes.iter().find(|n| n.id == id)
    }

    /// The chain as an indented tree, one line per node from the root: the image, the
    /// run that produced it (signer, log index, verdict), its materials, down to the git
    /// sources. A node met again is printed once more with `(see above)`.
    #[must_use]
    pub fn tree_lines(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut seen = BTreeSet::new();
        self.tree(&self.root, None, 0, &mut seen, &mut out);
        out
    }

    fn tree(
        &self,
        id: &str,
        via: Option<&Edge>,
        level: usize,
        seen: &mut BTreeSet<String>,
        out: &mut Vec<String>,
    ) {
        let Some(node) = self.node(id) else { return };
        let indent = "  ".repeat(level);
        let arrow = match via.map(|e| e.relation) {
            Some(Relation::Material) => "<- ",
            Some(Relation::Child) => "child ",
            _ => "",
        };
        let again = !seen.insert(id.to_owned());
        let mut line = format!("{indent}{arrow}{}", node_line(node));
        if via.is_some_and(|e| e.cycle) {
            line.push_str(" (cycle)");
        } else if again {
            line.push_str(" (see above)");
        }
        out.push(line);
        if again || via.is_some_and(|e| e.cycle) {
            return;
        }
        for e in self.edges.iter().filter(|e| e.from == id) {
            self.tree(&e.to, Some(e), level + 1, seen, out);
        }
    }
}

fn verdict_text(n: &Node) -> String {
    match (n.verdict, &n.reason) {
        (Verdict::Deny, Some(r)) => format!("DENY: {r}"),
        (Verdict::Deny, None) => "DENY".into(),
        (Verdict::Pass, _) => "pass".into(),
        (Verdict::Unchecked, _) => String::new(),
    }
}

fn node_line(n: &Node) -> String {
    match n.kind {
        NodeKind::Image => format!(
            "image {}@{}: {}",
            n.name,
            digest_text(&n.digest),
            verdict_text(n)
        ),
        NodeKind::Attestation => {
            let Some(r) = &n.run else {
                return n.name.clone();
            };
            let log = match r.log_entries.first() {
                Some(e) => format!("log index {}", e.log_index),
                None => "not logged".to_owned(),
            };
            format!(
                "{}: signed by {}, {log}: {}",
                n.name,
                r.signer,
                verdict_text(n)
            )
        }
        NodeKind::Source => format!("git {} commit {}", n.name, commit_text(&n.digest)),
        NodeKind::Material => format!(
            "material {}@{} (not walked: {})",
            n.name,
            digest_text(&n.digest),
            n.why.as_deref().unwrap_or_default()
        ),
    }
}

fn commit_text(d: &DigestSet) -> String {
    d.get("sha1")
        .or_else(|| d.get("gitCommit"))
        .cloned()
        .unwrap_or_else(|| digest_text(d))
}

#[cfg(test)]
#[allow(clippy::panic, clippy::expect_used)] // Tests report failures by panicking.
mod tests {
    use serde_json::json;

    use super::*;

    const REG: &str = "registry.test";

    fn hex(c: char) -> String {
        c.to_string().repeat(64)
    }

    fn image(name: &str, c: char) -> ImageRef {
        ImageRef::parse(&format!("{REG}/{name}@sha256:{}", hex(c))).expect("image")
    }

    /// A Chains SLSA v0.2 statement of a run.
    fn v02(kind: &str, subjects: &[&ImageRef], materials: &[Value], labels: Value) -> Value {
        json!({
            "_type": "https://in-toto.io/Statement/v0.1",
            "predicateType": "https://slsa.dev/provenance/v0.2",
            "subject": subjects.iter().map(|i| json!({
                "name": i.repository.to_string(), "digest": {"sha256": i.digest.hex()}
            })).collect::<Vec<_>>(),
            "predicate": {
                "buildType": format!("tekton.dev/v1/{kind}"),
                "invocation": {"environment": {"labels": labels}},
                "materials": materials,
            }
        })
    }

    fn input(i: &ImageRef) -> Value {
        json!({"uri": i.repository.to_string(), "digest": {"sha256": i.digest.hex()}})
    }

    fn git() -> Value {
        json!({"uri": "git+https://git.test/app.git", "digest": {"sha1": "a".repeat(40)}})
    }

    fn step_image(i: &ImageRef) -> Value {
        json!({"uri": format!("oci://{}", i.repository), "digest": {"sha256": i.digest.hex()}})
    }

    fn task(name: &str) -> Value {
        json!({"tekton.dev/pipelineTask": name, "tekton.dev/pipelineRun": "pr-1"})
    }

    #[derive(Default)]
    struct Fake(
        HashMap<String, Result<Lookup, bool>>,
        HashMap<String, Vec<VerifiedAttestation>>,
    );

    impl Fake {
        fn attest(&mut self, i: &ImageRef, statements: Vec<Value>) {
            let list = statements
                .into_iter()
                .enumerate()
                .map(|(n, statement)| VerifiedAttestation {
                    location: format!("{i} #{n}"),
                    signer: "the given key".into(),
                    log_entries: vec![LogEntryRef {
                        log_url: "http://rekor.test".into(),
                        log_index: 7,
                    }],
                    statement,
                })
                .collect();
            self.0
                .insert(i.digest.hex().to_owned(), Ok(Lookup::Verified(list)));
        }
    }

    impl AttestationSource for Fake {
        fn lookup(&self, image: &ImageRef) -> Result<Lookup, ChainError> {
            match self.0.get(image.digest.hex()) {
                Some(Ok(l)) => Ok(l.clone()),
                Some(Err(transient)) => Err(ChainError::Lookup {
                    image: image.to_string(),
                    message: "unreachable".into(),
                    transient: *transient,
                }),
                None => Ok(Lookup::Denied("no attestations found".into())),
            }
        }

        fn children(&self, run: &PipelineRunRef) -> Result<Vec<VerifiedAttestation>, ChainError> {
            let key = run.uid.clone().or_else(|| run.pipeline.clone());
            Ok(key
                .and_then(|k| self.1.get(&k).cloned())
                .unwrap_or_default())
        }
    }

    #[test]
    fn taskruns_without_images_are_found_by_their_pipelinerun() {
        let (mut f, a, b) = three_steps();
        let mut pr = v02(
            "PipelineRun",
            &[&b],
            &[],
            json!({"tekton.dev/pipeline": "p"}),
        );
        pr["predicate"]["metadata"] = json!({"buildInvocationID": "uid-pr"});
        let package = v02("TaskRun", &[&b], &[input(&a)], task("package"));
        f.attest(&b, vec![package.clone(), pr]);
        let clone = v02("TaskRun", &[], &[git()], task("clone"));
        let child = |statement: Value| VerifiedAttestation {
            location: "TaskRun ns/pr-1-x".into(),
            signer: "the given key".into(),
            log_entries: Vec::new(),
            statement,
        };
        // `package` is also met through B: it is not added twice.
        f.1.insert("uid-pr".into(), vec![child(clone), child(package)]);
        let c = walk(&b, &f, Options::default()).expect("walk");
        assert!(c.passed(), "{:?}", c.denials);
        let clone_node = c
            .nodes
            .iter()
            .find(|n| n.run.as_ref().and_then(|r| r.pipeline_task.as_deref()) == Some("clone"))
            .expect("the clone TaskRun");
        let pr_node = c
            .nodes
            .iter()
            .find(|n| n.run.as_ref().map(|r| r.kind) == Some(RunKind::PipelineRun))
            .expect("the PipelineRun");
        assert!(c.edges.iter().any(|e| e.from == pr_node.id
            && e.to == clone_node.id
            && e.relation == Relation::Child));
        assert!(c.edges.iter().any(
            |e| e.from == clone_node.id && e.to.starts_with("source:https://git.test/app.git")
        ));
        let packages = c
            .nodes
            .iter()
            .filter(|n| n.run.as_ref().and_then(|r| r.pipeline_task.as_deref()) == Some("package"))
            .count();
        assert_eq!(packages, 1);
        // Without the invocation id the PipelineRun's children are not asked for.
        let mut f2 = Fake(HashMap::new(), f.1.clone());
        f2.attest(&a, vec![v02("TaskRun", &[&a], &[git()], task("build"))]);
        f2.attest(
            &b,
            vec![v02(
                "PipelineRun",
                &[&b],
                &[],
                json!({"tekton.dev/pipeline": "p"}),
            )],
        );
        let c = walk(&b, &f2, Options::default()).expect("walk");
        assert!(
            !c.nodes
                .iter()
                .any(|n| n.run.as_ref().and_then(|r| r.pipeline_task.as_deref()) == Some("clone"))
        );
    }

    #[test]
    fn without_a_uid_children_are_bound_by_task_and_times() {
        // Chains' SLSA v0.2 PipelineRun provenance: no uid, `buildConfig.tasks` with times.
        let (mut f, _, b) = three_steps();
        let mut pr = v02(
            "PipelineRun",
            &[&b],
            &[],
            json!({"tekton.dev/pipeline": "p"}),
        );
        pr["predicate"]["buildConfig"] = json!({"tasks": [
            {"name": "clone", "startedOn": "2026-11-26T10:00:00Z", "finishedOn": "2026-11-26T10:00:05Z"}]});
        f.attest(&b, vec![pr]);
        let clone = |started: &str, finished: &str, task_name: &str| {
            let mut st = v02("TaskRun", &[], &[git()], task(task_name));
            st["predicate"]["metadata"] =
                json!({"buildStartedOn": started, "buildFinishedOn": finished});
            VerifiedAttestation {
                location: format!("TaskRun ns/{task_name}-{finished}"),
                signer: "the given key".into(),
                log_entries: Vec::new(),
                statement: st,
            }
        };
        f.1.insert(
            "p".into(),
            vec![
                // Another run of the same pipeline, and a task the run does not record.
                clone("2026-11-25T10:00:00Z", "2026-11-25T10:00:05Z", "clone"),
                clone("2026-11-26T10:00:00Z", "2026-11-26T10:00:05Z", "lint"),
                clone("2026-11-26T10:00:00Z", "2026-11-26T10:00:05Z", "clone"),
            ],
        );
        let c = walk(&b, &f, Options::default()).expect("walk");
        let found: Vec<&str> = c
            .nodes
            .iter()
            .filter(|n| {
                n.run
                    .as_ref()
                    .and_then(|r| r.pipeline_task.as_deref())
                    .is_some()
            })
            .map(|n| n.run.as_ref().map_or("", |r| r.location.as_str()))
            .collect();
        assert!(
            found.contains(&"TaskRun ns/clone-2026-11-26T10:00:05Z"),
            "{found:?}"
        );
        assert!(
            !found
                .iter()
                .any(|l| l.contains("2026-11-25") || l.contains("lint")),
            "{found:?}"
        );
    }

    /// B <- package <- A <- build <- git, each TaskRun signed.
    fn three_steps() -> (Fake, ImageRef, ImageRef) {
        let (a, b) = (image("a", 'a'), image("b", 'b'));
        let mut f = Fake::default();
        f.attest(&a, vec![v02("TaskRun", &[&a], &[git()], task("build"))]);
        f.attest(
            &b,
            vec![v02("TaskRun", &[&b], &[input(&a)], task("package"))],
        );
        (f, a, b)
    }

    #[test]
    fn walks_artifact_inputs_down_to_the_git_commit() {
        let (f, a, b) = three_steps();
        let c = walk(&b, &f, Options::default()).expect("walk");
        assert!(c.passed(), "{:?}", c.denials);
        let kinds: Vec<NodeKind> = c.nodes.iter().map(|n| n.kind).collect();
        assert_eq!(
            kinds,
            [
                NodeKind::Image,
                NodeKind::Attestation,
                NodeKind::Image,
                NodeKind::Attestation,
                NodeKind::Source
            ]
        );
        assert_eq!(c.root, format!("image:{b}"));
        assert_eq!(c.nodes[2].id, format!("image:{a}"));
        assert_eq!(c.nodes[4].digest["sha1"], "a".repeat(40));
        let run = c.nodes[1].run.as_ref().expect("run");
        assert_eq!(run.pipeline_task.as_deref(), Some("package"));
        assert_eq!(
            run.materials[&a.repository.to_string()]["sha256"],
            a.digest.hex()
        );
        assert_eq!(
            run.products[&b.repository.to_string()]["sha256"],
            b.digest.hex()
        );
        let lines = c.tree_lines();
        assert_eq!(lines.len(), 5, "{lines:#?}");
        assert!(
            lines[0].starts_with("image registry.test/b@sha256:bbbb"),
            "{lines:#?}"
        );
        assert!(
            lines[1].contains("TaskRun pr-1/package: signed by the given key, log index 7: pass")
        );
        assert!(
            lines[2].starts_with("    <- image registry.test/a@"),
            "{lines:#?}"
        );
        assert!(lines[4].trim_start().starts_with(&format!(
            "<- git https://git.test/app.git commit {}",
            "a".repeat(40)
        )));
        let v = serde_json::to_value(&c).expect("json");
        assert_eq!(v["edges"][1]["relation"], "material");
        assert_eq!(v["nodes"][4]["kind"], "source");
    }

    #[test]
    fn a_material_that_is_no_attested_product_is_denied() {
        // A was replaced between the steps: the consumer names A', which no step produced.
        let (mut f, a, _) = three_steps();
        let (a2, c) = (image("a", '2'), image("c", 'c'));
        f.attest(
            &c,
            vec![v02("TaskRun", &[&c], &[input(&a2)], task("package"))],
        );
        let chain = walk(&c, &f, Options::default()).expect("walk");
        assert_eq!(chain.denials.len(), 1);
        assert_eq!(chain.denials[0].node, format!("image:{a2}"));
        assert!(chain.denials[0].reason.contains("no attestations found"));
        // An attestation of A presented for A' (its subject is A) is no proof either.
        let st = v02("TaskRun", &[&a], &[git()], task("build"));
        f.attest(&a2, vec![st]);
        let chain = walk(&c, &f, Options::default()).expect("walk");
        assert_eq!(chain.denials.len(), 1);
        assert!(
            chain.denials[0]
                .reason
                .contains("not the product of an attested step")
        );
        let node = chain.node(&format!("image:{a2}")).expect("node");
        assert_eq!(node.verdict, Verdict::Deny);
        assert!(chain.tree_lines()[2].contains("DENY: no verified SLSA provenance"));
    }

    #[test]
    fn cycles_are_denied_and_the_walk_ends() {
        let (a, b) = (image("a", 'a'), image("b", 'b'));
        let mut f = Fake::default();
        f.attest(&a, vec![v02("TaskRun", &[&a], &[input(&b)], task("x"))]);
        f.attest(&b, vec![v02("TaskRun", &[&b], &[input(&a)], task("y"))]);
        let c = walk(&b, &f, Options::default()).expect("walk");
        assert_eq!(c.denials.len(), 1, "{:?}", c.denials);
        assert!(c.denials[0].reason.starts_with("cycle"));
        assert!(c.edges.iter().any(|e| e.cycle));
        assert!(
            c.tree_lines()
                .last()
                .is_some_and(|l| l.ends_with("(cycle)"))
        );
    }

    #[test]
    fn a_diamond_is_not_a_cycle() {
        let (a, b, c, d) = (
            image("a", 'a'),
            image("b", 'b'),
            image("c", 'c'),
            image("d", 'd'),
        );
        let mut f = Fake::default();
        f.attest(&a, vec![v02("TaskRun", &[&a], &[git()], Value::Null)]);
        f.attest(&b, vec![v02("TaskRun", &[&b], &[input(&a)], Value::Null)]);
        f.attest(&c, vec![v02("TaskRun", &[&c], &[input(&a)], Value::Null)]);
        f.attest(
            &d,
            vec![v02("TaskRun", &[&d], &[input(&b), input(&c)], Value::Null)],
        );
        let chain = walk(&d, &f, Options::default()).expect("walk");
        assert!(chain.passed(), "{:?}", chain.denials);
        assert_eq!(
            chain
                .nodes
                .iter()
                .filter(|n| n.id == format!("image:{a}"))
                .count(),
            1
        );
        assert!(
            chain
                .tree_lines()
                .iter()
                .any(|l| l.ends_with("(see above)"))
        );
    }

    #[test]
    fn the_depth_limit_leaves_deeper_materials_unwalked() {
        let (f, a, b) = three_steps();
        let c = walk(&b, &f, Options { max_depth: 0 }).expect("walk");
        assert!(c.passed());
        let leaf = c.node(&format!("material:{a}")).expect("leaf");
        assert!(!leaf.walked);
        assert!(
            leaf.why
                .as_deref()
                .is_some_and(|w| w.contains("depth limit (0)"))
        );
        assert!(c.node(&format!("image:{a}")).is_none());
        assert!(
            walk(&b, &f, Options { max_depth: 1 })
                .expect("walk")
                .node(&format!("image:{a}"))
                .is_some()
        );
    }

    #[test]
    fn step_images_are_walked_only_as_products_of_the_pipelinerun() {
        let (a, b, tool) = (image("a", 'a'), image("b", 'b'), image("tool", '7'));
        let mut f = Fake::default();
        f.attest(&a, vec![v02("TaskRun", &[&a], &[git()], task("build"))]);
        // `package` runs the image A built as a step, and busybox-like `tool`.
        let tr = v02(
            "TaskRun",
            &[&b],
            &[step_image(&a), step_image(&tool)],
            task("package"),
        );
        f.attest(&b, vec![tr.clone()]);
        let c = walk(&b, &f, Options::default()).expect("walk");
        assert!(
            c.node(&format!("image:{a}")).is_none(),
            "not walked without the PipelineRun"
        );
        assert_eq!(
            c.nodes
                .iter()
                .filter(|n| n.kind == NodeKind::Material)
                .count(),
            2
        );
        // The PipelineRun's provenance names A as a task result: A is walked, `tool` not.
        let mut pr = v02(
            "PipelineRun",
            &[&b],
            &[],
            json!({"tekton.dev/pipeline": "p"}),
        );
        pr["predicate"]["buildConfig"] = json!({"tasks": [{"name": "build", "results": [
            {"name": "IMAGE_URL", "type": "string", "value": a.repository.to_string()},
            {"name": "IMAGE_DIGEST", "type": "string", "value": a.digest.as_str()}]}]});
        f.attest(&b, vec![tr, pr]);
        let c = walk(&b, &f, Options::default()).expect("walk");
        assert!(c.passed(), "{:?}", c.denials);
        assert!(c.node(&format!("image:{a}")).is_some());
        let pr_node = &c.nodes[1];
        assert_eq!(
            pr_node.run.as_ref().map(|r| r.kind),
            Some(RunKind::PipelineRun)
        );
        assert_eq!(pr_node.name, "PipelineRun of pipeline p");
        assert!(
            c.edges
                .iter()
                .any(|e| e.from == pr_node.id && e.relation == Relation::Child)
        );
        let unwalked: Vec<&Node> = c
            .nodes
            .iter()
            .filter(|n| !n.walked && n.kind == NodeKind::Material)
            .collect();
        assert_eq!(unwalked.len(), 1);
        assert_eq!(unwalked[0].name, format!("oci://{}", tool.repository));
        let lines = c.tree_lines();
        assert!(
            lines[1].starts_with("  PipelineRun of pipeline p"),
            "{lines:#?}"
        );
        assert!(
            lines[2].starts_with("    child TaskRun pr-1/package"),
            "{lines:#?}"
        );
    }

    #[test]
    fn slsa_v1_inputs_are_walked() {
        let (a, b) = (image("a", 'a'), image("b", 'b'));
        let mut f = Fake::default();
        f.attest(&a, vec![v02("TaskRun", &[&a], &[git()], Value::Null)]);
        let st = json!({
            "_type": "https://in-toto.io/Statement/v1",
            "predicateType": "https://slsa.dev/provenance/v1",
            "subject": [{"name": b.repository.to_string(), "digest": {"sha256": b.digest.hex()}}],
            "predicate": {"buildDefinition": {
                "buildType": "https://tekton.dev/chains/v2/slsa",
                "externalParameters": {"runSpec": {"taskSpec": {}}},
                "resolvedDependencies": [
                    {"name": "inputs/result", "uri": a.repository.to_string(), "digest": {"sha256": a.digest.hex()}},
                    {"uri": "oci://busybox", "digest": {"sha256": hex('e')}},
                    {"name": "task", "uri": "https://hub.test/task", "digest": {"sha256": hex('f')}}
                ]}}
        });
        f.attest(&b, vec![st]);
        let c = walk(&b, &f, Options::default()).expect("walk");
        assert!(c.passed(), "{:?}", c.denials);
        assert!(c.node(&format!("image:{a}")).is_some());
        assert_eq!(
            c.nodes[1].run.as_ref().map(|r| r.kind),
            Some(RunKind::TaskRun)
        );
        assert_eq!(
            c.nodes
                .iter()
                .filter(|n| n.kind == NodeKind::Material)
                .count(),
            2
        );
    }

    #[test]
    fn lookup_errors_stop_the_walk() {
        let (mut f, a, b) = three_steps();
        f.0.insert(a.digest.hex().to_owned(), Err(true));
        let e = walk(&b, &f, Options::default()).expect_err("error");
        assert!(e.is_transient());
        assert!(e.to_string().contains(&a.to_string()));
    }

    #[test]
    fn other_predicates_are_no_provenance() {
        let b = image("b", 'b');
        let mut f = Fake::default();
        f.attest(
            &b,
            vec![
                json!({"predicateType": "https://cyclonedx.org/bom", "subject": [
            {"name": "b", "digest": {"sha256": b.digest.hex()}}]}),
            ],
        );
        let c = walk(&b, &f, Options::default()).expect("walk");
        assert_eq!(c.denials.len(), 1);
        assert_eq!(c.denials[0].node, c.root);
    }
}
