//! `hallmark attest --key awskms://...` (issue 8) against a real AWS KMS emulator,
//! `local-kms` (github.com/nsmithuk/local-kms, installed by `tests/stack/install local-kms`),
//! started on a free local port for this test. Its `Sign` with `MessageType=DIGEST` signs the
//! digest as given (unlike moto's, which hashes it again), so its signatures are what AWS's
//! would be: an attestation signed through the AWS SDK with an `ECC_NIST_P256` key passes
//! `cosign verify-attestation --key <the key's PEM>` (cosign v3) and `hallmark verify --key`,
//! for a key id, an alias and a key ARN, and through `signers.kms.kmsref`. Another key is
//! refused by both verifiers; a symmetric key (whose `GetPublicKey` KMS refuses) stops
//! hallmark before anything is published.
//!
//! local-kms speaks plain HTTP, and cosign's (and hallmark's) `awskms://ENDPOINT/KEY` form
//! always means HTTPS; the test reaches the emulator through the SDK's standard
//! `AWS_ENDPOINT_URL_KMS` instead, with `awskms:///KEY` references. The endpoint form itself
//! is unit-tested (`signing::kms::aws`).
//!
//! Needs the stack (`eval "$(tests/stack/env)"`) and `HALLMARK_STACK_LOCAL_KMS` (the path
//! `tests/stack/install local-kms` prints; `tests/run stack` sets it); skipped with a message
//! without them, unless `HALLMARK_REQUIRE_STACK=1`. Built only with `--features awskms`.
#![cfg(feature = "awskms")]
#![allow(clippy::panic)] // Tests report failures by panicking.

use std::path::Path;
use std::process::{Child, Command, Output};
use std::time::{Duration, Instant};

use aws_sdk_kms::types::{KeySpec, KeyUsageType};
use base64::Engine as _;

struct Stack {
    registry: String,
    trusted_root: String,
    rekor: String,
    cosign: String,
    crane: String,
    local_kms: String,
}

fn stack() -> Option<Stack> {
    let var = |n: &str| std::env::var(n).ok().filter(|v| !v.is_empty());
    let s = (|| {
        Some(Stack {
            registry: var("HALLMARK_STACK_REGISTRY_REFERRERS")?,
            trusted_root: var("HALLMARK_STACK_TRUSTED_ROOT")?,
            rekor: var("HALLMARK_STACK_REKOR_URL")?,
            cosign: var("HALLMARK_STACK_COSIGN")?,
            crane: var("HALLMARK_STACK_CRANE")?,
            local_kms: var("HALLMARK_STACK_LOCAL_KMS")?,
        })
    })();
    if s.is_none() {
        assert!(
            std::env::var("HALLMARK_REQUIRE_STACK").as_deref() != Ok("1"),
            "HALLMARK_REQUIRE_STACK=1 but the stack's env or HALLMARK_STACK_LOCAL_KMS is not set"
        );
        eprintln!(
            "stack_kms_aws: skipped, no stack or no local-kms (eval \"$(tests/stack/env)\" and \
             HALLMARK_STACK_LOCAL_KMS=$(tests/stack/install local-kms))"
        );
    }
    s
}

/// Run `program` in `dir`, bounded to 180 s, with `env` added.
fn run(dir: &Path, program: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new("timeout");
    c.arg("180").arg(program).args(args).current_dir(dir);
    c.env("DOCKER_CONFIG", dir.join("docker"))
        .env("TUF_ROOT", dir.join("tuf"))
        .env("COSIGN_PASSWORD", "")
        .env("COSIGN_YES", "true");
    for (k, v) in env {
        c.env(k, v);
    }
    c.output()
        .unwrap_or_else(|e| panic!("running {program}: {e}"))
}

fn text(out: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn ok(out: &Output, what: &str) {
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{}",
        out.status,
        text(out)
    );
}

/// A fresh random image pushed to `repo`: `repo@sha256:...`.
fn push_image(dir: &Path, s: &Stack, repo: &str) -> String {
    let nonce = format!(
        "{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default()
    );
    std::fs::write(dir.join("random.bin"), nonce.repeat(50)).unwrap_or_else(|e| panic!("{e}"));
    ok(
        &run(dir, "tar", &["-cf", "layer.tar", "random.bin"], &[]),
        "tar",
    );
    let tagged = format!("{repo}:{nonce}");
    ok(
        &run(
            dir,
            &s.crane,
            &["append", "-f", "layer.tar", "-t", &tagged],
            &[],
        ),
        "crane append",
    );
    let out = run(dir, &s.crane, &["digest", &tagged], &[]);
    ok(&out, "crane digest");
    let digest = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    assert!(digest.starts_with("sha256:"), "crane digest: `{digest}`");
    format!("{repo}@{digest}")
}

