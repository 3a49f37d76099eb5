//! `hallmark verify`'s release-gate outputs over envelopes that `hallmark sign --key`
//! made from a real TaskRun (testdata/runs/quickstart-taskrun.yaml), SLSA v0.2 and v1:
//!
//! - the example Rego policies in config/policies/, each with an allow and a deny case,
//!   over the input document `hallmark verify` builds (checked field by field against
//!   the documented schema), and through the binary (`--policy`: pass, deny with the
//!   policy's reasons, unparsable policy = exit 2);
//! - `--sarif`: the SARIF 2.1.0 log of a denial;
//! - `--vsa-out --vsa-key`: the signed VSA verifies with `hallmark verify --envelope`
//!   and `cosign verify-blob-attestation --type https://slsa.dev/verification_summary/v1`
//!   against the artifact digest, and not against another.

// Test helpers stop the test at the first error.
#![allow(clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use hallmark::test_support::{repo_dir, shared_dir};
use hallmark::verify::rego::{PolicySet, PolicySource, read_sources};
use serde_json::{Value, json};

const DIGEST: &str = "00c9c46cf9dc40d88583ea0ce63c77d8029a606cac6c23590fab5f152d431ed3";
const FORMATS: [&str; 2] = ["slsa/v1", "slsa/v2alpha4"];
const VSA_TYPE: &str = "https://slsa.dev/verification_summary/v1";

fn keys() -> PathBuf {
    shared_dir().join("chains/keys")
}

fn password() -> String {
    std::fs::read_to_string(keys().join("cosign.password"))
        .unwrap_or_else(|e| panic!("cosign.password: {e}"))
}

fn subject() -> String {
    format!("sha256:{DIGEST}")
}

