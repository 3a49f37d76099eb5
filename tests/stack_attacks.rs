//! Supply-chain attacks against `hallmark verify IMAGE@DIGEST` on the local stack (issue 10):
//! each attack is first built untampered (the image passes: exit 0, `decision: pass`), then
//! tampered the way an attacker with write access to the registry would, and verify must
//! deny it (exit 1, `decision: deny`) with a reason that names the attack.
//!
//! 1. A tampered payload: the DSSE payload of a genuine attestation changed after signing and
//!    pushed back, in the legacy `sha256-<hex>.att` layer (with its Rekor annotation, and
//!    without: verify then looks the payload up in Rekor) and in an OCI 1.1 referrer bundle
//!    (`signature`; the message says the signed content was changed or another key signed).
//! 2. A signer not in the policy: the attestation replaced by one signed with another key
//!    (`signature`), or keylessly by another Fulcio identity (`identity`); and the same
//!    through `config/policies/signer.rego` (`policy`).
//! 3. Mix-and-match: image A's genuine, logged attestation replayed onto image B, as a copy of
//!    its `.att` layer (with and without its Rekor annotation), as a new referrer of B, and
//!    as A's own referrer listed under B's fallback tag (`subject`, the message naming A's
//!    digest as the statement's subject; `attestation` for the last).
//! 4. A subject that does not match: a statement signed with the right key and logged, whose
//!    subject names the image's repository but another image's digest (`subject`).
//!
//! Registry content is read and rewritten with hallmark's own OCI client ([`RegistryClient`]
//! through the `Fetcher`/`Pusher` seams); referrers are deleted with crane (the registry with
//! the referrers API allows deletes).
//!
//! Needs the stack (`eval "$(tests/stack/env)"`). Without it each test says so and returns,
//! unless `HALLMARK_REQUIRE_STACK=1` (set by `tests/run stack`), where it fails.
#![allow(clippy::panic)] // Tests report failures by panicking.

mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use hallmark::dsse::{Envelope, IN_TOTO_PAYLOAD_TYPE};
use hallmark::oci::layout;
use hallmark::oci::manifest::{
    DSSE_ENVELOPE, Descriptor, ImageIndex, ImageManifest, OCI_INDEX, OCI_MANIFEST,
    SIGSTORE_BUNDLE_PREFIX, attestation_tag, referrers_fallback_tag,
};
use hallmark::oci::{Fetcher as _, ImageRef, Pusher as _, RegistryClient, RegistryOptions};
use hallmark::publish::{Attestation, BundleFormat, Material, OciSink, publish};
use hallmark::rekor::upload::{legacy_bundle_annotation, upload_dsse};
use hallmark::rekor::{DsseEntryKind, RekorClient, SignerMaterial};
use hallmark::signing::{LocalSigner, Signer as _};
use hallmark::trust::TrustedRoot;
use serde_json::{Value, json};
use support::peers::{ok, run, stdout};

const HALLMARK: &str = env!("CARGO_BIN_EXE_hallmark");
/// The largest blob the tests read back.
const MAX_BLOB: usize = 16 << 20;
const SLSA_V1: &str = "https://slsa.dev/provenance/v1";

struct Stack {
    /// docker-registry 2.8, no referrers API (the `sha256-<hex>` fallback tag).
    registry: String,
    /// distribution v3, with the referrers API (and deletes).
    referrers: String,
    rekor: String,
    trusted_root: String,
    crane: String,
}

fn var(name: &str) -> Option<String> {
    let v = std::env::var(name).ok().filter(|v| !v.is_empty());
    if v.is_none() {
        assert!(
            std::env::var("HALLMARK_REQUIRE_STACK").as_deref() != Ok("1"),
            "HALLMARK_REQUIRE_STACK=1 but {name} is not set (eval \"$(tests/stack/env)\")"
        );
        eprintln!("stack_attacks: skipped, {name} is not set (eval \"$(tests/stack/env)\")");
    }
    v
}

fn stack() -> Option<Stack> {
    Some(Stack {
        registry: var("HALLMARK_STACK_REGISTRY")?,
        referrers: var("HALLMARK_STACK_REGISTRY_REFERRERS")?,
        rekor: var("HALLMARK_STACK_REKOR_URL")?,
        trusted_root: var("HALLMARK_STACK_TRUSTED_ROOT")?,
        crane: var("HALLMARK_STACK_CRANE")?,
    })
}

/// A scratch directory with a docker config dir, a predicate and a unique tag.
struct Scratch {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
}

