//! in-toto layouts derived from Tekton Pipelines, signed by their owner, and the chain of
//! a PipelineRun's attestations checked against them.
//!
//! The format is in-toto's layout (specification v0.9/v1.0, as in-toto-golang reads it):
//!
//! ```json
//! {"_type": "layout", "expires": "2026-12-26T00:00:00Z", "readme": "...",
//!  "keys": {"<keyid>": {"keyid": "...", "keytype": "ecdsa", "scheme": "ecdsa-sha2-nistp256",
//!                       "keyid_hash_algorithms": ["sha256", "sha512"],
//!                       "keyval": {"public": "-----BEGIN PUBLIC KEY-----..."}}},
//!  "steps": [{"_type": "step", "name": "build", "threshold": 1, "pubkeys": ["<keyid>"],
//!             "cert_constraints": [{"emails": ["ci@example.com"], ...}],
//!             "expected_command": [],
//!             "expected_materials": [["MATCH", "*", "WITH", "PRODUCTS", "FROM", "clone"],
//!                                    ["DISALLOW", "*"]],
//!             "expected_products": [["CREATE", "*"], ["DISALLOW", "*"]]}],
//!  "inspect": []}
//! ```
//!
//! It travels as a DSSE envelope (payload type `application/vnd.in-toto+json`, as
//! in-toto-golang's envelopes carry layouts and links), signed by the layout owner; the
//! signature's `keyid` is the owner key's in-toto key id ([`key_id`]). The payload is the
//! layout in RFC 8785 canonical JSON, so the same layout always gives the same bytes.
//!
//! One extension: a keyless functionary's constraint may carry `oidc_issuer` (the Fulcio
//! certificate's OIDC issuer), which the in-toto constraint has no field for. A layout
//! with key functionaries only is plain in-toto; in-toto-golang refuses unknown fields, so
//! it does not read a constraint with `oidc_issuer`.
//!
//! The pieces, all pure:
//! - [`rule`]: the artifact-rule grammar ([`ArtifactRule`]) and in-toto's patterns.
//! - [`mod@derive`]: `Pipeline YAML -> Layout` ([`derive::derive()`]).
//! - [`mod@check`]: the layout against one verified attestation per step
//!   ([`check::StepEvidence`]): thresholds, then in-toto's artifact-rule algorithm,
//!   each failure a named [`check::Violation`].
//! - here: the model, its JSON ([`Layout::from_json`], [`Layout::to_json`]), in-toto key
//!   ids, and the owner's envelope ([`sign_layout`], [`verify_layout_envelope`]).

pub mod check;
pub mod derive;
pub mod rule;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest as _, Sha256};

pub use check::{Functionary, StepEvidence, Violation, check};
pub use rule::{ArtifactKind, ArtifactRule, RuleError};

use crate::dsse::{self, Envelope};
use crate::signing::{KeyAlgorithm, PublicKey};

/// The `expires` format in-toto writes (UTC, whole seconds).
const EXPIRES_FORMAT: &str = "%Y-%m-%dT%H:%M:%SZ";

