#include "apps/kv/kv.h"

#include <fmt/format.h>

namespace phalanx::kv {
namespace {

void encode_optional_bytes(codec::Writer& w, const std::optional<Bytes>& b) {
  w.optional(b, [](codec::Writer& out, const Bytes& v) { out.bytes(v, kValueBytesMax); });
}

Result<std::optional<Bytes>> decode_optional_bytes(codec::Reader& r) {
  return r.optional<Bytes>([](codec::Reader& in) { return in.bytes(kValueBytesMax); });
}

Status check_key(std::string_view what, const std::string& key) {
  if (key.size() > kKeyBytesMax) {
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("{} is {} bytes; at most {}", what, key.size(), kKeyBytesMax));
  }
  if (!codec::is_valid_utf8(key)) {
    return fail(ErrorCode::kInvalidArgument, fmt::format("{} is not valid UTF-8", what));
  }
  return {};
}

Status check_value(std::string_view what, const Bytes& value) {
  if (value.size() > kValueBytesMax) {
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("{} is {} bytes; at most {}", what, value.size(), kValueBytesMax));
  }
  return {};
}

}  // namespace

Status check_limits(const KvCommand& c) {
  PHALANX_TRY(check_key("the key", c.key));
  PHALANX_TRY(check_key("the range end", c.range_end));
  PHALANX_TRY(check_value("the value", c.value));
  if (c.expected) PHALANX_TRY(check_value("the expected value", *c.expected));
  if (c.limit > kRangeEntriesMax) {
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("a range returns at most {} entries per call", kRangeEntriesMax));
  }
  return {};
}

void KvCommand::encode(codec::Writer& w) const {
  w.id(client);
  w.varint(sequence);
  w.tag(op);
  w.string(key, kKeyBytesMax);
  w.bytes(value, kValueBytesMax);
  encode_optional_bytes(w, expected);
  w.string(range_end, kKeyBytesMax);
  w.varint(limit);
}

Result<KvCommand> KvCommand::decode(codec::Reader& r) {
  KvCommand c;
  PHALANX_ASSIGN_OR_RETURN(c.client, r.id<ClientId>());
  PHALANX_ASSIGN_OR_RETURN(c.sequence, r.varint());
  PHALANX_ASSIGN_OR_RETURN(c.op, r.tag<KvOp>(kKvOpMax));
  PHALANX_ASSIGN_OR_RETURN(c.key, r.string(kKeyBytesMax));
  PHALANX_ASSIGN_OR_RETURN(c.value, r.bytes(kValueBytesMax));
  PHALANX_ASSIGN_OR_RETURN(c.expected, decode_optional_bytes(r));
  PHALANX_ASSIGN_OR_RETURN(c.range_end, r.string(kKeyBytesMax));
  PHALANX_ASSIGN_OR_RETURN(const std::uint64_t limit, r.varint_max(kRangeEntriesMax));
  c.limit = static_cast<std::uint32_t>(limit);
  return c;
}

void KvReply::encode(codec::Writer& w) const {
  w.tag(status);
  encode_optional_bytes(w, value);
  w.sequence(std::span<const KvEntry>(entries), kRangeEntriesMax,
             [](codec::Writer& out, const KvEntry& e) {
               out.string(e.key, kKeyBytesMax);
               out.bytes(e.value, kValueBytesMax);
             });
  w.boolean(more);
}

Result<KvReply> KvReply::decode(codec::Reader& r) {
  KvReply reply;
  PHALANX_ASSIGN_OR_RETURN(reply.status, r.tag<KvStatus>(kKvStatusMax));
  PHALANX_ASSIGN_OR_RETURN(reply.value, decode_optional_bytes(r));
  PHALANX_ASSIGN_OR_RETURN(
      reply.entries,
      r.sequence<KvEntry>(kRangeEntriesMax, [](codec::Reader& in) -> Result<KvEntry> {
        KvEntry e;
        PHALANX_ASSIGN_OR_RETURN(e.key, in.string(kKeyBytesMax));
        PHALANX_ASSIGN_OR_RETURN(e.value, in.bytes(kValueBytesMax));
        return e;
      }));
  PHALANX_ASSIGN_OR_RETURN(reply.more, r.boolean());
  return reply;
}

std::string prefix_end(std::string_view prefix) {
  std::string end(prefix);
  while (!end.empty() && static_cast<unsigned char>(end.back()) == 0xff) end.pop_back();
  if (!end.empty()) end.back() = static_cast<char>(static_cast<unsigned char>(end.back()) + 1);
  return end;
}

