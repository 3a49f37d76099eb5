//! `hallmark verify --vsa-out FILE --vsa-key KEY`: a signed SLSA Verification Summary
//! Attestation (VSA v1, `https://slsa.dev/verification_summary/v1`).
//!
//! [`statement`] builds the in-toto Statement v1 (pure): its subject is the verified
//! artifact's digest, its predicate the decision (`verificationResult` `PASSED` or
//! `FAILED`), who decided (`verifier.id`), when (`timeVerified`), over what
//! (`resourceUri`, `inputAttestations`) and against which policy (`policy`: a URI and
//! the digest of the options and Rego sources that made the decision).
//! [`sign`] wraps it in a DSSE envelope signed by any [`AsyncSigner`] (`--vsa-key` takes
//! what `hallmark sign --key` takes). `hallmark verify --envelope VSA --key PUB
//! --insecure-ignore-tlog sha256:DIGEST` and `cosign verify-blob-attestation --type
//! https://slsa.dev/verification_summary/v1` verify the result.
//!
//! `verifiedLevels` (what hallmark can vouch for, for the artifact alone):
//! `SLSA_BUILD_LEVEL_2` when the decision passed, an SLSA provenance (v0.2 or v1)
//! verified and `--builder-id` pinned the builder; `SLSA_BUILD_LEVEL_1` when it passed
//! with a verified provenance but no builder was pinned; nothing (an empty list) when it
//! passed without a provenance; `FAILED` when it failed.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Value, json};

use crate::dsse::{Envelope, IN_TOTO_PAYLOAD_TYPE};
use crate::signing::{AsyncSigner, SignError, sign_envelope_async};

use super::STATEMENT_V1;

/// The VSA v1 predicate type.
pub const VSA_PREDICATE_TYPE: &str = "https://slsa.dev/verification_summary/v1";
/// The `verifier.id` written unless `--vsa-verifier-id` names another.
pub const DEFAULT_VERIFIER_ID: &str = "urn:hallmark:verify";
/// The SLSA version the levels refer to (`slsaVersion`).
pub const SLSA_VERSION: &str = "1.0";

/// Why the VSA could not be signed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VsaError {
    /// The signer failed.
    #[error("signing the verification summary")]
    Sign(#[source] SignError),
}

impl VsaError {
    /// Whether retrying may help (a remote signer's transient failure).
    #[must_use]
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Sign(e) => e.is_transient(),
        }
    }
}

/// An in-toto ResourceDescriptor with a URI and a digest set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Descriptor {
    /// Where the resource is (omitted when unknown).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    /// Digests by algorithm (`sha256` → lowercase hex).
    pub digest: BTreeMap<String, String>,
}

impl Descriptor {
    /// A descriptor with a sha256 digest.
    #[must_use]
    pub fn sha256(uri: Option<String>, hex: String) -> Self {
        Self {
            uri,
            digest: BTreeMap::from([("sha256".to_owned(), hex)]),
        }
    }
}

/// What the summary says.
#[derive(Debug, Clone)]
pub struct Summary {
    /// `verifier.id`.
    pub verifier_id: String,
    /// `timeVerified`.
    pub time_verified: jiff::Timestamp,
    /// `resourceUri`: the artifact as given (image reference, file, `sha256:HEX`).
    pub resource_uri: String,
    /// The subject's name (the artifact as given).
    pub subject_name: String,
    /// The artifact's SHA-256 (lowercase hex): the statement's subject.
    pub subject_sha256: String,
    /// `policy`.
    pub policy: Descriptor,
    /// `inputAttestations`: every attestation that verified.
    pub input_attestations: Vec<Descriptor>,
    /// Whether the decision was pass.
    pub passed: bool,
    /// `verifiedLevels` (see [`verified_levels`]).
    pub verified_levels: Vec<String>,
}

/// The `verifiedLevels` for a decision (see the module docs).
#[must_use]
pub fn verified_levels(
    passed: bool,
    provenance_verified: bool,
    builder_pinned: bool,
) -> Vec<String> {
    match (passed, provenance_verified, builder_pinned) {
        (false, _, _) => vec!["FAILED".to_owned()],
        (true, true, true) => vec!["SLSA_BUILD_LEVEL_2".to_owned()],
        (true, true, false) => vec!["SLSA_BUILD_LEVEL_1".to_owned()],
        (true, false, _) => Vec::new(),
    }
}

/// The policy descriptor: `uri` the single Rego file when exactly one was given, else
/// `verifier_id` + `#policy`; `digest.sha256` over the compact JSON of `options` (the
/// requested checks, predicate type, key or identity, and each Rego source's name and
/// sha256), so two runs with the same options and policies name the same digest.
#[must_use]
pub fn policy_descriptor(
    verifier_id: &str,
    rego: &[(String, String)],
    options: &Value,
) -> Descriptor {
    let uri = match rego {
        [(name, _)] => name.clone(),
        _ => format!("{verifier_id}#policy"),
    };
    let doc = json!({
        "options": options,
        "rego": rego.iter().map(|(n, d)| json!({"name": n, "sha256": d})).collect::<Vec<_>>(),
    });
    let hex = hex::encode(super::ArtifactRef::Bytes(doc.to_string().as_bytes()).sha256());
    Descriptor::sha256(Some(uri), hex)
}

