//! `hallmark layout`: derive an in-toto layout from a Tekton Pipeline and sign it as the
//! layout owner.
//!
//! The pipeline file is parsed and mapped by [`crate::layout::derive`]; the owner key is
//! any signer `hallmark sign --key` takes (a key file, `hashivault://KEY`,
//! `k8s://NS/SECRET`), built by [`crate::signing::build`]; the result is a DSSE envelope
//! ([`crate::layout::sign_layout`]). `hallmark verify --layout F --layout-key K` reads it.

use std::path::PathBuf;

use anyhow::{Context as _, bail};

use super::Outcome;
use crate::config::{Config, SignerKind};
use crate::layout::derive::{self, Functionaries, Options};
use crate::signing::PublicKey;
use crate::signing::build::{self, SignerRequest};

/// Flags of `hallmark layout`.
#[derive(Debug, clap::Args)]
pub struct LayoutArgs {
    /// The Tekton Pipeline (`tekton.dev/v1`, YAML or JSON), or a PipelineRun with an inline
    /// `pipelineSpec`. `-` reads standard input.
    #[arg(value_name = "PIPELINE")]
    pub pipeline: PathBuf,

    /// The layout owner's signing key: a cosign-encrypted private key (password from
    /// `COSIGN_PASSWORD`), a PKCS#8/SEC1 PEM private key, `hashivault://KEY` or
    /// `k8s://NAMESPACE/SECRET`, as `hallmark sign --key`. Verifiers pass its public key
    /// to `hallmark verify --layout-key`.
    #[arg(long, value_name = "KEY")]
    pub owner_key: String,

    /// How long the layout is valid, from now: a number and a unit (`s`, `m`, `h`, `d`,
    /// `w`), e.g. `90d`.
    #[arg(long, value_name = "DURATION", default_value = "30d")]
    pub expires: String,

    /// A functionary's public key (PEM), allowed to attest every step (repeatable).
    #[arg(long = "functionary-key", value_name = "PEM_FILE")]
    pub functionary_keys: Vec<PathBuf>,

    /// A keyless functionary: the Fulcio certificate's subject alternative name (an email
    /// or a URI), allowed to attest every step (repeatable; pair each with
    /// `--functionary-issuer`).
    #[arg(
        long = "functionary-identity",
        value_name = "SAN",
        requires = "functionary_issuers"
    )]
    pub functionary_identities: Vec<String>,

    /// The OIDC issuer of the `--functionary-identity` at the same position (one issuer
    /// for all identities when given once).
    #[arg(
        long = "functionary-issuer",
        value_name = "URL",
        requires = "functionary_identities"
    )]
    pub functionary_issuers: Vec<String>,

    /// How many distinct functionaries must attest each step.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub threshold: u32,

    /// An extra input pattern (in-toto pattern, `*` matches anything) that tasks with
    /// upstream tasks may consume besides their upstream tasks' products, e.g. a base
    /// image (repeatable).
    #[arg(long = "allow-material", value_name = "PATTERN")]
    pub allow_materials: Vec<String>,

    /// Where to write the signed layout (default: standard output).
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// The identities paired with their issuers.
fn identities(args: &LayoutArgs) -> anyhow::Result<Vec<(String, Option<String>)>> {
    let (ids, iss) = (&args.functionary_identities, &args.functionary_issuers);
    if iss.len() != 1 && iss.len() != ids.len() {
        bail!(
            "{} --functionary-identity but {} --functionary-issuer: give one issuer for all, or one each",
            ids.len(),
            iss.len()
        );
    }
    Ok(ids
        .iter()
        .enumerate()
        .map(|(i, id)| {
            let issuer = iss.get(i).or_else(|| iss.first()).cloned();
            (id.clone(), issuer)
        })
        .collect())
}

