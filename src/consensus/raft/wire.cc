#include "consensus/raft/wire.h"

#include <fmt/format.h>

#include "consensus/raft/membership.h"
#include "core/codec.h"
#include "core/overloaded.h"

namespace phalanx::raft {
namespace {

using codec::Reader;
using codec::Writer;

void encode_body(Writer& w, const PreVote& v) {
  w.id(v.last_index);
  w.id(v.last_term);
}
void encode_body(Writer& w, const PreVoteReply& v) { w.boolean(v.granted); }
void encode_body(Writer& w, const RequestVote& v) {
  w.id(v.last_index);
  w.id(v.last_term);
  w.boolean(v.transfer);
}
void encode_body(Writer& w, const RequestVoteReply& v) { w.boolean(v.granted); }
void encode_body(Writer& w, const AppendEntries& a) {
  w.id(a.prev_index);
  w.id(a.prev_term);
  PHALANX_ASSERT(a.entries.size() <= kEntriesPerMessageMax);
  w.varint(a.entries.size());
  LogIndex index = a.prev_index;
  for (const Entry& e : a.entries) {
    index = index.next();
    PHALANX_ASSERT(e.index == index);
    w.id(e.term);
    w.tag(e.kind);
    w.bytes(e.data, kEntryDataBytesMax);
  }
  w.id(a.leader_commit);
  w.varint(a.read_context);
}
void encode_body(Writer& w, const AppendEntriesReply& r) {
  w.boolean(r.success);
  w.id(r.match_index);
  w.id(r.hint_index);
  w.varint(r.read_context);
}
void encode_body(Writer&, const TimeoutNow&) {}
void encode_body(Writer& w, const InstallSnapshot& s) {
  PHALANX_ASSERT(s.manifest.has_value() == (s.chunk == 0));
  w.id(s.last_index);
  w.id(s.last_term);
  w.varint(s.chunk);
  if (s.manifest) s.manifest->encode(w);
  w.bytes(s.data, crypto::kChunkBytesMax);
  w.varint(s.read_context);
}
void encode_body(Writer& w, const InstallSnapshotReply& r) {
  w.id(r.last_index);
  w.varint(r.next_chunk);
  w.boolean(r.done);
  w.id(r.match);
  w.varint(r.read_context);
}

Result<Entry> decode_entry(Reader& r, LogIndex index) {
  Entry e;
  e.index = index;
  PHALANX_ASSIGN_OR_RETURN(e.term, r.id<Term>());
  PHALANX_ASSIGN_OR_RETURN(e.kind, r.tag<EntryKind>(kEntryKindMax));
  const std::size_t data_at = r.offset();
  PHALANX_ASSIGN_OR_RETURN(e.data, r.bytes(kEntryDataBytesMax));
  // The core takes a config entry as the membership from the moment it is
  // appended; one that is not a valid membership never gets that far.
  if (e.kind == EntryKind::kConfig && !codec::decode<Membership>(e.data)) {
    return Reader::malformed(MalformedReason::kNonCanonical, data_at);
  }
  return e;
}

// The body's tag is its index in MessageBody.
Result<MessageBody> decode_body(Reader& r) {
  const std::size_t tag_at = r.offset();
  PHALANX_ASSIGN_OR_RETURN(std::uint8_t tag, r.u8());
  switch (tag) {
    case 0: {
      PreVote v;
      PHALANX_ASSIGN_OR_RETURN(v.last_index, r.id<LogIndex>());
      PHALANX_ASSIGN_OR_RETURN(v.last_term, r.id<Term>());
      return MessageBody(v);
    }
    case 1: {
      PHALANX_ASSIGN_OR_RETURN(bool granted, r.boolean());
      return MessageBody(PreVoteReply{granted});
    }
    case 2: {
      RequestVote v;
      PHALANX_ASSIGN_OR_RETURN(v.last_index, r.id<LogIndex>());
      PHALANX_ASSIGN_OR_RETURN(v.last_term, r.id<Term>());
      PHALANX_ASSIGN_OR_RETURN(v.transfer, r.boolean());
      return MessageBody(v);
    }
    case 3: {
      PHALANX_ASSIGN_OR_RETURN(bool granted, r.boolean());
      return MessageBody(RequestVoteReply{granted});
    }
    case 4: {
      AppendEntries a;
      PHALANX_ASSIGN_OR_RETURN(a.prev_index, r.id<LogIndex>());
      PHALANX_ASSIGN_OR_RETURN(a.prev_term, r.id<Term>());
      const std::size_t count_at = r.offset();
      PHALANX_ASSIGN_OR_RETURN(std::uint64_t count, r.varint());
      if (count > kEntriesPerMessageMax) {
        return Reader::malformed(MalformedReason::kLengthOverLimit, count_at);
      }
      // The last index must fit in 64 bits.
      if (count > ~std::uint64_t{0} - a.prev_index.value()) {
        return Reader::malformed(MalformedReason::kValueOutOfRange, count_at);
      }
      a.entries.reserve(std::min<std::size_t>(count, r.remaining()));
      LogIndex index = a.prev_index;
      for (std::uint64_t i = 0; i < count; ++i) {
        index = index.next();
        PHALANX_ASSIGN_OR_RETURN(Entry e, decode_entry(r, index));
        a.entries.push_back(std::move(e));
      }
      PHALANX_ASSIGN_OR_RETURN(a.leader_commit, r.id<LogIndex>());
      PHALANX_ASSIGN_OR_RETURN(a.read_context, r.varint());
      return MessageBody(std::move(a));
    }
    case 5: {
      AppendEntriesReply a;
      PHALANX_ASSIGN_OR_RETURN(a.success, r.boolean());
      PHALANX_ASSIGN_OR_RETURN(a.match_index, r.id<LogIndex>());
      PHALANX_ASSIGN_OR_RETURN(a.hint_index, r.id<LogIndex>());
      PHALANX_ASSIGN_OR_RETURN(a.read_context, r.varint());
      return MessageBody(a);
    }
    case 6: return MessageBody(TimeoutNow{});
    case 7: {
      InstallSnapshot s;
      PHALANX_ASSIGN_OR_RETURN(s.last_index, r.id<LogIndex>());
      PHALANX_ASSIGN_OR_RETURN(s.last_term, r.id<Term>());
      PHALANX_ASSIGN_OR_RETURN(s.chunk, r.varint());
      if (s.chunk == 0) {
        PHALANX_ASSIGN_OR_RETURN(SnapshotManifest m, SnapshotManifest::decode(r));
        s.manifest = std::move(m);
      }
      PHALANX_ASSIGN_OR_RETURN(s.data, r.bytes(crypto::kChunkBytesMax));
      PHALANX_ASSIGN_OR_RETURN(s.read_context, r.varint());
      return MessageBody(std::move(s));
    }
    case 8: {
      InstallSnapshotReply s;
      PHALANX_ASSIGN_OR_RETURN(s.last_index, r.id<LogIndex>());
      PHALANX_ASSIGN_OR_RETURN(s.next_chunk, r.varint());
      PHALANX_ASSIGN_OR_RETURN(s.done, r.boolean());
      PHALANX_ASSIGN_OR_RETURN(s.match, r.id<LogIndex>());
      PHALANX_ASSIGN_OR_RETURN(s.read_context, r.varint());
      return MessageBody(s);
    }
    default: return Reader::malformed(MalformedReason::kBadTag, tag_at);
  }
}

}  // namespace

Bytes encode_message(const Message& m) {
  Writer w;
  w.id(m.from);
  w.id(m.to);
  w.id(m.term);
  w.u8(static_cast<std::uint8_t>(m.body.index()));
  std::visit([&](const auto& body) { encode_body(w, body); }, m.body);
  return w.take();
}

Result<Untrusted<Message>> decode_message(ByteView frame, std::optional<NodeId> receiver) {
  Reader r(frame);
  Message m;
  PHALANX_ASSIGN_OR_RETURN(m.from, r.id<NodeId>());
  const std::size_t to_at = r.offset();
  PHALANX_ASSIGN_OR_RETURN(m.to, r.id<NodeId>());
  if (receiver && m.to != *receiver) {
    return Reader::malformed(MalformedReason::kValueOutOfRange, to_at);
  }
  PHALANX_ASSIGN_OR_RETURN(m.term, r.id<Term>());
  PHALANX_ASSIGN_OR_RETURN(m.body, decode_body(r));
  PHALANX_TRY(r.finish());
  return Untrusted<Message>(std::move(m));
}

std::string describe(const MessageBody& body) {
  const auto detail = Overloaded{
      [](const AppendEntries& a) {
        return fmt::format(" prev {} entries {} commit {}", a.prev_index.value(), a.entries.size(),
                           a.leader_commit.value());
      },
      [](const AppendEntriesReply& r) {
        return r.success ? fmt::format(" match {}", r.match_index.value())
                         : fmt::format(" rejected, hint {}", r.hint_index.value());
      },
      [](const InstallSnapshot& s) {
        return fmt::format(" snapshot {} chunk {}", s.last_index.value(), s.chunk);
      },
      [](const InstallSnapshotReply& r) {
        return r.done
                   ? fmt::format(" done, match {}", r.match.value())
                   : fmt::format(" snapshot {} wants chunk {}", r.last_index.value(), r.next_chunk);
      },
      [](const auto&) { return std::string(); },
  };
  return message_name(body) + std::visit(detail, body);
}

}  // namespace phalanx::raft
