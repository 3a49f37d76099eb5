//! `hallmark attest IMAGE@DIGEST --predicate F --type TYPE --key K`: make an in-toto
//! statement about an image, sign it as DSSE, and publish it beside the image (cosign's
//! legacy `.att`, an OCI 1.1 referrer bundle, or both), as `cosign attest` does.
//!
//! Exit 0 when every sink succeeded, 2 otherwise (each sink's result is reported).

use std::path::PathBuf;

use anyhow::{Context as _, bail};
use serde_json::json;

use super::Outcome;
use super::registry::RegistryArgs;
use crate::dsse::IN_TOTO_PAYLOAD_TYPE;
use crate::oci::{ImageRef, Repository};
use crate::publish::{Attestation, BundleFormat, Material, OciSink, publish};
use crate::signing;
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

    /// The signing key: a cosign-encrypted private key (password from `COSIGN_PASSWORD`)
    /// or an unencrypted PKCS#8/SEC1 PEM key.
    #[arg(long, value_name = "KEY")]
    pub key: String,

    /// Upload to the transparency log. Only `false` is supported until Rekor upload lands.
    #[arg(long, value_name = "BOOL", default_value_t = true, action = clap::ArgAction::Set)]
    pub tlog_upload: bool,

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
    if args.tlog_upload {
        bail!(
            "uploading to a transparency log from `hallmark attest` is not supported yet: \
             pass --tlog-upload=false (the attestation is then verifiable only with \
             --insecure-ignore-tlog)"
        );
    }
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
    let password = signing::password_from_env()?;
    let signer = signing::LocalSigner::from_file(
        std::path::Path::new(&args.key),
        password.as_deref().map(|p| p.as_slice()),
    )?;
    let envelope = signing::sign_envelope(&signer, IN_TOTO_PAYLOAD_TYPE, &payload)?;
    let attestation = Attestation {
        envelope,
        predicate_type,
        material: Material::Key,
        tlog_entries: Vec::new(),
        rekor_annotation: None,
        timestamps: Vec::new(),
    };
    if let Some(out) = &args.bundle_out {
        std::fs::write(out, attestation.bundle().to_json())
            .with_context(|| format!("writing {}", out.display()))?;
    }
    let client = args.registry.client()?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
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
            println!(
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
                    Ok(m) => println!("ok {}: {m}", r.sink),
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
