//! The in-toto Statement every format produces, and its deterministic serialisation.
//!
//! Shared by all formats: [`Statement::new`] sorts and normalises the subjects, and
//! [`Statement::to_json`] writes compact JSON with object keys sorted at every level,
//! so the same run always gives the same bytes.

use std::collections::BTreeMap;

use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
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
                    .map(|(alg, mut hex)| {
                        // Drop a repeated `ALG:` prefix, lowercase in place.
                        if hex.len() > alg.len()
                            && hex.starts_with(alg.as_str())
                            && hex.as_bytes()[alg.len()] == b':'
                        {
                            hex.drain(..=alg.len());
                        }
                        hex.make_ascii_lowercase();
                        (alg, hex)
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
    ///
    /// Byte-identical to serialising [`Statement::to_value`], but written straight from
    /// the statement: nothing is cloned or rebuilt.
    #[must_use]
    pub fn to_json(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(4096);
        // Serialising strings and `Value`s into a Vec cannot fail (all keys are strings).
        let _ = serde_json::to_writer(&mut out, &StatementJson(self));
        out
    }
}

/// [`Statement`] as JSON, keys in sorted order (`_type`, `predicate`, `predicateType`,
/// `subject`), without building a `Value`.
struct StatementJson<'a>(&'a Statement);

impl Serialize for StatementJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let st = self.0;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("_type", &st.type_)?;
        m.serialize_entry("predicate", &SortedJson(&st.predicate))?;
        m.serialize_entry("predicateType", &st.predicate_type)?;
        if !st.subject.is_empty() {
            m.serialize_entry("subject", &SubjectsJson(&st.subject))?;
        }
        m.end()
    }
}

struct SubjectsJson<'a>(&'a [Subject]);

impl Serialize for SubjectsJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for subject in self.0 {
            seq.serialize_element(&SubjectJson(subject))?;
        }
        seq.end()
    }
}

struct SubjectJson<'a>(&'a Subject);

impl Serialize for SubjectJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let subject = self.0;
        let mut m = s.serialize_map(None)?;
        // protojson omits empty fields; `digest` sorts before `name`.
        if !subject.digest.is_empty() {
            m.serialize_entry("digest", &subject.digest)?;
        }
        if !subject.name.is_empty() {
            m.serialize_entry("name", &subject.name)?;
        }
        m.end()
    }
}

/// A `Value` serialised with the keys of every object in sorted order, as [`sorted`]
/// would give, without rebuilding it. serde_json's map is ordered by key unless its
/// `preserve_order` feature is on, so the common case is a straight walk.
struct SortedJson<'a>(&'a Value);

impl Serialize for SortedJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Value::Object(obj) => {
                let mut m = s.serialize_map(Some(obj.len()))?;
                let in_order = obj.keys().zip(obj.keys().skip(1)).all(|(a, b)| a <= b);
                if in_order {
                    for (k, v) in obj {
                        m.serialize_entry(k, &SortedJson(v))?;
                    }
                } else {
                    let mut entries: Vec<(&String, &Value)> = obj.iter().collect();
                    entries.sort_by(|a, b| a.0.cmp(b.0));
                    for (k, v) in entries {
                        m.serialize_entry(k, &SortedJson(v))?;
                    }
                }
                m.end()
            }
            Value::Array(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for v in items {
                    seq.serialize_element(&SortedJson(v))?;
                }
                seq.end()
            }
            other => other.serialize(s),
        }
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
