//! `slsa/v1` provenance of a PipelineRun.

use std::sync::LazyLock;

use regex::Regex;
use serde_json::{Map, Value, json};

use super::{RunView, invocation, statement, step};
use crate::provenance::extract::{
    Artifact, append_artifacts, executed_tasks, pipeline_params_and_results_materials,
    pipeline_subjects, sidecar_image_materials, step_image_materials, task_runs_for,
};
use crate::provenance::{FormatError, FormatOptions, Statement};
use crate::tekton::{Condition, ParamValue, PipelineRun, PipelineTask, RefSource, TaskRun};

/// `buildType` of a PipelineRun's provenance (Chains always reads runs as tekton.dev/v1).
pub const BUILD_TYPE: &str = "tekton.dev/v1/PipelineRun";

/// Go's zero `time.Time`, written when a child TaskRun has no start time.
const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

/// Formats a PipelineRun (with its child TaskRuns) as an in-toto Statement v0.1 with a
/// SLSA v0.2 predicate.
///
/// # Errors
///
/// [`FormatError::ImageId`] when a completed child's step or sidecar image ID is
/// malformed.
pub fn pipelinerun(
    pr: &PipelineRun,
    children: &[TaskRun],
    opts: &FormatOptions,
) -> Result<Statement, FormatError> {
    let subjects = pipeline_subjects(pr, children, opts.deep_inspection);

    let ref_source = |rs: Option<&RefSource>| {
        rs.map(|rs| Artifact {
            name: rs.uri.clone(),
            digest: rs.digest.clone(),
        })
    };
    let mut mats = Vec::new();
    append_artifacts(&mut mats, ref_source(pr.ref_source()));
    let executed = executed_tasks(pr, children);
    for tr in &executed {
        append_artifacts(&mut mats, step_image_materials(tr)?);
        append_artifacts(&mut mats, sidecar_image_materials(tr)?);
        append_artifacts(&mut mats, ref_source(tr.ref_source()));
    }
    append_artifacts(
        &mut mats,
        pipeline_params_and_results_materials(pr, &executed, opts.deep_inspection),
    );

    let specs = pr.status.pipeline_spec.as_ref().map(|ps| &ps.params[..]);
    let run = RunView {
        build_type: BUILD_TYPE,
        metadata: &pr.metadata,
        ref_source: pr.ref_source(),
        params: (&pr.spec.params, specs.unwrap_or_default()),
        times: (pr.status.start_time, pr.status.completion_time),
    };
    Ok(statement(
        &run,
        subjects,
        build_config(pr, children),
        &mats,
        opts,
    ))
}

/// `buildConfig.tasks`: one entry per completed child TaskRun, in pipeline order.
fn build_config(pr: &PipelineRun, children: &[TaskRun]) -> Value {
    let Some(ps) = &pr.status.pipeline_spec else {
        return json!({ "tasks": null });
    };
    let mut tasks = Vec::new();
    let mut last: Option<&str> = None;
    for (i, t) in pr.pipeline_tasks() {
        let mut runs = task_runs_for(t, children).peekable();
        if runs.peek().is_none() {
            continue;
        }
        for tr in runs {
            if let Some(entry) = task_entry(pr, ps.tasks.len(), i, t, tr, last) {
                tasks.push(entry);
            }
        }
        if i < ps.tasks.len() {
            last = Some(&t.name);
        }
    }
    // Built by hand: `json!` would copy the entries (it serialises by reference).
    let mut m = Map::new();
    m.insert("tasks".into(), Value::Array(tasks));
    Value::Object(m)
}

