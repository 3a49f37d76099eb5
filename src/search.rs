//! `hallmark search`: a pipeline's entries in Rekor v1, each verified before it is shown.
//!
//! Rekor's search index (`POST /api/v1/index/retrieve`) is asked by artifact hash (an image
//! digest: Rekor indexes every in-toto subject digest of `dsse`/`intoto` entries), by
//! email SAN, or by public key. Every entry found is read back and verified against the
//! trusted root (signed entry timestamp, inclusion proof against a signed checkpoint).
//! A `dsse` entry records only hashes, so the statement (for the predicate type, the run
//! and `--pipeline`) is read from the registry beside the image, and kept only when its
//! payload hash is the one the entry recorded. Rekor v2 has no search API.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::Serialize;

use crate::rekor::{RekorError, TransparencyLog};
use crate::transparency::{EntryBody, EntryVerifier, TlogOptions, verify_tlog_entry};
use crate::trust::TrustedRoot;

/// What to look up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Query {
    /// An artifact (image) digest, 64 hex digits.
    Sha256(String),
    /// An email SAN (Rekor's `email` index).
    Email(String),
    /// A PEM public key.
    PublicKey(Vec<u8>),
}

/// Errors of a search.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SearchError {
    /// Rekor could not be asked or answered badly.
    #[error("searching Rekor")]
    Rekor(#[source] RekorError),
}

impl SearchError {
    /// Whether retrying later may succeed.
    #[must_use]
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Rekor(e) => e.is_transient(),
        }
    }
}

/// One verified hit.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Hit {
    /// The entry UUID.
    pub uuid: String,
    /// The global log index.
    pub log_index: i64,
    /// When the log integrated it (RFC 3339).
    pub integrated_time: String,
    /// `dsse 0.0.1`, `intoto 0.0.2`, ...
    pub kind: String,
    /// The signer: the certificate's SAN, or `key sha256:<hex of the key's DER>`.
    pub signer: String,
    /// The statement's subjects (`name@sha256:hex`), when the statement was found.
    pub subjects: Vec<String>,
    /// The statement's predicate type, when found.
    pub predicate_type: Option<String>,
    /// `tekton.dev/pipeline` (or `tekton.dev/task`) of the run, when found.
    pub pipeline: Option<String>,
    /// The run's name (`tekton.dev/pipelineRun` or `tekton.dev/taskRun` label).
    pub run: Option<String>,
    /// The run's uid (the provenance's invocation id).
    pub run_uid: Option<String>,
}

/// A statement the caller found beside the artifact, keyed by SHA-256 of its bytes.
pub type Statements = BTreeMap<[u8; 32], serde_json::Value>;

/// Filters applied after verification.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    /// Keep only entries integrated at or after this time.
    pub since: Option<Timestamp>,
    /// Keep only entries whose statement came from this pipeline (or task).
    pub pipeline: Option<String>,
    /// At most this many hits (newest first).
    pub limit: usize,
}

/// Search `log` for `query`, verify each entry against `trust`, attach the statements in
/// `statements` whose hash an entry recorded, and filter.
///
/// Entries that fail verification are returned in the second list with the reason; they
/// are never shown as hits.
///
/// # Errors
///
/// [`SearchError`] when Rekor cannot be asked or read.
pub async fn search<L: TransparencyLog>(
    log: &L,
    query: &Query,
    trust: &TrustedRoot,
    statements: &Statements,
    filter: &Filter,
) -> Result<(Vec<Hit>, Vec<(String, String)>), SearchError> {
    let uuids = log.search(query).await.map_err(SearchError::Rekor)?;
    let mut hits = Vec::new();
    let mut rejected = Vec::new();
    for uuid in uuids {
        let Some(entry) = log.entry(&uuid).await.map_err(SearchError::Rekor)? else {
            rejected.push((uuid, "listed by the index but not found".into()));
            continue;
        };
        let verified = match verify_tlog_entry(&entry, trust, &TlogOptions::default()) {
            Ok(v) => v,
            Err(e) => {
                rejected.push((uuid, e.to_string()));
                continue;
            }
        };
        let (payload_hash, verifier) = match &verified.body {
            EntryBody::DsseV001 {
                payload_hash,
                signatures,
                ..
            } => (Some(payload_hash), signatures.first().map(|s| &s.verifier)),
            EntryBody::IntotoV001 {
                payload_hash,
                verifier,
                ..
            } => (Some(payload_hash), Some(verifier)),
            EntryBody::IntotoV002 {
                payload_hash,
                signatures,
                ..
            } => (Some(payload_hash), signatures.first().map(|s| &s.verifier)),
            EntryBody::HashedRekordV001 { signature, .. } => (None, Some(&signature.verifier)),
            _ => (None, None),
        };
        let statement = payload_hash
            .filter(|h| h.algorithm == "sha256")
            .and_then(|h| <[u8; 32]>::try_from(h.value.as_slice()).ok())
            .and_then(|h| statements.get(&h));
        let integrated = Timestamp::from_second(entry.integrated_time).unwrap_or_default();
        if filter.since.is_some_and(|s| integrated < s) {
            continue;
        }
        let mut hit = Hit {
            uuid,
            log_index: entry.log_index,
            integrated_time: integrated.to_string(),
            kind: format!("{} {}", entry.kind_version.kind, entry.kind_version.version),
            signer: verifier.map_or_else(|| "-".to_owned(), describe_signer),
            subjects: Vec::new(),
            predicate_type: None,
            pipeline: None,
            run: None,
            run_uid: None,
        };
        if let Some(s) = statement {
            describe_statement(s, &mut hit);
        }
        if let Some(p) = &filter.pipeline
            && hit.pipeline.as_deref() != Some(p.as_str())
        {
            continue;
        }
        hits.push(hit);
    }
    hits.sort_by_key(|h| std::cmp::Reverse(h.log_index));
    if filter.limit > 0 {
        hits.truncate(filter.limit);
    }
    Ok((hits, rejected))
}

