//! Differential test against Tekton Chains' own formatter.
//!
//! Every case of `tests/peers/cases.yaml` is formatted twice, by Chains' published Go
//! module (the `chains-format` wrapper in `tests/peers/chains`) and by
//! [`hallmark::provenance::format`], and the two statements must be equal as JSON. The
//! only tolerated differences are the entries of `tests/peers/allow-list.yaml`, each backed
//! by a row of docs/compatibility.md; an entry that no longer matches any difference fails
//! the test, so the list cannot rot. Cases with a `golden` are also compared with Chains'
//! end-to-end goldens (Go templates filled from the run files the way Chains' e2e test
//! fills them).
//!
//! `chains-format` is found through `HALLMARK_CHAINS_FORMAT`; without it the test builds it
//! with `tests/stack/install chains-format` locally, and fails in CI (`CI` set).
//!
//! Each failing case is reported with its id (`<case>@<format>`) and the JSON pointer of
//! each difference, then one summary line:
//! `differential: N cases, E equal, A equal modulo allow-list, F failing`.
// Tests report failures by panicking, with the case and file named in the message.
#![allow(clippy::panic, clippy::expect_used)]

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use hallmark::provenance::{self, Format, FormatOptions};
use hallmark::tekton::{self, Run, RunKind, TaskRun};
use hallmark::test_support::{repo_dir, shared_dir};
use serde::Deserialize;
use serde_json::Value;

