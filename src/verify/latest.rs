//! `hallmark verify --require-latest-of PIPELINE`: rollback protection for images.
//!
//! An image whose own attestations verify may still be an *older* build than the one the
//! pipeline produced last: a rollback. After the normal verification, this module
//!
//! 1. takes the statements of the image's accepted attestations: one must be a provenance
//!    of a run of `PIPELINE` (the `tekton.dev/pipeline` label, see
//!    [`crate::search::run_label`]), else the image is denied (not built by it);
//! 2. searches Rekor v1 for every entry of the same signer (the `--key` public key, or the
//!    certificate's email SAN) and verifies each ([`crate::search::search`]);
//! 3. finds the statement of each attestation entry: the attestation the log stored
//!    beside it (`intoto` entries), or, since `dsse` entries record only hashes, an
//!    attestation in the image's repository whose payload SHA-256 is the recorded one
//!    (tags `sha256-<hex>[.att|.sig|...]` name attested digests; other tags are resolved);
//! 4. among the statements of runs of `PIPELINE` with a subject in the same repository,
//!    takes the newest build (the provenance's finish time, else the entry's integrated
//!    time): a newer build of another digest denies the image.
//!
//! Entries newer than the image's whose statement cannot be found are reported, not
//! counted ([`Report::unread`]). The selection is pure ([`decide`]); the I/O goes through
//! the [`TransparencyLog`] and [`Fetcher`] seams ([`check`]).

use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;
use serde::Serialize;

use crate::oci::{Digest, Fetcher, ImageRef, OciError, Repository, find_attestations};
use crate::rekor::TransparencyLog;
use crate::search::{self, Filter, Hit, Query, SearchError, Statements};
use crate::trust::TrustedRoot;
use crate::verify::ArtifactRef;

/// The check's name in reports.
pub const CHECK: &str = "require-latest-of";
/// The Tekton label naming a run's pipeline.
pub const PIPELINE_LABEL: &str = "tekton.dev/pipeline";
/// The most tags of the image's repository read.
pub const MAX_TAGS: usize = 1000;
/// The most digests of the image's repository whose attestations are read.
pub const MAX_CANDIDATES: usize = 256;

/// Errors of the rollback check; all make the decision an error (exit 2), never a pass.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LatestError {
    /// The signer cannot be searched for in Rekor v1.
    #[error(
        "--require-latest-of: the signer `{0}` cannot be searched for: Rekor v1's search API \
         takes only email SANs and public keys"
    )]
    Unsearchable(String),
    /// The image's verified attestations name no signer to search for.
    #[error("--require-latest-of: the verified attestation names no signer to search for")]
    NoSigner,
    /// The presented build's time is unknown (no finish time, no log entry).
    #[error(
        "--require-latest-of: the presented build has neither a finish time nor a log entry \
         time to compare"
    )]
    NoTime,
    /// Rekor could not be searched.
    #[error("--require-latest-of: searching {log}")]
    Search {
        /// The log's URL.
        log: String,
        /// Why.
        #[source]
        source: SearchError,
    },
    /// The image's repository could not be read.
    #[error("--require-latest-of: reading {what}")]
    Registry {
        /// What was read.
        what: String,
        /// Why.
        #[source]
        source: OciError,
    },
}

impl LatestError {
    /// Whether retrying later may succeed.
    #[must_use]
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Search { source, .. } => source.is_transient(),
            Self::Registry { source, .. } => source.is_transient(),
            _ => false,
        }
    }
}

/// Where a build's time comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum TimeSource {
    /// The provenance's finish time (v0.2 `metadata.buildFinishedOn`, v1
    /// `runDetails.metadata.finishedOn`).
    FinishedOn,
    /// The log entry's integrated time (the provenance has no finish time).
    IntegratedTime,
}

/// One attested build of the repository by the pipeline.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Build {
    /// The image: `REGISTRY/REPOSITORY@sha256:<hex>`.
    pub image: String,
    /// The subject's SHA-256 (hex).
    #[serde(skip)]
    pub sha256: String,
    /// The log entry's UUID (`None`: the presented image's own attestation, not searched).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uuid: Option<String>,
    /// The log entry's index.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_index: Option<i64>,
    /// The build's time (RFC 3339).
    pub time: String,
    /// Where that time comes from.
    pub time_source: TimeSource,
    /// The time, seconds since the epoch, for comparing.
    #[serde(skip)]
    pub unix: i64,
}

