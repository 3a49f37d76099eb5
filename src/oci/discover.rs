//! Finding an image's attestations: OCI 1.1 referrers (the referrers API, or the
//! `sha256-<hex>` fallback tag on registries without it) and cosign's legacy
//! `sha256-<hex>.att` tag. Both are read through the [`Fetcher`] seam.
//!
//! A registry that cannot be read (network, 5xx, refused credentials) is an error: the
//! caller cannot decide. An attestation that is there but malformed is kept as `skipped`
//! with its reason, so a report can say why it did not count.

use super::cosign::legacy_layer_bundle;
use super::manifest::{
    DSSE_ENVELOPE, ImageIndex, ImageManifest, SIGSTORE_BUNDLE_PREFIX, attestation_tag,
    referrers_fallback_tag,
};
use super::reference::{Digest, ImageRef};
use super::{Fetcher, OciError};
use crate::bundle::Bundle;
use futures::StreamExt as _;

/// The largest attestation (envelope or bundle) hallmark reads: 64 MiB.
pub const MAX_ATTESTATION_BYTES: usize = 64 << 20;

/// Where an attestation was found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Location {
    /// A referrer manifest (Sigstore bundle), listed by the referrers API or under the
    /// fallback tag.
    Referrer {
        /// The referrer manifest's digest.
        manifest: Digest,
        /// Listed under the `sha256-<hex>` fallback tag (registry without the API).
        fallback_tag: bool,
    },
    /// A layer of cosign's legacy `.att` manifest.
    LegacyAtt {
        /// The tag (`sha256-<hex>.att`).
        tag: String,
        /// The layer's position.
        layer: usize,
        /// The layer's digest.
        digest: String,
    },
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Referrer {
                manifest,
                fallback_tag: false,
            } => write!(f, "referrer {manifest}"),
            Self::Referrer {
                manifest,
                fallback_tag: true,
            } => write!(f, "referrer {manifest} (fallback tag)"),
            Self::LegacyAtt { tag, layer, .. } => write!(f, "{tag} layer {layer}"),
        }
    }
}

/// An attestation found beside an image, as a bundle.
#[derive(Clone, Debug)]
pub struct FoundAttestation {
    /// Where it was found.
    pub location: Location,
    /// The attestation (legacy layers are converted to v0.1 bundles).
    pub bundle: Bundle,
}

/// Everything found beside an image.
#[derive(Clone, Debug, Default)]
pub struct Discovery {
    /// Attestations that parsed.
    pub found: Vec<FoundAttestation>,
    /// Attestations that were there but could not be read, with the reason.
    pub skipped: Vec<(Location, String)>,
    /// Whether the registry answered the referrers API (false: the fallback tag was read).
    pub referrers_api: bool,
}

/// How many manifests or layers [`find_attestations`] fetches at once.
const FETCH_CONCURRENCY: usize = 8;

