// Snapshots of the state machine (format: docs/storage.md, "Snapshots").
//
//   auto w = SnapshotWriter::create(fs, "data/snapshots", meta, 1 << 20);
//   for (...) PHALANX_TRY((*w)->write_chunk(chunk));
//   Result<SnapshotManifest> m = (*w)->finish();   // durable, installed, old ones removed
//
//   auto r = SnapshotReader::open(fs, path);
//   while (auto chunk = (*r)->next_chunk()) { if (!*chunk) break; ...  }  // each chunk verified
//
// The manifest names what the snapshot covers (last index, entry hash, the
// protocol's metadata) and holds every chunk's BLAKE2b hash plus their Merkle
// root (crypto::ChunkManifest), so a chunk received from a peer can be
// checked before the rest arrives.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/codec.h"
#include "core/ids.h"
#include "crypto/chunk_manifest.h"
#include "crypto/hash.h"
#include "storage/file_system.h"

namespace phalanx::storage {

// What a snapshot covers: the log through last_index, whose entry hash is
// last_entry_hash (`phalanx audit` checks that the log meets it there), and
// the protocol's own metadata, which storage keeps without reading it.
struct SnapshotMeta {
  static constexpr std::size_t kProtocolBytesMax = 1 << 20;

  LogIndex last_index;
  crypto::Hash32 last_entry_hash;
  Bytes protocol;
  bool operator==(const SnapshotMeta&) const = default;
};

struct SnapshotManifest {
  SnapshotMeta meta;
  crypto::ChunkManifest chunks;

  void encode(codec::Writer& w) const;
  [[nodiscard]] static Result<SnapshotManifest> decode(codec::Reader& r);
  bool operator==(const SnapshotManifest&) const = default;
};

inline constexpr std::uint32_t kSnapshotChunkBytesMax = crypto::kChunkBytesMax;

[[nodiscard]] std::string snapshot_file_name(LogIndex last_index);

class SnapshotWriter {
 public:
  // Starts NAME.snap<tag>.tmp in `dir` (created if needed). A replica's own
  // snapshots take a tag of their own, so one being written in the
  // background never shares its file with one streamed from a peer.
  [[nodiscard]] static Result<std::unique_ptr<SnapshotWriter>> create(FileSystem& fs,
                                                                      std::string dir,
                                                                      SnapshotMeta meta,
                                                                      std::uint32_t chunk_bytes_max,
                                                                      std::string_view tag = "");

  // kInvalidArgument if the chunk is empty or over chunk_bytes_max.
  [[nodiscard]] Status write_chunk(ByteView chunk);

  // Writes the manifest, makes the file durable, renames it into place,
  // fsyncs the directory, then removes older snapshots. With expected_root
  // (a snapshot streamed from a peer), refuses to install — kCorruption —
  // unless the chunks received hash to that root.
  [[nodiscard]] Result<SnapshotManifest> finish(
      std::optional<crypto::Hash32> expected_root = std::nullopt);
  // finish() in two halves. seal() writes the manifest and makes the file
  // durable; it touches only the file, so any thread may run it. publish()
  // renames it into place, fsyncs the directory and removes older
  // snapshots, on the thread that owns the directory.
  [[nodiscard]] Status seal();
  [[nodiscard]] Result<SnapshotManifest> publish();
  // Removes the file instead (a snapshot that is no longer wanted).
  void discard();

 private:
  SnapshotWriter(FileSystem& fs, std::string dir, SnapshotManifest manifest,
                 std::uint32_t chunk_bytes_max, std::unique_ptr<File> file, std::string tmp);

  FileSystem& fs_;
  std::string dir_;
  SnapshotManifest manifest_;
  std::uint32_t chunk_bytes_max_;
  std::unique_ptr<File> file_;
  std::string tmp_path_;
  std::uint64_t offset_ = 0;
  bool finished_ = false;
  bool sealed_ = false;
};

class SnapshotReader {
 public:
  // Checks header, trailer, manifest checksum and the chunk framing; chunk
  // contents are checked as they are read. kCorruption names file and offset.
  [[nodiscard]] static Result<std::unique_ptr<SnapshotReader>> open(FileSystem& fs,
                                                                    const std::string& path);

  [[nodiscard]] const SnapshotManifest& manifest() const { return manifest_; }
  // The next chunk, verified against its hash; nullopt after the last one
  // (when the root is verified too).
  [[nodiscard]] Result<std::optional<Bytes>> next_chunk();
  // Chunk `index`, verified against its hash; kNotFound past the last one.
  [[nodiscard]] Result<Bytes> read_chunk(std::uint64_t index);
  // Reads and verifies every chunk.
  [[nodiscard]] Status verify_all();

 private:
  SnapshotReader(std::unique_ptr<File> file, std::string path, SnapshotManifest manifest,
                 std::vector<std::uint64_t> offsets)
      : file_(std::move(file)),
        path_(std::move(path)),
        manifest_(std::move(manifest)),
        offsets_(std::move(offsets)) {}

  std::unique_ptr<File> file_;
  std::string path_;
  SnapshotManifest manifest_;
  std::vector<std::uint64_t> offsets_;  // of each chunk's length field
  std::size_t next_ = 0;
};

// The path of the newest complete snapshot in `dir`, or nullopt, made
// durable before it is returned. Leftover .tmp files (interrupted writes)
// are removed.
[[nodiscard]] Result<std::optional<std::string>> latest_snapshot(FileSystem& fs,
                                                                 const std::string& dir);

}  // namespace phalanx::storage
