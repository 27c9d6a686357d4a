// The Phalanx client library.
//
//   phalanx::client::Client c = *phalanx::client::Client::open({"D/manifest.toml", "D/client-1"});
//   phalanx::client::KvClient kv(std::move(c));
//   kv.put("greeting", phalanx::to_bytes("hello"));
//   Result<kv::KvReply> r = kv.get("greeting");     // r->status, r->value
//
// A client holds its identity (an Ed25519 key that signs every request, and
// a TLS key and certificate the replicas pin) and the cluster manifest. Each
// call gets a fresh (client, sequence) pair; retries of a call keep it, so
// the cluster executes the call at most once however often it is resent.
//
// Crash mode: the request goes to the leader; NOT_LEADER answers are
// followed to the replica they name, silence moves on to the next replica.
// Byzantine mode: the signed request goes to every replica and a result is
// accepted only when f+1 replicas signed the same one (at least one of them
// is honest); a replica's reply with a bad signature counts for nothing.
//
// Not thread-safe: one call at a time per Client (open more for concurrency;
// each needs its own identity, since sequence numbers are per client).
//
// Many clients on one thread: give them the same io_context, start calls
// with start() and run the context yourself.
//
//   asio::io_context io(1);
//   options.io = &io;
//   Client c = *Client::open(options);
//   c.start(command, [](Result<Bytes> reply) { ... });   // runs inside io.run()
//   io.run();
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "apps/evidence/evidence.h"
#include "apps/kv/kv.h"
#include "core/error.h"

namespace asio {
class io_context;
}  // namespace asio

namespace phalanx::client {

struct ClientOptions {
  std::string manifest;      // the cluster manifest (manifest.toml)
  std::string identity_dir;  // client.key, tls.key, tls.crt (from `phalanx cluster init`)
  std::chrono::milliseconds timeout{10'000};         // a whole call, retries included
  std::chrono::milliseconds attempt_timeout{1'000};  // silence before resending elsewhere
  // Unset: the client has its own event loop and execute() runs it. Set:
  // the client lives on this one (run by the caller, on one thread), calls
  // go through start(), and the client must be destroyed while the context
  // is not running and before the context itself.
  asio::io_context* io = nullptr;
};

class Client {
 public:
  // kInvalidArgument: the manifest or identity does not load, or the
  // identity's key is not a client in the manifest.
  [[nodiscard]] static Result<Client> open(const ClientOptions& options);
  Client(Client&&) noexcept;
  Client& operator=(Client&&) noexcept;
  ~Client();

  [[nodiscard]] ClientId id() const;
  [[nodiscard]] const ClusterId& cluster() const;
  // How many matching signed replies a result needs (f+1 in byzantine mode, 1 in crash mode).
  [[nodiscard]] std::uint32_t replies_needed() const;
  // This client's Ed25519 signature over `message` under `domain`, for
  // application messages that carry their author's own signature (evidence
  // items, configuration changes).
  [[nodiscard]] crypto::Signature sign(SignDomain domain, ByteView message) const;
  // Runs one application command through the cluster and returns the state
  // machine's answer. `command(client, sequence)` encodes it for the
  // session it is given. kUnavailable if no accepted answer came in time;
  // kInvalidArgument with the replicas' reason if f+1 (byzantine) or the
  // leader (crash) refused it.
  [[nodiscard]] Result<Bytes> execute(
      const std::function<Bytes(ClientId client, std::uint64_t sequence)>& command);
  // Starts the same call and returns at once: `done` gets what execute()
  // would have returned, on the io_context's thread; it may start the next
  // call but must not destroy the client. One call at a time. For a client
  // opened with options.io.
  void start(const std::function<Bytes(ClientId client, std::uint64_t sequence)>& command,
             std::function<void(Result<Bytes>)> done);

 private:
  class Impl;
  explicit Client(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The key-value store's commands over a Client.
class KvClient {
 public:
  explicit KvClient(Client client) : client_(std::move(client)) {}

  [[nodiscard]] Result<kv::KvReply> put(const std::string& key, const Bytes& value);
  [[nodiscard]] Result<kv::KvReply> get(const std::string& key);
  [[nodiscard]] Result<kv::KvReply> del(const std::string& key);
  // Sets `value` only if the current value is `expected` (nullopt: absent).
  [[nodiscard]] Result<kv::KvReply> cas(const std::string& key, const std::optional<Bytes>& expected,
                                        const Bytes& value);
  // Keys in [from, end) in order (end empty: to the last key), at most
  // `limit` of them (0: kv::kRangeEntriesMax); `more` says the range went
  // on: ask again from just after the last key returned.
  [[nodiscard]] Result<kv::KvReply> range(const std::string& from, const std::string& end,
                                          std::uint32_t limit = 0);
  [[nodiscard]] Client& client() { return client_; }

 private:
  [[nodiscard]] Result<kv::KvReply> run(kv::KvCommand command);
  Client client_;
};

// The evidence service's commands over a Client (docs/evidence.md).
class EvidenceClient {
 public:
  explicit EvidenceClient(Client client) : client_(std::move(client)) {}

  // Signs this source's next item (sequence, previous hash and timestamp
  // continue the chain the cluster holds, read first) and submits it.
  [[nodiscard]] Result<evidence::EvidenceReply> submit(const std::string& hypothesis,
                                                       evidence::Units llr);
  [[nodiscard]] Result<evidence::EvidenceReply> posterior(const std::string& hypothesis);
  [[nodiscard]] Result<evidence::EvidenceReply> sources();
  // The item and its inclusion proof; check it with evidence::verify_proof.
  [[nodiscard]] Result<evidence::EvidenceReply> proof(ClientId source, std::uint64_t sequence);
  [[nodiscard]] Result<evidence::EvidenceReply> config();
  // Administrators only: signs `config` as the next version and submits it.
  [[nodiscard]] Result<evidence::EvidenceReply> configure(const evidence::EvidenceConfig& config);
  [[nodiscard]] Client& client() { return client_; }

 private:
  [[nodiscard]] Result<evidence::EvidenceReply> run(evidence::EvidenceCommand command);
  Client client_;
};

}  // namespace phalanx::client
