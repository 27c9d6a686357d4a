#include "crypto/chunk_manifest.h"

#include "crypto/merkle.h"

namespace phalanx::crypto {

Hash32 chunk_root(const std::vector<Hash32>& hashes) {
  return MerkleTree::from_leaf_hashes(hashes).root();
}

ChunkManifest ChunkManifest::of(std::vector<Hash32> hashes, std::uint64_t total_bytes) {
  ChunkManifest m{hashes.size(), total_bytes, std::move(hashes), {}};
  m.root = chunk_root(m.chunk_hashes);
  return m;
}

bool ChunkManifest::consistent() const {
  return chunk_hashes.size() == chunk_count && chunk_count <= total_bytes &&
         chunk_root(chunk_hashes) == root;
}

void ChunkManifest::encode(codec::Writer& w) const {
  w.varint(chunk_count);
  w.varint(total_bytes);
  w.sequence(std::span<const Hash32>(chunk_hashes), kChunksMax,
             [](codec::Writer& out, const Hash32& h) { out.fixed(h); });
  w.fixed(root);
}

Result<ChunkManifest> ChunkManifest::decode(codec::Reader& r) {
  ChunkManifest m;
  PHALANX_ASSIGN_OR_RETURN(m.chunk_count, r.varint_max(kChunksMax));
  PHALANX_ASSIGN_OR_RETURN(m.total_bytes, r.varint());
  PHALANX_ASSIGN_OR_RETURN(m.chunk_hashes, r.sequence<Hash32>(kChunksMax, [](codec::Reader& in) {
    return in.fixed<32>();
  }));
  PHALANX_ASSIGN_OR_RETURN(m.root, r.fixed<32>());
  if (m.chunk_hashes.size() != m.chunk_count) {
    return codec::Reader::malformed(MalformedReason::kNonCanonical, r.offset());
  }
  return m;
}

}  // namespace phalanx::crypto
