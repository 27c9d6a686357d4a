// A replica as a process: either replica (crash or byzantine, from the
// manifest) on the real file system, served over TLS to its peers and
// clients, with a tick timer and the admin HTTP listener. The replica and
// all I/O run on one io_context thread; in byzantine mode worker threads
// check each frame's signatures first (node/verify_pool.h). The replica
// persists before it hands out frames (consensus/common/replica.h), so
// sending whatever take_output() returns is always safe.
//
//   auto node = Node::open(config, log);      // loads manifest and keys, recovers the data directory
//   Status s = (*node)->run();                 // until SIGINT/SIGTERM or stop()
//
// Connections are told apart by the certificate the far end proves
// (net/tls.h): a replica's inbound connection carries its frames to this
// one; a client's carries CallFrames and gets AnswerFrames back. Each
// replica dials every other and reconnects with back-off.
#pragma once

#include <functional>
#include <memory>
#include <string_view>

#include "cluster/manifest.h"
#include "cluster/node_config.h"
#include "core/error.h"
#include "node/metrics.h"

namespace phalanx::node {

class Node {
 public:
  using Log = std::function<void(std::string_view level, std::string_view message)>;

  // kInvalidArgument: a bad manifest, this id not in it, keys that do not
  // match it. kCorruption: the data directory cannot be trusted (the message
  // says how to rejoin). kIo: a file cannot be read.
  [[nodiscard]] static Result<std::unique_ptr<Node>> open(const cluster::NodeConfig& config,
                                                          Log log);
  ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  // Binds the listeners and serves until stop(), SIGINT or SIGTERM. kIo if
  // a port cannot be bound; the storage error if the replica failed.
  [[nodiscard]] Status run();
  // From any thread.
  void stop();

 private:
  class Impl;
  explicit Node(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace phalanx::node
