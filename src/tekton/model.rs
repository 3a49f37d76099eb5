//! The typed model: the parts of Tekton's `TaskRun` and `PipelineRun` (tekton.dev/v1,
//! v1beta1 accepted) that the provenance formats read.
//!
//! Parts that Chains embeds verbatim in provenance are kept as [`serde_json::Value`]
//! besides the typed view (`raw` fields), as written.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::ParseError;
use super::read::{
    child, index, invalid_found, join, objects, opt_string, opt_strings, string, string_map,
};
use super::time::Timestamp;

/// The label Tekton puts on a child TaskRun naming its pipeline task.
pub const PIPELINE_TASK_LABEL: &str = "tekton.dev/pipelineTask";
/// The label Tekton puts on a child TaskRun naming its PipelineRun.
pub const PIPELINE_RUN_LABEL: &str = "tekton.dev/pipelineRun";

/// `metadata`: what the formats read of an object's metadata.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ObjectMeta {
    /// `metadata.name`.
    pub name: String,
    /// `metadata.namespace`.
    pub namespace: Option<String>,
    /// `metadata.uid`.
    pub uid: Option<String>,
    /// `metadata.labels`.
    pub labels: BTreeMap<String, String>,
    /// `metadata.annotations`.
    pub annotations: BTreeMap<String, String>,
}

/// A parameter or result value: Tekton's `ParamValue` (string, array or object).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParamValue {
    /// A string (numbers and booleans are read as their JSON text, as Tekton does).
    String(String),
    /// An array of strings.
    Array(Vec<String>),
    /// An object of strings.
    Object(BTreeMap<String, String>),
}

impl Default for ParamValue {
    fn default() -> Self {
        Self::String(String::new())
    }
}

impl ParamValue {
    /// The string value (Go's `StringVal`): `""` for arrays and objects.
    #[must_use]
    pub fn as_str(&self) -> &str {
        match self {
            Self::String(s) => s,
            _ => "",
        }
    }

    /// The object value (Go's `ObjectVal`), if this is an object.
    #[must_use]
    pub fn as_object(&self) -> Option<&BTreeMap<String, String>> {
        match self {
            Self::Object(m) => Some(m),
            _ => None,
        }
    }

    /// The type name Tekton uses: `string`, `array` or `object`.
    #[must_use]
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::String(_) => "string",
            Self::Array(_) => "array",
            Self::Object(_) => "object",
        }
    }

    /// The JSON Tekton marshals this value to.
    #[must_use]
    pub fn to_json(&self) -> Value {
        match self {
            Self::String(s) => Value::String(s.clone()),
            Self::Array(a) => Value::Array(a.iter().cloned().map(Value::String).collect()),
            Self::Object(m) => Value::Object(
                m.iter()
                    .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                    .collect(),
            ),
        }
    }
}

/// A `{name, value}` parameter of a run or pipeline task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Param {
    /// `name`.
    pub name: String,
    /// `value`.
    pub value: ParamValue,
}

/// A declared parameter (`ParamSpec`) of a Task or Pipeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamSpec {
    /// `name`.
    pub name: String,
    /// `default`, if any.
    pub default: Option<ParamValue>,
}

/// A result of a run or a step (`RunResult`; v1beta1 `TaskRunResult`/`PipelineRunResult`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunResult {
    /// `name`.
    pub name: String,
    /// `type` (`string`, `array`, `object`), when written.
    pub type_: Option<String>,
    /// `value`.
    pub value: ParamValue,
}

impl RunResult {
    /// The JSON Tekton marshals this result to (`{name, type?, value}`).
    #[must_use]
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("name".into(), Value::String(self.name.clone()));
        if let Some(t) = self.type_.as_ref().filter(|t| !t.is_empty()) {
            m.insert("type".into(), Value::String(t.clone()));
        }
        m.insert("value".into(), self.value.to_json());
        Value::Object(m)
    }
}

/// `provenance.refSource`: where a Task or Pipeline definition came from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RefSource {
    /// `uri`.
    pub uri: String,
    /// `digest`: algorithm → hex.
    pub digest: BTreeMap<String, String>,
    /// `entryPoint`.
    pub entry_point: String,
}

/// `status.provenance` (and a step's `provenance`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Provenance {
    /// `refSource` (v1beta1's deprecated `configSource` is ignored, as Tekton's conversion
    /// to v1 drops it).
    pub ref_source: Option<RefSource>,
    /// `featureFlags`, as written.
    pub feature_flags: Option<Value>,
}

