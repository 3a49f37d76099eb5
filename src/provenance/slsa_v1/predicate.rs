//! The SLSA v1.0 provenance predicate, as typed serde structs.
//!
//! Field presence follows how Chains writes the predicate (protobuf JSON): empty
//! strings, lists and bytes are left out, `builder` and `metadata` are always there.

use base64::Engine as _;
use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// An in-toto v1 `ResourceDescriptor`.
///
/// Ordered by name, uri, digest, content, then media type (for sorting byproducts).
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ResourceDescriptor {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub(crate) name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub(crate) uri: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) digest: BTreeMap<String, String>,
    /// Raw bytes, written as standard base64 (protobuf `bytes`).
    #[serde(skip_serializing_if = "Vec::is_empty", serialize_with = "base64_bytes")]
    pub(crate) content: Vec<u8>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub(crate) media_type: String,
}

fn base64_bytes<S: serde::Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(bytes))
}

/// `predicate`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Provenance {
    pub(crate) build_definition: BuildDefinition,
    pub(crate) run_details: RunDetails,
}

/// `predicate.buildDefinition`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct BuildDefinition {
    pub(crate) build_type: String,
    pub(crate) external_parameters: Value,
    pub(crate) internal_parameters: Value,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) resolved_dependencies: Vec<ResourceDescriptor>,
}

/// `predicate.runDetails`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RunDetails {
    pub(crate) builder: Builder,
    pub(crate) metadata: BuildMetadata,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) byproducts: Vec<ResourceDescriptor>,
}

/// `predicate.runDetails.builder`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Builder {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub(crate) id: String,
}

/// `predicate.runDetails.metadata`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct BuildMetadata {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub(crate) invocation_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) started_on: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) finished_on: Option<String>,
}

impl Provenance {
    /// The predicate as a JSON tree — the same tree `serde_json::to_value` gives, but
    /// the parameter trees are moved in rather than copied.
    pub(crate) fn into_value(self) -> Result<Value, crate::provenance::FormatError> {
        fn val<T: Serialize>(t: &T) -> Result<Value, crate::provenance::FormatError> {
            serde_json::to_value(t)
                .map_err(|e| crate::provenance::FormatError::Invalid(e.to_string()))
        }
        let bd = self.build_definition;
        let mut build_definition = Map::new();
        build_definition.insert("buildType".into(), Value::String(bd.build_type));
        build_definition.insert("externalParameters".into(), bd.external_parameters);
        build_definition.insert("internalParameters".into(), bd.internal_parameters);
        if !bd.resolved_dependencies.is_empty() {
            build_definition.insert(
                "resolvedDependencies".into(),
                descriptors(bd.resolved_dependencies),
            );
        }
        let rd = self.run_details;
        let mut run_details = Map::new();
        run_details.insert("builder".into(), val(&rd.builder)?);
        run_details.insert("metadata".into(), val(&rd.metadata)?);
        if !rd.byproducts.is_empty() {
            run_details.insert("byproducts".into(), descriptors(rd.byproducts));
        }
        let mut m = Map::new();
        m.insert("buildDefinition".into(), Value::Object(build_definition));
        m.insert("runDetails".into(), Value::Object(run_details));
        Ok(Value::Object(m))
    }
}

fn descriptors(list: Vec<ResourceDescriptor>) -> Value {
    Value::Array(
        list.into_iter()
            .map(ResourceDescriptor::into_value)
            .collect(),
    )
}

impl ResourceDescriptor {
    /// The descriptor as a JSON tree (what its `Serialize` impl gives), moving its
    /// strings in rather than copying them.
    pub(crate) fn into_value(self) -> Value {
        let mut m = Map::new();
        if !self.name.is_empty() {
            m.insert("name".into(), Value::String(self.name));
        }
        if !self.uri.is_empty() {
            m.insert("uri".into(), Value::String(self.uri));
        }
        if !self.digest.is_empty() {
            m.insert(
                "digest".into(),
                Value::Object(
                    self.digest
                        .into_iter()
                        .map(|(k, v)| (k, Value::String(v)))
                        .collect(),
                ),
            );
        }
        if !self.content.is_empty() {
            m.insert(
                "content".into(),
                Value::String(base64::engine::general_purpose::STANDARD.encode(&self.content)),
            );
        }
        if !self.media_type.is_empty() {
            m.insert("mediaType".into(), Value::String(self.media_type));
        }
        Value::Object(m)
    }
}
