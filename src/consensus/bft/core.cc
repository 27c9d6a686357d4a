#include "consensus/bft/core.h"

#include <algorithm>
#include <limits>

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
    case Rejection::kBacklogFull: return "backlog_full";
    case Rejection::kBadAccusation: return "bad_accusation";
  }
  return "unknown";
}

Core::Core(Config config, crypto::KeyPair key, SafetyData safety, Block tip,
           std::vector<Block> voted, std::optional<LeaderSchedule> schedule)
    : config_(std::move(config)),
      schedule_(schedule ? std::move(*schedule)
                         : LeaderSchedule(config_.replicas, config_.schedule)),
      safety_(config_.id, std::move(key), std::move(safety)),
      high_qc_(genesis_qc(config_.validators.epoch)),
      committed_(tip.id()),
      timeout_ticks_(config_.round_timeout_ticks) {
  PHALANX_ASSERT(std::is_sorted(config_.replicas.begin(), config_.replicas.end()));
  PHALANX_ASSERT(config_.replicas.size() == config_.validators.quorum.replicas());
  // A restarted replica resumes after the rounds it has already voted or timed out in.
  round_ = std::max(Round{1}, std::max(tip.round.next(), safety_.data().last_voted_round));
  if (tip.round != Round{0}) high_qc_ = tip.qc;  // at least as high as the tip's parent
  const SafetyData& kept = safety_.data();
  if (kept.lock_qc && kept.lock_qc->round > high_qc_.round) high_qc_ = *kept.lock_qc;
  last_tc_ = kept.last_tc;
  const Round tip_round = tip.round;
  blocks_.emplace(committed_, std::move(tip));
  chain_.push_back(committed_);
  std::sort(voted.begin(), voted.end(),
            [](const Block& a, const Block& b) { return a.round < b.round; });
  for (Block& b : voted) {
    if (b.round <= tip_round || blocks_.contains(b.id())) continue;
    if (blocks_.contains(b.parent())) {
      const BlockId id = b.id();
      blocks_.emplace(id, std::move(b));
    } else {
      park(std::move(b));
    }
  }
  should_propose_ = leader(round_) == config_.id;
}

NodeId Core::leader(Round round) const { return schedule_.leader(round); }

Ready Core::take_ready() {
  if (safety_dirty_) ready_.safety = safety_.data();
  safety_dirty_ = false;
  return std::exchange(ready_, {});
}

// ticks before an unanswered sync request goes to another replica
constexpr std::uint32_t kSyncRetryTicks = 4;

// ---- Pacemaker ----

void Core::tick() {
  if (!waiting_for_parent_.empty() || !wanted_.empty() || syncing_) retry_sync();
  ++elapsed_;
  ++ticks_;
  if (vote_to_leader_ && vote_to_leader_->first.round == round_ &&
      suspected(vote_to_leader_->second)) {
    const auto [vote, next] = *std::exchange(vote_to_leader_, std::nullopt);
    broadcast_vote(vote, next);
  }
  if (should_propose_ && elapsed_ >= config_.idle_propose_ticks) propose(true);
  if (elapsed_ < timeout_ticks_) return;
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
  t->last_tc = last_tc_;
  broadcast(*t);
  handle_timeout(*t);
}

void Core::advance_round(Round round, bool by_timeout) {
  if (round <= round_) return;
  round_ = round;
  elapsed_ = 0;
  // Exponential back-off while rounds keep failing, from the second in a
  // row; back to the base on progress.
  timeouts_in_a_row_ = by_timeout ? timeouts_in_a_row_ + 1 : 0;
  timeout_ticks_ = timeouts_in_a_row_ >= 2
                       ? std::min(timeout_ticks_ * 2, config_.round_timeout_ticks_max)
                       : config_.round_timeout_ticks;
  std::erase_if(votes_, [&](const auto& kv) { return kv.first.first.next() < round_; });
  std::erase_if(timeouts_, [&](const auto& kv) { return kv.first < round_; });
  should_propose_ = leader(round_) == config_.id;
  if (should_propose_) propose(false);
}

