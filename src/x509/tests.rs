//! Tests on the sigstore-conformance bundles and their trusted roots.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use der::Decode as _;
use serde_json::Value;

use super::*;
use crate::test_support::shared_dir;

fn b64(s: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(s.split_whitespace().collect::<String>())
        .unwrap_or_else(|e| panic!("base64: {e}"))
}

/// RFC 3339 (`2021-03-07T03:20:29Z`, optional fraction) via the GeneralizedTime parser.
fn rfc3339(s: &str) -> SystemTime {
    let compact: String = s
        .chars()
        .filter(|c| !matches!(c, '-' | ':' | 'T'))
        .collect();
    tsa::parse_generalized_time(compact.as_bytes()).unwrap_or_else(|| panic!("time {s}"))
}

fn window(v: &Value) -> (Option<SystemTime>, Option<SystemTime>) {
    let f = |k: &str| v["validFor"][k].as_str().map(rfc3339);
    (f("start"), f("end"))
}

fn authorities(list: &Value) -> Vec<CertificateAuthority> {
    list.as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|ca| {
            let ders: Vec<Vec<u8>> = ca["certChain"]["certificates"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default()
                .iter()
                .map(|c| b64(c["rawBytes"].as_str().unwrap_or_default()))
                .collect();
            let (start, end) = window(ca);
            CertificateAuthority::from_der_chain(&ders)
                .unwrap_or_else(|e| panic!("CA: {e}"))
                .with_validity(start, end)
        })
        .collect()
}

/// A CT log key with its `validFor` window.
type CtLog = (Vec<u8>, Option<SystemTime>, Option<SystemTime>);

/// A minimal trusted root: CAs, TSAs and CT log keys by log id.
struct Root {
    cas: Vec<CertificateAuthority>,
    tsas: Vec<CertificateAuthority>,
    ctlogs: BTreeMap<[u8; 32], CtLog>,
}

impl Root {
    fn load(path: &Path) -> Self {
        let text = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let v: Value = serde_json::from_slice(&text).unwrap_or_else(|e| panic!("{e}"));
        let mut ctlogs = BTreeMap::new();
        for log in v["ctlogs"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
        {
            let id = b64(log["logId"]["keyId"].as_str().unwrap_or_default());
            let Ok(id) = <[u8; 32]>::try_from(id.as_slice()) else {
                continue;
            };
            let key = b64(log["publicKey"]["rawBytes"].as_str().unwrap_or_default());
            let (start, end) = window(&log["publicKey"]);
            ctlogs.insert(id, (key, start, end));
        }
        Self {
            cas: authorities(&v["certificateAuthorities"]),
            tsas: authorities(&v["timestampAuthorities"]),
            ctlogs,
        }
    }

    fn ct_keys(&self) -> impl CtLogKeys + '_ {
        |id: &[u8; 32], at: SystemTime| {
            let (key, start, end) = self.ctlogs.get(id)?;
            let ok = start.is_none_or(|s| s <= at) && end.is_none_or(|e| at <= e);
            ok.then(|| key.clone())
        }
    }
}

fn cases_dir() -> PathBuf {
    shared_dir().join("sigstore-conformance/bundle-verify")
}

fn root_for(case: &Path) -> Root {
    let own = case.join("trusted_root.json");
    if own.is_file() {
        Root::load(&own)
    } else {
        Root::load(&shared_dir().join("sigstore-trust/public-good.trusted_root.json"))
    }
}

/// What a bundle holds that these checks need.
struct Case {
    leaf: Option<Certificate>,
    integrated_time: Option<SystemTime>,
    timestamps: Vec<Vec<u8>>,
    signature: Vec<u8>,
}

