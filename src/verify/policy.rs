//! Built-in SLSA checks over verified statements (`hallmark verify --builder-id`, ...).
//!
//! Pure functions: [`SlsaChecks::evaluate`] reads one verified [`Statement`] and returns
//! every check it fails as a [`CheckFailure`]; [`check_threshold`] counts distinct
//! signers. Fields read, by predicate type:
//!
//! | check | SLSA v0.2 (`https://slsa.dev/provenance/v0.2`) | SLSA v1 (`https://slsa.dev/provenance/v1`) |
//! |---|---|---|
//! | `builder-id` | `builder.id` | `runDetails.builder.id` |
//! | `build-type` | `buildType` | `buildDefinition.buildType` |
//! | `source-uri` | `invocation.configSource.uri`, `materials[].uri` | `buildDefinition.resolvedDependencies[].uri` |
//! | `source-ref` | `digest` values of those sources, or a `@REF` suffix of their URI | the same, over `resolvedDependencies` |
//! | `param` | `invocation.parameters.K` | `buildDefinition.externalParameters.runSpec.params[name=K].value` |
//! | `max-age` | `metadata.buildFinishedOn` | `runDetails.metadata.finishedOn` |
//!
//! URIs compare after dropping a `git+` prefix, a `.git` suffix and a trailing `/`, so
//! `https://github.com/o/r` matches Chains' `git+https://github.com/o/r.git`. A field
//! that is absent is a failure with `found: None` ("missing"), never a panic.

use std::time::Duration;

use jiff::Timestamp;
use serde_json::Value;

use super::Statement;

/// SLSA v0.2 predicate type.
pub const SLSA_V02: &str = "https://slsa.dev/provenance/v0.2";
/// SLSA v1 predicate type.
pub const SLSA_V1: &str = "https://slsa.dev/provenance/v1";

/// Invalid check options (usage errors, exit 2).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum PolicyError {
    /// `--param` is not `K=V`.
    #[error("invalid --param `{0}` (expected KEY=VALUE)")]
    Param(String),
    /// `--max-age` is not a duration.
    #[error("invalid duration `{0}` (expected e.g. 90s, 30m, 12h, 7d)")]
    Duration(String),
    /// `--threshold 0`.
    #[error("--threshold must be at least 1")]
    Threshold,
}

/// One failed check: its name, what was expected and what was found (`None`: missing).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{check}: expected {expected}, found {}", found.as_deref().unwrap_or("nothing (missing)"))]
pub struct CheckFailure {
    /// The check's name (`builder-id`, `source-uri`, `source-ref`, `build-type`,
    /// `param`, `max-age`, `threshold`, `predicate-type`).
    pub check: &'static str,
    /// The expected value.
    pub expected: String,
    /// The value found, or `None` when the statement lacks the field.
    pub found: Option<String>,
}

impl CheckFailure {
    fn new(check: &'static str, expected: impl Into<String>, found: Option<String>) -> Self {
        Self {
            check,
            expected: expected.into(),
            found,
        }
    }
}

/// The checks asked for; `None` / empty means not checked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SlsaChecks {
    /// `--builder-id`.
    pub builder_id: Option<String>,
    /// `--source-uri`.
    pub source_uri: Option<String>,
    /// `--source-ref`.
    pub source_ref: Option<String>,
    /// `--build-type`.
    pub build_type: Option<String>,
    /// `--param K=V`, in order.
    pub params: Vec<(String, String)>,
    /// `--max-age`.
    pub max_age: Option<Duration>,
}

/// Parse `K=V` (the value may contain `=`).
///
/// # Errors
///
/// [`PolicyError::Param`] without `=` or with an empty key.
pub fn parse_param(s: &str) -> Result<(String, String), PolicyError> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_owned(), v.to_owned())),
        _ => Err(PolicyError::Param(s.to_owned())),
    }
}

