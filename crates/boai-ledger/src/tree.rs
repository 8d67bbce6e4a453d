//! The RFC 6962 Merkle tree, as stored hashes. Every node that is the root of
//! a complete subtree is stored once, addressed by [`NodeId`] (level, index
//! at that level); appending leaf `n` stores its hash and the roots it
//! completes. Proofs and tree hashes are computed by `tlog_tiles` in two
//! passes: first we learn which nodes it reads (the set depends only on the
//! sizes, never on hash values), the caller fetches them, then we compute.

use crate::LedgerError;
use std::cell::RefCell;
use std::collections::HashMap;
use tlog_tiles::{HashReader, HASH_SIZE};

/// A SHA-256 node or leaf hash.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Hash(pub [u8; HASH_SIZE]);

impl Hash {
    pub fn from_slice(bytes: &[u8]) -> Result<Hash, LedgerError> {
        <[u8; HASH_SIZE]>::try_from(bytes)
            .map(Hash)
            .map_err(|_| LedgerError::Malformed(format!("hash of {} bytes", bytes.len())))
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    pub fn from_hex(text: &str) -> Result<Hash, LedgerError> {
        let bytes = hex::decode(text).map_err(|_| LedgerError::Malformed("hash is not hex".into()))?;
        Hash::from_slice(&bytes)
    }

    pub fn to_base64(&self) -> String {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(self.0)
    }

    fn to_tlog(self) -> tlog_tiles::Hash {
        tlog_tiles::Hash(self.0)
    }
}

impl std::fmt::Debug for Hash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.to_hex())
    }
}

/// A stored node: `level` 0 is the leaves; `index` counts nodes at that level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId {
    pub level: u8,
    pub index: u64,
}

impl NodeId {
    fn from_stored(stored: u64) -> NodeId {
        let (level, index) = tlog_tiles::split_stored_hash_index(stored);
        NodeId { level, index }
    }
}

/// RFC 6962 leaf hash: SHA-256(0x00 ‖ entry).
pub fn leaf_hash(entry: &[u8]) -> Hash {
    Hash(tlog_tiles::record_hash(entry).0)
}

/// RFC 6962 interior node hash: SHA-256(0x01 ‖ left ‖ right).
pub fn node_hash(left: Hash, right: Hash) -> Hash {
    Hash(tlog_tiles::node_hash(left.to_tlog(), right.to_tlog()).0)
}

/// The nodes whose hashes appending leaf `index` combines with (left
/// siblings of the subtrees it completes), lowest level first.
pub fn left_siblings(index: u64) -> Vec<NodeId> {
    (0..index.trailing_ones())
        .map(|level| NodeId {
            level: level as u8,
            index: (index >> level) - 1,
        })
        .collect()
}

/// The nodes stored when leaf `index` is appended: the leaf, then each
/// completed subtree root. `siblings` are the hashes of [`left_siblings`].
pub fn appended(index: u64, leaf: Hash, siblings: &[Hash]) -> Result<Vec<(NodeId, Hash)>, LedgerError> {
    let needed = left_siblings(index);
    if needed.len() != siblings.len() {
        return Err(LedgerError::Malformed(format!(
            "leaf {index} needs {} siblings, got {}",
            needed.len(),
            siblings.len()
        )));
    }
    let mut out = vec![(NodeId { level: 0, index }, leaf)];
    let mut h = leaf;
    for (i, sibling) in siblings.iter().enumerate() {
        h = node_hash(*sibling, h);
        let level = i as u8 + 1;
        out.push((
            NodeId {
                level,
                index: index >> level,
            },
            h,
        ));
    }
    Ok(out)
}

/// Records what `tlog_tiles` reads, answering with zeros.
struct Recorder(RefCell<Vec<u64>>);

impl HashReader for Recorder {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<tlog_tiles::Hash>, tlog_tiles::Error> {
        self.0.borrow_mut().extend_from_slice(indexes);
        Ok(vec![tlog_tiles::Hash([0; HASH_SIZE]); indexes.len()])
    }
}