impl Scratch {
    fn new() -> Self {
        let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        let dir = tmp.path().to_path_buf();
        std::fs::create_dir_all(dir.join("docker")).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(
            dir.join("predicate.json"),
            r#"{"buildDefinition":{"buildType":"https://hallmark.test/v1","externalParameters":{"source":"https://git.hallmark.test/app"}},"runDetails":{"builder":{"id":"https://hallmark.test/builder"}}}"#,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        Self { _tmp: tmp, dir }
    }

    /// `hallmark generate-key-pair --output-key-prefix PREFIX` (empty password).
    fn key_pair(&self, prefix: &str) {
        ok(
            &run(
                &self.dir,
                HALLMARK,
                &["generate-key-pair", "--output-key-prefix", prefix],
                &[],
            ),
            "hallmark generate-key-pair",
        );
    }

    fn path(&self, name: &str) -> String {
        self.dir.join(name).to_string_lossy().into_owned()
    }
}

fn nonce() -> String {
    format!(
        "{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default()
    )
}

/// A fresh random image in `repo` (a registry without TLS), pushed with crane.
fn push_random_image(sc: &Scratch, s: &Stack, repo: &str) -> ImageRef {
    let n = nonce();
    std::fs::write(sc.dir.join("random.bin"), n.repeat(64)).unwrap_or_else(|e| panic!("{e}"));
    ok(
        &run(&sc.dir, "tar", &["-cf", "layer.tar", "random.bin"], &[]),
        "tar",
    );
    let tagged = format!("{repo}:{n}");
    ok(
        &run(
            &sc.dir,
            &s.crane,
            &["append", "-f", "layer.tar", "-t", &tagged],
            &[],
        ),
        "crane append",
    );
    let d = stdout(&run(&sc.dir, &s.crane, &["digest", &tagged], &[]));
    assert!(d.starts_with("sha256:"), "crane digest {tagged}: `{d}`");
    ImageRef::parse(&format!("{repo}@{d}")).unwrap_or_else(|e| panic!("{e}"))
}

/// `hallmark attest IMAGE` with `extra` signer flags, in the layouts of `format`
/// (`legacy`, `referrers`, `both`).
fn attest(sc: &Scratch, s: &Stack, image: &ImageRef, format: &str, signer: &[&str]) {
    let image = image.to_string();
    let mut args = vec![
        "attest",
        image.as_str(),
        "--predicate",
        "predicate.json",
        "--type",
        "slsaprovenance1",
        "--trusted-root",
        &s.trusted_root,
        "--bundle-format",
        format,
    ];
    args.extend_from_slice(signer);
    ok(
        &run(&sc.dir, HALLMARK, &args, &[]),
        &format!("hallmark attest {image}"),
    );
}

/// `hallmark attest IMAGE --key PREFIX.key`, logged in the stack's Rekor v1.
fn attest_with_key(sc: &Scratch, s: &Stack, image: &ImageRef, format: &str, prefix: &str) {
    let key = format!("{prefix}.key");
    attest(
        sc,
        s,
        image,
        format,
        &["--key", &key, "--rekor-url", &s.rekor],
    );
}

/// `hallmark verify IMAGE -o json` with `extra` policy flags: exit code and report.
fn verify(sc: &Scratch, s: &Stack, image: &ImageRef, extra: &[&str]) -> (i32, Value) {
    let image = image.to_string();
    let mut args = vec![
        "verify",
        image.as_str(),
        "--trusted-root",
        &s.trusted_root,
        "--rekor-url",
        &s.rekor,
        "--type",
        "slsaprovenance1",
        "-o",
        "json",
    ];
    args.extend_from_slice(extra);
    let out = run(&sc.dir, HALLMARK, &args, &[]);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "hallmark verify {image}: no JSON report ({e}):\n{}\n{}",
            stdout(&out),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap_or(-1), report)
}

/// The untampered image must pass.
fn assert_pass(what: &str, (code, report): &(i32, Value)) {
    assert_eq!(*code, 0, "{what}: must pass: {report:#}");
    assert_eq!(report["decision"], json!("pass"), "{what}: {report:#}");
    eprintln!(
        "stack_attacks: {what}: pass ({})",
        report["location"].as_str().unwrap_or_default()
    );
}

