//! `hallmark verify`: check a DSSE envelope (with a public key) or a Sigstore bundle (with
//! a public key, or keyless against a certificate identity) against an artifact.
//!
//! Decisions map onto exit codes: pass 0, a failed check 1 (deny), unreadable input,
//! usage errors and checks hallmark cannot do yet 2 (error). `-o json` prints one report:
//! `{"decision":"pass"|"deny"|"error","reasons":[{"check":..,"message":..}],...}`.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde_json::json;

use super::Outcome;
use crate::bundle::Bundle;
use crate::dsse::Envelope;
use crate::oci::image_layout::{self, ImageLayout};
use crate::oci::{ImageRef, OciError, find_attestations};
use crate::rekor::{RekorClient, RekorError, TransparencyLog as _};
use crate::search::Query;
use crate::signing::kube::KubeClient;
use crate::trust::TrustedRoot;
use crate::verify::chain;
use crate::verify::latest;
use crate::verify::policy::{self, CheckFailure, PolicyError, SlsaChecks};
use crate::verify::rego;
use crate::verify::{
    self, ArtifactRef, BundleVerification, EnvelopePolicy, LoggedEntry, Policy, PredicateType,
    VerificationKey, VerifiedStatement, Verifier, VerifierOptions, VerifyError,
};
use crate::x509::{IdentityMatcher, StringMatcher};

/// Report format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum OutputFormat {
    /// One human-readable line.
    #[default]
    Text,
    /// A JSON report with `decision` and `reasons`.
    Json,
}

/// Flags of `hallmark verify`.
#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// What was signed: a file, or `sha256:<hex>` (its digest), with `--envelope` or
    /// `--bundle`; or an image `REGISTRY/REPOSITORY@sha256:<hex>` alone, whose attestations
    /// are read from its registry (OCI 1.1 referrer bundles, the `sha256-<hex>` fallback
    /// tag, and cosign's legacy `sha256-<hex>.att` tag); or `oci-layout:PATH@sha256:<hex>`,
    /// an image whose attestations are read from the OCI image layout directory PATH (as
    /// the controller's `--output oci-layout:PATH` writes it). The image passes when at
    /// least one attestation verifies.
    #[arg(value_name = "ARTIFACT")]
    pub artifact: String,

    /// A DSSE envelope file (written by `hallmark sign`, Tekton Chains or cosign) whose
    /// in-toto statement must name ARTIFACT as a subject.
    #[arg(long, value_name = "FILE", conflicts_with = "bundle")]
    pub envelope: Option<PathBuf>,

    /// A Sigstore bundle file (v0.1–v0.3; DSSE attestation or message signature, e.g.
    /// from `cosign attest-blob --bundle` or `cosign sign-blob --bundle`).
    #[arg(long, value_name = "FILE")]
    pub bundle: Option<PathBuf>,

    /// The public key to verify with: a PEM `PUBLIC KEY` file (e.g. `cosign.pub`),
    /// ECDSA P-256 or Ed25519. Excludes the `--certificate-*` flags; required with
    /// `--envelope`.
    #[arg(long, value_name = "KEY")]
    pub key: Option<PathBuf>,

    /// Keyless: the signing certificate's subject alternative name (email, URI) must be
    /// exactly this. Needs `--certificate-oidc-issuer[-regexp]`.
    #[arg(long, value_name = "SAN", conflicts_with_all = ["key", "certificate_identity_regexp"])]
    pub certificate_identity: Option<String>,

    /// Keyless: the signing certificate's SAN must match this regular expression. As in
    /// cosign (Go `regexp.MatchString`), the match is unanchored: write `^...$` to match
    /// the whole SAN.
    #[arg(long, value_name = "REGEX", conflicts_with = "key")]
    pub certificate_identity_regexp: Option<String>,

    /// Keyless: the certificate's OIDC issuer (Fulcio extension) must be exactly this,
    /// e.g. `https://token.actions.githubusercontent.com`.
    #[arg(long, value_name = "URL", conflicts_with_all = ["key", "certificate_oidc_issuer_regexp"])]
    pub certificate_oidc_issuer: Option<String>,

    /// Keyless: the certificate's OIDC issuer must match this regular expression
    /// (unanchored, as in cosign).
    #[arg(long, value_name = "REGEX", conflicts_with = "key")]
    pub certificate_oidc_issuer_regexp: Option<String>,

    /// A Sigstore `trusted_root.json` holding the Fulcio CAs, Rekor, CT log and TSA keys
    /// to verify bundles against. Default: the embedded Sigstore public-good root.
    #[arg(long, value_name = "FILE", conflicts_with = "tuf_url")]
    pub trusted_root: Option<PathBuf>,

    /// Refresh the trusted root from this TUF repository (metadata at the URL, targets
    /// under `URL/targets/`; its `trusted_root.json` target), e.g.
    /// `https://tuf-repo-cdn.sigstore.dev`. Needs `--tuf-root`. The newest metadata seen
    /// is kept in `$XDG_CACHE_HOME/hallmark/tuf/` (or `~/.cache/...`) against rollback.
    /// A repository that cannot be reached or does not verify is an error (exit 2).
    #[arg(long, value_name = "URL", requires = "tuf_root")]
    pub tuf_url: Option<String>,

    /// The TUF repository's initial `root.json`, trusted out of band (with `--tuf-url`).
    #[arg(long, value_name = "FILE", requires = "tuf_url")]
    pub tuf_root: Option<PathBuf>,

    /// Require this predicate type: a cosign short name (`slsaprovenance`,
    /// `slsaprovenance02`, `slsaprovenance1`, `custom`, `spdx`, `spdxjson`, `cyclonedx`,
    /// `link`, `vuln`, `openvex`) or a predicate type URI. Default: any.
    #[arg(long = "type", value_name = "TYPE")]
    pub predicate_type: Option<String>,

    /// Do not check the transparency log (cosign's flag of the same name). Without it, a
    /// bundle needs at least one transparency log entry that verifies (signed entry
    /// timestamp or inclusion proof with a signed checkpoint) and records this bundle.
    /// Required with `--envelope`, which carries no log proof.
    #[arg(long)]
    pub insecure_ignore_tlog: bool,

    /// Keyless: do not require an embedded signed certificate timestamp from a trusted
    /// CT log in the signing certificate (cosign's flag of the same name).
    #[arg(long)]
    pub insecure_ignore_sct: bool,

    /// How to reach the image's registry.
    #[command(flatten)]
    pub registry: super::registry::RegistryArgs,

    /// Rekor v1 to look attestations up in when they carry no log entry (Tekton Chains'
    /// `.att` layers), as cosign v2 does. Default: the Rekor logs of the trusted root.
    #[arg(long, value_name = "URL", conflicts_with = "offline")]
    pub rekor_url: Option<String>,

    /// Never contact a transparency log: an attestation without an embedded log entry is
    /// then denied (unless `--insecure-ignore-tlog`).
    #[arg(long)]
    pub offline: bool,

    /// Report format: `text` (a `pass:`/`deny:` line, then who signed, where it was logged
    /// and when) or `json` (`{"decision":"pass"|"deny"|"error", "reasons":[...], ...}`;
    /// the schema is in docs/verify-report.md).
    #[arg(short = 'o', long = "output", value_enum, default_value_t = OutputFormat::Text, value_name = "FORMAT")]
    pub output: OutputFormat,

    /// SLSA check: the builder id (v0.2 `builder.id`, v1 `runDetails.builder.id`) must be
    /// exactly this. The checks below apply to the attestations that verified: at least
    /// one (or `--threshold` many) must satisfy all of them. See docs/verify.md.
    #[arg(long, value_name = "ID")]
    pub builder_id: Option<String>,

    /// SLSA check: a source must have this URI (v0.2 `invocation.configSource.uri` or a
    /// `materials[].uri`; v1 a `buildDefinition.resolvedDependencies[].uri`), compared
    /// without a `git+` prefix, `.git` suffix, trailing `/` or `@ref` suffix.
    #[arg(long, value_name = "URI")]
    pub source_uri: Option<String>,

    /// SLSA check: a source (the one matching `--source-uri`, if given) must have this
    /// digest value (a git commit, optionally `sha1:`-prefixed) or `@REF` URI suffix.
    #[arg(long, value_name = "REF")]
    pub source_ref: Option<String>,

    /// SLSA check: the build type (v0.2 `buildType`, v1 `buildDefinition.buildType`)
    /// must be exactly this.
    #[arg(long, value_name = "TYPE")]
    pub build_type: Option<String>,

    /// SLSA check (repeatable): parameter K must have value V (v0.2
    /// `invocation.parameters.K`; v1 `buildDefinition.externalParameters.runSpec.params`
    /// entry named K). Non-string values compare as compact JSON.
    #[arg(long = "param", value_name = "K=V")]
    pub params: Vec<String>,

    /// SLSA check: the build must have finished (v0.2 `metadata.buildFinishedOn`, v1
    /// `runDetails.metadata.finishedOn`) at most this long ago: `90s`, `30m`, `12h`,
    /// `7d`, `2w`.
    #[arg(long, value_name = "DURATION")]
    pub max_age: Option<String>,

    /// Image mode, rollback protection: the image must be the newest build of Tekton
    /// pipeline PIPELINE in its repository. One of its verified attestations that satisfy
    /// the other checks must be a provenance of a run of PIPELINE (its `tekton.dev/pipeline`
    /// label), else deny. Then Rekor v1 (`--rekor-url`, or the trusted root's first log) is
    /// searched for every entry of the same signer (the `--key`, or the certificate's email
    /// SAN; a URI SAN cannot be searched in Rekor v1: error), each entry verified, and
    /// each one's statement read from the log (`intoto` entries) or from the image's
    /// repository (the attestation whose payload hash the entry recorded). A build of
    /// PIPELINE in the same repository that finished later (the provenance's finish time,
    /// else the entry's integrated time), of another digest, denies with check
    /// `require-latest-of`, naming it. Entries whose statement cannot be found are
    /// reported, not counted. Not with `--offline`. See docs/verify.md ("Rollback").
    #[arg(
        long,
        value_name = "PIPELINE",
        conflicts_with_all = ["envelope", "bundle", "offline"]
    )]
    pub require_latest_of: Option<String>,

    /// N distinct signers (certificate identities: SAN and issuer; all attestations
    /// verified with `--key` count as one signer) must have verified attestations of the
    /// subject that satisfy the checks. Default 1.
    #[arg(long, value_name = "N")]
    pub threshold: Option<usize>,

    /// A Rego policy (repeatable): a `.rego` file, or a directory whose `*.rego` files
    /// are loaded. Each package's `deny` set (strings, or objects with `msg`) over the
    /// input document of docs/verify.md ("Policy input") gives reasons to deny (exit 1);
    /// a policy that does not parse or fails to evaluate is an error (exit 2).
    #[arg(long = "policy", value_name = "FILE.rego|DIR")]
    pub policies: Vec<PathBuf>,

    /// Also write the decision as a SARIF 2.1.0 log to FILE (one result per reason;
    /// level `error` on deny and error, `note` on pass).
    #[arg(long, value_name = "FILE")]
    pub sarif: Option<PathBuf>,

    /// Write a signed SLSA Verification Summary Attestation (VSA v1, a DSSE envelope
    /// whose subject is the artifact's digest) to FILE when the decision is pass or deny
    /// (PASSED / FAILED). Needs `--vsa-key`.
    #[arg(long, value_name = "FILE", requires = "vsa_key")]
    pub vsa_out: Option<PathBuf>,

    /// The key that signs the VSA: any reference `hallmark sign --key` takes (a
    /// cosign-encrypted key with `COSIGN_PASSWORD`, a PEM private key,
    /// `k8s://NAMESPACE/SECRET`, `hashivault://KEY`, ...).
    #[arg(long, value_name = "KEY", requires = "vsa_out")]
    pub vsa_key: Option<String>,

    /// The VSA's `verifier.id`: a URI naming this verifier, as its consumers expect it.
    #[arg(long, value_name = "URI", requires = "vsa_out", default_value = crate::verify::vsa::DEFAULT_VERIFIER_ID)]
    pub vsa_verifier_id: String,

    /// Image mode: when the image has no attestation yet, look again every 2 s for up to
    /// this long (`30s`, `2m`, ...) before denying. For a gate right after the task that
    /// built the image: the controller signs a run seconds after it finishes. Attestations
    /// that are found but fail are denied at once.
    #[arg(long, value_name = "DURATION", conflicts_with_all = ["envelope", "bundle"])]
    pub wait: Option<String>,

    /// Image mode: also walk the supply chain back to its sources (docs/verify.md,
    /// "The chain"): the image's provenance, the images among its `*ARTIFACT_INPUTS`
    /// materials (and products of the same PipelineRun), recursively, each verified like
    /// the image. A node that fails denies the image; the tree is printed, and `-o json`
    /// adds the `chain` graph.
    #[arg(long, conflicts_with_all = ["envelope", "bundle"])]
    pub chain: bool,

    /// With `--chain`: how many steps back from the image to walk; deeper materials are
    /// reported as not walked.
    #[arg(long, value_name = "N", requires = "chain", default_value_t = chain::DEFAULT_DEPTH)]
    pub chain_depth: usize,

    /// With `--chain`: check the chain against an in-toto layout, a DSSE envelope written
    /// by `hallmark layout` (docs/verify.md, "Layouts"): every pipeline task attested by
    /// its functionaries, each task's inputs the products of the tasks before it. Each
    /// violation denies, named (`layout:KIND:STEP`).
    #[arg(long, value_name = "FILE", requires_all = ["chain", "layout_key"])]
    pub layout: Option<PathBuf>,

    /// The layout owner's public key (PEM; repeatable): `--layout` must be signed by one
    /// of them, and not expired.
    #[arg(long, value_name = "PEM_FILE", requires = "layout")]
    pub layout_key: Vec<PathBuf>,

    /// With `--chain`: also read the attestations of each PipelineRun's TaskRuns from the
    /// cluster, in their `tekton` storage annotations (`chains.tekton.dev/signature-taskrun-
    /// UID`): TaskRuns that produced no image (a git clone, tests) are found only there.
    /// Each is verified like an image's attestation (signer, transparency log) and must be
    /// owned by the PipelineRun whose provenance verified. FILE is a kubeconfig; without
    /// a value, `KUBECONFIG`, `~/.kube/config` or the pod's service account. Needs `list`
    /// on `taskruns.tekton.dev`
    #[arg(
        long,
        value_name = "FILE",
        requires = "chain",
        num_args = 0..=1,
        default_missing_value = ""
    )]
    pub kubeconfig: Option<String>,

    /// With `--kubeconfig`: list TaskRuns only in this namespace (default: every
    /// namespace, which needs a cluster-wide `list`).
    #[arg(long, value_name = "NAMESPACE", requires = "kubeconfig")]
    pub run_namespace: Option<String>,
}

