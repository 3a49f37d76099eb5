//! An OCI image layout directory (`oci-layout`, `index.json`, `blobs/sha256/<hex>`, as in
//! the OCI image spec's "image layout") behind the same [`Fetcher`] and [`Pusher`] seams
//! as a registry, so [`crate::publish::publish`] writes into it unchanged and
//! [`find_attestations`](super::find_attestations) (`hallmark verify`) reads from it. It is
//! the output of the controller's embedded mode (`--output oci-layout:PATH`).
//!
//! - A layout is **one repository**: the repository passed to each call is ignored (so
//!   `storage.oci.repository` has no effect on a layout).
//! - **Tags** are entries of `index.json` with an `org.opencontainers.image.ref.name`
//!   annotation (the bare tag, e.g. `sha256-<hex>.att`); re-tagging replaces the entry.
//!   Manifests pushed by digest (referrers, generated images) are listed untagged, so the
//!   layout keeps everything it holds reachable from `index.json`.
//! - **cosign's `--local-image`** (cosign's `save`/`load` layout, `pkg/oci/layout`) finds
//!   an image, its signatures and its attestations by the `kind` annotation of the
//!   `index.json` entry: `dev.cosignproject.cosign/image`, `.../sigs` and `.../atts`, taking
//!   the first entry of each kind. Entries written here carry those annotations too (the
//!   `.sig` and `.att` tags, and [`ImageLayout::write_generated_image`]'s image), so a
//!   layout holding **one** image can be read by `cosign verify --local-image` and
//!   `cosign verify-attestation --local-image`. With several images, cosign reads only the
//!   first of each kind; hallmark reads them all, by digest and tag.
//! - The **referrers API** is answered by scanning the manifests listed in `index.json` for
//!   a `subject` (as a registry with the API does), so referrer bundles need no fallback
//!   tag.
//! - Blobs and `index.json` are written to a temporary file and renamed into place; the
//!   read-modify-write of `index.json` is serialized within the process. Two processes
//!   writing one layout at the same time can lose each other's tags.
//! - Everything read is size-limited and checked against its digest, as from a registry.
//!
//! [`parse_reference`] reads the `oci-layout:PATH@sha256:<hex>` image references that
//! `hallmark verify` accepts.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use super::manifest::{
    Descriptor, ImageIndex, MAX_MANIFEST_BYTES, OCI_INDEX, OCI_MANIFEST, SIGSTORE_BUNDLE_PREFIX,
};
use super::reference::{Digest, ImageRef, Repository};
use super::{Fetched, Fetcher, OciError, Pusher};

/// The content of the `oci-layout` file.
pub const OCI_LAYOUT_FILE: &[u8] = br#"{"imageLayoutVersion":"1.0.0"}"#;
/// The image layout version written and accepted.
pub const LAYOUT_VERSION: &str = "1.0.0";
/// The `index.json` annotation naming a tag.
pub const ANNOTATION_REF_NAME: &str = "org.opencontainers.image.ref.name";
/// cosign's `index.json` annotation telling what an entry is (`pkg/oci/layout`).
pub const ANNOTATION_KIND: &str = "kind";
/// cosign's `kind` of the signed image.
pub const KIND_IMAGE: &str = "dev.cosignproject.cosign/image";
/// cosign's `kind` of the signatures manifest (the `.sig` tag).
pub const KIND_SIGNATURES: &str = "dev.cosignproject.cosign/sigs";
/// cosign's `kind` of the attestations manifest (the `.att` tag).
pub const KIND_ATTESTATIONS: &str = "dev.cosignproject.cosign/atts";
/// The prefix of layout image references: `oci-layout:PATH@sha256:<hex>`.
pub const REFERENCE_PREFIX: &str = "oci-layout:";
/// The registry name of [`ImageLayout::repository`] (a layout has no registry).
pub const LAYOUT_REGISTRY: &str = "oci-layout";
/// The media type of the generated image's layer (an uncompressed tar).
pub const LAYER_TAR: &str = "application/vnd.oci.image.layer.v1.tar";
/// The media type of the generated image's config.
pub const IMAGE_CONFIG: &str = "application/vnd.oci.image.config.v1+json";

/// The most `index.json` is read (it lists every manifest of the layout).
const MAX_INDEX_BYTES: usize = 64 << 20;

