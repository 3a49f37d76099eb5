//! `buildDefinition.resolvedDependencies`: what influenced a run — step and sidecar
//! images, the Task/Pipeline definitions and their remote sources, remote StepActions,
//! and type-hinted inputs (`CHAINS-GIT_*`, `*ARTIFACT_INPUTS`) — in Chains' order and
//! with Chains' de-duplication.

use super::FormatError as Error;
use super::predicate::ResourceDescriptor;
use crate::provenance::extract::{
    Artifact, pipeline_params_and_results_materials, sidecar_image_materials,
    step_actions_results_materials, step_image_materials, task_params_and_results_materials,
};
use crate::tekton::{PipelineRun, RefSource, TaskRun};

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
    mats: Vec<Artifact>,
    name: &str,
) -> impl Iterator<Item = ResourceDescriptor> + '_ {
    mats.into_iter().map(move |m| ResourceDescriptor {
        name: name.to_owned(),
        uri: m.name,
        digest: m.digest,
        ..ResourceDescriptor::default()
    })
}

/// Step images, then sidecar images (each list de-duplicated on its own).
fn step_and_sidecar_images(tr: &TaskRun) -> Result<Vec<Artifact>, Error> {
    let mut mats = step_image_materials(tr)?;
    mats.extend(sidecar_image_materials(tr)?);
    Ok(mats)
}

/// Chains' `fromRemoteStepActions`.
fn remote_step_actions(tr: &TaskRun) -> impl Iterator<Item = ResourceDescriptor> + '_ {
    tr.status.steps.iter().filter_map(|s| {
        let rs = s.provenance.as_ref()?.ref_source.as_ref()?;
        Some(ref_dependency(
            &format!("{STEP_ACTION_CONFIG}/{}", s.name),
            rs,
        ))
    })
}

/// Chains' `RemoveDuplicateResolvedDependencies`: drops entries whose uri, digest and
/// content were seen before, except task/pipeline definitions and StepActions.
fn remove_duplicates(deps: Vec<ResourceDescriptor>) -> Vec<ResourceDescriptor> {
    // The keys seen are exactly those of the entries kept so far (an entry is kept when
    // its key is new, or anyway), so `out` itself is the set: no key is copied.
    let same = |a: &ResourceDescriptor, b: &ResourceDescriptor| {
        a.uri == b.uri && a.digest == b.digest && a.content == b.content
    };
    let mut out: Vec<ResourceDescriptor> = Vec::with_capacity(deps.len());
    for d in deps {
        let keep_anyway = d.name == TASK_CONFIG
            || d.name == PIPELINE_CONFIG
            || d.name
                .strip_prefix(STEP_ACTION_CONFIG)
                .is_some_and(|rest| rest.starts_with('/'));
        if !keep_anyway && out.iter().any(|o| same(o, &d)) {
            continue;
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
    if let Some(rs) = tr.ref_source() {
        deps.push(ref_dependency(TASK_CONFIG, rs));
    }
    let mut own: Vec<ResourceDescriptor> =
        from_materials(step_and_sidecar_images(tr)?, "").collect();
    if opts.with_step_actions {
        own.extend(from_materials(
            step_actions_results_materials(tr),
            INPUT_RESULT,
        ));
        own.extend(remote_step_actions(tr));
    }
    let mats = task_params_and_results_materials(tr);
    own.extend(from_materials(mats.clone(), INPUT_RESULT));
    own.extend(from_materials(mats, PIPELINE_RESOURCE));
    deps.extend(remove_duplicates(own));
    Ok(deps)
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
    if let Some(rs) = pr.ref_source() {
        deps.push(ref_dependency(PIPELINE_CONFIG, rs));
    }
    for tr in executed {
        let rs = tr.ref_source();
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
            deps.extend(from_materials(
                step_actions_results_materials(tr),
                INPUT_RESULT,
            ));
        }
    }
    deps.extend(from_materials(
        pipeline_params_and_results_materials(pr, executed, deep),
        INPUT_RESULT,
    ));
    Ok(remove_duplicates(deps))
}
