//! `buildDefinition.resolvedDependencies`: what influenced a run — step and sidecar
//! images, the Task/Pipeline definitions and their remote sources, remote StepActions,
//! and type-hinted inputs (`CHAINS-GIT_*`, `*ARTIFACT_INPUTS`) — in Chains' order and
//! with Chains' de-duplication.

use super::FormatError as Error;
use super::hints::{COMMIT_PARAM, URL_PARAM, spdx_git, string_val, structured_inputs};
use super::predicate::ResourceDescriptor;
use crate::tekton::{PipelineRun, Provenance, RefSource, RunResult, TaskRun, V1BETA1};
use serde_json::Value;
use std::collections::BTreeMap;

/// Name of the resolved dependency of a PipelineRun's pipeline definition.
pub(crate) const PIPELINE_CONFIG: &str = "pipeline";
/// Name of the resolved dependency of a TaskRun's task definition.
pub(crate) const TASK_CONFIG: &str = "task";
/// Name of the resolved dependency of a pipeline task's definition.
pub(crate) const PIPELINE_TASK_CONFIG: &str = "pipelineTask";
/// Name of resolved dependencies read from type-hinted params and results.
pub(crate) const INPUT_RESULT: &str = "inputs/result";
/// Name Chains also gives type-hinted inputs (always de-duplicated away).
const PIPELINE_RESOURCE: &str = "pipelineResource";
/// Prefix of the resolved dependencies of remote StepActions.
const STEP_ACTION_CONFIG: &str = "stepAction";

/// The `refSource` Chains sees. Tekton's v1beta1 → v1 conversion keeps `refSource`
/// and drops the older `configSource`, which the model reads into `ref_source`.
fn ref_source_seen<'a>(
    provenance: Option<&'a Provenance>,
    raw: &Value,
    pointer: &str,
    api_version: Option<&str>,
) -> Option<&'a RefSource> {
    let rs = provenance?.ref_source.as_ref()?;
    if api_version == Some(V1BETA1) && raw.pointer(pointer).is_none_or(Value::is_null) {
        return None;
    }
    Some(rs)
}

/// A TaskRun's `status.provenance.refSource`, as Chains sees it.
pub(crate) fn task_ref_source(tr: &TaskRun) -> Option<&RefSource> {
    ref_source_seen(
        tr.status.provenance.as_ref(),
        &tr.raw,
        "/status/provenance/refSource",
        tr.api_version.as_deref(),
    )
}

/// A PipelineRun's `status.provenance.refSource`, as Chains sees it.
pub(crate) fn pipeline_ref_source(pr: &PipelineRun) -> Option<&RefSource> {
    ref_source_seen(
        pr.status.provenance.as_ref(),
        &pr.raw,
        "/status/provenance/refSource",
        pr.api_version.as_deref(),
    )
}

/// An SLSA v0.2-style material (`uri` + digest set), Chains' intermediate form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Material {
    pub(crate) uri: String,
    pub(crate) digest: BTreeMap<String, String>,
}

/// Chains' `AppendMaterials`/`AppendSubjects`: an item equal to an existing entry
/// (same name, one common `alg: hex`) merges its digests into it; others are appended.
pub(crate) fn append_merged(list: &mut Vec<Material>, items: impl IntoIterator<Item = Material>) {
    for item in items {
        let existing = list.iter_mut().find(|m| {
            m.uri == item.uri
                && m.digest
                    .iter()
                    .any(|(alg, hex)| item.digest.get(alg).map_or("", String::as_str) == hex)
        });
        match existing {
            Some(m) => m.digest.extend(item.digest),
            None => list.push(item),
        }
    }
}

/// What resolving should include (Chains' `ResolveOptions`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct ResolveOptions {
    /// Read StepAction results and remote StepActions (v2alpha4).
    pub(crate) with_step_actions: bool,
}