/// An OCI image layout directory, read and written through [`Fetcher`] and [`Pusher`].
#[derive(Debug)]
pub struct ImageLayout {
    root: PathBuf,
    /// Serializes the read-modify-write of `index.json` within the process.
    index_lock: Mutex<()>,
    /// Makes temporary file names unique within the process.
    counter: AtomicU64,
}

impl ImageLayout {
    /// Open the layout at `path`, creating the directory, `oci-layout`, `index.json` and
    /// `blobs/sha256` when they are missing.
    ///
    /// # Errors
    ///
    /// [`OciError::Layout`] when the directory cannot be created or written;
    /// [`OciError::Malformed`] when it holds a layout of another version.
    pub fn create(path: &Path) -> Result<Self, OciError> {
        let layout = Self::at(path);
        layout.io(
            "creating blobs/sha256",
            std::fs::create_dir_all(layout.blob_dir()),
        )?;
        let version = path.join("oci-layout");
        if version.exists() {
            layout.check_version()?;
        } else {
            layout.write_atomic(&version, OCI_LAYOUT_FILE)?;
        }
        if !layout.index_path().exists() {
            layout.write_index(&[])?;
        }
        Ok(layout)
    }

    /// Open an existing layout at `path` (read-only use, e.g. `hallmark verify`).
    ///
    /// # Errors
    ///
    /// [`OciError::Layout`] when `oci-layout` or `index.json` cannot be read;
    /// [`OciError::Malformed`] when they do not parse or name another version.
    pub fn open(path: &Path) -> Result<Self, OciError> {
        let layout = Self::at(path);
        layout.check_version()?;
        layout.read_index()?;
        Ok(layout)
    }

    fn at(path: &Path) -> Self {
        Self {
            root: path.to_owned(),
            index_lock: Mutex::new(()),
            counter: AtomicU64::new(0),
        }
    }