/// Answers from a map of fetched nodes.
struct Lookup<'a>(&'a HashMap<NodeId, Hash>);

impl HashReader for Lookup<'_> {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<tlog_tiles::Hash>, tlog_tiles::Error> {
        indexes
            .iter()
            .map(|i| {
                self.0
                    .get(&NodeId::from_stored(*i))
                    .map(|h| h.to_tlog())
                    .ok_or(tlog_tiles::Error::IndexesNotInTree)
            })
            .collect()
    }
}

fn recorded<T>(f: impl FnOnce(&Recorder) -> Result<T, tlog_tiles::Error>) -> Result<Vec<NodeId>, LedgerError> {
    let recorder = Recorder(RefCell::new(Vec::new()));
    f(&recorder).map_err(|e| LedgerError::Proof(e.to_string()))?;
    let mut nodes: Vec<NodeId> = recorder.0.into_inner().into_iter().map(NodeId::from_stored).collect();
    nodes.sort();
    nodes.dedup();
    Ok(nodes)
}

fn proof_error(e: tlog_tiles::Error) -> LedgerError {
    LedgerError::Proof(e.to_string())
}

/// The nodes [`tree_hash`] reads for a tree of `size` leaves.
pub fn tree_hash_needs(size: u64) -> Result<Vec<NodeId>, LedgerError> {
    recorded(|r| tlog_tiles::tree_hash(size, r))
}

/// The root hash of the first `size` leaves.
pub fn tree_hash(size: u64, nodes: &HashMap<NodeId, Hash>) -> Result<Hash, LedgerError> {
    tlog_tiles::tree_hash(size, &Lookup(nodes))
        .map(|h| Hash(h.0))
        .map_err(proof_error)
}

/// The nodes [`prove_inclusion`] reads.
pub fn inclusion_needs(size: u64, index: u64) -> Result<Vec<NodeId>, LedgerError> {
    if index >= size {
        return Err(LedgerError::Proof(format!("leaf {index} is not in a tree of {size}")));
    }
    recorded(|r| tlog_tiles::prove_record(size, index, r))
}

/// The inclusion (audit) path of leaf `index` in the tree of `size` leaves.
pub fn prove_inclusion(size: u64, index: u64, nodes: &HashMap<NodeId, Hash>) -> Result<Vec<Hash>, LedgerError> {
    tlog_tiles::prove_record(size, index, &Lookup(nodes))
        .map(|p| p.into_iter().map(|h| Hash(h.0)).collect())
        .map_err(proof_error)
}

/// Checks an inclusion proof of `leaf` at `index` against `root` of `size`.
pub fn check_inclusion(proof: &[Hash], size: u64, root: Hash, index: u64, leaf: Hash) -> Result<(), LedgerError> {
    let proof: Vec<tlog_tiles::Hash> = proof.iter().map(|h| h.to_tlog()).collect();
    tlog_tiles::check_record(&proof, size, root.to_tlog(), index, leaf.to_tlog()).map_err(proof_error)
}

/// The nodes [`prove_consistency`] reads.
pub fn consistency_needs(size: u64, old_size: u64) -> Result<Vec<NodeId>, LedgerError> {
    if old_size > size {
        return Err(LedgerError::Proof(format!("tree of {old_size} is larger than {size}")));
    }
    recorded(|r| tlog_tiles::prove_tree(size, old_size, r))
}

/// The consistency proof between the trees of `old_size` and `size` leaves.
pub fn prove_consistency(size: u64, old_size: u64, nodes: &HashMap<NodeId, Hash>) -> Result<Vec<Hash>, LedgerError> {
    tlog_tiles::prove_tree(size, old_size, &Lookup(nodes))
        .map(|p| p.into_iter().map(|h| Hash(h.0)).collect())
        .map_err(proof_error)
}