/// The SLSA checks and threshold asked for.
struct Checks {
    slsa: SlsaChecks,
    threshold: usize,
    now: jiff::Timestamp,
    /// `--policy`: the Rego policies, the artifact as given and its digest (set once
    /// known) for their input document.
    rego: Option<rego::PolicySet>,
    artifact: String,
    artifact_sha256: Option<String>,
    /// `--chain`: the walked chain graph (as `-o json` prints it), for the policy input;
    /// `None` (null) without `--chain`.
    chain: Option<serde_json::Value>,
    /// `--require-latest-of`: the pipeline.
    require_latest_of: Option<String>,
}

impl Checks {
    fn from_args(args: &VerifyArgs) -> Result<Self, Failure> {
        let usage = |e: PolicyError| Failure::Error {
            check: "usage",
            message: e.to_string(),
        };
        let threshold = args.threshold.unwrap_or(1);
        if threshold == 0 {
            return Err(usage(PolicyError::Threshold));
        }
        Ok(Self {
            slsa: SlsaChecks {
                builder_id: args.builder_id.clone(),
                source_uri: args.source_uri.clone(),
                source_ref: args.source_ref.clone(),
                build_type: args.build_type.clone(),
                params: args
                    .params
                    .iter()
                    .map(|p| policy::parse_param(p))
                    .collect::<Result<_, _>>()
                    .map_err(usage)?,
                max_age: args
                    .max_age
                    .as_deref()
                    .map(policy::parse_duration)
                    .transpose()
                    .map_err(usage)?,
            },
            threshold,
            now: jiff::Timestamp::now(),
            rego: load_policies(&args.policies)?,
            artifact: args.artifact.clone(),
            artifact_sha256: None,
            chain: None,
            require_latest_of: args.require_latest_of.clone(),
        })
    }

    fn requested(&self) -> bool {
        !self.slsa.is_empty()
            || self.threshold > 1
            || self.rego.is_some()
            || self.require_latest_of.is_some()
    }

    /// The checks over one verified attestation.
    fn evaluate(&self, p: &Passed) -> Result<(), Vec<CheckFailure>> {
        if self.slsa.is_empty() {
            return Ok(());
        }
        match &p.statement {
            Some(s) => self.slsa.evaluate(&s.statement, self.now),
            None => Err(vec![CheckFailure {
                check: "predicate-type",
                expected: "an SLSA provenance attestation".into(),
                found: Some("a message signature".into()),
            }]),
        }
    }

    /// The requested checks with their expected values, for the JSON report.
    fn to_json(&self) -> serde_json::Value {
        let s = &self.slsa;
        let mut v = Vec::new();
        let mut add = |check: &str, expected: String| {
            v.push(json!({"check": check, "expected": expected}));
        };
        for (check, want) in [
            ("builder-id", &s.builder_id),
            ("source-uri", &s.source_uri),
            ("source-ref", &s.source_ref),
            ("build-type", &s.build_type),
        ] {
            if let Some(w) = want {
                add(check, w.clone());
            }
        }
        for (k, val) in &s.params {
            add("param", format!("{k}={val}"));
        }
        if let Some(m) = s.max_age {
            add("max-age", format!("finished within {}s", m.as_secs()));
        }
        if self.threshold > 1 {
            add("threshold", format!("{} distinct signers", self.threshold));
        }
        for (name, _) in self.rego.iter().flat_map(rego::PolicySet::digests) {
            add("policy", format!("{name} denies nothing"));
        }
        if let Some(p) = &self.require_latest_of {
            add(
                latest::CHECK,
                format!("the newest build of pipeline {p} in the repository"),
            );
        }
        serde_json::Value::Array(v)
    }
}

/// Load `--policy` files and directories (none: `None`); unreadable or unparsable
/// policies are errors (exit 2), never denials.
fn load_policies(paths: &[PathBuf]) -> Result<Option<rego::PolicySet>, Failure> {
    if paths.is_empty() {
        return Ok(None);
    }
    rego::read_sources(paths)
        .and_then(|s| rego::PolicySet::new(&s))
        .map(Some)
        .map_err(|e| Failure::Error {
            check: "policy",
            message: super::error_chain(&e),
        })
}

/// The Rego input document (docs/verify.md, "Policy input") over the attestations that
/// verified and those that did not.
fn policy_input(checks: &Checks, passes: &[Passed], attestations: &[Checked]) -> rego::PolicyInput {
    let verified = passes
        .iter()
        .map(|p| rego::InputAttestation {
            kind: p.kind.to_owned(),
            location: p.location.clone(),
            statement: p.statement.as_ref().map(|s| s.statement.clone()),
            signer: match (&p.signer, &p.statement) {
                (Some((identity, issuer)), _) => rego::InputSigner::Certificate {
                    identity: identity.clone(),
                    issuer: issuer.clone(),
                },
                (None, s) => rego::InputSigner::Key {
                    key_id: s.as_ref().map(|s| s.key_id.clone()).unwrap_or_default(),
                },
            },
            log_entries: p
                .logged
                .iter()
                .map(|e| rego::InputLogEntry {
                    log_url: e.log_url.clone(),
                    log_index: e.log_index,
                    integrated_time: e.integrated_time.map(|t| t.to_string()),
                })
                .collect(),
            signing_times: p.signing_times.clone(),
        })
        .collect();
    let failed = attestations
        .iter()
        .filter(|c| c.decision != "pass")
        .map(|c| rego::FailedAttestation {
            location: c.location.clone(),
            decision: c.decision.to_owned(),
            check: c.check.map(str::to_owned),
            message: c.message.clone(),
        })
        .collect();
    rego::PolicyInput {
        artifact: rego::InputArtifact {
            name: checks.artifact.clone(),
            digest: checks
                .artifact_sha256
                .iter()
                .map(|d| ("sha256".to_owned(), d.clone()))
                .collect(),
        },
        now: checks.now.to_string(),
        attestations: verified,
        failed,
        chain: checks.chain.clone(),
    }
}

