//! `hallmark sign` with remote signers against the real services of the local stack
//! (issue 8):
//!
//! - `--key hashivault://KEY` through OpenBao transit, with token auth (`VAULT_TOKEN`) and
//!   with JWT auth (a service-account token, `signers.kms.auth.oidc.*` in `--config`):
//!   the envelope passes `cosign verify-blob-attestation --key hashivault://KEY` and
//!   `hallmark verify --envelope --key <exported PEM>`; the aes256 transit key and another
//!   ServiceAccount's JWT are refused with the cause named;
//! - `--keyless` with a static-issuer token and with a service-account token from the
//!   stack's API server: the bundle's certificate names the identity and issuer, carries
//!   an SCT and chains to the stack's Fulcio root; the bundle carries a TSA timestamp;
//!   `hallmark verify --bundle` and `cosign verify-blob-attestation --bundle` pass for the
//!   identity and fail for another one;
//! - one `hallmark sign` of 100 runs makes one Fulcio certificate request, counted from
//!   Fulcio's own `fulcio_new_certs` metric;
//! - failures (expired token, unreachable Fulcio, aes256 key, wrong `COSIGN_PASSWORD`,
//!   refused Vault token) exit 2 naming the cause, write nothing, and never print the
//!   canary secret, even with debug logs. The cases that need no stack always run.
//!
//! Needs the stack (`eval "$(tests/stack/env)"`). Without it the stack tests say so and
//! return, unless `HALLMARK_REQUIRE_STACK=1` (set by `tests/run stack`), where they fail.
#![allow(clippy::panic)] // Tests report failures by panicking.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use base64::Engine as _;

/// Tests that ask this binary's Fulcio for certificates take turns, so that the reuse
/// test's count of Fulcio's certificates is not disturbed by its siblings.
static FULCIO: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn fulcio_turn() -> std::sync::MutexGuard<'static, ()> {
    FULCIO
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

struct Stack {
    dir: String,
    fulcio_url: String,
    trusted_root: String,
    signing_config: String,
    mint_token: String,
    mint_sa_token: String,
    oidc_issuer: String,
    k8s_issuer: String,
    vault_addr: String,
    vault_token: String,
    vault_key: String,
    vault_aes_key: String,
    jwt_role: String,
    jwt_audience: String,
    cosign: String,
    kubectl: String,
}

fn stack(test: &str) -> Option<Stack> {
    let var = |n: &str| std::env::var(n).ok().filter(|v| !v.is_empty());
    let s = (|| {
        Some(Stack {
            dir: var("HALLMARK_STACK_DIR")?,
            fulcio_url: var("HALLMARK_STACK_FULCIO_URL")?,
            trusted_root: var("HALLMARK_STACK_TRUSTED_ROOT")?,
            signing_config: var("HALLMARK_STACK_SIGNING_CONFIG")?,
            mint_token: var("HALLMARK_STACK_MINT_TOKEN")?,
            mint_sa_token: var("HALLMARK_STACK_MINT_SA_TOKEN")?,
            oidc_issuer: var("HALLMARK_STACK_OIDC_ISSUER")?,
            k8s_issuer: var("HALLMARK_STACK_K8S_ISSUER")?,
            vault_addr: var("VAULT_ADDR")?,
            vault_token: var("VAULT_TOKEN")?,
            vault_key: var("HALLMARK_STACK_VAULT_KEY")?,
            vault_aes_key: var("HALLMARK_STACK_VAULT_AES_KEY")?,
            jwt_role: var("HALLMARK_STACK_VAULT_JWT_ROLE")?,
            jwt_audience: var("HALLMARK_STACK_VAULT_JWT_AUDIENCE")?,
            cosign: var("HALLMARK_STACK_COSIGN")?,
            kubectl: var("HALLMARK_STACK_KUBECTL")?,
        })
    })();
    if s.is_none() {
        assert!(
            std::env::var("HALLMARK_REQUIRE_STACK").as_deref() != Ok("1"),
            "HALLMARK_REQUIRE_STACK=1 but the stack's env (parts 2 and 3) is not set \
             (eval \"$(tests/stack/env)\")"
        );
        eprintln!(
            "stack_signers::{test}: skipped, no stack (eval \"$(tests/stack/env)\" to run it)"
        );
    }
    s
}

/// Run a program with a bound on its time, in `dir`, with extra and removed variables.
fn run(dir: &Path, program: &str, args: &[&str], env: &[(&str, &str)], unset: &[&str]) -> Output {
    let mut c = Command::new("timeout");
    c.arg("180").arg(program).args(args).current_dir(dir);
    c.env("TUF_ROOT", dir.join("tuf"))
        .env("DOCKER_CONFIG", dir.join("docker"))
        .env_remove("SIGSTORE_ID_TOKEN");
    for k in unset {
        c.env_remove(k);
    }
    for (k, v) in env {
        c.env(k, v);
    }
    c.output()
        .unwrap_or_else(|e| panic!("running {program}: {e}"))
}

fn hallmark(dir: &Path, args: &[&str], env: &[(&str, &str)], unset: &[&str]) -> Output {
    run(dir, env!("CARGO_BIN_EXE_hallmark"), args, env, unset)
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

fn code(out: &Output) -> i32 {
    out.status.code().unwrap_or(-1)
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// A TaskRun file named `name` (the quickstart TaskRun, renamed).
fn run_file(dir: &Path, name: &str) -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/runs/quickstart-taskrun.yaml");
    let text = std::fs::read_to_string(&src).unwrap_or_else(|e| panic!("{e}"));
    let text = text.replacen("name: quickstart-build", &format!("name: {name}"), 1);
    let path = dir.join(format!("{name}.yaml"));
    std::fs::write(&path, text).unwrap_or_else(|e| panic!("{e}"));
    path
}

/// The first subject digest of a signed envelope file.
fn subject_digest(envelope: &Path) -> String {
    let env: serde_json::Value =
        serde_json::from_slice(&std::fs::read(envelope).unwrap_or_else(|e| panic!("{e}")))
            .unwrap_or_else(|e| panic!("{e}"));
    let payload = base64::engine::general_purpose::STANDARD
        .decode(env["payload"].as_str().unwrap_or_default())
        .unwrap_or_else(|e| panic!("{e}"));
    let st: serde_json::Value = serde_json::from_slice(&payload).unwrap_or_else(|e| panic!("{e}"));
    st["subject"][0]["digest"]["sha256"]
        .as_str()
        .unwrap_or_else(|| panic!("no subject digest"))
        .to_owned()
}

fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"))
}

