// The adversaries a liar runs (sim/bft_cluster.h, Adversary) and the
// planted fork of f+1 colluders. Every attempt is counted by kind in attacks_.
#include <fmt/format.h>

#include "apps/kv/kv_machine.h"
#include "security/verify.h"
#include "sim/bft_cluster_impl.h"
#include "storage/data_dir.h"
#include "storage/snapshot.h"

namespace phalanx::sim::bft_detail {

void Cluster::remember(Node& n, NodeId from, const Bytes& frame, const bft::Payload& body) {
  if (from != n.id) {
    n.heard.push_back(frame);
    if (n.heard.size() > kRememberedFrames) n.heard.pop_front();
  }
  if (const auto* b = std::get_if<bft::Block>(&body); b && !b->qc.genesis()) {
    if (n.qcs.empty() || n.qcs.back().round < b->qc.round) n.qcs.push_back(b->qc);
    if (n.qcs.size() > kRememberedFrames) n.qcs.pop_front();
  }
}

void Cluster::capture(Node& n, const Bytes& request) {
  if (auto r = codec::decode<consensus::ClientRequest>(request)) n.captured = std::move(*r);
}

void Cluster::send_as(Node& n, NodeId to, const bft::Payload& body) {
  net_.send(now_, n.id, to, Wire(bft::encode_envelope({n.id, to, body})));
}

void Cluster::lie(Node& n, NodeId to, Bytes frame) {
  Result<Untrusted<bft::Envelope>> decoded = bft::decode_envelope(frame);
  PHALANX_ASSERT(decoded.has_value());
  bft::Payload body = decoded->unverified().body;
  const auto* vote = std::get_if<bft::Vote>(&body);
  const auto* block = std::get_if<bft::Block>(&body);
  const bool own_block = block && block->proposer == n.id;
  // Every talking liar signs a false state root for half its checkpoints.
  if (auto* c = std::get_if<bft::Checkpoint>(&body);
      c && n.adversary != Adversary::kSilent && rng_.coin()) {
    c->root[0] ^= 0x5a;
    security::sign(*c, *n.key);
    send_as(n, to, *c);
    attack("false-checkpoint");
    return;
  }
  // ... and lies about half the snapshot chunks it serves.
  if (auto* c = std::get_if<bft::SnapshotChunk>(&body);
      c && n.adversary != Adversary::kSilent && rng_.coin()) {
    lie_about_snapshot(n, to, std::move(*c));
    return;
  }
  switch (n.adversary) {
    case Adversary::kNone: break;
    case Adversary::kSilent: attack("silent"); return;
    case Adversary::kWithhold:
      if (vote) {
        attack("withhold-vote");
        return;
      }
      break;
    case Adversary::kDoubleVote:
      if (vote) {
        bft::Vote second = *vote;
        second.block = crypto::blake2b256(as_view(fmt::format("other {}", now_)));
        security::sign(second, *n.key);
        net_.send(now_, n.id, to, Wire(frame));
        send_as(n, to, second);
        attack("double-vote");
        return;
      }
      break;
    case Adversary::kEquivocate:
      if (own_block) {
        if (std::optional<bft::Block> other = conflicting(n, *block)) {
          if (n.attacked_round != block->round) attack("equivocate");
          n.attacked_round = block->round;
          // The even ids get the other block; the lowest odd id (not
          // the liar's) gets both, and can prove the equivocation.
          if (to.value() % 2 == 0) {
            send_as(n, to, *other);
            return;
          }
          const NodeId both{n.id.value() == 1 ? 3u : 1u};
          if (to == both) {
            net_.send(now_, n.id, to, Wire(frame));
            send_as(n, to, *other);
            return;
          }
        }
      }
      break;
    case Adversary::kStaleQc:
      if (own_block) {
        for (const bft::QuorumCert& qc : n.qcs) {
          if (qc.round.value() + 2 > block->qc.round.value()) break;
          bft::Block stale = *block;
          stale.qc = qc;
          stale.tc.reset();
          security::sign(stale, *n.key);
          if (n.attacked_round != block->round) attack("stale-qc");
          n.attacked_round = block->round;
          send_as(n, to, stale);
          return;
        }
      }
      break;
    case Adversary::kBadRequest:
      if (own_block) {
        bft::Block bad = *block;
        bad.requests.push_back(forged_request(n, block->round));
        security::sign(bad, *n.key);
        if (n.attacked_round != block->round) attack("bad-request");
        n.attacked_round = block->round;
        send_as(n, to, bad);
        return;
      }
      break;
    case Adversary::kTiming: {
      // Just inside the base round timeout (20 ticks of 8-12 ms).
      const std::uint64_t at = now_ + rng_.between(120, 170);
      delayed_.emplace(std::make_pair(at, delayed_seq_++), std::make_tuple(n.id, to, frame));
      attack("timing");
      return;
    }
    case Adversary::kReplay: replay(n); break;
    case Adversary::kForge: forge(n, to, body); break;
    case Adversary::kMixed: break;
    case Adversary::kFork:
      if (fork_step(n, body)) return;
      break;
  }
  n.sent.emplace_back(to, frame);
  if (n.sent.size() > kRememberedFrames) n.sent.pop_front();
  net_.send(now_, n.id, to, Wire(std::move(frame)));
}

std::optional<bft::Block> Cluster::conflicting(const Node& n, const bft::Block& b) {
  bft::Block other = b;
  if (!other.requests.empty()) {
    other.requests.pop_back();
  } else if (n.captured) {
    other.requests.push_back(*n.captured);
  } else {
    return std::nullopt;
  }
  security::sign(other, *n.key);
  return other;
}

consensus::ClientRequest Cluster::forged_request(const Node& n, Round round) {
  consensus::ClientRequest r{cluster_id(), ClientId{999}, round.value(), to_bytes("forged"), {}};
  switch (round.value() % 3) {
    case 0:
      if (n.captured) {
        r = *n.captured;
        r.signature[0] ^= 1;
        break;
      }
      [[fallthrough]];
    case 1: r.signature = n.key->sign(SignDomain::kClientRequest, security::signed_bytes(r)); break;
    default:
      if (n.captured) r = *n.captured;
      r.cluster[0] ^= 0xff;
      break;
  }
  return r;
}

void Cluster::replay(Node& n) {
  if (!n.sent.empty() && rng_.one_in(4)) {
    const auto& [to, frame] = n.sent[rng_.uniform(n.sent.size())];
    net_.send(now_, n.id, to, Wire(frame));
    attack("replay-own");
  }
  if (!n.heard.empty() && rng_.one_in(4)) {
    // Another replica's signed message, passed off under the liar's name.
    Result<Untrusted<bft::Envelope>> e =
        bft::decode_envelope(n.heard[rng_.uniform(n.heard.size())]);
    if (e && bft::signed_by(e->unverified().body)) {
      const NodeId to = random_node();
      if (to != n.id) {
        send_as(n, to, e->unverified().body);
        attack("replay-other");
      }
    }
  }
}

void Cluster::forge(Node& n, NodeId to, const bft::Payload& body) {
  if (!bft::signed_by(body) || !rng_.one_in(3)) return;
  bft::Payload forged = body;
  switch (rng_.uniform(3)) {
    case 0:  // a broken signature
      std::visit(
          [](auto& m) {
            if constexpr (requires { m.signature; }) m.signature[5] ^= 0x20;
          },
          forged);
      send_as(n, to, forged);
      attack("forge-signature");
      break;
    case 1: {  // in another replica's name, signed with the liar's key
      const NodeId victim = ids_[(n.id.value()) % ids_.size()];
      std::visit(
          [&](auto& m) {
            if constexpr (requires { m.voter; }) m.voter = victim;
            if constexpr (requires { m.author_id; }) m.author_id = victim;
            if constexpr (requires { m.proposer; }) m.proposer = victim;
            if constexpr (requires { m.signer; }) m.signer = victim;
            if constexpr (requires { m.signature; }) security::sign(m, *n.key);
          },
          forged);
      net_.send(now_, n.id, to, Wire(bft::encode_envelope({victim, to, forged})));
      attack("forge-identity");
      break;
    }
    default: {  // the right frame under the liar's name, addressed to someone else
      net_.send(now_, n.id, to, Wire(bft::encode_envelope({n.id, n.id, forged})));
      attack("forge-address");
      break;
    }
  }
}

void Cluster::lie_to_client(Node& n, consensus::ClientAnswer& a) {
  if (a.outcome != consensus::CallOutcome::kDone || !rng_.coin()) return;
  Result<consensus::ClientReply> reply = codec::decode<consensus::ClientReply>(a.reply);
  PHALANX_ASSERT(reply.has_value());
  reply->result = codec::encode(kv::KvReply{kv::KvStatus::kOk, to_bytes("a lie")});
  security::sign(*reply, *n.key);
  a.reply = codec::encode(*reply);
  attack("lying-reply");
}

void Cluster::lie_about_snapshot(Node& n, NodeId to, bft::SnapshotChunk chunk) {
  if (chunk.cert && rng_.one_in(3)) {
    chunk.cert->signers.back().signature[3] ^= 0x10;
    attack("snapshot-forged-cert");
  } else if (std::optional<Bytes> whole;
             chunk.manifest && (whole = own_snapshot(n, chunk.height))) {
    // Another state (one more request counted) in one chunk, with a
    // manifest that matches it: only the certificate's state root tells.
    codec::Reader r(*whole);
    Result<bft::StateSnapshot> state = bft::StateSnapshot::decode(r, ids_, {});
    PHALANX_ASSERT(state.has_value());
    ++state->requests;
    chunk.data = codec::encode(*state);
    chunk.manifest = crypto::ChunkManifest::of({crypto::blake2b256(chunk.data)}, chunk.data.size());
    attack("snapshot-false-state");
  } else if (!chunk.data.empty()) {
    chunk.data[rng_.uniform(chunk.data.size())] ^= 0x01;
    attack("snapshot-bad-chunk");
  }
  send_as(n, to, chunk);
}

std::optional<Bytes> Cluster::own_snapshot(Node& n, std::uint64_t height) {
  Result<std::unique_ptr<storage::SnapshotReader>> reader = storage::SnapshotReader::open(
      *n.fs, storage::join_path(storage::snapshot_dir("/data"),
                                storage::snapshot_file_name(LogIndex{height})));
  if (!reader) return std::nullopt;
  Bytes whole;
  for (;;) {
    Result<std::optional<Bytes>> chunk = (*reader)->next_chunk();
    if (!chunk) return std::nullopt;
    if (!*chunk) return whole;
    whole.insert(whole.end(), (*chunk)->begin(), (*chunk)->end());
  }
}

void Cluster::release_delayed() {
  while (!delayed_.empty() && delayed_.begin()->first.first <= now_) {
    auto [from, to, frame] = std::move(delayed_.begin()->second);
    delayed_.erase(delayed_.begin());
    net_.send(now_, from, to, Wire(std::move(frame)));
  }
}

bool Cluster::fork_step(Node& n, const bft::Payload& body) {
  if (fork_.active) {
    if (now_ - fork_.started_at > 2'000) {
      fork_.active = false;
      trace("fork: gave up");
    }
    return fork_.active;  // the plan speaks for the colluders
  }
  const auto* b = std::get_if<bft::Block>(&body);
  if (fork_.done || !b || b->proposer != n.id || !colluder(leader(n, b->round.next())) ||
      !colluder(leader(n, b->round.next().next()))) {
    return false;
  }
  std::optional<bft::Block> other = conflicting(n, *b);
  if (!other) return false;
  fork_ = Fork{};
  fork_.active = true;
  fork_.planner = n.id;
  fork_.started_at = now_;
  std::vector<NodeId> honest;
  for (const Node& x : nodes_) {
    if (x.honest()) honest.push_back(x.id);
  }
  for (std::size_t i = 0; i < honest.size(); ++i)
    fork_.half[i * 2 / honest.size()].push_back(honest[i]);
  fork_.branch[0].push_back(*b);
  fork_.branch[1].push_back(*other);
  attack("fork");
  trace(fmt::format("fork: round {} split in two", b->round.value()));
  for (int side = 0; side < 2; ++side) fork_send(side);
  return true;
}

void Cluster::fork_send(int side) {
  const bft::Block& b = fork_.branch[side].back();
  for (NodeId to : fork_.half[side]) send_as(node(b.proposer), to, b);
}

void Cluster::fork_intercept(const bft::Payload& body) {
  const auto* v = std::get_if<bft::Vote>(&body);
  if (!v) return;
  for (int side = 0; side < 2; ++side) {
    std::vector<bft::Block>& branch = fork_.branch[side];
    if (branch.size() >= 3 || branch.back().id() != v->block) continue;
    auto& signers = fork_.votes[{v->round, v->block}];
    signers[v->voter] = v->signature;
    for (const Node& c : nodes_) {
      if (c.honest()) continue;
      bft::Vote mine{kEpoch, v->round, v->block, c.id};
      security::sign(mine, *c.key);
      signers[c.id] = mine.signature;
    }
    if (signers.size() < quorum_.size()) continue;
    bft::QuorumCert qc{kEpoch, v->round, v->block, {}};
    for (const auto& [id, sig] : signers) qc.signers.push_back({id, sig});
    const Round next = v->round.next();
    bft::Block b{
        .epoch = kEpoch, .round = next, .qc = qc, .proposer = leader(node(fork_.planner), next)};
    security::sign(b, *node(b.proposer).key);
    branch.push_back(b);
    trace(fmt::format("fork: side {} certified at round {}", side, v->round.value()));
    fork_send(side);
    if (fork_.branch[0].size() == 3 && fork_.branch[1].size() == 3) {
      fork_.active = false;
      fork_.done = true;
    }
  }
}

}  // namespace phalanx::sim::bft_detail
