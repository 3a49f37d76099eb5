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
use crate::trust::TrustedRoot;
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
    /// What was signed: a file, or `sha256:<hex>` (its digest). `IMAGE@DIGEST`
    /// (verification from a registry) is not supported yet.
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
    #[arg(long, value_name = "FILE")]
    pub trusted_root: Option<PathBuf>,

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

    /// Report format: `text` (a `pass:`/`deny:` line, then who signed, where it was logged
    /// and when) or `json` (`{"decision":"pass"|"deny"|"error", "reasons":[...], ...}`;
    /// the schema is in docs/verify-report.md).
    #[arg(short = 'o', long = "output", value_enum, default_value_t = OutputFormat::Text, value_name = "FORMAT")]
    pub output: OutputFormat,
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
    let result = decide(args, &mut digest_hex);
    let (outcome, decision) = match &result {
        Ok(_) => (Outcome::Pass, "pass"),
        Err(Failure::Deny(_)) => (Outcome::Deny, "deny"),
        Err(Failure::Error { .. }) => (Outcome::Error, "error"),
    };
    let reasons: Vec<serde_json::Value> = match &result {
        Ok(_) => Vec::new(),
        Err(Failure::Deny(e)) => {
            vec![json!({"check": e.check(), "message": super::error_chain(e)})]
        }
        Err(Failure::Error { check, message }) => vec![json!({"check": check, "message": message})],
    };
    match args.output {
        OutputFormat::Json => {
            let mut report = json!({
                "decision": decision,
                "reasons": reasons,
                "artifact": {"name": artifact_label, "sha256": digest_hex},
            });
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
            println!("{}", serde_json::to_string_pretty(&report)?);
        }
        OutputFormat::Text => match &result {
            Ok(p) => {
                let what = p.statement.as_ref().map_or_else(
                    || "signature".to_owned(),
                    |s| format!("attestation {}", s.statement.predicate_type),
                );
                println!("pass: {artifact_label}: {} {what} verified", p.kind);
                for line in p.describe() {
                    println!("  {line}");
                }
            }
            Err(Failure::Deny(e)) => println!("deny: {artifact_label}: {}", super::error_chain(e)),
            Err(Failure::Error { message, .. }) => eprintln!("hallmark: error: {message}"),
        },
    }
    Ok(outcome)
}

fn decide(args: &VerifyArgs, digest_hex: &mut Option<String>) -> Result<Passed, Failure> {
    let predicate_type = args
        .predicate_type
        .as_deref()
        .map(PredicateType::parse)
        .transpose()?;
    let source = match (&args.envelope, &args.bundle) {
        (Some(e), None) => Source::Envelope(e),
        (None, Some(b)) => Source::Bundle(b),
        _ => {
            return Err(Failure::Error {
                check: "usage",
                message: if looks_like_image(&args.artifact) {
                    format!(
                        "verifying an image from its registry ({}) is not supported yet; \
                         pass --envelope FILE or --bundle FILE with the artifact",
                        args.artifact
                    )
                } else {
                    "pass --envelope FILE or --bundle FILE".to_owned()
                },
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
    let bytes;
    let artifact = if args.artifact.starts_with("sha256:") {
        ArtifactRef::parse_digest(&args.artifact)?
    } else if looks_like_image(&args.artifact) && !Path::new(&args.artifact).exists() {
        return Err(Failure::Error {
            check: "usage",
            message: format!(
                "verifying an image reference ({}) is not supported yet",
                args.artifact
            ),
        });
    } else {
        bytes = std::fs::read(&args.artifact)
            .with_context(|| format!("reading artifact {}", args.artifact))
            .map_err(|e| input_error(&e))?;
        ArtifactRef::Bytes(&bytes)
    };
    *digest_hex = Some(hex::encode(artifact.sha256()));
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
            Ok(Passed {
                kind: "envelope",
                statement: Some(statement),
                signer: None,
                tlog_entries: 0,
                logged: Vec::new(),
                signing_times: Vec::new(),
            })
        }
        Source::Bundle(path) => {
            let raw = std::fs::read(path)
                .with_context(|| format!("reading bundle {}", path.display()))
                .map_err(|e| input_error(&e))?;
            let bundle = Bundle::from_json(&raw)
                .with_context(|| format!("parsing bundle {}", path.display()))
                .map_err(|e| input_error(&e))?;
            let trust = match &args.trusted_root {
                Some(p) => TrustedRoot::from_file(p)
                    .with_context(|| format!("reading trusted root {}", p.display())),
                None => TrustedRoot::public_good().context("embedded trusted root"),
            }
            .map_err(|e| input_error(&e))?;
            let verifier = Verifier::new(
                trust,
                VerifierOptions {
                    insecure_ignore_tlog: args.insecure_ignore_tlog,
                    insecure_ignore_sct: args.insecure_ignore_sct,
                    ..VerifierOptions::default()
                },
            )?;
            let policy = Policy::new(key, identity, false)?.with_predicate_type(predicate_type);
            let v = verifier.verify(&bundle, artifact, &policy)?;
            let signer = v.san.is_some().then(|| (v.san.clone(), v.issuer.clone()));
            let (kind, statement) = match v.content {
                BundleVerification::Attestation(s) => ("bundle/dsse", Some(s)),
                _ => ("bundle/message-signature", None),
            };
            Ok(Passed {
                kind,
                statement,
                signer,
                tlog_entries: v.tlog_entries,
                logged: v.logged,
                signing_times: v.signing_times.iter().map(ToString::to_string).collect(),
            })
        }
    }
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

enum Source<'a> {
    Envelope(&'a Path),
    Bundle(&'a Path),
}

/// `registry/repo@sha256:...` or `repo:tag`-like references (not files, not digests).
fn looks_like_image(s: &str) -> bool {
    s.contains('@')
        && s.split('@')
            .nth(1)
            .is_some_and(|d| d.starts_with("sha256:"))
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
            predicate_type: None,
            insecure_ignore_tlog: true,
            insecure_ignore_sct: false,
            output: OutputFormat::Json,
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
