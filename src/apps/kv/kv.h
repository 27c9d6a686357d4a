// The replicated key-value store (pure; docs/protocol-raft.md, "State machine").
//
// Commands arrive through the log already ordered; every replica applies the
// same commands in the same order and reaches the same state. Each command
// carries (client, sequence) and goes through the session table first, so a
// retried command is applied once and answered from the cache.
//
//   KvCommand put{ClientId{1}, 7, KvOp::kPut, "k", to_bytes("v")};
//   Bytes reply = kv.apply(LogIndex{12}, codec::encode(put));
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "consensus/common/session_table.h"
#include "core/codec.h"
#include "core/ids.h"
#include "crypto/hash.h"

namespace phalanx::kv {

enum class KvOp : std::uint8_t {
  kPut = 0,
  kGet = 1,
  kDelete = 2,
  kCompareAndSet = 3,
  kRange = 4,  // keys in [key, range_end) in order, at most `limit` of them
};
inline constexpr std::uint8_t kKvOpMax = 4;

inline constexpr std::size_t kKeyBytesMax = 1024;
inline constexpr std::size_t kValueBytesMax = 64 * 1024;
// A range reply holds at most this many entries and stops before its keys and
// values exceed kRangeBytesMax; `more` says the range went on.
inline constexpr std::uint32_t kRangeEntriesMax = 1000;
inline constexpr std::size_t kRangeBytesMax = 512 * 1024;

struct KvCommand {
  ClientId client;
  std::uint64_t sequence = 0;
  KvOp op = KvOp::kGet;
  std::string key;
  Bytes value;                    // put, compare-and-set: the new value
  std::optional<Bytes> expected;  // compare-and-set: required current value (nullopt: absent)
  std::string range_end = {};     // range: first key after the range; empty: no end
  std::uint32_t limit = 0;        // range: most entries wanted; 0: kRangeEntriesMax

  void encode(codec::Writer& w) const;
  [[nodiscard]] static Result<KvCommand> decode(codec::Reader& r);
  bool operator==(const KvCommand&) const = default;
};

// The limits encode() asserts, checked where a command is built from a
// caller's input: kInvalidArgument naming the first one broken (keys valid
// UTF-8 of at most kKeyBytesMax bytes, values at most kValueBytesMax, a
// range limit at most kRangeEntriesMax).
[[nodiscard]] Status check_limits(const KvCommand& c);

enum class KvStatus : std::uint8_t {
  kOk = 0,
  kNotFound = 1,
  kCompareFailed = 2,
  kReplay = 3,        // sequence below the client's last: refused
  kSessionsFull = 4,  // a new client while the session table is full
  kMalformed = 5,     // the command did not decode
};
inline constexpr std::uint8_t kKvStatusMax = 5;

struct KvEntry {
  std::string key;
  Bytes value;
  bool operator==(const KvEntry&) const = default;
};

struct KvReply {
  KvStatus status = KvStatus::kOk;
  std::optional<Bytes> value;         // get: the value; compare-and-set failure: the current value
  std::vector<KvEntry> entries = {};  // range: ascending keys
  bool more = false;                  // range: keys beyond the last entry were left out

  void encode(codec::Writer& w) const;
  [[nodiscard]] static Result<KvReply> decode(codec::Reader& r);
  bool operator==(const KvReply&) const = default;
};

// The range_end that makes a range cover exactly the keys starting with
// `prefix`: the prefix with its last byte below 0xff raised by one and what
// follows dropped; empty (no end) if there is no such byte.
[[nodiscard]] std::string prefix_end(std::string_view prefix);

class KvStore {
 public:
  // Test-only: execute retried requests again instead of answering from the
  // session cache (a planted bug the simulator must catch).
  bool TEST_apply_retries_twice = false;

  // Applies one committed command; returns the encoded KvReply.
  // REQUIRES: index > last_applied() (commands arrive in log order).
  [[nodiscard]] Bytes apply(LogIndex index, ByteView command);

  [[nodiscard]] LogIndex last_applied() const { return last_applied_; }
  [[nodiscard]] std::optional<Bytes> get(const std::string& key) const;
  // The entries of keys in [from, end) (end empty: no end), at most `limit`
  // (0: kRangeEntriesMax) and kRangeBytesMax of keys and values.
  [[nodiscard]] KvReply range(const std::string& from, const std::string& end,
                              std::uint32_t limit) const;
  [[nodiscard]] std::size_t size() const { return data_.size(); }
  // Commands actually executed (not answered from the session cache).
  [[nodiscard]] std::uint64_t executed() const { return executed_; }
  // Why the last apply() refused its command (a replay, a full session
  // table, bytes that do not decode), if it did.
  [[nodiscard]] const std::optional<Error>& refusal() const { return refusal_; }
  // Digest of data and sessions: equal states, equal digests.
  [[nodiscard]] crypto::Hash32 digest() const;

  // The whole replicated state (data, sessions, last applied index),
  // canonically encoded; restore(snapshot()) is an equal store.
  [[nodiscard]] Bytes snapshot() const;
  // MalformedInput if the bytes are not exactly what snapshot() writes.
  [[nodiscard]] static Result<KvStore> restore(ByteView snapshot);

 private:
  void encode_state(codec::Writer& w) const;

  KvReply execute(KvCommand&& c);

  std::map<std::string, Bytes> data_;
  consensus::SessionTable sessions_;
  LogIndex last_applied_;
  std::uint64_t executed_ = 0;
  std::optional<Error> refusal_;  // not replicated: about the last apply() only
};

}  // namespace phalanx::kv
