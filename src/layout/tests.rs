#![allow(clippy::panic)] // Tests report failures by panicking.

use std::collections::BTreeMap;

use super::check::Artifacts;
use super::derive::{Functionaries, Options, derive, parse_pipeline};
use super::*;
use crate::signing::{LocalSigner, Signer as _};

fn ok<T, E: std::fmt::Display>(r: Result<T, E>) -> T {
    r.unwrap_or_else(|e| panic!("{e}"))
}

fn ts(s: &str) -> jiff::Timestamp {
    ok(s.parse())
}

/// An RSA key of in-toto-golang's test data (`test/data/dan.pub` in its demo layout),
/// with the key id in-toto computes for it.
const RSA_PEM: &str = "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAxcz9AucNbkJbQpwTHlEH\nRB+h+MkYKQjw06IgZ8TXlXGqp5pdwTHI5n5iFol0/rksmiZxatHwhth7ryYNC3Vk\n9g/LAs9E60yWytiSgV93EKv65bmhYqiSAkJdyaPKvCb7cG979B4e+HVpdVx6s7Ex\nIoaDRYcX3VIt6V25/SQz5iNUeVlb++QtSfQFEf3lHauoFhWZoCse24nWtYZo+3Ut\nuTmxygp7tU/9NmYb2BXEfUCdgjoCQ1UsFLBQQ4haIdJNOtRFl8KNY09zbMUijKIe\nX0ZvgT877LUtMyydKPEo04/u3DEr9Zba/SkHw43jYE/ojlXeik5uVjLSr3sJLDSP\nHwIDAQAB\n-----END PUBLIC KEY-----";
const RSA_KEYID: &str = "d3ffd1086938b3698618adf088bf14b13db4c8ae19e4e78d73da49ee88492710";

#[test]
fn key_ids_are_in_totos() {
    let key = Key {
        keyid: String::new(),
        keyid_hash_algorithms: vec!["sha256".into(), "sha512".into()],
        keytype: "rsa".into(),
        scheme: "rsassa-pss-sha256".into(),
        keyval: KeyVal {
            public: RSA_PEM.into(),
            certificate: String::new(),
        },
    };
    assert_eq!(key.computed_id(), RSA_KEYID);
    // Another key gives another id; the same key the same one.
    let a = ok(LocalSigner::generate_p256());
    let b = ok(LocalSigner::generate_p256());
    assert_eq!(key_id(a.public_key()), key_id(a.public_key()));
    assert_ne!(key_id(a.public_key()), key_id(b.public_key()));
    assert_eq!(Key::from_public_key(a.public_key()).keytype, "ecdsa");
}

const PIPELINE: &str = r"
apiVersion: tekton.dev/v1
kind: Pipeline
metadata: {name: release}
spec:
  tasks:
  - name: clone
  - name: build
    params: [{name: commit, value: $(tasks.clone.results.commit)}]
  - name: scan
    params: [{name: image, value: $(tasks.build.results.IMAGE_DIGEST)}]
";

struct Fixture {
    owner: LocalSigner,
    functionary: LocalSigner,
    layout: Layout,
}

fn fixture() -> Fixture {
    let owner = ok(LocalSigner::generate_p256());
    let functionary = ok(LocalSigner::generate_p256());
    let layout = ok(derive(
        &ok(parse_pipeline(PIPELINE.as_bytes())),
        &Options {
            expires: ts("2027-01-01T00:00:00Z"),
            functionaries: Functionaries {
                keys: vec![functionary.public_key().clone()],
                identities: Vec::new(),
                threshold: 1,
            },
            allow_materials: Vec::new(),
        },
    ));
    Fixture {
        owner,
        functionary,
        layout,
    }
}

fn sign(layout: &Layout, owner: &LocalSigner) -> Vec<u8> {
    let rt = ok(tokio::runtime::Builder::new_current_thread().build());
    ok(rt.block_on(sign_layout(layout, owner))).to_json()
}

