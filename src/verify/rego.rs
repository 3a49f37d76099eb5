//! Rego policies for `hallmark verify --policy` (evaluated by `regorus`).
//!
//! A policy is a Rego v1 module (OPA 1.0 syntax: `deny contains msg if { ... }`). Every
//! package loaded is asked for `data.<package>.deny`: a set of strings, or of objects
//! with a string `msg` (other fields are kept as details). Each member is one reason to
//! deny. All modules are loaded into one engine, so a policy may import helpers from
//! another file; a package spread over several files is evaluated once and its reasons
//! name all of them.
//!
//! The input document ([`PolicyInput`]) is built by the caller from what verified: the
//! artifact, every verified attestation (statement, signer, log entries), those that did
//! not verify and why, and the chain (`null` until `--chain` fills it). Its schema is
//! documented in docs/verify.md ("Policy input").
//!
//! Policy sources are trusted configuration (like the verification key), not untrusted
//! input: they are parsed here, but nothing fetched from a registry or log is parsed as
//! Rego. [`PolicySet::evaluate`] is pure over its input; only [`read_sources`] reads files.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::Value;

use super::Statement;

/// Why policies could not be loaded or evaluated. Every variant means "could not
/// decide" (exit 2), never a denial.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RegoError {
    /// A policy file or directory cannot be read.
    #[error("reading policy {}", path.display())]
    Read {
        /// The path.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A `--policy` directory holds no `.rego` file.
    #[error("policy directory {} holds no .rego file", path.display())]
    EmptyDirectory {
        /// The directory.
        path: PathBuf,
    },
    /// A policy does not parse (regorus' message, with line and column).
    #[error("policy {policy} does not parse: {message}")]
    Parse {
        /// The policy file.
        policy: String,
        /// What regorus said.
        message: String,
    },
    /// A policy package defines no `deny` rule.
    #[error("policy {policy} (package {package}) has no `deny` rule")]
    NoDeny {
        /// The policy file(s).
        policy: String,
        /// The package, `data.NAME`.
        package: String,
    },
    /// Evaluating `deny` failed (a builtin error, a conflict, a timeout).
    #[error("evaluating {package}.deny ({policy}): {message}")]
    Eval {
        /// The policy file(s).
        policy: String,
        /// The package, `data.NAME`.
        package: String,
        /// What regorus said.
        message: String,
    },
    /// `deny` is not a set of strings or of objects with a string `msg`.
    #[error(
        "{package}.deny ({policy}) must be a set of strings or of objects with a string `msg`, found {found}"
    )]
    DenyShape {
        /// The policy file(s).
        policy: String,
        /// The package, `data.NAME`.
        package: String,
        /// What was found (compact JSON).
        found: String,
    },
}

impl RegoError {
    /// Whether retrying may help: never (policies and inputs are local).
    #[must_use]
    pub fn is_transient(&self) -> bool {
        false
    }
}

/// One policy's source text and the name it is reported under (its path).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicySource {
    /// The path given (or found in a given directory), as reported in reasons.
    pub name: String,
    /// The Rego text.
    pub text: String,
}

/// Read `--policy` arguments: each a `.rego` file, or a directory whose `*.rego` files
/// (not recursive, in name order) are read.
///
/// # Errors
///
/// [`RegoError::Read`] for an unreadable path, [`RegoError::EmptyDirectory`] for a
/// directory without `.rego` files.
pub fn read_sources(paths: &[PathBuf]) -> Result<Vec<PolicySource>, RegoError> {
    let read_err = |path: &Path| {
        let path = path.to_owned();
        move |source| RegoError::Read { path, source }
    };
    let mut out = Vec::new();
    for path in paths {
        let files = if path.is_dir() {
            let mut files: Vec<PathBuf> = std::fs::read_dir(path)
                .map_err(read_err(path))?
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "rego"))
                .collect();
            files.sort();
            if files.is_empty() {
                return Err(RegoError::EmptyDirectory { path: path.clone() });
            }
            files
        } else {
            vec![path.clone()]
        };
        for f in files {
            let text = std::fs::read_to_string(&f).map_err(read_err(&f))?;
            out.push(PolicySource {
                name: f.display().to_string(),
                text,
            });
        }
    }
    Ok(out)
}

/// One reason a policy denies.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Denial {
    /// The policy file(s) of the package that denied (comma-separated when a package
    /// spans several files).
    pub policy: String,
    /// The package, `data.NAME`.
    pub package: String,
    /// The message: the string, or the object's `msg`.
    pub message: String,
    /// The whole object, when `deny` held objects.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<Value>,
}

/// Loaded policies, ready to evaluate over inputs.
#[derive(Clone)]
pub struct PolicySet {
    engine: regorus::Engine,
    /// Packages (`data.NAME`) in load order, with the files that declare them.
    packages: Vec<(String, Vec<String>)>,
    /// `(name, sha256 hex of the text)` of every source, in load order.
    digests: Vec<(String, String)>,
}

