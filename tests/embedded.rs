//! The controller's embedded mode, as the README's main job runs it: `hallmark controller
//! --source dir:testdata/embedded --once --output oci-layout:DIR` signs the example run
//! with a key created on first use, writes the attestation, the image signature and the
//! generated image into an OCI image layout, and `hallmark verify` accepts the image's
//! attestation from it (and refuses another key). A second run publishes nothing again.
#![allow(clippy::panic, clippy::expect_used)] // Tests report failures by panicking.

use std::path::Path;
use std::process::{Command, Output};

const HM: &str = env!("CARGO_BIN_EXE_hallmark");
const DIGEST: &str = "sha256:3706027c00733e8d97971285d940d6b4bcbdf3e68e0796312e531c6ecb7197b3";

fn hallmark(args: &[&str]) -> Output {
    Command::new(HM)
        .args(args)
        .env_remove("COSIGN_PASSWORD")
        .output()
        .expect("running hallmark")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Layers of the manifest tagged `tag` in the layout.
fn layers(layout: &Path, tag: &str) -> usize {
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(layout.join("index.json")).expect("index.json"))
            .expect("index JSON");
    let Some(entry) = index["manifests"].as_array().and_then(|m| {
        m.iter()
            .find(|d| d["annotations"]["org.opencontainers.image.ref.name"] == tag)
    }) else {
        return 0;
    };
    let hex = entry["digest"]
        .as_str()
        .and_then(|d| d.strip_prefix("sha256:"))
        .expect("digest");
    let manifest: serde_json::Value = serde_json::from_slice(
        &std::fs::read(layout.join("blobs/sha256").join(hex)).expect("blob"),
    )
    .expect("manifest JSON");
    manifest["layers"].as_array().map_or(0, Vec::len)
}

#[test]
fn embedded_mode_signs_into_a_layout_that_verify_accepts() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let layout = tmp.path().join("layout");
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/embedded");
    let args = [
        "controller".to_owned(),
        "--source".to_owned(),
        format!("dir:{}", source.display()),
        "--once".to_owned(),
        "--output".to_owned(),
        format!("oci-layout:{}", layout.display()),
    ];
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let first = hallmark(&args);
    assert!(
        first.status.success(),
        "embedded run failed:\n{}",
        text(&first)
    );
    assert!(
        text(&first).contains("taskrun default/demo-build: signed"),
        "{}",
        text(&first)
    );
    assert!(
        tmp.path().join("hallmark.key").exists(),
        "no key created on first use"
    );
    let att = format!("{}.att", DIGEST.replace(':', "-"));
    let sig = format!("{}.sig", DIGEST.replace(':', "-"));
    assert_eq!(layers(&layout, &att), 1);
    assert_eq!(layers(&layout, &sig), 1);

    let image = format!("oci-layout:{}@{DIGEST}", layout.display());
    let public = tmp.path().join("hallmark.pub");
    let verify = |key: &Path| {
        hallmark(&[
            "verify",
            &image,
            "--key",
            &key.to_string_lossy(),
            "--type",
            "slsaprovenance",
            "--insecure-ignore-tlog",
        ])
    };
    let pass = verify(&public);
    assert_eq!(pass.status.code(), Some(0), "verify:\n{}", text(&pass));

    // Another key is refused.
    let other = tmp.path().join("other");
    std::fs::create_dir_all(&other).expect("dir");
    let made = Command::new(HM)
        .args(["generate-key-pair", "--output-key-prefix"])
        .arg(other.join("o"))
        .env("COSIGN_PASSWORD", "")
        .output()
        .expect("generate-key-pair");
    assert!(made.status.success(), "{}", text(&made));
    let deny = verify(&other.join("o.pub"));
    assert_eq!(deny.status.code(), Some(1), "another key:\n{}", text(&deny));

    // Again: recorded runs are not signed or published twice.
    let second = hallmark(&args);
    assert!(second.status.success(), "{}", text(&second));
    assert!(
        text(&second).contains("skipped (already recorded)"),
        "{}",
        text(&second)
    );
    assert_eq!(
        layers(&layout, &att),
        1,
        "a second run added an attestation"
    );
    assert_eq!(layers(&layout, &sig), 1, "a second run added a signature");
}
