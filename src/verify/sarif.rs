//! `hallmark verify --sarif FILE`: the decision as a SARIF 2.1.0 log.
//!
//! One run whose tool driver is `hallmark`, with one rule per check name that appears
//! (`signature`, `builder-id`, `policy`, ...). A denial or error gives one result per
//! reason of the JSON report, level `error`; a pass gives one `note` result per
//! requested check (or one `verify` note when none was requested). Every result's
//! location is the artifact as given (the image reference, file path or `sha256:HEX`).
//! The reason's other fields (`expected`, `found`, `location`, `policy`) go into the
//! result's `properties`. [`render`] is pure over the report's fields.

use serde_json::{Map, Value, json};

/// The SARIF version written.
pub const SARIF_VERSION: &str = "2.1.0";
/// The `$schema` written: the OASIS SARIF 2.1.0 JSON schema.
pub const SARIF_SCHEMA: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

/// One result: its check (rule id), message and properties.
type Item = (String, String, Map<String, Value>);

/// A short description of a check name, for the rule.
fn describe(check: &str) -> &'static str {
    match check {
        "signature" => "A signature verifies with the key or certificate",
        "payload-type" => "The DSSE payload type is in-toto",
        "statement" => "The payload is an in-toto Statement",
        "predicate-type" => "The predicate type is the one asked for",
        "subject" => "The artifact is a subject of the statement",
        "message-digest" => "The message signature's digest matches the artifact",
        "transparency-log" => "A transparency log entry verifies and records the signature",
        "signer" => "The key material is the key or identity the policy names",
        "certificate" => "The certificate chains to a trusted Fulcio CA",
        "sct" => "The certificate has a valid signed certificate timestamp",
        "identity" => "The certificate identity and OIDC issuer match",
        "timestamp" => "There is a verified signing time",
        "builder-id" => "SLSA: the builder id is the one required",
        "build-type" => "SLSA: the build type is the one required",
        "source-uri" => "SLSA: a source has the required URI",
        "source-ref" => "SLSA: the source has the required revision",
        "param" => "SLSA: a build parameter has the required value",
        "max-age" => "SLSA: the build is recent enough",
        "threshold" => "Enough distinct signers attest the artifact",
        "policy" => "The Rego policies (--policy) allow the artifact",
        "attestations" => "An attestation beside the image verifies",
        "attestation" => "An attestation beside the image can be read",
        "registry" => "The registry can be read",
        "trusted-root" => "The trusted root can be used",
        "verify" => "The artifact verifies",
        _ => "A hallmark verify check",
    }
}

/// Render the decision as a SARIF log.
///
/// `decision` is `pass`, `deny` or `error`; `reasons` the report's `reasons`
/// (`{"check", "message", ...}` each); `checks` the report's requested `checks`
/// (`{"check", "expected"}` each), used for a pass; `artifact` the artifact as given.
#[must_use]
pub fn render(
    decision: &str,
    reasons: &[Value],
    checks: &[Value],
    artifact: &str,
    tool_version: &str,
) -> Value {
    let (level, items): (&str, Vec<Item>) = if decision == "pass" {
        let mut items: Vec<_> = checks
            .iter()
            .map(|c| {
                let check = c["check"].as_str().unwrap_or("verify").to_owned();
                let expected = c["expected"].as_str().unwrap_or_default();
                let mut props = Map::new();
                props.insert("expected".into(), json!(expected));
                (check.clone(), format!("{check} passed: {expected}"), props)
            })
            .collect();
        if items.is_empty() {
            items.push((
                "verify".into(),
                format!("pass: {artifact} verified"),
                Map::new(),
            ));
        }
        ("note", items)
    } else {
        let items = reasons
            .iter()
            .map(|r| {
                let check = r["check"].as_str().unwrap_or("verify").to_owned();
                let message = r["message"]
                    .as_str()
                    .map_or_else(|| format!("{decision}: {check}"), str::to_owned);
                let props = r
                    .as_object()
                    .map(|o| {
                        o.iter()
                            .filter(|(k, _)| *k != "check" && *k != "message")
                            .map(|(k, v)| (k.clone(), v.clone()))
                            .collect()
                    })
                    .unwrap_or_default();
                (check, message, props)
            })
            .collect();
        ("error", items)
    };
    let mut rule_ids: Vec<String> = Vec::new();
    for (check, _, _) in &items {
        if !rule_ids.contains(check) {
            rule_ids.push(check.clone());
        }
    }
    let rules: Vec<Value> = rule_ids
        .iter()
        .map(|id| json!({"id": id, "shortDescription": {"text": describe(id)}}))
        .collect();
    let results: Vec<Value> = items
        .into_iter()
        .map(|(check, message, props)| {
            let index = rule_ids.iter().position(|r| *r == check).unwrap_or(0);
            let mut r = json!({
                "ruleId": check,
                "ruleIndex": index,
                "level": level,
                "message": {"text": message},
                "locations": [{"physicalLocation": {"artifactLocation": {"uri": artifact}}}],
            });
            if !props.is_empty() {
                r["properties"] = Value::Object(props);
            }
            r
        })
        .collect();
    json!({
        "$schema": SARIF_SCHEMA,
        "version": SARIF_VERSION,
        "runs": [{
            "tool": {"driver": {
                "name": "hallmark",
                "version": tool_version,
                "rules": rules,
            }},
            "invocations": [{"executionSuccessful": decision != "error"}],
            "results": results,
            "properties": {"decision": decision},
        }],
    })
}

