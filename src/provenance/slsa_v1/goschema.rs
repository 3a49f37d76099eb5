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

use super::gojson::{
    ParamValue, format_go_duration, parse_go_duration, write_go_array, write_go_object,
    write_go_string, write_go_value,
};
use serde_json::{Map, Value};
use std::borrow::Cow;
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
    Struct(Vec<(Cow<'static, str>, GoVal)>),
}

impl GoVal {
    /// The encoded value as a JSON tree (the formatter moves it out with
    /// [`GoVal::into_value`]).
    #[cfg(test)]
    pub(crate) fn to_value(&self) -> Value {
        match self {
            Self::Null => Value::Null,
            Self::Bool(b) => Value::Bool(*b),
            Self::Int(i) => Value::from(*i),
            Self::Str(s) => Value::String(s.clone()),
            Self::Raw(v) => v.clone(),
            Self::List(items) => Value::Array(items.iter().map(Self::to_value).collect()),
            Self::Map(m) => {
                Value::Object(m.iter().map(|(k, v)| (k.clone(), v.to_value())).collect())
            }
            Self::Struct(fields) => Value::Object(
                fields
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_value()))
                    .collect::<Map<String, Value>>(),
            ),
        }
    }

    /// The encoded value as a JSON tree, moving its strings and kept values (no copy).
    pub(crate) fn into_value(self) -> Value {
        match self {
            Self::Null => Value::Null,
            Self::Bool(b) => Value::Bool(b),
            Self::Int(i) => Value::from(i),
            Self::Str(s) => Value::String(s),
            Self::Raw(v) => v,
            Self::List(items) => Value::Array(items.into_iter().map(Self::into_value).collect()),
            Self::Map(m) => {
                Value::Object(m.into_iter().map(|(k, v)| (k, v.into_value())).collect())
            }
            Self::Struct(fields) => Value::Object(
                fields
                    .into_iter()
                    .map(|(k, v)| (k.into_owned(), v.into_value()))
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
            Self::List(items) => write_go_array(out, items, |out, item| item.write(out)),
            Self::Map(m) => {
                write_go_object(out, m.iter().map(|(k, v)| (k.as_str(), v)), |out, v| {
                    v.write(out);
                });
            }
            Self::Struct(fields) => {
                write_go_object(out, fields.iter().map(|(k, v)| (&**k, v)), |out, v| {
                    v.write(out);
                });
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
    /// `metav1.Time` tagged `omitzero` (apimachinery >= 0.34 tags
    /// `ObjectMeta.CreationTimestamp` `omitempty,omitzero`): a zero time is left out.
    TimeOmitZero,
    /// `resource.Quantity` (canonical text; a zero quantity encodes as `"0"`).
    Quantity,
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
    /// A struct of which only some fields are modelled: those first, in declaration
    /// order, then any other keys as given (sorted). For unions such as `VolumeSource`
    /// where one member is set.
    Open(&'static [Field]),
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
    Field {
        name,
        ty,
        omitempty: false,
        inline: false,
    }
}
const fn o(name: &'static str, ty: Ty) -> Field {
    Field {
        name,
        ty,
        omitempty: true,
        inline: false,
    }
}
const fn inline(ty: Ty) -> Field {
    Field {
        name: "",
        ty,
        omitempty: true,
        inline: true,
    }
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
        Ty::TimeOmitZero => match conv(input, &Ty::Time)? {
            (GoVal::Null, _) => (GoVal::Null, true),
            (v, _) => (v, false),
        },
        Ty::Time => match input.and_then(Value::as_str) {
            Some(s) => match crate::tekton::Timestamp::parse(s) {
                Some(t) => (GoVal::Str(t.whole_seconds().to_protojson()), false),
                None => (GoVal::Str(s.to_owned()), false),
            },
            None => (GoVal::Null, false),
        },
        Ty::Quantity => {
            let text = match input {
                None => Some("0".to_owned()),
                Some(Value::String(s)) => super::gojson::canonical_quantity(s),
                Some(Value::Number(n)) => super::gojson::canonical_quantity(&n.to_string()),
                Some(_) => None,
            };
            match text {
                Some(t) => (GoVal::Str(t), false),
                // Kubernetes rejects it; keep what was written.
                None => (input.map_or(GoVal::Null, |v| GoVal::Raw(v.clone())), false),
            }
        }
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
        Ty::RawStruct => (
            GoVal::Raw(input.cloned().unwrap_or_else(|| Value::Object(Map::new()))),
            false,
        ),
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
        Ty::Open(fields) => {
            let obj = input.and_then(Value::as_object);
            let mut out = Vec::new();
            encode_fields(obj, fields, &mut out)?;
            let mut known = Vec::new();
            flat_names(fields, &mut known);
            for (k, v) in obj.into_iter().flatten() {
                if !v.is_null() && !known.iter().any(|n| n.eq_ignore_ascii_case(k)) {
                    out.push((Cow::Owned(k.clone()), GoVal::Raw(v.clone())));
                }
            }
            (GoVal::Struct(out), false)
        }
    })
}

fn flat_names(fields: &'static [Field], out: &mut Vec<&'static str>) {
    for field in fields {
        match (&field.ty, field.inline) {
            (Ty::Struct(inner), true) => flat_names(inner, out),
            _ => out.push(field.name),
        }
    }
}

fn encode_fields(
    obj: Option<&Map<String, Value>>,
    fields: &'static [Field],
    out: &mut Vec<(Cow<'static, str>, GoVal)>,
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
        out.push((Cow::Borrowed(field.name), v));
    }
    Ok(())
}

/// Go's `encoding/json` key matching: exact name first, then case-insensitive.
fn lookup<'a>(m: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    m.get(name).or_else(|| {
        m.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    })
}

