//! A Tekton Pipeline as an in-toto layout: [`parse_pipeline`] reads the YAML into a
//! [`Pipeline`] (tasks, `runAfter`, result references, workspaces), and [`derive()`] makes
//! the layout. Pure: nothing is read or signed here.
//!
//! How the pipeline maps onto the layout:
//! - One step per pipeline task, `spec.tasks` then `spec.finally`, named as the task.
//! - Every step has the same functionaries ([`Functionaries`]): key ids in `pubkeys` (the
//!   keys in `keys`), keyless identities in `cert_constraints`, and the threshold.
//! - Material rules of task T, from its edges to earlier tasks X:
//!   - a *data* edge: T reads a result of X (`$(tasks.X.results.Y)` in its params, `when`
//!     expressions or matrix), or X is the last task before T to use a workspace T uses
//!     (ordered by `runAfter` and result references; `finally` tasks come after every
//!     task): `MATCH * WITH PRODUCTS FROM X`;
//!   - an *order* edge: `runAfter: [X]` without a data edge: `MATCH * WITH MATERIALS FROM X`
//!     (T worked on what X worked on);
//!   - then `ALLOW <pattern>` for each allowed extra material (`--allow-material`), then
//!     `DISALLOW *`: every other input of T is refused.
//!   - A task without edges reads only the pipeline's inputs: `ALLOW *`.
//! - Product rules of every task: `CREATE *`, `DISALLOW *`: a task's products are new; one
//!   of its materials passed on unchanged as a product is an unintended retention.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::{ArtifactKind, ArtifactRule, CertConstraint, Key, Layout, LayoutError, Step};
use crate::signing::PublicKey;

/// One pipeline task, as far as the layout needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PipelineTask {
    /// `name`.
    pub name: String,
    /// Whether it is a `finally` task.
    pub finally: bool,
    /// `runAfter`.
    pub run_after: Vec<String>,
    /// The tasks whose results it references (`$(tasks.X.results.Y)`).
    pub reads_results_of: BTreeSet<String>,
    /// The pipeline workspaces it binds (`workspaces[].workspace`).
    pub workspaces: BTreeSet<String>,
}

/// A Tekton Pipeline: its name and tasks, in order (`tasks` then `finally`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pipeline {
    /// `metadata.name` (or `generateName`).
    pub name: String,
    /// The tasks.
    pub tasks: Vec<PipelineTask>,
}

/// Who may attest each step.
#[derive(Debug, Clone, Default)]
pub struct Functionaries {
    /// Functionary public keys.
    pub keys: Vec<PublicKey>,
    /// Keyless functionaries: (certificate SAN, OIDC issuer).
    pub identities: Vec<(String, Option<String>)>,
    /// How many distinct functionaries must attest each step.
    pub threshold: u32,
}

/// What [`derive()`] needs besides the pipeline.
#[derive(Debug, Clone)]
pub struct Options {
    /// When the layout expires.
    pub expires: jiff::Timestamp,
    /// The functionaries of every step.
    pub functionaries: Functionaries,
    /// Extra material patterns allowed in steps that have upstream steps.
    pub allow_materials: Vec<String>,
}

fn str_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    path.iter().try_fold(v, |v, k| v.get(k))?.as_str()
}

