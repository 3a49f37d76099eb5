//! Chains' type hinting, shared by all formats: which results of a run name the
//! artifacts it built (subjects) and the ones it consumed (materials).
//!
//! Shared helpers (used by [`super::slsa_v02`] and [`super::slsa_v1`]):
//! - [`Artifact`] and [`append_artifacts`]: Chains' merge of subjects/materials (same
//!   name and one equal digest → one entry).
//! - [`subjects_from_results`]: subjects of the `slsa/v1` format (`*IMAGE_URL`/
//!   `*IMAGE_DIGEST`, `IMAGES`, `*ARTIFACT_URI`/`*ARTIFACT_DIGEST`, `*ARTIFACT_OUTPUTS`);
//!   [`pipeline_subjects`] adds deep inspection of child TaskRuns.
//! - [`subjects_from_build_artifacts`]: subjects of the SLSA v1 formats
//!   (`*ARTIFACT_OUTPUTS` with `isBuildArtifact: "true"`, then images).
//! - [`build_artifact_hint`], [`is_build_artifact`], [`is_oci_image_result`]: result
//!   classification (byproducts).
//! - Materials: [`step_image_materials`], [`sidecar_image_materials`],
//!   [`task_params_and_results_materials`], [`step_actions_results_materials`],
//!   [`pipeline_params_and_results_materials`], [`structured_input_materials`].
//! - Children: [`order_children`], [`task_runs_for`], [`executed_tasks`].
//! - [`parse_digest`] (go-digest), [`parse_oci_digest`] (go-containerregistry's
//!   `name.NewDigest`), [`spdx_git`].
//!
//! Nothing here depends on the order of a run's results: where Chains follows it (or Go
//! map iteration), hallmark sorts, and the place carries a `// Chains:` comment.

use std::collections::BTreeMap;

use crate::tekton::{Param, ParamSpec, ParamValue, PipelineRun, PipelineTask, RunResult, TaskRun};

use super::{FormatError, Subject};

/// Result-name suffix of an image URL.
pub const IMAGE_URL: &str = "IMAGE_URL";
/// Result-name suffix of an image digest.
pub const IMAGE_DIGEST: &str = "IMAGE_DIGEST";
/// Result name listing images (`REPO@sha256:HEX`, comma or newline separated).
pub const IMAGES: &str = "IMAGES";
/// Result-name suffix of an artifact URI.
pub const ARTIFACT_URI: &str = "ARTIFACT_URI";
/// Result-name suffix of an artifact digest.
pub const ARTIFACT_DIGEST: &str = "ARTIFACT_DIGEST";
/// Result-name suffix of structured inputs (`{uri, digest}`).
pub const ARTIFACT_INPUTS: &str = "ARTIFACT_INPUTS";
/// Result-name suffix of structured outputs (`{uri, digest, isBuildArtifact?}`).
pub const ARTIFACT_OUTPUTS: &str = "ARTIFACT_OUTPUTS";
/// Parameter/result naming the source commit.
pub const GIT_COMMIT: &str = "CHAINS-GIT_COMMIT";
/// Parameter/result naming the source repository.
pub const GIT_URL: &str = "CHAINS-GIT_URL";
/// Scheme prefixed to image materials.
pub const OCI_SCHEME: &str = "oci://";
/// Prefix of git material URIs.
pub const GIT_SCHEME_PREFIX: &str = "git+";

/// A subject or material: a name/URI and its digests.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Artifact {
    /// `name` (subjects) or `uri` (materials).
    pub name: String,
    /// Algorithm → hex.
    pub digest: BTreeMap<String, String>,
}

impl Artifact {
    fn one(name: impl Into<String>, alg: impl Into<String>, hex: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            digest: BTreeMap::from([(alg.into(), hex.into())]),
        }
    }
}

impl From<Artifact> for Subject {
    fn from(a: Artifact) -> Self {
        Self {
            name: a.name,
            digest: a.digest,
        }
    }
}

