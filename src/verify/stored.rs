//! Attestations stored on the runs themselves: Chains' `tekton` storage backend (and
//! `hallmark controller`'s) writes a TaskRun's signed envelope into its annotations,
//!
//! - `chains.tekton.dev/signature-taskrun-<UID>`: the DSSE envelope (base64 of its JSON),
//! - `chains.tekton.dev/cert-taskrun-<UID>` and `chains.tekton.dev/chain-taskrun-<UID>`:
//!   the keyless signing certificate and its chain (base64 of PEM; empty for a key).
//!
//! [`pipeline_children`] reads, from a TaskRun list as the Kubernetes API returns it, the
//! stored attestations of the TaskRuns of one PipelineRun (an `ownerReferences` entry with
//! its uid) or of one pipeline (the `tekton.dev/pipeline` label). Pure: the caller lists the TaskRuns and verifies what is found;
//! nothing here is trusted until then.

use base64::Engine as _;
use serde_json::Value;

/// One TaskRun's stored attestation, not yet verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredAttestation {
    /// `NAMESPACE/NAME` of the TaskRun.
    pub run: String,
    /// The DSSE envelope (JSON bytes).
    pub envelope: Vec<u8>,
    /// The signing certificate (PEM), empty when signed with a key.
    pub certificate_pem: String,
    /// The certificate's chain (PEM), possibly empty.
    pub chain_pem: String,
}

/// What [`pipeline_children`] found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Children {
    /// The stored attestations.
    pub attestations: Vec<StoredAttestation>,
    /// Owned TaskRuns without a usable stored attestation (`NAMESPACE/NAME`, why): not
    /// signed yet, signed into another storage, or unreadable annotations.
    pub skipped: Vec<(String, String)>,
}

const SIGNATURE: &str = "chains.tekton.dev/signature-taskrun-";
const CERT: &str = "chains.tekton.dev/cert-taskrun-";
const CHAIN: &str = "chains.tekton.dev/chain-taskrun-";

