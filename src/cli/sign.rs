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
//! is formatted, and nothing is written unless every run was signed.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use std::sync::Arc;

use super::Outcome;
use crate::config::{Config, SignerKind};
use crate::provenance::{self, Format};
use crate::signing::fulcio::{self, KeylessOptions, KeylessSigner};
use crate::signing::token::{Secret, TokenSource};
use crate::signing::tsa::{self, TsaClient};
use crate::signing::{self, kms, kube};
use crate::tekton::{self, Run, RunKind, TaskRun};
use crate::trust::TrustedRoot;

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
    /// credentials from `KUBECONFIG`). `awskms://` needs the `awskms` build feature (not
    /// exercised against AWS); `gcpkms://`, `azurekms://` are not supported yet.
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
    /// must verify against (default: the embedded Sigstore public-good root). `hallmark
    /// attest` also checks its transparency-log entries against it (with any signer);
    /// `hallmark sign` takes it only with `--keyless`.
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
    if args.signer.key.is_some()
        && (args.signer.trusted_root.is_some() || args.signer.signing_config.is_some())
    {
        bail!(
            "--trusted-root and --signing-config are for --keyless signing: `hallmark sign --key` does not use them"
        );
    }
    let config = match &args.config {
        Some(p) => {
            let bytes = std::fs::read(p).with_context(|| format!("reading {}", p.display()))?;
            let (cfg, warnings) =
                Config::from_document(&bytes).with_context(|| format!("in {}", p.display()))?;
            for w in warnings {
                tracing::warn!("{}: {w}", p.display());
            }
            cfg
        }
        None => Config::default(),
    };

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

/// The signer of one invocation, and how to name it in errors.
pub struct BuiltSigner {
    /// The signer.
    pub signer: Arc<dyn signing::AsyncSigner>,
    /// What it is, for messages (`hashivault://KEY`, a key path, keyless).
    pub what: String,
    /// The keyless signer again, for its certificate-request count.
    pub keyless: Option<Arc<KeylessSigner>>,
    /// The timestamp authority for keyless bundles, when one is named.
    pub tsa: Option<TsaClient>,
}

/// Which signer the flags and the configuration choose.
enum Choice {
    Key(String),
    Keyless,
}

fn choose(flags: &SignerFlags, config: &Config) -> anyhow::Result<Choice> {
    let keyless_flags = flags.identity_token.is_some()
        || flags.service_account.is_some()
        || flags.identity_token_file.is_some()
        || flags.fulcio_url.is_some()
        || flags.trusted_root.is_some()
        || flags.signing_config.is_some()
        || flags.insecure_ignore_sct
        || flags.timestamp_server_url.is_some();
    if let Some(k) = &flags.key {
        return Ok(Choice::Key(k.clone()));
    }
    if flags.keyless {
        return Ok(Choice::Keyless);
    }
    let uses_kms = [&config.taskrun, &config.pipelinerun]
        .iter()
        .any(|a| a.signer == SignerKind::Kms);
    if config.x509.fulcio_enabled && !uses_kms {
        return Ok(Choice::Keyless);
    }
    if keyless_flags {
        bail!(
            "--identity-token, --identity-token-file, --service-account, --fulcio-url, \
             --trusted-root, --signing-config, --timestamp-server-url and \
             --insecure-ignore-sct need --keyless"
        );
    }
    if uses_kms {
        return match &config.kms.kms_ref {
            Some(r) if !r.is_empty() => {
                // Checked here so that a bad value is reported under its key.
                if let Err(e) = kms::KmsRef::parse(r) {
                    bail!("signers.kms.kmsref: {e}");
                }
                Ok(Choice::Key(r.clone()))
            }
            _ => bail!(
                "signers.kms.kmsref: not set, but artifacts.*.signer is kms: name the KMS key"
            ),
        };
    }
    bail!(
        "no signer: give --key, --keyless, --statement-only, or a --config that enables \
         signers.x509.fulcio.enabled or a kms signer"
    )
}

impl SignerFlags {
    /// Build the signer these flags and `config` choose (a KMS is reached, a key
    /// decrypted, a keyless signer set up — its first certificate comes with the first
    /// signature), checking the configuration keys it uses. `timestamps`: keyless
    /// signatures will go into bundles, so set up the timestamp authority named by
    /// `--timestamp-server-url` or the signing config.
    ///
    /// # Errors
    ///
    /// Conflicting or incomplete flags, a configuration key with a bad value (the message
    /// names it), an unusable key or an unreachable KMS.
    pub async fn build(&self, config: &Config, timestamps: bool) -> anyhow::Result<BuiltSigner> {
        build_signer(self, config, timestamps).await
    }
}

