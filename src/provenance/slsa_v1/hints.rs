//! Chains' type hinting, as the SLSA v1 formats read it: which results name images,
//! artifacts, inputs and outputs, and how their digests and image names are parsed
//! (`go-containerregistry` naming rules and `go-digest` validation).

use crate::tekton::{ParamValue, RunResult};
use std::collections::BTreeMap;

/// Result-name suffix of structured inputs.
pub(crate) const ARTIFACT_INPUTS: &str = "ARTIFACT_INPUTS";
/// Result-name suffix of structured outputs.
pub(crate) const ARTIFACT_OUTPUTS: &str = "ARTIFACT_OUTPUTS";
/// Result-name suffix of an image URL.
pub(crate) const IMAGE_URL: &str = "IMAGE_URL";
/// Result-name suffix of an image digest.
pub(crate) const IMAGE_DIGEST: &str = "IMAGE_DIGEST";
/// Result name of a list of images.
pub(crate) const IMAGES: &str = "IMAGES";
/// The type-hinted git commit parameter/result.
pub(crate) const COMMIT_PARAM: &str = "CHAINS-GIT_COMMIT";
/// The type-hinted git URL parameter/result.
pub(crate) const URL_PARAM: &str = "CHAINS-GIT_URL";

/// A `{uri, digest}` pair read from results.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Signable {
    pub(crate) uri: String,
    pub(crate) digest: String,
}

/// Chains' `ParseDigest`: `alg:hex` with a supported algorithm and a valid hex part.
/// Returns the lowercased, trimmed algorithm and the trimmed hex.
pub(crate) fn parse_digest(dig: &str) -> Option<(String, String)> {
    let parts: Vec<&str> = dig.split(':').collect();
    let [alg, hex] = parts.as_slice() else {
        return None;
    };
    let alg = alg.trim().to_lowercase();
    let hex = hex.trim();
    let len = match alg.as_str() {
        "sha256" => 64,
        "sha384" => 96,
        "sha512" => 128,
        "sha1" => 40,
        _ => return None,
    };
    (hex.len() == len && is_lower_hex(hex)).then(|| (alg, hex.to_owned()))
}

fn is_lower_hex(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Chains' `IsBuildArtifact`: `Ok(true)` for a valid `*ARTIFACT_OUTPUTS` object marked
/// `isBuildArtifact: "true"`; `Err` when such a result is malformed.
pub(crate) fn is_build_artifact(r: &RunResult) -> Result<bool, ()> {
    if !r.name.ends_with(ARTIFACT_OUTPUTS) {
        return Ok(false);
    }
    let obj = r.value.as_object().ok_or(())?;
    if obj.get("isBuildArtifact").map(String::as_str) != Some("true") {
        return Ok(false);
    }
    valid_artifact(obj).map(|()| true)
}

fn valid_artifact(obj: &BTreeMap<String, String>) -> Result<(), ()> {
    let uri = obj.get("uri").map_or("", String::as_str);
    let digest = obj.get("digest").map_or("", String::as_str);
    if uri.is_empty() || digest.is_empty() || parse_digest(digest).is_none() {
        return Err(());
    }
    Ok(())
}

fn signable_of(obj: &BTreeMap<String, String>) -> Signable {
    Signable {
        uri: obj.get("uri").cloned().unwrap_or_default(),
        digest: obj.get("digest").cloned().unwrap_or_default(),
    }
}

/// Chains' `ExtractBuildArtifactsFromResults`.
pub(crate) fn build_artifacts<'a>(
    results: impl IntoIterator<Item = &'a RunResult>,
) -> Vec<Signable> {
    results
        .into_iter()
        .filter(|r| is_build_artifact(r) == Ok(true))
        .filter_map(|r| r.value.as_object().map(signable_of))
        .collect()
}

/// Chains' `ExtractStructuredTargetFromResults` for a category suffix.
pub(crate) fn structured_targets<'a>(
    results: impl IntoIterator<Item = &'a RunResult>,
    suffix: &str,
) -> Vec<Signable> {
    results
        .into_iter()
        .filter(|r| r.name.ends_with(suffix))
        .filter_map(|r| r.value.as_object())
        .filter(|obj| valid_artifact(obj).is_ok())
        .map(signable_of)
        .collect()
}

