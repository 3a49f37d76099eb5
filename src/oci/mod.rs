//! OCI registries: reading what cosign, Tekton Chains and hallmark store beside an image.
//!
//! - [`reference`](mod@reference): image references and digests, parsed into typed values.
//! - [`manifest`]: manifests, indexes, descriptors and the media types and annotations of
//!   cosign's legacy layout and of Sigstore referrer bundles (pure).
//! - [`cosign`]: a legacy `.att` layer (DSSE envelope plus annotations) as a Sigstore
//!   bundle, so one verifier handles both layouts (pure).
//! - [`client`]: [`client::RegistryClient`], the HTTP client (rustls, docker credentials,
//!   basic and bearer-token auth, extra CAs, plain HTTP only for insecure registries).
//! - [`discover`]: finds an image's attestations through the [`Fetcher`] seam: OCI 1.1
//!   referrers (or the `sha256-<hex>` fallback tag) and the legacy `sha256-<hex>.att` tag.
//! - [`image_layout`]: an OCI image layout directory behind the same seams (the
//!   controller's embedded mode; `hallmark verify oci-layout:PATH@sha256:<hex>`).
//! - [`layout`]: the manifests, configs and indexes hallmark writes (pure).
//! - [`write`](mod@write): publishing through the [`Pusher`] seam: legacy layers (read-modify-write,
//!   serialized per image) and referrer bundles with the fallback index.
//!
//! Everything read from a registry is size-limited and checked against its digest before
//! it is parsed.

pub mod client;
pub mod cosign;
pub mod discover;
pub mod image_layout;
pub mod layout;
pub mod manifest;
pub mod reference;
pub mod write;

use std::future::Future;

pub use client::{RegistryClient, RegistryOptions};
pub use discover::{Discovery, FoundAttestation, Location, find_attestations};
pub use reference::{Digest, ImageRef, Repository};

use manifest::Descriptor;

/// Errors reading from or writing to a registry.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OciError {
    /// The image reference is malformed.
    #[error("invalid image reference `{reference}`: {reason}")]
    InvalidReference {
        /// The reference as given.
        reference: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A digest is not `sha256:<64 lowercase hex>`.
    #[error("invalid digest `{0}` (expected sha256:<64 lowercase hex>)")]
    InvalidDigest(String),
    /// Content from the registry does not parse as what it should be.
    #[error("{what}: {reason}")]
    Malformed {
        /// What was read.
        what: String,
        /// Why it is refused.
        reason: String,
    },
    /// Content is larger than hallmark reads.
    #[error("{what} is larger than {limit} bytes")]
    TooLarge {
        /// What was read.
        what: String,
        /// The limit.
        limit: usize,
    },
    /// Content does not hash to the digest it was asked for.
    #[error("{what}: content has digest {actual}, expected {expected}")]
    DigestMismatch {
        /// What was read.
        what: String,
        /// The digest asked for.
        expected: String,
        /// The digest of what came back.
        actual: String,
    },
    /// The request failed before an HTTP status (connection, TLS, timeout).
    #[error("registry {registry}: request to {url} failed")]
    Request {
        /// The registry.
        registry: String,
        /// The URL.
        url: String,
        /// The HTTP client's error.
        #[source]
        source: reqwest::Error,
    },
    /// The registry answered with an unexpected HTTP status.
    #[error("registry {registry}: {url} answered HTTP {status}{}", if message.is_empty() { String::new() } else { format!(": {message}") })]
    Status {
        /// The registry.
        registry: String,
        /// The URL.
        url: String,
        /// The HTTP status.
        status: u16,
        /// The start of the response body.
        message: String,
    },
    /// The registry refused the credentials (or there were none).
    #[error("registry {registry}: {url} answered HTTP {status} (unauthorized){}", if *has_credentials { "; the credentials were refused" } else { "; no credentials for this registry (docker login, or $DOCKER_CONFIG/config.json)" })]
    Unauthorized {
        /// The registry.
        registry: String,
        /// The URL.
        url: String,
        /// 401 or 403.
        status: u16,
        /// Whether credentials were sent.
        has_credentials: bool,
    },
    /// The bearer-token flow failed.
    #[error("registry {registry}: getting a token: {reason}")]
    Token {
        /// The registry.
        registry: String,
        /// What went wrong.
        reason: String,
    },
    /// Reading docker credentials failed.
    #[error("reading docker credentials for {registry}: {reason}")]
    Credentials {
        /// The registry.
        registry: String,
        /// What went wrong.
        reason: String,
    },
    /// The client configuration is unusable (e.g. an unreadable CA file).
    #[error("registry client configuration: {0}")]
    Config(String),
    /// Reading or writing an OCI image layout directory failed.
    #[error("OCI image layout {path}: {what}")]
    Layout {
        /// The layout's directory.
        path: String,
        /// What was being done.
        what: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

impl OciError {
    /// Whether retrying later may succeed (network trouble, 5xx, 429).
    #[must_use]
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Request { source, .. } => {
                source.is_timeout() || source.is_connect() || source.is_request()
            }
            Self::Status { status, .. } => *status >= 500 || *status == 429 || *status == 408,
            Self::Token { .. } => true,
            _ => false,
        }
    }
}

