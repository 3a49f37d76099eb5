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
    /// The SHA-256 of the signed payload the entry recorded (`dsse`, `intoto`).
    #[serde(skip)]
    pub payload_sha256: Option<[u8; 32]>,
    /// When the log integrated it (seconds since the epoch).
    #[serde(skip)]
    pub integrated_unix: i64,
    /// The statement, when found (beside the artifact, or stored by the log with a
    /// matching payload hash).
    #[serde(skip)]
    pub statement: Option<serde_json::Value>,
}

impl Hit {
    /// Whether the entry logs an attestation (`dsse` or `intoto`), not a bare signature.
    #[must_use]
    pub fn is_attestation(&self) -> bool {
        self.payload_sha256.is_some()
    }
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
/// `statements` whose hash an entry recorded (or, failing that, the attestation the log
/// stored beside the entry, when its SHA-256 is the recorded payload hash), and filter.
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
    let mut uuids = log.search(query).await.map_err(SearchError::Rekor)?;
    // Rekor v1 files a `dsse` entry's public key under `sha256:<hex>` of the key's PEM in
    // its hash index, not where a public-key query looks: ask there too.
    if let Some(hash) = dsse_key_index(query) {
        for u in log
            .search(&Query::Sha256(hash))
            .await
            .map_err(SearchError::Rekor)?
        {
            if !uuids.contains(&u) {
                uuids.push(u);
            }
        }
    }
    let wanted_key = match query {
        Query::PublicKey(pem) => crate::signing::PublicKey::from_pem(pem)
            .ok()
            .map(|k| k.spki_der().to_vec()),
        _ => None,
    };
    let mut hits = Vec::new();
    let mut rejected = Vec::new();
    for uuid in uuids {
        let Some((entry, stored)) = log
            .entry_with_attestation(&uuid)
            .await
            .map_err(SearchError::Rekor)?
        else {
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
        let payload_sha256 = payload_hash
            .filter(|h| h.algorithm == "sha256")
            .and_then(|h| <[u8; 32]>::try_from(h.value.as_slice()).ok());
        let statement = payload_sha256.and_then(|h| {
            statements
                .get(&h)
                .cloned()
                .or_else(|| stored_statement(stored.as_deref(), &h))
        });
        // The index lists what it filed under the query's key; an entry another signer
        // signed (a statement naming a digest equal to the key's hash, say) is not one of
        // the signer's.
        let signed_by_query = match (query, verifier) {
            (Query::PublicKey(_), Some(EntryVerifier::PublicKey(der))) => {
                wanted_key.as_deref() == Some(der.as_slice())
            }
            (Query::PublicKey(_), _) => false,
            (Query::Email(e), Some(v)) => describe_signer(v) == *e,
            (Query::Email(_), None) => false,
            (Query::Sha256(_), _) => true,
        };
        if !signed_by_query {
            continue;
        }
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
            payload_sha256,
            integrated_unix: entry.integrated_time,
            statement: None,
        };
        if let Some(s) = statement {
            describe_statement(&s, &mut hit);
            hit.statement = Some(s);
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

/// For a public-key query, the hash-index key Rekor v1 files `dsse` entries of that key
/// under: the SHA-256 (hex) of the key as a PEM `PUBLIC KEY` block (64-column lines, as
/// Rekor writes it). `None` for other queries and unreadable keys.
fn dsse_key_index(query: &Query) -> Option<String> {
    let Query::PublicKey(pem) = query else {
        return None;
    };
    let key = crate::signing::PublicKey::from_pem(pem).ok()?;
    Some(hex::encode(
        crate::verify::ArtifactRef::Bytes(key.to_pem().as_bytes()).sha256(),
    ))
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

/// The attestation a log stored beside an entry, as a statement, when its SHA-256 is the
/// payload hash the entry recorded (anything else is ignored: the stored copy is not
/// covered by the entry's proofs).
fn stored_statement(stored: Option<&[u8]>, payload_sha256: &[u8; 32]) -> Option<serde_json::Value> {
    let bytes = stored?;
    (crate::verify::ArtifactRef::Bytes(bytes).sha256() == *payload_sha256)
        .then(|| serde_json::from_slice(bytes).ok())
        .flatten()
}

/// A label of the Tekton run a provenance statement describes: SLSA v1
/// `buildDefinition.internalParameters.labels`, v0.2 `invocation.environment.labels` (as
/// hallmark and Chains write them).
#[must_use]
pub fn run_label<'a>(statement: &'a serde_json::Value, key: &str) -> Option<&'a str> {
    let p = &statement["predicate"];
    let labels = if p["buildDefinition"].is_object() {
        &p["buildDefinition"]["internalParameters"]["labels"]
    } else {
        &p["invocation"]["environment"]["labels"]
    };
    labels[key].as_str()
}

/// Subjects, predicate type and the Tekton run from a statement (SLSA v0.2 and v1 as
/// hallmark and Chains write them).
pub fn describe_statement(s: &serde_json::Value, hit: &mut Hit) {
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
    let label = |k: &str| run_label(s, k).map(str::to_owned);
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
    fn dsse_entries_are_filed_under_the_keys_pem_hash() {
        // A key and the index key its `dsse` entry was found under in the stack's Rekor
        // (`POST /api/v1/index/retrieve {"hash": "sha256:..."}`).
        let pem = b"-----BEGIN PUBLIC KEY-----\n\
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEqwqyF7yWetEVcMtiwykg2xxsUbsc\n\
8kdyCZVW2vxP8Ir3kVV1Kdc3ct6sk0pi15VWwQ1eUNhAIhFiRp/rGVEKKw==\n\
-----END PUBLIC KEY-----\n";
        assert_eq!(
            dsse_key_index(&Query::PublicKey(pem.to_vec())).as_deref(),
            Some("a71ba2abc78b09e94a9594fddc531275c2aae09bf6ff8bdaa4821eeceae59f37")
        );
        // The same key written with CRLF line endings is filed under the same hash.
        let crlf = String::from_utf8_lossy(pem).replace('\n', "\r\n");
        assert_eq!(
            dsse_key_index(&Query::PublicKey(crlf.into_bytes())).as_deref(),
            Some("a71ba2abc78b09e94a9594fddc531275c2aae09bf6ff8bdaa4821eeceae59f37")
        );
        assert_eq!(dsse_key_index(&Query::PublicKey(b"junk".to_vec())), None);
        assert_eq!(dsse_key_index(&Query::Email("a@b".into())), None);
    }

    #[test]
    fn stored_statements_must_hash_to_the_payload() {
        let bytes = br#"{"_type":"https://in-toto.io/Statement/v1"}"#;
        let hash = crate::verify::ArtifactRef::Bytes(bytes).sha256();
        assert_eq!(
            stored_statement(Some(bytes), &hash),
            Some(serde_json::json!({"_type": "https://in-toto.io/Statement/v1"}))
        );
        assert_eq!(stored_statement(Some(bytes), &[0; 32]), None);
        assert_eq!(stored_statement(None, &hash), None);
        let junk = b"not json";
        let junk_hash = crate::verify::ArtifactRef::Bytes(junk).sha256();
        assert_eq!(stored_statement(Some(junk), &junk_hash), None);
    }

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
            payload_sha256: None,
            integrated_unix: 0,
            statement: None,
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