/// A stable name of who signed a verified attestation, for `--threshold`.
fn signer_name(p: &Passed) -> String {
    match (&p.signer, &p.statement) {
        (Some((san, issuer)), _) => format!(
            "{} ({})",
            san.as_deref().unwrap_or(""),
            issuer.as_deref().unwrap_or("")
        ),
        // One `--key` verifies every key-signed attestation: one signer, whatever the
        // (unsigned) DSSE keyid hints say.
        _ => "the given key".to_owned(),
    }
}

fn check_reason(location: Option<&str>, f: &CheckFailure) -> serde_json::Value {
    let mut r = json!({"check": f.check, "message": f.to_string(), "expected": f.expected, "found": f.found});
    if let Some(l) = location {
        r["location"] = json!(l);
    }
    r
}

/// Apply the checks to the attestations that verified: pass when `threshold` distinct
/// signers have one that satisfies them all.
fn apply_checks(
    checks: &Checks,
    passes: Vec<Passed>,
    mut attestations: Vec<Checked>,
) -> Result<Passed, Failure> {
    // `--policy`: Rego over every verified attestation, before the built-in checks.
    let denials = match &checks.rego {
        Some(set) => set
            .evaluate(&policy_input(checks, &passes, &attestations).to_json())
            .map_err(|e| Failure::Error {
                check: "policy",
                message: super::error_chain(&e),
            })?,
        None => Vec::new(),
    };
    let inputs = input_attestations(&passes);
    let mut failures = Vec::new();
    let mut satisfying = Vec::new();
    for p in passes {
        match checks.evaluate(&p) {
            Ok(()) => satisfying.push(p),
            Err(fs) => {
                if let Some(c) = attestations
                    .iter_mut()
                    .find(|c| Some(&c.location) == p.location.as_ref())
                {
                    c.decision = "deny";
                    c.check = fs.first().map(|f| f.check);
                    c.message = Some(
                        fs.iter()
                            .map(ToString::to_string)
                            .collect::<Vec<_>>()
                            .join("; "),
                    );
                }
                failures.extend(fs.into_iter().map(|f| (p.location.clone(), f)));
            }
        }
    }
    let names: Vec<String> = satisfying.iter().map(signer_name).collect();
    let accepted: Vec<Vec<u8>> = satisfying
        .iter()
        .filter_map(|p| p.statement.as_ref().map(|s| s.payload.clone()))
        .collect();
    if !satisfying.is_empty()
        && let Err(f) = policy::check_threshold(names.iter().map(String::as_str), checks.threshold)
    {
        failures.push((None, f));
    } else if let Some(mut p) = satisfying.into_iter().next().filter(|_| denials.is_empty()) {
        p.accepted = accepted;
        p.attestations = attestations;
        p.inputs = inputs;
        return Ok(p);
    }
    Err(Failure::DenyChecks {
        failures,
        attestations,
        denials,
        inputs,
        latest: None,
    })
}

/// The verified attestations as VSA `inputAttestations`: the sha256 of each signed
/// statement, and where it was found (images).
fn input_attestations(passes: &[Passed]) -> Vec<crate::verify::vsa::Descriptor> {
    passes
        .iter()
        .filter_map(|p| {
            let s = p.statement.as_ref()?;
            Some(crate::verify::vsa::Descriptor::sha256(
                p.location.clone(),
                hex::encode(ArtifactRef::Bytes(&s.payload).sha256()),
            ))
        })
        .collect()
}

/// What was verified, for the report.
struct Passed {
    kind: &'static str,
    statement: Option<VerifiedStatement>,
    /// Keyless signer (SAN, OIDC issuer) and verified log entries, for bundles.
    signer: Option<(Option<String>, Option<String>)>,
    tlog_entries: usize,
    /// Where and when the signature was logged.
    logged: Vec<LoggedEntry>,
    /// Verified signing times (log integrated times and RFC 3161 times).
    signing_times: Vec<String>,
    /// Where the verified attestation was found (images).
    location: Option<String>,
    /// Every attestation found beside an image, with its verdict (images).
    attestations: Vec<Checked>,
    /// `--chain`: the walked chain.
    chain: Option<Box<chain::Chain>>,
    /// Every attestation that verified, for the VSA (`--vsa-out`).
    inputs: Vec<crate::verify::vsa::Descriptor>,
    /// The payloads of the attestations that satisfied the checks
    /// (`--require-latest-of`).
    accepted: Vec<Vec<u8>>,
    /// `--require-latest-of`: what the rollback check found.
    latest: Option<Box<latest::Report>>,
}

/// One attestation found beside an image, and what became of it.
struct Checked {
    location: String,
    /// `pass`, `deny` (a check failed), `skipped` (unreadable) or `error`.
    decision: &'static str,
    check: Option<&'static str>,
    message: Option<String>,
    predicate_type: Option<String>,
}

impl Checked {
    fn to_json(&self) -> serde_json::Value {
        let mut v = json!({"location": self.location, "decision": self.decision});
        if let Some(c) = self.check {
            v["reasons"] = json!([{"check": c, "message": self.message}]);
        }
        if let Some(p) = &self.predicate_type {
            v["predicateType"] = json!(p);
        }
        v
    }

    fn line(&self) -> String {
        match (&self.check, &self.message, &self.predicate_type) {
            (Some(c), Some(m), _) => format!("{}: {} ({c}: {m})", self.location, self.decision),
            (_, _, Some(p)) => format!("{}: {} ({p})", self.location, self.decision),
            _ => format!("{}: {}", self.location, self.decision),
        }
    }
}

impl Passed {
    /// The human-readable lines after `pass:`: who signed, where it was logged, when.
    fn describe(&self) -> Vec<String> {
        let mut lines = Vec::new();
        match (&self.signer, &self.statement) {
            (Some((san, issuer)), _) => lines.push(format!(
                "signed by {} (OIDC issuer {})",
                san.as_deref().unwrap_or("<no SAN>"),
                issuer.as_deref().unwrap_or("<none>")
            )),
            (None, Some(s)) if !s.key_id.is_empty() => {
                lines.push(format!("signed with the given key (keyid {})", s.key_id));
            }
            (None, _) => lines.push("signed with the given key".to_owned()),
        }
        if self.logged.is_empty() {
            lines
                .push("not checked against a transparency log (--insecure-ignore-tlog)".to_owned());
        }
        for e in &self.logged {
            match &e.integrated_time {
                Some(t) => lines.push(format!(
                    "logged in {} at index {}, integrated {t}",
                    e.log_url, e.log_index
                )),
                None => lines.push(format!("logged in {} at index {}", e.log_url, e.log_index)),
            }
        }
        if !self.signing_times.is_empty() {
            lines.push(format!(
                "signing time(s) verified: {}",
                self.signing_times.join(", ")
            ));
        }
        if let Some(s) = &self.statement {
            for subject in &s.statement.subject {
                let digest = subject.digest.get("sha256").map_or("", String::as_str);
                lines.push(format!("subject {} sha256:{digest}", subject.name));
            }
        }
        lines
    }
}

/// A decision with its reasons.
enum Failure {
    /// A verification check failed (exit 1).
    Deny(VerifyError),
    /// No attestation beside an image verified (exit 1).
    DenyImage {
        message: String,
        attestations: Vec<Checked>,
    },
    /// Attestations verified but none (or too few signers) satisfied the SLSA checks
    /// (exit 1).
    DenyChecks {
        failures: Vec<(Option<String>, CheckFailure)>,
        attestations: Vec<Checked>,
        /// `--policy` denials.
        denials: Vec<rego::Denial>,
        /// Every attestation that verified, for the VSA.
        inputs: Vec<crate::verify::vsa::Descriptor>,
        /// `--require-latest-of`: what the rollback check found (its denial is in
        /// `failures`).
        latest: Option<Box<latest::Report>>,
    },
    /// `--chain`: the image verified, but a node of its chain failed (exit 1).
    DenyChain {
        chain: Box<chain::Chain>,
        attestations: Vec<Checked>,
    },
    /// Could not decide (exit 2).
    Error {
        check: &'static str,
        message: String,
    },
}

impl From<VerifyError> for Failure {
    fn from(e: VerifyError) -> Self {
        if e.is_denial() {
            Self::Deny(e)
        } else {
            Self::Error {
                check: e.check(),
                message: super::error_chain(&e),
            }
        }
    }
}

fn input_error(e: &anyhow::Error) -> Failure {
    Failure::Error {
        check: "input",
        message: format!("{e:#}"),
    }
}