/// Errors reading, signing or verifying a layout, or deriving one.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LayoutError {
    /// The envelope is not a DSSE envelope.
    #[error("the layout is not a DSSE envelope")]
    Envelope(#[source] dsse::DsseError),
    /// The envelope's payload type is not in-toto's.
    #[error("the layout envelope's payload type is {0:?}, not application/vnd.in-toto+json")]
    PayloadType(String),
    /// No signature of the envelope verifies with any of the owner keys.
    #[error(
        "the layout is not signed by the layout owner ({signatures} signature(s), none by the {keys} owner key(s) given)"
    )]
    WrongOwner {
        /// Signatures on the envelope.
        signatures: usize,
        /// Owner keys tried.
        keys: usize,
    },
    /// The payload is not layout JSON of the expected shape.
    #[error("malformed layout JSON")]
    Json(#[source] serde_json::Error),
    /// The payload's `_type` is not `layout` (or a step's is not `step`, ...).
    #[error("`_type` is {found:?} where {expected:?} was expected")]
    Type {
        /// The `_type` found.
        found: String,
        /// The `_type` expected.
        expected: &'static str,
    },
    /// An artifact rule does not follow the grammar.
    #[error("step or inspection {item:?}")]
    Rule {
        /// The step or inspection.
        item: String,
        /// The rule's error.
        #[source]
        source: RuleError,
    },
    /// `expires` is not a UTC timestamp.
    #[error("layout `expires` {0:?} is not a timestamp like 2026-12-26T00:00:00Z")]
    Expires(String),
    /// The layout expired.
    #[error("the layout expired at {expires}")]
    Expired {
        /// When it expired.
        expires: jiff::Timestamp,
    },
    /// A field has a value the layout cannot hold (a zero threshold, duplicate steps, ...).
    #[error("invalid layout: {0}")]
    Invalid(String),
    /// The pipeline file is not YAML/JSON of the expected shape.
    #[error("malformed Pipeline YAML")]
    Yaml(#[source] serde_yaml_ng::Error),
    /// The document is not a Tekton Pipeline (or a PipelineRun with an inline spec).
    #[error("not a Tekton Pipeline: {0}")]
    NotAPipeline(String),
    /// A functionary key is unusable.
    #[error("functionary key")]
    Key(#[source] crate::signing::KeyError),
}

impl LayoutError {
    /// Whether retrying may help: never, every case is about the input.
    #[must_use]
    pub fn is_transient(&self) -> bool {
        false
    }
}

/// A public key as in-toto lists it in `keys` (`keyval.public` only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Key {
    /// The key id: [`key_id`] of this key.
    pub keyid: String,
    /// `keyid_hash_algorithms` (`["sha256", "sha512"]`).
    pub keyid_hash_algorithms: Vec<String>,
    /// `ecdsa`, `ed25519` or `rsa`.
    pub keytype: String,
    /// `ecdsa-sha2-nistp256`, `ed25519`, `rsassa-pss-sha256`, ...
    pub scheme: String,
    /// `keyval`.
    pub keyval: KeyVal,
}

/// `keyval` of a [`Key`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyVal {
    /// The public key: PEM for ECDSA and RSA, hex of the 32 bytes for Ed25519.
    pub public: String,
    /// A certificate (in-toto-golang's extension for certificate functionaries); unused.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub certificate: String,
}

impl Key {
    /// The in-toto form of `pk`, with its key id.
    #[must_use]
    pub fn from_public_key(pk: &PublicKey) -> Self {
        let (keytype, scheme, public) = match pk.algorithm() {
            KeyAlgorithm::EcdsaP256Sha256 => (
                "ecdsa",
                "ecdsa-sha2-nistp256",
                pk.to_pem().trim().to_owned(),
            ),
            KeyAlgorithm::Ed25519 => {
                let der = pk.spki_der();
                let raw = &der[der.len().saturating_sub(32)..];
                ("ed25519", "ed25519", hex::encode(raw))
            }
        };
        let mut key = Self {
            keyid: String::new(),
            keyid_hash_algorithms: vec!["sha256".into(), "sha512".into()],
            keytype: keytype.into(),
            scheme: scheme.into(),
            keyval: KeyVal {
                public,
                certificate: String::new(),
            },
        };
        key.keyid = key.computed_id();
        key
    }

    /// The key id in-toto computes: SHA-256 (hex) of the OLPC canonical JSON of
    /// `{keyid_hash_algorithms, keytype, keyval: {public}, scheme}`.
    #[must_use]
    pub fn computed_id(&self) -> String {
        let v = serde_json::json!({
            "keyid_hash_algorithms": self.keyid_hash_algorithms,
            "keytype": self.keytype,
            "keyval": {"public": self.keyval.public},
            "scheme": self.scheme,
        });
        let mut out = Vec::new();
        olpc_canonical(&v, &mut out);
        hex::encode(Sha256::digest(&out))
    }
}

/// The in-toto key id of `pk` (what a layout's `pubkeys` and `keys` name it by).
#[must_use]
pub fn key_id(pk: &PublicKey) -> String {
    Key::from_public_key(pk).keyid
}

