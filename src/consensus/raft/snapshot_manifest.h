// What a Raft snapshot covers and holds: the log through last_index (its
// term and entry hash), the membership in effect there, and the chunks of the
// state machine's image (crypto::ChunkManifest). Sent with chunk 0 of
// InstallSnapshot; stored as the snapshot file's protocol metadata.
#pragma once

#include "core/codec.h"
#include "core/ids.h"
#include "crypto/chunk_manifest.h"
#include "crypto/hash.h"

namespace phalanx::raft {

struct SnapshotMeta {
  static constexpr std::size_t kMembershipBytesMax = 1 << 20;

  LogIndex last_index;
  Term last_term;
  crypto::Hash32 last_entry_hash;
  Bytes membership;  // an encoded Membership

  void encode(codec::Writer& w) const;
  [[nodiscard]] static Result<SnapshotMeta> decode(codec::Reader& r);
  bool operator==(const SnapshotMeta&) const = default;
};

struct SnapshotManifest {
  SnapshotMeta meta;
  crypto::ChunkManifest chunks;

  void encode(codec::Writer& w) const;
  [[nodiscard]] static Result<SnapshotManifest> decode(codec::Reader& r);
  bool operator==(const SnapshotManifest&) const = default;
};

}  // namespace phalanx::raft
