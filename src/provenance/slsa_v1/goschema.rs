//! Re-encodes Tekton objects the way Chains' Go code sees them.
//!
//! Chains decodes a run into Tekton's typed Go structs and re-encodes parts of it with
//! `encoding/json` (the `runSpec` external parameter, the feature flags, whole TaskRuns
//! in the `slsa-tekton` build type). That round trip drops unknown fields, adds zero
//! values of fields without `omitempty`, drops empty `omitempty` fields, matches keys
//! case-insensitively, and rewrites durations and parameter values. This module does
//! the same from a small declarative schema of the Tekton v1 types (Tekton Pipelines
//! v1.15, the version Chains v0.29.2 builds against). Kubernetes core types nested in
//! Tekton types (env, volumes, security contexts, pod templates, ...) are kept as given.

use super::gojson::{ParamValue, format_go_duration, parse_go_duration, write_go_string, write_go_value};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// A decoded Go value, ready to be re-encoded (struct fields keep declaration order).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum GoVal {
    /// `null` (nil pointer, slice or map; or a nil `RawExtension`).
    Null,
    /// `bool`.
    Bool(bool),
    /// Any Go integer.
    Int(i64),
    /// `string` (and durations, already formatted).
    Str(String),
    /// A value kept as given (Kubernetes types not modelled here).
    Raw(Value),
    /// A slice.
    List(Vec<GoVal>),
    /// A `map[string]T` (Go encodes keys sorted).
    Map(BTreeMap<String, GoVal>),
    /// A struct: the fields that are encoded, in declaration order.
    Struct(Vec<(&'static str, GoVal)>),
}

impl GoVal {
    /// The encoded value as a JSON tree.
    pub(crate) fn to_value(&self) -> Value {
        match self {
            Self::Null => Value::Null,
            Self::Bool(b) => Value::Bool(*b),
            Self::Int(i) => Value::from(*i),
            Self::Str(s) => Value::String(s.clone()),
            Self::Raw(v) => v.clone(),
            Self::List(items) => Value::Array(items.iter().map(Self::to_value).collect()),
            Self::Map(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), v.to_value())).collect()),
            Self::Struct(fields) => Value::Object(
                fields
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), v.to_value()))
                    .collect::<Map<String, Value>>(),
            ),
        }
    }

    /// The bytes Go's `json.Marshal` writes for this value.
    pub(crate) fn to_go_json(&self) -> String {
        let mut out = String::new();
        self.write(&mut out);
        out
    }

    fn write(&self, out: &mut String) {
        match self {
            Self::Null => out.push_str("null"),
            Self::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Self::Int(i) => out.push_str(&i.to_string()),
            Self::Str(s) => write_go_string(out, s),
            Self::Raw(v) => write_go_value(out, v),
            Self::List(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    item.write(out);
                }
                out.push(']');
            }
            Self::Map(m) => {
                out.push('{');
                for (i, (k, v)) in m.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write_go_string(out, k);
                    out.push(':');
                    v.write(out);
                }
                out.push('}');
            }
            Self::Struct(fields) => {
                out.push('{');
                for (i, (k, v)) in fields.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write_go_string(out, k);
                    out.push(':');
                    v.write(out);
                }
                out.push('}');
            }
        }
    }
}