/// The emulator, stopped when dropped.
struct LocalKms(Child);

impl Drop for LocalKms {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Start local-kms on a free port; wait (bounded) until it answers.
fn start_local_kms(binary: &str, dir: &Path) -> (LocalKms, u16) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("free port: {e}"));
    let data = dir.join("local-kms");
    std::fs::create_dir_all(&data).unwrap_or_else(|e| panic!("{e}"));
    let log = std::fs::File::create(dir.join("local-kms.log")).unwrap_or_else(|e| panic!("{e}"));
    let child = Command::new(binary)
        .env("PORT", port.to_string())
        .env("KMS_REGION", "us-east-1")
        .env("KMS_ACCOUNT_ID", "111122223333")
        .env("KMS_DATA_PATH", &data)
        .env("KMS_SEED_PATH", dir.join("no-seed.yaml"))
        .stdout(log.try_clone().unwrap_or_else(|e| panic!("{e}")))
        .stderr(log)
        .spawn()
        .unwrap_or_else(|e| panic!("starting {binary}: {e}"));
    let guard = LocalKms(child);
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "local-kms did not listen on port {port} within 30 s"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    (guard, port)
}

/// Create a key in the emulator through the AWS SDK: (key id, ARN, SPKI DER public key).
fn create_key(endpoint: &str, spec: KeySpec, usage: KeyUsageType) -> (String, String, Vec<u8>) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    rt.block_on(async {
        let conf = aws_sdk_kms::Config::builder()
            .behavior_version(aws_sdk_kms::config::BehaviorVersion::latest())
            .region(aws_sdk_kms::config::Region::new("us-east-1"))
            .endpoint_url(endpoint)
            .credentials_provider(aws_sdk_kms::config::Credentials::new(
                "test", "test", None, None, "test",
            ))
            .build();
        let client = aws_sdk_kms::Client::from_conf(conf);
        let signing = usage == KeyUsageType::SignVerify;
        let meta = client
            .create_key()
            .key_spec(spec)
            .key_usage(usage)
            .send()
            .await
            .unwrap_or_else(|e| {
                panic!("CreateKey: {}", aws_sdk_kms::error::DisplayErrorContext(&e))
            })
            .key_metadata
            .unwrap_or_else(|| panic!("CreateKey: no KeyMetadata"));
        let der = if signing {
            client
                .get_public_key()
                .key_id(&meta.key_id)
                .send()
                .await
                .unwrap_or_else(|e| {
                    panic!(
                        "GetPublicKey: {}",
                        aws_sdk_kms::error::DisplayErrorContext(&e)
                    )
                })
                .public_key
                .map(|b| b.into_inner())
                .unwrap_or_default()
        } else {
            Vec::new()
        };
        if signing {
            client
                .create_alias()
                .alias_name("alias/hallmark-release")
                .target_key_id(&meta.key_id)
                .send()
                .await
                .unwrap_or_else(|e| {
                    panic!(
                        "CreateAlias: {}",
                        aws_sdk_kms::error::DisplayErrorContext(&e)
                    )
                });
        }
        (meta.key_id, meta.arn.unwrap_or_default(), der)
    })
}

fn pem(der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap_or_default())
        .collect();
    format!(
        "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
        lines.join("\n")
    )
}