// ---------------------------------------------------------------------------------------
// Manifest and allow-list

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Manifest {
    cases: Vec<Case>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Case {
    id: String,
    input: String,
    kind: String,
    api_version: String,
    #[serde(default)]
    children: Vec<String>,
    formats: Vec<String>,
    #[serde(default)]
    config: BTreeMap<String, String>,
    #[serde(default)]
    golden: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AllowList {
    #[serde(default)]
    allow: Vec<Allow>,
}

/// One tolerated difference.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Allow {
    /// Glob over full case ids (`<case>@<format>`, `#golden` appended for golden
    /// comparisons): `*` matches within a path segment, `**` across `/`.
    case: String,
    /// Glob over the JSON pointer of the difference (same syntax).
    pointer: String,
    /// Row id in docs/compatibility.md ("Differences from Tekton Chains") that backs it.
    compat: String,
    /// Why; a summary of the compatibility row.
    reason: String,
    /// Only for this Chains version of chains-format (e.g. `v0.22.0`): version drift
    /// between the Chains that chains-format wraps and the one hallmark targets.
    #[serde(default)]
    chains: Option<String>,
    /// Instead of tolerating differences at `pointer`: compare the arrays there as
    /// multisets (both sides sorted before the diff). Used when the order differs.
    #[serde(default)]
    unordered: bool,
}

fn peers_dir() -> PathBuf {
    repo_dir().join("tests/peers")
}

fn load_manifest() -> Manifest {
    let path = peers_dir().join("cases.yaml");
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_yaml_ng::from_slice(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn load_allow_list() -> Vec<Allow> {
    let path = peers_dir().join("allow-list.yaml");
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let list: AllowList =
        serde_yaml_ng::from_slice(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let doc_path = repo_dir().join("docs/compatibility.md");
    let doc = std::fs::read_to_string(&doc_path)
        .unwrap_or_else(|e| panic!("{}: {e}", doc_path.display()));
    for a in &list.allow {
        assert!(
            doc.contains(&format!("| {} |", a.compat)),
            "allow-list entry {:?} {:?}: compat row {:?} is not in docs/compatibility.md",
            a.case,
            a.pointer,
            a.compat
        );
        assert!(
            !a.reason.trim().is_empty(),
            "allow-list entry {:?} {:?}: empty reason",
            a.case,
            a.pointer
        );
    }
    list.allow
}

/// `shared:P` → P under the shared fixtures dir; `repo:P` → P under the repository root.
fn resolve(p: &str) -> PathBuf {
    if let Some(rest) = p.strip_prefix("shared:") {
        shared_dir().join(rest)
    } else if let Some(rest) = p.strip_prefix("repo:") {
        repo_dir().join(rest)
    } else {
        panic!("cases.yaml: path {p:?} must start with shared: or repo:")
    }
}

// ---------------------------------------------------------------------------------------
// JSON comparison

/// One difference between two JSON documents.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Difference {
    /// RFC 6901 pointer.
    pointer: String,
    /// The value on the reference side (Chains or golden), compact JSON, or `(absent)`.
    want: String,
    /// The value on hallmark's side.
    got: String,
}

fn escape_token(t: &str) -> String {
    t.replace('~', "~0").replace('/', "~1")
}

fn show(v: Option<&Value>) -> String {
    match v {
        None => "(absent)".into(),
        Some(v) => {
            let s = v.to_string();
            if s.chars().count() > 200 {
                format!(
                    "{}… ({} bytes)",
                    s.chars().take(200).collect::<String>(),
                    s.len()
                )
            } else {
                s
            }
        }
    }
}

/// Every difference between `want` and `got`, as JSON pointers, depth first. Objects are
/// compared key by key, arrays index by index (order matters: Chains' arrays are ordered).
fn diff_json(want: &Value, got: &Value) -> Vec<Difference> {
    let mut out = Vec::new();
    diff_at(String::new(), Some(want), Some(got), &mut out);
    out
}

fn diff_at(ptr: String, want: Option<&Value>, got: Option<&Value>, out: &mut Vec<Difference>) {
    match (want, got) {
        (Some(Value::Object(a)), Some(Value::Object(b))) => {
            let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                diff_at(
                    format!("{ptr}/{}", escape_token(k)),
                    a.get(k),
                    b.get(k),
                    out,
                );
            }
        }
        (Some(Value::Array(a)), Some(Value::Array(b))) => {
            for i in 0..a.len().max(b.len()) {
                diff_at(format!("{ptr}/{i}"), a.get(i), b.get(i), out);
            }
        }
        (a, b) if a == b => {}
        (a, b) => out.push(Difference {
            pointer: ptr,
            want: show(a),
            got: show(b),
        }),
    }
}

/// Glob: `**` matches anything, `*` anything but `/`, every other character itself.
fn glob(pattern: &str, text: &str) -> bool {
    fn go(p: &[u8], t: &[u8]) -> bool {
        match p {
            [] => t.is_empty(),
            [b'*', b'*', rest @ ..] => (0..=t.len()).any(|i| go(rest, &t[i..])),
            [b'*', rest @ ..] => {
                let mut i = 0;
                loop {
                    if go(rest, &t[i..]) {
                        return true;
                    }
                    if i == t.len() || t[i] == b'/' {
                        return false;
                    }
                    i += 1;
                }
            }
            [c, rest @ ..] => t.first() == Some(c) && go(rest, &t[1..]),
        }
    }
    go(pattern.as_bytes(), text.as_bytes())
}

/// Every array whose pointer matches `pattern` (a glob), in `v`, with its pointer.
fn arrays_at<'a>(
    pattern: &str,
    ptr: String,
    v: &'a mut Value,
    out: &mut Vec<(String, &'a mut Vec<Value>)>,
) {
    match v {
        Value::Array(items) => {
            if glob(pattern, &ptr) {
                out.push((ptr, items));
            } else {
                for (i, x) in items.iter_mut().enumerate() {
                    arrays_at(pattern, format!("{ptr}/{i}"), x, out);
                }
            }
        }
        Value::Object(m) => {
            for (k, x) in m.iter_mut() {
                arrays_at(pattern, format!("{ptr}/{}", escape_token(k)), x, out);
            }
        }
        _ => {}
    }
}

/// Sorts (by compact JSON) the arrays at `pattern` on both sides; true when that mattered:
/// some array there differed between the sides and sorting reordered one of them.
fn sort_arrays_at(pattern: &str, want: &mut Value, got: &mut Value) -> bool {
    fn sorted_in_place(items: &mut [Value]) -> bool {
        let before: Vec<String> = items.iter().map(Value::to_string).collect();
        items.sort_by_cached_key(Value::to_string);
        items.iter().map(Value::to_string).ne(before)
    }
    let mut g = Vec::new();
    arrays_at(pattern, String::new(), got, &mut g);
    let got_before: BTreeMap<String, Vec<Value>> =
        g.iter().map(|(p, a)| (p.clone(), (**a).clone())).collect();
    let mut reordered: BTreeMap<String, bool> = BTreeMap::new();
    for (p, items) in g {
        reordered.insert(p, sorted_in_place(items));
    }
    let mut w = Vec::new();
    arrays_at(pattern, String::new(), want, &mut w);
    let mut mattered = false;
    for (p, items) in w {
        let differed = got_before.get(&p).is_some_and(|g| g != items);
        let moved = sorted_in_place(items) || reordered.get(&p).copied().unwrap_or(false);
        mattered |= differed && moved;
    }
    mattered
}

// ---------------------------------------------------------------------------------------
// Running both formatters

fn chains_format_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(p) = std::env::var_os("HALLMARK_CHAINS_FORMAT") {
            let p = PathBuf::from(p);
            assert!(
                p.is_file(),
                "HALLMARK_CHAINS_FORMAT={} is not a file",
                p.display()
            );
            return p;
        }
        assert!(
            std::env::var_os("CI").is_none(),
            "HALLMARK_CHAINS_FORMAT is not set: in CI, tests/run builds chains-format \
             (tests/stack/install chains-format) and exports its path; the differential test \
             against Tekton Chains must not be skipped"
        );
        eprintln!(
            "HALLMARK_CHAINS_FORMAT unset: building it with tests/stack/install chains-format"
        );
        let out = Command::new(repo_dir().join("tests/stack/install"))
            .arg("chains-format")
            .output()
            .expect("running tests/stack/install chains-format");
        assert!(
            out.status.success(),
            "tests/stack/install chains-format failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        PathBuf::from(
            stdout
                .lines()
                .last()
                .expect("install printed no path")
                .trim(),
        )
    })
}

