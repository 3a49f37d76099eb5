//! The in-toto Statement every format produces, and its deterministic serialisation.
//!
//! Shared by all formats: [`Statement::new`] sorts and normalises the subjects, and
//! [`Statement::to_json`] writes compact JSON with object keys sorted at every level,
//! so the same run always gives the same bytes.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

/// `_type` of an in-toto Statement v0.1 (used with SLSA v0.2 predicates).
pub const STATEMENT_V01: &str = "https://in-toto.io/Statement/v0.1";
/// `_type` of an in-toto Statement v1 (used with SLSA v1 predicates).
pub const STATEMENT_V1: &str = "https://in-toto.io/Statement/v1";
/// `predicateType` of SLSA provenance v0.2.
pub const PREDICATE_SLSA_V02: &str = "https://slsa.dev/provenance/v0.2";
/// `predicateType` of SLSA provenance v1.
pub const PREDICATE_SLSA_V1: &str = "https://slsa.dev/provenance/v1";

/// A subject of a statement: an artifact name and its digests.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Subject {
    /// `name` (an image repository, a URI, ...).
    pub name: String,
    /// `digest`: algorithm → hex.
    pub digest: BTreeMap<String, String>,
}

impl Subject {
    fn to_json(&self) -> Value {
        let mut m = Map::new();
        // protojson omits empty fields.
        if !self.name.is_empty() {
            m.insert("name".into(), Value::String(self.name.clone()));
        }
        if !self.digest.is_empty() {
            m.insert(
                "digest".into(),
                Value::Object(
                    self.digest
                        .iter()
                        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                        .collect(),
                ),
            );
        }
        Value::Object(m)
    }
}

/// An in-toto Statement: subjects plus a typed predicate.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    type_: String,
    subject: Vec<Subject>,
    predicate_type: String,
    predicate: Value,
}

impl Statement {
    /// A statement with the given `_type`, subjects, `predicateType` and predicate.
    ///
    /// Subjects are sorted (by name, then digests) and exact duplicates removed; digest
    /// hex is lowercased and a `sha256:`-style prefix repeated in the value is removed.
    #[must_use]
    pub fn new(type_: &str, subject: Vec<Subject>, predicate_type: &str, predicate: Value) -> Self {
        let mut subject: Vec<Subject> = subject
            .into_iter()
            .map(|s| Subject {
                name: s.name,
                digest: s
                    .digest
                    .into_iter()
                    .map(|(alg, hex)| {
                        let hex = hex
                            .strip_prefix(&format!("{alg}:"))
                            .map(str::to_owned)
                            .unwrap_or(hex);
                        (alg, hex.to_ascii_lowercase())
                    })
                    .collect(),
            })
            .collect();
        // Chains: subjects come out in Go map iteration order (random); hallmark sorts them.
        subject.sort();
        subject.dedup();
        Self {
            type_: type_.to_owned(),
            subject,
            predicate_type: predicate_type.to_owned(),
            predicate,
        }
    }

    /// `_type`.
    #[must_use]
    pub fn statement_type(&self) -> &str {
        &self.type_
    }

    /// `subject`, sorted.
    #[must_use]
    pub fn subjects(&self) -> &[Subject] {
        &self.subject
    }

    /// `predicateType`.
    #[must_use]
    pub fn predicate_type(&self) -> &str {
        &self.predicate_type
    }

    /// `predicate`.
    #[must_use]
    pub fn predicate(&self) -> &Value {
        &self.predicate
    }

    /// The statement as a JSON value (keys sorted).
    #[must_use]
    pub fn to_value(&self) -> Value {
        let mut m = Map::new();
        m.insert("_type".into(), Value::String(self.type_.clone()));
        // protojson omits an empty repeated field, and so does Chains.
        if !self.subject.is_empty() {
            m.insert(
                "subject".into(),
                Value::Array(self.subject.iter().map(Subject::to_json).collect()),
            );
        }
        m.insert(
            "predicateType".into(),
            Value::String(self.predicate_type.clone()),
        );
        m.insert("predicate".into(), self.predicate.clone());
        sorted(Value::Object(m))
    }

    /// Compact, deterministic JSON: object keys sorted at every level, no whitespace.
    #[must_use]
    pub fn to_json(&self) -> Vec<u8> {
        // Serialising a `Value` cannot fail (all keys are strings).
        serde_json::to_vec(&self.to_value()).unwrap_or_default()
    }
}

/// `v` with the keys of every object sorted (independent of serde_json's map order).
#[must_use]
pub fn sorted(v: Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut entries: Vec<(String, Value)> =
                m.into_iter().map(|(k, v)| (k, sorted(v))).collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(entries.into_iter().collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sorted).collect()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_sorted_normalised_and_json_compact() {
        let d = |alg: &str, hex: &str| BTreeMap::from([(alg.to_owned(), hex.to_owned())]);
        let s = Statement::new(
            STATEMENT_V01,
            vec![
                Subject {
                    name: "b".into(),
                    digest: d("sha256", "AB"),
                },
                Subject {
                    name: "a".into(),
                    digest: d("sha256", "sha256:cd"),
                },
                Subject {
                    name: "b".into(),
                    digest: d("sha256", "ab"),
                },
            ],
            PREDICATE_SLSA_V02,
            serde_json::json!({"z": 1, "a": {"y": null, "b": []}}),
        );
        assert_eq!(s.subjects().len(), 2);
        assert_eq!(
            String::from_utf8(s.to_json()).unwrap_or_default(),
            r#"{"_type":"https://in-toto.io/Statement/v0.1","predicate":{"a":{"b":[],"y":null},"z":1},"predicateType":"https://slsa.dev/provenance/v0.2","subject":[{"digest":{"sha256":"cd"},"name":"a"},{"digest":{"sha256":"ab"},"name":"b"}]}"#
        );
    }
}