/// How a pipeline task's TaskRun is described (depends on the build type).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TaskDescriptor {
    /// `slsa`: name, uri and digest of a remote task.
    Slsa,
    /// `slsa-tekton`: also the whole TaskRun as content.
    Tekton,
}

fn ref_dependency(name: &str, rs: &RefSource) -> ResourceDescriptor {
    ResourceDescriptor {
        name: name.to_owned(),
        uri: rs.uri.clone(),
        digest: rs.digest.clone(),
        ..ResourceDescriptor::default()
    }
}

fn from_materials(
    mats: Vec<Material>,
    name: &str,
) -> impl Iterator<Item = ResourceDescriptor> + '_ {
    mats.into_iter().map(move |m| ResourceDescriptor {
        name: name.to_owned(),
        uri: m.uri,
        digest: m.digest,
        ..ResourceDescriptor::default()
    })
}

/// Chains' `fromImageID`: `[docker-pullable://]uri@alg:hex` → `oci://uri`.
fn from_image_id(image_id: &str, path: impl FnOnce() -> String) -> Result<Material, Error> {
    let bad = |path: String| Error::ImageId {
        path,
        image_id: image_id.to_owned(),
    };
    let parts: Vec<&str> = image_id.split('@').collect();
    let [uri, digest] = parts.as_slice() else {
        return Err(bad(path()));
    };
    let dparts: Vec<&str> = digest.split(':').collect();
    let [alg, hex] = dparts.as_slice() else {
        return Err(bad(path()));
    };
    let uri = uri.strip_prefix("docker-pullable://").unwrap_or(uri);
    Ok(Material {
        uri: format!("oci://{uri}"),
        digest: BTreeMap::from([((*alg).to_owned(), (*hex).to_owned())]),
    })
}

fn images<'a>(
    tr: &TaskRun,
    field: &str,
    ids: impl IntoIterator<Item = &'a str>,
) -> Result<Vec<Material>, Error> {
    let mut mats = Vec::new();
    for (i, id) in ids.into_iter().enumerate() {
        let m = from_image_id(id, || {
            format!("TaskRun {} status.{field}[{i}].imageID", tr.name())
        })?;
        append_merged(&mut mats, [m]);
    }
    Ok(mats)
}

/// Step images, then sidecar images (each list de-duplicated on its own).
fn step_and_sidecar_images(tr: &TaskRun) -> Result<Vec<Material>, Error> {
    let mut mats = images(
        tr,
        "steps",
        tr.status.steps.iter().map(|s| s.image_id.as_str()),
    )?;
    mats.extend(images(
        tr,
        "sidecars",
        tr.status.sidecars.iter().map(|s| s.image_id.as_str()),
    )?);
    Ok(mats)
}

fn git_material(commit: &str, url: &str) -> Material {
    Material {
        uri: url.to_owned(),
        digest: BTreeMap::from([("sha1".to_owned(), commit.to_owned())]),
    }
}

fn structured_materials<'a>(results: impl IntoIterator<Item = &'a RunResult>) -> Vec<Material> {
    structured_inputs(results)
        .into_iter()
        .map(|(uri, alg, hex)| Material {
            uri,
            digest: BTreeMap::from([(alg, hex)]),
        })
        .collect()
}

/// Chains' `FromTaskParamsAndResults`: `CHAINS-GIT_*` from task defaults, run params and
/// results (later wins), then `*ARTIFACT_INPUTS` results.
pub(crate) fn task_params_and_results(tr: &TaskRun) -> Vec<Material> {
    let (mut commit, mut url) = (String::new(), String::new());
    if let Some(spec) = &tr.status.task_spec {
        for p in &spec.params {
            let Some(default) = &p.default else { continue };
            if p.name == COMMIT_PARAM {
                commit = string_val(default).to_owned();
            } else if p.name == URL_PARAM {
                url = string_val(default).to_owned();
            }
        }
    }
    for p in &tr.spec.params {
        if p.name == COMMIT_PARAM {
            commit = string_val(&p.value).to_owned();
        } else if p.name == URL_PARAM {
            url = string_val(&p.value).to_owned();
        }
    }
    for r in &tr.status.results {
        if r.name == COMMIT_PARAM {
            commit = string_val(&r.value).to_owned();
        }
        if r.name == URL_PARAM {
            url = string_val(&r.value).to_owned();
        }
    }
    // Chains: the URL is checked after the `git+` prefix and `.git` suffix are added, so it is never empty and
    // a commit alone is enough.
    let url = spdx_git(&url);
    let mut mats = Vec::new();
    if !commit.is_empty() {
        append_merged(&mut mats, [git_material(&commit, &url)]);
    }
    append_merged(&mut mats, structured_materials(&tr.status.results));
    mats
}