/// The tampered image must be denied, and every attestation found beside it must be
/// refused for `check` with a message holding each of `needles`. Returns those messages.
fn assert_deny(
    what: &str,
    (code, report): &(i32, Value),
    check: &str,
    needles: &[&str],
) -> Vec<String> {
    assert_eq!(*code, 1, "{what}: must be denied (exit 1): {report:#}");
    assert_eq!(report["decision"], json!("deny"), "{what}: {report:#}");
    let reasons = report["reasons"].as_array().cloned().unwrap_or_default();
    assert_eq!(
        reasons.first().map(|r| r["check"].clone()),
        Some(json!("attestations")),
        "{what}: {report:#}"
    );
    let per_attestation: Vec<&Value> = reasons.iter().skip(1).collect();
    assert!(
        !per_attestation.is_empty(),
        "{what}: no reason names an attestation: {report:#}"
    );
    let mut messages = Vec::new();
    for r in per_attestation {
        assert_eq!(r["check"], json!(check), "{what}: {report:#}");
        let message = r["message"].as_str().unwrap_or_default();
        for needle in needles {
            assert!(
                message.contains(needle),
                "{what}: the reason `{message}` does not mention `{needle}`"
            );
        }
        eprintln!(
            "stack_attacks: {what}: deny, {check} at {}: {message}",
            r["location"].as_str().unwrap_or_default()
        );
        messages.push(message.to_owned());
    }
    messages
}

/// hallmark's registry client, with a runtime to drive it.
struct Registry {
    client: RegistryClient,
    rt: tokio::runtime::Runtime,
}

impl Registry {
    fn new() -> Self {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("tokio: {e}"));
        let client = RegistryClient::new(RegistryOptions {
            timeout: Duration::from_secs(30),
            ..RegistryOptions::default()
        })
        .unwrap_or_else(|e| panic!("registry client: {e}"));
        Self { client, rt }
    }

    /// The layers (descriptor with annotations, blob) under the image's `.att` tag.
    fn legacy_layers(&self, image: &ImageRef) -> Vec<(Descriptor, Vec<u8>)> {
        let repo = &image.repository;
        let tag = attestation_tag(&image.digest);
        self.rt.block_on(async {
            let fetched = self
                .client
                .manifest(repo, &tag)
                .await
                .unwrap_or_else(|e| panic!("{repo}:{tag}: {e}"))
                .unwrap_or_else(|| panic!("{repo}:{tag}: no such tag"));
            let manifest = ImageManifest::from_json(&tag, &fetched.bytes)
                .unwrap_or_else(|e| panic!("{tag}: {e}"));
            let mut out = Vec::new();
            for layer in manifest.layers {
                let blob = self
                    .client
                    .blob(repo, &layer, MAX_BLOB)
                    .await
                    .unwrap_or_else(|e| panic!("{tag} layer {}: {e}", layer.digest));
                out.push((layer, blob));
            }
            out
        })
    }

    /// Overwrite the image's `.att` tag with a manifest of exactly `layers`.
    fn set_legacy_layers(&self, image: &ImageRef, layers: &[(Descriptor, Vec<u8>)]) {
        let repo = &image.repository;
        let tag = attestation_tag(&image.digest);
        self.rt.block_on(async {
            for (_, blob) in layers {
                self.client
                    .push_blob(repo, blob)
                    .await
                    .unwrap_or_else(|e| panic!("pushing a layer to {repo}: {e}"));
            }
            let descriptors: Vec<Descriptor> = layers.iter().map(|(d, _)| d.clone()).collect();
            let (manifest, config) = layout::legacy_manifest(&descriptors);
            self.client
                .push_blob(repo, &config)
                .await
                .unwrap_or_else(|e| panic!("pushing a config to {repo}: {e}"));
            self.client
                .push_manifest(repo, &tag, &manifest, OCI_MANIFEST)
                .await
                .unwrap_or_else(|e| panic!("pushing {repo}:{tag}: {e}"));
        });
    }

    /// The image's referrers listed by the referrers API: (manifest digest, bundle JSON).
    fn referrer_bundles(&self, image: &ImageRef) -> Vec<(String, Vec<u8>)> {
        let repo = &image.repository;
        self.rt.block_on(async {
            let index = self
                .client
                .referrers(repo, &image.digest)
                .await
                .unwrap_or_else(|e| panic!("referrers of {image}: {e}"))
                .unwrap_or_else(|| panic!("{repo}: no referrers API"));
            let index = ImageIndex::from_json("referrers", &index)
                .unwrap_or_else(|e| panic!("referrers of {image}: {e}"));
            let mut out = Vec::new();
            for entry in index.manifests {
                let fetched = self
                    .client
                    .manifest(repo, &entry.digest)
                    .await
                    .unwrap_or_else(|e| panic!("referrer {}: {e}", entry.digest))
                    .unwrap_or_else(|| panic!("referrer {}: missing", entry.digest));
                let manifest = ImageManifest::from_json(&entry.digest, &fetched.bytes)
                    .unwrap_or_else(|e| panic!("referrer {}: {e}", entry.digest));
                let Some(layer) = manifest
                    .layers
                    .iter()
                    .find(|l| l.media_type.starts_with(SIGSTORE_BUNDLE_PREFIX))
                else {
                    continue;
                };
                let blob = self
                    .client
                    .blob(repo, layer, MAX_BLOB)
                    .await
                    .unwrap_or_else(|e| panic!("referrer {} bundle: {e}", entry.digest));
                out.push((entry.digest, blob));
            }
            out
        })
    }

    /// Push `bundle_json` as a new referrer of `image` (a registry with the referrers API).
    fn push_referrer(&self, image: &ImageRef, bundle_json: &[u8]) {
        let repo = &image.repository;
        self.rt.block_on(async {
            let written = hallmark::oci::write::publish_referrer(
                &self.client,
                repo,
                image,
                bundle_json,
                Some(SLSA_V1),
                &hallmark::oci::Digest::of(bundle_json),
            )
            .await
            .unwrap_or_else(|e| panic!("pushing a referrer of {image}: {e}"));
            assert!(written.added, "the referrer was already there");
        });
    }

    /// The manifests listed under the image's referrers fallback tag (no referrers API).
    fn fallback_entries(&self, image: &ImageRef) -> Vec<Descriptor> {
        let repo = &image.repository;
        let tag = referrers_fallback_tag(&image.digest);
        self.rt.block_on(async {
            let fetched = self
                .client
                .manifest(repo, &tag)
                .await
                .unwrap_or_else(|e| panic!("{repo}:{tag}: {e}"))
                .unwrap_or_else(|| panic!("{repo}:{tag}: no such tag"));
            ImageIndex::from_json(&tag, &fetched.bytes)
                .unwrap_or_else(|e| panic!("{tag}: {e}"))
                .manifests
        })
    }

    /// Overwrite the image's referrers fallback tag with an index of `entries`.
    fn set_fallback_entries(&self, image: &ImageRef, entries: &[Descriptor]) {
        let repo = &image.repository;
        let tag = referrers_fallback_tag(&image.digest);
        let mut listed: Vec<Descriptor> = Vec::new();
        let mut index = Vec::new();
        for e in entries {
            if let Some(i) = layout::fallback_index(&listed, e) {
                index = i;
                listed.push(e.clone());
            }
        }
        self.rt.block_on(async {
            self.client
                .push_manifest(repo, &tag, &index, OCI_INDEX)
                .await
                .unwrap_or_else(|e| panic!("pushing {repo}:{tag}: {e}"));
        });
    }
}