fn load_case(dir: &Path) -> Case {
    let text = std::fs::read(dir.join("bundle.sigstore.json")).unwrap_or_else(|e| panic!("{e}"));
    let b: Value = serde_json::from_slice(&text).unwrap_or_else(|e| panic!("{e}"));
    let vm = &b["verificationMaterial"];
    let leaf_b64 = vm["certificate"]["rawBytes"]
        .as_str()
        .or_else(|| vm["x509CertificateChain"]["certificates"][0]["rawBytes"].as_str());
    let leaf = leaf_b64.map(|s| Certificate::from_der(&b64(s)).unwrap_or_else(|e| panic!("{e}")));
    let integrated_time = vm["tlogEntries"][0]["integratedTime"]
        .as_str()
        .and_then(|s| s.parse::<u64>().ok())
        .filter(|t| *t > 0)
        .map(|t| UNIX_EPOCH + Duration::from_secs(t));
    let timestamps = vm["timestampVerificationData"]["rfc3161Timestamps"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|t| b64(t["signedTimestamp"].as_str().unwrap_or_default()))
        .collect();
    let signature = b["messageSignature"]["signature"]
        .as_str()
        .or_else(|| b["dsseEnvelope"]["signatures"][0]["sig"].as_str())
        .map(|s| {
            base64::engine::general_purpose::STANDARD
                .decode(s)
                .unwrap_or_default()
        })
        .unwrap_or_default();
    Case {
        leaf,
        integrated_time,
        timestamps,
        signature,
    }
}

/// Outcome of the X.509 checks on one case.
#[derive(Debug)]
struct Outcome {
    tsa: Vec<Result<SystemTime, String>>,
    chain: Result<(), String>,
    sct: Result<(), String>,
    identity: Option<CertificateIdentity>,
}

impl Outcome {
    fn ok(&self) -> bool {
        self.tsa.iter().all(Result::is_ok) && self.chain.is_ok() && self.sct.is_ok()
    }
}

fn run_case(dir: &Path) -> Option<Outcome> {
    let case = load_case(dir);
    let leaf = case.leaf?;
    let root = root_for(dir);
    let tsa: Vec<_> = case
        .timestamps
        .iter()
        .map(|t| {
            verify_timestamp(t, &case.signature, &root.tsas)
                .map(|v| v.gen_time)
                .map_err(|e| format!("{e:?}"))
        })
        .collect();
    // The leaf must be valid at every verified time (integrated time, TSA times).
    let times: Vec<SystemTime> = case
        .integrated_time
        .into_iter()
        .chain(tsa.iter().filter_map(|t| t.as_ref().ok().copied()))
        .collect();
    let mut chain = Err("no verified time".to_owned());
    let mut verified = None;
    for at in &times {
        match verify_chain(&leaf, &root.cas, *at, KeyPurpose::CodeSigning) {
            Ok(c) => {
                if chain.is_err() && verified.is_none() {
                    chain = Ok(());
                }
                verified = Some(c);
            }
            Err(e) => {
                chain = Err(format!("{e:?}"));
                break;
            }
        }
    }
    let sct = match &verified {
        Some(c) => verify_embedded_scts(c, &root.ct_keys())
            .map(|_| ())
            .map_err(|e| format!("{e:?}")),
        None => Err("no chain".to_owned()),
    };
    Some(Outcome {
        tsa,
        chain,
        sct,
        identity: leaf.identity().ok(),
    })
}

fn all_outcomes() -> BTreeMap<String, Outcome> {
    let mut out = BTreeMap::new();
    let mut dirs: Vec<_> = std::fs::read_dir(cases_dir())
        .unwrap_or_else(|e| panic!("{e}"))
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.join("bundle.sigstore.json").is_file())
        .collect();
    dirs.sort();
    for dir in dirs {
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if let Some(o) = run_case(&dir) {
            out.insert(name, o);
        }
    }
    out
}

/// Failing cases whose failure is an X.509 / SCT / TSA check, with the check expected.
const X509_FAILURES: &[(&str, &str)] = &[
    ("bundle-from-wrong-instance_fail", "chain"),
    ("integrated-time-in-future_fail", "chain"),
    ("intoto-tsa-timestamp-outside-cert-validity_fail", "chain"),
    ("invalid-ct-key_fail", "sct"),
    (
        "rekor2-timestamp-outside-trust-root-tsa-validity_fail",
        "tsa",
    ),
    ("rekor2-timestamp-outside-tsa-cert-validity_fail", "tsa"),
    (
        "rekor2-timestamp-untrusted-tsa-with-embedded-cert_fail",
        "tsa",
    ),
    (
        "rekor2-timestamp-untrusted-tsa-without-embedded-cert_fail",
        "tsa",
    ),
    ("rekor2-timestamp-with-incorrect-time_fail", "chain"),
];