// ---- Kubernetes core/meta types (k8s.io/api v0.35) nested in Tekton types ----

static LOCAL_OBJECT_REFERENCE: Ty = Ty::Struct(&[o("name", Ty::Str)]);

static KEY_SELECTOR: Ty = Ty::Struct(&[
    o("name", Ty::Str),
    f("key", Ty::Str),
    o("optional", Ty::Ptr(&Ty::Bool)),
]);

static ENV_VAR_SOURCE: Ty = Ty::Struct(&[
    o(
        "fieldRef",
        Ty::Ptr(&Ty::Struct(&[
            o("apiVersion", Ty::Str),
            f("fieldPath", Ty::Str),
        ])),
    ),
    o(
        "resourceFieldRef",
        Ty::Ptr(&Ty::Struct(&[
            o("containerName", Ty::Str),
            f("resource", Ty::Str),
            o("divisor", Ty::Quantity),
        ])),
    ),
    o("configMapKeyRef", Ty::Ptr(&KEY_SELECTOR)),
    o("secretKeyRef", Ty::Ptr(&KEY_SELECTOR)),
    o("fileKeyRef", Ty::Raw),
]);

static ENV_VAR: Ty = Ty::Struct(&[
    f("name", Ty::Str),
    o("value", Ty::Str),
    o("valueFrom", Ty::Ptr(&ENV_VAR_SOURCE)),
]);
static ENV_VARS: Ty = Ty::Slice(&ENV_VAR);

static ENV_FROM_SOURCE: Ty = Ty::Struct(&[
    o("prefix", Ty::Str),
    o(
        "configMapRef",
        Ty::Ptr(&Ty::Struct(&[
            o("name", Ty::Str),
            o("optional", Ty::Ptr(&Ty::Bool)),
        ])),
    ),
    o(
        "secretRef",
        Ty::Ptr(&Ty::Struct(&[
            o("name", Ty::Str),
            o("optional", Ty::Ptr(&Ty::Bool)),
        ])),
    ),
]);
static ENV_FROM: Ty = Ty::Slice(&ENV_FROM_SOURCE);

static VOLUME_MOUNT: Ty = Ty::Struct(&[
    f("name", Ty::Str),
    o("readOnly", Ty::Bool),
    o("recursiveReadOnly", Ty::Ptr(&Ty::Str)),
    f("mountPath", Ty::Str),
    o("subPath", Ty::Str),
    o("mountPropagation", Ty::Ptr(&Ty::Str)),
    o("subPathExpr", Ty::Str),
]);
static VOLUME_MOUNTS: Ty = Ty::Slice(&VOLUME_MOUNT);

static VOLUME_DEVICES: Ty = Ty::Slice(&Ty::Struct(&[f("name", Ty::Str), f("devicePath", Ty::Str)]));

