//! `hallmark attest IMAGE@DIGEST --predicate F --type TYPE --key K`: make an in-toto
//! statement about an image, sign it as DSSE, and publish it beside the image (cosign's
//! legacy `.att`, an OCI 1.1 referrer bundle, or both), as `cosign attest` does.
//!
//! The signer is built by [`crate::signing::build`] from the signer flags and `--config`
//! (Chains' `signers.*` keys), as for `hallmark sign`.
//!
//! Exit 0 when every sink succeeded, 2 otherwise (each sink's result is reported).

use std::path::PathBuf;

use anyhow::{Context as _, bail};
use serde_json::json;

use super::Outcome;
use super::registry::RegistryArgs;
use super::sign::SignerFlags;
use crate::dsse::IN_TOTO_PAYLOAD_TYPE;
use crate::oci::{ImageRef, Repository};
use crate::publish::{Attestation, BundleFormat, Material, OciSink, publish};
use crate::rekor::upload::{DsseEntryKind, SignerMaterial, legacy_bundle_annotation, upload_dsse};
use crate::rekor::v2::RekorV2Client;
use crate::rekor::{self, RekorClient};
use crate::signing;

use crate::trust::TrustedRoot;
use crate::trust::signing_config::SigningConfig;
use crate::verify::PredicateType;

/// Report format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum OutputFormat {
    /// One line per sink and subject.
    #[default]
    Text,
    /// `{"decision":"done"|"error","results":[{"sink","subject","ok","message"}]}`.
    Json,
}

/// Rekor v1 entry types for attestations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum EntryKind {
    /// `dsse` 0.0.1.
    #[default]
    Dsse,
    /// `intoto` 0.0.2.
    Intoto,
}

/// Flags of `hallmark attest`.
#[derive(Debug, clap::Args)]
pub struct AttestArgs {
    /// The image: `REGISTRY/REPOSITORY@sha256:<hex>`.
    #[arg(value_name = "IMAGE@DIGEST")]
    pub image: String,

    /// The predicate: a JSON file (e.g. SLSA provenance).
    #[arg(long, value_name = "FILE")]
    pub predicate: PathBuf,

    /// The predicate type: a cosign short name (`slsaprovenance`, `slsaprovenance1`,
    /// `custom`, ...) or a URI. SLSA v0.2 predicates get an in-toto Statement v0.1, all
    /// others v1.
    #[arg(long = "type", value_name = "TYPE", default_value = "custom")]
    pub predicate_type: String,

    /// The signer: a key reference (file, `hashivault://`, `k8s://`) or keyless through
    /// Fulcio, with its token source and trust material.
    #[command(flatten)]
    pub signer: SignerFlags,

    /// A Chains configuration, as `hallmark sign --config` takes it (a `chains-config`
    /// ConfigMap manifest or a flat YAML/JSON map of its keys). `hallmark attest` reads
    /// its signer keys: `signers.kms.*` (Vault/OpenBao address and auth for a
    /// `hashivault://` key; with `artifacts.taskrun.signer: kms`, `signers.kms.kmsref`
    /// is the key when `--key` is not given) and `signers.x509.*` (Fulcio, its issuer,
    /// the identity token file, the TUF mirror).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Upload to the transparency log (cosign's flag). With `false` the attestation is
    /// verifiable only with `--insecure-ignore-tlog`.
    #[arg(long, value_name = "BOOL", default_value_t = true, action = clap::ArgAction::Set)]
    pub tlog_upload: bool,

    /// Rekor v1 to log in. Default: the signing config's log, else
    /// `https://rekor.sigstore.dev`.
    #[arg(long, value_name = "URL")]
    pub rekor_url: Option<String>,

    /// The Rekor v1 entry type of the attestation: `dsse` (cosign's default) or `intoto`.
    #[arg(long, value_enum, default_value_t = EntryKind::Dsse, value_name = "KIND")]
    pub rekor_entry_type: EntryKind,

    /// Which layouts to write: `legacy` (`sha256-<hex>.att`, cosign v2 and Chains'
    /// `dsse`), `referrers` (OCI 1.1 referrer with a Sigstore bundle, cosign v3 and
    /// Chains' `sigstore-bundle`; the `sha256-<hex>` fallback index on registries without
    /// the referrers API) or `both`.
    #[arg(long, value_enum, default_value_t = BundleFormat::Both, value_name = "FORMAT")]
    pub bundle_format: BundleFormat,

    /// Also write the Sigstore bundle (v0.3) to this file.
    #[arg(long, value_name = "FILE")]
    pub bundle_out: Option<PathBuf>,

    /// Write attestations into this repository (`REGISTRY/REPOSITORY`) instead of the
    /// image's own (Chains' `storage.oci.repository`, cosign's `COSIGN_REPOSITORY`).
    #[arg(long, value_name = "REPOSITORY")]
    pub repository: Option<String>,