/// Every `tasks.X.results` reference in the strings under `v`: the task names X.
fn result_refs(v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::String(s) => {
            let mut rest = s.as_str();
            while let Some(at) = rest.find("tasks.") {
                rest = &rest[at + "tasks.".len()..];
                let end = rest.find('.').unwrap_or(rest.len());
                let (name, tail) = rest.split_at(end);
                if tail.starts_with(".results.") && !name.is_empty() {
                    out.insert(name.to_owned());
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|x| result_refs(x, out)),
        Value::Object(m) => m.values().for_each(|x| result_refs(x, out)),
        _ => {}
    }
}

fn task(v: &Value, finally: bool) -> Result<PipelineTask, LayoutError> {
    let name = str_at(v, &["name"])
        .filter(|n| !n.is_empty())
        .ok_or_else(|| LayoutError::NotAPipeline("a task without a name".into()))?
        .to_owned();
    let strings = |key: &str| -> Vec<String> {
        v.get(key)
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut reads = BTreeSet::new();
    for key in ["params", "when", "matrix"] {
        if let Some(x) = v.get(key) {
            result_refs(x, &mut reads);
        }
    }
    let workspaces = v
        .get("workspaces")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|w| str_at(w, &["workspace"]).or_else(|| str_at(w, &["name"])))
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    Ok(PipelineTask {
        run_after: strings("runAfter"),
        reads_results_of: reads,
        workspaces,
        finally,
        name,
    })
}

/// Parse a Tekton `Pipeline` (`tekton.dev/v1` or `v1beta1`, YAML or JSON), or a
/// `PipelineRun` with an inline `spec.pipelineSpec`.
///
/// # Errors
///
/// [`LayoutError::Yaml`] for malformed YAML; [`LayoutError::NotAPipeline`] for another
/// kind, no tasks, a task without a name or named twice, or a `runAfter` or result
/// reference naming no task of the pipeline.
pub fn parse_pipeline(bytes: &[u8]) -> Result<Pipeline, LayoutError> {
    let doc: Value = serde_yaml_ng::from_slice(bytes).map_err(LayoutError::Yaml)?;
    let api = str_at(&doc, &["apiVersion"]).unwrap_or_default();
    if !api.starts_with("tekton.dev/") {
        return Err(LayoutError::NotAPipeline(format!(
            "apiVersion {api:?} is not tekton.dev"
        )));
    }
    let spec = match str_at(&doc, &["kind"]) {
        Some("Pipeline") => doc.get("spec"),
        Some("PipelineRun") => doc.get("spec").and_then(|s| s.get("pipelineSpec")),
        other => {
            return Err(LayoutError::NotAPipeline(format!(
                "kind {other:?} is not Pipeline"
            )));
        }
    }
    .ok_or_else(|| LayoutError::NotAPipeline("no pipeline spec".into()))?;
    let name = str_at(&doc, &["metadata", "name"])
        .or_else(|| str_at(&doc, &["metadata", "generateName"]))
        .unwrap_or_default()
        .to_owned();
    let mut tasks = Vec::new();
    for (key, finally) in [("tasks", false), ("finally", true)] {
        if let Some(list) = spec.get(key).and_then(Value::as_array) {
            for t in list {
                tasks.push(task(t, finally)?);
            }
        }
    }
    if tasks.is_empty() {
        return Err(LayoutError::NotAPipeline(
            "the pipeline has no tasks".into(),
        ));
    }
    let names: BTreeSet<&str> = tasks.iter().map(|t| t.name.as_str()).collect();
    if names.len() != tasks.len() {
        return Err(LayoutError::NotAPipeline(
            "a task name is used twice".into(),
        ));
    }
    for t in &tasks {
        for x in t.run_after.iter().chain(&t.reads_results_of) {
            if !names.contains(x.as_str()) || x == &t.name {
                return Err(LayoutError::NotAPipeline(format!(
                    "task {:?} refers to task {x:?}, which is not another task of the pipeline",
                    t.name
                )));
            }
        }
    }
    Ok(Pipeline { name, tasks })
}

/// The tasks that run before each task (transitively): through `runAfter` and result
/// references; `finally` tasks after every other task.
fn ancestors(p: &Pipeline) -> BTreeMap<&str, BTreeSet<&str>> {
    let direct: BTreeMap<&str, BTreeSet<&str>> = p
        .tasks
        .iter()
        .map(|t| {
            let mut d: BTreeSet<&str> = t
                .run_after
                .iter()
                .chain(&t.reads_results_of)
                .map(String::as_str)
                .collect();
            if t.finally {
                d.extend(
                    p.tasks
                        .iter()
                        .filter(|x| !x.finally)
                        .map(|x| x.name.as_str()),
                );
            }
            (t.name.as_str(), d)
        })
        .collect();
    let mut out = BTreeMap::new();
    for t in &p.tasks {
        let mut seen = BTreeSet::new();
        let mut todo: Vec<&str> = direct
            .get(t.name.as_str())
            .into_iter()
            .flatten()
            .copied()
            .collect();
        while let Some(x) = todo.pop() {
            if x != t.name && seen.insert(x) {
                todo.extend(direct.get(x).into_iter().flatten().copied());
            }
        }
        out.insert(t.name.as_str(), seen);
    }
    out
}

/// The layout of `pipeline` (see the module docs for the mapping).
///
/// # Errors
///
/// [`LayoutError::Invalid`] without functionaries, or with a threshold of 0 or above the
/// number of functionaries.
pub fn derive(pipeline: &Pipeline, opts: &Options) -> Result<Layout, LayoutError> {
    let f = &opts.functionaries;
    let count = f.keys.len() + f.identities.len();
    if count == 0 {
        return Err(LayoutError::Invalid(
            "no functionary: give a functionary key or identity".into(),
        ));
    }
    if f.threshold == 0 || f.threshold as usize > count {
        return Err(LayoutError::Invalid(format!(
            "threshold {} with {count} functionar{}",
            f.threshold,
            if count == 1 { "y" } else { "ies" }
        )));
    }
    let keys: BTreeMap<String, Key> = f
        .keys
        .iter()
        .map(Key::from_public_key)
        .map(|k| (k.keyid.clone(), k))
        .collect();
    let pubkeys: Vec<String> = keys.keys().cloned().collect();
    let mut cert_constraints: Vec<CertConstraint> = f
        .identities
        .iter()
        .map(|(san, iss)| CertConstraint::for_identity(san, iss.as_deref()))
        .collect();
    cert_constraints.dedup();

    let before = ancestors(pipeline);
    let empty = BTreeSet::new();
    let mut steps = Vec::with_capacity(pipeline.tasks.len());
    for t in &pipeline.tasks {
        let mine = before.get(t.name.as_str()).unwrap_or(&empty);
        let mut data: BTreeSet<&str> = t.reads_results_of.iter().map(String::as_str).collect();
        for w in &t.workspaces {
            // The users of `w` that run before `t`, minus those another such user follows.
            let users: Vec<&str> = pipeline
                .tasks
                .iter()
                .filter(|x| x.workspaces.contains(w) && mine.contains(x.name.as_str()))
                .map(|x| x.name.as_str())
                .collect();
            for x in &users {
                let superseded = users
                    .iter()
                    .any(|y| y != x && before.get(y).is_some_and(|a| a.contains(x)));
                if !superseded {
                    data.insert(x);
                }
            }
        }
        let order: Vec<&str> = t
            .run_after
            .iter()
            .map(String::as_str)
            .filter(|x| !data.contains(x))
            .collect();
        // Steps in pipeline order, for a stable rule order.
        let position = |n: &str| pipeline.tasks.iter().position(|x| x.name == n);
        let mut data: Vec<&str> = data.into_iter().collect();
        data.sort_by_key(|n| position(n));
        let mut materials = Vec::new();
        for x in &data {
            materials.push(ArtifactRule::Match {
                pattern: "*".into(),
                src_prefix: None,
                dst_kind: ArtifactKind::Products,
                dst_prefix: None,
                from: (*x).to_owned(),
            });
        }
        for x in &order {
            materials.push(ArtifactRule::Match {
                pattern: "*".into(),
                src_prefix: None,
                dst_kind: ArtifactKind::Materials,
                dst_prefix: None,
                from: (*x).to_owned(),
            });
        }
        if materials.is_empty() {
            materials.push(ArtifactRule::Allow("*".into()));
        } else {
            materials.extend(
                opts.allow_materials
                    .iter()
                    .cloned()
                    .map(ArtifactRule::Allow),
            );
            materials.push(ArtifactRule::Disallow("*".into()));
        }
        steps.push(Step {
            name: t.name.clone(),
            threshold: f.threshold,
            pubkeys: pubkeys.clone(),
            cert_constraints: cert_constraints.clone(),
            expected_command: Vec::new(),
            expected_materials: materials,
            expected_products: vec![
                ArtifactRule::Create("*".into()),
                ArtifactRule::Disallow("*".into()),
            ],
        });
    }
    let name = if pipeline.name.is_empty() {
        "(unnamed)"
    } else {
        &pipeline.name
    };
    Ok(Layout {
        expires: opts.expires,
        readme: format!(
            "Derived by hallmark from Tekton Pipeline {name}: one step per pipeline task."
        ),
        keys,
        steps,
        inspect: Vec::new(),
    })
}

#[cfg(test)]
#[allow(clippy::panic)] // Tests report failures by panicking.
mod tests {
    use super::*;

    const PIPELINE: &str = r"
apiVersion: tekton.dev/v1
kind: Pipeline
metadata: {name: p}
spec:
  workspaces: [{name: src}]
  tasks:
  - name: clone
    workspaces: [{name: output, workspace: src}]
  - name: build
    runAfter: [clone]
    workspaces: [{name: source, workspace: src}]
  - name: scan
    params: [{name: image, value: '$(tasks.build.results.IMAGE_URL)@$(tasks.build.results.IMAGE_DIGEST)'}]
  - name: push
    runAfter: [scan]
    params: [{name: image, value: $(tasks.build.results.IMAGE_URL)}]
    workspaces: [{name: source, workspace: src}]
  finally:
  - name: notify
    params: [{name: s, value: $(tasks.push.status)}]
";

    fn layout() -> Layout {
        let p = parse_pipeline(PIPELINE.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
        let opts = Options {
            expires: jiff::Timestamp::UNIX_EPOCH,
            functionaries: Functionaries {
                identities: vec![("ci@example.com".into(), Some("https://issuer".into()))],
                threshold: 1,
                ..Functionaries::default()
            },
            allow_materials: Vec::new(),
        };
        derive(&p, &opts).unwrap_or_else(|e| panic!("{e}"))
    }

    fn rules(l: &Layout, step: &str) -> (Vec<String>, Vec<String>) {
        let s = l.step(step).unwrap_or_else(|| panic!("no step {step}"));
        (
            s.expected_materials
                .iter()
                .map(ToString::to_string)
                .collect(),
            s.expected_products
                .iter()
                .map(ToString::to_string)
                .collect(),
        )
    }

    #[test]
    fn tasks_become_steps_with_rules_from_results_workspaces_and_run_after() {
        let l = layout();
        let names: Vec<&str> = l.steps.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["clone", "build", "scan", "push", "notify"]);
        assert_eq!(rules(&l, "clone").0, ["ALLOW *"]);
        // Workspace `src` written by clone, read by build.
        assert_eq!(
            rules(&l, "build").0,
            ["MATCH * WITH PRODUCTS FROM clone", "DISALLOW *"]
        );
        assert_eq!(
            rules(&l, "scan").0,
            ["MATCH * WITH PRODUCTS FROM build", "DISALLOW *"]
        );
        // build's results, and the workspace last used by build (not clone); scan by order.
        assert_eq!(
            rules(&l, "push").0,
            [
                "MATCH * WITH PRODUCTS FROM build",
                "MATCH * WITH MATERIALS FROM scan",
                "DISALLOW *"
            ]
        );
        // `$(tasks.push.status)` is not a result.
        assert_eq!(rules(&l, "notify").0, ["ALLOW *"]);
        assert_eq!(rules(&l, "build").1, ["CREATE *", "DISALLOW *"]);
        let s = l.step("build").unwrap_or_else(|| panic!("build"));
        assert_eq!(s.threshold, 1);
        assert_eq!(s.cert_constraints[0].emails, ["ci@example.com"]);
        assert!(l.keys.is_empty() && s.pubkeys.is_empty());
    }

    #[test]
    fn bad_pipelines_and_functionaries_are_refused() {
        for doc in [
            "apiVersion: v1\nkind: ConfigMap\n",
            "apiVersion: tekton.dev/v1\nkind: Task\nspec: {}\n",
            "apiVersion: tekton.dev/v1\nkind: Pipeline\nspec: {tasks: []}\n",
            "apiVersion: tekton.dev/v1\nkind: Pipeline\nspec: {tasks: [{name: a}, {name: a}]}\n",
            "apiVersion: tekton.dev/v1\nkind: Pipeline\nspec: {tasks: [{name: a, runAfter: [b]}]}\n",
            "{",
        ] {
            assert!(parse_pipeline(doc.as_bytes()).is_err(), "{doc}");
        }
        let p = parse_pipeline(PIPELINE.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
        for (ids, threshold) in [(0, 1), (1, 0), (1, 2)] {
            let opts = Options {
                expires: jiff::Timestamp::UNIX_EPOCH,
                functionaries: Functionaries {
                    identities: vec![("a@b.c".into(), None); ids],
                    threshold,
                    ..Functionaries::default()
                },
                allow_materials: Vec::new(),
            };
            assert!(derive(&p, &opts).is_err(), "{ids} {threshold}");
        }
    }

    #[test]
    fn a_pipeline_run_with_an_inline_spec_is_read() {
        let bytes = std::fs::read(
            crate::test_support::shared_dir()
                .join("chains/examples/pipelineruns/pipeline-output-image.yaml"),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let p = parse_pipeline(&bytes).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p.name, "image-pipelinerun");
        assert_eq!(p.tasks.len(), 1);
        assert_eq!(p.tasks[0].name, "buildimage");
    }
}
