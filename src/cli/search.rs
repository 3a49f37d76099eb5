//! `hallmark search`: find entries in Rekor v1 by image digest, email SAN or public key,
//! verify each, and show the run each one came from (Rekor v2 has no search API).

use std::path::PathBuf;

use anyhow::{Context as _, bail};
use serde_json::json;

use super::Outcome;
use super::registry::RegistryArgs;
use crate::oci::{ImageRef, find_attestations};
use crate::rekor::RekorClient;
use crate::search::{Filter, Query, Statements, search};
use crate::trust::TrustedRoot;
use crate::verify::ArtifactRef;

/// Report format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum OutputFormat {
    /// A table, newest first.
    #[default]
    Text,
    /// `{"hits":[{uuid, logIndex, integratedTime, kind, signer, subjects, predicateType,
    /// pipeline, run, runUid}], "rejected":[{uuid, reason}]}`.
    Json,
}

/// Flags of `hallmark search`.
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("what").required(true).args(["image", "identity", "email", "key"])))]
pub struct SearchArgs {
    /// Entries about this image (`REGISTRY/REPOSITORY@sha256:<hex>`): Rekor indexes every
    /// in-toto subject digest. The statements are read from the image's registry.
    #[arg(long, value_name = "IMAGE@DIGEST")]
    pub image: Option<String>,

    /// Entries signed by this certificate identity (SAN). Rekor v1's search API takes only
    /// email SANs; for URI SANs (Kubernetes service accounts, workflows) search by
    /// `--image`.
    #[arg(long, value_name = "SAN")]
    pub identity: Option<String>,

    /// Entries signed by a certificate with this email SAN.
    #[arg(long, value_name = "EMAIL")]
    pub email: Option<String>,

    /// Entries signed with this public key (PEM file).
    #[arg(long, value_name = "FILE")]
    pub key: Option<PathBuf>,

    /// Keep only entries whose statement came from this Tekton pipeline (or task): the
    /// `tekton.dev/pipeline` label in the provenance. Needs `--image` (statements are read
    /// beside it).
    #[arg(long, value_name = "NAME", requires = "image")]
    pub pipeline: Option<String>,

    /// Keep only entries integrated at or after this time (RFC 3339).
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,

    /// At most this many hits, newest first (0: all).
    #[arg(long, value_name = "N", default_value_t = 50)]
    pub limit: usize,

    /// Rekor v1. Default: the first transparency log of the trusted root.
    #[arg(long, value_name = "URL")]
    pub rekor_url: Option<String>,

    /// The trusted root the entries are verified against. Default: the embedded public-good
    /// root.
    #[arg(long, value_name = "FILE")]
    pub trusted_root: Option<PathBuf>,

    /// How to reach the image's registry.
    #[command(flatten)]
    pub registry: RegistryArgs,

    /// Report format.
    #[arg(short = 'o', long = "output", value_enum, default_value_t = OutputFormat::Text, value_name = "FORMAT")]
    pub output: OutputFormat,
}

/// Run `hallmark search`.
///
/// # Errors
///
/// Bad flags, an unreadable trusted root, Rekor or the registry unreachable (exit 2).
pub fn run(args: &SearchArgs) -> anyhow::Result<Outcome> {
    let image = args.image.as_deref().map(ImageRef::parse).transpose()?;
    let query = match (&image, &args.identity, &args.email, &args.key) {
        (Some(i), _, _, _) => Query::Sha256(i.digest.hex().to_owned()),
        (_, Some(san), _, _) => {
            if san.contains('@') && !san.contains("://") {
                Query::Email(san.clone())
            } else {
                bail!(
                    "--identity {san}: Rekor v1's search API takes only email SANs; \
                     search a URI identity by --image"
                );
            }
        }
        (_, _, Some(e), _) => Query::Email(e.clone()),
        (_, _, _, Some(k)) => {
            Query::PublicKey(std::fs::read(k).with_context(|| format!("reading {}", k.display()))?)
        }
        _ => bail!("pass --image, --identity, --email or --key"),
    };
    let since = args
        .since
        .as_deref()
        .map(|s| s.parse::<jiff::Timestamp>())
        .transpose()
        .context("--since: expected an RFC 3339 time such as 2026-11-25T00:00:00Z")?;
    let trust = match &args.trusted_root {
        Some(p) => TrustedRoot::from_file(p).with_context(|| format!("reading {}", p.display()))?,
        None => TrustedRoot::public_good().context("embedded trusted root")?,
    };
    let rekor_url = match &args.rekor_url {
        Some(u) => u.clone(),
        None => trust
            .tlogs
            .first()
            .map(|t| t.base_url.clone())
            .context("the trusted root names no transparency log: pass --rekor-url")?,
    };
    let rekor = RekorClient::new(&rekor_url, args.registry.timeout())?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let mut statements = Statements::new();
    if let Some(image) = &image {
        let client = args.registry.client()?;
        let found = runtime
            .block_on(find_attestations(&client, image))
            .with_context(|| format!("reading the attestations beside {image}"))?;
        for f in found.found {
            if let Some(env) = &f.bundle.dsse_envelope
                && let Ok(v) = serde_json::from_slice(&env.payload)
            {
                statements.insert(ArtifactRef::Bytes(&env.payload).sha256(), v);
            }
        }
    }
    let filter = Filter {
        since,
        pipeline: args.pipeline.clone(),
        limit: args.limit,
    };
    let (hits, rejected) = runtime
        .block_on(search(&rekor, &query, &trust, &statements, &filter))
        .with_context(|| format!("searching {rekor_url}"))?;
    match args.output {
        OutputFormat::Json => outln!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "rekorUrl": rekor_url,
                "hits": hits,
                "rejected": rejected.iter().map(|(u, r)| json!({"uuid": u, "reason": r})).collect::<Vec<_>>(),
            }))?
        ),
        OutputFormat::Text => {
            outln!(
                "{:<10} {:<21} {:<13} {:<34} {:<28} {:<24} UUID",
                "INDEX",
                "TIME",
                "KIND",
                "PREDICATE TYPE",
                "RUN",
                "SIGNER"
            );
            for h in &hits {
                let run = match (&h.pipeline, &h.run) {
                    (Some(p), Some(r)) => format!("{p}/{r}"),
                    (Some(p), None) => p.clone(),
                    _ => "-".to_owned(),
                };
                outln!(
                    "{:<10} {:<21} {:<13} {:<34} {:<28} {:<24} {}",
                    h.log_index,
                    h.integrated_time,
                    h.kind,
                    h.predicate_type.as_deref().unwrap_or("-"),
                    run,
                    h.signer,
                    h.uuid
                );
            }
            for (u, r) in &rejected {
                eprintln!("hallmark: warning: entry {u} did not verify and is not shown: {r}");
            }
        }
    }
    Ok(Outcome::Pass)
}