/// `corev1.ResourceRequirements` (quantities kept as written).
static RESOURCE_REQUIREMENTS: Ty = Ty::Struct(&[
    o("limits", Ty::Map(&Ty::Quantity)),
    o("requests", Ty::Map(&Ty::Quantity)),
    o(
        "claims",
        Ty::Slice(&Ty::Struct(&[f("name", Ty::Str), o("request", Ty::Str)])),
    ),
]);

static SE_LINUX_OPTIONS: Ty = Ty::Struct(&[
    o("user", Ty::Str),
    o("role", Ty::Str),
    o("type", Ty::Str),
    o("level", Ty::Str),
]);

static WINDOWS_OPTIONS: Ty = Ty::Struct(&[
    o("gmsaCredentialSpecName", Ty::Ptr(&Ty::Str)),
    o("gmsaCredentialSpec", Ty::Ptr(&Ty::Str)),
    o("runAsUserName", Ty::Ptr(&Ty::Str)),
    o("hostProcess", Ty::Ptr(&Ty::Bool)),
]);

static PROFILE: Ty = Ty::Struct(&[f("type", Ty::Str), o("localhostProfile", Ty::Ptr(&Ty::Str))]);

static SECURITY_CONTEXT: Ty = Ty::Struct(&[
    o(
        "capabilities",
        Ty::Ptr(&Ty::Struct(&[
            o("add", Ty::Slice(&Ty::Str)),
            o("drop", Ty::Slice(&Ty::Str)),
        ])),
    ),
    o("privileged", Ty::Ptr(&Ty::Bool)),
    o("seLinuxOptions", Ty::Ptr(&SE_LINUX_OPTIONS)),
    o("windowsOptions", Ty::Ptr(&WINDOWS_OPTIONS)),
    o("runAsUser", Ty::Ptr(&Ty::Int)),
    o("runAsGroup", Ty::Ptr(&Ty::Int)),
    o("runAsNonRoot", Ty::Ptr(&Ty::Bool)),
    o("readOnlyRootFilesystem", Ty::Ptr(&Ty::Bool)),
    o("allowPrivilegeEscalation", Ty::Ptr(&Ty::Bool)),
    o("procMount", Ty::Ptr(&Ty::Str)),
    o("seccompProfile", Ty::Ptr(&PROFILE)),
    o("appArmorProfile", Ty::Ptr(&PROFILE)),
]);

static POD_SECURITY_CONTEXT: Ty = Ty::Struct(&[
    o("seLinuxOptions", Ty::Ptr(&SE_LINUX_OPTIONS)),
    o("windowsOptions", Ty::Ptr(&WINDOWS_OPTIONS)),
    o("runAsUser", Ty::Ptr(&Ty::Int)),
    o("runAsGroup", Ty::Ptr(&Ty::Int)),
    o("runAsNonRoot", Ty::Ptr(&Ty::Bool)),
    o("supplementalGroups", Ty::Slice(&Ty::Int)),
    o("supplementalGroupsPolicy", Ty::Ptr(&Ty::Str)),
    o("fsGroup", Ty::Ptr(&Ty::Int)),
    o(
        "sysctls",
        Ty::Slice(&Ty::Struct(&[f("name", Ty::Str), f("value", Ty::Str)])),
    ),
    o("fsGroupChangePolicy", Ty::Ptr(&Ty::Str)),
    o("seccompProfile", Ty::Ptr(&PROFILE)),
    o("appArmorProfile", Ty::Ptr(&PROFILE)),
    o("seLinuxChangePolicy", Ty::Ptr(&Ty::Str)),
]);

static KEY_TO_PATH: Ty = Ty::Struct(&[
    f("key", Ty::Str),
    f("path", Ty::Str),
    o("mode", Ty::Ptr(&Ty::Int)),
]);