fn chains_version() -> &'static str {
    static V: OnceLock<String> = OnceLock::new();
    V.get_or_init(|| {
        let out = Command::new(chains_format_bin())
            .arg("-version")
            .output()
            .expect("chains-format -version");
        assert!(out.status.success(), "chains-format -version failed");
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    })
}

/// Chains' statement for a case in a format, or its error message.
fn run_chains(case: &Case, format: &str) -> Result<Value, String> {
    let mut cmd = Command::new(chains_format_bin());
    cmd.args(["-format", format, "-kind", &case.kind]);
    for (k, v) in &case.config {
        cmd.arg("-config").arg(format!("{k}={v}"));
    }
    for c in &case.children {
        cmd.arg("-child").arg(resolve(c));
    }
    cmd.arg(resolve(&case.input));
    let out = cmd
        .output()
        .map_err(|e| format!("running chains-format: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "chains-format failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    serde_json::from_slice(&out.stdout).map_err(|e| format!("chains-format printed no JSON: {e}"))
}

/// The formatter options Chains derives from the case's chains-config keys, through
/// hallmark's own configuration parser (which must accept them without warnings).
fn options(case: &Case, kind: RunKind) -> FormatOptions {
    let (cfg, warnings) = hallmark::config::Config::from_map(&case.config)
        .unwrap_or_else(|e| panic!("case {}: {e}", case.id));
    assert!(warnings.is_empty(), "case {}: {warnings:?}", case.id);
    cfg.format_options(kind == RunKind::PipelineRun)
}

fn read_runs(path: &Path, kind: RunKind) -> Result<Vec<Run>, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    tekton::parse_runs(&bytes, Some(kind)).map_err(|e| format!("{}: {e}", path.display()))
}

/// hallmark's statement for a case in a format, or its error message.
fn run_hallmark(case: &Case, format: &str) -> Result<Value, String> {
    let kind: RunKind = case
        .kind
        .parse()
        .map_err(|e: String| format!("case {}: {e}", case.id))?;
    let mut runs = read_runs(&resolve(&case.input), kind)?;
    if runs.len() != 1 {
        return Err(format!(
            "{}: expected one run, found {}",
            case.input,
            runs.len()
        ));
    }
    let run = runs.remove(0);
    let mut children: Vec<TaskRun> = Vec::new();
    for c in &case.children {
        for r in read_runs(&resolve(c), RunKind::TaskRun)? {
            match r {
                Run::TaskRun(tr) => children.push(tr),
                Run::PipelineRun(_) => return Err(format!("{c}: a child must be a TaskRun")),
            }
        }
    }
    let fmt: Format = format.parse().map_err(|e| format!("{e}"))?;
    let stmt = provenance::format(&run, &children, fmt, &options(case, kind))
        .map_err(|e| format!("hallmark: {e}"))?;
    serde_json::from_slice(&stmt.to_json()).map_err(|e| format!("hallmark printed no JSON: {e}"))
}

/// The input's apiVersion must be the one the manifest says it is read as.
fn check_api_version(case: &Case) {
    let path = resolve(&case.input);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let v: Value =
        serde_yaml_ng::from_slice(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let found = v
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or(tekton::V1);
    assert_eq!(
        found, case.api_version,
        "case {}: input apiVersion (absent means v1, as Chains' tests read it)",
        case.id
    );
    if let Some(k) = v.get("kind").and_then(Value::as_str) {
        assert_eq!(k, case.kind, "case {}: input kind", case.id);
    }
}

// ---------------------------------------------------------------------------------------
// Chains' e2e goldens (Go templates)

/// The values Chains' e2e test (test/examples_test.go) fills its goldens with, read from
/// the completed run files.
#[derive(Debug, Default)]
struct GoldenValues {
    scalars: BTreeMap<&'static str, String>,
    lists: BTreeMap<&'static str, Vec<String>>,
    uri_digest: Vec<(String, String)>,
}

fn json_file(path: &Path) -> Value {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_yaml_ng::from_slice(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn str_at<'a>(v: &'a Value, ptr: &str) -> &'a str {
    v.pointer(ptr)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("run file: no string at {ptr}"))
}

/// `oci://IMAGE` and the hex after the first `:` of an image ID, as Chains' e2e test splits it.
fn uri_digest(image_id: &str) -> (String, String) {
    let uri = format!("oci://{}", image_id.split('@').next().unwrap_or_default());
    let digest = image_id.split(':').nth(1).unwrap_or_default().to_owned();
    (uri, digest)
}

fn golden_values(case: &Case) -> GoldenValues {
    let run = json_file(&resolve(&case.input));
    let mut g = GoldenValues::default();
    g.scalars
        .insert("UID", str_at(&run, "/metadata/uid").to_owned());
    let add_images = |g: &mut GoldenValues, tr: &Value, sidecars: bool| {
        let mut sections = vec!["steps"];
        if sidecars {
            sections.push("sidecars");
        }
        for s in sections {
            for st in tr
                .pointer(&format!("/status/{s}"))
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let pair = uri_digest(
                    st.get("imageID")
                        .and_then(Value::as_str)
                        .unwrap_or_default(),
                );
                if !g.uri_digest.contains(&pair) {
                    g.uri_digest.push(pair);
                }
            }
        }
    };
    if case.kind == "TaskRun" {
        let name = run
            .pointer("/spec/taskRef/name")
            .and_then(Value::as_str)
            .unwrap_or(str_at(&run, "/metadata/name"));
        g.scalars.insert("TektonObjectName", name.to_owned());
        g.lists.insert(
            "BuildStartTimes",
            vec![str_at(&run, "/status/startTime").to_owned()],
        );
        g.lists.insert(
            "BuildFinishedTimes",
            vec![str_at(&run, "/status/completionTime").to_owned()],
        );
        let steps = run
            .pointer("/status/steps")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        g.lists.insert(
            "ContainerNames",
            steps
                .iter()
                .map(|s| str_at(s, "/name").to_owned())
                .collect(),
        );
        g.lists.insert(
            "StepImages",
            steps
                .iter()
                .map(|s| str_at(s, "/imageID").to_owned())
                .collect(),
        );
        add_images(&mut g, &run, false);
    } else {
        g.scalars.insert(
            "TektonObjectName",
            str_at(&run, "/metadata/name").to_owned(),
        );
        g.scalars.insert(
            "PipelineStartedOn",
            str_at(&run, "/status/startTime").to_owned(),
        );
        g.scalars.insert(
            "PipelineFinishedOn",
            str_at(&run, "/status/completionTime").to_owned(),
        );
        let children: Vec<Value> = case
            .children
            .iter()
            .map(|c| json_file(&resolve(c)))
            .collect();
        let (mut starts, mut ends, mut names) = (Vec::new(), Vec::new(), Vec::new());
        for cr in run
            .pointer("/status/childReferences")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let name = str_at(cr, "/name");
            let tr = children
                .iter()
                .find(|c| c.pointer("/metadata/name").and_then(Value::as_str) == Some(name))
                .unwrap_or_else(|| {
                    panic!(
                        "case {}: child {name} is not among the case's children",
                        case.id
                    )
                });
            names.push(name.to_owned());
            starts.push(str_at(tr, "/status/startTime").to_owned());
            ends.push(str_at(tr, "/status/completionTime").to_owned());
            add_images(&mut g, tr, true);
        }
        g.lists.insert("BuildStartTimes", starts);
        g.lists.insert("BuildFinishedTimes", ends);
        g.lists.insert("ChildTaskRunNames", names);
    }
    g
}