/// Run `hallmark layout`.
///
/// # Errors
///
/// An unreadable or malformed pipeline or key, a bad duration or functionary list, a
/// signer that fails, or an output that cannot be written.
pub fn run(args: &LayoutArgs) -> anyhow::Result<Outcome> {
    let bytes = if args.pipeline == std::path::Path::new("-") {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut buf)
            .context("reading standard input")?;
        buf
    } else {
        std::fs::read(&args.pipeline)
            .with_context(|| format!("reading {}", args.pipeline.display()))?
    };
    let pipeline = derive::parse_pipeline(&bytes)
        .with_context(|| format!("parsing {}", args.pipeline.display()))?;
    let ttl = crate::verify::policy::parse_duration(&args.expires).context("--expires")?;
    let ttl = jiff::SignedDuration::try_from(ttl).context("--expires")?;
    let expires = jiff::Timestamp::now()
        .checked_add(ttl)
        .context("--expires is too far in the future")?;
    // in-toto's `expires` has whole seconds.
    let expires = jiff::Timestamp::from_second(expires.as_second()).context("--expires")?;
    let mut keys = Vec::new();
    for p in &args.functionary_keys {
        let pem = std::fs::read(p).with_context(|| format!("reading {}", p.display()))?;
        keys.push(
            PublicKey::from_pem(&pem)
                .with_context(|| format!("--functionary-key {}", p.display()))?,
        );
    }
    let opts = Options {
        expires,
        functionaries: Functionaries {
            keys,
            identities: identities(args)?,
            threshold: args.threshold,
        },
        allow_materials: args.allow_materials.clone(),
    };
    let layout = derive::derive(&pipeline, &opts)?;

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let request = SignerRequest {
        key: Some(args.owner_key.clone()),
        ..SignerRequest::default()
    };
    let owner = runtime
        .block_on(build::build(
            &request,
            &Config::default(),
            None,
            SignerKind::X509,
            false,
        ))
        .map_err(|e| anyhow::anyhow!(super::error_chain(&e)))
        .context("--owner-key")?;
    let envelope = runtime
        .block_on(crate::layout::sign_layout(&layout, owner.signer.as_ref()))
        .map_err(|e| anyhow::anyhow!(super::error_chain(&e)))
        .with_context(|| format!("signing the layout with {}", owner.what))?;
    let mut doc = envelope.to_json();
    doc.push(b'\n');
    match &args.output {
        Some(p) => std::fs::write(p, &doc).with_context(|| format!("writing {}", p.display()))?,
        None => {
            use std::io::Write as _;
            let mut out = std::io::stdout().lock();
            out.write_all(&doc)?;
            out.flush()?;
        }
    }
    tracing::info!(
        steps = layout.steps.len(),
        expires = %layout.expires,
        "layout signed"
    );
    Ok(Outcome::Pass)
}

#[cfg(test)]
#[allow(clippy::panic)] // Tests report failures by panicking.
mod tests {
    use clap::Parser as _;

    #[test]
    fn identities_need_issuers_and_the_owner_key_is_required() {
        for args in [
            &["hallmark", "layout", "p.yaml"][..],
            &[
                "hallmark",
                "layout",
                "p.yaml",
                "--owner-key",
                "k",
                "--functionary-identity",
                "a@b.c",
            ],
            &[
                "hallmark",
                "layout",
                "p.yaml",
                "--owner-key",
                "k",
                "--functionary-issuer",
                "https://i",
            ],
        ] {
            assert!(crate::cli::Cli::try_parse_from(args).is_err(), "{args:?}");
        }
    }

    #[test]
    fn verify_takes_a_layout_only_with_the_chain_and_an_owner_key() {
        let base = [
            "hallmark",
            "verify",
            "r.example/a@sha256:00",
            "--key",
            "k.pub",
        ];
        let parse = |extra: &[&str]| {
            let args: Vec<&str> = base.iter().chain(extra).copied().collect();
            crate::cli::Cli::try_parse_from(args)
        };
        assert!(parse(&["--layout", "l.json", "--layout-key", "o.pub"]).is_err());
        assert!(parse(&["--chain", "--layout", "l.json"]).is_err());
        assert!(parse(&["--chain", "--layout-key", "o.pub"]).is_err());
        let cli = parse(&[
            "--chain",
            "--layout",
            "l.json",
            "--layout-key",
            "o.pub",
            "--layout-key",
            "o2.pub",
        ])
        .unwrap_or_else(|e| panic!("{e}"));
        let crate::cli::Command::Verify(v) = cli.command else {
            panic!("not verify");
        };
        assert_eq!(v.layout_key.len(), 2);
    }
}