/// A reference to a Task or Pipeline (`taskRef`, `pipelineRef`), with its resolver.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Ref {
    /// `name`.
    pub name: String,
    /// `kind`.
    pub kind: String,
    /// `apiVersion`.
    pub api_version: String,
    /// `resolver` (v1beta1 `bundle` reads as resolver `bundles`).
    pub resolver: String,
    /// `params` of the resolver.
    pub params: Vec<Param>,
}

impl Ref {
    /// Whether the definition came from a remote resolver (anything but `""`/`Cluster`).
    #[must_use]
    pub fn is_remote(&self) -> bool {
        !self.resolver.is_empty() && self.resolver != "Cluster"
    }

    /// The JSON Go marshals a v1 `TaskRef` to (empty fields omitted).
    #[must_use]
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        for (k, v) in [
            ("name", &self.name),
            ("kind", &self.kind),
            ("apiVersion", &self.api_version),
            ("resolver", &self.resolver),
        ] {
            if !v.is_empty() {
                m.insert(k.into(), Value::String(v.clone()));
            }
        }
        if !self.params.is_empty() {
            m.insert("params".into(), params_to_json(&self.params));
        }
        Value::Object(m)
    }
}

/// The JSON of a list of parameters (`[{name, value}]`).
#[must_use]
pub fn params_to_json(params: &[Param]) -> Value {
    Value::Array(
        params
            .iter()
            .map(|p| {
                let mut m = Map::new();
                m.insert("name".into(), Value::String(p.name.clone()));
                m.insert("value".into(), p.value.to_json());
                Value::Object(m)
            })
            .collect(),
    )
}

/// An environment variable of a step (only what result references read).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EnvVar {
    /// `name`.
    pub name: String,
    /// `value`.
    pub value: String,
    /// `valueFrom.secretKeyRef` / `configMapKeyRef` `{name, key}` strings.
    pub value_from: Vec<String>,
}

/// A step (or sidecar) of a Task spec.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Step {
    /// `name`.
    pub name: String,
    /// `image`.
    pub image: String,
    /// `imagePullPolicy`.
    pub image_pull_policy: String,
    /// `command`.
    pub command: Vec<String>,
    /// `args`: `None` when absent (Go's nil slice, marshalled as `null`).
    pub args: Option<Vec<String>>,
    /// `script`.
    pub script: String,
    /// `workingDir`.
    pub working_dir: String,
    /// `env`.
    pub env: Vec<EnvVar>,
}

/// A Task spec (`status.taskSpec`, or a pipeline task's inline `taskSpec`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TaskSpec {
    /// `params`.
    pub params: Vec<ParamSpec>,
    /// `steps`.
    pub steps: Vec<Step>,
    /// `sidecars`.
    pub sidecars: Vec<Step>,
    /// The spec as written.
    pub raw: Value,
}

/// A step's state in `status.steps`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StepState {
    /// `name`.
    pub name: String,
    /// `container`.
    pub container: String,
    /// `imageID`.
    pub image_id: String,
    /// `results` (step results).
    pub results: Vec<RunResult>,
    /// `provenance` (remote StepActions).
    pub provenance: Option<Provenance>,
}

/// A sidecar's state in `status.sidecars`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SidecarState {
    /// `name`.
    pub name: String,
    /// `imageID`.
    pub image_id: String,
}

/// A condition in `status.conditions`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Condition {
    /// `type`.
    pub type_: String,
    /// `status`: `True`, `False` or `Unknown`.
    pub status: String,
    /// `reason`.
    pub reason: String,
}

/// `spec` of a TaskRun.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TaskRunSpec {
    /// `params`.
    pub params: Vec<Param>,
    /// `taskRef`.
    pub task_ref: Option<Ref>,
    /// `serviceAccountName`.
    pub service_account_name: String,
    /// The spec as written.
    pub raw: Value,
}

/// `status` of a TaskRun.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TaskRunStatus {
    /// `startTime`.
    pub start_time: Option<Timestamp>,
    /// `completionTime`.
    pub completion_time: Option<Timestamp>,
    /// `conditions`.
    pub conditions: Vec<Condition>,
    /// `steps`.
    pub steps: Vec<StepState>,
    /// `sidecars`.
    pub sidecars: Vec<SidecarState>,
    /// `results` (v1beta1 `taskResults`).
    pub results: Vec<RunResult>,
    /// `taskSpec`.
    pub task_spec: Option<TaskSpec>,
    /// `provenance`.
    pub provenance: Option<Provenance>,
}