#[test]
fn conformance_cases() {
    let outcomes = all_outcomes();
    for (name, o) in &outcomes {
        eprintln!(
            "{name}: tsa={:?} chain={:?} sct={:?} san={:?} issuer={:?}",
            o.tsa,
            o.chain,
            o.sct,
            o.identity.as_ref().and_then(|i| i.san.clone()),
            o.identity
                .as_ref()
                .and_then(|i| i.issuer().map(str::to_owned)),
        );
    }
    assert!(outcomes.len() > 30, "too few cases with certificates");
    for (name, o) in &outcomes {
        let expected = X509_FAILURES.iter().find(|(n, _)| n == name);
        match expected {
            None => assert!(o.ok(), "{name} should pass the X.509 checks: {o:?}"),
            Some((_, "tsa")) => assert!(
                o.tsa.iter().any(Result::is_err),
                "{name}: the timestamp check should fail: {o:?}"
            ),
            Some((_, "chain")) => {
                assert!(
                    o.chain.is_err(),
                    "{name}: the chain check should fail: {o:?}"
                );
            }
            Some((_, "sct")) => {
                assert!(o.chain.is_ok(), "{name}: chain should verify: {o:?}");
                assert!(o.sct.is_err(), "{name}: the SCT check should fail: {o:?}");
            }
            Some(_) => unreachable!(),
        }
    }
}

fn case_dir(name: &str) -> PathBuf {
    cases_dir().join(name)
}

/// The leaf, its verified chain and the trusted root of a happy-path case.
fn happy() -> (Certificate, VerifiedChain, Root) {
    let dir = case_dir("happy-path-v0.3");
    let case = load_case(&dir);
    let leaf = case.leaf.unwrap_or_else(|| panic!("no leaf"));
    let root = root_for(&dir);
    let at = case.integrated_time.unwrap_or_else(|| panic!("no time"));
    let chain = verify_chain(&leaf, &root.cas, at, KeyPurpose::CodeSigning)
        .unwrap_or_else(|e| panic!("{e}"));
    (leaf, chain, root)
}

#[test]
fn chain_shape_and_time_checks() {
    let (leaf, chain, root) = happy();
    assert_eq!(chain.leaf(), &leaf);
    assert_eq!(chain.certificates().len(), 3, "leaf, intermediate, root");
    assert_eq!(
        chain.issuer().subject(),
        "CN=sigstore-intermediate,O=sigstore.dev"
    );
    assert_eq!(chain.authority_index(), 1);
    // Fulcio certificates live ten minutes: one second outside the window fails.
    let before = leaf.not_before() - Duration::from_secs(1);
    let after = leaf.not_after() + Duration::from_secs(1);
    for (at, says) in [(before, "was not yet valid"), (after, "had expired")] {
        let r = verify_chain(&leaf, &root.cas, at, KeyPurpose::CodeSigning);
        assert!(
            matches!(&r, Err(e @ X509Error::CertificateNotValidAt { .. })
                if e.to_string().starts_with(&format!("certificate {says} at "))),
            "{r:?}"
        );
    }
    // Both ends are inclusive.
    for at in [leaf.not_before(), leaf.not_after()] {
        assert!(verify_chain(&leaf, &root.cas, at, KeyPurpose::CodeSigning).is_ok());
    }
    // The wrong key purpose.
    assert!(matches!(
        verify_chain(
            &leaf,
            &root.cas,
            leaf.not_before(),
            KeyPurpose::TimeStamping
        ),
        Err(X509Error::KeyUsage {
            purpose: "timeStamping",
            ..
        })
    ));
    // No authorities, or none valid at the time.
    assert!(matches!(
        verify_chain(&leaf, &[], leaf.not_before(), KeyPurpose::CodeSigning),
        Err(X509Error::NoAuthorities)
    ));
    let closed: Vec<_> = root
        .cas
        .iter()
        .cloned()
        .map(|ca| ca.with_validity(None, Some(UNIX_EPOCH)))
        .collect();
    assert!(matches!(
        verify_chain(&leaf, &closed, leaf.not_before(), KeyPurpose::CodeSigning),
        Err(X509Error::AuthorityNotValidAt { .. })
    ));
    // Only the root as authority: the intermediate is missing, no path.
    let root_only = CertificateAuthority::new(vec![chain.certificates()[2].clone()])
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(matches!(
        verify_chain(
            &leaf,
            &[root_only],
            leaf.not_before(),
            KeyPurpose::CodeSigning
        ),
        Err(X509Error::UntrustedChain { .. })
    ));
    // The leaf cannot act as an issuer (not a CA).
    let bogus = CertificateAuthority::new(vec![leaf.clone(), chain.certificates()[2].clone()])
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(verify_chain(&leaf, &[bogus], leaf.not_before(), KeyPurpose::CodeSigning).is_err());
}

