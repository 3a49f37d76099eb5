//! Chains' `slsa/v2alpha3` and `slsa/v2alpha4` formats: an in-toto Statement v1 with a
//! SLSA v1.0 provenance predicate, for TaskRuns and PipelineRuns (Tekton Chains
//! v0.29.2 parity).
//!
//! - `buildDefinition.buildType` comes from the options: `https://tekton.dev/chains/v2/slsa`
//!   (the default) or `https://tekton.dev/chains/v2/slsa-tekton`, which adds labels and
//!   annotations to `internalParameters` and each child TaskRun to its `pipelineTask`
//!   dependency.
//! - `externalParameters`: the run's spec as Go re-encodes it (`runSpec`), plus
//!   `buildConfigSource` when the Task/Pipeline came from a remote resolver.
//! - `internalParameters`: Tekton's feature flags recorded in `status.provenance`.
//! - `resolvedDependencies`: step and sidecar images, the Task/Pipeline definitions, remote
//!   StepActions and type-hinted inputs, de-duplicated as Chains does.
//! - `runDetails`: `builder.id`, the run's UID and times, and byproducts — the results
//!   that are not subjects (v2alpha4 also step results and, with deep inspection, the
//!   child TaskRuns').
//! - subjects: v2alpha3 reads every type hint (`*IMAGE_URL`/`*IMAGE_DIGEST`, `IMAGES`,
//!   `*ARTIFACT_URI`/`*ARTIFACT_DIGEST`, `*ARTIFACT_OUTPUTS`); v2alpha4 only images and
//!   `*ARTIFACT_OUTPUTS` marked `isBuildArtifact: "true"`, including step results.
//!
//! Lists Chains orders by Go map iteration or by the order of results (byproducts,
//! `*ARTIFACT_INPUTS` dependencies) are sorted here or in [`super::extract`]; each place
//! carries a `// Chains:` comment. Type hinting is [`super::extract`]'s, shared with
//! `slsa/v1`.

mod deps;
mod gojson;
mod goschema;
mod predicate;
#[cfg(test)]
mod tests;

use serde_json::{Map, Value};

use self::deps::{ResolveOptions, TaskDescriptor};
use self::predicate::{
    BuildDefinition, BuildMetadata, Builder, Provenance, ResourceDescriptor, RunDetails,
};
use super::extract::{
    Artifact, append_artifacts, build_artifact_hint, executed_tasks, is_oci_image_result,
    pipeline_subjects, subjects_from_build_artifacts, subjects_from_results,
};
use super::statement::{PREDICATE_SLSA_V1, STATEMENT_V1};
use super::{Format, FormatError, FormatOptions, Statement, Subject};
use crate::tekton::{
    ObjectMeta, PipelineRun, Provenance as RunProvenance, RefSource, RunResult, TaskRun, Timestamp,
};

/// The `slsa` build type (Chains' default).
pub const SLSA_BUILD_TYPE: &str = "https://tekton.dev/chains/v2/slsa";
/// The `slsa-tekton` build type.
pub const TEKTON_BUILD_TYPE: &str = "https://tekton.dev/chains/v2/slsa-tekton";

const JSON_MEDIA_TYPE: &str = "application/json";

/// Which of Chains' SLSA v1 formats to produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Variant {
    /// `slsa/v2alpha3`.
    V2Alpha3,
    /// `slsa/v2alpha4`.
    V2Alpha4,
}

impl TryFrom<Format> for Variant {
    type Error = FormatError;

    fn try_from(f: Format) -> Result<Self, Self::Error> {
        match f {
            Format::SlsaV2Alpha3 => Ok(Self::V2Alpha3),
            Format::SlsaV2Alpha4 => Ok(Self::V2Alpha4),
            Format::SlsaV1 => Err(FormatError::Unsupported(format!(
                "{f} is not a SLSA v1 predicate format"
            ))),
        }
    }
}

