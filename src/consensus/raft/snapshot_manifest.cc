#include "consensus/raft/snapshot_manifest.h"

namespace phalanx::raft {

void SnapshotMeta::encode(codec::Writer& w) const {
  w.id(last_index);
  w.id(last_term);
  w.fixed(last_entry_hash);
  w.bytes(membership, kMembershipBytesMax);
}

Result<SnapshotMeta> SnapshotMeta::decode(codec::Reader& r) {
  SnapshotMeta m;
  PHALANX_ASSIGN_OR_RETURN(m.last_index, r.id<LogIndex>());
  PHALANX_ASSIGN_OR_RETURN(m.last_term, r.id<Term>());
  PHALANX_ASSIGN_OR_RETURN(m.last_entry_hash, r.fixed<32>());
  PHALANX_ASSIGN_OR_RETURN(m.membership, r.bytes(kMembershipBytesMax));
  return m;
}

void SnapshotManifest::encode(codec::Writer& w) const {
  meta.encode(w);
  chunks.encode(w);
}

Result<SnapshotManifest> SnapshotManifest::decode(codec::Reader& r) {
  SnapshotManifest m;
  PHALANX_ASSIGN_OR_RETURN(m.meta, SnapshotMeta::decode(r));
  PHALANX_ASSIGN_OR_RETURN(m.chunks, crypto::ChunkManifest::decode(r));
  return m;
}

}  // namespace phalanx::raft
