// What a blob sent or stored in chunks holds: each chunk's BLAKE2b hash and
// their Merkle root (crypto/merkle.h), so a chunk received from a peer can be
// checked before the rest arrives and the whole against the root. Nothing
// here knows what the blob is (a Raft snapshot, a BFT checkpoint's state).
#pragma once

#include <cstdint>
#include <vector>

#include "core/codec.h"
#include "crypto/hash.h"

namespace phalanx::crypto {

inline constexpr std::uint32_t kChunkBytesMax = 64u << 20;

struct ChunkManifest {
  static constexpr std::size_t kChunksMax = 1 << 22;

  std::uint64_t chunk_count = 0;
  std::uint64_t total_bytes = 0;
  std::vector<Hash32> chunk_hashes;
  Hash32 root;  // Merkle root over chunk_hashes

  // The manifest of chunks with these hashes, `total_bytes` in all.
  [[nodiscard]] static ChunkManifest of(std::vector<Hash32> hashes, std::uint64_t total_bytes);

  // One hash per chunk, the root over them, and at least one byte per chunk.
  [[nodiscard]] bool consistent() const;

  void encode(codec::Writer& w) const;
  [[nodiscard]] static Result<ChunkManifest> decode(codec::Reader& r);
  bool operator==(const ChunkManifest&) const = default;
};

// The Merkle root over chunk hashes (as in a ChunkManifest).
[[nodiscard]] Hash32 chunk_root(const std::vector<Hash32>& hashes);

}  // namespace phalanx::crypto