#[cfg(test)]
#[allow(clippy::panic)] // Tests report failures by panicking.
mod tests {
    use super::*;

    const IMAGE: &str = "registry.example.com/app@sha256:00c9c46cf9dc40d88583ea0ce63c77d8029a606cac6c23590fab5f152d431ed3";

    /// The SARIF 2.1.0 fields every consumer needs: `version`, `$schema`, `runs[]` with
    /// `tool.driver.name`, results with a `message.text`, a known `level`, a `ruleId`
    /// whose `ruleIndex` points at that rule, and an artifact location.
    fn assert_shape(log: &Value) {
        assert_eq!(log["version"], "2.1.0");
        assert_eq!(log["$schema"], SARIF_SCHEMA);
        let runs = log["runs"]
            .as_array()
            .unwrap_or_else(|| panic!("runs: {log}"));
        assert_eq!(runs.len(), 1);
        let driver = &runs[0]["tool"]["driver"];
        assert_eq!(driver["name"], "hallmark");
        let rules = driver["rules"]
            .as_array()
            .unwrap_or_else(|| panic!("{log}"));
        let results = runs[0]["results"]
            .as_array()
            .unwrap_or_else(|| panic!("{log}"));
        assert!(!results.is_empty());
        for r in results {
            assert!(r["message"]["text"].as_str().is_some_and(|t| !t.is_empty()));
            assert!(matches!(
                r["level"].as_str(),
                Some("none" | "note" | "warning" | "error")
            ));
            let i = r["ruleIndex"].as_u64().unwrap_or(u64::MAX);
            let rule = rules.get(usize::try_from(i).unwrap_or(usize::MAX));
            assert_eq!(rule.map(|rule| &rule["id"]), Some(&r["ruleId"]), "{r}");
            assert!(rule.is_some_and(|rule| rule["shortDescription"]["text"].is_string()));
            assert_eq!(
                r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
                IMAGE
            );
        }
    }

    #[test]
    fn deny_gives_one_error_per_reason() {
        let reasons = vec![
            json!({"check": "builder-id", "message": "builder-id: expected a, found b",
                   "expected": "a", "found": "b"}),
            json!({"check": "policy", "message": "materials from evil.example",
                   "policy": "config/policies/materials.rego"}),
            json!({"check": "policy", "message": "too old", "policy": "age.rego"}),
        ];
        let log = render("deny", &reasons, &[], IMAGE, "0.1.0");
        assert_shape(&log);
        let results = log["runs"][0]["results"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert_eq!(results.len(), 3);
        assert!(results.iter().all(|r| r["level"] == "error"));
        assert_eq!(results[1]["ruleId"], "policy");
        assert_eq!(results[2]["ruleIndex"], 1);
        assert_eq!(
            results[1]["properties"]["policy"],
            "config/policies/materials.rego"
        );
        assert_eq!(results[0]["properties"]["found"], "b");
        assert_eq!(
            log["runs"][0]["tool"]["driver"]["rules"]
                .as_array()
                .map(Vec::len),
            Some(2)
        );
        assert_eq!(
            log["runs"][0]["invocations"][0]["executionSuccessful"],
            true
        );
    }

    #[test]
    fn pass_gives_notes() {
        let checks =
            vec![json!({"check": "builder-id", "expected": "https://tekton.dev/chains/v2"})];
        let log = render("pass", &[], &checks, IMAGE, "0.1.0");
        assert_shape(&log);
        assert_eq!(log["runs"][0]["results"][0]["level"], "note");
        assert_eq!(log["runs"][0]["results"][0]["ruleId"], "builder-id");
        let log = render("pass", &[], &[], IMAGE, "0.1.0");
        assert_shape(&log);
        assert_eq!(log["runs"][0]["results"][0]["ruleId"], "verify");
        let log = render(
            "error",
            &[json!({"check": "registry", "message": "connection refused"})],
            &[],
            IMAGE,
            "0.1.0",
        );
        assert_shape(&log);
        assert_eq!(
            log["runs"][0]["invocations"][0]["executionSuccessful"],
            false
        );
    }
}