fn show(o: &Output) -> String {
    format!(
        "status {:?}\nstdout: {}\nstderr: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// `hallmark sign` the quickstart TaskRun in `format` with Chains' fixture key.
fn sign(dir: &Path, format: &str) -> PathBuf {
    let run = repo_dir().join("testdata/runs/quickstart-taskrun.yaml");
    let out_path = dir.join(format!("{}.json", format.replace('/', "-")));
    let out = Command::new(env!("CARGO_BIN_EXE_hallmark"))
        .arg("sign")
        .arg(&run)
        .args(["--format", format, "--key"])
        .arg(keys().join("cosign.key"))
        .arg("-o")
        .arg(&out_path)
        .env("COSIGN_PASSWORD", password())
        .output()
        .unwrap_or_else(|e| panic!("running hallmark sign: {e}"));
    assert!(out.status.success(), "hallmark sign: {}", show(&out));
    out_path
}

/// The signed payload inside an envelope.
fn payload(envelope: &Path) -> Vec<u8> {
    let env: Value = serde_json::from_slice(
        &std::fs::read(envelope).unwrap_or_else(|e| panic!("{}: {e}", envelope.display())),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    base64::Engine::decode(
        &base64::engine::general_purpose::STANDARD,
        env["payload"].as_str().unwrap_or_default(),
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

/// The signed statement inside an envelope.
fn statement(envelope: &Path) -> Value {
    serde_json::from_slice(&payload(envelope)).unwrap_or_else(|e| panic!("{e}"))
}

fn key_id(envelope: &Path) -> String {
    let env: Value = serde_json::from_slice(&std::fs::read(envelope).unwrap_or_default())
        .unwrap_or_else(|e| panic!("{e}"));
    env["signatures"][0]["keyid"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// The input document docs/verify.md ("Policy input") describes, for one envelope
/// verified with `--key`.
fn documented_input(envelope: &Path, now: &str) -> Value {
    json!({
        "artifact": {"name": subject(), "digest": {"sha256": DIGEST}},
        "now": now,
        "attestations": [{
            "kind": "envelope",
            "location": null,
            "statement": statement(envelope),
            "signer": {"type": "key", "keyId": key_id(envelope)},
            "logEntries": [],
            "signingTimes": [],
        }],
        "failed": [],
        "chain": null,
    })
}

fn verify(envelope: &Path, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hallmark"))
        .args(["verify", &subject(), "--envelope"])
        .arg(envelope)
        .arg("--key")
        .arg(keys().join("cosign.pub"))
        .args(["--insecure-ignore-tlog", "-o", "json"])
        .args(extra)
        .env("COSIGN_PASSWORD", password())
        .output()
        .unwrap_or_else(|e| panic!("running hallmark verify: {e}"))
}

fn report(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", show(o)))
}

fn policy(name: &str) -> PolicySet {
    let path = repo_dir().join("config/policies").join(name);
    let sources = read_sources(&[path]).unwrap_or_else(|e| panic!("{name}: {e}"));
    PolicySet::new(&sources).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The messages `name` denies `input` with.
fn denials(name: &str, input: &Value) -> Vec<String> {
    policy(name)
        .evaluate(input)
        .unwrap_or_else(|e| panic!("{name}: {e}"))
        .into_iter()
        .map(|d| d.message)
        .collect()
}

/// The statement's predicate field at `v02` (SLSA v0.2) or `v1` (SLSA v1).
fn predicate_at<'a>(input: &'a mut Value, v02: &[&str], v1: &[&str]) -> &'a mut Value {
    let statement = &mut input["attestations"][0]["statement"];
    let path = if statement["predicateType"] == "https://slsa.dev/provenance/v1" {
        v1
    } else {
        v02
    };
    path.iter()
        .fold(&mut statement["predicate"], |v, k| &mut v[*k])
}

#[test]
fn the_input_document_is_the_documented_one() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let probe = dir.path().join("probe.rego");
    std::fs::write(
        &probe,
        "package probe\ndeny contains json.marshal(input) if true\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    for format in FORMATS {
        let env = sign(dir.path(), format);
        let out = verify(&env, &["--policy", probe.to_str().unwrap_or_default()]);
        assert_eq!(out.status.code(), Some(1), "{}", show(&out));
        let r = report(&out);
        assert_eq!(r["reasons"][0]["check"], "policy");
        assert_eq!(r["reasons"][0]["package"], "data.probe");
        let mut seen: Value =
            serde_json::from_str(r["reasons"][0]["message"].as_str().unwrap_or_default())
                .unwrap_or_else(|e| panic!("{e}: {r}"));
        let now = seen["now"].as_str().unwrap_or_default().to_owned();
        assert!(
            now.parse::<jiff::Timestamp>().is_ok(),
            "now is RFC 3339: {now}"
        );
        assert_eq!(seen, documented_input(&env, &now), "{format}");
        // Not a copy of itself: the probe sees this run's statement.
        seen["attestations"][0]["statement"]["subject"][0]["digest"]["sha256"] = json!("00");
        assert_ne!(seen, documented_input(&env, &now));
    }
}

#[test]
fn builder_policy_allows_chains_and_denies_other_builders() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    for format in FORMATS {
        let env = sign(dir.path(), format);
        let mut input = documented_input(&env, "2026-11-02T00:00:00Z");
        assert_eq!(
            denials("builder.rego", &input),
            Vec::<String>::new(),
            "{format}"
        );
        *predicate_at(
            &mut input,
            &["builder", "id"],
            &["runDetails", "builder", "id"],
        ) = json!("https://evil.example/builder");
        let d = denials("builder.rego", &input);
        assert_eq!(d.len(), 1, "{d:?}");
        assert!(d[0].contains("https://evil.example/builder"), "{d:?}");
        // No provenance at all (only a message signature verified).
        input["attestations"][0]["statement"] = Value::Null;
        assert_eq!(
            denials("builder.rego", &input),
            vec!["no verified SLSA provenance names a builder"]
        );
    }
}

#[test]
fn materials_policy_allows_listed_registries_only() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    for format in FORMATS {
        let env = sign(dir.path(), format);
        let mut input = documented_input(&env, "2026-11-02T00:00:00Z");
        // The run's only material is the kaniko executor from gcr.io/kaniko-project.
        assert_eq!(
            denials("materials.rego", &input),
            Vec::<String>::new(),
            "{format}"
        );
        let materials = predicate_at(
            &mut input,
            &["materials"],
            &["buildDefinition", "resolvedDependencies"],
        );
        let Value::Array(list) = materials else {
            panic!("no materials in {format}: {materials}");
        };
        list.push(json!({"uri": "oci://gcr.io/kaniko-project-evil/executor",
                         "digest": {"sha256": "ab".repeat(32)}}));
        list.push(json!({"uri": "git+https://github.com/tektoncd/pipeline.git"}));
        list.push(json!({"uri": null, "digest": null}));
        let d = denials("materials.rego", &input);
        assert_eq!(d.len(), 4, "{d:?}");
        assert!(
            d.iter()
                .any(|m| m.contains("kaniko-project-evil") && m.contains("not from an allowed")),
            "{d:?}"
        );
        assert!(d.iter().any(|m| m.contains("has no digest")), "{d:?}");
    }
}

#[test]
fn age_policy_allows_recent_builds_only() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    for format in FORMATS {
        let env = sign(dir.path(), format);
        // The run finished at 2026-11-01T10:01:30Z; the policy allows 30 days.
        let input = documented_input(&env, "2026-11-30T10:00:00Z");
        assert_eq!(
            denials("age.rego", &input),
            Vec::<String>::new(),
            "{format}"
        );
        let old = documented_input(&env, "2026-12-01T10:02:00Z");
        let d = denials("age.rego", &old);
        assert_eq!(d.len(), 1, "{d:?}");
        assert!(d[0].contains("within 30 days"), "{d:?}");
        // Finished in the future (beyond the allowed skew), or no finish time.
        let future = documented_input(&env, "2026-11-01T09:00:00Z");
        assert_eq!(denials("age.rego", &future).len(), 1);
        let mut missing = input.clone();
        *predicate_at(
            &mut missing,
            &["metadata", "buildFinishedOn"],
            &["runDetails", "metadata", "finishedOn"],
        ) = Value::Null;
        assert_eq!(denials("age.rego", &missing).len(), 1);
    }
}

#[test]
fn signer_policy_allows_listed_identities_and_keys() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let env = sign(dir.path(), "slsa/v2alpha4");
    let mut input = documented_input(&env, "2026-11-02T00:00:00Z");
    assert_eq!(denials("signer.rego", &input), Vec::<String>::new());
    let chains = json!({
        "type": "certificate",
        "identity": "https://kubernetes.io/namespaces/tekton-chains/serviceaccounts/tekton-chains-controller",
        "issuer": "https://kubernetes.default.svc.cluster.local",
    });
    input["attestations"][0]["signer"] = chains.clone();
    assert_eq!(denials("signer.rego", &input), Vec::<String>::new());
    input["attestations"][0]["signer"] = json!({
        "type": "certificate",
        "identity": "https://github.com/tektoncd/chains/.github/workflows/release.yaml@refs/tags/v0.25.1",
        "issuer": "https://token.actions.githubusercontent.com",
    });
    assert_eq!(denials("signer.rego", &input), Vec::<String>::new());
    // The same identity from another issuer, another identity, a regex that must not
    // match a longer SAN.
    for (identity, issuer) in [
        (
            chains["identity"].as_str().unwrap_or_default(),
            "https://evil.example",
        ),
        (
            "mallory@example.com",
            "https://kubernetes.default.svc.cluster.local",
        ),
        (
            "https://github.com/tektoncd/chains/.github/workflows/release.yaml@refs/tags/v0.25.1-evil",
            "https://token.actions.githubusercontent.com",
        ),
    ] {
        input["attestations"][0]["signer"] =
            json!({"type": "certificate", "identity": identity, "issuer": issuer});
        let d = denials("signer.rego", &input);
        assert_eq!(d.len(), 1, "{identity} {issuer}: {d:?}");
        assert!(d[0].contains("is not allowed"), "{d:?}");
    }
    // A certificate without a SAN is not allowed (and not an evaluation error).
    input["attestations"][0]["signer"] = json!({"type": "certificate", "identity": null,
        "issuer": "https://token.actions.githubusercontent.com"});
    assert_eq!(denials("signer.rego", &input).len(), 1);
}

#[test]
fn policies_through_the_binary() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    // The example policies but age.rego, whose verdict depends on today's date (its
    // cases are above, with a fixed `now`).
    let policies = dir.path().join("policies");
    std::fs::create_dir(&policies).unwrap_or_else(|e| panic!("{e}"));
    for name in ["builder.rego", "materials.rego", "signer.rego"] {
        std::fs::copy(
            repo_dir().join("config/policies").join(name),
            policies.join(name),
        )
        .unwrap_or_else(|e| panic!("{e}"));
    }
    let deny = dir.path().join("deny.rego");
    std::fs::write(
        &deny,
        "package gate\n\
         deny contains {\"msg\": sprintf(\"param IMAGE is %s\", [p.value]), \"param\": p.name} if {\n\
         \tsome p in input.attestations[0].statement.predicate.buildDefinition.externalParameters.runSpec.params\n\
         }\n\
         deny contains sprintf(\"param IMAGE is %s\", [input.attestations[0].statement.predicate.invocation.parameters.IMAGE]) if true\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let bad = dir.path().join("bad.rego");
    std::fs::write(&bad, "package bad\ndeny contains if {\n").unwrap_or_else(|e| panic!("{e}"));
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap_or_else(|e| panic!("{e}"));
    let arg = |p: &Path| p.to_str().unwrap_or_default().to_owned();
    for format in FORMATS {
        let env = sign(dir.path(), format);
        let out = verify(&env, &["--policy", &arg(&policies)]);
        assert_eq!(out.status.code(), Some(0), "{format}: {}", show(&out));
        let r = report(&out);
        assert_eq!(r["decision"], "pass");
        assert_eq!(
            r["checks"].as_array().map(Vec::len),
            Some(3),
            "one check per policy file: {r}"
        );

        let out = verify(
            &env,
            &["--policy", &arg(&policies), "--policy", &arg(&deny)],
        );
        assert_eq!(out.status.code(), Some(1), "{format}: {}", show(&out));
        let r = report(&out);
        assert_eq!(r["decision"], "deny");
        let reasons = r["reasons"].as_array().cloned().unwrap_or_default();
        assert_eq!(reasons.len(), 1, "{r}");
        assert_eq!(reasons[0]["check"], "policy");
        assert_eq!(reasons[0]["policy"], arg(&deny));
        assert_eq!(
            reasons[0]["message"],
            "param IMAGE is registry.example.com/quickstart/app"
        );

        for (p, what) in [(&bad, "does not parse"), (&empty, "no .rego file")] {
            let out = verify(&env, &["--policy", &arg(p)]);
            assert_eq!(out.status.code(), Some(2), "{}", show(&out));
            let r = report(&out);
            assert_eq!(r["decision"], "error");
            assert_eq!(r["reasons"][0]["check"], "policy");
            assert!(
                r["reasons"][0]["message"]
                    .as_str()
                    .is_some_and(|m| m.contains(what)),
                "{r}"
            );
        }
    }
    // Policies also apply in text mode.
    let env = sign(dir.path(), "slsa/v1");
    let out = Command::new(env!("CARGO_BIN_EXE_hallmark"))
        .args(["verify", &subject(), "--envelope"])
        .arg(&env)
        .arg("--key")
        .arg(keys().join("cosign.pub"))
        .args(["--insecure-ignore-tlog", "--policy", &arg(&deny)])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("policy"),
        "{}",
        show(&out)
    );
}