/// Fills the Go-template subset Chains' goldens use: `{{.X}}`, `{{index .X N}}` and
/// `{{range .URIDigest}}…{{.URI}}…{{.Digest}}…{{end}}`.
fn fill_template(tmpl: &str, g: &GoldenValues) -> String {
    let mut out = String::new();
    let mut rest = tmpl;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let end = start + rest[start..].find("}}").expect("unterminated {{ in golden");
        let action = rest[start + 2..end].trim();
        rest = &rest[end + 2..];
        if action == "range .URIDigest" {
            let close = rest.find("{{end}}").expect("{{range}} without {{end}}");
            let body = &rest[..close];
            for (uri, digest) in &g.uri_digest {
                out.push_str(&body.replace("{{.URI}}", uri).replace("{{.Digest}}", digest));
            }
            rest = &rest[close + "{{end}}".len()..];
        } else if let Some(args) = action.strip_prefix("index .") {
            let (name, idx) = args.split_once(' ').expect("{{index .X N}}");
            let idx: usize = idx.trim().parse().expect("{{index .X N}}: N");
            let list = g
                .lists
                .get(name)
                .unwrap_or_else(|| panic!("golden uses unknown list .{name}"));
            out.push_str(
                list.get(idx)
                    .unwrap_or_else(|| panic!("golden: .{name} has no index {idx}")),
            );
        } else if let Some(name) = action.strip_prefix('.') {
            out.push_str(
                g.scalars
                    .get(name)
                    .unwrap_or_else(|| panic!("golden uses unknown field .{name}")),
            );
        } else {
            panic!("golden: unsupported template action {{{{{action}}}}}");
        }
    }
    out.push_str(rest);
    out
}