/// Which TaskRuns of a list belong to the PipelineRun asked about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Owner<'a> {
    /// Those with an `ownerReferences` entry of this uid.
    Uid(&'a str),
    /// Those labelled `tekton.dev/pipeline` with this name (when the PipelineRun's uid is
    /// not known; the caller binds them further).
    Pipeline(&'a str),
}

/// The stored attestations of the TaskRuns in `list` (a `TaskRunList`: `items`) that
/// belong to `owner`. Items that are not objects, do not belong to it or have no uid are
/// ignored; those that belong without a readable attestation are returned in
/// [`Children::skipped`].
#[must_use]
pub fn pipeline_children(list: &Value, owner: Owner<'_>) -> Children {
    let mut out = Children::default();
    for item in list["items"].as_array().into_iter().flatten() {
        let meta = &item["metadata"];
        let owned = match owner {
            Owner::Uid(uid) => meta["ownerReferences"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|o| o["uid"].as_str() == Some(uid)),
            Owner::Pipeline(name) => meta["labels"]["tekton.dev/pipeline"].as_str() == Some(name),
        };
        let Some(uid) = meta["uid"].as_str().filter(|u| !u.is_empty()) else {
            continue;
        };
        if !owned {
            continue;
        }
        let run = format!(
            "{}/{}",
            meta["namespace"].as_str().unwrap_or_default(),
            meta["name"].as_str().unwrap_or_default()
        );
        let annotation = |prefix: &str| meta["annotations"][format!("{prefix}{uid}")].as_str();
        let decode = |prefix: &str| -> Result<Vec<u8>, String> {
            match annotation(prefix) {
                None | Some("") => Ok(Vec::new()),
                Some(b) => base64::engine::general_purpose::STANDARD
                    .decode(b.trim())
                    .map_err(|e| format!("annotation {prefix}{uid} is not base64: {e}")),
            }
        };
        let parts = (|| {
            let envelope = decode(SIGNATURE)?;
            if envelope.is_empty() {
                return Err(format!(
                    "no {SIGNATURE}{uid} annotation (not signed, or not into `tekton` storage)"
                ));
            }
            let text = |b: Vec<u8>, prefix: &str| {
                String::from_utf8(b).map_err(|_| format!("annotation {prefix}{uid} is not UTF-8"))
            };
            Ok(StoredAttestation {
                run: run.clone(),
                envelope,
                certificate_pem: text(decode(CERT)?, CERT)?,
                chain_pem: text(decode(CHAIN)?, CHAIN)?,
            })
        })();
        match parts {
            Ok(a) => out.attestations.push(a),
            Err(why) => out.skipped.push((run, why)),
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::panic, clippy::expect_used)] // Tests report failures by panicking.
mod tests {
    use serde_json::json;

    use super::*;

    fn b64(s: &str) -> String {
        base64::engine::general_purpose::STANDARD.encode(s)
    }

    fn task_run(name: &str, uid: &str, owner: &str, annotations: Value) -> Value {
        json!({"metadata": {"name": name, "namespace": "ns", "uid": uid,
            "ownerReferences": [{"kind": "PipelineRun", "uid": owner}],
            "annotations": annotations}})
    }

    #[test]
    fn owned_task_runs_give_their_stored_envelopes() {
        let list = json!({"items": [
            task_run("pr-clone", "u1", "pr-uid", json!({
                "chains.tekton.dev/signature-taskrun-u1": b64("{\"payload\":\"\"}"),
                "chains.tekton.dev/cert-taskrun-u1": "",
            })),
            task_run("pr-build", "u2", "pr-uid", json!({
                "chains.tekton.dev/signature-taskrun-u2": b64("{}"),
                "chains.tekton.dev/cert-taskrun-u2": b64("-----BEGIN CERTIFICATE-----\n"),
                "chains.tekton.dev/chain-taskrun-u2": b64("chain"),
            })),
            task_run("other", "u3", "other-uid", json!({
                "chains.tekton.dev/signature-taskrun-u3": b64("{}"),
            })),
            task_run("pr-unsigned", "u4", "pr-uid", json!({})),
            task_run("pr-bad", "u5", "pr-uid", json!({
                "chains.tekton.dev/signature-taskrun-u5": "!!",
            })),
            // The annotation of another uid does not count.
            task_run("pr-copied", "u6", "pr-uid", json!({
                "chains.tekton.dev/signature-taskrun-u1": b64("{}"),
            })),
            "not an object",
        ]});
        let c = pipeline_children(&list, Owner::Uid("pr-uid"));
        let runs: Vec<&str> = c.attestations.iter().map(|a| a.run.as_str()).collect();
        assert_eq!(runs, ["ns/pr-clone", "ns/pr-build"]);
        assert_eq!(c.attestations[0].envelope, b"{\"payload\":\"\"}");
        assert!(c.attestations[0].certificate_pem.is_empty());
        assert!(
            c.attestations[1]
                .certificate_pem
                .starts_with("-----BEGIN CERTIFICATE")
        );
        assert_eq!(c.attestations[1].chain_pem, "chain");
        let skipped: Vec<&str> = c.skipped.iter().map(|(r, _)| r.as_str()).collect();
        assert_eq!(skipped, ["ns/pr-unsigned", "ns/pr-bad", "ns/pr-copied"]);
        assert!(c.skipped[1].1.contains("not base64"), "{:?}", c.skipped);
        assert_eq!(
            pipeline_children(&json!({}), Owner::Uid("pr-uid")),
            Children::default()
        );
        // By pipeline label.
        let mut labelled = task_run(
            "p-clone",
            "u7",
            "x",
            json!({
                "chains.tekton.dev/signature-taskrun-u7": b64("{}"),
            }),
        );
        labelled["metadata"]["labels"] = json!({"tekton.dev/pipeline": "build"});
        let list = json!({"items": [labelled, task_run("q", "u8", "x", json!({}))]});
        let c = pipeline_children(&list, Owner::Pipeline("build"));
        assert_eq!(c.attestations.len(), 1);
        assert!(c.skipped.is_empty());
    }
}