/// Entries newer than the presented build whose statement could not be found.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Unread {
    /// How many.
    pub count: usize,
    /// Their UUIDs.
    pub uuids: Vec<String>,
}

/// What the check found, for the report (`latest` in `-o json`).
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// `--require-latest-of`.
    pub pipeline: String,
    /// The image's repository.
    pub repository: String,
    /// What Rekor was searched by (`public key sha256:<hex>` or `email <SAN>`).
    pub searched_by: String,
    /// The log searched.
    pub log_url: String,
    /// The presented image's build (`None` when it is not a build of the pipeline).
    pub presented: Option<Build>,
    /// The newest build of the pipeline in the repository found (possibly the presented).
    pub newest: Option<Build>,
    /// Attestation entries of the signer that verified.
    pub entries: usize,
    /// Entries the search listed that did not verify (ignored).
    pub rejected: usize,
    /// Whether Rekor's answer was cut at [`crate::rekor::MAX_SEARCH_RESULTS`] entries
    /// (older or newer entries may then be missing).
    pub search_truncated: bool,
    /// Entries newer than the presented build whose statement could not be found.
    pub unread: Unread,
}

/// The decision.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The image is the newest build of the pipeline found.
    Latest,
    /// None of the image's verified attestations is a provenance of the pipeline; the
    /// pipelines (or tasks) they name.
    NotBuiltBy(Vec<String>),
    /// A newer build of another digest exists.
    Superseded(Build),
}

impl Verdict {
    /// The reason to deny, naming the check's finding; `None` for [`Verdict::Latest`].
    #[must_use]
    pub fn reason(&self, pipeline: &str) -> Option<(String, Option<String>)> {
        match self {
            Self::Latest => None,
            Self::NotBuiltBy(found) => Some((
                format!("a build of pipeline {pipeline}"),
                Some(if found.is_empty() {
                    "no provenance naming a pipeline".to_owned()
                } else {
                    format!("a build of {}", found.join(", "))
                }),
            )),
            Self::Superseded(newer) => Some((
                format!("the newest build of pipeline {pipeline}"),
                Some(format!(
                    "a newer build {} (log index {}, {} {})",
                    newer.image,
                    newer
                        .log_index
                        .map_or_else(|| "-".to_owned(), |i| i.to_string()),
                    match newer.time_source {
                        TimeSource::FinishedOn => "finished",
                        TimeSource::IntegratedTime => "logged",
                    },
                    newer.time
                )),
            )),
        }
    }
}

/// The provenance's build finish time: SLSA v1 `runDetails.metadata.finishedOn`, v0.2
/// `metadata.buildFinishedOn`.
#[must_use]
pub fn finished_on(statement: &serde_json::Value) -> Option<Timestamp> {
    let p = &statement["predicate"];
    p["runDetails"]["metadata"]["finishedOn"]
        .as_str()
        .or_else(|| p["metadata"]["buildFinishedOn"].as_str())
        .and_then(|t| t.parse().ok())
}

/// Whether the statement is a provenance of a run of `pipeline`.
#[must_use]
pub fn built_by(statement: &serde_json::Value, pipeline: &str) -> bool {
    search::run_label(statement, PIPELINE_LABEL) == Some(pipeline)
}

/// Whether the subject name `name` (`REGISTRY/REPOSITORY`, maybe with a `:tag` or
/// `@digest`) names `repo`.
#[must_use]
pub fn same_repository(name: &str, repo: &Repository) -> bool {
    let name = name.split_once('@').map_or(name, |(n, _)| n);
    // Parsed as a reference, so that `docker.io` defaults and tags are handled alike.
    let any = format!("{name}@sha256:{}", "0".repeat(64));
    ImageRef::parse(&any).is_ok_and(|r| r.repository == *repo)
}

/// The SHA-256 digests (hex) of the statement's subjects in `repo`.
#[must_use]
pub fn subjects_in(statement: &serde_json::Value, repo: &Repository) -> Vec<String> {
    statement["subject"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|s| s["name"].as_str().is_some_and(|n| same_repository(n, repo)))
        .filter_map(|s| s["digest"]["sha256"].as_str())
        .filter(|d| Digest::parse(&format!("sha256:{d}")).is_ok())
        .map(str::to_owned)
        .collect()
}

/// The digest a cosign or hallmark tag names: `sha256-<hex>` (the referrers fallback tag),
/// `sha256-<hex>.att`, `.sig`, `.sbom`, ...; `None` for other tags.
#[must_use]
pub fn tag_digest(tag: &str) -> Option<Digest> {
    let rest = tag.strip_prefix("sha256-")?;
    let hex = rest.split_once('.').map_or(rest, |(h, _)| h);
    Digest::parse(&format!("sha256:{hex}")).ok()
}

