//! `hallmark controller`: the daemon beside Tekton (see [`crate::controller`]).
//!
//! Flags choose where the configuration comes from (`--configmap NS/NAME`, hot-reloaded,
//! or `--config FILE`), the signer (the configuration's, or the signer flags), the
//! namespaces, the workers, leader election and the metrics address.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use anyhow::{Context as _, bail};

use super::Outcome;
use super::registry::RegistryArgs;
use super::sign::SignerFlags;
use crate::controller::engine::Engine;
use crate::controller::record::DecideOptions;
use crate::controller::settings::{SettingsOptions, build_settings};
use crate::controller::{self, Controller, RunOptions};
use crate::rekor::upload::DsseEntryKind;
use crate::signing::build::{self, SignerRequest, SigningSecrets};

/// Parse `15s`, `2m`, `1h30m`, `500ms` (jiff's friendly duration format).
fn duration(s: &str) -> Result<Duration, String> {
    let d: jiff::SignedDuration = s
        .parse()
        .map_err(|e| format!("{s:?} is not a duration like 15s, 2m or 1h30m: {e}"))?;
    Duration::try_from(d).map_err(|_| format!("{s:?}: a duration must not be negative"))
}

fn dir_source(s: &str) -> Result<PathBuf, String> {
    s.strip_prefix("dir:")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .ok_or_else(|| format!("{s:?}: expected dir:PATH"))
}

fn layout_output(s: &str) -> Result<PathBuf, String> {
    s.strip_prefix("oci-layout:")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .ok_or_else(|| format!("{s:?}: expected oci-layout:PATH"))
}

fn ns_name(s: &str) -> Result<(String, String), String> {
    s.split_once('/')
        .filter(|(n, a)| !n.is_empty() && !a.is_empty() && !a.contains('/'))
        .map(|(n, a)| (n.to_owned(), a.to_owned()))
        .ok_or_else(|| format!("{s:?}: expected NAMESPACE/NAME"))
}

/// Flags of `hallmark controller`.
#[derive(Debug, Clone, clap::Args)]
pub struct ControllerArgs {
    /// The kubeconfig (default: `KUBECONFIG`, `~/.kube/config`, else the pod's service
    /// account).
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,

    /// Watch only this namespace (repeatable). Default: all namespaces.
    #[arg(long = "namespace", value_name = "NS")]
    pub namespaces: Vec<String>,

    /// The Chains configuration ConfigMap (`chains-config` keys), watched: a change
    /// rebuilds the signers and re-queues runs that waited on a configuration problem.
    #[arg(long, value_name = "NS/NAME", value_parser = ns_name, conflicts_with = "config")]
    pub configmap: Option<(String, String)>,

    /// The Chains configuration as a file (a ConfigMap manifest or a flat map of its
    /// keys). Read once at start-up.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Chains' `signing-secrets` Secret (`cosign.key` + `cosign.password`, or `x509.pem`),
    /// read through the API at start-up and on every configuration change. Default: the
    /// directory Chains mounts it at (`/etc/signing-secrets`), when present.
    #[arg(long, value_name = "NS/NAME", value_parser = ns_name)]
    pub signing_secrets: Option<(String, String)>,

    /// The signer, overriding the configuration's (`--key` takes a file,
    /// `k8s://NS/SECRET`, `hashivault://KEY`; `--keyless` signs through Fulcio).
    #[command(flatten)]
    pub signer: SignerFlags,

    /// Concurrent workers (runs signed and published at once).
    #[arg(long, default_value_t = 8, value_name = "N")]
    pub workers: usize,

    /// Leader election on this Lease (`NAMESPACE/NAME`): only the holder works. Without
    /// it, run a single replica.
    #[arg(long, value_name = "NS/NAME", value_parser = ns_name)]
    pub lease: Option<(String, String)>,

    /// How long a Lease holds without renewal (renewed every third of it).
    #[arg(long, default_value = "15s", value_parser = duration, value_name = "DURATION")]
    pub lease_duration: Duration,

    /// This replica's identity (claims, Lease holder, Events). Default: `$POD_NAME`, else
    /// the host name, with the process id.
    #[arg(long, value_name = "ID")]
    pub identity: Option<String>,

    /// Where to serve `/metrics`, `/healthz` and `/readyz`.
    #[arg(long, default_value = "127.0.0.1:9090", value_name = "ADDR")]
    pub metrics_addr: std::net::SocketAddr,

    /// Failed attempts retried before a run is recorded `failed`.
    #[arg(long, default_value_t = 3, value_name = "N")]
    pub max_retries: u32,

