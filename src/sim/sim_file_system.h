// A simulated file system that tells the truth about power loss.
//
// Every file has the bytes a reader sees now and the bytes that are durable.
// A write changes only the former and is remembered as pending; sync()
// makes the file's pending writes durable. Names work the same way: create,
// rename and remove are pending until sync_dir() of their directory.
//
// On power_cycle() (a simulated power loss and restart), decided by the
// seeded RNG:
//   - each pending write is independently kept, lost, or torn at a random
//     byte; later writes can survive where earlier ones did not, as on a
//     real disk that reorders writeback (a lost write inside the file leaves
//     its old bytes, past the old end it leaves zeros);
//   - each pending truncate is kept or lost;
//   - a random prefix (in issue order) of pending name operations survives:
//     a rename not followed by sync_dir may be undone.
//
// Faults, all from the same seed: EIO on write (a prefix may land), read or
// sync; ENOSPC past a capacity (the part that fits lands, the rest fails);
// bit flips in stored bytes. A failed sync behaves as on Linux: the pending
// writes are randomly persisted or not and then forgotten, so a later sync
// can succeed without making them durable.
//
// schedule_power_loss(n) makes the n+1-th mutating call from now, and every
// call after it, fail as if the machine lost power (or the process died)
// mid-call; power_cycle() then applies the model above, restart_process()
// keeps everything visible but not durable. Crash-consistency tests sweep n
// over every write, sync and rename of a workload.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/random.h"
#include "storage/file_system.h"

namespace phalanx::sim {

struct DiskFaults {
  std::uint32_t write_eio_one_in = 0;  // 0: never
  std::uint32_t read_eio_one_in = 0;
  std::uint32_t sync_eio_one_in = 0;
  std::uint64_t capacity_bytes = UINT64_MAX;
};

class SimFile;

class SimFileSystem final : public storage::FileSystem {
 public:
  explicit SimFileSystem(std::uint64_t seed);

  Result<std::unique_ptr<storage::File>> open(const std::string& path,
                                              storage::OpenMode mode) override;
  Status rename(const std::string& from, const std::string& to) override;
  Status remove(const std::string& path) override;
  Status create_dir(const std::string& path) override;
  Status sync_dir(const std::string& path) override;
  Result<std::vector<std::string>> list(const std::string& dir) override;
  Result<bool> exists(const std::string& path) override;
  Result<std::uint64_t> free_bytes(const std::string& dir) override;

  void set_faults(const DiskFaults& faults) { faults_ = faults; }
  // Bytes in the files as the process sees them (what capacity_bytes limits).
  [[nodiscard]] std::uint64_t used_bytes() const;
  const DiskFaults& faults() const { return faults_; }

  // The (after_ops+1)-th mutating call from now fails, and so does every
  // call after it, until power_cycle().
  void schedule_power_loss(std::uint64_t after_ops);
  void cancel_power_loss() { power_loss_at_ = UINT64_MAX; }
  [[nodiscard]] bool power_loss_scheduled() const { return power_loss_at_ != UINT64_MAX; }
  [[nodiscard]] bool powered_off() const { return powered_off_; }
  // Mutating calls so far (write, truncate, sync, create, rename, remove,
  // mkdir, sync_dir).
  [[nodiscard]] std::uint64_t mutating_ops() const { return ops_; }
  // Power loss now, then restart. Every open File becomes unusable.
  void power_cycle();
  // The process dies (kill -9) and a new one starts; the machine stays up.
  // Unsynced writes stay visible in the page cache but are still not
  // durable: a later power_cycle() may lose them. Every open File becomes
  // unusable.
  void restart_process();

  // Flips one bit of a file's bytes, durable and visible. REQUIRES: exists.
  void flip_bit(const std::string& path, std::uint64_t offset, int bit);
  // The visible bytes of a file. REQUIRES: exists.
  [[nodiscard]] const Bytes& TEST_contents(const std::string& path) const;
  // Replaces a file's bytes, durably, creating it if needed.
  void TEST_put(const std::string& path, ByteView bytes);

 private:
  friend class SimFile;

  struct PendingWrite {
    bool is_truncate = false;
    std::uint64_t offset = 0;  // or the new size, for a truncate
    Bytes data;
  };
  struct Inode {
    Bytes current;
    Bytes durable;
    std::vector<PendingWrite> pending;
  };
  enum class MetaKind : std::uint8_t { kLink, kUnlink, kRename, kMkdir };
  struct MetaOp {
    MetaKind kind;
    std::string path;
    std::string to;  // rename target
    std::uint64_t inode = 0;
  };
  struct Namespace {
    std::map<std::string, std::uint64_t> files;
    std::set<std::string> dirs;
  };

  // Fails if powered off or if this call is the scheduled power loss.
  Status begin_mutation(std::string_view what);
  Status check_powered(std::string_view what) const;
  bool roll(std::uint32_t one_in) { return one_in != 0 && rng_.one_in(one_in); }
  Inode* inode_for(std::uint64_t id);
  void apply_pending(Inode& inode, Bytes& target, bool random_fates);
  static void apply_write(Bytes& target, std::uint64_t offset, ByteView data);
  static void apply_meta(Namespace& ns, const MetaOp& op);
  static std::string meta_dir(const MetaOp& op);

  // SimFile operations.
  Status file_write(std::uint64_t id, std::uint64_t offset, ByteView data);
  Result<std::size_t> file_read(std::uint64_t id, std::uint64_t offset,
                                std::span<std::uint8_t> out);
  Status file_truncate(std::uint64_t id, std::uint64_t size);
  Status file_sync(std::uint64_t id);

  Random rng_;
  DiskFaults faults_;
  std::map<std::uint64_t, Inode> inodes_;
  std::uint64_t next_inode_ = 1;
  Namespace current_;
  Namespace durable_;
  std::vector<MetaOp> pending_meta_;
  std::uint64_t generation_ = 0;
  std::uint64_t ops_ = 0;
  std::uint64_t power_loss_at_ = UINT64_MAX;
  bool powered_off_ = false;
};

}  // namespace phalanx::sim
