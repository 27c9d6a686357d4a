#include "consensus/bft/core.h"

#include <algorithm>

#include "security/verify.h"

namespace phalanx::bft {

const char* rejection_name(Rejection r) {
  switch (r) {
    case Rejection::kWrongEpoch: return "wrong_epoch";
    case Rejection::kNotLeader: return "not_leader";
    case Rejection::kBadCertificate: return "bad_certificate";
    case Rejection::kBadRequest: return "bad_request";
    case Rejection::kEquivocation: return "equivocation";
    case Rejection::kSafetyRule: return "safety_rule";
    case Rejection::kBadSync: return "bad_sync";
    case Rejection::kStale: return "stale";
  }
  return "unknown";
}

Core::Core(Config config, crypto::KeyPair key, SafetyData safety, Block tip)
    : config_(std::move(config)),
      safety_(config_.id, std::move(key), std::move(safety)),
      high_qc_(genesis_qc(config_.validators.epoch)),
      committed_(tip.id()),
      timeout_ticks_(config_.round_timeout_ticks) {
  PHALANX_ASSERT(std::is_sorted(config_.replicas.begin(), config_.replicas.end()));
  PHALANX_ASSERT(config_.replicas.size() == config_.validators.quorum.replicas());
  // A restarted replica resumes after the rounds it has already voted or timed out in.
  round_ = std::max(Round{1}, std::max(tip.round.next(), safety_.data().last_voted_round));
  if (tip.round != Round{0}) high_qc_ = tip.qc;  // at least as high as the tip's parent
  blocks_.emplace(committed_, std::move(tip));
  chain_.push_back(committed_);
  should_propose_ = leader(round_) == config_.id;
}

NodeId Core::leader(Round round) const {
  return config_.replicas[round.value() % config_.replicas.size()];
}

Ready Core::take_ready() {
  if (safety_dirty_) ready_.safety = safety_.data();
  safety_dirty_ = false;
  return std::exchange(ready_, {});
}

// ---- Pacemaker ----

void Core::tick() {
  if (should_propose_) propose(true);
  if (++elapsed_ < timeout_ticks_) return;
  elapsed_ = 0;
  local_timeout();
}

// Gives up on the current round: a signed timeout carrying the high QC, to
// everyone. Repeated every timeout period until the round ends (the same
// timeout each time: the safety rules never sign two for one round).
void Core::local_timeout() {
  Expected<Timeout, Refusal> t = safety_.timeout(round_, high_qc_, last_tc_);
  if (!t) return;  // e.g. the high QC is below the lock: wait for a higher one
  safety_dirty_ = true;
  broadcast(*t);
  handle_timeout(*t);
}

void Core::advance_round(Round round, bool by_timeout) {
  if (round <= round_) return;
  round_ = round;
  elapsed_ = 0;
  // Exponential back-off while rounds keep failing; back to the base on progress.
  timeout_ticks_ = by_timeout ? std::min(timeout_ticks_ * 2, config_.round_timeout_ticks_max)
                              : config_.round_timeout_ticks;
  std::erase_if(votes_, [&](const auto& kv) { return kv.first.first.next() < round_; });
  std::erase_if(timeouts_, [&](const auto& kv) { return kv.first < round_; });
  should_propose_ = leader(round_) == config_.id;
  if (should_propose_) propose(false);
}

// ---- Certificates and commits ----

bool Core::certified(const QuorumCert& qc) {
  if (!verify_qc(qc, config_.validators)) {
    reject(Rejection::kBadCertificate);
    return false;
  }
  return true;
}

void Core::process_qc(const QuorumCert& qc) {
  if (qc.round > high_qc_.round) high_qc_ = qc;
  try_commit(qc);
  advance_round(qc.round.next(), false);
}

void Core::process_tc(const TimeoutCert& tc) {
  if (!last_tc_ || tc.round > last_tc_->round) last_tc_ = tc;
  advance_round(tc.round.next(), true);
}

// 2-chain: a QC for B' whose parent B is from the round just before commits
// B and every uncommitted ancestor.
void Core::try_commit(const QuorumCert& qc) {
  const auto child = blocks_.find(qc.block);
  if (child == blocks_.end()) return;
  const auto parent = blocks_.find(child->second.parent());
  if (parent == blocks_.end()) return;
  const Block& b = parent->second;
  if (child->second.round != b.round.next() || b.round <= committed_tip().round) return;
  std::vector<const Block*> chain;
  for (const Block* at = &b; at->id() != committed_;) {
    chain.push_back(at);
    const auto up = blocks_.find(at->parent());
    if (up == blocks_.end()) return;  // an ancestor is missing: commit once synced
    at = &up->second;
  }
  for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
    const Block& c = **it;
    for (const consensus::ClientRequest& req : c.requests) {
      if (in_mempool_.erase({req.client, req.sequence}) != 0) {
        std::erase_if(mempool_, [&](const consensus::ClientRequest& m) {
          return m.client == req.client && m.sequence == req.sequence;
        });
      }
    }
    ready_.committed.push_back(c);
    ++committed_count_;
    chain_.push_back(c.id());
  }
  const Round tip_round = b.round;
  committed_ = b.id();
  // Keep the last committed_blocks_kept committed blocks (to serve replicas
  // that fell behind); forget blocks off the chain at or below its tip.
  while (chain_.size() > config_.committed_blocks_kept) {
    blocks_.erase(chain_.front());
    chain_.pop_front();
  }
  const std::set<BlockId> kept(chain_.begin(), chain_.end());
  std::erase_if(blocks_, [&](const auto& kv) {
    return kv.second.round <= tip_round && !kept.contains(kv.first);
  });
}