static EMPTY_DIR: Ty = Ty::Struct(&[o("medium", Ty::Str), o("sizeLimit", Ty::Ptr(&Ty::Quantity))]);
static CONFIG_MAP_VOLUME: Ty = Ty::Struct(&[
    o("name", Ty::Str),
    o("items", Ty::Slice(&KEY_TO_PATH)),
    o("defaultMode", Ty::Ptr(&Ty::Int)),
    o("optional", Ty::Ptr(&Ty::Bool)),
]);
static SECRET_VOLUME: Ty = Ty::Struct(&[
    o("secretName", Ty::Str),
    o("items", Ty::Slice(&KEY_TO_PATH)),
    o("defaultMode", Ty::Ptr(&Ty::Int)),
    o("optional", Ty::Ptr(&Ty::Bool)),
]);
static PVC_VOLUME: Ty = Ty::Struct(&[f("claimName", Ty::Str), o("readOnly", Ty::Bool)]);

/// `corev1.Volume`: the name, then its (one) source; common sources are modelled.
static VOLUME: Ty = Ty::Open(&[
    f("name", Ty::Str),
    o(
        "hostPath",
        Ty::Ptr(&Ty::Struct(&[
            f("path", Ty::Str),
            o("type", Ty::Ptr(&Ty::Str)),
        ])),
    ),
    o("emptyDir", Ty::Ptr(&EMPTY_DIR)),
    o("secret", Ty::Ptr(&SECRET_VOLUME)),
    o("persistentVolumeClaim", Ty::Ptr(&PVC_VOLUME)),
    o("configMap", Ty::Ptr(&CONFIG_MAP_VOLUME)),
]);
static VOLUMES: Ty = Ty::Slice(&VOLUME);

/// Tekton's `pod.Template` (`podTemplate`).
static POD_TEMPLATE: Ty = Ty::Struct(&[
    o("nodeSelector", Ty::Map(&Ty::Str)),
    o("env", Ty::Slice(&ENV_VAR)),
    o(
        "tolerations",
        Ty::Slice(&Ty::Struct(&[
            o("key", Ty::Str),
            o("operator", Ty::Str),
            o("value", Ty::Str),
            o("effect", Ty::Str),
            o("tolerationSeconds", Ty::Ptr(&Ty::Int)),
        ])),
    ),
    o("affinity", Ty::Raw),
    o("securityContext", Ty::Ptr(&POD_SECURITY_CONTEXT)),
    o("volumes", Ty::Slice(&VOLUME)),
    o("runtimeClassName", Ty::Ptr(&Ty::Str)),
    o("automountServiceAccountToken", Ty::Ptr(&Ty::Bool)),
    o("dnsPolicy", Ty::Ptr(&Ty::Str)),
    o("dnsConfig", Ty::Raw),
    o("enableServiceLinks", Ty::Ptr(&Ty::Bool)),
    o("priorityClassName", Ty::Ptr(&Ty::Str)),
    o("schedulerName", Ty::Str),
    o("imagePullSecrets", Ty::Slice(&LOCAL_OBJECT_REFERENCE)),
    o("hostAliases", Ty::Raw),
    o("hostNetwork", Ty::Bool),
    o("hostUsers", Ty::Ptr(&Ty::Bool)),
    o("topologySpreadConstraints", Ty::Raw),
]);

static CONTAINER_PORTS: Ty = Ty::Slice(&Ty::Struct(&[
    o("name", Ty::Str),
    o("hostPort", Ty::Int),
    f("containerPort", Ty::Int),
    o("protocol", Ty::Str),
    o("hostIP", Ty::Str),
]));

static EXEC_ACTION: Ty = Ty::Struct(&[o("command", Ty::Slice(&Ty::Str))]);
static HTTP_GET_ACTION: Ty = Ty::Struct(&[
    o("path", Ty::Str),
    f("port", Ty::Raw),
    o("host", Ty::Str),
    o("scheme", Ty::Str),
    o(
        "httpHeaders",
        Ty::Slice(&Ty::Struct(&[f("name", Ty::Str), f("value", Ty::Str)])),
    ),
]);
static TCP_SOCKET_ACTION: Ty = Ty::Struct(&[f("port", Ty::Raw), o("host", Ty::Str)]);

static PROBE: Ty = Ty::Struct(&[
    o("exec", Ty::Ptr(&EXEC_ACTION)),
    o("httpGet", Ty::Ptr(&HTTP_GET_ACTION)),
    o("tcpSocket", Ty::Ptr(&TCP_SOCKET_ACTION)),
    o(
        "grpc",
        Ty::Ptr(&Ty::Struct(&[
            f("port", Ty::Int),
            f("service", Ty::Ptr(&Ty::Str)),
        ])),
    ),
    o("initialDelaySeconds", Ty::Int),
    o("timeoutSeconds", Ty::Int),
    o("periodSeconds", Ty::Int),
    o("successThreshold", Ty::Int),
    o("failureThreshold", Ty::Int),
    o("terminationGracePeriodSeconds", Ty::Ptr(&Ty::Int)),
]);

