//! Publishing into a registry through the [`Pusher`] seam: a layer added to cosign's
//! legacy `.att`/`.sig` manifest (read-modify-write), and a Sigstore bundle pushed as an
//! OCI 1.1 referrer, with the `sha256-<hex>` fallback index kept up to date on registries
//! without the referrers API.
//!
//! Read-modify-write of a tag is serialized per tag (the `.att`, `.sig` or fallback tag of
//! one image) across hallmark writers on one machine (threads and processes) by a file lock
//! under the temp directory, and every
//! write is read back and checked; a layer that a concurrent writer dropped is added
//! again (a few attempts). Writers using another tool, or hallmark on another machine,
//! can still race (docs/compatibility.md).

use std::collections::BTreeMap;
use std::future::Future;
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

/// An exclusive lock on one tag beside an image, held while it lives.
struct TagLock {
    _file: std::fs::File,
}

/// Lock `tag` (`.att`, `.sig` or the fallback index) beside `digest` in `repo`. Each tag is
/// read-modified-written on its own, so writers of different tags do not wait for each
/// other.
async fn lock_tag(repo: &Repository, digest: &Digest, tag: &str) -> Result<TagLock, OciError> {
    let dir = std::env::temp_dir().join("hallmark-oci-locks");
    let key = Digest::of(format!("{repo}@{digest}:{tag}").as_bytes());
    let path: PathBuf = dir.join(&key.hex()[..32]);
    tokio::task::spawn_blocking(move || {
        std::fs::create_dir_all(&dir)?;
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)?;
        file.lock()?;
        Ok::<_, std::io::Error>(TagLock { _file: file })
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
/// Requests: the layer blob is uploaded while the tag's lock is taken and the tag is read
/// (it does not depend on them); then the config blob, the manifest, and the read-back of
/// the tag. An identical layer already under the tag writes nothing but that blob.
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
    let new = layout::descriptor(media_type, blob, annotations);
    let (pushed, locked) = tokio::join!(p.push_new_blob(repo, blob), async {
        let lock = lock_tag(repo, image_digest, tag).await?;
        let layers = tag_layers(p, repo, tag).await?;
        Ok::<_, OciError>((lock, layers))
    });
    let (_lock, mut layers) = locked?;
    if layers.iter().any(|l| l.digest == new.digest) {
        return Ok(LegacyWrite {
            added: false,
            layers: layers.len(),
            tag: tag.to_owned(),
        });
    }
    pushed?;
    for _ in 0..ATTEMPTS {
        layers.push(new.clone());
        let (manifest, config) = layout::legacy_manifest(&layers);
        p.push_new_blob(repo, &config).await?;
        p.push_manifest(repo, tag, &manifest, OCI_MANIFEST).await?;
        // Read back: a writer that does not take our lock (another machine, another tool)
        // may have replaced the tag in between.
        let after = tag_layers(p, repo, tag).await?;
        if after.iter().any(|l| l.digest == new.digest) {
            return Ok(LegacyWrite {
                added: true,
                layers: after.len(),
                tag: tag.to_owned(),
            });
        }
        // Lost: add it again to what is there now.
        layers = after;
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
    referrer(
        p,
        repo,
        image,
        async { Ok(subject.clone()) },
        bundle_json,
        predicate_type,
        signed_content,
    )
    .await
}

/// [`subject_descriptor`] and [`push_referrer`] in one: the image manifest is read while
/// the referrers are listed and the blobs uploaded.
///
/// # Errors
///
/// [`OciError`] from the registry, or [`OciError::Malformed`] when the image is missing.
pub async fn publish_referrer<P: Pusher>(
    p: &P,
    repo: &Repository,
    image: &ImageRef,
    bundle_json: &[u8],
    predicate_type: Option<&str>,
    signed_content: &Digest,
) -> Result<ReferrerWrite, OciError> {
    referrer(
        p,
        repo,
        image,
        subject_descriptor(p, image),
        bundle_json,
        predicate_type,
        signed_content,
    )
    .await
}

/// The referrers of `image` in `repo`: from the referrers API (`true`), or from the
/// fallback tag (`false`; no tag: none).
async fn listed_referrers<P: Pusher>(
    p: &P,
    repo: &Repository,
    image: &ImageRef,
) -> Result<(Vec<Descriptor>, bool), OciError> {
    if let Some(bytes) = p.referrers(repo, &image.digest).await? {
        return Ok((
            ImageIndex::from_json(&format!("referrers of {image}"), &bytes)?.manifests,
            true,
        ));
    }
    let listed = match p
        .manifest(repo, &referrers_fallback_tag(&image.digest))
        .await?
    {
        Some(f) => ImageIndex::from_json("referrers fallback tag", &f.bytes)?.manifests,
        None => Vec::new(),
    };
    Ok((listed, false))
}

/// Requests: the subject's manifest, the referrers list (or fallback tag) and both blobs
/// at once, then the referrer manifest; on a registry without the referrers API, the
/// fallback index (read, write, read back) under the tag's lock. Whether the registry has
/// the API is known from the first listing, so it is not asked again. A referrer of the
/// same signed content already listed writes nothing but the blobs.
async fn referrer<P, S>(
    p: &P,
    repo: &Repository,
    image: &ImageRef,
    subject: S,
    bundle_json: &[u8],
    predicate_type: Option<&str>,
    signed_content: &Digest,
) -> Result<ReferrerWrite, OciError>
where
    P: Pusher,
    S: Future<Output = Result<Descriptor, OciError>>,
{
    let (subject, listed, bundle_blob, config_blob) = tokio::join!(
        subject,
        listed_referrers(p, repo, image),
        p.push_new_blob(repo, bundle_json),
        p.push_blob(repo, EMPTY_CONFIG),
    );
    let subject = subject?;
    let (listed, has_api) = listed?;
    // The same signed content already referred (maybe with an older inclusion proof).
    if let Some(existing) = listed.iter().find(|d| {
        d.annotations
            .get(layout::ANNOTATION_SIGNED_CONTENT)
            .map(String::as_str)
            == Some(signed_content.hex())
    }) {
        return Ok(ReferrerWrite {
            manifest: existing.sha256()?,
            fallback_tag: !has_api,
            added: false,
        });
    }
    bundle_blob?;
    config_blob?;
    let annotations = layout::referrer_annotations(predicate_type, Some(signed_content.hex()));
    let bundle = layout::descriptor(SIGSTORE_BUNDLE_V03, bundle_json, BTreeMap::new());
    let manifest = layout::referrer_manifest(&subject, &bundle, &annotations);
    let digest = Digest::of(&manifest);
    // By digest: pushing the same manifest again (after a crash before the fallback tag
    // was written) stores nothing new.
    p.push_manifest(repo, digest.as_str(), &manifest, OCI_MANIFEST)
        .await?;
    // A registry with the referrers API indexes the subject itself.
    if has_api {
        return Ok(ReferrerWrite {
            manifest: digest,
            fallback_tag: false,
            added: true,
        });
    }
    let mut entry = layout::descriptor(OCI_MANIFEST, &manifest, annotations);
    entry.artifact_type = Some(SIGSTORE_BUNDLE_V03.to_owned());
    let tag = referrers_fallback_tag(&image.digest);
    let _lock = lock_tag(repo, &image.digest, &tag).await?;
    let read_index = || async {
        Ok::<_, OciError>(match p.manifest(repo, &tag).await? {
            Some(f) => {
                ImageIndex::from_json(&format!("referrers fallback tag {repo}:{tag}"), &f.bytes)?
                    .manifests
            }
            None => Vec::new(),
        })
    };
    let mut existing = read_index().await?;
    for _ in 0..ATTEMPTS {
        let Some(index) = layout::fallback_index(&existing, &entry) else {
            return Ok(ReferrerWrite {
                manifest: digest,
                fallback_tag: true,
                added: true,
            });
        };
        p.push_manifest(repo, &tag, &index, OCI_INDEX).await?;
        // Read back, as for legacy layers; a lost entry is added to what is there now.
        existing = read_index().await?;
        if existing.iter().any(|d| d.digest == entry.digest) {
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
