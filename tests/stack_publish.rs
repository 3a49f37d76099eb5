//! `hallmark attest` publishes into the stack's real registries and Rekor (v1: entries found
//! by rekor-cli, the `.att` Rekor bundle annotation verified offline by cosign v2; v2 with
//! a TSA timestamp, verified by cosign v3), and cosign reads it
//! (issue 7): cosign v3 verifies hallmark's referrer bundles on the registry with the
//! referrers API and on docker-registry 2.8 without it (fallback index tag); cosign v2
//! verifies hallmark's legacy `.att`; both refuse another key. Idempotence and concurrent
//! writers are counted in the registry itself (crane), not in hallmark's output.
//!
//! Needs the stack (`eval "$(tests/stack/env)"`); skipped with a message without it,
//! unless `HALLMARK_REQUIRE_STACK=1` (set by `tests/run stack`).
#![allow(clippy::panic)] // Tests report failures by panicking.

mod support;

use support::peers::{ok, run, stdout};

use std::path::Path;
use std::process::{Command, Output};

struct Stack {
    registry: String,
    referrers: String,
    tls: String,
    tls_ca: String,
    tls_user: String,
    tls_password: String,
    trusted_root: String,
    signing_config: String,
    rekor: String,
    rekor_pubkey: String,
    rekor_cli: String,
    cosign: String,
    cosign2: String,
    crane: String,
}

fn stack() -> Option<Stack> {
    let var = |n: &str| std::env::var(n).ok().filter(|v| !v.is_empty());
    let s = (|| {
        Some(Stack {
            registry: var("HALLMARK_STACK_REGISTRY")?,
            referrers: var("HALLMARK_STACK_REGISTRY_REFERRERS")?,
            tls: var("HALLMARK_STACK_REGISTRY_TLS")?,
            tls_ca: var("HALLMARK_STACK_REGISTRY_TLS_CA")?,
            tls_user: var("HALLMARK_STACK_REGISTRY_TLS_USER")?,
            tls_password: var("HALLMARK_STACK_REGISTRY_TLS_PASSWORD")?,
            trusted_root: var("HALLMARK_STACK_TRUSTED_ROOT")?,
            signing_config: var("HALLMARK_STACK_SIGNING_CONFIG")?,
            rekor: var("HALLMARK_STACK_REKOR_URL")?,
            rekor_pubkey: var("HALLMARK_STACK_REKOR_PUBKEY")?,
            rekor_cli: var("HALLMARK_STACK_REKOR_CLI")?,
            cosign: var("HALLMARK_STACK_COSIGN")?,
            cosign2: var("HALLMARK_STACK_COSIGN_V2")?,
            crane: var("HALLMARK_STACK_CRANE")?,
        })
    })();
    if s.is_none() {
        assert!(
            std::env::var("HALLMARK_REQUIRE_STACK").as_deref() != Ok("1"),
            "HALLMARK_REQUIRE_STACK=1 but the stack's env is not set"
        );
        eprintln!("stack_publish: skipped, no stack (eval \"$(tests/stack/env)\" to run it)");
    }
    s
}

struct Ctx<'a> {
    s: &'a Stack,
    dir: &'a Path,
}

