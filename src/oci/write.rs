//! Publishing into a registry through the [`Pusher`] seam: a layer added to cosign's
//! legacy `.att`/`.sig` manifest (read-modify-write), and a Sigstore bundle pushed as an
//! OCI 1.1 referrer, with the `sha256-<hex>` fallback index kept up to date on registries
//! without the referrers API.
//!
//! Read-modify-write of a tag is serialized per image across hallmark writers on one
//! machine (threads and processes) by a file lock under the temp directory, and every
//! write is read back and checked; a layer that a concurrent writer dropped is added
//! again (a few attempts). Writers using another tool, or hallmark on another machine,
//! can still race (docs/compatibility.md).

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::layout::{self, EMPTY_CONFIG};
use super::manifest::{
    Descriptor, ImageIndex, ImageManifest, OCI_INDEX, OCI_MANIFEST, SIGSTORE_BUNDLE_V03,
    referrers_fallback_tag,
};
use super::reference::{Digest, ImageRef, Repository};
use super::{OciError, Pusher};

/// How often a read-modify-write is retried when the read-back misses the new content.
const ATTEMPTS: usize = 5;

/// What adding a legacy layer did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LegacyWrite {
    /// False when an identical layer (same digest) was already there.
    pub added: bool,
    /// The layers under the tag afterwards.
    pub layers: usize,
    /// The tag written.
    pub tag: String,
}

/// What pushing a referrer did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReferrerWrite {
    /// The referrer manifest's digest.
    pub manifest: Digest,
    /// Whether the fallback tag was (or already was) maintained: the registry has no
    /// referrers API.
    pub fallback_tag: bool,
    /// False when the same referrer was already listed.
    pub added: bool,
}

/// An exclusive lock on one image's tags, held while it lives.
struct ImageLock {
    _file: std::fs::File,
}

async fn lock_image(repo: &Repository, digest: &Digest) -> Result<ImageLock, OciError> {
    let dir = std::env::temp_dir().join("hallmark-oci-locks");
    let key = Digest::of(format!("{repo}@{digest}").as_bytes());
    let path: PathBuf = dir.join(&key.hex()[..32]);
    tokio::task::spawn_blocking(move || {
        std::fs::create_dir_all(&dir)?;
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)?;
        file.lock()?;
        Ok::<_, std::io::Error>(ImageLock { _file: file })
    })
    .await
    .map_err(|e| OciError::Config(format!("locking the image for writing: {e}")))?
    .map_err(|e| OciError::Config(format!("locking the image for writing: {e}")))
}

/// The layers under `tag` (none when the tag does not exist).
async fn tag_layers<P: Pusher>(
    p: &P,
    repo: &Repository,
    tag: &str,
) -> Result<Vec<Descriptor>, OciError> {
    match p.manifest(repo, tag).await? {
        Some(f) => {
            Ok(ImageManifest::from_json(&format!("manifest {repo}:{tag}"), &f.bytes)?.layers)
        }
        None => Ok(Vec::new()),
    }
}

/// Add a layer (`blob` with `annotations`) to the legacy manifest under `tag` (e.g.
/// `sha256-<hex>.att`) in `repo`, keeping the layers already there.
///
/// # Errors
///
/// [`OciError`] from the registry, or when the layer is still missing after
/// five read-modify-write rounds.
pub async fn add_legacy_layer<P: Pusher>(
    p: &P,
    repo: &Repository,
    image_digest: &Digest,
    tag: &str,
    media_type: &str,
    blob: &[u8],
    annotations: BTreeMap<String, String>,
) -> Result<LegacyWrite, OciError> {
    let _lock = lock_image(repo, image_digest).await?;
    let new = layout::descriptor(media_type, blob, annotations);
    let mut pushed_blob = false;
    for _ in 0..ATTEMPTS {
        let mut layers = tag_layers(p, repo, tag).await?;
        if layers.iter().any(|l| l.digest == new.digest) {
            return Ok(LegacyWrite {
                added: pushed_blob,
                layers: layers.len(),
                tag: tag.to_owned(),
            });
        }
        if !pushed_blob {
            p.push_blob(repo, blob).await?;
            pushed_blob = true;
        }
        layers.push(new.clone());
        let (manifest, config) = layout::legacy_manifest(&layers);
        p.push_blob(repo, &config).await?;
        p.push_manifest(repo, tag, &manifest, OCI_MANIFEST).await?;
        // Read back: another writer may have replaced the tag in between.
        let after = tag_layers(p, repo, tag).await?;
        if after.iter().any(|l| l.digest == new.digest) {
            return Ok(LegacyWrite {
                added: true,
                layers: after.len(),
                tag: tag.to_owned(),
            });
        }
    }
    Err(OciError::Malformed {
        what: format!("{repo}:{tag}"),
        reason: format!("the new layer was overwritten by concurrent writers {ATTEMPTS} times"),
    })
}

