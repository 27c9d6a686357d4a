// Ed25519 keys and signatures.
//
//   KeyPair kp = KeyPair::generate();                  // OS randomness
//   KeyPair sim = KeyPair::from_seed(seed);            // deterministic (simulator)
//   Signature sig = kp.sign(SignDomain::kVote, bytes);
//   bool ok = verify(kp.public_key(), SignDomain::kVote, bytes, sig);
//
// A signature covers u8(len(tag)) ‖ tag ‖ message, with the domain's tag from
// core/domain.h, so it never verifies under another domain.
//
// Secret material lives only in KeyPair, which is move-only and wipes its
// memory (sodium_memzero) when destroyed or moved from.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/bytes.h"
#include "core/domain.h"
#include "core/error.h"

namespace phalanx::crypto {

using PublicKey = FixedBytes<32>;
using Signature = FixedBytes<64>;
using Seed = FixedBytes<32>;

class KeyPair {
 public:
  [[nodiscard]] static KeyPair generate();
  [[nodiscard]] static KeyPair from_seed(const Seed& seed);

  KeyPair(KeyPair&& other) noexcept;
  KeyPair& operator=(KeyPair&& other) noexcept;
  KeyPair(const KeyPair&) = delete;
  KeyPair& operator=(const KeyPair&) = delete;
  ~KeyPair();

  [[nodiscard]] const PublicKey& public_key() const { return public_key_; }
  [[nodiscard]] Signature sign(SignDomain domain, ByteView message) const;
  // A second holder of the same key (e.g. consensus signing and reply signing).
  [[nodiscard]] KeyPair clone() const;

  // Text form of the secret key file (see docs/security-model.md):
  //   phalanx-ed25519-secret-key-v1\n<64 hex digits of the seed>\n
  [[nodiscard]] std::string to_secret_text() const;
  [[nodiscard]] static Result<KeyPair> from_secret_text(std::string_view text);

 private:
  KeyPair() = default;
  void wipe();

  PublicKey public_key_;
  FixedBytes<64> secret_key_;  // libsodium layout: seed ‖ public key
};

[[nodiscard]] bool verify(const PublicKey& key, SignDomain domain, ByteView message,
                          const Signature& signature);

// Remembered verify() answers: verification is a pure function, so an
// answer found here is the answer a check would give, only cheaper. Entries
// are keyed by a BLAKE2b hash of (key, signature, domain-separated message),
// so a hit needs the very bytes that were checked. Thread-safe: worker
// threads can check signatures ahead of the thread that needs the answers
// (node/verify_pool.h). When full, the memo starts over.
class VerifyMemo {
 public:
  explicit VerifyMemo(std::size_t entries_max = std::size_t{1} << 20);
  ~VerifyMemo();
  VerifyMemo(const VerifyMemo&) = delete;
  VerifyMemo& operator=(const VerifyMemo&) = delete;

  [[nodiscard]] std::uint64_t hits() const;
  [[nodiscard]] std::uint64_t checks() const;  // answers computed and remembered

 private:
  // Only verify() fills the memo: no caller can plant an answer.
  friend bool verify(const PublicKey&, SignDomain, ByteView, const Signature&);
  [[nodiscard]] std::optional<bool> find(const std::string& key) const;
  void remember(std::string key, bool ok);

  struct State;
  std::unique_ptr<State> state_;
};

// Makes verify() on this thread consult and fill a memo while it lives:
// its own (the default), or a shared one. The simulator runs a whole cluster
// in one thread, where every replica checks every vote in every QC; with a
// memo each signature costs one Ed25519 verification per run, not one per
// replica.
class ScopedVerifyMemo {
 public:
  ScopedVerifyMemo();
  explicit ScopedVerifyMemo(VerifyMemo& shared);
  ~ScopedVerifyMemo();
  ScopedVerifyMemo(const ScopedVerifyMemo&) = delete;
  ScopedVerifyMemo& operator=(const ScopedVerifyMemo&) = delete;

 private:
  std::unique_ptr<VerifyMemo> own_;
  VerifyMemo* previous_;
};

// Text form of a public key file:
//   phalanx-ed25519-public-key-v1\n<64 hex digits>\n
[[nodiscard]] std::string public_key_text(const PublicKey& key);
[[nodiscard]] Result<PublicKey> public_key_from_text(std::string_view text);

// Parses exactly 64 hex digits.
[[nodiscard]] Result<PublicKey> public_key_from_hex(std::string_view hex);

}  // namespace phalanx::crypto