fn describe_signer(v: &EntryVerifier) -> String {
    match v {
        EntryVerifier::Certificate(der) => crate::x509::Certificate::from_der(der)
            .ok()
            .and_then(|c| c.identity().ok())
            .and_then(|i| i.san.map(|s| s.as_str().to_owned()))
            .unwrap_or_else(|| "certificate without SAN".to_owned()),
        EntryVerifier::PublicKey(der) => {
            let digest = crate::verify::ArtifactRef::Bytes(der).sha256();
            format!("key sha256:{}", hex::encode(&digest[..8]))
        }
    }
}

/// Subjects, predicate type and the Tekton run from a statement (SLSA v0.2 and v1 as
/// hallmark and Chains write them).
fn describe_statement(s: &serde_json::Value, hit: &mut Hit) {
    hit.predicate_type = s["predicateType"].as_str().map(str::to_owned);
    if let Some(subjects) = s["subject"].as_array() {
        hit.subjects = subjects
            .iter()
            .map(|x| {
                format!(
                    "{}@sha256:{}",
                    x["name"].as_str().unwrap_or_default(),
                    x["digest"]["sha256"].as_str().unwrap_or_default()
                )
            })
            .collect();
    }
    let p = &s["predicate"];
    let labels = if p["buildDefinition"].is_object() {
        &p["buildDefinition"]["internalParameters"]["labels"]
    } else {
        &p["invocation"]["environment"]["labels"]
    };
    let label = |k: &str| labels[k].as_str().map(str::to_owned);
    hit.pipeline = label("tekton.dev/pipeline").or_else(|| label("tekton.dev/task"));
    hit.run = label("tekton.dev/pipelineRun").or_else(|| label("tekton.dev/taskRun"));
    hit.run_uid = p["runDetails"]["metadata"]["invocationID"]
        .as_str()
        .or_else(|| p["metadata"]["buildInvocationID"].as_str())
        .map(str::to_owned);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_name_their_run() {
        let v02 = serde_json::json!({
            "predicateType": "https://slsa.dev/provenance/v0.2",
            "subject": [{"name": "reg/app", "digest": {"sha256": "ab"}}],
            "predicate": {"invocation": {"environment": {"labels": {
                "tekton.dev/pipeline": "build", "tekton.dev/pipelineRun": "build-x1"}}},
                "metadata": {"buildInvocationID": "uid-1"}}
        });
        let mut hit = Hit {
            uuid: String::new(),
            log_index: 0,
            integrated_time: String::new(),
            kind: String::new(),
            signer: String::new(),
            subjects: Vec::new(),
            predicate_type: None,
            pipeline: None,
            run: None,
            run_uid: None,
        };
        describe_statement(&v02, &mut hit);
        assert_eq!(hit.pipeline.as_deref(), Some("build"));
        assert_eq!(hit.run.as_deref(), Some("build-x1"));
        assert_eq!(hit.run_uid.as_deref(), Some("uid-1"));
        assert_eq!(hit.subjects, vec!["reg/app@sha256:ab"]);
        let v1 = serde_json::json!({
            "predicateType": "https://slsa.dev/provenance/v1",
            "predicate": {"buildDefinition": {"internalParameters": {"labels": {"tekton.dev/task": "t"}}},
                          "runDetails": {"metadata": {"invocationID": "uid-2"}}}
        });
        describe_statement(&v1, &mut hit);
        assert_eq!(hit.pipeline.as_deref(), Some("t"));
        assert_eq!(hit.run_uid.as_deref(), Some("uid-2"));
    }
}
