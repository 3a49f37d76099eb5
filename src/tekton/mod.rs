//! The serde model of Tekton `TaskRun` and `PipelineRun` objects: only what the
//! provenance formats read, parsed from JSON or YAML.
//!
//! - `tekton.dev/v1` is the model; `tekton.dev/v1beta1` is accepted and read into it
//!   (`status.taskResults`/`pipelineResults` → `results`, `spec.serviceAccountName` of a
//!   PipelineRun → `taskRunTemplate.serviceAccountName`, `taskRef.bundle` → the
//!   `bundles` resolver as Tekton Pipelines up to v0.6x converted it, and the children's
//!   statuses in `status.taskRuns` → [`PipelineRunStatus::embedded_task_runs`]);
//!   deprecated fields Tekton's conversion drops (`provenance.configSource`,
//!   `resourcesResult`, PipelineResources) are ignored.
//! - A document may be a single run, a `kind: List` (or `TaskRunList`/`PipelineRunList`)
//!   of runs, or several YAML documents.
//! - `kind` and `apiVersion` may be missing: the caller's hint names the kind, and
//!   without one the kind is inferred from `pipelineRef`/`pipelineSpec` versus
//!   `taskRef`/`taskSpec`.
//! - Parts Chains embeds verbatim as Go structs are kept as [`serde_json::Value`]
//!   (`raw` fields), as written; re-marshalling them the way Go's `encoding/json`
//!   would is the formats' business.
//!
//! Malformed input gives one [`ParseError`] naming the field path.

mod model;
mod read;
mod time;

use std::fmt;
use std::str::FromStr;

use serde_json::{Map, Value};

pub use model::{
    ChildReference, Condition, EnvVar, ObjectMeta, PIPELINE_RUN_LABEL, PIPELINE_TASK_LABEL, Param,
    ParamSpec, ParamValue, PipelineRun, PipelineRunSpec, PipelineRunStatus, PipelineSpec,
    PipelineTask, Provenance, Ref, RefSource, RunResult, SidecarState, Step, StepState, TaskRun,
    TaskRunSpec, TaskRunStatus, TaskSpec, WhenExpression, params_to_json,
};
pub use time::Timestamp;

/// `apiVersion` of Tekton's v1 API.
pub const V1: &str = "tekton.dev/v1";
/// `apiVersion` of Tekton's v1beta1 API.
pub const V1BETA1: &str = "tekton.dev/v1beta1";

/// Why a run document could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// The bytes are neither JSON nor YAML.
    #[error("not JSON or YAML: {0}")]
    Syntax(String),
    /// The input holds no document.
    #[error("no TaskRun or PipelineRun in the input")]
    Empty,
    /// A field has the wrong type or value.
    #[error("{path}: {expected}")]
    Field {
        /// The field's path, e.g. `status.results[2].value`.
        path: String,
        /// What was expected there (and what was found).
        expected: String,
    },
    /// `kind` names something other than a TaskRun, a PipelineRun or a list.
    #[error("{path}kind: {kind:?} is not TaskRun, PipelineRun or List")]
    UnsupportedKind {
        /// Prefix of the document in a list (`items[1].`), or empty.
        path: String,
        /// The kind found.
        kind: String,
    },
    /// `apiVersion` is not a Tekton API this model reads.
    #[error("{path}apiVersion: {api_version:?} is not tekton.dev/v1 or tekton.dev/v1beta1")]
    UnsupportedApiVersion {
        /// Prefix of the document in a list (`items[1].`), or empty.
        path: String,
        /// The apiVersion found.
        api_version: String,
    },
    /// The document has no `kind`, none was given, and none could be inferred.
    #[error("{path}kind: missing, and the document looks like neither a TaskRun nor a PipelineRun")]
    MissingKind {
        /// Prefix of the document in a list (`items[1].`), or empty.
        path: String,
    },
}

