//! Reading one Rekor v2 entry back from the log's tiles (C2SP tlog-tiles), for a `409`
//! that names only the existing index: the entry body from its entry bundle, an RFC 6962
//! inclusion proof computed from the hash tiles, and the log's signed checkpoint. The
//! result is checked like any returned entry (`upload::check_entry`) before use.
//!
//! Paths (relative to the tiles URL, which for sigstore's Rekor v2 is the log's URL):
//! `checkpoint`; `tile/<L>/<N>` hash tiles (256 hashes of height `8L`), `tile/entries/<N>`
//! entry bundles (each entry a big-endian `u16` length and the canonical body), with
//! `.p/<W>` for a partial tile of width `W`; `N` written in 3-digit elements, all but the
//! last prefixed with `x` (`1234067` → `x001/x234/067`).
//!
//! The pure parts ([`tile_path`], [`proof_nodes`], [`parse_entry_bundle`]) decide what to
//! read; [`TilesClient::entry`] reads it.

use std::collections::BTreeMap;
use std::time::Duration;

use super::RekorError;
use crate::bundle::{Checkpoint, InclusionProof, KindVersion, LogId, TransparencyLogEntry};
use crate::transparency::merkle::{Hash, node_hash};
use crate::transparency::{EntryBody, SignedCheckpoint};

const TILE_WIDTH: u64 = 256;
const MAX_TILE_BYTES: usize = 8 << 20;

fn malformed(what: &str, reason: impl Into<String>) -> RekorError {
    RekorError::Malformed {
        what: what.to_owned(),
        reason: reason.into(),
    }
}

/// `N` as tlog-tiles path elements (`1234067` → `x001/x234/067`).
#[must_use]
pub fn encode_index(n: u64) -> String {
    let mut parts = vec![format!("{:03}", n % 1000)];
    let mut rest = n / 1000;
    while rest > 0 {
        parts.push(format!("x{:03}", rest % 1000));
        rest /= 1000;
    }
    parts.reverse();
    parts.join("/")
}

/// The path of tile `index` at `level` (`"entries"` or a hash level) holding `width`
/// items (a full tile holds 256).
#[must_use]
pub fn tile_path(level: &str, index: u64, width: u64) -> String {
    let base = format!("tile/{level}/{}", encode_index(index));
    if width >= TILE_WIDTH {
        base
    } else {
        format!("{base}.p/{width}")
    }
}

/// How many items tile `index` holds when `count` items exist at its level.
fn tile_width(index: u64, count: u64) -> u64 {
    count.saturating_sub(index * TILE_WIDTH).min(TILE_WIDTH)
}

/// The entries of an entry bundle: each a big-endian `u16` length and that many bytes.
///
/// # Errors
///
/// [`RekorError::Malformed`] when a length runs past the end.
pub fn parse_entry_bundle(bytes: &[u8]) -> Result<Vec<Vec<u8>>, RekorError> {
    let mut out = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        let [a, b, tail @ ..] = rest else {
            return Err(malformed("entry bundle", "truncated length"));
        };
        let len = usize::from(u16::from_be_bytes([*a, *b]));
        if tail.len() < len {
            return Err(malformed("entry bundle", "an entry runs past the end"));
        }
        out.push(tail[..len].to_vec());
        rest = &tail[len..];
    }
    Ok(out)
}

/// A complete subtree: `2^height` leaves starting at leaf `index << height`.
pub type Node = (u32, u64);

fn largest_power_of_two_below(n: u64) -> u64 {
    // n >= 2
    1 << (63 - (n - 1).leading_zeros())
}

/// The complete subtrees whose right fold (`h = H(left, h)`) is MTH(leaves[start..end]):
/// RFC 6962 splits at the largest power of two below the size, so the range is a run of
/// aligned complete subtrees of decreasing size.
fn range_nodes(start: u64, end: u64) -> Vec<Node> {
    let mut out = Vec::new();
    let mut s = start;
    while s < end {
        let n = end - s;
        let k = if n.is_power_of_two() {
            n
        } else {
            largest_power_of_two_below(n)
        };
        out.push((k.trailing_zeros(), s >> k.trailing_zeros()));
        s += k;
    }
    out
}

/// The RFC 6962 inclusion proof of leaf `m` in a tree of `size` leaves (`m < size`), leaf
/// to root, each element as the complete subtrees it is the right fold of.
#[must_use]
pub fn proof_nodes(m: u64, size: u64) -> Vec<Vec<Node>> {
    // PATH(m, D[start:end]) = PATH(m, D[start:start+k]) : MTH(D[start+k:end]) if m < k,
    //                         PATH(m - k, D[start+k:end]) : MTH(D[start:start+k]) else.
    let mut out = Vec::new();
    let (mut start, mut end) = (0, size);
    while end - start > 1 {
        let k = largest_power_of_two_below(end - start);
        if m < start + k {
            out.push(range_nodes(start + k, end));
            end = start + k;
        } else {
            out.push(range_nodes(start, start + k));
            start += k;
        }
    }
    out.reverse();
    out
}