#[test]
fn a_policy_source_parses_as_given() {
    // Sources need not come from files.
    let set = PolicySet::new(&[PolicySource {
        name: "inline".into(),
        text: "package inline\ndeny contains \"always\" if true\n".into(),
    }])
    .unwrap_or_else(|e| panic!("{e}"));
    let d = set.evaluate(&json!({})).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].policy, "inline");
}

#[test]
fn sarif_of_a_denial() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let env = sign(dir.path(), "slsa/v1");
    let sarif = dir.path().join("out.sarif");
    let out = verify(
        &env,
        &[
            "--builder-id=https://evil.example",
            "--sarif",
            sarif.to_str().unwrap_or_default(),
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let log: Value = serde_json::from_slice(&std::fs::read(&sarif).unwrap_or_default())
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(log["version"], "2.1.0");
    assert!(
        log["$schema"]
            .as_str()
            .is_some_and(|s| s.contains("sarif-schema-2.1.0"))
    );
    let run = &log["runs"][0];
    assert_eq!(run["tool"]["driver"]["name"], "hallmark");
    assert_eq!(run["tool"]["driver"]["rules"][0]["id"], "builder-id");
    assert_eq!(run["results"][0]["level"], "error");
    assert_eq!(run["results"][0]["ruleId"], "builder-id");
    assert_eq!(
        run["results"][0]["properties"]["expected"],
        "https://evil.example"
    );
    assert_eq!(
        run["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        subject()
    );
    // A pass writes notes.
    let out = verify(&env, &["--sarif", sarif.to_str().unwrap_or_default()]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let log: Value = serde_json::from_slice(&std::fs::read(&sarif).unwrap_or_default())
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(log["runs"][0]["results"][0]["level"], "note");
}

fn cosign() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("HALLMARK_STACK_COSIGN") {
        return Some(PathBuf::from(p));
    }
    let out = Command::new(repo_dir().join("tests/stack/install"))
        .arg("cosign")
        .output()
        .ok()?;
    let path = String::from_utf8_lossy(&out.stdout)
        .lines()
        .last()
        .unwrap_or_default()
        .trim()
        .to_owned();
    (out.status.success() && Path::new(&path).is_file()).then(|| PathBuf::from(path))
}

fn cosign_verify_vsa(dir: &Path, vsa: &Path, digest: &str) -> Output {
    let cosign = cosign().unwrap_or_else(|| panic!("cosign: set HALLMARK_STACK_COSIGN"));
    let home = dir.join("home");
    std::fs::create_dir_all(&home).unwrap_or_else(|e| panic!("{e}"));
    Command::new(cosign)
        .args(["verify-blob-attestation", "--key"])
        .arg(keys().join("cosign.pub"))
        .arg("--signature")
        .arg(vsa)
        .args([
            "--type",
            VSA_TYPE,
            "--digest",
            digest,
            "--digestAlg",
            "sha256",
        ])
        .arg("--insecure-ignore-tlog")
        .env("HOME", &home)
        .env("TUF_ROOT", home.join(".sigstore"))
        .output()
        .unwrap_or_else(|e| panic!("running cosign: {e}"))
}

#[test]
fn signed_vsa_verifies_with_hallmark_and_cosign() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let env = sign(dir.path(), "slsa/v1");
    let vsa = dir.path().join("vsa.json");
    let key = keys().join("cosign.key");
    let vsa_args = |extra: &[&str]| {
        let mut a = vec![
            "--vsa-out".to_owned(),
            vsa.to_str().unwrap_or_default().to_owned(),
            "--vsa-key".to_owned(),
            key.to_str().unwrap_or_default().to_owned(),
        ];
        a.extend(extra.iter().map(|s| (*s).to_owned()));
        a
    };
    let args = vsa_args(&["--builder-id=https://tekton.dev/chains/v2"]);
    let out = verify(&env, &args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let predicate = statement(&vsa)["predicate"].clone();
    let s = statement(&vsa);
    assert_eq!(s["predicateType"], VSA_TYPE);
    assert_eq!(s["_type"], "https://in-toto.io/Statement/v1");
    assert_eq!(s["subject"][0]["digest"]["sha256"], DIGEST);
    assert_eq!(predicate["verificationResult"], "PASSED");
    assert_eq!(predicate["verifiedLevels"], json!(["SLSA_BUILD_LEVEL_2"]));
    assert_eq!(predicate["resourceUri"], subject());
    assert_eq!(predicate["slsaVersion"], "1.0");
    assert!(
        predicate["timeVerified"]
            .as_str()
            .is_some_and(|t| t.parse::<jiff::Timestamp>().is_ok())
    );
    assert_eq!(
        predicate["policy"]["digest"]["sha256"]
            .as_str()
            .map(str::len),
        Some(64)
    );
    assert_eq!(
        predicate["inputAttestations"][0]["uri"],
        env.to_str().unwrap_or_default()
    );
    // The input attestation's digest is the signed statement's sha256.
    assert_eq!(
        predicate["inputAttestations"][0]["digest"]["sha256"],
        hex::encode(hallmark::verify::ArtifactRef::Bytes(&payload(&env)).sha256())
    );

    // hallmark verifies the VSA against the artifact digest, and not another.
    let check = |digest: &str| {
        Command::new(env!("CARGO_BIN_EXE_hallmark"))
            .args(["verify", &format!("sha256:{digest}"), "--envelope"])
            .arg(&vsa)
            .arg("--key")
            .arg(keys().join("cosign.pub"))
            .args(["--insecure-ignore-tlog", "--type", VSA_TYPE])
            .output()
            .unwrap_or_else(|e| panic!("{e}"))
    };
    let out = check(DIGEST);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let other = "11".repeat(32);
    assert_eq!(check(&other).status.code(), Some(1));

    let out = cosign_verify_vsa(dir.path(), &vsa, DIGEST);
    assert!(out.status.success(), "cosign: {}", show(&out));
    let out = cosign_verify_vsa(dir.path(), &vsa, &other);
    assert!(
        !out.status.success(),
        "cosign accepted another digest: {}",
        show(&out)
    );

    // A denial writes a FAILED summary; an error writes none.
    let args = vsa_args(&["--builder-id=https://evil.example"]);
    let out = verify(&env, &args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let predicate = statement(&vsa)["predicate"].clone();
    assert_eq!(predicate["verificationResult"], "FAILED");
    assert_eq!(predicate["verifiedLevels"], json!(["FAILED"]));
    assert_eq!(
        predicate["inputAttestations"].as_array().map(Vec::len),
        Some(1)
    );
    std::fs::remove_file(&vsa).unwrap_or_else(|e| panic!("{e}"));
    let args = vsa_args(&["--max-age=soon"]);
    let out = verify(&env, &args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(!vsa.exists());

    // --vsa-out needs --vsa-key, and the reverse (usage error, exit 2).
    let out = verify(&env, &["--vsa-out", vsa.to_str().unwrap_or_default()]);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--vsa-key"));
    let out = verify(&env, &["--vsa-key", key.to_str().unwrap_or_default()]);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
}

/// Image mode, offline: the controller's embedded mode signs testdata/embedded into an
/// OCI image layout; the policy input, the SARIF location and the VSA name the image
/// and where each attestation was found.
#[test]
fn gate_outputs_over_image_attestations() {
    const IMAGE_DIGEST: &str = "3706027c00733e8d97971285d940d6b4bcbdf3e68e0796312e531c6ecb7197b3";
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let layout = tmp.path().join("layout");
    let out = Command::new(env!("CARGO_BIN_EXE_hallmark"))
        .arg("controller")
        .arg(format!(
            "--source=dir:{}",
            repo_dir().join("testdata/embedded").display()
        ))
        .arg("--once")
        .arg(format!("--output=oci-layout:{}", layout.display()))
        .env_remove("COSIGN_PASSWORD")
        .output()
        .unwrap_or_else(|e| panic!("running hallmark controller: {e}"));
    assert!(out.status.success(), "{}", show(&out));
    let image = format!("oci-layout:{}@sha256:{IMAGE_DIGEST}", layout.display());
    let probe = tmp.path().join("probe.rego");
    std::fs::write(
        &probe,
        "package probe\ndeny contains json.marshal(input) if true\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let sarif = tmp.path().join("out.sarif");
    let vsa = tmp.path().join("vsa.json");
    let out = Command::new(env!("CARGO_BIN_EXE_hallmark"))
        .args(["verify", &image, "--key"])
        .arg(tmp.path().join("hallmark.pub"))
        .args(["--insecure-ignore-tlog", "-o", "json", "--policy"])
        .arg(&probe)
        .arg("--sarif")
        .arg(&sarif)
        .arg("--vsa-out")
        .arg(&vsa)
        .arg("--vsa-key")
        .arg(keys().join("cosign.key"))
        .env("COSIGN_PASSWORD", password())
        .output()
        .unwrap_or_else(|e| panic!("running hallmark verify: {e}"));
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let r = report(&out);
    let input: Value =
        serde_json::from_str(r["reasons"][0]["message"].as_str().unwrap_or_default())
            .unwrap_or_else(|e| panic!("{e}: {r}"));
    assert_eq!(input["artifact"]["name"], image);
    assert_eq!(input["artifact"]["digest"]["sha256"], IMAGE_DIGEST);
    assert_eq!(input["chain"], Value::Null);
    let atts = input["attestations"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(!atts.is_empty(), "{input}");
    for a in &atts {
        assert_eq!(a["kind"], "bundle/dsse", "{a}");
        assert!(a["location"].is_string(), "{a}");
        assert_eq!(a["signer"]["type"], "key", "{a}");
        assert!(
            a["statement"]["subject"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|s| s["digest"]["sha256"] == IMAGE_DIGEST),
            "{a}"
        );
    }
    let log: Value = serde_json::from_slice(&std::fs::read(&sarif).unwrap_or_default())
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        image
    );
    assert_eq!(log["runs"][0]["results"][0]["ruleId"], "policy");
    let s = statement(&vsa);
    assert_eq!(s["subject"][0]["digest"]["sha256"], IMAGE_DIGEST);
    assert_eq!(s["predicate"]["verificationResult"], "FAILED");
    assert_eq!(s["predicate"]["resourceUri"], image);
    assert_eq!(
        s["predicate"]["policy"]["uri"],
        probe.to_str().unwrap_or_default()
    );
    let inputs = s["predicate"]["inputAttestations"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(inputs.len(), atts.len(), "{s}");
    assert_eq!(inputs[0]["uri"], atts[0]["location"]);
}
