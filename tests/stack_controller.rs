//! `hallmark controller` on the stack's real kube-apiserver, registry and Rekor (issue 9).
//!
//! One test, in phases, because it stops the stack's Tekton Chains controller for its
//! duration (Chains signs every finished TaskRun in every namespace, and hallmark leaves
//! runs Chains signed alone) and starts it again at the end, even on failure:
//!
//! 1. **Signing.** TaskRuns finished with `tests/stack/complete-run` get attestations that
//!    cosign v2 `verify-attestation` accepts and `.sig` signatures that `cosign verify`
//!    accepts; counted in the registry (one `.att` layer, one `.sig` layer per image) and
//!    in Rekor (one entry per attestation and per image signature, found by rekor-cli).
//! 2. **PipelineRun** with three children: the children are signed first, then the
//!    PipelineRun, whose attestation cosign accepts.
//! 3. **Failpoints.** The controller exits at `after-sign`, `after-rekor` and `after-oci`; a
//!    restarted controller finishes, and every count is still one.
//! 4. **Configuration.** With a ConfigMap naming a KMS key that does not exist, a run stays
//!    unsigned with a reason and a Warning Event; fixing the ConfigMap signs it without a
//!    restart.
//! 5. **Chains' runs** (signed through `tests/stack/chains-sample` before Chains stops) are
//!    left alone.
//! 6. **Deletion** of a run that cannot be published (its registry is unreachable)
//!    completes within 3x the finalizer deadline.
//! 7. **Secrets.** The key's password appears in no log, Event, annotation or metric.
//!
//! Needs the stack (`eval "$(tests/stack/env)"`); skipped without it unless
//! `HALLMARK_REQUIRE_STACK=1`.
#![allow(clippy::panic, clippy::expect_used)] // Tests report failures by panicking.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::peers::{ok, run, stdout};

const HM: &str = env!("CARGO_BIN_EXE_hallmark");
const CANARY: &str = "canary-pw-7d1e94c0";

struct Stack {
    registry: String,
    rekor: String,
    rekor_pubkey: String,
    rekor_cli: String,
    trusted_root: String,
    cosign2: String,
    crane: String,
    kubectl: String,
    complete_run: String,
    chains_sample: String,
    vault_key: String,
}

fn stack() -> Option<Stack> {
    let var = |n: &str| std::env::var(n).ok().filter(|v| !v.is_empty());
    let s = (|| {
        Some(Stack {
            registry: var("HALLMARK_STACK_REGISTRY")?,
            rekor: var("HALLMARK_STACK_REKOR_URL")?,
            rekor_pubkey: var("HALLMARK_STACK_REKOR_PUBKEY")?,
            rekor_cli: var("HALLMARK_STACK_REKOR_CLI")?,
            trusted_root: var("HALLMARK_STACK_TRUSTED_ROOT")?,
            cosign2: var("HALLMARK_STACK_COSIGN_V2")?,
            crane: var("HALLMARK_STACK_CRANE")?,
            kubectl: var("HALLMARK_STACK_KUBECTL")?,
            complete_run: var("HALLMARK_STACK_COMPLETE_RUN")?,
            chains_sample: var("HALLMARK_STACK_CHAINS_SAMPLE")?,
            vault_key: var("HALLMARK_STACK_VAULT_KEY")?,
        })
    })();
    if s.is_none() {
        assert!(
            std::env::var("HALLMARK_REQUIRE_STACK").as_deref() != Ok("1"),
            "HALLMARK_REQUIRE_STACK=1 but the stack's env is not set"
        );
        eprintln!("stack_controller: skipped, no stack (eval \"$(tests/stack/env)\" to run it)");
    }
    s
}