/// A TaskRun.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TaskRun {
    /// `apiVersion` as written (`None` when absent).
    pub api_version: Option<String>,
    /// `metadata`.
    pub metadata: ObjectMeta,
    /// `spec`.
    pub spec: TaskRunSpec,
    /// `status`.
    pub status: TaskRunStatus,
    /// The whole document as written.
    pub raw: Value,
}

impl TaskRun {
    /// `metadata.name`.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.metadata.name
    }

    /// `metadata.namespace`.
    #[must_use]
    pub fn namespace(&self) -> Option<&str> {
        self.metadata.namespace.as_deref()
    }

    /// The PipelineRun this TaskRun belongs to (its `tekton.dev/pipelineRun` label).
    #[must_use]
    pub fn pipeline_run_name(&self) -> Option<&str> {
        self.metadata
            .labels
            .get(PIPELINE_RUN_LABEL)
            .map(String::as_str)
    }

    /// The pipeline task this TaskRun ran (its `tekton.dev/pipelineTask` label).
    #[must_use]
    pub fn pipeline_task_name(&self) -> Option<&str> {
        self.metadata
            .labels
            .get(PIPELINE_TASK_LABEL)
            .map(String::as_str)
    }

    /// Whether the Task came from a remote resolver.
    #[must_use]
    pub fn is_remote(&self) -> bool {
        self.spec.task_ref.as_ref().is_some_and(Ref::is_remote)
    }

    /// `status.provenance.refSource`: where the Task came from.
    #[must_use]
    pub fn ref_source(&self) -> Option<&RefSource> {
        self.status.provenance.as_ref()?.ref_source.as_ref()
    }

    /// The step results of all steps, in order (Chains' `GetStepResults`).
    pub fn step_results(&self) -> impl Iterator<Item = &RunResult> {
        self.status.steps.iter().flat_map(|s| s.results.iter())
    }
}

/// A `when` expression of a pipeline task.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WhenExpression {
    /// `input`.
    pub input: String,
    /// `values`.
    pub values: Vec<String>,
    /// `cel`.
    pub cel: String,
}

/// A task of a Pipeline spec.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PipelineTask {
    /// `name`.
    pub name: String,
    /// `taskRef`.
    pub task_ref: Option<Ref>,
    /// `runAfter`.
    pub run_after: Vec<String>,
    /// `params`.
    pub params: Vec<Param>,
    /// `matrix.params` followed by every `matrix.include[].params`.
    pub matrix_params: Vec<Param>,
    /// `when`.
    pub when: Vec<WhenExpression>,
    /// The inline `taskSpec`, if any.
    pub task_spec: Option<TaskSpec>,
}

/// A Pipeline spec (`status.pipelineSpec`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PipelineSpec {
    /// `params`.
    pub params: Vec<ParamSpec>,
    /// `tasks`.
    pub tasks: Vec<PipelineTask>,
    /// `finally`.
    pub finally: Vec<PipelineTask>,
}

/// `spec` of a PipelineRun.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PipelineRunSpec {
    /// `params`.
    pub params: Vec<Param>,
    /// `pipelineRef`.
    pub pipeline_ref: Option<Ref>,
    /// `taskRunTemplate.serviceAccountName` (v1beta1 `serviceAccountName`).
    pub service_account_name: String,
    /// The spec as written.
    pub raw: Value,
}

/// A child reference in `status.childReferences`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChildReference {
    /// `kind` (`TaskRun`, `CustomRun`).
    pub kind: String,
    /// `name` of the child run.
    pub name: String,
    /// `pipelineTaskName`.
    pub pipeline_task_name: String,
}

/// `status` of a PipelineRun.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PipelineRunStatus {
    /// `startTime`.
    pub start_time: Option<Timestamp>,
    /// `completionTime`.
    pub completion_time: Option<Timestamp>,
    /// `conditions`.
    pub conditions: Vec<Condition>,
    /// `results` (v1beta1 `pipelineResults`).
    pub results: Vec<RunResult>,
    /// `pipelineSpec`.
    pub pipeline_spec: Option<PipelineSpec>,
    /// `provenance`.
    pub provenance: Option<Provenance>,
    /// `childReferences`.
    pub child_references: Vec<ChildReference>,
    /// v1beta1 `taskRuns`: the children's statuses embedded in the PipelineRun, as
    /// TaskRuns carrying the name, the pipeline-task and PipelineRun labels and the
    /// status (their spec is unknown). Sorted by name.
    pub embedded_task_runs: Vec<TaskRun>,
}