    /// The layout's directory.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.root
    }

    /// The repository that stands for the layout in [`ImageRef`]s (`oci-layout/<path>`);
    /// calls ignore it.
    #[must_use]
    pub fn repository(&self) -> Repository {
        Repository {
            registry: LAYOUT_REGISTRY.to_owned(),
            name: self.root.display().to_string(),
        }
    }

    /// The image `digest` in this layout, as an [`ImageRef`] for discovery and publishing.
    #[must_use]
    pub fn image_ref(&self, digest: Digest) -> ImageRef {
        ImageRef {
            repository: self.repository(),
            digest,
        }
    }

    /// The entries of `index.json`, in order.
    ///
    /// # Errors
    ///
    /// [`OciError::Layout`] or [`OciError::Malformed`] when `index.json` cannot be read.
    pub fn entries(&self) -> Result<Vec<Descriptor>, OciError> {
        self.read_index()
    }

    /// The digest tagged `tag`, if any.
    ///
    /// # Errors
    ///
    /// As [`ImageLayout::entries`].
    pub fn resolve_tag(&self, tag: &str) -> Result<Option<Digest>, OciError> {
        self.read_index()?
            .iter()
            .find(|d| d.annotations.get(ANNOTATION_REF_NAME).map(String::as_str) == Some(tag))
            .map(Descriptor::sha256)
            .transpose()
    }

    /// Write a small image generated from `name` (an OCI manifest, a config and one
    /// uncompressed tar layer holding the file `hallmark-generated` with `name` in it) and
    /// list it in `index.json` with cosign's image `kind` (and `name` as its
    /// `org.opencontainers.image.ref.name` when it is a valid one). The same name always
    /// gives the same bytes, so the same digest; writing it again changes nothing.
    ///
    /// For runs whose image results name images that do not exist: attestations written
    /// beside the returned digest can be verified by `hallmark verify` and cosign.
    ///
    /// # Errors
    ///
    /// [`OciError::Layout`] when the layout cannot be written.
    pub fn write_generated_image(&self, name: &str) -> Result<Digest, OciError> {
        let image = generated_image(name);
        self.put_blob(&image.layer)?;
        self.put_blob(&image.config)?;
        self.put_blob(&image.manifest)?;
        let digest = Digest::of(&image.manifest);
        let mut annotations = BTreeMap::new();
        annotations.insert(ANNOTATION_KIND.to_owned(), KIND_IMAGE.to_owned());
        if is_ref_name(name) {
            annotations.insert(ANNOTATION_REF_NAME.to_owned(), name.to_owned());
        }
        let entry = Descriptor {
            media_type: OCI_MANIFEST.to_owned(),
            digest: digest.to_string(),
            size: len_i64(&image.manifest),
            artifact_type: None,
            annotations,
        };
        self.update_index(|entries| {
            if entries.iter().any(|d| d.digest == entry.digest) {
                return false;
            }
            entries.push(entry.clone());
            true
        })?;
        Ok(digest)
    }

    fn blob_dir(&self) -> PathBuf {
        self.root.join("blobs").join("sha256")
    }

    fn blob_path(&self, digest: &Digest) -> PathBuf {
        self.blob_dir().join(digest.hex())
    }

    fn index_path(&self) -> PathBuf {
        self.root.join("index.json")
    }

    fn io<T>(&self, what: &str, r: std::io::Result<T>) -> Result<T, OciError> {
        r.map_err(|source| OciError::Layout {
            path: self.root.display().to_string(),
            what: what.to_owned(),
            source,
        })
    }

    fn check_version(&self) -> Result<(), OciError> {
        let bytes = self.io(
            "reading oci-layout",
            read_limited(&self.root.join("oci-layout"), 4096),
        )?;
        let v: serde_json::Value =
            serde_json::from_slice(&bytes).map_err(|e| OciError::Malformed {
                what: format!("{}/oci-layout", self.root.display()),
                reason: e.to_string(),
            })?;
        match v["imageLayoutVersion"].as_str() {
            Some(LAYOUT_VERSION) => Ok(()),
            other => Err(OciError::Malformed {
                what: format!("{}/oci-layout", self.root.display()),
                reason: format!(
                    "imageLayoutVersion {}, expected {LAYOUT_VERSION}",
                    other.unwrap_or("missing")
                ),
            }),
        }
    }

    fn read_index(&self) -> Result<Vec<Descriptor>, OciError> {
        let bytes = self.io(
            "reading index.json",
            read_limited(&self.index_path(), MAX_INDEX_BYTES),
        )?;
        Ok(
            ImageIndex::from_json(&format!("{}/index.json", self.root.display()), &bytes)?
                .manifests,
        )
    }

    fn write_index(&self, manifests: &[Descriptor]) -> Result<(), OciError> {
        let index = ImageIndex {
            schema_version: 2,
            media_type: Some(OCI_INDEX.to_owned()),
            manifests: manifests.to_vec(),
            annotations: BTreeMap::new(),
        };
        let bytes = serde_json::to_vec(&index).map_err(|e| OciError::Malformed {
            what: "index.json".into(),
            reason: e.to_string(),
        })?;
        self.write_atomic(&self.index_path(), &bytes)
    }

    /// Read-modify-write `index.json`; `change` returns whether it changed anything.
    fn update_index(
        &self,
        change: impl FnOnce(&mut Vec<Descriptor>) -> bool,
    ) -> Result<(), OciError> {
        let _guard = self
            .index_lock
            .lock()
            .map_err(|_| OciError::Config("the image layout's index lock is poisoned".into()))?;
        let mut entries = self.read_index()?;
        if change(&mut entries) {
            self.write_index(&entries)?;
        }
        Ok(())
    }

    /// Write `bytes` to `path` through a temporary file in the layout's root.
    fn write_atomic(&self, path: &Path, bytes: &[u8]) -> Result<(), OciError> {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let tmp = self
            .root
            .join(format!(".hallmark-tmp-{}-{n}", std::process::id()));
        let what = format!("writing {}", path.display());
        let result = (|| {
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(bytes)?;
            f.sync_all()?;
            std::fs::rename(&tmp, path)
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        self.io(&what, result)
    }

    /// Store a blob unless it is there.
    fn put_blob(&self, bytes: &[u8]) -> Result<Digest, OciError> {
        let digest = Digest::of(bytes);
        let path = self.blob_path(&digest);
        if !path.exists() {
            self.write_atomic(&path, bytes)?;
        }
        Ok(digest)
    }

    /// A blob's bytes (at most `limit`), checked against its digest; `None` when absent.
    fn get_blob(&self, digest: &Digest, limit: usize) -> Result<Option<Vec<u8>>, OciError> {
        let path = self.blob_path(digest);
        let bytes = match read_limited(&path, limit) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) if e.kind() == std::io::ErrorKind::FileTooLarge => {
                return Err(OciError::TooLarge {
                    what: format!("blob {digest} in {}", self.root.display()),
                    limit,
                });
            }
            Err(e) => return self.io(&format!("reading blob {digest}"), Err(e)),
        };
        let actual = Digest::of(&bytes);
        if &actual != digest {
            return Err(OciError::DigestMismatch {
                what: format!("blob {} in {}", digest, self.root.display()),
                expected: digest.to_string(),
                actual: actual.to_string(),
            });
        }
        Ok(Some(bytes))
    }
}