/// Delete every referrer of `image` (a registry with the referrers API and deletes).
fn delete_referrers(sc: &Scratch, s: &Stack, reg: &Registry, image: &ImageRef) {
    let listed = reg.referrer_bundles(image);
    assert!(!listed.is_empty(), "{image} has no referrer to delete");
    for (digest, _) in listed {
        ok(
            &run(
                &sc.dir,
                &s.crane,
                &["delete", &format!("{}@{digest}", image.repository)],
                &[],
            ),
            "crane delete",
        );
    }
    assert!(
        reg.referrer_bundles(image).is_empty(),
        "{image}: the referrers API still lists deleted referrers"
    );
}

/// The envelope with its statement's builder id changed (the signature kept).
fn tamper_envelope(env: &mut Envelope) {
    let mut statement: Value =
        serde_json::from_slice(&env.payload).unwrap_or_else(|e| panic!("statement: {e}"));
    let id = "https://hallmark.test/builder";
    assert_eq!(
        statement["predicate"]["runDetails"]["builder"]["id"],
        json!(id),
        "{statement:#}"
    );
    statement["predicate"]["runDetails"]["builder"]["id"] = json!("https://evil.example/builder");
    env.payload = serde_json::to_vec(&statement).unwrap_or_else(|e| panic!("{e}"));
}

