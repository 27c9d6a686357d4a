#include "storage/snapshot.h"

#include <fmt/format.h>

#include <cstring>

#include "storage/checksum.h"

namespace phalanx::storage {
namespace {

constexpr std::uint8_t kHeaderMagic[8] = {'P', 'H', 'X', 'S', 'N', 'A', 'P', 1};
constexpr std::uint8_t kTrailerMagic[8] = {'P', 'H', 'X', 'S', 'E', 'N', 'D', 1};
// Version 2: the protocol's metadata is opaque bytes (version 1 spelled out
// Raft's term and membership).
constexpr std::uint32_t kSnapshotFormatVersion = 2;
constexpr std::size_t kHeaderBytes = 12;
constexpr std::size_t kTrailerBytes = 28;
constexpr std::size_t kManifestBytesMax =
    SnapshotMeta::kProtocolBytesMax + crypto::ChunkManifest::kChunksMax * 32 + 1024;

Unexpected<Error> corrupt(const std::string& path, std::uint64_t offset, std::string_view why) {
  return fail(ErrorCode::kCorruption,
              fmt::format("snapshot corruption in {} at offset {}: {}", path, offset, why));
}

}  // namespace

void SnapshotManifest::encode(codec::Writer& w) const {
  w.id(meta.last_index);
  w.fixed(meta.last_entry_hash);
  w.bytes(meta.protocol, SnapshotMeta::kProtocolBytesMax);
  chunks.encode(w);
}

Result<SnapshotManifest> SnapshotManifest::decode(codec::Reader& r) {
  SnapshotManifest m;
  PHALANX_ASSIGN_OR_RETURN(m.meta.last_index, r.id<LogIndex>());
  PHALANX_ASSIGN_OR_RETURN(m.meta.last_entry_hash, r.fixed<32>());
  PHALANX_ASSIGN_OR_RETURN(m.meta.protocol, r.bytes(SnapshotMeta::kProtocolBytesMax));
  PHALANX_ASSIGN_OR_RETURN(m.chunks, crypto::ChunkManifest::decode(r));
  return m;
}

std::string snapshot_file_name(LogIndex last_index) {
  return fmt::format("{:020}.snap", last_index.value());
}

// ---- Writer ----

SnapshotWriter::SnapshotWriter(FileSystem& fs, std::string dir, SnapshotManifest manifest,
                               std::uint32_t chunk_bytes_max, std::unique_ptr<File> file,
                               std::string tmp)
    : fs_(fs),
      dir_(std::move(dir)),
      manifest_(std::move(manifest)),
      chunk_bytes_max_(chunk_bytes_max),
      file_(std::move(file)),
      tmp_path_(std::move(tmp)) {}

Result<std::unique_ptr<SnapshotWriter>> SnapshotWriter::create(FileSystem& fs, std::string dir,
                                                               SnapshotMeta meta,
                                                               std::uint32_t chunk_bytes_max,
                                                               std::string_view tag) {
  if (chunk_bytes_max == 0 || chunk_bytes_max > kSnapshotChunkBytesMax) {
    return fail(ErrorCode::kInvalidArgument, fmt::format("snapshot chunk size {} not in [1, {}]",
                                                         chunk_bytes_max, kSnapshotChunkBytesMax));
  }
  if (meta.protocol.size() > SnapshotMeta::kProtocolBytesMax) {
    return fail(ErrorCode::kInvalidArgument, "snapshot metadata is too large");
  }
  PHALANX_TRY(ensure_dir(fs, dir));
  const std::string tmp =
      join_path(dir, fmt::format("{}{}.tmp", snapshot_file_name(meta.last_index), tag));
  PHALANX_ASSIGN_OR_RETURN(std::unique_ptr<File> file, fs.open(tmp, OpenMode::kCreate));
  PHALANX_TRY(file->truncate(0));
  Bytes header(kHeaderMagic, kHeaderMagic + 8);
  header.resize(kHeaderBytes);
  put_le(header.data() + 8, kSnapshotFormatVersion, 4);
  PHALANX_TRY(file->write_at(0, header));
  SnapshotManifest manifest;
  manifest.meta = std::move(meta);
  std::unique_ptr<SnapshotWriter> w(new SnapshotWriter(fs, std::move(dir), std::move(manifest),
                                                       chunk_bytes_max, std::move(file), tmp));
  w->offset_ = kHeaderBytes;
  return w;
}

Status SnapshotWriter::write_chunk(ByteView chunk) {
  PHALANX_ASSERT(!finished_);
  if (chunk.empty() || chunk.size() > chunk_bytes_max_) {
    return fail(
        ErrorCode::kInvalidArgument,
        fmt::format("snapshot chunk of {} bytes not in [1, {}]", chunk.size(), chunk_bytes_max_));
  }
  if (manifest_.chunks.chunk_count == crypto::ChunkManifest::kChunksMax) {
    return fail(ErrorCode::kInvalidArgument, "snapshot has too many chunks");
  }
  const crypto::Hash32 hash = crypto::blake2b256(chunk);
  Bytes framed(4);
  put_le(framed.data(), chunk.size(), 4);
  framed.insert(framed.end(), chunk.begin(), chunk.end());
  framed.insert(framed.end(), hash.view().begin(), hash.view().end());
  PHALANX_TRY(file_->write_at(offset_, framed));
  offset_ += framed.size();
  manifest_.chunks.chunk_hashes.push_back(hash);
  ++manifest_.chunks.chunk_count;
  manifest_.chunks.total_bytes += chunk.size();
  return {};
}

Result<SnapshotManifest> SnapshotWriter::finish(std::optional<crypto::Hash32> expected_root) {
  if (expected_root && *expected_root != crypto::chunk_root(manifest_.chunks.chunk_hashes)) {
    finished_ = true;
    (void)fs_.remove(tmp_path_);
    return fail(ErrorCode::kCorruption,
                fmt::format("received snapshot {} does not hash to the expected root", tmp_path_));
  }
  PHALANX_TRY(seal());
  return publish();
}

Status SnapshotWriter::seal() {
  PHALANX_ASSERT(!finished_ && !sealed_);
  sealed_ = true;
  manifest_.chunks.root = crypto::chunk_root(manifest_.chunks.chunk_hashes);
  const Bytes manifest = codec::encode(manifest_);
  Bytes tail = manifest;
  tail.resize(manifest.size() + kTrailerBytes);
  std::uint8_t* t = tail.data() + manifest.size();
  put_le(t, offset_, 8);
  put_le(t + 8, manifest.size(), 4);
  put_le(t + 12, checksum64(manifest), 8);
  std::memcpy(t + 20, kTrailerMagic, 8);
  PHALANX_TRY(file_->write_at(offset_, tail));
  PHALANX_TRY(file_->sync());
  file_.reset();
  return {};
}

Result<SnapshotManifest> SnapshotWriter::publish() {
  PHALANX_ASSERT(sealed_ && !finished_);
  finished_ = true;
  const std::string final_path = join_path(dir_, snapshot_file_name(manifest_.meta.last_index));
  PHALANX_TRY(fs_.rename(tmp_path_, final_path));
  PHALANX_TRY(fs_.sync_dir(dir_));
  // The new snapshot is durable; only now may the old ones go.
  PHALANX_ASSIGN_OR_RETURN(std::vector<std::string> names, fs_.list(dir_));
  bool removed = false;
  for (const std::string& name : names) {
    const std::string path = join_path(dir_, name);
    if (path != final_path && name.ends_with(".snap")) {
      PHALANX_TRY(fs_.remove(path));
      removed = true;
    }
  }
  if (removed) PHALANX_TRY(fs_.sync_dir(dir_));
  return manifest_;
}

void SnapshotWriter::discard() {
  finished_ = true;
  file_.reset();
  (void)fs_.remove(tmp_path_);
}

// ---- Reader ----

Result<std::unique_ptr<SnapshotReader>> SnapshotReader::open(FileSystem& fs,
                                                             const std::string& path) {
  PHALANX_ASSIGN_OR_RETURN(std::unique_ptr<File> file, fs.open(path, OpenMode::kRead));
  PHALANX_ASSIGN_OR_RETURN(std::uint64_t size, file->size());
  if (size < kHeaderBytes + kTrailerBytes) return corrupt(path, 0, "too short");
  PHALANX_ASSIGN_OR_RETURN(Bytes header, file->read_exact(0, kHeaderBytes));
  if (std::memcmp(header.data(), kHeaderMagic, 8) != 0) return corrupt(path, 0, "bad magic");
  if (const std::uint64_t version = get_le(header.data() + 8, 4);
      version != kSnapshotFormatVersion) {
    return corrupt(path, 8,
                   fmt::format("format version {}; this build reads version {}", version,
                               kSnapshotFormatVersion));
  }
  const std::uint64_t trailer_at = size - kTrailerBytes;
  PHALANX_ASSIGN_OR_RETURN(Bytes trailer, file->read_exact(trailer_at, kTrailerBytes));
  if (std::memcmp(trailer.data() + 20, kTrailerMagic, 8) != 0) {
    return corrupt(path, trailer_at, "bad trailer (incomplete snapshot?)");
  }
  const std::uint64_t manifest_at = get_le(trailer.data(), 8);
  const std::uint64_t manifest_len = get_le(trailer.data() + 8, 4);
  if (manifest_at < kHeaderBytes || manifest_len > kManifestBytesMax ||
      manifest_at + manifest_len != trailer_at) {
    return corrupt(path, trailer_at, "trailer points outside the file");
  }
  PHALANX_ASSIGN_OR_RETURN(Bytes manifest_bytes, file->read_exact(manifest_at, manifest_len));
  if (checksum64(manifest_bytes) != get_le(trailer.data() + 12, 8)) {
    return corrupt(path, manifest_at, "manifest checksum mismatch");
  }
  Result<SnapshotManifest> manifest = codec::decode<SnapshotManifest>(manifest_bytes);
  if (!manifest) return corrupt(path, manifest_at, manifest.error().message());

  // Walk the chunk framing: lengths must tile [header, manifest) exactly.
  std::vector<std::uint64_t> offsets;
  std::uint64_t pos = kHeaderBytes;
  std::uint64_t total = 0;
  while (pos < manifest_at) {
    if (offsets.size() == manifest->chunks.chunk_count || manifest_at - pos < 4) {
      return corrupt(path, pos, "chunk framing does not match the manifest");
    }
    PHALANX_ASSIGN_OR_RETURN(Bytes len_bytes, file->read_exact(pos, 4));
    const std::uint64_t len = get_le(len_bytes.data(), 4);
    if (len == 0 || len > kSnapshotChunkBytesMax || manifest_at - pos - 4 < len + 32) {
      return corrupt(path, pos, "bad chunk length");
    }
    offsets.push_back(pos);
    total += len;
    pos += 4 + len + 32;
  }
  if (offsets.size() != manifest->chunks.chunk_count || total != manifest->chunks.total_bytes) {
    return corrupt(path, manifest_at, "manifest does not match the chunks");
  }
  if (crypto::chunk_root(manifest->chunks.chunk_hashes) != manifest->chunks.root) {
    return corrupt(path, manifest_at, "manifest root does not match its chunk hashes");
  }
  return std::unique_ptr<SnapshotReader>(
      new SnapshotReader(std::move(file), path, std::move(*manifest), std::move(offsets)));
}

Result<std::optional<Bytes>> SnapshotReader::next_chunk() {
  if (next_ == offsets_.size()) return std::optional<Bytes>{};
  PHALANX_ASSIGN_OR_RETURN(Bytes chunk, read_chunk(next_));
  ++next_;
  return std::optional<Bytes>(std::move(chunk));
}

Result<Bytes> SnapshotReader::read_chunk(std::uint64_t index) {
  if (index >= offsets_.size()) {
    return fail(ErrorCode::kNotFound, fmt::format("snapshot {} has no chunk {}", path_, index));
  }
  const std::uint64_t at = offsets_[index];
  PHALANX_ASSIGN_OR_RETURN(Bytes len_bytes, file_->read_exact(at, 4));
  const std::uint64_t len = get_le(len_bytes.data(), 4);
  PHALANX_ASSIGN_OR_RETURN(Bytes framed, file_->read_exact(at + 4, len + 32));
  const ByteView chunk = ByteView(framed).first(len);
  const crypto::Hash32 hash = crypto::blake2b256(chunk);
  if (hash != manifest_.chunks.chunk_hashes[index] ||
      std::memcmp(hash.data(), framed.data() + len, 32) != 0) {
    return corrupt(path_, at, fmt::format("chunk {} does not match its hash", index));
  }
  return Bytes(chunk.begin(), chunk.end());
}

Status SnapshotReader::verify_all() {
  next_ = 0;
  while (true) {
    PHALANX_ASSIGN_OR_RETURN(std::optional<Bytes> chunk, next_chunk());
    if (!chunk) return {};
  }
}

Result<std::optional<std::string>> latest_snapshot(FileSystem& fs, const std::string& dir) {
  PHALANX_ASSIGN_OR_RETURN(bool present, fs.exists(dir));
  if (!present) return std::optional<std::string>{};
  PHALANX_ASSIGN_OR_RETURN(std::vector<std::string> names, fs.list(dir));
  std::optional<std::string> newest;
  bool removed = false;
  for (const std::string& name : names) {
    if (name.ends_with(".tmp") && name.find(".snap") != std::string::npos) {
      PHALANX_TRY(fs.remove(join_path(dir, name)));
      removed = true;
    } else if (name.ends_with(".snap")) {
      newest = join_path(dir, name);  // names sort by index
    }
  }
  if (removed) PHALANX_TRY(fs.sync_dir(dir));
  // A snapshot renamed into place by a process that then died may not be
  // durable yet; the log is compacted against it, so make it so.
  if (newest) PHALANX_TRY(make_durable(fs, *newest));
  return newest;
}

}  // namespace phalanx::storage
