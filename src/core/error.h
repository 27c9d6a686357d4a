// Errors are values.
//
// Module boundaries return Result<T> (Expected<T, Error>, core/expected.h). An Error has
// one of a small, closed set of codes, each of which some caller reacts to
// differently, and a message for humans. Security rejections carry a
// SecurityError: a closed variant of typed cases that callers handle with an
// exhaustive std::visit (a new case is a compile error everywhere it is not
// handled).
//
//   Result<Vote> v = decode<Vote>(bytes);
//   if (!v) {
//     if (const SecurityError* s = v.error().security()) count_rejection(*s);
//     return Unexpected(std::move(v).error());
//   }
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "core/domain.h"
#include "core/expected.h"
#include "core/ids.h"
#include "core/principal.h"

namespace phalanx {

// ---- Security errors: one struct per case of the security model. ----

enum class AuthFailure : std::uint8_t {
  kUnknownPrincipal,    // no such id in the trust registry
  kCredentialMismatch,  // key / certificate does not match the registry
};

struct AuthenticationFailed {
  AuthFailure reason;
  Principal claimed;
};
struct AuthorizationDenied {
  Principal principal;
  Role role;
  Action action;
};
struct SignatureInvalid {
  SignDomain domain;
  Principal claimed;
};
struct NonceReplay {
  Principal principal;
  std::uint64_t nonce;         // the sequence number that was replayed
  std::uint64_t highest_seen;  // the highest accepted so far
};
struct QuorumNotReached {
  std::uint32_t got;
  std::uint32_t needed;
};
struct CertificateExpired {
  std::int64_t not_after_unix_s;
  std::int64_t now_unix_s;
};
struct RateLimitExceeded {
  std::string subject;  // peer address or principal
  std::uint64_t limit_per_second;
};

enum class MalformedReason : std::uint8_t {
  kTruncated,        // input ended inside a value
  kTrailingBytes,    // bytes left after the value
  kOverlongVarint,   // varint with redundant high zero groups
  kVarintOverflow,   // varint beyond 64 bits
  kValueOutOfRange,  // integer too large for its field
  kLengthOverLimit,  // length prefix above the caller's maximum
  kBadTag,           // enum / variant tag not defined
  kBadBool,          // bool byte other than 0 or 1
  kInvalidUtf8,      // string field is not valid UTF-8
  kNonCanonical,     // other second encoding of a value (e.g. unsorted set)
};

struct MalformedInput {
  MalformedReason reason;
  std::size_t offset;  // byte offset in the input where decoding stopped
};
struct Equivocation {
  Principal author;
  Epoch epoch;
  Round round;
};
// A signed, hash-chained message (an evidence item) that does not continue
// its author's chain: the seed's forged or reordered causal history.
enum class ChainFault : std::uint8_t {
  kGap,               // the sequence skips ahead of the next expected one
  kPreviousMismatch,  // the previous-hash is not the hash of the author's last item
  kTimeBackwards,     // the author's timestamp is below its previous one
};
struct ChainBroken {
  Principal author;
  std::uint64_t sequence;  // what the message claims
  std::uint64_t expected;  // the next sequence the chain accepts
  ChainFault fault;
};

// State offered by a peer (a byzantine-mode state transfer) that does not
// match the checkpoint certificate it claims: a liar's snapshot.
enum class SnapshotFault : std::uint8_t {
  kManifest,   // the manifest does not describe the certified height and block, or is inconsistent
  kChunkHash,  // a chunk does not hash to the manifest's entry for it
  kState,      // the chunks do not decode to a state
  kStateRoot,  // the state decodes, but its root is not the certified root
};
struct SnapshotRefused {
  Principal peer;
  std::uint64_t height;  // the certified height the snapshot claimed
  SnapshotFault fault;
};

using SecurityError =
    std::variant<AuthenticationFailed, AuthorizationDenied, SignatureInvalid, NonceReplay,
                 QuorumNotReached, CertificateExpired, RateLimitExceeded, MalformedInput,
                 Equivocation, ChainBroken, SnapshotRefused>;

// Full detail for logs and operators.
[[nodiscard]] std::string describe(const SecurityError& error);

// What a remote, unauthenticated party is told. Unknown principal, wrong
// credentials and a bad signature all read "authentication failed", so the
// answer does not reveal which ids exist.
[[nodiscard]] std::string_view public_message(const SecurityError& error);

// Short stable name, used as a metrics label ("signature_invalid").
[[nodiscard]] std::string_view kind_name(const SecurityError& error);

[[nodiscard]] std::string_view malformed_reason_name(MalformedReason reason);
[[nodiscard]] std::string_view chain_fault_name(ChainFault fault);
[[nodiscard]] std::string_view snapshot_fault_name(SnapshotFault fault);

// ---- Error ----

enum class ErrorCode : std::uint8_t {
  kInvalidArgument,  // a caller or user passed a bad value (config, CLI)
  kSecurity,         // input rejected by a security check; see security()
  kIo,               // the operating system failed a call; stop and recover from disk
  kNoSpace,          // the disk is full; nothing partial is visible, retry when space returns
  kCorruption,       // stored data failed an integrity check
  kNotFound,         // a named thing (file, key, entry) does not exist
  kUnavailable,      // too few replicas answered in time; retrying later may succeed
};

[[nodiscard]] std::string_view error_code_name(ErrorCode code);

class [[nodiscard]] Error {
 public:
  Error(ErrorCode code, std::string message);
  explicit Error(SecurityError security);

