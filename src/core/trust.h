// Trust as types.
//
//   bytes ─decode─► Untrusted<M> ─verify─► Authenticated<M> ─authorize─► Authorized<M>
//
// Untrusted<M>      anything; anyone may wrap a value (lowering trust is safe).
// Authenticated<M>  the signature on M verified against the trust registry
//                   under M's signature domain (security::verify), or M
//                   arrived on a mutually authenticated channel from the
//                   principal it names as its author (security::verify_channel);
//                   carries who it is from and their role.
// Authorized<M>     additionally, the policy allows that role M's action.
//                   Only security::authorize() constructs one.
//
// Consensus cores and apps accept only Authorized<...>, so an unchecked
// message cannot reach them: passing an Untrusted or Authenticated value
// does not compile (tests/compile_fail/ proves it).
#pragma once

#include <utility>

#include "core/error.h"
#include "core/principal.h"

namespace phalanx {

template <class T>
class Untrusted;
template <class T>
class Authenticated;
template <class T>
class Authorized;

namespace security {
class TrustRegistry;
class Policy;
// Defined in security/verify.h; declared here so they can be friends.
template <class M>
Result<Authenticated<M>> verify(const TrustRegistry& registry, Untrusted<M> message);
template <class M>
Result<Authorized<M>> authorize(const Policy& policy, Authenticated<M> message, Action action);
template <class M>
Result<Authenticated<M>> verify_channel(const TrustRegistry& registry, const Principal& peer,
                                        Untrusted<M> message);
}  // namespace security

template <class T>
class Untrusted {
 public:
  explicit Untrusted(T value) : value_(std::move(value)) {}

  // For verification and diagnostics only: nothing may act on these bytes.
  [[nodiscard]] const T& unverified() const { return value_; }

 private:
  template <class M>
  friend Result<Authenticated<M>> security::verify(const security::TrustRegistry& registry,
                                                   Untrusted<M> message);
  template <class M>
  friend Result<Authenticated<M>> security::verify_channel(const security::TrustRegistry& registry,
                                                           const Principal& peer,
                                                           Untrusted<M> message);

  T value_;
};

namespace internal {

// A value together with the principal it was checked for. The constructor
// is protected: only the trust levels below can be built, and only by their
// friends.
template <class T>
class Vouched {
 public:
  [[nodiscard]] const T& value() const { return value_; }
  [[nodiscard]] const Principal& principal() const { return principal_; }
  [[nodiscard]] Role role() const { return role_; }

 protected:
  Vouched(T value, Principal principal, Role role)
      : value_(std::move(value)), principal_(principal), role_(role) {}

  T value_;
  Principal principal_;
  Role role_;
};

}  // namespace internal

template <class T>
class Authenticated : public internal::Vouched<T> {
 private:
  template <class M>
  friend Result<Authenticated<M>> security::verify(const security::TrustRegistry& registry,
                                                   Untrusted<M> message);
  template <class M>
  friend Result<Authenticated<M>> security::verify_channel(const security::TrustRegistry& registry,
                                                           const Principal& peer,
                                                           Untrusted<M> message);
  template <class M>
  friend Result<Authorized<M>> security::authorize(const security::Policy& policy,
                                                   Authenticated<M> message, Action action);

  Authenticated(T value, Principal principal, Role role)
      : internal::Vouched<T>(std::move(value), principal, role) {}
};

template <class T>
class Authorized : public internal::Vouched<T> {
 private:
  template <class M>
  friend Result<Authorized<M>> security::authorize(const security::Policy& policy,
                                                   Authenticated<M> message, Action action);

  Authorized(T value, Principal principal, Role role)
      : internal::Vouched<T>(std::move(value), principal, role) {}
};

}  // namespace phalanx