/// Find the attestations of `image` in its repository.
///
/// # Errors
///
/// [`OciError`] when the registry cannot be read; malformed attestations are reported in
/// [`Discovery::skipped`] instead.
pub async fn find_attestations<F: Fetcher>(
    fetcher: &F,
    image: &ImageRef,
) -> Result<Discovery, OciError> {
    let repo = &image.repository;
    let mut out = Discovery::default();

    // 1. OCI 1.1 referrers.
    let (index_bytes, fallback_tag) = match fetcher.referrers(repo, &image.digest).await? {
        Some(bytes) => {
            out.referrers_api = true;
            (Some(bytes), false)
        }
        None => {
            let tag = referrers_fallback_tag(&image.digest);
            (fetcher.manifest(repo, &tag).await?.map(|f| f.bytes), true)
        }
    };
    if let Some(bytes) = index_bytes {
        let what = if fallback_tag {
            format!(
                "referrers fallback tag {}",
                referrers_fallback_tag(&image.digest)
            )
        } else {
            format!("referrers of {image}")
        };
        let index = ImageIndex::from_json(&what, &bytes)?;
        let mut wanted = Vec::new();
        for entry in index.manifests {
            let is_bundle = entry
                .artifact_type
                .as_deref()
                .is_some_and(|t| t.starts_with(SIGSTORE_BUNDLE_PREFIX));
            if !is_bundle {
                continue;
            }
            match entry.sha256() {
                Ok(d) => wanted.push(d),
                Err(e) => out.skipped.push((
                    Location::LegacyAtt {
                        tag: what.clone(),
                        layer: 0,
                        digest: entry.digest.clone(),
                    },
                    e.to_string(),
                )),
            }
        }
        // Read the referrers a few at a time, keeping their order.
        let read: Vec<_> = futures::stream::iter(wanted.iter())
            .map(|manifest| read_referrer(fetcher, image, manifest))
            .buffered(FETCH_CONCURRENCY)
            .collect()
            .await;
        for (manifest, result) in wanted.into_iter().zip(read) {
            let location = Location::Referrer {
                manifest,
                fallback_tag,
            };
            match result {
                Ok(Ok(bundle)) => out.found.push(FoundAttestation { location, bundle }),
                Ok(Err(reason)) => out.skipped.push((location, reason)),
                Err(e) if is_content_error(&e) => out.skipped.push((location, e.to_string())),
                Err(e) => return Err(e),
            }
        }
    }

    // 2. cosign's legacy .att tag.
    let tag = attestation_tag(&image.digest);
    if let Some(fetched) = fetcher.manifest(repo, &tag).await? {
        let manifest = ImageManifest::from_json(&format!("manifest {repo}:{tag}"), &fetched.bytes)?;
        let mut envelopes = Vec::new();
        for (i, layer) in manifest.layers.iter().enumerate() {
            let location = Location::LegacyAtt {
                tag: tag.clone(),
                layer: i,
                digest: layer.digest.clone(),
            };
            if layer.media_type == DSSE_ENVELOPE {
                envelopes.push((location, layer));
            } else {
                out.skipped.push((
                    location,
                    format!(
                        "layer media type {} is not a DSSE envelope",
                        layer.media_type
                    ),
                ));
            }
        }
        // Fetch the layers a few at a time, keeping their order.
        let blobs: Vec<_> = futures::stream::iter(envelopes.iter())
            .map(|(_, layer)| fetcher.blob(repo, layer, MAX_ATTESTATION_BYTES))
            .buffered(FETCH_CONCURRENCY)
            .collect()
            .await;
        for ((location, layer), blob) in envelopes.into_iter().zip(blobs) {
            let blob = match blob {
                Ok(b) => b,
                Err(e) if is_content_error(&e) => {
                    out.skipped.push((location, e.to_string()));
                    continue;
                }
                Err(e) => return Err(e),
            };
            match legacy_layer_bundle(layer, &blob) {
                Ok(bundle) => out.found.push(FoundAttestation { location, bundle }),
                Err(e) => out.skipped.push((location, e.to_string())),
            }
        }
    }
    Ok(out)
}

/// Errors about one attestation's content (not about reaching the registry).
fn is_content_error(e: &OciError) -> bool {
    matches!(
        e,
        OciError::Malformed { .. }
            | OciError::TooLarge { .. }
            | OciError::DigestMismatch { .. }
            | OciError::InvalidDigest(_)
    )
}

/// Read one referrer manifest and its bundle layer. The inner `Err` is a reason to skip it.
async fn read_referrer<F: Fetcher>(
    fetcher: &F,
    image: &ImageRef,
    manifest_digest: &Digest,
) -> Result<Result<Bundle, String>, OciError> {
    let repo = &image.repository;
    let Some(fetched) = fetcher.manifest(repo, manifest_digest.as_str()).await? else {
        return Ok(Err(
            "listed as a referrer, but the manifest is missing (404)".into(),
        ));
    };
    let manifest =
        ImageManifest::from_json(&format!("referrer {manifest_digest}"), &fetched.bytes)?;
    if let Some(subject) = &manifest.subject {
        if subject.digest != image.digest.as_str() {
            return Ok(Err(format!(
                "its subject is {}, not {}",
                subject.digest, image.digest
            )));
        }
    } else {
        return Ok(Err("the referrer manifest has no subject".into()));
    }
    let Some(layer) = manifest
        .layers
        .iter()
        .find(|l| l.media_type.starts_with(SIGSTORE_BUNDLE_PREFIX))
    else {
        return Ok(Err(
            "the referrer manifest has no Sigstore bundle layer".into()
        ));
    };
    let blob = fetcher.blob(repo, layer, MAX_ATTESTATION_BYTES).await?;
    Ok(Bundle::from_json(&blob).map_err(|e| format!("the bundle does not parse: {e}")))
}
