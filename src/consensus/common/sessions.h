// Client sessions registered through the log (Raft dissertation §6.3), for
// exactly-once execution in the replica layer, in both modes.
//
// An identity opens as many sessions as it has processes or connections;
// each numbers its own requests. Opening is itself a committed command: the
// log gives the session its id (ids only grow, so a replica never hands out
// one it handed out before), and every replica applies the same opens,
// requests and expiries in the same order, so all hold the same table.
//
//   const SessionId s = sessions.open(client, log_time);          // a committed open
//   const SessionCheck c = sessions.check(client, s, seq);   // a committed request
//   switch (c.verdict) {
//     case SessionVerdict::kExecute:  apply; sessions.record(client, s, seq, log_time, reply);
//     case SessionVerdict::kCached:   answer with *c.reply
//     default:                        refuse with sessions.rejection(client, s, seq, c)
//   }
//   sessions.expire(log_time);                                    // after every committed entry
//
// `log_time` is a number every replica reads from the log itself (an
// entry's index, a block's height), never a local clock. A session idle for
// expire_after of it is dropped; so is an identity's least recently used
// session when it opens one more than sessions_per_client_max. A request
// for a dropped session is refused as expired (its id is below the next
// one), never executed as if new: a captured request cannot run twice, and
// the client learns that it must open a new session and decide itself
// whether to resend. Pure: no I/O.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <utility>

#include "core/codec.h"
#include "core/error.h"
#include "core/ids.h"

namespace phalanx::consensus {

enum class SessionVerdict : std::uint8_t {
  kExecute,   // a new sequence number: run it, then record()
  kCached,    // the last one executed again: answer with the reply kept
  kReplay,    // below the last executed: a captured request sent again
  kExpired,   // the session was dropped (idle, or evicted by its identity's newer ones)
  kUnknown,   // no session with that id was ever opened
  kNotYours,  // the session belongs to another identity
};
[[nodiscard]] const char* session_verdict_name(SessionVerdict verdict);

struct SessionCheck {
  SessionVerdict verdict;
  const Bytes* reply = nullptr;     // kCached: the reply to send again
  std::uint64_t last_sequence = 0;  // kExecute, kCached, kReplay: the last executed
};

struct SessionOptions {
  std::uint64_t expire_after = 1'000'000;      // log time without a request
  std::size_t sessions_max = 1 << 20;          // live sessions in all
  std::size_t sessions_per_client_max = 1024;  // live sessions of one identity
};

class Sessions {
 public:
  using Options = SessionOptions;
  static constexpr std::size_t kReplyBytesMax = 1 << 20;

  explicit Sessions(Options options = {}) : options_(options) {}

  // Opens a session for `client` at `log_time`. With sessions_max live,
  // the idle ones are expired first; if none is, nullopt (the table is full:
  // refused with full_rejection()). Evicts the identity's least recently
  // used session if it already holds sessions_per_client_max.
  [[nodiscard]] std::optional<SessionId> open(ClientId client, std::uint64_t log_time);

  [[nodiscard]] SessionCheck check(ClientId client, SessionId session,
                                   std::uint64_t sequence) const;
  // REQUIRES: check(client, session, sequence).verdict == kExecute; reply
  // within kReplyBytesMax.
  void record(ClientId client, SessionId session, std::uint64_t sequence, std::uint64_t log_time,
              Bytes reply);
  // Drops the sessions idle since before log_time - expire_after.
  void expire(std::uint64_t log_time);

  // The error a refused check maps to: NonceReplay (kReplay), AuthorizationDenied
  // (kNotYours), kNotFound with "session expired" or "no such session".
  [[nodiscard]] Error rejection(ClientId client, SessionId session, std::uint64_t sequence,
                                const SessionCheck& check) const;
  [[nodiscard]] Error full_rejection() const;

  [[nodiscard]] std::size_t size() const { return live_.size(); }
  [[nodiscard]] std::size_t sessions_of(ClientId client) const;
  [[nodiscard]] SessionId next_id() const { return next_id_; }

  // Canonical: next id, then the live sessions by id (docs/storage.md,
  // "Client sessions"). The options are configuration, not state.
  void encode(codec::Writer& w) const;
  [[nodiscard]] static Result<Sessions> decode(codec::Reader& r, Options options = {});
  bool operator==(const Sessions& other) const {
    return next_id_ == other.next_id_ && live_ == other.live_;
  }

 private:
  struct Session {
    ClientId client;
    std::uint64_t sequence = 0;  // the last executed; 0: none yet
    std::uint64_t last_active = 0;
    Bytes reply;
    bool operator==(const Session&) const = default;
  };
  using Activity = std::pair<std::uint64_t, SessionId>;  // (last active, id)

  void drop(SessionId id);
  void index(SessionId id, const Session& s);

  Options options_;
  SessionId next_id_{1};
  std::map<SessionId, Session> live_;
  std::set<Activity> by_activity_;                    // every live session, idlest first
  std::map<ClientId, std::set<Activity>> by_client_;  // the same, per identity
};

}  // namespace phalanx::consensus