/// Chains' `RetrieveMaterialsFromStructuredResults`: `*ARTIFACT_INPUTS` as `(uri, alg, hex)`.
pub(crate) fn structured_inputs<'a>(
    results: impl IntoIterator<Item = &'a RunResult>,
) -> Vec<(String, String, String)> {
    structured_targets(results, ARTIFACT_INPUTS)
        .into_iter()
        .filter_map(|s| parse_digest(&s.digest).map(|(alg, hex)| (s.uri, alg, hex)))
        .collect()
}

/// Chains' structured-signable extractor: pairs results `<marker><uri_suffix>` and
/// `<marker><digest_suffix>` (trimmed, non-empty string values) by marker.
fn paired<'a>(
    results: impl IntoIterator<Item = &'a RunResult>,
    uri_suffix: &str,
    digest_suffix: &str,
) -> Vec<Signable> {
    // Chains: the pairs live in a Go map and come out in random order; hallmark sorts
    // them by marker.
    let mut partials: BTreeMap<&str, Signable> = BTreeMap::new();
    for r in results {
        for (suffix, is_uri) in [(uri_suffix, true), (digest_suffix, false)] {
            let Some(marker) = r.name.strip_suffix(suffix) else {
                continue;
            };
            let value = r.value.as_str().trim();
            if value.is_empty() {
                continue;
            }
            let entry = partials.entry(marker).or_insert_with(|| Signable {
                uri: String::new(),
                digest: String::new(),
            });
            if is_uri {
                entry.uri = value.to_owned();
            } else {
                entry.digest = value.to_owned();
            }
        }
    }
    partials
        .into_values()
        .filter(|s| !s.uri.is_empty() && !s.digest.is_empty())
        .collect()
}

/// Chains' `ExtractSignableTargetFromResults`: `*ARTIFACT_URI` / `*ARTIFACT_DIGEST` pairs
/// with a valid digest.
pub(crate) fn signable_targets<'a>(
    results: impl IntoIterator<Item = &'a RunResult>,
) -> Vec<Signable> {
    paired(results, "ARTIFACT_URI", "ARTIFACT_DIGEST")
        .into_iter()
        .filter(|s| parse_digest(&s.digest).is_some())
        .collect()
}

/// An image reference by digest, as `go-containerregistry`'s `name.Digest`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ImageDigest {
    /// `Repository.Name()`: registry and repository, normalized.
    pub(crate) repository: String,
    /// The hex part of the `sha256:` digest.
    pub(crate) sha256: String,
}

/// Chains' `ExtractOCIImagesFromResults`: `*IMAGE_URL`/`*IMAGE_DIGEST` pairs, `IMAGES`
/// lists and image-shaped build artifacts, first occurrence of each image kept.
pub(crate) fn oci_images(results: &[&RunResult]) -> Vec<ImageDigest> {
    let mut seen = Vec::<String>::new();
    let mut out = Vec::new();
    let mut push = |d: ImageDigest| {
        let key = format!("{}@sha256:{}", d.repository, d.sha256);
        if !seen.contains(&key) {
            seen.push(key);
            out.push(d);
        }
    };
    for s in paired(results.iter().copied(), IMAGE_URL, IMAGE_DIGEST) {
        if let Some(d) = new_digest(&format!("{}@{}", s.uri, s.digest)) {
            push(d);
        }
    }
    for r in results.iter().filter(|r| r.name == IMAGES) {
        for img in r.value.as_str().split([',', '\n']) {
            let img = img.trim();
            if img.is_empty() {
                continue;
            }
            if let Some(d) = new_digest(img) {
                push(d);
            }
        }
    }
    for s in build_artifacts(results.iter().copied()) {
        if let Some(d) = new_digest(&format!("{}@{}", s.uri, s.digest)) {
            push(d);
        }
    }
    out
}

const DEFAULT_REGISTRY: &str = "index.docker.io";

/// `name.NewDigest` with default (weak) validation.
pub(crate) fn new_digest(name: &str) -> Option<ImageDigest> {
    let parts: Vec<&str> = name.split('@').collect();
    let [base, dig] = parts.as_slice() else {
        return None;
    };
    let hex = dig.strip_prefix("sha256:")?;
    if hex.len() != 64 || !is_lower_hex(hex) {
        return None;
    }
    let base = match new_tag_repository(base) {
        Some(repo) => repo,
        None => (*base).to_owned(),
    };
    let repository = new_repository(&base)?;
    Some(ImageDigest {
        repository,
        sha256: hex.to_owned(),
    })
}