/// Run `hallmark verify`.
///
/// # Errors
///
/// Only when the report cannot be written; every verification outcome (including
/// unreadable input) is reported and mapped to an [`Outcome`].
pub fn run(args: &VerifyArgs) -> anyhow::Result<Outcome> {
    let artifact_label = args.artifact.clone();
    let mut digest_hex = None;
    let result = decide_waiting(args, &mut digest_hex);
    let (outcome, decision) = match &result {
        Ok(_) => (Outcome::Pass, "pass"),
        Err(
            Failure::Deny(_)
            | Failure::DenyImage { .. }
            | Failure::DenyChecks { .. }
            | Failure::DenyChain { .. },
        ) => (Outcome::Deny, "deny"),
        Err(Failure::Error { .. }) => (Outcome::Error, "error"),
    };
    let reasons: Vec<serde_json::Value> = match &result {
        Ok(_) => Vec::new(),
        Err(Failure::Deny(e)) => {
            vec![json!({"check": e.check(), "message": super::error_chain(e)})]
        }
        Err(Failure::DenyImage {
            message,
            attestations,
        }) => {
            let mut r = vec![json!({"check": "attestations", "message": message})];
            r.extend(
                attestations.iter().filter(|a| a.check.is_some()).map(
                    |a| json!({"check": a.check, "message": a.message, "location": a.location}),
                ),
            );
            r
        }
        Err(Failure::DenyChecks {
            failures, denials, ..
        }) => failures
            .iter()
            .map(|(l, f)| check_reason(l.as_deref(), f))
            .chain(denials.iter().map(denial_reason))
            .collect(),
        Err(Failure::DenyChain { chain, .. }) => chain_reasons(chain),
        Err(Failure::Error { check, message }) => vec![json!({"check": check, "message": message})],
    };
    let checks = Checks::from_args(args).ok().filter(Checks::requested);
    let gate_reasons = reasons.clone();
    match args.output {
        OutputFormat::Json => {
            let mut report = json!({
                "decision": decision,
                "reasons": reasons,
                "artifact": {"name": artifact_label, "sha256": digest_hex},
            });
            if let Some(c) = &checks {
                report["checks"] = c.to_json();
            }
            if let Ok(p) = &result {
                report["verified"] = json!(p.kind);
                report["tlogEntries"] = json!(p.tlog_entries);
                report["logged"] = p
                    .logged
                    .iter()
                    .map(|e| {
                        json!({
                            "logUrl": e.log_url,
                            "logIndex": e.log_index,
                            "integratedTime": e.integrated_time.map(|t| t.to_string()),
                        })
                    })
                    .collect();
                report["signingTimes"] = json!(p.signing_times);
                if let Some((san, issuer)) = &p.signer {
                    report["certificateIdentity"] = json!(san);
                    report["certificateOidcIssuer"] = json!(issuer);
                }
                if let Some(s) = &p.statement {
                    report["predicateType"] = json!(s.statement.predicate_type);
                    report["statementType"] = json!(s.statement.type_);
                    report["subjects"] = serde_json::to_value(&s.statement.subject)?;
                    report["keyId"] = json!(s.key_id);
                }
            }
            let checked = match &result {
                Ok(p) => Some(&p.attestations),
                Err(
                    Failure::DenyImage { attestations, .. }
                    | Failure::DenyChecks { attestations, .. }
                    | Failure::DenyChain { attestations, .. },
                ) => Some(attestations),
                _ => None,
            };
            if let Some(list) = checked.filter(|_| image_mode(args)) {
                report["attestations"] = list.iter().map(Checked::to_json).collect();
                if let Ok(Passed {
                    location: Some(l), ..
                }) = &result
                {
                    report["location"] = json!(l);
                }
            }
            match &result {
                Ok(Passed { chain: Some(c), .. }) | Err(Failure::DenyChain { chain: c, .. }) => {
                    report["chain"] = serde_json::to_value(c)?;
                }
                _ => {}
            }
            match &result {
                Ok(Passed {
                    latest: Some(l), ..
                })
                | Err(Failure::DenyChecks {
                    latest: Some(l), ..
                }) => report["latest"] = latest_json(l),
                _ => {}
            }
            outln!("{}", serde_json::to_string_pretty(&report)?);
        }
        OutputFormat::Text => match &result {
            Ok(p) => {
                let what = p.statement.as_ref().map_or_else(
                    || "signature".to_owned(),
                    |s| format!("attestation {}", s.statement.predicate_type),
                );
                let at = p
                    .location
                    .as_ref()
                    .map_or_else(String::new, |l| format!(" ({l})"));
                outln!("pass: {artifact_label}: {} {what} verified{at}", p.kind);
                if let Some(c) = &checks {
                    for check in c.to_json().as_array().into_iter().flatten() {
                        outln!(
                            "  check {} passed: {}",
                            check["check"].as_str().unwrap_or_default(),
                            check["expected"].as_str().unwrap_or_default()
                        );
                    }
                }
                for line in p.describe() {
                    outln!("  {line}");
                }
                for line in p.latest.iter().flat_map(|l| latest_lines(l)) {
                    outln!("  {line}");
                }
                if p.attestations.len() > 1 {
                    outln!("  {} attestations found:", p.attestations.len());
                    for a in &p.attestations {
                        outln!("    {}", a.line());
                    }
                }
                if let Some(c) = &p.chain {
                    outln!("  chain:");
                    for line in c.tree_lines() {
                        outln!("    {line}");
                    }
                }
            }
            Err(Failure::DenyChain { chain, .. }) => {
                outln!(
                    "deny: {artifact_label}: {} node(s) of the chain failed",
                    chain.denials.len()
                );
                for r in chain_reasons(chain) {
                    outln!("  chain: {}", r["message"].as_str().unwrap_or_default());
                }
                outln!("  chain:");
                for line in chain.tree_lines() {
                    outln!("    {line}");
                }
            }
            Err(Failure::Deny(e)) => outln!("deny: {artifact_label}: {}", super::error_chain(e)),
            Err(Failure::DenyImage {
                message,
                attestations,
            }) => {
                outln!("deny: {artifact_label}: {message}");
                for a in attestations {
                    outln!("  {}", a.line());
                }
            }
            Err(Failure::DenyChecks {
                failures,
                attestations,
                denials,
                latest,
                ..
            }) => {
                let what = match (failures.len(), denials.len()) {
                    (n, 0) => format!("{n} check(s) failed"),
                    (0, m) => format!("{m} policy denial(s)"),
                    (n, m) => format!("{n} check(s) failed, {m} policy denial(s)"),
                };
                outln!("deny: {artifact_label}: {what}");
                for (l, f) in failures {
                    match l {
                        Some(l) => outln!("  {f} ({l})"),
                        None => outln!("  {f}"),
                    }
                }
                for d in denials {
                    outln!("  policy {}: {}", d.policy, d.message);
                }
                for line in latest.iter().flat_map(|l| latest_lines(l)) {
                    outln!("  {line}");
                }
                if attestations.len() > 1 {
                    for a in attestations {
                        outln!("  {}", a.line());
                    }
                }
            }
            Err(Failure::Error { message, .. }) => eprintln!("hallmark: error: {message}"),
        },
    }
    write_gate_outputs(
        args,
        &result,
        decision,
        &gate_reasons,
        checks.as_ref(),
        digest_hex.as_deref(),
    )?;
    Ok(outcome)
}

/// A `--policy` denial in the report: `{"check": "policy", "message", "policy",
/// "package", "details"?}`.
fn denial_reason(d: &rego::Denial) -> serde_json::Value {
    let mut r =
        json!({"check": "policy", "message": d.message, "policy": d.policy, "package": d.package});
    if let Some(details) = &d.details {
        r["details"] = details.clone();
    }
    r
}

