// Raft wire format: every message round-trips, and no other byte string
// decodes (canonical: whatever decodes re-encodes to the same bytes).
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include "consensus/raft/membership.h"
#include "consensus/raft/wire.h"
#include "core/codec.h"

namespace phalanx::raft {
namespace {

std::uint64_t small() { return *rc::gen::inRange<std::uint64_t>(0, 1'000); }
// Mostly small, sometimes near the top of the range (varint edge cases).
std::uint64_t any_u64() {
  return *rc::gen::weightedOneOf<std::uint64_t>(
      {{4, rc::gen::inRange<std::uint64_t>(0, 300)}, {1, rc::gen::arbitrary<std::uint64_t>()}});
}
Bytes some_bytes() {
  return *rc::gen::resize(40, rc::gen::container<Bytes>(rc::gen::arbitrary<std::uint8_t>()));
}

SnapshotManifest manifest() {
  SnapshotManifest m;
  m.meta.last_index = LogIndex{small()};
  m.meta.last_term = Term{small()};
  m.meta.membership = codec::encode(Membership{.voters = {NodeId{1}, NodeId{2}}});
  std::vector<crypto::Hash32> hashes(*rc::gen::inRange<std::size_t>(0, 4));
  for (std::size_t i = 0; i < hashes.size(); ++i) hashes[i][0] = static_cast<std::uint8_t>(i);
  m.chunks = crypto::ChunkManifest::of(std::move(hashes), small());
  return m;
}

Entry entry(LogIndex index) {
  const auto kind = static_cast<EntryKind>(*rc::gen::inRange<int>(0, kEntryKindMax + 1));
  Bytes data = some_bytes();
  if (kind == EntryKind::kConfig) data = codec::encode(Membership{.voters = {NodeId{small() + 1}}});
  return Entry{Term{small()}, index, kind, std::move(data)};
}

MessageBody body() {
  switch (*rc::gen::inRange<int>(0, static_cast<int>(std::variant_size_v<MessageBody>))) {
    case 0: return PreVote{LogIndex{any_u64()}, Term{any_u64()}};
    case 1: return PreVoteReply{*rc::gen::arbitrary<bool>()};
    case 2: return RequestVote{LogIndex{any_u64()}, Term{any_u64()}, *rc::gen::arbitrary<bool>()};
    case 3: return RequestVoteReply{*rc::gen::arbitrary<bool>()};
    case 4: {
      AppendEntries a{LogIndex{small()}, Term{small()}, {}, LogIndex{small()}, any_u64()};
      const std::size_t n = *rc::gen::inRange<std::size_t>(0, 5);
      for (std::size_t i = 0; i < n; ++i)
        a.entries.push_back(entry(LogIndex{a.prev_index.value() + i + 1}));
      return a;
    }
    case 5:
      return AppendEntriesReply{*rc::gen::arbitrary<bool>(), LogIndex{any_u64()},
                                LogIndex{any_u64()}, any_u64()};
    case 6: return TimeoutNow{};
    case 7: {
      InstallSnapshot s{LogIndex{small()}, Term{small()}, small() % 3,
                        std::nullopt,      some_bytes(),  any_u64()};
      if (s.chunk == 0) s.manifest = manifest();
      return s;
    }
    default:
      return InstallSnapshotReply{LogIndex{small()}, small(), *rc::gen::arbitrary<bool>(),
                                  LogIndex{small()}, any_u64()};
  }
}

Message message() { return Message{NodeId{any_u64()}, NodeId{any_u64()}, Term{any_u64()}, body()}; }

RC_GTEST_PROP(RaftWire, EveryMessageRoundTrips, ()) {
  const Message m = message();
  const Bytes frame = encode_message(m);
  Result<Untrusted<Message>> back = decode_message(frame);
  RC_ASSERT(back.has_value());
  const Message& d = back->unverified();
  RC_ASSERT(d.from == m.from);
  RC_ASSERT(d.to == m.to);
  RC_ASSERT(d.term == m.term);
  RC_ASSERT(d.body.index() == m.body.index());
  RC_ASSERT(encode_message(d) == frame);
  if (const auto* a = std::get_if<AppendEntries>(&m.body)) {
    RC_ASSERT(std::get<AppendEntries>(d.body).entries == a->entries);
  }
}

RC_GTEST_PROP(RaftWire, NoPrefixAndNoExtensionDecodes, ()) {
  const Bytes frame = encode_message(message());
  const std::size_t cut = *rc::gen::inRange<std::size_t>(0, frame.size());
  Result<Untrusted<Message>> prefix = decode_message(ByteView(frame).first(cut));
  RC_ASSERT(!prefix.has_value());
  RC_ASSERT(prefix.error().security() != nullptr);
  Bytes longer = frame;
  longer.push_back(*rc::gen::arbitrary<std::uint8_t>());
  RC_ASSERT(!decode_message(longer).has_value());
}

// A mutated frame either fails with MalformedInput or is the unique
// encoding of what it decodes to: there is no second encoding of a message.
RC_GTEST_PROP(RaftWire, WhateverDecodesIsCanonical, ()) {
  Bytes frame = encode_message(message());
  const std::size_t flips = *rc::gen::inRange<std::size_t>(1, 4);
  for (std::size_t i = 0; i < flips; ++i) {
    frame[*rc::gen::inRange<std::size_t>(0, frame.size())] ^=
        *rc::gen::inRange<std::uint8_t>(1, 255);
  }
  Result<Untrusted<Message>> decoded = decode_message(frame);
  if (decoded) {
    RC_ASSERT(encode_message(decoded->unverified()) == frame);
  } else {
    RC_ASSERT(decoded.error().security() != nullptr);
  }
}

}  // namespace
}  // namespace phalanx::raft
