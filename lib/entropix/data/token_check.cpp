#include "entropix/data/token_check.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <mutex>
#include <optional>
#include <nlohmann/json.hpp>
#include <system_error>

#include "entropix/data/prepare.h"
#include "entropix/data/shard_format.h"
#include "entropix/util/fs.h"
#include "entropix/util/hash.h"

namespace entropix {
namespace fs = std::filesystem;

namespace {

constexpr uint64_t kMiB = 1ull << 20;
constexpr uint64_t kBlockTokens = 8 * kMiB;  // 16 MiB per scanned block
constexpr int kSidecarVersion = 1;

// Tokens are little-endian on disk.
inline uint16_t token_at(const unsigned char* p, uint64_t i) {
  return static_cast<uint16_t>(p[2 * i] | (p[2 * i + 1] << 8));
}

// Largest of n tokens at p (2-byte aligned: shards are mapped at page boundaries and tokens
// start at an even offset). The little-endian path is a plain loop the compiler vectorises.
uint16_t block_max(const unsigned char* p, uint64_t n) {
  uint16_t best = 0;
  if constexpr (kLittleEndianHost) {
    const auto* q = reinterpret_cast<const uint16_t*>(p);
    for (uint64_t i = 0; i < n; ++i) best = q[i] > best ? q[i] : best;
  } else {
    for (uint64_t i = 0; i < n; ++i) best = std::max(best, token_at(p, i));
  }
  return best;
}

void note_once(const std::string& message) {
  static std::once_flag flag;
  std::call_once(flag, [&] { std::cerr << "note: " << message << std::endl; });
}

std::optional<uint16_t> read_sidecar(const fs::path& file, const ShardKey& key) {
  std::error_code ec;
  if (!fs::exists(file, ec)) return std::nullopt;
  try {
    const auto j = nlohmann::json::parse(read_file(file));
    if (j.at("version").get<int>() != kSidecarVersion || j.at("size").get<uint64_t>() != key.size ||
        j.at("mtime_ns").get<int64_t>() != key.mtime_ns || j.at("checksum").get<std::string>() != hex16(key.checksum))
      return std::nullopt;  // stale: the shard changed since
    return j.at("max_token").get<uint16_t>();
  } catch (const std::exception&) {
    return std::nullopt;  // unreadable or foreign: scan again and replace it
  }
}

void write_sidecar(const fs::path& file, const fs::path& shard, const std::string& format, const ShardKey& key,
                   uint16_t max) {
  const nlohmann::json j = {{"version", kSidecarVersion},  {"path", fs::absolute(shard).string()},
                            {"format", format},            {"size", key.size},
                            {"mtime_ns", key.mtime_ns},    {"checksum", hex16(key.checksum)},
                            {"max_token", max}};
  try {
    std::error_code ec;
    fs::create_directories(file.parent_path(), ec);
    if (ec) throw std::runtime_error(ec.message());
    write_file_atomic(file, j.dump(2) + "\n");
  } catch (const std::exception& e) {
    note_once("cannot cache token checks in " + file.parent_path().string() + " (" + e.what() +
              "); large corpora are rescanned at every start (set ENTROPIX_CACHE to a writable directory)");
  }
}

// The sidecar of a shard, or nullopt (with one note) when there is no cache directory.
std::optional<fs::path> sidecar_of(const fs::path& path, const std::string& format) {
  try {
    return sidecar_path(path, format);
  } catch (const std::exception& e) {
    note_once(std::string("no cache directory for token checks (") + e.what() + "); every start rescans");
    return std::nullopt;
  }
}

}  // namespace

ShardKey shard_key(const fs::path& path, const MappedFile& file) {
  ShardKey key;
  key.size = file.size();
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0)
    key.mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000LL + st.st_mtim.tv_nsec;
  const unsigned char* p = file.data();
  const uint64_t head = std::min(key.size, kMiB);
  uint64_t h = fnv1a64_bytes(p, head);
  file.release(0, head);
  if (key.size > head) {
    const uint64_t tail_start = std::max(head, key.size - kMiB);
    h = fnv1a64_bytes(p + tail_start, key.size - tail_start, h);
    file.release(tail_start, key.size - tail_start);
  }
  for (int i = 0; i < 8; ++i) {
    const unsigned char b = static_cast<unsigned char>(key.size >> (8 * i));
    h = fnv1a64_bytes(&b, 1, h);
  }
  key.checksum = h;
  return key;
}

uint16_t scan_max_token(const MappedFile& file, uint64_t offset, uint64_t n_tokens, const std::atomic<bool>* stop) {
  file.advise_sequential();
  const unsigned char* p = file.data() + offset;
  uint16_t best = 0;
  for (uint64_t start = 0; start < n_tokens; start += kBlockTokens) {
    if (stop && stop->load(std::memory_order_relaxed)) break;
    const uint64_t n = std::min(kBlockTokens, n_tokens - start);
    best = std::max(best, block_max(p + 2 * start, n));
    file.release(offset + 2 * start, 2 * n);
  }
  file.advise_random();
  return best;
}

int64_t find_first_at_least(const MappedFile& file, uint64_t offset, uint64_t n_tokens, uint32_t bound) {
  const unsigned char* p = file.data() + offset;
  for (uint64_t i = 0; i < n_tokens; ++i) {
    if (token_at(p, i) >= bound) return static_cast<int64_t>(i);
    if ((i + 1) % kBlockTokens == 0) file.release(offset + 2 * (i + 1 - kBlockTokens), 2 * kBlockTokens);
  }
  return -1;
}

fs::path sidecar_path(const fs::path& path, const std::string& format) {
  const std::string id = fs::absolute(path).lexically_normal().string() + "\n" + format;
  return cache_root() / "token-checks" /
         (hex16(fnv1a64(id)) + ".json");
}

std::optional<uint16_t> sidecar_max_token(const fs::path& path, const std::string& format, const MappedFile& file) {
  const std::optional<fs::path> sidecar = sidecar_of(path, format);
  if (!sidecar) return std::nullopt;
  return read_sidecar(*sidecar, shard_key(path, file));
}

void remember_max_token(const fs::path& path, const std::string& format, const MappedFile& file, uint16_t max) {
  if (const std::optional<fs::path> sidecar = sidecar_of(path, format))
    write_sidecar(*sidecar, path, format, shard_key(path, file), max);
}

uint16_t max_token(const fs::path& path, const std::string& format, const MappedFile& file, uint64_t offset,
                   uint64_t n_tokens, TokenCheck check, bool* from_sidecar) {
  if (from_sidecar) *from_sidecar = false;
  if (check == TokenCheck::scan || file.size() < kSidecarMinBytes) return scan_max_token(file, offset, n_tokens);
  if (auto cached = sidecar_max_token(path, format, file)) {
    if (from_sidecar) *from_sidecar = true;
    return *cached;
  }
  const uint16_t max = scan_max_token(file, offset, n_tokens);
  remember_max_token(path, format, file, max);
  return max;
}

}  // namespace entropix