impl Ctx<'_> {
    /// A fresh random image in `repo`: its digest.
    fn image(&self, repo: &str, env: &[(&str, &str)]) -> String {
        let nonce = format!(
            "{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or_default()
        );
        std::fs::write(self.dir.join("random.bin"), nonce.repeat(50))
            .unwrap_or_else(|e| panic!("{e}"));
        ok(
            &run(self.dir, "tar", &["-cf", "layer.tar", "random.bin"], &[]),
            "tar",
        );
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
                env,
            ),
            "crane append",
        );
        let d = stdout(&run(
            self.dir,
            &self.s.crane,
            &["digest", &format!("{repo}:{nonce}")],
            env,
        ));
        assert!(d.starts_with("sha256:"), "crane digest: `{d}`");
        format!("{repo}@{d}")
    }

    fn attest(&self, image: &str, key: &str, format: &str, extra: &[&str]) -> Output {
        let mut args = vec![
            "attest",
            image,
            "--predicate",
            "predicate.json",
            "--type",
            "slsaprovenance",
            "--key",
            key,
            "--bundle-format",
            format,
            "--trusted-root",
            &self.s.trusted_root,
        ];
        if !extra.contains(&"--signing-config") {
            args.extend_from_slice(&["--rekor-url", &self.s.rekor]);
        }
        args.extend_from_slice(extra);
        run(self.dir, env!("CARGO_BIN_EXE_hallmark"), &args, &[])
    }

    fn cosign3_verify(&self, image: &str, key: &str, env: &[(&str, &str)]) -> bool {
        run(
            self.dir,
            &self.s.cosign,
            &[
                "verify-attestation",
                "--key",
                key,
                "--type",
                "slsaprovenance",
                "--trusted-root",
                &self.s.trusted_root,
                image,
            ],
            env,
        )
        .status
        .success()
    }

    /// The UUIDs of the Rekor v1 entries about an image digest (rekor-cli search --sha).
    fn rekor_entries(&self, image: &str) -> Vec<String> {
        let digest = image.split_once('@').map(|(_, d)| d).unwrap_or_default();
        let out = run(
            self.dir,
            &self.s.rekor_cli,
            &[
                "search",
                "--rekor_server",
                &self.s.rekor,
                "--store_tree_state=false",
                "--sha",
                digest,
                "--format",
                "json",
            ],
            &[],
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        v["UUIDs"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|u| u.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The number of layers under the legacy tag, and of entries in the fallback index.
    fn counts(&self, image: &str) -> (usize, usize) {
        let (repo, digest) = image.split_once('@').unwrap_or_default();
        let tag = digest.replace(':', "-");
        let count = |reference: String, field: &str| {
            let out = run(self.dir, &self.s.crane, &["manifest", &reference], &[]);
            if !out.status.success() {
                return 0;
            }
            let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
            v[field].as_array().map_or(0, Vec::len)
        };
        (
            count(format!("{repo}:{tag}.att"), "layers"),
            count(format!("{repo}:{tag}"), "manifests"),
        )
    }
}

#[test]
fn cosign_verifies_what_hallmark_publishes() {
    let Some(s) = stack() else { return };
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let dir = tmp.path();
    std::fs::create_dir_all(dir.join("docker")).unwrap_or_else(|e| panic!("{e}"));
    let c = Ctx { s: &s, dir };
    for prefix in ["key", "other"] {
        ok(
            &run(
                dir,
                &s.cosign,
                &["generate-key-pair", "--output-key-prefix", prefix],
                &[],
            ),
            "generate-key-pair",
        );
    }
    std::fs::write(
        dir.join("predicate.json"),
        r#"{"builder":{"id":"https://hallmark.test/publish"},"buildType":"https://hallmark.test/v1","invocation":{},"materials":[]}"#,
    )
    .unwrap_or_else(|e| panic!("{e}"));

    // cosign v3 on referrer bundles: registry with the API, and without (fallback tag).
    for (what, reg) in [
        ("referrers API", &s.referrers),
        ("fallback tag", &s.registry),
    ] {
        let image = c.image(&format!("{reg}/publish/referrers"), &[]);
        ok(
            &c.attest(&image, "key.key", "referrers", &[]),
            "hallmark attest --bundle-format referrers",
        );
        let (att, fallback) = c.counts(&image);
        assert_eq!(att, 0, "{what}: referrers only, no .att");
        assert_eq!(
            fallback,
            usize::from(what == "fallback tag"),
            "{what}: fallback index entries"
        );
        assert!(
            c.cosign3_verify(&image, "key.pub", &[]),
            "{what}: cosign v3 must verify hallmark's referrer bundle"
        );
        assert!(
            !c.cosign3_verify(&image, "other.pub", &[]),
            "{what}: cosign v3 must refuse another key"
        );
        assert_eq!(
            c.rekor_entries(&image).len(),
            1,
            "{what}: one Rekor entry about the image"
        );
        eprintln!(
            "stack_publish: {what}: cosign v3 verifies hallmark's referrer bundle (Rekor v1), refuses another key"
        );
    }

    // Rekor v2 (and the TSA) chosen from the stack's signing config.
    let image = c.image(&format!("{}/publish/rekor-v2", s.referrers), &[]);
    ok(
        &c.attest(
            &image,
            "key.key",
            "referrers",
            &["--signing-config", &s.signing_config],
        ),
        "hallmark attest --signing-config (Rekor v2)",
    );
    assert!(
        c.cosign3_verify(&image, "key.pub", &[]),
        "cosign v3 must verify the Rekor v2 bundle"
    );
    assert!(
        !c.cosign3_verify(&image, "other.pub", &[]),
        "cosign v3 must refuse another key (Rekor v2)"
    );
    eprintln!("stack_publish: Rekor v2: cosign v3 verifies hallmark's bundle, refuses another key");

    // cosign v2 on the legacy .att (a repository of its own: v2 cannot read v0.3 bundles).
    let image = c.image(&format!("{}/publish/legacy", s.registry), &[]);
    ok(
        &c.attest(&image, "key.key", "legacy", &[]),
        "hallmark attest --bundle-format legacy",
    );
    assert_eq!(c.counts(&image), (1, 0), "one .att layer, no referrer");
    let v2 = |key: &str| {
        run(
            dir,
            &s.cosign2,
            &[
                "verify-attestation",
                "--key",
                key,
                "--type",
                "slsaprovenance",
                "--rekor-url",
                "http://127.0.0.1:9",
                &image,
            ],
            &[("SIGSTORE_REKOR_PUBLIC_KEY", s.rekor_pubkey.as_str())],
        )
        .status
        .success()
    };
    assert!(
        v2("key.pub"),
        "cosign v2 must verify hallmark's legacy .att"
    );
    assert!(!v2("other.pub"), "cosign v2 must refuse another key");
    let uuids = c.rekor_entries(&image);
    assert_eq!(
        uuids.len(),
        1,
        "rekor-cli search --sha finds hallmark's entry"
    );
    let got = run(
        dir,
        &s.rekor_cli,
        &[
            "get",
            "--rekor_server",
            &s.rekor,
            "--store_tree_state=false",
            "--uuid",
            &uuids[0],
            "--format",
            "json",
        ],
        &[],
    );
    ok(&got, "rekor-cli get");
    let entry: serde_json::Value = serde_json::from_slice(&got.stdout).unwrap_or_default();
    assert!(
        entry["Body"]["DSSEObj"].is_object(),
        "a dsse entry: {entry:#}"
    );
    eprintln!(
        "stack_publish: legacy .att: cosign v2 verifies it offline from the Rekor bundle annotation (an unreachable --rekor-url), refuses another key; rekor-cli finds and shows the entry"
    );

    // storage.oci.repository / COSIGN_REPOSITORY: the attestation lives in another repository.
    let image = c.image(&format!("{}/publish/app", s.registry), &[]);
    let store = format!("{}/publish/attestations", s.registry);
    ok(
        &c.attest(&image, "key.key", "legacy", &["--repository", &store]),
        "hallmark attest --repository",
    );
    assert_eq!(c.counts(&image), (0, 0), "nothing beside the image itself");
    let digest = image.split_once('@').map(|(_, d)| d).unwrap_or_default();
    let in_store = run(
        dir,
        &s.crane,
        &[
            "manifest",
            &format!("{store}:{}.att", digest.replace(':', "-")),
        ],
        &[],
    );
    assert!(in_store.status.success(), "the .att is in the --repository");
    let v2_repo = |key: &str| {
        run(
            dir,
            &s.cosign2,
            &[
                "verify-attestation",
                "--key",
                key,
                "--type",
                "slsaprovenance",
                "--rekor-url",
                "http://127.0.0.1:9",
                &image,
            ],
            &[
                ("SIGSTORE_REKOR_PUBLIC_KEY", s.rekor_pubkey.as_str()),
                ("COSIGN_REPOSITORY", store.as_str()),
            ],
        )
        .status
        .success()
    };
    assert!(
        v2_repo("key.pub"),
        "cosign v2 (COSIGN_REPOSITORY) verifies the attestation in --repository"
    );
    assert!(!v2_repo("other.pub"), "and refuses another key");
    eprintln!(
        "stack_publish: --repository: the .att goes to another repository; cosign v2 with COSIGN_REPOSITORY verifies it"
    );

    // The TLS + htpasswd registry, with docker credentials and the stack's CA.
    let tls_env = [("SSL_CERT_FILE", s.tls_ca.as_str())];
    ok(
        &run(
            dir,
            &s.crane,
            &[
                "auth",
                "login",
                &s.tls,
                "-u",
                &s.tls_user,
                "-p",
                &s.tls_password,
            ],
            &[],
        ),
        "crane auth login",
    );
    let image = c.image(&format!("{}/publish/tls", s.tls), &tls_env);
    let no_ca = c.attest(&image, "key.key", "both", &[]);
    assert_eq!(
        no_ca.status.code(),
        Some(2),
        "without the CA the push must fail"
    );
    assert!(
        String::from_utf8_lossy(&no_ca.stderr).contains("certificate"),
        "the error names the certificate problem"
    );
    ok(
        &c.attest(&image, "key.key", "both", &["--registry-ca", &s.tls_ca]),
        "hallmark attest to the TLS registry",
    );
    assert!(
        c.cosign3_verify(&image, "key.pub", &tls_env),
        "cosign v3 verifies on the TLS registry"
    );
    let no_creds = run(
        dir,
        env!("CARGO_BIN_EXE_hallmark"),
        &[
            "attest",
            &image,
            "--predicate",
            "predicate.json",
            "--key",
            "key.key",
            "--tlog-upload=false",
            "--registry-ca",
            &s.tls_ca,
        ],
        &[(
            "DOCKER_CONFIG",
            dir.join("nowhere").to_string_lossy().as_ref(),
        )],
    );
    assert_eq!(no_creds.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&no_creds.stderr).contains("401"),
        "the error names the HTTP status"
    );
    // The same credentials from a Kubernetes dockerconfigjson Secret (no docker config).
    if let Ok(kubectl) = std::env::var("HALLMARK_STACK_KUBECTL") {
        let ns = format!("regcred-{}", std::process::id());
        let _ = run(dir, &kubectl, &["create", "namespace", &ns], &[]);
        ok(
            &run(
                dir,
                &kubectl,
                &[
                    "create",
                    "secret",
                    "docker-registry",
                    "regcred",
                    "-n",
                    &ns,
                    &format!("--docker-server={}", s.tls),
                    &format!("--docker-username={}", s.tls_user),
                    &format!("--docker-password={}", s.tls_password),
                ],
                &[],
            ),
            "kubectl create secret docker-registry",
        );
        let secret = format!("{ns}/regcred");
        let nowhere = dir.join("nowhere").to_string_lossy().into_owned();
        let with_secret = run(
            dir,
            env!("CARGO_BIN_EXE_hallmark"),
            &[
                "attest",
                &image,
                "--predicate",
                "predicate.json",
                "--key",
                "key.key",
                "--tlog-upload=false",
                "--registry-ca",
                &s.tls_ca,
                "--registry-secret",
                &secret,
            ],
            &[("DOCKER_CONFIG", nowhere.as_str())],
        );
        ok(
            &with_secret,
            "hallmark attest --registry-secret (dockerconfigjson Secret)",
        );
        let missing = run(
            dir,
            env!("CARGO_BIN_EXE_hallmark"),
            &[
                "attest",
                &image,
                "--predicate",
                "predicate.json",
                "--key",
                "key.key",
                "--tlog-upload=false",
                "--registry-ca",
                &s.tls_ca,
                "--registry-secret",
                &format!("{ns}/no-such-secret"),
            ],
            &[("DOCKER_CONFIG", nowhere.as_str())],
        );
        assert_eq!(
            missing.status.code(),
            Some(2),
            "a missing Secret is an error"
        );
        assert!(
            String::from_utf8_lossy(&missing.stderr).contains("no-such-secret"),
            "the error names the Secret"
        );
        eprintln!(
            "stack_publish: TLS registry: credentials from a kubernetes.io/dockerconfigjson Secret work; a missing Secret is named"
        );
    }
    eprintln!(
        "stack_publish: TLS registry: pushes with CA and credentials; error naming the cause without either"
    );
}

#[test]
fn idempotent_and_concurrent_writers_lose_nothing() {
    let Some(s) = stack() else { return };
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let dir = tmp.path();
    std::fs::create_dir_all(dir.join("docker")).unwrap_or_else(|e| panic!("{e}"));
    let c = Ctx { s: &s, dir };
    std::fs::write(dir.join("predicate.json"), r#"{"builder":{"id":"https://hallmark.test/idempotent"},"buildType":"x","invocation":{},"materials":[]}"#)
        .unwrap_or_else(|e| panic!("{e}"));
    // Ed25519 signatures are deterministic: attesting twice publishes the same bytes.
    ok(
        &run(
            dir,
            "openssl",
            &["genpkey", "-algorithm", "ed25519", "-out", "ed25519.pem"],
            &[],
        ),
        "openssl genpkey",
    );
    let image = c.image(&format!("{}/publish/idempotent", s.registry), &[]);
    for _ in 0..2 {
        ok(
            &c.attest(&image, "ed25519.pem", "both", &[]),
            "hallmark attest (same attestation)",
        );
    }
    assert_eq!(
        c.counts(&image),
        (1, 1),
        "the same attestation twice: one .att layer, one fallback entry"
    );
    assert_eq!(
        c.rekor_entries(&image).len(),
        1,
        "the same attestation twice: one Rekor entry"
    );

    // Four concurrent writers (processes) on one image, each with its own key.
    ok(
        &run(
            dir,
            &s.cosign,
            &["generate-key-pair", "--output-key-prefix", "key"],
            &[],
        ),
        "generate-key-pair",
    );
    let image = c.image(&format!("{}/publish/concurrent", s.registry), &[]);
    let children: Vec<_> = (0..4)
        .map(|_| {
            Command::new(env!("CARGO_BIN_EXE_hallmark"))
                .args([
                    "attest",
                    &image,
                    "--predicate",
                    "predicate.json",
                    "--type",
                    "slsaprovenance",
                    "--key",
                    "key.key",
                    "--rekor-url",
                    &s.rekor,
                    "--trusted-root",
                    &s.trusted_root,
                    "--bundle-format",
                    "both",
                ])
                .current_dir(dir)
                .env("COSIGN_PASSWORD", "")
                .env("DOCKER_CONFIG", dir.join("docker"))
                .spawn()
                .unwrap_or_else(|e| panic!("spawning hallmark attest: {e}"))
        })
        .collect();
    for mut child in children {
        let status = child.wait().unwrap_or_else(|e| panic!("{e}"));
        assert!(
            status.success(),
            "a concurrent hallmark attest failed: {status}"
        );
    }
    assert_eq!(
        c.counts(&image),
        (4, 4),
        "four concurrent writers: four .att layers and four fallback entries"
    );
    assert_eq!(
        c.rekor_entries(&image).len(),
        4,
        "four concurrent writers: four Rekor entries"
    );
    eprintln!(
        "stack_publish: idempotent (1 layer after 2 publishes); 4 concurrent writers -> 4 layers, 4 referrers"
    );
}

/// Image signatures in cosign's legacy `.sig` layout (simple-signing payload, `hashedrekord`
/// entry in Rekor v1 with its bundle annotation): cosign v2 `verify` accepts them from the
/// annotation alone (an unreachable --rekor-url), and refuses another key.
#[test]
fn cosign_verifies_hallmark_image_signatures() {
    use hallmark::oci::{ImageRef, RegistryClient, RegistryOptions};
    use hallmark::publish::{ImageSignature, Material, publish_signature, simplesigning_payload};
    use hallmark::rekor::RekorClient;
    use hallmark::rekor::upload::{SignerMaterial, legacy_bundle_annotation, upload_hashedrekord};
    use hallmark::signing::{LocalSigner, Signer as _};
    use hallmark::trust::TrustedRoot;
    use sha2::Digest as _;

    let Some(s) = stack() else { return };
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let dir = tmp.path();
    std::fs::create_dir_all(dir.join("docker")).unwrap_or_else(|e| panic!("{e}"));
    let c = Ctx { s: &s, dir };
    for prefix in ["key", "other"] {
        ok(
            &run(
                dir,
                &s.cosign,
                &["generate-key-pair", "--output-key-prefix", prefix],
                &[],
            ),
            "generate-key-pair",
        );
    }
    let image_str = c.image(&format!("{}/publish/signed", s.registry), &[]);
    let image = ImageRef::parse(&image_str).unwrap_or_else(|e| panic!("{e}"));
    let signer =
        LocalSigner::from_file(&dir.join("key.key"), Some(b"")).unwrap_or_else(|e| panic!("{e}"));
    let payload = simplesigning_payload(&image);
    let signature = signer.sign(&payload).unwrap_or_else(|e| panic!("{e}"));
    let digest: [u8; 32] = sha2::Sha256::digest(&payload).into();
    let trust =
        TrustedRoot::from_file(Path::new(&s.trusted_root)).unwrap_or_else(|e| panic!("{e}"));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let rekor = RekorClient::new(&s.rekor, std::time::Duration::from_secs(30))
        .unwrap_or_else(|e| panic!("{e}"));
    let material = SignerMaterial::Key(signer.public_key().clone());
    let uploaded = runtime
        .block_on(upload_hashedrekord(
            &rekor, &digest, &signature, &material, &trust,
        ))
        .unwrap_or_else(|e| panic!("{e}"));
    let sig = ImageSignature {
        payload,
        signature,
        material: Material::Key,
        rekor_annotation: Some(
            legacy_bundle_annotation(&uploaded.entry).unwrap_or_else(|e| panic!("{e}")),
        ),
    };
    let registry =
        RegistryClient::new(RegistryOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    for _ in 0..2 {
        runtime
            .block_on(publish_signature(&registry, &sig, &image, None))
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let (repo, digest_str) = image_str.split_once('@').unwrap_or_default();
    let sig_manifest = run(
        dir,
        &s.crane,
        &[
            "manifest",
            &format!("{repo}:{}.sig", digest_str.replace(':', "-")),
        ],
        &[],
    );
    let m: serde_json::Value = serde_json::from_slice(&sig_manifest.stdout).unwrap_or_default();
    assert_eq!(
        m["layers"].as_array().map(Vec::len),
        Some(1),
        "published twice, one .sig layer: {m:#}"
    );
    let verify = |key: &str| {
        run(
            dir,
            &s.cosign2,
            &[
                "verify",
                "--key",
                key,
                "--rekor-url",
                "http://127.0.0.1:9",
                &image_str,
            ],
            &[("SIGSTORE_REKOR_PUBLIC_KEY", s.rekor_pubkey.as_str())],
        )
    };
    let good = verify("key.pub");
    assert!(
        good.status.success(),
        "cosign v2 verify: {}",
        String::from_utf8_lossy(&good.stderr)
    );
    assert!(
        !verify("other.pub").status.success(),
        "cosign v2 verify must refuse another key"
    );
    eprintln!(
        "stack_publish: .sig: cosign v2 verify accepts hallmark's image signature offline, refuses another key"
    );
}

/// `hallmark attest --keyless` (issue 8): a ServiceAccount token from the stack's API
/// server and a token from the static issuer, Fulcio certificates with SCTs, Rekor v2 with
/// a TSA timestamp (from the stack's signing config). cosign v3 and `hallmark verify`
/// accept the identity and refuse another ServiceAccount's; sigstore-python verifies the
/// `--bundle-out` bundle with the stack's ClientTrustConfig and refuses another identity.
#[test]
fn keyless_attestations_verify_everywhere() {
    let Some(s) = stack() else { return };
    let var = |n: &str| {
        let v = std::env::var(n).ok().filter(|v| !v.is_empty());
        assert!(
            v.is_some() || std::env::var("HALLMARK_REQUIRE_STACK").as_deref() != Ok("1"),
            "{n} not set"
        );
        v
    };
    let (
        Some(kubectl),
        Some(mint_sa),
        Some(k8s_issuer),
        Some(mint),
        Some(issuer),
        Some(trust_config),
        Some(python),
    ) = (
        var("HALLMARK_STACK_KUBECTL"),
        var("HALLMARK_STACK_MINT_SA_TOKEN"),
        var("HALLMARK_STACK_K8S_ISSUER"),
        var("HALLMARK_STACK_MINT_TOKEN"),
        var("HALLMARK_STACK_OIDC_ISSUER"),
        var("HALLMARK_STACK_TRUST_CONFIG"),
        var("HALLMARK_STACK_SIGSTORE_PYTHON"),
    )
    else {
        eprintln!("stack_publish: keyless skipped (parts 2 and 3 of the stack are not up)");
        return;
    };
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let dir = tmp.path();
    std::fs::create_dir_all(dir.join("docker")).unwrap_or_else(|e| panic!("{e}"));
    let c = Ctx { s: &s, dir };
    std::fs::write(
        dir.join("predicate.json"),
        r#"{"buildDefinition":{"buildType":"https://hallmark.test/v1","externalParameters":{}},"runDetails":{"builder":{"id":"https://hallmark.test/keyless"}}}"#,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let ns = format!("keyless-{}", std::process::id());
    let _ = run(dir, &kubectl, &["create", "namespace", &ns], &[]);
    for sa in ["builder", "other"] {
        let _ = run(
            dir,
            &kubectl,
            &["create", "serviceaccount", sa, "-n", &ns],
            &[],
        );
    }
    let token = run(dir, &mint_sa, &[&ns, "builder"], &[]);
    ok(&token, "minting a ServiceAccount token");
    std::fs::write(dir.join("sa.token"), &token.stdout).unwrap_or_else(|e| panic!("{e}"));
    let attest = |image: &str, token_args: &[&str], extra: &[&str]| {
        let mut args = vec![
            "attest",
            image,
            "--predicate",
            "predicate.json",
            "--type",
            "slsaprovenance1",
            "--keyless",
            "--signing-config",
            &s.signing_config,
            "--trusted-root",
            &s.trusted_root,
        ];
        args.extend_from_slice(token_args);
        args.extend_from_slice(extra);
        run(dir, env!("CARGO_BIN_EXE_hallmark"), &args, &[])
    };
    let both = |image: &str, identity: &str, iss: &str| {
        let cosign = run(
            dir,
            &s.cosign,
            &[
                "verify-attestation",
                "--type",
                "slsaprovenance1",
                "--trusted-root",
                &s.trusted_root,
                "--certificate-identity",
                identity,
                "--certificate-oidc-issuer",
                iss,
                image,
            ],
            &[],
        );
        let hallmark = run(
            dir,
            env!("CARGO_BIN_EXE_hallmark"),
            &[
                "verify",
                image,
                "--type",
                "slsaprovenance1",
                "--trusted-root",
                &s.trusted_root,
                "--certificate-identity",
                identity,
                "--certificate-oidc-issuer",
                iss,
            ],
            &[],
        );
        (cosign.status.success(), hallmark.status.code())
    };

    // A ServiceAccount token from the API server.
    let image = c.image(&format!("{}/publish/keyless-sa", s.referrers), &[]);
    ok(
        &attest(&image, &["--identity-token-file", "sa.token"], &[]),
        "hallmark attest --keyless (ServiceAccount)",
    );
    let me = format!("https://kubernetes.io/namespaces/{ns}/serviceaccounts/builder");
    let other = format!("https://kubernetes.io/namespaces/{ns}/serviceaccounts/other");
    assert_eq!(
        both(&image, &me, &k8s_issuer),
        (true, Some(0)),
        "cosign and hallmark accept the ServiceAccount identity"
    );
    assert_eq!(
        both(&image, &other, &k8s_issuer),
        (false, Some(1)),
        "both refuse another ServiceAccount's identity"
    );
    eprintln!(
        "stack_publish: keyless (ServiceAccount, Rekor v2 + TSA): cosign v3 and hallmark verify it, refuse another SA"
    );

    // A static-issuer token; the bundle also goes to a file for sigstore-python.
    let email = format!("keyless-{}@hallmark.test", std::process::id());
    let token = run(dir, &mint, &[&email], &[]);
    ok(&token, "minting a token");
    let token = String::from_utf8_lossy(&token.stdout).trim().to_owned();
    let image = c.image(&format!("{}/publish/keyless-email", s.referrers), &[]);
    ok(
        &attest(
            &image,
            &["--identity-token", &token],
            &["--bundle-out", "bundle.json"],
        ),
        "hallmark attest --keyless (static issuer)",
    );
    assert_eq!(both(&image, &email, &issuer), (true, Some(0)));
    assert_eq!(
        both(&image, "someone-else@hallmark.test", &issuer),
        (false, Some(1))
    );
    // sigstore-python checks the statement's subject against a file: the image manifest.
    let manifest = run(dir, &s.crane, &["manifest", &image], &[]);
    ok(&manifest, "crane manifest");
    std::fs::write(dir.join("manifest.json"), &manifest.stdout).unwrap_or_else(|e| panic!("{e}"));
    let py = |identity: &str| {
        run(
            dir,
            &python,
            &[
                "--trust-config",
                &trust_config,
                "verify",
                "identity",
                "--bundle",
                "bundle.json",
                "--cert-identity",
                identity,
                "--cert-oidc-issuer",
                &issuer,
                "manifest.json",
            ],
            &[],
        )
    };
    let good = py(&email);
    assert!(
        good.status.success(),
        "sigstore-python: {}{}",
        String::from_utf8_lossy(&good.stdout),
        String::from_utf8_lossy(&good.stderr)
    );
    assert!(
        !py("someone-else@hallmark.test").status.success(),
        "sigstore-python must refuse another identity"
    );
    eprintln!(
        "stack_publish: keyless (static issuer): cosign v3, hallmark and sigstore-python (--bundle-out) verify it, refuse another identity"
    );
}

/// The controller's embedded mode writes into an OCI image layout
/// (`hallmark::oci::image_layout`): a generated image, an attestation logged in the stack's
/// Rekor v1 (legacy `.att` and referrer) and an image signature (`.sig`), all through the
/// same `publish` / `publish_signature` as for a registry. `hallmark verify
/// oci-layout:PATH@DIGEST`, cosign v3 `--local-image` and cosign v2 `--local-image` (from
/// the Rekor bundle annotations, offline) accept them, and refuse another key.
#[test]
fn oci_layout_output_verifies_with_hallmark_and_cosign() {
    use hallmark::dsse::IN_TOTO_PAYLOAD_TYPE;
    use hallmark::oci::image_layout::ImageLayout;
    use hallmark::publish::{
        Attestation, BundleFormat, ImageSignature, Material, OciSink, publish, publish_signature,
        simplesigning_payload,
    };
    use hallmark::rekor::RekorClient;
    use hallmark::rekor::upload::{
        DsseEntryKind, SignerMaterial, legacy_bundle_annotation, upload_dsse, upload_hashedrekord,
    };
    use hallmark::signing::{LocalSigner, Signer as _, sign_envelope};
    use hallmark::trust::TrustedRoot;
    use sha2::Digest as _;

    let Some(s) = stack() else { return };
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let dir = tmp.path();
    let path = dir.join("layout");
    let layout = ImageLayout::create(&path).unwrap_or_else(|e| panic!("{e}"));
    let digest = layout
        .write_generated_image("registry.example/embedded/app")
        .unwrap_or_else(|e| panic!("{e}"));
    let image = layout.image_ref(digest.clone());
    let signer = LocalSigner::generate_p256().unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(dir.join("key.pub"), signer.public_key().to_pem())
        .unwrap_or_else(|e| panic!("{e}"));
    let other = LocalSigner::generate_p256().unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(dir.join("other.pub"), other.public_key().to_pem())
        .unwrap_or_else(|e| panic!("{e}"));
    let trust =
        TrustedRoot::from_file(Path::new(&s.trusted_root)).unwrap_or_else(|e| panic!("{e}"));
    let rekor = RekorClient::new(&s.rekor, std::time::Duration::from_secs(60))
        .unwrap_or_else(|e| panic!("{e}"));
    let material = SignerMaterial::Key(signer.public_key().clone());
    let statement = serde_json::json!({
        "_type": "https://in-toto.io/Statement/v0.1",
        "subject": [{"name": "registry.example/embedded/app", "digest": {"sha256": digest.hex()}}],
        "predicateType": "https://slsa.dev/provenance/v0.2",
        "predicate": {"builder": {"id": "https://hallmark.test/embedded"}, "buildType": "x",
                      "invocation": {"parameters": {"nonce": format!("{:?}", std::time::SystemTime::now())}},
                      "materials": []}
    });
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    runtime.block_on(async {
        let envelope = sign_envelope(
            &signer,
            IN_TOTO_PAYLOAD_TYPE,
            statement.to_string().as_bytes(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let logged = upload_dsse(
            &rekor,
            &envelope.to_json(),
            &material,
            DsseEntryKind::Dsse,
            &trust,
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        let attestation = Attestation {
            envelope,
            predicate_type: "https://slsa.dev/provenance/v0.2".into(),
            material: Material::Key,
            rekor_annotation: Some(
                legacy_bundle_annotation(&logged.entry).unwrap_or_else(|e| panic!("{e}")),
            ),
            tlog_entries: vec![logged.entry],
            timestamps: Vec::new(),
        };
        let sink = OciSink {
            format: BundleFormat::Both,
            repository: None,
        };
        let results = publish(&layout, &attestation, std::slice::from_ref(&image), &sink).await;
        assert_eq!(results.len(), 2);
        for r in results {
            r.outcome.unwrap_or_else(|e| panic!("{}: {e}", r.sink));
        }
        let payload = simplesigning_payload(&image);
        let signature = signer.sign(&payload).unwrap_or_else(|e| panic!("{e}"));
        let sha: [u8; 32] = sha2::Sha256::digest(&payload).into();
        let logged = upload_hashedrekord(&rekor, &sha, &signature, &material, &trust)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let sig = ImageSignature {
            payload,
            signature,
            material: Material::Key,
            rekor_annotation: Some(
                legacy_bundle_annotation(&logged.entry).unwrap_or_else(|e| panic!("{e}")),
            ),
        };
        publish_signature(&layout, &sig, &image, None)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    });
    // The layout as written: oci-layout, and in index.json the image, .att, .sig and the
    // referrer, each blob present under its digest.
    let index: serde_json::Value = serde_json::from_slice(
        &std::fs::read(path.join("index.json")).unwrap_or_else(|e| panic!("{e}")),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let entries = index["manifests"].as_array().cloned().unwrap_or_default();
    assert_eq!(entries.len(), 4, "{index:#}");
    for e in &entries {
        let hex = e["digest"]
            .as_str()
            .unwrap_or_default()
            .trim_start_matches("sha256:");
        assert!(path.join("blobs/sha256").join(hex).is_file(), "{e}");
    }
    let kinds: Vec<&str> = entries
        .iter()
        .filter_map(|e| e["annotations"]["kind"].as_str())
        .collect();
    assert_eq!(
        kinds,
        [
            "dev.cosignproject.cosign/image",
            "dev.cosignproject.cosign/atts",
            "dev.cosignproject.cosign/sigs"
        ],
        "{index:#}"
    );

    let reference = format!("oci-layout:{}@{digest}", path.display());
    let verify = |key: &str| {
        run(
            dir,
            env!("CARGO_BIN_EXE_hallmark"),
            &[
                "verify",
                &reference,
                "--key",
                key,
                "--trusted-root",
                &s.trusted_root,
                "-o",
                "json",
            ],
            &[],
        )
    };
    let out = verify("key.pub");
    ok(&out, "hallmark verify oci-layout:");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    assert_eq!(report["decision"], "pass", "{report:#}");
    let wrong = verify("other.pub");
    assert_eq!(wrong.status.code(), Some(1), "another key must be denied");
    let missing = run(
        dir,
        env!("CARGO_BIN_EXE_hallmark"),
        &[
            "verify",
            &format!("oci-layout:{}@{digest}", dir.join("nope").display()),
            "--key",
            "key.pub",
        ],
        &[],
    );
    assert_eq!(
        missing.status.code(),
        Some(2),
        "a missing layout cannot be read"
    );

    let path_s = path.display().to_string();
    let cosign = |args: &[&str]| run(dir, &s.cosign, args, &[]);
    for (cmd, extra) in [
        ("verify-attestation", &["--type", "slsaprovenance"][..]),
        ("verify", &[][..]),
    ] {
        let with = |key: &str| {
            let mut a = vec![
                cmd,
                "--local-image",
                "--key",
                key,
                "--trusted-root",
                &s.trusted_root,
            ];
            a.extend_from_slice(extra);
            a.push(&path_s);
            cosign(&a)
        };
        let good = with("key.pub");
        ok(&good, &format!("cosign v3 {cmd} --local-image"));
        assert!(
            !with("other.pub").status.success(),
            "cosign v3 {cmd} --local-image must refuse another key"
        );
        // cosign v2, from the Rekor bundle annotations alone (an unreachable Rekor).
        let v2 = |key: &str| {
            let mut a = vec![
                cmd,
                "--local-image",
                "--key",
                key,
                "--rekor-url",
                "http://127.0.0.1:9",
            ];
            a.extend_from_slice(extra);
            a.push(&path_s);
            run(
                dir,
                &s.cosign2,
                &a,
                &[("SIGSTORE_REKOR_PUBLIC_KEY", s.rekor_pubkey.as_str())],
            )
        };
        ok(&v2("key.pub"), &format!("cosign v2 {cmd} --local-image"));
        assert!(
            !v2("other.pub").status.success(),
            "cosign v2 {cmd} --local-image must refuse another key"
        );
    }
    eprintln!(
        "stack_publish: OCI image layout: generated image + .att + referrer + .sig; hallmark verify and cosign v2/v3 --local-image accept them, refuse another key"
    );
}