/// A Go type, as far as JSON encoding is concerned.
#[derive(Debug)]
pub(crate) enum Ty {
    /// `string` or a string-kinded type.
    Str,
    /// `bool`.
    Bool,
    /// Any integer type.
    Int,
    /// `metav1.Duration`.
    Duration,
    /// `metav1.Time` (RFC 3339, seconds precision; zero encodes as `null`).
    Time,
    /// Tekton `ParamValue` / `ResultValue` (not a pointer).
    Param,
    /// A Kubernetes type not modelled: kept as given; `null`/`[]` count as empty.
    Raw,
    /// A Kubernetes struct value not modelled: kept as given, `{}` when absent.
    RawStruct,
    /// `runtime.RawExtension`: kept as given, `null` when absent.
    RawExt,
    /// `*T`.
    Ptr(&'static Ty),
    /// `T` itself (a named struct used by value).
    Is(&'static Ty),
    /// `[]T`.
    Slice(&'static Ty),
    /// `map[string]T`.
    Map(&'static Ty),
    /// A struct with its JSON fields.
    Struct(&'static [Field]),
}

/// One struct field.
#[derive(Debug)]
pub(crate) struct Field {
    name: &'static str,
    ty: Ty,
    omitempty: bool,
    /// An embedded struct whose fields are encoded inline.
    inline: bool,
}

const fn f(name: &'static str, ty: Ty) -> Field {
    Field { name, ty, omitempty: false, inline: false }
}
const fn o(name: &'static str, ty: Ty) -> Field {
    Field { name, ty, omitempty: true, inline: false }
}
const fn inline(ty: Ty) -> Field {
    Field { name: "", ty, omitempty: true, inline: true }
}

/// Why a value cannot be encoded (Go's encoder would fail too).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EncodeError(pub(crate) String);

/// Decodes `input` as Go type `ty` and returns what `json.Marshal` would write.
///
/// # Errors
///
/// When Go's encoder would fail: a `ParamValue` without a value.
pub(crate) fn normalize(input: Option<&Value>, ty: &Ty) -> Result<GoVal, EncodeError> {
    conv(input, ty).map(|(v, _)| v)
}

fn conv(input: Option<&Value>, ty: &Ty) -> Result<(GoVal, bool), EncodeError> {
    let input = input.filter(|v| !v.is_null());
    Ok(match ty {
        Ty::Str => {
            let s = input.and_then(Value::as_str).unwrap_or_default();
            (GoVal::Str(s.to_owned()), s.is_empty())
        }
        Ty::Bool => {
            let b = input.and_then(Value::as_bool).unwrap_or(false);
            (GoVal::Bool(b), !b)
        }
        Ty::Int => {
            let i = input.and_then(Value::as_i64).unwrap_or(0);
            (GoVal::Int(i), i == 0)
        }
        Ty::Duration => {
            let s = input.and_then(Value::as_str).unwrap_or_default();
            let text = parse_go_duration(s).map_or_else(|| s.to_owned(), format_go_duration);
            (GoVal::Str(text), false)
        }
        Ty::Time => match input.and_then(Value::as_str) {
            Some(s) => match super::gojson::Timestamp::parse_rfc3339(s) {
                Some(t) => {
                    let text = super::gojson::Timestamp { secs: t.secs, nanos: 0 }.to_protojson();
                    (GoVal::Str(text), false)
                }
                None => (GoVal::Str(s.to_owned()), false),
            },
            None => (GoVal::Null, false),
        },
        Ty::Param => match input {
            Some(v) => (GoVal::Raw(ParamValue::from_json(v).to_value()), false),
            None => {
                return Err(EncodeError("impossible ParamValues.Type: \"\"".to_owned()));
            }
        },
        Ty::Raw => match input {
            None => (GoVal::Null, true),
            Some(v) => {
                let empty = v.as_array().is_some_and(Vec::is_empty);
                (GoVal::Raw(v.clone()), empty)
            }
        },
        Ty::RawStruct => (GoVal::Raw(input.cloned().unwrap_or_else(|| Value::Object(Map::new()))), false),
        Ty::RawExt => (input.map_or(GoVal::Null, |v| GoVal::Raw(v.clone())), false),
        Ty::Is(inner) => conv(input, inner)?,
        Ty::Ptr(inner) => match input {
            None => (GoVal::Null, true),
            Some(v) => (conv(Some(v), inner)?.0, false),
        },
        Ty::Slice(inner) => match input.and_then(Value::as_array) {
            None => (GoVal::Null, true),
            Some(items) => {
                let list = items
                    .iter()
                    .map(|i| conv(Some(i), inner).map(|(v, _)| v))
                    .collect::<Result<Vec<_>, _>>()?;
                let empty = list.is_empty();
                (GoVal::List(list), empty)
            }
        },
        Ty::Map(inner) => match input.and_then(Value::as_object) {
            None => (GoVal::Null, true),
            Some(m) => {
                let map = m
                    .iter()
                    .map(|(k, i)| conv(Some(i), inner).map(|(v, _)| (k.clone(), v)))
                    .collect::<Result<BTreeMap<_, _>, _>>()?;
                let empty = map.is_empty();
                (GoVal::Map(map), empty)
            }
        },
        Ty::Struct(fields) => {
            let obj = input.and_then(Value::as_object);
            let mut out = Vec::new();
            encode_fields(obj, fields, &mut out)?;
            (GoVal::Struct(out), false)
        }
    })
}

fn encode_fields(
    obj: Option<&Map<String, Value>>,
    fields: &'static [Field],
    out: &mut Vec<(&'static str, GoVal)>,
) -> Result<(), EncodeError> {
    for field in fields {
        if field.inline {
            if let Ty::Struct(inner) = &field.ty {
                encode_fields(obj, inner, out)?;
            }
            continue;
        }
        let value = obj.and_then(|m| lookup(m, field.name));
        let (v, empty) = conv(value, &field.ty)?;
        if field.omitempty && empty {
            continue;
        }
        out.push((field.name, v));
    }
    Ok(())
}

/// Go's `encoding/json` key matching: exact name first, then case-insensitive.
fn lookup<'a>(m: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    m.get(name)
        .or_else(|| m.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v))
}

// ---- Tekton Pipelines v1 types (v1.15) ----

static PARAM: Ty = Ty::Struct(&[f("name", Ty::Str), f("value", Ty::Param)]);

static PROPERTY_SPEC: Ty = Ty::Struct(&[o("type", Ty::Str)]);

static PARAM_SPEC: Ty = Ty::Struct(&[
    f("name", Ty::Str),
    o("type", Ty::Str),
    o("description", Ty::Str),
    o("properties", Ty::Map(&PROPERTY_SPEC)),
    o("default", Ty::Ptr(&Ty::Param)),
    o("enum", Ty::Slice(&Ty::Str)),
]);

static TASK_REF: Ty = Ty::Struct(&[
    o("name", Ty::Str),
    o("kind", Ty::Str),
    o("apiVersion", Ty::Str),
    inline(Ty::Struct(&[o("resolver", Ty::Str), o("params", Ty::Slice(&PARAM))])),
]);

static PIPELINE_REF: Ty = Ty::Struct(&[
    o("name", Ty::Str),
    o("apiVersion", Ty::Str),
    inline(Ty::Struct(&[o("resolver", Ty::Str), o("params", Ty::Slice(&PARAM))])),
]);

static STEP_REF: Ty = Ty::Struct(&[
    o("name", Ty::Str),
    inline(Ty::Struct(&[o("resolver", Ty::Str), o("params", Ty::Slice(&PARAM))])),
]);

static WHEN_EXPRESSION: Ty = Ty::Struct(&[
    o("input", Ty::Str),
    o("operator", Ty::Str),
    o("values", Ty::Slice(&Ty::Str)),
    o("cel", Ty::Str),
]);

static WORKSPACE_USAGE: Ty = Ty::Struct(&[f("name", Ty::Str), f("mountPath", Ty::Str)]);
static STEP_OUTPUT_CONFIG: Ty = Ty::Struct(&[o("path", Ty::Str)]);

static STEP_RESULT: Ty = Ty::Struct(&[
    f("name", Ty::Str),
    o("type", Ty::Str),
    o("properties", Ty::Map(&PROPERTY_SPEC)),
    o("description", Ty::Str),
]);

static STEP: Ty = Ty::Struct(&[
    f("name", Ty::Str),
    o("displayName", Ty::Str),
    o("image", Ty::Str),
    o("command", Ty::Slice(&Ty::Str)),
    o("args", Ty::Slice(&Ty::Str)),
    o("workingDir", Ty::Str),
    o("envFrom", Ty::Raw),
    o("env", Ty::Raw),
    o("computeResources", Ty::RawStruct),
    o("volumeMounts", Ty::Raw),
    o("volumeDevices", Ty::Raw),
    o("imagePullPolicy", Ty::Str),
    o("securityContext", Ty::Raw),
    o("script", Ty::Str),
    o("timeout", Ty::Ptr(&Ty::Duration)),
    o("workspaces", Ty::Slice(&WORKSPACE_USAGE)),
    o("onError", Ty::Str),
    o("stdoutConfig", Ty::Ptr(&STEP_OUTPUT_CONFIG)),
    o("stderrConfig", Ty::Ptr(&STEP_OUTPUT_CONFIG)),
    o("ref", Ty::Ptr(&STEP_REF)),
    o("params", Ty::Slice(&PARAM)),
    o("results", Ty::Slice(&STEP_RESULT)),
    o("when", Ty::Slice(&WHEN_EXPRESSION)),
]);

static STEP_TEMPLATE: Ty = Ty::Struct(&[
    o("image", Ty::Str),
    o("command", Ty::Slice(&Ty::Str)),
    o("args", Ty::Slice(&Ty::Str)),
    o("workingDir", Ty::Str),
    o("envFrom", Ty::Raw),
    o("env", Ty::Raw),
    o("computeResources", Ty::RawStruct),
    o("volumeMounts", Ty::Raw),
    o("volumeDevices", Ty::Raw),
    o("imagePullPolicy", Ty::Str),
    o("securityContext", Ty::Raw),
]);

static SIDECAR: Ty = Ty::Struct(&[
    f("name", Ty::Str),
    o("image", Ty::Str),
    o("command", Ty::Slice(&Ty::Str)),
    o("args", Ty::Slice(&Ty::Str)),
    o("workingDir", Ty::Str),
    o("ports", Ty::Raw),
    o("envFrom", Ty::Raw),
    o("env", Ty::Raw),
    o("computeResources", Ty::RawStruct),
    o("volumeMounts", Ty::Raw),
    o("volumeDevices", Ty::Raw),
    o("livenessProbe", Ty::Raw),
    o("readinessProbe", Ty::Raw),
    o("startupProbe", Ty::Raw),
    o("lifecycle", Ty::Raw),
    o("terminationMessagePath", Ty::Str),
    o("terminationMessagePolicy", Ty::Str),
    o("imagePullPolicy", Ty::Str),
    o("securityContext", Ty::Raw),
    o("stdin", Ty::Bool),
    o("stdinOnce", Ty::Bool),
    o("tty", Ty::Bool),
    o("script", Ty::Str),
    o("workspaces", Ty::Slice(&WORKSPACE_USAGE)),
    o("restartPolicy", Ty::Raw),
]);

static WORKSPACE_DECLARATION: Ty = Ty::Struct(&[
    f("name", Ty::Str),
    o("description", Ty::Str),
    o("mountPath", Ty::Str),
    o("readOnly", Ty::Bool),
    o("optional", Ty::Bool),
]);

static TASK_RESULT: Ty = Ty::Struct(&[
    f("name", Ty::Str),
    o("type", Ty::Str),
    o("properties", Ty::Map(&PROPERTY_SPEC)),
    o("description", Ty::Str),
    o("value", Ty::Ptr(&Ty::Param)),
]);

static TASK_SPEC_FIELDS: &[Field] = &[
    o("params", Ty::Slice(&PARAM_SPEC)),
    o("displayName", Ty::Str),
    o("description", Ty::Str),
    o("steps", Ty::Slice(&STEP)),
    o("volumes", Ty::Raw),
    o("stepTemplate", Ty::Ptr(&STEP_TEMPLATE)),
    o("sidecars", Ty::Slice(&SIDECAR)),
    o("workspaces", Ty::Slice(&WORKSPACE_DECLARATION)),
    o("results", Ty::Slice(&TASK_RESULT)),
];

/// Tekton `TaskSpec`.
pub(crate) static TASK_SPEC: Ty = Ty::Struct(TASK_SPEC_FIELDS);

static PIPELINE_TASK_METADATA: Ty = Ty::Struct(&[o("labels", Ty::Map(&Ty::Str)), o("annotations", Ty::Map(&Ty::Str))]);

static EMBEDDED_TASK: Ty = Ty::Struct(&[
    inline(Ty::Struct(&[o("kind", Ty::Str), o("apiVersion", Ty::Str)])),
    o("spec", Ty::RawExt),
    o("metadata", Ty::Struct(&[o("labels", Ty::Map(&Ty::Str)), o("annotations", Ty::Map(&Ty::Str))])),
    inline(Ty::Struct(TASK_SPEC_FIELDS)),
]);

static INCLUDE_PARAMS: Ty = Ty::Struct(&[o("name", Ty::Str), o("params", Ty::Slice(&PARAM))]);
static MATRIX: Ty = Ty::Struct(&[o("params", Ty::Slice(&PARAM)), o("include", Ty::Slice(&INCLUDE_PARAMS))]);

static WORKSPACE_PIPELINE_TASK_BINDING: Ty = Ty::Struct(&[
    f("name", Ty::Str),
    o("workspace", Ty::Str),
    o("subPath", Ty::Str),
]);

static PIPELINE_TASK: Ty = Ty::Struct(&[
    o("name", Ty::Str),
    o("displayName", Ty::Str),
    o("description", Ty::Str),
    o("taskRef", Ty::Ptr(&TASK_REF)),
    o("taskSpec", Ty::Ptr(&EMBEDDED_TASK)),
    o("when", Ty::Slice(&WHEN_EXPRESSION)),
    o("retries", Ty::Int),
    o("runAfter", Ty::Slice(&Ty::Str)),
    o("params", Ty::Slice(&PARAM)),
    o("matrix", Ty::Ptr(&MATRIX)),
    o("workspaces", Ty::Slice(&WORKSPACE_PIPELINE_TASK_BINDING)),
    o("timeout", Ty::Ptr(&Ty::Duration)),
    o("pipelineRef", Ty::Ptr(&PIPELINE_REF)),
    o("pipelineSpec", Ty::Ptr(&PIPELINE_SPEC)),
    o("onError", Ty::Str),
]);

static PIPELINE_WORKSPACE_DECLARATION: Ty = Ty::Struct(&[
    f("name", Ty::Str),
    o("description", Ty::Str),
    o("optional", Ty::Bool),
]);

static PIPELINE_RESULT: Ty = Ty::Struct(&[
    f("name", Ty::Str),
    o("type", Ty::Str),
    f("description", Ty::Str),
    f("value", Ty::Param),
]);

/// Tekton `PipelineSpec`.
pub(crate) static PIPELINE_SPEC: Ty = Ty::Struct(&[
    o("displayName", Ty::Str),
    o("description", Ty::Str),
    o("tasks", Ty::Slice(&PIPELINE_TASK)),
    o("params", Ty::Slice(&PARAM_SPEC)),
    o("workspaces", Ty::Slice(&PIPELINE_WORKSPACE_DECLARATION)),
    o("results", Ty::Slice(&PIPELINE_RESULT)),
    o("finally", Ty::Slice(&PIPELINE_TASK)),
]);

static WORKSPACE_BINDING: Ty = Ty::Struct(&[
    f("name", Ty::Str),
    o("subPath", Ty::Str),
    o("volumeClaimTemplate", Ty::Raw),
    o("persistentVolumeClaim", Ty::Raw),
    o("emptyDir", Ty::Raw),
    o("configMap", Ty::Raw),
    o("secret", Ty::Raw),
    o("projected", Ty::Raw),
    o("csi", Ty::Raw),
]);

static TASK_BREAKPOINTS: Ty = Ty::Struct(&[o("onFailure", Ty::Str), o("beforeSteps", Ty::Slice(&Ty::Str))]);
static TASK_RUN_DEBUG: Ty = Ty::Struct(&[o("breakpoints", Ty::Ptr(&TASK_BREAKPOINTS))]);

static TASK_RUN_STEP_SPEC: Ty = Ty::Struct(&[f("name", Ty::Str), f("computeResources", Ty::RawStruct)]);

/// Tekton `TaskRunSpec`.
pub(crate) static TASK_RUN_SPEC: Ty = Ty::Struct(&[
    o("debug", Ty::Ptr(&TASK_RUN_DEBUG)),
    o("params", Ty::Slice(&PARAM)),
    f("serviceAccountName", Ty::Str),
    o("taskRef", Ty::Ptr(&TASK_REF)),
    o("taskSpec", Ty::Ptr(&TASK_SPEC)),
    o("status", Ty::Str),
    o("statusMessage", Ty::Str),
    o("retries", Ty::Int),
    o("timeout", Ty::Ptr(&Ty::Duration)),
    o("podTemplate", Ty::Raw),
    o("workspaces", Ty::Slice(&WORKSPACE_BINDING)),
    o("stepSpecs", Ty::Slice(&TASK_RUN_STEP_SPEC)),
    o("sidecarSpecs", Ty::Slice(&TASK_RUN_STEP_SPEC)),
    o("computeResources", Ty::Raw),
    o("managedBy", Ty::Ptr(&Ty::Str)),
]);

static TIMEOUT_FIELDS: Ty = Ty::Struct(&[
    o("pipeline", Ty::Ptr(&Ty::Duration)),
    o("tasks", Ty::Ptr(&Ty::Duration)),
    o("finally", Ty::Ptr(&Ty::Duration)),
]);

static PIPELINE_TASK_RUN_SPEC: Ty = Ty::Struct(&[
    o("pipelineTaskName", Ty::Str),
    o("serviceAccountName", Ty::Str),
    o("podTemplate", Ty::Raw),
    o("stepSpecs", Ty::Slice(&TASK_RUN_STEP_SPEC)),
    o("sidecarSpecs", Ty::Slice(&TASK_RUN_STEP_SPEC)),
    o("metadata", Ty::Ptr(&PIPELINE_TASK_METADATA)),
    o("computeResources", Ty::Raw),
    o("timeout", Ty::Ptr(&Ty::Duration)),
]);

/// Tekton `PipelineRunSpec`.
pub(crate) static PIPELINE_RUN_SPEC: Ty = Ty::Struct(&[
    o("pipelineRef", Ty::Ptr(&PIPELINE_REF)),
    o("pipelineSpec", Ty::Ptr(&PIPELINE_SPEC)),
    o("params", Ty::Slice(&PARAM)),
    o("status", Ty::Str),
    o("timeouts", Ty::Ptr(&TIMEOUT_FIELDS)),
    o(
        "taskRunTemplate",
        Ty::Struct(&[o("podTemplate", Ty::Raw), o("serviceAccountName", Ty::Str)]),
    ),
    o("workspaces", Ty::Slice(&WORKSPACE_BINDING)),
    o("taskRunSpecs", Ty::Slice(&PIPELINE_TASK_RUN_SPEC)),
    o("managedBy", Ty::Ptr(&Ty::Str)),
]);

/// Tekton `config.FeatureFlags` (as recorded in `status.provenance.featureFlags`).
pub(crate) static FEATURE_FLAGS: Ty = Ty::Struct(&[
    o("disableCredsInit", Ty::Bool),
    o("runningInEnvWithInjectedSidecars", Ty::Bool),
    o("requireGitSSHSecretKnownHosts", Ty::Bool),
    o("enableAPIFields", Ty::Str),
    o("sendCloudEventsForRuns", Ty::Bool),
    o("awaitSidecarReadiness", Ty::Bool),
    o("enforceNonfalsifiability", Ty::Str),
    o("enableKeepPodOnCancel", Ty::Bool),
    o("verificationNoMatchPolicy", Ty::Str),
    o("enableProvenanceInStatus", Ty::Bool),
    o("resultExtractionMethod", Ty::Str),
    o("maxResultSize", Ty::Int),
    o("setSecurityContext", Ty::Bool),
    o("setSecurityContextReadOnlyRootFilesystem", Ty::Bool),
    o("coschedule", Ty::Str),
    o("enableCELInWhenExpression", Ty::Bool),
    o("enableStepActions", Ty::Bool),
    o("enableParamEnum", Ty::Bool),
    o("enableArtifacts", Ty::Bool),
    o("disableInlineSpec", Ty::Str),
    o("enableConciseResolverSyntax", Ty::Bool),
    o("enableKubernetesSidecar", Ty::Bool),
    o("enableWaitExponentialBackoff", Ty::Bool),
    o("enableTerminationMessageCompression", Ty::Bool),
    o("enableTektonOCIBundles", Ty::Ptr(&Ty::Bool)),
]);

static REF_SOURCE: Ty = Ty::Struct(&[
    o("uri", Ty::Str),
    o("digest", Ty::Map(&Ty::Str)),
    o("entryPoint", Ty::Str),
]);

static PROVENANCE: Ty = Ty::Struct(&[
    o("refSource", Ty::Ptr(&REF_SOURCE)),
    o("featureFlags", Ty::Ptr(&FEATURE_FLAGS)),
]);

static RUN_RESULT: Ty = Ty::Struct(&[f("name", Ty::Str), o("type", Ty::Str), f("value", Ty::Param)]);

static ARTIFACT_VALUE: Ty = Ty::Struct(&[o("digest", Ty::Map(&Ty::Str)), o("uri", Ty::Str)]);
static ARTIFACT: Ty = Ty::Struct(&[
    o("name", Ty::Str),
    o("values", Ty::Slice(&ARTIFACT_VALUE)),
    o("buildOutput", Ty::Bool),
]);
static ARTIFACTS: Ty = Ty::Struct(&[o("inputs", Ty::Slice(&ARTIFACT)), o("outputs", Ty::Slice(&ARTIFACT))]);

static CONTAINER_STATE_FIELDS: &[Field] = &[
    o("waiting", Ty::Ptr(&Ty::Struct(&[o("reason", Ty::Str), o("message", Ty::Str)]))),
    o("running", Ty::Ptr(&Ty::Struct(&[o("startedAt", Ty::Time)]))),
    o(
        "terminated",
        Ty::Ptr(&Ty::Struct(&[
            f("exitCode", Ty::Int),
            o("signal", Ty::Int),
            o("reason", Ty::Str),
            o("message", Ty::Str),
            o("startedAt", Ty::Time),
            o("finishedAt", Ty::Time),
            o("containerID", Ty::Str),
        ])),
    ),
];

static STEP_STATE: Ty = Ty::Struct(&[
    inline(Ty::Struct(CONTAINER_STATE_FIELDS)),
    o("name", Ty::Str),
    o("container", Ty::Str),
    o("imageID", Ty::Str),
    o("results", Ty::Slice(&RUN_RESULT)),
    o("provenance", Ty::Ptr(&PROVENANCE)),
    o("terminationReason", Ty::Str),
    o("inputs", Ty::Slice(&ARTIFACT)),
    o("outputs", Ty::Slice(&ARTIFACT)),
]);

static SIDECAR_STATE: Ty = Ty::Struct(&[
    inline(Ty::Struct(CONTAINER_STATE_FIELDS)),
    o("name", Ty::Str),
    o("container", Ty::Str),
    o("imageID", Ty::Str),
]);

static CONDITION: Ty = Ty::Struct(&[
    f("type", Ty::Str),
    f("status", Ty::Str),
    o("severity", Ty::Str),
    o("lastTransitionTime", Ty::Time),
    o("reason", Ty::Str),
    o("message", Ty::Str),
]);

static TASK_RUN_STATUS_FIELDS: &[Field] = &[
    o("observedGeneration", Ty::Int),
    o("conditions", Ty::Slice(&CONDITION)),
    o("annotations", Ty::Map(&Ty::Str)),
    f("podName", Ty::Str),
    o("startTime", Ty::Ptr(&Ty::Time)),
    o("completionTime", Ty::Ptr(&Ty::Time)),
    o("steps", Ty::Slice(&STEP_STATE)),
    o("retriesStatus", Ty::Slice(&TASK_RUN_STATUS)),
    o("results", Ty::Slice(&RUN_RESULT)),
    o("artifacts", Ty::Ptr(&ARTIFACTS)),
    o("sidecars", Ty::Slice(&SIDECAR_STATE)),
    o("taskSpec", Ty::Ptr(&TASK_SPEC)),
    o("provenance", Ty::Ptr(&PROVENANCE)),
    o("spanContext", Ty::Map(&Ty::Str)),
];

static TASK_RUN_STATUS: Ty = Ty::Struct(TASK_RUN_STATUS_FIELDS);

static OBJECT_META: Ty = Ty::Struct(&[
    o("name", Ty::Str),
    o("generateName", Ty::Str),
    o("namespace", Ty::Str),
    o("selfLink", Ty::Str),
    o("uid", Ty::Str),
    o("resourceVersion", Ty::Str),
    o("generation", Ty::Int),
    o("creationTimestamp", Ty::Time),
    o("deletionTimestamp", Ty::Ptr(&Ty::Time)),
    o("deletionGracePeriodSeconds", Ty::Ptr(&Ty::Int)),
    o("labels", Ty::Map(&Ty::Str)),
    o("annotations", Ty::Map(&Ty::Str)),
    o("ownerReferences", Ty::Raw),
    o("finalizers", Ty::Slice(&Ty::Str)),
    o("managedFields", Ty::Raw),
]);

/// Tekton `TaskRun` (the whole object).
pub(crate) static TASK_RUN: Ty = Ty::Struct(&[
    inline(Ty::Struct(&[o("kind", Ty::Str), o("apiVersion", Ty::Str)])),
    o("metadata", Ty::Is(&OBJECT_META)),
    o("spec", Ty::Is(&TASK_RUN_SPEC)),
    o("status", Ty::Struct(TASK_RUN_STATUS_FIELDS)),
]);

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn norm(v: &Value, ty: &Ty) -> Value {
        normalize(Some(v), ty).map(|g| g.to_value()).unwrap_or(Value::Null)
    }

    #[test]
    fn task_run_spec_like_go() {
        let spec = json!({
            "params": [],
            "taskRef": {"name": "t", "kind": "Task", "bogus": 1},
            "timeout": "1h",
        });
        assert_eq!(
            norm(&spec, &TASK_RUN_SPEC),
            json!({"serviceAccountName": "", "taskRef": {"name": "t", "kind": "Task"}, "timeout": "1h0m0s"})
        );
    }

    #[test]
    fn pipeline_run_spec_keeps_empty_task_run_template() {
        let spec = json!({"pipelineRef": {"resolver": "git", "params": [{"name": "url", "value": "u"}]}});
        assert_eq!(
            norm(&spec, &PIPELINE_RUN_SPEC),
            json!({"pipelineRef": {"resolver": "git", "params": [{"name": "url", "value": "u"}]}, "taskRunTemplate": {}})
        );
    }

    #[test]
    fn feature_flags_case_insensitive() {
        let flags = json!({"EnableAPIFields": "beta", "ResultExtractionMethod": "termination-message", "Unknown": true});
        let g = normalize(Some(&flags), &FEATURE_FLAGS).unwrap_or(GoVal::Null);
        assert_eq!(g.to_go_json(), r#"{"enableAPIFields":"beta","resultExtractionMethod":"termination-message"}"#);
    }

    #[test]
    fn param_without_value_fails_like_go() {
        let spec = json!({"params": [{"name": "x"}]});
        assert!(normalize(Some(&spec), &TASK_RUN_SPEC).is_err());
    }

    #[test]
    fn embedded_task_gets_go_zero_fields() {
        let spec = json!({"pipelineSpec": {"tasks": [{"name": "a", "taskSpec": {"steps": [{"image": "x"}]}}]}});
        assert_eq!(
            norm(&spec, &PIPELINE_RUN_SPEC)["pipelineSpec"]["tasks"][0]["taskSpec"],
            json!({"spec": null, "metadata": {}, "steps": [{"name": "", "image": "x", "computeResources": {}}]})
        );
    }
}