/// Checks that the tree `old_root` of `old_size` is a prefix of `root` of `size`.
pub fn check_consistency(
    proof: &[Hash],
    size: u64,
    root: Hash,
    old_size: u64,
    old_root: Hash,
) -> Result<(), LedgerError> {
    let proof: Vec<tlog_tiles::Hash> = proof.iter().map(|h| h.to_tlog()).collect();
    tlog_tiles::check_tree(&proof, size, root.to_tlog(), old_size, old_root.to_tlog()).map_err(proof_error)
}

/// The right edge of a tree of `size` leaves: the roots of its complete
/// subtrees (one per set bit of `size`, lowest level first). They are the
/// only nodes a later leaf can need as a left sibling, and the only ones
/// [`tree_hash`] reads for `size`.
pub fn frontier(size: u64) -> Vec<NodeId> {
    (0..64u8)
        .filter(|level| (size >> level) % 2 == 1)
        .map(|level| NodeId {
            level,
            index: (size >> level) - 1,
        })
        .collect()
}

/// A tree kept as its right edge only ([`frontier`]): at most 64 hashes
/// whatever its size. It appends leaves (answering the nodes each stores,
/// as [`appended`]) and knows its current root, but not older roots or
/// proofs: a reader that needs the root at some size asks while passing it.
#[derive(Debug, Default, Clone)]
pub struct Frontier {
    nodes: HashMap<NodeId, Hash>,
    size: u64,
}

