// The client request's wire form is canonical: it round-trips, and any
// edit of it either fails to decode or decodes to exactly those bytes.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include "consensus/common/client_request.h"
#include "testing/mutate.h"

namespace phalanx::consensus {
namespace {

RC_GTEST_PROP(ClientRequest, RoundTripsAndRejectsMutations, ()) {
  ClientRequest req;
  req.client = ClientId{*rc::gen::arbitrary<std::uint64_t>()};
  req.sequence = *rc::gen::arbitrary<std::uint64_t>();
  req.operation = *rc::gen::container<Bytes>(rc::gen::arbitrary<std::uint8_t>());
  for (std::size_t i = 0; i < req.signature.size(); ++i)
    req.signature[i] = static_cast<std::uint8_t>(i * 7);
  const Bytes wire = codec::encode(req);
  RC_ASSERT(*codec::decode<ClientRequest>(wire) == req);
  const Bytes mutated = testing::mutate(wire);
  Result<ClientRequest> m = codec::decode<ClientRequest>(mutated);
  if (m) RC_ASSERT(codec::encode(*m) == mutated);
}

}  // namespace
}  // namespace phalanx::consensus
