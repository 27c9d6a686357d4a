// Merkle trees with inclusion proofs, shaped as in RFC 6962 / RFC 9162 §2.1
// with BLAKE2b-256 as the hash:
//
//   leaf hash  = H(0x00 ‖ leaf)
//   node hash  = H(0x01 ‖ left ‖ right)
//   empty tree = H("")
//   for n > 1 leaves, the left subtree holds the largest power of two < n.
//
// The 0x00/0x01 prefixes keep a leaf from being passed off as an inner node
// (second-preimage attacks).
//
//   MerkleTree tree(leaves);
//   InclusionProof p = tree.prove(3);
//   bool ok = verify_inclusion(tree.root(), leaves[3], p);
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "core/bytes.h"
#include "core/codec.h"
#include "crypto/hash.h"

namespace phalanx::crypto {

[[nodiscard]] Hash32 merkle_leaf_hash(ByteView leaf);
[[nodiscard]] Hash32 merkle_node_hash(const Hash32& left, const Hash32& right);

struct InclusionProof {
  // A tree of 2^64 leaves needs at most 64 siblings.
  static constexpr std::size_t kPathMax = 64;

  std::uint64_t leaf_index = 0;
  std::uint64_t tree_size = 0;
  std::vector<Hash32> path;  // siblings from the leaf up

  void encode(codec::Writer& w) const;
  [[nodiscard]] static Result<InclusionProof> decode(codec::Reader& r);
  bool operator==(const InclusionProof&) const = default;
};

class MerkleTree {
 public:
  explicit MerkleTree(const std::vector<Bytes>& leaves);
  [[nodiscard]] static MerkleTree from_leaf_hashes(std::vector<Hash32> hashes);

  [[nodiscard]] std::uint64_t size() const { return levels_[0].size(); }
  [[nodiscard]] const Hash32& root() const { return root_; }

  // REQUIRES: index < size().
  [[nodiscard]] InclusionProof prove(std::uint64_t index) const;

 private:
  MerkleTree() = default;
  void build(std::vector<Hash32> leaf_hashes);

  // levels_[0] are leaf hashes; an unpaired last node is carried up to the
  // next level unchanged, which yields exactly the RFC 6962 tree.
  std::vector<std::vector<Hash32>> levels_;
  Hash32 root_;
};

// RFC 9162 §2.1.3.2 verification: recomputes the root from the leaf and the
// path and compares. False for any index, size, path or leaf that does not
// reproduce `root`.
// The root that `proof` leads to from the leaf; nullopt if the path does not
// fit its index and tree size. verify_inclusion_hash compares it with a root.
[[nodiscard]] std::optional<Hash32> root_from_path(const Hash32& leaf_hash,
                                                   const InclusionProof& proof);
[[nodiscard]] bool verify_inclusion(const Hash32& root, ByteView leaf, const InclusionProof& proof);
[[nodiscard]] bool verify_inclusion_hash(const Hash32& root, const Hash32& leaf_hash,
                                         const InclusionProof& proof);

}  // namespace phalanx::crypto