/// What Chains' e2e comparison ignores (test/examples_test.go ignoreReleaseSpecificFields):
/// every `internalParameters` entry, and an `environment` holding annotations or labels
/// (the invocation environment; a step's environment is kept).
fn mask_release_specific(v: &mut Value) {
    match v {
        Value::Object(m) => {
            m.remove("internalParameters");
            let drop_env = m
                .get("environment")
                .and_then(Value::as_object)
                .is_some_and(|e| e.contains_key("annotations") || e.contains_key("labels"));
            if drop_env {
                m.remove("environment");
            }
            m.values_mut().for_each(mask_release_specific);
        }
        Value::Array(a) => a.iter_mut().for_each(mask_release_specific),
        _ => {}
    }
}

// ---------------------------------------------------------------------------------------
// Outcomes and the report

enum Outcome {
    Equal,
    /// Equal once the listed allow-list entries (by index) are applied.
    Allowed(Vec<usize>),
    Failing(String),
}

/// Classifies the comparison of one case against the allow-list.
fn judge(
    id: &str,
    want: Result<Value, String>,
    got: Result<Value, String>,
    allow: &[Allow],
    applicable: &dyn Fn(&Allow) -> bool,
) -> Outcome {
    match (want, got) {
        (Ok(mut w), Ok(mut g)) => {
            let mut used = Vec::new();
            for (i, a) in allow.iter().enumerate() {
                if a.unordered
                    && applicable(a)
                    && glob(&a.case, id)
                    && sort_arrays_at(&a.pointer, &mut w, &mut g)
                {
                    used.push(i);
                }
            }
            let diffs = diff_json(&w, &g);
            if diffs.is_empty() {
                return if used.is_empty() {
                    Outcome::Equal
                } else {
                    Outcome::Allowed(used)
                };
            }
            let mut report = String::new();
            for d in &diffs {
                let hit = allow.iter().enumerate().find(|(_, a)| {
                    !a.unordered
                        && applicable(a)
                        && glob(&a.case, id)
                        && glob(&a.pointer, &d.pointer)
                });
                match hit {
                    Some((i, _)) => used.push(i),
                    None => {
                        let _ = writeln!(
                            report,
                            "    {}\n      want {}\n      got  {}",
                            d.pointer, d.want, d.got
                        );
                    }
                }
            }
            if report.is_empty() {
                Outcome::Allowed(used)
            } else {
                Outcome::Failing(report)
            }
        }
        // Both reject the input: equal behaviour.
        (Err(_), Err(_)) => Outcome::Equal,
        (Err(e), Ok(_)) => {
            Outcome::Failing(format!("    reference failed, hallmark succeeded: {e}\n"))
        }
        (Ok(_), Err(e)) => {
            Outcome::Failing(format!("    hallmark failed, reference succeeded: {e}\n"))
        }
    }
}