static LIFECYCLE_HANDLER: Ty = Ty::Struct(&[
    o("exec", Ty::Ptr(&EXEC_ACTION)),
    o("httpGet", Ty::Ptr(&HTTP_GET_ACTION)),
    o("tcpSocket", Ty::Ptr(&TCP_SOCKET_ACTION)),
    o("sleep", Ty::Ptr(&Ty::Struct(&[f("seconds", Ty::Int)]))),
]);

static LIFECYCLE: Ty = Ty::Struct(&[
    o("postStart", Ty::Ptr(&LIFECYCLE_HANDLER)),
    o("preStop", Ty::Ptr(&LIFECYCLE_HANDLER)),
    o("stopSignal", Ty::Ptr(&Ty::Str)),
]);

static OWNER_REFERENCE: Ty = Ty::Struct(&[
    f("apiVersion", Ty::Str),
    f("kind", Ty::Str),
    f("name", Ty::Str),
    f("uid", Ty::Str),
    o("controller", Ty::Ptr(&Ty::Bool)),
    o("blockOwnerDeletion", Ty::Ptr(&Ty::Bool)),
]);

static MANAGED_FIELDS_ENTRY: Ty = Ty::Struct(&[
    o("manager", Ty::Str),
    o("operation", Ty::Str),
    o("apiVersion", Ty::Str),
    o("time", Ty::Ptr(&Ty::Time)),
    o("fieldsType", Ty::Str),
    o("fieldsV1", Ty::Raw),
    o("subresource", Ty::Str),
]);

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
    inline(Ty::Struct(&[
        o("resolver", Ty::Str),
        o("params", Ty::Slice(&PARAM)),
    ])),
]);

static PIPELINE_REF: Ty = Ty::Struct(&[
    o("name", Ty::Str),
    o("apiVersion", Ty::Str),
    inline(Ty::Struct(&[
        o("resolver", Ty::Str),
        o("params", Ty::Slice(&PARAM)),
    ])),
]);

static STEP_REF: Ty = Ty::Struct(&[
    o("name", Ty::Str),
    inline(Ty::Struct(&[
        o("resolver", Ty::Str),
        o("params", Ty::Slice(&PARAM)),
    ])),
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
    o("envFrom", Ty::Is(&ENV_FROM)),
    o("env", Ty::Is(&ENV_VARS)),
    o("computeResources", Ty::Is(&RESOURCE_REQUIREMENTS)),
    o("volumeMounts", Ty::Is(&VOLUME_MOUNTS)),
    o("volumeDevices", Ty::Is(&VOLUME_DEVICES)),
    o("imagePullPolicy", Ty::Str),
    o("securityContext", Ty::Ptr(&SECURITY_CONTEXT)),
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
    o("envFrom", Ty::Is(&ENV_FROM)),
    o("env", Ty::Is(&ENV_VARS)),
    o("computeResources", Ty::Is(&RESOURCE_REQUIREMENTS)),
    o("volumeMounts", Ty::Is(&VOLUME_MOUNTS)),
    o("volumeDevices", Ty::Is(&VOLUME_DEVICES)),
    o("imagePullPolicy", Ty::Str),
    o("securityContext", Ty::Ptr(&SECURITY_CONTEXT)),
]);

