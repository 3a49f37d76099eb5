//! Signer identity of a Fulcio certificate and the identity matcher.
//!
//! The identity is the subject alternative name (RFC 5280 §4.2.1.6): an email
//! (`rfc822Name`), a URI, or Fulcio's `otherName` of type `1.3.6.1.4.1.57264.1.7`
//! (UTF8String username) — the first present, in that order, like sigstore-go. The OIDC
//! issuer comes from Fulcio's extension `1.3.6.1.4.1.57264.1.8` (DER UTF8String), or the
//! deprecated `1.3.6.1.4.1.57264.1.1` (raw string bytes) when `.8` is absent. The other
//! Fulcio extensions (`.2`–`.6` deprecated GitHub ones, raw strings; `.9`–`.23`, DER
//! UTF8Strings) are exposed in [`FulcioExtensions`] (Fulcio `docs/oid-info.md`).

use std::fmt;

use der::Decode as _;
use der::asn1::{ObjectIdentifier, Utf8StringRef};
use x509_cert::ext::pkix::SubjectAltName;
use x509_cert::ext::pkix::name::GeneralName;

use super::X509Error;
use super::cert::Certificate;

/// Fulcio's otherName SAN type (username identities).
const OTHER_NAME_USERNAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.7");
/// Fulcio's OID arc.
const FULCIO_ARC: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1");

/// The subject alternative name that identifies the signer.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SubjectAlternativeName {
    /// `rfc822Name` (email identities).
    Email(String),
    /// `uniformResourceIdentifier` (workflow / service identities).
    Uri(String),
    /// Fulcio's `otherName` username (`1.3.6.1.4.1.57264.1.7`).
    OtherName(String),
}

impl SubjectAlternativeName {
    /// The identity string.
    #[must_use]
    pub fn as_str(&self) -> &str {
        match self {
            Self::Email(s) | Self::Uri(s) | Self::OtherName(s) => s,
        }
    }
}

impl fmt::Display for SubjectAlternativeName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Fulcio's certificate extensions (arc `1.3.6.1.4.1.57264.1`); absent ones are `None`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct FulcioExtensions {
    /// `.1` OIDC issuer (deprecated, raw string).
    pub issuer_v1: Option<String>,
    /// `.2` GitHub workflow trigger (deprecated).
    pub github_workflow_trigger: Option<String>,
    /// `.3` GitHub workflow SHA (deprecated).
    pub github_workflow_sha: Option<String>,
    /// `.4` GitHub workflow name (deprecated).
    pub github_workflow_name: Option<String>,
    /// `.5` GitHub workflow repository (deprecated).
    pub github_workflow_repository: Option<String>,
    /// `.6` GitHub workflow ref (deprecated).
    pub github_workflow_ref: Option<String>,
    /// `.8` OIDC issuer (DER UTF8String).
    pub issuer_v2: Option<String>,
    /// `.9` build signer URI.
    pub build_signer_uri: Option<String>,
    /// `.10` build signer digest.
    pub build_signer_digest: Option<String>,
    /// `.11` runner environment.
    pub runner_environment: Option<String>,
    /// `.12` source repository URI.
    pub source_repository_uri: Option<String>,
    /// `.13` source repository digest.
    pub source_repository_digest: Option<String>,
    /// `.14` source repository ref.
    pub source_repository_ref: Option<String>,
    /// `.15` source repository identifier.
    pub source_repository_identifier: Option<String>,
    /// `.16` source repository owner URI.
    pub source_repository_owner_uri: Option<String>,
    /// `.17` source repository owner identifier.
    pub source_repository_owner_identifier: Option<String>,
    /// `.18` build config URI.
    pub build_config_uri: Option<String>,
    /// `.19` build config digest.
    pub build_config_digest: Option<String>,
    /// `.20` build trigger.
    pub build_trigger: Option<String>,
    /// `.21` run invocation URI.
    pub run_invocation_uri: Option<String>,
    /// `.22` source repository visibility at signing.
    pub source_repository_visibility_at_signing: Option<String>,
    /// `.23` deployment environment.
    pub deployment_environment: Option<String>,
}