impl Frontier {
    pub fn new() -> Frontier {
        Frontier::default()
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends a leaf hash; answers the nodes a stored tree holds for it:
    /// the leaf, then each subtree root it completes.
    pub fn push(&mut self, leaf: Hash) -> Result<Vec<(NodeId, Hash)>, LedgerError> {
        let index = self.size;
        let needed = left_siblings(index);
        let siblings = needed
            .iter()
            .map(|id| self.nodes.get(id).copied().ok_or(LedgerError::MissingHash(*id)))
            .collect::<Result<Vec<_>, _>>()?;
        let stored = appended(index, leaf, &siblings)?;
        for id in &needed {
            self.nodes.remove(id);
        }
        if let Some((id, h)) = stored.last() {
            self.nodes.insert(*id, *h);
        }
        self.size += 1;
        Ok(stored)
    }

    /// The root of the leaves appended so far.
    pub fn root(&self) -> Result<Hash, LedgerError> {
        tree_hash(self.size, &self.nodes)
    }
}

/// A whole tree in memory, for auditors and tests.
#[derive(Debug, Default, Clone)]
pub struct MemoryTree {
    nodes: HashMap<NodeId, Hash>,
    size: u64,
}

impl MemoryTree {
    pub fn new() -> MemoryTree {
        MemoryTree::default()
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    pub fn nodes(&self) -> &HashMap<NodeId, Hash> {
        &self.nodes
    }

    /// Appends a leaf hash, returning its index.
    pub fn push(&mut self, leaf: Hash) -> Result<u64, LedgerError> {
        let index = self.size;
        let siblings = left_siblings(index)
            .into_iter()
            .map(|id| self.nodes.get(&id).copied().ok_or(LedgerError::MissingHash(id)))
            .collect::<Result<Vec<_>, _>>()?;
        for (id, h) in appended(index, leaf, &siblings)? {
            self.nodes.insert(id, h);
        }
        self.size += 1;
        Ok(index)
    }

    pub fn root(&self) -> Result<Hash, LedgerError> {
        self.root_at(self.size)
    }

    pub fn root_at(&self, size: u64) -> Result<Hash, LedgerError> {
        tree_hash(size, &self.nodes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// RFC 6962's recursive definition, written out plainly.
    fn reference_root(leaves: &[Hash]) -> Hash {
        match leaves.len() {
            0 => Hash(tlog_tiles::EMPTY_HASH.0),
            1 => leaves[0],
            n => {
                let k = 1usize << (usize::BITS - (n - 1).leading_zeros() - 1);
                node_hash(reference_root(&leaves[..k]), reference_root(&leaves[k..]))
            }
        }
    }

    fn leaves(n: usize) -> Vec<Hash> {
        (0..n).map(|i| leaf_hash(format!("entry {i}").as_bytes())).collect()
    }

    #[test]
    fn leaf_hash_is_rfc6962() {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        h.update([0u8]);
        h.update(b"abc");
        assert_eq!(leaf_hash(b"abc").0.to_vec(), h.finalize().to_vec());
    }

    #[test]
    fn left_siblings_follow_trailing_ones() {
        assert!(left_siblings(0).is_empty());
        assert_eq!(left_siblings(1), vec![NodeId { level: 0, index: 0 }]);
        assert!(left_siblings(2).is_empty());
        assert_eq!(
            left_siblings(7),
            vec![
                NodeId { level: 0, index: 6 },
                NodeId { level: 1, index: 2 },
                NodeId { level: 2, index: 0 }
            ]
        );
    }

    #[test]
    fn frontier_tree_keeps_the_right_edge_and_the_roots() {
        let leaves = leaves(600);
        let mut whole = MemoryTree::new();
        let mut edge = Frontier::new();
        assert_eq!(edge.root().unwrap(), Hash(tlog_tiles::EMPTY_HASH.0));
        for (i, l) in leaves.iter().enumerate() {
            let before: HashMap<NodeId, Hash> = whole.nodes().clone();
            whole.push(*l).unwrap();
            let stored = edge.push(*l).unwrap();
            // It answers exactly the nodes the whole tree gained…
            let gained: HashMap<NodeId, Hash> = whole
                .nodes()
                .iter()
                .filter(|(id, _)| !before.contains_key(id))
                .map(|(id, h)| (*id, *h))
                .collect();
            assert_eq!(stored.iter().copied().collect::<HashMap<_, _>>(), gained, "leaf {i}");
            // …keeps only the right edge, and knows the root.
            let size = i as u64 + 1;
            let mut kept: Vec<NodeId> = edge.nodes.keys().copied().collect();
            kept.sort();
            assert_eq!(kept, frontier(size));
            assert_eq!(frontier(size), tree_hash_needs(size).unwrap());
            assert_eq!(edge.size(), size);
            assert_eq!(edge.root().unwrap(), reference_root(&leaves[..=i]), "size {size}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(40))]
        #[test]
        fn memory_tree_matches_reference_and_proofs_check(n in 1usize..700, pick in 0usize..10_000, old_pick in 0usize..10_000) {
            let leaves = leaves(n);
            let mut tree = MemoryTree::new();
            for l in &leaves {
                tree.push(*l).unwrap();
            }
            let root = tree.root().unwrap();
            prop_assert_eq!(root, reference_root(&leaves));
            let size = n as u64;
            let index = (pick % n) as u64;
            let needs = inclusion_needs(size, index).unwrap();
            let subset: HashMap<NodeId, Hash> = needs.iter().map(|id| (*id, tree.nodes()[id])).collect();
            let proof = prove_inclusion(size, index, &subset).unwrap();
            prop_assert!(check_inclusion(&proof, size, root, index, leaves[index as usize]).is_ok());
            prop_assert!(check_inclusion(&proof, size, root, index, leaf_hash(b"forged")).is_err());
            let old = 1 + (old_pick % n) as u64;
            let old_root = tree.root_at(old).unwrap();
            prop_assert_eq!(old_root, reference_root(&leaves[..old as usize]));
            let needs = consistency_needs(size, old).unwrap();
            let subset: HashMap<NodeId, Hash> = needs.iter().map(|id| (*id, tree.nodes()[id])).collect();
            let proof = prove_consistency(size, old, &subset).unwrap();
            prop_assert!(check_consistency(&proof, size, root, old, old_root).is_ok());
            if old < size {
                prop_assert!(check_consistency(&proof, size, root, old, leaf_hash(b"x")).is_err());
            }
            let needs = tree_hash_needs(old).unwrap();
            let subset: HashMap<NodeId, Hash> = needs.iter().map(|id| (*id, tree.nodes()[id])).collect();
            prop_assert_eq!(tree_hash(old, &subset).unwrap(), old_root);
        }
    }
}