// ---- Certificates and commits ----

bool Core::certified(const QuorumCert& qc) {
  const auto known = verified_qcs_.find({qc.round, qc.block});
  if (known != verified_qcs_.end() && known->second == qc.signers) return true;
  if (!verify_qc(qc, config_.validators)) {
    reject(Rejection::kBadCertificate);
    return false;
  }
  if (!qc.genesis() && qc.round > committed_tip().round) {
    verified_qcs_[{qc.round, qc.block}] = qc.signers;
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
  if (child == blocks_.end()) {
    // Certified but never received (lost, or this replica was behind): fetch it.
    if (qc.round > committed_tip().round && !qc.genesis()) {
      wanted_.try_emplace(qc.block, qc.round);
      if (missing(qc.block)) request_sync(qc.block, leader(qc.round));
    }
    return;
  }
  const auto parent = blocks_.find(child->second.parent());
  if (parent == blocks_.end()) return;
  const Block& b = parent->second;
  if (child->second.round != b.round.next() || b.round <= committed_tip().round) return;
  std::vector<const Block*> chain;
  for (const Block* at = &b; at->id() != committed_;) {
    chain.push_back(at);
    const auto up = blocks_.find(at->parent());
    if (up == blocks_.end()) {
      // An ancestor is missing (this replica was down, or lost messages):
      // fetch it; the commit is retried when it arrives.
      wanted_.try_emplace(at->parent(), child->second.round);
      if (missing(at->parent())) request_sync(at->parent(), at->proposer);
      return;
    }
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
    for (const Accusation& a : c.accusations) accusations_.erase(a.accused());
    schedule_.on_commit(c);
    ready_.committed.push_back(c);
    ++committed_count_;
    chain_.push_back(c.id());
  }
  // The commits may change who leads the current round (when this replica
  // caught up past round - lag).
  should_propose_ = leader(round_) == config_.id && proposed_ < round_;
  committed_ = b.id();
  forget_below(b.round);
}

void Core::forget_below(Round tip_round) {
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
  verified_qcs_.erase(verified_qcs_.begin(), verified_qcs_.lower_bound({tip_round, BlockId{}}));
  std::erase_if(wanted_, [&](const auto& kv) {
    return blocks_.contains(kv.first) || kv.second <= tip_round;
  });
  // Parked blocks at or below the tip can never be inserted any more.
  for (auto it = waiting_for_parent_.begin(); it != waiting_for_parent_.end();) {
    std::erase_if(it->second, [&](const Block& w) {
      if (w.round > tip_round) return false;
      parked_.erase(w.id());
      return true;
    });
    it = it->second.empty() ? waiting_for_parent_.erase(it) : std::next(it);
  }
}

void Core::remember(std::vector<Block> committed) {
  PHALANX_ASSERT(chain_.size() == 1);
  for (auto it = committed.rbegin(); it != committed.rend(); ++it) {
    if (chain_.size() == config_.committed_blocks_kept) break;
    const Block& oldest = blocks_.at(chain_.front());
    PHALANX_ASSERT(it->id() == oldest.parent());
    const BlockId id = it->id();
    blocks_.emplace(id, std::move(*it));
    chain_.push_front(id);
  }
}

void Core::install(Block tip, LeaderSchedule schedule) {
  PHALANX_ASSERT(tip.round > committed_tip().round);
  const Round tip_round = tip.round;
  committed_ = tip.id();
  schedule_ = std::move(schedule);
  chain_.clear();
  chain_.push_back(committed_);
  blocks_.insert_or_assign(committed_, std::move(tip));
  forget_below(tip_round);
  advance_round(tip_round.next(), false);  // only if behind it
  should_propose_ = leader(round_) == config_.id && proposed_ < round_;
  adopt_children(committed_);
  try_commit(high_qc_);
  if (should_propose_) propose(false);
}

// ---- Proposals ----

// With nothing to order, a leader waits for its next tick before proposing
// an empty block: an idle cluster moves one round per tick, not as fast as
// the network allows. Work (new requests, or requests in uncommitted blocks
// that need two more rounds to commit) is proposed at once.
void Core::propose(bool idle_ok) {
  // A restarted replica knows only the QC inside its committed tip, which
  // certifies the tip's parent: extending that would fork below the tip.
  if (high_qc_.round < committed_tip().round) return;
  Block b{
      .epoch = config_.validators.epoch, .round = round_, .qc = high_qc_, .proposer = config_.id};
  if (high_qc_.round.next() != round_) {
    if (!last_tc_ || last_tc_->round.next() != round_) return;  // nothing justifies the round yet
    // After a TC the block must extend a QC at least as high as any its
    // signers reported; a leader that has not seen that QC yet waits for it.
    if (high_qc_.round < last_tc_->highest_qc_round()) return;
    b.tc = last_tc_;
  }
  // Requests and accusations already in an uncommitted ancestor are not proposed twice.
  std::set<Key> pending;
  std::set<NodeId> accused;
  const Round committed_round = committed_tip().round;
  for (BlockId at = high_qc_.block; at != committed_;) {
    const auto it = blocks_.find(at);
    // A leader missing part of the chain it extends cannot tell what is
    // already in it: it waits for the sync (the round may time out).
    if (it == blocks_.end() || it->second.round <= committed_round) return;
    for (const auto& req : it->second.requests) pending.insert({req.client, req.sequence});
    for (const auto& a : it->second.accusations) accused.insert(a.accused());
    at = it->second.parent();
  }
  for (const auto& [author, accusation] : accusations_) {
    if (b.accusations.size() == kAccusationsPerBlockMax) break;
    if (!accused.contains(author)) b.accusations.push_back(accusation);
  }
  std::size_t bytes = codec::encode(b).size();
  for (const consensus::ClientRequest& req : mempool_) {
    if (b.requests.size() == config_.batch_max) break;
    if (pending.contains({req.client, req.sequence})) continue;
    // At least its encoded size: cluster, ids, length prefix and signature take < 128 bytes.
    const std::size_t size = req.operation.size() + 128;
    if (bytes + size > config_.block_bytes_max) break;
    bytes += size;
    b.requests.push_back(req);
  }
  // The QC this block carries may be the one that commits requests (the
  // 2-chain of the high QC's block and its parent): the other replicas
  // learn of that commit only from this block, so it is not idle.
  bool commits_requests = false;
  if (const auto certified = blocks_.find(high_qc_.block); certified != blocks_.end()) {
    const auto parent = blocks_.find(certified->second.parent());
    commits_requests = !certified->second.requests.empty() ||
                       (parent != blocks_.end() && !parent->second.requests.empty());
  }
  if (b.requests.empty() && b.accusations.empty() && pending.empty() && !commits_requests &&
      !idle_ok) {
    return;
  }
  should_propose_ = false;
  proposed_ = round_;
  if (!safety_.sign_proposal(b)) return;  // already voted or timed out in this round
  // The leader's own vote makes the proposal durable (last_voted_round) before
  // it leaves: a block it would not vote for is never sent, or a restart could
  // propose a second block for the round (found by the simulator, seed 271:
  // an honest leader accused of equivocation).
  if (!safety_.vote(b)) return;
  seen_proposals_[{config_.id, round_}] = {b.id(), b};
  broadcast(b);
  insert_block(std::move(b));
}

bool Core::requests_valid(const Block& block) const {
  for (const consensus::ClientRequest& req : block.requests) {
    if (req.cluster != config_.cluster) return false;
    // Any client-side principal may have a request ordered; what its command
    // may do is decided when it executes (node::BftReplica::may_execute).
    auto verified = security::verify(*config_.validators.registry, Untrusted(req));
    if (!verified) return false;
    const Role role = verified->role();
    if (role != Role::kClient && role != Role::kEvidenceSource && role != Role::kAdmin)
      return false;
  }
  return true;
}

bool Core::conflicts(NodeId author, Round round, const BlockId& what, const Payload& payload,
                     std::map<std::pair<NodeId, Round>, std::pair<BlockId, Payload>>& seen) {
  const auto [it, fresh] = seen.try_emplace({author, round}, what, payload);
  if (fresh || it->second.first == what) return false;
  equivocators_.insert(author);
  const auto said = [](const Payload& p) {
    return std::visit(
        [](const auto& m) -> std::optional<Statement> {
          if constexpr (requires { statement(m); }) {
            return statement(m);
          } else {
            return std::nullopt;
          }
        },
        p);
  };
  const std::optional<Statement> first = said(it->second.second);
  const std::optional<Statement> second = said(payload);
  if (first && second && !schedule_.excluded(author)) {
    if (std::optional<Accusation> a = accuse(*first, *second)) accusations_.try_emplace(author, *a);
  }
  ready_.evidence.push_back({author, round, it->second.second, payload});
  reject(Rejection::kEquivocation);
  return true;
}

void Core::on_proposal(const Authenticated<Block>& message) {
  const Block& b = message.value();
  if (b.epoch != config_.validators.epoch) return reject(Rejection::kWrongEpoch);
  heard_from(b.proposer, b.round);
  // The proposer chose itself after the QC it carries, which may commit
  // blocks (and so change the leader schedule) this replica has not yet
  // seen committed: take the QC in first, then ask who leads. A replica
  // whose committed history still lags computes other leaders until it
  // catches up, and catches up from QCs (fetching what they certify).
  if (b.proposer != leader(b.round) && b.qc.round > high_qc_.round && certified(b.qc)) {
    process_qc(b.qc);
  }
  if (b.proposer != leader(b.round)) return reject(Rejection::kNotLeader);
  if (b.round <= committed_tip().round) return reject(Rejection::kStale);
  if (conflicts(b.proposer, b.round, b.id(), b, seen_proposals_)) return;
  if (!certified(b.qc)) return;
  if (b.tc && !verify_tc(*b.tc, config_.validators)) return reject(Rejection::kBadCertificate);
  if (!requests_valid(b)) return reject(Rejection::kBadRequest);
  for (const Accusation& a : b.accusations) {
    if (!verify_accusation(a, config_.validators)) return reject(Rejection::kBadAccusation);
  }
  if (codec::encode(b).size() > config_.block_bytes_max) return reject(Rejection::kBadRequest);
  // Justified by its QC (the round right after it) or by a TC for the round
  // before with a QC at least as high as any its signers reported: the same
  // test the voting rule applies, made here so that a stale proposal is
  // refused even by a replica that would not vote in its round anyway.
  const bool by_qc = b.round == b.qc.round.next();
  const bool by_tc =
      b.tc && b.round == b.tc->round.next() && b.qc.round >= b.tc->highest_qc_round();
  if (!by_qc && !by_tc) return reject(Rejection::kSafetyRule);
  if (b.tc) process_tc(*b.tc);
  process_qc(b.qc);
  if (!blocks_.contains(b.parent())) {
    // An ancestor is missing: ask the proposer, and come back to this block.
    if (park(b) && missing(b.parent())) request_sync(b.parent(), b.proposer);
    return;
  }
  insert_block(b);
  // The QC that made this replica leader may have come (in votes) before the
  // block it certifies: now that the block is here, the leader can extend it.
  if (should_propose_) propose(false);
}

// Stores a block whose parent is known, votes for it if it is for the
// current round, then takes in the blocks that were waiting for it.
void Core::insert_block(Block block) {
  const BlockId id = block.id();
  const auto [it, fresh] = blocks_.emplace(id, std::move(block));
  if (!fresh) return;
  if (it->second.round == round_) vote_for(it->second);
  try_commit(it->second.qc);
  adopt_children(id);
}

void Core::adopt_children(const BlockId& parent) {
  const auto waiting = waiting_for_parent_.find(parent);
  if (waiting == waiting_for_parent_.end()) return;
  std::vector<Block> children = std::move(waiting->second);
  waiting_for_parent_.erase(waiting);
  for (Block& child : children) {
    parked_.erase(child.id());
    insert_block(std::move(child));
  }
}

bool Core::park(Block block) {
  const BlockId id = block.id();
  if (parked_.contains(id)) return true;
  if (parked_.size() >= config_.waiting_blocks_max) {
    reject(Rejection::kBacklogFull);
    return false;
  }
  parked_.insert(id);
  waiting_for_parent_[block.parent()].push_back(std::move(block));
  return true;
}

bool Core::missing(const BlockId& id) const {
  return (waiting_for_parent_.contains(id) || wanted_.contains(id)) && !blocks_.contains(id) &&
         !parked_.contains(id);
}

void Core::request_sync(const BlockId& id, NodeId peer) {
  if (syncing_ && missing(syncing_->block) && syncing_->age < kSyncRetryTicks) return;
  // A leader can hold a QC for a block it never received (the votes came,
  // the proposal was lost): then the child's proposer is this replica.
  if (peer == config_.id) peer = next_peer(peer);
  syncing_ = Syncing{id, peer, 0};
  send(peer, SyncRequest{id});
}

NodeId Core::next_peer(NodeId after) const {
  const auto& all = config_.replicas;
  auto next = std::upper_bound(all.begin(), all.end(), after);
  if (next == all.end()) next = all.begin();
  if (*next == config_.id && ++next == all.end()) next = all.begin();
  return *next;
}

// On tick: a request unanswered for kSyncRetryTicks goes to the next
// replica; once it is answered, the next missing block (if any) is asked for.
void Core::retry_sync() {
  if (syncing_ && ++syncing_->age < kSyncRetryTicks && missing(syncing_->block)) return;
  std::optional<BlockId> want;
  if (syncing_ && missing(syncing_->block)) want = syncing_->block;
  for (auto it = waiting_for_parent_.begin(); !want && it != waiting_for_parent_.end(); ++it) {
    if (missing(it->first)) want = it->first;
  }
  for (auto it = wanted_.begin(); !want && it != wanted_.end(); ++it) {
    if (missing(it->first)) want = it->first;
  }
  if (!want) {
    syncing_.reset();
    return;
  }
  const NodeId next = next_peer(syncing_ ? syncing_->asked : config_.id);
  syncing_.reset();
  request_sync(*want, next);
}

void Core::vote_for(const Block& block) {
  Expected<Vote, Refusal> v = safety_.vote(block);
  if (!v) return reject(Rejection::kSafetyRule);
  safety_dirty_ = true;
  ready_.voted.push_back(block);
  const NodeId next = leader_after(block);
  if (next == config_.id) return handle_vote(*v);
  send(next, *v);
  if (suspected(next)) return broadcast_vote(*v, next);
  vote_to_leader_ = {*v, next};
}

NodeId Core::leader_after(const Block& block) const {
  // The QC for `block` commits its parent (and the parent's uncommitted
  // ancestors) when the parent is from the round just before: the replica
  // that forms it chooses the next leader after those commits, so the
  // votes go to that leader, not the one this replica's history gives now.
  const auto parent = blocks_.find(block.parent());
  if (parent == blocks_.end() || parent->second.round.next() != block.round ||
      parent->second.round <= committed_tip().round) {
    return leader(block.round.next());
  }
  std::vector<const Block*> chain;
  for (const Block* at = &parent->second; at->id() != committed_;) {
    chain.push_back(at);
    const auto up = blocks_.find(at->parent());
    if (up == blocks_.end()) return leader(block.round.next());  // it could not commit yet
    at = &up->second;
  }
  LeaderSchedule after = schedule_;
  for (auto it = chain.rbegin(); it != chain.rend(); ++it) after.on_commit(**it);
  return after.leader(block.round.next());
}

void Core::broadcast_vote(const Vote& vote, NodeId next) {
  for (NodeId peer : config_.replicas) {
    if (peer != next && peer != config_.id) send(peer, vote);
  }
  handle_vote(vote);
}

void Core::TEST_ignore_reputation() {
  ScheduleOptions plain = config_.schedule;
  plain.failures_to_skip = std::numeric_limits<std::size_t>::max();
  plain.absent_skipped = false;
  config_.schedule = plain;
  schedule_ = LeaderSchedule(config_.replicas, plain);
}

void Core::heard_from(NodeId peer, Round round) {
  // Old messages prove nothing about now (a liar may replay them).
  if (round.next() < round_ || peer == config_.id) return;
  heard_at_[peer] = ticks_;
}

bool Core::suspected(NodeId peer) const {
  const auto heard = heard_at_.find(peer);
  const std::uint64_t since = heard == heard_at_.end() ? 0 : heard->second;
  return ticks_ - since > config_.silence_ticks;
}

// ---- Votes and timeouts ----

void Core::on_vote(const Authenticated<Vote>& message) {
  const Vote& v = message.value();
  if (v.epoch != config_.validators.epoch) return reject(Rejection::kWrongEpoch);
  heard_from(v.voter, v.round);
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
  heard_from(t.author_id, t.round);
  // A newer TC than this replica holds: a restarted replica forgot its own
  // and cannot time out its round without one.
  if (t.last_tc && (!last_tc_ || t.last_tc->round > last_tc_->round)) {
    if (!verify_tc(*t.last_tc, config_.validators)) return reject(Rejection::kBadCertificate);
    process_tc(*t.last_tc);
  }
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
  // so a TC forms even if this replica's own timer has not fired. Joining
  // handles this replica's own timeout, which may form the TC and move to
  // the next round (erasing `got`): that call has done the rest.
  if (t.round == round_ && got.size() == config_.validators.quorum.reply_quorum() &&
      !got.contains(config_.id)) {
    const std::size_t before = got.size();
    local_timeout();
    if (round_ != t.round || !timeouts_.contains(t.round) || got.size() != before) return;
  }
  if (got.size() != config_.validators.quorum.size()) return;
  TimeoutCert tc{t.epoch, t.round, {}};
  for (const auto& [id, one] : got) tc.signers.push_back({id, one.high_qc.round, one.signature});
  process_tc(tc);
}

// ---- Block sync ----

void Core::on_sync_request(NodeId from, const SyncRequest& request) {
  SyncResponse response;
  std::size_t bytes = 0;
  for (auto it = blocks_.find(request.block);
       it != blocks_.end() && response.blocks.size() < config_.sync_blocks_max;
       it = blocks_.find(it->second.parent())) {
    bytes += codec::encode(it->second).size();
    if (!response.blocks.empty() && bytes > config_.sync_bytes_max) break;
    response.blocks.push_back(it->second);
  }
  if (response.blocks.empty()) return;
  std::reverse(response.blocks.begin(), response.blocks.end());
  send(from, std::move(response));
}

void Core::on_sync_response(NodeId from, SyncResponse response) {
  // Only what some parked block waits for: its id is certified by that block's QC.
  if (response.blocks.empty() || !missing(response.blocks.back().id())) {
    return reject(Rejection::kBadSync);
  }
  // Each block must be the one its child's QC certifies.
  for (std::size_t i = 1; i < response.blocks.size(); ++i) {
    if (response.blocks[i].parent() != response.blocks[i - 1].id()) {
      return reject(Rejection::kBadSync);
    }
  }
  const BlockId oldest_parent = response.blocks.front().parent();
  for (Block& b : response.blocks) {
    if (blocks_.contains(b.id()) || b.round <= committed_tip().round) continue;
    if (blocks_.contains(b.parent())) {
      insert_block(std::move(b));
    } else if (!park(std::move(b))) {
      return;
    }
  }
  // Still short of what this replica knows: ask further back.
  if (missing(oldest_parent)) {
    syncing_.reset();
    request_sync(oldest_parent, from);
  } else if (syncing_ && !missing(syncing_->block)) {
    syncing_.reset();
  }
  try_commit(high_qc_);  // the blocks may complete a chain that waited to commit
  if (should_propose_) propose(false);
}

// ---- Mempool, sending ----

void Core::submit(const Authorized<consensus::ClientRequest>& message) {
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