/// Read at most `limit` bytes of `path` (`FileTooLarge` beyond).
fn read_limited(path: &Path, limit: usize) -> std::io::Result<Vec<u8>> {
    use std::io::Read as _;
    let f = std::fs::File::open(path)?;
    let mut bytes = Vec::new();
    f.take(limit as u64 + 1).read_to_end(&mut bytes)?;
    if bytes.len() > limit {
        return Err(std::io::Error::from(std::io::ErrorKind::FileTooLarge));
    }
    Ok(bytes)
}

fn len_i64(bytes: &[u8]) -> i64 {
    i64::try_from(bytes.len()).unwrap_or(i64::MAX)
}

/// Whether `s` is a valid `org.opencontainers.image.ref.name` (the image spec's grammar:
/// components of alphanumerics separated by `-._:@/+`, or `--`).
fn is_ref_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 255
        && s.split(|c| "-._:@/+".contains(c))
            .all(|c| c.is_empty() || c.bytes().all(|b| b.is_ascii_alphanumeric()))
        && s.starts_with(|c: char| c.is_ascii_alphanumeric())
        && s.ends_with(|c: char| c.is_ascii_alphanumeric())
}

/// cosign's `kind` for a tag it reads from layouts.
fn kind_of_tag(tag: &str) -> Option<&'static str> {
    if tag.ends_with(".att") {
        Some(KIND_ATTESTATIONS)
    } else if tag.ends_with(".sig") {
        Some(KIND_SIGNATURES)
    } else {
        None
    }
}

/// The media type of a manifest: the one given, else its `mediaType` field, else OCI's.
fn manifest_media_type(bytes: &[u8]) -> String {
    serde_json::from_slice::<serde_json::Value>(bytes)
        .ok()
        .and_then(|v| v["mediaType"].as_str().map(str::to_owned))
        .unwrap_or_else(|| OCI_MANIFEST.to_owned())
}

impl Fetcher for ImageLayout {
    async fn manifest(
        &self,
        _repo: &Repository,
        reference: &str,
    ) -> Result<Option<Fetched>, OciError> {
        let entries = self.read_index()?;
        let (digest, listed) = if reference.starts_with("sha256:") {
            let digest = Digest::parse(reference)?;
            let listed = entries.into_iter().find(|d| d.digest == digest.as_str());
            (digest, listed)
        } else {
            let Some(entry) = entries.into_iter().find(|d| {
                d.annotations.get(ANNOTATION_REF_NAME).map(String::as_str) == Some(reference)
            }) else {
                return Ok(None);
            };
            (entry.sha256()?, Some(entry))
        };
        let Some(bytes) = self.get_blob(&digest, MAX_MANIFEST_BYTES)? else {
            return Ok(None);
        };
        let media_type = listed
            .map(|d| d.media_type)
            .filter(|m| !m.is_empty())
            .unwrap_or_else(|| manifest_media_type(&bytes));
        Ok(Some(Fetched {
            bytes,
            digest,
            media_type: Some(media_type),
        }))
    }

    async fn blob(
        &self,
        _repo: &Repository,
        descriptor: &Descriptor,
        limit: usize,
    ) -> Result<Vec<u8>, OciError> {
        let digest = descriptor.sha256()?;
        let size = descriptor.size_within(limit)?;
        self.get_blob(&digest, size)?
            .ok_or_else(|| OciError::Malformed {
                what: format!("blob {digest}"),
                reason: format!("not in the image layout {}", self.root.display()),
            })
    }

