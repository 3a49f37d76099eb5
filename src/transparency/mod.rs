//! Transparency log (Rekor) verification, offline and pure: Merkle proofs, signed
//! checkpoints, signed entry timestamps, entry bodies, and one entry of a bundle
//! checked against a trusted root.
//!
//! - [`merkle`]: RFC 6962 / RFC 9162 §2.1 leaf hashes, inclusion and consistency proofs.
//! - [`checkpoint`]: C2SP signed-note checkpoints and their key hints.
//! - [`set`]: Rekor v1 signed entry timestamps (JCS, RFC 8785).
//! - [`body`]: `hashedrekord`, `dsse` and `intoto` entry bodies and their match with
//!   a bundle's content.
//! - [`verify_tlog_entry`]: the checks sigstore-go's `pkg/tlog` and `pkg/verify` make on a
//!   bundle's `tlogEntries[i]`, failing closed when the entry carries no proof.

pub mod body;
pub mod checkpoint;
pub mod merkle;
pub mod set;

pub use body::{EntryBody, EntryDigest, EntrySignature, EntryVerifier, Signer};
pub use checkpoint::{Checkpoint, NoteSignature, SignedCheckpoint};

use jiff::Timestamp;

use crate::bundle::TransparencyLogEntry;
use crate::trust::{TrustError, TrustedRoot};