/// Parse a duration: a number with a unit `s`, `m`, `h`, `d` or `w` (e.g. `36h`).
///
/// # Errors
///
/// [`PolicyError::Duration`] for anything else.
pub fn parse_duration(s: &str) -> Result<Duration, PolicyError> {
    let bad = || PolicyError::Duration(s.to_owned());
    let split = s.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let (n, unit) = s.split_at(split);
    let n: u64 = n.parse().map_err(|_| bad())?;
    let mult = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 604_800,
        _ => return Err(bad()),
    };
    n.checked_mul(mult).map(Duration::from_secs).ok_or_else(bad)
}

fn norm_uri(u: &str) -> &str {
    let u = u.strip_prefix("git+").unwrap_or(u);
    let u = u.trim_end_matches('/');
    u.strip_suffix(".git").unwrap_or(u)
}

/// `uri` without an `@ref` suffix after its path, and that ref.
fn split_ref(uri: &str) -> (&str, Option<&str>) {
    let path_start = uri.find("://").map_or(0, |i| i + 3);
    match uri[path_start..].rfind('@') {
        Some(i) if uri[path_start..][..i].contains('/') => {
            (&uri[..path_start + i], Some(&uri[path_start + i + 1..]))
        }
        _ => (uri, None),
    }
}

fn uri_matches(found: &str, want: &str) -> bool {
    norm_uri(split_ref(found).0) == norm_uri(split_ref(want).0)
}

fn str_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    path.iter().try_fold(v, |v, k| v.get(k))?.as_str()
}

fn as_text(v: &Value) -> String {
    v.as_str().map_or_else(|| v.to_string(), str::to_owned)
}

/// A source the provenance names: its URI and digest values.
struct Source<'a> {
    uri: &'a str,
    digests: Vec<&'a str>,
}

fn source_of(v: &Value) -> Option<Source<'_>> {
    let uri = v.get("uri")?.as_str()?;
    let digests = v
        .get("digest")
        .and_then(Value::as_object)
        .map(|m| m.values().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    Some(Source { uri, digests })
}

/// The predicate's version, or a failure naming the predicate type.
fn version(statement: &Statement) -> Result<bool, CheckFailure> {
    match statement.predicate_type.as_str() {
        SLSA_V02 => Ok(false),
        SLSA_V1 => Ok(true),
        other => Err(CheckFailure::new(
            "predicate-type",
            format!("{SLSA_V02} or {SLSA_V1}"),
            Some(other.to_owned()),
        )),
    }
}