/// 1. A DSSE payload changed after signing and pushed back: in the legacy `.att` layer
///    (docker-registry, the layer's Rekor annotation kept) and in a referrer bundle (the
///    genuine referrer deleted, the tampered one pushed; its log entry kept).
#[test]
fn tampered_payload_is_denied() {
    let Some(s) = stack() else { return };
    let sc = Scratch::new();
    sc.key_pair("cosign");
    let reg = Registry::new();
    let key = ["--key", "cosign.pub"];

    // Legacy `.att` layer.
    let image = push_random_image(&sc, &s, &format!("{}/stack-attacks/tamper", s.registry));
    attest_with_key(&sc, &s, &image, "legacy", "cosign");
    assert_pass("legacy .att, untampered", &verify(&sc, &s, &image, &key));
    let layers = reg.legacy_layers(&image);
    assert_eq!(layers.len(), 1, "one .att layer");
    let (desc, blob) = &layers[0];
    let mut env = Envelope::from_json(blob).unwrap_or_else(|e| panic!("{e}"));
    tamper_envelope(&mut env);
    let tampered = env.to_json();
    let tampered_desc = layout::descriptor(DSSE_ENVELOPE, &tampered, desc.annotations.clone());
    assert!(
        tampered_desc
            .annotations
            .contains_key("dev.sigstore.cosign/bundle"),
        "the layer keeps its Rekor bundle annotation"
    );
    reg.set_legacy_layers(&image, &[(tampered_desc, tampered)]);
    assert_deny(
        "legacy .att, tampered payload",
        &verify(&sc, &s, &image, &key),
        "signature",
        &["no signature verifies", "changed after signing"],
    );

    // The same without the layer's Rekor annotation: verify looks the payload up in Rekor
    // and finds no entry of the tampered payload.
    let image = push_random_image(&sc, &s, &format!("{}/stack-attacks/tamper", s.registry));
    attest_with_key(&sc, &s, &image, "legacy", "cosign");
    assert_pass(
        "legacy .att without annotations, untampered",
        &verify(&sc, &s, &image, &key),
    );
    let (_, blob) = &reg.legacy_layers(&image)[0];
    let mut env = Envelope::from_json(blob).unwrap_or_else(|e| panic!("{e}"));
    tamper_envelope(&mut env);
    let tampered = env.to_json();
    let bare = layout::descriptor(DSSE_ENVELOPE, &tampered, Default::default());
    reg.set_legacy_layers(&image, &[(bare, tampered)]);
    assert_deny(
        "legacy .att without annotations, tampered payload",
        &verify(&sc, &s, &image, &key),
        "signature",
        &["no signature verifies", "changed after signing"],
    );

    // OCI 1.1 referrer bundle.
    let image = push_random_image(&sc, &s, &format!("{}/stack-attacks/tamper", s.referrers));
    attest_with_key(&sc, &s, &image, "referrers", "cosign");
    assert_pass(
        "referrer bundle, untampered",
        &verify(&sc, &s, &image, &key),
    );
    let bundles = reg.referrer_bundles(&image);
    assert_eq!(bundles.len(), 1, "one referrer");
    let mut bundle =
        hallmark::bundle::Bundle::from_json(&bundles[0].1).unwrap_or_else(|e| panic!("{e}"));
    let env = bundle
        .dsse_envelope
        .as_mut()
        .unwrap_or_else(|| panic!("the referrer bundle holds no DSSE envelope"));
    tamper_envelope(env);
    assert!(
        bundle
            .verification_material
            .as_ref()
            .is_some_and(|m| !m.tlog_entries.is_empty()),
        "the bundle keeps its log entry"
    );
    delete_referrers(&sc, &s, &reg, &image);
    reg.push_referrer(&image, &bundle.to_json());
    assert_deny(
        "referrer bundle, tampered payload",
        &verify(&sc, &s, &image, &key),
        "signature",
        &["no signature verifies", "changed after signing"],
    );
}

/// 2a. The attestation replaced by one signed with another key than `--key`: denied; the
///     same attestation passes with its own key (it is the signer that is refused).
#[test]
fn signer_key_not_in_policy_is_denied() {
    let Some(s) = stack() else { return };
    let sc = Scratch::new();
    sc.key_pair("cosign");
    sc.key_pair("attacker");
    let reg = Registry::new();
    let key = ["--key", "cosign.pub"];

    // Referrer bundle (registry with the referrers API).
    let image = push_random_image(&sc, &s, &format!("{}/stack-attacks/signer", s.referrers));
    attest_with_key(&sc, &s, &image, "referrers", "cosign");
    assert_pass("referrer, signed by --key", &verify(&sc, &s, &image, &key));
    delete_referrers(&sc, &s, &reg, &image);
    attest_with_key(&sc, &s, &image, "referrers", "attacker");
    assert_deny(
        "referrer, signed by another key",
        &verify(&sc, &s, &image, &key),
        "signature",
        &[
            "no signature verifies with the signer's key",
            "another key signed it",
        ],
    );
    assert_pass(
        "referrer, signed by another key, verified with that key",
        &verify(&sc, &s, &image, &["--key", "attacker.pub"]),
    );

    // Legacy `.att` (docker-registry): the attacker overwrites the tag.
    let image = push_random_image(&sc, &s, &format!("{}/stack-attacks/signer", s.registry));
    attest_with_key(&sc, &s, &image, "legacy", "cosign");
    assert_pass(
        "legacy .att, signed by --key",
        &verify(&sc, &s, &image, &key),
    );
    reg.set_legacy_layers(&image, &[]);
    attest_with_key(&sc, &s, &image, "legacy", "attacker");
    assert_eq!(
        reg.legacy_layers(&image).len(),
        1,
        "only the attacker's layer"
    );
    assert_deny(
        "legacy .att, signed by another key",
        &verify(&sc, &s, &image, &key),
        "signature",
        &[
            "no signature verifies with the signer's key",
            "another key signed it",
        ],
    );
}