/// The digests whose attestations to read, from the repository's tags: those the tags
/// name directly first (in order, without repeats), then the other tags to resolve. `ours`
/// is left out.
#[must_use]
pub fn candidates(tags: &[String], ours: &Digest) -> (Vec<Digest>, Vec<String>) {
    let mut direct = Vec::new();
    let mut seen = BTreeSet::new();
    let mut other = Vec::new();
    for t in tags {
        match tag_digest(t) {
            Some(d) => {
                if d != *ours && seen.insert(d.clone()) {
                    direct.push(d);
                }
            }
            None => other.push(t.clone()),
        }
    }
    (direct, other)
}

/// The newest of `builds` (later time first, then higher log index).
#[must_use]
pub fn choose_newest(builds: &[Build]) -> Option<&Build> {
    builds
        .iter()
        .max_by_key(|b| (b.unix, b.log_index.unwrap_or(i64::MIN)))
}

/// The builds of `pipeline` in `repo` a verified hit attests.
fn builds_of(
    hit: &Hit,
    statement: &serde_json::Value,
    pipeline: &str,
    repo: &Repository,
) -> Vec<Build> {
    if !built_by(statement, pipeline) {
        return Vec::new();
    }
    let (unix, source) = match finished_on(statement) {
        Some(t) => (t.as_second(), TimeSource::FinishedOn),
        None => (hit.integrated_unix, TimeSource::IntegratedTime),
    };
    subjects_in(statement, repo)
        .into_iter()
        .map(|d| Build {
            image: format!("{repo}@sha256:{d}"),
            sha256: d,
            uuid: Some(hit.uuid.clone()),
            log_index: Some(hit.log_index),
            time: Timestamp::from_second(unix).unwrap_or_default().to_string(),
            time_source: source,
            unix,
        })
        .collect()
}

/// The presented image's build from its accepted statements: the latest finish time of
/// those that are provenances of `pipeline`, else `integrated` (its log entry's time).
/// `Err` lists the pipelines the statements name instead.
///
/// # Errors
///
/// The pipelines (or tasks) the statements name, when none is a build of `pipeline`.
pub fn presented_build(
    image: &ImageRef,
    statements: &[serde_json::Value],
    integrated: Option<i64>,
    pipeline: &str,
) -> Result<Option<Build>, Vec<String>> {
    let ours: Vec<&serde_json::Value> = statements
        .iter()
        .filter(|s| built_by(s, pipeline))
        .collect();
    if ours.is_empty() {
        let mut found: Vec<String> = statements
            .iter()
            .filter_map(|s| {
                search::run_label(s, PIPELINE_LABEL).or_else(|| {
                    search::run_label(s, "tekton.dev/task").map(|_| "a task outside a pipeline")
                })
            })
            .map(str::to_owned)
            .collect();
        found.sort();
        found.dedup();
        return Err(found);
    }
    let finished = ours.iter().filter_map(|s| finished_on(s)).max();
    let (unix, source) = match (finished, integrated) {
        (Some(t), _) => (t.as_second(), TimeSource::FinishedOn),
        (None, Some(i)) => (i, TimeSource::IntegratedTime),
        (None, None) => return Ok(None),
    };
    Ok(Some(Build {
        image: image.to_string(),
        sha256: image.digest.hex().to_owned(),
        uuid: None,
        log_index: None,
        time: Timestamp::from_second(unix).unwrap_or_default().to_string(),
        time_source: source,
        unix,
    }))
}

/// Decide over the hits of the signer's search (their statements attached where found):
/// a newer build of the pipeline in the repository with another digest supersedes the
/// presented one. Returns the verdict, the newest build found (the presented one
/// included) and the attestation entries newer than the presented build (by integrated
/// time, or its build time) whose statement is unknown.
#[must_use]
pub fn decide(
    presented: &Build,
    presented_integrated: Option<i64>,
    hits: &[Hit],
    pipeline: &str,
    repo: &Repository,
) -> (Verdict, Build, Unread) {
    let mut builds = vec![presented.clone()];
    let mut unread = Unread::default();
    let since = presented_integrated.unwrap_or(presented.unix);
    for hit in hits.iter().filter(|h| h.is_attestation()) {
        match &hit.statement {
            Some(s) => builds.extend(builds_of(hit, s, pipeline, repo)),
            None if hit.integrated_unix > since => {
                unread.count += 1;
                unread.uuids.push(hit.uuid.clone());
            }
            None => {}
        }
    }
    let newer: Vec<Build> = builds
        .iter()
        .filter(|b| b.sha256 != presented.sha256 && b.unix > presented.unix)
        .cloned()
        .collect();
    let newest = choose_newest(&builds)
        .cloned()
        .unwrap_or_else(|| presented.clone());
    let verdict = choose_newest(&newer).map_or(Verdict::Latest, |b| Verdict::Superseded(b.clone()));
    (verdict, newest, unread)
}

