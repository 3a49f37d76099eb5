//! Publishing cost and throughput against the local stack (issue 7), beside `cosign attest`
//! in the same run:
//!
//! - hallmark: sign an in-toto statement, log it in Rekor v1 (`dsse`, entry checked
//!   against the trusted root), publish the legacy `.att` layer and the referrer bundle;
//!   one attestation per image, at concurrency 1, 8 and 32. Reports attestations per
//!   second and this process's CPU time per attestation.
//! - Rekor's own ceiling: prepared `dsse` entries posted raw at concurrency 32.
//! - cosign v3 `attest`, one process per image as users run it: wall time and CPU time
//!   (the children's, from `/proc/self/stat`) per attestation.
//!
//! ```sh
//! tests/stack/up && eval "$(tests/stack/env)" && cargo bench --bench publish
//! ```
//! `HALLMARK_BENCH_ATTESTATIONS` (default 96) per concurrency level;
//! `HALLMARK_BENCH_COSIGN` (default 8) cosign runs. Without the stack it says so and exits.

// A benchmark stops at the first error: panicking is the right response.
#![allow(clippy::panic, clippy::expect_used, missing_docs)]

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use cpu_time::ProcessTime;
use hallmark::dsse::IN_TOTO_PAYLOAD_TYPE;
use hallmark::oci::layout::{OCI_CONFIG, descriptor, legacy_manifest};
use hallmark::oci::manifest::OCI_MANIFEST;
use hallmark::oci::{Digest, ImageRef, Pusher, RegistryClient, RegistryOptions, Repository};
use hallmark::publish::{Attestation, BundleFormat, Material, OciSink, publish};
use hallmark::rekor::RekorClient;
use hallmark::rekor::upload::{
    DsseEntryKind, SignerMaterial, dsse_v001_request, legacy_bundle_annotation, upload_dsse,
};
use hallmark::signing::{self, LocalSigner, Signer as _};
use hallmark::trust::TrustedRoot;

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
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

/// Push `n` small distinct images into `repo` (in-process), returning their references.
async fn images(client: &RegistryClient, repo: &Repository, n: usize) -> Vec<ImageRef> {
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let layer = format!("{}-{i}", nonce()).repeat(20).into_bytes();
        client.push_blob(repo, &layer).await.expect("push layer");
        let layer_desc = descriptor(
            "application/vnd.oci.image.layer.v1.tar",
            &layer,
            BTreeMap::new(),
        );
        let (manifest, config) = legacy_manifest(&[layer_desc]);
        client.push_blob(repo, &config).await.expect("push config");
        let digest = Digest::of(&manifest);
        client
            .push_manifest(repo, digest.as_str(), &manifest, OCI_MANIFEST)
            .await
            .expect("push manifest");
        out.push(ImageRef {
            repository: repo.clone(),
            digest,
        });
    }
    let _ = OCI_CONFIG;
    out
}

fn statement(image: &ImageRef) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "_type": "https://in-toto.io/Statement/v0.1",
        "subject": [{"name": image.repository.to_string(), "digest": {"sha256": image.digest.hex()}}],
        "predicateType": "https://slsa.dev/provenance/v0.2",
        "predicate": {"builder": {"id": "https://hallmark.test/bench"}, "buildType": "https://hallmark.test/v1",
                      "invocation": {"parameters": {"nonce": nonce()}}, "materials": []}
    }))
    .expect("statement")
}

struct Ctx {
    registry: RegistryClient,
    rekor: RekorClient,
    trust: TrustedRoot,
    signer: LocalSigner,
}