/// Chains' `FromStepActionsResults`: per step, `CHAINS-GIT_*` step results; then
/// `*ARTIFACT_INPUTS` step results.
pub(crate) fn step_action_results(tr: &TaskRun) -> Vec<Material> {
    let mut mats = Vec::new();
    for step in &tr.status.steps {
        let (mut commit, mut url) = ("", "");
        for r in &step.results {
            if r.name == COMMIT_PARAM {
                commit = string_val(&r.value);
            } else if r.name == URL_PARAM {
                url = string_val(&r.value);
            }
        }
        // Chains: as above, the URL check always passes.
        let url = spdx_git(url);
        if !commit.is_empty() {
            append_merged(&mut mats, [git_material(commit, &url)]);
        }
    }
    append_merged(&mut mats, structured_materials(tr.step_results()));
    mats
}

/// Chains' `fromRemoteStepActions`.
fn remote_step_actions(tr: &TaskRun) -> impl Iterator<Item = ResourceDescriptor> + '_ {
    tr.status.steps.iter().enumerate().filter_map(|(i, s)| {
        let pointer = format!("/status/steps/{i}/provenance/refSource");
        let rs = ref_source_seen(
            s.provenance.as_ref(),
            &tr.raw,
            &pointer,
            tr.api_version.as_deref(),
        )?;
        Some(ref_dependency(
            &format!("{STEP_ACTION_CONFIG}/{}", s.name),
            rs,
        ))
    })
}

/// Chains' `RemoveDuplicateResolvedDependencies`: drops entries whose uri, digest and
/// content were seen before, except task/pipeline definitions and StepActions.
fn remove_duplicates(deps: Vec<ResourceDescriptor>) -> Vec<ResourceDescriptor> {
    let mut seen: Vec<(String, BTreeMap<String, String>, Vec<u8>)> = Vec::new();
    let mut out = Vec::with_capacity(deps.len());
    for d in deps {
        let key = (d.uri.clone(), d.digest.clone(), d.content.clone());
        let keep_anyway = d.name == TASK_CONFIG
            || d.name == PIPELINE_CONFIG
            || d.name.starts_with(&format!("{STEP_ACTION_CONFIG}/"));
        if seen.contains(&key) {
            if !keep_anyway {
                continue;
            }
        } else {
            seen.push(key);
        }
        out.push(d);
    }
    out
}

/// Resolved dependencies of a TaskRun (Chains' `resolveddependencies.TaskRun`).
pub(crate) fn task_run(
    tr: &TaskRun,
    opts: ResolveOptions,
) -> Result<Vec<ResourceDescriptor>, Error> {
    let mut deps = Vec::new();
    if let Some(rs) = task_ref_source(tr) {
        deps.push(ref_dependency(TASK_CONFIG, rs));
    }
    let mut own: Vec<ResourceDescriptor> =
        from_materials(step_and_sidecar_images(tr)?, "").collect();
    if opts.with_step_actions {
        own.extend(from_materials(step_action_results(tr), INPUT_RESULT));
        own.extend(remote_step_actions(tr));
    }
    let mats = task_params_and_results(tr);
    own.extend(from_materials(mats.clone(), INPUT_RESULT));
    own.extend(from_materials(mats, PIPELINE_RESOURCE));
    deps.extend(remove_duplicates(own));
    Ok(deps)
}

