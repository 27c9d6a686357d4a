// The session table against a plain model (a list of sessions, scanned):
// random opens, requests, retries, replays, requests in other identities'
// sessions and the passing of log time give the same verdicts, the same
// evictions and the same expiries, and every state survives an encoding
// round trip unchanged.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <map>

#include "consensus/common/sessions.h"

namespace phalanx::consensus {
namespace {

struct ModelSession {
  ClientId client;
  std::uint64_t sequence = 0;
  std::uint64_t last_active = 0;
  Bytes reply;
};

class Model {
 public:
  explicit Model(SessionOptions o) : o_(o) {}

  std::optional<SessionId> open(ClientId client, std::uint64_t now) {
    if (live_.size() >= o_.sessions_max) expire(now);
    if (live_.size() >= o_.sessions_max) return std::nullopt;
    std::vector<SessionId> mine;
    for (const auto& [id, s] : live_) {
      if (s.client == client) mine.push_back(id);
    }
    if (mine.size() >= o_.sessions_per_client_max) live_.erase(idlest(mine));
    const SessionId id{next_++};
    live_[id] = ModelSession{client, 0, now, {}};
    return id;
  }

  SessionVerdict check(ClientId client, SessionId id, std::uint64_t sequence) const {
    if (id.value() == 0 || id.value() >= next_) return SessionVerdict::kUnknown;
    const auto it = live_.find(id);
    if (it == live_.end()) return SessionVerdict::kExpired;
    if (it->second.client != client) return SessionVerdict::kNotYours;
    if (sequence > it->second.sequence) return SessionVerdict::kExecute;
    if (sequence == it->second.sequence && sequence != 0) return SessionVerdict::kCached;
    return SessionVerdict::kReplay;
  }

  void record(SessionId id, std::uint64_t sequence, std::uint64_t now, Bytes reply) {
    ModelSession& s = live_.at(id);
    s.sequence = sequence;
    s.last_active = std::max(s.last_active, now);
    s.reply = std::move(reply);
  }

  void expire(std::uint64_t now) {
    std::erase_if(live_, [&](const auto& kv) {
      return now >= o_.expire_after && kv.second.last_active <= now - o_.expire_after;
    });
  }

  [[nodiscard]] const ModelSession* find(SessionId id) const {
    const auto it = live_.find(id);
    return it == live_.end() ? nullptr : &it->second;
  }
  [[nodiscard]] std::size_t size() const { return live_.size(); }
  [[nodiscard]] std::uint64_t next() const { return next_; }

 private:
  SessionId idlest(const std::vector<SessionId>& ids) const {
    return *std::min_element(ids.begin(), ids.end(), [&](SessionId a, SessionId b) {
      return std::pair(live_.at(a).last_active, a) < std::pair(live_.at(b).last_active, b);
    });
  }

  SessionOptions o_;
  std::uint64_t next_ = 1;
  std::map<SessionId, ModelSession> live_;
};

RC_GTEST_PROP(Sessions, AgreeWithAPlainModelAndRoundTrip, ()) {
  const SessionOptions o{
      .expire_after = *rc::gen::inRange<std::uint64_t>(1, 40),
      .sessions_max = *rc::gen::inRange<std::size_t>(1, 12),
      .sessions_per_client_max = *rc::gen::inRange<std::size_t>(1, 5),
  };
  Sessions table(o);
  Model model(o);
  std::uint64_t now = 0;
  const auto steps = *rc::gen::inRange(1, 200);
  for (int step = 0; step < steps; ++step) {
    now += *rc::gen::inRange<std::uint64_t>(0, 4);
    const ClientId client{*rc::gen::inRange<std::uint64_t>(1, 4)};
    // Ids around those handed out: live, expired, never opened, and 0.
    const SessionId id{*rc::gen::inRange<std::uint64_t>(0, model.next() + 2)};
    const std::uint64_t sequence = *rc::gen::inRange<std::uint64_t>(0, 8);
    switch (*rc::gen::inRange(0, 3)) {
      case 0: RC_ASSERT(table.open(client, now) == model.open(client, now)); break;
      case 1: {
        const SessionCheck c = table.check(client, id, sequence);
        RC_ASSERT(c.verdict == model.check(client, id, sequence));
        if (c.verdict == SessionVerdict::kCached) {
          RC_ASSERT(*c.reply == model.find(id)->reply);
        }
        if (c.verdict == SessionVerdict::kExecute) {
          const Bytes reply{static_cast<std::uint8_t>(sequence), static_cast<std::uint8_t>(now)};
          table.record(client, id, sequence, now, reply);
          model.record(id, sequence, now, reply);
        }
        break;
      }
      default: table.expire(now); model.expire(now);
    }
    RC_ASSERT(table.size() == model.size());
    RC_ASSERT(table.next_id().value() == model.next());
    Result<Sessions> back = codec::decode<Sessions>(codec::encode(table));
    RC_ASSERT(back.has_value());
    RC_ASSERT(*back == table);
  }
}

// No byte string decodes to a table other than the one it encodes.
RC_GTEST_PROP(Sessions, OnlyCanonicalBytesDecode, (std::vector<std::uint8_t> bytes)) {
  Result<Sessions> t = codec::decode<Sessions>(Bytes(bytes.begin(), bytes.end()));
  if (t) RC_ASSERT(codec::encode(*t) == Bytes(bytes.begin(), bytes.end()));
}

}  // namespace
}  // namespace phalanx::consensus
