#include "consensus/bft/signatures.h"

#include "core/overloaded.h"
#include "security/verify.h"

namespace phalanx::bft {
namespace {

template <class M>
bool signed_ok(const M& message, const Validators& v) {
  return security::verify(*v.registry, Untrusted<M>(message)).has_value();
}

}  // namespace

std::size_t check_signatures(const Payload& body, const Validators& v) {
  std::size_t failed = 0;
  const auto count = [&failed](bool ok) { failed += ok ? 0 : 1; };
  std::visit(Overloaded{
                 [&](const Block& b) {
                   count(signed_ok(b, v));
                   count(verify_qc(b.qc, v).has_value());
                   if (b.tc) count(verify_tc(*b.tc, v).has_value());
                   for (const consensus::ClientRequest& r : b.requests) count(signed_ok(r, v));
                   for (const Accusation& a : b.accusations) {
                     count(verify_accusation(a, v).has_value());
                   }
                 },
                 [&](const Vote& vote) { count(signed_ok(vote, v)); },
                 [&](const Timeout& t) {
                   count(signed_ok(t, v));
                   count(verify_qc(t.high_qc, v).has_value());
                   if (t.last_tc) count(verify_tc(*t.last_tc, v).has_value());
                 },
                 [&](const Checkpoint& c) { count(signed_ok(c, v)); },
                 [](const SyncRequest&) {},
                 [](const SyncResponse&) {},
                 [](const SnapshotRequest&) {},
                 [&](const SnapshotChunk& c) {
                   if (c.cert) count(verify_checkpoint_cert(*c.cert, v).has_value());
                 },
             },
             body);
  return failed;
}

}  // namespace phalanx::bft