impl From<Variant> for Format {
    fn from(v: Variant) -> Self {
        match v {
            Variant::V2Alpha3 => Self::SlsaV2Alpha3,
            Variant::V2Alpha4 => Self::SlsaV2Alpha4,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BuildType {
    Slsa,
    Tekton,
}

impl BuildType {
    fn parse(s: &str) -> Result<Self, FormatError> {
        match s {
            "" | SLSA_BUILD_TYPE => Ok(Self::Slsa),
            TEKTON_BUILD_TYPE => Ok(Self::Tekton),
            other => Err(FormatError::Unsupported(format!(
                "unsupported buildType {other}"
            ))),
        }
    }

    fn uri(self) -> &'static str {
        match self {
            Self::Slsa => SLSA_BUILD_TYPE,
            Self::Tekton => TEKTON_BUILD_TYPE,
        }
    }
}

/// Formats a TaskRun as `slsa/v2alpha3` or `slsa/v2alpha4`.
///
/// # Errors
///
/// [`FormatError::Unsupported`] for another format or an unknown build type,
/// [`FormatError::ImageId`] for a step or sidecar image ID that is not
/// `IMAGE@ALG:HEX`, and [`FormatError::Invalid`] when the spec cannot be encoded
/// (a parameter without a value) — the cases where Chains fails too.
pub fn taskrun(
    tr: &TaskRun,
    format: Format,
    opts: &FormatOptions,
) -> Result<Statement, FormatError> {
    let variant = Variant::try_from(format)?;
    let byproducts = match variant {
        Variant::V2Alpha3 => all_results(&tr.status.results, |n| format!("taskRunResults/{n}")),
        Variant::V2Alpha4 => task_run_byproducts(tr),
    };
    let resolve = ResolveOptions {
        with_step_actions: variant == Variant::V2Alpha4,
    };
    let resolved_dependencies = deps::task_run(tr, resolve)?;
    let build_type = BuildType::parse(&opts.build_type)?;
    let subjects = match variant {
        Variant::V2Alpha3 => subjects_from_results(&tr.status.results),
        Variant::V2Alpha4 => task_run_build_artifacts(tr),
    };
    statement(
        &RunView::from(tr),
        build_type,
        subjects,
        resolved_dependencies,
        byproducts,
        opts,
    )
}

/// Formats a PipelineRun as `slsa/v2alpha3` or `slsa/v2alpha4`.
///
/// `children` are its TaskRuns; each is matched to a pipeline task by its
/// `tekton.dev/pipelineTask` label, and only completed ones count.
///
/// # Errors
///
/// As [`taskrun`], for the PipelineRun and its children.
pub fn pipelinerun(
    pr: &PipelineRun,
    children: &[TaskRun],
    format: Format,
    opts: &FormatOptions,
) -> Result<Statement, FormatError> {
    let variant = Variant::try_from(format)?;
    let deep = opts.deep_inspection;
    let executed = executed_tasks(pr, children);
    let byproducts = match variant {
        Variant::V2Alpha3 => all_results(&pr.status.results, |n| format!("pipelineRunResults/{n}")),
        Variant::V2Alpha4 => {
            let mut b = results_without_build_artifacts(
                pr.name(),
                &pr.status.results,
                "pipelineRunResults",
            );
            if deep {
                for tr in &executed {
                    b.extend(task_run_byproducts(tr));
                }
            }
            b
        }
    };
    let build_type = BuildType::parse(&opts.build_type)?;
    let descriptor = match build_type {
        BuildType::Slsa => TaskDescriptor::Slsa,
        BuildType::Tekton => TaskDescriptor::Tekton,
    };
    let resolve = ResolveOptions {
        with_step_actions: variant == Variant::V2Alpha4,
    };
    let resolved_dependencies =
        deps::pipeline_run(pr, &executed, deep, resolve, descriptor, &task_run_content)?;
    let subjects = match variant {
        Variant::V2Alpha3 => pipeline_subjects(pr, children, deep),
        Variant::V2Alpha4 => {
            let mut s = subjects_from_build_artifacts(&pr.status.results);
            if deep {
                for tr in &executed {
                    append_artifacts(&mut s, task_run_build_artifacts(tr));
                }
            }
            s
        }
    };
    statement(
        &RunView::from(pr),
        build_type,
        subjects,
        resolved_dependencies,
        byproducts,
        opts,
    )
}

/// What the predicate reads of a run, whichever its kind.
struct RunView<'a> {
    metadata: &'a ObjectMeta,
    /// The whole document.
    raw: &'a Value,
    api_version: Option<&'a str>,
    /// The spec as written, its Go type, and the name of its Task/Pipeline reference.
    spec: (&'a Value, &'static goschema::Ty, &'static str),
    ref_source: Option<&'a RefSource>,
    provenance: Option<&'a RunProvenance>,
    /// Start and completion times.
    times: (Option<Timestamp>, Option<Timestamp>),
}

impl<'a> From<&'a TaskRun> for RunView<'a> {
    fn from(tr: &'a TaskRun) -> Self {
        Self {
            metadata: &tr.metadata,
            raw: &tr.raw,
            api_version: tr.api_version.as_deref(),
            spec: (&tr.spec.raw, &goschema::TASK_RUN_SPEC, "taskRef"),
            ref_source: tr.ref_source(),
            provenance: tr.status.provenance.as_ref(),
            times: (tr.status.start_time, tr.status.completion_time),
        }
    }
}

impl<'a> From<&'a PipelineRun> for RunView<'a> {
    fn from(pr: &'a PipelineRun) -> Self {
        Self {
            metadata: &pr.metadata,
            raw: &pr.raw,
            api_version: pr.api_version.as_deref(),
            spec: (&pr.spec.raw, &goschema::PIPELINE_RUN_SPEC, "pipelineRef"),
            ref_source: pr.ref_source(),
            provenance: pr.status.provenance.as_ref(),
            times: (pr.status.start_time, pr.status.completion_time),
        }
    }
}