/// A PipelineRun.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PipelineRun {
    /// `apiVersion` as written (`None` when absent).
    pub api_version: Option<String>,
    /// `metadata`.
    pub metadata: ObjectMeta,
    /// `spec`.
    pub spec: PipelineRunSpec,
    /// `status`.
    pub status: PipelineRunStatus,
    /// The whole document as written.
    pub raw: Value,
}

impl PipelineRun {
    /// `metadata.name`.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.metadata.name
    }

    /// `metadata.namespace`.
    #[must_use]
    pub fn namespace(&self) -> Option<&str> {
        self.metadata.namespace.as_deref()
    }

    /// Whether the Pipeline came from a remote resolver.
    #[must_use]
    pub fn is_remote(&self) -> bool {
        self.spec.pipeline_ref.as_ref().is_some_and(Ref::is_remote)
    }

    /// `status.provenance.refSource`: where the Pipeline came from.
    #[must_use]
    pub fn ref_source(&self) -> Option<&RefSource> {
        self.status.provenance.as_ref()?.ref_source.as_ref()
    }

    /// Whether this is a v1beta1 object (by its `apiVersion`).
    #[must_use]
    pub fn is_v1beta1(&self) -> bool {
        self.api_version.as_deref() == Some(super::V1BETA1)
    }

    /// The pipeline tasks, then the finally tasks.
    pub fn pipeline_tasks(&self) -> impl Iterator<Item = (usize, &PipelineTask)> {
        self.status
            .pipeline_spec
            .iter()
            .flat_map(|s| s.tasks.iter().chain(s.finally.iter()))
            .enumerate()
    }
}

// ---------------------------------------------------------------------------------------
// Reading

type Obj = Map<String, Value>;

pub(crate) fn param_value(v: Option<&Value>, path: &str) -> Result<ParamValue, ParseError> {
    const EXPECTED: &str = "expected string or array or object";
    match v {
        None => Err(super::read::invalid(path, "required field missing")),
        Some(Value::Null) => Ok(ParamValue::String(String::new())),
        Some(Value::String(s)) => Ok(ParamValue::String(s.clone())),
        // Tekton reads any other scalar as its JSON text.
        Some(v @ (Value::Number(_) | Value::Bool(_))) => Ok(ParamValue::String(v.to_string())),
        // Chains: Tekton reads an array or object that is not all strings as its JSON
        // text (a string); hallmark rejects it, naming the element.
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, v)| match v {
                Value::String(s) => Ok(s.clone()),
                other => Err(invalid_found(&index(path, i), "expected string", other)),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(ParamValue::Array),
        Some(Value::Object(m)) => m
            .iter()
            .map(|(k, v)| match v {
                Value::String(s) => Ok((k.clone(), s.clone())),
                other => Err(invalid_found(&join(path, k), "expected string", other)),
            })
            .collect::<Result<BTreeMap<_, _>, _>>()
            .map(ParamValue::Object),
    }
    .map_err(|e| match (v, e) {
        (Some(Value::Array(_) | Value::Object(_)), ParseError::Field { path, expected }) => {
            ParseError::Field {
                path,
                expected: format!("{expected} ({EXPECTED} of strings)"),
            }
        }
        (_, e) => e,
    })
}

fn params(m: &Obj, path: &str, key: &str) -> Result<Vec<Param>, ParseError> {
    objects(m, path, key)?
        .into_iter()
        .map(|(p, o)| {
            Ok(Param {
                name: string(o, &p, "name")?,
                value: param_value(o.get("value"), &join(&p, "value"))?,
            })
        })
        .collect()
}

fn param_specs(m: &Obj, path: &str, key: &str) -> Result<Vec<ParamSpec>, ParseError> {
    objects(m, path, key)?
        .into_iter()
        .map(|(p, o)| {
            let default = match o.get("default") {
                None | Some(Value::Null) => None,
                v => Some(param_value(v, &join(&p, "default"))?),
            };
            Ok(ParamSpec {
                name: string(o, &p, "name")?,
                default,
            })
        })
        .collect()
}