/// Appends `items` to `list` the way Chains does (`AppendMaterials`/`AppendSubjects`):
/// an item with the same name as an entry and one equal digest is merged into that
/// entry (its digests added). As in Go, a digest the item lacks reads as `""`.
pub fn append_artifacts(list: &mut Vec<Artifact>, items: impl IntoIterator<Item = Artifact>) {
    for item in items {
        let same = list.iter_mut().find(|a| {
            a.name == item.name
                && a.digest
                    .iter()
                    .any(|(alg, hex)| item.digest.get(alg).map_or("", String::as_str) == hex)
        });
        match same {
            Some(a) => a.digest.extend(item.digest),
            None => list.push(item),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Digests and image references

/// Chains' `ParseDigest`: `ALG:HEX` with ALG sha256/sha384/sha512 (lowercase hex of
/// the right length) or sha1 (40 lowercase hex). Returns `(alg lowercased, hex trimmed)`.
#[must_use]
pub fn parse_digest(digest: &str) -> Option<(String, String)> {
    let mut parts = digest.split(':');
    let (Some(alg), Some(hex), None) = (parts.next(), parts.next(), parts.next()) else {
        return None;
    };
    let alg = alg.trim().to_ascii_lowercase();
    let hex = hex.trim();
    let len = match alg.as_str() {
        "sha256" => 64,
        "sha384" => 96,
        "sha512" => 128,
        "sha1" => 40,
        _ => return None,
    };
    (hex.len() == len && is_lower_hex(hex)).then(|| (alg, hex.to_owned()))
}

/// go-containerregistry's `name.NewDigest(s)` (default, weak validation): the
/// normalised `Repository.Name()` (`ubuntu` → `index.docker.io/library/ubuntu`) and the
/// sha256 hex, or `None` when `s` is not `REPO[:TAG]@sha256:HEX`.
#[must_use]
pub fn parse_oci_digest(s: &str) -> Option<(String, String)> {
    let mut parts = s.split('@');
    let (Some(base), Some(dig), None) = (parts.next(), parts.next(), parts.next()) else {
        return None;
    };
    let hex = dig.strip_prefix("sha256:")?;
    if hex.len() != 64 || !is_lower_hex(hex) {
        return None;
    }
    // A tag is dropped when `base` parses as REPO:TAG.
    let tagged = tag_repository(base);
    let base = tagged.as_deref().unwrap_or(base);
    Some((repository_name(base)?, hex.to_owned()))
}

fn is_lower_hex(s: &str) -> bool {
    s.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'))
}

/// `name.NewTag(name).Repository.Name()`.
fn tag_repository(name: &str) -> Option<String> {
    // The text before the last `:` is the head's parts joined again: borrow it.
    let mut base = name;
    if let Some((head, tag)) = name.rsplit_once(':')
        && !tag.contains('/')
    {
        if tag.is_empty()
            || tag.len() > 128
            || !tag
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.'))
        {
            return None;
        }
        base = head;
    }
    repository_name(base)
}

/// `name.NewRepository(name).Name()`: `REGISTRY/REPO`, Docker Hub by default.
fn repository_name(name: &str) -> Option<String> {
    const DOCKER_HUB: &str = "index.docker.io";
    if name.is_empty() {
        return None;
    }
    // The first part is a registry only when it has a `.` or `:` (so `localhost/x`, as
    // in ggcr, is the Docker Hub repository `localhost/x`).
    let (registry, repo) = match name.split_once('/') {
        Some((reg, repo)) if reg.contains(['.', ':']) => (reg, repo),
        _ => ("", name),
    };
    // ggcr's checkRepository: 2 to 255 characters of [a-z0-9_-./].
    if !(2..=255).contains(&repo.chars().count())
        || !repo
            .bytes()
            .all(|c| matches!(c, b'a'..=b'z' | b'0'..=b'9' | b'_' | b'-' | b'.' | b'/'))
        || !valid_registry(registry)
    {
        return None;
    }
    let registry = match registry {
        "" | "docker.io" => DOCKER_HUB,
        r => r,
    };
    let library = registry == DOCKER_HUB && !repo.contains('/');
    let mut out = String::with_capacity(registry.len() + repo.len() + 9);
    out.push_str(registry);
    out.push_str(if library { "/library/" } else { "/" });
    out.push_str(repo);
    Some(out)
}

/// Approximates Go's `url.Parse("//"+name).Host == name`: a host, optional port, no
/// path, query, fragment or user info.
fn valid_registry(name: &str) -> bool {
    if name.is_empty() {
        return true;
    }
    if name.contains(['/', '?', '#', '@', ' ', '%']) {
        return false;
    }
    if let Some(rest) = name.strip_prefix('[') {
        // IPv6 literal, optional port.
        return match rest.split_once(']') {
            Some((_, "")) => true,
            Some((_, port)) => port
                .strip_prefix(':')
                .is_some_and(|p| p.bytes().all(|b| b.is_ascii_digit())),
            None => false,
        };
    }
    match name.rsplit_once(':') {
        Some((host, port)) => {
            (!host.is_empty() || name.starts_with(':'))
                && !host.contains(':')
                && port.bytes().all(|b| b.is_ascii_digit())
        }
        None => true,
    }
}

/// Chains' `SPDXGit`: `git+URL.git` (prefix and suffix added when missing).
#[must_use]
pub fn spdx_git(url: &str) -> String {
    let mut url = if url.starts_with(GIT_SCHEME_PREFIX) {
        url.to_owned()
    } else {
        format!("{GIT_SCHEME_PREFIX}{url}")
    };
    if !url.ends_with(".git") {
        url.push_str(".git");
    }
    url
}

// ---------------------------------------------------------------------------------------
// Results → artifacts

/// Pairs `<marker>URL_SUFFIX` / `<marker>DIGEST_SUFFIX` string results by marker
/// (values trimmed; empty values ignored). Returns `(uri, digest)` pairs, sorted.
fn paired(results: &[RunResult], uri_suffix: &str, digest_suffix: &str) -> Vec<(String, String)> {
    let mut partials: BTreeMap<&str, (String, String)> = BTreeMap::new();
    for r in results {
        let value = r.value.as_str().trim();
        if value.is_empty() {
            continue;
        }
        if let Some(marker) = r.name.strip_suffix(uri_suffix) {
            partials.entry(marker).or_default().0 = value.to_owned();
        }
        if let Some(marker) = r.name.strip_suffix(digest_suffix) {
            partials.entry(marker).or_default().1 = value.to_owned();
        }
    }
    // Chains: pairs come out in Go map iteration order (random); hallmark sorts by marker.
    partials
        .into_values()
        .filter(|(u, d)| !u.is_empty() && !d.is_empty())
        .collect()
}

/// `{uri, digest}` of an object result that is a valid structured artifact.
fn structured(r: &RunResult) -> Option<(&str, &str)> {
    let obj = r.value.as_object()?;
    let uri = obj.get("uri").map(String::as_str).unwrap_or_default();
    let digest = obj.get("digest").map(String::as_str).unwrap_or_default();
    if uri.is_empty() || digest.is_empty() || parse_digest(digest).is_none() {
        return None;
    }
    Some((uri, digest))
}

/// Structured `*ARTIFACT_INPUTS` / `*ARTIFACT_OUTPUTS` results: `(uri, digest)`.
fn structured_targets<'a>(results: &'a [RunResult], suffix: &str) -> Vec<(&'a str, &'a str)> {
    results
        .iter()
        .filter(|r| r.name.ends_with(suffix))
        .filter_map(structured)
        .collect()
}

/// Chains' `IsBuildArtifact`: `Some(true)` for a `*ARTIFACT_OUTPUTS` object marked
/// `isBuildArtifact: "true"` with a valid `uri` and `digest`, `Some(false)` for any
/// other result, and `None` (Chains' error) for a `*ARTIFACT_OUTPUTS` result that is not
/// an object, or is marked but invalid.
#[must_use]
pub fn build_artifact_hint(r: &RunResult) -> Option<bool> {
    if !r.name.ends_with(ARTIFACT_OUTPUTS) {
        return Some(false);
    }
    let obj = r.value.as_object()?;
    if obj.get("isBuildArtifact").map(String::as_str) != Some("true") {
        return Some(false);
    }
    structured(r).map(|_| true)
}

/// Whether a result is a build artifact: `*ARTIFACT_OUTPUTS`, an object with
/// `isBuildArtifact: "true"` and a valid `uri` and `digest`.
#[must_use]
pub fn is_build_artifact(r: &RunResult) -> bool {
    build_artifact_hint(r) == Some(true)
}

/// Whether a result carries image type hints (`*IMAGE_URL`, `*IMAGE_DIGEST`, `IMAGES`),
/// which SLSA v1 byproducts leave out.
#[must_use]
pub fn is_oci_image_result(name: &str) -> bool {
    name.ends_with(IMAGE_URL) || name.ends_with(IMAGE_DIGEST) || name == IMAGES
}

/// Build artifacts among `results`: `(uri, digest)`.
fn build_artifacts(results: &[RunResult]) -> Vec<(&str, &str)> {
    results
        .iter()
        .filter(|r| is_build_artifact(r))
        .filter_map(structured)
        .collect()
}

/// Chains' `ExtractOCIImagesFromResults`: image subjects (normalised repository,
/// `sha256`), deduplicated by reference.
fn oci_images(results: &[RunResult]) -> Vec<Artifact> {
    let mut out: Vec<Artifact> = Vec::new();
    let mut push = |reference: &str| {
        // De-duplicated on REPO@sha256:HEX: `out` holds exactly the pairs seen.
        if let Some((repo, hex)) = parse_oci_digest(reference)
            && !out
                .iter()
                .any(|a| a.name == repo && a.digest.get("sha256") == Some(&hex))
        {
            out.push(Artifact::one(repo, "sha256", hex));
        }
    };
    for (uri, digest) in paired(results, IMAGE_URL, IMAGE_DIGEST) {
        push(&format!("{uri}@{digest}"));
    }
    for r in results.iter().filter(|r| r.name == IMAGES) {
        for img in r.value.as_str().split(['\n', ',']) {
            let img = img.trim();
            if !img.is_empty() {
                push(img);
            }
        }
    }
    for (uri, digest) in build_artifacts(results) {
        push(&format!("{uri}@{digest}"));
    }
    out
}

/// `ALG:HEX` split as Chains splits it for subjects (the text as written).
fn split_digest(digest: &str) -> Option<(&str, &str)> {
    let mut parts = digest.split(':');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(alg), Some(hex), None) => Some((alg, hex)),
        _ => None,
    }
}