    async fn referrers(
        &self,
        _repo: &Repository,
        subject: &Digest,
    ) -> Result<Option<Vec<u8>>, OciError> {
        let mut found = Vec::new();
        let mut seen = std::collections::BTreeSet::new();
        for entry in self.read_index()? {
            if entry.media_type != OCI_MANIFEST || !seen.insert(entry.digest.clone()) {
                continue;
            }
            let Some(bytes) = self.get_blob(&entry.sha256()?, MAX_MANIFEST_BYTES)? else {
                continue;
            };
            let Ok(m) = super::manifest::ImageManifest::from_json("referrer", &bytes) else {
                continue;
            };
            if m.subject.as_ref().map(|s| s.digest.as_str()) != Some(subject.as_str()) {
                continue;
            }
            found.push(Descriptor {
                media_type: OCI_MANIFEST.to_owned(),
                digest: entry.digest,
                size: len_i64(&bytes),
                artifact_type: m
                    .artifact_type
                    .clone()
                    .or_else(|| Some(m.config.media_type.clone())),
                annotations: m.annotations,
            });
        }
        let index = ImageIndex {
            schema_version: 2,
            media_type: Some(OCI_INDEX.to_owned()),
            manifests: found,
            annotations: BTreeMap::new(),
        };
        serde_json::to_vec(&index)
            .map(Some)
            .map_err(|e| OciError::Malformed {
                what: "referrers index".into(),
                reason: e.to_string(),
            })
    }
}

impl Pusher for ImageLayout {
    async fn push_blob(&self, _repo: &Repository, bytes: &[u8]) -> Result<Digest, OciError> {
        self.put_blob(bytes)
    }

    async fn push_manifest(
        &self,
        _repo: &Repository,
        reference: &str,
        bytes: &[u8],
        media_type: &str,
    ) -> Result<Digest, OciError> {
        let digest = Digest::of(bytes);
        let by_digest = reference.starts_with("sha256:");
        if by_digest && reference != digest.as_str() {
            return Err(OciError::DigestMismatch {
                what: format!("manifest pushed as {reference}"),
                expected: reference.to_owned(),
                actual: digest.to_string(),
            });
        }
        if !by_digest && !is_ref_name(reference) {
            return Err(OciError::InvalidReference {
                reference: reference.to_owned(),
                reason: "not a valid tag for an image layout".into(),
            });
        }
        self.put_blob(bytes)?;
        let mut annotations = BTreeMap::new();
        if !by_digest {
            annotations.insert(ANNOTATION_REF_NAME.to_owned(), reference.to_owned());
            if let Some(kind) = kind_of_tag(reference) {
                annotations.insert(ANNOTATION_KIND.to_owned(), kind.to_owned());
            }
        }
        let entry = Descriptor {
            media_type: media_type.to_owned(),
            digest: digest.to_string(),
            size: len_i64(bytes),
            artifact_type: serde_json::from_slice::<serde_json::Value>(bytes)
                .ok()
                .and_then(|v| v["artifactType"].as_str().map(str::to_owned))
                .filter(|a| a.starts_with(SIGSTORE_BUNDLE_PREFIX)),
            annotations,
        };
        self.update_index(|entries| {
            if by_digest {
                // Listed once; a tagged entry of the same digest already lists it.
                if entries.iter().any(|d| d.digest == entry.digest) {
                    return false;
                }
            } else {
                entries.retain(|d| {
                    d.annotations.get(ANNOTATION_REF_NAME).map(String::as_str) != Some(reference)
                });
            }
            entries.push(entry.clone());
            true
        })?;
        Ok(digest)
    }
}

/// The bytes of a generated image: manifest, config and layer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GeneratedImage {
    /// The OCI image manifest.
    pub manifest: Vec<u8>,
    /// The image config.
    pub config: Vec<u8>,
    /// The layer: an uncompressed tar holding `hallmark-generated`.
    pub layer: Vec<u8>,
}

/// The image [`ImageLayout::write_generated_image`] writes for `name` (pure, deterministic).
#[must_use]
pub fn generated_image(name: &str) -> GeneratedImage {
    let layer = tar_one_file("hallmark-generated", format!("{name}\n").as_bytes());
    let layer_digest = Digest::of(&layer);
    // serde_json's map keeps keys sorted: the same name gives the same bytes.
    let config = serde_json::json!({
        "architecture": "amd64",
        "os": "linux",
        "config": {"Labels": {"dev.hallmark.generated": name}},
        "rootfs": {"type": "layers", "diff_ids": [layer_digest.as_str()]},
    });
    let config = serde_json::to_vec(&config).unwrap_or_default();
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": IMAGE_CONFIG, "digest": Digest::of(&config).as_str(), "size": config.len()},
        "layers": [{"mediaType": LAYER_TAR, "digest": layer_digest.as_str(), "size": layer.len()}],
    });
    GeneratedImage {
        manifest: serde_json::to_vec(&manifest).unwrap_or_default(),
        config,
        layer,
    }
}