/// The hash of a complete subtree from hash tiles (`(level, index)` → hashes).
fn subtree(node: Node, tiles: &BTreeMap<(u32, u64), Vec<Hash>>) -> Option<Hash> {
    let (height, index) = node;
    let level = height / 8;
    let r = height % 8;
    // The 2^r nodes of height 8*level below it.
    let first = index << r;
    let tile = tiles.get(&(level, first / TILE_WIDTH))?;
    let offset = usize::try_from(first % TILE_WIDTH).ok()?;
    let mut row: Vec<Hash> = tile.get(offset..offset + (1usize << r))?.to_vec();
    while row.len() > 1 {
        row = row.chunks(2).map(|p| node_hash(&p[0], &p[1])).collect();
    }
    row.first().copied()
}

/// A client reading a Rekor v2 log's tiles.
#[derive(Clone, Debug)]
pub struct TilesClient {
    base: String,
    http: reqwest::Client,
}

impl TilesClient {
    /// A client for the tiles at `base_url`.
    ///
    /// # Errors
    ///
    /// [`RekorError::Config`] when the URL is not http(s) or the client cannot be built.
    pub fn new(base_url: &str, timeout: Duration) -> Result<Self, RekorError> {
        let (base, http) = super::http_client(base_url, timeout)?;
        Ok(Self { base, http })
    }

    async fn get(&self, path: &str) -> Result<Vec<u8>, RekorError> {
        let url = format!("{}/{path}", self.base);
        let mut response =
            self.http
                .get(&url)
                .send()
                .await
                .map_err(|source| RekorError::Request {
                    url: url.clone(),
                    source,
                })?;
        let status = response.status().as_u16();
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|source| RekorError::Request {
                url: url.clone(),
                source,
            })?
        {
            if body.len() + chunk.len() > MAX_TILE_BYTES {
                return Err(malformed(&url, "answer too large"));
            }
            body.extend_from_slice(&chunk);
        }
        if status != 200 {
            return Err(super::status_error(&url, status, &body));
        }
        Ok(body)
    }

    /// The entry at `index` with an inclusion proof against the log's current checkpoint
    /// (not verified: check it with `upload::check_entry`). `log_id` is the log's id in
    /// the trusted root.
    ///
    /// # Errors
    ///
    /// [`RekorError`] for transport errors and malformed tiles;
    /// [`RekorError::Status`] 404-like when the entry is not yet in a checkpoint.
    pub async fn entry(
        &self,
        index: u64,
        log_id: &[u8],
    ) -> Result<TransparencyLogEntry, RekorError> {
        let raw = self.get("checkpoint").await?;
        let text = String::from_utf8(raw).map_err(|_| malformed("checkpoint", "not UTF-8"))?;
        let signed =
            SignedCheckpoint::parse(&text).map_err(|e| malformed("checkpoint", e.to_string()))?;
        let size = signed.checkpoint.size;
        if index >= size {
            return Err(RekorError::Status {
                url: format!("{}/checkpoint", self.base),
                status: 404,
                message: format!("entry {index} is not in the checkpoint of size {size} yet"),
            });
        }
        let nodes = proof_nodes(index, size);
        let mut tiles: BTreeMap<(u32, u64), Vec<Hash>> = BTreeMap::new();
        for node in nodes.iter().flatten() {
            let level = node.0 / 8;
            let tile = (node.1 << (node.0 % 8)) / TILE_WIDTH;
            if tiles.contains_key(&(level, tile)) {
                continue;
            }
            let count = size >> (8 * level);
            let path = tile_path(&level.to_string(), tile, tile_width(tile, count));
            let bytes = self.get(&path).await?;
            if bytes.len() % 32 != 0 {
                return Err(malformed(&path, "not a sequence of 32-byte hashes"));
            }
            let hashes = bytes
                .chunks(32)
                .map(|c| {
                    let mut h = [0u8; 32];
                    h.copy_from_slice(c);
                    h
                })
                .collect();
            tiles.insert((level, tile), hashes);
        }
        let hashes = nodes
            .iter()
            .map(|run| {
                let mut acc: Option<Hash> = None;
                for n in run.iter().rev() {
                    let h = subtree(*n, &tiles)?;
                    acc = Some(match acc {
                        None => h,
                        Some(right) => node_hash(&h, &right),
                    });
                }
                acc.map(|h| h.to_vec())
            })
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| malformed("hash tiles", "a tile is shorter than the tree needs"))?;

        let bundle_index = index / TILE_WIDTH;
        let path = tile_path("entries", bundle_index, tile_width(bundle_index, size));
        let entries = parse_entry_bundle(&self.get(&path).await?)?;
        let body = usize::try_from(index % TILE_WIDTH)
            .ok()
            .and_then(|i| entries.get(i))
            .cloned()
            .ok_or_else(|| malformed(&path, format!("no entry {index}")))?;
        let parsed = EntryBody::from_canonical_json(&body)
            .map_err(|e| malformed("entry body", e.to_string()))?;
        let (kind, version) = parsed.kind_version();
        let as_i64 =
            |v: u64| i64::try_from(v).map_err(|_| malformed("checkpoint", "size out of range"));
        Ok(TransparencyLogEntry {
            log_index: as_i64(index)?,
            log_id: LogId {
                key_id: log_id.to_vec(),
            },
            kind_version: KindVersion {
                kind: kind.to_owned(),
                version: version.to_owned(),
            },
            integrated_time: 0,
            inclusion_promise: None,
            inclusion_proof: Some(InclusionProof {
                log_index: as_i64(index)?,
                root_hash: signed.checkpoint.root_hash.to_vec(),
                tree_size: as_i64(size)?,
                hashes,
                checkpoint: Checkpoint { envelope: text },
            }),
            canonicalized_body: body,
        })
    }
}

