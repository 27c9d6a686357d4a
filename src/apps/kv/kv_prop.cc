#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include "apps/kv/kv.h"

namespace phalanx::kv {
namespace {

// Short keys over a small alphabet, so ranges often start or end on a key.
rc::Gen<std::string> gen_key() {
  return rc::gen::container<std::string>(rc::gen::elementOf(std::string("abc")));
}

RC_GTEST_PROP(KvStore, RangeIsTheModelsSliceInOrder, ()) {
  const auto data = *rc::gen::container<std::map<std::string, std::string>>(
      gen_key(), rc::gen::arbitrary<std::string>());
  KvStore kv;
  std::uint64_t seq = 0;
  for (const auto& [k, v] : data) {
    ++seq;
    (void)kv.apply(LogIndex{seq},
                   codec::encode(KvCommand{ClientId{1}, seq, KvOp::kPut, k, to_bytes(v), {}}));
  }
  const std::string from = *gen_key();
  const std::string end = *gen_key();
  const auto limit = *rc::gen::inRange<std::uint32_t>(0, 8);
  const KvReply r = kv.range(from, end, limit);

  std::vector<KvEntry> want;
  bool more = false;
  for (auto it = data.lower_bound(from); it != data.end(); ++it) {
    if (!end.empty() && it->first >= end) break;
    if (limit != 0 && want.size() == limit) {
      more = true;
      break;
    }
    want.push_back({it->first, to_bytes(it->second)});
  }
  RC_ASSERT(r.entries == want);
  RC_ASSERT(r.more == more);
  const Result<KvReply> back = codec::decode<KvReply>(codec::encode(r));
  RC_ASSERT(back.has_value());
  RC_ASSERT(*back == r);
}

}  // namespace
}  // namespace phalanx::kv