    /// The first retry's delay; each retry doubles it (at most 64 times).
    #[arg(long, default_value = "2s", value_parser = duration, value_name = "DURATION")]
    pub retry_base: Duration,

    /// How long a run being deleted may wait for its signature before the finalizer is
    /// released anyway.
    #[arg(long, default_value = "60s", value_parser = duration, value_name = "DURATION")]
    pub finalizer_deadline: Duration,

    /// After SIGTERM/SIGINT, how long runs in flight may take to finish (nothing new is
    /// started); keep it below the pod's `terminationGracePeriodSeconds`.
    #[arg(long, default_value = "20s", value_parser = duration, value_name = "DURATION")]
    pub shutdown_grace: Duration,

    /// A claim older than this (its controller died) is taken over.
    #[arg(long, default_value = "5m", value_parser = duration, value_name = "DURATION")]
    pub claim_ttl: Duration,

    /// The Rekor v1 entry type of attestations.
    #[arg(long, value_enum, default_value_t = super::attest::EntryKind::Dsse, value_name = "KIND")]
    pub rekor_entry_type: super::attest::EntryKind,

    /// How to reach registries.
    #[command(flatten)]
    pub registry: RegistryArgs,

    /// Embedded mode, without a cluster: sign the run files (TaskRuns, PipelineRuns; JSON
    /// or YAML) in this directory (`dir:PATH`) instead of watching a cluster. Needs
    /// `--once` and `--output`. Without a signer flag or configuration, a key pair is
    /// created on first use beside the output (`hallmark.key`, `hallmark.pub`; password
    /// from `COSIGN_PASSWORD`, empty by default).
    #[arg(long, value_name = "dir:PATH", value_parser = dir_source, requires_all = ["once", "output"],
          conflicts_with_all = ["kubeconfig", "namespaces", "configmap", "lease", "signing_secrets"])]
    pub source: Option<PathBuf>,

    /// Embedded mode: process the runs found, then exit (0 when every finished run was
    /// signed and published, 2 otherwise).
    #[arg(long, requires = "source")]
    pub once: bool,

    /// Embedded mode: the OCI image layout to write the attestations and signatures into
    /// (`oci-layout:PATH`, created when missing), with a generated image for each image
    /// result whose digest is that image's. `hallmark verify oci-layout:PATH@sha256:...`
    /// reads it.
    #[arg(long, value_name = "oci-layout:PATH", value_parser = layout_output, requires = "source")]
    pub output: Option<PathBuf>,

    /// Tests only: honour `HALLMARK_FAILPOINT=after-sign|after-rekor|after-oci`, which makes
    /// the process exit at that step.
    #[arg(long, hide = true)]
    pub insecure_test_failpoints: bool,
}

fn identity(args: &ControllerArgs) -> String {
    if let Some(i) = &args.identity {
        return i.clone();
    }
    let host = std::env::var("POD_NAME")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .or_else(|| {
            std::fs::read_to_string("/etc/hostname")
                .ok()
                .map(|h| h.trim().to_owned())
        })
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "hallmark".into());
    format!("{host}-{}", std::process::id())
}

impl ControllerArgs {
    fn settings_options(&self) -> SettingsOptions {
        SettingsOptions {
            request: SignerRequest::from(&self.signer),
            entry_kind: match self.rekor_entry_type {
                super::attest::EntryKind::Dsse => DsseEntryKind::Dsse,
                super::attest::EntryKind::Intoto => DsseEntryKind::Intoto,
            },
            max_retries: self.max_retries,
            retry_base: self.retry_base,
            log_timeout: Duration::from_secs(30),
        }
    }
}

/// Chains' signing secrets: the Secret named by `--signing-secrets` (read through the
/// API), else the mounted directory Chains uses, when present.
async fn signing_secrets(
    client: &::kube::Client,
    reference: Option<&(String, String)>,
) -> anyhow::Result<Option<SigningSecrets>> {
    if let Some((ns, name)) = reference {
        let api: ::kube::Api<k8s_openapi::api::core::v1::Secret> =
            ::kube::Api::namespaced(client.clone(), ns);
        let secret = api
            .get_opt(name)
            .await
            .with_context(|| format!("--signing-secrets: reading Secret {ns}/{name}"))?
            .with_context(|| format!("--signing-secrets: no Secret {ns}/{name}"))?;
        let data = secret
            .data
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| (k, v.0))
            .collect();
        return Ok(Some(SigningSecrets::from_data(data)));
    }
    let dir = std::path::Path::new(build::CHAINS_SECRETS_DIR);
    if dir.is_dir() {
        return Ok(Some(
            SigningSecrets::from_dir(dir).map_err(|e| anyhow::anyhow!(super::error_chain(&e)))?,
        ));
    }
    Ok(None)
}