/// The descriptor of the image manifest `image` (media type and size), the referrer's
/// subject.
///
/// # Errors
///
/// [`OciError`] from the registry, or [`OciError::Malformed`] when the image is missing.
pub async fn subject_descriptor<P: Pusher>(
    p: &P,
    image: &ImageRef,
) -> Result<Descriptor, OciError> {
    let fetched = p
        .manifest(&image.repository, image.digest.as_str())
        .await?
        .ok_or_else(|| OciError::Malformed {
            what: image.to_string(),
            reason: "the image is not in the registry (404)".into(),
        })?;
    let media_type = fetched
        .media_type
        .clone()
        .or_else(|| {
            serde_json::from_slice::<serde_json::Value>(&fetched.bytes)
                .ok()
                .and_then(|v| v["mediaType"].as_str().map(str::to_owned))
        })
        .unwrap_or_else(|| OCI_MANIFEST.to_owned());
    Ok(Descriptor {
        media_type,
        digest: fetched.digest.to_string(),
        size: i64::try_from(fetched.bytes.len()).unwrap_or(i64::MAX),
        artifact_type: None,
        annotations: BTreeMap::new(),
    })
}

/// Push a Sigstore bundle v0.3 as a referrer of `image` into `repo` (the image's own
/// repository, or `storage.oci.repository`), and keep the fallback tag when the registry
/// has no referrers API.
///
/// # Errors
///
/// [`OciError`] from the registry.
pub async fn push_referrer<P: Pusher>(
    p: &P,
    repo: &Repository,
    image: &ImageRef,
    subject: &Descriptor,
    bundle_json: &[u8],
    predicate_type: Option<&str>,
    signed_content: &Digest,
) -> Result<ReferrerWrite, OciError> {
    let annotations = layout::referrer_annotations(predicate_type, Some(signed_content.hex()));
    let bundle = layout::descriptor(SIGSTORE_BUNDLE_V03, bundle_json, BTreeMap::new());
    let manifest = layout::referrer_manifest(subject, &bundle, &annotations);
    let digest = Digest::of(&manifest);
    // The same signed content already referred (maybe with an older inclusion proof).
    let listed = match p.referrers(repo, &image.digest).await? {
        Some(bytes) => {
            Some(ImageIndex::from_json(&format!("referrers of {image}"), &bytes)?.manifests)
        }
        None => match p
            .manifest(repo, &referrers_fallback_tag(&image.digest))
            .await?
        {
            Some(f) => Some(ImageIndex::from_json("referrers fallback tag", &f.bytes)?.manifests),
            None => None,
        },
    };
    if let Some(existing) = listed.iter().flatten().find(|d| {
        d.annotations
            .get(layout::ANNOTATION_SIGNED_CONTENT)
            .map(String::as_str)
            == Some(signed_content.hex())
    }) {
        return Ok(ReferrerWrite {
            manifest: existing.sha256()?,
            fallback_tag: false,
            added: false,
        });
    }
    let already = p.manifest(repo, digest.as_str()).await?.is_some();
    if !already {
        p.push_blob(repo, EMPTY_CONFIG).await?;
        p.push_blob(repo, bundle_json).await?;
        p.push_manifest(repo, digest.as_str(), &manifest, OCI_MANIFEST)
            .await?;
    }
    // A registry with the referrers API indexes the subject itself.
    if p.referrers(repo, &image.digest).await?.is_some() {
        return Ok(ReferrerWrite {
            manifest: digest,
            fallback_tag: false,
            added: !already,
        });
    }
    let mut entry = layout::descriptor(OCI_MANIFEST, &manifest, annotations);
    entry.artifact_type = Some(SIGSTORE_BUNDLE_V03.to_owned());
    let tag = referrers_fallback_tag(&image.digest);
    let _lock = lock_image(repo, &image.digest).await?;
    for _ in 0..ATTEMPTS {
        let existing = match p.manifest(repo, &tag).await? {
            Some(f) => {
                ImageIndex::from_json(&format!("referrers fallback tag {repo}:{tag}"), &f.bytes)?
                    .manifests
            }
            None => Vec::new(),
        };
        let Some(index) = layout::fallback_index(&existing, &entry) else {
            return Ok(ReferrerWrite {
                manifest: digest,
                fallback_tag: true,
                added: !already,
            });
        };
        p.push_manifest(repo, &tag, &index, OCI_INDEX).await?;
        let after = match p.manifest(repo, &tag).await? {
            Some(f) => {
                ImageIndex::from_json(&format!("referrers fallback tag {repo}:{tag}"), &f.bytes)?
                    .manifests
            }
            None => Vec::new(),
        };
        if after.iter().any(|d| d.digest == entry.digest) {
            return Ok(ReferrerWrite {
                manifest: digest,
                fallback_tag: true,
                added: true,
            });
        }
    }
    Err(OciError::Malformed {
        what: format!("{repo}:{tag}"),
        reason: format!(
            "the referrer was dropped from the fallback index by concurrent writers {ATTEMPTS} times"
        ),
    })
}
