// One replica of either fault model, as a runner drives it: the simulator
// today, the node process (src/node) on a real network.
//
// A replica owns its core, its storage (through the FileSystem seam) and its
// state machine. Every input is processed to the end before the call
// returns: the core steps, what it promises is made durable (fsync), the
// committed commands are applied. take_output() then hands over what may
// leave: frames for peers, answers for clients. So a runner cannot send a
// vote or an acknowledgement that is not on disk.
//
//   replica.receive(from, frame);            // `from` proven by the channel
//   replica.call(handle, {call_id, caller, request});
//   replica.tick();                          // every tick interval
//   for (auto& m : replica.take_output().messages) transport.send(m.to, m.frame);
//   if (replica.failure()) restart it from disk;
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/bytes.h"
#include "core/error.h"
#include "core/ids.h"
#include "core/principal.h"

namespace phalanx::consensus {

enum class FaultModel : std::uint8_t { kCrash, kByzantine };

// The runner's name for where a client's answers go (a connection, a
// simulated address). Opaque to the replica.
using ClientHandle = std::uint64_t;

struct ClientCall {
  std::uint64_t call_id = 0;  // the client's tag for this attempt, echoed in the answer
  Principal caller;           // who the channel proved is calling
  Bytes request;              // an encoded consensus::ClientRequest (both modes)
};

enum class CallOutcome : std::uint8_t {
  kDone,       // `reply` is the state machine's answer
  kNotLeader,  // ask `leader_hint` (or anyone, if none)
  kRejected,   // refused at admission, before ordering; `reply` says why, in text
};

struct ClientAnswer {
  std::uint64_t call_id = 0;
  CallOutcome outcome = CallOutcome::kDone;
  std::optional<NodeId> leader_hint = {};
  Bytes reply = {};
};

struct Output {
  struct ToPeer {
    NodeId to;
    Bytes frame;
  };
  struct ToClient {
    ClientHandle client;
    ClientAnswer answer;
  };
  std::vector<ToPeer> messages;
  std::vector<ToClient> answers;
};

struct ReplicaStatus {
  FaultModel mode = FaultModel::kCrash;
  NodeId id;
  std::string role;
  std::uint64_t term = 0;  // crash: Raft term; byzantine: round
  std::optional<NodeId> leader;
  LogIndex commit;
  LogIndex applied;
  // Frames refused before reaching the core, by kind_name() of the error.
  std::map<std::string, std::uint64_t> rejected;
  // Views changed since the replica started: terms entered (crash mode),
  // rounds entered by a timeout certificate (byzantine mode).
  std::uint64_t view_changes = 0;
  std::optional<std::uint64_t> evidence;           // byzantine: equivocation proofs held
  std::optional<std::uint64_t> checkpoint_height;  // byzantine: newest certified checkpoint
};

class Replica {
 public:
  virtual ~Replica() = default;

  [[nodiscard]] virtual NodeId id() const = 0;
  virtual void tick() = 0;
  // A frame from peer `from`, whose identity the channel has proven. A frame
  // that does not decode, claims another sender, is not addressed to this
  // replica or asks for what `from` may not do is refused with a typed
  // SecurityError and counted in status().rejected; nothing else changes.
  [[nodiscard]] virtual Status receive(NodeId from, ByteView frame) = 0;
  // A client request; its answer comes out in Output::answers.
  virtual void call(ClientHandle client, ClientCall call) = 0;
  // Drives what earlier receive()/call() steps left pending, for replicas
  // that defer it to commit a batch with one fsync; otherwise nothing to do.
  virtual void flush() {}
  [[nodiscard]] virtual Output take_output() = 0;
  // Set when storage failed: the replica has stopped (it ignores every input)
  // and must be restarted from disk.
  [[nodiscard]] virtual const std::optional<Error>& failure() const = 0;
  [[nodiscard]] virtual ReplicaStatus status() const = 0;
};

}  // namespace phalanx::consensus