#[test]
fn tampered_certificate_signature_is_rejected() {
    let (leaf, _, root) = happy();
    let mut der = leaf.der().to_vec();
    // The last byte belongs to the signature's S value.
    if let Some(b) = der.last_mut() {
        *b ^= 0x01;
    }
    let tampered = Certificate::from_der(&der).unwrap_or_else(|e| panic!("{e}"));
    assert!(matches!(
        verify_chain(
            &tampered,
            &root.cas,
            leaf.not_before(),
            KeyPurpose::CodeSigning
        ),
        Err(X509Error::UntrustedChain { .. })
    ));
}

#[test]
fn malformed_certificates_are_errors() {
    assert!(matches!(
        Certificate::from_der(b"\x30\x03\x02\x01"),
        Err(X509Error::Malformed { .. })
    ));
    assert!(Certificate::from_der(&[]).is_err());
    let (leaf, _, _) = happy();
    let mut trailing = leaf.der().to_vec();
    trailing.push(0);
    assert!(Certificate::from_der(&trailing).is_err());
    assert!(
        Certificate::from_pem(b"-----BEGIN PUBLIC KEY-----\nAA==\n-----END PUBLIC KEY-----\n")
            .is_err()
    );
    let pem = pem_rfc7468::encode_string("CERTIFICATE", pem_rfc7468::LineEnding::LF, leaf.der())
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        Certificate::from_pem(format!("\n{pem}").as_bytes()).ok(),
        Some(leaf)
    );
    assert!(!X509Error::MissingSct.is_transient());
}

#[test]
fn identity_and_fulcio_extensions() {
    let (leaf, _, _) = happy();
    let id = leaf.identity().unwrap_or_else(|e| panic!("{e}"));
    let san = "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main";
    assert_eq!(id.san, Some(SubjectAlternativeName::Uri(san.to_owned())));
    let ext = &id.extensions;
    assert_eq!(
        ext.issuer_v1.as_deref(),
        Some("https://token.actions.githubusercontent.com")
    );
    assert_eq!(ext.issuer_v2, ext.issuer_v1);
    assert_eq!(
        ext.source_repository_uri.as_deref(),
        Some("https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon")
    );
    assert_eq!(ext.build_signer_uri.as_deref(), Some(san));
    assert_eq!(ext.runner_environment.as_deref(), Some("github-hosted"));
    assert_eq!(
        ext.source_repository_ref.as_deref(),
        Some("refs/heads/main")
    );
    assert!(
        ext.github_workflow_sha
            .as_deref()
            .is_some_and(|s| s.len() == 40)
    );
    assert_eq!(ext.source_repository_digest, ext.github_workflow_sha);

    let issuer = "https://token.actions.githubusercontent.com";
    let exact = IdentityMatcher::new(StringMatcher::exact(san), StringMatcher::exact(issuer));
    assert!(exact.check(&id).is_ok());
    let re = |p: &str| StringMatcher::regex(p).unwrap_or_else(|e| panic!("{e}"));
    let by_regex = IdentityMatcher::new(
        re(r"https://github\.com/sigstore-conformance/.*"),
        re(r"https://token\.actions\.githubusercontent\.com"),
    );
    assert!(by_regex.check(&id).is_ok());
    // Regexes are anchored: a substring does not match.
    let partial = IdentityMatcher::new(re("sigstore-conformance"), re(".*"));
    assert!(matches!(
        partial.check(&id),
        Err(X509Error::SanMismatch { .. })
    ));
    let partial_issuer = IdentityMatcher::new(re(".*"), re("https://token"));
    assert!(matches!(
        partial_issuer.check(&id),
        Err(X509Error::IssuerMismatch { .. })
    ));
    let wrong = IdentityMatcher::new(
        StringMatcher::exact(format!("{san}x")),
        StringMatcher::exact(issuer),
    );
    assert!(matches!(
        wrong.check(&id),
        Err(X509Error::SanMismatch { .. })
    ));
    assert!(matches!(
        StringMatcher::regex("("),
        Err(X509Error::Regex(_))
    ));
}

