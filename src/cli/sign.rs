//! `hallmark sign`: the controller's formatter and signer on run files, without a cluster.
//!
//! Every run in the given files is formatted and signed: one envelope each. A
//! PipelineRun's child TaskRuns come from the same files (a `kind: List`), from `--child`
//! files, or from the other run files in the PipelineRun's directory; a child is matched
//! by its `tekton.dev/pipelineRun` label (and namespace).
//!
//! Signers: a key file (`--key FILE`), a KMS key (`--key hashivault://KEY`, Vault auth
//! from `signers.kms.auth.*` or `VAULT_ADDR`/`VAULT_TOKEN`), or keyless (`--keyless`,
//! or `signers.x509.fulcio.enabled` in `--config`): one Fulcio certificate for all the
//! runs of one invocation while it is valid. Without `--key`/`--keyless`, the
//! configuration chooses: `artifacts.*.signer: kms` with `signers.kms.kmsref`, or
//! `signers.x509.fulcio.enabled`. The signer is built (and a KMS reached) before any run
//! is formatted, and nothing is written unless every run was signed. Signer construction
//! is the library's ([`crate::signing::build`]); [`SignerFlags`] only maps the flags onto
//! a [`SignerRequest`].

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use super::Outcome;
use crate::config::{Config, SignerKind};
use crate::provenance::{self, Format};
use crate::signing;
use crate::signing::build::{self, SignerRequest};
use crate::signing::token::Secret;
use crate::tekton::{self, Run, RunKind, TaskRun};

/// Flags of `hallmark sign`.
#[derive(Debug, clap::Args)]
pub struct SignArgs {
    /// TaskRun or PipelineRun files (JSON or YAML; a `kind: List` holds several). `-`
    /// reads standard input.
    #[arg(required = true, value_name = "RUN_FILE")]
    pub runs: Vec<PathBuf>,

    /// A child TaskRun of a PipelineRun being signed (repeatable). Without it, children
    /// are looked up in the run files and in the PipelineRun file's directory.
    #[arg(long = "child", value_name = "FILE")]
    pub children: Vec<PathBuf>,

    /// The provenance format. Defaults to the configuration's
    /// `artifacts.taskrun.format` / `artifacts.pipelinerun.format` (Chains' default is
    /// `in-toto`, the same as `slsa/v1`: SLSA v0.2). `slsa/v2alpha3` and `slsa/v2alpha4`
    /// give SLSA v1.
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<Format>,

    /// A Chains configuration: a `chains-config` ConfigMap manifest or a flat YAML/JSON
    /// map of its keys (`builder.id`, `builddefinition.buildtype`,
    /// `artifacts.pipelinerun.enable-deep-inspection`, ...).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// The signer.
    #[command(flatten)]
    pub signer: SignerFlags,

    /// Also write a Sigstore bundle v0.3 per run (envelope + certificate for keyless, or
    /// a public-key hint; no transparency log entry): a file (one run only) or an
    /// existing directory (`<kind>-<namespace>-<name>.sigstore.json`).
    #[arg(long, value_name = "FILE|DIR")]
    pub bundle_out: Option<PathBuf>,

    /// Print the bare in-toto statement instead of a signed envelope.
    #[arg(long, conflicts_with_all = ["key", "keyless", "bundle_out"])]
    pub statement_only: bool,

    /// Where to write: a file (one run only), or an existing directory (one file per
    /// run, named `<kind>-<namespace>-<name>.intoto.json`). Default: standard output,
    /// one JSON document per line.
    #[arg(short = 'o', long = "output", value_name = "FILE|DIR")]
    pub output: Option<PathBuf>,
}