pub(crate) fn results(m: &Obj, path: &str, key: &str) -> Result<Vec<RunResult>, ParseError> {
    objects(m, path, key)?
        .into_iter()
        .map(|(p, o)| {
            Ok(RunResult {
                name: string(o, &p, "name")?,
                type_: opt_string(o, &p, "type")?,
                value: param_value(o.get("value"), &join(&p, "value"))?,
            })
        })
        .collect()
}

fn provenance(m: &Obj, path: &str) -> Result<Option<Provenance>, ParseError> {
    let p = join(path, "provenance");
    let Some(prov) = child(m, path, "provenance")? else {
        return Ok(None);
    };
    // v1beta1's deprecated `configSource` is dropped, as Tekton's v1beta1 → v1
    // conversion drops it: Chains never sees it.
    let ref_source = match child(prov, &p, "refSource")? {
        Some(rs) => Some(ref_source(rs, &join(&p, "refSource"))?),
        None => None,
    };
    let feature_flags = prov.get("featureFlags").filter(|v| !v.is_null()).cloned();
    Ok(Some(Provenance {
        ref_source,
        feature_flags,
    }))
}

fn ref_source(m: &Obj, path: &str) -> Result<RefSource, ParseError> {
    Ok(RefSource {
        uri: string(m, path, "uri")?,
        digest: string_map(m, path, "digest")?,
        entry_point: string(m, path, "entryPoint")?,
    })
}

fn reference(m: &Obj, path: &str, key: &str) -> Result<Option<Ref>, ParseError> {
    let p = join(path, key);
    let Some(r) = child(m, path, key)? else {
        return Ok(None);
    };
    let mut out = Ref {
        name: string(r, &p, "name")?,
        kind: string(r, &p, "kind")?,
        api_version: string(r, &p, "apiVersion")?,
        resolver: string(r, &p, "resolver")?,
        params: params(r, &p, "params")?,
    };
    // v1beta1 `bundle` is the `bundles` resolver in v1 (Tekton's conversion up to
    // Pipelines v0.6x; later versions drop the field).
    let bundle = string(r, &p, "bundle")?;
    if !bundle.is_empty() {
        let kind = if key == "pipelineRef" {
            "Pipeline"
        } else {
            "Task"
        };
        out.resolver = "bundles".into();
        out.params = vec![
            Param {
                name: "bundle".into(),
                value: ParamValue::String(bundle),
            },
            Param {
                name: "name".into(),
                value: ParamValue::String(std::mem::take(&mut out.name)),
            },
            Param {
                name: "kind".into(),
                value: ParamValue::String(kind.into()),
            },
        ];
    }
    Ok(Some(out))
}

fn step(m: &Obj, path: &str) -> Result<Step, ParseError> {
    let mut env = Vec::new();
    for (p, e) in objects(m, path, "env")? {
        let mut value_from = Vec::new();
        if let Some(vf) = child(e, &p, "valueFrom")? {
            let vp = join(&p, "valueFrom");
            for key in ["secretKeyRef", "configMapKeyRef"] {
                if let Some(r) = child(vf, &vp, key)? {
                    let rp = join(&vp, key);
                    value_from.push(string(r, &rp, "key")?);
                    value_from.push(string(r, &rp, "name")?);
                }
            }
        }
        env.push(EnvVar {
            name: string(e, &p, "name")?,
            value: string(e, &p, "value")?,
            value_from,
        });
    }
    Ok(Step {
        name: string(m, path, "name")?,
        image: string(m, path, "image")?,
        image_pull_policy: string(m, path, "imagePullPolicy")?,
        command: opt_strings(m, path, "command")?.unwrap_or_default(),
        args: opt_strings(m, path, "args")?,
        script: string(m, path, "script")?,
        working_dir: string(m, path, "workingDir")?,
        env,
    })
}

pub(crate) fn task_spec(m: &Obj, path: &str) -> Result<TaskSpec, ParseError> {
    Ok(TaskSpec {
        params: param_specs(m, path, "params")?,
        steps: objects(m, path, "steps")?
            .into_iter()
            .map(|(p, o)| step(o, &p))
            .collect::<Result<_, _>>()?,
        sidecars: objects(m, path, "sidecars")?
            .into_iter()
            .map(|(p, o)| step(o, &p))
            .collect::<Result<_, _>>()?,
        raw: Value::Object(m.clone()),
    })
}