/// Run `hallmark controller`.
///
/// # Errors
///
/// Unusable flags, no Kubernetes configuration, or a metrics address in use.
pub fn run(args: &ControllerArgs) -> anyhow::Result<Outcome> {
    if args.workers == 0 {
        bail!("--workers must be at least 1");
    }
    crate::controller::engine::set_failpoints_enabled(args.insecure_test_failpoints);
    if let (Some(source), Some(output)) = (&args.source, &args.output) {
        return run_embedded(args, source, output);
    }
    let own_registry_config = args.registry.own_config()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async {
        let client = controller::kube::client(args.kubeconfig.as_deref())
            .await
            .map_err(|e| anyhow::anyhow!(super::error_chain(&e)))?;
        let data = match (&args.configmap, &args.config) {
            (Some((ns, name)), _) => controller::kube::configmap_data(&client, ns, name)
                .await
                .with_context(|| format!("reading ConfigMap {ns}/{name}"))?
                .unwrap_or_default(),
            (None, Some(path)) => {
                let bytes =
                    std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
                crate::config::document_map(&bytes)
                    .with_context(|| format!("in {}", path.display()))?
            }
            (None, None) => BTreeMap::new(),
        };
        let identity = identity(args);
        let store = controller::kube::KubeStore::new(client.clone(), &identity);
        let options = args.settings_options();
        let secrets = signing_secrets(&client, args.signing_secrets.as_ref()).await?;
        let (settings, keyless) = build_settings(&options, &data, secrets.as_ref()).await;
        let keyless = Arc::new(std::sync::Mutex::new(keyless));
        let registries = controller::credentials::KubeRegistries::new(
            client.clone(),
            args.registry
                .options(crate::oci::client::CredentialSource::Anonymous),
            own_registry_config.as_deref(),
        )
        .map_err(|e| anyhow::anyhow!(super::error_chain(&e)))?;
        let engine = Engine {
            store,
            registries,
            settings: std::sync::RwLock::new(Arc::new(settings)),
            decide: DecideOptions {
                holder: identity.clone(),
                claim_ttl: args.claim_ttl,
                finalizer_deadline: args.finalizer_deadline,
            },
            signatures: std::sync::atomic::AtomicU64::new(0),
        };
        let ctl = Controller::new(engine);
        let ready = Arc::new(AtomicBool::new(false));
        let listener = tokio::net::TcpListener::bind(args.metrics_addr)
            .await
            .with_context(|| format!("--metrics-addr {}", args.metrics_addr))?;
        let refresh: Arc<dyn Fn() + Send + Sync> = {
            let (m, q, k, e) = (
                Arc::clone(&ctl.metrics),
                Arc::clone(&ctl.queue),
                Arc::clone(&keyless),
                Arc::clone(&ctl.engine),
            );
            let (last_requests, last_signatures) = (
                std::sync::atomic::AtomicU64::new(0),
                std::sync::atomic::AtomicU64::new(0),
            );
            Arc::new(move || {
                let (depth, oldest) = q.depth();
                m.queue_depth.set(i64::try_from(depth).unwrap_or(i64::MAX));
                m.queue_oldest.set(oldest);
                if let Ok(k) = k.lock() {
                    let requests: u64 = k.iter().map(|s| s.certificate_requests()).sum();
                    controller::metrics::advance(&m.fulcio_requests, &last_requests, requests);
                }
                let made = e.signatures.load(std::sync::atomic::Ordering::Relaxed);
                controller::metrics::advance(&m.signatures, &last_signatures, made);
            })
        };
        tokio::spawn(controller::metrics::serve(
            listener,
            Arc::clone(&ctl.metrics),
            Arc::clone(&ready),
            refresh,
        ));
        if let Some((ns, name)) = args.configmap.clone() {
            let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
            tokio::spawn(controller::kube::watch_configmap(
                client.clone(),
                ns,
                name,
                move |d| {
                    let _ = tx.send(d);
                },
            ));
            let (ctl2, args2, client2) = (ctl.clone(), args.clone(), client.clone());
            tokio::spawn(async move {
                let mut first = true;
                while let Some(d) = rx.recv().await {
                    if first {
                        // The initial state was read at start-up.
                        first = false;
                        continue;
                    }
                    tracing::info!("configuration changed: rebuilding the signers");
                    let secrets =
                        match signing_secrets(&client2, args2.signing_secrets.as_ref()).await {
                            Ok(s) => s,
                            Err(e) => {
                                tracing::error!("{e:#}");
                                None
                            }
                        };
                    let (settings, k) =
                        build_settings(&args2.settings_options(), &d, secrets.as_ref()).await;
                    if let Ok(mut slot) = keyless.lock() {
                        *slot = k;
                    }
                    ctl2.engine.replace_settings(settings);
                    ctl2.unpark();
                }
            });
        }
        let opts = RunOptions {
            namespaces: args.namespaces.clone(),
            workers: args.workers,
            lease: args.lease.clone(),
            lease_duration: args.lease_duration,
            identity,
            shutdown_grace: args.shutdown_grace,
        };
        controller::run_in_cluster(client, ctl, &opts, ready).await;
        anyhow::Ok(())
    })?;
    Ok(Outcome::Pass)
}