/// `--sarif` and `--vsa-out`: the decision as a SARIF log and as a signed VSA (pass or
/// deny only: an error decides nothing).
fn write_gate_outputs(
    args: &VerifyArgs,
    result: &Result<Passed, Failure>,
    decision: &str,
    reasons: &[serde_json::Value],
    checks: Option<&Checks>,
    digest_hex: Option<&str>,
) -> anyhow::Result<()> {
    let requested = checks.map(Checks::to_json);
    if let Some(path) = &args.sarif {
        let log = crate::verify::sarif::render(
            decision,
            reasons,
            requested
                .as_ref()
                .and_then(|c| c.as_array())
                .map_or(&[], Vec::as_slice),
            &args.artifact,
            env!("CARGO_PKG_VERSION"),
        );
        std::fs::write(path, serde_json::to_vec_pretty(&log)?)
            .with_context(|| format!("writing SARIF to {}", path.display()))?;
    }
    let (Some(out), Some(key)) = (&args.vsa_out, &args.vsa_key) else {
        return Ok(());
    };
    let Some(digest) = digest_hex.filter(|_| decision != "error") else {
        tracing::warn!("no verification summary written: the decision is {decision}");
        return Ok(());
    };
    use crate::verify::vsa;
    let (mut inputs, provenance) = match result {
        Ok(p) => (
            p.inputs.clone(),
            p.statement.as_ref().is_some_and(|s| {
                [policy::SLSA_V02, policy::SLSA_V1].contains(&s.statement.predicate_type.as_str())
            }),
        ),
        Err(Failure::DenyChecks { inputs, .. }) => (inputs.clone(), false),
        Err(_) => (Vec::new(), false),
    };
    if let Some(file) = args.envelope.as_ref().or(args.bundle.as_ref()) {
        for i in inputs.iter_mut().filter(|i| i.uri.is_none()) {
            i.uri = Some(file.display().to_string());
        }
    }
    let options = json!({
        "checks": requested,
        "predicateType": args.predicate_type,
        "key": args.key.as_ref().map(|k| k.display().to_string()),
        "certificateIdentity": args.certificate_identity.as_ref().or(args.certificate_identity_regexp.as_ref()),
        "certificateOidcIssuer": args.certificate_oidc_issuer.as_ref().or(args.certificate_oidc_issuer_regexp.as_ref()),
        "transparencyLog": !args.insecure_ignore_tlog,
    });
    let rego_digests = checks
        .and_then(|c| c.rego.as_ref())
        .map(|r| r.digests().to_vec())
        .unwrap_or_default();
    let passed = decision == "pass";
    let summary = vsa::Summary {
        verifier_id: args.vsa_verifier_id.clone(),
        time_verified: jiff::Timestamp::now(),
        resource_uri: args.artifact.clone(),
        subject_name: args.artifact.clone(),
        subject_sha256: digest.to_owned(),
        policy: vsa::policy_descriptor(&args.vsa_verifier_id, &rego_digests, &options),
        input_attestations: inputs,
        passed,
        verified_levels: vsa::verified_levels(passed, provenance, args.builder_id.is_some()),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let request = crate::signing::build::SignerRequest {
        key: Some(key.clone()),
        ..Default::default()
    };
    let envelope = runtime.block_on(async {
        let built = crate::signing::build::build(
            &request,
            &crate::config::Config::default(),
            None,
            crate::config::SignerKind::X509,
            false,
        )
        .await
        .map_err(|e| anyhow::anyhow!("the --vsa-key signer: {}", super::error_chain(&e)))?;
        vsa::sign(built.signer.as_ref(), &vsa::statement(&summary))
            .await
            .map_err(|e| anyhow::anyhow!(super::error_chain(&e)))
    })?;
    std::fs::write(out, envelope.to_json())
        .with_context(|| format!("writing the verification summary to {}", out.display()))
}

/// [`decide`], again every [`WAIT_INTERVAL`] while an image has no attestation at all,
/// until `--wait` has passed.
fn decide_waiting(args: &VerifyArgs, digest_hex: &mut Option<String>) -> Result<Passed, Failure> {
    let wait = match args.wait.as_deref().map(policy::parse_duration).transpose() {
        Ok(w) => w,
        Err(e) => {
            return Err(Failure::Error {
                check: "usage",
                message: format!("--wait: {e}"),
            });
        }
    };
    let deadline = wait.map(|w| std::time::Instant::now() + w);
    loop {
        let result = decide(args, digest_hex);
        let none_found = matches!(&result, Err(Failure::DenyImage { attestations, .. }) if attestations.is_empty());
        match deadline {
            Some(d) if none_found && std::time::Instant::now() + WAIT_INTERVAL <= d => {
                tracing::info!(artifact = %args.artifact, "no attestation yet; looking again");
                std::thread::sleep(WAIT_INTERVAL);
            }
            _ => return result,
        }
    }
}

/// How often `--wait` looks for the image's attestations again.
const WAIT_INTERVAL: std::time::Duration = std::time::Duration::from_secs(2);

fn decide(args: &VerifyArgs, digest_hex: &mut Option<String>) -> Result<Passed, Failure> {
    let predicate_type = args
        .predicate_type
        .as_deref()
        .map(PredicateType::parse)
        .transpose()?;
    let source = match (&args.envelope, &args.bundle) {
        (Some(e), None) => Source::Envelope(e),
        (None, Some(b)) => Source::Bundle(b),
        (None, None) if image_mode(args) => Source::Image,
        _ => {
            return Err(Failure::Error {
                check: "usage",
                message: "pass --envelope FILE or --bundle FILE with a file or sha256:<hex>, \
                          or an image REGISTRY/REPOSITORY@sha256:<hex> alone"
                    .to_owned(),
            });
        }
    };
    let key = match &args.key {
        Some(k) if k.to_string_lossy().contains("://") => {
            return Err(Failure::Error {
                check: "usage",
                message: format!(
                    "key reference {} is not supported yet: pass a PEM public key file",
                    k.display()
                ),
            });
        }
        Some(k) => Some(
            VerificationKey::from_file(k)
                .with_context(|| format!("reading public key {}", k.display()))
                .map_err(|e| input_error(&e))?,
        ),
        None => None,
    };
    let identity = identity_matcher(args)?;
    let mut checks = Checks::from_args(args)?;
    if matches!(source, Source::Image) {
        let usage = |e: OciError| Failure::Error {
            check: "usage",
            message: e.to_string(),
        };
        // `oci-layout:PATH@sha256:<hex>`: an image in an OCI image layout directory.
        let (image, layout) = match image_layout::parse_reference(&args.artifact).map_err(usage)? {
            Some((path, digest)) => {
                let layout = ImageLayout::open(&path).map_err(|e| Failure::Error {
                    check: "input",
                    message: super::error_chain(&e),
                })?;
                (layout.image_ref(digest), Some(layout))
            }
            None => (ImageRef::parse(&args.artifact).map_err(usage)?, None),
        };
        *digest_hex = Some(image.digest.hex().to_owned());
        checks.artifact_sha256.clone_from(digest_hex);
        if key.is_none() && identity.is_none() {
            return Err(Failure::Error {
                check: "usage",
                message: "pass --key KEY, or --certificate-identity[-regexp] with \
                          --certificate-oidc-issuer[-regexp]"
                    .into(),
            });
        }
        let policy = Policy::new(key, identity, false)?.with_predicate_type(predicate_type);
        if args.chain {
            let mut chain = walk_chain(args, &image, layout.as_ref(), &policy)?;
            if let Some(path) = &args.layout {
                let read = |p: &PathBuf| {
                    std::fs::read(p)
                        .with_context(|| format!("reading {}", p.display()))
                        .map_err(|e| input_error(&e))
                };
                let owners = args
                    .layout_key
                    .iter()
                    .map(|p| {
                        crate::signing::PublicKey::from_pem(&read(p)?)
                            .with_context(|| format!("--layout-key {}", p.display()))
                            .map_err(|e| input_error(&e))
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                // The `--key` again (the policy took it): key-signed evidence is its.
                let given = match &args.key {
                    Some(p) => Some(
                        crate::signing::PublicKey::from_pem(&read(p)?)
                            .with_context(|| format!("--key {}", p.display()))
                            .map_err(|e| input_error(&e))?,
                    ),
                    None => None,
                };
                chain.denials.extend(crate::layout::check::chain_denials(
                    &read(path)?,
                    &owners,
                    given.as_ref(),
                    &chain,
                    jiff::Timestamp::now(),
                ));
            }
            checks.chain = serde_json::to_value(&chain).ok();
            let result = decide_image(args, &image, layout.as_ref(), &policy, &checks)
                .and_then(|p| require_latest(args, &image, layout.is_some(), p));
            return chain_decision(result, chain);
        }
        return decide_image(args, &image, layout.as_ref(), &policy, &checks)
            .and_then(|p| require_latest(args, &image, layout.is_some(), p));
    }
    let bytes;
    let artifact = if args.artifact.starts_with("sha256:") {
        ArtifactRef::parse_digest(&args.artifact)?
    } else {
        bytes = std::fs::read(&args.artifact)
            .with_context(|| format!("reading artifact {}", args.artifact))
            .map_err(|e| input_error(&e))?;
        ArtifactRef::Bytes(&bytes)
    };
    *digest_hex = Some(hex::encode(artifact.sha256()));
    checks.artifact_sha256.clone_from(digest_hex);
    match source {
        Source::Envelope(path) => {
            let raw = std::fs::read(path)
                .with_context(|| format!("reading envelope {}", path.display()))
                .map_err(|e| input_error(&e))?;
            let env = Envelope::from_json(&raw)
                .with_context(|| format!("parsing envelope {}", path.display()))
                .map_err(|e| input_error(&e))?;
            let Some(key) = key else {
                return Err(Failure::Error {
                    check: "usage",
                    message: "--envelope needs --key (an envelope carries no certificate)".into(),
                });
            };
            if !args.insecure_ignore_tlog {
                return Err(VerifyError::TlogNotImplemented.into());
            }
            let mut policy = EnvelopePolicy::new(&artifact);
            if let Some(p) = predicate_type {
                policy = policy.with_predicate_type(p);
            }
            let statement = verify::verify_envelope(&env, &key, &policy)?;
            let p = Passed {
                kind: "envelope",
                statement: Some(statement),
                signer: None,
                tlog_entries: 0,
                logged: Vec::new(),
                signing_times: Vec::new(),
                location: None,
                attestations: Vec::new(),
                chain: None,
                inputs: Vec::new(),
                accepted: Vec::new(),
                latest: None,
            };
            apply_checks(&checks, vec![p], Vec::new())
        }
        Source::Bundle(path) => {
            let raw = std::fs::read(path)
                .with_context(|| format!("reading bundle {}", path.display()))
                .map_err(|e| input_error(&e))?;
            let bundle = Bundle::from_json(&raw)
                .with_context(|| format!("parsing bundle {}", path.display()))
                .map_err(|e| input_error(&e))?;
            let verifier = make_verifier(args)?;
            let policy = Policy::new(key, identity, false)?.with_predicate_type(predicate_type);
            let v = verifier.verify(&bundle, artifact, &policy)?;
            apply_checks(&checks, vec![passed(v, None)], Vec::new())
        }
        Source::Image => unreachable_image(),
    }
}

/// The image branch returns before the artifact is read.
fn unreachable_image() -> Result<Passed, Failure> {
    Err(Failure::Error {
        check: "usage",
        message: "internal: image source reached the file path".into(),
    })
}

fn passed(v: crate::verify::Verification, location: Option<String>) -> Passed {
    let signer = v.san.is_some().then(|| (v.san.clone(), v.issuer.clone()));
    let (kind, statement) = match v.content {
        BundleVerification::Attestation(s) => ("bundle/dsse", Some(s)),
        _ => ("bundle/message-signature", None),
    };
    Passed {
        kind,
        statement,
        signer,
        tlog_entries: v.tlog_entries,
        logged: v.logged,
        signing_times: v.signing_times.iter().map(ToString::to_string).collect(),
        location,
        attestations: Vec::new(),
        chain: None,
        inputs: Vec::new(),
        accepted: Vec::new(),
        latest: None,
    }
}

fn make_verifier(args: &VerifyArgs) -> Result<Verifier, Failure> {
    make_verifier_and_logs(args).map(|(v, _)| v)
}

/// The verifier, and the base URLs of the trusted root's transparency logs.
fn make_verifier_and_logs(args: &VerifyArgs) -> Result<(Verifier, Vec<String>), Failure> {
    let trust = trusted_root(args)?;
    let mut logs: Vec<String> = Vec::new();
    for t in &trust.tlogs {
        if !t.base_url.is_empty() && !logs.contains(&t.base_url) {
            logs.push(t.base_url.clone());
        }
    }
    let verifier = Verifier::new(
        trust,
        VerifierOptions {
            insecure_ignore_tlog: args.insecure_ignore_tlog,
            insecure_ignore_sct: args.insecure_ignore_sct,
            ..VerifierOptions::default()
        },
    )?;
    Ok((verifier, logs))
}

/// The trusted root: `--trusted-root`, from `--tuf-url`, or the embedded public-good root.
fn trusted_root(args: &VerifyArgs) -> Result<TrustedRoot, Failure> {
    match (&args.trusted_root, &args.tuf_url, &args.tuf_root) {
        (Some(p), _, _) => TrustedRoot::from_file(p)
            .with_context(|| format!("reading trusted root {}", p.display())),
        (None, Some(url), Some(root)) => {
            tuf_trusted_root(url, root, args.registry.registry_timeout)?
        }
        _ => TrustedRoot::public_good().context("embedded trusted root"),
    }
    .map_err(|e| input_error(&e))
}

/// `--require-latest-of`: deny `p` (the image's verification) when a newer build of the
/// pipeline in the image's repository exists (docs/verify.md, "Rollback").
fn require_latest(
    args: &VerifyArgs,
    image: &ImageRef,
    in_layout: bool,
    mut p: Passed,
) -> Result<Passed, Failure> {
    let Some(pipeline) = &args.require_latest_of else {
        return Ok(p);
    };
    let error = |message: String| Failure::Error {
        check: latest::CHECK,
        message,
    };
    if in_layout {
        return Err(error(
            "--require-latest-of needs an image in a registry (its repository's tags and the \
             log are searched), not an OCI layout"
                .into(),
        ));
    }
    let query = match (&args.key, &p.signer) {
        (Some(k), _) => Query::PublicKey(
            std::fs::read(k)
                .with_context(|| format!("reading public key {}", k.display()))
                .map_err(|e| input_error(&e))?,
        ),
        (None, Some((Some(san), _))) if san.contains('@') && !san.contains("://") => {
            Query::Email(san.clone())
        }
        (None, Some((Some(san), _))) => {
            return Err(error(
                latest::LatestError::Unsearchable(san.clone()).to_string(),
            ));
        }
        _ => return Err(error(latest::LatestError::NoSigner.to_string())),
    };
    let trust = trusted_root(args)?;
    let log_url = match &args.rekor_url {
        Some(u) => u.clone(),
        None => trust
            .tlogs
            .iter()
            .map(|t| t.base_url.clone())
            .find(|u| !u.is_empty())
            .ok_or_else(|| {
                error("the trusted root names no transparency log: pass --rekor-url".into())
            })?,
    };
    let timeout = std::time::Duration::from_secs(args.registry.registry_timeout.max(1));
    let rekor = RekorClient::new(&log_url, timeout).map_err(|e| Failure::Error {
        check: "usage",
        message: super::error_chain(&e),
    })?;
    let fetcher = args.registry.client().map_err(|e| Failure::Error {
        check: "registry",
        message: super::error_chain(&e),
    })?;
    let runtime = runtime()?;
    let presented = latest::Presented {
        image,
        payloads: p.accepted.clone(),
        integrated: p
            .logged
            .iter()
            .filter_map(|e| e.integrated_time.map(|t| t.as_second()))
            .max(),
    };
    let (verdict, report) = runtime
        .block_on(latest::check(
            &rekor, &log_url, &fetcher, &trust, &query, &presented, pipeline,
        ))
        .map_err(|e| error(super::error_chain(&e)))?;
    match verdict.reason(pipeline) {
        None => {
            p.latest = Some(Box::new(report));
            Ok(p)
        }
        Some((expected, found)) => Err(Failure::DenyChecks {
            failures: vec![(
                None,
                CheckFailure {
                    check: latest::CHECK,
                    expected,
                    found,
                },
            )],
            attestations: std::mem::take(&mut p.attestations),
            denials: Vec::new(),
            inputs: std::mem::take(&mut p.inputs),
            latest: Some(Box::new(report)),
        }),
    }
}

/// `latest` in the JSON report: what `--require-latest-of` found.
fn latest_json(report: &latest::Report) -> serde_json::Value {
    serde_json::to_value(report).unwrap_or_default()
}

/// The text lines about what `--require-latest-of` found.
fn latest_lines(r: &latest::Report) -> Vec<String> {
    let mut lines = vec![format!(
        "latest of pipeline {}: {} attestation entries of {} in {} searched{}",
        r.pipeline,
        r.entries,
        r.searched_by,
        r.log_url,
        r.newest.as_ref().map_or_else(String::new, |n| format!(
            "; newest build {} ({})",
            n.image, n.time
        ))
    )];
    if r.unread.count > 0 {
        lines.push(format!(
            "note: {} newer entr{} of the signer could not be read (statement neither in the \
             log nor in {}), not counted: {}",
            r.unread.count,
            if r.unread.count == 1 { "y" } else { "ies" },
            r.repository,
            r.unread.uuids.join(", ")
        ));
    }
    if r.search_truncated {
        lines.push(format!(
            "note: the log's answer was cut at {} entries; newer builds may be missing",
            crate::rekor::MAX_SEARCH_RESULTS
        ));
    }
    lines
}

/// The trusted root from a TUF repository (`--tuf-url`, `--tuf-root`).
fn tuf_trusted_root(
    url: &str,
    root: &Path,
    timeout_secs: u64,
) -> Result<anyhow::Result<TrustedRoot>, Failure> {
    let initial = std::fs::read(root)
        .with_context(|| format!("reading the TUF root {}", root.display()))
        .map_err(|e| input_error(&e))?;
    let datastore = tuf_datastore(url);
    let runtime = runtime()?;
    let bytes = runtime
        .block_on(crate::trust::tuf::fetch_trusted_root(
            url,
            &initial,
            &datastore,
            std::time::Duration::from_secs(timeout_secs.max(1)),
        ))
        .map_err(|e| Failure::Error {
            check: "trusted-root",
            message: super::error_chain(&e),
        })?;
    Ok(TrustedRoot::from_json(&bytes)
        .with_context(|| format!("the trusted root from TUF repository {url}")))
}

/// Where TUF metadata of `url` is kept between runs.
fn tuf_datastore(url: &str) -> PathBuf {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    let key = hex::encode(&ArtifactRef::Bytes(url.as_bytes()).sha256()[..8]);
    base.join("hallmark/tuf").join(key)
}

/// Look an attestation's entries up in Rekor v1 by payload hash (logs without the search
/// API, such as Rekor v2, answer 404 and are skipped).
async fn lookup_entries(
    logs: &[RekorClient],
    payload_sha256: &str,
) -> Result<Vec<crate::bundle::TransparencyLogEntry>, RekorError> {
    let mut out = Vec::new();
    for log in logs {
        let uuids = match log.search_sha256(payload_sha256).await {
            Ok(u) => u,
            Err(RekorError::Status { status: 404, .. }) => continue,
            Err(e) => return Err(e),
        };
        for uuid in uuids {
            if let Some(e) = log.entry(&uuid).await? {
                out.push(e);
            }
        }
    }
    Ok(out)
}

/// Read the image's attestations from its registry and verify each: the image passes when
/// at least one does.
fn decide_image(
    args: &VerifyArgs,
    image: &ImageRef,
    layout: Option<&ImageLayout>,
    policy: &Policy,
    checks: &Checks,
) -> Result<Passed, Failure> {
    let (verifier, trusted_logs) = make_verifier_and_logs(args)?;
    let timeout = std::time::Duration::from_secs(args.registry.registry_timeout.max(1));
    let rekor_urls = match (&args.rekor_url, args.offline || args.insecure_ignore_tlog) {
        (_, true) => Vec::new(),
        (Some(u), false) => vec![u.clone()],
        (None, false) => trusted_logs,
    };
    let rekors = rekor_urls
        .iter()
        .map(|u| RekorClient::new(u, timeout))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| Failure::Error {
            check: "usage",
            message: super::error_chain(&e),
        })?;
    let registry_error = |e: &OciError| Failure::Error {
        check: "registry",
        message: super::error_chain(e),
    };
    let runtime = runtime()?;
    let discovery = match layout {
        Some(layout) => runtime.block_on(find_attestations(layout, image)),
        None => {
            let client = args.registry.client().map_err(|e| registry_error(&e))?;
            runtime.block_on(find_attestations(&client, image))
        }
    }
    .map_err(|e| registry_error(&e))?;
    let artifact = ArtifactRef::Sha256(image.digest.bytes());
    let mut checked = Vec::new();
    let mut passes: Vec<Passed> = Vec::new();
    let mut errors_only = true;
    let mut lookup_failed = false;
    for found in discovery.found {
        let location = found.location.to_string();
        let mut result = verifier.verify(&found.bundle, artifact, policy);
        let unlogged = found
            .bundle
            .verification_material
            .as_ref()
            .is_some_and(|m| m.tlog_entries.is_empty());
        if let (Err(_), true, Some(envelope)) = (
            &result,
            unlogged && !rekors.is_empty(),
            &found.bundle.dsse_envelope,
        ) {
            let hash = hex::encode(ArtifactRef::Bytes(&envelope.payload).sha256());
            match runtime.block_on(lookup_entries(&rekors, &hash)) {
                Ok(entries) => {
                    for entry in entries {
                        let mut bundle = found.bundle.clone();
                        if let Some(m) = bundle.verification_material.as_mut() {
                            m.tlog_entries = vec![entry];
                        }
                        // The entry's verdict replaces "no log entry": the last one is
                        // kept when none passes.
                        result = verifier.verify(&bundle, artifact, policy);
                        if result.is_ok() {
                            break;
                        }
                    }
                }
                Err(e) => {
                    errors_only = false;
                    checked.push(Checked {
                        location,
                        decision: "error",
                        check: Some("transparency-log"),
                        message: Some(format!(
                            "looking the attestation up: {}",
                            super::error_chain(&e)
                        )),
                        predicate_type: None,
                    });
                    lookup_failed = true;
                    continue;
                }
            }
        }
        match result {
            Ok(v) => {
                let predicate_type = match &v.content {
                    BundleVerification::Attestation(s) => Some(s.statement.predicate_type.clone()),
                    _ => None,
                };
                checked.push(Checked {
                    location: location.clone(),
                    decision: "pass",
                    check: None,
                    message: None,
                    predicate_type,
                });
                passes.push(passed(v, Some(location)));
            }
            Err(e) => {
                errors_only &= !e.is_denial();
                checked.push(Checked {
                    location,
                    decision: if e.is_denial() { "deny" } else { "error" },
                    check: Some(e.check()),
                    message: Some(super::error_chain(&e)),
                    predicate_type: None,
                });
            }
        }
    }
    for (location, reason) in discovery.skipped {
        errors_only = false;
        checked.push(Checked {
            location: location.to_string(),
            decision: "skipped",
            check: Some("attestation"),
            message: Some(reason),
            predicate_type: None,
        });
    }
    if !passes.is_empty() {
        return apply_checks(checks, passes, checked);
    }
    if lookup_failed {
        // An attestation could not be checked against the log: undecided, not denied.
        return Err(Failure::Error {
            check: "transparency-log",
            message: checked
                .iter()
                .filter(|c| c.decision == "error")
                .filter_map(|c| c.message.clone())
                .collect::<Vec<_>>()
                .join("; "),
        });
    }
    if checked.is_empty() {
        return Err(Failure::DenyImage {
            message: format!(
                "no attestations found (looked for referrers{} and the legacy {} tag)",
                if discovery.referrers_api {
                    ""
                } else {
                    " under the fallback tag"
                },
                crate::oci::manifest::attestation_tag(&image.digest)
            ),
            attestations: checked,
        });
    }
    if errors_only {
        let message = checked
            .iter()
            .filter_map(|c| c.message.clone())
            .collect::<Vec<_>>()
            .join("; ");
        return Err(Failure::Error {
            check: checked
                .first()
                .and_then(|c| c.check)
                .unwrap_or("unsupported"),
            message,
        });
    }
    Err(Failure::DenyImage {
        message: format!("none of the {} attestations found verifies", checked.len()),
        attestations: checked,
    })
}

/// The keyless identity policy from the `--certificate-*` flags: both a SAN and an
/// issuer matcher, or neither.
fn identity_matcher(args: &VerifyArgs) -> Result<Option<IdentityMatcher>, Failure> {
    let regex = |p: &str| {
        StringMatcher::regex_unanchored(p).map_err(|e| Failure::Error {
            check: "usage",
            message: format!(
                "invalid regular expression `{p}`: {}",
                super::error_chain(&e)
            ),
        })
    };
    let san = match (
        &args.certificate_identity,
        &args.certificate_identity_regexp,
    ) {
        (Some(s), _) => Some(StringMatcher::exact(s.clone())),
        (None, Some(r)) => Some(regex(r)?),
        (None, None) => None,
    };
    let issuer = match (
        &args.certificate_oidc_issuer,
        &args.certificate_oidc_issuer_regexp,
    ) {
        (Some(s), _) => Some(StringMatcher::exact(s.clone())),
        (None, Some(r)) => Some(regex(r)?),
        (None, None) => None,
    };
    match (san, issuer) {
        (Some(san), Some(issuer)) => Ok(Some(IdentityMatcher::new(san, issuer))),
        (None, None) => Ok(None),
        _ => Err(Failure::Error {
            check: "usage",
            message: "--certificate-identity[-regexp] and --certificate-oidc-issuer[-regexp] \
                      go together"
                .into(),
        }),
    }
}

/// A current-thread tokio runtime for the registry, log and cluster calls of one verify.
fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::Error {
            check: "input",
            message: format!("starting the async runtime: {e}"),
        })
}