/// The statement: `buildDefinition` and `runDetails` from the run and the parts
/// computed for it.
///
/// # Errors
///
/// [`FormatError::Invalid`] when the spec cannot be encoded.
fn statement(
    run: &RunView<'_>,
    build_type: BuildType,
    subjects: Vec<Artifact>,
    resolved_dependencies: Vec<ResourceDescriptor>,
    byproducts: Vec<ResourceDescriptor>,
    opts: &FormatOptions,
) -> Result<Statement, FormatError> {
    let (spec, ty, reference) = run.spec;
    let spec = run_spec(spec, ty, run.api_version)?;
    let external_parameters =
        external_parameters(run.ref_source, is_remote(&spec, reference), spec);
    let internal_parameters =
        internal_parameters(run.provenance, run.metadata, run.raw, build_type);
    let build_definition = BuildDefinition {
        build_type: build_type.uri().to_owned(),
        external_parameters,
        internal_parameters,
        resolved_dependencies,
    };
    let metadata = build_metadata(run.metadata, run.times.0, run.times.1);
    let predicate = Provenance {
        build_definition,
        run_details: RunDetails {
            builder: Builder {
                id: opts.builder_id.clone(),
            },
            metadata,
            byproducts,
        },
    };
    let predicate = predicate.into_value()?;
    // Chains: subject order follows Go map iteration in places; `Statement::new` sorts.
    let subjects = subjects.into_iter().map(Subject::from).collect();
    Ok(Statement::new(
        STATEMENT_V1,
        subjects,
        PREDICATE_SLSA_V1,
        predicate,
    ))
}

/// `runDetails.metadata`: the run's UID and its start and completion times.
fn build_metadata(
    meta: &ObjectMeta,
    start: Option<Timestamp>,
    end: Option<Timestamp>,
) -> BuildMetadata {
    let ts = |t: Option<Timestamp>| t.map(Timestamp::to_protojson);
    BuildMetadata {
        invocation_id: meta.uid.clone().unwrap_or_default(),
        started_on: ts(start),
        finished_on: ts(end),
    }
}