/// `config/policies/signer.rego` with `allowed_identities` replaced by `identity` at `issuer`.
fn signer_policy(sc: &Scratch, identity: &str, issuer: &str) -> String {
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/policies/signer.rego");
    let rego = std::fs::read_to_string(&shipped).unwrap_or_else(|e| panic!("{e}"));
    let start = rego
        .find("allowed_identities := [")
        .unwrap_or_else(|| panic!("signer.rego has no allowed_identities"));
    let end = start
        + rego[start..]
            .find("\n]\n")
            .unwrap_or_else(|| panic!("signer.rego: allowed_identities is not closed"))
        + 3;
    let allowed = format!(
        "allowed_identities := [{}]\n",
        json!({"identity": identity, "issuer": issuer})
    );
    let policy = format!("{}{allowed}{}", &rego[..start], &rego[end..]);
    std::fs::write(sc.dir.join("signer.rego"), policy).unwrap_or_else(|e| panic!("{e}"));
    sc.path("signer.rego")
}

/// `--certificate-identity WHO --certificate-oidc-issuer ISSUER`.
fn identity<'a>(who: &'a str, issuer: &'a str) -> [&'a str; 4] {
    [
        "--certificate-identity",
        who,
        "--certificate-oidc-issuer",
        issuer,
    ]
}

/// 2b. Keyless: the attestation replaced by one a Fulcio identity other than
///     `--certificate-identity` signed: denied for its identity; the same attestation passes
///     for the attacker's identity. Through `config/policies/signer.rego` (any identity
///     verifies, the policy allows one): pass for the allowed signer, deny for the other.
#[test]
fn keyless_signer_not_in_policy_is_denied() {
    let Some(s) = stack() else { return };
    let (Some(mint), Some(issuer), Some(signing_config)) = (
        var("HALLMARK_STACK_MINT_TOKEN"),
        var("HALLMARK_STACK_OIDC_ISSUER"),
        var("HALLMARK_STACK_SIGNING_CONFIG"),
    ) else {
        return;
    };
    let sc = Scratch::new();
    let reg = Registry::new();
    let good = format!("builder-{}@hallmark.test", std::process::id());
    let evil = format!("attacker-{}@evil.example", std::process::id());
    let token = |who: &str| {
        let t = stdout(&run(&sc.dir, &mint, &[who], &[]));
        assert_eq!(t.split('.').count(), 3, "minting a token for {who}: `{t}`");
        t
    };
    let attest_keyless = |image: &ImageRef, who: &str| {
        let t = token(who);
        attest(
            &sc,
            &s,
            image,
            "referrers",
            &[
                "--keyless",
                "--identity-token",
                &t,
                "--signing-config",
                &signing_config,
            ],
        );
    };
    let policy = signer_policy(&sc, &good, &issuer);
    let any_identity_with_policy = [
        "--certificate-identity-regexp",
        ".",
        "--certificate-oidc-issuer-regexp",
        ".",
        "--policy",
        policy.as_str(),
    ];

    let image = push_random_image(&sc, &s, &format!("{}/stack-attacks/keyless", s.referrers));
    attest_keyless(&image, &good);
    assert_pass(
        "keyless, signed by --certificate-identity",
        &verify(&sc, &s, &image, &identity(&good, &issuer)),
    );
    assert_pass(
        "keyless, signer.rego, allowed signer",
        &verify(&sc, &s, &image, &any_identity_with_policy),
    );

    delete_referrers(&sc, &s, &reg, &image);
    attest_keyless(&image, &evil);
    assert_deny(
        "keyless, signed by another identity",
        &verify(&sc, &s, &image, &identity(&good, &issuer)),
        "identity",
        &["certificate identity", &evil, &good],
    );
    assert_pass(
        "keyless, signed by another identity, verified for that identity",
        &verify(&sc, &s, &image, &identity(&evil, &issuer)),
    );
    // The policy denies after verification: the reasons are the policy's, not per
    // attestation.
    let (code, report) = verify(&sc, &s, &image, &any_identity_with_policy);
    assert_eq!(
        code, 1,
        "signer.rego must deny the other identity: {report:#}"
    );
    assert_eq!(report["decision"], json!("deny"), "{report:#}");
    let reasons = report["reasons"].as_array().cloned().unwrap_or_default();
    let denial = reasons
        .iter()
        .find(|r| r["check"] == json!("policy"))
        .unwrap_or_else(|| panic!("no policy reason: {report:#}"));
    let message = denial["message"].as_str().unwrap_or_default();
    assert!(
        message.contains(&evil) && message.contains("is not allowed"),
        "the policy reason `{message}` does not name the signer"
    );
    assert_eq!(
        denial["package"],
        json!("data.hallmark.signer"),
        "{report:#}"
    );
    eprintln!("stack_attacks: keyless, signer.rego, another identity: deny, policy: {message}");
}