impl std::fmt::Debug for PolicySet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PolicySet")
            .field("packages", &self.packages)
            .finish_non_exhaustive()
    }
}

impl PolicySet {
    /// Parse the policies (Rego v1).
    ///
    /// # Errors
    ///
    /// [`RegoError::Parse`] for a module that does not parse; [`RegoError::NoDeny`] for a
    /// package without a `deny` rule.
    pub fn new(sources: &[PolicySource]) -> Result<Self, RegoError> {
        let mut engine = regorus::Engine::new();
        let mut packages: Vec<(String, Vec<String>)> = Vec::new();
        let mut digests = Vec::new();
        let mut has_deny: BTreeMap<String, bool> = BTreeMap::new();
        for s in sources {
            let package = engine
                .add_policy(s.name.clone(), s.text.clone())
                .map_err(|e| RegoError::Parse {
                    policy: s.name.clone(),
                    message: format!("{e:#}"),
                })?;
            let declares = engine
                .has_declared_rule_rooted_at(&s.name, "deny")
                .unwrap_or(false);
            *has_deny.entry(package.clone()).or_default() |= declares;
            match packages.iter_mut().find(|(p, _)| *p == package) {
                Some((_, files)) => files.push(s.name.clone()),
                None => packages.push((package, vec![s.name.clone()])),
            }
            digests.push((
                s.name.clone(),
                hex::encode(super::ArtifactRef::Bytes(s.text.as_bytes()).sha256()),
            ));
        }
        for (package, files) in &packages {
            if !has_deny.get(package).copied().unwrap_or(false) {
                return Err(RegoError::NoDeny {
                    policy: files.join(", "),
                    package: package.clone(),
                });
            }
        }
        Ok(Self {
            engine,
            packages,
            digests,
        })
    }

    /// `(name, sha256 hex)` of every policy source, in load order (for the VSA's
    /// `policy` descriptor).
    #[must_use]
    pub fn digests(&self) -> &[(String, String)] {
        &self.digests
    }

    /// Evaluate every package's `deny` over `input`; the reasons, in package order then
    /// set order. Empty: every policy allows.
    ///
    /// # Errors
    ///
    /// [`RegoError::Eval`] when evaluation fails, [`RegoError::DenyShape`] when `deny`
    /// is not a set of strings or `msg` objects.
    pub fn evaluate(&self, input: &Value) -> Result<Vec<Denial>, RegoError> {
        let mut engine = self.engine.clone();
        engine.set_input(regorus::Value::from(input.clone()));
        let mut out = Vec::new();
        for (package, files) in &self.packages {
            let policy = files.join(", ");
            let value =
                engine
                    .eval_rule(format!("{package}.deny"))
                    .map_err(|e| RegoError::Eval {
                        policy: policy.clone(),
                        package: package.clone(),
                        message: format!("{e:#}"),
                    })?;
            if value == regorus::Value::Undefined {
                continue;
            }
            let json = serde_json::to_value(&value).unwrap_or(Value::Null);
            let shape = |found: &Value| RegoError::DenyShape {
                policy: policy.clone(),
                package: package.clone(),
                found: found.to_string(),
            };
            // A set serializes as a JSON array.
            let Value::Array(members) = &json else {
                return Err(shape(&json));
            };
            for m in members {
                let (message, details) = match m {
                    Value::String(s) => (s.clone(), None),
                    Value::Object(o) => match o.get("msg") {
                        Some(Value::String(s)) => (s.clone(), Some(m.clone())),
                        _ => return Err(shape(m)),
                    },
                    _ => return Err(shape(m)),
                };
                out.push(Denial {
                    policy: policy.clone(),
                    package: package.clone(),
                    message,
                    details,
                });
            }
        }
        Ok(out)
    }
}

/// The input document a policy sees as `input` (docs/verify.md, "Policy input").
#[derive(Debug, Clone, Serialize)]
pub struct PolicyInput {
    /// What was verified.
    pub artifact: InputArtifact,
    /// When the verification ran (RFC 3339, UTC): compare ages against this rather than
    /// `time.now_ns()`, so a policy decides the same on a replay.
    pub now: String,
    /// Every attestation (or signature) that verified: signature, signer, transparency
    /// log, subject and `--type`. The built-in SLSA checks are not applied first.
    pub attestations: Vec<InputAttestation>,
    /// Attestations found beside an image that did not verify, and why.
    pub failed: Vec<FailedAttestation>,
    /// The chain from `--chain` (the graph of `-o json`); `null` without `--chain`.
    pub chain: Option<Value>,
}

/// The artifact: its name as given and its digest.
#[derive(Debug, Clone, Serialize)]
pub struct InputArtifact {
    /// The argument: a file path, `sha256:HEX`, or an image reference.
    pub name: String,
    /// `{"sha256": HEX}`.
    pub digest: BTreeMap<String, String>,
}

