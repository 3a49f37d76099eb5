//! A layout checked against the chain's evidence: one [`StepEvidence`] per verified
//! attestation of a pipeline task. Pure.
//!
//! [`check`] follows in-toto's final-product verification, minus inspections and
//! sublayouts:
//! 1. **Thresholds.** Evidence of a step counts when its signer is one of the step's
//!    functionaries (a key id in `pubkeys`, or an identity a `cert_constraints` entry
//!    admits); other evidence is ignored, as in-toto ignores links by other keys. A step
//!    with no evidence at all is [`Violation::StepMissing`]; fewer distinct functionaries
//!    than `threshold` is [`Violation::ThresholdNotMet`]; authorised evidence that
//!    disagrees on materials or products is [`Violation::EvidenceDisagrees`]. The first
//!    authorised evidence stands for the step from then on.
//! 2. **Artifact rules.** For each step, `expected_materials` over its materials and
//!    `expected_products` over its products: every artifact starts in a queue; each rule
//!    consumes what it matches (`MATCH`: same name, below the prefixes, and same digest in
//!    the other step's materials or products; `ALLOW`: everything; `CREATE`: products that
//!    are not materials; `DELETE`: materials that are not products; `MODIFY`: both, with
//!    another digest); `DISALLOW` fails on anything still queued that it matches;
//!    `REQUIRE` fails unless the name is queued. A `DISALLOW` failure is named by what it
//!    means: a material that bears the name of a product of a step it must `MATCH`, with
//!    another digest, is [`Violation::ProductModified`]; a product that is also a material
//!    with the same digest is [`Violation::UnintendedRetention`] (the step should have
//!    consumed it, not passed it on); anything else is [`Violation::DisallowedArtifact`].
//! 3. **Linkage** (hallmark's addition; in-toto lets a `MATCH` consume nothing): a step
//!    with `MATCH ... WITH PRODUCTS FROM X` whose materials include nothing X produced is
//!    [`Violation::FakeStep`]: an attestation of a step that used nothing of its
//!    predecessor's (or a predecessor that produced nothing it used).
//!
//! A step without authorised evidence is reported once: the artifacts a later step would
//! `MATCH` against it are not reported again by that step's `DISALLOW`.
//!
//! Artifact names are compared as written (in-toto cleans file paths; Tekton names are
//! URIs, which path cleaning would mangle). [`StepEvidence::from_statement`] reads
//! evidence from Chains' SLSA provenance.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde_json::Value;

use super::rule::{norm_prefix, pattern_matches};
use super::{ArtifactKind, ArtifactRule, Layout, LayoutError, Step};

/// An artifact's digests: algorithm → hex.
pub type Digest = BTreeMap<String, String>;

/// Artifacts by name.
pub type Artifacts = BTreeMap<String, Digest>;

/// Who signed one piece of evidence.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Functionary {
    /// A key, by its in-toto key id ([`super::key_id`]).
    Key(String),
    /// A keyless (Fulcio) identity: the certificate's SAN and OIDC issuer.
    Identity {
        /// Subject alternative name (email or URI).
        san: String,
        /// OIDC issuer.
        issuer: String,
    },
}

impl fmt::Display for Functionary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Key(id) => write!(f, "key {id}"),
            Self::Identity { san, issuer } => write!(f, "{san} (issuer {issuer})"),
        }
    }
}

/// One verified attestation of one step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepEvidence {
    /// The step (for Tekton provenance, the pipeline task's name).
    pub step: String,
    /// Who signed the attestation (its signature already verified).
    pub signer: Functionary,
    /// What the step consumed.
    pub materials: Artifacts,
    /// What the step produced (the statement's subjects).
    pub products: Artifacts,
}

fn digest(v: Option<&Value>) -> Digest {
    v.and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                .collect()
        })
        .unwrap_or_default()
}

fn at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(v, |v, k| v.get(k))
}