#[derive(Default)]
struct Tally {
    total: usize,
    equal: usize,
    allowed: usize,
    failing: Vec<(String, String)>,
    used: Vec<bool>,
}

impl Tally {
    fn new(n_allow: usize) -> Self {
        Self {
            used: vec![false; n_allow],
            ..Self::default()
        }
    }

    fn add(&mut self, id: String, o: Outcome) {
        self.total += 1;
        match o {
            Outcome::Equal => self.equal += 1,
            Outcome::Allowed(used) => {
                self.allowed += 1;
                for i in used {
                    self.used[i] = true;
                }
            }
            Outcome::Failing(report) => self.failing.push((id, report)),
        }
    }

    /// Prints the report and the summary line; panics on failures and stale entries.
    fn finish(self, what: &str, allow: &[Allow], applicable: &dyn Fn(&Allow) -> bool) {
        let mut msg = String::new();
        for (id, report) in &self.failing {
            let _ = write!(msg, "FAIL {id}\n{report}");
        }
        let stale: Vec<&Allow> = allow
            .iter()
            .enumerate()
            .filter(|(i, a)| applicable(a) && !self.used[*i])
            .map(|(_, a)| a)
            .collect();
        for a in &stale {
            let _ = writeln!(
                msg,
                "STALE allow-list entry (matches no difference any more; remove it): case {:?} pointer {:?} ({})",
                a.case, a.pointer, a.compat
            );
        }
        let summary = format!(
            "{what}: {} cases, {} equal, {} equal modulo allow-list, {} failing",
            self.total,
            self.equal,
            self.allowed,
            self.failing.len()
        );
        println!("{summary}");
        assert!(
            self.failing.is_empty() && stale.is_empty(),
            "{summary}; {} stale allow-list entries\n{msg}",
            stale.len()
        );
    }
}

// ---------------------------------------------------------------------------------------
// The tests

/// hallmark against Chains' own formatter, every case in every listed format.
#[test]
fn differential_against_chains() {
    let manifest = load_manifest();
    let allow = load_allow_list();
    let version = chains_version().to_owned();
    eprintln!(
        "chains-format: {} (Chains {version})",
        chains_format_bin().display()
    );
    let applicable = |a: &Allow| {
        !a.case.ends_with("#golden") && a.chains.as_deref().is_none_or(|v| v == version)
    };
    let mut tally = Tally::new(allow.len());
    for case in &manifest.cases {
        check_api_version(case);
        for format in &case.formats {
            let id = format!("{}@{format}", case.id);
            let outcome = judge(
                &id,
                run_chains(case, format),
                run_hallmark(case, format),
                &allow,
                &applicable,
            );
            tally.add(id, outcome);
        }
    }
    tally.finish("differential", &allow, &applicable);
}