/// What the presented image brings: its accepted statements (payload bytes) and its log
/// entry's integrated time.
#[derive(Clone, Debug)]
pub struct Presented<'a> {
    /// The image.
    pub image: &'a ImageRef,
    /// The exact payloads of its accepted attestations.
    pub payloads: Vec<Vec<u8>>,
    /// The integrated time of its (newest) log entry, seconds since the epoch.
    pub integrated: Option<i64>,
}

/// Run the check: search `log` (at `log_url`) for the signer's entries (`query`), verify
/// them against `trust`, read the statements missing from the log from the image's
/// repository through `fetcher`, and decide.
///
/// # Errors
///
/// [`LatestError`] when Rekor or the registry cannot be read, or the presented build has
/// no time to compare; never a pass in doubt.
pub async fn check<L: TransparencyLog, F: Fetcher>(
    log: &L,
    log_url: &str,
    fetcher: &F,
    trust: &TrustedRoot,
    query: &Query,
    presented: &Presented<'_>,
    pipeline: &str,
) -> Result<(Verdict, Report), LatestError> {
    let image = presented.image;
    let repo = &image.repository;
    let statements: Vec<serde_json::Value> = presented
        .payloads
        .iter()
        .filter_map(|p| serde_json::from_slice(p).ok())
        .collect();
    let mut report = Report {
        pipeline: pipeline.to_owned(),
        repository: repo.to_string(),
        searched_by: match query {
            Query::PublicKey(pem) => format!(
                "public key sha256:{}",
                hex::encode(ArtifactRef::Bytes(pem).sha256())
            ),
            Query::Email(e) => format!("email {e}"),
            Query::Sha256(h) => format!("sha256 {h}"),
        },
        log_url: log_url.to_owned(),
        presented: None,
        newest: None,
        entries: 0,
        rejected: 0,
        search_truncated: false,
        unread: Unread::default(),
    };
    let ours = match presented_build(image, &statements, presented.integrated, pipeline) {
        Err(found) => return Ok((Verdict::NotBuiltBy(found), report)),
        Ok(None) => return Err(LatestError::NoTime),
        Ok(Some(b)) => b,
    };
    report.presented = Some(ours.clone());
    // The presented image's own statements are known; the search attaches them.
    let mut known = Statements::new();
    for p in &presented.payloads {
        if let Ok(v) = serde_json::from_slice(p) {
            known.insert(ArtifactRef::Bytes(p).sha256(), v);
        }
    }
    let filter = Filter::default();
    let (mut hits, rejected) = search::search(log, query, trust, &known, &filter)
        .await
        .map_err(|source| LatestError::Search {
            log: log_url.to_owned(),
            source,
        })?;
    report.search_truncated = hits.len() + rejected.len() >= crate::rekor::MAX_SEARCH_RESULTS;
    report.rejected = rejected.len();
    hits.retain(Hit::is_attestation);
    report.entries = hits.len();
    let mut wanted: BTreeMap<[u8; 32], Vec<usize>> = BTreeMap::new();
    for (i, h) in hits.iter().enumerate() {
        if h.statement.is_none()
            && let Some(d) = h.payload_sha256
        {
            wanted.entry(d).or_default().push(i);
        }
    }
    if !wanted.is_empty() {
        for (hash, statement) in statements_in_repository(fetcher, image, &wanted).await? {
            for &i in wanted.get(&hash).into_iter().flatten() {
                if let Some(h) = hits.get_mut(i) {
                    search::describe_statement(&statement, h);
                    h.statement = Some(statement.clone());
                }
            }
        }
    }
    let (verdict, newest, unread) = decide(&ours, presented.integrated, &hits, pipeline, repo);
    report.newest = Some(newest);
    report.unread = unread;
    Ok((verdict, report))
}

