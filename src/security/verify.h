// The only two ways up the trust ladder (see core/trust.h).
//
//   Result<Untrusted<ClientRequest>> u = decode_untrusted<ClientRequest>(bytes);
//   Result<Authenticated<ClientRequest>> a = security::verify(registry, *u);
//   Result<Authorized<ClientRequest>> z = security::authorize(policy, *a);
//
// A message type M can be verified if it is a SignedMessage:
//   static constexpr SignDomain kDomain;   // what the signature is for
//   static constexpr Action kAction;       // what the message asks to do
//   Principal author() const;              // who claims to have signed it
//   void encode_signed(codec::Writer&) const;  // the bytes the signature covers
//   crypto::Signature signature;           // the signature itself
//
// Both functions are pure apart from the signature check, and every rejection
// is a typed SecurityError:
//   unknown author        -> AuthenticationFailed{kUnknownPrincipal}
//   signature mismatch    -> SignatureInvalid{M::kDomain}
//   role lacks the action -> AuthorizationDenied
#pragma once

#include <concepts>

#include "core/codec.h"
#include "core/trust.h"
#include "crypto/keys.h"
#include "security/policy.h"
#include "security/registry.h"

namespace phalanx::security {

template <class M>
concept SignedMessage = requires(const M& m, codec::Writer& w) {
  { M::kDomain } -> std::convertible_to<SignDomain>;
  { M::kAction } -> std::convertible_to<Action>;
  { m.author() } -> std::same_as<Principal>;
  { m.encode_signed(w) } -> std::same_as<void>;
  { m.signature } -> std::convertible_to<crypto::Signature>;
};

template <class M>
[[nodiscard]] Bytes signed_bytes(const M& message) {
  codec::Writer w;
  message.encode_signed(w);
  return w.take();
}

// Signs `message` in place with `key` under M's domain.
template <SignedMessage M>
void sign(M& message, const crypto::KeyPair& key) {
  message.signature = key.sign(M::kDomain, signed_bytes(message));
}

template <class M>
Result<Authenticated<M>> verify(const TrustRegistry& registry, Untrusted<M> message) {
  static_assert(SignedMessage<M>, "verify() needs a SignedMessage");
  const M& m = message.value_;
  const Principal claimed = m.author();
  const RegistryEntry* entry = registry.find(claimed);
  if (entry == nullptr) {
    return fail(AuthenticationFailed{AuthFailure::kUnknownPrincipal, claimed});
  }
  if (!crypto::verify(entry->public_key, M::kDomain, signed_bytes(m), m.signature)) {
    return fail(SignatureInvalid{M::kDomain, claimed});
  }
  return Authenticated<M>(std::move(message.value_), claimed, entry->role);
}

// What a message asks to do: m.action() if it depends on the message
// (one type carrying several kinds), else M::kAction.
template <class M>
[[nodiscard]] Action required_action(const M& m) {
  if constexpr (requires { m.action(); }) {
    return m.action();
  } else {
    return M::kAction;
  }
}

// A message whose author is proven by the channel it came on (TLS with
// mutual authentication in crash mode), not by a signature of its own.
template <class M>
concept ChannelMessage = requires(const M& m) {
  { m.author() } -> std::same_as<Principal>;
  { required_action(m) } -> std::convertible_to<Action>;
};

// The channel proved `peer`; the message must claim that same author, and
// the peer must be in the registry. A peer speaking for someone else gets
// AuthenticationFailed{kCredentialMismatch}.
template <class M>
Result<Authenticated<M>> verify_channel(const TrustRegistry& registry, const Principal& peer,
                                        Untrusted<M> message) {
  static_assert(ChannelMessage<M>, "verify_channel() needs a ChannelMessage");
  const Principal claimed = message.value_.author();
  const RegistryEntry* entry = registry.find(peer);
  if (entry == nullptr) {
    return fail(AuthenticationFailed{AuthFailure::kUnknownPrincipal, peer});
  }
  if (claimed != peer) {
    return fail(AuthenticationFailed{AuthFailure::kCredentialMismatch, claimed});
  }
  return Authenticated<M>(std::move(message.value_), peer, entry->role);
}

// Authorized for `action`: what the message asks to do, where only its
// content says (a client request's command: a write, a read, evidence).
template <class M>
Result<Authorized<M>> authorize(const Policy& policy, Authenticated<M> message, Action action) {
  if (!policy.permits(message.role_, action)) {
    return fail(AuthorizationDenied{message.principal_, message.role_, action});
  }
  return Authorized<M>(std::move(message.value_), message.principal_, message.role_);
}

template <class M>
Result<Authorized<M>> authorize(const Policy& policy, Authenticated<M> message) {
  const Action action = required_action(message.value());
  return authorize(policy, std::move(message), action);
}

// Decodes exactly one M from untrusted bytes.
template <codec::Decodable M>
[[nodiscard]] Result<Untrusted<M>> decode_untrusted(ByteView bytes) {
  PHALANX_ASSIGN_OR_RETURN(M value, codec::decode<M>(bytes));
  return Untrusted<M>(std::move(value));
}

}  // namespace phalanx::security