impl StepEvidence {
    /// The evidence in an in-toto statement of Chains' SLSA provenance for a TaskRun of a
    /// PipelineRun, signed by `signer`:
    /// - step: the `tekton.dev/pipelineTask` label, from `predicate.invocation.environment
    ///   .labels` (SLSA v0.2) or `predicate.buildDefinition.internalParameters.labels`
    ///   (SLSA v1 with the Tekton build type);
    /// - products: the subjects (name → digest);
    /// - materials: v0.2 `predicate.materials` without the step images (those listed in
    ///   `buildConfig.steps[].environment.image`, which are tools, not inputs); v1 the
    ///   `resolvedDependencies` named `inputs/result` (type-hinted inputs and the source).
    ///
    /// # Errors
    ///
    /// [`LayoutError::Invalid`] when the statement names no pipeline task.
    pub fn from_statement(statement: &Value, signer: Functionary) -> Result<Self, LayoutError> {
        const LABEL: &str = crate::tekton::PIPELINE_TASK_LABEL;
        let step = at(
            statement,
            &["predicate", "invocation", "environment", "labels", LABEL],
        )
        .or_else(|| {
            at(
                statement,
                &[
                    "predicate",
                    "buildDefinition",
                    "internalParameters",
                    "labels",
                    LABEL,
                ],
            )
        })
        .and_then(Value::as_str)
        .ok_or_else(|| {
            LayoutError::Invalid(format!(
                "the attestation names no pipeline task (no {LABEL} label in its predicate)"
            ))
        })?
        .to_owned();
        let products = statement
            .get("subject")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|s| Some((s.get("name")?.as_str()?.to_owned(), digest(s.get("digest")))))
            .collect();
        let mut materials = Artifacts::new();
        if let Some(mats) = at(statement, &["predicate", "materials"]).and_then(Value::as_array) {
            let tools: BTreeSet<&str> = at(statement, &["predicate", "buildConfig", "steps"])
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|s| at(s, &["environment", "image"])?.as_str())
                .collect();
            for m in mats {
                let Some(uri) = m.get("uri").and_then(Value::as_str) else {
                    continue;
                };
                let d = digest(m.get("digest"));
                if d.iter()
                    .any(|(alg, hex)| tools.contains(format!("{uri}@{alg}:{hex}").as_str()))
                {
                    continue;
                }
                materials.insert(uri.to_owned(), d);
            }
        } else if let Some(deps) = at(
            statement,
            &["predicate", "buildDefinition", "resolvedDependencies"],
        )
        .and_then(Value::as_array)
        {
            for d in deps {
                if d.get("name").and_then(Value::as_str) != Some("inputs/result") {
                    continue;
                }
                if let Some(uri) = d.get("uri").and_then(Value::as_str) {
                    materials.insert(uri.to_owned(), digest(d.get("digest")));
                }
            }
        }
        Ok(Self {
            step,
            signer,
            materials,
            products,
        })
    }
}

/// One way the evidence breaks the layout.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Violation {
    /// No attestation of the step at all.
    StepMissing {
        /// The step.
        step: String,
    },
    /// Fewer distinct authorised functionaries attested the step than its threshold.
    ThresholdNotMet {
        /// The step.
        step: String,
        /// Distinct authorised functionaries found.
        have: usize,
        /// The threshold.
        need: u32,
        /// Signers of the step's other evidence, which are not its functionaries.
        unauthorized: Vec<String>,
    },
    /// Authorised attestations of one step report different materials or products.
    EvidenceDisagrees {
        /// The step.
        step: String,
    },
    /// The step's materials include nothing that `from` produced, though the layout says
    /// it works on `from`'s products: a fake step (or a predecessor that produced nothing).
    FakeStep {
        /// The step.
        step: String,
        /// The step whose products it should have used.
        from: String,
    },
    /// A material of the step carries the name of a product of `from` with another digest:
    /// the artifact changed between the two steps.
    ProductModified {
        /// The step.
        step: String,
        /// The artifact.
        artifact: String,
        /// The step that produced it.
        from: String,
    },
    /// A product of the step is one of its materials, unchanged: the step retained an
    /// artifact it should have consumed.
    UnintendedRetention {
        /// The step.
        step: String,
        /// The artifact.
        artifact: String,
    },
    /// A `DISALLOW` rule matched an artifact no earlier rule accounted for.
    DisallowedArtifact {
        /// The step.
        step: String,
        /// Materials or products.
        kind: ArtifactKind,
        /// The artifact.
        artifact: String,
        /// The rule.
        rule: String,
    },
    /// A `REQUIRE` rule's artifact is absent.
    RequiredArtifactMissing {
        /// The step.
        step: String,
        /// Materials or products.
        kind: ArtifactKind,
        /// The artifact.
        artifact: String,
    },
}

