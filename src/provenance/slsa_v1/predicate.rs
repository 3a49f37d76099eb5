//! The SLSA v1.0 provenance predicate, as typed serde structs.
//!
//! Field presence follows how Chains writes the predicate (protobuf JSON): empty
//! strings, lists and bytes are left out, `builder` and `metadata` are always there.

use base64::Engine as _;
use serde::Serialize;
use serde_json::Value;
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
