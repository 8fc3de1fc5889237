// The token-bound check of a shard (every token below the vocabulary), cached in a sidecar so
// a large corpus is scanned once, not at every start and on every rank (see docs/data.md,
// "The token check and its sidecar").
#pragma once
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "entropix/data/mapped_file.h"

namespace entropix {

// What identifies a shard's content for the cache: its size, its modification time and a
// checksum (FNV-1a-64 over the first MiB, the last MiB and the size; the whole file when it
// is at most 2 MiB). A change of any of them makes the sidecar stale.
struct ShardKey {
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  uint64_t checksum = 0;
};
ShardKey shard_key(const std::filesystem::path& path, const MappedFile& file);

// Largest of the n_tokens uint16 tokens that start at byte `offset` of `file`: a sequential
// scan in blocks, each released after use, so it does not grow the resident set. When `stop`
// becomes true the scan ends early (between blocks) and its result covers only what it read.
uint16_t scan_max_token(const MappedFile& file, uint64_t offset, uint64_t n_tokens,
                        const std::atomic<bool>* stop = nullptr);

// Index of the first of those tokens that is >= bound, or -1 (for error messages).
int64_t find_first_at_least(const MappedFile& file, uint64_t offset, uint64_t n_tokens, uint32_t bound);

// How load_tokens checks token bounds.
enum class TokenCheck {
  cached,    // use the sidecar when it matches, else scan and write one
  scan,      // always scan, never read or write a sidecar
  deferred,  // use the sidecar when it matches; else shards of at least kSidecarMinBytes are left
             // unchecked (TokenShard::checked), for BackgroundTokenCheck, so training starts at once
};

// Where the sidecar of `path` read in `format` lives:
// <cache_root()>/token-checks/<16 hex digits of FNV-1a-64(absolute path + "\n" + format)>.json.
std::filesystem::path sidecar_path(const std::filesystem::path& path, const std::string& format);

// Shards smaller than this are scanned at every start (a few tens of milliseconds) and get no
// sidecar, so small corpora and tests leave nothing in the cache.
constexpr uint64_t kSidecarMinBytes = 64ull << 20;

// The largest token of a shard: for a shard of at least kSidecarMinBytes, from its sidecar when
// the sidecar's key matches the shard's, else by scanning (and then writing the sidecar
// atomically); smaller shards are always scanned. A cache directory that cannot be
// written is not an error: one note goes to stderr and the result is simply not kept.
// `from_sidecar`, when given, says whether the sidecar answered. `deferred` counts as cached here.
uint16_t max_token(const std::filesystem::path& path, const std::string& format, const MappedFile& file,
                   uint64_t offset, uint64_t n_tokens, TokenCheck check, bool* from_sidecar = nullptr);

// The largest token as the shard's sidecar records it, when the sidecar matches the shard; nullopt
// otherwise (no sidecar, stale, unreadable, or no cache directory).
std::optional<uint16_t> sidecar_max_token(const std::filesystem::path& path, const std::string& format,
                                          const MappedFile& file);

// Records a scan's result in the shard's sidecar (atomically; a cache directory that cannot be
// written gets one note on stderr).
void remember_max_token(const std::filesystem::path& path, const std::string& format, const MappedFile& file,
                        uint16_t max);

}  // namespace entropix