#[test]
fn layouts_round_trip_and_serialise_deterministically() {
    let f = fixture();
    let json = f.layout.to_json();
    let again = ok(Layout::from_json(&json));
    assert_eq!(again, f.layout);
    assert_eq!(again.to_json(), json);
    let v: serde_json::Value = ok(serde_json::from_slice(&json));
    assert_eq!(v["_type"], "layout");
    assert_eq!(v["expires"], "2027-01-01T00:00:00Z");
    assert_eq!(v["steps"][1]["_type"], "step");
    assert_eq!(
        v["steps"][1]["expected_materials"],
        serde_json::json!([
            ["MATCH", "*", "WITH", "PRODUCTS", "FROM", "clone"],
            ["DISALLOW", "*"]
        ])
    );
    let id = key_id(f.functionary.public_key());
    assert_eq!(v["steps"][0]["pubkeys"], serde_json::json!([id]));
    assert_eq!(v["keys"][&id]["keyid"], serde_json::json!(id));
    assert!(v["steps"][0].get("cert_constraints").is_none());
}

#[test]
fn malformed_layouts_are_refused() {
    let f = fixture();
    let good: serde_json::Value = ok(serde_json::from_slice(&f.layout.to_json()));
    let id = key_id(f.functionary.public_key());
    type Edit = Box<dyn Fn(&mut serde_json::Value)>;
    let edits: Vec<Edit> = vec![
        Box::new(|v| v["_type"] = "link".into()),
        Box::new(|v| v["steps"][0]["_type"] = "inspection".into()),
        Box::new(|v| v["surprise"] = 1.into()),
        Box::new(|v| v["expires"] = "next year".into()),
        Box::new(|v| v["steps"][0]["threshold"] = 0.into()),
        Box::new(|v| v["steps"][1]["name"] = "clone".into()),
        Box::new(|v| v["steps"][0]["expected_materials"] = serde_json::json!([["COPY", "*"]])),
        Box::new(move |v| v["keys"][&id]["keyval"]["public"] = "other".into()),
    ];
    for (i, edit) in edits.iter().enumerate() {
        let mut v = good.clone();
        edit(&mut v);
        assert!(
            Layout::from_json(&ok(serde_json::to_vec(&v))).is_err(),
            "edit {i} was accepted"
        );
    }
}

#[test]
fn the_owner_signature_and_expiry_are_checked() {
    let f = fixture();
    let env = sign(&f.layout, &f.owner);
    let owner = f.owner.public_key().clone();
    let now = ts("2026-11-26T00:00:00Z");
    assert_eq!(
        ok(verify_layout_envelope(
            &env,
            std::slice::from_ref(&owner),
            now
        )),
        f.layout
    );
    // The signature's keyid is the owner's in-toto key id.
    let parsed = ok(crate::dsse::Envelope::from_json(&env));
    assert_eq!(parsed.signatures[0].keyid, key_id(&owner));

    // Signed by someone else: refused as the wrong owner.
    let mallory = ok(LocalSigner::generate_p256());
    let forged = sign(&f.layout, &mallory);
    assert!(matches!(
        verify_layout_envelope(&forged, std::slice::from_ref(&owner), now),
        Err(LayoutError::WrongOwner { .. })
    ));
    // A payload changed after signing.
    let mut tampered = parsed.clone();
    tampered.payload = tampered
        .payload
        .iter()
        .map(|b| if *b == b'1' { b'2' } else { *b })
        .collect();
    assert!(matches!(
        verify_layout_envelope(&tampered.to_json(), std::slice::from_ref(&owner), now),
        Err(LayoutError::WrongOwner { .. })
    ));
    // Expired.
    assert!(matches!(
        verify_layout_envelope(
            &env,
            std::slice::from_ref(&owner),
            ts("2027-01-01T00:00:00Z")
        ),
        Err(LayoutError::Expired { .. })
    ));
    // Not an in-toto payload.
    let mut other = parsed;
    other.payload_type = "text/plain".into();
    assert!(matches!(
        verify_layout_envelope(&other.to_json(), &[owner], now),
        Err(LayoutError::PayloadType(_))
    ));
}

