//! RFC 6962 Merkle tree hashing and proof verification (the algorithms as restated in
//! RFC 9162 §2.1.3.2 "Verifying an Inclusion Proof" and §2.1.4.2 "Verifying Consistency
//! between Two Tree Heads"), with SHA-256 as Rekor and CT use it.
//!
//! - leaf hash: `SHA-256(0x00 || leaf)`; interior node: `SHA-256(0x01 || left || right)`.
//! - Proof elements, leaf hashes and roots are exactly 32 bytes; anything else fails.

use sha2::{Digest as _, Sha256};

use super::TransparencyError;

/// A SHA-256 Merkle hash.
pub type Hash = [u8; 32];

/// The RFC 6962 leaf hash of `leaf` (for Rekor: the canonicalized entry body).
#[must_use]
pub fn leaf_hash(leaf: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0x00]);
    h.update(leaf);
    h.finalize().into()
}

/// The RFC 6962 interior node hash.
#[must_use]
pub fn node_hash(left: &[u8], right: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0x01]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

fn hash32(b: &[u8], what: &'static str) -> Result<Hash, TransparencyError> {
    b.try_into()
        .map_err(|_| TransparencyError::InclusionProof(what))
}

/// The root hash an inclusion proof yields for `leaf_hash` at `index` in a tree of
/// `size` leaves (RFC 9162 §2.1.3.2 steps 1–6).
///
/// # Errors
///
/// [`TransparencyError::InclusionProof`] when `index >= size`, the proof has the wrong
/// length, or a hash is not 32 bytes.
pub fn root_from_inclusion_proof(
    index: u64,
    size: u64,
    leaf_hash: &[u8],
    proof: &[impl AsRef<[u8]>],
) -> Result<Hash, TransparencyError> {
    if index >= size {
        return Err(TransparencyError::InclusionProof(
            "leaf index beyond tree size",
        ));
    }
    let mut r = hash32(leaf_hash, "leaf hash is not 32 bytes")?;
    let (mut f_n, mut s_n) = (index, size - 1);
    for p in proof {
        let p = hash32(p.as_ref(), "proof hash is not 32 bytes")?;
        if s_n == 0 {
            return Err(TransparencyError::InclusionProof("proof too long"));
        }
        if f_n & 1 == 1 || f_n == s_n {
            r = node_hash(&p, &r);
            while f_n & 1 == 0 && f_n != 0 {
                f_n >>= 1;
                s_n >>= 1;
            }
        } else {
            r = node_hash(&r, &p);
        }
        f_n >>= 1;
        s_n >>= 1;
    }
    if s_n != 0 {
        return Err(TransparencyError::InclusionProof("proof too short"));
    }
    Ok(r)
}

/// Verify that `leaf_hash` is at `index` in the tree of `size` leaves with root `root`.
///
/// # Errors
///
/// [`TransparencyError::InclusionProof`] as [`root_from_inclusion_proof`], or when the
/// computed root differs from `root`.
pub fn verify_inclusion(
    index: u64,
    size: u64,
    leaf_hash: &[u8],
    proof: &[impl AsRef<[u8]>],
    root: &[u8],
) -> Result<(), TransparencyError> {
    let got = root_from_inclusion_proof(index, size, leaf_hash, proof)?;
    if got.as_slice() != root {
        return Err(TransparencyError::InclusionProof(
            "computed root does not match the proof's root hash",
        ));
    }
    Ok(())
}