/// The spec as Chains embeds it: decoded into Tekton's v1 Go types and re-encoded.
fn run_spec(
    raw: &Value,
    ty: &goschema::Ty,
    api_version: Option<&str>,
) -> Result<Value, FormatError> {
    let converted;
    let raw = if api_version == Some(crate::tekton::V1BETA1) {
        converted = v1beta1::spec_to_v1(raw);
        &converted
    } else {
        raw
    };
    goschema::normalize(Some(raw), ty)
        .map(goschema::GoVal::into_value)
        .map_err(|e| FormatError::Invalid(format!("spec: {}", e.0)))
}

/// Chains' `IsRemote`: the (v1) spec's reference names a resolver other than `Cluster`.
/// Read from the re-encoded spec, so a v1beta1 `bundle` (dropped by Tekton's
/// conversion) does not count.
fn is_remote(spec: &Value, reference: &str) -> bool {
    spec.get(reference)
        .and_then(|r| r.get("resolver"))
        .and_then(Value::as_str)
        .is_some_and(|r| !r.is_empty() && r != "Cluster")
}

/// `externalParameters`: `runSpec`, and `buildConfigSource` for a remote definition.
fn external_parameters(ref_source: Option<&RefSource>, remote: bool, run_spec: Value) -> Value {
    let mut m = Map::new();
    if remote && let Some(rs) = ref_source {
        // Chains: `ref` is the first digest in Go map iteration order (random when
        // there are several); hallmark takes the first algorithm by name.
        let reference = rs
            .digest
            .iter()
            .next()
            .map(|(alg, hex)| format!("{alg}:{hex}"))
            .unwrap_or_default();
        let mut source = Map::new();
        source.insert("ref".into(), Value::String(reference));
        source.insert("repository".into(), Value::String(rs.uri.clone()));
        source.insert("path".into(), Value::String(rs.entry_point.clone()));
        m.insert("buildConfigSource".into(), Value::Object(source));
    }
    m.insert("runSpec".into(), run_spec);
    Value::Object(m)
}

/// `internalParameters`: the feature flags, and for `slsa-tekton` labels and annotations.
fn internal_parameters(
    provenance: Option<&RunProvenance>,
    meta: &ObjectMeta,
    raw: &Value,
    bt: BuildType,
) -> Value {
    let mut m = Map::new();
    if let Some(flags) = provenance.and_then(|p| p.feature_flags.as_ref()) {
        let flags = goschema::normalize(Some(flags), &goschema::FEATURE_FLAGS)
            .map_or(Value::Null, goschema::GoVal::into_value);
        m.insert("tekton-pipelines-feature-flags".into(), flags);
    }
    if bt == BuildType::Tekton {
        // Go's nil map (absent in the document) encodes as `null`.
        let present = |key: &str| {
            raw.get("metadata")
                .and_then(|md| md.get(key))
                .is_some_and(|v| !v.is_null())
        };
        let map = |entries: &std::collections::BTreeMap<String, String>| {
            Value::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                    .collect(),
            )
        };
        m.insert(
            "labels".into(),
            if present("labels") {
                map(&meta.labels)
            } else {
                Value::Null
            },
        );
        m.insert(
            "annotations".into(),
            if present("annotations") {
                map(&meta.annotations)
            } else {
                Value::Null
            },
        );
    }
    Value::Object(m)
}

/// The bytes of `json.Marshal(value)` for a result value.
fn result_content(r: &RunResult) -> Vec<u8> {
    gojson::param_value_go_json(&r.value).into_bytes()
}

fn byproduct(name: String, r: &RunResult) -> ResourceDescriptor {
    ResourceDescriptor {
        name,
        content: result_content(r),
        media_type: JSON_MEDIA_TYPE.to_owned(),
        ..ResourceDescriptor::default()
    }
}

