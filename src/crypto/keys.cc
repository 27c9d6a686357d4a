#include "crypto/keys.h"

#include <sodium.h>

#include <algorithm>
#include <mutex>
#include <unordered_map>

#include "crypto/sodium.h"

namespace phalanx::crypto {
namespace {

constexpr std::string_view kSecretHeader = "phalanx-ed25519-secret-key-v1";
constexpr std::string_view kPublicHeader = "phalanx-ed25519-public-key-v1";

// u8(len(tag)) ‖ tag ‖ message
Bytes domain_separated(SignDomain domain, ByteView message) {
  const std::string_view tag = sign_domain_tag(domain);
  PHALANX_ASSERT(tag.size() <= 255);
  Bytes out;
  out.reserve(1 + tag.size() + message.size());
  out.push_back(static_cast<std::uint8_t>(tag.size()));
  out.insert(out.end(), tag.begin(), tag.end());
  out.insert(out.end(), message.begin(), message.end());
  return out;
}

// Splits "<header>\n<hex>\n" (the final newline optional) and decodes the hex
// into exactly 32 bytes.
Result<FixedBytes<32>> parse_key_text(std::string_view text, std::string_view header,
                                      std::string_view what) {
  const auto bad = [&](std::string_view why) {
    return fail(ErrorCode::kInvalidArgument, std::string(what) + " file: " + std::string(why));
  };
  const std::size_t newline = text.find('\n');
  if (newline == std::string_view::npos || text.substr(0, newline) != header) {
    return bad("missing header line '" + std::string(header) + "'");
  }
  std::string_view hex = text.substr(newline + 1);
  if (!hex.empty() && hex.back() == '\n') hex.remove_suffix(1);
  if (hex.size() != 64) return bad("expected 64 hex digits after the header");
  std::optional<Bytes> raw = from_hex(hex);
  if (!raw) return bad("key is not hexadecimal");
  return *FixedBytes<32>::from(*raw);
}

}  // namespace

KeyPair KeyPair::generate() {
  ensure_sodium();
  Seed seed;
  randombytes_buf(seed.data(), seed.size());
  KeyPair kp = from_seed(seed);
  sodium_memzero(seed.data(), seed.size());
  return kp;
}

KeyPair KeyPair::from_seed(const Seed& seed) {
  ensure_sodium();
  KeyPair kp;
  const int rc =
      crypto_sign_seed_keypair(kp.public_key_.data(), kp.secret_key_.data(), seed.data());
  PHALANX_ASSERT(rc == 0);
  return kp;
}

KeyPair::KeyPair(KeyPair&& other) noexcept
    : public_key_(other.public_key_), secret_key_(other.secret_key_) {
  other.wipe();
}

KeyPair& KeyPair::operator=(KeyPair&& other) noexcept {
  if (this != &other) {
    public_key_ = other.public_key_;
    secret_key_ = other.secret_key_;
    other.wipe();
  }
  return *this;
}

KeyPair::~KeyPair() { wipe(); }

KeyPair KeyPair::clone() const {
  KeyPair kp;
  kp.public_key_ = public_key_;
  kp.secret_key_ = secret_key_;
  return kp;
}

void KeyPair::wipe() { sodium_memzero(secret_key_.data(), secret_key_.size()); }

Signature KeyPair::sign(SignDomain domain, ByteView message) const {
  const Bytes signed_bytes = domain_separated(domain, message);
  Signature sig;
  const int rc = crypto_sign_detached(sig.data(), nullptr, signed_bytes.data(), signed_bytes.size(),
                                      secret_key_.data());
  PHALANX_ASSERT(rc == 0);
  return sig;
}

std::string KeyPair::to_secret_text() const {
  // The first 32 bytes of libsodium's secret key are the seed.
  return std::string(kSecretHeader) + "\n" + to_hex(ByteView(secret_key_.data(), 32)) + "\n";
}

Result<KeyPair> KeyPair::from_secret_text(std::string_view text) {
  PHALANX_ASSIGN_OR_RETURN(FixedBytes<32> seed, parse_key_text(text, kSecretHeader, "secret key"));
  KeyPair kp = from_seed(Seed(seed));
  sodium_memzero(seed.data(), seed.size());
  return kp;
}

struct VerifyMemo::State {
  std::size_t entries_max;
  mutable std::mutex mu;
  std::unordered_map<std::string, bool> results;
  mutable std::uint64_t hits = 0;
  std::uint64_t checks = 0;
};

VerifyMemo::VerifyMemo(std::size_t entries_max) : state_(std::make_unique<State>()) {
  state_->entries_max = std::max<std::size_t>(entries_max, 1);
}

VerifyMemo::~VerifyMemo() = default;

std::optional<bool> VerifyMemo::find(const std::string& key) const {
  const std::scoped_lock lock(state_->mu);
  const auto it = state_->results.find(key);
  if (it == state_->results.end()) return std::nullopt;
  ++state_->hits;
  return it->second;
}

void VerifyMemo::remember(std::string key, bool ok) {
  const std::scoped_lock lock(state_->mu);
  if (state_->results.size() >= state_->entries_max) state_->results.clear();
  state_->results.emplace(std::move(key), ok);
  ++state_->checks;
}

std::uint64_t VerifyMemo::hits() const {
  const std::scoped_lock lock(state_->mu);
  return state_->hits;
}

std::uint64_t VerifyMemo::checks() const {
  const std::scoped_lock lock(state_->mu);
  return state_->checks;
}

namespace {

thread_local VerifyMemo* active_memo = nullptr;

std::string memo_key(const PublicKey& key, const Signature& signature, ByteView signed_bytes) {
  crypto_generichash_state st;
  crypto_generichash_init(&st, nullptr, 0, 32);
  crypto_generichash_update(&st, key.data(), key.size());
  crypto_generichash_update(&st, signature.data(), signature.size());
  crypto_generichash_update(&st, signed_bytes.data(), signed_bytes.size());
  std::string out(32, '\0');
  crypto_generichash_final(&st, reinterpret_cast<unsigned char*>(out.data()), out.size());
  return out;
}

}  // namespace

ScopedVerifyMemo::ScopedVerifyMemo()
    : own_(std::make_unique<VerifyMemo>()), previous_(active_memo) {
  active_memo = own_.get();
}

ScopedVerifyMemo::ScopedVerifyMemo(VerifyMemo& shared) : previous_(active_memo) {
  active_memo = &shared;
}

ScopedVerifyMemo::~ScopedVerifyMemo() { active_memo = previous_; }

bool verify(const PublicKey& key, SignDomain domain, ByteView message, const Signature& signature) {
  ensure_sodium();
  const Bytes signed_bytes = domain_separated(domain, message);
  auto check = [&] {
    return crypto_sign_verify_detached(signature.data(), signed_bytes.data(), signed_bytes.size(),
                                       key.data()) == 0;
  };
  if (active_memo == nullptr) return check();
  std::string k = memo_key(key, signature, signed_bytes);
  if (const std::optional<bool> known = active_memo->find(k)) return *known;
  const bool ok = check();
  active_memo->remember(std::move(k), ok);
  return ok;
}

std::string public_key_text(const PublicKey& key) {
  return std::string(kPublicHeader) + "\n" + to_hex(key.view()) + "\n";
}

Result<PublicKey> public_key_from_text(std::string_view text) {
  return parse_key_text(text, kPublicHeader, "public key");
}

Result<PublicKey> public_key_from_hex(std::string_view hex) {
  std::optional<Bytes> raw = from_hex(hex);
  if (!raw || raw->size() != PublicKey::size()) {
    return fail(ErrorCode::kInvalidArgument, "public key must be 64 hexadecimal digits");
  }
  return *PublicKey::from(*raw);
}

}  // namespace phalanx::crypto