async fn attest_one(ctx: &Ctx, image: ImageRef) {
    let envelope = signing::sign_envelope(&ctx.signer, IN_TOTO_PAYLOAD_TYPE, &statement(&image))
        .expect("sign");
    let material = SignerMaterial::Key(ctx.signer.public_key().clone());
    let uploaded = upload_dsse(
        &ctx.rekor,
        &envelope.to_json(),
        &material,
        DsseEntryKind::Dsse,
        &ctx.trust,
    )
    .await
    .expect("upload");
    let attestation = Attestation {
        envelope,
        predicate_type: "https://slsa.dev/provenance/v0.2".into(),
        material: Material::Key,
        rekor_annotation: Some(legacy_bundle_annotation(&uploaded.entry).expect("annotation")),
        tlog_entries: vec![uploaded.entry],
        timestamps: Vec::new(),
    };
    let sink = OciSink {
        format: BundleFormat::Both,
        repository: None,
    };
    for r in publish(&ctx.registry, &attestation, &[image], &sink).await {
        r.outcome.expect("publish");
    }
}

/// CPU seconds of this process's waited-for children (`/proc/self/stat` cutime + cstime).
fn children_cpu() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(") ").map_or("", |(_, r)| r);
    let fields: Vec<&str> = after.split(' ').collect();
    // Fields 16 and 17 of stat (1-based) are cutime and cstime; `after` starts at field 3.
    let ticks: f64 = [13, 14]
        .iter()
        .filter_map(|i| fields.get(*i).and_then(|v| v.parse::<f64>().ok()))
        .sum();
    ticks / 100.0
}

