// A storage::ParallelFor on threads of this process: the parts are shared out
// among up to `threads` threads (the caller's one among them) and the call
// returns when every part has run.
//
//   options.wal.parallel = node::thread_parallel_for(std::thread::hardware_concurrency());
#pragma once

#include "storage/wal_format.h"

namespace phalanx::node {

[[nodiscard]] storage::ParallelFor thread_parallel_for(unsigned threads);

}  // namespace phalanx::node