/// The signer flags of `hallmark sign`, reusable by other commands that sign
/// (`#[command(flatten)]`): a key reference, or keyless with its token source, Fulcio and
/// trust material. [`SignerFlags::build`] makes the signer.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct SignerFlags {
    /// The signing key: a cosign-encrypted private key (password from `COSIGN_PASSWORD`),
    /// a PKCS#8/SEC1 PEM private key, `hashivault://KEY` (Vault/OpenBao transit;
    /// `VAULT_ADDR`/`VAULT_TOKEN` or the configuration's `signers.kms.auth.*`), or
    /// `k8s://NAMESPACE/SECRET` (its `cosign.key` + `cosign.password`, else `x509.pem`;
    /// credentials from `KUBECONFIG`). `awskms://[ENDPOINT]/KEY`, `gcpkms://projects/...`
    /// and `azurekms://VAULT_HOST/KEY[/VERSION]` use the providers' SDKs (their standard
    /// credential chains) and need hallmark built with the cargo feature `awskms`, `gcpkms`
    /// or `azurekms`; see docs/config.md for what each was tested against.
    #[arg(long, value_name = "KEY")]
    pub key: Option<String>,

    /// Sign keylessly: an ephemeral key certified by Fulcio for an OIDC identity token.
    #[arg(long, conflicts_with = "key")]
    pub keyless: bool,

    /// The OIDC identity token for keyless signing (default: the configuration's
    /// `signers.x509.identity.token.file`, else `SIGSTORE_ID_TOKEN`).
    #[arg(long, value_name = "TOKEN", conflicts_with_all = ["key", "identity_token_file"])]
    pub identity_token: Option<Secret>,

    /// A file holding the OIDC identity token (re-read when a new certificate is needed,
    /// e.g. a projected service-account token).
    #[arg(long, value_name = "FILE", conflicts_with = "key")]
    pub identity_token_file: Option<PathBuf>,

    /// Keyless: mint the identity token for this ServiceAccount (`NAMESPACE/NAME`) through
    /// the Kubernetes API's TokenRequest, at audience `sigstore`, whenever a certificate is
    /// requested. Credentials: `KUBECONFIG`, `~/.kube/config`, or the pod's service account.
    #[arg(long, value_name = "NS/NAME", conflicts_with_all = ["key", "identity_token", "identity_token_file"])]
    pub service_account: Option<String>,

    /// Fulcio's URL (default: the signing config's, else `signers.x509.fulcio.address`).
    #[arg(long, value_name = "URL", conflicts_with_all = ["key", "signing_config"])]
    pub fulcio_url: Option<String>,

    /// A Sigstore trusted root (`trusted_root.json`) the Fulcio certificate and its SCT
    /// must verify against (default: the trust material of the configuration's TUF mirror,
    /// see `--tuf-root`). `hallmark attest` also checks its transparency-log entries
    /// against it (with any signer; default for key signers: the embedded Sigstore
    /// public-good root); `hallmark sign` takes it only with `--keyless`.
    #[arg(long, value_name = "FILE")]
    pub trusted_root: Option<PathBuf>,

    /// A Sigstore signing config (`signing_config.json`) naming Fulcio (`caUrls`) and the
    /// timestamp authorities; `hallmark attest` also picks its Rekor log from it (with any
    /// signer); `hallmark sign` takes it only with `--keyless`.
    #[arg(long, value_name = "FILE")]
    pub signing_config: Option<PathBuf>,

    /// Keyless, when a bundle is written: an RFC 3161 timestamp authority whose timestamp over
    /// each signature goes into the bundle (default: the signing config's `tsaUrls`, if
    /// any). The timestamp must verify against the trusted root's timestamp authorities.
    #[arg(long, value_name = "URL", conflicts_with = "key")]
    pub timestamp_server_url: Option<String>,

    /// Keyless: accept a Fulcio certificate without a verifiable embedded SCT.
    #[arg(long, conflicts_with = "key")]
    pub insecure_ignore_sct: bool,

    /// Keyless, without `--trusted-root`: the initial `root.json` of the TUF repository
    /// named by the configuration's `signers.x509.tuf.mirror.url`, trusted out of band;
    /// the trusted root is its `trusted_root.json` target. Without it, a mirror other
    /// than the default is trusted on first use (its own `root.json`, as Chains does),
    /// and the default (public-good) mirror starts from the public-good `root.json`
    /// embedded in hallmark; if that mirror cannot be reached at all, the public-good
    /// `trusted_root.json` embedded in hallmark is used, with a warning.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["key", "trusted_root"])]
    pub tuf_root: Option<PathBuf>,
}

/// A run found in the inputs, with the file it came from.
struct Input {
    run: Run,
    path: PathBuf,
}

fn read_input(path: &Path) -> anyhow::Result<Vec<u8>> {
    if path == Path::new("-") {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut buf)
            .context("reading standard input")?;
        Ok(buf)
    } else {
        std::fs::read(path).with_context(|| format!("reading {}", path.display()))
    }
}

fn parse_file(path: &Path, hint: Option<RunKind>) -> anyhow::Result<Vec<Run>> {
    let bytes = read_input(path)?;
    tekton::parse_runs(&bytes, hint).with_context(|| format!("parsing {}", path.display()))
}