impl Violation {
    /// A stable name for the kind of violation (`step-missing`, `threshold-not-met`,
    /// `evidence-disagrees`, `fake-step`, `product-modified`, `unintended-retention`,
    /// `disallowed-artifact`, `required-artifact-missing`).
    #[must_use]
    pub fn kind(&self) -> &'static str {
        match self {
            Self::StepMissing { .. } => "step-missing",
            Self::ThresholdNotMet { .. } => "threshold-not-met",
            Self::EvidenceDisagrees { .. } => "evidence-disagrees",
            Self::FakeStep { .. } => "fake-step",
            Self::ProductModified { .. } => "product-modified",
            Self::UnintendedRetention { .. } => "unintended-retention",
            Self::DisallowedArtifact { .. } => "disallowed-artifact",
            Self::RequiredArtifactMissing { .. } => "required-artifact-missing",
        }
    }

    /// The step the violation is about.
    #[must_use]
    pub fn step(&self) -> &str {
        match self {
            Self::StepMissing { step }
            | Self::ThresholdNotMet { step, .. }
            | Self::EvidenceDisagrees { step }
            | Self::FakeStep { step, .. }
            | Self::ProductModified { step, .. }
            | Self::UnintendedRetention { step, .. }
            | Self::DisallowedArtifact { step, .. }
            | Self::RequiredArtifactMissing { step, .. } => step,
        }
    }

    /// The violation as a deny reason: `{"check": "layout", "violation": KIND, "step":
    /// STEP, "message": TEXT}`.
    #[must_use]
    pub fn to_json(&self) -> Value {
        serde_json::json!({
            "check": "layout",
            "violation": self.kind(),
            "step": self.step(),
            "message": self.to_string(),
        })
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::StepMissing { step } => write!(f, "step {step:?}: no attestation of it"),
            Self::ThresholdNotMet {
                step,
                have,
                need,
                unauthorized,
            } => {
                write!(
                    f,
                    "step {step:?}: {have} of the {need} functionaries required attested it"
                )?;
                if !unauthorized.is_empty() {
                    write!(
                        f,
                        " (ignored, not functionaries: {})",
                        unauthorized.join(", ")
                    )?;
                }
                Ok(())
            }
            Self::EvidenceDisagrees { step } => write!(
                f,
                "step {step:?}: its attestations report different materials or products"
            ),
            Self::FakeStep { step, from } => write!(
                f,
                "step {step:?} used nothing that step {from:?} produced (a fake step, or {from:?} produced nothing it used)"
            ),
            Self::ProductModified {
                step,
                artifact,
                from,
            } => write!(
                f,
                "step {step:?}: material {artifact:?} differs from the product of step {from:?} (modified between the steps)"
            ),
            Self::UnintendedRetention { step, artifact } => write!(
                f,
                "step {step:?}: material {artifact:?} is still among its products, unchanged (unintended retention)"
            ),
            Self::DisallowedArtifact {
                step,
                kind,
                artifact,
                rule,
            } => write!(
                f,
                "step {step:?}: {} {artifact:?} is disallowed by rule {rule:?}",
                match kind {
                    ArtifactKind::Materials => "material",
                    ArtifactKind::Products => "product",
                }
            ),
            Self::RequiredArtifactMissing {
                step,
                kind,
                artifact,
            } => write!(
                f,
                "step {step:?}: required {} {artifact:?} is absent",
                match kind {
                    ArtifactKind::Materials => "material",
                    ArtifactKind::Products => "product",
                }
            ),
        }
    }
}

fn authorized(step: &Step, signer: &Functionary) -> bool {
    match signer {
        Functionary::Key(id) => step.pubkeys.iter().any(|k| k == id),
        Functionary::Identity { san, issuer } => {
            step.cert_constraints.iter().any(|c| c.admits(san, issuer))
        }
    }
}