fn arts(list: &[(&str, &str)]) -> Artifacts {
    list.iter()
        .map(|(n, d)| {
            (
                (*n).to_owned(),
                BTreeMap::from([("sha256".to_owned(), (*d).to_owned())]),
            )
        })
        .collect()
}

const SRC: &str = "git+https://example.com/app.git";
const IMG: &str = "registry.example.com/app";

/// The honest chain of [`PIPELINE`]: clone produces the source, build turns it into the
/// image, scan examines the image.
fn honest(f: &Fixture) -> Vec<StepEvidence> {
    let signer = Functionary::Key(key_id(f.functionary.public_key()));
    let ev = |step: &str, m: &[(&str, &str)], p: &[(&str, &str)]| StepEvidence {
        step: step.into(),
        signer: signer.clone(),
        materials: arts(m),
        products: arts(p),
    };
    vec![
        ev("clone", &[], &[(SRC, "c1")]),
        ev("build", &[(SRC, "c1")], &[(IMG, "i1")]),
        ev("scan", &[(IMG, "i1")], &[("scan-report", "r1")]),
    ]
}

fn kinds(v: &[Violation]) -> Vec<&'static str> {
    v.iter().map(Violation::kind).collect()
}

#[test]
fn the_honest_chain_passes() {
    let f = fixture();
    assert_eq!(check(&f.layout, &honest(&f)), []);
}

#[test]
fn a_missing_step_is_named() {
    let f = fixture();
    let mut ev = honest(&f);
    ev.retain(|e| e.step != "build");
    let v = check(&f.layout, &ev);
    assert_eq!(kinds(&v), ["step-missing"], "{v:?}");
    assert_eq!(v[0].step(), "build");
}

#[test]
fn a_fake_check_is_named() {
    // scan attests, but examined something build never produced.
    let f = fixture();
    let mut ev = honest(&f);
    ev[2].materials = BTreeMap::new();
    let v = check(&f.layout, &ev);
    assert_eq!(kinds(&v), ["fake-step"], "{v:?}");
    assert_eq!(
        v[0],
        Violation::FakeStep {
            step: "scan".into(),
            from: "build".into()
        }
    );
    // build produced nothing that scan used.
    let mut ev = honest(&f);
    ev[1].products = BTreeMap::new();
    ev[2].materials = BTreeMap::new();
    assert_eq!(kinds(&check(&f.layout, &ev)), ["fake-step"]);
}

#[test]
fn a_product_modified_between_steps_is_named() {
    let f = fixture();
    let mut ev = honest(&f);
    ev[2].materials = arts(&[(IMG, "i2")]);
    let v = check(&f.layout, &ev);
    assert_eq!(
        v,
        [Violation::ProductModified {
            step: "scan".into(),
            artifact: IMG.into(),
            from: "build".into()
        }]
    );
}

#[test]
fn an_unintended_retention_is_named() {
    // build passes the source on as one of its products.
    let f = fixture();
    let mut ev = honest(&f);
    ev[1].products = arts(&[(IMG, "i1"), (SRC, "c1")]);
    let v = check(&f.layout, &ev);
    assert_eq!(
        v,
        [Violation::UnintendedRetention {
            step: "build".into(),
            artifact: SRC.into()
        }]
    );
}

#[test]
fn an_unexpected_material_is_disallowed() {
    let f = fixture();
    let mut ev = honest(&f);
    ev[1].materials.extend(arts(&[("oci://evil/base", "e1")]));
    assert_eq!(kinds(&check(&f.layout, &ev)), ["disallowed-artifact"]);
}