/// Whether `tr` is a child of the PipelineRun `name` in `namespace`.
fn is_child_of(tr: &TaskRun, name: &str, namespace: Option<&str>) -> bool {
    tr.pipeline_run_name() == Some(name) && tr.namespace() == namespace
}

/// Child TaskRuns from the other run files in `dir` (unparsable files are skipped:
/// the directory may hold anything).
fn children_beside(dir: &Path, skip: &BTreeSet<PathBuf>) -> Vec<TaskRun> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| matches!(e, "json" | "yaml" | "yml"))
        })
        .filter(|p| !skip.contains(p))
        .collect();
    paths.sort();
    let mut out = Vec::new();
    for p in paths {
        let Ok(bytes) = std::fs::read(&p) else {
            continue;
        };
        match tekton::parse_runs(&bytes, None) {
            Ok(runs) => out.extend(runs.into_iter().filter_map(|r| match r {
                Run::TaskRun(tr) => Some(tr),
                Run::PipelineRun(_) => None,
            })),
            Err(e) => tracing::debug!(file = %p.display(), error = %e, "not a run file; skipped"),
        }
    }
    out
}

fn output_name(run: &Run, statement_only: bool) -> String {
    let kind = match run {
        Run::TaskRun(_) => "taskrun",
        Run::PipelineRun(_) => "pipelinerun",
    };
    let ns = run.namespace().unwrap_or("default");
    let suffix = if statement_only {
        "statement.json"
    } else {
        "intoto.json"
    };
    format!("{kind}-{ns}-{}.{suffix}", run.name())
}