fn repo_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Stops a stack component for the test and starts it again when dropped.
struct Stopped(&'static str);

impl Stopped {
    fn new(component: &'static str) -> Self {
        let out = Command::new(repo_dir().join("tests/stack/stop"))
            .arg(component)
            .output()
            .expect("tests/stack/stop");
        ok(&out, &format!("tests/stack/stop {component}"));
        Self(component)
    }
}

impl Drop for Stopped {
    fn drop(&mut self) {
        let out = Command::new(repo_dir().join("tests/stack/start"))
            .arg(self.0)
            .output();
        if let Ok(o) = out
            && !o.status.success()
        {
            eprintln!(
                "tests/stack/start {} failed: {}",
                self.0,
                String::from_utf8_lossy(&o.stderr)
            );
        }
    }
}

/// A running controller, killed when dropped.
struct Controller {
    child: Child,
    log: PathBuf,
    metrics: String,
}

impl Controller {
    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Wait (bounded) for the process to exit; its status code.
    fn wait_exit(&mut self, limit: Duration) -> Option<i32> {
        let start = Instant::now();
        while start.elapsed() < limit {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        None
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Controller {
    fn drop(&mut self) {
        self.kill();
    }
}

struct Ctx<'a> {
    s: &'a Stack,
    dir: &'a Path,
    ns: String,
    key: PathBuf,
    pubkey: PathBuf,
    next_port: std::cell::Cell<u16>,
    logs: std::cell::RefCell<Vec<PathBuf>>,
}

fn json(out: &Output, what: &str) -> Value {
    ok(out, what);
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{what}: not JSON ({e}): {}", stdout(out)))
}

impl Ctx<'_> {
    fn kubectl(&self, args: &[&str]) -> Output {
        run(self.dir, &self.s.kubectl, args, &[])
    }

    fn kubectl_stdin(&self, args: &[&str], input: &str) -> Output {
        let mut c = Command::new(&self.s.kubectl)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("kubectl");
        use std::io::Write as _;
        c.stdin
            .take()
            .expect("stdin")
            .write_all(input.as_bytes())
            .expect("write");
        c.wait_with_output().expect("kubectl")
    }

    /// A fresh random image in the plain registry: `REPO@sha256:...`.
    fn image(&self, name: &str) -> String {
        let nonce = format!(
            "{name}-{}",
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or_default()
        );
        std::fs::write(self.dir.join("random.bin"), nonce.repeat(40)).expect("write");
        ok(
            &run(self.dir, "tar", &["-cf", "layer.tar", "random.bin"], &[]),
            "tar",
        );
        let repo = format!("{}/ctl/{name}", self.s.registry);
        ok(
            &run(
                self.dir,
                &self.s.crane,
                &[
                    "append",
                    "-f",
                    "layer.tar",
                    "-t",
                    &format!("{repo}:{nonce}"),
                ],
                &[],
            ),
            "crane append",
        );
        let d = stdout(&run(
            self.dir,
            &self.s.crane,
            &["digest", &format!("{repo}:{nonce}")],
            &[],
        ));
        assert!(d.starts_with("sha256:"), "crane digest: `{d}`");
        format!("{repo}@{d}")
    }

    /// Create a TaskRun whose results name `image`, and finish it.
    fn taskrun(&self, name: &str, image: &str, labels: &[(&str, &str)]) {
        let (repo, digest) = image.split_once('@').expect("REPO@DIGEST");
        let labels: serde_json::Map<String, Value> = labels
            .iter()
            .map(|(k, v)| ((*k).to_owned(), Value::String((*v).to_owned())))
            .collect();
        let tr = serde_json::json!({
            "apiVersion": "tekton.dev/v1", "kind": "TaskRun",
            "metadata": {"name": name, "namespace": self.ns, "labels": labels},
            "spec": {"taskSpec": {
                "results": [{"name": "IMAGE_URL"}, {"name": "IMAGE_DIGEST"}],
                "steps": [{"name": "build", "image": "busybox", "script": "true"}]}}
        });
        ok(
            &self.kubectl_stdin(&["create", "-f", "-"], &tr.to_string()),
            &format!("creating TaskRun {name}"),
        );
        ok(
            &run(
                self.dir,
                &self.s.complete_run,
                &[
                    &self.ns,
                    "taskrun",
                    name,
                    &format!("IMAGE_URL={repo}"),
                    &format!("IMAGE_DIGEST={digest}"),
                ],
                &[],
            ),
            "complete-run",
        );
    }

    fn get(&self, kind: &str, name: &str) -> Option<Value> {
        let out = self.kubectl(&["get", kind, name, "-n", &self.ns, "-o", "json"]);
        out.status
            .success()
            .then(|| serde_json::from_slice(&out.stdout).ok())
            .flatten()
    }

    fn annotation(&self, kind: &str, name: &str, key: &str) -> Option<String> {
        self.get(kind, name)?["metadata"]["annotations"][key]
            .as_str()
            .map(str::to_owned)
    }

    /// Wait at most `limit` for `cond`.
    fn wait(
        &self,
        limit: Duration,
        what: &str,
        mut cond: impl FnMut() -> bool,
        ctl: Option<&Controller>,
    ) {
        let start = Instant::now();
        while start.elapsed() < limit {
            if cond() {
                return;
            }
            std::thread::sleep(Duration::from_millis(250));
        }
        panic!(
            "timed out after {limit:?} waiting for {what}; controller log:\n{}",
            ctl.map(Controller::log_text).unwrap_or_default()
        );
    }

    fn wait_signed(&self, kind: &str, name: &str, ctl: &Controller) {
        self.wait(
            Duration::from_secs(60),
            &format!("{kind} {name} signed=true"),
            || {
                self.annotation(kind, name, "chains.tekton.dev/signed")
                    .as_deref()
                    == Some("true")
            },
            Some(ctl),
        );
    }

    fn controller(&self, extra: &[&str], env: &[(&str, &str)]) -> Controller {
        let port = self.next_port.get();
        self.next_port.set(port + 1);
        let log = self.dir.join(format!("controller-{port}.log"));
        self.logs.borrow_mut().push(log.clone());
        let metrics = format!("127.0.0.1:{port}");
        let mut c = Command::new(HM);
        c.args([
            "controller",
            "--namespace",
            &self.ns,
            "--metrics-addr",
            &metrics,
        ])
        .args([
            "--trusted-root",
            &self.s.trusted_root,
            "--insecure-test-failpoints",
        ])
        .args([
            "--retry-base",
            "1s",
            "--max-retries",
            "6",
            "--claim-ttl",
            "1s",
        ])
        .args(extra)
        .env("COSIGN_PASSWORD", CANARY)
        .env("RUST_LOG", "info,kube=warn")
        .env("DOCKER_CONFIG", self.dir.join("docker"))
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).expect("log file"));
        for (k, v) in env {
            c.env(k, v);
        }
        Controller {
            child: c.spawn().expect("starting hallmark controller"),
            log,
            metrics,
        }
    }

    fn config_file(&self, extra: &str) -> PathBuf {
        let p = self
            .dir
            .join(format!("config-{}.yaml", self.next_port.get()));
        std::fs::write(
            &p,
            format!(
                "artifacts.taskrun.storage: oci\nartifacts.pipelinerun.storage: oci\n\
                 artifacts.oci.storage: oci\ntransparency.enabled: \"true\"\n\
                 transparency.url: {}\n{extra}",
                self.s.rekor
            ),
        )
        .expect("config");
        p
    }

    /// Layers of the image's legacy `.att` or `.sig` manifest (0 when there is none).
    fn layers(&self, image: &str, suffix: &str) -> usize {
        let (repo, digest) = image.split_once('@').expect("REPO@DIGEST");
        let tag = format!("{repo}:{}.{suffix}", digest.replace(':', "-"));
        let out = run(self.dir, &self.s.crane, &["manifest", &tag], &[]);
        if !out.status.success() {
            return 0;
        }
        serde_json::from_slice::<Value>(&out.stdout)
            .ok()
            .and_then(|m| m["layers"].as_array().map(Vec::len))
            .unwrap_or(0)
    }

    /// Rekor entries found by `rekor-cli search --sha`.
    fn rekor_entries(&self, sha256: &str) -> usize {
        let out = run(
            self.dir,
            &self.s.rekor_cli,
            &[
                "search",
                "--rekor_server",
                &self.s.rekor,
                "--sha",
                sha256,
                "--format",
                "json",
            ],
            &[],
        );
        if !out.status.success() {
            return 0;
        }
        serde_json::from_slice::<Value>(&out.stdout)
            .ok()
            .and_then(|v| v["UUIDs"].as_array().map(Vec::len))
            .unwrap_or(0)
    }

    /// cosign v2 accepts the image's attestation (legacy `.att`, Rekor bundle checked
    /// offline) and its `.sig`.
    fn cosign_accepts(&self, image: &str, key: &Path) -> bool {
        let env = [("SIGSTORE_REKOR_PUBLIC_KEY", self.s.rekor_pubkey.as_str())];
        let key = key.to_string_lossy();
        let att = run(
            self.dir,
            &self.s.cosign2,
            &[
                "verify-attestation",
                "--key",
                &key,
                "--type",
                "slsaprovenance",
                "--rekor-url",
                &self.s.rekor,
                "--allow-insecure-registry",
                image,
            ],
            &env,
        );
        let sig = run(
            self.dir,
            &self.s.cosign2,
            &[
                "verify",
                "--key",
                &key,
                "--rekor-url",
                &self.s.rekor,
                "--allow-insecure-registry",
                image,
            ],
            &env,
        );
        att.status.success() && sig.status.success()
    }

    /// Each count is exactly one: `.att` and `.sig` layers, and Rekor entries for the
    /// attestation (by subject digest) and for the image signature (by payload digest).
    fn exactly_once(&self, image: &str) {
        assert_eq!(self.layers(image, "att"), 1, "{image}: .att layers");
        assert_eq!(self.layers(image, "sig"), 1, "{image}: .sig layers");
        let digest = image.split_once('@').expect("digest").1;
        assert_eq!(
            self.rekor_entries(digest),
            1,
            "{image}: Rekor entries of the attestation"
        );
        let payload = hallmark::publish::simplesigning_payload(
            &hallmark::oci::ImageRef::parse(image).expect("image ref"),
        );
        let sha = hex_sha256(&payload);
        assert_eq!(
            self.rekor_entries(&format!("sha256:{sha}")),
            1,
            "{image}: Rekor entries of the signature"
        );
    }
}

