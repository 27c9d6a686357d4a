#include "consensus/common/sessions.h"

#include <fmt/format.h>

#include "core/assert.h"

namespace phalanx::consensus {

const char* session_verdict_name(SessionVerdict verdict) {
  switch (verdict) {
    case SessionVerdict::kExecute: return "execute";
    case SessionVerdict::kCached: return "cached";
    case SessionVerdict::kReplay: return "replay";
    case SessionVerdict::kExpired: return "expired";
    case SessionVerdict::kUnknown: return "unknown";
    case SessionVerdict::kNotYours: return "not yours";
  }
  return "?";
}

std::optional<SessionId> Sessions::open(ClientId client, std::uint64_t log_time) {
  if (live_.size() >= options_.sessions_max) expire(log_time);
  if (live_.size() >= options_.sessions_max) return std::nullopt;
  if (sessions_of(client) >= options_.sessions_per_client_max) {
    drop(by_client_.at(client).begin()->second);
  }
  const SessionId id = next_id_;
  next_id_ = next_id_.next();
  const Session& s = live_.emplace(id, Session{client, 0, log_time, {}}).first->second;
  index(id, s);
  return id;
}

SessionCheck Sessions::check(ClientId client, SessionId session, std::uint64_t sequence) const {
  if (session == SessionId{0} || session >= next_id_) return {SessionVerdict::kUnknown};
  const auto it = live_.find(session);
  if (it == live_.end()) return {SessionVerdict::kExpired};
  const Session& s = it->second;
  if (s.client != client) return {SessionVerdict::kNotYours};
  if (sequence > s.sequence) return {SessionVerdict::kExecute, nullptr, s.sequence};
  // Sequence 0 is never executed, so a session's first request is never
  // mistaken for a retry of a reply it does not have.
  if (sequence == s.sequence && s.sequence != 0) {
    return {SessionVerdict::kCached, &s.reply, s.sequence};
  }
  return {SessionVerdict::kReplay, nullptr, s.sequence};
}

void Sessions::record(ClientId client, SessionId session, std::uint64_t sequence,
                      std::uint64_t log_time, Bytes reply) {
  PHALANX_ASSERT(check(client, session, sequence).verdict == SessionVerdict::kExecute);
  PHALANX_ASSERT(reply.size() <= kReplyBytesMax);
  Session& s = live_.at(session);
  by_activity_.erase({s.last_active, session});
  by_client_.at(client).erase({s.last_active, session});
  s.sequence = sequence;
  s.last_active = std::max(s.last_active, log_time);
  s.reply = std::move(reply);
  index(session, s);
}

void Sessions::expire(std::uint64_t log_time) {
  while (!by_activity_.empty()) {
    const auto [last_active, id] = *by_activity_.begin();
    if (log_time < options_.expire_after || last_active > log_time - options_.expire_after) return;
    drop(id);
  }
}

Error Sessions::rejection(ClientId client, SessionId session, std::uint64_t sequence,
                          const SessionCheck& check) const {
  switch (check.verdict) {
    case SessionVerdict::kReplay:
      return Error(NonceReplay{Principal::client(client), sequence, check.last_sequence});
    case SessionVerdict::kNotYours:
      return Error(
          AuthorizationDenied{Principal::client(client), Role::kClient, Action::kSubmitRequest});
    case SessionVerdict::kExpired:
      return Error(ErrorCode::kNotFound,
                   fmt::format("session {} expired: open a new session; whether the request "
                               "ran before it expired is unknown",
                               session.value()));
    case SessionVerdict::kUnknown:
      return Error(ErrorCode::kNotFound, fmt::format("no session {}", session.value()));
    case SessionVerdict::kExecute:
    case SessionVerdict::kCached: break;
  }
  internal::assert_failed("a refused verdict", __FILE__, __LINE__);
}

Error Sessions::full_rejection() const {
  return Error(RateLimitExceeded{"open client sessions (table full)", options_.sessions_max});
}

std::size_t Sessions::sessions_of(ClientId client) const {
  const auto it = by_client_.find(client);
  return it == by_client_.end() ? 0 : it->second.size();
}

void Sessions::drop(SessionId id) {
  const auto it = live_.find(id);
  PHALANX_ASSERT(it != live_.end());
  const Session& s = it->second;
  by_activity_.erase({s.last_active, id});
  auto mine = by_client_.find(s.client);
  mine->second.erase({s.last_active, id});
  if (mine->second.empty()) by_client_.erase(mine);
  live_.erase(it);
}

void Sessions::index(SessionId id, const Session& s) {
  by_activity_.insert({s.last_active, id});
  by_client_[s.client].insert({s.last_active, id});
}

void Sessions::encode(codec::Writer& w) const {
  w.id(next_id_);
  w.varint(live_.size());
  for (const auto& [id, s] : live_) {
    w.id(id);
    w.id(s.client);
    w.varint(s.sequence);
    w.varint(s.last_active);
    w.bytes(s.reply, kReplyBytesMax);
  }
}

Result<Sessions> Sessions::decode(codec::Reader& r, Options options) {
  Sessions table(options);
  PHALANX_ASSIGN_OR_RETURN(table.next_id_, r.id<SessionId>());
  PHALANX_ASSIGN_OR_RETURN(const std::uint64_t count, r.varint_max(options.sessions_max));
  for (std::uint64_t i = 0; i < count; ++i) {
    const std::size_t at = r.offset();
    PHALANX_ASSIGN_OR_RETURN(const SessionId id, r.id<SessionId>());
    Session s;
    PHALANX_ASSIGN_OR_RETURN(s.client, r.id<ClientId>());
    PHALANX_ASSIGN_OR_RETURN(s.sequence, r.varint());
    PHALANX_ASSIGN_OR_RETURN(s.last_active, r.varint());
    PHALANX_ASSIGN_OR_RETURN(s.reply, r.bytes(kReplyBytesMax));
    // Ids strictly increasing, every one handed out, none more per identity
    // than allowed: the one encoding of a table open() could have built.
    const bool ordered = table.live_.empty() || table.live_.rbegin()->first < id;
    const bool replied = s.sequence != 0 || s.reply.empty();  // no reply before a request
    if (!ordered || !replied || id == SessionId{0} || id >= table.next_id_ ||
        table.sessions_of(s.client) >= options.sessions_per_client_max) {
      return codec::Reader::malformed(MalformedReason::kNonCanonical, at);
    }
    const Session& kept = table.live_.emplace_hint(table.live_.end(), id, std::move(s))->second;
    table.index(id, kept);
  }
  return table;
}

}  // namespace phalanx::consensus