static SIDECAR: Ty = Ty::Struct(&[
    f("name", Ty::Str),
    o("image", Ty::Str),
    o("command", Ty::Slice(&Ty::Str)),
    o("args", Ty::Slice(&Ty::Str)),
    o("workingDir", Ty::Str),
    o("ports", Ty::Is(&CONTAINER_PORTS)),
    o("envFrom", Ty::Is(&ENV_FROM)),
    o("env", Ty::Is(&ENV_VARS)),
    o("computeResources", Ty::Is(&RESOURCE_REQUIREMENTS)),
    o("volumeMounts", Ty::Is(&VOLUME_MOUNTS)),
    o("volumeDevices", Ty::Is(&VOLUME_DEVICES)),
    o("livenessProbe", Ty::Ptr(&PROBE)),
    o("readinessProbe", Ty::Ptr(&PROBE)),
    o("startupProbe", Ty::Ptr(&PROBE)),
    o("lifecycle", Ty::Ptr(&LIFECYCLE)),
    o("terminationMessagePath", Ty::Str),
    o("terminationMessagePolicy", Ty::Str),
    o("imagePullPolicy", Ty::Str),
    o("securityContext", Ty::Ptr(&SECURITY_CONTEXT)),
    o("stdin", Ty::Bool),
    o("stdinOnce", Ty::Bool),
    o("tty", Ty::Bool),
    o("script", Ty::Str),
    o("workspaces", Ty::Slice(&WORKSPACE_USAGE)),
    o("restartPolicy", Ty::Ptr(&Ty::Str)),
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
    o("volumes", Ty::Is(&VOLUMES)),
    o("stepTemplate", Ty::Ptr(&STEP_TEMPLATE)),
    o("sidecars", Ty::Slice(&SIDECAR)),
    o("workspaces", Ty::Slice(&WORKSPACE_DECLARATION)),
    o("results", Ty::Slice(&TASK_RESULT)),
];

/// Tekton `TaskSpec`.
pub(crate) static TASK_SPEC: Ty = Ty::Struct(TASK_SPEC_FIELDS);

static PIPELINE_TASK_METADATA: Ty = Ty::Struct(&[
    o("labels", Ty::Map(&Ty::Str)),
    o("annotations", Ty::Map(&Ty::Str)),
]);

static EMBEDDED_TASK: Ty = Ty::Struct(&[
    // `runtime.TypeMeta` (apiVersion first, unlike `metav1.TypeMeta`).
    inline(Ty::Struct(&[o("apiVersion", Ty::Str), o("kind", Ty::Str)])),
    o("spec", Ty::RawExt),
    o(
        "metadata",
        Ty::Struct(&[
            o("labels", Ty::Map(&Ty::Str)),
            o("annotations", Ty::Map(&Ty::Str)),
        ]),
    ),
    inline(Ty::Struct(TASK_SPEC_FIELDS)),
]);

static INCLUDE_PARAMS: Ty = Ty::Struct(&[o("name", Ty::Str), o("params", Ty::Slice(&PARAM))]);
static MATRIX: Ty = Ty::Struct(&[
    o("params", Ty::Slice(&PARAM)),
    o("include", Ty::Slice(&INCLUDE_PARAMS)),
]);

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
    o("volumeClaimTemplate", Ty::Ptr(&PERSISTENT_VOLUME_CLAIM)),
    o("persistentVolumeClaim", Ty::Ptr(&PVC_VOLUME)),
    o("emptyDir", Ty::Ptr(&EMPTY_DIR)),
    o("configMap", Ty::Ptr(&CONFIG_MAP_VOLUME)),
    o("secret", Ty::Ptr(&SECRET_VOLUME)),
    o("projected", Ty::Raw),
    o("csi", Ty::Raw),
]);

/// `corev1.PersistentVolumeClaim` (a workspace's `volumeClaimTemplate`).
static PERSISTENT_VOLUME_CLAIM: Ty = Ty::Struct(&[
    inline(Ty::Struct(&[o("kind", Ty::Str), o("apiVersion", Ty::Str)])),
    o("metadata", Ty::Is(&OBJECT_META)),
    o(
        "spec",
        Ty::Struct(&[
            o("accessModes", Ty::Slice(&Ty::Str)),
            o("selector", Ty::Raw),
            o(
                "resources",
                Ty::Struct(&[
                    o("limits", Ty::Map(&Ty::Quantity)),
                    o("requests", Ty::Map(&Ty::Quantity)),
                ]),
            ),
            o("volumeName", Ty::Str),
            o("storageClassName", Ty::Ptr(&Ty::Str)),
            o("volumeMode", Ty::Ptr(&Ty::Str)),
            o("dataSource", Ty::Raw),
            o("dataSourceRef", Ty::Raw),
            o("volumeAttributesClassName", Ty::Ptr(&Ty::Str)),
        ]),
    ),
    o("status", Ty::RawStruct),
]);

