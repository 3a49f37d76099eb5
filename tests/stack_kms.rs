//! `hallmark attest --key hashivault://KEY` into the stack's registry and Rekor (issue 8):
//! an attestation signed by OpenBao transit passes `cosign verify-attestation --key
//! hashivault://KEY` (cosign v3) and `hallmark verify --key <exported PEM>`, with token
//! auth (`VAULT_ADDR`/`VAULT_TOKEN`) and with JWT auth (a ServiceAccount token from the
//! stack's API server, given through the `chains-config` keys `signers.kms.auth.*` in
//! `--config`, with `VAULT_ADDR`/`VAULT_TOKEN` unset) — both with `--key` and with
//! `signers.kms.kmsref` alone. Another key is refused by both verifiers; another
//! ServiceAccount's JWT is refused by OpenBao and nothing is published.
//!
//! Needs the stack (`eval "$(tests/stack/env)"`); skipped with a message without it,
//! unless `HALLMARK_REQUIRE_STACK=1` (set by `tests/run stack`).
#![allow(clippy::panic)] // Tests report failures by panicking.

use std::path::Path;
use std::process::{Command, Output};

struct Stack {
    registry: String,
    trusted_root: String,
    rekor: String,
    cosign: String,
    crane: String,
    kubectl: String,
    mint_sa_token: String,
    vault_addr: String,
    vault_token: String,
    vault_key: String,
    jwt_role: String,
    jwt_audience: String,
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
            kubectl: var("HALLMARK_STACK_KUBECTL")?,
            mint_sa_token: var("HALLMARK_STACK_MINT_SA_TOKEN")?,
            vault_addr: var("VAULT_ADDR")?,
            vault_token: var("VAULT_TOKEN")?,
            vault_key: var("HALLMARK_STACK_VAULT_KEY")?,
            jwt_role: var("HALLMARK_STACK_VAULT_JWT_ROLE")?,
            jwt_audience: var("HALLMARK_STACK_VAULT_JWT_AUDIENCE")?,
        })
    })();
    if s.is_none() {
        assert!(
            std::env::var("HALLMARK_REQUIRE_STACK").as_deref() != Ok("1"),
            "HALLMARK_REQUIRE_STACK=1 but the stack's env (parts 1 to 3) is not set"
        );
        eprintln!("stack_kms: skipped, no stack (eval \"$(tests/stack/env)\" to run it)");
    }
    s
}

/// Run `program` in `dir`, bounded to 180 s, with `env` added and `unset` removed.
fn run(dir: &Path, program: &str, args: &[&str], env: &[(&str, &str)], unset: &[&str]) -> Output {
    let mut c = Command::new("timeout");
    c.arg("180").arg(program).args(args).current_dir(dir);
    c.env("DOCKER_CONFIG", dir.join("docker"))
        .env("TUF_ROOT", dir.join("tuf"))
        .env("COSIGN_PASSWORD", "")
        .env("COSIGN_YES", "true");
    for k in unset {
        c.env_remove(k);
    }
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
        &run(dir, "tar", &["-cf", "layer.tar", "random.bin"], &[], &[]),
        "tar",
    );
    let tagged = format!("{repo}:{nonce}");
    ok(
        &run(
            dir,
            &s.crane,
            &["append", "-f", "layer.tar", "-t", &tagged],
            &[],
            &[],
        ),
        "crane append",
    );
    let out = run(dir, &s.crane, &["digest", &tagged], &[], &[]);
    ok(&out, "crane digest");
    let digest = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    assert!(digest.starts_with("sha256:"), "crane digest: `{digest}`");
    format!("{repo}@{digest}")
}