fn hex_sha256(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(bytes))
}

#[test]
fn controller_signs_publishes_and_records_every_run_once() {
    let Some(s) = stack() else { return };
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    std::fs::create_dir_all(dir.join("docker")).expect("docker dir");
    std::fs::write(dir.join("docker/config.json"), "{}").expect("docker config");

    // A run Chains signs, before Chains is stopped.
    let sample = run(dir, &s.chains_sample, &["hm-ctl-chains"], &[]);
    let sample = json(&sample, "tests/stack/chains-sample");
    let chains_run = sample["taskrun"].as_str().expect("taskrun").to_owned();
    let chains_image = sample["image"].as_str().expect("image").to_owned();

    let _chains = Stopped::new("chains");
    let ns = format!("hm-ctl-{}", std::process::id());
    let ctx = Ctx {
        s: &s,
        dir,
        ns: ns.clone(),
        key: dir.join("k.key"),
        pubkey: dir.join("k.pub"),
        next_port: std::cell::Cell::new(
            19300 + u16::try_from(std::process::id() % 500).unwrap_or(0),
        ),
        logs: std::cell::RefCell::default(),
    };
    ok(
        &run(
            dir,
            HM,
            &["generate-key-pair", "--output-key-prefix", "k"],
            &[("COSIGN_PASSWORD", CANARY)],
        ),
        "generate-key-pair",
    );
    let created = ctx.kubectl(&["create", "namespace", &ns]);
    ok(&created, "create namespace");
    let key = ctx.key.to_string_lossy().into_owned();
    let config = ctx.config_file("");
    let config = config.to_string_lossy().into_owned();
    let base = ["--config", config.as_str(), "--key", key.as_str()];

    // 1. Three TaskRuns.
    let images: Vec<String> = (0..3).map(|i| ctx.image(&format!("tr{i}"))).collect();
    for (i, image) in images.iter().enumerate() {
        ctx.taskrun(&format!("build-{i}"), image, &[]);
    }
    let mut ctl = ctx.controller(&base, &[]);
    for i in 0..3 {
        ctx.wait_signed("taskrun", &format!("build-{i}"), &ctl);
    }
    for image in &images {
        assert!(
            ctx.cosign_accepts(image, &ctx.pubkey),
            "cosign v2 refuses {image}"
        );
        ctx.exactly_once(image);
    }
    let run0 = ctx.get("taskrun", "build-0").expect("build-0");
    assert_eq!(run0["metadata"]["labels"]["hallmark.dev/state"], "done");
    assert!(
        run0["metadata"]["finalizers"]
            .as_array()
            .is_none_or(|f| f.is_empty()),
        "the finalizer is removed once recorded: {}",
        run0["metadata"]["finalizers"]
    );
    let transparency = run0["metadata"]["annotations"]["chains.tekton.dev/transparency"]
        .as_str()
        .unwrap_or_default();
    assert!(
        transparency.starts_with(&format!("{}/api/v1/log/entries?logIndex=", s.rekor)),
        "chains.tekton.dev/transparency: {transparency}"
    );
    // Another key does not verify.
    let other = dir.join("other");
    std::fs::create_dir_all(&other).expect("dir");
    ok(
        &run(
            &other,
            HM,
            &["generate-key-pair", "--output-key-prefix", "o"],
            &[],
        ),
        "keys",
    );
    assert!(
        !ctx.cosign_accepts(&images[0], &other.join("o.pub")),
        "cosign accepted another key"
    );

    // 2. A PipelineRun with three children.
    let pr_image = ctx.image("pr");
    let child_images: Vec<String> = (0..3).map(|i| ctx.image(&format!("child{i}"))).collect();
    for (i, image) in child_images.iter().enumerate() {
        ctx.taskrun(
            &format!("pr-1-task-{i}"),
            image,
            &[
                ("tekton.dev/pipelineRun", "pr-1"),
                ("tekton.dev/pipelineTask", &format!("task-{i}")),
            ],
        );
    }
    let (repo, digest) = pr_image.split_once('@').expect("digest");
    let pr = serde_json::json!({
        "apiVersion": "tekton.dev/v1", "kind": "PipelineRun",
        "metadata": {"name": "pr-1", "namespace": ns},
        "spec": {"pipelineSpec": {"tasks": [], "results": [
            {"name": "IMAGE_URL", "value": repo}, {"name": "IMAGE_DIGEST", "value": digest}]}}
    });
    ok(
        &ctx.kubectl_stdin(&["create", "-f", "-"], &pr.to_string()),
        "create PipelineRun",
    );
    ok(
        &run(
            dir,
            &s.complete_run,
            &[
                &ns,
                "pipelinerun",
                "pr-1",
                &format!("IMAGE_URL={repo}"),
                &format!("IMAGE_DIGEST={digest}"),
            ],
            &[],
        ),
        "complete-run pipelinerun",
    );
    ctx.wait_signed("pipelinerun", "pr-1", &ctl);
    for i in 0..3 {
        assert_eq!(
            ctx.annotation(
                "taskrun",
                &format!("pr-1-task-{i}"),
                "chains.tekton.dev/signed"
            )
            .as_deref(),
            Some("true"),
            "child {i} is signed before its PipelineRun"
        );
    }
    assert!(
        ctx.cosign_accepts(&pr_image, &ctx.pubkey),
        "cosign v2 refuses the PipelineRun's image"
    );
    ctx.exactly_once(&pr_image);
    let metrics = run(
        dir,
        "curl",
        &["-sf", &format!("http://{}/metrics", ctl.metrics)],
        &[],
    );
    let metrics = stdout(&metrics);
    assert!(
        metrics.contains("watcher_taskrun_sign_created_total 6"),
        "metrics:\n{metrics}"
    );
    assert!(
        metrics.contains("watcher_pipelinerun_sign_created_total 1"),
        "metrics:\n{metrics}"
    );
    ctl.kill();

    // 3. Killed at each failpoint, then restarted.
    for fp in ["after-sign", "after-rekor", "after-oci"] {
        let image = ctx.image(&format!("fp-{fp}"));
        let name = format!("fp-{fp}");
        ctx.taskrun(&name, &image, &[]);
        let mut dying = ctx.controller(&base, &[("HALLMARK_FAILPOINT", fp)]);
        let code = dying.wait_exit(Duration::from_secs(60));
        assert_eq!(
            code,
            Some(86),
            "the controller stops at {fp}:\n{}",
            dying.log_text()
        );
        assert_ne!(
            ctx.annotation("taskrun", &name, "chains.tekton.dev/signed")
                .as_deref(),
            Some("true"),
            "{fp}: not recorded before the restart"
        );
        let again = ctx.controller(&base, &[]);
        ctx.wait_signed("taskrun", &name, &again);
        assert!(
            ctx.cosign_accepts(&image, &ctx.pubkey),
            "{fp}: cosign refuses {image}"
        );
        ctx.exactly_once(&image);
    }

    // 4. A configuration problem, fixed in the ConfigMap without a restart.
    let cm_yaml = |kmsref: &str| {
        serde_json::json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "hallmark-config", "namespace": ns},
            "data": {
                "artifacts.taskrun.storage": "oci", "artifacts.oci.storage": "oci",
                "artifacts.taskrun.signer": "kms", "artifacts.oci.signer": "kms",
                "signers.kms.kmsref": kmsref,
                "transparency.enabled": "true", "transparency.url": s.rekor,
            }
        })
        .to_string()
    };
    ok(
        &ctx.kubectl_stdin(&["apply", "-f", "-"], &cm_yaml("hashivault://no-such-key")),
        "apply bad ConfigMap",
    );
    let image = ctx.image("config");
    ctx.taskrun("config-1", &image, &[]);
    let cm_ref = format!("{ns}/hallmark-config");
    let ctl = ctx.controller(&["--configmap", &cm_ref], &[]);
    ctx.wait(
        Duration::from_secs(30),
        "a configuration reason on config-1",
        || {
            ctx.annotation("taskrun", "config-1", "hallmark.dev/reason")
                .is_some_and(|r| r.contains("configuration") && r.contains("no-such-key"))
        },
        Some(&ctl),
    );
    assert_eq!(
        ctx.annotation("taskrun", "config-1", "chains.tekton.dev/signed"),
        None
    );
    let events = ctx.kubectl(&[
        "get",
        "events",
        "-n",
        &ns,
        "--field-selector",
        "involvedObject.name=config-1",
        "-o",
        "json",
    ]);
    let events = json(&events, "get events");
    assert!(
        events["items"].as_array().is_some_and(|es| es
            .iter()
            .any(|e| e["reason"] == "ConfigurationError" && e["type"] == "Warning")),
        "no ConfigurationError Event: {events}"
    );
    ok(
        &ctx.kubectl_stdin(
            &["apply", "-f", "-"],
            &cm_yaml(&format!("hashivault://{}", s.vault_key)),
        ),
        "apply fixed ConfigMap",
    );
    ctx.wait_signed("taskrun", "config-1", &ctl);
    assert_eq!(ctx.layers(&image, "att"), 1);
    drop(ctl);

    // 5. Chains' run is left alone.
    let chains_ns = sample["namespace"].as_str().expect("namespace").to_owned();
    let chains_obj = |ctx: &Ctx<'_>| {
        let out = ctx.kubectl(&[
            "get",
            "taskrun",
            &chains_run,
            "-n",
            &chains_ns,
            "-o",
            "json",
        ]);
        json(&out, "get Chains' run")
    };
    let before = chains_obj(&ctx);
    let att_before = ctx.layers(&chains_image, "att");
    {
        let mut c = Command::new(HM);
        let watcher_log = dir.join("chains-watch.log");
        c.args([
            "controller",
            "--namespace",
            &chains_ns,
            "--metrics-addr",
            "127.0.0.1:0",
        ])
        .args([
            "--config",
            &config,
            "--key",
            &key,
            "--trusted-root",
            &s.trusted_root,
        ])
        .env("COSIGN_PASSWORD", CANARY)
        .env("RUST_LOG", "debug,kube=warn,hyper=warn,reqwest=warn")
        .stderr(std::fs::File::create(&watcher_log).expect("log"));
        let mut child = Controller {
            child: c.spawn().expect("controller"),
            log: watcher_log,
            metrics: String::new(),
        };
        ctx.wait(
            Duration::from_secs(30),
            "the controller to consider Chains' run",
            || child.log_text().contains("signed by Tekton Chains"),
            Some(&child),
        );
        child.kill();
    }
    let after = chains_obj(&ctx);
    assert_eq!(
        before["metadata"]["annotations"], after["metadata"]["annotations"],
        "Chains' run was changed"
    );
    assert_eq!(
        before["metadata"]["labels"], after["metadata"]["labels"],
        "Chains' run was relabelled"
    );
    assert_eq!(
        ctx.layers(&chains_image, "att"),
        att_before,
        "Chains' image got another attestation"
    );

    // 6. Deleting a run that cannot be published: done within 3x the finalizer deadline.
    let unreachable = "127.0.0.1:9/ctl/gone@sha256:".to_owned() + &"ab".repeat(32);
    ctx.taskrun("doomed", &unreachable, &[]);
    let ctl = ctx.controller(&[&base[..], &["--finalizer-deadline", "4s"]].concat(), &[]);
    ctx.wait(
        Duration::from_secs(30),
        "the finalizer on doomed",
        || {
            ctx.get("taskrun", "doomed").is_some_and(|r| {
                r["metadata"]["finalizers"]
                    .as_array()
                    .is_some_and(|f| f.iter().any(|x| x == "hallmark.dev/signing"))
            })
        },
        Some(&ctl),
    );
    let deleted_at = Instant::now();
    ok(
        &ctx.kubectl(&["delete", "taskrun", "doomed", "-n", &ns, "--wait=false"]),
        "delete",
    );
    ctx.wait(
        Duration::from_secs(12),
        "doomed to be gone (3x the 4 s finalizer deadline)",
        || ctx.get("taskrun", "doomed").is_none(),
        Some(&ctl),
    );
    eprintln!(
        "deletion completed in {:.1} s",
        deleted_at.elapsed().as_secs_f64()
    );
    drop(ctl);

    // 7. The password is nowhere: logs, Events, annotations, metrics.
    let mut haystack = String::new();
    for log in ctx.logs.borrow().iter() {
        haystack.push_str(&std::fs::read_to_string(log).unwrap_or_default());
    }
    haystack.push_str(&stdout(
        &ctx.kubectl(&["get", "events", "-n", &ns, "-o", "json"]),
    ));
    haystack.push_str(&stdout(&ctx.kubectl(&[
        "get",
        "taskruns,pipelineruns",
        "-n",
        &ns,
        "-o",
        "json",
    ])));
    haystack.push_str(&metrics);
    assert!(
        haystack.len() > 10_000,
        "too little was collected to search: {} bytes",
        haystack.len()
    );
    assert!(!haystack.contains(CANARY), "the key password leaked");

    let _ = ctx.kubectl(&["delete", "namespace", &ns, "--wait=false"]);
}