/// The images named by a run's `IMAGE_URL`/`IMAGE_DIGEST` results (also `*_IMAGE_URL` /
/// `*_IMAGE_DIGEST` pairs), as `(url, digest)`.
fn image_results(run: &serde_json::Value) -> Vec<(String, String)> {
    let results: BTreeMap<String, String> = run["status"]["results"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| {
            Some((
                r["name"].as_str()?.to_owned(),
                r["value"].as_str()?.trim().to_owned(),
            ))
        })
        .collect();
    results
        .iter()
        .filter_map(|(name, url)| {
            let prefix = name.strip_suffix("IMAGE_URL")?;
            let digest = results.get(&format!("{prefix}IMAGE_DIGEST"))?;
            Some((url.clone(), digest.clone()))
        })
        .collect()
}

/// Write a private key readable by its owner only.
fn write_private(path: &std::path::Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut f = options
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    f.write_all(bytes)
        .with_context(|| format!("writing {}", path.display()))
}

/// `hallmark controller --source dir:PATH --once --output oci-layout:PATH`.
fn run_embedded(
    args: &ControllerArgs,
    source: &std::path::Path,
    output: &std::path::Path,
) -> anyhow::Result<Outcome> {
    use crate::controller::embedded::DirStore;
    use crate::controller::engine::{Outcome as RunOutcome, RunStore as _};
    use crate::oci::image_layout::{ImageLayout, generated_image};

    let data = match &args.config {
        Some(path) => {
            let bytes =
                std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
            crate::config::document_map(&bytes).with_context(|| format!("in {}", path.display()))?
        }
        None => BTreeMap::new(),
    };
    // The attestations go into the layout unless the configuration says otherwise
    // (Chains' default storage for runs is `tekton`, the run's annotations).
    let mut data = data;
    for key in ["artifacts.taskrun.storage", "artifacts.pipelinerun.storage"] {
        data.entry(key.to_owned())
            .or_insert_with(|| "oci".to_owned());
    }
    let layout =
        ImageLayout::create(output).map_err(|e| anyhow::anyhow!(super::error_chain(&e)))?;
    let store = DirStore::load(source, &output.join("hallmark-state.json"))
        .map_err(|e| anyhow::anyhow!(super::error_chain(&e)))?;
    let mut options = args.settings_options();
    let config = crate::config::Config::from_map(&data)
        .map(|(c, _)| c)
        .unwrap_or_default();
    let configured = config.x509.fulcio_enabled
        || [&config.taskrun, &config.pipelinerun, &config.oci]
            .iter()
            .any(|a| a.signer == crate::config::SignerKind::Kms);
    if options.request.key.is_none() && !options.request.keyless && !configured {
        let dir = output
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(std::path::Path::new("."));
        let key = dir.join("hallmark.key");
        if !key.exists() {
            // cosign's encrypted format when COSIGN_PASSWORD is set; otherwise a plain
            // PKCS#8 key (readable by its owner only), which needs no password to load.
            let (private_pem, public_pem) = match crate::signing::password_from_env()? {
                Some(password) => {
                    let pair = crate::signing::generate_key_pair(&password)
                        .map_err(|e| anyhow::anyhow!(super::error_chain(&e)))?;
                    (pair.private_pem, pair.public_pem)
                }
                None => {
                    let signer = crate::signing::LocalSigner::generate_p256()
                        .map_err(|e| anyhow::anyhow!(super::error_chain(&e)))?;
                    let der = signer
                        .to_pkcs8_der()
                        .map_err(|e| anyhow::anyhow!(super::error_chain(&e)))?;
                    let pem = pem_rfc7468::encode_string(
                        "PRIVATE KEY",
                        pem_rfc7468::LineEnding::LF,
                        &der,
                    )
                    .map_err(|e| anyhow::anyhow!("encoding the key: {e}"))?;
                    (zeroize::Zeroizing::new(pem), signer.public().to_pem())
                }
            };
            write_private(&key, private_pem.as_bytes())?;
            let public = dir.join("hallmark.pub");
            std::fs::write(&public, public_pem.as_bytes())
                .with_context(|| format!("writing {}", public.display()))?;
            eprintln!(
                "created a signing key pair: {} and {}",
                key.display(),
                public.display()
            );
        }
        options.request.key = Some(key.to_string_lossy().into_owned());
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let outcomes = runtime.block_on(async {
        // The images the runs name, generated into the layout where the name gives the
        // digest the run recorded.
        for key in store.keys() {
            let Ok(Some(obj)) = store.get(&key).await else { continue };
            for (url, digest) in image_results(&obj) {
                let generated = generated_image(&url);
                if crate::oci::Digest::of(&generated.manifest).to_string() == digest {
                    layout
                        .write_generated_image(&url)
                        .map_err(|e| anyhow::anyhow!(super::error_chain(&e)))?;
                } else {
                    tracing::info!(image = %url, %digest, "not generated: the digest is not hallmark's generated image of that name");
                }
            }
        }
        let (settings, _keyless) = build_settings(&options, &data, None).await;
        let engine = Engine {
            store,
            registries: crate::controller::credentials::Fixed(Arc::new(layout)),
            settings: std::sync::RwLock::new(Arc::new(settings)),
            decide: DecideOptions {
                holder: "embedded".into(),
                claim_ttl: args.claim_ttl,
                finalizer_deadline: args.finalizer_deadline,
            },
            signatures: std::sync::atomic::AtomicU64::new(0),
        };
        let mut outcomes = Vec::new();
        for key in engine.store.keys() {
            let mut outcome = engine.process(&key).await;
            let mut attempts = 0;
            while matches!(outcome, RunOutcome::Retry(..)) && attempts < args.max_retries {
                attempts += 1;
                outcome = engine.process(&key).await;
            }
            outcomes.push((key, outcome));
        }
        anyhow::Ok(outcomes)
    })?;
    let mut failed = false;
    for (key, outcome) in &outcomes {
        match outcome {
            RunOutcome::Recorded { signed: true, .. } => outln!("{key}: signed"),
            RunOutcome::Skipped(why) => outln!("{key}: skipped ({why})"),
            RunOutcome::Recorded { signed: false, .. } => {
                failed = true;
                eprintln!(
                    "hallmark: {key}: failed (see hallmark.dev/reason in {})",
                    output.join("hallmark-state.json").display()
                );
            }
            RunOutcome::Retry(_, why) | RunOutcome::Waiting(why) | RunOutcome::Later(_, why) => {
                failed = true;
                eprintln!("hallmark: {key}: not signed: {why}");
            }
            RunOutcome::Released => {}
        }
    }
    Ok(if failed {
        Outcome::Error
    } else {
        Outcome::Pass
    })
}

#[cfg(test)]
#[allow(clippy::panic)]
mod tests {
    use super::*;

    /// The README's main job signs `testdata/embedded/`: each image it names must be the
    /// image hallmark generates for that name, so the layout holds what it attests.
    #[test]
    fn embedded_testdata_names_generated_images() {
        let dir = crate::test_support::repo_dir().join("testdata/embedded");
        let mut seen = 0;
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{e}")) {
            let path = entry.unwrap_or_else(|e| panic!("{e}")).path();
            let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{e}"));
            let run: serde_json::Value =
                serde_yaml_ng::from_slice(&bytes).unwrap_or_else(|e| panic!("{e}"));
            for (url, digest) in image_results(&run) {
                let want = crate::oci::Digest::of(
                    &crate::oci::image_layout::generated_image(&url).manifest,
                );
                assert_eq!(digest, want.to_string(), "{}: {url}", path.display());
                seen += 1;
            }
        }
        assert!(seen > 0, "no image results in {}", dir.display());
    }

    #[test]
    fn embedded_mode_flags_are_checked_up_front() {
        use clap::Parser as _;
        let parse = |args: &[&str]| {
            crate::cli::Cli::try_parse_from(["hallmark", "controller"].iter().chain(args).copied())
        };
        assert!(parse(&["--source", "dir:x", "--once", "--output", "oci-layout:y"]).is_ok());
        assert!(parse(&["--source", "dir:x", "--output", "oci-layout:y"]).is_err());
        assert!(parse(&["--source", "x", "--once", "--output", "oci-layout:y"]).is_err());
        assert!(
            parse(&[
                "--source",
                "dir:x",
                "--once",
                "--output",
                "oci-layout:y",
                "--lease",
                "a/b"
            ])
            .is_err()
        );
        assert!(parse(&["--once"]).is_err());
    }
}
