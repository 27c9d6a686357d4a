#include "node/raft_replica.h"

#include <fmt/format.h>

#include "consensus/raft/membership.h"
#include "consensus/raft/wire.h"
#include "node/client_admission.h"
#include "security/verify.h"
#include "storage/hard_state.h"

namespace phalanx::node {
namespace {

// A WAL record: the entry kind, then its data.
Bytes wal_payload(const raft::Entry& e) {
  Bytes out{static_cast<std::uint8_t>(e.kind)};
  out.insert(out.end(), e.data.begin(), e.data.end());
  return out;
}

// A leader's messages that promise nothing about its own log: they may
// leave before it is durable (Raft thesis §10.2.1).
bool leaves_before_sync(const raft::Message& m) {
  return std::holds_alternative<raft::AppendEntries>(m.body) ||
         std::holds_alternative<raft::InstallSnapshot>(m.body) ||
         std::holds_alternative<raft::TimeoutNow>(m.body);
}

// A Raft snapshot's metadata as its file keeps it: the log position storage
// checks, and Raft's own metadata whole.
storage::SnapshotMeta file_meta(const raft::SnapshotMeta& meta) {
  return {meta.last_index, meta.last_entry_hash, codec::encode(meta)};
}

// The Raft manifest of a snapshot file; kCorruption if its metadata is not
// Raft's, disagrees with the file's position or holds no valid membership.
Result<raft::SnapshotManifest> raft_manifest(const storage::SnapshotManifest& file,
                                             const std::string& path) {
  Result<raft::SnapshotMeta> meta = codec::decode<raft::SnapshotMeta>(file.meta.protocol);
  if (!meta || meta->last_index != file.meta.last_index ||
      meta->last_entry_hash != file.meta.last_entry_hash ||
      !codec::decode<raft::Membership>(meta->membership)) {
    return fail(ErrorCode::kCorruption, "snapshot " + path + " holds no valid Raft metadata");
  }
  return raft::SnapshotManifest{std::move(*meta), file.chunks};
}

}  // namespace

RaftReplica::RaftReplica(storage::FileSystem& fs, const security::TrustRegistry& registry,
                         RaftReplicaOptions options, std::unique_ptr<consensus::StateMachine> app,
                         RaftReplicaHooks hooks)
    : fs_(fs),
      registry_(registry),
      options_(std::move(options)),
      app_(std::move(app)),
      hooks_(std::move(hooks)),
      wal_dir_(storage::join_path(options_.data_dir, "wal")),
      state_path_(storage::join_path(options_.data_dir, "raft_state")),
      snapshot_dir_(storage::join_path(options_.data_dir, "snapshots")) {}

Result<std::unique_ptr<RaftReplica>> RaftReplica::open(storage::FileSystem& fs,
                                                       const security::TrustRegistry& registry,
                                                       RaftReplicaOptions options,
                                                       std::unique_ptr<consensus::StateMachine> app,
                                                       std::uint64_t seed, RaftReplicaHooks hooks) {
  PHALANX_ASSERT(options.snapshot_every > 0 && options.snapshot_chunk_bytes > 0);
  std::unique_ptr<RaftReplica> r(
      new RaftReplica(fs, registry, std::move(options), std::move(app), std::move(hooks)));
  PHALANX_TRY(storage::ensure_dir(fs, r->options_.data_dir));
  PHALANX_ASSIGN_OR_RETURN(raft::Persisted persisted, r->recover());
  r->core_ = std::make_unique<raft::Core>(r->options_.raft, std::move(persisted), seed);
  r->seen_term_ = r->core_->term();  // a restart is no view change
  r->drive();
  return r;
}

// The newest snapshot (the state machine is restored from it), then the log
// after it. A log that does not continue the snapshot (a crash between
// installing a snapshot and resetting the log) is reset to follow it.
Result<raft::Persisted> RaftReplica::recover() {
  raft::Persisted persisted;
  PHALANX_ASSIGN_OR_RETURN(wal_, storage::Wal::open(fs_, wal_dir_, options_.wal));
  PHALANX_ASSIGN_OR_RETURN(std::optional<raft::HardState> hs,
                           storage::load_hard_state<raft::HardState>(fs_, state_path_));
  persisted.hard_state = hs.value_or(raft::HardState{});
  PHALANX_ASSIGN_OR_RETURN(std::optional<std::string> snapshot,
                           storage::latest_snapshot(fs_, snapshot_dir_));
  app_->clear();
  LogIndex base{0};
  if (snapshot) {
    PHALANX_ASSIGN_OR_RETURN(raft::SnapshotManifest manifest, restore(*snapshot));
    base = manifest.meta.last_index;
    const std::optional<std::uint64_t> term = wal_->term_at(base);
    const bool continues =
        term ? Term{*term} == manifest.meta.last_term : wal_->first_index() == base.next();
    if (!continues) PHALANX_TRY(wal_->reset(base.next(), manifest.meta.last_entry_hash));
    persisted.snapshot = std::move(manifest);
  }
  persisted.log.reserve(wal_->last_index().value() - base.value());
  PHALANX_TRY(
      wal_->read_range(base.next(), wal_->last_index(), [&](storage::WalEntry&& e) -> Status {
        const std::uint64_t i = e.index.value();
        if (e.payload.empty() || e.payload[0] > raft::kEntryKindMax) {
          return fail(ErrorCode::kCorruption, fmt::format("log entry {} has no valid kind", i));
        }
        const auto kind = static_cast<raft::EntryKind>(e.payload[0]);
        e.payload.erase(e.payload.begin());  // the kind byte; no second copy of the data
        raft::Entry entry{Term{e.term}, e.index, kind, std::move(e.payload)};
        if (entry.kind == raft::EntryKind::kConfig &&
            !codec::decode<raft::Membership>(entry.data)) {
          return fail(ErrorCode::kCorruption,
                      fmt::format("log entry {} holds no valid membership", i));
        }
        persisted.log.push_back(std::move(entry));
        return {};
      }));
  return persisted;
}

// Restores the state machine from the snapshot at `path` (every chunk verified).
Result<raft::SnapshotManifest> RaftReplica::restore(const std::string& path) {
  PHALANX_ASSIGN_OR_RETURN(std::unique_ptr<storage::SnapshotReader> reader,
                           storage::SnapshotReader::open(fs_, path));
  Bytes state;
  while (true) {
    PHALANX_ASSIGN_OR_RETURN(std::optional<Bytes> chunk, reader->next_chunk());
    if (!chunk) break;
    state.insert(state.end(), chunk->begin(), chunk->end());
  }
  PHALANX_ASSIGN_OR_RETURN(raft::SnapshotManifest manifest,
                           raft_manifest(reader->manifest(), path));
  if (Status restored = app_->restore(state); !restored) {
    return fail(ErrorCode::kCorruption,
                "snapshot " + path + " is no valid state: " + restored.error().to_string());
  }
  return manifest;
}

void RaftReplica::tick() {
  if (failure_) return;
  core_->tick();
  drive();
}

Status RaftReplica::receive(NodeId from, ByteView frame) {
  if (failure_) return {};
  Result<Authorized<raft::Message>> message = [&]() -> Result<Authorized<raft::Message>> {
    PHALANX_ASSIGN_OR_RETURN(Untrusted<raft::Message> m, raft::decode_message(frame, id()));
    PHALANX_ASSIGN_OR_RETURN(
        Authenticated<raft::Message> a,
        security::verify_channel(registry_, Principal::replica(from), std::move(m)));
    return security::authorize(policy_, std::move(a));
  }();
  if (!message) {
    ++rejected_[kind_name(message.error())];
    return Unexpected(std::move(message).error());
  }
  core_->step(*message);
  if (!options_.defer_drive) drive();
  return {};
}

void RaftReplica::flush() {
  if (failure_) return;
  drive();
}

void RaftReplica::call(consensus::ClientHandle client, consensus::ClientCall call) {
  if (failure_) return;
  // The channel proved the caller: no signature to check in crash mode.
  const AdmissionRules rules{registry_, policy_, *app_, options_.cluster, RequestProof::kChannel};
  Result<Authorized<consensus::ClientRequest>> admitted =
      admit_client_request(rules, call.caller, call.request);
  if (!admitted) {
    ++rejected_[kind_name(admitted.error())];
    const std::string why = public_message(admitted.error());  // the detail stays in the count
    out_.answers.push_back({client,
                            {call.call_id, consensus::CallOutcome::kRejected, std::nullopt,
                             Bytes(why.begin(), why.end())}});
    return;
  }
  Bytes command = admitted->value().operation;
  if (app_->read_only(command)) {
    // Reads take the ReadIndex path: no log entry.
    const std::uint64_t id = next_read_id_++;
    if (std::optional<raft::NotLeader> refused = core_->read_index(id)) {
      return not_leader(client, call.call_id, *refused);
    }
    reads_[id] = Waiting{client, call.call_id, std::move(command), LogIndex{0}};
  } else {
    auto proposed = core_->propose(command);
    if (const auto* refused = std::get_if<raft::NotLeader>(&proposed)) {
      return not_leader(client, call.call_id, *refused);
    }
    const LogIndex index = std::get<LogIndex>(proposed);
    proposals_[index] = Waiting{client, call.call_id, std::move(command), index};
  }
  if (!options_.defer_drive) drive();
}

consensus::Output RaftReplica::take_output() { return std::exchange(out_, {}); }

consensus::ReplicaStatus RaftReplica::status() const {
  consensus::ReplicaStatus s;
  s.mode = consensus::FaultModel::kCrash;
  s.id = core_->id();
  s.role = raft::role_name(core_->role());
  s.term = core_->term().value();
  s.leader = core_->leader();
  s.commit = core_->commit_index();
  s.applied = core_->applied_index();
  s.rejected = rejected_;
  s.view_changes = view_changes_;
  return s;
}

Status RaftReplica::transfer_leadership(NodeId target) {
  PHALANX_TRY(core_->transfer_leadership(target));
  drive();
  return {};
}

Result<LogIndex> RaftReplica::change_membership(std::vector<NodeId> voters,
                                                std::vector<NodeId> learners) {
  PHALANX_ASSIGN_OR_RETURN(LogIndex at,
                           core_->change_membership(std::move(voters), std::move(learners)));
  drive();
  return at;
}

std::optional<storage::WalFlush> RaftReplica::take_flush() {
  if (failure_ || !flush_) return std::nullopt;
  flushing_ = true;
  return std::exchange(flush_, std::nullopt);
}

void RaftReplica::flushed(const storage::WalFlush& flush, const Status& outcome) {
  flushing_ = false;
  if (failure_) return;
  // What the core decided meanwhile reaches the log first: a cut it made
  // turns this flush into one that claims nothing.
  drive();
  if (failure_) return;
  if (Result<LogIndex> durable = wal_->flushed(flush, outcome); !durable) {
    failure_ = std::move(durable).error();
    return;
  }
  drive();
}

void RaftReplica::drive() {
  if (core_->term() != seen_term_) {  // every new term is an election
    ++view_changes_;
    seen_term_ = core_->term();
  }
  // Each round persists what the core decided, then tells it how far the
  // log is durable, which may commit more: another round.
  while (!failure_) {
    const LogIndex committed = core_->commit_index();
    drive_once();
    if (failure_) return;
    core_->log_durable(wal_->durable_index());
    if (core_->commit_index() == committed) break;
  }
  release_held();
  if (!options_.background_sync || flushing_) return;
  // Everything staged is written now; the runner syncs it (take_flush).
  Result<std::optional<storage::WalFlush>> written = wal_->write_staged();
  if (!written) {
    failure_ = std::move(written).error();
    return;
  }
  flush_ = std::move(*written);
}

void RaftReplica::drive_once() {
  raft::Ready ready = core_->take_ready();
  if (options_.TEST_reply_before_vote_durable) {
    // The planted bug: vote replies are queued before the vote is on disk.
    std::vector<raft::Message> votes;
    std::erase_if(ready.messages, [&](raft::Message& m) {
      if (!std::holds_alternative<raft::RequestVoteReply>(m.body)) return false;
      votes.push_back(std::move(m));
      return true;
    });
    const Status queued = queue_messages(std::move(votes));  // votes carry no snapshot data
    PHALANX_ASSERT(queued);
  }
  const std::uint64_t installs_before = installs_;
  Status done = persist(ready);
  if (done && installs_ != installs_before) {
    // The step that installed a leader's snapshot may also carry chunks this
    // replica sent while it led (a batch delivered after a pause, say); the
    // install removed the snapshot they come from, and a leader of a newer
    // term has replaced this one, so they are moot.
    std::erase_if(ready.messages, [](const raft::Message& m) {
      return std::holds_alternative<raft::InstallSnapshot>(m.body);
    });
  }
  if (done) done = queue_messages(std::move(ready.messages));
  if (done) {
    for (const raft::Entry& e : ready.committed) apply(e);
    done = maybe_snapshot();
  }
  if (!done) {
    failure_ = std::move(done).error();
    return;
  }
  serve_reads(ready.reads);
}

Status RaftReplica::persist(const raft::Ready& ready) {
  // One step may end one transfer and start the next (the leader took a
  // newer snapshot meanwhile): the installed one is finished as soon as its
  // last chunk is written, before a chunk of the next starts a new file.
  const std::optional<raft::SnapshotManifest>& installed = ready.snapshot_installed;
  bool install_done = false;
  for (const raft::SnapshotChunk& chunk : ready.snapshot_chunks) {
    if (chunk.manifest) {
      PHALANX_ASSIGN_OR_RETURN(receiving_, storage::SnapshotWriter::create(
                                               fs_, snapshot_dir_, file_meta(chunk.manifest->meta),
                                               storage::kSnapshotChunkBytesMax));
      receiving_at_ = chunk.manifest->meta.last_index;
    }
    PHALANX_ASSERT(receiving_ != nullptr);
    PHALANX_TRY(receiving_->write_chunk(chunk.data));
    if (installed && !install_done && receiving_at_ == installed->meta.last_index &&
        chunk.index + 1 == installed->chunks.chunk_count) {
      PHALANX_TRY(install(*installed));
      install_done = true;
    }
  }
  PHALANX_ASSERT(!installed || install_done);
  if (const std::optional<LogIndex> from = ready.truncate_from) {
    PHALANX_TRY(wal_->truncate_suffix(*from));
    // Held acknowledgements of entries now cut must never arrive: a leader
    // would count copies that no longer exist.
    std::erase_if(held_, [&](const Held& h) { return h.needs >= *from; });
  }
  for (const raft::Entry& e : ready.append) {
    PHALANX_ASSIGN_OR_RETURN(LogIndex i, wal_->append(e.term.value(), wal_payload(e)));
    PHALANX_ASSERT(i == e.index);
  }
  if (!options_.background_sync && (ready.truncate_from || !ready.append.empty())) {
    PHALANX_TRY(wal_->sync());
  }
  if (ready.hard_state) PHALANX_TRY(storage::save_hard_state(fs_, state_path_, *ready.hard_state));
  return {};
}

// Makes the snapshot the leader streamed durable, restores the state
// machine from it and restarts the log after it.
Status RaftReplica::install(const raft::SnapshotManifest& installed) {
  PHALANX_TRY(receiving_->finish(installed.chunks.root));
  receiving_.reset();
  const LogIndex at = installed.meta.last_index;
  PHALANX_TRY(restore(storage::join_path(snapshot_dir_, storage::snapshot_file_name(at))));
  PHALANX_TRY(wal_->reset(at.next(), installed.meta.last_entry_hash));
  // Proposals at or below `at` were decided by the snapshot; their clients retry.
  proposals_.erase(proposals_.begin(), proposals_.upper_bound(at));
  held_.clear();  // they spoke of a log that is gone; lost messages are resent
  ++installs_;    // a snapshot of our own still being written is now moot
  ++snapshots_installed_;
  event(fmt::format("node {} installed a snapshot at {}", id().value(), at.value()));
  return {};
}

Status RaftReplica::queue_messages(std::vector<raft::Message> messages) {
  release_held();  // older messages first
  // A message speaks of the log as it is now, so it waits for all of it.
  const LogIndex needs = wal_->last_index();
  const bool wait = wal_->durable_index() < needs && !options_.TEST_release_before_flush;
  for (raft::Message& m : messages) {
    if (auto* s = std::get_if<raft::InstallSnapshot>(&m.body)) {
      // The runner's half of InstallSnapshot: the chunk's bytes come from disk.
      PHALANX_ASSIGN_OR_RETURN(s->data, read_snapshot_chunk(s->last_index, s->chunk));
    }
    consensus::Output::ToPeer out{m.to, raft::encode_message(m)};
    if (wait && !leaves_before_sync(m)) {
      held_.push_back({needs, std::move(out)});
    } else {
      out_.messages.push_back(std::move(out));
    }
  }
  return {};
}

void RaftReplica::release_held() {
  const LogIndex durable = wal_->durable_index();
  while (!held_.empty() && held_.front().needs <= durable) {
    out_.messages.push_back(std::move(held_.front().message));
    held_.pop_front();
  }
}

Result<Bytes> RaftReplica::read_snapshot_chunk(LogIndex last_index, std::uint64_t chunk) {
  if (!sending_ || sending_->manifest().meta.last_index != last_index) {
    const std::string path =
        storage::join_path(snapshot_dir_, storage::snapshot_file_name(last_index));
    PHALANX_ASSIGN_OR_RETURN(sending_, storage::SnapshotReader::open(fs_, path));
  }
  return sending_->read_chunk(chunk);
}

void RaftReplica::apply(const raft::Entry& e) {
  consensus::StateMachine::Applied applied;
  if (e.kind == raft::EntryKind::kCommand) applied = app_->apply(e.index, e.data);
  if (hooks_.applied) hooks_.applied(e, applied.executed);
  if (applied.refused) ++rejected_[kind_name(*applied.refused)];  // no refusal goes uncounted
  const auto waiting = proposals_.find(e.index);
  if (waiting == proposals_.end()) return;
  const Waiting w = std::move(waiting->second);
  proposals_.erase(waiting);
  // Another leader may have put a different entry at this index: then the
  // client hears nothing and retries.
  if (e.kind == raft::EntryKind::kCommand && e.data == w.request) {
    answer(w, consensus::CallOutcome::kDone, std::move(applied.reply));
  }
}

Status SnapshotJob::run() const {
  for (std::size_t off = 0; off < state->size(); off += chunk_bytes) {
    const std::size_t n = std::min<std::size_t>(chunk_bytes, state->size() - off);
    PHALANX_TRY(writer->write_chunk(ByteView(*state).subspan(off, n)));
  }
  return writer->seal();
}

// Every snapshot_every applied entries: snapshot the state machine; once
// the file is durable, tell the core and compact the log to
// snapshot_retain entries behind it.
Status RaftReplica::maybe_snapshot() {
  if (snapshot_job_ || snapshotting_) return {};  // one at a time
  raft::Core& core = *core_;
  const LogIndex at = core.applied_index();
  const LogIndex last = core.snapshot() ? core.snapshot()->meta.last_index : LogIndex{0};
  const std::uint64_t every = options_.snapshot_every;
  if (at.value() < last.value() + every / 2) return {};  // the common case, checked first
  // Each replica snapshots at its own points, offset by its place among the
  // members, so they do not all pause to serialize at the same moment: a
  // follower's pause then leaves a quorum without it.
  const std::vector<NodeId> members = core.membership().members();
  const auto place = static_cast<std::uint64_t>(
      std::lower_bound(members.begin(), members.end(), id()) - members.begin());
  const std::uint64_t offset = every * place / std::max<std::size_t>(members.size(), 1);
  const auto period = [&](LogIndex i) { return (i.value() + every - offset) / every; };
  if (period(at) <= period(last)) return {};
  // Let a transfer in progress finish, unless the log has grown long.
  if (core.sending_snapshot() && at.value() < last.value() + 4 * every) return {};
  PHALANX_ASSIGN_OR_RETURN(storage::WalEntry entry, wal_->read(at));
  const raft::SnapshotMeta meta{at, core.term_at(at), entry.hash,
                                codec::encode(core.membership_at(at))};
  PHALANX_ASSIGN_OR_RETURN(std::unique_ptr<storage::SnapshotWriter> writer,
                           storage::SnapshotWriter::create(fs_, snapshot_dir_, file_meta(meta),
                                                           options_.snapshot_chunk_bytes, ".own"));
  SnapshotJob job{std::move(writer), std::make_shared<const Bytes>(app_->snapshot()),
                  options_.snapshot_chunk_bytes, at, installs_};
  if (!options_.background_sync) return publish_snapshot(job, job.run());
  snapshot_job_ = std::move(job);
  return {};
}

std::optional<SnapshotJob> RaftReplica::take_snapshot_job() {
  if (!snapshot_job_ || snapshotting_ || failure_) return std::nullopt;
  snapshotting_ = true;
  return std::exchange(snapshot_job_, std::nullopt);
}

void RaftReplica::snapshot_written(const SnapshotJob& job, const Status& outcome) {
  snapshotting_ = false;
  if (failure_) return;
  if (Status s = publish_snapshot(job, outcome); !s) failure_ = std::move(s).error();
}

Status RaftReplica::publish_snapshot(const SnapshotJob& job, const Status& written) {
  if (!written) return written;  // the disk failed: the replica stops, as for the log
  raft::Core& core = *core_;
  const LogIndex base = core.snapshot() ? core.snapshot()->meta.last_index : LogIndex{0};
  if (job.generation != installs_ || base >= job.at) {
    // The leader's snapshot replaced the state (and log) this one was taken from.
    job.writer->discard();
    ++snapshots_dropped_;
    return {};
  }
  PHALANX_ASSIGN_OR_RETURN(const storage::SnapshotManifest file, job.writer->publish());
  PHALANX_ASSIGN_OR_RETURN(raft::SnapshotManifest manifest, raft_manifest(file, "taken"));
  const std::uint64_t keep = std::min(job.at.value(), options_.snapshot_retain);
  const LogIndex through{std::max(core.base_index().value(), job.at.value() - keep)};
  core.snapshot_taken(std::move(manifest), through);
  PHALANX_TRY(wal_->compact_prefix(through));
  ++snapshots_taken_;
  event(fmt::format("node {} snapshot at {}, log from {}", id().value(), job.at.value(),
                    through.value() + 1));
  return {};
}

// ReadIndex reads: released by the core, served once applied that far.
void RaftReplica::serve_reads(const std::vector<raft::ReadyRead>& released) {
  for (const raft::ReadyRead& rr : released) {
    const auto it = reads_.find(rr.request_id);
    if (it != reads_.end()) it->second.index = rr.index;
  }
  for (auto it = reads_.begin(); it != reads_.end();) {
    const Waiting& read = it->second;
    if (read.index.value() == 0 || core_->applied_index() < read.index) {
      ++it;
      continue;
    }
    answer(read, consensus::CallOutcome::kDone, app_->query(read.request));
    it = reads_.erase(it);
  }
}

void RaftReplica::answer(const Waiting& w, consensus::CallOutcome outcome, Bytes reply) {
  out_.answers.push_back({w.client, {w.call_id, outcome, std::nullopt, std::move(reply)}});
}

void RaftReplica::not_leader(consensus::ClientHandle client, std::uint64_t call_id,
                             const raft::NotLeader& n) {
  out_.answers.push_back(
      {client, {call_id, consensus::CallOutcome::kNotLeader, n.leader_hint, {}}});
}

}  // namespace phalanx::node