/// A POSIX ustar archive holding one regular file (mode 0644, owner 0, time 0).
fn tar_one_file(name: &str, content: &[u8]) -> Vec<u8> {
    fn octal(field: &mut [u8], value: u64) {
        // Zero-padded octal, NUL-terminated, filling the field.
        let digits = field.len() - 1;
        let s = format!("{value:0digits$o}");
        let start = s.len().saturating_sub(digits);
        field[..digits].copy_from_slice(&s.as_bytes()[start..]);
        field[digits] = 0;
    }
    let mut header = [0u8; 512];
    let name = name.as_bytes();
    let n = name.len().min(100);
    header[..n].copy_from_slice(&name[..n]);
    octal(&mut header[100..108], 0o644);
    octal(&mut header[108..116], 0);
    octal(&mut header[116..124], 0);
    octal(&mut header[124..136], content.len() as u64);
    octal(&mut header[136..148], 0);
    header[156] = b'0';
    header[257..263].copy_from_slice(b"ustar\0");
    header[263..265].copy_from_slice(b"00");
    header[148..156].copy_from_slice(b"        ");
    let sum: u64 = header.iter().map(|b| u64::from(*b)).sum();
    let s = format!("{sum:06o}\0 ");
    header[148..156].copy_from_slice(s.as_bytes());
    let mut out = header.to_vec();
    out.extend_from_slice(content);
    out.resize(out.len().div_ceil(512) * 512, 0);
    out.resize(out.len() + 1024, 0);
    out
}

/// Parse `oci-layout:PATH@sha256:<hex>`: `None` when `s` does not start with
/// `oci-layout:`.
///
/// # Errors
///
/// [`OciError::InvalidReference`] when the path or the `@sha256:` digest is missing, or
/// [`OciError::InvalidDigest`] when the digest is malformed.
pub fn parse_reference(s: &str) -> Result<Option<(PathBuf, Digest)>, OciError> {
    let Some(rest) = s.strip_prefix(REFERENCE_PREFIX) else {
        return Ok(None);
    };
    let invalid = |reason: &str| OciError::InvalidReference {
        reference: s.to_owned(),
        reason: reason.to_owned(),
    };
    let (path, digest) = rest
        .rsplit_once('@')
        .ok_or_else(|| invalid("expected oci-layout:PATH@sha256:<hex>"))?;
    if path.is_empty() {
        return Err(invalid("the layout path is empty"));
    }
    Ok(Some((PathBuf::from(path), Digest::parse(digest)?)))
}

#[cfg(test)]
#[allow(clippy::panic)] // Tests report failures by panicking.
mod tests {
    use super::*;
    use crate::oci::layout::{descriptor, legacy_manifest};
    use crate::oci::manifest::{DSSE_ENVELOPE, attestation_tag};
    use crate::oci::write::{add_legacy_layer, publish_referrer};

    fn layout() -> Result<(tempfile::TempDir, ImageLayout), OciError> {
        let dir = tempfile::tempdir().map_err(|e| OciError::Config(e.to_string()))?;
        let l = ImageLayout::create(&dir.path().join("out"))?;
        Ok((dir, l))
    }

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn creates_a_valid_empty_layout() -> Result<(), OciError> {
        let (_d, l) = layout()?;
        let read = |p: &str| std::fs::read(l.path().join(p)).unwrap_or_default();
        assert_eq!(read("oci-layout"), OCI_LAYOUT_FILE);
        let index: serde_json::Value =
            serde_json::from_slice(&read("index.json")).unwrap_or_default();
        assert_eq!(index["schemaVersion"], 2);
        assert_eq!(index["mediaType"], OCI_INDEX);
        assert_eq!(index["manifests"], serde_json::json!([]));
        assert!(l.path().join("blobs/sha256").is_dir());
        // Opening again keeps it; another version is refused.
        ImageLayout::create(l.path())?;
        ImageLayout::open(l.path())?;
        std::fs::write(
            l.path().join("oci-layout"),
            br#"{"imageLayoutVersion":"2.0.0"}"#,
        )
        .map_err(|e| OciError::Config(e.to_string()))?;
        assert!(matches!(
            ImageLayout::open(l.path()),
            Err(OciError::Malformed { .. })
        ));
        let missing = l.path().join("nope");
        assert!(matches!(
            ImageLayout::open(&missing),
            Err(OciError::Layout { .. })
        ));
        Ok(())
    }