/// Verify that the tree of `size1` leaves with root `root1` is a prefix of the tree of
/// `size2` leaves with root `root2` (RFC 9162 §2.1.4.2). As transparency-dev/merkle:
/// equal sizes need an empty proof and equal roots; a check from the empty tree to a
/// larger one is refused (it proves nothing).
///
/// # Errors
///
/// [`TransparencyError::ConsistencyProof`] when the proof does not establish it.
pub fn verify_consistency(
    size1: u64,
    size2: u64,
    proof: &[impl AsRef<[u8]>],
    root1: &[u8],
    root2: &[u8],
) -> Result<(), TransparencyError> {
    use TransparencyError::ConsistencyProof as E;
    if size2 < size1 {
        return Err(E("second tree is smaller than the first"));
    }
    if size1 == size2 {
        if !proof.is_empty() {
            return Err(E("proof must be empty for equal tree sizes"));
        }
        return if root1 == root2 {
            Ok(())
        } else {
            Err(E("roots differ for equal tree sizes"))
        };
    }
    if size1 == 0 {
        // transparency-dev/merkle rejects it: a check against the empty tree proves
        // nothing.
        return Err(E("consistency with the empty tree proves nothing"));
    }
    if proof.is_empty() {
        return Err(E("empty proof"));
    }
    let mut path = Vec::with_capacity(proof.len() + 1);
    if size1.is_power_of_two() {
        path.push(hash32(root1, "first root is not 32 bytes").map_err(|_| E("bad root1"))?);
    }
    for p in proof {
        path.push(
            p.as_ref()
                .try_into()
                .map_err(|_| E("proof hash is not 32 bytes"))?,
        );
    }
    let (mut f_n, mut s_n) = (size1 - 1, size2 - 1);
    while f_n & 1 == 1 {
        f_n >>= 1;
        s_n >>= 1;
    }
    let (mut fr, mut sr) = (path[0], path[0]);
    for c in &path[1..] {
        if s_n == 0 {
            return Err(E("proof too long"));
        }
        if f_n & 1 == 1 || f_n == s_n {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while f_n & 1 == 0 && f_n != 0 {
                f_n >>= 1;
                s_n >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        f_n >>= 1;
        s_n >>= 1;
    }
    if s_n != 0 {
        return Err(E("proof too short"));
    }
    if fr.as_slice() != root1 {
        return Err(E("first root does not match"));
    }
    if sr.as_slice() != root2 {
        return Err(E("second root does not match"));
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::panic)] // Tests report failures by panicking.
mod tests {
    use super::*;
    use crate::test_support::shared_dir;
    use serde::Deserialize;

    fn b64(s: &str) -> Vec<u8> {
        crate::trust::decode_b64(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn vectors(sub: &str) -> Vec<(String, serde_json::Value)> {
        fn walk(dir: &std::path::Path, out: &mut Vec<(String, serde_json::Value)>) {
            for e in std::fs::read_dir(dir)
                .unwrap_or_else(|e| panic!("{e}"))
                .flatten()
            {
                let p = e.path();
                if p.is_dir() {
                    walk(&p, out);
                } else if p.extension().is_some_and(|x| x == "json") {
                    let v = serde_json::from_slice(&std::fs::read(&p).unwrap_or_default())
                        .unwrap_or_else(|e| panic!("{}: {e}", p.display()));
                    out.push((p.display().to_string(), v));
                }
            }
        }
        let mut out = Vec::new();
        walk(&shared_dir().join("merkle").join(sub), &mut out);
        out
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Inclusion {
        leaf_idx: u64,
        tree_size: u64,
        root: String,
        leaf_hash: String,
        proof: Option<Vec<String>>,
        want_err: bool,
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Consistency {
        size1: u64,
        size2: u64,
        root1: String,
        root2: String,
        proof: Option<Vec<String>>,
        want_err: bool,
    }

    #[test]
    fn transparency_dev_inclusion_vectors() {
        let all = vectors("inclusion");
        assert!(all.len() >= 60, "{}", all.len());
        let mut ok = 0;
        for (name, v) in all {
            let t: Inclusion = serde_json::from_value(v).unwrap_or_else(|e| panic!("{name}: {e}"));
            let proof: Vec<Vec<u8>> = t.proof.unwrap_or_default().iter().map(|p| b64(p)).collect();
            let r = verify_inclusion(
                t.leaf_idx,
                t.tree_size,
                &b64(&t.leaf_hash),
                &proof,
                &b64(&t.root),
            );
            assert_eq!(r.is_err(), t.want_err, "{name}: {r:?}");
            ok += usize::from(!t.want_err);
        }
        assert!(ok >= 6);
    }

    #[test]
    fn transparency_dev_consistency_vectors() {
        let all = vectors("consistency");
        assert!(all.len() >= 80, "{}", all.len());
        for (name, v) in all {
            let t: Consistency =
                serde_json::from_value(v).unwrap_or_else(|e| panic!("{name}: {e}"));
            let proof: Vec<Vec<u8>> = t.proof.unwrap_or_default().iter().map(|p| b64(p)).collect();
            let r = verify_consistency(t.size1, t.size2, &proof, &b64(&t.root1), &b64(&t.root2));
            assert_eq!(r.is_err(), t.want_err, "{name}: {r:?}");
        }
    }

    #[test]
    fn hashes_match_rfc6962() {
        // Empty-leaf hash from RFC 6962 test data (transparency-dev/merkle).
        assert_eq!(
            hex::encode(leaf_hash(b"")),
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
        );
    }
}
