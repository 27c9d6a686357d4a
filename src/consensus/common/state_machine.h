// What a replicated application implements (pure, deterministic): the KV
// store now, the evidence service later. A replica of either mode feeds it
// committed commands in log order and asks it for snapshots.
//
//   StateMachine::Applied a = app.apply(LogIndex{12}, command);
//   if (app.read_only(command)) reply = app.query(command);   // after ReadIndex
#pragma once

#include "core/bytes.h"
#include "core/error.h"
#include "core/ids.h"
#include "core/principal.h"
#include "crypto/hash.h"

namespace phalanx::consensus {

class StateMachine {
 public:
  struct Applied {
    Bytes reply;            // the encoded answer for the client
    bool executed = false;  // false: answered from the session cache (a retry)
    // Why the app refused the command, if it did (a replay, a full session
    // table, bytes that do not decode, an item that fails its checks): the
    // replica reports it so that no refusal goes uncounted.
    std::optional<Error> refused;
  };

  virtual ~StateMachine() = default;

  // One committed command. REQUIRES: index above every index applied so far.
  // A command that does not decode is answered with the app's own
  // malformed reply; it never stops the log.
  [[nodiscard]] virtual Applied apply(LogIndex index, ByteView command) = 0;
  // True if `command` only reads: a replica answers it with query() once it
  // has confirmed a read index and applied that far, without a log entry.
  [[nodiscard]] virtual bool read_only(ByteView command) const = 0;
  [[nodiscard]] virtual Bytes query(ByteView command) const = 0;
  // What `command` asks to do, for the policy (security/policy.h): a replica
  // executes a request only if the signer's role permits this action.
  [[nodiscard]] virtual Action action(ByteView command) const {
    return read_only(command) ? Action::kRead : Action::kSubmitRequest;
  }
  // The commands applied from now on belong to committed block `height`
  // (byzantine mode; heights grow). Apps that meter or prove per block
  // use it; the default ignores it.
  virtual void begin_block(std::uint64_t /*height*/) {}
  // True if `command` names (client, sequence) as its session: in byzantine
  // mode a command executes only inside a request signed by that client for
  // that sequence, so no client can act in another's session.
  [[nodiscard]] virtual bool issued_by(ByteView command, ClientId client,
                                       std::uint64_t sequence) const = 0;

  // The whole replicated state, canonically encoded.
  [[nodiscard]] virtual Bytes snapshot() const = 0;
  // Replaces the whole state; MalformedInput (state unchanged) if `snapshot`
  // is not exactly what snapshot() writes.
  [[nodiscard]] virtual Status restore(ByteView snapshot) = 0;
  // Back to the empty state.
  virtual void clear() = 0;
  // Equal states, equal digests.
  [[nodiscard]] virtual crypto::Hash32 digest() const = 0;
};

}  // namespace phalanx::consensus