fn task_entry(
    pr: &PipelineRun,
    n_tasks: usize,
    i: usize,
    t: &PipelineTask,
    tr: &TaskRun,
    last: Option<&str>,
) -> Option<Value> {
    // Tasks that did not run to completion, or whose steps cannot be matched, are left out.
    let finished = tr.status.completion_time?;
    let ts = tr.status.task_spec.as_ref()?;
    if ts.steps.len() != tr.status.steps.len() {
        return None;
    }
    let mut steps = Vec::new();
    for (spec, state) in ts.steps.iter().zip(&tr.status.steps) {
        if state.name.starts_with("unnamed-") && !spec.name.is_empty() {
            return None;
        }
        steps.push(step(spec, state));
    }

    let mut after = t.run_after.clone();
    for r in result_ref_tasks(t) {
        if !after.contains(&r) {
            after.push(r);
        }
    }
    if after.is_empty()
        && i >= n_tasks
        && let Some(l) = last
    {
        after.push(l.to_owned());
    }

    let mut m = Map::new();
    if !t.name.is_empty() {
        m.insert("name".into(), Value::String(t.name.clone()));
    }
    if !after.is_empty() {
        m.insert("after".into(), json!(after));
    }
    m.insert(
        "ref".into(),
        t.task_ref
            .as_ref()
            .map_or_else(|| json!({}), |r| r.to_json()),
    );
    // Chains: dereferences a missing start time and panics; hallmark writes Go's zero time.
    let started = tr
        .status
        .start_time
        .map_or_else(|| ZERO_TIME.to_owned(), |s| s.to_string());
    m.insert("startedOn".into(), Value::String(started));
    m.insert("finishedOn".into(), Value::String(finished.to_string()));
    if !pr.spec.service_account_name.is_empty() {
        m.insert(
            "serviceAccountName".into(),
            Value::String(pr.spec.service_account_name.clone()),
        );
    }
    let status = status(&tr.status.conditions);
    if !status.is_empty() {
        m.insert("status".into(), Value::String(status.into()));
    }
    if !steps.is_empty() {
        m.insert("steps".into(), Value::Array(steps));
    }
    m.insert(
        "invocation".into(),
        invocation(&tr.metadata, tr.ref_source(), &tr.spec.params, &ts.params),
    );
    if !tr.status.results.is_empty() {
        // Chains: the child's results in their order, which carries no meaning; hallmark
        // sorts them by name (then value) so that the statement does not depend on it
        // (docs/compatibility.md D4).
        // Ordered by (name, compact JSON); the JSON text is only computed to break a tie.
        let mut results: Vec<Value> = tr.status.results.iter().map(|r| r.to_json()).collect();
        fn name(v: &Value) -> &str {
            v["name"].as_str().unwrap_or_default()
        }
        results.sort_by(|a, b| {
            name(a)
                .cmp(name(b))
                .then_with(|| a.to_string().cmp(&b.to_string()))
        });
        m.insert("results".into(), Value::Array(results));
    }
    Some(Value::Object(m))
}

/// The status word of a child TaskRun's first condition.
fn status(conditions: &[Condition]) -> &'static str {
    match conditions.first().map(|c| c.status.as_str()) {
        Some("False") => "Failed",
        Some("True") => "Succeeded",
        Some("Unknown") => "Running",
        _ => "",
    }
}

static VAR_SUBSTITUTION: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r"\$\([_a-zA-Z0-9.-]+(\.[_a-zA-Z0-9.-]+)*(\[([0-9]+|\*)\])?\)").ok()
});

/// The `$(...)` expressions in `s`, without `$(` and `)`.
fn expressions(s: &str, out: &mut Vec<String>) {
    if let Some(re) = VAR_SUBSTITUTION.as_ref() {
        for m in re.find_iter(s) {
            let e = m.as_str();
            out.push(e[2..e.len() - 1].to_owned());
        }
    }
}

/// The pipeline tasks whose results `t` references (Tekton's
/// `PipelineTaskResultRefs`): in params, matrix params, `when` expressions and an
/// inline task's steps and sidecars.
fn result_ref_tasks(t: &PipelineTask) -> Vec<String> {
    let mut exprs = Vec::new();
    for p in t.params.iter().chain(&t.matrix_params) {
        match &p.value {
            ParamValue::String(s) => expressions(s, &mut exprs),
            ParamValue::Array(a) => a.iter().for_each(|s| expressions(s, &mut exprs)),
            // Chains: object values are visited in Go map order (random); hallmark goes by key.
            ParamValue::Object(o) => o.values().for_each(|s| expressions(s, &mut exprs)),
        }
    }
    for w in &t.when {
        expressions(&w.input, &mut exprs);
        expressions(&w.cel, &mut exprs);
        w.values.iter().for_each(|s| expressions(s, &mut exprs));
    }
    if let Some(ts) = &t.task_spec {
        for s in ts.steps.iter().chain(&ts.sidecars) {
            for v in [
                &s.name,
                &s.image,
                &s.image_pull_policy,
                &s.script,
                &s.working_dir,
            ] {
                expressions(v, &mut exprs);
            }
            s.command
                .iter()
                .chain(s.args.iter().flatten())
                .for_each(|v| expressions(v, &mut exprs));
            for e in &s.env {
                expressions(&e.value, &mut exprs);
                e.value_from.iter().for_each(|v| expressions(v, &mut exprs));
            }
        }
    }
    exprs
        .iter()
        .filter_map(|e| {
            let parts: Vec<&str> = e.split('.').collect();
            let looks = parts.len() >= 4
                && matches!(parts[0], "tasks" | "finally")
                && parts[2] == "results";
            (looks && matches!(parts.len(), 4 | 5)).then(|| parts[1].to_owned())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tekton::{Param, WhenExpression};

    #[test]
    fn result_refs() {
        let t = PipelineTask {
            params: vec![
                Param {
                    name: "a".into(),
                    value: ParamValue::String("$(tasks.clone.results.commit) $(params.x)".into()),
                },
                Param {
                    name: "b".into(),
                    value: ParamValue::Array(vec!["$(tasks.build.results.out[*])".into()]),
                },
            ],
            when: vec![WhenExpression {
                input: "$(finally.f.results.r.key)".into(),
                ..Default::default()
            }],
            ..Default::default()
        };
        assert_eq!(result_ref_tasks(&t), ["clone", "build", "f"]);
    }
}