#[test]
fn hashivault_attestations_verify_with_token_and_jwt_auth() {
    let Some(s) = stack() else { return };
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let dir = tmp.path();
    std::fs::create_dir_all(dir.join("docker")).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        dir.join("predicate.json"),
        r#"{"builder":{"id":"https://hallmark.test/kms"},"buildType":"https://hallmark.test/v1"}"#,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let key_ref = format!("hashivault://{}", s.vault_key);
    let vault_env = [
        ("VAULT_ADDR", s.vault_addr.as_str()),
        ("VAULT_TOKEN", s.vault_token.as_str()),
    ];
    let no_vault_env = ["VAULT_ADDR", "VAULT_TOKEN"];
    let hallmark = env!("CARGO_BIN_EXE_hallmark");

    // The transit key's public key as cosign exports it, and another key.
    let out = run(
        dir,
        &s.cosign,
        &["public-key", "--key", &key_ref],
        &vault_env,
        &[],
    );
    ok(&out, "cosign public-key --key hashivault://");
    std::fs::write(dir.join("vault.pub"), &out.stdout).unwrap_or_else(|e| panic!("{e}"));
    ok(
        &run(
            dir,
            hallmark,
            &["generate-key-pair", "--output-key-prefix", "other"],
            &[],
            &[],
        ),
        "generate-key-pair",
    );

    let attest = |image: &str, extra: &[&str], env: &[(&str, &str)], unset: &[&str]| {
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
        run(dir, hallmark, &args, env, unset)
    };
    // (cosign v3 with the KMS key or a key file, hallmark verify with a key file)
    let verdicts = |image: &str, cosign_key: &str, pem: &str| {
        let cosign = run(
            dir,
            &s.cosign,
            &[
                "verify-attestation",
                "--key",
                cosign_key,
                "--type",
                "slsaprovenance",
                "--trusted-root",
                &s.trusted_root,
                image,
            ],
            &vault_env,
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
            &[],
        );
        (
            cosign.status.success(),
            verify.status.code(),
            format!("cosign:\n{}\nhallmark:\n{}", text(&cosign), text(&verify)),
        )
    };

    // Token auth.
    let image = push_image(dir, &s, &format!("{}/kms/token", s.registry));
    ok(
        &attest(&image, &["--key", &key_ref], &vault_env, &[]),
        "hallmark attest --key hashivault:// (token auth)",
    );
    let (c, h, t) = verdicts(&image, &key_ref, "vault.pub");
    assert_eq!((c, h), (true, Some(0)), "token auth: {t}");
    let (c, h, t) = verdicts(&image, "other.pub", "other.pub");
    assert_eq!((c, h), (false, Some(1)), "another key must be refused: {t}");

    // JWT auth through the chains-config keys, without VAULT_ADDR/VAULT_TOKEN.
    let ns = format!("kms-attest-{}", std::process::id());
    ok(
        &run(dir, &s.kubectl, &["create", "namespace", &ns], &[], &[]),
        "kubectl create namespace",
    );
    let _cleanup = Cleanup {
        kubectl: s.kubectl.clone(),
        namespace: ns.clone(),
    };
    for sa in ["hallmark-signer", "other"] {
        ok(
            &run(
                dir,
                &s.kubectl,
                &["create", "serviceaccount", sa, "-n", &ns],
                &[],
                &[],
            ),
            "kubectl create serviceaccount",
        );
    }
    let jwt = dir.join("vault.jwt");
    let mint = |sa: &str| {
        let out = run(dir, &s.mint_sa_token, &[&ns, sa, &s.jwt_audience], &[], &[]);
        ok(&out, "MINT_SA_TOKEN");
        std::fs::write(&jwt, out.stdout.trim_ascii()).unwrap_or_else(|e| panic!("{e}"));
    };
    mint("hallmark-signer");
    let auth = format!(
        "signers.kms.auth.address: {}\nsigners.kms.auth.oidc.path: jwt\n\
         signers.kms.auth.oidc.role: {}\nsigners.kms.auth.oidc.token-path: {}\n",
        s.vault_addr,
        s.jwt_role,
        jwt.display()
    );
    std::fs::write(dir.join("jwt.yaml"), &auth).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        dir.join("kmsref.yaml"),
        format!("artifacts.taskrun.signer: kms\nsigners.kms.kmsref: {key_ref}\n{auth}"),
    )
    .unwrap_or_else(|e| panic!("{e}"));

    let image = push_image(dir, &s, &format!("{}/kms/jwt", s.registry));
    ok(
        &attest(
            &image,
            &["--key", &key_ref, "--config", "jwt.yaml"],
            &[],
            &no_vault_env,
        ),
        "hallmark attest --key hashivault:// --config (JWT auth)",
    );
    let (c, h, t) = verdicts(&image, &key_ref, "vault.pub");
    assert_eq!((c, h), (true, Some(0)), "JWT auth: {t}");
    let (c, h, t) = verdicts(&image, "other.pub", "other.pub");
    assert_eq!((c, h), (false, Some(1)), "another key must be refused: {t}");

    // The key from signers.kms.kmsref alone.
    let image = push_image(dir, &s, &format!("{}/kms/kmsref", s.registry));
    ok(
        &attest(&image, &["--config", "kmsref.yaml"], &[], &no_vault_env),
        "hallmark attest --config (signers.kms.kmsref, JWT auth)",
    );
    let (c, h, t) = verdicts(&image, &key_ref, "vault.pub");
    assert_eq!((c, h), (true, Some(0)), "signers.kms.kmsref: {t}");

    // Another ServiceAccount's JWT: OpenBao refuses the login, nothing is published.
    mint("other");
    let image = push_image(dir, &s, &format!("{}/kms/refused", s.registry));
    let out = attest(
        &image,
        &["--key", &key_ref, "--config", "jwt.yaml"],
        &[],
        &no_vault_env,
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("JWT login"), "{}", text(&out));
    let (_, h, t) = verdicts(&image, &key_ref, "vault.pub");
    assert_eq!(h, Some(1), "nothing may be published: {t}");
    eprintln!(
        "stack_kms: hashivault:// attestations (token auth, JWT auth with --key and with \
         signers.kms.kmsref) verified by cosign v3 and hallmark; another key and another \
         ServiceAccount refused"
    );
}

/// Deletes the test's namespace.
struct Cleanup {
    kubectl: String,
    namespace: String,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let _ = Command::new("timeout")
            .args([
                "60",
                &self.kubectl,
                "delete",
                "namespace",
                &self.namespace,
                "--wait=false",
            ])
            .output();
    }
}