/// `name.NewTag(base).Repository.Name()`.
fn new_tag_repository(name: &str) -> Option<String> {
    let parts: Vec<&str> = name.split(':').collect();
    let mut base = name.to_owned();
    if let [head @ .., last] = parts.as_slice()
        && !head.is_empty()
        && !last.contains('/')
    {
        if last.is_empty()
            || last.len() > 128
            || !last
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b))
        {
            return None;
        }
        base = head.join(":");
    }
    new_repository(&base)
}

/// `name.NewRepository(name).Name()`.
fn new_repository(name: &str) -> Option<String> {
    if name.is_empty() {
        return None;
    }
    let (mut registry, repo) = match name.split_once('/') {
        Some((reg, rest)) if reg == "localhost" || reg.contains(['.', ':']) => (reg, rest),
        _ => ("", name),
    };
    let runes = repo.chars().count();
    if !(2..=255).contains(&runes)
        || !repo
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_-./".contains(&b))
    {
        return None;
    }
    if !valid_registry(registry) {
        return None;
    }
    if registry.is_empty() || registry == "docker.io" {
        registry = DEFAULT_REGISTRY;
    }
    let repo = if !repo.contains('/') && registry == DEFAULT_REGISTRY {
        format!("library/{repo}")
    } else {
        repo.to_owned()
    };
    Some(format!("{registry}/{repo}"))
}

/// Approximates Go's `url.Parse("//"+name).Host == name`: a host, optional port, no
/// path, query, fragment or user info.
fn valid_registry(name: &str) -> bool {
    if name.is_empty() {
        return true;
    }
    if name.contains(['/', '?', '#', '@', ' ', '%']) {
        return false;
    }
    let host_ok = |h: &str| !h.is_empty() || name.starts_with(':');
    if let Some(rest) = name.strip_prefix('[') {
        // IPv6 literal, optional port.
        return match rest.split_once(']') {
            Some((_, "")) => true,
            Some((_, port)) => port
                .strip_prefix(':')
                .is_some_and(|p| p.bytes().all(|b| b.is_ascii_digit())),
            None => false,
        };
    }
    match name.rsplit_once(':') {
        Some((host, port)) => {
            host_ok(host) && !host.contains(':') && port.bytes().all(|b| b.is_ascii_digit())
        }
        None => true,
    }
}

/// Chains' `attest.SPDXGit`: `git+` prefix and `.git` suffix.
pub(crate) fn spdx_git(url: &str) -> String {
    let mut out = String::new();
    if !url.starts_with("git+") {
        out.push_str("git+");
    }
    out.push_str(url);
    if !url.ends_with(".git") {
        out.push_str(".git");
    }
    out
}

/// The string value of a parameter or result (`StringVal`).
pub(crate) fn string_val(v: &ParamValue) -> &str {
    v.as_str()
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "827521c857fdcd4374f4da5442fbae2edb01e7fbae285c3ec15673d4c1daecb7";

    #[test]
    fn image_names_like_ggcr() {
        let name = |s: &str| new_digest(&format!("{s}@sha256:{HEX}")).map(|d| d.repository);
        assert_eq!(name("abc").as_deref(), Some("index.docker.io/library/abc"));
        assert_eq!(name("gcr.io/foo/bar").as_deref(), Some("gcr.io/foo/bar"));
        assert_eq!(name("gcr.io/foo/bar:v1").as_deref(), Some("gcr.io/foo/bar"));
        assert_eq!(
            name("docker.io/foo").as_deref(),
            Some("index.docker.io/library/foo")
        );
        assert_eq!(
            name("localhost:5000/foo").as_deref(),
            Some("localhost:5000/foo")
        );
        assert_eq!(
            name("user/repo").as_deref(),
            Some("index.docker.io/user/repo")
        );
        assert_eq!(name("a"), None);
        assert_eq!(name("Upper/case"), None);
        assert_eq!(name("pkg:deb/debian/curl"), None);
        assert!(new_digest("gcr.io/foo@sha256:abc").is_none());
    }

    #[test]
    fn digests_like_chains() {
        assert_eq!(
            parse_digest(&format!("SHA256:{HEX}")),
            Some(("sha256".into(), HEX.into()))
        );
        assert_eq!(parse_digest("sha256:"), None);
        assert_eq!(parse_digest("md5:abc"), None);
        assert!(parse_digest("sha1:7f2f46e1b97df36b2b82d1b1d87c81b8b3d21601").is_some());
    }

    #[test]
    fn spdx() {
        assert_eq!(
            spdx_git("https://git.test.com"),
            "git+https://git.test.com.git"
        );
        assert_eq!(spdx_git(""), "git+.git");
        assert_eq!(spdx_git("git+https://x.git"), "git+https://x.git");
    }
}