#[test]
fn awskms_attestations_from_an_emulator_verify_with_cosign_and_hallmark() {
    let Some(s) = stack() else { return };
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let dir = tmp.path();
    std::fs::create_dir_all(dir.join("docker")).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        dir.join("predicate.json"),
        r#"{"builder":{"id":"https://hallmark.test/awskms"},"buildType":"https://hallmark.test/v1"}"#,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let (_kms, port) = start_local_kms(&s.local_kms, dir);
    let endpoint = format!("http://127.0.0.1:{port}");
    let (key_id, arn, der) = create_key(&endpoint, KeySpec::EccNistP256, KeyUsageType::SignVerify);
    assert!(!der.is_empty(), "GetPublicKey returned no key");
    std::fs::write(dir.join("kms.pub"), pem(&der)).unwrap_or_else(|e| panic!("{e}"));
    let (sym_id, _, _) = create_key(
        &endpoint,
        KeySpec::SymmetricDefault,
        KeyUsageType::EncryptDecrypt,
    );
    let hallmark = env!("CARGO_BIN_EXE_hallmark");
    ok(
        &run(
            dir,
            hallmark,
            &["generate-key-pair", "--output-key-prefix", "other"],
            &[],
        ),
        "generate-key-pair",
    );
    let empty = dir.join("empty-aws-config").display().to_string();
    std::fs::write(&empty, "").unwrap_or_else(|e| panic!("{e}"));
    // The standard SDK chain: static credentials from the environment, the region, and the
    // emulator's plain-HTTP endpoint; no profile, no instance metadata.
    let aws_env = [
        ("AWS_ENDPOINT_URL_KMS", endpoint.as_str()),
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
        ("AWS_CONFIG_FILE", empty.as_str()),
        ("AWS_SHARED_CREDENTIALS_FILE", empty.as_str()),
    ];
    let attest = |image: &str, extra: &[&str]| {
        let mut args = vec![
            "attest",
            image,
            "--predicate",
            "predicate.json",
            "--type",
            "slsaprovenance",
            "--trusted-root",
            &s.trusted_root,
            "--rekor-url",
            &s.rekor,
        ];
        args.extend_from_slice(extra);
        run(dir, hallmark, &args, &aws_env)
    };
    // (cosign v3 and hallmark verify, both with a PEM public key)
    let verdicts = |image: &str, pem: &str| {
        let cosign = run(
            dir,
            &s.cosign,
            &[
                "verify-attestation",
                "--key",
                pem,
                "--type",
                "slsaprovenance",
                "--trusted-root",
                &s.trusted_root,
                image,
            ],
            &[],
        );
        let verify = run(
            dir,
            hallmark,
            &[
                "verify",
                image,
                "--key",
                pem,
                "--type",
                "slsaprovenance",
                "--trusted-root",
                &s.trusted_root,
            ],
            &[],
        );
        (
            cosign.status.success(),
            verify.status.code(),
            format!("cosign:\n{}\nhallmark:\n{}", text(&cosign), text(&verify)),
        )
    };

    for (name, reference) in [
        ("key-id", format!("awskms:///{key_id}")),
        ("alias", "awskms:///alias/hallmark-release".to_owned()),
        ("arn", format!("awskms:///{arn}")),
    ] {
        let image = push_image(dir, &s, &format!("{}/awskms/{name}", s.registry));
        ok(
            &attest(&image, &["--key", &reference]),
            &format!("hallmark attest --key {reference}"),
        );
        let (c, h, t) = verdicts(&image, "kms.pub");
        assert_eq!((c, h), (true, Some(0)), "{reference}: {t}");
        let (c, h, t) = verdicts(&image, "other.pub");
        assert_eq!((c, h), (false, Some(1)), "another key must be refused: {t}");
    }

    // The key from signers.kms.kmsref alone.
    std::fs::write(
        dir.join("kmsref.yaml"),
        format!("artifacts.taskrun.signer: kms\nsigners.kms.kmsref: awskms:///{key_id}\n"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let image = push_image(dir, &s, &format!("{}/awskms/kmsref", s.registry));
    ok(
        &attest(&image, &["--config", "kmsref.yaml"]),
        "hallmark attest --config (signers.kms.kmsref: awskms://)",
    );
    let (c, h, t) = verdicts(&image, "kms.pub");
    assert_eq!((c, h), (true, Some(0)), "signers.kms.kmsref: {t}");

    // A symmetric key cannot sign: KMS (and the emulator) refuses GetPublicKey for it, so
    // hallmark stops at connect time and nothing is published.
    let image = push_image(dir, &s, &format!("{}/awskms/symmetric", s.registry));
    let out = attest(&image, &["--key", &format!("awskms:///{sym_id}")]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("GetPublicKey") && text(&out).contains("UnsupportedOperation"),
        "{}",
        text(&out)
    );
    let (_, h, t) = verdicts(&image, "kms.pub");
    assert_eq!(h, Some(1), "nothing may be published: {t}");
    eprintln!(
        "stack_kms_aws: awskms:// attestations signed by local-kms through the AWS SDK \
         (key id, alias, ARN, signers.kms.kmsref) verified by cosign v3 and hallmark; another \
         key and a symmetric key refused"
    );
}