static TASK_BREAKPOINTS: Ty = Ty::Struct(&[
    o("onFailure", Ty::Str),
    o("beforeSteps", Ty::Slice(&Ty::Str)),
]);
static TASK_RUN_DEBUG: Ty = Ty::Struct(&[o("breakpoints", Ty::Ptr(&TASK_BREAKPOINTS))]);

static TASK_RUN_STEP_SPEC: Ty = Ty::Struct(&[
    f("name", Ty::Str),
    f("computeResources", Ty::Is(&RESOURCE_REQUIREMENTS)),
]);

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
    o("podTemplate", Ty::Ptr(&POD_TEMPLATE)),
    o("workspaces", Ty::Slice(&WORKSPACE_BINDING)),
    o("stepSpecs", Ty::Slice(&TASK_RUN_STEP_SPEC)),
    o("sidecarSpecs", Ty::Slice(&TASK_RUN_STEP_SPEC)),
    o("computeResources", Ty::Ptr(&RESOURCE_REQUIREMENTS)),
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
    o("podTemplate", Ty::Ptr(&POD_TEMPLATE)),
    o("stepSpecs", Ty::Slice(&TASK_RUN_STEP_SPEC)),
    o("sidecarSpecs", Ty::Slice(&TASK_RUN_STEP_SPEC)),
    o("metadata", Ty::Ptr(&PIPELINE_TASK_METADATA)),
    o("computeResources", Ty::Ptr(&RESOURCE_REQUIREMENTS)),
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
        Ty::Struct(&[
            o("podTemplate", Ty::Ptr(&POD_TEMPLATE)),
            o("serviceAccountName", Ty::Str),
        ]),
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

static RUN_RESULT: Ty = Ty::Struct(&[
    f("name", Ty::Str),
    o("type", Ty::Str),
    f("value", Ty::Param),
]);

static ARTIFACT_VALUE: Ty = Ty::Struct(&[o("digest", Ty::Map(&Ty::Str)), o("uri", Ty::Str)]);
static ARTIFACT: Ty = Ty::Struct(&[
    o("name", Ty::Str),
    o("values", Ty::Slice(&ARTIFACT_VALUE)),
    o("buildOutput", Ty::Bool),
]);
static ARTIFACTS: Ty = Ty::Struct(&[
    o("inputs", Ty::Slice(&ARTIFACT)),
    o("outputs", Ty::Slice(&ARTIFACT)),
]);

static CONTAINER_STATE_FIELDS: &[Field] = &[
    o(
        "waiting",
        Ty::Ptr(&Ty::Struct(&[o("reason", Ty::Str), o("message", Ty::Str)])),
    ),
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
    // Chains v0.29.2 links apimachinery v0.36, whose CreationTimestamp is `omitzero`.
    o("creationTimestamp", Ty::TimeOmitZero),
    o("deletionTimestamp", Ty::Ptr(&Ty::Time)),
    o("deletionGracePeriodSeconds", Ty::Ptr(&Ty::Int)),
    o("labels", Ty::Map(&Ty::Str)),
    o("annotations", Ty::Map(&Ty::Str)),
    o("ownerReferences", Ty::Slice(&OWNER_REFERENCE)),
    o("finalizers", Ty::Slice(&Ty::Str)),
    o("managedFields", Ty::Slice(&MANAGED_FIELDS_ENTRY)),
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
        normalize(Some(v), ty)
            .map(|g| g.to_value())
            .unwrap_or(Value::Null)
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
        let spec =
            json!({"pipelineRef": {"resolver": "git", "params": [{"name": "url", "value": "u"}]}});
        assert_eq!(
            norm(&spec, &PIPELINE_RUN_SPEC),
            json!({"pipelineRef": {"resolver": "git", "params": [{"name": "url", "value": "u"}]}, "taskRunTemplate": {}})
        );
    }

    #[test]
    fn feature_flags_case_insensitive() {
        let flags = json!({"EnableAPIFields": "beta", "ResultExtractionMethod": "termination-message", "Unknown": true});
        let g = normalize(Some(&flags), &FEATURE_FLAGS).unwrap_or(GoVal::Null);
        assert_eq!(
            g.to_go_json(),
            r#"{"enableAPIFields":"beta","resultExtractionMethod":"termination-message"}"#
        );
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