/// hallmark against Chains' end-to-end goldens, for the hand-completed example runs.
#[test]
fn differential_against_chains_e2e_goldens() {
    let manifest = load_manifest();
    let allow = load_allow_list();
    let applicable = |a: &Allow| a.case.ends_with("#golden");
    let mut tally = Tally::new(allow.len());
    for case in manifest.cases.iter().filter(|c| !c.golden.is_empty()) {
        let values = golden_values(case);
        for (format, golden) in &case.golden {
            assert!(
                case.formats.contains(format),
                "case {}: golden for unlisted format {format}",
                case.id
            );
            let id = format!("{}@{format}#golden", case.id);
            let path = resolve(golden);
            let tmpl = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let filled = fill_template(&tmpl, &values);
            let mut want: Value = serde_json::from_str(&filled).unwrap_or_else(|e| {
                panic!(
                    "{}: filled golden is not JSON: {e}\n{filled}",
                    path.display()
                )
            });
            mask_release_specific(&mut want);
            let got = run_hallmark(case, format).map(|mut v| {
                mask_release_specific(&mut v);
                v
            });
            tally.add(id.clone(), judge(&id, Ok(want), got, &allow, &applicable));
        }
    }
    tally.finish("differential (e2e goldens)", &allow, &applicable);
}

/// The manifest covers every Chains formatter input of the three formats in scope.
#[test]
fn manifest_covers_every_shared_input() {
    let manifest = load_manifest();
    for dir in ["pipeline-v1", "slsa-v2alpha3", "slsa-v2alpha4"] {
        let d = shared_dir().join("chains/formats").join(dir);
        for entry in std::fs::read_dir(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display())) {
            let name = entry
                .expect("dir entry")
                .file_name()
                .to_string_lossy()
                .into_owned();
            let input = format!("shared:chains/formats/{dir}/{name}");
            let formats: Vec<&str> = manifest
                .cases
                .iter()
                .filter(|c| c.input == input)
                .flat_map(|c| c.formats.iter().map(String::as_str))
                .collect();
            for f in ["slsa/v1", "slsa/v2alpha3", "slsa/v2alpha4"] {
                assert!(
                    formats.contains(&f),
                    "cases.yaml: {input} is not formatted as {f}"
                );
            }
        }
    }
}

mod unit {
    use super::*;
    use serde_json::json;

    #[test]
    fn diff_finds_each_difference_with_its_pointer() {
        let want = json!({"a": 1, "b": {"c/d": [1, 2, 3], "e~": "x"}, "gone": true});
        let got = json!({"a": 1, "b": {"c/d": [1, 5], "e~": "y"}, "new": null});
        let ptrs: Vec<String> = diff_json(&want, &got)
            .into_iter()
            .map(|d| d.pointer)
            .collect();
        assert_eq!(ptrs, ["/b/c~1d/1", "/b/c~1d/2", "/b/e~0", "/gone", "/new"]);
        assert!(diff_json(&want, &want).is_empty());
    }

    #[test]
    fn a_difference_fails_unless_allow_listed() {
        let want = Ok(json!({"predicate": {"builder": {"id": "x"}}}));
        let got = Ok(json!({"predicate": {"builder": {"id": "y"}}}));
        let entry = |case: &str, pointer: &str| Allow {
            case: case.into(),
            pointer: pointer.into(),
            compat: "C0".into(),
            reason: "test".into(),
            chains: None,
            unordered: false,
        };
        let all = |_: &Allow| true;
        assert!(
            matches!(judge("t@slsa/v1", want.clone(), got.clone(), &[], &all), Outcome::Failing(r) if r.contains("/predicate/builder/id"))
        );
        let allow = [entry("t@*/*", "/predicate/*/id")];
        assert!(
            matches!(judge("t@slsa/v1", want.clone(), got.clone(), &allow, &all), Outcome::Allowed(u) if u == [0])
        );
        // An entry for another case or pointer does not apply.
        let other = [
            entry("u@**", "/predicate/**"),
            entry("t@**", "/predicate/builder"),
        ];
        assert!(matches!(
            judge("t@slsa/v1", want.clone(), got.clone(), &other, &all),
            Outcome::Failing(_)
        ));
        assert!(matches!(
            judge("t@slsa/v1", want.clone(), want, &allow, &all),
            Outcome::Equal
        ));
        assert!(matches!(
            judge("t@slsa/v1", Err("no".into()), got, &allow, &all),
            Outcome::Failing(_)
        ));
    }

