//! `hallmark controller` through outages and fail-over, on the stack's real
//! kube-apiserver, registry and Rekor (issue 9). Each phase ends with every run signed
//! exactly once, counted in the registry (one `.att` and one `.sig` layer per image) and
//! in Rekor (one entry per attestation and per image signature):
//!
//! 1. the registry is stopped for 30 s in the middle of a batch;
//! 2. Rekor is stopped while runs wait, then started;
//! 3. the API server is stopped when the controller starts, then started, and restarted
//!    again while the controller runs;
//! 4. two replicas with leader election: only the leader signs; when it is killed, the
//!    other takes over within 3x the lease duration.
//!
//! The stack's Tekton Chains controller is stopped for the duration (it signs every
//! finished TaskRun) and started again at the end. Needs the stack; skipped without it
//! unless `HALLMARK_REQUIRE_STACK=1`.
#![allow(clippy::panic, clippy::expect_used)] // Tests report failures by panicking.

mod support;

use std::time::{Duration, Instant};

use support::controller::{Ctx, Stopped, stack};

#[test]
fn every_run_is_signed_once_through_outages_and_failover() {
    let Some(s) = stack() else { return };
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    let _chains = Stopped::new("chains");
    let ctx = Ctx::setup(&s, dir, "hm-ctlf", 19800);
    let ns = ctx.ns.clone();
    let key = ctx.key.to_string_lossy().into_owned();
    let config = ctx.config_file("").to_string_lossy().into_owned();
    let base = ["--config", config.as_str(), "--key", key.as_str()];
    let mut all_images = Vec::new();

    // 1. The registry stops for 30 s in the middle of a batch.
    let images: Vec<String> = (0..6).map(|i| ctx.image(&format!("reg{i}"))).collect();
    let ctl = ctx.controller(&base, &[]);
    for (i, image) in images.iter().enumerate().take(3) {
        ctx.taskrun(&format!("reg-{i}"), image, &[]);
    }
    for i in 0..3 {
        ctx.wait_signed("taskrun", &format!("reg-{i}"), &ctl);
    }
    {
        let _registry = Stopped::new("registry");
        for (i, image) in images.iter().enumerate().skip(3) {
            ctx.taskrun(&format!("reg-{i}"), image, &[]);
        }
        std::thread::sleep(Duration::from_secs(30));
        for i in 3..6 {
            assert_ne!(
                ctx.annotation("taskrun", &format!("reg-{i}"), "chains.tekton.dev/signed")
                    .as_deref(),
                Some("true"),
                "reg-{i} recorded while its registry was down"
            );
        }
    }
    for i in 3..6 {
        ctx.wait_signed("taskrun", &format!("reg-{i}"), &ctl);
    }
    let retries = ctx.annotation("taskrun", "reg-3", "chains.tekton.dev/retries");
    assert!(
        retries.is_some_and(|r| r.parse::<u32>().unwrap_or(0) >= 1),
        "reg-3 was retried"
    );
    all_images.extend(images);
    drop(ctl);

    // 2. Rekor stopped while runs wait, then started.
    let images: Vec<String> = (0..3).map(|i| ctx.image(&format!("rekor{i}"))).collect();
    {
        let _rekor = Stopped::new("rekor");
        for (i, image) in images.iter().enumerate() {
            ctx.taskrun(&format!("rekor-{i}"), image, &[]);
        }
        let ctl = ctx.controller(&base, &[]);
        ctx.wait(
            Duration::from_secs(30),
            "a retry while Rekor is down",
            || {
                ctx.annotation("taskrun", "rekor-0", "chains.tekton.dev/retries")
                    .is_some()
            },
            Some(&ctl),
        );
        drop(ctl);
    }
    let ctl = ctx.controller(&base, &[]);
    for i in 0..3 {
        ctx.wait_signed("taskrun", &format!("rekor-{i}"), &ctl);
    }
    all_images.extend(images);

    // 3. The API server: down when the controller starts, then restarted under it. (The
    //    previous controller stops first: killed in the middle of a Rekor request, it
    //    can leave an entry Rekor logged but never indexed for search.)
    drop(ctl);
    let images: Vec<String> = (0..4).map(|i| ctx.image(&format!("api{i}"))).collect();
    for (i, image) in images.iter().enumerate().take(2) {
        ctx.taskrun(&format!("api-{i}"), image, &[]);
    }
    let ctl = {
        let _api = Stopped::new("kube-apiserver");
        let ctl = ctx.controller(&base, &[]);
        std::thread::sleep(Duration::from_secs(5));
        ctl
    };
    for i in 0..2 {
        ctx.wait_signed("taskrun", &format!("api-{i}"), &ctl);
    }
    drop(Stopped::new("kube-apiserver"));
    for (i, image) in images.iter().enumerate().skip(2) {
        ctx.taskrun(&format!("api-{i}"), image, &[]);
    }
    for i in 2..4 {
        ctx.wait_signed("taskrun", &format!("api-{i}"), &ctl);
    }
    all_images.extend(images);
    drop(ctl);

    // 4. Two replicas, one Lease.
    let lease = format!("{ns}/hallmark-controller");
    let ha = [
        &base[..],
        &["--lease", lease.as_str(), "--lease-duration", "3s"],
    ]
    .concat();
    let mut first = ctx.controller(&ha, &[]);
    std::thread::sleep(Duration::from_secs(2));
    let mut second = ctx.controller(&ha, &[]);
    let images: Vec<String> = (0..6).map(|i| ctx.image(&format!("ha{i}"))).collect();
    for (i, image) in images.iter().enumerate().take(3) {
        ctx.taskrun(&format!("ha-{i}"), image, &[]);
    }
    for i in 0..3 {
        ctx.wait_signed("taskrun", &format!("ha-{i}"), &first);
    }
    let recorded = |log: &str| log.matches("recorded").count();
    assert_eq!(
        recorded(&first.log_text()),
        3,
        "the leader signs:\n{}",
        first.log_text()
    );
    assert_eq!(
        recorded(&second.log_text()),
        0,
        "the follower signs nothing:\n{}",
        second.log_text()
    );
    first.kill();
    let killed = Instant::now();
    for (i, image) in images.iter().enumerate().skip(3) {
        ctx.taskrun(&format!("ha-{i}"), image, &[]);
    }
    for i in 3..6 {
        ctx.wait_signed("taskrun", &format!("ha-{i}"), &second);
    }
    let takeover = killed.elapsed();
    eprintln!(
        "fail-over: the follower signed the next runs {:.1} s after the leader died",
        takeover.as_secs_f64()
    );
    assert!(
        takeover < Duration::from_secs(9) + Duration::from_secs(3),
        "take-over took {takeover:?} (lease 3 s; 3x is 9 s, plus signing)"
    );
    assert_eq!(
        recorded(&second.log_text()),
        3,
        "the new leader signs:\n{}",
        second.log_text()
    );
    all_images.extend(images);
    second.kill();

    for image in &all_images {
        assert!(
            ctx.cosign_accepts(image, &ctx.pubkey),
            "cosign v2 refuses {image}"
        );
        ctx.exactly_once(image);
    }
    eprintln!(
        "{} runs, each signed and published exactly once",
        all_images.len()
    );
    let _ = ctx.kubectl(&["delete", "namespace", &ns, "--wait=false"]);
}
