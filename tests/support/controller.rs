//! The stack tests of `hallmark controller`: the stack's env, components stopped for a
//! test, controller processes, runs in a scratch namespace, and counts taken from the
//! registry (crane) and Rekor (rekor-cli).
#![allow(dead_code, clippy::panic, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::peers::{ok, run, stdout};

pub const HM: &str = env!("CARGO_BIN_EXE_hallmark");
pub const CANARY: &str = "canary-pw-7d1e94c0";

pub struct Stack {
    pub registry: String,
    pub rekor: String,
    pub rekor_pubkey: String,
    pub rekor_cli: String,
    pub trusted_root: String,
    pub cosign2: String,
    pub crane: String,
    pub kubectl: String,
    pub complete_run: String,
    pub chains_sample: String,
    pub vault_key: String,
    pub tls: String,
    pub tls_ca: String,
    pub tls_user: String,
    pub tls_password: String,
}

pub fn stack() -> Option<Stack> {
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
            tls: var("HALLMARK_STACK_REGISTRY_TLS")?,
            tls_ca: var("HALLMARK_STACK_REGISTRY_TLS_CA")?,
            tls_user: var("HALLMARK_STACK_REGISTRY_TLS_USER")?,
            tls_password: var("HALLMARK_STACK_REGISTRY_TLS_PASSWORD")?,
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

pub fn repo_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Stops a stack component for the test and starts it again when dropped.
pub struct Stopped(pub &'static str);

impl Stopped {
    pub fn new(component: &'static str) -> Self {
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
pub struct Controller {
    pub child: Child,
    pub log: PathBuf,
    pub metrics: String,
}

impl Controller {
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Wait (bounded) for the process to exit; its status code.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<i32> {
        let start = Instant::now();
        while start.elapsed() < limit {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        None
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Controller {
    fn drop(&mut self) {
        self.kill();
    }
}

pub struct Ctx<'a> {
    pub s: &'a Stack,
    pub dir: &'a Path,
    pub ns: String,
    pub key: PathBuf,
    pub pubkey: PathBuf,
    pub next_port: std::cell::Cell<u16>,
    pub logs: std::cell::RefCell<Vec<PathBuf>>,
}

pub fn json(out: &Output, what: &str) -> Value {
    ok(out, what);
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{what}: not JSON ({e}): {}", stdout(out)))
}

impl<'a> Ctx<'a> {
    /// A scratch namespace `PREFIX-<pid>` with a key pair (password [`CANARY`]) and an
    /// empty docker config in `dir`; controllers get metrics ports from `port_base` on.
    pub fn setup(s: &'a Stack, dir: &'a Path, prefix: &str, port_base: u16) -> Self {
        std::fs::create_dir_all(dir.join("docker")).expect("docker dir");
        std::fs::write(dir.join("docker/config.json"), "{}").expect("docker config");
        let ctx = Ctx {
            s,
            dir,
            ns: format!("{prefix}-{}", std::process::id()),
            key: dir.join("k.key"),
            pubkey: dir.join("k.pub"),
            next_port: std::cell::Cell::new(
                port_base + u16::try_from(std::process::id() % 150).unwrap_or(0),
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
        ok(
            &ctx.kubectl(&["create", "namespace", &ctx.ns]),
            "create namespace",
        );
        ctx
    }
}

impl Ctx<'_> {
    pub fn kubectl(&self, args: &[&str]) -> Output {
        run(self.dir, &self.s.kubectl, args, &[])
    }

    pub fn kubectl_stdin(&self, args: &[&str], input: &str) -> Output {
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
    pub fn image(&self, name: &str) -> String {
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
    pub fn taskrun(&self, name: &str, image: &str, labels: &[(&str, &str)]) {
        self.taskrun_as(name, image, labels, None);
    }

    /// [`Ctx::taskrun`], running as ServiceAccount `account`.
    pub fn taskrun_as(
        &self,
        name: &str,
        image: &str,
        labels: &[(&str, &str)],
        account: Option<&str>,
    ) {
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
        let mut tr = tr;
        if let Some(a) = account {
            tr["spec"]["serviceAccountName"] = Value::String(a.to_owned());
        }
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

    pub fn get(&self, kind: &str, name: &str) -> Option<Value> {
        let out = self.kubectl(&["get", kind, name, "-n", &self.ns, "-o", "json"]);
        out.status
            .success()
            .then(|| serde_json::from_slice(&out.stdout).ok())
            .flatten()
    }

    pub fn annotation(&self, kind: &str, name: &str, key: &str) -> Option<String> {
        self.get(kind, name)?["metadata"]["annotations"][key]
            .as_str()
            .map(str::to_owned)
    }

    /// Wait at most `limit` for `cond`.
    pub fn wait(
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

    pub fn wait_signed(&self, kind: &str, name: &str, ctl: &Controller) {
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

    pub fn controller(&self, extra: &[&str], env: &[(&str, &str)]) -> Controller {
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

    pub fn config_file(&self, extra: &str) -> PathBuf {
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
    pub fn layers(&self, image: &str, suffix: &str) -> usize {
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
    pub fn rekor_entries(&self, sha256: &str) -> usize {
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
    pub fn cosign_accepts(&self, image: &str, key: &Path) -> bool {
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
    pub fn exactly_once(&self, image: &str) {
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

pub fn hex_sha256(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(bytes))
}