    #[test]
    fn unordered_entries_compare_arrays_as_multisets() {
        let want = json!({"subject": [{"name": "b"}, {"name": "a"}]});
        let got = json!({"subject": [{"name": "a"}, {"name": "b"}]});
        let other = json!({"subject": [{"name": "a"}, {"name": "c"}]});
        let all = |_: &Allow| true;
        let allow = [Allow {
            case: "**".into(),
            pointer: "/subject".into(),
            compat: "C0".into(),
            reason: "test".into(),
            chains: None,
            unordered: true,
        }];
        assert!(matches!(
            judge("t", Ok(want.clone()), Ok(got.clone()), &[], &all),
            Outcome::Failing(_)
        ));
        assert!(
            matches!(judge("t", Ok(want.clone()), Ok(got), &allow, &all), Outcome::Allowed(u) if u == [0])
        );
        // Same order: equal, and the entry is not counted as used.
        assert!(matches!(
            judge("t", Ok(want.clone()), Ok(want.clone()), &allow, &all),
            Outcome::Equal
        ));
        // Different members still fail.
        assert!(
            matches!(judge("t", Ok(want), Ok(other), &allow, &all), Outcome::Failing(r) if r.contains("/subject/1/name"))
        );
    }

    #[test]
    #[should_panic(expected = "STALE")]
    fn an_unused_allow_list_entry_fails() {
        let allow = [Allow {
            case: "**".into(),
            pointer: "/x".into(),
            compat: "C0".into(),
            reason: "test".into(),
            chains: None,
            unordered: false,
        }];
        let mut t = Tally::new(1);
        t.add("t@slsa/v1".into(), Outcome::Equal);
        t.finish("unit", &allow, &|_| true);
    }

    #[test]
    fn globs() {
        assert!(glob("**", "a/b@slsa/v1"));
        assert!(glob("a/*@slsa/*", "a/b@slsa/v1"));
        assert!(!glob("a/*", "a/b/c"));
        assert!(glob(
            "/predicate/runDetails/byproducts/*/name",
            "/predicate/runDetails/byproducts/12/name"
        ));
        assert!(!glob("/predicate/*/name", "/predicate/a/b/name"));
    }

    #[test]
    fn templates_fill_like_chains_e2e() {
        let mut g = GoldenValues::default();
        g.scalars.insert("UID", "u-1".into());
        g.lists
            .insert("BuildStartTimes", vec!["t0".into(), "t1".into()]);
        g.uri_digest = vec![
            ("oci://a".into(), "1".into()),
            ("oci://b".into(), "2".into()),
        ];
        let out = fill_template(
            r#"["{{.UID}}", "{{index .BuildStartTimes 1}}", {{range .URIDigest}}"{{.URI}}={{.Digest}}",{{end}} 0]"#,
            &g,
        );
        assert_eq!(out, r#"["u-1", "t1", "oci://a=1","oci://b=2", 0]"#);
        assert_eq!(
            uri_digest("gcr.io/x/y@sha256:abc"),
            ("oci://gcr.io/x/y".into(), "abc".into())
        );
    }

    #[test]
    fn masking_drops_what_chains_e2e_ignores() {
        let mut v = json!({"a": {"internalParameters": 1, "environment": {"labels": {}}, "steps": [{"environment": {"image": "i"}}]}});
        mask_release_specific(&mut v);
        assert_eq!(
            v,
            json!({"a": {"steps": [{"environment": {"image": "i"}}]}})
        );
    }
}