// ---- Proposals ----

// With nothing to order, a leader waits for its next tick before proposing
// an empty block: an idle cluster moves one round per tick, not as fast as
// the network allows. Work (new requests, or requests in uncommitted blocks
// that need two more rounds to commit) is proposed at once.
void Core::propose(bool idle_ok) {
  Block b{
      .epoch = config_.validators.epoch, .round = round_, .qc = high_qc_, .proposer = config_.id};
  if (high_qc_.round.next() != round_) {
    if (!last_tc_ || last_tc_->round.next() != round_) return;  // nothing justifies the round yet
    b.tc = last_tc_;
  }
  // Requests already in an uncommitted ancestor are not proposed twice.
  std::set<Key> pending;
  for (auto it = blocks_.find(high_qc_.block); it != blocks_.end() && it->first != committed_;
       it = blocks_.find(it->second.parent())) {
    for (const auto& req : it->second.requests) pending.insert({req.client, req.sequence});
  }
  for (const consensus::ClientRequest& req : mempool_) {
    if (b.requests.size() == config_.batch_max) break;
    if (!pending.contains({req.client, req.sequence})) b.requests.push_back(req);
  }
  if (b.requests.empty() && pending.empty() && !idle_ok) return;
  should_propose_ = false;
  if (!safety_.sign_proposal(b)) return;  // already voted or timed out in this round
  seen_proposals_[{config_.id, round_}] = {b.id(), b};
  broadcast(b);
  insert_block(std::move(b));
}

bool Core::requests_valid(const Block& block) const {
  for (const consensus::ClientRequest& req : block.requests) {
    auto verified = security::verify(*config_.validators.registry, Untrusted(req));
    if (!verified || verified->role() != Role::kClient) return false;
  }
  return true;
}

bool Core::conflicts(NodeId author, Round round, const BlockId& what, const Payload& payload,
                     std::map<std::pair<NodeId, Round>, std::pair<BlockId, Payload>>& seen) {
  const auto [it, fresh] = seen.try_emplace({author, round}, what, payload);
  if (fresh || it->second.first == what) return false;
  equivocators_.insert(author);
  ready_.evidence.push_back({author, round, it->second.second, payload});
  reject(Rejection::kEquivocation);
  return true;
}

void Core::on_proposal(const Authenticated<Block>& message) {
  const Block& b = message.value();
  if (b.epoch != config_.validators.epoch) return reject(Rejection::kWrongEpoch);
  if (b.proposer != leader(b.round)) return reject(Rejection::kNotLeader);
  if (b.round <= committed_tip().round) return reject(Rejection::kStale);
  if (conflicts(b.proposer, b.round, b.id(), b, seen_proposals_)) return;
  if (!certified(b.qc)) return;
  if (b.tc && !verify_tc(*b.tc, config_.validators)) return reject(Rejection::kBadCertificate);
  if (!requests_valid(b)) return reject(Rejection::kBadRequest);
  if (b.tc) process_tc(*b.tc);
  process_qc(b.qc);
  if (!blocks_.contains(b.parent())) {
    // An ancestor is missing: ask the proposer, and come back to this block.
    waiting_for_parent_[b.parent()].push_back(b);
    if (sync_requested_.insert(b.parent()).second) send(b.proposer, SyncRequest{b.parent()});
    return;
  }
  insert_block(b);
}

// Stores a block whose parent is known, votes for it if it is for the
// current round, then takes in the blocks that were waiting for it.
void Core::insert_block(Block block) {
  const BlockId id = block.id();
  const auto [it, fresh] = blocks_.emplace(id, std::move(block));
  if (!fresh) return;
  if (it->second.round == round_) vote_for(it->second);
  try_commit(it->second.qc);
  const auto waiting = waiting_for_parent_.find(id);
  if (waiting == waiting_for_parent_.end()) return;
  std::vector<Block> children = std::move(waiting->second);
  waiting_for_parent_.erase(waiting);
  sync_requested_.erase(id);
  for (Block& child : children) insert_block(std::move(child));
}

