//! Image references: `[REGISTRY/]REPOSITORY[:TAG]@sha256:HEX`, parsed into typed values.
//!
//! The grammar follows the distribution reference rules that cosign and crane use: the
//! first path component is a registry when it contains a `.` or a `:` or is `localhost`;
//! otherwise the registry is Docker Hub and a one-component name gains `library/`.

use std::fmt;

use super::OciError;

/// Docker Hub's name in references, and the host its API is served from.
pub const DOCKER_HUB: &str = "docker.io";
const DOCKER_HUB_API: &str = "registry-1.docker.io";

/// A SHA-256 content digest (`sha256:` and 64 lowercase hex digits).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest(String);

impl Digest {
    /// Parse `sha256:<64 lowercase hex>`.
    ///
    /// # Errors
    ///
    /// [`OciError::InvalidDigest`] for any other algorithm or form.
    pub fn parse(s: &str) -> Result<Self, OciError> {
        let hex = s
            .strip_prefix("sha256:")
            .ok_or_else(|| OciError::InvalidDigest(s.to_owned()))?;
        if hex.len() == 64
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            Ok(Self(s.to_owned()))
        } else {
            Err(OciError::InvalidDigest(s.to_owned()))
        }
    }

    /// The digest of `bytes`.
    #[must_use]
    pub fn of(bytes: &[u8]) -> Self {
        use sha2::Digest as _;
        Self(format!(
            "sha256:{}",
            hex::encode(sha2::Sha256::digest(bytes))
        ))
    }

    /// The 64 hex digits.
    #[must_use]
    pub fn hex(&self) -> &str {
        &self.0["sha256:".len()..]
    }

    /// The raw 32 bytes.
    #[must_use]
    pub fn bytes(&self) -> [u8; 32] {
        let mut out = [0u8; 32];
        // Checked at construction: 64 lowercase hex digits.
        if hex::decode_to_slice(self.hex(), &mut out).is_err() {
            out = [0u8; 32];
        }
        out
    }

    /// `sha256:<hex>`.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// cosign's legacy tag prefix for this digest: `sha256-<hex>` (also the OCI referrers
    /// fallback tag).
    #[must_use]
    pub fn tag_prefix(&self) -> String {
        self.0.replacen(':', "-", 1)
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A repository in a registry.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Repository {
    /// The registry as written in references (`host[:port]`, `docker.io` for Docker Hub).
    pub registry: String,
    /// The repository path (`library/alpine`, `team/app`).
    pub name: String,
}

impl Repository {
    /// The host (and port) the registry API is served from.
    #[must_use]
    pub fn api_host(&self) -> &str {
        if self.registry == DOCKER_HUB {
            DOCKER_HUB_API
        } else {
            &self.registry
        }
    }
}

impl fmt::Display for Repository {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.name)
    }
}

/// An image pinned by digest: `REGISTRY/REPOSITORY@sha256:HEX`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ImageRef {
    /// Where the image lives.
    pub repository: Repository,
    /// The image manifest's digest.
    pub digest: Digest,
}

impl ImageRef {
    /// Parse an image reference that names a digest (`name@sha256:...`; a tag before the
    /// digest is allowed and ignored, as in cosign).
    ///
    /// # Errors
    ///
    /// [`OciError::InvalidReference`] when the reference is malformed or has no digest (a
    /// tag alone can move between resolving and verifying, so it is refused).
    pub fn parse(reference: &str) -> Result<Self, OciError> {
        let bad = |reason: &str| OciError::InvalidReference {
            reference: reference.to_owned(),
            reason: reason.to_owned(),
        };
        let (name, digest) = reference
            .split_once('@')
            .ok_or_else(|| bad("no digest: write IMAGE@sha256:<hex> (a tag can move)"))?;
        let digest = Digest::parse(digest)
            .map_err(|_| bad("the digest is not sha256:<64 lowercase hex>"))?;
        let repository = parse_name(name).map_err(|r| bad(&r))?;
        Ok(Self { repository, digest })
    }

    /// The same repository with another digest.
    #[must_use]
    pub fn with_digest(&self, digest: Digest) -> Self {
        Self {
            repository: self.repository.clone(),
            digest,
        }
    }
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.repository, self.digest)
    }
}

/// `[REGISTRY/]PATH[:TAG]` → repository (the tag is dropped).
fn parse_name(name: &str) -> Result<Repository, String> {
    if name.is_empty() {
        return Err("empty image name".into());
    }
    let (registry, path) = match name.split_once('/') {
        Some((first, rest))
            if first.contains('.') || first.contains(':') || first == "localhost" =>
        {
            (first.to_owned(), rest)
        }
        _ => (DOCKER_HUB.to_owned(), name),
    };
    if registry.is_empty()
        || registry
            .chars()
            .any(|c| !(c.is_ascii_alphanumeric() || ".-:[]".contains(c)))
    {
        return Err(format!("invalid registry `{registry}`"));
    }
    // A tag is the part after the last ':' of the last path component.
    let path = match path.rsplit_once(':') {
        Some((p, tag)) if !tag.contains('/') => {
            if tag.is_empty()
                || tag.len() > 128
                || !tag
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
            {
                return Err(format!("invalid tag `{tag}`"));
            }
            p
        }
        _ => path,
    };
    for component in path.split('/') {
        let ok = !component.is_empty()
            && component
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c))
            && component.starts_with(|c: char| c.is_ascii_alphanumeric())
            && component.ends_with(|c: char| c.is_ascii_alphanumeric());
        if !ok {
            return Err(format!(
                "invalid repository path component `{component}` (lowercase letters, digits and . _ - only)"
            ));
        }
    }
    let name = if registry == DOCKER_HUB && !path.contains('/') {
        format!("library/{path}")
    } else {
        path.to_owned()
    };
    Ok(Repository { registry, name })
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fn parse(s: &str) -> Result<ImageRef, OciError> {
        ImageRef::parse(s)
    }

    #[test]
    fn registries_and_docker_hub() -> Result<(), OciError> {
        let r = parse(&format!("127.0.0.1:15000/smoke/img@{D}"))?;
        assert_eq!(r.repository.registry, "127.0.0.1:15000");
        assert_eq!(r.repository.name, "smoke/img");
        assert_eq!(r.digest.as_str(), D);
        let r = parse(&format!("alpine@{D}"))?;
        assert_eq!(r.repository.registry, "docker.io");
        assert_eq!(r.repository.name, "library/alpine");
        assert_eq!(r.repository.api_host(), "registry-1.docker.io");
        let r = parse(&format!("team/app:v1@{D}"))?;
        assert_eq!(r.repository.name, "team/app");
        let r = parse(&format!("localhost/app:1.0@{D}"))?;
        assert_eq!(r.repository.registry, "localhost");
        assert_eq!(r.to_string(), format!("localhost/app@{D}"));
        assert_eq!(
            r.digest.tag_prefix(),
            "sha256-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
        );
        Ok(())
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            "ghcr.io/app:latest".to_owned(),
            "ghcr.io/app@sha256:abc".to_owned(),
            format!("ghcr.io/App@{D}"),
            format!("ghcr.io//app@{D}"),
            format!("@{D}"),
            format!("ghcr.io/app@{}", D.to_uppercase()),
            format!("ghcr.io/app:@{D}"),
            format!("ghcr.io/app@sha512:{}", "00".repeat(64)),
        ] {
            assert!(parse(&bad).is_err(), "{bad} must be rejected");
        }
    }
}