/// The subjects a run's results name, as the `slsa/v1` format reads them: images
/// (`*IMAGE_URL`/`*IMAGE_DIGEST`, `IMAGES`, image build artifacts), then
/// `*ARTIFACT_URI`/`*ARTIFACT_DIGEST` pairs, then structured `*ARTIFACT_OUTPUTS`.
#[must_use]
pub fn subjects_from_results(results: &[RunResult]) -> Vec<Artifact> {
    let mut subjects = Vec::new();
    append_artifacts(&mut subjects, oci_images(results));
    let signables = paired(results, ARTIFACT_URI, ARTIFACT_DIGEST)
        .into_iter()
        .filter(|(_, d)| parse_digest(d).is_some())
        .filter_map(|(uri, d)| {
            split_digest(&d).map(|(alg, hex)| Artifact::one(uri.clone(), alg, hex))
        });
    append_artifacts(&mut subjects, signables.collect::<Vec<_>>());
    let outputs = structured_targets(results, ARTIFACT_OUTPUTS)
        .into_iter()
        .filter_map(|(uri, d)| split_digest(d).map(|(alg, hex)| Artifact::one(uri, alg, hex)));
    append_artifacts(&mut subjects, outputs.collect::<Vec<_>>());
    subjects
}

/// The subjects of a PipelineRun in the `slsa/v1` format: its own results' subjects,
/// preceded (with deep inspection) by those of every completed child TaskRun.
#[must_use]
pub fn pipeline_subjects(
    pr: &PipelineRun,
    children: &[TaskRun],
    deep_inspection: bool,
) -> Vec<Artifact> {
    let own = subjects_from_results(&pr.status.results);
    if !deep_inspection {
        return own;
    }
    let mut out = Vec::new();
    for tr in executed_tasks(pr, children) {
        append_artifacts(&mut out, subjects_from_results(&tr.status.results));
    }
    append_artifacts(&mut out, own);
    out
}

