// Test-only: a registry of evidence sources, an administrator and a plain
// client, and sources that sign correctly chained items.
//
//   evidence::testing::Fixture f(5);                  // sources 1..5
//   EvidenceItem item = f.next(ClientId{2}, "h", nats(0.3));
//   Bytes cmd = f.submit(item);                       // an EvidenceCommand from source 2
#pragma once

#include <map>
#include <vector>

#include "apps/evidence/evidence.h"
#include "security/registry.h"
#include "security/verify.h"

namespace phalanx::evidence::testing {

inline constexpr ClientId kAdmin{1000};
inline constexpr ClientId kPlainClient{1001};

inline crypto::KeyPair key_of(ClientId id) {
  crypto::Seed seed;
  seed[0] = static_cast<std::uint8_t>(id.value());
  seed[1] = static_cast<std::uint8_t>(id.value() >> 8);
  seed[2] = 0xe7;
  return crypto::KeyPair::from_seed(seed);
}

class Fixture {
 public:
  explicit Fixture(std::uint64_t sources) {
    for (std::uint64_t i = 1; i <= sources; ++i) add(ClientId{i}, Role::kEvidenceSource);
    add(kAdmin, Role::kAdmin);
    add(kPlainClient, Role::kClient);
  }

  [[nodiscard]] const security::TrustRegistry& registry() const { return registry_; }
  [[nodiscard]] const ClusterId& cluster() const { return cluster_; }

  // The source's next item on its chain, signed; the chain stays where it is.
  EvidenceItem peek(ClientId source, std::string hypothesis, Units llr) {
    const Chain& c = chains_[source];
    EvidenceItem item{cluster_,   source, std::move(hypothesis), llr, c.sequence + 1, c.head,
                      c.time + 1, {}};
    security::sign(item, keys_.at(source));
    return item;
  }

  // The same, and the chain advances past it.
  EvidenceItem next(ClientId source, std::string hypothesis, Units llr) {
    EvidenceItem item = peek(source, std::move(hypothesis), llr);
    Chain& c = chains_[source];
    c.sequence = item.sequence;
    c.head = item.hash();
    c.time = item.timestamp_ms;
    return item;
  }

  // The command that submits `item` in the session of `by` (default: its source).
  Bytes submit(const EvidenceItem& item, std::optional<ClientId> by = std::nullopt) {
    const ClientId client = by.value_or(item.source);
    EvidenceCommand c{client, ++sessions_[client], EvidenceOp::kSubmit, item};
    return codec::encode(c);
  }

  Bytes read(EvidenceOp op, std::string hypothesis = {}, ClientId proof_source = {},
             std::uint64_t proof_sequence = 0) {
    EvidenceCommand c{kPlainClient,  ++sessions_[kPlainClient], op,
                      std::nullopt,  std::move(hypothesis),     proof_source,
                      proof_sequence};
    return codec::encode(c);
  }

  // A change to `config` signed by `by` (default: the administrator).
  ConfigChange change(std::uint64_t version, EvidenceConfig config, ClientId by = kAdmin) {
    ConfigChange change{cluster_, by, version, config, {}};
    security::sign(change, keys_.at(by));
    return change;
  }

  Bytes configure(const ConfigChange& change) {
    EvidenceCommand c{change.admin, ++sessions_[change.admin], EvidenceOp::kConfigure};
    c.change = change;
    return codec::encode(c);
  }

 private:
  struct Chain {
    std::uint64_t sequence = 0;
    crypto::Hash32 head;
    std::int64_t time = 1'700'000'000'000;
  };

  void add(ClientId id, Role role) {
    crypto::KeyPair key = key_of(id);
    PHALANX_ASSERT(registry_.add({Principal::client(id), key.public_key(), role}));
    keys_.emplace(id, std::move(key));
  }

  ClusterId cluster_ = ClusterId{};
  security::TrustRegistry registry_;
  std::map<ClientId, crypto::KeyPair> keys_;
  std::map<ClientId, Chain> chains_;
  std::map<ClientId, std::uint64_t> sessions_;
};

}  // namespace phalanx::evidence::testing
