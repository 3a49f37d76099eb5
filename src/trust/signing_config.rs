//! cosign's `signing_config.json` (Sigstore `SigningConfig` v0.2): which Fulcio, OIDC
//! issuer, Rekor logs and timestamp authorities to sign with (pure).
//!
//! Shape (`application/vnd.dev.sigstore.signingconfig.v0.2+json`, protojson): `caUrls`,
//! `oidcUrls`, `rekorTlogUrls`, `tsaUrls` are lists of services `{url, majorApiVersion,
//! validFor{start, end}, operator}`; `rekorTlogConfig` and `tsaConfig` are
//! `{selector: ALL|ANY|EXACT, count}`.
//!
//! Selection follows sigstore-go's `root.SelectServices` (what cosign v3 uses): among the
//! services valid now, take those of the highest API version the client supports, newest
//! `validFor.start` first and at most one per operator; then `ALL` keeps them all, `ANY`
//! one (sigstore-go picks at random; hallmark the newest, deterministically), `EXACT` the
//! first `count` (an error when fewer exist).

use jiff::Timestamp;
use serde::Deserialize;

use super::TimeRange;

/// The media type of signing config v0.2.
pub const MEDIA_TYPE_V0_2: &str = "application/vnd.dev.sigstore.signingconfig.v0.2+json";

/// Errors reading a signing config or selecting from it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SigningConfigError {
    /// Not JSON of the signing config's shape.
    #[error("malformed signing config")]
    Json(#[source] serde_json::Error),
    /// Another media type.
    #[error("unsupported signing config media type `{0}`")]
    MediaType(String),
    /// A selector other than ALL, ANY and EXACT (with a count > 0).
    #[error("invalid service selector `{0}`")]
    Selector(String),
    /// No service is valid now with a supported API version, or fewer than EXACT asks.
    #[error("signing config: no {what} valid now with API version {versions:?}{}", if *wanted > 0 { format!(" ({wanted} required)") } else { String::new() })]
    NoService {
        /// Which kind of service.
        what: &'static str,
        /// The API versions the client supports.
        versions: Vec<u32>,
        /// How many EXACT required (0 otherwise).
        wanted: u32,
    },
}

impl SigningConfigError {
    /// Whether retrying may help: never, the input is fixed.
    #[must_use]
    pub fn is_transient(&self) -> bool {
        false
    }
}

/// One service endpoint.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Service {
    /// Its URL (a Rekor base URL, a TSA's full `.../api/v1/timestamp` URL).
    #[serde(default)]
    pub url: String,
    /// The API's major version (Rekor: 1 or 2).
    #[serde(default, alias = "major_api_version")]
    pub major_api_version: u32,
    /// When it may be used.
    #[serde(default, alias = "valid_for")]
    pub valid_for: TimeRange,
    /// Who runs it (at most one service per operator is selected).
    #[serde(default)]
    pub operator: String,
}

impl Service {
    /// Whether the service may be used at `t` (start inclusive, end exclusive, as
    /// sigstore-go's `ValidAtTime`).
    #[must_use]
    pub fn valid_at(&self, t: Timestamp) -> bool {
        self.valid_for.start.is_none_or(|s| s <= t) && self.valid_for.end.is_none_or(|e| t < e)
    }
}

/// How many services of a kind to use.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Selector {
    /// Every selected service.
    All,
    /// One of them (the default).
    #[default]
    Any,
    /// Exactly this many.
    Exact(u32),
}

#[derive(Deserialize, Default)]
struct RawServiceConfig {
    #[serde(default)]
    selector: String,
    #[serde(default)]
    count: u32,
}