/// Build the signer before anything is formatted, checking the configuration keys it uses.
async fn build_signer(
    flags: &SignerFlags,
    config: &Config,
    timestamps: bool,
) -> anyhow::Result<BuiltSigner> {
    match choose(flags, config)? {
        Choice::Key(reference) => {
            if reference.starts_with("k8s://") {
                let err = |e: &dyn std::error::Error| anyhow::anyhow!(super::error_chain(e));
                let client = kube::KubeClient::from_env(None).map_err(|e| err(&e))?;
                let secret = kube::read_cosign_secret(&client, &reference)
                    .await
                    .map_err(|e| err(&e))
                    .with_context(|| format!("reading key {reference}"))?;
                let env_password = signing::password_from_env()?;
                let password = secret.password.as_ref().or(env_password.as_ref());
                let signer =
                    signing::LocalSigner::from_pem(&secret.key, password.map(|p| p.as_slice()))
                        .map_err(|e| err(&e))
                        .with_context(|| format!("loading signing key {reference}"))?;
                return Ok(BuiltSigner {
                    signer: Arc::new(signer),
                    what: reference,
                    keyless: None,
                    tsa: None,
                });
            }
            if kms::KmsRef::is_kms(&reference) {
                let signer = kms::connect(&reference, &config.kms)
                    .await
                    .map_err(|e| anyhow::anyhow!(super::error_chain(&e)))
                    .with_context(|| format!("connecting KMS key {reference}"))?;
                return Ok(BuiltSigner {
                    signer,
                    what: reference,
                    keyless: None,
                    tsa: None,
                });
            }
            let password = signing::password_from_env()?;
            let signer = signing::LocalSigner::from_file(
                Path::new(&reference),
                password.as_deref().map(|p| p.as_slice()),
            )
            .map_err(|e| anyhow::anyhow!(super::error_chain(&e)))
            .with_context(|| format!("loading signing key {reference}"))?;
            Ok(BuiltSigner {
                signer: Arc::new(signer),
                what: reference,
                keyless: None,
                tsa: None,
            })
        }
        Choice::Keyless => {
            let signer = Arc::new(keyless_signer(flags, config)?);
            let tsa = tsa_client(flags, signer.trusted_root(), timestamps)?;
            Ok(BuiltSigner {
                signer: Arc::clone(&signer) as Arc<dyn signing::AsyncSigner>,
                what: "a keyless certificate from Fulcio".into(),
                keyless: Some(signer),
                tsa,
            })
        }
    }
}

/// The timestamp authority of a keyless signature, when a bundle is written and one is
/// named (flag, else signing config).
fn tsa_client(
    flags: &SignerFlags,
    trust: &TrustedRoot,
    timestamps: bool,
) -> anyhow::Result<Option<TsaClient>> {
    if !timestamps {
        return Ok(None);
    }
    let url = match (&flags.timestamp_server_url, &flags.signing_config) {
        (Some(u), _) => u.clone(),
        (None, Some(path)) => {
            let bytes =
                std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
            match fulcio::tsa_url_from_signing_config(&bytes) {
                Some(u) => u,
                None => return Ok(None),
            }
        }
        (None, None) => return Ok(None),
    };
    let authorities = tsa::authorities(&trust.timestamp_authorities)
        .context("the trusted root's timestamp authorities")?;
    if authorities.is_empty() {
        bail!(
            "timestamp authority {url}: the trusted root has no timestampAuthorities to check \
             its timestamps against"
        );
    }
    Ok(Some(TsaClient::new(
        &url,
        authorities,
        std::time::Duration::from_secs(30),
    )?))
}

fn keyless_signer(flags: &SignerFlags, config: &Config) -> anyhow::Result<KeylessSigner> {
    let x = &config.x509;
    if let Some(p) = x.fulcio_provider.as_deref().filter(|p| !p.is_empty())
        && p != "filesystem"
    {
        bail!(
            "signers.x509.fulcio.provider: {p:?} is not supported: use \"filesystem\" with \
             signers.x509.identity.token.file (or --identity-token / --identity-token-file)"
        );
    }
    let fulcio_url = match (&flags.fulcio_url, &flags.signing_config) {
        (Some(u), _) => u.clone(),
        (None, Some(path)) => {
            let bytes =
                std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
            fulcio::fulcio_url_from_signing_config(&bytes)
                .with_context(|| format!("in signing config {}", path.display()))?
        }
        (None, None) => {
            let u = &x.fulcio_address;
            if reqwest::Url::parse(u).is_err() {
                bail!("signers.x509.fulcio.address: {u:?} is not a URL");
            }
            u.clone()
        }
    };
    let tokens = if let Some(t) = &flags.identity_token {
        TokenSource::Static(Secret::new(t.expose().trim()))
    } else if let Some(f) = &flags.identity_token_file {
        TokenSource::File(f.clone())
    } else if let Some(sa) = &flags.service_account {
        let Some((namespace, name)) = sa
            .split_once('/')
            .filter(|(n, a)| !n.is_empty() && !a.is_empty() && !a.contains('/'))
        else {
            bail!("--service-account {sa:?}: expected NAMESPACE/NAME");
        };
        let client = kube::KubeClient::from_env(None)
            .map_err(|e| anyhow::anyhow!(super::error_chain(&e)))?;
        TokenSource::TokenRequest(Box::new(kube::TokenRequestSource {
            client,
            namespace: namespace.to_owned(),
            name: name.to_owned(),
            audience: "sigstore".to_owned(),
        }))
    } else if let Some(f) = x.identity_token_file.as_deref().filter(|f| !f.is_empty()) {
        TokenSource::File(PathBuf::from(f))
    } else if std::env::var("SIGSTORE_ID_TOKEN").is_ok_and(|v| !v.trim().is_empty()) {
        TokenSource::Env("SIGSTORE_ID_TOKEN".into())
    } else {
        bail!(
            "keyless signing needs an identity token: --identity-token, --identity-token-file, \
             signers.x509.identity.token.file or SIGSTORE_ID_TOKEN"
        );
    };
    let trust = match &flags.trusted_root {
        Some(p) => TrustedRoot::from_file(p)
            .map_err(|e| anyhow::anyhow!(super::error_chain(&e)))
            .with_context(|| format!("reading trusted root {}", p.display()))?,
        None => TrustedRoot::public_good()?,
    };
    let mut options = KeylessOptions::new(fulcio_url, tokens);
    options.require_sct = !flags.insecure_ignore_sct;
    KeylessSigner::new(options, trust)
        .map_err(|e| anyhow::anyhow!(super::error_chain(&e)))
        .context("setting up keyless signing")
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