impl SlsaChecks {
    /// Whether any check is asked for.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// Evaluate every check against one verified statement at time `now`.
    ///
    /// # Errors
    ///
    /// Every failed check, in flag order (a statement that is not SLSA provenance fails
    /// once, with check `predicate-type`).
    pub fn evaluate(&self, statement: &Statement, now: Timestamp) -> Result<(), Vec<CheckFailure>> {
        if self.is_empty() {
            return Ok(());
        }
        let v1 = version(statement).map_err(|e| vec![e])?;
        let p = &statement.predicate;
        let mut out = Vec::new();
        let mut exact = |check, path: &[&str], want: &Option<String>| {
            if let Some(want) = want {
                let found = str_at(p, path);
                if found != Some(want.as_str()) {
                    out.push(CheckFailure::new(check, want, found.map(str::to_owned)));
                }
            }
        };
        if v1 {
            exact(
                "builder-id",
                &["runDetails", "builder", "id"],
                &self.builder_id,
            );
            exact(
                "build-type",
                &["buildDefinition", "buildType"],
                &self.build_type,
            );
        } else {
            exact("builder-id", &["builder", "id"], &self.builder_id);
            exact("build-type", &["buildType"], &self.build_type);
        }
        let sources: Vec<Source<'_>> = if v1 {
            p.pointer("/buildDefinition/resolvedDependencies")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(source_of).collect())
                .unwrap_or_default()
        } else {
            p.pointer("/invocation/configSource")
                .and_then(source_of)
                .into_iter()
                .chain(
                    p.get("materials")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .filter_map(source_of),
                )
                .collect()
        };
        let all_uris = || {
            (!sources.is_empty())
                .then(|| sources.iter().map(|s| s.uri).collect::<Vec<_>>().join(", "))
        };
        let matching: Vec<&Source<'_>> = match &self.source_uri {
            Some(want) => {
                let m: Vec<_> = sources
                    .iter()
                    .filter(|s| uri_matches(s.uri, want))
                    .collect();
                if m.is_empty() {
                    out.push(CheckFailure::new("source-uri", want, all_uris()));
                }
                m
            }
            None => sources.iter().collect(),
        };
        if let Some(want) = &self.source_ref {
            let bare = want.split_once(':').map_or(want.as_str(), |(_, h)| h);
            let hit = matching.iter().any(|s| {
                s.digests
                    .iter()
                    .any(|d| d.eq_ignore_ascii_case(bare) || d.eq_ignore_ascii_case(want))
                    || split_ref(s.uri).1 == Some(want.as_str())
            });
            if !hit {
                let found: Vec<String> = matching
                    .iter()
                    .map(|s| format!("{} {}", s.uri, s.digests.join(",")))
                    .collect();
                out.push(CheckFailure::new(
                    "source-ref",
                    want,
                    (!found.is_empty()).then(|| found.join("; ")),
                ));
            }
        }
        for (k, want) in &self.params {
            let found = if v1 {
                p.pointer("/buildDefinition/externalParameters/runSpec/params")
                    .and_then(Value::as_array)
                    .and_then(|a| {
                        a.iter()
                            .find(|e| e.get("name").and_then(Value::as_str) == Some(k))
                    })
                    .and_then(|e| e.get("value"))
                    .map(as_text)
            } else {
                p.pointer("/invocation/parameters")
                    .and_then(|m| m.get(k))
                    .map(as_text)
            };
            if found.as_deref() != Some(want.as_str()) {
                out.push(CheckFailure::new(
                    "param",
                    format!("{k}={want}"),
                    found.map(|f| format!("{k}={f}")),
                ));
            }
        }
        if let Some(max) = self.max_age {
            let path: &[&str] = if v1 {
                &["runDetails", "metadata", "finishedOn"]
            } else {
                &["metadata", "buildFinishedOn"]
            };
            let expected = format!("finished within {}s", max.as_secs());
            match str_at(p, path) {
                None => out.push(CheckFailure::new("max-age", expected, None)),
                Some(t) => match t.parse::<Timestamp>() {
                    Err(_) => out.push(CheckFailure::new(
                        "max-age",
                        expected,
                        Some(format!("unparseable time `{t}`")),
                    )),
                    Ok(finished) => {
                        let age = now.as_second().saturating_sub(finished.as_second());
                        if u64::try_from(age).is_ok_and(|a| a > max.as_secs()) {
                            out.push(CheckFailure::new(
                                "max-age",
                                expected,
                                Some(format!("finished {t}, {age}s ago")),
                            ));
                        }
                    }
                },
            }
        }
        if out.is_empty() { Ok(()) } else { Err(out) }
    }
}

/// Require `required` distinct signers among those of the attestations that passed
/// (each a key id, certificate identity or similar stable name).
///
/// # Errors
///
/// A `threshold` [`CheckFailure`] naming how many distinct signers were found.
pub fn check_threshold<'a>(
    signers: impl IntoIterator<Item = &'a str>,
    required: usize,
) -> Result<(), CheckFailure> {
    let distinct: std::collections::BTreeSet<&str> = signers.into_iter().collect();
    if distinct.len() >= required {
        Ok(())
    } else {
        Err(CheckFailure::new(
            "threshold",
            format!("{required} distinct signers"),
            Some(format!(
                "{} ({})",
                distinct.len(),
                distinct.into_iter().collect::<Vec<_>>().join(", ")
            )),
        ))
    }
}

