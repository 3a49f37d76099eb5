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
    /// Byte-identical to `serde_json::to_vec(&self.to_value())`, but written straight
    /// from the statement: nothing is cloned or rebuilt.
    #[must_use]
    pub fn to_json(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(8192);
        // Keys in sorted order: `_type`, `predicate`, `predicateType`, `subject`.
        out.extend_from_slice(b"{\"_type\":");
        json::write_str(&mut out, &self.type_);
        out.extend_from_slice(b",\"predicate\":");
        json::write_sorted(&mut out, &self.predicate);
        out.extend_from_slice(b",\"predicateType\":");
        json::write_str(&mut out, &self.predicate_type);
        // protojson omits an empty repeated field, and so does Chains.
        if !self.subject.is_empty() {
            out.extend_from_slice(b",\"subject\":[");
            for (i, subject) in self.subject.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                // protojson omits empty fields; `digest` sorts before `name`.
                out.push(b'{');
                let mut first = true;
                if !subject.digest.is_empty() {
                    out.extend_from_slice(b"\"digest\":{");
                    for (j, (alg, hex)) in subject.digest.iter().enumerate() {
                        if j > 0 {
                            out.push(b',');
                        }
                        json::write_str(&mut out, alg);
                        out.push(b':');
                        json::write_str(&mut out, hex);
                    }
                    out.push(b'}');
                    first = false;
                }
                if !subject.name.is_empty() {
                    if !first {
                        out.push(b',');
                    }
                    out.extend_from_slice(b"\"name\":");
                    json::write_str(&mut out, &subject.name);
                }
                out.push(b'}');
            }
            out.push(b']');
        }
        out.push(b'}');
        out
    }
}

/// A compact JSON writer giving the bytes `serde_json` gives, with object keys sorted.
mod json {
    use serde_json::Value;

    /// Writes `v` with the keys of every object in sorted order (as [`super::sorted`]
    /// would give). serde_json's map is ordered by key unless its `preserve_order`
    /// feature is on, so the common case is a straight walk.
    pub(super) fn write_sorted(out: &mut Vec<u8>, v: &Value) {
        match v {
            Value::Null => out.extend_from_slice(b"null"),
            Value::Bool(true) => out.extend_from_slice(b"true"),
            Value::Bool(false) => out.extend_from_slice(b"false"),
            // Numbers are rare here: let serde_json format them.
            Value::Number(n) => {
                let _ = serde_json::to_writer(&mut *out, n);
            }
            Value::String(s) => write_str(out, s),
            Value::Array(items) => {
                out.push(b'[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    write_sorted(out, item);
                }
                out.push(b']');
            }
            Value::Object(obj) => {
                out.push(b'{');
                let in_order = obj.keys().zip(obj.keys().skip(1)).all(|(a, b)| a <= b);
                let entry = |i: usize, k: &str, v: &Value, out: &mut Vec<u8>| {
                    if i > 0 {
                        out.push(b',');
                    }
                    write_str(out, k);
                    out.push(b':');
                    write_sorted(out, v);
                };
                if in_order {
                    for (i, (k, v)) in obj.iter().enumerate() {
                        entry(i, k, v, out);
                    }
                } else {
                    let mut entries: Vec<(&String, &Value)> = obj.iter().collect();
                    entries.sort_by(|a, b| a.0.cmp(b.0));
                    for (i, (k, v)) in entries.into_iter().enumerate() {
                        entry(i, k, v, out);
                    }
                }
                out.push(b'}');
            }
        }
    }

    const HEX: &[u8; 16] = b"0123456789abcdef";
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;

    /// Whether any of the 8 bytes of `x` is a control character, `"` or `\\`.
    fn needs_escape(x: u64) -> bool {
        let has_zero = |v: u64| v.wrapping_sub(ONES) & !v & HIGHS != 0;
        let has_control = x.wrapping_sub(ONES * 0x20) & !x & HIGHS != 0;
        has_control
            || has_zero(x ^ (ONES * u64::from(b'"')))
            || has_zero(x ^ (ONES * u64::from(b'\\')))
    }

    /// Writes `s` as a JSON string, escaped exactly as `serde_json` escapes it:
    /// `\"`, `\\`, `\b`, `\t`, `\n`, `\f`, `\r`, other control characters as
    /// `\u00xx`; everything else (including non-ASCII and `/`) as is.
    pub(super) fn write_str(out: &mut Vec<u8>, s: &str) {
        let bytes = s.as_bytes();
        out.reserve(bytes.len() + 2);
        out.push(b'"');
        let mut start = 0;
        let mut i = 0;
        while i < bytes.len() {
            // 8 bytes at a time (a short tail padded with a byte that needs no escape);
            // only a chunk that holds something to escape is looked at byte by byte.
            let end = bytes.len().min(i + 8);
            let mut word = [b'A'; 8];
            word[..end - i].copy_from_slice(&bytes[i..end]);
            if !needs_escape(u64::from_le_bytes(word)) {
                i = end;
                continue;
            }
            for (j, &b) in bytes.iter().enumerate().take(end).skip(i) {
                let escape: &[u8] = match b {
                    b'"' => b"\\\"",
                    b'\\' => b"\\\\",
                    0x08 => b"\\b",
                    0x09 => b"\\t",
                    0x0A => b"\\n",
                    0x0C => b"\\f",
                    0x0D => b"\\r",
                    0x00..=0x1F => &[
                        b'\\',
                        b'u',
                        b'0',
                        b'0',
                        HEX[usize::from(b >> 4)],
                        HEX[usize::from(b & 0xF)],
                    ],
                    _ => continue,
                };
                out.extend_from_slice(&bytes[start..j]);
                out.extend_from_slice(escape);
                start = j + 1;
            }
            i = end;
        }
        out.extend_from_slice(&bytes[start..]);
        out.push(b'"');
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
    use proptest::prelude::*;

    fn value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            any::<String>().prop_map(Value::String),
            "[\\x00-\\x7f\"\\\\é/]{0,24}".prop_map(Value::String),
        ];
        leaf.prop_recursive(3, 32, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::btree_map(any::<String>(), inner, 0..6)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn to_json_is_serde_json_of_to_value(predicate in value(), name in any::<String>()) {
            let s = Statement::new(
                STATEMENT_V1,
                vec![Subject { name, digest: BTreeMap::from([("sha256".to_owned(), "AB".to_owned())]) }],
                PREDICATE_SLSA_V1,
                predicate,
            );
            let expected = serde_json::to_vec(&s.to_value()).unwrap_or_default();
            prop_assert_eq!(s.to_json(), expected);
        }
    }

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