/// The source artifacts a MATCH rule would consume from `names` (in-toto's semantics:
/// the name below the source prefix matches the pattern, and the destination artifact
/// with the same name below the destination prefix has the same digest).
fn match_rule<'a>(
    rule: &ArtifactRule,
    names: impl Iterator<Item = &'a String>,
    src: &Artifacts,
    reduced: &BTreeMap<&str, &StepEvidence>,
) -> BTreeSet<String> {
    let ArtifactRule::Match {
        pattern,
        src_prefix,
        dst_kind,
        dst_prefix,
        from,
    } = rule
    else {
        return BTreeSet::new();
    };
    let Some(dst) = reduced.get(from.as_str()) else {
        return BTreeSet::new();
    };
    let dst = match dst_kind {
        ArtifactKind::Materials => &dst.materials,
        ArtifactKind::Products => &dst.products,
    };
    let (sp, dp) = (
        norm_prefix(src_prefix.as_deref()),
        norm_prefix(dst_prefix.as_deref()),
    );
    names
        .filter(|name| {
            let base = name.strip_prefix(sp.as_str()).unwrap_or(name);
            pattern_matches(pattern, base)
                && dst
                    .get(&format!("{dp}{base}"))
                    .is_some_and(|d| src.get(*name) == Some(d))
        })
        .cloned()
        .collect()
}

/// The step of `rules` (an earlier MATCH WITH PRODUCTS) whose product bears `name` with
/// another digest.
fn modified_from(
    rules: &[ArtifactRule],
    name: &str,
    src: &Artifacts,
    reduced: &BTreeMap<&str, &StepEvidence>,
) -> Option<String> {
    rules.iter().find_map(|r| {
        let ArtifactRule::Match {
            pattern,
            src_prefix,
            dst_kind: ArtifactKind::Products,
            dst_prefix,
            from,
        } = r
        else {
            return None;
        };
        let dst = reduced.get(from.as_str())?;
        let base = name
            .strip_prefix(norm_prefix(src_prefix.as_deref()).as_str())
            .unwrap_or(name);
        let theirs = dst
            .products
            .get(&format!("{}{base}", norm_prefix(dst_prefix.as_deref())))?;
        (pattern_matches(pattern, base) && src.get(name) != Some(theirs)).then(|| from.clone())
    })
}

/// Whether an earlier MATCH rule of `rules` would judge `name` against a step that has no
/// evidence: that step is reported missing already, so `name` is not reported again.
fn unjudged(rules: &[ArtifactRule], name: &str, reduced: &BTreeMap<&str, &StepEvidence>) -> bool {
    rules.iter().any(|r| match r {
        ArtifactRule::Match {
            pattern,
            src_prefix,
            from,
            ..
        } => {
            let base = name
                .strip_prefix(norm_prefix(src_prefix.as_deref()).as_str())
                .unwrap_or(name);
            !reduced.contains_key(from.as_str()) && pattern_matches(pattern, base)
        }
        _ => false,
    })
}