/// OLPC canonical JSON, as securesystemslib writes it for key ids: sorted keys, no
/// whitespace, only `"` and `\` escaped in strings.
fn olpc_canonical(v: &Value, out: &mut Vec<u8>) {
    match v {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Number(n) => out.extend_from_slice(n.to_string().as_bytes()),
        Value::String(s) => {
            out.push(b'"');
            for b in s.bytes() {
                if b == b'"' || b == b'\\' {
                    out.push(b'\\');
                }
                out.push(b);
            }
            out.push(b'"');
        }
        Value::Array(a) => {
            out.push(b'[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                olpc_canonical(x, out);
            }
            out.push(b']');
        }
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            out.push(b'{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                olpc_canonical(&Value::String(k.clone()), out);
                out.push(b':');
                if let Some(x) = m.get(k) {
                    olpc_canonical(x, out);
                }
            }
            out.push(b'}');
        }
    }
}

/// A certificate constraint of a keyless functionary (in-toto-golang's
/// `cert_constraints`): every non-empty field must match the signing certificate.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CertConstraint {
    /// `common_name` (`*` for any).
    #[serde(default)]
    pub common_name: String,
    /// `dns_names`.
    #[serde(default)]
    pub dns_names: Vec<String>,
    /// `emails`: email SANs (`*` for any).
    #[serde(default)]
    pub emails: Vec<String>,
    /// `organizations`.
    #[serde(default)]
    pub organizations: Vec<String>,
    /// `roots`: root CA ids (`*` for any).
    #[serde(default)]
    pub roots: Vec<String>,
    /// `uris`: URI SANs (`*` for any).
    #[serde(default)]
    pub uris: Vec<String>,
    /// hallmark's extension: the OIDC issuer of the Fulcio certificate (see the module docs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oidc_issuer: Option<String>,
}

impl CertConstraint {
    /// The constraint for a keyless identity: an email SAN (contains `@`, no `://`) goes
    /// in `emails`, anything else in `uris`; `roots` is `*` (the certificate chain is
    /// checked against the trusted root before the layout is consulted).
    #[must_use]
    pub fn for_identity(san: &str, issuer: Option<&str>) -> Self {
        let email = san.contains('@') && !san.contains("://");
        Self {
            emails: if email {
                vec![san.to_owned()]
            } else {
                Vec::new()
            },
            uris: if email {
                Vec::new()
            } else {
                vec![san.to_owned()]
            },
            roots: vec!["*".to_owned()],
            oidc_issuer: issuer.map(str::to_owned),
            ..Self::default()
        }
    }

    /// Whether a certificate with subject alternative name `san` from OIDC issuer
    /// `issuer` satisfies this constraint (the SAN must be among `emails` or `uris`, or
    /// one of them `*`; `common_name`, `dns_names` and `organizations`, when set, are not
    /// known for Fulcio identities and so never match).
    #[must_use]
    pub fn admits(&self, san: &str, issuer: &str) -> bool {
        let any = |v: &[String]| v.len() == 1 && v[0] == "*";
        let listed = |v: &[String]| v.iter().any(|x| x == san) || any(v);
        let unset = |v: &[String]| v.is_empty() || any(v);
        let cn_ok = self.common_name.is_empty() || self.common_name == "*";
        cn_ok
            && unset(&self.dns_names)
            && unset(&self.organizations)
            && (listed(&self.emails) || listed(&self.uris))
            && self.oidc_issuer.as_deref().is_none_or(|i| i == issuer)
    }
}

/// One step of a layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// `name`: for derived layouts, the pipeline task's name.
    pub name: String,
    /// `threshold`: how many distinct functionaries must attest the step.
    pub threshold: u32,
    /// `pubkeys`: key ids (in `keys`) of the functionaries allowed to attest.
    pub pubkeys: Vec<String>,
    /// `cert_constraints`: keyless functionaries.
    pub cert_constraints: Vec<CertConstraint>,
    /// `expected_command` (informational; Tekton provenance records no command line).
    pub expected_command: Vec<String>,
    /// `expected_materials`.
    pub expected_materials: Vec<ArtifactRule>,
    /// `expected_products`.
    pub expected_products: Vec<ArtifactRule>,
}

/// An inspection (read and written back; hallmark runs none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inspection {
    /// `name`.
    pub name: String,
    /// `run`: the command.
    pub run: Vec<String>,
    /// `expected_materials`.
    pub expected_materials: Vec<ArtifactRule>,
    /// `expected_products`.
    pub expected_products: Vec<ArtifactRule>,
}