/// A namespace with ServiceAccounts `hallmark-signer` (the Vault JWT role's) and `other`,
/// deleted on drop.
struct Namespace<'a> {
    s: &'a Stack,
    name: String,
}

impl<'a> Namespace<'a> {
    fn new(s: &'a Stack, dir: &Path, tag: &str) -> Self {
        let name = format!("hs-{tag}-{}", std::process::id());
        ok(
            &run(dir, &s.kubectl, &["create", "namespace", &name], &[], &[]),
            "kubectl create namespace",
        );
        for sa in ["hallmark-signer", "other"] {
            ok(
                &run(
                    dir,
                    &s.kubectl,
                    &["create", "serviceaccount", sa, "-n", &name],
                    &[],
                    &[],
                ),
                "kubectl create serviceaccount",
            );
        }
        Self { s, name }
    }

    fn token(&self, dir: &Path, sa: &str, audience: &str) -> String {
        let out = run(
            dir,
            &self.s.mint_sa_token,
            &[&self.name, sa, audience],
            &[],
            &[],
        );
        ok(&out, "MINT_SA_TOKEN");
        stdout(&out)
    }

    fn identity(&self, sa: &str) -> String {
        format!(
            "https://kubernetes.io/namespaces/{}/serviceaccounts/{sa}",
            self.name
        )
    }
}

impl Drop for Namespace<'_> {
    fn drop(&mut self) {
        let _ = Command::new("timeout")
            .args([
                "60",
                &self.s.kubectl,
                "delete",
                "namespace",
                &self.name,
                "--wait=false",
            ])
            .output();
    }
}

fn verify_envelope(dir: &Path, envelope: &Path, key: &Path) -> Output {
    let digest = format!("sha256:{}", subject_digest(envelope));
    hallmark(
        dir,
        &[
            "verify",
            "--envelope",
            &envelope.to_string_lossy(),
            "--key",
            &key.to_string_lossy(),
            "--insecure-ignore-tlog",
            &digest,
        ],
        &[],
        &[],
    )
}

fn cosign_verify_kms(dir: &Path, s: &Stack, envelope: &Path, digest: &str) -> Output {
    run(
        dir,
        &s.cosign,
        &[
            "verify-blob-attestation",
            "--key",
            &format!("hashivault://{}", s.vault_key),
            "--signature",
            &envelope.to_string_lossy(),
            "--type",
            "slsaprovenance",
            "--insecure-ignore-tlog",
            "--digest",
            digest,
            "--digestAlg",
            "sha256",
        ],
        &[
            ("VAULT_ADDR", &s.vault_addr),
            ("VAULT_TOKEN", &s.vault_token),
        ],
        &[],
    )
}