/// 3. Mix-and-match: image A's genuine, logged attestation replayed onto image B (same
///    repository): its `.att` layer copied into B's `.att` tag; its bundle pushed as a
///    referrer of B; A's referrer manifest listed under B's fallback tag.
#[test]
fn replayed_attestation_is_denied() {
    let Some(s) = stack() else { return };
    let sc = Scratch::new();
    sc.key_pair("cosign");
    let reg = Registry::new();
    let key = ["--key", "cosign.pub"];

    // docker-registry: legacy `.att` and the referrers fallback tag.
    let repo = format!("{}/stack-attacks/replay", s.registry);
    let a = push_random_image(&sc, &s, &repo);
    attest_with_key(&sc, &s, &a, "both", "cosign");
    let (code, report) = verify(&sc, &s, &a, &key);
    assert_pass("image A, its own attestations", &(code, report.clone()));
    assert_eq!(
        report["attestations"].as_array().map(Vec::len),
        Some(2),
        "A has a legacy layer and a referrer: {report:#}"
    );

    let b = push_random_image(&sc, &s, &repo);
    let (code, report) = verify(&sc, &s, &b, &key);
    assert_eq!(code, 1, "B has no attestation yet: {report:#}");
    reg.set_legacy_layers(&b, &reg.legacy_layers(&a));
    assert_deny(
        "A's .att layer replayed onto B",
        &verify(&sc, &s, &b, &key),
        "subject",
        &[b.digest.hex(), "is not a subject", a.digest.hex()],
    );

    // The layer without its Rekor annotation: verify finds A's entry in Rekor by the
    // payload's hash, and still refuses the subject.
    let d = push_random_image(&sc, &s, &repo);
    let bare: Vec<_> = reg
        .legacy_layers(&a)
        .into_iter()
        .map(|(_, blob)| {
            (
                layout::descriptor(DSSE_ENVELOPE, &blob, Default::default()),
                blob,
            )
        })
        .collect();
    reg.set_legacy_layers(&d, &bare);
    assert_deny(
        "A's .att layer without annotations replayed onto B",
        &verify(&sc, &s, &d, &key),
        "subject",
        &[d.digest.hex(), "is not a subject", a.digest.hex()],
    );

    let c = push_random_image(&sc, &s, &repo);
    let listed = reg.fallback_entries(&a);
    assert_eq!(listed.len(), 1, "A's fallback tag lists its referrer");
    reg.set_fallback_entries(&c, &listed);
    assert_deny(
        "A's referrer listed under B's fallback tag",
        &verify(&sc, &s, &c, &key),
        "attestation",
        &["its subject is", a.digest.as_str(), c.digest.as_str()],
    );

    // Registry with the referrers API: A's bundle as a new referrer of B.
    let repo = format!("{}/stack-attacks/replay", s.referrers);
    let a = push_random_image(&sc, &s, &repo);
    attest_with_key(&sc, &s, &a, "referrers", "cosign");
    assert_pass("image A, its referrer", &verify(&sc, &s, &a, &key));
    let b = push_random_image(&sc, &s, &repo);
    let bundles = reg.referrer_bundles(&a);
    assert_eq!(bundles.len(), 1, "one referrer of A");
    reg.push_referrer(&b, &bundles[0].1);
    assert_deny(
        "A's referrer bundle replayed onto B",
        &verify(&sc, &s, &b, &key),
        "subject",
        &[b.digest.hex(), "is not a subject", a.digest.hex()],
    );
}

