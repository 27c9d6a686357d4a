// libFuzzer target: the decoders of wire types must never crash, never read
// out of bounds, and never accept a byte string that is not the canonical
// encoding of what they decoded.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "consensus/common/client_request.h"
#include "consensus/raft/wire.h"
#include "core/codec.h"
#include "crypto/merkle.h"

namespace {

template <class T>
void check_canonical(phalanx::ByteView input) {
  phalanx::Result<T> value = phalanx::codec::decode<T>(input);
  if (!value) return;
  const phalanx::Bytes again = phalanx::codec::encode(*value);
  if (again.size() != input.size() || !std::equal(again.begin(), again.end(), input.begin())) {
    std::abort();  // accepted a non-canonical encoding
  }
}

void check_raft_message(phalanx::ByteView input) {
  auto message = phalanx::raft::decode_message(input);
  if (!message) return;
  const phalanx::Bytes again = phalanx::raft::encode_message(message->unverified());
  if (again.size() != input.size() || !std::equal(again.begin(), again.end(), input.begin())) {
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  // The first byte picks the decoder so one corpus exercises all of them.
  const phalanx::ByteView input(data + 1, size - 1);
  switch (data[0] % 3) {
    case 0: check_canonical<phalanx::consensus::ClientRequest>(input); break;
    case 1: check_canonical<phalanx::crypto::InclusionProof>(input); break;
    case 2: check_raft_message(input); break;
  }
  return 0;
}
