// Test-only: a Raft cluster on an instant in-memory network, with the
// runner's duties done in memory (persisting is a no-op, the state machine
// is the list of applied entries, snapshots are kept as chunks).
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <set>

#include "consensus/raft/core.h"
#include "crypto/hash.h"
#include "security/verify.h"

namespace phalanx::raft::testing {

class TestCluster {
 public:
  // Nodes 1..voters form the cluster; `spares` more nodes run outside it
  // (started with the same bootstrap voters) until they are added.
  explicit TestCluster(int voters, int spares = 0, std::uint64_t seed = 1) {
    std::vector<NodeId> bootstrap;
    for (int i = 1; i <= voters + spares; ++i) {
      const NodeId id{static_cast<std::uint64_t>(i)};
      ids_.push_back(id);
      if (i <= voters) bootstrap.push_back(id);
      crypto::Seed s;
      s[0] = static_cast<std::uint8_t>(i);
      EXPECT_TRUE(registry_.add({Principal::replica(id), crypto::KeyPair::from_seed(s).public_key(),
                                 phalanx::Role::kReplica}));
    }
    for (NodeId id : ids_) {
      Config c{.id = id, .voters = bootstrap};
      cores_.emplace(id, std::make_unique<Core>(c, Persisted{}, seed * 100 + id.value()));
    }
  }

  Core& node(std::uint64_t id) { return *cores_.at(NodeId{id}); }

  // Delivers every message (except across cut links) until quiet; returns
  // the Ready batches seen, per node.
  std::map<NodeId, std::vector<Ready>> settle() {
    std::map<NodeId, std::vector<Ready>> seen;
    for (int round = 0; round < 1000; ++round) {
      std::vector<Message> in_flight;
      for (auto& [id, core] : cores_) {
        // Reporting the log durable may commit more: take Readies until none is left.
        for (Ready r = core->take_ready(); !r.empty(); r = core->take_ready()) {
          run(id, r);
          for (const Message& m : r.messages) in_flight.push_back(m);
          seen[id].push_back(std::move(r));
        }
      }
      if (in_flight.empty()) return seen;
      for (const Message& m : in_flight) deliver(m);
    }
    ADD_FAILURE() << "did not settle";
    return seen;
  }

  void deliver(const Message& m) {
    if (cut_.contains({m.from, m.to})) return;
    auto a = security::verify_channel(registry_, Principal::replica(m.from), Untrusted<Message>(m));
    ASSERT_TRUE(a);
    auto z = security::authorize(policy_, *a);
    ASSERT_TRUE(z);
    cores_.at(m.to)->step(*z);
  }

  void tick_all(int ticks) {
    for (int t = 0; t < ticks; ++t) {
      for (auto& [id, core] : cores_) core->tick();
      settle();
    }
  }

  void isolate(std::uint64_t id) {
    for (NodeId other : ids_) {
      cut_.insert({NodeId{id}, other});
      cut_.insert({other, NodeId{id}});
    }
  }
  void heal() { cut_.clear(); }

  // The one leader that is not cut off, if any.
  std::optional<NodeId> leader() {
    std::optional<NodeId> found;
    for (auto& [id, core] : cores_) {
      if (core->role() != RaftRole::kLeader) continue;
      const bool isolated =
          ids_.size() > 1 && cut_.contains({id, ids_[0] == id ? ids_[1] : ids_[0]});
      if (!isolated) found = id;
    }
    return found;
  }

  const std::vector<Entry>& applied(std::uint64_t id) { return applied_[NodeId{id}]; }

  // The runner's snapshot: the applied entries, in chunks of `chunk_bytes`;
  // the core is told and compacts through `compact_through`.
  void snapshot(std::uint64_t id, LogIndex compact_through, std::size_t chunk_bytes = 16) {
    Core& core = node(id);
    const LogIndex at = core.applied_index();
    Stored stored;
    const Bytes state = encode_applied(applied_[NodeId{id}]);
    std::vector<crypto::Hash32> hashes;
    for (std::size_t off = 0; off < state.size(); off += chunk_bytes) {
      const std::size_t n = std::min(chunk_bytes, state.size() - off);
      stored.chunks.emplace_back(state.begin() + static_cast<std::ptrdiff_t>(off),
                                 state.begin() + static_cast<std::ptrdiff_t>(off + n));
      hashes.push_back(crypto::blake2b256(stored.chunks.back()));
    }
    stored.manifest.chunks = crypto::ChunkManifest::of(std::move(hashes), state.size());
    stored.manifest.meta = {at, core.term_at(at), {}, codec::encode(core.membership_at(at))};
    core.snapshot_taken(stored.manifest, compact_through);
    snapshots_[NodeId{id}] = std::move(stored);
  }

  // Chunks each node received and installs, counted.
  std::uint64_t chunks_received(std::uint64_t id) { return chunks_received_[NodeId{id}]; }
  std::uint64_t installs(std::uint64_t id) { return installs_[NodeId{id}]; }

 private:
  struct Stored {
    SnapshotManifest manifest;
    std::vector<Bytes> chunks;
  };

  static Bytes encode_applied(const std::vector<Entry>& entries) {
    codec::Writer w;
    w.varint(entries.size());
    for (const Entry& e : entries) {
      w.id(e.term);
      w.id(e.index);
      w.u8(static_cast<std::uint8_t>(e.kind));
      w.bytes(e.data, 1 << 20);
    }
    return w.take();
  }

  static std::vector<Entry> decode_applied(ByteView bytes) {
    codec::Reader r(bytes);
    std::vector<Entry> out(*r.varint());
    for (Entry& e : out) {
      e.term = *r.id<Term>();
      e.index = *r.id<LogIndex>();
      e.kind = static_cast<EntryKind>(*r.u8());
      e.data = *r.bytes(1 << 20);
    }
    return out;
  }

  // The runner's duties for one Ready, in the contract's order.
  void run(NodeId id, Ready& r) {
    for (const SnapshotChunk& c : r.snapshot_chunks) {
      if (c.manifest) receiving_[id].clear();
      receiving_[id].insert(receiving_[id].end(), c.data.begin(), c.data.end());
      ++chunks_received_[id];
    }
    if (r.snapshot_installed) {
      applied_[id] = decode_applied(receiving_[id]);
      ++installs_[id];
    }
    for (Message& m : r.messages) {
      if (auto* s = std::get_if<InstallSnapshot>(&m.body)) {
        const Stored& stored = snapshots_.at(id);
        ASSERT_EQ(stored.manifest.meta.last_index, s->last_index);
        s->data = stored.chunks.at(s->chunk);
      }
    }
    for (const Entry& e : r.committed) applied_[id].push_back(e);
    Core& core = *cores_.at(id);
    core.log_durable(core.last_index());  // this runner's disk is instant
  }

  std::vector<NodeId> ids_;
  std::map<NodeId, std::unique_ptr<Core>> cores_;
  std::set<std::pair<NodeId, NodeId>> cut_;
  std::map<NodeId, std::vector<Entry>> applied_;
  std::map<NodeId, Stored> snapshots_;
  std::map<NodeId, Bytes> receiving_;
  std::map<NodeId, std::uint64_t> chunks_received_;
  std::map<NodeId, std::uint64_t> installs_;
  security::TrustRegistry registry_;
  security::Policy policy_ = security::Policy::standard();
};

}  // namespace phalanx::raft::testing