#[test]
fn evidence_by_other_signers_does_not_count() {
    let f = fixture();
    let mut ev = honest(&f);
    ev[0].signer = Functionary::Key("someone-else".into());
    let v = check(&f.layout, &ev);
    assert_eq!(kinds(&v), ["threshold-not-met"], "{v:?}");
    assert!(v[0].to_string().contains("someone-else"));
    // Two distinct functionaries needed, one given.
    let mut layout = f.layout.clone();
    layout.steps[0].threshold = 2;
    assert_eq!(kinds(&check(&layout, &honest(&f))), ["threshold-not-met"]);
    // Keyless functionaries by constraint.
    let mut layout = f.layout.clone();
    for s in &mut layout.steps {
        s.pubkeys.clear();
        s.cert_constraints = vec![CertConstraint::for_identity(
            "https://ci.example.com/pipeline",
            Some("https://issuer.example.com"),
        )];
    }
    let mut ev = honest(&f);
    for e in &mut ev {
        e.signer = Functionary::Identity {
            san: "https://ci.example.com/pipeline".into(),
            issuer: "https://issuer.example.com".into(),
        };
    }
    assert_eq!(check(&layout, &ev), []);
    ev[1].signer = Functionary::Identity {
        san: "https://ci.example.com/pipeline".into(),
        issuer: "https://other-issuer.example.com".into(),
    };
    assert_eq!(kinds(&check(&layout, &ev)), ["threshold-not-met"]);
}

#[test]
fn in_toto_rules_consume_in_order() {
    // REQUIRE, MODIFY, DELETE and prefixes, on a hand-written step.
    let f = fixture();
    let mut layout = f.layout.clone();
    layout.steps[1].expected_materials = [
        "MATCH src/* IN in WITH PRODUCTS IN out FROM clone",
        "DELETE tmp",
        "MODIFY lock",
        "DISALLOW *",
    ]
    .iter()
    .map(|r| ok(r.parse()))
    .collect();
    layout.steps[1].expected_products = ["REQUIRE app", "MODIFY lock", "CREATE app", "DISALLOW *"]
        .iter()
        .map(|r| ok(r.parse()))
        .collect();
    let mut ev = honest(&f);
    ev[0].products = arts(&[("out/src/a.rs", "a1")]);
    ev[1].materials = arts(&[("in/src/a.rs", "a1"), ("tmp", "t"), ("lock", "l1")]);
    ev[1].products = arts(&[("app", "x"), ("lock", "l2")]);
    ev[2].materials = BTreeMap::new();
    layout.steps[2].expected_materials = vec![ArtifactRule::Allow("*".into())];
    assert_eq!(check(&layout, &ev), []);
    // tmp kept: DELETE does not consume it, and it is retained among the products.
    ev[1].products.extend(arts(&[("tmp", "t")]));
    assert_eq!(
        kinds(&check(&layout, &ev)),
        ["disallowed-artifact", "unintended-retention"]
    );
    // app missing: REQUIRE fails.
    ev[1].products = arts(&[("lock", "l2")]);
    ev[1].materials.remove("tmp");
    ev[1].materials.extend(arts(&[("tmp", "t")]));
    assert_eq!(kinds(&check(&layout, &ev)), ["required-artifact-missing"]);
}