/// Apply one rule list to one side of a step's evidence.
fn apply_rules(
    step: &str,
    kind: ArtifactKind,
    rules: &[ArtifactRule],
    ev: &StepEvidence,
    reduced: &BTreeMap<&str, &StepEvidence>,
    out: &mut Vec<Violation>,
) {
    let (mats, prods) = (&ev.materials, &ev.products);
    let src = match kind {
        ArtifactKind::Materials => mats,
        ArtifactKind::Products => prods,
    };
    let created: BTreeSet<&String> = prods.keys().filter(|k| !mats.contains_key(*k)).collect();
    let deleted: BTreeSet<&String> = mats.keys().filter(|k| !prods.contains_key(*k)).collect();
    let modified: BTreeSet<&String> = mats
        .iter()
        .filter(|(k, d)| prods.get(*k).is_some_and(|p| p != *d))
        .map(|(k, _)| k)
        .collect();
    let mut queue: BTreeSet<String> = src.keys().cloned().collect();
    for (i, rule) in rules.iter().enumerate() {
        let filtered = || queue.iter().filter(|n| pattern_matches(rule.pattern(), n));
        let consumed: BTreeSet<String> = match rule {
            ArtifactRule::Match { .. } => match_rule(rule, queue.iter(), src, reduced),
            ArtifactRule::Allow(_) => filtered().cloned().collect(),
            ArtifactRule::Create(_) => filtered()
                .filter(|n| created.contains(n))
                .cloned()
                .collect(),
            ArtifactRule::Delete(_) => filtered()
                .filter(|n| deleted.contains(n))
                .cloned()
                .collect(),
            ArtifactRule::Modify(_) => filtered()
                .filter(|n| modified.contains(n))
                .cloned()
                .collect(),
            ArtifactRule::Disallow(_) => {
                for name in filtered() {
                    if unjudged(&rules[..i], name, reduced) {
                        continue;
                    }
                    let step = step.to_owned();
                    let artifact = name.clone();
                    let from = match kind {
                        ArtifactKind::Materials => modified_from(&rules[..i], name, src, reduced),
                        ArtifactKind::Products => None,
                    };
                    out.push(if let Some(from) = from {
                        Violation::ProductModified {
                            step,
                            artifact,
                            from,
                        }
                    } else if kind == ArtifactKind::Products
                        && mats.get(name).is_some_and(|m| prods.get(name) == Some(m))
                    {
                        Violation::UnintendedRetention { step, artifact }
                    } else {
                        Violation::DisallowedArtifact {
                            step,
                            kind,
                            artifact,
                            rule: rule.to_string(),
                        }
                    });
                }
                BTreeSet::new()
            }
            ArtifactRule::Require(name) => {
                if !queue.contains(name) {
                    out.push(Violation::RequiredArtifactMissing {
                        step: step.to_owned(),
                        kind,
                        artifact: name.clone(),
                    });
                }
                BTreeSet::new()
            }
        };
        queue.retain(|n| !consumed.contains(n));
    }
}

/// Check `evidence` against `layout` (see the module docs). Empty when the chain follows
/// the layout; otherwise every violation found, in step order.
#[must_use]
pub fn check(layout: &Layout, evidence: &[StepEvidence]) -> Vec<Violation> {
    let mut out = Vec::new();
    let mut reduced: BTreeMap<&str, &StepEvidence> = BTreeMap::new();
    for step in &layout.steps {
        let all: Vec<&StepEvidence> = evidence.iter().filter(|e| e.step == step.name).collect();
        if all.is_empty() {
            out.push(Violation::StepMissing {
                step: step.name.clone(),
            });
            continue;
        }
        let (ok, other): (Vec<&StepEvidence>, Vec<&StepEvidence>) =
            all.into_iter().partition(|e| authorized(step, &e.signer));
        let distinct: BTreeSet<&Functionary> = ok.iter().map(|e| &e.signer).collect();
        if distinct.len() < step.threshold as usize {
            let unauthorized: BTreeSet<String> =
                other.iter().map(|e| e.signer.to_string()).collect();
            out.push(Violation::ThresholdNotMet {
                step: step.name.clone(),
                have: distinct.len(),
                need: step.threshold,
                unauthorized: unauthorized.into_iter().collect(),
            });
        }
        let Some(first) = ok.first() else {
            continue;
        };
        if ok
            .iter()
            .any(|e| e.materials != first.materials || e.products != first.products)
        {
            out.push(Violation::EvidenceDisagrees {
                step: step.name.clone(),
            });
        }
        reduced.insert(step.name.as_str(), first);
    }
    for step in &layout.steps {
        let Some(ev) = reduced.get(step.name.as_str()) else {
            continue;
        };
        let before = out.len();
        apply_rules(
            &step.name,
            ArtifactKind::Materials,
            &step.expected_materials,
            ev,
            &reduced,
            &mut out,
        );
        let modified_from: BTreeSet<String> = out[before..]
            .iter()
            .filter_map(|v| match v {
                Violation::ProductModified { from, .. } => Some(from.clone()),
                _ => None,
            })
            .collect();
        for rule in &step.expected_materials {
            if let ArtifactRule::Match {
                dst_kind: ArtifactKind::Products,
                from,
                ..
            } = rule
                && reduced.contains_key(from.as_str())
                && !modified_from.contains(from)
                && match_rule(rule, ev.materials.keys(), &ev.materials, &reduced).is_empty()
            {
                out.push(Violation::FakeStep {
                    step: step.name.clone(),
                    from: from.clone(),
                });
            }
        }
        apply_rules(
            &step.name,
            ArtifactKind::Products,
            &step.expected_products,
            ev,
            &reduced,
            &mut out,
        );
    }
    out
}

