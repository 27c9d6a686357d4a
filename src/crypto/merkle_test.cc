#include "crypto/merkle.h"

#include <gtest/gtest.h>

namespace phalanx::crypto {
namespace {

std::vector<Bytes> make_leaves(std::size_t n) {
  std::vector<Bytes> leaves;
  for (std::size_t i = 0; i < n; ++i) leaves.push_back(to_bytes("leaf-" + std::to_string(i)));
  return leaves;
}

// MTH from RFC 6962 §2.1, written recursively as the RFC states it.
Hash32 reference_root(const std::vector<Bytes>& d, std::size_t begin, std::size_t end) {
  const std::size_t n = end - begin;
  if (n == 0) return blake2b256({});
  if (n == 1) return merkle_leaf_hash(d[begin]);
  std::size_t k = 1;
  while (k * 2 < n) k *= 2;
  return merkle_node_hash(reference_root(d, begin, begin + k), reference_root(d, begin + k, end));
}

TEST(Merkle, EmptyAndSingle) {
  EXPECT_EQ(MerkleTree(std::vector<Bytes>{}).root(), blake2b256({}));
  const std::vector<Bytes> one = make_leaves(1);
  EXPECT_EQ(MerkleTree(one).root(), merkle_leaf_hash(one[0]));
}

TEST(Merkle, LeafAndNodeHashesAreDomainSeparated) {
  const Hash32 a = merkle_leaf_hash(as_view("a"));
  const Hash32 b = merkle_leaf_hash(as_view("b"));
  Bytes concat(a.view().begin(), a.view().end());
  concat.insert(concat.end(), b.view().begin(), b.view().end());
  // The inner node over (a, b) is not the leaf hash of a‖b.
  EXPECT_NE(merkle_node_hash(a, b), merkle_leaf_hash(concat));
}

TEST(Merkle, RootMatchesRfcDefinitionForAllSmallSizes) {
  for (std::size_t n = 0; n <= 70; ++n) {
    const std::vector<Bytes> leaves = make_leaves(n);
    EXPECT_EQ(MerkleTree(leaves).root(), reference_root(leaves, 0, n)) << "n=" << n;
  }
}

TEST(Merkle, EveryProofVerifiesForAllSmallSizes) {
  for (std::size_t n = 1; n <= 70; ++n) {
    const std::vector<Bytes> leaves = make_leaves(n);
    const MerkleTree tree(leaves);
    for (std::size_t i = 0; i < n; ++i) {
      const InclusionProof p = tree.prove(i);
      EXPECT_TRUE(verify_inclusion(tree.root(), leaves[i], p)) << "n=" << n << " i=" << i;
      EXPECT_FALSE(verify_inclusion(tree.root(), to_bytes("forged"), p));
    }
  }
}

TEST(Merkle, ProofOutOfRangeIndexFails) {
  const std::vector<Bytes> leaves = make_leaves(4);
  const MerkleTree tree(leaves);
  InclusionProof p = tree.prove(1);
  p.leaf_index = 4;
  EXPECT_FALSE(verify_inclusion(tree.root(), leaves[1], p));
  p.tree_size = 0;
  p.leaf_index = 0;
  EXPECT_FALSE(verify_inclusion(tree.root(), leaves[1], p));
}

TEST(Merkle, ProofWithExtraOrMissingSiblingsFails) {
  const std::vector<Bytes> leaves = make_leaves(9);
  const MerkleTree tree(leaves);
  InclusionProof longer = tree.prove(3);
  longer.path.push_back(tree.root());
  EXPECT_FALSE(verify_inclusion(tree.root(), leaves[3], longer));
  InclusionProof shorter = tree.prove(3);
  shorter.path.pop_back();
  EXPECT_FALSE(verify_inclusion(tree.root(), leaves[3], shorter));
}

TEST(Merkle, ProofEncodingRoundTrips) {
  const MerkleTree tree(make_leaves(13));
  const InclusionProof p = tree.prove(11);
  Result<InclusionProof> back = codec::decode<InclusionProof>(codec::encode(p));
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, p);
}

}  // namespace
}  // namespace phalanx::crypto