/// v2alpha3 byproducts: every result.
fn all_results(results: &[RunResult], name: impl Fn(&str) -> String) -> Vec<ResourceDescriptor> {
    sorted(
        results
            .iter()
            .map(|r| byproduct(name(&r.name), r))
            .collect(),
    )
}

/// Chains' `GetResultsWithoutBuildArtifacts`: results that are neither build artifacts
/// (nor malformed `*ARTIFACT_OUTPUTS`) nor image type hints.
fn results_without_build_artifacts<'a>(
    obj_name: &str,
    results: impl IntoIterator<Item = &'a RunResult>,
    prefix: &str,
) -> Vec<ResourceDescriptor> {
    sorted(
        results
            .into_iter()
            .filter(|r| build_artifact_hint(r) == Some(false))
            .filter(|r| !is_oci_image_result(&r.name))
            .map(|r| byproduct(format!("{prefix}/{obj_name}/{}", r.name), r))
            .collect(),
    )
}

/// One run's byproducts of one kind, sorted by name (then content).
fn sorted(mut byproducts: Vec<ResourceDescriptor>) -> Vec<ResourceDescriptor> {
    // Chains: byproducts follow the order of the results (and of the steps' results),
    // which carries no meaning; hallmark sorts each run's results and each run's step
    // results by name, then content, so that the statement does not depend on it. The
    // runs keep Chains' order (the PipelineRun's, then its children in pipeline order).
    // docs/compatibility.md D3.
    byproducts.sort();
    byproducts
}

/// v2alpha4 byproducts of a TaskRun: its results, then its step results.
fn task_run_byproducts(tr: &TaskRun) -> Vec<ResourceDescriptor> {
    let mut b = results_without_build_artifacts(tr.name(), &tr.status.results, "taskRunResults");
    b.extend(results_without_build_artifacts(
        tr.name(),
        tr.step_results(),
        "stepResults",
    ));
    b
}

/// v2alpha4 subjects of a TaskRun: each step's results, then the TaskRun's.
fn task_run_build_artifacts(tr: &TaskRun) -> Vec<Artifact> {
    let mut subjects = Vec::new();
    for step in &tr.status.steps {
        append_artifacts(&mut subjects, subjects_from_build_artifacts(&step.results));
    }
    append_artifacts(
        &mut subjects,
        subjects_from_build_artifacts(&tr.status.results),
    );
    subjects
}

/// `json.Marshal(taskRun)`: a child TaskRun as the `slsa-tekton` build type embeds it.
fn task_run_content(tr: &TaskRun) -> Result<Vec<u8>, FormatError> {
    let raw = if tr.api_version.as_deref() == Some(crate::tekton::V1BETA1) {
        v1beta1::task_run_to_v1(&tr.raw)
    } else {
        tr.raw.clone()
    };
    goschema::normalize(Some(&raw), &goschema::TASK_RUN)
        .map(|g| g.to_go_json().into_bytes())
        .map_err(|e| FormatError::Invalid(format!("TaskRun {}: {}", tr.name(), e.0)))
}

mod v1beta1 {
    //! The parts of Tekton's v1beta1 → v1 conversion that change a run's spec.

    use serde_json::{Map, Value};

    fn rename(m: &mut Map<String, Value>, from: &str, to: &str) {
        if let Some(v) = m.remove(from) {
            m.entry(to.to_owned()).or_insert(v);
        }
    }

    fn convert_containers(spec: &mut Map<String, Value>, key: &str) {
        if let Some(Value::Array(items)) = spec.get_mut(key) {
            for item in items.iter_mut().filter_map(Value::as_object_mut) {
                rename(item, "resources", "computeResources");
            }
        }
    }

    fn convert_task_spec(spec: &mut Map<String, Value>) {
        convert_containers(spec, "steps");
        convert_containers(spec, "sidecars");
        if let Some(Value::Object(t)) = spec.get_mut("stepTemplate") {
            rename(t, "resources", "computeResources");
        }
        spec.remove("resources");
    }