/// `testdata/layout/layout.json` is `pipeline.yaml`'s layout signed by `owner.key`;
/// regenerate with `HALLMARK_BLESS=1 cargo test --lib layout::tests::the_sample_layout_is_current`.
#[test]
fn the_sample_layout_is_current() {
    let dir = crate::test_support::repo_dir().join("testdata/layout");
    let read = |name: &str| ok(std::fs::read(dir.join(name)));
    let owner = ok(LocalSigner::from_pem(&read("owner.key"), None));
    let functionary = ok(PublicKey::from_pem(&read("functionary.pub")));
    let layout = ok(derive(
        &ok(parse_pipeline(&read("pipeline.yaml"))),
        &Options {
            expires: ts("2030-01-01T00:00:00Z"),
            functionaries: Functionaries {
                keys: vec![functionary],
                identities: Vec::new(),
                threshold: 1,
            },
            allow_materials: Vec::new(),
        },
    ));
    let mut want = sign(&layout, &owner);
    want.push(b'\n');
    let path = dir.join("layout.json");
    if std::env::var_os("HALLMARK_BLESS").is_some() {
        ok(std::fs::write(&path, &want));
    }
    let got = ok(std::fs::read(&path));
    assert!(
        got == want,
        "{} is stale: regenerate it with HALLMARK_BLESS=1",
        path.display()
    );
    // And it verifies with the owner's public key.
    let owner_pub = ok(PublicKey::from_pem(&read("owner.pub")));
    let read_back = ok(verify_layout_envelope(
        &got,
        &[owner_pub],
        ts("2026-11-26T00:00:00Z"),
    ));
    assert_eq!(read_back, layout);
    let names: Vec<&str> = read_back.steps.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["clone", "build", "scan"]);
}

#[test]
fn evidence_is_read_from_chains_provenance_of_both_slsa_versions() {
    use crate::provenance::{self, Format, FormatOptions};
    let path = crate::test_support::shared_dir().join("chains/formats/slsa-v2alpha2/taskrun1.json");
    let runs = ok(crate::tekton::parse_runs(&ok(std::fs::read(&path)), None));
    let signer = Functionary::Key("k".into());
    let tekton = FormatOptions {
        build_type: "https://tekton.dev/chains/v2/slsa-tekton".into(),
        ..FormatOptions::default()
    };
    for (format, opts) in [
        (Format::SlsaV1, FormatOptions::default()),
        (Format::SlsaV2Alpha4, tekton),
    ] {
        let st = ok(provenance::format(&runs[0], &[], format, &opts)).to_value();
        let ev = ok(StepEvidence::from_statement(&st, signer.clone()));
        assert_eq!(ev.step, "build", "{format:?}");
        assert_eq!(
            ev.products.keys().collect::<Vec<_>>(),
            ["gcr.io/my/image"],
            "{format:?}"
        );
        // The source is an input; the step images are tools, not materials.
        assert!(
            ev.materials.keys().any(|m| m.starts_with("git+")),
            "{format:?}: {:?}",
            ev.materials
        );
        assert!(
            !ev.materials
                .keys()
                .any(|m| m.starts_with("oci://gcr.io/test")),
            "{format:?}: {:?}",
            ev.materials
        );
    }
    // A statement without the pipeline-task label names no step.
    let mut st = ok(provenance::format(
        &runs[0],
        &[],
        Format::SlsaV1,
        &FormatOptions::default(),
    ))
    .to_value();
    st["predicate"]["invocation"]["environment"] = serde_json::json!({});
    assert!(StepEvidence::from_statement(&st, signer).is_err());
}