enum Source<'a> {
    Envelope(&'a Path),
    Bundle(&'a Path),
    Image,
}

/// An artifact argument given alone that is not a file: an image reference.
fn image_mode(args: &VerifyArgs) -> bool {
    args.envelope.is_none()
        && args.bundle.is_none()
        && !args.artifact.starts_with("sha256:")
        && !Path::new(&args.artifact).exists()
}

/// `--chain`: reads an image's attestations (registry or OCI layout) and verifies each,
/// for the walk of [`chain::walk`].
struct ChainSource<'a, F> {
    fetcher: &'a F,
    verifier: &'a Verifier,
    rekors: &'a [RekorClient],
    policy: &'a Policy,
    runtime: &'a tokio::runtime::Runtime,
    /// `--kubeconfig`: the cluster, and `--run-namespace`.
    runs: Option<(&'a KubeClient, Option<&'a str>)>,
}

impl<F> ChainSource<'_, F> {
    /// Verify `bundle` (over `artifact`, or bound to nothing with `None`), looking its
    /// envelope up in the logs when it carries no entry (Chains' `.att` layers and
    /// `tekton` storage).
    fn verify_logged(
        &self,
        bundle: &crate::bundle::Bundle,
        artifact: Option<ArtifactRef<'_>>,
        subject: &str,
        location: &str,
    ) -> Result<Result<crate::verify::Verification, VerifyError>, chain::ChainError> {
        let check = |b: &crate::bundle::Bundle| match artifact {
            Some(a) => self.verifier.verify(b, a, self.policy),
            None => self.verifier.verify_unbound(b, self.policy),
        };
        let mut result = check(bundle);
        let unlogged = bundle
            .verification_material
            .as_ref()
            .is_some_and(|m| m.tlog_entries.is_empty());
        if result.is_err()
            && unlogged
            && !self.rekors.is_empty()
            && let Some(envelope) = &bundle.dsse_envelope
        {
            let hash = hex::encode(ArtifactRef::Bytes(&envelope.payload).sha256());
            let entries = self
                .runtime
                .block_on(lookup_entries(self.rekors, &hash))
                .map_err(|e| chain::ChainError::Lookup {
                    image: subject.to_owned(),
                    message: format!(
                        "looking {location} up in the log: {}",
                        super::error_chain(&e)
                    ),
                    transient: e.is_transient(),
                })?;
            for entry in entries {
                let mut b = bundle.clone();
                if let Some(m) = b.verification_material.as_mut() {
                    m.tlog_entries = vec![entry];
                }
                result = check(&b);
                if result.is_ok() {
                    break;
                }
            }
        }
        Ok(result)
    }
}

