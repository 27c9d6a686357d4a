#include "consensus/common/session_table.h"

namespace phalanx::consensus {

SessionDecision SessionTable::check(ClientId client, std::uint64_t sequence) const {
  const auto it = sessions_.find(client);
  if (it == sessions_.end()) {
    if (sessions_.size() >= clients_max_) return {SessionDecision::kTableFull};
    return {SessionDecision::kExecute};
  }
  const Session& s = it->second;
  if (sequence > s.sequence) return {SessionDecision::kExecute, nullptr, s.sequence};
  if (sequence == s.sequence) return {SessionDecision::kCachedReply, &s.reply, s.sequence};
  return {SessionDecision::kReplay, nullptr, s.sequence};
}

void SessionTable::record(ClientId client, std::uint64_t sequence, LogIndex applied_at,
                          Bytes reply) {
  PHALANX_ASSERT(check(client, sequence).kind == SessionDecision::kExecute);
  PHALANX_ASSERT(reply.size() <= kReplyBytesMax);
  sessions_[client] = Session{sequence, applied_at, std::move(reply)};
}

Error SessionTable::rejection(ClientId client, std::uint64_t sequence,
                              const SessionDecision& decision) const {
  PHALANX_ASSERT(decision.kind == SessionDecision::kReplay ||
                 decision.kind == SessionDecision::kTableFull);
  if (decision.kind == SessionDecision::kReplay) {
    return Error(NonceReplay{Principal::client(client), sequence, decision.last_sequence});
  }
  return Error(RateLimitExceeded{"new client sessions (table full)", clients_max_});
}

void SessionTable::encode(codec::Writer& w) const {
  w.varint(sessions_.size());
  for (const auto& [client, s] : sessions_) {
    w.id(client);
    w.varint(s.sequence);
    w.id(s.applied_at);
    w.bytes(s.reply, kReplyBytesMax);
  }
}

Result<SessionTable> SessionTable::decode(codec::Reader& r) {
  SessionTable table;
  PHALANX_ASSIGN_OR_RETURN(std::uint64_t count, r.varint_max(table.clients_max_));
  for (std::uint64_t i = 0; i < count; ++i) {
    const std::size_t at = r.offset();
    PHALANX_ASSIGN_OR_RETURN(ClientId client, r.id<ClientId>());
    Session s;
    PHALANX_ASSIGN_OR_RETURN(s.sequence, r.varint());
    PHALANX_ASSIGN_OR_RETURN(s.applied_at, r.id<LogIndex>());
    PHALANX_ASSIGN_OR_RETURN(s.reply, r.bytes(kReplyBytesMax));
    // Strictly ascending ids: one encoding per table.
    if (!table.sessions_.empty() && !(table.sessions_.rbegin()->first < client)) {
      return codec::Reader::malformed(MalformedReason::kNonCanonical, at);
    }
    table.sessions_.emplace_hint(table.sessions_.end(), client, std::move(s));
  }
  return table;
}

}  // namespace phalanx::consensus