void Core::vote_for(const Block& block) {
  Expected<Vote, Refusal> v = safety_.vote(block);
  if (!v) return reject(Rejection::kSafetyRule);
  safety_dirty_ = true;
  const NodeId next = leader(block.round.next());
  if (next == config_.id) {
    handle_vote(*v);
  } else {
    send(next, *v);
  }
}

// ---- Votes and timeouts ----

void Core::on_vote(const Authenticated<Vote>& message) {
  const Vote& v = message.value();
  if (v.epoch != config_.validators.epoch) return reject(Rejection::kWrongEpoch);
  if (v.round.next() < round_) return reject(Rejection::kStale);
  if (conflicts(v.voter, v.round, v.block, v, seen_votes_)) return;
  handle_vote(v);
}

void Core::handle_vote(const Vote& v) {
  auto& signers = votes_[{v.round, v.block}];
  if (!signers.emplace(v.voter, v.signature).second) return;
  if (signers.size() != config_.validators.quorum.size()) return;
  QuorumCert qc{v.epoch, v.round, v.block, {}};
  for (const auto& [id, sig] : signers) qc.signers.push_back({id, sig});  // ascending: a map
  process_qc(qc);
}

void Core::on_timeout(const Authenticated<Timeout>& message) {
  const Timeout& t = message.value();
  if (t.epoch != config_.validators.epoch) return reject(Rejection::kWrongEpoch);
  if (t.round < round_) return reject(Rejection::kStale);
  const BlockId what = crypto::blake2b256(security::signed_bytes(t));
  if (conflicts(t.author_id, t.round, what, t, seen_timeouts_)) return;
  if (!certified(t.high_qc)) return;
  handle_timeout(t);
}

void Core::handle_timeout(const Timeout& t) {
  process_qc(t.high_qc);
  if (t.round < round_) return;
  auto& got = timeouts_[t.round];
  if (!got.emplace(t.author_id, t).second) return;
  // f+1 timeouts: at least one honest replica gave up on the round; join it
  // so a TC forms even if this replica's own timer has not fired.
  if (t.round == round_ && got.size() == config_.validators.quorum.reply_quorum() &&
      !got.contains(config_.id)) {
    local_timeout();
  }
  if (got.size() != config_.validators.quorum.size()) return;
  TimeoutCert tc{t.epoch, t.round, {}};
  for (const auto& [id, one] : got) tc.signers.push_back({id, one.high_qc.round, one.signature});
  process_tc(tc);
}

// ---- Block sync ----

void Core::on_sync_request(NodeId from, const SyncRequest& request) {
  SyncResponse response;
  for (auto it = blocks_.find(request.block);
       it != blocks_.end() && response.blocks.size() < config_.sync_blocks_max;
       it = blocks_.find(it->second.parent())) {
    response.blocks.push_back(it->second);
  }
  if (response.blocks.empty()) return;
  std::reverse(response.blocks.begin(), response.blocks.end());
  send(from, std::move(response));
}

void Core::on_sync_response(NodeId from, SyncResponse response) {
  if (response.blocks.empty() || !sync_requested_.contains(response.blocks.back().id())) {
    return reject(Rejection::kBadSync);
  }
  // Each block must be the one its child's QC certifies.
  for (std::size_t i = 1; i < response.blocks.size(); ++i) {
    if (response.blocks[i].parent() != response.blocks[i - 1].id()) {
      return reject(Rejection::kBadSync);
    }
  }
  const Block& oldest = response.blocks.front();
  if (!blocks_.contains(oldest.parent()) && !blocks_.contains(oldest.id())) {
    // Still short of what this replica knows: park them, ask further back.
    for (Block& b : response.blocks) waiting_for_parent_[b.parent()].push_back(std::move(b));
    if (sync_requested_.insert(oldest.parent()).second) send(from, SyncRequest{oldest.parent()});
    return;
  }
  for (Block& b : response.blocks) {
    if (blocks_.contains(b.id())) continue;
    if (b.round <= committed_tip().round) continue;
    insert_block(std::move(b));
  }
}

// ---- Mempool, sending ----

void Core::submit(const Authenticated<consensus::ClientRequest>& message) {
  const consensus::ClientRequest& req = message.value();
  if (!in_mempool_.insert({req.client, req.sequence}).second) return;
  mempool_.push_back(req);
  if (should_propose_) propose(false);
}

void Core::broadcast(const Payload& body) {
  for (NodeId to : config_.replicas) {
    if (to != config_.id) send(to, body);
  }
}

void Core::send(NodeId to, Payload body) { ready_.messages.push_back({to, std::move(body)}); }

}  // namespace phalanx::bft