impl FulcioExtensions {
    /// The OIDC issuer: `.8` when present, else the deprecated `.1`.
    #[must_use]
    pub fn issuer(&self) -> Option<&str> {
        self.issuer_v2.as_deref().or(self.issuer_v1.as_deref())
    }

    fn slot(&mut self, arc: u32) -> Option<(&mut Option<String>, bool)> {
        // (field, whether the value is a DER UTF8String rather than raw bytes)
        Some(match arc {
            1 => (&mut self.issuer_v1, false),
            2 => (&mut self.github_workflow_trigger, false),
            3 => (&mut self.github_workflow_sha, false),
            4 => (&mut self.github_workflow_name, false),
            5 => (&mut self.github_workflow_repository, false),
            6 => (&mut self.github_workflow_ref, false),
            8 => (&mut self.issuer_v2, true),
            9 => (&mut self.build_signer_uri, true),
            10 => (&mut self.build_signer_digest, true),
            11 => (&mut self.runner_environment, true),
            12 => (&mut self.source_repository_uri, true),
            13 => (&mut self.source_repository_digest, true),
            14 => (&mut self.source_repository_ref, true),
            15 => (&mut self.source_repository_identifier, true),
            16 => (&mut self.source_repository_owner_uri, true),
            17 => (&mut self.source_repository_owner_identifier, true),
            18 => (&mut self.build_config_uri, true),
            19 => (&mut self.build_config_digest, true),
            20 => (&mut self.build_trigger, true),
            21 => (&mut self.run_invocation_uri, true),
            22 => (&mut self.source_repository_visibility_at_signing, true),
            23 => (&mut self.deployment_environment, true),
            _ => return None,
        })
    }
}

/// The signer identity a certificate carries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertificateIdentity {
    /// The identifying SAN, if any.
    pub san: Option<SubjectAlternativeName>,
    /// Fulcio's extensions.
    pub extensions: FulcioExtensions,
}

impl CertificateIdentity {
    pub(crate) fn from_certificate(cert: &Certificate) -> Result<Self, X509Error> {
        let san = match cert
            .inner()
            .tbs_certificate
            .get::<SubjectAltName>()
            .map_err(X509Error::malformed("subject alternative name"))?
        {
            Some((_, names)) => pick_san(&names.0)?,
            None => None,
        };
        let mut extensions = FulcioExtensions::default();
        for ext in cert
            .inner()
            .tbs_certificate
            .extensions
            .as_deref()
            .unwrap_or(&[])
        {
            let Some(arc) = fulcio_arc(&ext.extn_id) else {
                continue;
            };
            let Some((field, is_der)) = extensions.slot(arc) else {
                continue;
            };
            let bytes = ext.extn_value.as_bytes();
            let value = if is_der {
                Utf8StringRef::from_der(bytes)
                    .map_err(X509Error::malformed("Fulcio extension"))?
                    .as_str()
                    .to_owned()
            } else {
                String::from_utf8(bytes.to_vec()).map_err(|_| X509Error::Malformed {
                    what: "Fulcio extension",
                    source: None,
                })?
            };
            *field = Some(value);
        }
        Ok(Self { san, extensions })
    }

    /// The OIDC issuer (see [`FulcioExtensions::issuer`]).
    #[must_use]
    pub fn issuer(&self) -> Option<&str> {
        self.extensions.issuer()
    }
}

/// The last arc of a Fulcio extension OID (`1.3.6.1.4.1.57264.1.N` → `N`).
fn fulcio_arc(id: &ObjectIdentifier) -> Option<u32> {
    if id.parent()? != FULCIO_ARC {
        return None;
    }
    id.arcs().last()
}