/// The subjects of the SLSA v1 formats (Chains' `SubjectsFromBuildArtifact`): build
/// artifacts (any digest algorithm), then images.
#[must_use]
pub fn subjects_from_build_artifacts(results: &[RunResult]) -> Vec<Artifact> {
    let mut subjects = Vec::new();
    let arts = build_artifacts(results)
        .into_iter()
        .filter_map(|(uri, d)| split_digest(d).map(|(alg, hex)| Artifact::one(uri, alg, hex)));
    append_artifacts(&mut subjects, arts.collect::<Vec<_>>());
    append_artifacts(&mut subjects, oci_images(results));
    subjects
}

// ---------------------------------------------------------------------------------------
// Materials

/// Structured `*ARTIFACT_INPUTS` results as materials (Chains'
/// `RetrieveMaterialsFromStructuredResults`: algorithm lowercased, hex trimmed),
/// sorted.
#[must_use]
pub fn structured_input_materials(results: &[RunResult]) -> Vec<Artifact> {
    let mut mats: Vec<Artifact> = structured_targets(results, ARTIFACT_INPUTS)
        .into_iter()
        .filter_map(|(uri, d)| parse_digest(d).map(|(alg, hex)| Artifact::one(uri, alg, hex)))
        .collect();
    // Chains: these follow the order of the results; hallmark sorts them (by URI, then
    // digest) so that the order of results, which carries no meaning, cannot change the
    // statement (docs/compatibility.md D5: slsa/v1 materials, SLSA v1
    // resolvedDependencies).
    mats.sort();
    mats
}