/// The VSA as an in-toto Statement v1.
#[must_use]
pub fn statement(s: &Summary) -> Value {
    json!({
        "_type": STATEMENT_V1,
        "subject": [{"name": s.subject_name, "digest": {"sha256": s.subject_sha256}}],
        "predicateType": VSA_PREDICATE_TYPE,
        "predicate": {
            "verifier": {
                "id": s.verifier_id,
                "version": {"hallmark": env!("CARGO_PKG_VERSION")},
            },
            "timeVerified": s.time_verified.to_string(),
            "resourceUri": s.resource_uri,
            "policy": s.policy,
            "inputAttestations": s.input_attestations,
            "verificationResult": if s.passed { "PASSED" } else { "FAILED" },
            "verifiedLevels": s.verified_levels,
            "slsaVersion": SLSA_VERSION,
        },
    })
}

/// Sign the statement as a DSSE envelope (`application/vnd.in-toto+json`).
///
/// # Errors
///
/// [`VsaError::Sign`] when the signer fails.
pub async fn sign(signer: &dyn AsyncSigner, statement: &Value) -> Result<Envelope, VsaError> {
    let payload = serde_json::to_vec(statement).unwrap_or_default();
    sign_envelope_async(signer, IN_TOTO_PAYLOAD_TYPE, &payload)
        .await
        .map(|s| s.envelope)
        .map_err(VsaError::Sign)
}

#[cfg(test)]
#[allow(clippy::panic)] // Tests report failures by panicking.
mod tests {
    use super::*;
    use crate::signing::LocalSigner;
    use crate::verify::{ArtifactRef, EnvelopePolicy, VerificationKey, verify_envelope};

    fn summary(passed: bool) -> Summary {
        Summary {
            verifier_id: DEFAULT_VERIFIER_ID.into(),
            time_verified: jiff::Timestamp::from_second(1_700_000_000).unwrap_or_default(),
            resource_uri: "registry.example.com/app@sha256:".to_owned() + &"ab".repeat(32),
            subject_name: "registry.example.com/app".into(),
            subject_sha256: "ab".repeat(32),
            policy: policy_descriptor(DEFAULT_VERIFIER_ID, &[], &json!({"builder-id": "x"})),
            input_attestations: vec![Descriptor::sha256(None, "cd".repeat(32))],
            passed,
            verified_levels: verified_levels(passed, true, true),
        }
    }

    #[test]
    fn statement_has_the_vsa_fields() {
        let s = statement(&summary(true));
        assert_eq!(s["_type"], STATEMENT_V1);
        assert_eq!(s["predicateType"], VSA_PREDICATE_TYPE);
        assert_eq!(s["subject"][0]["digest"]["sha256"], "ab".repeat(32));
        let p = &s["predicate"];
        assert_eq!(p["verifier"]["id"], DEFAULT_VERIFIER_ID);
        assert_eq!(p["timeVerified"], "2023-11-14T22:13:20Z");
        assert!(
            p["resourceUri"]
                .as_str()
                .is_some_and(|u| u.contains("@sha256:"))
        );
        assert!(p["policy"]["uri"].is_string());
        assert_eq!(
            p["policy"]["digest"]["sha256"].as_str().map(str::len),
            Some(64)
        );
        assert!(p["inputAttestations"][0].get("uri").is_none());
        assert_eq!(p["verificationResult"], "PASSED");
        assert_eq!(p["verifiedLevels"], json!(["SLSA_BUILD_LEVEL_2"]));
        assert_eq!(p["slsaVersion"], "1.0");
        let f = statement(&Summary {
            verified_levels: verified_levels(false, true, true),
            ..summary(false)
        });
        assert_eq!(f["predicate"]["verificationResult"], "FAILED");
        assert_eq!(f["predicate"]["verifiedLevels"], json!(["FAILED"]));
    }

    #[test]
    fn levels_and_policy_digest() {
        assert_eq!(
            verified_levels(true, true, false),
            vec!["SLSA_BUILD_LEVEL_1"]
        );
        assert!(verified_levels(true, false, true).is_empty());
        let a = policy_descriptor("v", &[("p.rego".into(), "11".into())], &json!({}));
        let b = policy_descriptor("v", &[("p.rego".into(), "22".into())], &json!({}));
        assert_eq!(a.uri.as_deref(), Some("p.rego"));
        assert_ne!(a.digest, b.digest);
        let c = policy_descriptor("v", &[], &json!({}));
        assert_eq!(c.uri.as_deref(), Some("v#policy"));
    }

    #[test]
    fn signed_vsa_verifies_against_the_subject() {
        let signer = LocalSigner::generate_p256().unwrap_or_else(|e| panic!("{e}"));
        let key = VerificationKey::from(crate::signing::Signer::public_key(&signer).clone());
        let s = statement(&summary(true));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        let env = runtime
            .block_on(sign(&signer, &s))
            .unwrap_or_else(|e| panic!("{e}"));
        let mut digest = [0u8; 32];
        hex::decode_to_slice("ab".repeat(32), &mut digest).unwrap_or_else(|e| panic!("{e}"));
        let art = ArtifactRef::Sha256(digest);
        let v = verify_envelope(&env, &key, &EnvelopePolicy::new(&art))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(v.statement.predicate_type, VSA_PREDICATE_TYPE);
        let other = ArtifactRef::Sha256([0; 32]);
        assert!(verify_envelope(&env, &key, &EnvelopePolicy::new(&other)).is_err());
    }
}
