#include "core/error.h"

#include <fmt/format.h>

#include <cctype>

#include "core/overloaded.h"

namespace phalanx {
namespace {

std::string_view auth_failure_name(AuthFailure reason) {
  switch (reason) {
    case AuthFailure::kUnknownPrincipal: return "unknown principal";
    case AuthFailure::kCredentialMismatch: return "credential mismatch";
  }
  return "unknown";
}

}  // namespace

std::string_view malformed_reason_name(MalformedReason reason) {
  switch (reason) {
    case MalformedReason::kTruncated: return "truncated";
    case MalformedReason::kTrailingBytes: return "trailing bytes";
    case MalformedReason::kOverlongVarint: return "overlong varint";
    case MalformedReason::kVarintOverflow: return "varint overflow";
    case MalformedReason::kValueOutOfRange: return "value out of range";
    case MalformedReason::kLengthOverLimit: return "length over limit";
    case MalformedReason::kBadTag: return "bad tag";
    case MalformedReason::kBadBool: return "bad bool";
    case MalformedReason::kInvalidUtf8: return "invalid utf-8";
    case MalformedReason::kNonCanonical: return "non-canonical encoding";
  }
  return "unknown";
}

std::string_view chain_fault_name(ChainFault fault) {
  switch (fault) {
    case ChainFault::kGap: return "sequence gap";
    case ChainFault::kPreviousMismatch: return "previous hash mismatch";
    case ChainFault::kTimeBackwards: return "timestamp went backwards";
  }
  return "unknown";
}

std::string_view snapshot_fault_name(SnapshotFault fault) {
  switch (fault) {
    case SnapshotFault::kManifest: return "manifest does not match the certificate";
    case SnapshotFault::kChunkHash: return "chunk does not match its hash";
    case SnapshotFault::kState: return "state does not decode";
    case SnapshotFault::kStateRoot: return "state root is not the certified root";
  }
  return "unknown";
}

std::string describe(const SecurityError& error) {
  return std::visit(
      Overloaded{
          [](const AuthenticationFailed& e) {
            return fmt::format("authentication failed: {} ({})", auth_failure_name(e.reason),
                               e.claimed.to_string());
          },
          [](const AuthorizationDenied& e) {
            return fmt::format("authorization denied: {} with role {} may not {}",
                               e.principal.to_string(), role_name(e.role), action_name(e.action));
          },
          [](const SignatureInvalid& e) {
            return fmt::format("signature invalid: domain {}, claimed {}",
                               sign_domain_tag(e.domain), e.claimed.to_string());
          },
          [](const NonceReplay& e) {
            return fmt::format("replayed nonce {} from {} (highest accepted {})", e.nonce,
                               e.principal.to_string(), e.highest_seen);
          },
          [](const QuorumNotReached& e) {
            return fmt::format("quorum not reached: {} of {} needed", e.got, e.needed);
          },
          [](const CertificateExpired& e) {
            return fmt::format("certificate expired at {} (now {})", e.not_after_unix_s,
                               e.now_unix_s);
          },
          [](const RateLimitExceeded& e) {
            return fmt::format("rate limit exceeded by {} (limit {}/s)", e.subject,
                               e.limit_per_second);
          },
          [](const MalformedInput& e) {
            return fmt::format("malformed input: {} at byte {}", malformed_reason_name(e.reason),
                               e.offset);
          },
          [](const Equivocation& e) {
            return fmt::format("equivocation by {} in {} {}", e.author.to_string(),
                               e.epoch.to_string(), e.round.to_string());
          },
          [](const ChainBroken& e) {
            return fmt::format("broken chain from {}: {} at sequence {} (next is {})",
                               e.author.to_string(), chain_fault_name(e.fault), e.sequence,
                               e.expected);
          },
          [](const SnapshotRefused& e) {
            return fmt::format("snapshot refused from {} at height {}: {}", e.peer.to_string(),
                               e.height, snapshot_fault_name(e.fault));
          },
      },
      error);
}

std::string_view public_message(const SecurityError& error) {
  return std::visit(
      Overloaded{
          [](const AuthenticationFailed&) -> std::string_view { return "authentication failed"; },
          [](const SignatureInvalid&) -> std::string_view { return "authentication failed"; },
          [](const AuthorizationDenied&) -> std::string_view { return "permission denied"; },
          [](const NonceReplay&) -> std::string_view { return "replayed request"; },
          [](const QuorumNotReached&) -> std::string_view { return "quorum not reached"; },
          [](const CertificateExpired&) -> std::string_view { return "certificate expired"; },
          [](const RateLimitExceeded&) -> std::string_view { return "rate limit exceeded"; },
          [](const MalformedInput&) -> std::string_view { return "malformed input"; },
          [](const Equivocation&) -> std::string_view { return "equivocation"; },
          [](const ChainBroken&) -> std::string_view { return "broken chain"; },
          [](const SnapshotRefused&) -> std::string_view { return "snapshot refused"; },
      },
      error);
}

std::string kind_name(const Error& error) {
  if (const SecurityError* security = error.security()) return std::string(kind_name(*security));
  std::string name;
  for (char c : error_code_name(error.code())) {
    if (c == ' ') name += '_';
    if (std::isalnum(static_cast<unsigned char>(c))) name += c;
  }
  return name;
}

std::string public_message(const Error& error) {
  const SecurityError* s = error.security();
  if (s != nullptr && (std::holds_alternative<AuthenticationFailed>(*s) ||
                       std::holds_alternative<SignatureInvalid>(*s))) {
    return std::string(public_message(*s));
  }
  return error.to_string();
}

std::string_view kind_name(const SecurityError& error) {
  return std::visit(
      Overloaded{
          [](const AuthenticationFailed&) -> std::string_view { return "authentication_failed"; },
          [](const AuthorizationDenied&) -> std::string_view { return "authorization_denied"; },
          [](const SignatureInvalid&) -> std::string_view { return "signature_invalid"; },
          [](const NonceReplay&) -> std::string_view { return "nonce_replay"; },
          [](const QuorumNotReached&) -> std::string_view { return "quorum_not_reached"; },
          [](const CertificateExpired&) -> std::string_view { return "certificate_expired"; },
          [](const RateLimitExceeded&) -> std::string_view { return "rate_limit_exceeded"; },
          [](const MalformedInput&) -> std::string_view { return "malformed_input"; },
          [](const Equivocation&) -> std::string_view { return "equivocation"; },
          [](const ChainBroken&) -> std::string_view { return "chain_broken"; },
          [](const SnapshotRefused&) -> std::string_view { return "snapshot_refused"; },
      },
      error);
}

std::string_view error_code_name(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument: return "invalid argument";
    case ErrorCode::kSecurity: return "security";
    case ErrorCode::kIo: return "i/o";
    case ErrorCode::kNoSpace: return "no space";
    case ErrorCode::kCorruption: return "corruption";
    case ErrorCode::kNotFound: return "not found";
    case ErrorCode::kUnavailable: return "unavailable";
  }
  return "unknown";
}

Error::Error(ErrorCode code, std::string message) : code_(code), message_(std::move(message)) {
  PHALANX_ASSERT(code != ErrorCode::kSecurity);  // use Error(SecurityError)
}

Error::Error(SecurityError security)
    : code_(ErrorCode::kSecurity), message_(describe(security)), detail_(std::move(security)) {}

std::string Error::to_string() const {
  return fmt::format("{}: {}", error_code_name(code_), message_);
}

Error Error::with_context(std::string_view context) && {
  message_ = fmt::format("{}: {}", context, message_);
  return std::move(*this);
}

}  // namespace phalanx