#[cfg(test)]
#[allow(clippy::panic)] // Tests report failures by panicking.
mod tests {
    use super::*;
    use crate::transparency::merkle::{leaf_hash, verify_inclusion};

    #[test]
    fn paths() {
        assert_eq!(encode_index(0), "000");
        assert_eq!(encode_index(1_234_067), "x001/x234/067");
        assert_eq!(encode_index(1000), "x001/000");
        assert_eq!(tile_path("0", 0, 11), "tile/0/000.p/11");
        assert_eq!(
            tile_path("entries", 1_234_067, 256),
            "tile/entries/x001/x234/067"
        );
        assert_eq!(tile_width(1, 300), 44);
        assert_eq!(tile_width(0, 300), 256);
    }

    #[test]
    fn entry_bundles() -> Result<(), RekorError> {
        assert_eq!(
            parse_entry_bundle(b"\x00\x01a\x00\x02bc")?,
            vec![b"a".to_vec(), b"bc".to_vec()]
        );
        assert!(parse_entry_bundle(b"\x00\x05ab").is_err());
        assert!(parse_entry_bundle(b"\x00").is_err());
        assert!(parse_entry_bundle(b"")?.is_empty());
        Ok(())
    }

    /// MTH computed directly (RFC 6962 §2.1).
    fn mth(leaves: &[Hash]) -> Hash {
        if leaves.len() == 1 {
            return leaves[0];
        }
        let k = usize::try_from(largest_power_of_two_below(leaves.len() as u64)).unwrap_or(1);
        node_hash(&mth(&leaves[..k]), &mth(&leaves[k..]))
    }

    /// Hash tiles of a tree of `size` leaves, built bottom up as a log publishes them.
    fn tiles_of(leaves: &[Hash]) -> BTreeMap<(u32, u64), Vec<Hash>> {
        let mut out = BTreeMap::new();
        let mut row: Vec<Hash> = leaves.to_vec();
        let mut level = 0u32;
        while !row.is_empty() {
            for (i, chunk) in row.chunks(256).enumerate() {
                out.insert((level, i as u64), chunk.to_vec());
            }
            // The next level: complete subtrees of 256 nodes.
            row = row
                .chunks(256)
                .filter(|c| c.len() == 256)
                .map(mth)
                .collect();
            level += 1;
        }
        out
    }

    #[test]
    fn proofs_from_tiles_verify() {
        for size in [1u64, 2, 3, 7, 11, 255, 256, 257, 600, 65_537 + 300] {
            let leaves: Vec<Hash> = (0..size).map(|i| leaf_hash(&i.to_be_bytes())).collect();
            let tiles = tiles_of(&leaves);
            let root = mth(&leaves);
            for m in [0, 1, size / 2, size.saturating_sub(2), size - 1] {
                if m >= size {
                    continue;
                }
                let proof: Vec<Vec<u8>> = proof_nodes(m, size)
                    .iter()
                    .map(|run| {
                        let mut acc: Option<Hash> = None;
                        for n in run.iter().rev() {
                            let h = subtree(*n, &tiles)
                                .unwrap_or_else(|| panic!("node {n:?} of {size}"));
                            acc = Some(acc.map_or(h, |r| node_hash(&h, &r)));
                        }
                        acc.unwrap_or_else(|| panic!("empty run")).to_vec()
                    })
                    .collect();
                let leaf = leaves[usize::try_from(m).unwrap_or(0)];
                assert!(
                    verify_inclusion(m, size, &leaf, &proof, &root).is_ok(),
                    "leaf {m} of {size}"
                );
                if size > 1 {
                    let mut bad = proof.clone();
                    bad[0][0] ^= 1;
                    assert!(verify_inclusion(m, size, &leaf, &bad, &root).is_err());
                }
            }
        }
    }
}