  [[nodiscard]] ErrorCode code() const { return code_; }
  [[nodiscard]] const std::string& message() const { return message_; }
  // Non-null iff code() == kSecurity.
  [[nodiscard]] const SecurityError* security() const {
    return std::get_if<SecurityError>(&detail_);
  }
  // "security: signature invalid: domain phalanx/v1/vote, claimed replica(2)"
  [[nodiscard]] std::string to_string() const;

  // Prefixes the message with where it happened: "reading node.key: ...".
  [[nodiscard]] Error with_context(std::string_view context) &&;

 private:
  ErrorCode code_;
  std::string message_;
  std::variant<std::monostate, SecurityError> detail_;
};

// The metrics label of a refusal: kind_name() of a security error, else its
// code's ("invalid_argument", "io", "no_space", ...).
[[nodiscard]] std::string kind_name(const Error& error);

// What a remote party is told about `error`: "authentication failed" for
// every authentication failure (unknown id, credential mismatch, bad
// signature), so no answer tells which ids exist or which check failed; the
// full text of anything else (a caller may learn why its own, authenticated
// request was refused). The detail of the first stays in logs and metrics.
[[nodiscard]] std::string public_message(const Error& error);

template <class T>
using Result = Expected<T, Error>;
using Status = Expected<void, Error>;

[[nodiscard]] inline Unexpected<Error> fail(ErrorCode code, std::string message) {
  return Unexpected(Error(code, std::move(message)));
}
[[nodiscard]] inline Unexpected<Error> fail(SecurityError error) {
  return Unexpected(Error(std::move(error)));
}

}  // namespace phalanx

// Returns the error of a Result/Status expression from the enclosing
// function, which must itself return a Result or Status.
#define PHALANX_TRY(expr)                                                   \
  do {                                                                      \
    auto&& phalanx_try_result_ = (expr);                                    \
    if (!phalanx_try_result_) [[unlikely]] {                                \
      return ::phalanx::Unexpected(std::move(phalanx_try_result_).error()); \
    }                                                                       \
  } while (false)

#define PHALANX_CONCAT_INNER_(a, b) a##b
#define PHALANX_CONCAT_(a, b) PHALANX_CONCAT_INNER_(a, b)

// PHALANX_ASSIGN_OR_RETURN(auto key, load_key(path));
#define PHALANX_ASSIGN_OR_RETURN(lhs, expr) \
  PHALANX_ASSIGN_OR_RETURN_IMPL_(PHALANX_CONCAT_(phalanx_result_, __LINE__), lhs, expr)
#define PHALANX_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr)    \
  auto tmp = (expr);                                      \
  if (!tmp) [[unlikely]] {                                \
    return ::phalanx::Unexpected(std::move(tmp).error()); \
  }                                                       \
  lhs = std::move(*tmp)
