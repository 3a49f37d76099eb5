//! Building the controller's [`Settings`] from a configuration: the signers of each
//! artifact kind (through [`crate::signing::build`], once per distinct signer), the
//! transparency log (`transparency.url`, or the Rekor v1/v2 log of the hallmark-only
//! `transparency.signing-config`), and the trust that checks log entries.
//!
//! A bad configuration does not stop the controller: the problem (naming the key) becomes
//! [`Settings::signers`]' error, runs wait unsigned with that reason, and a fixed
//! configuration (a ConfigMap change) signs them.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use super::engine::{Settings, SignerHandle, Signers};
use crate::config::{Config, SignerKind};
use crate::rekor::RekorClient;
use crate::rekor::upload::{DsseEntryKind, LogTarget};
use crate::signing::build::{self, SignerRequest, SigningSecrets};
use crate::signing::fulcio::KeylessSigner;
use crate::trust::TrustedRoot;
use crate::trust::signing_config::SigningConfig;

/// What the command line adds to the configuration.
#[derive(Debug, Clone, Default)]
pub struct SettingsOptions {
    /// The signer the command line asks for (empty: the configuration's).
    pub request: SignerRequest,
    /// How attestations are recorded in Rekor v1.
    pub entry_kind: DsseEntryKind,
    /// The retry budget.
    pub max_retries: u32,
    /// The first retry's delay.
    pub retry_base: Duration,
    /// Rekor request timeout.
    pub log_timeout: Duration,
}

fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

/// The settings `data` (a `chains-config` map) implies, with `secrets` (Chains'
/// `signing-secrets`). Also returns the keyless signers, for the certificate-reuse metric.
pub async fn build_settings(
    opts: &SettingsOptions,
    data: &BTreeMap<String, String>,
    secrets: Option<&SigningSecrets>,
) -> (Settings, Vec<Arc<KeylessSigner>>) {
    let mut keyless = Vec::new();
    let (config, problem) = match Config::from_map(data) {
        Ok((c, warnings)) => {
            for w in warnings {
                tracing::warn!("configuration: {w}");
            }
            (c, None)
        }
        Err(e) => (Config::default(), Some(chain(&e))),
    };
    let trust = match &opts.request.trusted_root {
        Some(p) => TrustedRoot::from_file(p)
            .map_err(|e| format!("--trusted-root {}: {}", p.display(), chain(&e))),
        None => TrustedRoot::public_good().map_err(|e| chain(&e)),
    };
    let mut request = opts.request.clone();
    if request.signing_config.is_none()
        && let Some(sc) = &config.transparency.signing_config
    {
        request.signing_config = Some(sc.into());
    }
    let (log, log_problem) = log_target(&config, opts);
    let signers = match (problem, log_problem, &trust) {
        (Some(p), _, _) | (None, Some(p), _) => Err(p),
        (None, None, Err(e)) => Err(e.clone()),
        (None, None, Ok(_)) => build_signers(&request, &config, secrets, &mut keyless).await,
    };
    if let Err(e) = &signers {
        tracing::error!(problem = %e, "configuration problem: runs stay unsigned until it is fixed");
    }
    let settings = Settings {
        config,
        signers,
        log,
        trust: Arc::new(trust.unwrap_or_default()),
        max_retries: opts.max_retries,
        retry_base: opts.retry_base,
    };
    (settings, keyless)
}

/// One signer per distinct configured kind (`x509`, `kms`), shared by the artifact kinds
/// that use it: a keyless signer is built once, so its certificate serves every kind.
async fn build_signers(
    request: &SignerRequest,
    config: &Config,
    secrets: Option<&SigningSecrets>,
    keyless: &mut Vec<Arc<KeylessSigner>>,
) -> Result<Signers, String> {
    let mut built: BTreeMap<u8, SignerHandle> = BTreeMap::new();
    let mut handle = async |kind: SignerKind| -> Result<Option<SignerHandle>, String> {
        let slot = match kind {
            SignerKind::None => return Ok(None),
            SignerKind::X509 => 0u8,
            SignerKind::Kms => 1u8,
        };
        if let Some(h) = built.get(&slot) {
            return Ok(Some(h.clone()));
        }
        let b = build::build(request, config, secrets, kind, true)
            .await
            .map_err(|e| match e.config_key() {
                Some(k) if !chain(&e).contains(k) => format!("{k}: {}", chain(&e)),
                _ => chain(&e),
            })?;
        if let Some(k) = &b.keyless {
            keyless.push(Arc::clone(k));
        }
        let h = SignerHandle {
            signer: b.signer,
            what: b.what,
            tsa: b.tsa,
        };
        built.insert(slot, h.clone());
        Ok(Some(h))
    };
    let mut slot = async |a: &crate::config::ArtifactConfig| {
        if a.enabled() {
            handle(a.signer).await
        } else {
            Ok(None)
        }
    };
    let taskrun = slot(&config.taskrun).await;
    let pipelinerun = slot(&config.pipelinerun).await;
    let oci = slot(&config.oci).await;
    for (kind, s) in [
        ("taskrun", &taskrun),
        ("pipelinerun", &pipelinerun),
        ("oci", &oci),
    ] {
        if let Err(e) = s {
            tracing::error!(kind, problem = %e, "configuration problem: these runs stay unsigned until it is fixed");
        }
    }
    Ok(Signers {
        taskrun,
        pipelinerun,
        oci,
    })
}

/// The transparency log, when `transparency.enabled`: the signing config's first Rekor
/// log valid now (v1 or v2), else `transparency.url` (v1). The second value is a
/// configuration problem.
fn log_target(config: &Config, opts: &SettingsOptions) -> (Option<LogTarget>, Option<String>) {
    if !config.transparency.enabled {
        return (None, None);
    }
    let timeout = opts.log_timeout.max(Duration::from_secs(20));
    if let Some(path) = &config.transparency.signing_config {
        let service = std::fs::read(path)
            .map_err(|e| format!("transparency.signing-config: reading {path}: {e}"))
            .and_then(|b| {
                SigningConfig::from_json(&b)
                    .map_err(|e| format!("transparency.signing-config: {path}: {}", chain(&e)))
            })
            .and_then(|sc| {
                sc.rekor_logs(&[1, 2], jiff::Timestamp::now())
                    .map_err(|e| format!("transparency.signing-config: {path}: {}", chain(&e)))
            })
            .and_then(|logs| {
                logs.into_iter().next().ok_or_else(|| {
                    format!("transparency.signing-config: {path} names no Rekor log valid now")
                })
            });
        return match service.and_then(|s| {
            LogTarget::from_service(&s, opts.entry_kind, timeout).map_err(|e| chain(&e))
        }) {
            Ok(t) => (Some(t), None),
            Err(e) => (None, Some(e)),
        };
    }
    match RekorClient::new(&config.transparency.url, timeout) {
        Ok(client) => (
            Some(LogTarget::V1 {
                client,
                kind: opts.entry_kind,
            }),
            None,
        ),
        Err(e) => (None, Some(format!("transparency.url: {}", chain(&e)))),
    }
}
