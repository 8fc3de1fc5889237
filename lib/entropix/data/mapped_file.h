// A read-only memory mapping of a whole file (see docs/data.md, "Corpora: formats, shards and
// memory mapping"). Token shards are read through it instead of being copied into RAM: the
// kernel pages in what is touched, and release() hands touched pages back, so the resident
// set stays bounded by what one batch needs, whatever the corpus size.
#pragma once
#include <cstdint>
#include <filesystem>

namespace entropix {

class MappedFile {
 public:
  // Maps `path` read-only (MAP_SHARED: clean pages shared with the page cache and with
  // other ranks on the machine). Throws InputError naming the file when it cannot be
  // opened or mapped; an empty file maps to size() == 0 and data() == nullptr.
  explicit MappedFile(const std::filesystem::path& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const unsigned char* data() const { return data_; }
  uint64_t size() const { return size_; }

  // Access-pattern hints (madvise): sequential for a scan (more read-ahead), random for
  // batch gathering (no read-ahead of pages a window will not use). Best effort.
  void advise_sequential() const;
  void advise_random() const;

  // Drops this process's mapping of the pages around [offset, offset + bytes), rounded out to
  // 2 MiB (MADV_DONTNEED: the page cache keeps them, a later read faults them back in), so they
  // stop counting towards the resident set. The rounding also drops the neighbours a fault
  // maps along with the page it needs.
  void release(uint64_t offset, uint64_t bytes) const;

 private:
  const unsigned char* data_ = nullptr;
  uint64_t size_ = 0;
};

}  // namespace entropix