    #[test]
    fn generated_images_are_deterministic_and_listed() -> Result<(), OciError> {
        let (_d, l) = layout()?;
        let a = generated_image("registry.example/app");
        assert_eq!(a, generated_image("registry.example/app"));
        assert_ne!(
            a.manifest,
            generated_image("registry.example/other").manifest
        );
        // A tar: 512-byte blocks, the name at the start, ustar magic, a valid checksum.
        assert_eq!(a.layer.len() % 512, 0);
        assert!(a.layer.starts_with(b"hallmark-generated\0"));
        assert_eq!(&a.layer[257..263], b"ustar\0");
        let stored: u64 = u64::from_str_radix(
            std::str::from_utf8(&a.layer[148..154]).unwrap_or_default(),
            8,
        )
        .unwrap_or_default();
        let mut header = a.layer[..512].to_vec();
        header[148..156].copy_from_slice(b"        ");
        assert_eq!(stored, header.iter().map(|b| u64::from(*b)).sum::<u64>());
        assert_eq!(&a.layer[512..533], b"registry.example/app\n");

        let digest = l.write_generated_image("registry.example/app")?;
        assert_eq!(digest, Digest::of(&a.manifest));
        assert_eq!(l.write_generated_image("registry.example/app")?, digest);
        let entries = l.entries()?;
        assert_eq!(entries.len(), 1, "{entries:?}");
        assert_eq!(entries[0].annotations[ANNOTATION_KIND], KIND_IMAGE);
        assert_eq!(
            entries[0].annotations[ANNOTATION_REF_NAME],
            "registry.example/app"
        );
        // Every blob of the image is in blobs/sha256, under its digest.
        let m: serde_json::Value = serde_json::from_slice(&a.manifest).unwrap_or_default();
        for d in [&m["config"]["digest"], &m["layers"][0]["digest"]] {
            let hex = d.as_str().unwrap_or_default().trim_start_matches("sha256:");
            let bytes = std::fs::read(l.path().join("blobs/sha256").join(hex))
                .map_err(|e| OciError::Config(e.to_string()))?;
            assert_eq!(Digest::of(&bytes).hex(), hex);
        }
        // A name that is not a ref name is not used as one.
        l.write_generated_image("not a ref name")?;
        assert!(
            l.entries()?
                .iter()
                .any(|d| !d.annotations.contains_key(ANNOTATION_REF_NAME))
        );
        Ok(())
    }

    #[test]
    fn tags_are_ref_names_and_retagging_replaces() -> Result<(), OciError> {
        let (_d, l) = layout()?;
        let repo = l.repository();
        rt().block_on(async {
            let layer = descriptor("text/plain", b"one", BTreeMap::new());
            let (m1, c1) = legacy_manifest(&[layer]);
            l.push_blob(&repo, b"one").await?;
            l.push_blob(&repo, &c1).await?;
            let d1 = l.push_manifest(&repo, "v1", &m1, OCI_MANIFEST).await?;
            assert_eq!(l.resolve_tag("v1")?, Some(d1.clone()));
            let got = l.manifest(&repo, "v1").await?.map(|f| (f.bytes, f.digest));
            assert_eq!(got, Some((m1.clone(), d1.clone())));
            // By digest too, with its media type.
            let by_digest = l.manifest(&repo, d1.as_str()).await?;
            assert_eq!(
                by_digest.and_then(|f| f.media_type).as_deref(),
                Some(OCI_MANIFEST)
            );
            // Re-tag: one entry for v1, pointing at the new manifest.
            let (m2, c2) = legacy_manifest(&[]);
            l.push_blob(&repo, &c2).await?;
            let d2 = l.push_manifest(&repo, "v1", &m2, OCI_MANIFEST).await?;
            assert_eq!(l.resolve_tag("v1")?, Some(d2));
            assert_eq!(l.entries()?.len(), 1);
            assert!(l.manifest(&repo, "v2").await?.is_none());
            // By digest: must match; listed once.
            let bad = l.push_manifest(&repo, d1.as_str(), &m2, OCI_MANIFEST).await;
            assert!(matches!(bad, Err(OciError::DigestMismatch { .. })));
            l.push_manifest(&repo, d1.as_str(), &m1, OCI_MANIFEST)
                .await?;
            l.push_manifest(&repo, d1.as_str(), &m1, OCI_MANIFEST)
                .await?;
            assert_eq!(l.entries()?.len(), 2);
            assert!(matches!(
                l.push_manifest(&repo, "bad tag", &m1, OCI_MANIFEST).await,
                Err(OciError::InvalidReference { .. })
            ));
            Ok::<_, OciError>(())
        })
    }