#[test]
fn hashivault_with_token_and_jwt_auth() {
    let Some(s) = stack("hashivault_with_token_and_jwt_auth") else {
        return;
    };
    let tmp = tempdir();
    let dir = tmp.path();
    let run_path = run_file(dir, "vault-build");
    let run_arg = run_path.to_string_lossy().into_owned();
    let key_ref = format!("hashivault://{}", s.vault_key);

    // The transit key's public key, as cosign exports it.
    let out = run(
        dir,
        &s.cosign,
        &["public-key", "--key", &key_ref],
        &[
            ("VAULT_ADDR", &s.vault_addr),
            ("VAULT_TOKEN", &s.vault_token),
        ],
        &[],
    );
    ok(&out, "cosign public-key --key hashivault://");
    let pem = dir.join("vault.pub");
    std::fs::write(&pem, &out.stdout).unwrap_or_else(|e| panic!("{e}"));
    let other = dir.join("other");
    ok(
        &hallmark(
            dir,
            &[
                "generate-key-pair",
                "--output-key-prefix",
                &other.to_string_lossy(),
            ],
            &[("COSIGN_PASSWORD", "")],
            &[],
        ),
        "generate-key-pair",
    );
    let other_pub = dir.join("other.pub");

    // Token auth (VAULT_ADDR / VAULT_TOKEN).
    let token_env = dir.join("token-auth.json");
    ok(
        &hallmark(
            dir,
            &[
                "sign",
                &run_arg,
                "--key",
                &key_ref,
                "-o",
                &token_env.to_string_lossy(),
            ],
            &[
                ("VAULT_ADDR", &s.vault_addr),
                ("VAULT_TOKEN", &s.vault_token),
            ],
            &[],
        ),
        "hallmark sign --key hashivault:// (token auth)",
    );
    let digest = subject_digest(&token_env);
    // A key bundle (public-key hint, no tlog entry) from the same signer: cosign and
    // hallmark verify it with the exported key.
    let key_bundle = dir.join("token-auth.sigstore.json");
    ok(
        &hallmark(
            dir,
            &[
                "sign",
                &run_arg,
                "--key",
                &key_ref,
                "-o",
                &dir.join("token-auth-2.json").to_string_lossy(),
                "--bundle-out",
                &key_bundle.to_string_lossy(),
            ],
            &[
                ("VAULT_ADDR", &s.vault_addr),
                ("VAULT_TOKEN", &s.vault_token),
            ],
            &[],
        ),
        "hallmark sign --key hashivault:// --bundle-out",
    );
    ok(
        &hallmark(
            dir,
            &[
                "verify",
                "--bundle",
                &key_bundle.to_string_lossy(),
                "--key",
                &pem.to_string_lossy(),
                "--insecure-ignore-tlog",
                &format!("sha256:{digest}"),
            ],
            &[],
            &[],
        ),
        "hallmark verify --bundle --key (KMS bundle)",
    );
    ok(
        &run(
            dir,
            &s.cosign,
            &[
                "verify-blob-attestation",
                "--bundle",
                &key_bundle.to_string_lossy(),
                "--key",
                &pem.to_string_lossy(),
                "--type",
                "slsaprovenance",
                "--insecure-ignore-tlog",
                "--digest",
                &digest,
                "--digestAlg",
                "sha256",
            ],
            &[],
            &[],
        ),
        "cosign verify-blob-attestation --bundle --key (KMS bundle)",
    );
    ok(
        &verify_envelope(dir, &token_env, &pem),
        "hallmark verify with the exported key",
    );
    assert_eq!(
        code(&verify_envelope(dir, &token_env, &other_pub)),
        1,
        "another key must deny"
    );
    ok(
        &cosign_verify_kms(dir, &s, &token_env, &digest),
        "cosign verify-blob-attestation --key hashivault://",
    );
    let wrong = "0".repeat(64);
    assert!(
        !cosign_verify_kms(dir, &s, &token_env, &wrong)
            .status
            .success(),
        "cosign must refuse another subject digest"
    );

    // JWT auth: a service-account token for the Vault role, through chains-config keys.
    let ns = Namespace::new(&s, dir, "vault");
    let jwt = dir.join("vault.jwt");
    std::fs::write(&jwt, ns.token(dir, "hallmark-signer", &s.jwt_audience))
        .unwrap_or_else(|e| panic!("{e}"));
    let cfg = dir.join("chains-config.yaml");
    std::fs::write(
        &cfg,
        format!(
            "artifacts.taskrun.signer: kms\nsigners.kms.kmsref: {key_ref}\n\
             signers.kms.auth.address: {}\nsigners.kms.auth.oidc.path: jwt\n\
             signers.kms.auth.oidc.role: {}\nsigners.kms.auth.oidc.token-path: {}\n",
            s.vault_addr,
            s.jwt_role,
            jwt.display()
        ),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let jwt_env = dir.join("jwt-auth.json");
    let unset = ["VAULT_TOKEN", "VAULT_ADDR"];
    ok(
        &hallmark(
            dir,
            &[
                "sign",
                &run_arg,
                "--config",
                &cfg.to_string_lossy(),
                "-o",
                &jwt_env.to_string_lossy(),
            ],
            &[],
            &unset,
        ),
        "hallmark sign with signers.kms.* and Vault JWT auth",
    );
    ok(
        &verify_envelope(dir, &jwt_env, &pem),
        "hallmark verify (JWT auth)",
    );
    ok(
        &cosign_verify_kms(dir, &s, &jwt_env, &digest),
        "cosign verify-blob-attestation (JWT auth)",
    );

    // Another ServiceAccount's JWT is refused by Vault; nothing is written.
    std::fs::write(&jwt, ns.token(dir, "other", &s.jwt_audience)).unwrap_or_else(|e| panic!("{e}"));
    let refused = dir.join("refused.json");
    let out = hallmark(
        dir,
        &[
            "sign",
            &run_arg,
            "--config",
            &cfg.to_string_lossy(),
            "-o",
            &refused.to_string_lossy(),
        ],
        &[],
        &unset,
    );
    assert_eq!(code(&out), 2, "{}", text(&out));
    assert!(text(&out).contains("JWT login"), "{}", text(&out));
    assert!(!refused.exists());

    // The aes256 key: a clear error naming the key type.
    let out = hallmark(
        dir,
        &[
            "sign",
            &run_arg,
            "--key",
            &format!("hashivault://{}", s.vault_aes_key),
            "-o",
            &refused.to_string_lossy(),
        ],
        &[
            ("VAULT_ADDR", &s.vault_addr),
            ("VAULT_TOKEN", &s.vault_token),
        ],
        &[],
    );
    assert_eq!(code(&out), 2, "{}", text(&out));
    assert!(
        text(&out).contains("aes256-gcm96") && text(&out).contains("cannot sign"),
        "{}",
        text(&out)
    );
    assert!(!refused.exists());
}

#[test]
fn vault_jwt_login_is_renewed_when_its_token_is_revoked() {
    use hallmark::signing::AsyncSigner as _;
    use hallmark::signing::kms::{VaultAuth, VaultConfig, VaultSigner};
    use hallmark::signing::token::TokenSource;

    let Some(s) = stack("vault_jwt_login_is_renewed_when_its_token_is_revoked") else {
        return;
    };
    let Some(bao) = std::env::var("HALLMARK_STACK_BAO")
        .ok()
        .filter(|b| !b.is_empty())
    else {
        eprintln!("stack_signers: HALLMARK_STACK_BAO not set; re-login test skipped");
        return;
    };
    let tmp = tempdir();
    let dir = tmp.path();
    let ns = Namespace::new(&s, dir, "relogin");
    let jwt = dir.join("vault.jwt");
    std::fs::write(&jwt, ns.token(dir, "hallmark-signer", &s.jwt_audience))
        .unwrap_or_else(|e| panic!("{e}"));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let config = VaultConfig::new(
        s.vault_addr.clone(),
        s.vault_key.clone(),
        VaultAuth::Jwt {
            mount: "jwt".into(),
            role: s.jwt_role.clone(),
            jwt: TokenSource::File(jwt.clone()),
        },
    );
    let signer = rt
        .block_on(VaultSigner::connect(config))
        .unwrap_or_else(|e| panic!("{e}"));
    let first = rt
        .block_on(signer.sign(b"one"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(first.public_key.verify(b"one", &first.signature).is_ok());
    // Revoke the token(s) JWT auth issued to this namespace's ServiceAccount (only ours:
    // the stack may be shared): the signer's token is now refused (403), and it must log
    // in again with its JWT.
    let script = r#"n=0
for a in $("$BAO" list -format=json auth/token/accessors | jq -r '.[]'); do
  if "$BAO" token lookup -format=json -accessor "$a" 2>/dev/null \
       | jq -e --arg ns "$NS" '.data.display_name | contains($ns)' >/dev/null; then
    "$BAO" token revoke -accessor "$a" >/dev/null && n=$((n+1))
  fi
done
echo "$n""#;
    let out = run(
        dir,
        "bash",
        &["-c", script],
        &[
            ("VAULT_ADDR", &s.vault_addr),
            ("VAULT_TOKEN", &s.vault_token),
            ("BAO", &bao),
            ("NS", &format!(":{}:", ns.name)),
        ],
        &[],
    );
    ok(&out, "revoking the JWT-issued token");
    assert!(
        stdout(&out).parse::<u32>().unwrap_or(0) >= 1,
        "no token of {} found to revoke: {}",
        ns.name,
        text(&out)
    );
    let second = rt
        .block_on(signer.sign(b"two"))
        .unwrap_or_else(|e| panic!("signing after revocation: {e}"));
    assert!(second.public_key.verify(b"two", &second.signature).is_ok());
}

/// The Fulcio leaf of a bundle: (SAN, issuer extension, has SCT), via `cosign`-free
/// parsing through hallmark's library.
fn leaf_facts(bundle: &Path) -> (String, String, bool) {
    let b = hallmark::bundle::Bundle::from_json(
        &std::fs::read(bundle).unwrap_or_else(|e| panic!("{e}")),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let m = b.material().unwrap_or_else(|e| panic!("{e}"));
    let der = &m
        .certificate
        .as_ref()
        .unwrap_or_else(|| panic!("no certificate"))
        .raw_bytes;
    let leaf = hallmark::x509::Certificate::from_der(der).unwrap_or_else(|e| panic!("{e}"));
    let id = leaf.identity().unwrap_or_else(|e| panic!("{e}"));
    let san = id
        .san
        .as_ref()
        .map(|s| s.as_str().to_owned())
        .unwrap_or_default();
    let issuer = id.issuer().unwrap_or_default().to_owned();
    let sct = hallmark::x509::embedded_scts(&leaf).is_ok_and(|v| !v.is_empty());
    (san, issuer, sct)
}

fn verify_bundle(
    dir: &Path,
    s: &Stack,
    bundle: &Path,
    digest: &str,
    identity: &str,
    issuer: &str,
) -> Output {
    hallmark(
        dir,
        &[
            "verify",
            "--bundle",
            &bundle.to_string_lossy(),
            &format!("sha256:{digest}"),
            "--certificate-identity",
            identity,
            "--certificate-oidc-issuer",
            issuer,
            "--trusted-root",
            &s.trusted_root,
            "--insecure-ignore-tlog",
        ],
        &[],
        &[],
    )
}

fn cosign_verify_bundle(
    dir: &Path,
    s: &Stack,
    bundle: &Path,
    digest: &str,
    identity: &str,
    issuer: &str,
) -> Output {
    run(
        dir,
        &s.cosign,
        &[
            "verify-blob-attestation",
            "--bundle",
            &bundle.to_string_lossy(),
            "--certificate-identity",
            identity,
            "--certificate-oidc-issuer",
            issuer,
            "--trusted-root",
            &s.trusted_root,
            "--type",
            "slsaprovenance",
            "--insecure-ignore-tlog",
            "--digest",
            digest,
            "--digestAlg",
            "sha256",
        ],
        &[],
        &[],
    )
}

/// Sign keylessly with a token file; returns (envelope, bundle).
fn sign_keyless(
    dir: &Path,
    s: &Stack,
    run_arg: &str,
    token_file: &Path,
    tag: &str,
) -> (PathBuf, PathBuf) {
    let env = dir.join(format!("{tag}.json"));
    let bundle = dir.join(format!("{tag}.sigstore.json"));
    ok(
        &hallmark(
            dir,
            &[
                "sign",
                run_arg,
                "--keyless",
                "--identity-token-file",
                &token_file.to_string_lossy(),
                "--signing-config",
                &s.signing_config,
                "--trusted-root",
                &s.trusted_root,
                "-o",
                &env.to_string_lossy(),
                "--bundle-out",
                &bundle.to_string_lossy(),
            ],
            &[],
            &[],
        ),
        &format!("hallmark sign --keyless ({tag})"),
    );
    (env, bundle)
}

#[test]
fn keyless_with_static_issuer_and_service_account_tokens() {
    let Some(s) = stack("keyless_with_static_issuer_and_service_account_tokens") else {
        return;
    };
    let _turn = fulcio_turn();
    let tmp = tempdir();
    let dir = tmp.path();
    let run_path = run_file(dir, "keyless-build");
    let run_arg = run_path.to_string_lossy().into_owned();

    // Static issuer (email identity).
    let email = format!("signer-{}@hallmark.test", std::process::id());
    let out = run(dir, &s.mint_token, &[&email], &[], &[]);
    ok(&out, "MINT_TOKEN");
    let token = dir.join("static.token");
    std::fs::write(&token, stdout(&out)).unwrap_or_else(|e| panic!("{e}"));
    let (env, bundle) = sign_keyless(dir, &s, &run_arg, &token, "static");
    let digest = subject_digest(&env);
    let (san, issuer, sct) = leaf_facts(&bundle);
    assert_eq!(
        (san.as_str(), issuer.as_str(), sct),
        (email.as_str(), s.oidc_issuer.as_str(), true)
    );
    let b: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&bundle).unwrap_or_else(|e| panic!("{e}")))
            .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        b["verificationMaterial"]["timestampVerificationData"]["rfc3161Timestamps"][0]["signedTimestamp"].is_string(),
        "the bundle carries the TSA's timestamp: {b}"
    );
    ok(
        &verify_bundle(dir, &s, &bundle, &digest, &email, &s.oidc_issuer),
        "hallmark verify --bundle (static issuer)",
    );
    assert_eq!(
        code(&verify_bundle(
            dir,
            &s,
            &bundle,
            &digest,
            "someone-else@hallmark.test",
            &s.oidc_issuer
        )),
        1,
        "another identity must deny"
    );
    ok(
        &cosign_verify_bundle(dir, &s, &bundle, &digest, &email, &s.oidc_issuer),
        "cosign verify-blob-attestation --bundle (static issuer)",
    );
    assert!(
        !cosign_verify_bundle(
            dir,
            &s,
            &bundle,
            &digest,
            "someone-else@hallmark.test",
            &s.oidc_issuer
        )
        .status
        .success(),
        "cosign must refuse another identity"
    );

    // The same through chains-config keys (signers.x509.*) instead of flags.
    let cfg = dir.join("x509-config.yaml");
    std::fs::write(
        &cfg,
        format!(
            "signers.x509.fulcio.enabled: \"true\"\nsigners.x509.fulcio.address: {}\n\
             signers.x509.fulcio.provider: filesystem\nsigners.x509.identity.token.file: {}\n",
            s.fulcio_url,
            token.display()
        ),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let cfg_bundle = dir.join("config.sigstore.json");
    ok(
        &hallmark(
            dir,
            &[
                "sign",
                &run_arg,
                "--config",
                &cfg.to_string_lossy(),
                "--trusted-root",
                &s.trusted_root,
                "-o",
                &dir.join("config.json").to_string_lossy(),
                "--bundle-out",
                &cfg_bundle.to_string_lossy(),
            ],
            &[],
            &[],
        ),
        "hallmark sign with signers.x509.fulcio.* from --config",
    );
    assert_eq!(leaf_facts(&cfg_bundle).0, email);

    // A Kubernetes service-account token (TokenRequest at audience sigstore).
    let ns = Namespace::new(&s, dir, "keyless");
    let token = dir.join("sa.token");
    std::fs::write(&token, ns.token(dir, "hallmark-signer", "sigstore"))
        .unwrap_or_else(|e| panic!("{e}"));
    let (_, bundle) = sign_keyless(dir, &s, &run_arg, &token, "sa");
    let ident = ns.identity("hallmark-signer");
    let (san, issuer, sct) = leaf_facts(&bundle);
    assert_eq!(
        (san.as_str(), issuer.as_str(), sct),
        (ident.as_str(), s.k8s_issuer.as_str(), true)
    );
    ok(
        &verify_bundle(dir, &s, &bundle, &digest, &ident, &s.k8s_issuer),
        "hallmark verify --bundle (service account)",
    );
    assert_eq!(
        code(&verify_bundle(
            dir,
            &s,
            &bundle,
            &digest,
            &ns.identity("other"),
            &s.k8s_issuer
        )),
        1
    );
    assert_eq!(
        code(&verify_bundle(
            dir,
            &s,
            &bundle,
            &digest,
            &ident,
            &s.oidc_issuer
        )),
        1
    );
    ok(
        &cosign_verify_bundle(dir, &s, &bundle, &digest, &ident, &s.k8s_issuer),
        "cosign verify-blob-attestation --bundle (service account)",
    );
    assert!(
        !cosign_verify_bundle(
            dir,
            &s,
            &bundle,
            &digest,
            &ns.identity("other"),
            &s.k8s_issuer
        )
        .status
        .success()
    );

    // The same identity, with hallmark minting the token itself (TokenRequest through
    // the kubeconfig's credentials: --service-account NS/NAME).
    let bundle = dir.join("tokenrequest.sigstore.json");
    let sa = format!("{}/hallmark-signer", ns.name);
    ok(
        &hallmark(
            dir,
            &[
                "sign",
                &run_arg,
                "--keyless",
                "--service-account",
                &sa,
                "--signing-config",
                &s.signing_config,
                "--trusted-root",
                &s.trusted_root,
                "-o",
                &dir.join("tokenrequest.json").to_string_lossy(),
                "--bundle-out",
                &bundle.to_string_lossy(),
            ],
            &[],
            &[],
        ),
        "hallmark sign --keyless --service-account",
    );
    let (san, issuer, sct) = leaf_facts(&bundle);
    assert_eq!(
        (san.as_str(), issuer.as_str(), sct),
        (ident.as_str(), s.k8s_issuer.as_str(), true)
    );
    ok(
        &verify_bundle(dir, &s, &bundle, &digest, &ident, &s.k8s_issuer),
        "hallmark verify --bundle (TokenRequest)",
    );
}

#[test]
fn k8s_secret_key_reference() {
    let Some(s) = stack("k8s_secret_key_reference") else {
        return;
    };
    let tmp = tempdir();
    let dir = tmp.path();
    let run_path = run_file(dir, "k8s-key-build");
    let run_arg = run_path.to_string_lossy().into_owned();
    let ns = Namespace::new(&s, dir, "k8skey");
    let prefix = dir.join("k8s");
    ok(
        &hallmark(
            dir,
            &[
                "generate-key-pair",
                "--output-key-prefix",
                &prefix.to_string_lossy(),
            ],
            &[("COSIGN_PASSWORD", "secret-pw")],
            &[],
        ),
        "generate-key-pair",
    );
    ok(
        &run(
            dir,
            &s.kubectl,
            &[
                "-n",
                &ns.name,
                "create",
                "secret",
                "generic",
                "signing-secrets",
                &format!("--from-file=cosign.key={}", dir.join("k8s.key").display()),
                "--from-literal=cosign.password=secret-pw",
            ],
            &[],
            &[],
        ),
        "kubectl create secret",
    );
    let envelope = dir.join("k8s.json");
    let reference = format!("k8s://{}/signing-secrets", ns.name);
    ok(
        &hallmark(
            dir,
            &[
                "sign",
                &run_arg,
                "--key",
                &reference,
                "-o",
                &envelope.to_string_lossy(),
            ],
            &[],
            &["COSIGN_PASSWORD"],
        ),
        "hallmark sign --key k8s://",
    );
    ok(
        &verify_envelope(dir, &envelope, &dir.join("k8s.pub")),
        "hallmark verify (k8s:// key)",
    );
    let missing = dir.join("missing.json");
    let out = hallmark(
        dir,
        &[
            "sign",
            &run_arg,
            "--key",
            &format!("k8s://{}/nope", ns.name),
            "-o",
            &missing.to_string_lossy(),
        ],
        &[],
        &[],
    );
    fails_cleanly(&out, "not found", "secret-pw", &missing);
}

#[test]
fn keyless_certificate_is_reused_then_refreshed() {
    use hallmark::signing::AsyncSigner as _;
    use hallmark::signing::fulcio::{KeylessOptions, KeylessSigner};
    use hallmark::signing::token::TokenSource;

    let Some(s) = stack("keyless_certificate_is_reused_then_refreshed") else {
        return;
    };
    let _turn = fulcio_turn();
    let tmp = tempdir();
    let dir = tmp.path();
    let out = run(dir, &s.mint_token, &["refresh@hallmark.test"], &[], &[]);
    ok(&out, "MINT_TOKEN");
    let token = dir.join("token");
    std::fs::write(&token, stdout(&out)).unwrap_or_else(|e| panic!("{e}"));
    let trust = hallmark::trust::TrustedRoot::from_file(Path::new(&s.trusted_root))
        .unwrap_or_else(|e| panic!("{e}"));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let sign3 = |margin: std::time::Duration| {
        let mut o = KeylessOptions::new(s.fulcio_url.clone(), TokenSource::File(token.clone()));
        o.refresh_margin = margin;
        let signer = KeylessSigner::new(o, trust.clone()).unwrap_or_else(|e| panic!("{e}"));
        let mut leaves = Vec::new();
        for msg in [&b"one"[..], b"two", b"three"] {
            let out = rt
                .block_on(signer.sign(msg))
                .unwrap_or_else(|e| panic!("{e}"));
            assert!(out.public_key.verify(msg, &out.signature).is_ok());
            let chain = out.certificate_chain.unwrap_or_else(|| panic!("no chain"));
            leaves.push(chain[0].clone());
        }
        (signer.certificate_requests(), leaves)
    };
    // Fulcio certificates live 10 minutes: the default margin (2 min) reuses one...
    let (requests, leaves) = sign3(std::time::Duration::from_secs(120));
    assert_eq!(requests, 1);
    assert!(leaves.iter().all(|l| l == &leaves[0]));
    // ...and a margin longer than the lifetime refreshes before every signature.
    let (requests, leaves) = sign3(std::time::Duration::from_secs(11 * 60));
    assert_eq!(requests, 3);
    assert!(leaves[0] != leaves[1] && leaves[1] != leaves[2]);

    // What a publisher takes: the envelope, the leaf and chain as cosign's annotations
    // want them (PEM), and a bundle.
    let signer = KeylessSigner::new(
        KeylessOptions::new(s.fulcio_url.clone(), TokenSource::File(token.clone())),
        trust.clone(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let signed = rt
        .block_on(hallmark::signing::sign_envelope_async(
            &signer,
            "application/vnd.in-toto+json",
            b"{}",
        ))
        .unwrap_or_else(|e| panic!("{e}"));
    let leaf = signed
        .certificate_pem()
        .unwrap_or_else(|| panic!("no leaf"));
    assert!(hallmark::x509::Certificate::from_pem(leaf.as_bytes()).is_ok());
    assert!(
        signed
            .chain_pem()
            .is_some_and(|c| c.contains("BEGIN CERTIFICATE"))
    );
    assert_eq!(
        signer.certificate_chain().map(|c| c.len()),
        signed.certificate_chain.as_ref().map(|c| c.len())
    );
    let bundle = signed.to_bundle();
    assert!(hallmark::bundle::Bundle::from_json(&bundle.to_json()).is_ok());
}

/// Fulcio's `fulcio_new_certs` counter, from its metrics port (named on its command
/// line in the log).
fn fulcio_new_certs(s: &Stack) -> u64 {
    let log = std::fs::read_to_string(Path::new(&s.dir).join("logs/fulcio.log"))
        .unwrap_or_else(|e| panic!("{e}"));
    let port = log
        .rsplit("--metrics-port=")
        .next()
        .and_then(|r| r.split(|c: char| !c.is_ascii_digit()).next())
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| panic!("no --metrics-port in fulcio.log"));
    let body = http_get(&format!("http://127.0.0.1:{port}/metrics"));
    body.lines()
        .find_map(|l| l.strip_prefix("fulcio_new_certs "))
        .and_then(|v| v.trim().parse::<f64>().ok())
        .map(|v| v as u64)
        .unwrap_or_else(|| panic!("no fulcio_new_certs metric"))
}

/// A blocking GET through curl (the crate's HTTP client is async).
fn http_get(url: &str) -> String {
    let out = Command::new("timeout")
        .args(["30", "curl", "-fsS", url])
        .output()
        .unwrap_or_else(|e| panic!("curl: {e}"));
    assert!(out.status.success(), "GET {url} failed");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn one_certificate_for_a_hundred_runs() {
    let Some(s) = stack("one_certificate_for_a_hundred_runs") else {
        return;
    };
    let _turn = fulcio_turn();
    let tmp = tempdir();
    let dir = tmp.path();
    let runs: Vec<String> = (0..100)
        .map(|i| {
            run_file(dir, &format!("reuse-{i:03}"))
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    let out_dir = dir.join("out");
    std::fs::create_dir(&out_dir).unwrap_or_else(|e| panic!("{e}"));
    let token = dir.join("token");
    // Other engineers may share the stack: a concurrent certificate elsewhere shows up in
    // Fulcio's counter, so a mismatch is retried (our own count must always be 1).
    let mut last = (0, 0);
    for _attempt in 0..3 {
        let out = run(dir, &s.mint_token, &["reuse@hallmark.test"], &[], &[]);
        ok(&out, "MINT_TOKEN");
        std::fs::write(&token, stdout(&out)).unwrap_or_else(|e| panic!("{e}"));
        let before = fulcio_new_certs(&s);
        let mut args = vec!["sign"];
        args.extend(runs.iter().map(String::as_str));
        let token_arg = token.to_string_lossy().into_owned();
        let out_arg = out_dir.to_string_lossy().into_owned();
        args.extend([
            "--keyless",
            "--identity-token-file",
            &token_arg,
            "--signing-config",
            &s.signing_config,
            "--trusted-root",
            &s.trusted_root,
            "-o",
            &out_arg,
        ]);
        let out = hallmark(dir, &args, &[("RUST_LOG", "hallmark=info")], &[]);
        ok(&out, "hallmark sign --keyless on 100 runs");
        let after = fulcio_new_certs(&s);
        let ours = text(&out)
            .split("certificate_requests=")
            .nth(1)
            .and_then(|r| r.split(|c: char| !c.is_ascii_digit()).next())
            .and_then(|n| n.parse::<u64>().ok())
            .unwrap_or_else(|| panic!("no certificate_requests in the log:\n{}", text(&out)));
        let written = std::fs::read_dir(&out_dir)
            .map(Iterator::count)
            .unwrap_or(0);
        assert_eq!(written, 100, "100 envelopes");
        assert_eq!(
            ours, 1,
            "hallmark counted {ours} certificate requests for 100 runs"
        );
        last = (ours, after - before);
        eprintln!(
            "stack_signers: 100 runs signed; hallmark's requests: {ours}; Fulcio's fulcio_new_certs: {before} -> {after}"
        );
        if after - before == 1 {
            return;
        }
    }
    panic!(
        "Fulcio issued {} certificates during a 100-run sign (hallmark counted {})",
        last.1, last.0
    );
}

/// Exit 2, the cause named, nothing written, and the canary nowhere in the output.
fn fails_cleanly(out: &Output, cause: &str, canary: &str, written: &Path) {
    let t = text(out);
    assert_eq!(code(out), 2, "{t}");
    assert!(t.contains(cause), "the error should name {cause:?}:\n{t}");
    assert!(!t.contains(canary), "the canary secret leaked:\n{t}");
    assert!(!written.exists(), "{} was written", written.display());
}

#[test]
fn failures_name_the_cause_and_leak_no_secret() {
    let tmp = tempdir();
    let dir = tmp.path();
    let run_path = run_file(dir, "failing-build");
    let run_arg = run_path.to_string_lossy().into_owned();
    let out_file = dir.join("never.json");
    let out_arg = out_file.to_string_lossy().into_owned();
    let debug = ("RUST_LOG", "debug");

    // An expired identity token holding a canary: refused before any request.
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let canary_claims =
        r#"{"iss":"https://issuer.test","sub":"canary-subject","exp":1000,"aud":"sigstore"}"#;
    let expired = format!(
        "{}.{}.{}",
        b64.encode(r#"{"alg":"RS256"}"#),
        b64.encode(canary_claims),
        b64.encode("canary-signature-s3cr3t")
    );
    let out = hallmark(
        dir,
        &[
            "sign",
            &run_arg,
            "--keyless",
            "--identity-token",
            &expired,
            "--fulcio-url",
            "http://127.0.0.1:9",
            "-o",
            &out_arg,
        ],
        &[debug],
        &[],
    );
    fails_cleanly(&out, "expired", &expired, &out_file);
    assert!(!text(&out).contains("canary-signature-s3cr3t"));

    // An unreachable Fulcio, with a fresh token.
    let fresh = format!(
        "{}.{}.{}",
        b64.encode(r#"{"alg":"RS256"}"#),
        b64.encode(r#"{"iss":"https://issuer.test","sub":"canary-subject","exp":4000000000,"aud":"sigstore"}"#),
        b64.encode("canary-signature-s3cr3t")
    );
    let token_file = dir.join("token");
    std::fs::write(&token_file, &fresh).unwrap_or_else(|e| panic!("{e}"));
    let out = hallmark(
        dir,
        &[
            "sign",
            &run_arg,
            "--keyless",
            "--identity-token-file",
            &token_file.to_string_lossy(),
            "--fulcio-url",
            "http://127.0.0.1:9",
            "-o",
            &out_arg,
        ],
        &[debug],
        &[],
    );
    fails_cleanly(
        &out,
        "cannot reach Fulcio",
        "canary-signature-s3cr3t",
        &out_file,
    );
    let out = hallmark(
        dir,
        &[
            "sign",
            &run_arg,
            "--keyless",
            "--identity-token",
            &fresh,
            "--fulcio-url",
            "http://127.0.0.1:9",
            "-o",
            &out_arg,
        ],
        &[debug],
        &[],
    );
    fails_cleanly(
        &out,
        "cannot reach Fulcio",
        "canary-signature-s3cr3t",
        &out_file,
    );

    // A wrong COSIGN_PASSWORD.
    let key = dir.join("cosign");
    ok(
        &hallmark(
            dir,
            &[
                "generate-key-pair",
                "--output-key-prefix",
                &key.to_string_lossy(),
            ],
            &[("COSIGN_PASSWORD", "right-password")],
            &[],
        ),
        "generate-key-pair",
    );
    let out = hallmark(
        dir,
        &[
            "sign",
            &run_arg,
            "--key",
            &dir.join("cosign.key").to_string_lossy(),
            "-o",
            &out_arg,
        ],
        &[debug, ("COSIGN_PASSWORD", "canary-wrong-password-s3cr3t")],
        &[],
    );
    fails_cleanly(&out, "decrypt", "canary-wrong-password-s3cr3t", &out_file);

    // Conflicting options are refused up front.
    let out = hallmark(
        dir,
        &["sign", &run_arg, "--key", "k", "--keyless"],
        &[],
        &[],
    );
    assert_eq!(code(&out), 2, "{}", text(&out));
    let out = hallmark(
        dir,
        &[
            "sign",
            &run_arg,
            "--key",
            "azurekms://vault.vault.azure.net/key",
            "-o",
            &out_arg,
        ],
        &[],
        &[],
    );
    fails_cleanly(
        &out,
        "azurekms:// key references need hallmark built with the cargo feature `azurekms`",
        "s3cr3t",
        &out_file,
    );
    let cfg = dir.join("bad-config.yaml");
    std::fs::write(
        &cfg,
        "signers.x509.fulcio.enabled: \"true\"\nsigners.x509.fulcio.provider: spiffe\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let out = hallmark(
        dir,
        &[
            "sign",
            &run_arg,
            "--config",
            &cfg.to_string_lossy(),
            "-o",
            &out_arg,
        ],
        &[],
        &[],
    );
    fails_cleanly(&out, "signers.x509.fulcio.provider", "s3cr3t", &out_file);

    std::fs::write(
        &cfg,
        "signers.x509.fulcio.enabled: \"true\"\nsigners.x509.fulcio.address: not-a-url\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let out = hallmark(
        dir,
        &[
            "sign",
            &run_arg,
            "--config",
            &cfg.to_string_lossy(),
            "-o",
            &out_arg,
        ],
        &[],
        &[],
    );
    fails_cleanly(&out, "signers.x509.fulcio.address", "s3cr3t", &out_file);
    std::fs::write(
        &cfg,
        "artifacts.taskrun.signer: kms\nsigners.kms.kmsref: gcpkms://projects/p/locations/l/keyRings/r/cryptoKeys/k\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let out = hallmark(
        dir,
        &[
            "sign",
            &run_arg,
            "--config",
            &cfg.to_string_lossy(),
            "-o",
            &out_arg,
        ],
        &[],
        &[],
    );
    fails_cleanly(
        &out,
        "signers.kms.kmsref: gcpkms:// key references need hallmark built with the cargo feature `gcpkms`",
        "s3cr3t",
        &out_file,
    );

    // Vault: a canary Vault token is refused, and the aes256 key, without leaking it.
    let Some(s) = stack("failures_name_the_cause_and_leak_no_secret (Vault part)") else {
        return;
    };
    let canary_vault = "hvs.canary-vault-token-s3cr3t";
    let out = hallmark(
        dir,
        &[
            "sign",
            &run_arg,
            "--key",
            &format!("hashivault://{}", s.vault_key),
            "-o",
            &out_arg,
        ],
        &[
            debug,
            ("VAULT_ADDR", &s.vault_addr),
            ("VAULT_TOKEN", canary_vault),
        ],
        &[],
    );
    fails_cleanly(&out, "permission denied", canary_vault, &out_file);
    let cfg = dir.join("vault-config.yaml");
    std::fs::write(
        &cfg,
        format!(
            "artifacts.taskrun.signer: kms\nsigners.kms.kmsref: hashivault://{}\n\
             signers.kms.auth.address: {}\nsigners.kms.auth.token: {}\n",
            s.vault_aes_key, s.vault_addr, s.vault_token
        ),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let out = hallmark(
        dir,
        &[
            "sign",
            &run_arg,
            "--config",
            &cfg.to_string_lossy(),
            "-o",
            &out_arg,
        ],
        &[debug],
        &["VAULT_TOKEN"],
    );
    let t = text(&out);
    assert_eq!(code(&out), 2, "{t}");
    assert!(t.contains("aes256-gcm96"), "{t}");
    assert!(!out_file.exists());
    // The stack's root token is short ("root"): check the config value is not echoed as
    // a key/value pair.
    assert!(!t.contains(&format!("token: {}", s.vault_token)), "{t}");
}

/// Keyless trust material through TUF (issue 8): with `signers.x509.tuf.mirror.url`
/// naming the stack's TUF repository and no `--trusted-root`, the Fulcio certificate and
/// its SCT are checked against the repository's `trusted_root.json` target — from a
/// pinned initial root (`--tuf-root`), and trusted on first use from the mirror as
/// Chains does. A tampered initial root and an unreachable mirror are refused naming
/// the key. `signers.x509.fulcio.issuer` is checked against the token's issuer before
/// Fulcio is asked.
#[test]
fn keyless_trust_from_the_tuf_mirror_and_the_issuer_check() {
    let Some(s) = stack("keyless_trust_from_the_tuf_mirror_and_the_issuer_check") else {
        return;
    };
    let var = |n: &str| std::env::var(n).ok().filter(|v| !v.is_empty());
    let (Some(tuf_url), Some(tuf_root), Some(tsa_url)) = (
        var("HALLMARK_STACK_TUF_URL"),
        var("HALLMARK_STACK_TUF_ROOT"),
        var("HALLMARK_STACK_TSA_URL"),
    ) else {
        assert!(
            std::env::var("HALLMARK_REQUIRE_STACK").as_deref() != Ok("1"),
            "HALLMARK_STACK_TUF_URL/_TUF_ROOT/_TSA_URL not set"
        );
        return;
    };
    let _turn = fulcio_turn();
    let tmp = tempdir();
    let dir = tmp.path();
    let run_path = run_file(dir, "tuf-build");
    let run_arg = run_path.to_string_lossy().into_owned();
    let email = format!("tuf-{}@hallmark.test", std::process::id());
    let out = run(dir, &s.mint_token, &[&email], &[], &[]);
    ok(&out, "MINT_TOKEN");
    let token = dir.join("static.token");
    std::fs::write(&token, stdout(&out)).unwrap_or_else(|e| panic!("{e}"));
    let token_arg = token.to_string_lossy().into_owned();
    // A fresh TUF datastore: the stack's repository is rebuilt at each of its starts.
    let cache = dir.join("cache");
    let cache_env = cache.to_string_lossy().into_owned();
    let config = |name: &str, mirror: &str, issuer: &str, fulcio: &str| {
        let path = dir.join(name);
        std::fs::write(
            &path,
            format!(
                "signers.x509.fulcio.enabled: \"true\"\nsigners.x509.fulcio.address: {fulcio}\n\
                 signers.x509.fulcio.issuer: {issuer}\nsigners.x509.tuf.mirror.url: {mirror}\n"
            ),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        path.to_string_lossy().into_owned()
    };
    let good = config("good.yaml", &tuf_url, &s.oidc_issuer, &s.fulcio_url);
    let sign = |cfg: &str, extra: &[&str], tag: &str| {
        let env = dir.join(format!("{tag}.json"));
        let bundle = dir.join(format!("{tag}.sigstore.json"));
        let mut args = vec![
            "sign",
            &run_arg,
            "--config",
            cfg,
            "--identity-token-file",
            &token_arg,
            "--timestamp-server-url",
            &tsa_url,
        ];
        args.extend_from_slice(extra);
        let env_arg = env.to_string_lossy().into_owned();
        let bundle_arg = bundle.to_string_lossy().into_owned();
        args.extend_from_slice(&["-o", &env_arg, "--bundle-out", &bundle_arg]);
        let out = hallmark(dir, &args, &[("XDG_CACHE_HOME", &cache_env)], &[]);
        (out, env, bundle)
    };

    // A pinned initial root, then trust on first use from the mirror: both verify.
    for (tag, extra) in [
        ("pinned", &["--tuf-root", tuf_root.as_str()][..]),
        ("tofu", &[][..]),
    ] {
        let (out, env, bundle) = sign(&good, extra, tag);
        ok(&out, &format!("hallmark sign, trust from TUF ({tag})"));
        let digest = subject_digest(&env);
        let (san, issuer, sct) = leaf_facts(&bundle);
        assert_eq!(
            (san.as_str(), issuer.as_str(), sct),
            (email.as_str(), s.oidc_issuer.as_str(), true)
        );
        ok(
            &verify_bundle(dir, &s, &bundle, &digest, &email, &s.oidc_issuer),
            &format!("hallmark verify --bundle (TUF, {tag})"),
        );
        ok(
            &cosign_verify_bundle(dir, &s, &bundle, &digest, &email, &s.oidc_issuer),
            &format!("cosign verify-blob-attestation --bundle (TUF, {tag})"),
        );
    }
    let cached = std::fs::read_dir(cache.join("hallmark/tuf-sign")).map_or(0, Iterator::count);
    assert!(cached >= 1, "no TUF datastore under {}", cache.display());

    // A tampered initial root: its signature no longer verifies.
    let mut root: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&tuf_root).unwrap_or_else(|e| panic!("{e}")))
            .unwrap_or_else(|e| panic!("{e}"));
    root["signed"]["expires"] = serde_json::json!("2099-01-01T00:00:00Z");
    let tampered = dir.join("tampered-root.json");
    std::fs::write(&tampered, root.to_string()).unwrap_or_else(|e| panic!("{e}"));
    let (out, env, _) = sign(
        &good,
        &["--tuf-root", &tampered.to_string_lossy()],
        "tampered",
    );
    let t = text(&out);
    assert_eq!(code(&out), 2, "{t}");
    assert!(t.contains("signers.x509.tuf.mirror.url"), "{t}");
    assert!(!env.exists());

    // An unreachable mirror.
    let unreachable = config(
        "unreachable.yaml",
        "http://127.0.0.1:9",
        &s.oidc_issuer,
        &s.fulcio_url,
    );
    let (out, env, _) = sign(&unreachable, &[], "unreachable");
    let t = text(&out);
    assert_eq!(code(&out), 2, "{t}");
    assert!(
        t.contains("signers.x509.tuf.mirror.url") && t.contains("127.0.0.1:9"),
        "{t}"
    );
    assert!(!env.exists());

    // Another issuer configured: refused naming the key, before Fulcio is asked (its
    // address is unreachable here, and that is not what the error says).
    let other = config(
        "other-issuer.yaml",
        &tuf_url,
        "https://issuer.other.test",
        "http://127.0.0.1:9",
    );
    let (out, env, _) = sign(&other, &["--trusted-root", &s.trusted_root], "other-issuer");
    let t = text(&out);
    assert_eq!(code(&out), 2, "{t}");
    assert!(
        t.contains("signers.x509.fulcio.issuer") && t.contains(&s.oidc_issuer),
        "{t}"
    );
    assert!(!t.contains("cannot reach Fulcio"), "{t}");
    assert!(!env.exists());
    eprintln!(
        "stack_signers: keyless trust from the stack's TUF mirror (pinned and first use) \
         verified by hallmark and cosign; tampered root, unreachable mirror and another \
         issuer refused naming their key"
    );
}
