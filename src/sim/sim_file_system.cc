#include "sim/sim_file_system.h"

#include <fmt/format.h>

#include <algorithm>

namespace phalanx::sim {

using storage::File;
using storage::OpenMode;
using storage::parent_path;

class SimFile final : public File {
 public:
  SimFile(SimFileSystem& fs, std::uint64_t inode, std::uint64_t generation, bool writable,
          std::string path)
      : fs_(fs),
        inode_(inode),
        generation_(generation),
        writable_(writable),
        path_(std::move(path)) {}

  Status write_at(std::uint64_t offset, ByteView data) override {
    PHALANX_TRY(check(true));
    return fs_.file_write(inode_, offset, data);
  }
  Result<std::size_t> read_at(std::uint64_t offset, std::span<std::uint8_t> out) override {
    PHALANX_TRY(check(false));
    return fs_.file_read(inode_, offset, out);
  }
  Result<std::uint64_t> size() override {
    PHALANX_TRY(check(false));
    PHALANX_TRY(fs_.check_powered("size"));
    return static_cast<std::uint64_t>(fs_.inode_for(inode_)->current.size());
  }
  Status truncate(std::uint64_t size) override {
    PHALANX_TRY(check(true));
    return fs_.file_truncate(inode_, size);
  }
  Status sync() override {
    PHALANX_TRY(check(false));
    return fs_.file_sync(inode_);
  }
  Status datasync() override { return sync(); }

 private:
  Status check(bool write) const {
    if (generation_ != fs_.generation_) {
      return fail(ErrorCode::kIo, fmt::format("{}: stale handle after power loss", path_));
    }
    if (write && !writable_) {
      return fail(ErrorCode::kIo, fmt::format("{}: opened read-only", path_));
    }
    return {};
  }

