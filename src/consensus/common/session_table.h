// The client-session table: exactly-once execution that survives restarts.
//
// For each client, the highest sequence number executed and the reply it
// produced. It is replicated state: every replica updates it when it applies
// a committed request, and it is written into every snapshot, so a retry
// after a leader change, a restart or a snapshot install gets the cached
// reply instead of a second execution (the seed's in-memory dedup lost
// exactly this on restart).
//
//   switch (table.check(client, seq).kind) {
//     case SessionDecision::kExecute:     apply; table.record(client, seq, index, reply);
//     case SessionDecision::kCachedReply: answer with *decision.reply
//     case SessionDecision::kReplay:      reject: NonceReplay
//     case SessionDecision::kTableFull:   reject: RateLimitExceeded
//   }
//
// Clients keep one request outstanding and number requests increasingly; a
// sequence below the last executed one is a replay (a captured signed
// request sent again) and is refused. Sessions are never evicted, which
// would let an old signed request execute again; the table is bounded by
// clients_max (size it to the registered clients) and refuses new clients
// beyond it. Pure: no I/O.
#pragma once

#include <cstdint>
#include <map>

#include "core/codec.h"
#include "core/error.h"
#include "core/ids.h"

namespace phalanx::consensus {

struct SessionDecision {
  enum Kind : std::uint8_t { kExecute, kCachedReply, kReplay, kTableFull };
  Kind kind;
  const Bytes* reply = nullptr;     // kCachedReply: the reply to send again
  std::uint64_t last_sequence = 0;  // the client's last executed sequence
};

class SessionTable {
 public:
  static constexpr std::size_t kReplyBytesMax = 1 << 20;

  explicit SessionTable(std::size_t clients_max = 1 << 20) : clients_max_(clients_max) {}

  [[nodiscard]] SessionDecision check(ClientId client, std::uint64_t sequence) const;

  // REQUIRES: check(client, sequence).kind == kExecute; reply within kReplyBytesMax.
  void record(ClientId client, std::uint64_t sequence, LogIndex applied_at, Bytes reply);

  // The SecurityError a rejected decision maps to (kReplay, kTableFull).
  [[nodiscard]] Error rejection(ClientId client, std::uint64_t sequence,
                                const SessionDecision& decision) const;

  [[nodiscard]] std::size_t size() const { return sessions_.size(); }

  // Canonical: sorted by client id (docs/storage.md, "Client sessions").
  void encode(codec::Writer& w) const;
  [[nodiscard]] static Result<SessionTable> decode(codec::Reader& r);
  bool operator==(const SessionTable& other) const { return sessions_ == other.sessions_; }

 private:
  struct Session {
    std::uint64_t sequence = 0;
    LogIndex applied_at;
    Bytes reply;
    bool operator==(const Session&) const = default;
  };

  std::size_t clients_max_;
  std::map<ClientId, Session> sessions_;
};

}  // namespace phalanx::consensus