#[cfg(test)]
#[allow(clippy::panic)] // Tests report failures by panicking.
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: &str = "2026-01-02T00:00:00Z";

    fn now() -> Timestamp {
        NOW.parse().unwrap_or_else(|e| panic!("{e}"))
    }

    fn stmt(predicate_type: &str, predicate: Value) -> Statement {
        Statement {
            type_: super::super::STATEMENT_V1.into(),
            subject: Vec::new(),
            predicate_type: predicate_type.into(),
            predicate,
        }
    }

    fn v02() -> Statement {
        stmt(
            SLSA_V02,
            json!({
                "builder": {"id": "https://tekton.dev/chains/v2"},
                "buildType": "tekton.dev/v1beta1/TaskRun",
                "invocation": {
                    "configSource": {"uri": "git+https://github.com/o/r.git",
                                     "digest": {"sha1": "abc123"}, "entryPoint": "build.yaml"},
                    "parameters": {"IMAGE": "reg/app", "ARGS": ["a", "b"]}
                },
                "metadata": {"buildFinishedOn": "2026-01-01T12:00:00Z"},
                "materials": [{"uri": "oci://gcr.io/base", "digest": {"sha256": "ff"}}]
            }),
        )
    }

    fn v1() -> Statement {
        stmt(
            SLSA_V1,
            json!({
                "buildDefinition": {
                    "buildType": "https://tekton.dev/chains/v2/slsa",
                    "externalParameters": {"runSpec": {"params": [
                        {"name": "IMAGE", "value": "reg/app"}]}},
                    "resolvedDependencies": [
                        {"uri": "git+https://github.com/o/r.git@refs/heads/main",
                         "digest": {"sha1": "abc123"}, "name": "inputs/result"}]
                },
                "runDetails": {
                    "builder": {"id": "https://tekton.dev/chains/v2"},
                    "metadata": {"finishedOn": "2026-01-01T12:00:00Z"}
                }
            }),
        )
    }

    fn fails(c: &SlsaChecks, s: &Statement) -> Vec<CheckFailure> {
        c.evaluate(s, now()).err().unwrap_or_default()
    }

    #[test]
    fn every_check_passes_on_both_versions() {
        let c = SlsaChecks {
            builder_id: Some("https://tekton.dev/chains/v2".into()),
            source_uri: Some("https://github.com/o/r".into()),
            source_ref: Some("sha1:abc123".into()),
            build_type: None,
            params: vec![("IMAGE".into(), "reg/app".into())],
            max_age: Some(Duration::from_secs(86_400)),
        };
        assert_eq!(c.evaluate(&v02(), now()), Ok(()));
        assert_eq!(c.evaluate(&v1(), now()), Ok(()));
        let t02 = SlsaChecks {
            build_type: Some("tekton.dev/v1beta1/TaskRun".into()),
            ..SlsaChecks::default()
        };
        assert_eq!(t02.evaluate(&v02(), now()), Ok(()));
        let t1 = SlsaChecks {
            build_type: Some("https://tekton.dev/chains/v2/slsa".into()),
            ..SlsaChecks::default()
        };
        assert_eq!(t1.evaluate(&v1(), now()), Ok(()));
        // The ref in a v1 dependency URI.
        let r = SlsaChecks {
            source_ref: Some("refs/heads/main".into()),
            ..SlsaChecks::default()
        };
        assert_eq!(r.evaluate(&v1(), now()), Ok(()));
        // Non-string v0.2 parameter values compare as JSON.
        let a = SlsaChecks {
            params: vec![("ARGS".into(), r#"["a","b"]"#.into())],
            ..SlsaChecks::default()
        };
        assert_eq!(a.evaluate(&v02(), now()), Ok(()));
        assert_eq!(
            SlsaChecks::default().evaluate(&stmt("x", json!(1)), now()),
            Ok(())
        );
    }

    #[test]
    fn each_check_denies_with_expected_and_found() {
        for s in [v02(), v1()] {
            let one = |c: SlsaChecks, name: &str| {
                let f = fails(&c, &s);
                assert_eq!(f.len(), 1, "{name}: {f:?}");
                assert_eq!(f[0].check, name);
                assert!(f[0].found.is_some(), "{f:?}");
                f[0].to_string()
            };
            let m = one(
                SlsaChecks {
                    builder_id: Some("https://evil".into()),
                    ..SlsaChecks::default()
                },
                "builder-id",
            );
            assert!(
                m.contains("https://evil") && m.contains("tekton.dev/chains/v2"),
                "{m}"
            );
            one(
                SlsaChecks {
                    build_type: Some("other".into()),
                    ..SlsaChecks::default()
                },
                "build-type",
            );
            one(
                SlsaChecks {
                    source_uri: Some("https://github.com/o/fork".into()),
                    ..SlsaChecks::default()
                },
                "source-uri",
            );
            one(
                SlsaChecks {
                    source_ref: Some("def456".into()),
                    ..SlsaChecks::default()
                },
                "source-ref",
            );
            one(
                SlsaChecks {
                    params: vec![("IMAGE".into(), "reg/other".into())],
                    ..SlsaChecks::default()
                },
                "param",
            );
            one(
                SlsaChecks {
                    max_age: Some(Duration::from_secs(3600)),
                    ..SlsaChecks::default()
                },
                "max-age",
            );
        }
    }

    #[test]
    fn missing_fields_deny_as_missing() {
        let all = SlsaChecks {
            builder_id: Some("b".into()),
            source_uri: Some("https://github.com/o/r".into()),
            source_ref: Some("abc".into()),
            build_type: Some("t".into()),
            params: vec![("K".into(), "V".into())],
            max_age: Some(Duration::from_secs(1)),
        };
        for t in [SLSA_V02, SLSA_V1] {
            for p in [
                json!({}),
                json!(null),
                json!({"builder": 3, "materials": "x"}),
            ] {
                let f = fails(&all, &stmt(t, p));
                let names: Vec<_> = f.iter().map(|f| f.check).collect();
                assert_eq!(
                    names,
                    [
                        "builder-id",
                        "build-type",
                        "source-uri",
                        "source-ref",
                        "param",
                        "max-age"
                    ]
                );
                assert!(f.iter().all(|f| f.found.is_none()), "{f:?}");
                assert!(f[0].to_string().contains("missing"));
            }
        }
        let bad_time = stmt(
            SLSA_V02,
            json!({"metadata": {"buildFinishedOn": "yesterday"}}),
        );
        let f = fails(
            &SlsaChecks {
                max_age: Some(Duration::from_secs(1)),
                ..SlsaChecks::default()
            },
            &bad_time,
        );
        assert_eq!(f.len(), 1);
        let f = fails(&all, &stmt("https://spdx.dev/Document", json!({})));
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].check, "predicate-type");
    }

    #[test]
    fn threshold_counts_distinct_signers() {
        assert!(check_threshold(["a", "b"], 2).is_ok());
        let e = check_threshold(["a", "a"], 2).err();
        assert_eq!(e.as_ref().map(|e| e.check), Some("threshold"));
        assert!(check_threshold([], 1).is_err());
    }

    #[test]
    fn parsing() {
        assert_eq!(parse_param("A=b=c"), Ok(("A".into(), "b=c".into())));
        assert!(parse_param("=x").is_err());
        assert!(parse_param("x").is_err());
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("2h"), Ok(Duration::from_secs(7200)));
        assert_eq!(parse_duration("7d"), Ok(Duration::from_secs(604_800)));
        for bad in ["", "h", "5", "5y", "-5s", "99999999999999999999w"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
        assert!(uri_matches(
            "git+https://github.com/o/r.git@abc",
            "https://github.com/o/r/"
        ));
        assert!(!uri_matches(
            "git+https://github.com/o/r2.git",
            "https://github.com/o/r"
        ));
    }
}