/// Run `hallmark sign`.
///
/// # Errors
///
/// Unreadable or malformed input, an unusable key, or an output that cannot be written.
pub fn run(args: &SignArgs) -> anyhow::Result<Outcome> {
    let config = load_config(args.config.as_deref())?;
    if (args.signer.trusted_root.is_some() || args.signer.signing_config.is_some())
        && !args.statement_only
        && !args.signer.is_keyless(&config)?
    {
        bail!(
            "--trusted-root and --signing-config are for keyless signing: `hallmark sign` with a key does not use them"
        );
    }

    let mut inputs = Vec::new();
    for path in &args.runs {
        for run in parse_file(path, None)? {
            inputs.push(Input {
                run,
                path: path.clone(),
            });
        }
    }
    let mut explicit_children = Vec::new();
    for path in &args.children {
        for run in parse_file(path, Some(RunKind::TaskRun))? {
            match run {
                Run::TaskRun(tr) => explicit_children.push(tr),
                Run::PipelineRun(pr) => {
                    bail!(
                        "{}: --child must be a TaskRun, found PipelineRun {}",
                        path.display(),
                        pr.name()
                    )
                }
            }
        }
    }

    let out_dir = args.output.as_ref().filter(|p| p.is_dir());
    if args.output.is_some() && out_dir.is_none() && inputs.len() > 1 {
        bail!(
            "{} runs to write but -o names a file: give an existing directory",
            inputs.len()
        );
    }

    let bundle_dir = args.bundle_out.as_ref().filter(|p| p.is_dir());
    if args.bundle_out.is_some() && bundle_dir.is_none() && inputs.len() > 1 {
        bail!(
            "{} runs to write but --bundle-out names a file: give an existing directory",
            inputs.len()
        );
    }

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let signer = if args.statement_only {
        None
    } else {
        Some(runtime.block_on(args.signer.build(&config, args.bundle_out.is_some()))?)
    };

    let given: BTreeSet<PathBuf> = args.runs.iter().cloned().collect();
    let mut documents = Vec::new();
    let mut bundles = Vec::new();
    for input in &inputs {
        let (format, opts) = match &input.run {
            Run::TaskRun(_) => (
                args.format
                    .or(config.taskrun.format)
                    .unwrap_or(Format::SlsaV1),
                config.format_options(false),
            ),
            Run::PipelineRun(_) => (
                args.format
                    .or(config.pipelinerun.format)
                    .unwrap_or(Format::SlsaV1),
                config.format_options(true),
            ),
        };
        let children: Vec<TaskRun> = match &input.run {
            Run::TaskRun(_) => Vec::new(),
            Run::PipelineRun(pr) => {
                let (name, ns) = (pr.name(), pr.namespace());
                let mut found: Vec<TaskRun> = inputs
                    .iter()
                    .filter_map(|i| match &i.run {
                        Run::TaskRun(tr) if is_child_of(tr, name, ns) => Some(tr.clone()),
                        _ => None,
                    })
                    .collect();
                found.extend(explicit_children.iter().cloned());
                let stdin = input.path == Path::new("-");
                if found.is_empty() && args.children.is_empty() && !stdin {
                    let dir = match input.path.parent() {
                        Some(d) if !d.as_os_str().is_empty() => d,
                        _ => Path::new("."),
                    };
                    found = children_beside(dir, &given)
                        .into_iter()
                        .filter(|tr| is_child_of(tr, name, ns))
                        .collect();
                }
                found
            }
        };
        let statement =
            provenance::format(&input.run, &children, format, &opts).with_context(|| {
                format!("formatting {} {}", kind_name(&input.run), input.run.name())
            })?;
        let payload = statement.to_json();
        let doc = match &signer {
            None => payload,
            Some(s) => {
                let signed = runtime
                    .block_on(signing::sign_envelope_async(
                        s.signer.as_ref(),
                        crate::dsse::IN_TOTO_PAYLOAD_TYPE,
                        &payload,
                    ))
                    .map_err(|e| anyhow::anyhow!(super::error_chain(&e)))
                    .with_context(|| {
                        format!(
                            "signing {} {} with {}",
                            kind_name(&input.run),
                            input.run.name(),
                            s.what
                        )
                    })?;
                let mut signed = signed;
                if let Some(tsa) = &s.tsa
                    && let Some(sig) = signed.envelope.signatures.first()
                {
                    let ts = runtime
                        .block_on(tsa.timestamp(&sig.sig))
                        .map_err(|e| anyhow::anyhow!(super::error_chain(&e)))
                        .with_context(|| format!("timestamping {}", input.run.name()))?;
                    signed.timestamps.push(ts);
                }
                if args.bundle_out.is_some() {
                    bundles.push((bundle_name(&input.run), signed.to_bundle().to_json()));
                }
                signed.envelope.to_json()
            }
        };
        documents.push((output_name(&input.run, args.statement_only), doc));
    }
    if let Some(s) = &signer
        && let Some(k) = &s.keyless
    {
        tracing::info!(
            certificate_requests = k.certificate_requests(),
            runs = documents.len(),
            "keyless signing done"
        );
    }

    match (&args.output, out_dir) {
        (Some(_), Some(dir)) => {
            for (name, doc) in &documents {
                let path = dir.join(name);
                std::fs::write(&path, doc)
                    .with_context(|| format!("writing {}", path.display()))?;
            }
        }
        (Some(file), None) => {
            let doc = documents
                .first()
                .map(|(_, d)| d.as_slice())
                .unwrap_or_default();
            std::fs::write(file, doc).with_context(|| format!("writing {}", file.display()))?;
        }
        (None, _) => {
            let mut out = std::io::stdout().lock();
            for (_, doc) in &documents {
                out.write_all(doc)?;
                out.write_all(b"\n")?;
            }
            out.flush()?;
        }
    }
    match (&args.bundle_out, bundle_dir) {
        (Some(_), Some(dir)) => {
            for (name, doc) in &bundles {
                let path = dir.join(name);
                std::fs::write(&path, doc)
                    .with_context(|| format!("writing {}", path.display()))?;
            }
        }
        (Some(file), None) => {
            let doc = bundles
                .first()
                .map(|(_, d)| d.as_slice())
                .unwrap_or_default();
            std::fs::write(file, doc).with_context(|| format!("writing {}", file.display()))?;
        }
        (None, _) => {}
    }
    Ok(Outcome::Pass)
}

fn bundle_name(run: &Run) -> String {
    let kind = match run {
        Run::TaskRun(_) => "taskrun",
        Run::PipelineRun(_) => "pipelinerun",
    };
    let ns = run.namespace().unwrap_or("default");
    format!("{kind}-{ns}-{}.sigstore.json", run.name())
}

pub use crate::signing::build::BuiltSigner;

impl From<&SignerFlags> for SignerRequest {
    fn from(f: &SignerFlags) -> Self {
        SignerRequest {
            key: f.key.clone(),
            keyless: f.keyless,
            identity_token: f.identity_token.clone(),
            identity_token_file: f.identity_token_file.clone(),
            service_account: f.service_account.clone(),
            fulcio_url: f.fulcio_url.clone(),
            trusted_root: f.trusted_root.clone(),
            signing_config: f.signing_config.clone(),
            timestamp_server_url: f.timestamp_server_url.clone(),
            insecure_ignore_sct: f.insecure_ignore_sct,
            tuf_root: f.tuf_root.clone(),
        }
    }
}

