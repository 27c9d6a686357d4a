// TLS 1.3 with mutual authentication and pinned certificates (OpenSSL).
//
// Every replica and client has its own Ed25519 TLS key and a self-signed
// certificate made by `phalanx cluster init`. The cluster manifest lists the
// SHA-256 fingerprint of each certificate next to the principal it belongs
// to; those pins are the whole trust store, so no CA is involved and a
// certificate that is not pinned (unknown, revoked, expired) fails the
// handshake before a byte of Phalanx protocol is read.
//
//   TlsIdentity me = *generate_tls_identity("replica-1");
//   auto pins = std::make_shared<Pins>(manifest.pins());
//   auto ctx = *make_tls_context(me, pins);                 // both sides use one context
//   ... handshake ...
//   Result<Principal> who = peer_principal(stream.native_handle(), *pins);
#pragma once

#include <asio/ssl/context.hpp>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "core/bytes.h"
#include "core/error.h"
#include "core/principal.h"

namespace phalanx::net {

// SHA-256 of a certificate's DER encoding.
using Fingerprint = FixedBytes<32>;

// The certificate fingerprints that may connect and the principal each proves.
using Pins = std::map<Fingerprint, Principal>;

struct TlsIdentity {
  std::string certificate_pem;
  std::string private_key_pem;  // secret: written 0600 (storage/key_file.h)

  TlsIdentity() = default;
  TlsIdentity(std::string certificate, std::string key)
      : certificate_pem(std::move(certificate)), private_key_pem(std::move(key)) {}
  TlsIdentity(TlsIdentity&&) = default;
  TlsIdentity& operator=(TlsIdentity&&) = default;
  ~TlsIdentity();
};

// The certificate and key files `phalanx cluster init` wrote, read by the
// rules of storage/key_file.h (the key must be 0600).
[[nodiscard]] Result<TlsIdentity> read_tls_identity(const std::string& certificate_path,
                                                    const std::string& key_path);

// A fresh Ed25519 key and a self-signed certificate for it, valid from an
// hour ago for 100 years (the pin, not the date, is what is trusted).
[[nodiscard]] Result<TlsIdentity> generate_tls_identity(std::string_view common_name);

// kInvalidArgument if the text is not one PEM certificate.
[[nodiscard]] Result<Fingerprint> certificate_fingerprint(std::string_view certificate_pem);

// "sha256:<64 lower-case hex digits>", and back (kInvalidArgument).
[[nodiscard]] std::string fingerprint_text(const Fingerprint& fingerprint);
[[nodiscard]] Result<Fingerprint> fingerprint_from_text(std::string_view text);

// A context for both ends of a connection: TLS 1.3 only, this identity's
// certificate, and a peer certificate required and accepted only if it is
// pinned and within its validity dates. kInvalidArgument if the identity's
// key and certificate do not load or do not match.
[[nodiscard]] Result<std::shared_ptr<asio::ssl::context>> make_tls_context(
    const TlsIdentity& self, std::shared_ptr<const Pins> pins);

// After a handshake: the principal the peer's certificate is pinned to.
// AuthenticationFailed if there is no peer certificate or it is not pinned.
[[nodiscard]] Result<Principal> peer_principal(SSL* ssl, const Pins& pins);

}  // namespace phalanx::net
