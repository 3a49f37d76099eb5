//! Path-aware reading of a decoded JSON/YAML document into the typed model.
//!
//! Every accessor takes the field path of the value it reads, so a malformed document
//! yields one error naming the exact field (`status.results[2].value: ...`).

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::ParseError;

/// The path of `key` inside an object found at `path`.
pub(crate) fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

/// The path of element `i` of an array found at `path`.
pub(crate) fn index(path: &str, i: usize) -> String {
    format!("{path}[{i}]")
}

pub(crate) fn invalid(path: &str, expected: &str) -> ParseError {
    ParseError::Field {
        path: path.to_owned(),
        expected: expected.to_owned(),
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

pub(crate) fn invalid_found(path: &str, expected: &str, found: &Value) -> ParseError {
    invalid(path, &format!("{expected}, found {}", type_name(found)))
}

/// An object (or `null`/absent, read as empty).
pub(crate) fn object<'a>(
    v: Option<&'a Value>,
    path: &str,
) -> Result<Option<&'a Map<String, Value>>, ParseError> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(m)) => Ok(Some(m)),
        Some(other) => Err(invalid_found(path, "expected object", other)),
    }
}

/// A string field; absent or `null` reads as `""`.
pub(crate) fn string(m: &Map<String, Value>, path: &str, key: &str) -> Result<String, ParseError> {
    Ok(opt_string(m, path, key)?.unwrap_or_default())
}

/// A string field that may be absent.
pub(crate) fn opt_string(
    m: &Map<String, Value>,
    path: &str,
    key: &str,
) -> Result<Option<String>, ParseError> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(invalid_found(&join(path, key), "expected string", other)),
    }
}

/// A list of strings; absent or `null` reads as `None` (Go's nil slice).
pub(crate) fn opt_strings(
    m: &Map<String, Value>,
    path: &str,
    key: &str,
) -> Result<Option<Vec<String>>, ParseError> {
    let p = join(path, key);
    match m.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, v)| match v {
                Value::String(s) => Ok(s.clone()),
                other => Err(invalid_found(&index(&p, i), "expected string", other)),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(other) => Err(invalid_found(&p, "expected array of strings", other)),
    }
}

/// A map of strings (labels, annotations, digests); absent reads as empty.
pub(crate) fn string_map(
    m: &Map<String, Value>,
    path: &str,
    key: &str,
) -> Result<BTreeMap<String, String>, ParseError> {
    let p = join(path, key);
    let Some(obj) = object(m.get(key), &p)? else {
        return Ok(BTreeMap::new());
    };
    obj.iter()
        .map(|(k, v)| match v {
            Value::String(s) => Ok((k.clone(), s.clone())),
            other => Err(invalid_found(&join(&p, k), "expected string", other)),
        })
        .collect()
}

/// The elements of an array field (absent or `null`: none), each with its path.
pub(crate) fn array<'a>(
    m: &'a Map<String, Value>,
    path: &str,
    key: &str,
) -> Result<Vec<(String, &'a Value)>, ParseError> {
    let p = join(path, key);
    match m.get(key) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => Ok(items
            .iter()
            .enumerate()
            .map(|(i, v)| (index(&p, i), v))
            .collect()),
        Some(other) => Err(invalid_found(&p, "expected array", other)),
    }
}

/// An object with the path it was found at.
pub(crate) type Located<'a> = (String, &'a Map<String, Value>);

/// An array of objects: each element must be an object.
pub(crate) fn objects<'a>(
    m: &'a Map<String, Value>,
    path: &str,
    key: &str,
) -> Result<Vec<Located<'a>>, ParseError> {
    array(m, path, key)?
        .into_iter()
        .map(|(p, v)| match v {
            Value::Object(o) => Ok((p, o)),
            other => Err(invalid_found(&p, "expected object", other)),
        })
        .collect()
}

/// A nested object field (absent or `null`: `None`).
pub(crate) fn child<'a>(
    m: &'a Map<String, Value>,
    path: &str,
    key: &str,
) -> Result<Option<&'a Map<String, Value>>, ParseError> {
    object(m.get(key), &join(path, key))
}