/// A verified attestation as the chain records it.
fn chain_attestation(
    v: crate::verify::Verification,
    location: String,
) -> Option<chain::VerifiedAttestation> {
    let p = passed(v, Some(location.clone()));
    let s = p.statement.as_ref()?;
    Some(chain::VerifiedAttestation {
        location,
        signer: signer_name(&p),
        log_entries: p
            .logged
            .iter()
            .map(|e| chain::LogEntryRef {
                log_url: e.log_url.clone(),
                log_index: e.log_index,
            })
            .collect(),
        statement: serde_json::to_value(&s.statement).unwrap_or_default(),
    })
}

impl<F: crate::oci::Fetcher> chain::AttestationSource for ChainSource<'_, F> {
    fn lookup(&self, image: &ImageRef) -> Result<chain::Lookup, chain::ChainError> {
        let failed = |message: String, transient: bool| chain::ChainError::Lookup {
            image: image.to_string(),
            message,
            transient,
        };
        let discovery = self
            .runtime
            .block_on(find_attestations(self.fetcher, image))
            .map_err(|e| failed(super::error_chain(&e), e.is_transient()))?;
        let artifact = ArtifactRef::Sha256(image.digest.bytes());
        let (mut verified, mut denials, mut errors) = (Vec::new(), Vec::new(), Vec::new());
        for found in discovery.found {
            let location = found.location.to_string();
            let result =
                self.verify_logged(&found.bundle, Some(artifact), &image.to_string(), &location)?;
            match result {
                Ok(v) => verified.extend(chain_attestation(v, location)),
                Err(e) if e.is_denial() => {
                    denials.push(format!("{location}: {}", super::error_chain(&e)));
                }
                Err(e) => errors.push(format!("{location}: {}", super::error_chain(&e))),
            }
        }
        if !verified.is_empty() {
            return Ok(chain::Lookup::Verified(verified));
        }
        if denials.is_empty() && !errors.is_empty() {
            return Err(failed(errors.join("; "), false));
        }
        denials.extend(
            discovery
                .skipped
                .iter()
                .map(|(l, why)| format!("{l}: unreadable: {why}")),
        );
        Ok(chain::Lookup::Denied(if denials.is_empty() {
            "no attestations found".to_owned()
        } else {
            format!("no attestation verifies: {}", denials.join("; "))
        }))
    }

    fn children(
        &self,
        run: &chain::PipelineRunRef,
    ) -> Result<Vec<chain::VerifiedAttestation>, chain::ChainError> {
        let Some((kube, namespace)) = self.runs else {
            return Ok(Vec::new());
        };
        let owner = match (&run.uid, &run.pipeline) {
            (Some(uid), _) => crate::verify::stored::Owner::Uid(uid),
            (None, Some(p)) => crate::verify::stored::Owner::Pipeline(p),
            (None, None) => return Ok(Vec::new()),
        };
        let what = match owner {
            crate::verify::stored::Owner::Uid(u) => format!("the TaskRuns of PipelineRun {u}"),
            crate::verify::stored::Owner::Pipeline(p) => {
                format!("the TaskRuns of pipeline {p}")
            }
        };
        let list = self
            .runtime
            .block_on(kube.pipeline_task_runs(namespace))
            .map_err(|e| chain::ChainError::Lookup {
                image: what.clone(),
                message: super::error_chain(&e),
                transient: e.is_transient(),
            })?;
        let children = crate::verify::stored::pipeline_children(&list, owner);
        for (r, why) in &children.skipped {
            // Listed by pipeline, most are other runs': only owned ones are worth a warning.
            if run.uid.is_some() {
                tracing::warn!("TaskRun {r} ({what}): {why}");
            }
        }
        let mut out = Vec::new();
        for stored in children.attestations {
            // Candidates first (the statement as claimed), then verified.
            let claimed = Envelope::from_json(&stored.envelope)
                .ok()
                .and_then(|e| serde_json::from_slice::<serde_json::Value>(&e.payload).ok());
            if !claimed.is_some_and(|st| run.binds_statement(&st)) {
                continue;
            }
            let location = format!("TaskRun {} (tekton storage)", stored.run);
            let mut annotations = std::collections::BTreeMap::new();
            if !stored.certificate_pem.is_empty() {
                annotations.insert(
                    crate::oci::manifest::ANNOTATION_CERTIFICATE.to_owned(),
                    stored.certificate_pem.clone(),
                );
                annotations.insert(
                    crate::oci::manifest::ANNOTATION_CHAIN.to_owned(),
                    stored.chain_pem.clone(),
                );
            }
            let layer = crate::oci::manifest::Descriptor {
                media_type: crate::oci::manifest::DSSE_ENVELOPE.to_owned(),
                digest: format!(
                    "sha256:{}",
                    hex::encode(ArtifactRef::Bytes(&stored.envelope).sha256())
                ),
                size: i64::try_from(stored.envelope.len()).unwrap_or(i64::MAX),
                artifact_type: None,
                annotations,
            };
            let bundle = match crate::oci::cosign::legacy_layer_bundle(&layer, &stored.envelope) {
                Ok(b) => b,
                Err(e) => {
                    tracing::warn!("{location}: {}", super::error_chain(&e));
                    continue;
                }
            };
            match self.verify_logged(&bundle, None, &what, &location)? {
                Ok(v) => out.extend(chain_attestation(v, location)),
                Err(e) => tracing::warn!("{location}: {}", super::error_chain(&e)),
            }
        }
        Ok(out)
    }
}