/// What a manifest read returns.
#[derive(Clone, Debug)]
pub struct Fetched {
    /// The manifest bytes, exactly as served.
    pub bytes: Vec<u8>,
    /// Their digest (checked against the digest asked for, or the registry's header).
    pub digest: Digest,
    /// The Content-Type the registry gave.
    pub media_type: Option<String>,
}

/// Reading from a registry: the seam between discovery and HTTP. Implemented by
/// [`RegistryClient`]; tests may implement it over fixtures.
pub trait Fetcher: Send + Sync {
    /// Read a manifest by tag or digest. `Ok(None)` when the registry has none (404).
    ///
    /// # Errors
    ///
    /// [`OciError`] for transport errors, other statuses, oversized or mismatching content.
    fn manifest(
        &self,
        repo: &Repository,
        reference: &str,
    ) -> impl Future<Output = Result<Option<Fetched>, OciError>> + Send;

    /// Read a blob, at most `limit` bytes, checked against the descriptor's digest.
    ///
    /// # Errors
    ///
    /// [`OciError`] for transport errors, statuses other than 200 (404 included), oversized
    /// or mismatching content.
    fn blob(
        &self,
        repo: &Repository,
        descriptor: &Descriptor,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<u8>, OciError>> + Send;

    /// Ask the OCI 1.1 referrers API for the manifests that refer to `subject`.
    /// `Ok(None)` when the registry has no referrers API (404); the caller then reads the
    /// fallback tag.
    ///
    /// # Errors
    ///
    /// [`OciError`] for transport errors, other statuses and oversized answers.
    fn referrers(
        &self,
        repo: &Repository,
        subject: &Digest,
    ) -> impl Future<Output = Result<Option<Vec<u8>>, OciError>> + Send;

    /// The repository's tags (`GET /v2/<name>/tags/list`, following `Link` pagination),
    /// at most `limit`; tags that are not valid tag names are dropped. An unknown
    /// repository has none. The default lists none: a fetcher without a tag list.
    ///
    /// # Errors
    ///
    /// [`OciError`] for transport errors, other statuses, oversized or malformed answers.
    fn tags(
        &self,
        repo: &Repository,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<String>, OciError>> + Send {
        let _ = (repo, limit);
        std::future::ready(Ok(Vec::new()))
    }
}

/// Writing to a registry: the seam between publishing and HTTP.
pub trait Pusher: Fetcher {
    /// Upload a blob (monolithic), unless the repository already has it.
    ///
    /// # Errors
    ///
    /// [`OciError`] naming the registry and HTTP status.
    fn push_blob(
        &self,
        repo: &Repository,
        bytes: &[u8],
    ) -> impl Future<Output = Result<Digest, OciError>> + Send;

    /// Upload a blob that the repository most likely does not have yet (fresh content: a
    /// new envelope, bundle or config), without asking first. Uploading a blob the
    /// repository already has is harmless; the default is [`Pusher::push_blob`].
    ///
    /// # Errors
    ///
    /// [`OciError`] naming the registry and HTTP status.
    fn push_new_blob(
        &self,
        repo: &Repository,
        bytes: &[u8],
    ) -> impl Future<Output = Result<Digest, OciError>> + Send {
        self.push_blob(repo, bytes)
    }

    /// Store a manifest under a tag or its digest.
    ///
    /// # Errors
    ///
    /// [`OciError`] naming the registry and HTTP status.
    fn push_manifest(
        &self,
        repo: &Repository,
        reference: &str,
        bytes: &[u8],
        media_type: &str,
    ) -> impl Future<Output = Result<Digest, OciError>> + Send;
}