    #[test]
    fn blobs_are_checked_against_their_digest() -> Result<(), OciError> {
        let (_d, l) = layout()?;
        let repo = l.repository();
        rt().block_on(async {
            let d = l.push_blob(&repo, b"content").await?;
            let desc = descriptor("text/plain", b"content", BTreeMap::new());
            assert_eq!(l.blob(&repo, &desc, 1024).await?, b"content");
            assert!(matches!(
                l.blob(&repo, &desc, 3).await,
                Err(OciError::TooLarge { .. })
            ));
            std::fs::write(l.path().join("blobs/sha256").join(d.hex()), b"CONTENT")
                .map_err(|e| OciError::Config(e.to_string()))?;
            assert!(matches!(
                l.blob(&repo, &desc, 1024).await,
                Err(OciError::DigestMismatch { .. })
            ));
            let absent = descriptor("text/plain", b"absent", BTreeMap::new());
            assert!(l.blob(&repo, &absent, 1024).await.is_err());
            Ok::<_, OciError>(())
        })
    }

    #[test]
    fn publishing_writes_att_and_referrers_and_discovery_finds_them() -> Result<(), OciError> {
        let (_d, l) = layout()?;
        let image = l.image_ref(l.write_generated_image("app")?);
        let repo = l.repository();
        rt().block_on(async {
            let tag = attestation_tag(&image.digest);
            for (i, envelope) in [b"envelope-1".as_slice(), b"envelope-2", b"envelope-1"]
                .iter()
                .enumerate()
            {
                let w = add_legacy_layer(
                    &l,
                    &repo,
                    &image.digest,
                    &tag,
                    DSSE_ENVELOPE,
                    envelope,
                    BTreeMap::new(),
                )
                .await?;
                assert_eq!(w.added, i < 2, "{w:?}");
                assert_eq!(w.layers, i.min(1) + 1);
            }
            // The .att tag carries cosign's kind.
            let att = l
                .entries()?
                .into_iter()
                .find(|d| d.annotations.get(ANNOTATION_REF_NAME) == Some(&tag));
            assert_eq!(
                att.map(|d| d.annotations[ANNOTATION_KIND].clone())
                    .as_deref(),
                Some(KIND_ATTESTATIONS)
            );
            // A referrer, found through the referrers "API"; again: not added.
            let signed = Digest::of(b"envelope-1");
            let w = publish_referrer(&l, &repo, &image, b"{}", Some("p"), &signed).await?;
            assert!(w.added && !w.fallback_tag, "{w:?}");
            let again = publish_referrer(&l, &repo, &image, b"{}", Some("p"), &signed).await?;
            assert!(!again.added, "{again:?}");
            let listed = l.referrers(&repo, &image.digest).await?.unwrap_or_default();
            let listed = ImageIndex::from_json("referrers", &listed)?.manifests;
            assert_eq!(listed.len(), 1);
            assert_eq!(
                listed[0].artifact_type.as_deref(),
                Some(crate::oci::manifest::SIGSTORE_BUNDLE_V03)
            );
            let other = Digest::of(b"other image");
            let none = l.referrers(&repo, &other).await?.unwrap_or_default();
            assert!(
                ImageIndex::from_json("referrers", &none)?
                    .manifests
                    .is_empty()
            );
            Ok::<_, OciError>(())
        })
    }

    #[test]
    fn layout_references() -> Result<(), OciError> {
        let hex = "ab".repeat(32);
        let (p, d) = parse_reference(&format!("oci-layout:/tmp/x@y/out@sha256:{hex}"))?
            .unwrap_or_else(|| panic!("parsed"));
        assert_eq!(p, PathBuf::from("/tmp/x@y/out"));
        assert_eq!(d.hex(), hex);
        assert!(parse_reference("registry.example/app@sha256:00")?.is_none());
        assert!(parse_reference("oci-layout:/tmp/x").is_err());
        assert!(parse_reference(&format!("oci-layout:@sha256:{hex}")).is_err());
        assert!(parse_reference("oci-layout:/tmp/x@sha256:zz").is_err());
        assert!(is_ref_name("sha256-ab.att") && is_ref_name("reg:5000/a/b:v1"));
        assert!(!is_ref_name("") && !is_ref_name("a b") && !is_ref_name("-a"));
        Ok(())
    }
}
