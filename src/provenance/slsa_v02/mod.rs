//! The `slsa/v1` Chains format (alias `in-toto`): an in-toto Statement v0.1 with a
//! SLSA provenance v0.2 predicate, for TaskRuns ([`taskrun`]) and PipelineRuns
//! ([`pipelinerun`]).
//!
//! The predicate is what Chains v0.29.2 writes after its `encoding/json` →
//! `structpb` round trip: Go's `omitempty` rules decide which empty fields appear
//! (`invocation.parameters` is always there, `environment` only when non-empty, a
//! step's `arguments`/`annotations` are `null` when unset, `metadata.completeness` is
//! all `false`).

mod pipelinerun;
mod taskrun;

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::extract::{Artifact, OCI_SCHEME};
use super::statement::{PREDICATE_SLSA_V02, STATEMENT_V01};
use super::{FormatOptions, Statement, Subject};
use crate::tekton::{ObjectMeta, Param, ParamSpec, RefSource, Step, StepState, Timestamp};

pub use pipelinerun::pipelinerun;
pub use taskrun::taskrun;

/// Label marking a run as reproducible in the provenance metadata.
pub const REPRODUCIBLE_LABEL: &str = "chains.tekton.dev/reproducible";
/// kubectl's annotation, never copied into provenance.
const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

fn string_map(m: &BTreeMap<String, String>) -> Value {
    Value::Object(
        m.iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect(),
    )
}

/// `materials`: Chains writes `{uri?, digest?}` and omits the list when empty.
fn materials_json(mats: &[Artifact]) -> Option<Value> {
    if mats.is_empty() {
        return None;
    }
    Some(Value::Array(
        mats.iter()
            .map(|m| {
                let mut o = Map::new();
                if !m.name.is_empty() {
                    o.insert("uri".into(), Value::String(m.name.clone()));
                }
                if !m.digest.is_empty() {
                    o.insert("digest".into(), string_map(&m.digest));
                }
                Value::Object(o)
            })
            .collect(),
    ))
}

/// Chains' `attest.Invocation`: config source, parameters (declared defaults, then the
/// run's values) and the environment (annotations, labels).
fn invocation(
    meta: &ObjectMeta,
    ref_source: Option<&RefSource>,
    params: &[Param],
    specs: &[ParamSpec],
) -> Value {
    let mut config_source = Map::new();
    if let Some(rs) = ref_source {
        if !rs.uri.is_empty() {
            config_source.insert("uri".into(), Value::String(rs.uri.clone()));
        }
        if !rs.digest.is_empty() {
            config_source.insert("digest".into(), string_map(&rs.digest));
        }
        if !rs.entry_point.is_empty() {
            config_source.insert("entryPoint".into(), Value::String(rs.entry_point.clone()));
        }
    }
    let mut parameters = Map::new();
    for p in specs {
        if let Some(d) = &p.default {
            parameters.insert(p.name.clone(), d.to_json());
        }
    }
    for p in params {
        parameters.insert(p.name.clone(), p.value.to_json());
    }
    let mut inv = Map::new();
    inv.insert("configSource".into(), Value::Object(config_source));
    inv.insert("parameters".into(), Value::Object(parameters));
    let annotations: Map<String, Value> = meta
        .annotations
        .iter()
        .filter(|(k, _)| k.as_str() != LAST_APPLIED && !k.starts_with("chains.tekton.dev/"))
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    let mut env = Map::new();
    if !annotations.is_empty() {
        env.insert("annotations".into(), Value::Object(annotations));
    }
    if !meta.labels.is_empty() {
        env.insert("labels".into(), string_map(&meta.labels));
    }
    if !env.is_empty() {
        inv.insert("environment".into(), Value::Object(env));
    }
    Value::Object(inv)
}

/// Chains' `attest.Step`: what ran in a step (entry point, arguments, image, container).
fn step(spec: &Step, state: &StepState) -> Value {
    let entry_point = if spec.script.is_empty() {
        spec.command.join(" ")
    } else {
        spec.script.clone()
    };
    let image = state
        .image_id
        .strip_prefix("docker-pullable://")
        .unwrap_or(&state.image_id);
    // Built by hand rather than with `json!`, which copies every value it is given.
    let mut environment = Map::new();
    environment.insert(
        "image".into(),
        Value::String(format!("{OCI_SCHEME}{image}")),
    );
    environment.insert("container".into(), Value::String(state.name.clone()));
    let arguments = spec.args.as_ref().map_or(Value::Null, |args| {
        Value::Array(args.iter().cloned().map(Value::String).collect())
    });
    let mut m = Map::new();
    m.insert("entryPoint".into(), Value::String(entry_point));
    m.insert("arguments".into(), arguments);
    m.insert("environment".into(), Value::Object(environment));
    m.insert("annotations".into(), Value::Null);
    Value::Object(m)
}

/// `metadata`: start/finish times, completeness (all false) and reproducibility.
fn metadata(meta: &ObjectMeta, start: Option<Timestamp>, finish: Option<Timestamp>) -> Value {
    let mut m = Map::new();
    if let Some(t) = start {
        m.insert("buildStartedOn".into(), Value::String(t.to_string()));
    }
    if let Some(t) = finish {
        m.insert("buildFinishedOn".into(), Value::String(t.to_string()));
    }
    m.insert(
        "completeness".into(),
        json!({"parameters": false, "environment": false, "materials": false}),
    );
    let reproducible = meta
        .labels
        .get(REPRODUCIBLE_LABEL)
        .is_some_and(|v| v == "true");
    m.insert("reproducible".into(), Value::Bool(reproducible));
    Value::Object(m)
}

/// What the predicate reads of a run, whichever its kind.
struct RunView<'a> {
    /// `buildType`.
    build_type: &'static str,
    metadata: &'a ObjectMeta,
    ref_source: Option<&'a RefSource>,
    /// The run's params, and the Task's/Pipeline's declared ones (for defaults).
    params: (&'a [Param], &'a [ParamSpec]),
    /// Start and completion times.
    times: (Option<Timestamp>, Option<Timestamp>),
}

/// The statement: the run's subjects, and the SLSA v0.2 predicate.
fn statement(
    run: &RunView<'_>,
    subjects: Vec<Artifact>,
    build_config: Value,
    materials: &[Artifact],
    opts: &FormatOptions,
) -> Statement {
    let mut p = Map::new();
    p.insert("builder".into(), json!({"id": opts.builder_id}));
    p.insert("buildType".into(), Value::String(run.build_type.to_owned()));
    p.insert(
        "invocation".into(),
        invocation(run.metadata, run.ref_source, run.params.0, run.params.1),
    );
    p.insert("buildConfig".into(), build_config);
    p.insert(
        "metadata".into(),
        metadata(run.metadata, run.times.0, run.times.1),
    );
    if let Some(m) = materials_json(materials) {
        p.insert("materials".into(), m);
    }
    let subjects = subjects.into_iter().map(Subject::from).collect();
    Statement::new(
        STATEMENT_V01,
        subjects,
        PREDICATE_SLSA_V02,
        Value::Object(p),
    )
}

#[cfg(test)]
mod tests;