Bytes KvStore::apply(LogIndex index, ByteView command) {
  PHALANX_ASSERT(index > last_applied_);
  last_applied_ = index;
  refusal_.reset();
  Result<KvCommand> c = codec::decode<KvCommand>(command);
  if (!c) {
    refusal_ = std::move(c).error();
    return codec::encode(KvReply{KvStatus::kMalformed, std::nullopt});
  }
  consensus::SessionDecision d = sessions_.check(c->client, c->sequence);
  if (TEST_apply_retries_twice && d.kind == consensus::SessionDecision::kCachedReply) {
    ++executed_;
    (void)execute(KvCommand(*c));
    return *d.reply;
  }
  switch (d.kind) {
    case consensus::SessionDecision::kCachedReply: return *d.reply;
    case consensus::SessionDecision::kReplay:
      refusal_ = sessions_.rejection(c->client, c->sequence, d);
      return codec::encode(KvReply{KvStatus::kReplay, std::nullopt});
    case consensus::SessionDecision::kTableFull:
      refusal_ = sessions_.rejection(c->client, c->sequence, d);
      return codec::encode(KvReply{KvStatus::kSessionsFull, std::nullopt});
    case consensus::SessionDecision::kExecute: break;
  }
  Bytes reply = codec::encode(execute(std::move(*c)));
  sessions_.record(c->client, c->sequence, index, reply);
  return reply;
}

// Takes the command by value: a put moves its key and value into the map,
// found or placed with one search.
KvReply KvStore::execute(KvCommand&& c) {
  ++executed_;
  const auto it = data_.lower_bound(c.key);
  const bool found = it != data_.end() && it->first == c.key;
  const auto store = [&] {
    if (found) {
      it->second = std::move(c.value);
    } else {
      data_.emplace_hint(it, std::move(c.key), std::move(c.value));
    }
  };
  switch (c.op) {
    case KvOp::kPut: store(); return {KvStatus::kOk, std::nullopt};
    case KvOp::kGet:
      if (!found) return {KvStatus::kNotFound, std::nullopt};
      return {KvStatus::kOk, it->second};
    case KvOp::kDelete:
      if (!found) return {KvStatus::kNotFound, std::nullopt};
      data_.erase(it);
      return {KvStatus::kOk, std::nullopt};
    case KvOp::kCompareAndSet: {
      const std::optional<Bytes> current = found ? std::optional<Bytes>(it->second) : std::nullopt;
      if (current != c.expected) return {KvStatus::kCompareFailed, current};
      store();
      return {KvStatus::kOk, std::nullopt};
    }
    case KvOp::kRange: return range(c.key, c.range_end, c.limit);
  }
  return {KvStatus::kMalformed, std::nullopt};
}

std::optional<Bytes> KvStore::get(const std::string& key) const {
  const auto it = data_.find(key);
  if (it == data_.end()) return std::nullopt;
  return it->second;
}

KvReply KvStore::range(const std::string& from, const std::string& end, std::uint32_t limit) const {
  const std::uint32_t most = limit == 0 ? kRangeEntriesMax : std::min(limit, kRangeEntriesMax);
  KvReply reply{KvStatus::kOk, std::nullopt};
  std::size_t bytes = 0;
  for (auto it = data_.lower_bound(from); it != data_.end(); ++it) {
    if (!end.empty() && it->first >= end) break;
    const std::size_t size = it->first.size() + it->second.size();
    if (reply.entries.size() == most || bytes + size > kRangeBytesMax) {
      reply.more = true;
      break;
    }
    bytes += size;
    reply.entries.push_back({it->first, it->second});
  }
  return reply;
}

void KvStore::encode_state(codec::Writer& w) const {
  w.varint(data_.size());
  for (const auto& [key, value] : data_) {
    w.string(key, kKeyBytesMax);
    w.bytes(value, kValueBytesMax);
  }
  sessions_.encode(w);
}

crypto::Hash32 KvStore::digest() const {
  codec::Writer w;
  encode_state(w);
  return crypto::blake2b256(w.buffer());
}

Bytes KvStore::snapshot() const {
  codec::Writer w;
  w.id(last_applied_);
  encode_state(w);
  return w.take();
}

Result<KvStore> KvStore::restore(ByteView snapshot) {
  codec::Reader r(snapshot);
  KvStore kv;
  PHALANX_ASSIGN_OR_RETURN(kv.last_applied_, r.id<LogIndex>());
  PHALANX_ASSIGN_OR_RETURN(const std::uint64_t count, r.varint_max(snapshot.size()));
  for (std::uint64_t i = 0; i < count; ++i) {
    const std::size_t at = r.offset();
    PHALANX_ASSIGN_OR_RETURN(std::string key, r.string(kKeyBytesMax));
    PHALANX_ASSIGN_OR_RETURN(Bytes value, r.bytes(kValueBytesMax));
    // Canonical: keys strictly increasing.
    if (!kv.data_.empty() && key <= kv.data_.rbegin()->first) {
      return codec::Reader::malformed(MalformedReason::kNonCanonical, at);
    }
    kv.data_.emplace_hint(kv.data_.end(), std::move(key), std::move(value));
  }
  PHALANX_ASSIGN_OR_RETURN(kv.sessions_, consensus::SessionTable::decode(r));
  PHALANX_TRY(r.finish());
  return kv;
}

}  // namespace phalanx::kv