fn image_material(image_id: &str, path: impl FnOnce() -> String) -> Result<Artifact, FormatError> {
    let err = || FormatError::ImageId {
        path: path(),
        image_id: image_id.to_owned(),
    };
    let mut parts = image_id.split('@');
    let (Some(uri), Some(digest), None) = (parts.next(), parts.next(), parts.next()) else {
        return Err(err());
    };
    let Some((alg, hex)) = split_digest(digest) else {
        return Err(err());
    };
    let uri = uri.strip_prefix("docker-pullable://").unwrap_or(uri);
    Ok(Artifact::one(format!("{OCI_SCHEME}{uri}"), alg, hex))
}

/// Image IDs of `status.FIELD` as materials, each list de-duplicated on its own.
fn image_materials<'a>(
    tr: &TaskRun,
    field: &str,
    image_ids: impl IntoIterator<Item = &'a str>,
) -> Result<Vec<Artifact>, FormatError> {
    let mut out = Vec::new();
    for (i, id) in image_ids.into_iter().enumerate() {
        let m = image_material(id, || {
            format!("TaskRun {} status.{field}[{i}].imageID", tr.name())
        })?;
        append_artifacts(&mut out, [m]);
    }
    Ok(out)
}

/// The images of a TaskRun's steps, as materials (`oci://REPO`, digest).
///
/// # Errors
///
/// [`FormatError::ImageId`] when an image ID is not `IMAGE@ALG:HEX` (as in Chains).
pub fn step_image_materials(tr: &TaskRun) -> Result<Vec<Artifact>, FormatError> {
    let ids = tr.status.steps.iter().map(|s| s.image_id.as_str());
    image_materials(tr, "steps", ids)
}

/// The images of a TaskRun's sidecars, as materials.
///
/// # Errors
///
/// [`FormatError::ImageId`] when an image ID is not `IMAGE@ALG:HEX` (as in Chains).
pub fn sidecar_image_materials(tr: &TaskRun) -> Result<Vec<Artifact>, FormatError> {
    let ids = tr.status.sidecars.iter().map(|s| s.image_id.as_str());
    image_materials(tr, "sidecars", ids)
}

/// The `CHAINS-GIT_COMMIT` / `CHAINS-GIT_URL` values read so far (a later one wins).
#[derive(Default)]
struct GitHints<'a> {
    commit: &'a str,
    url: &'a str,
}

impl<'a> GitHints<'a> {
    fn see(&mut self, name: &str, value: &'a ParamValue) {
        match name {
            GIT_COMMIT => self.commit = value.as_str(),
            GIT_URL => self.url = value.as_str(),
            _ => {}
        }
    }