fn time(m: &Obj, path: &str, key: &str) -> Result<Option<Timestamp>, ParseError> {
    match opt_string(m, path, key)? {
        None => Ok(None),
        Some(s) => Timestamp::parse(&s).map(Some).ok_or_else(|| {
            super::read::invalid(
                &join(path, key),
                &format!("expected an RFC 3339 time, found {s:?}"),
            )
        }),
    }
}

fn conditions(m: &Obj, path: &str) -> Result<Vec<Condition>, ParseError> {
    objects(m, path, "conditions")?
        .into_iter()
        .map(|(p, o)| {
            Ok(Condition {
                type_: string(o, &p, "type")?,
                status: string(o, &p, "status")?,
                reason: string(o, &p, "reason")?,
            })
        })
        .collect()
}

pub(crate) fn metadata(doc: &Obj) -> Result<ObjectMeta, ParseError> {
    let Some(m) = child(doc, "", "metadata")? else {
        return Ok(ObjectMeta::default());
    };
    Ok(ObjectMeta {
        name: string(m, "metadata", "name")?,
        namespace: opt_string(m, "metadata", "namespace")?.filter(|s| !s.is_empty()),
        uid: opt_string(m, "metadata", "uid")?.filter(|s| !s.is_empty()),
        labels: string_map(m, "metadata", "labels")?,
        annotations: string_map(m, "metadata", "annotations")?,
    })
}

fn empty() -> Obj {
    Map::new()
}

pub(crate) fn task_run_status(st: &Obj, path: &str) -> Result<TaskRunStatus, ParseError> {
    let steps = objects(st, path, "steps")?
        .into_iter()
        .map(|(p, o)| {
            Ok(StepState {
                name: string(o, &p, "name")?,
                container: string(o, &p, "container")?,
                image_id: string(o, &p, "imageID")?,
                results: results(o, &p, "results")?,
                provenance: provenance(o, &p)?,
            })
        })
        .collect::<Result<_, ParseError>>()?;
    let sidecars = objects(st, path, "sidecars")?
        .into_iter()
        .map(|(p, o)| {
            Ok(SidecarState {
                name: string(o, &p, "name")?,
                image_id: string(o, &p, "imageID")?,
            })
        })
        .collect::<Result<_, ParseError>>()?;
    let results = if st.contains_key("results") || !st.contains_key("taskResults") {
        results(st, path, "results")?
    } else {
        results(st, path, "taskResults")?
    };
    let task_spec = match child(st, path, "taskSpec")? {
        Some(ts) => Some(task_spec(ts, &join(path, "taskSpec"))?),
        None => None,
    };
    Ok(TaskRunStatus {
        start_time: time(st, path, "startTime")?,
        completion_time: time(st, path, "completionTime")?,
        conditions: conditions(st, path)?,
        steps,
        sidecars,
        results,
        task_spec,
        provenance: provenance(st, path)?,
    })
}

pub(crate) fn task_run(doc: &Obj) -> Result<TaskRun, ParseError> {
    let metadata = metadata(doc)?;
    let e = empty();
    let sp = child(doc, "", "spec")?.unwrap_or(&e);
    let spec = TaskRunSpec {
        params: params(sp, "spec", "params")?,
        task_ref: reference(sp, "spec", "taskRef")?,
        service_account_name: string(sp, "spec", "serviceAccountName")?,
        raw: Value::Object(sp.clone()),
    };
    let st = child(doc, "", "status")?.unwrap_or(&e);
    Ok(TaskRun {
        api_version: opt_string(doc, "", "apiVersion")?,
        metadata,
        spec,
        status: task_run_status(st, "status")?,
        raw: Value::Object(doc.clone()),
    })
}

