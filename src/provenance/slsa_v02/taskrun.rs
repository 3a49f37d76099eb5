//! `slsa/v1` provenance of a TaskRun.

use serde_json::Value;

use super::{RunView, statement, step};
use crate::provenance::extract::{
    append_artifacts, sidecar_image_materials, step_image_materials, subjects_from_results,
    task_params_and_results_materials,
};
use crate::provenance::{FormatError, FormatOptions, Statement};
use crate::tekton::{Step, TaskRun};

/// `buildType` of a TaskRun's provenance (Chains always reads runs as tekton.dev/v1).
pub const BUILD_TYPE: &str = "tekton.dev/v1/TaskRun";

/// Formats a TaskRun as an in-toto Statement v0.1 with a SLSA v0.2 predicate.
///
/// # Errors
///
/// [`FormatError::ImageId`] when a step or sidecar image ID is malformed.
pub fn taskrun(tr: &TaskRun, opts: &FormatOptions) -> Result<Statement, FormatError> {
    let mut mats = Vec::new();
    append_artifacts(&mut mats, step_image_materials(tr)?);
    append_artifacts(&mut mats, sidecar_image_materials(tr)?);
    append_artifacts(&mut mats, task_params_and_results_materials(tr));
    let specs = tr.status.task_spec.as_ref().map(|ts| &ts.params[..]);
    let run = RunView {
        build_type: BUILD_TYPE,
        metadata: &tr.metadata,
        ref_source: tr.ref_source(),
        params: (&tr.spec.params, specs.unwrap_or_default()),
        times: (tr.status.start_time, tr.status.completion_time),
    };
    let subjects = subjects_from_results(&tr.status.results);
    Ok(statement(&run, subjects, build_config(tr), &mats, opts))
}

/// `buildConfig.steps`: each step state with the Task step of the same name.
fn build_config(tr: &TaskRun) -> Value {
    let none = Step::default();
    let steps: Vec<Value> = tr
        .status
        .steps
        .iter()
        .map(|state| {
            let spec = tr
                .status
                .task_spec
                .as_ref()
                .and_then(|ts| ts.steps.iter().find(|s| s.name == state.name))
                .unwrap_or(&none);
            step(spec, state)
        })
        .collect();
    // Built by hand: `json!` would copy the steps (it serialises by reference).
    let mut m = serde_json::Map::new();
    m.insert("steps".into(), Value::Array(steps));
    Value::Object(m)
}