    fn defaults(&mut self, specs: &'a [ParamSpec]) {
        for p in specs {
            if let Some(d) = &p.default {
                self.see(&p.name, d);
            }
        }
    }

    fn params(&mut self, params: &'a [Param]) {
        params.iter().for_each(|p| self.see(&p.name, &p.value));
    }

    fn results(&mut self, results: &'a [RunResult]) {
        results.iter().for_each(|r| self.see(&r.name, &r.value));
    }

    /// The git material, when there is a commit. Chains turns an empty URL into
    /// `git+.git`, so only the commit decides.
    fn material(&self) -> Option<Artifact> {
        (!self.commit.is_empty()).then(|| Artifact::one(spdx_git(self.url), "sha1", self.commit))
    }
}

/// Chains' `FromTaskParamsAndResults`: the git source named by `CHAINS-GIT_COMMIT`/
/// `CHAINS-GIT_URL` (Task defaults, then TaskRun params, then results), then
/// structured `*ARTIFACT_INPUTS` results.
#[must_use]
pub fn task_params_and_results_materials(tr: &TaskRun) -> Vec<Artifact> {
    let mut git = GitHints::default();
    if let Some(ts) = &tr.status.task_spec {
        git.defaults(&ts.params);
    }
    git.params(&tr.spec.params);
    git.results(&tr.status.results);
    let mut mats = Vec::new();
    append_artifacts(&mut mats, git.material());
    append_artifacts(&mut mats, structured_input_materials(&tr.status.results));
    mats
}

/// Chains' `FromStepActionsResults`: per step, the git source in its results, then
/// structured `*ARTIFACT_INPUTS` step results.
#[must_use]
pub fn step_actions_results_materials(tr: &TaskRun) -> Vec<Artifact> {
    let mut mats = Vec::new();
    for s in &tr.status.steps {
        let mut git = GitHints::default();
        git.results(&s.results);
        append_artifacts(&mut mats, git.material());
    }
    let step_results: Vec<RunResult> = tr.step_results().cloned().collect();
    append_artifacts(&mut mats, structured_input_materials(&step_results));
    mats
}

/// Chains' `FromPipelineParamsAndResults`: structured `*ARTIFACT_INPUTS` pipeline
/// results, (with deep inspection) the task materials of every completed child
/// (`executed`, from [`executed_tasks`]), then the git source named by the Pipeline
/// defaults, PipelineRun params and results (here Chains also wants a URL).
#[must_use]
pub fn pipeline_params_and_results_materials(
    pr: &PipelineRun,
    executed: &[&TaskRun],
    deep_inspection: bool,
) -> Vec<Artifact> {
    let mut mats = Vec::new();
    append_artifacts(&mut mats, structured_input_materials(&pr.status.results));
    let mut git = GitHints::default();
    if let Some(ps) = &pr.status.pipeline_spec {
        if deep_inspection {
            for tr in executed {
                append_artifacts(&mut mats, task_params_and_results_materials(tr));
            }
        }
        git.defaults(&ps.params);
    }
    git.params(&pr.spec.params);
    git.results(&pr.status.results);
    if !git.url.is_empty() {
        append_artifacts(&mut mats, git.material());
    }
    mats
}

// ---------------------------------------------------------------------------------------
// Children

/// The children in Chains' order: those named in `status.childReferences` in that
/// order, then the others in the order given; a repeated name is dropped.
#[must_use]
pub fn order_children(pr: &PipelineRun, children: &[TaskRun]) -> Vec<TaskRun> {
    // Chains: children come in the order the controller fetched them (childReferences,
    // or AppendTaskRun order in its tests); hallmark uses childReferences, then the
    // order given, so the statement never depends on anything but the input.
    let rank: BTreeMap<&str, usize> = pr
        .status
        .child_references
        .iter()
        .enumerate()
        .map(|(i, c)| (c.name.as_str(), i))
        .collect();
    let mut out: Vec<TaskRun> = children.to_vec();
    out.sort_by_key(|tr| rank.get(tr.name()).copied().unwrap_or(usize::MAX));
    let mut seen = std::collections::BTreeSet::new();
    out.retain(|tr| tr.name().is_empty() || seen.insert(tr.name().to_owned()));
    out
}