fn selector(raw: Option<RawServiceConfig>) -> Result<Selector, SigningConfigError> {
    let Some(raw) = raw else {
        return Ok(Selector::Any);
    };
    match raw.selector.as_str() {
        "ALL" => Ok(Selector::All),
        "ANY" | "" => Ok(Selector::Any),
        "EXACT" if raw.count > 0 => Ok(Selector::Exact(raw.count)),
        other => Err(SigningConfigError::Selector(
            format!("{other} (count {})", raw.count)
                .chars()
                .take(80)
                .collect(),
        )),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Raw {
    #[serde(default)]
    media_type: String,
    #[serde(default)]
    ca_urls: Option<Vec<Service>>,
    #[serde(default)]
    oidc_urls: Option<Vec<Service>>,
    #[serde(default)]
    rekor_tlog_urls: Option<Vec<Service>>,
    #[serde(default)]
    rekor_tlog_config: Option<RawServiceConfig>,
    #[serde(default)]
    tsa_urls: Option<Vec<Service>>,
    #[serde(default)]
    tsa_config: Option<RawServiceConfig>,
}

/// A parsed signing config.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SigningConfig {
    /// Fulcio instances.
    pub ca_urls: Vec<Service>,
    /// OIDC providers.
    pub oidc_urls: Vec<Service>,
    /// Rekor logs (v1 and v2).
    pub rekor_tlog_urls: Vec<Service>,
    /// How many Rekor logs to write to.
    pub rekor_tlog_selector: Selector,
    /// RFC 3161 timestamp authorities.
    pub tsa_urls: Vec<Service>,
    /// How many timestamps to get.
    pub tsa_selector: Selector,
}

/// The Rekor major API versions hallmark writes to.
pub const REKOR_API_VERSIONS: [u32; 2] = [1, 2];
/// The timestamp authority API versions hallmark uses.
pub const TSA_API_VERSIONS: [u32; 1] = [1];

impl SigningConfig {
    /// Parse `signing_config.json` (v0.2).
    ///
    /// # Errors
    ///
    /// [`SigningConfigError::Json`], [`SigningConfigError::MediaType`],
    /// [`SigningConfigError::Selector`].
    pub fn from_json(bytes: &[u8]) -> Result<Self, SigningConfigError> {
        let raw: Raw = serde_json::from_slice(bytes).map_err(SigningConfigError::Json)?;
        if raw.media_type != MEDIA_TYPE_V0_2 {
            return Err(SigningConfigError::MediaType(
                raw.media_type.chars().take(120).collect(),
            ));
        }
        Ok(Self {
            ca_urls: raw.ca_urls.unwrap_or_default(),
            oidc_urls: raw.oidc_urls.unwrap_or_default(),
            rekor_tlog_urls: raw.rekor_tlog_urls.unwrap_or_default(),
            rekor_tlog_selector: selector(raw.rekor_tlog_config)?,
            tsa_urls: raw.tsa_urls.unwrap_or_default(),
            tsa_selector: selector(raw.tsa_config)?,
        })
    }

    /// The Rekor logs to write to at `now`, for a client supporting `versions`
    /// ([`REKOR_API_VERSIONS`]): with both, a v2 log is preferred, as cosign v3 does.
    ///
    /// # Errors
    ///
    /// [`SigningConfigError::NoService`] when none fits.
    pub fn rekor_logs(
        &self,
        versions: &[u32],
        now: Timestamp,
    ) -> Result<Vec<Service>, SigningConfigError> {
        select(
            "Rekor log",
            &self.rekor_tlog_urls,
            self.rekor_tlog_selector,
            versions,
            now,
        )
    }

    /// The timestamp authorities to use at `now`.
    ///
    /// # Errors
    ///
    /// [`SigningConfigError::NoService`] when none fits.
    pub fn timestamp_authorities(
        &self,
        now: Timestamp,
    ) -> Result<Vec<Service>, SigningConfigError> {
        select(
            "timestamp authority",
            &self.tsa_urls,
            self.tsa_selector,
            &TSA_API_VERSIONS,
            now,
        )
    }

    /// The newest Fulcio instance valid at `now` (API version 1).
    ///
    /// # Errors
    ///
    /// [`SigningConfigError::NoService`] when none fits.
    pub fn fulcio(&self, now: Timestamp) -> Result<Service, SigningConfigError> {
        select("Fulcio", &self.ca_urls, Selector::Any, &[1], now)?
            .into_iter()
            .next()
            .ok_or(SigningConfigError::NoService {
                what: "Fulcio",
                versions: vec![1],
                wanted: 0,
            })
    }
}

/// sigstore-go's `SelectServices`, deterministic for `ANY` (the newest).
fn select(
    what: &'static str,
    services: &[Service],
    selector: Selector,
    versions: &[u32],
    now: Timestamp,
) -> Result<Vec<Service>, SigningConfigError> {
    let none = |wanted| SigningConfigError::NoService {
        what,
        versions: versions.to_vec(),
        wanted,
    };
    let mut sorted_versions = versions.to_vec();
    sorted_versions.sort_unstable_by(|a, b| b.cmp(a));
    let mut newest_first: Vec<&Service> = services.iter().collect();
    // Stable sort, newest start first; an absent start is the oldest.
    newest_first.sort_by_key(|s| std::cmp::Reverse(s.valid_for.start));
    let mut picked: Vec<Service> = Vec::new();
    for v in sorted_versions {
        for s in &newest_first {
            if s.major_api_version == v
                && s.valid_at(now)
                && !picked.iter().any(|p| p.operator == s.operator)
            {
                picked.push((*s).clone());
            }
        }
        if !picked.is_empty() {
            break;
        }
    }
    if picked.is_empty() {
        return Err(none(0));
    }
    match selector {
        Selector::All => Ok(picked),
        Selector::Any => {
            picked.truncate(1);
            Ok(picked)
        }
        Selector::Exact(n) => {
            let n_usize = usize::try_from(n).unwrap_or(usize::MAX);
            if picked.len() < n_usize {
                return Err(none(n));
            }
            picked.truncate(n_usize);
            Ok(picked)
        }
    }
}

#[cfg(test)]
#[allow(clippy::panic)] // Tests report failures by panicking.
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap_or_else(|e| panic!("{e}"))
    }

    /// The stack's signing config (what `cosign signing-config create` wrote), plus an
    /// expired v2 log and a second operator.
    const CONFIG: &str = r#"{"mediaType":"application/vnd.dev.sigstore.signingconfig.v0.2+json",
      "caUrls":[{"url":"http://127.0.0.1:17002","majorApiVersion":1,"validFor":{"start":"2020-01-01T00:00:00Z"},"operator":"hallmark-stack"}],
      "oidcUrls":[{"url":"http://127.0.0.1:17000","majorApiVersion":1,"validFor":{"start":"2020-01-01T00:00:00Z"},"operator":"hallmark-stack"}],
      "rekorTlogUrls":[
        {"url":"http://127.0.0.1:13000","majorApiVersion":1,"validFor":{"start":"2020-01-01T00:00:00Z"},"operator":"hallmark-stack"},
        {"url":"http://old-v2","majorApiVersion":2,"validFor":{"start":"2019-01-01T00:00:00Z","end":"2021-01-01T00:00:00Z"},"operator":"hallmark-stack"},
        {"url":"http://127.0.0.1:17005","majorApiVersion":2,"validFor":{"start":"2020-01-01T00:00:00Z"},"operator":"hallmark-stack"},
        {"url":"http://other-v2","majorApiVersion":2,"validFor":{"start":"2022-01-01T00:00:00Z"},"operator":"other"}],
      "rekorTlogConfig":{"selector":"ANY"},
      "tsaUrls":[{"url":"http://127.0.0.1:17004/api/v1/timestamp","majorApiVersion":1,"validFor":{"start":"2020-01-01T00:00:00Z"},"operator":"hallmark-stack"}],
      "tsaConfig":{"selector":"ANY"}}"#;

    fn urls(v: &[Service]) -> Vec<&str> {
        v.iter().map(|s| s.url.as_str()).collect()
    }

    #[test]
    fn selects_like_cosign() -> Result<(), SigningConfigError> {
        let c = SigningConfig::from_json(CONFIG.as_bytes())?;
        assert_eq!(c.rekor_tlog_urls.len(), 4);
        assert_eq!(c.rekor_tlog_selector, Selector::Any);
        let now = ts("2026-11-25T20:00:00Z");
        // v2 preferred; the newest valid one; one per operator.
        assert_eq!(
            urls(&c.rekor_logs(&REKOR_API_VERSIONS, now)?),
            ["http://other-v2"]
        );
        let mut all = c.clone();
        all.rekor_tlog_selector = Selector::All;
        assert_eq!(
            urls(&all.rekor_logs(&REKOR_API_VERSIONS, now)?),
            ["http://other-v2", "http://127.0.0.1:17005"]
        );
        assert_eq!(
            urls(&all.rekor_logs(&[1], now)?),
            ["http://127.0.0.1:13000"]
        );
        // In 2019 only the old v2 log was valid; it is no longer valid at its end instant.
        assert_eq!(
            urls(&all.rekor_logs(&REKOR_API_VERSIONS, ts("2019-06-01T00:00:00Z"))?),
            ["http://old-v2"]
        );
        let old = &c.rekor_tlog_urls[1];
        assert!(
            old.valid_at(ts("2020-12-31T23:59:59Z")) && !old.valid_at(ts("2021-01-01T00:00:00Z"))
        );
        let mut exact = c.clone();
        exact.rekor_tlog_selector = Selector::Exact(2);
        assert_eq!(exact.rekor_logs(&[2], now)?.len(), 2);
        exact.rekor_tlog_selector = Selector::Exact(3);
        assert!(matches!(
            exact.rekor_logs(&[2], now),
            Err(SigningConfigError::NoService { wanted: 3, .. })
        ));
        assert!(c.rekor_logs(&[3], now).is_err());
        assert!(c.rekor_logs(&[1, 2], ts("2010-01-01T00:00:00Z")).is_err());
        assert_eq!(
            urls(&c.timestamp_authorities(now)?),
            ["http://127.0.0.1:17004/api/v1/timestamp"]
        );
        assert_eq!(c.fulcio(now)?.url, "http://127.0.0.1:17002");
        Ok(())
    }

    #[test]
    fn rejects_bad_configs() {
        assert!(matches!(
            SigningConfig::from_json(
                br#"{"mediaType":"application/vnd.dev.sigstore.signingconfig.v0.1+json"}"#
            ),
            Err(SigningConfigError::MediaType(_))
        ));
        assert!(matches!(
            SigningConfig::from_json(b"1"),
            Err(SigningConfigError::Json(_))
        ));
        let exact0 = CONFIG.replace(
            r#""rekorTlogConfig":{"selector":"ANY"}"#,
            r#""rekorTlogConfig":{"selector":"EXACT"}"#,
        );
        assert!(matches!(
            SigningConfig::from_json(exact0.as_bytes()),
            Err(SigningConfigError::Selector(_))
        ));
        let exact2 = CONFIG.replace(
            r#""rekorTlogConfig":{"selector":"ANY"}"#,
            r#""rekorTlogConfig":{"selector":"EXACT","count":2}"#,
        );
        assert_eq!(
            SigningConfig::from_json(exact2.as_bytes())
                .map(|c| c.rekor_tlog_selector)
                .ok(),
            Some(Selector::Exact(2))
        );
        let min = br#"{"mediaType":"application/vnd.dev.sigstore.signingconfig.v0.2+json"}"#;
        let c = SigningConfig::from_json(min).unwrap_or_else(|e| panic!("{e}"));
        assert!(c.rekor_logs(&REKOR_API_VERSIONS, Timestamp::now()).is_err());
    }
}
