// Strong identifier types.
//
// Every counter and identity in the protocol has its own type so a Round can
// never be passed where a LogIndex is expected:
//
//   Term t{3};
//   LogIndex i{3};
//   t == i;          // does not compile
//   t.next();        // Term{4}
//
// All ids are 64-bit unsigned on the wire (see docs/codec.md).
#pragma once

#include <compare>
#include <cstdint>
#include <functional>
#include <string>

#include "core/assert.h"
#include "core/bytes.h"

namespace phalanx {

template <class Tag>
class StrongId {
 public:
  using Rep = std::uint64_t;

  constexpr StrongId() = default;
  constexpr explicit StrongId(Rep value) : value_(value) {}

  [[nodiscard]] constexpr Rep value() const { return value_; }

  // REQUIRES: value() < max. Overflow of a protocol counter is a bug.
  [[nodiscard]] constexpr StrongId next() const {
    PHALANX_ASSERT(value_ != UINT64_MAX);
    return StrongId{value_ + 1};
  }

  constexpr auto operator<=>(const StrongId&) const = default;

  [[nodiscard]] std::string to_string() const {
    return std::string(Tag::kName) + "(" + std::to_string(value_) + ")";
  }

 private:
  Rep value_ = 0;
};

struct NodeIdTag {
  static constexpr const char* kName = "node";
};
struct ClientIdTag {
  static constexpr const char* kName = "client";
};
struct TermTag {
  static constexpr const char* kName = "term";
};
struct RoundTag {
  static constexpr const char* kName = "round";
};
struct LogIndexTag {
  static constexpr const char* kName = "index";
};
struct EpochTag {
  static constexpr const char* kName = "epoch";
};
struct SessionIdTag {
  static constexpr const char* kName = "session";
};

using NodeId = StrongId<NodeIdTag>;
using ClientId = StrongId<ClientIdTag>;
using Term = StrongId<TermTag>;
using Round = StrongId<RoundTag>;
using LogIndex = StrongId<LogIndexTag>;
using Epoch = StrongId<EpochTag>;
using SessionId = StrongId<SessionIdTag>;

// Names one cluster; signed into every message so a message signed for one
// cluster can never be replayed into another that shares keys.
using ClusterId = FixedBytes<16>;

}  // namespace phalanx

template <class Tag>
struct std::hash<phalanx::StrongId<Tag>> {
  std::size_t operator()(const phalanx::StrongId<Tag>& id) const noexcept {
    return std::hash<std::uint64_t>{}(id.value());
  }
};