/// How the chain walk names the signer of attestations verified with the one `--key`.
pub const GIVEN_KEY_SIGNER: &str = "the given key";

/// The signer of a chain node as a [`Functionary`]: `the given key` is `key` (by its
/// in-toto key id); `SAN (ISSUER)` is a keyless identity.
fn functionary(signer: &str, key: Option<&crate::signing::PublicKey>) -> Option<Functionary> {
    if signer == GIVEN_KEY_SIGNER {
        return key.map(|k| Functionary::Key(super::key_id(k)));
    }
    let (san, issuer) = signer.strip_suffix(')')?.rsplit_once(" (")?;
    Some(Functionary::Identity {
        san: san.to_owned(),
        issuer: issuer.to_owned(),
    })
}

/// The evidence in a walked chain ([`crate::verify::chain::walk`]): one [`StepEvidence`]
/// per TaskRun attestation node that records its pipeline task. The signer is the
/// verification `key` for attestations verified with it, else the certificate identity;
/// products are the subjects; materials are the recorded materials without `oci://` ones
/// (Chains writes step and sidecar images that way: tools, not inputs). Nodes whose
/// signer cannot be named are left out (their step then counts as missing).
#[must_use]
pub fn evidence_from_chain(
    chain: &crate::verify::chain::Chain,
    key: Option<&crate::signing::PublicKey>,
) -> Vec<StepEvidence> {
    use crate::verify::chain::RunKind;
    chain
        .nodes
        .iter()
        .filter_map(|n| {
            let run = n.run.as_ref()?;
            if run.kind != RunKind::TaskRun {
                return None;
            }
            Some(StepEvidence {
                step: run.pipeline_task.clone()?,
                signer: functionary(&run.signer, key)?,
                materials: run
                    .materials
                    .iter()
                    .filter(|(uri, _)| !uri.starts_with("oci://"))
                    .map(|(u, d)| (u.clone(), d.clone()))
                    .collect(),
                products: run.products.clone(),
            })
        })
        .collect()
}

/// The node id prefix of layout denials in a chain ([`chain_denials`]).
pub const LAYOUT_NODE: &str = "layout";

/// Check a walked chain against a signed layout (`hallmark verify --chain --layout F
/// --layout-key K`), as denials to add to the chain: one with node `layout` when the
/// layout is refused ([`super::verify_layout_envelope`]: not signed by an owner key,
/// expired, malformed), else one per [`Violation`] of the chain's evidence
/// ([`evidence_from_chain`] with the verification `key`), with node
/// `layout:KIND:STEP`. Empty when the chain follows the layout.
#[must_use]
pub fn chain_denials(
    envelope: &[u8],
    owner_keys: &[crate::signing::PublicKey],
    key: Option<&crate::signing::PublicKey>,
    chain: &crate::verify::chain::Chain,
    now: jiff::Timestamp,
) -> Vec<crate::verify::chain::Denial> {
    use crate::verify::chain::Denial;
    match super::verify_layout_envelope(envelope, owner_keys, now) {
        Err(e) => vec![Denial {
            node: LAYOUT_NODE.to_owned(),
            reason: {
                let mut s = e.to_string();
                let mut cur = std::error::Error::source(&e);
                while let Some(c) = cur {
                    s.push_str(": ");
                    s.push_str(&c.to_string());
                    cur = c.source();
                }
                s
            },
        }],
        Ok(layout) => check(&layout, &evidence_from_chain(chain, key))
            .into_iter()
            .map(|v| Denial {
                node: format!("{LAYOUT_NODE}:{}:{}", v.kind(), v.step()),
                reason: v.to_string(),
            })
            .collect(),
    }
}