/// The signer the configuration gives runs signed by one command: `kms` when
/// `artifacts.taskrun.signer` or `artifacts.pipelinerun.signer` is `kms`, else `x509`.
fn configured_kind(config: &Config) -> SignerKind {
    if [&config.taskrun, &config.pipelinerun]
        .iter()
        .any(|a| a.signer == SignerKind::Kms)
    {
        SignerKind::Kms
    } else {
        SignerKind::X509
    }
}

impl SignerFlags {
    /// Build the signer these flags and `config` choose ([`build::build`] with no signing
    /// secrets; the signer kind is `kms` when `artifacts.taskrun.signer` or
    /// `artifacts.pipelinerun.signer` is, else `x509`). `timestamps`: keyless signatures
    /// will go into bundles, so set up the timestamp authority named by
    /// `--timestamp-server-url` or the signing config.
    ///
    /// # Errors
    ///
    /// Conflicting or incomplete flags, a configuration key with a bad value (the message
    /// names it), an unusable key or an unreachable KMS.
    pub async fn build(&self, config: &Config, timestamps: bool) -> anyhow::Result<BuiltSigner> {
        build::build(
            &SignerRequest::from(self),
            config,
            None,
            configured_kind(config),
            timestamps,
        )
        .await
        .map_err(|e| anyhow::anyhow!(super::error_chain(&e)))
    }

    /// Whether these flags and `config` sign keylessly (nothing is reached).
    ///
    /// # Errors
    ///
    /// As [`build::choose`].
    pub fn is_keyless(&self, config: &Config) -> anyhow::Result<bool> {
        build::choose(
            &SignerRequest::from(self),
            config,
            None,
            configured_kind(config),
        )
        .map(|c| c == build::Choice::Keyless)
        .map_err(|e| anyhow::anyhow!(super::error_chain(&e)))
    }
}

/// Read a `--config` file (a `chains-config` ConfigMap or a flat map of its keys); the
/// defaults without one. Warnings (unknown keys, ...) are logged.
///
/// # Errors
///
/// An unreadable file or a key with a value Chains rejects.
pub(crate) fn load_config(path: Option<&Path>) -> anyhow::Result<Config> {
    let Some(p) = path else {
        return Ok(Config::default());
    };
    let bytes = std::fs::read(p).with_context(|| format!("reading {}", p.display()))?;
    let (cfg, warnings) =
        Config::from_document(&bytes).with_context(|| format!("in {}", p.display()))?;
    for w in warnings {
        tracing::warn!("{}: {w}", p.display());
    }
    Ok(cfg)
}

fn kind_name(run: &Run) -> &'static str {
    match run {
        Run::TaskRun(_) => "TaskRun",
        Run::PipelineRun(_) => "PipelineRun",
    }
}

#[cfg(test)]
#[allow(clippy::panic)] // Tests report failures by panicking.
mod tests {
    use clap::Parser as _;

    #[test]
    fn a_parsed_command_line_never_prints_the_identity_token() {
        let cli = crate::cli::Cli::try_parse_from([
            "hallmark",
            "sign",
            "run.yaml",
            "--keyless",
            "--identity-token",
            "canary-token-s3cr3t",
        ])
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(!format!("{cli:?}").contains("canary-token-s3cr3t"));
    }

    #[test]
    fn conflicting_signer_flags_are_refused() {
        for args in [
            &["hallmark", "sign", "r", "--key", "k", "--keyless"][..],
            &[
                "hallmark",
                "sign",
                "r",
                "--key",
                "k",
                "--identity-token",
                "t",
            ],
            &[
                "hallmark",
                "sign",
                "r",
                "--keyless",
                "--identity-token",
                "t",
                "--identity-token-file",
                "f",
            ],
            &[
                "hallmark",
                "sign",
                "r",
                "--keyless",
                "--fulcio-url",
                "u",
                "--signing-config",
                "s",
            ],
            &["hallmark", "sign", "r", "--statement-only", "--keyless"],
            &[
                "hallmark",
                "sign",
                "r",
                "--keyless",
                "--service-account",
                "a/b",
                "--identity-token",
                "t",
            ],
        ] {
            assert!(crate::cli::Cli::try_parse_from(args).is_err(), "{args:?}");
        }
    }
}