/// The statements in the image's repository whose payload SHA-256 is among `wanted`:
/// the attestations of the digests the repository's tags name, then of those its other
/// tags resolve to (at most [`MAX_CANDIDATES`] digests, read until every wanted hash is
/// found).
async fn statements_in_repository<F: Fetcher>(
    fetcher: &F,
    image: &ImageRef,
    wanted: &BTreeMap<[u8; 32], Vec<usize>>,
) -> Result<Vec<([u8; 32], serde_json::Value)>, LatestError> {
    if wanted.is_empty() {
        return Ok(Vec::new());
    }
    let repo = &image.repository;
    let registry = |what: String| move |source| LatestError::Registry { what, source };
    let tags = fetcher
        .tags(repo, MAX_TAGS)
        .await
        .map_err(registry(format!("the tags of {repo}")))?;
    let (direct, others) = candidates(&tags, &image.digest);
    let mut seen: BTreeSet<Digest> = direct.iter().cloned().collect();
    let mut found = Vec::new();
    let mut missing: BTreeSet<[u8; 32]> = wanted.keys().copied().collect();
    let mut read = 0;
    // The digests the tags name first; the other tags are resolved only while hashes are
    // still missing.
    let mut others = others.into_iter();
    let mut direct = direct.into_iter();
    while !missing.is_empty() && read < MAX_CANDIDATES {
        let digest = match direct.next() {
            Some(d) => d,
            None => {
                let Some(tag) = others.next() else { break };
                let fetched = fetcher
                    .manifest(repo, &tag)
                    .await
                    .map_err(registry(format!("{repo}:{tag}")))?;
                match fetched {
                    Some(f) if f.digest != image.digest && seen.insert(f.digest.clone()) => {
                        f.digest
                    }
                    _ => continue,
                }
            }
        };
        read += 1;
        let candidate = image.with_digest(digest);
        let discovery = find_attestations(fetcher, &candidate)
            .await
            .map_err(registry(format!("the attestations of {candidate}")))?;
        for f in discovery.found {
            let Some(env) = &f.bundle.dsse_envelope else {
                continue;
            };
            let hash = ArtifactRef::Bytes(&env.payload).sha256();
            if missing.remove(&hash)
                && let Ok(v) = serde_json::from_slice(&env.payload)
            {
                found.push((hash, v));
            }
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn repo() -> Repository {
        Repository {
            registry: "reg.example:5000".into(),
            name: "team/app".into(),
        }
    }

    fn hex(c: char) -> String {
        c.to_string().repeat(64)
    }

    fn v02(pipeline: &str, name: &str, digest: &str, finished: Option<&str>) -> serde_json::Value {
        let mut s = json!({
            "predicateType": "https://slsa.dev/provenance/v0.2",
            "subject": [{"name": name, "digest": {"sha256": digest}}],
            "predicate": {"invocation": {"environment": {"labels": {PIPELINE_LABEL: pipeline}}}}
        });
        if let Some(f) = finished {
            s["predicate"]["metadata"] = json!({"buildFinishedOn": f});
        }
        s
    }

    fn hit(uuid: &str, index: i64, integrated: i64, statement: Option<serde_json::Value>) -> Hit {
        Hit {
            uuid: uuid.into(),
            log_index: index,
            integrated_time: String::new(),
            kind: "dsse 0.0.1".into(),
            signer: String::new(),
            subjects: Vec::new(),
            predicate_type: None,
            pipeline: None,
            run: None,
            run_uid: None,
            payload_sha256: Some([0; 32]),
            integrated_unix: integrated,
            statement,
        }
    }

    fn image(c: char) -> ImageRef {
        ImageRef::parse(&format!("reg.example:5000/team/app@sha256:{}", hex(c)))
            .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn labels_times_and_repositories() {
        let s = v02(
            "release",
            "reg.example:5000/team/app",
            &hex('a'),
            Some("2026-11-25T10:00:00Z"),
        );
        assert!(built_by(&s, "release") && !built_by(&s, "other"));
        assert_eq!(finished_on(&s).map(|t| t.as_second()), Some(1_795_600_800));
        let v1 = json!({"predicate": {
            "buildDefinition": {"internalParameters": {"labels": {PIPELINE_LABEL: "release"}}},
            "runDetails": {"metadata": {"finishedOn": "2026-11-25T10:00:01Z"}}}});
        assert!(built_by(&v1, "release"));
        assert_eq!(finished_on(&v1).map(|t| t.as_second()), Some(1_795_600_801));
        // A task label is not a pipeline.
        let task = json!({"predicate": {"invocation": {"environment": {"labels": {"tekton.dev/task": "release"}}}}});
        assert!(!built_by(&task, "release"));
        let r = repo();
        assert!(same_repository("reg.example:5000/team/app", &r));
        assert!(same_repository("reg.example:5000/team/app:v1", &r));
        assert!(same_repository(
            &format!("reg.example:5000/team/app@sha256:{}", hex('b')),
            &r
        ));
        assert!(!same_repository("reg.example:5000/team/app2", &r));
        assert!(!same_repository("other.example:5000/team/app", &r));
        assert!(!same_repository("", &r));
        let hub = Repository {
            registry: "docker.io".into(),
            name: "library/alpine".into(),
        };
        assert!(
            same_repository("alpine", &hub) && same_repository("docker.io/library/alpine:3", &hub)
        );
        let two = json!({"subject": [
            {"name": "reg.example:5000/team/app", "digest": {"sha256": hex('a')}},
            {"name": "reg.example:5000/team/lib", "digest": {"sha256": hex('b')}},
            {"name": "reg.example:5000/team/app", "digest": {"sha256": "not-hex"}}]});
        assert_eq!(subjects_in(&two, &r), vec![hex('a')]);
    }

    #[test]
    fn tags_name_digests() {
        let d = |c: char| {
            Digest::parse(&format!("sha256:{}", hex(c))).unwrap_or_else(|e| panic!("{e}"))
        };
        assert_eq!(
            tag_digest(&format!("sha256-{}.att", hex('a'))),
            Some(d('a'))
        );
        assert_eq!(tag_digest(&format!("sha256-{}", hex('b'))), Some(d('b')));
        assert_eq!(
            tag_digest(&format!("sha256-{}.sig", hex('c'))),
            Some(d('c'))
        );
        assert_eq!(tag_digest("sha256-abc.att"), None);
        assert_eq!(tag_digest("v1.2"), None);
        let tags: Vec<String> = vec![
            format!("sha256-{}.att", hex('a')),
            format!("sha256-{}.sig", hex('a')),
            format!("sha256-{}.att", hex('e')),
            "v1".into(),
            format!("sha256-{}", hex('b')),
        ];
        let (direct, other) = candidates(&tags, &d('e'));
        assert_eq!(direct, vec![d('a'), d('b')]);
        assert_eq!(other, vec!["v1".to_owned()]);
    }

    #[test]
    fn the_newest_build_of_the_pipeline_wins() {
        let r = repo();
        let name = "reg.example:5000/team/app";
        let v1 = image('1');
        let ours = presented_build(
            &v1,
            &[v02(
                "release",
                name,
                &hex('1'),
                Some("2026-11-25T10:00:00Z"),
            )],
            Some(100),
            "release",
        )
        .unwrap_or_else(|e| panic!("{e:?}"))
        .unwrap_or_else(|| panic!("a build"));
        assert_eq!(ours.time_source, TimeSource::FinishedOn);
        // Our own entry, an older build, another pipeline's newer build, another repo's.
        let hits = vec![
            hit(
                "own",
                5,
                100,
                Some(v02(
                    "release",
                    name,
                    &hex('1'),
                    Some("2026-11-25T10:00:00Z"),
                )),
            ),
            hit(
                "old",
                3,
                50,
                Some(v02(
                    "release",
                    name,
                    &hex('0'),
                    Some("2026-11-24T10:00:00Z"),
                )),
            ),
            hit(
                "test",
                7,
                200,
                Some(v02("test", name, &hex('3'), Some("2026-11-26T10:00:00Z"))),
            ),
            hit(
                "lib",
                8,
                200,
                Some(v02(
                    "release",
                    "reg.example:5000/team/lib",
                    &hex('4'),
                    Some("2026-11-26T10:00:00Z"),
                )),
            ),
        ];
        let (verdict, newest, unread) = decide(&ours, Some(100), &hits, "release", &r);
        assert_eq!(verdict, Verdict::Latest);
        assert_eq!(newest.sha256, hex('1'));
        assert_eq!(unread, Unread::default());
        // A newer build of the pipeline supersedes it, and is named.
        let mut more = hits.clone();
        more.push(hit(
            "new",
            9,
            300,
            Some(v02(
                "release",
                name,
                &hex('2'),
                Some("2026-11-26T09:00:00Z"),
            )),
        ));
        more.push(hit("unknown", 10, 400, None));
        more.push(hit("older-unknown", 1, 10, None));
        let (verdict, newest, unread) = decide(&ours, Some(100), &more, "release", &r);
        let Verdict::Superseded(b) = &verdict else {
            panic!("{verdict:?}")
        };
        assert_eq!(
            (b.sha256.as_str(), b.log_index),
            (hex('2').as_str(), Some(9))
        );
        assert_eq!(newest.sha256, hex('2'));
        assert_eq!(unread.uuids, vec!["unknown".to_owned()]);
        let (_, reason) = verdict.reason("release").unwrap_or_default();
        let reason = reason.unwrap_or_default();
        assert!(
            reason.contains(&format!("{name}@sha256:{}", hex('2')))
                && reason.contains("log index 9"),
            "{reason}"
        );
        // The same image attested again later is not a rollback.
        let again = vec![hit(
            "again",
            11,
            500,
            Some(v02(
                "release",
                name,
                &hex('1'),
                Some("2026-11-27T00:00:00Z"),
            )),
        )];
        assert_eq!(
            decide(&ours, Some(100), &again, "release", &r).0,
            Verdict::Latest
        );
        // Without a finish time, the entry's integrated time is the build's time.
        let no_time = vec![hit(
            "nt",
            12,
            1_795_700_000,
            Some(v02("release", name, &hex('5'), None)),
        )];
        let (v, _, _) = decide(&ours, Some(100), &no_time, "release", &r);
        assert!(
            matches!(v, Verdict::Superseded(ref b) if b.time_source == TimeSource::IntegratedTime),
            "{v:?}"
        );
        // Equal times are not newer.
        let tie = vec![hit(
            "tie",
            13,
            100,
            Some(v02(
                "release",
                name,
                &hex('6'),
                Some("2026-11-25T10:00:00Z"),
            )),
        )];
        assert_eq!(
            decide(&ours, Some(100), &tie, "release", &r).0,
            Verdict::Latest
        );
    }

    /// A repository over fixtures: tags, manifests by tag or digest, blobs by digest.
    #[derive(Default)]
    struct FakeRepo {
        tags: Vec<String>,
        manifests: BTreeMap<String, Vec<u8>>,
        blobs: BTreeMap<String, Vec<u8>>,
        asked: std::sync::Mutex<Vec<String>>,
    }

    impl Fetcher for FakeRepo {
        async fn manifest(
            &self,
            _repo: &Repository,
            reference: &str,
        ) -> Result<Option<crate::oci::Fetched>, OciError> {
            if let Ok(mut a) = self.asked.lock() {
                a.push(reference.to_owned());
            }
            Ok(self.manifests.get(reference).map(|b| crate::oci::Fetched {
                bytes: b.clone(),
                digest: Digest::of(b),
                media_type: None,
            }))
        }

        async fn blob(
            &self,
            _repo: &Repository,
            descriptor: &crate::oci::manifest::Descriptor,
            _limit: usize,
        ) -> Result<Vec<u8>, OciError> {
            self.blobs
                .get(&descriptor.digest)
                .cloned()
                .ok_or_else(|| OciError::Malformed {
                    what: descriptor.digest.clone(),
                    reason: "no such blob".into(),
                })
        }

        async fn referrers(
            &self,
            _repo: &Repository,
            _subject: &Digest,
        ) -> Result<Option<Vec<u8>>, OciError> {
            Ok(None)
        }

        async fn tags(&self, _repo: &Repository, limit: usize) -> Result<Vec<String>, OciError> {
            Ok(self.tags.iter().take(limit).cloned().collect())
        }
    }

    /// A legacy `.att` manifest with one DSSE envelope layer over `payload`; the blob.
    fn att(payload: &[u8]) -> (Vec<u8>, String, Vec<u8>) {
        use base64::Engine as _;
        let envelope = json!({
            "payloadType": "application/vnd.in-toto+json",
            "payload": base64::engine::general_purpose::STANDARD.encode(payload),
            "signatures": [{"keyid": "", "sig": "AAAA"}]
        })
        .to_string()
        .into_bytes();
        let digest = Digest::of(&envelope).to_string();
        let manifest = json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": format!("sha256:{}", hex('c')), "size": 2},
            "layers": [{"mediaType": crate::oci::manifest::DSSE_ENVELOPE,
                "digest": digest, "size": envelope.len()}]
        })
        .to_string()
        .into_bytes();
        (manifest, digest, envelope)
    }

    #[test]
    fn statements_are_found_in_the_repository_by_payload_hash() {
        let ours = image('e');
        let name = "reg.example:5000/team/app";
        // Digest a: named by its `.att` tag. The digest of `v7`: resolved from the tag; its
        // attestation is under the `.att` tag of that digest.
        let payload_a = v02("release", name, &hex('a'), None)
            .to_string()
            .into_bytes();
        let payload_b = v02("release", name, &hex('b'), None)
            .to_string()
            .into_bytes();
        let image_b = b"{\"schemaVersion\":2}".to_vec();
        let digest_b = Digest::of(&image_b);
        let mut repo = FakeRepo::default();
        for (payload, d) in [
            (&payload_a, format!("sha256:{}", hex('a'))),
            (&payload_b, digest_b.to_string()),
        ] {
            let (manifest, blob_digest, blob) = att(payload);
            let d = Digest::parse(&d).unwrap_or_else(|e| panic!("{e}"));
            repo.manifests
                .insert(crate::oci::manifest::attestation_tag(&d), manifest);
            repo.blobs.insert(blob_digest, blob);
        }
        repo.manifests.insert("v7".into(), image_b);
        // b's `.att` tag is not listed (a registry that hides it, say): only `v7` leads
        // to it.
        repo.tags = vec![
            format!("sha256-{}.att", hex('a')),
            // Ours is never read.
            format!("sha256-{}.att", hex('e')),
            "v7".into(),
        ];
        let hash = |p: &[u8]| ArtifactRef::Bytes(p).sha256();
        let wanted: BTreeMap<[u8; 32], Vec<usize>> = [
            (hash(&payload_a), vec![0]),
            (hash(&payload_b), vec![1]),
            ([9; 32], vec![2]),
        ]
        .into_iter()
        .collect();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        let found = runtime
            .block_on(statements_in_repository(&repo, &ours, &wanted))
            .unwrap_or_else(|e| panic!("{e}"));
        let hashes: BTreeSet<[u8; 32]> = found.iter().map(|(h, _)| *h).collect();
        assert_eq!(
            hashes,
            [hash(&payload_a), hash(&payload_b)].into_iter().collect()
        );
        for (h, statement) in &found {
            let want = if *h == hash(&payload_a) {
                hex('a')
            } else {
                hex('b')
            };
            assert_eq!(statement["subject"][0]["digest"]["sha256"], want.as_str());
        }
        let asked = repo.asked.lock().map(|a| a.clone()).unwrap_or_default();
        assert!(asked.contains(&"v7".to_owned()), "{asked:?}");
        assert!(
            !asked.iter().any(|a| a.contains(&hex('e'))),
            "the presented image's own attestations are not read again: {asked:?}"
        );
        // What the named digests hold is found without resolving other tags.
        repo.asked.lock().map(|mut a| a.clear()).unwrap_or_default();
        let only_a: BTreeMap<[u8; 32], Vec<usize>> = [(hash(&payload_a), vec![0])].into();
        let found = runtime
            .block_on(statements_in_repository(&repo, &ours, &only_a))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(found.len(), 1);
        let asked = repo.asked.lock().map(|a| a.clone()).unwrap_or_default();
        assert!(!asked.contains(&"v7".to_owned()), "{asked:?}");
        // Nothing wanted: the repository is not read.
        repo.asked.lock().map(|mut a| a.clear()).unwrap_or_default();
        let none = runtime
            .block_on(statements_in_repository(&repo, &ours, &BTreeMap::new()))
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(none.is_empty());
        assert!(repo.asked.lock().is_ok_and(|a| a.is_empty()));
    }

    #[test]
    fn the_presented_image_must_be_a_build_of_the_pipeline() {
        let img = image('1');
        let name = "reg.example:5000/team/app";
        assert_eq!(
            presented_build(
                &img,
                &[v02("test", name, &hex('1'), None)],
                Some(1),
                "release"
            ),
            Err(vec!["test".to_owned()])
        );
        assert_eq!(
            presented_build(&img, &[], Some(1), "release"),
            Err(Vec::new())
        );
        // No finish time: the log entry's time; neither: unknown.
        let b = presented_build(
            &img,
            &[v02("release", name, &hex('1'), None)],
            Some(7),
            "release",
        );
        assert!(
            matches!(b, Ok(Some(ref b)) if b.unix == 7 && b.time_source == TimeSource::IntegratedTime),
            "{b:?}"
        );
        assert_eq!(
            presented_build(
                &img,
                &[v02("release", name, &hex('1'), None)],
                None,
                "release"
            ),
            Ok(None)
        );
        let not = Verdict::NotBuiltBy(vec!["test".into()])
            .reason("release")
            .unwrap_or_default();
        assert_eq!(not.1.as_deref(), Some("a build of test"));
        assert_eq!(Verdict::Latest.reason("release"), None);
    }
}