fn pick_san(names: &[GeneralName]) -> Result<Option<SubjectAlternativeName>, X509Error> {
    if let Some(email) = names.iter().find_map(|n| match n {
        GeneralName::Rfc822Name(s) => Some(s.as_str().to_owned()),
        _ => None,
    }) {
        return Ok(Some(SubjectAlternativeName::Email(email)));
    }
    if let Some(uri) = names.iter().find_map(|n| match n {
        GeneralName::UniformResourceIdentifier(s) => Some(s.as_str().to_owned()),
        _ => None,
    }) {
        return Ok(Some(SubjectAlternativeName::Uri(uri)));
    }
    for name in names {
        if let GeneralName::OtherName(other) = name
            && other.type_id == OTHER_NAME_USERNAME
        {
            let value = other
                .value
                .decode_as::<Utf8StringRef<'_>>()
                .map_err(X509Error::malformed("otherName SAN"))?;
            return Ok(Some(SubjectAlternativeName::OtherName(
                value.as_str().to_owned(),
            )));
        }
    }
    Ok(None)
}

/// Matches one string exactly or by a regular expression that must match all of it.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum StringMatcher {
    /// Byte-for-byte equality.
    Exact(String),
    /// A regular expression, anchored ([`StringMatcher::regex`]) or not
    /// ([`StringMatcher::regex_unanchored`], cosign's semantics).
    Regex(regex::Regex),
}

impl StringMatcher {
    /// An exact matcher.
    #[must_use]
    pub fn exact(value: impl Into<String>) -> Self {
        Self::Exact(value.into())
    }

    /// A regular-expression matcher; the pattern must match the whole string.
    ///
    /// # Errors
    ///
    /// [`X509Error::Regex`] when the pattern does not compile.
    pub fn regex(pattern: &str) -> Result<Self, X509Error> {
        regex::Regex::new(&format!("^(?:{pattern})$"))
            .map(Self::Regex)
            .map_err(X509Error::Regex)
    }

    /// A regular-expression matcher with Go's `regexp.MatchString` semantics: the
    /// pattern may match anywhere in the string (unanchored), as cosign and sigstore-go
    /// match `--certificate-identity-regexp` / `--certificate-oidc-issuer-regexp`. Write
    /// `^…$` to require a whole-string match.
    ///
    /// # Errors
    ///
    /// [`X509Error::Regex`] when the pattern does not compile.
    pub fn regex_unanchored(pattern: &str) -> Result<Self, X509Error> {
        regex::Regex::new(pattern)
            .map(Self::Regex)
            .map_err(X509Error::Regex)
    }

    /// Whether `value` matches.
    #[must_use]
    pub fn matches(&self, value: &str) -> bool {
        match self {
            Self::Exact(s) => s == value,
            Self::Regex(r) => r.is_match(value),
        }
    }
}

impl fmt::Display for StringMatcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Exact(s) => write!(f, "`{s}`"),
            Self::Regex(r) => write!(f, "pattern `{}`", r.as_str()),
        }
    }
}

/// The expected signer: SAN and OIDC issuer (cosign's `--certificate-identity[-regexp]`
/// and `--certificate-oidc-issuer[-regexp]`).
#[derive(Clone, Debug)]
pub struct IdentityMatcher {
    /// Matcher for the SAN.
    pub san: StringMatcher,
    /// Matcher for the OIDC issuer.
    pub issuer: StringMatcher,
}

impl IdentityMatcher {
    /// A matcher from its two parts.
    #[must_use]
    pub fn new(san: StringMatcher, issuer: StringMatcher) -> Self {
        Self { san, issuer }
    }

    /// Check `identity` against the matcher.
    ///
    /// # Errors
    ///
    /// [`X509Error::MissingSan`] / [`X509Error::MissingIssuer`] when the certificate lacks
    /// them; [`X509Error::SanMismatch`] / [`X509Error::IssuerMismatch`] when they differ.
    pub fn check(&self, identity: &CertificateIdentity) -> Result<(), X509Error> {
        let san = identity.san.as_ref().ok_or(X509Error::MissingSan)?;
        if !self.san.matches(san.as_str()) {
            return Err(X509Error::SanMismatch {
                found: san.as_str().to_owned(),
                expected: self.san.to_string(),
            });
        }
        let issuer = identity.issuer().ok_or(X509Error::MissingIssuer)?;
        if !self.issuer.matches(issuer) {
            return Err(X509Error::IssuerMismatch {
                found: issuer.to_owned(),
                expected: self.issuer.to_string(),
            });
        }
        Ok(())
    }
}
