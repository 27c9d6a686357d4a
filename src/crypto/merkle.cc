#include "crypto/merkle.h"

namespace phalanx::crypto {

Hash32 merkle_leaf_hash(ByteView leaf) {
  return Hasher().update(std::uint8_t{0x00}).update(leaf).finish();
}

Hash32 merkle_node_hash(const Hash32& left, const Hash32& right) {
  return Hasher().update(std::uint8_t{0x01}).update(left.view()).update(right.view()).finish();
}

void InclusionProof::encode(codec::Writer& w) const {
  w.varint(leaf_index);
  w.varint(tree_size);
  w.sequence(std::span<const Hash32>(path), kPathMax,
             [](codec::Writer& out, const Hash32& h) { out.fixed(h); });
}

Result<InclusionProof> InclusionProof::decode(codec::Reader& r) {
  InclusionProof p;
  PHALANX_ASSIGN_OR_RETURN(p.leaf_index, r.varint());
  PHALANX_ASSIGN_OR_RETURN(p.tree_size, r.varint());
  PHALANX_ASSIGN_OR_RETURN(
      p.path, r.sequence<Hash32>(kPathMax, [](codec::Reader& in) { return in.fixed<32>(); }));
  return p;
}

MerkleTree::MerkleTree(const std::vector<Bytes>& leaves) {
  std::vector<Hash32> hashes;
  hashes.reserve(leaves.size());
  for (const Bytes& leaf : leaves) hashes.push_back(merkle_leaf_hash(leaf));
  build(std::move(hashes));
}

MerkleTree MerkleTree::from_leaf_hashes(std::vector<Hash32> hashes) {
  MerkleTree tree;
  tree.build(std::move(hashes));
  return tree;
}

void MerkleTree::build(std::vector<Hash32> leaf_hashes) {
  levels_.clear();
  levels_.push_back(std::move(leaf_hashes));
  if (levels_[0].empty()) {
    root_ = blake2b256({});
    return;
  }
  while (levels_.back().size() > 1) {
    const std::vector<Hash32>& below = levels_.back();
    std::vector<Hash32> above;
    above.reserve((below.size() + 1) / 2);
    for (std::size_t i = 0; i + 1 < below.size(); i += 2) {
      above.push_back(merkle_node_hash(below[i], below[i + 1]));
    }
    if (below.size() % 2 == 1) above.push_back(below.back());
    levels_.push_back(std::move(above));
  }
  root_ = levels_.back()[0];
}

InclusionProof MerkleTree::prove(std::uint64_t index) const {
  PHALANX_ASSERT(index < size());
  InclusionProof proof{index, size(), {}};
  std::uint64_t i = index;
  for (std::size_t level = 0; level + 1 < levels_.size(); ++level) {
    const std::uint64_t sibling = i ^ 1;
    if (sibling < levels_[level].size()) {
      proof.path.push_back(levels_[level][sibling]);
    }
    i >>= 1;
  }
  return proof;
}

std::optional<Hash32> root_from_path(const Hash32& leaf_hash, const InclusionProof& proof) {
  if (proof.leaf_index >= proof.tree_size) return std::nullopt;
  std::uint64_t fn = proof.leaf_index;
  std::uint64_t sn = proof.tree_size - 1;
  Hash32 r = leaf_hash;
  for (const Hash32& p : proof.path) {
    if (sn == 0) return std::nullopt;
    if ((fn & 1) == 1 || fn == sn) {
      r = merkle_node_hash(p, r);
      while ((fn & 1) == 0 && fn != 0) {
        fn >>= 1;
        sn >>= 1;
      }
    } else {
      r = merkle_node_hash(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) return std::nullopt;
  return r;
}

bool verify_inclusion_hash(const Hash32& root, const Hash32& leaf_hash,
                           const InclusionProof& proof) {
  const std::optional<Hash32> r = root_from_path(leaf_hash, proof);
  return r && *r == root;
}

bool verify_inclusion(const Hash32& root, ByteView leaf, const InclusionProof& proof) {
  return verify_inclusion_hash(root, merkle_leaf_hash(leaf), proof);
}

}  // namespace phalanx::crypto