impl ParseError {
    fn within(self, prefix: &str) -> Self {
        match self {
            Self::Field { path, expected } => Self::Field {
                path: format!("{prefix}.{path}"),
                expected,
            },
            Self::UnsupportedKind { path, kind } => Self::UnsupportedKind {
                path: format!("{prefix}.{path}"),
                kind,
            },
            Self::UnsupportedApiVersion { path, api_version } => Self::UnsupportedApiVersion {
                path: format!("{prefix}.{path}"),
                api_version,
            },
            Self::MissingKind { path } => Self::MissingKind {
                path: format!("{prefix}.{path}"),
            },
            other => other,
        }
    }
}

/// The kind of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RunKind {
    /// A `TaskRun`.
    TaskRun,
    /// A `PipelineRun`.
    PipelineRun,
}

impl fmt::Display for RunKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::TaskRun => "TaskRun",
            Self::PipelineRun => "PipelineRun",
        })
    }
}

impl FromStr for RunKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "taskrun" => Ok(Self::TaskRun),
            "pipelinerun" => Ok(Self::PipelineRun),
            _ => Err(format!("{s:?} is not TaskRun or PipelineRun")),
        }
    }
}

/// A TaskRun or a PipelineRun.
#[derive(Debug, Clone, PartialEq)]
pub enum Run {
    /// A TaskRun.
    TaskRun(TaskRun),
    /// A PipelineRun.
    PipelineRun(PipelineRun),
}

impl Run {
    /// `metadata.name`.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.metadata().name
    }

    /// `metadata.namespace`.
    #[must_use]
    pub fn namespace(&self) -> Option<&str> {
        self.metadata().namespace.as_deref()
    }

    /// `metadata.uid`.
    #[must_use]
    pub fn uid(&self) -> Option<&str> {
        self.metadata().uid.as_deref()
    }

    /// The run's kind.
    #[must_use]
    pub fn kind(&self) -> RunKind {
        match self {
            Self::TaskRun(_) => RunKind::TaskRun,
            Self::PipelineRun(_) => RunKind::PipelineRun,
        }
    }

    /// The run's metadata.
    #[must_use]
    pub fn metadata(&self) -> &ObjectMeta {
        match self {
            Self::TaskRun(t) => &t.metadata,
            Self::PipelineRun(p) => &p.metadata,
        }
    }
}

/// Parses runs from JSON or YAML.
///
/// A `kind: List` (or `TaskRunList`/`PipelineRunList`), a JSON array or several YAML
/// documents give several runs, in order. `kind_hint` is used for a document that has
/// no `kind`; without it the kind is inferred from the spec.
///
/// # Errors
///
/// [`ParseError`] naming the field path when the input is not JSON/YAML, holds no
/// run, or a field has the wrong type.
pub fn parse_runs(bytes: &[u8], kind_hint: Option<RunKind>) -> Result<Vec<Run>, ParseError> {
    let docs = decode(bytes)?;
    let mut runs = Vec::new();
    let many = docs.len() > 1;
    for (i, doc) in docs.iter().enumerate() {
        let r = collect(doc, kind_hint, &mut runs);
        r.map_err(|e| {
            if many {
                e.within(&format!("document[{i}]"))
            } else {
                e
            }
        })?;
    }
    if runs.is_empty() {
        return Err(ParseError::Empty);
    }
    Ok(runs)
}

/// JSON when it looks like JSON; YAML (possibly several documents) otherwise.
fn decode(bytes: &[u8]) -> Result<Vec<Value>, ParseError> {
    let first = bytes.iter().copied().find(|b| !b.is_ascii_whitespace());
    match first {
        None => Err(ParseError::Empty),
        Some(b'{' | b'[') => match serde_json::from_slice::<Value>(bytes) {
            Ok(v) => Ok(vec![v]),
            // JSON-looking YAML (flow style with comments, ...) is still YAML.
            Err(json_err) => {
                decode_yaml(bytes).map_err(|_| ParseError::Syntax(json_err.to_string()))
            }
        },
        Some(_) => decode_yaml(bytes),
    }
}