    /// How to reach the registry.
    #[command(flatten)]
    pub registry: RegistryArgs,

    /// Report format.
    #[arg(short = 'o', long = "output", value_enum, default_value_t = OutputFormat::Text, value_name = "FORMAT")]
    pub output: OutputFormat,
}

/// The in-toto statement about `image` with `predicate`.
///
/// # Errors
///
/// When the predicate is not a JSON object.
fn statement(image: &ImageRef, predicate_type: &str, predicate: &[u8]) -> anyhow::Result<Vec<u8>> {
    let predicate: serde_json::Value =
        serde_json::from_slice(predicate).context("the predicate is not JSON")?;
    if !predicate.is_object() {
        bail!("the predicate must be a JSON object");
    }
    let type_ = if predicate_type == "https://slsa.dev/provenance/v0.2" {
        "https://in-toto.io/Statement/v0.1"
    } else {
        "https://in-toto.io/Statement/v1"
    };
    let s = json!({
        "_type": type_,
        "subject": [{
            "name": image.repository.to_string(),
            "digest": {"sha256": image.digest.hex()},
        }],
        "predicateType": predicate_type,
        "predicate": predicate,
    });
    Ok(serde_json::to_vec(&s)?)
}

/// A transparency-log entry of the attestation, checked against the trusted root.
struct Logged {
    entry: crate::bundle::TransparencyLogEntry,
    annotation: Option<String>,
    url: String,
    index: i64,
}

/// Log the attestation in Rekor v1 (`--rekor-url`, the signing config's v1 log, or the
/// public-good Rekor) or Rekor v2 (from the signing config), and check the entry.
async fn log_attestation(
    args: &AttestArgs,
    attestation: &Attestation,
    material: &SignerMaterial,
    signed_time: Option<jiff::Timestamp>,
    keyless_trust: Option<&TrustedRoot>,
) -> anyhow::Result<Logged> {
    let trust = match (&args.signer.trusted_root, keyless_trust) {
        (Some(p), _) => TrustedRoot::from_file(p)
            .map_err(|e| anyhow::anyhow!(super::error_chain(&e)))
            .with_context(|| format!("reading trusted root {}", p.display()))?,
        // The keyless signer's root (e.g. from signers.x509.tuf.mirror.url's TUF
        // repository) holds the logs of the same instance.
        (None, Some(t)) => t.clone(),
        (None, None) => TrustedRoot::public_good()?,
    };
    let timeout = args
        .registry
        .timeout()
        .max(std::time::Duration::from_secs(20));
    let (url, version) = match (&args.rekor_url, &args.signer.signing_config) {
        (Some(u), _) => (u.clone(), 1),
        (None, Some(path)) => {
            let bytes =
                std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
            let config = SigningConfig::from_json(&bytes)
                .map_err(|e| anyhow::anyhow!(super::error_chain(&e)))
                .with_context(|| format!("signing config {}", path.display()))?;
            let logs = config
                .rekor_logs(&[1, 2], jiff::Timestamp::now())
                .map_err(|e| anyhow::anyhow!(super::error_chain(&e)))
                .with_context(|| format!("signing config {}", path.display()))?;
            let log = logs
                .into_iter()
                .next()
                .context("the signing config names no Rekor log valid now")?;
            (log.url, log.major_api_version)
        }
        (None, None) => ("https://rekor.sigstore.dev".to_owned(), 1),
    };
    let fail =
        |e: &dyn std::error::Error| anyhow::anyhow!("logging in {url}: {}", super::error_chain(e));
    if version == 2 {
        let client = RekorV2Client::new(&url, timeout).map_err(|e| fail(&e))?;
        let entry = rekor::v2::upload_dsse(
            &client,
            &attestation.envelope,
            material,
            &trust,
            signed_time,
        )
        .await
        .map_err(|e| fail(&e))?;
        let index = entry.log_index;
        return Ok(Logged {
            entry,
            annotation: None,
            url,
            index,
        });
    }
    let client = RekorClient::new(&url, timeout).map_err(|e| fail(&e))?;
    let kind = match args.rekor_entry_type {
        EntryKind::Dsse => DsseEntryKind::Dsse,
        EntryKind::Intoto => DsseEntryKind::Intoto,
    };
    let uploaded = upload_dsse(
        &client,
        &attestation.envelope_json(),
        material,
        kind,
        &trust,
    )
    .await
    .map_err(|e| fail(&e))?;
    let annotation = legacy_bundle_annotation(&uploaded.entry).map_err(|e| fail(&e))?;
    let index = uploaded.entry.log_index;
    Ok(Logged {
        entry: uploaded.entry,
        annotation: Some(annotation),
        url,
        index,
    })
}