fn main() {
    let (Some(registry), Some(rekor_url), Some(root), Some(cosign), Some(tr)) = (
        env("HALLMARK_STACK_REGISTRY_REFERRERS"),
        env("HALLMARK_STACK_REKOR_URL"),
        env("HALLMARK_STACK_TRUSTED_ROOT"),
        env("HALLMARK_STACK_COSIGN"),
        env("HALLMARK_STACK_TRUSTED_ROOT"),
    ) else {
        eprintln!(
            "publish bench: no stack (tests/stack/up && eval \"$(tests/stack/env)\"); skipped"
        );
        return;
    };
    let n: usize = env("HALLMARK_BENCH_ATTESTATIONS")
        .and_then(|v| v.parse().ok())
        .unwrap_or(96);
    let cosign_n: usize = env("HALLMARK_BENCH_COSIGN")
        .and_then(|v| v.parse().ok())
        .unwrap_or(8);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    // A fresh repository per level (and for cosign): the stack's referrers registry
    // (go-containerregistry's in-memory registry) answers the referrers API by parsing
    // every manifest of the repository, so a repository that grew over earlier runs would
    // make each later run slower (see docs/benchmarks.md).
    let run_id = nonce();
    let repo_for = |what: &str| Repository {
        registry: registry.clone(),
        name: format!("bench/publish-{run_id}-{what}"),
    };
    let ctx = Arc::new(Ctx {
        registry: RegistryClient::new(RegistryOptions::default()).expect("registry client"),
        rekor: RekorClient::new(&rekor_url, Duration::from_secs(60)).expect("rekor client"),
        trust: TrustedRoot::from_file(Path::new(&root)).expect("trusted root"),
        signer: LocalSigner::generate_p256().expect("key"),
    });
    println!("publish bench: {n} attestations per level, registry {registry}, Rekor {rekor_url}");

    // hallmark at concurrency 1, 8, 32.
    let mut best_rate = 0.0_f64;
    let mut cpu_per = f64::MAX;
    for c in [1usize, 8, 32] {
        let imgs = runtime.block_on(images(&ctx.registry, &repo_for(&format!("c{c}")), n));
        let cpu = ProcessTime::now();
        let start = Instant::now();
        runtime.block_on(async {
            let sem = Arc::new(tokio::sync::Semaphore::new(c));
            let mut tasks = Vec::new();
            for image in imgs {
                let (ctx, sem) = (ctx.clone(), sem.clone());
                tasks.push(tokio::spawn(async move {
                    let _permit = sem.acquire().await.expect("semaphore");
                    attest_one(&ctx, image).await;
                }));
            }
            for t in tasks {
                t.await.expect("task");
            }
        });
        let wall = start.elapsed().as_secs_f64();
        let cpu = cpu.elapsed().as_secs_f64();
        let rate = n as f64 / wall;
        best_rate = best_rate.max(rate);
        cpu_per = cpu_per.min(cpu / n as f64);
        println!(
            "hallmark  concurrency {c:>2}: {rate:7.1} attestations/s, client CPU {:.2} ms/attestation",
            cpu * 1000.0 / n as f64
        );
    }

    // Rekor's ceiling: prepared dsse entries posted raw at concurrency 32.
    let prepared: Vec<Vec<u8>> = (0..n)
        .map(|i| {
            let payload = format!(
                "{{\"_type\":\"https://in-toto.io/Statement/v1\",\"n\":\"{}-{i}\"}}",
                nonce()
            );
            let env = signing::sign_envelope(&ctx.signer, IN_TOTO_PAYLOAD_TYPE, payload.as_bytes())
                .expect("sign");
            dsse_v001_request(&env.to_json(), &[ctx.signer.public_key().to_pem().as_str()])
                .expect("request")
        })
        .collect();
    let start = Instant::now();
    runtime.block_on(async {
        let sem = Arc::new(tokio::sync::Semaphore::new(32));
        let mut tasks = Vec::new();
        for p in prepared {
            let (ctx, sem) = (ctx.clone(), sem.clone());
            tasks.push(tokio::spawn(async move {
                let _permit = sem.acquire().await.expect("semaphore");
                ctx.rekor.create_entry(&p).await.expect("create entry");
            }));
        }
        for t in tasks {
            t.await.expect("task");
        }
    });
    let ceiling = n as f64 / start.elapsed().as_secs_f64();
    println!("rekor     raw dsse entries, concurrency 32: {ceiling:7.1} entries/s");

    // cosign attest, one process per image.
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let run = |args: &[&str]| {
        std::process::Command::new(&cosign)
            .args(args)
            .current_dir(d)
            .env("COSIGN_PASSWORD", "")
            .env("TUF_ROOT", d.join("tuf"))
            .output()
            .expect("cosign")
    };
    assert!(
        run(&["generate-key-pair", "--output-key-prefix", "k"])
            .status
            .success()
    );
    let rekor_svc =
        format!("url={rekor_url},api-version=1,start-time=2020-01-01T00:00:00Z,operator=bench");
    assert!(
        run(&[
            "signing-config",
            "create",
            "--rekor",
            &rekor_svc,
            "--rekor-config=ANY",
            "--out",
            "sc.json"
        ])
        .status
        .success()
    );
    std::fs::write(
        d.join("p.json"),
        r#"{"builder":{"id":"https://hallmark.test/bench"},"buildType":"https://hallmark.test/v1","invocation":{},"materials":[]}"#,
    )
    .expect("predicate");
    let imgs = runtime.block_on(images(&ctx.registry, &repo_for("cosign"), cosign_n));
    let cpu0 = children_cpu();
    let start = Instant::now();
    for image in &imgs {
        let out = run(&[
            "attest",
            "--yes",
            "--key",
            "k.key",
            "--predicate",
            "p.json",
            "--type",
            "slsaprovenance",
            "--signing-config",
            "sc.json",
            "--trusted-root",
            &tr,
            &image.to_string(),
        ]);
        assert!(
            out.status.success(),
            "cosign attest: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let cosign_wall = start.elapsed().as_secs_f64() / cosign_n as f64;
    let cosign_cpu = (children_cpu() - cpu0) / cosign_n as f64;
    println!(
        "cosign v3 attest, one process per image: {:.0} ms wall, {:.0} ms CPU per attestation",
        cosign_wall * 1000.0,
        cosign_cpu * 1000.0
    );
    println!(
        "ratios: hallmark best throughput / Rekor ceiling = {:.2}; cosign CPU / hallmark CPU per attestation = {:.1}x",
        best_rate / ceiling,
        cosign_cpu / cpu_per
    );
}