/// The completed child TaskRuns of each pipeline task (tasks, then finally), in
/// pipeline order (Chains' `GetExecutedTasks`).
pub(crate) fn executed_tasks<'a>(pr: &PipelineRun, children: &'a [TaskRun]) -> Vec<&'a TaskRun> {
    let mut out = Vec::new();
    for (_, task) in pr.pipeline_tasks() {
        out.extend(
            children
                .iter()
                .filter(|tr| tr.pipeline_task_name() == Some(task.name.as_str()))
                .filter(|tr| tr.status.completion_time.is_some()),
        );
    }
    out
}

/// Chains' `FromPipelineParamsAndResults`.
fn pipeline_params_and_results(
    pr: &PipelineRun,
    executed: &[&TaskRun],
    deep: bool,
) -> Vec<Material> {
    let mut mats = Vec::new();
    append_merged(&mut mats, structured_materials(&pr.status.results));
    let (mut commit, mut url) = ("", "");
    if let Some(spec) = &pr.status.pipeline_spec {
        if deep {
            for tr in executed {
                append_merged(&mut mats, task_params_and_results(tr));
            }
        }
        for p in &spec.params {
            let Some(default) = &p.default else { continue };
            if p.name == COMMIT_PARAM {
                commit = string_val(default);
            } else if p.name == URL_PARAM {
                url = string_val(default);
            }
        }
    }
    for p in &pr.spec.params {
        if p.name == COMMIT_PARAM {
            commit = string_val(&p.value);
        } else if p.name == URL_PARAM {
            url = string_val(&p.value);
        }
    }
    for r in &pr.status.results {
        if r.name == COMMIT_PARAM {
            commit = string_val(&r.value);
        }
        if r.name == URL_PARAM {
            url = string_val(&r.value);
        }
    }
    if !commit.is_empty() && !url.is_empty() {
        append_merged(&mut mats, [git_material(commit, &spdx_git(url))]);
    }
    mats
}

/// Resolved dependencies of a PipelineRun (Chains' `resolveddependencies.PipelineRun`).
/// `describe` renders a pipeline task's TaskRun (`slsa-tekton` content).
pub(crate) fn pipeline_run(
    pr: &PipelineRun,
    executed: &[&TaskRun],
    deep: bool,
    opts: ResolveOptions,
    descriptor: TaskDescriptor,
    describe: &dyn Fn(&TaskRun) -> Result<Vec<u8>, Error>,
) -> Result<Vec<ResourceDescriptor>, Error> {
    let mut deps = Vec::new();
    if let Some(rs) = pipeline_ref_source(pr) {
        deps.push(ref_dependency(PIPELINE_CONFIG, rs));
    }
    for tr in executed {
        let rs = task_ref_source(tr);
        match descriptor {
            TaskDescriptor::Slsa => {
                if let Some(rs) = rs {
                    deps.push(ref_dependency(PIPELINE_TASK_CONFIG, rs));
                }
            }
            TaskDescriptor::Tekton => {
                let mut d = rs.map_or_else(ResourceDescriptor::default, |rs| {
                    ref_dependency(PIPELINE_TASK_CONFIG, rs)
                });
                d.name = PIPELINE_TASK_CONFIG.to_owned();
                // Chains logs a TaskRun it cannot encode and skips it entirely.
                let Ok(content) = describe(tr) else { continue };
                d.content = content;
                deps.push(d);
            }
        }
        let mats = step_and_sidecar_images(tr)?;
        if opts.with_step_actions {
            deps.extend(remote_step_actions(tr));
        }
        deps.extend(from_materials(mats, ""));
    }
    if deep && opts.with_step_actions {
        for tr in executed {
            deps.extend(from_materials(step_action_results(tr), INPUT_RESULT));
        }
    }
    deps.extend(from_materials(
        pipeline_params_and_results(pr, executed, deep),
        INPUT_RESULT,
    ));
    Ok(remove_duplicates(deps))
}