/// Walk `--chain` from `image`, verifying each image's attestations with `policy`.
fn walk_chain(
    args: &VerifyArgs,
    image: &ImageRef,
    layout: Option<&ImageLayout>,
    policy: &Policy,
) -> Result<chain::Chain, Failure> {
    let (verifier, trusted_logs) = make_verifier_and_logs(args)?;
    let timeout = std::time::Duration::from_secs(args.registry.registry_timeout.max(1));
    let rekor_urls = match (&args.rekor_url, args.offline || args.insecure_ignore_tlog) {
        (_, true) => Vec::new(),
        (Some(u), false) => vec![u.clone()],
        (None, false) => trusted_logs,
    };
    let rekors = rekor_urls
        .iter()
        .map(|u| RekorClient::new(u, timeout))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| Failure::Error {
            check: "usage",
            message: super::error_chain(&e),
        })?;
    let runtime = runtime()?;
    let options = chain::Options {
        max_depth: args.chain_depth,
    };
    let kube = args
        .kubeconfig
        .as_deref()
        .map(|p| KubeClient::from_env(Some(Path::new(p)).filter(|_| !p.is_empty())))
        .transpose()
        .map_err(|e| Failure::Error {
            check: "usage",
            message: format!("--kubeconfig: {}", super::error_chain(&e)),
        })?;
    let chain_error = |e: &chain::ChainError| Failure::Error {
        check: "chain",
        message: super::error_chain(e),
    };
    match layout {
        Some(fetcher) => {
            let source = ChainSource {
                fetcher,
                verifier: &verifier,
                rekors: &rekors,
                policy,
                runtime: &runtime,
                runs: kube.as_ref().map(|k| (k, args.run_namespace.as_deref())),
            };
            chain::walk(image, &source, options)
        }
        None => {
            let fetcher = args.registry.client().map_err(|e| Failure::Error {
                check: "registry",
                message: super::error_chain(&e),
            })?;
            let source = ChainSource {
                fetcher: &fetcher,
                verifier: &verifier,
                rekors: &rekors,
                policy,
                runtime: &runtime,
                runs: kube.as_ref().map(|k| (k, args.run_namespace.as_deref())),
            };
            chain::walk(image, &source, options)
        }
    }
    .map_err(|e| chain_error(&e))
}

/// The image's decision with its `--chain`: a denied node denies the image.
fn chain_decision(result: Result<Passed, Failure>, chain: chain::Chain) -> Result<Passed, Failure> {
    match result {
        Ok(p) if !chain.passed() => Err(Failure::DenyChain {
            chain: Box::new(chain),
            attestations: p.attestations,
        }),
        Ok(mut p) => {
            p.chain = Some(Box::new(chain));
            Ok(p)
        }
        Err(e) => Err(e),
    }
}

/// The `chain` check's reasons: one per denied node, naming it.
fn chain_reasons(chain: &chain::Chain) -> Vec<serde_json::Value> {
    chain
        .denials
        .iter()
        .map(|d| {
            let name = chain.node(&d.node).map_or("", |n| n.name.as_str());
            let check = if d.node.starts_with(crate::layout::check::LAYOUT_NODE) {
                "layout"
            } else {
                "chain"
            };
            let message = if name.is_empty() {
                d.reason.clone()
            } else {
                format!("{name}: {}", d.reason)
            };
            json!({"check": check, "message": message, "node": d.node})
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::panic)] // Tests report failures by panicking.
mod tests {
    use super::*;
    use crate::test_support::shared_dir;

    fn args(artifact: &str, bundle: Option<PathBuf>, key: PathBuf) -> VerifyArgs {
        VerifyArgs {
            artifact: artifact.to_owned(),
            envelope: None,
            bundle,
            key: Some(key),
            certificate_identity: None,
            certificate_identity_regexp: None,
            certificate_oidc_issuer: None,
            certificate_oidc_issuer_regexp: None,
            trusted_root: None,
            tuf_url: None,
            tuf_root: None,
            predicate_type: None,
            insecure_ignore_tlog: true,
            insecure_ignore_sct: false,
            registry: super::super::registry::RegistryArgs {
                insecure_registries: Vec::new(),
                registry_cas: Vec::new(),
                registry_timeout: 5,
                registry_secret: None,
            },
            rekor_url: None,
            offline: false,
            output: OutputFormat::Json,
            builder_id: None,
            source_uri: None,
            source_ref: None,
            build_type: None,
            params: Vec::new(),
            max_age: None,
            require_latest_of: None,
            threshold: None,
            policies: Vec::new(),
            sarif: None,
            vsa_out: None,
            vsa_key: None,
            vsa_verifier_id: crate::verify::vsa::DEFAULT_VERIFIER_ID.into(),
            chain: false,
            chain_depth: chain::DEFAULT_DEPTH,
            layout: None,
            layout_key: Vec::new(),
            kubeconfig: None,
            run_namespace: None,
            wait: None,
        }
    }

    fn outcome(a: &VerifyArgs) -> Outcome {
        run(a).unwrap_or_else(|e| panic!("{e:#}"))
    }

    #[test]
    fn outcomes_map_to_exit_codes() {
        let dir = shared_dir().join("sigstore-conformance/bundle-verify");
        let case = dir.join("managed-key-happy-path");
        let art = dir.join("a.txt");
        let art = art.to_str().unwrap_or_default();
        let mut a = args(
            art,
            Some(case.join("bundle.sigstore.json")),
            case.join("key.pub"),
        );
        assert_eq!(outcome(&a), Outcome::Pass);
        let digest = format!(
            "sha256:{}",
            hex::encode(ArtifactRef::Bytes(&std::fs::read(art).unwrap_or_default()).sha256())
        );
        a.artifact = digest;
        assert_eq!(outcome(&a), Outcome::Pass);
        a.output = OutputFormat::Text;
        // The bundle's tlog entry verifies against the embedded public-good root.
        a.insecure_ignore_tlog = false;
        assert_eq!(outcome(&a), Outcome::Pass);
        a.artifact = "sha256:".to_owned() + &"00".repeat(32);
        assert_eq!(outcome(&a), Outcome::Deny);
        a.artifact = "registry.example/app@sha256:".to_owned() + &"00".repeat(32);
        assert_eq!(outcome(&a), Outcome::Error);
        a.artifact = "/nonexistent/file".into();
        assert_eq!(outcome(&a), Outcome::Error);
        a.artifact = art.to_owned();
        a.predicate_type = Some("no such type".into());
        assert_eq!(outcome(&a), Outcome::Error);
        a.predicate_type = None;
        a.key = Some(dir.join("a.txt"));
        assert_eq!(outcome(&a), Outcome::Error);
        a.key = Some("k8s://ns/secret".into());
        assert_eq!(outcome(&a), Outcome::Error);
        a.bundle = None;
        assert_eq!(outcome(&a), Outcome::Error);
    }

    #[test]
    fn require_latest_of_only_for_images_and_online() {
        use clap::Parser as _;
        let parse = |extra: &[&str]| {
            let args: Vec<&str> = [
                "hallmark",
                "verify",
                "r.example/a@sha256:00",
                "--key",
                "k.pub",
                "--require-latest-of",
                "release",
            ]
            .iter()
            .chain(extra)
            .copied()
            .collect();
            crate::cli::Cli::try_parse_from(args)
        };
        assert!(parse(&[]).is_ok());
        assert!(parse(&["--max-age", "7d", "--rekor-url", "https://r"]).is_ok());
        for extra in [
            &["--offline"][..],
            &["--envelope", "e.json"],
            &["--bundle", "b.json"],
        ] {
            assert!(parse(extra).is_err(), "{extra:?}");
        }
    }

    #[test]
    fn keyless_identity_flags() {
        let dir = shared_dir().join("sigstore-conformance/bundle-verify");
        let art = dir.join("a.txt");
        let mut a = args(
            art.to_str().unwrap_or_default(),
            Some(dir.join("happy-path-v0.3/bundle.sigstore.json")),
            PathBuf::new(),
        );
        a.key = None;
        a.insecure_ignore_tlog = false;
        a.certificate_identity = Some(
            "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/\
             .github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main"
                .into(),
        );
        a.certificate_oidc_issuer = Some("https://token.actions.githubusercontent.com".into());
        assert_eq!(outcome(&a), Outcome::Pass);
        a.certificate_oidc_issuer = Some("https://accounts.google.com".into());
        assert_eq!(outcome(&a), Outcome::Deny);
        // Regular expressions are unanchored, as in cosign.
        a.certificate_oidc_issuer = None;
        a.certificate_oidc_issuer_regexp = Some("token\\.actions".into());
        a.certificate_identity = None;
        a.certificate_identity_regexp = Some("extremely-dangerous-public-oidc-beacon".into());
        assert_eq!(outcome(&a), Outcome::Pass);
        a.certificate_identity_regexp = Some("^extremely".into());
        assert_eq!(outcome(&a), Outcome::Deny);
        a.certificate_identity_regexp = Some("(".into());
        assert_eq!(outcome(&a), Outcome::Error);
        // Only half an identity, or neither identity nor key: usage error.
        a.certificate_identity_regexp = None;
        assert_eq!(outcome(&a), Outcome::Error);
        a.certificate_oidc_issuer_regexp = None;
        assert_eq!(outcome(&a), Outcome::Error);
    }
}
