#include "net/tls.h"

#include "core/assert.h"
#include "storage/key_file.h"

#include <fmt/format.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <asio/ssl/verify_context.hpp>

namespace phalanx::net {
namespace {

template <typename T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* p) const { Free(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using BioPtr = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;

// The newest OpenSSL error on this thread, as text, and the queue cleared.
std::string openssl_error() {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "unknown OpenSSL error";
  char text[256];
  ERR_error_string_n(code, text, sizeof text);
  return text;
}

Unexpected<Error> tls_fail(std::string_view what) {
  return fail(ErrorCode::kInvalidArgument, fmt::format("{}: {}", what, openssl_error()));
}

Result<std::string> bio_text(BIO* bio) {
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  if (size <= 0 || data == nullptr) return tls_fail("PEM output");
  return std::string(data, static_cast<std::size_t>(size));
}

Result<X509Ptr> parse_certificate(std::string_view pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return tls_fail("certificate buffer");
  X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!cert) return tls_fail("not a PEM certificate");
  return cert;
}

Fingerprint fingerprint_of(X509* cert) {
  std::array<std::uint8_t, 32> md{};
  unsigned int size = 0;
  X509_digest(cert, EVP_sha256(), md.data(), &size);
  PHALANX_ASSERT(size == md.size());
  return Fingerprint(md);
}

}  // namespace

TlsIdentity::~TlsIdentity() { OPENSSL_cleanse(private_key_pem.data(), private_key_pem.size()); }

Result<TlsIdentity> generate_tls_identity(std::string_view common_name) {
  PkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  if (!key) return tls_fail("Ed25519 key generation");
  X509Ptr cert(X509_new());
  if (!cert) return tls_fail("certificate allocation");
  std::array<std::uint8_t, 16> serial{};
  if (RAND_bytes(serial.data(), static_cast<int>(serial.size())) != 1) {
    return tls_fail("certificate serial");
  }
  serial[0] &= 0x7f;  // a positive serial number
  std::unique_ptr<BIGNUM, Deleter<BIGNUM, BN_free>> bn(
      BN_bin2bn(serial.data(), static_cast<int>(serial.size()), nullptr));
  const std::string cn(common_name);
  X509_NAME* name = X509_get_subject_name(cert.get());
  constexpr long kHundredYearsDays = 36500;
  if (!bn || !BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert.get())) ||
      X509_set_version(cert.get(), 2) != 1 ||
      !X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600) ||
      !X509_time_adj_ex(X509_getm_notAfter(cert.get()), kHundredYearsDays, 0, nullptr) ||
      X509_set_pubkey(cert.get(), key.get()) != 1 ||
      X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1,
                                 0) != 1 ||
      X509_set_issuer_name(cert.get(), name) != 1 ||
      X509_sign(cert.get(), key.get(), nullptr) == 0) {
    return tls_fail("self-signed certificate");
  }
  BioPtr cert_bio(BIO_new(BIO_s_mem()));
  BioPtr key_bio(BIO_new(BIO_s_secmem()));
  if (!cert_bio || !key_bio || PEM_write_bio_X509(cert_bio.get(), cert.get()) != 1 ||
      PEM_write_bio_PrivateKey(key_bio.get(), key.get(), nullptr, nullptr, 0, nullptr,
                               nullptr) != 1) {
    return tls_fail("PEM encoding");
  }
  PHALANX_ASSIGN_OR_RETURN(std::string cert_pem, bio_text(cert_bio.get()));
  PHALANX_ASSIGN_OR_RETURN(std::string key_pem, bio_text(key_bio.get()));
  return TlsIdentity(std::move(cert_pem), std::move(key_pem));
}

Result<TlsIdentity> read_tls_identity(const std::string& certificate_path,
                                      const std::string& key_path) {
  PHALANX_ASSIGN_OR_RETURN(std::string certificate, storage::read_public_text_file(certificate_path));
  PHALANX_ASSIGN_OR_RETURN(std::string key, storage::read_secret_text_file(key_path));
  return TlsIdentity(std::move(certificate), std::move(key));
}

Result<Fingerprint> certificate_fingerprint(std::string_view certificate_pem) {
  PHALANX_ASSIGN_OR_RETURN(X509Ptr cert, parse_certificate(certificate_pem));
  return fingerprint_of(cert.get());
}

std::string fingerprint_text(const Fingerprint& fingerprint) {
  return "sha256:" + to_hex(fingerprint.view());
}

Result<Fingerprint> fingerprint_from_text(std::string_view text) {
  constexpr std::string_view kPrefix = "sha256:";
  std::optional<Bytes> raw;
  if (text.starts_with(kPrefix)) raw = from_hex(text.substr(kPrefix.size()));
  std::optional<Fingerprint> fp;
  if (raw) fp = Fingerprint::from(*raw);
  if (!fp) {
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("'{}' is not a certificate fingerprint (sha256:<64 hex digits>)", text));
  }
  return *fp;
}

Result<std::shared_ptr<asio::ssl::context>> make_tls_context(const TlsIdentity& self,
                                                             std::shared_ptr<const Pins> pins) {
  auto ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls);
  SSL_CTX* native = ctx->native_handle();
  if (SSL_CTX_set_min_proto_version(native, TLS1_3_VERSION) != 1 ||
      SSL_CTX_set_max_proto_version(native, TLS1_3_VERSION) != 1) {
    return tls_fail("TLS 1.3 only");
  }
  SSL_CTX_set_options(native, SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION);
  SSL_CTX_set_session_cache_mode(native, SSL_SESS_CACHE_OFF);
  asio::error_code ec;
  ctx->use_certificate(asio::buffer(self.certificate_pem), asio::ssl::context::pem, ec);
  if (ec) return fail(ErrorCode::kInvalidArgument, "TLS certificate: " + ec.message());
  ctx->use_private_key(asio::buffer(self.private_key_pem), asio::ssl::context::pem, ec);
  if (ec) return fail(ErrorCode::kInvalidArgument, "TLS private key: " + ec.message());
  if (SSL_CTX_check_private_key(native) != 1) {
    return tls_fail("TLS private key does not match its certificate");
  }
  ctx->set_verify_mode(asio::ssl::verify_peer | asio::ssl::verify_fail_if_no_peer_cert);
  ctx->set_verify_callback([pins](bool, asio::ssl::verify_context& vctx) {
    X509_STORE_CTX* store = vctx.native_handle();
    // Phalanx certificates are self-signed leaves: no chain is accepted.
    if (X509_STORE_CTX_get_error_depth(store) != 0) return false;
    switch (X509_STORE_CTX_get_error(store)) {
      case X509_V_ERR_CERT_HAS_EXPIRED:
      case X509_V_ERR_CERT_NOT_YET_VALID:
        return false;
      default:
        break;
    }
    X509* cert = X509_STORE_CTX_get_current_cert(store);
    return cert != nullptr && pins->contains(fingerprint_of(cert));
  });
  return ctx;
}

Result<Principal> peer_principal(SSL* ssl, const Pins& pins) {
  X509Ptr cert(SSL_get1_peer_certificate(ssl));
  if (!cert) {
    return fail(AuthenticationFailed{AuthFailure::kCredentialMismatch, Principal{}});
  }
  const auto it = pins.find(fingerprint_of(cert.get()));
  if (it == pins.end()) {
    return fail(AuthenticationFailed{AuthFailure::kUnknownPrincipal, Principal{}});
  }
  return it->second;
}

}  // namespace phalanx::net