/// Sign `statement` with `key` (cosign key, empty password) and log it in the stack's Rekor:
/// an attestation ready to publish, as `hallmark attest` makes it, but about any subject.
fn signed_and_logged(
    s: &Stack,
    rt: &tokio::runtime::Runtime,
    key: &Path,
    statement: &Value,
) -> Attestation {
    let signer = LocalSigner::from_file(key, Some(b"")).unwrap_or_else(|e| panic!("{e}"));
    let payload = serde_json::to_vec(statement).unwrap_or_else(|e| panic!("{e}"));
    let envelope = hallmark::signing::sign_envelope(&signer, IN_TOTO_PAYLOAD_TYPE, &payload)
        .unwrap_or_else(|e| panic!("signing: {e}"));
    let trust =
        TrustedRoot::from_file(Path::new(&s.trusted_root)).unwrap_or_else(|e| panic!("{e}"));
    let rekor =
        RekorClient::new(&s.rekor, Duration::from_secs(30)).unwrap_or_else(|e| panic!("{e}"));
    let material = SignerMaterial::Key(signer.public_key().clone());
    let uploaded = rt
        .block_on(upload_dsse(
            &rekor,
            &envelope.to_json(),
            &material,
            DsseEntryKind::Dsse,
            &trust,
        ))
        .unwrap_or_else(|e| panic!("logging in Rekor: {e}"));
    Attestation {
        envelope,
        predicate_type: SLSA_V1.to_owned(),
        material: Material::Key,
        rekor_annotation: Some(
            legacy_bundle_annotation(&uploaded.entry).unwrap_or_else(|e| panic!("{e}")),
        ),
        tlog_entries: vec![uploaded.entry],
        timestamps: Vec::new(),
    }
}

/// An SLSA v1 statement about `name` at `digest` (hex).
fn statement(name: &str, digest: &str) -> Value {
    json!({
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": name, "digest": {"sha256": digest}}],
        "predicateType": SLSA_V1,
        "predicate": {
            "buildDefinition": {"buildType": "https://hallmark.test/v1", "externalParameters": {}},
            "runDetails": {"builder": {"id": "https://hallmark.test/builder"}}
        }
    })
}

/// 4. A statement signed with the right key and logged, whose subject names the image's
///    repository but another image's digest, published beside the image (legacy layer and
///    referrer) in place of the genuine one.
#[test]
fn statement_about_another_image_is_denied() {
    let Some(s) = stack() else { return };
    let sc = Scratch::new();
    sc.key_pair("cosign");
    let reg = Registry::new();
    let key = ["--key", "cosign.pub"];
    let key_file = sc.dir.join("cosign.key");
    let repo = format!("{}/stack-attacks/subject", s.referrers);
    let other = push_random_image(&sc, &s, &repo);
    let image = push_random_image(&sc, &s, &repo);
    let name = image.repository.to_string();
    let both = OciSink {
        format: BundleFormat::Both,
        repository: None,
    };

    // Untampered: the statement names the image; both layouts pass.
    let genuine = signed_and_logged(
        &s,
        &reg.rt,
        &key_file,
        &statement(&name, image.digest.hex()),
    );
    let written = reg.rt.block_on(publish(
        &reg.client,
        &genuine,
        std::slice::from_ref(&image),
        &both,
    ));
    for w in &written {
        assert!(w.outcome.is_ok(), "{}: {:?}", w.sink, w.outcome);
    }
    let (code, report) = verify(&sc, &s, &image, &key);
    assert_pass("statement about the image", &(code, report.clone()));
    assert!(
        report["attestations"]
            .as_array()
            .is_some_and(|a| a.len() == 2 && a.iter().all(|x| x["decision"] == json!("pass"))),
        "{report:#}"
    );

    // The attacker's statement: same name, the other image's digest.
    let forged = signed_and_logged(
        &s,
        &reg.rt,
        &key_file,
        &statement(&name, other.digest.hex()),
    );
    let forged_json = forged.envelope_json();
    reg.set_legacy_layers(
        &image,
        &[(
            layout::descriptor(DSSE_ENVELOPE, &forged_json, forged.legacy_annotations()),
            forged_json,
        )],
    );
    delete_referrers(&sc, &s, &reg, &image);
    reg.push_referrer(&image, &forged.bundle().to_json());
    let messages = assert_deny(
        "statement about another image",
        &verify(&sc, &s, &image, &key),
        "subject",
        &[image.digest.hex(), "is not a subject", other.digest.hex()],
    );
    assert_eq!(messages.len(), 2, "the legacy layer and the referrer");
    // The forged statement verifies for the image it does name: only the subject is wrong.
    let written = reg.rt.block_on(publish(
        &reg.client,
        &forged,
        std::slice::from_ref(&other),
        &both,
    ));
    for w in &written {
        assert!(w.outcome.is_ok(), "{}: {:?}", w.sink, w.outcome);
    }
    assert_pass(
        "the forged statement, beside the image it names",
        &verify(&sc, &s, &other, &key),
    );
}