  SimFileSystem& fs_;
  std::uint64_t inode_;
  std::uint64_t generation_;
  bool writable_;
  std::string path_;
};

SimFileSystem::SimFileSystem(std::uint64_t seed) : rng_(seed) {
  for (Namespace* ns : {&current_, &durable_}) {
    ns->dirs.insert("/");
    ns->dirs.insert(".");
  }
}

Status SimFileSystem::check_powered(std::string_view what) const {
  if (powered_off_) return fail(ErrorCode::kIo, fmt::format("{}: simulated power loss", what));
  return {};
}

Status SimFileSystem::begin_mutation(std::string_view what) {
  PHALANX_TRY(check_powered(what));
  ++ops_;
  if (ops_ > power_loss_at_) {
    powered_off_ = true;
    return check_powered(what);
  }
  return {};
}

void SimFileSystem::schedule_power_loss(std::uint64_t after_ops) {
  power_loss_at_ = ops_ + after_ops;
}

std::uint64_t SimFileSystem::used_bytes() const {
  std::uint64_t used = 0;
  for (const auto& [path, id] : current_.files) used += inodes_.at(id).current.size();
  return used;
}

SimFileSystem::Inode* SimFileSystem::inode_for(std::uint64_t id) {
  auto it = inodes_.find(id);
  PHALANX_ASSERT(it != inodes_.end());
  return &it->second;
}

void SimFileSystem::apply_write(Bytes& target, std::uint64_t offset, ByteView data) {
  if (target.size() < offset + data.size()) target.resize(offset + data.size(), 0);
  std::copy(data.begin(), data.end(), target.begin() + static_cast<std::ptrdiff_t>(offset));
}

// Replays `inode.pending` onto `target`, each write kept, lost or torn and
// each truncate kept or lost (all kept if !random_fates), then forgets them.
void SimFileSystem::apply_pending(Inode& inode, Bytes& target, bool random_fates) {
  for (const PendingWrite& w : inode.pending) {
    const std::uint64_t fate = random_fates ? rng_.uniform(3) : 0;
    if (w.is_truncate) {
      if (fate != 1) target.resize(w.offset, 0);
      continue;
    }
    if (fate == 0) {
      apply_write(target, w.offset, w.data);
    } else if (fate == 2 && !w.data.empty()) {
      const std::size_t keep = rng_.uniform(w.data.size());
      apply_write(target, w.offset, ByteView(w.data).first(keep));
    }
  }
  inode.pending.clear();
}

Result<std::unique_ptr<File>> SimFileSystem::open(const std::string& path, OpenMode mode) {
  PHALANX_TRY(check_powered("open"));
  if (!current_.dirs.contains(parent_path(path))) {
    return fail(ErrorCode::kNotFound, fmt::format("open {}: no such directory", path));
  }
  if (current_.dirs.contains(path)) {
    return fail(ErrorCode::kIo, fmt::format("open {}: is a directory", path));
  }
  auto it = current_.files.find(path);
  const bool writable = mode != OpenMode::kRead;
  if (it != current_.files.end()) {
    if (mode == OpenMode::kCreateNew) {
      return fail(ErrorCode::kIo, fmt::format("open {}: file exists", path));
    }
    return std::unique_ptr<File>(
        std::make_unique<SimFile>(*this, it->second, generation_, writable, path));
  }
  if (mode == OpenMode::kRead || mode == OpenMode::kReadWrite) {
    return fail(ErrorCode::kNotFound, fmt::format("open {}: no such file", path));
  }
  PHALANX_TRY(begin_mutation("create"));
  const std::uint64_t id = next_inode_++;
  inodes_[id] = Inode{};
  const MetaOp op{MetaKind::kLink, path, "", id};
  apply_meta(current_, op);
  pending_meta_.push_back(op);
  return std::unique_ptr<File>(std::make_unique<SimFile>(*this, id, generation_, true, path));
}

Status SimFileSystem::file_write(std::uint64_t id, std::uint64_t offset, ByteView data) {
  PHALANX_TRY(begin_mutation("write"));
  Inode& inode = *inode_for(id);
  std::size_t length = data.size();
  Status result;
  if (roll(faults_.write_eio_one_in)) {
    length = rng_.uniform(data.size() + 1);
    result = fail(ErrorCode::kIo, "write: injected EIO");
  } else {
    const std::uint64_t used = used_bytes();
    const std::uint64_t free = faults_.capacity_bytes > used ? faults_.capacity_bytes - used : 0;
    const std::uint64_t end_max = inode.current.size() + free;
    if (offset + data.size() > end_max) {
      length = offset >= end_max ? 0 : static_cast<std::size_t>(end_max - offset);
      result = fail(ErrorCode::kNoSpace, "write: no space left on device");
    }
  }
  if (length > 0) {
    const ByteView landed = data.first(length);
    apply_write(inode.current, offset, landed);
    inode.pending.push_back({false, offset, Bytes(landed.begin(), landed.end())});
  }
  return result;
}

Result<std::size_t> SimFileSystem::file_read(std::uint64_t id, std::uint64_t offset,
                                             std::span<std::uint8_t> out) {
  PHALANX_TRY(check_powered("read"));
  if (roll(faults_.read_eio_one_in)) return fail(ErrorCode::kIo, "read: injected EIO");
  const Bytes& bytes = inode_for(id)->current;
  if (offset >= bytes.size()) return std::size_t{0};
  const std::size_t n = std::min<std::size_t>(out.size(), bytes.size() - offset);
  std::copy_n(bytes.begin() + static_cast<std::ptrdiff_t>(offset), n, out.begin());
  return n;
}

Status SimFileSystem::file_truncate(std::uint64_t id, std::uint64_t size) {
  PHALANX_TRY(begin_mutation("truncate"));
  Inode& inode = *inode_for(id);
  inode.current.resize(size, 0);
  inode.pending.push_back({true, size, {}});
  return {};
}

Status SimFileSystem::file_sync(std::uint64_t id) {
  PHALANX_TRY(begin_mutation("sync"));
  Inode& inode = *inode_for(id);
  if (roll(faults_.sync_eio_one_in)) {
    // Linux after a failed fsync: some pages reached the disk, the rest are
    // marked clean anyway and will never be written.
    apply_pending(inode, inode.durable, true);
    return fail(ErrorCode::kIo, "fsync: injected EIO");
  }
  // Exactly the pending writes become durable; writes forgotten by an
  // earlier failed sync stay lost although readers still see them.
  apply_pending(inode, inode.durable, false);
  return {};
}

Status SimFileSystem::rename(const std::string& from, const std::string& to) {
  PHALANX_TRY(begin_mutation("rename"));
  auto it = current_.files.find(from);
  if (it == current_.files.end()) {
    return fail(ErrorCode::kNotFound, fmt::format("rename {}: no such file", from));
  }
  if (!current_.dirs.contains(parent_path(to))) {
    return fail(ErrorCode::kNotFound, fmt::format("rename to {}: no such directory", to));
  }
  const MetaOp op{MetaKind::kRename, from, to, it->second};
  apply_meta(current_, op);
  pending_meta_.push_back(op);
  return {};
}

Status SimFileSystem::remove(const std::string& path) {
  PHALANX_TRY(begin_mutation("remove"));
  if (!current_.files.contains(path)) {
    return fail(ErrorCode::kNotFound, fmt::format("remove {}: no such file", path));
  }
  const MetaOp op{MetaKind::kUnlink, path, "", 0};
  apply_meta(current_, op);
  pending_meta_.push_back(op);
  return {};
}

Status SimFileSystem::create_dir(const std::string& path) {
  PHALANX_TRY(check_powered("mkdir"));
  if (current_.dirs.contains(path)) return {};
  if (!current_.dirs.contains(parent_path(path))) {
    return fail(ErrorCode::kNotFound, fmt::format("mkdir {}: no such parent", path));
  }
  PHALANX_TRY(begin_mutation("mkdir"));
  const MetaOp op{MetaKind::kMkdir, path, "", 0};
  apply_meta(current_, op);
  pending_meta_.push_back(op);
  return {};
}

std::string SimFileSystem::meta_dir(const MetaOp& op) {
  return parent_path(op.kind == MetaKind::kRename ? op.to : op.path);
}

void SimFileSystem::apply_meta(Namespace& ns, const MetaOp& op) {
  switch (op.kind) {
    case MetaKind::kLink: ns.files[op.path] = op.inode; break;
    case MetaKind::kUnlink: ns.files.erase(op.path); break;
    case MetaKind::kRename:
      ns.files.erase(op.path);
      ns.files[op.to] = op.inode;
      break;
    case MetaKind::kMkdir: ns.dirs.insert(op.path); break;
  }
}

Status SimFileSystem::sync_dir(const std::string& path) {
  PHALANX_TRY(begin_mutation("sync_dir"));
  if (!current_.dirs.contains(path)) {
    return fail(ErrorCode::kNotFound, fmt::format("sync_dir {}: no such directory", path));
  }
  std::vector<MetaOp> still_pending;
  for (const MetaOp& op : pending_meta_) {
    if (meta_dir(op) == path) {
      apply_meta(durable_, op);
    } else {
      still_pending.push_back(op);
    }
  }
  pending_meta_ = std::move(still_pending);
  return {};
}

Result<std::vector<std::string>> SimFileSystem::list(const std::string& dir) {
  PHALANX_TRY(check_powered("list"));
  if (!current_.dirs.contains(dir)) {
    return fail(ErrorCode::kNotFound, fmt::format("list {}: no such directory", dir));
  }
  std::vector<std::string> names;
  const std::string prefix = dir == "/" ? "/" : dir + "/";
  auto add = [&](const std::string& path) {
    if (path != dir && path.starts_with(prefix) && parent_path(path) == dir) {
      names.push_back(path.substr(prefix.size()));
    }
  };
  for (const auto& [path, id] : current_.files) add(path);
  for (const std::string& d : current_.dirs) add(d);
  std::sort(names.begin(), names.end());
  return names;
}

Result<bool> SimFileSystem::exists(const std::string& path) {
  PHALANX_TRY(check_powered("exists"));
  return current_.files.contains(path) || current_.dirs.contains(path);
}

Result<std::uint64_t> SimFileSystem::free_bytes(const std::string& dir) {
  PHALANX_TRY(check_powered("free_bytes"));
  (void)dir;
  const std::uint64_t used = used_bytes();
  return faults_.capacity_bytes > used ? faults_.capacity_bytes - used : 0;
}

void SimFileSystem::power_cycle() {
  for (auto& [id, inode] : inodes_) {
    Bytes survived = inode.durable;
    apply_pending(inode, survived, true);
    inode.durable = survived;
    inode.current = std::move(survived);
  }
  const std::size_t kept = rng_.uniform(pending_meta_.size() + 1);
  for (std::size_t i = 0; i < kept; ++i) apply_meta(durable_, pending_meta_[i]);
  pending_meta_.clear();
  current_ = durable_;
  ++generation_;
  powered_off_ = false;
  power_loss_at_ = UINT64_MAX;
}

void SimFileSystem::restart_process() {
  ++generation_;
  powered_off_ = false;
  power_loss_at_ = UINT64_MAX;
}

void SimFileSystem::flip_bit(const std::string& path, std::uint64_t offset, int bit) {
  Inode& inode = *inode_for(current_.files.at(path));
  PHALANX_ASSERT(offset < inode.current.size());
  inode.current[offset] ^= static_cast<std::uint8_t>(1u << bit);
  if (offset < inode.durable.size()) {
    inode.durable[offset] ^= static_cast<std::uint8_t>(1u << bit);
  }
}

const Bytes& SimFileSystem::TEST_contents(const std::string& path) const {
  return inodes_.at(current_.files.at(path)).current;
}

void SimFileSystem::TEST_put(const std::string& path, ByteView bytes) {
  auto it = current_.files.find(path);
  std::uint64_t id;
  if (it == current_.files.end()) {
    id = next_inode_++;
    inodes_[id] = Inode{};
    current_.files[path] = id;
    durable_.files[path] = id;
  } else {
    id = it->second;
  }
  Inode& inode = inodes_[id];
  inode.current.assign(bytes.begin(), bytes.end());
  inode.durable = inode.current;
  inode.pending.clear();
}

}  // namespace phalanx::sim