fn pipeline_task(m: &Obj, path: &str) -> Result<PipelineTask, ParseError> {
    let mut matrix_params = Vec::new();
    if let Some(mx) = child(m, path, "matrix")? {
        let mp = join(path, "matrix");
        matrix_params.extend(params(mx, &mp, "params")?);
        for (ip, inc) in objects(mx, &mp, "include")? {
            matrix_params.extend(params(inc, &ip, "params")?);
        }
    }
    let when = objects(m, path, "when")?
        .into_iter()
        .map(|(p, o)| {
            Ok(WhenExpression {
                input: string(o, &p, "input")?,
                values: opt_strings(o, &p, "values")?.unwrap_or_default(),
                cel: string(o, &p, "cel")?,
            })
        })
        .collect::<Result<_, ParseError>>()?;
    let task_spec = match child(m, path, "taskSpec")? {
        Some(ts) => Some(task_spec(ts, &join(path, "taskSpec"))?),
        None => None,
    };
    Ok(PipelineTask {
        name: string(m, path, "name")?,
        task_ref: reference(m, path, "taskRef")?,
        run_after: opt_strings(m, path, "runAfter")?.unwrap_or_default(),
        params: params(m, path, "params")?,
        matrix_params,
        when,
        task_spec,
    })
}

pub(crate) fn pipeline_run(doc: &Obj) -> Result<PipelineRun, ParseError> {
    let metadata = metadata(doc)?;
    let e = empty();
    let sp = child(doc, "", "spec")?.unwrap_or(&e);
    let mut service_account_name = match child(sp, "spec", "taskRunTemplate")? {
        Some(t) => string(t, "spec.taskRunTemplate", "serviceAccountName")?,
        None => String::new(),
    };
    if service_account_name.is_empty() {
        service_account_name = string(sp, "spec", "serviceAccountName")?;
    }
    let spec = PipelineRunSpec {
        params: params(sp, "spec", "params")?,
        pipeline_ref: reference(sp, "spec", "pipelineRef")?,
        service_account_name,
        raw: Value::Object(sp.clone()),
    };
    let st = child(doc, "", "status")?.unwrap_or(&e);
    let results = if st.contains_key("results") || !st.contains_key("pipelineResults") {
        results(st, "status", "results")?
    } else {
        results(st, "status", "pipelineResults")?
    };
    let pipeline_spec = match child(st, "status", "pipelineSpec")? {
        Some(ps) => {
            let p = "status.pipelineSpec";
            Some(PipelineSpec {
                params: param_specs(ps, p, "params")?,
                tasks: objects(ps, p, "tasks")?
                    .into_iter()
                    .map(|(tp, o)| pipeline_task(o, &tp))
                    .collect::<Result<_, _>>()?,
                finally: objects(ps, p, "finally")?
                    .into_iter()
                    .map(|(tp, o)| pipeline_task(o, &tp))
                    .collect::<Result<_, _>>()?,
            })
        }
        None => None,
    };
    let child_references = objects(st, "status", "childReferences")?
        .into_iter()
        .map(|(p, o)| {
            Ok(ChildReference {
                kind: string(o, &p, "kind")?,
                name: string(o, &p, "name")?,
                pipeline_task_name: string(o, &p, "pipelineTaskName")?,
            })
        })
        .collect::<Result<_, ParseError>>()?;
    let mut embedded_task_runs = Vec::new();
    if let Some(trs) = child(st, "status", "taskRuns")? {
        for (name, v) in trs {
            let p = join("status.taskRuns", name);
            let Value::Object(entry) = v else {
                return Err(invalid_found(&p, "expected object", v));
            };
            let mut labels = BTreeMap::new();
            labels.insert(
                PIPELINE_TASK_LABEL.to_owned(),
                string(entry, &p, "pipelineTaskName")?,
            );
            labels.insert(PIPELINE_RUN_LABEL.to_owned(), metadata.name.clone());
            let status = match child(entry, &p, "status")? {
                Some(s) => task_run_status(s, &join(&p, "status"))?,
                None => TaskRunStatus::default(),
            };
            embedded_task_runs.push(TaskRun {
                api_version: opt_string(doc, "", "apiVersion")?,
                metadata: ObjectMeta {
                    name: name.clone(),
                    namespace: metadata.namespace.clone(),
                    uid: None,
                    labels,
                    annotations: BTreeMap::new(),
                },
                spec: TaskRunSpec::default(),
                status,
                raw: v.clone(),
            });
        }
    }
    Ok(PipelineRun {
        api_version: opt_string(doc, "", "apiVersion")?,
        metadata,
        spec,
        status: PipelineRunStatus {
            start_time: time(st, "status", "startTime")?,
            completion_time: time(st, "status", "completionTime")?,
            conditions: conditions(st, "status")?,
            results,
            pipeline_spec,
            provenance: provenance(st, "status")?,
            child_references,
            embedded_task_runs,
        },
        raw: Value::Object(doc.clone()),
    })
}