/// Whether [`order_children`] would return `children` unchanged: ranks by
/// `status.childReferences` never decrease and no non-empty name repeats.
/// Lets the formatter borrow the children instead of copying them.
pub(crate) fn children_in_order(pr: &PipelineRun, children: &[TaskRun]) -> bool {
    let refs = &pr.status.child_references;
    let rank = |name: &str| {
        refs.iter()
            .rposition(|c| c.name == name)
            .unwrap_or(usize::MAX)
    };
    let mut last = 0usize;
    for (i, tr) in children.iter().enumerate() {
        let r = rank(tr.name());
        if r < last {
            return false;
        }
        last = r;
        let name = tr.name();
        if !name.is_empty() && children[..i].iter().any(|c| c.name() == name) {
            return false;
        }
    }
    true
}

/// The children that ran `task` (Chains' `GetTaskRunsFromTask`).
pub fn task_runs_for<'a>(
    task: &'a PipelineTask,
    children: &'a [TaskRun],
) -> impl Iterator<Item = &'a TaskRun> {
    children
        .iter()
        .filter(move |tr| tr.pipeline_task_name() == Some(task.name.as_str()))
}

/// The completed children, by pipeline task then finally task (Chains'
/// `GetExecutedTasks`).
#[must_use]
pub fn executed_tasks<'a>(pr: &'a PipelineRun, children: &'a [TaskRun]) -> Vec<&'a TaskRun> {
    pr.pipeline_tasks()
        .flat_map(|(_, t)| task_runs_for(t, children))
        .filter(|tr| tr.status.completion_time.is_some())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn res(name: &str, value: ParamValue) -> RunResult {
        RunResult {
            name: name.into(),
            type_: None,
            value,
        }
    }
    fn s(v: &str) -> ParamValue {
        ParamValue::String(v.into())
    }
    fn obj(kv: &[(&str, &str)]) -> ParamValue {
        ParamValue::Object(
            kv.iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        )
    }
    const HEX: &str = "827521c857fdcd4374f4da5442fbae2edb01e7fbae285c3ec15673d4c1daecb7";

    #[test]
    fn oci_names_normalised_like_ggcr() {
        assert_eq!(
            parse_oci_digest(&format!("ubuntu@sha256:{HEX}"))
                .map(|r| r.0)
                .as_deref(),
            Some("index.docker.io/library/ubuntu")
        );
        assert_eq!(
            parse_oci_digest(&format!("gcr.io/a/b:v1@sha256:{HEX}"))
                .map(|r| r.0)
                .as_deref(),
            Some("gcr.io/a/b")
        );
        assert_eq!(
            parse_oci_digest(&format!("localhost:5000/xy@sha256:{HEX}"))
                .map(|r| r.0)
                .as_deref(),
            Some("localhost:5000/xy")
        );
        assert!(parse_oci_digest(&format!("Gcr.io/A@sha256:{HEX}")).is_none());
        assert!(parse_oci_digest("gcr.io/a@sha256:abc").is_none());
        assert!(parse_oci_digest(&format!("gcr.io/a@sha512:{HEX}")).is_none());
    }

    #[test]
    fn image_names_like_ggcr() {
        let name = |s: &str| parse_oci_digest(&format!("{s}@sha256:{HEX}")).map(|d| d.0);
        assert_eq!(name("abc").as_deref(), Some("index.docker.io/library/abc"));
        assert_eq!(name("gcr.io/foo/bar").as_deref(), Some("gcr.io/foo/bar"));
        assert_eq!(
            name("docker.io/foo").as_deref(),
            Some("index.docker.io/library/foo")
        );
        assert_eq!(
            name("user/repo").as_deref(),
            Some("index.docker.io/user/repo")
        );
        assert_eq!(name("[::1]:5000/foo").as_deref(), Some("[::1]:5000/foo"));
        assert_eq!(
            name("localhost/foo").as_deref(),
            Some("index.docker.io/localhost/foo")
        );
        // ggcr's checkRepository wants 2 to 255 characters.
        assert_eq!(name("a"), None);
        assert_eq!(name("Upper/case"), None);
        assert_eq!(name("pkg:deb/debian/curl"), None);
        assert_eq!(name("gcr.io:x/foo"), None);
    }

    #[test]
    fn digests_like_chains() {
        assert_eq!(
            parse_digest(&format!("SHA256:{HEX}")),
            Some(("sha256".into(), HEX.into()))
        );
        assert_eq!(parse_digest("sha256:"), None);
        assert_eq!(parse_digest("md5:abc"), None);
        assert_eq!(parse_digest(&format!("sha256:{HEX}:x")), None);
        assert!(parse_digest("sha1:7f2f46e1b97df36b2b82d1b1d87c81b8b3d21601").is_some());
    }

    #[test]
    fn build_artifact_hints() {
        let out = |v: ParamValue| res("x-ARTIFACT_OUTPUTS", v);
        let digest = format!("sha256:{HEX}");
        let marked = obj(&[
            ("uri", "u"),
            ("digest", &digest),
            ("isBuildArtifact", "true"),
        ]);
        assert_eq!(build_artifact_hint(&out(marked)), Some(true));
        let unmarked = obj(&[("uri", "u"), ("digest", &digest)]);
        assert_eq!(build_artifact_hint(&out(unmarked)), Some(false));
        let invalid = obj(&[
            ("uri", "u"),
            ("digest", "sha256:"),
            ("isBuildArtifact", "true"),
        ]);
        assert_eq!(build_artifact_hint(&out(invalid)), None);
        assert_eq!(build_artifact_hint(&out(s("text"))), None);
        assert_eq!(build_artifact_hint(&res("IMAGE_URL", s("x"))), Some(false));
    }

    #[test]
    fn structured_inputs_ignore_result_order() {
        let input = |name: &str, uri: &str| {
            res(
                name,
                obj(&[("uri", uri), ("digest", &format!("sha256:{HEX}"))]),
            )
        };
        let mut results = vec![
            input("b-ARTIFACT_INPUTS", "z"),
            input("a-ARTIFACT_INPUTS", "y"),
        ];
        let first = structured_input_materials(&results);
        results.reverse();
        assert_eq!(first, structured_input_materials(&results));
        assert_eq!(first[0].name, "y");
    }

    #[test]
    fn type_hints_give_subjects() {
        let results = vec![
            res("IMAGE_URL", s("gcr.io/my/image")),
            res("IMAGE_DIGEST", s(&format!("sha256:{HEX}"))),
            res(
                "IMAGES",
                s(&format!(
                    "gcr.io/ab@sha256:{HEX},\n gcr.io/my/image@sha256:{HEX}"
                )),
            ),
            res("x-ARTIFACT_URI", s("pkg:npm/x")),
            res("x-ARTIFACT_DIGEST", s(&format!("sha256:{HEX}"))),
            res(
                "o-ARTIFACT_OUTPUTS",
                obj(&[("uri", "gcr.io/out"), ("digest", &format!("sha256:{HEX}"))]),
            ),
            res(
                "bad-ARTIFACT_OUTPUTS",
                obj(&[("uri", "gcr.io/out2"), ("digest", "sha256:")]),
            ),
        ];
        let names: Vec<String> = subjects_from_results(&results)
            .into_iter()
            .map(|a| a.name)
            .collect();
        assert_eq!(
            names,
            ["gcr.io/my/image", "gcr.io/ab", "pkg:npm/x", "gcr.io/out"]
        );
    }

    #[test]
    fn append_merges_on_equal_digest() {
        let mut list = vec![Artifact::one("a", "sha256", "1")];
        append_artifacts(
            &mut list,
            [Artifact {
                name: "a".into(),
                digest: BTreeMap::from([
                    ("sha256".into(), "1".into()),
                    ("sha512".into(), "2".into()),
                ]),
            }],
        );
        append_artifacts(&mut list, [Artifact::one("a", "sha256", "3")]);
        assert_eq!(list.len(), 2);
        assert_eq!(list[0].digest.len(), 2);
    }

    #[test]
    fn spdx() {
        assert_eq!(spdx_git("https://x/y"), "git+https://x/y.git");
        assert_eq!(spdx_git("git+https://x/y.git"), "git+https://x/y.git");
        assert_eq!(spdx_git(""), "git+.git");
    }
}