#[test]
fn identity_files_of_conformance_case() {
    // integrated-time-in-future_fail names its expected identity (an email SAN).
    let dir = case_dir("integrated-time-in-future_fail");
    let read = |f: &str| {
        std::fs::read_to_string(dir.join(f))
            .unwrap_or_else(|e| panic!("{e}"))
            .trim()
            .to_owned()
    };
    let leaf = load_case(&dir).leaf.unwrap_or_else(|| panic!("no leaf"));
    let id = leaf.identity().unwrap_or_else(|e| panic!("{e}"));
    assert!(matches!(id.san, Some(SubjectAlternativeName::Email(_))));
    let m = IdentityMatcher::new(
        StringMatcher::exact(read("identity")),
        StringMatcher::exact(read("issuer")),
    );
    assert!(m.check(&id).is_ok());
    // A GitHub workflow identity does not match it.
    let (happy_leaf, _, _) = happy();
    let other = happy_leaf.identity().unwrap_or_else(|e| panic!("{e}"));
    assert!(m.check(&other).is_err());
    assert!(matches!(
        m.check(&CertificateIdentity {
            san: id.san.clone(),
            extensions: FulcioExtensions::default()
        }),
        Err(X509Error::MissingIssuer)
    ));
}

#[test]
fn sct_checks() {
    let (leaf, chain, root) = happy();
    let scts = embedded_scts(&leaf).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(scts.len(), 1);
    let sct = verify_embedded_scts(&chain, &root.ct_keys()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(sct, scts[0]);
    assert!(sct.time() >= leaf.not_before() - Duration::from_secs(60));
    // The precertificate TBS is the TBS minus the SCT extension.
    let pre = precertificate_tbs(&leaf).unwrap_or_else(|e| panic!("{e}"));
    assert!(pre.len() < leaf.tbs_der().len());
    // Wrong issuer key hash (root instead of intermediate): no SCT verifies.
    assert!(matches!(
        verify_embedded_scts_with_issuer(&leaf, &chain.certificates()[2], &root.ct_keys()),
        Err(X509Error::SctNotVerified {
            checked: 1,
            unknown_logs: 0
        })
    ));
    // A log that is not trusted at the SCT's time, or unknown.
    let none = |_: &[u8; 32], _: SystemTime| None;
    assert!(matches!(
        verify_embedded_scts(&chain, &none),
        Err(X509Error::SctNotVerified {
            unknown_logs: 1,
            ..
        })
    ));
    // The right log id but another key.
    let other_key = root
        .ctlogs
        .iter()
        .find(|(id, _)| **id != sct.log_id)
        .map(|(_, (k, _, _))| k.clone())
        .unwrap_or_else(|| panic!("need a second CT log key"));
    let swapped = move |_: &[u8; 32], _: SystemTime| Some(other_key.clone());
    assert!(verify_embedded_scts(&chain, &swapped).is_err());
    // The trusted root's other CA chain has no SCT to offer for its own certificates.
    assert!(matches!(
        embedded_scts(chain.issuer()),
        Err(X509Error::MissingSct)
    ));
}

#[test]
fn sct_with_extensions_verifies() {
    let dir = case_dir("bundle-with-sct-with-extensions");
    let case = load_case(&dir);
    let leaf = case.leaf.unwrap_or_else(|| panic!("no leaf"));
    let scts = embedded_scts(&leaf).unwrap_or_else(|e| panic!("{e}"));
    assert!(scts.iter().any(|s| !s.extensions.is_empty()));
}

#[test]
fn sct_list_parsing() {
    let (leaf, _, _) = happy();
    let (_, value) = leaf
        .extension(&pki::oid::SCT_LIST)
        .unwrap_or_else(|| panic!("no SCT extension"));
    let list = der::asn1::OctetStringRef::from_der(value)
        .unwrap_or_else(|e| panic!("{e}"))
        .as_bytes()
        .to_vec();
    assert_eq!(parse_sct_list(&list).map(|l| l.len()).ok(), Some(1));
    for cut in 0..list.len() {
        assert!(parse_sct_list(&list[..cut]).is_err(), "truncated at {cut}");
    }
    let mut trailing = list.clone();
    trailing.push(0);
    assert!(matches!(
        parse_sct_list(&trailing),
        Err(X509Error::SctFormat(_))
    ));
    assert!(matches!(
        parse_sct_list(&[0, 0]),
        Err(X509Error::SctFormat("empty list"))
    ));
    // A flipped signature byte parses but no longer verifies.
    let mut flipped = list;
    if let Some(b) = flipped.last_mut() {
        *b ^= 1;
    }
    assert!(parse_sct_list(&flipped).is_ok());
}

#[test]
fn timestamp_checks() {
    let dir = case_dir("rekor2-happy-path");
    let case = load_case(&dir);
    let root = root_for(&dir);
    let ts = &case.timestamps[0];
    let verified =
        verify_timestamp(ts, &case.signature, &root.tsas).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(cert::unix(verified.gen_time), 1_749_729_740);
    assert_eq!(verified.chain.certificates().len(), 2);
    assert_eq!(
        Timestamp::parse(ts).map(|t| t.gen_time()).ok(),
        Some(verified.gen_time)
    );
    // The imprint must be the hash of these signature bytes.
    let mut other = case.signature.clone();
    other.push(0);
    assert!(matches!(
        verify_timestamp(ts, &other, &root.tsas),
        Err(X509Error::TimestampImprint)
    ));
    // Fulcio CAs are not timestamp authorities.
    assert!(verify_timestamp(ts, &case.signature, &root.cas).is_err());
    assert!(matches!(
        verify_timestamp(ts, &case.signature, &[]),
        Err(X509Error::NoAuthorities)
    ));
    // Flipping any byte of the token must not verify (nor panic).
    for i in (0..ts.len()).step_by(7) {
        let mut t = ts.clone();
        t[i] ^= 0x01;
        let r = verify_timestamp(&t, &case.signature, &root.tsas);
        assert!(
            r.is_err() || r.as_ref().is_ok_and(|v| v.gen_time == verified.gen_time),
            "byte {i}"
        );
    }
    assert!(Timestamp::parse(b"").is_err());
    assert!(Timestamp::parse(&[0x30, 0x03, 0x30, 0x01, 0x02]).is_err());
}

#[test]
fn cosign_oci_attestation_certificate() {
    // cosign's testdata: a v0.3 bundle and the public-good trusted root it verifies with.
    let dir = shared_dir().join("cosign");
    let text =
        std::fs::read(dir.join("oci-attestation.sigstore.json")).unwrap_or_else(|e| panic!("{e}"));
    let b: Value = serde_json::from_slice(&text).unwrap_or_else(|e| panic!("{e}"));
    let vm = &b["verificationMaterial"];
    let leaf = Certificate::from_der(&b64(vm["certificate"]["rawBytes"]
        .as_str()
        .unwrap_or_default()))
    .unwrap_or_else(|e| panic!("{e}"));
    let at = vm["tlogEntries"][0]["integratedTime"]
        .as_str()
        .and_then(|s| s.parse::<u64>().ok())
        .map(|t| UNIX_EPOCH + Duration::from_secs(t))
        .unwrap_or_else(|| panic!("no integrated time"));
    let root = Root::load(&dir.join("trusted_root_pgi.json"));
    let chain = verify_chain(&leaf, &root.cas, at, KeyPurpose::CodeSigning)
        .unwrap_or_else(|e| panic!("{e}"));
    verify_embedded_scts(&chain, &root.ct_keys()).unwrap_or_else(|e| panic!("{e}"));
    let id = leaf.identity().unwrap_or_else(|e| panic!("{e}"));
    assert!(id.san.is_some() && id.issuer().is_some(), "{id:?}");
}