/// An in-toto layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// `expires`.
    pub expires: jiff::Timestamp,
    /// `readme`.
    pub readme: String,
    /// `keys`: functionary keys by key id.
    pub keys: BTreeMap<String, Key>,
    /// `steps`, in order.
    pub steps: Vec<Step>,
    /// `inspect`.
    pub inspect: Vec<Inspection>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct WireLayout {
    #[serde(rename = "_type")]
    ty: String,
    expires: String,
    #[serde(default)]
    readme: String,
    #[serde(default)]
    keys: BTreeMap<String, Key>,
    #[serde(default)]
    steps: Vec<WireStep>,
    #[serde(default)]
    inspect: Vec<WireInspection>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    rootcas: BTreeMap<String, Key>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    intermediatecas: BTreeMap<String, Key>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct WireStep {
    #[serde(rename = "_type")]
    ty: String,
    name: String,
    threshold: u32,
    #[serde(default)]
    pubkeys: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    cert_constraints: Vec<CertConstraint>,
    #[serde(default)]
    expected_command: Vec<String>,
    #[serde(default)]
    expected_materials: Vec<Vec<String>>,
    #[serde(default)]
    expected_products: Vec<Vec<String>>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct WireInspection {
    #[serde(rename = "_type")]
    ty: String,
    name: String,
    #[serde(default)]
    run: Vec<String>,
    #[serde(default)]
    expected_materials: Vec<Vec<String>>,
    #[serde(default)]
    expected_products: Vec<Vec<String>>,
}

fn rules(item: &str, raw: Vec<Vec<String>>) -> Result<Vec<ArtifactRule>, LayoutError> {
    raw.iter()
        .map(|r| {
            ArtifactRule::from_tokens(r).map_err(|source| LayoutError::Rule {
                item: item.to_owned(),
                source,
            })
        })
        .collect()
}

fn tokens(rules: &[ArtifactRule]) -> Vec<Vec<String>> {
    rules.iter().map(ArtifactRule::to_tokens).collect()
}

fn expect_type(found: String, expected: &'static str) -> Result<(), LayoutError> {
    if found == expected {
        Ok(())
    } else {
        Err(LayoutError::Type { found, expected })
    }
}

impl Layout {
    /// Parse a layout from its JSON (the envelope's payload).
    ///
    /// # Errors
    ///
    /// [`LayoutError::Json`] for malformed JSON, a missing field or an unknown one;
    /// [`LayoutError::Type`] when `_type` is not `layout` (or a step's not `step`);
    /// [`LayoutError::Rule`] for a rule outside the grammar; [`LayoutError::Expires`] for a
    /// bad `expires`; [`LayoutError::Invalid`] for a key listed under another key id, a
    /// step named twice, a zero threshold, or certificate authorities (not supported).
    pub fn from_json(bytes: &[u8]) -> Result<Self, LayoutError> {
        let wire: WireLayout = serde_json::from_slice(bytes).map_err(LayoutError::Json)?;
        expect_type(wire.ty, "layout")?;
        if !wire.rootcas.is_empty() || !wire.intermediatecas.is_empty() {
            return Err(LayoutError::Invalid(
                "rootcas/intermediatecas are not supported".into(),
            ));
        }
        let expires = wire
            .expires
            .parse::<jiff::Timestamp>()
            .map_err(|_| LayoutError::Expires(wire.expires.clone()))?;
        for (id, key) in &wire.keys {
            if &key.keyid != id || key.computed_id() != *id {
                return Err(LayoutError::Invalid(format!(
                    "key {id:?} is not that key's in-toto key id"
                )));
            }
        }
        let mut steps = Vec::with_capacity(wire.steps.len());
        for s in wire.steps {
            expect_type(s.ty, "step")?;
            if s.threshold == 0 {
                return Err(LayoutError::Invalid(format!(
                    "step {:?} has threshold 0",
                    s.name
                )));
            }
            if steps.iter().any(|x: &Step| x.name == s.name) {
                return Err(LayoutError::Invalid(format!(
                    "step {:?} is listed twice",
                    s.name
                )));
            }
            steps.push(Step {
                expected_materials: rules(&s.name, s.expected_materials)?,
                expected_products: rules(&s.name, s.expected_products)?,
                name: s.name,
                threshold: s.threshold,
                pubkeys: s.pubkeys,
                cert_constraints: s.cert_constraints,
                expected_command: s.expected_command,
            });
        }
        let mut inspect = Vec::with_capacity(wire.inspect.len());
        for i in wire.inspect {
            expect_type(i.ty, "inspection")?;
            inspect.push(Inspection {
                expected_materials: rules(&i.name, i.expected_materials)?,
                expected_products: rules(&i.name, i.expected_products)?,
                name: i.name,
                run: i.run,
            });
        }
        Ok(Self {
            expires,
            readme: wire.readme,
            keys: wire.keys,
            steps,
            inspect,
        })
    }

    /// The layout as JSON: RFC 8785 canonical (sorted keys, no whitespace), so equal
    /// layouts give equal bytes.
    #[must_use]
    pub fn to_json(&self) -> Vec<u8> {
        let wire = WireLayout {
            ty: "layout".into(),
            expires: self.expires.strftime(EXPIRES_FORMAT).to_string(),
            readme: self.readme.clone(),
            keys: self.keys.clone(),
            steps: self
                .steps
                .iter()
                .map(|s| WireStep {
                    ty: "step".into(),
                    name: s.name.clone(),
                    threshold: s.threshold,
                    pubkeys: s.pubkeys.clone(),
                    cert_constraints: s.cert_constraints.clone(),
                    expected_command: s.expected_command.clone(),
                    expected_materials: tokens(&s.expected_materials),
                    expected_products: tokens(&s.expected_products),
                })
                .collect(),
            inspect: self
                .inspect
                .iter()
                .map(|i| WireInspection {
                    ty: "inspection".into(),
                    name: i.name.clone(),
                    run: i.run.clone(),
                    expected_materials: tokens(&i.expected_materials),
                    expected_products: tokens(&i.expected_products),
                })
                .collect(),
            rootcas: BTreeMap::new(),
            intermediatecas: BTreeMap::new(),
        };
        // Serialising these plain structs cannot fail.
        serde_json_canonicalizer::to_vec(&wire).unwrap_or_default()
    }

    /// The step named `name`.
    #[must_use]
    pub fn step(&self, name: &str) -> Option<&Step> {
        self.steps.iter().find(|s| s.name == name)
    }
}

/// Sign `layout` as the owner: a DSSE envelope (payload type
/// `application/vnd.in-toto+json`) whose one signature carries the owner key's in-toto key
/// id.
///
/// # Errors
///
/// [`crate::signing::SignError`] when the signer fails.
pub async fn sign_layout(
    layout: &Layout,
    owner: &dyn crate::signing::AsyncSigner,
) -> Result<Envelope, crate::signing::SignError> {
    let signed =
        crate::signing::sign_envelope_async(owner, dsse::IN_TOTO_PAYLOAD_TYPE, &layout.to_json())
            .await?;
    let mut env = signed.envelope;
    let id = key_id(&signed.public_key);
    for s in &mut env.signatures {
        s.keyid.clone_from(&id);
    }
    Ok(env)
}

/// Verify a signed layout: a DSSE envelope with an in-toto payload, signed by one of
/// `owner_keys` (every signature is tried against every key; `keyid` is only a hint),
/// holding a layout that has not expired at `now`.
///
/// # Errors
///
/// [`LayoutError::Envelope`] / [`LayoutError::PayloadType`] for another kind of document;
/// [`LayoutError::WrongOwner`] when no owner key verifies a signature; the errors of
/// [`Layout::from_json`]; [`LayoutError::Expired`] when `expires` is not after `now`.
pub fn verify_layout_envelope(
    bytes: &[u8],
    owner_keys: &[PublicKey],
    now: jiff::Timestamp,
) -> Result<Layout, LayoutError> {
    let env = Envelope::from_json(bytes).map_err(LayoutError::Envelope)?;
    if env.payload_type != dsse::IN_TOTO_PAYLOAD_TYPE {
        return Err(LayoutError::PayloadType(env.payload_type));
    }
    let pae = env.pae();
    let signed = env
        .signatures
        .iter()
        .any(|s| owner_keys.iter().any(|k| k.verify(&pae, &s.sig).is_ok()));
    if !signed {
        return Err(LayoutError::WrongOwner {
            signatures: env.signatures.len(),
            keys: owner_keys.len(),
        });
    }
    let layout = Layout::from_json(&env.payload)?;
    if layout.expires <= now {
        return Err(LayoutError::Expired {
            expires: layout.expires,
        });
    }
    Ok(layout)
}

#[cfg(test)]
mod tests;