fn decode_yaml(bytes: &[u8]) -> Result<Vec<Value>, ParseError> {
    use serde::Deserialize;
    let mut out = Vec::new();
    for doc in serde_yaml_ng::Deserializer::from_slice(bytes) {
        let v = Value::deserialize(doc).map_err(|e| ParseError::Syntax(e.to_string()))?;
        if !v.is_null() {
            out.push(v);
        }
    }
    Ok(out)
}

fn collect(doc: &Value, hint: Option<RunKind>, out: &mut Vec<Run>) -> Result<(), ParseError> {
    let items = match doc {
        Value::Array(items) => items,
        Value::Object(m) => {
            let kind = read::opt_string(m, "", "kind")?;
            match kind.as_deref() {
                Some("List" | "TaskRunList" | "PipelineRunList") => {
                    let hint = match kind.as_deref() {
                        Some("TaskRunList") => Some(RunKind::TaskRun),
                        Some("PipelineRunList") => Some(RunKind::PipelineRun),
                        _ => hint,
                    };
                    for (path, item) in read::array(m, "", "items")? {
                        let Value::Object(o) = item else {
                            return Err(read::invalid_found(&path, "expected object", item));
                        };
                        out.push(one(o, hint).map_err(|e| e.within(&path))?);
                    }
                    return Ok(());
                }
                _ => {
                    out.push(one(m, hint)?);
                    return Ok(());
                }
            }
        }
        other => return Err(read::invalid_found("(document)", "expected object", other)),
    };
    for (i, item) in items.iter().enumerate() {
        let path = read::index("", i);
        let Value::Object(o) = item else {
            return Err(read::invalid_found(&path, "expected object", item));
        };
        out.push(one(o, hint).map_err(|e| e.within(&path))?);
    }
    Ok(())
}

fn one(m: &Map<String, Value>, hint: Option<RunKind>) -> Result<Run, ParseError> {
    if let Some(v) = read::opt_string(m, "", "apiVersion")?
        && v != V1
        && v != V1BETA1
    {
        return Err(ParseError::UnsupportedApiVersion {
            path: String::new(),
            api_version: v,
        });
    }
    let kind = match read::opt_string(m, "", "kind")? {
        Some(k) if k == "TaskRun" => RunKind::TaskRun,
        Some(k) if k == "PipelineRun" => RunKind::PipelineRun,
        Some(k) => {
            return Err(ParseError::UnsupportedKind {
                path: String::new(),
                kind: k,
            });
        }
        None => match hint.or_else(|| infer_kind(m)) {
            Some(k) => k,
            None => {
                return Err(ParseError::MissingKind {
                    path: String::new(),
                });
            }
        },
    };
    Ok(match kind {
        RunKind::TaskRun => Run::TaskRun(model::task_run(m)?),
        RunKind::PipelineRun => Run::PipelineRun(model::pipeline_run(m)?),
    })
}

/// The kind a document without `kind` looks like, when unambiguous.
fn infer_kind(m: &Map<String, Value>) -> Option<RunKind> {
    let has = |section: &str, keys: &[&str]| {
        m.get(section)
            .and_then(Value::as_object)
            .is_some_and(|o| keys.iter().any(|k| o.contains_key(*k)))
    };
    let pipeline = has("spec", &["pipelineRef", "pipelineSpec"])
        || has(
            "status",
            &[
                "pipelineSpec",
                "childReferences",
                "pipelineResults",
                "taskRuns",
            ],
        );
    let task = has("spec", &["taskRef", "taskSpec"])
        || has("status", &["taskSpec", "steps", "podName", "taskResults"]);
    match (pipeline, task) {
        (true, false) => Some(RunKind::PipelineRun),
        (false, true) => Some(RunKind::TaskRun),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