/// Errors verifying transparency log material.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TransparencyError {
    /// The log is unknown to the trusted root, its key is not valid at the entry's time,
    /// or the key is of an unsupported kind.
    #[error("transparency log key")]
    Trust(#[from] TrustError),
    /// The entry's log index (or the proof's) is negative.
    #[error("negative log index")]
    NegativeIndex,
    /// The entry's integrated time is negative or later than now.
    #[error("integrated time {0} is invalid or in the future")]
    IntegratedTime(i64),
    /// The entry body is not a well-formed body of its kind.
    #[error("malformed entry body: {0}")]
    MalformedBody(&'static str),
    /// The entry kind or version is not one hallmark verifies.
    #[error("unsupported entry kind {kind} {version}")]
    UnsupportedEntry {
        /// The kind.
        kind: String,
        /// The API version.
        version: String,
    },
    /// The bundle's `kindVersion` disagrees with the body's.
    #[error("entry kindVersion does not match its body")]
    KindMismatch,
    /// The body does not record the bundle's content, signature or signer.
    #[error("entry body does not match the bundle: {0}")]
    BodyMismatch(&'static str),
    /// JCS serialization of the SET payload failed.
    #[error("cannot canonicalize the SET payload")]
    Canonicalization(#[source] serde_json::Error),
    /// The signed entry timestamp does not verify with the log key.
    #[error("signed entry timestamp does not verify")]
    InvalidSet,
    /// The inclusion proof is malformed or does not lead to its root.
    #[error("inclusion proof: {0}")]
    InclusionProof(&'static str),
    /// The consistency proof does not hold.
    #[error("consistency proof: {0}")]
    ConsistencyProof(&'static str),
    /// The checkpoint note is malformed.
    #[error("malformed checkpoint: {0}")]
    Checkpoint(&'static str),
    /// No checkpoint signature line from the log verifies.
    #[error("no checkpoint signature from the log verifies")]
    CheckpointSignature,
    /// The checkpoint's size or root hash differs from the inclusion proof's.
    #[error("checkpoint does not match the inclusion proof")]
    CheckpointMismatch,
    /// The entry has neither a signed entry timestamp nor an inclusion proof, or lacks
    /// one the caller requires.
    #[error("transparency log entry has no {0}")]
    Missing(&'static str),
}

impl TransparencyError {
    /// Whether retrying may help: never, everything here is a check on given bytes
    /// (a trust error says for itself).
    #[must_use]
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Trust(e) => e.is_transient(),
            _ => false,
        }
    }
}

/// What [`verify_tlog_entry`] needs besides the entry and the trusted root.
#[derive(Clone, Debug, Default)]
pub struct TlogOptions {
    /// The current time (integrated times after it fail); `None`: the system clock.
    pub now: Option<Timestamp>,
    /// For entries without an integrated time (Rekor v2): the verified signing time
    /// (e.g. an RFC 3161 timestamp) at which the log key must be valid; `None`: `now`.
    pub signed_time: Option<Timestamp>,
    /// Fail unless the entry has an inclusion proof (bundle v0.2+, Rekor v2).
    pub require_inclusion_proof: bool,
}

/// A verified transparency log entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedEntry {
    /// The entry's (global, for Rekor v1) log index.
    pub log_index: i64,
    /// When the log integrated it (Rekor v1), only when its signed entry timestamp
    /// verified: the SET is what signs the time (an inclusion proof and its checkpoint do
    /// not cover it, so a proof-only entry's `integratedTime` is anyone's claim, as in
    /// sigstore-go). `None` for Rekor v2 and for entries without a SET.
    pub integrated_time: Option<Timestamp>,
    /// The log id.
    pub log_id: Vec<u8>,
    /// The log's base URL from the trusted root.
    pub log_url: String,
    /// The parsed body (match it with [`EntryBody::check_bundle`]).
    pub body: EntryBody,
    /// Whether a signed entry timestamp was verified.
    pub set_verified: bool,
    /// The verified checkpoint, when an inclusion proof was verified.
    pub checkpoint: Option<Checkpoint>,
}

/// Verify one bundle transparency log entry against the trusted root:
///
/// 1. indexes are non-negative, the body parses and its kind/version is the entry's;
/// 2. the log (by `logId`) is in the trusted root with a key valid at the integrated
///    time (Rekor v1) or at [`TlogOptions::signed_time`] (Rekor v2), and the integrated
///    time is not in the future;
/// 3. a signed entry timestamp, when present, verifies ([`set::verify_set`], global
///    `logIndex`);
/// 4. an inclusion proof, when present, leads from the body's leaf hash at the proof's
///    shard-local index to its root, and its checkpoint is signed by the log and names
///    the same size and root;
/// 5. at least one of 3 and 4 was checked (fail closed).
///
/// The integrated time is returned as verified only when the SET verified (step 3).
///
/// It does not compare the body with the bundle's content: call
/// [`EntryBody::check_bundle`] on [`VerifiedEntry::body`].
///
/// # Errors
///
/// The [`TransparencyError`] of the first failed check.
pub fn verify_tlog_entry(
    entry: &TransparencyLogEntry,
    trust: &TrustedRoot,
    opts: &TlogOptions,
) -> Result<VerifiedEntry, TransparencyError> {
    if entry.log_index < 0 {
        return Err(TransparencyError::NegativeIndex);
    }
    let body = EntryBody::from_canonical_json(&entry.canonicalized_body)?;
    let (kind, version) = body.kind_version();
    if entry.kind_version.kind != kind || entry.kind_version.version != version {
        return Err(TransparencyError::KindMismatch);
    }
    let now = opts.now.unwrap_or_else(Timestamp::now);
    let integrated_time = match entry.integrated_time {
        0 => None,
        t => {
            let ts = Timestamp::from_second(t).map_err(|_| TransparencyError::IntegratedTime(t))?;
            if t < 0 || ts > now {
                return Err(TransparencyError::IntegratedTime(t));
            }
            Some(ts)
        }
    };
    let key_time = integrated_time.or(opts.signed_time).unwrap_or(now);
    let log_id = entry.log_id.key_id.as_slice();
    let (log, key) = trust.tlog_key_at(log_id, key_time)?;

    let mut set_verified = false;
    if let Some(p) = &entry.inclusion_promise {
        if integrated_time.is_none() {
            return Err(TransparencyError::Missing(
                "integrated time for its signed entry timestamp",
            ));
        }
        set::verify_set(
            &key,
            &p.signed_entry_timestamp,
            &entry.canonicalized_body,
            entry.integrated_time,
            log_id,
            entry.log_index,
        )?;
        set_verified = true;
    }

    let mut checkpoint = None;
    if let Some(proof) = &entry.inclusion_proof {
        let index = u64::try_from(proof.log_index).map_err(|_| TransparencyError::NegativeIndex)?;
        let size = u64::try_from(proof.tree_size)
            .map_err(|_| TransparencyError::InclusionProof("negative tree size"))?;
        let leaf = merkle::leaf_hash(&entry.canonicalized_body);
        merkle::verify_inclusion(index, size, &leaf, &proof.hashes, &proof.root_hash)?;
        if proof.checkpoint.envelope.is_empty() {
            return Err(TransparencyError::Missing(
                "checkpoint with its inclusion proof",
            ));
        }
        let signed = SignedCheckpoint::parse(&proof.checkpoint.envelope)?;
        signed.verify(&key, log_id)?;
        if signed.checkpoint.size != size
            || signed.checkpoint.root_hash.as_slice() != proof.root_hash
        {
            return Err(TransparencyError::CheckpointMismatch);
        }
        checkpoint = Some(signed.checkpoint);
    } else if opts.require_inclusion_proof {
        return Err(TransparencyError::Missing("inclusion proof"));
    }
    if !set_verified && checkpoint.is_none() {
        return Err(TransparencyError::Missing(
            "signed entry timestamp or inclusion proof",
        ));
    }
    Ok(VerifiedEntry {
        log_index: entry.log_index,
        integrated_time: integrated_time.filter(|_| set_verified),
        log_id: log_id.to_vec(),
        log_url: log.base_url.clone(),
        body,
        set_verified,
        checkpoint,
    })
}

#[cfg(test)]
mod tests;