#[test]
fn evidence_is_read_from_a_walked_chain() {
    use crate::verify::chain::{Chain, Node, NodeKind, RunInfo, RunKind, Verdict};
    let f = fixture();
    let node = |id: &str, kind: RunKind, task: Option<&str>, signer: &str| Node {
        id: id.into(),
        kind: NodeKind::Attestation,
        name: id.into(),
        digest: BTreeMap::new(),
        walked: true,
        why: None,
        verdict: Verdict::Pass,
        reason: None,
        run: Some(RunInfo {
            kind,
            pipeline_task: task.map(str::to_owned),
            pipeline_run: None,
            pipeline: None,
            task: None,
            predicate_type: "https://slsa.dev/provenance/v0.2".into(),
            signer: signer.into(),
            log_entries: Vec::new(),
            location: String::new(),
            products: arts(&[(IMG, "i1")]),
            materials: arts(&[(SRC, "c1"), ("oci://gcr.io/tool", "t1")]),
        }),
    };
    let chain = Chain {
        root: "image:x".into(),
        max_depth: 8,
        nodes: vec![
            node(
                "a",
                RunKind::TaskRun,
                Some("build"),
                check::GIVEN_KEY_SIGNER,
            ),
            node(
                "b",
                RunKind::TaskRun,
                Some("scan"),
                "ci@example.com (https://issuer)",
            ),
            node("c", RunKind::PipelineRun, None, check::GIVEN_KEY_SIGNER),
            node("d", RunKind::TaskRun, None, check::GIVEN_KEY_SIGNER),
        ],
        edges: Vec::new(),
        denials: Vec::new(),
    };
    let ev = check::evidence_from_chain(&chain, Some(f.functionary.public_key()));
    assert_eq!(ev.len(), 2, "{ev:?}");
    assert_eq!(ev[0].step, "build");
    assert_eq!(
        ev[0].signer,
        Functionary::Key(key_id(f.functionary.public_key()))
    );
    assert_eq!(ev[0].materials, arts(&[(SRC, "c1")]));
    assert_eq!(ev[0].products, arts(&[(IMG, "i1")]));
    assert_eq!(
        ev[1].signer,
        Functionary::Identity {
            san: "ci@example.com".into(),
            issuer: "https://issuer".into()
        }
    );
    // Without the key, key-signed nodes are not evidence.
    assert_eq!(check::evidence_from_chain(&chain, None).len(), 1);
}

#[test]
fn a_chain_is_denied_by_its_layout() {
    use crate::verify::chain::{Chain, Node, NodeKind, RunInfo, RunKind, Verdict};
    let f = fixture();
    let env = sign(&f.layout, &f.owner);
    let owner = f.owner.public_key().clone();
    let node = |id: &str, ev: &StepEvidence| Node {
        id: id.into(),
        kind: NodeKind::Attestation,
        name: id.into(),
        digest: BTreeMap::new(),
        walked: true,
        why: None,
        verdict: Verdict::Pass,
        reason: None,
        run: Some(RunInfo {
            kind: RunKind::TaskRun,
            pipeline_task: Some(ev.step.clone()),
            pipeline_run: None,
            pipeline: None,
            task: None,
            predicate_type: "https://slsa.dev/provenance/v0.2".into(),
            signer: check::GIVEN_KEY_SIGNER.into(),
            log_entries: Vec::new(),
            location: String::new(),
            products: ev.products.clone(),
            materials: ev.materials.clone(),
        }),
    };
    let chain_of = |ev: &[StepEvidence]| Chain {
        root: "image:x".into(),
        max_depth: 8,
        nodes: ev
            .iter()
            .enumerate()
            .map(|(i, e)| node(&format!("n{i}"), e))
            .collect(),
        edges: Vec::new(),
        denials: Vec::new(),
    };
    let now = ts("2026-11-26T00:00:00Z");
    let key = f.functionary.public_key();
    let good = chain_of(&honest(&f));
    let owners = std::slice::from_ref(&owner);
    assert_eq!(
        check::chain_denials(&env, owners, Some(key), &good, now),
        []
    );
    // One task's attestation removed.
    let mut ev = honest(&f);
    ev.remove(1);
    let d = check::chain_denials(&env, owners, Some(key), &chain_of(&ev), now);
    assert_eq!(d.len(), 1, "{d:?}");
    assert_eq!(d[0].node, "layout:step-missing:build");
    // The layout expired, or signed by another owner.
    let d = check::chain_denials(&env, owners, Some(key), &good, ts("2028-01-01T00:00:00Z"));
    assert_eq!(d.len(), 1);
    assert!(d[0].reason.contains("expired"), "{d:?}");
    let other = ok(LocalSigner::generate_p256());
    let d = check::chain_denials(&env, &[other.public_key().clone()], Some(key), &good, now);
    assert!(
        d[0].reason.contains("not signed by the layout owner"),
        "{d:?}"
    );
}