fn parse_repository(s: &str) -> anyhow::Result<Repository> {
    // Reuse the image reference grammar with a dummy digest.
    let image = ImageRef::parse(&format!("{s}@sha256:{}", "0".repeat(64)))
        .with_context(|| format!("--repository {s}"))?;
    Ok(image.repository)
}

/// Run `hallmark attest`.
///
/// # Errors
///
/// Unusable flags or inputs (exit 2); sink failures are reported and give exit 2 too.
pub fn run(args: &AttestArgs) -> anyhow::Result<Outcome> {
    let image = ImageRef::parse(&args.image)?;
    let predicate_type = PredicateType::parse(&args.predicate_type)
        .map_err(|e| anyhow::anyhow!("--type: {e}"))?
        .as_uri()
        .to_owned();
    let predicate = std::fs::read(&args.predicate)
        .with_context(|| format!("reading predicate {}", args.predicate.display()))?;
    let payload = statement(&image, &predicate_type, &predicate)?;
    let repository = args
        .repository
        .as_deref()
        .map(parse_repository)
        .transpose()?;
    if args.rekor_url.is_some() && args.signer.signing_config.is_some() {
        bail!("--rekor-url and --signing-config both choose the log: give one");
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let config = super::sign::load_config(args.config.as_deref())?;
    let built = runtime.block_on(args.signer.build(&config, true))?;
    let mut signed = runtime
        .block_on(signing::sign_envelope_async(
            built.signer.as_ref(),
            IN_TOTO_PAYLOAD_TYPE,
            &payload,
        ))
        .map_err(|e| anyhow::anyhow!(super::error_chain(&e)))
        .with_context(|| format!("signing with {}", built.what))?;
    if let Some(tsa) = &built.tsa
        && let Some(sig) = signed.envelope.signatures.first()
    {
        let ts = runtime
            .block_on(tsa.timestamp(&sig.sig))
            .map_err(|e| anyhow::anyhow!(super::error_chain(&e)))
            .context("timestamping the signature")?;
        signed.timestamps.push(ts);
    }
    let (material, log_material) = match &signed.certificate_chain {
        Some(chain) => {
            let leaf = chain
                .first()
                .context("the keyless signer returned no certificate")?;
            (
                Material::Certificates(chain.to_vec()),
                SignerMaterial::certificate(leaf).map_err(|e| anyhow::anyhow!(e.to_string()))?,
            )
        }
        None => (
            Material::Key,
            SignerMaterial::Key(signed.public_key.clone()),
        ),
    };
    let mut attestation = Attestation {
        envelope: signed.envelope,
        predicate_type,
        material,
        tlog_entries: Vec::new(),
        rekor_annotation: None,
        timestamps: signed.timestamps,
    };
    if args.tlog_upload {
        let signed_time = (!attestation.timestamps.is_empty()).then(jiff::Timestamp::now);
        let logged = runtime.block_on(log_attestation(
            args,
            &attestation,
            &log_material,
            signed_time,
            built.keyless.as_ref().map(|k| k.trusted_root()),
        ))?;
        attestation.tlog_entries = vec![logged.entry];
        attestation.rekor_annotation = logged.annotation;
        eprintln!("logged in {} at index {}", logged.url, logged.index);
    }
    if let Some(out) = &args.bundle_out {
        std::fs::write(out, attestation.bundle().to_json())
            .with_context(|| format!("writing {}", out.display()))?;
    }
    let client = args.registry.client()?;
    let sink = OciSink {
        format: args.bundle_format,
        repository,
    };
    let results = runtime.block_on(publish(&client, &attestation, &[image], &sink));
    let failed = results.iter().any(|r| r.outcome.is_err());
    match args.output {
        OutputFormat::Json => {
            let list: Vec<serde_json::Value> = results
                .iter()
                .map(|r| match &r.outcome {
                    Ok(m) => json!({"sink": r.sink, "subject": r.subject, "ok": true, "message": m}),
                    Err(e) => json!({"sink": r.sink, "subject": r.subject, "ok": false,
                                     "message": super::error_chain(e), "transient": e.is_transient()}),
                })
                .collect();
            outln!(
                "{}",
                serde_json::to_string_pretty(&json!({
                    "decision": if failed { "error" } else { "done" },
                    "results": list,
                }))?
            );
        }
        OutputFormat::Text => {
            for r in &results {
                match &r.outcome {
                    Ok(m) => outln!("ok {}: {m}", r.sink),
                    Err(e) => eprintln!(
                        "hallmark: error: {} {}: {}",
                        r.sink,
                        r.subject,
                        super::error_chain(e)
                    ),
                }
            }
        }
    }
    Ok(if failed {
        Outcome::Error
    } else {
        Outcome::Pass
    })
}