    /// Tekton v1.15 drops a v1beta1 `bundle` (it is not converted to a resolver).
    fn convert_ref(m: &mut Map<String, Value>, key: &str) {
        if let Some(Value::Object(r)) = m.get_mut(key) {
            r.remove("bundle");
        }
    }

    fn convert_pipeline_spec(spec: &mut Map<String, Value>) {
        for key in ["tasks", "finally"] {
            if let Some(Value::Array(tasks)) = spec.get_mut(key) {
                for t in tasks.iter_mut().filter_map(Value::as_object_mut) {
                    convert_ref(t, "taskRef");
                    convert_ref(t, "pipelineRef");
                    if let Some(Value::Object(ts)) = t.get_mut("taskSpec") {
                        convert_task_spec(ts);
                    }
                    if let Some(Value::Object(ps)) = t.get_mut("pipelineSpec") {
                        convert_pipeline_spec(ps);
                    }
                }
            }
        }
    }

    fn convert_overrides(m: &mut Map<String, Value>) {
        rename(m, "stepOverrides", "stepSpecs");
        rename(m, "sidecarOverrides", "sidecarSpecs");
        for key in ["stepSpecs", "sidecarSpecs"] {
            convert_containers(m, key);
        }
    }

    /// A v1beta1 `TaskRunSpec` or `PipelineRunSpec` as its v1 form.
    pub(super) fn spec_to_v1(raw: &Value) -> Value {
        let mut spec = raw.as_object().cloned().unwrap_or_default();
        spec.remove("resources");
        convert_overrides(&mut spec);
        convert_ref(&mut spec, "taskRef");
        convert_ref(&mut spec, "pipelineRef");
        if let Some(Value::Object(t)) = spec.get_mut("taskSpec") {
            convert_task_spec(t);
        }
        if let Some(Value::Object(p)) = spec.get_mut("pipelineSpec") {
            convert_pipeline_spec(p);
        }
        let is_pipeline = spec.contains_key("pipelineRef") || spec.contains_key("pipelineSpec");
        if is_pipeline {
            let mut template = Map::new();
            if let Some(v) = spec.remove("serviceAccountName") {
                template.insert("serviceAccountName".into(), v);
            }
            if let Some(v) = spec.remove("podTemplate") {
                template.insert("podTemplate".into(), v);
            }
            spec.insert("taskRunTemplate".into(), Value::Object(template));
            // A v1beta1 `timeout` replaces `timeouts` altogether.
            if let Some(t) = spec.remove("timeout").filter(|t| !t.is_null()) {
                let mut timeouts = Map::new();
                timeouts.insert("pipeline".into(), t);
                spec.insert("timeouts".into(), Value::Object(timeouts));
            }
            if let Some(Value::Array(specs)) = spec.get_mut("taskRunSpecs") {
                for s in specs.iter_mut().filter_map(Value::as_object_mut) {
                    rename(s, "taskServiceAccountName", "serviceAccountName");
                    rename(s, "taskPodTemplate", "podTemplate");
                    convert_overrides(s);
                }
            }
        }
        Value::Object(spec)
    }

    /// A v1beta1 TaskRun document as its v1 form (spec and the status fields renamed).
    pub(super) fn task_run_to_v1(raw: &Value) -> Value {
        let mut doc = raw.as_object().cloned().unwrap_or_default();
        // The converted object carries no type meta.
        doc.remove("apiVersion");
        doc.remove("kind");
        if let Some(spec) = doc.get("spec") {
            let converted = spec_to_v1(spec);
            doc.insert("spec".into(), converted);
        }
        if let Some(Value::Object(status)) = doc.get_mut("status") {
            rename(status, "taskResults", "results");
            if let Some(Value::Object(t)) = status.get_mut("taskSpec") {
                convert_task_spec(t);
            }
            // Tekton's conversion keeps `refSource` only; `configSource` is dropped.
            if let Some(Value::Object(p)) = status.get_mut("provenance") {
                p.remove("configSource");
            }
        }
        Value::Object(doc)
    }
}
