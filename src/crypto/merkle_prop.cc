#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include "crypto/merkle.h"

namespace phalanx::crypto {
namespace {

std::vector<Bytes> gen_leaves() {
  return *rc::gen::resize(200, rc::gen::nonEmpty(rc::gen::container<std::vector<Bytes>>(
                                   rc::gen::container<Bytes>(rc::gen::arbitrary<std::uint8_t>()))));
}

RC_GTEST_PROP(Merkle, EveryLeafProofVerifies, ()) {
  const std::vector<Bytes> leaves = gen_leaves();
  const MerkleTree tree(leaves);
  for (std::size_t i = 0; i < leaves.size(); ++i) {
    RC_ASSERT(verify_inclusion(tree.root(), leaves[i], tree.prove(i)));
  }
}

RC_GTEST_PROP(Merkle, ChangedLeafFails, ()) {
  const std::vector<Bytes> leaves = gen_leaves();
  const MerkleTree tree(leaves);
  const std::size_t i = *rc::gen::inRange<std::size_t>(0, leaves.size());
  Bytes changed = leaves[i];
  if (changed.empty() || *rc::gen::arbitrary<bool>()) {
    changed.push_back(*rc::gen::arbitrary<std::uint8_t>());
  } else {
    changed[*rc::gen::inRange<std::size_t>(0, changed.size())] ^= 0x01;
  }
  RC_ASSERT(!verify_inclusion(tree.root(), changed, tree.prove(i)));
}

RC_GTEST_PROP(Merkle, ChangedIndexFails, ()) {
  std::vector<Bytes> leaves = gen_leaves();
  RC_PRE(leaves.size() >= 2);
  // Distinct leaves, so a proof can't be right by coincidence of content.
  for (std::size_t i = 0; i < leaves.size(); ++i) leaves[i].push_back(static_cast<std::uint8_t>(i));
  for (std::size_t i = 0; i < leaves.size(); ++i)
    leaves[i].push_back(static_cast<std::uint8_t>(i >> 8));
  const MerkleTree tree(leaves);
  const std::size_t i = *rc::gen::inRange<std::size_t>(0, leaves.size());
  const std::size_t j = *rc::gen::distinctFrom(rc::gen::inRange<std::size_t>(0, leaves.size()), i);
  InclusionProof p = tree.prove(i);
  p.leaf_index = j;
  RC_ASSERT(!verify_inclusion(tree.root(), leaves[i], p));
}

RC_GTEST_PROP(Merkle, ChangedRootOrPathFails, ()) {
  const std::vector<Bytes> leaves = gen_leaves();
  const MerkleTree tree(leaves);
  const std::size_t i = *rc::gen::inRange<std::size_t>(0, leaves.size());
  const InclusionProof p = tree.prove(i);
  Hash32 root = tree.root();
  root[*rc::gen::inRange<std::size_t>(0, 32)] ^= 0x80;
  RC_ASSERT(!verify_inclusion(root, leaves[i], p));
  if (!p.path.empty()) {
    InclusionProof bad = p;
    bad.path[*rc::gen::inRange<std::size_t>(0, bad.path.size())][0] ^= 0x01;
    RC_ASSERT(!verify_inclusion(tree.root(), leaves[i], bad));
  }
}

}  // namespace
}  // namespace phalanx::crypto