/// One verified attestation.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InputAttestation {
    /// What verified: `envelope`, `bundle/dsse` or `bundle/message-signature`.
    pub kind: String,
    /// Where it was found (images: `referrer sha256:…`, `sha256-<hex>.att layer N`);
    /// `null` for `--envelope` / `--bundle`.
    pub location: Option<String>,
    /// The in-toto statement (`_type`, `subject`, `predicateType`, `predicate`); `null`
    /// for a message signature.
    pub statement: Option<Statement>,
    /// Who signed.
    pub signer: InputSigner,
    /// Verified transparency log entries.
    pub log_entries: Vec<InputLogEntry>,
    /// Verified signing times (RFC 3339): log integrated times and RFC 3161 timestamps.
    pub signing_times: Vec<String>,
}

/// Who signed a verified attestation.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum InputSigner {
    /// Verified with `--key`.
    #[serde(rename_all = "camelCase")]
    Key {
        /// The DSSE `keyid` hint (unsigned, may be empty).
        key_id: String,
    },
    /// Keyless: a Fulcio certificate.
    #[serde(rename_all = "camelCase")]
    Certificate {
        /// The certificate's subject alternative name (email or URI).
        identity: Option<String>,
        /// The OIDC issuer (Fulcio extension).
        issuer: Option<String>,
    },
}

/// One verified transparency log entry.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InputLogEntry {
    /// The log's base URL (from the trusted root).
    pub log_url: String,
    /// The entry's index.
    pub log_index: i64,
    /// When the log integrated it (RFC 3339); `null` for Rekor v2.
    pub integrated_time: Option<String>,
}

/// An attestation that did not verify.
#[derive(Debug, Clone, Serialize)]
pub struct FailedAttestation {
    /// Where it was found.
    pub location: String,
    /// `deny`, `error` or `skipped` (unreadable).
    pub decision: String,
    /// The failed check (`signature`, `subject`, ...), as in the JSON report.
    pub check: Option<String>,
    /// Why.
    pub message: Option<String>,
}

impl PolicyInput {
    /// The input as JSON.
    #[must_use]
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

#[cfg(test)]
#[allow(clippy::panic)] // Tests report failures by panicking.
mod tests {
    use super::*;

    fn set(policies: &[(&str, &str)]) -> Result<PolicySet, RegoError> {
        PolicySet::new(
            &policies
                .iter()
                .map(|(n, t)| PolicySource {
                    name: (*n).to_owned(),
                    text: (*t).to_owned(),
                })
                .collect::<Vec<_>>(),
        )
    }

    #[test]
    fn strings_and_msg_objects_are_reasons() {
        let p = set(&[
            (
                "a.rego",
                "package a\ndeny contains \"no\" if input.x == 1\n",
            ),
            (
                "b.rego",
                "package b\ndeny contains {\"msg\": sprintf(\"x is %d\", [input.x]), \"k\": 2} if input.x > 0\n",
            ),
        ])
        .unwrap_or_else(|e| panic!("{e}"));
        let d = p
            .evaluate(&serde_json::json!({"x": 1}))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(d.len(), 2, "{d:?}");
        assert_eq!(
            (d[0].policy.as_str(), d[0].message.as_str()),
            ("a.rego", "no")
        );
        assert_eq!(d[0].package, "data.a");
        assert_eq!(d[1].message, "x is 1");
        assert_eq!(
            d[1].details.as_ref().map(|v| v["k"].clone()),
            Some(2.into())
        );
        let d = p
            .evaluate(&serde_json::json!({"x": 0}))
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(d.is_empty(), "{d:?}");
    }

    #[test]
    fn errors_are_not_denials() {
        let r = set(&[("bad.rego", "package a\ndeny contains if {\n")]);
        assert!(matches!(r, Err(RegoError::Parse { .. })), "{r:?}");
        let r = set(&[("nodeny.rego", "package a\nallow := true\n")]);
        assert!(matches!(r, Err(RegoError::NoDeny { .. })), "{r:?}");
        let p = set(&[("shape.rego", "package a\ndeny contains 3 if true\n")])
            .unwrap_or_else(|e| panic!("{e}"));
        let r = p.evaluate(&serde_json::json!({}));
        assert!(matches!(r, Err(RegoError::DenyShape { .. })), "{r:?}");
        let p = set(&[("obj.rego", "package a\ndeny contains {\"m\": 1} if true\n")])
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(
            p.evaluate(&serde_json::json!({})),
            Err(RegoError::DenyShape { .. })
        ));
    }

    #[test]
    fn a_package_across_files_is_evaluated_once() {
        let p = set(&[
            (
                "one.rego",
                "package shared\ndeny contains \"one\" if input.a\n",
            ),
            (
                "two.rego",
                "package shared\ndeny contains \"two\" if input.a\n",
            ),
        ])
        .unwrap_or_else(|e| panic!("{e}"));
        let d = p
            .evaluate(&serde_json::json!({"a": true}))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(d.len(), 2, "{d:?}");
        assert!(d.iter().all(|d| d.policy == "one.rego, two.rego"));
        assert_eq!(p.digests().len(), 2);
    }
}
