#include "entropix/data/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

#include "entropix/util/error.h"

namespace entropix {

namespace {

uint64_t page_size() {
  static const uint64_t size = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  return size;
}

}  // namespace

MappedFile::MappedFile(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw InputError(path.string() + ": cannot open file (" + std::strerror(errno) + ")");
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    throw InputError(path.string() + ": cannot read file size (" + std::strerror(err) + ")");
  }
  size_ = static_cast<uint64_t>(st.st_size);
  if (size_ > 0) {
    void* p = ::mmap(nullptr, size_, PROT_READ, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
      const int err = errno;
      ::close(fd);
      throw InputError(path.string() + ": cannot memory-map the file (" + std::strerror(err) + ")");
    }
    data_ = static_cast<const unsigned char*>(p);
  }
  ::close(fd);  // the mapping keeps the file open
}

MappedFile::~MappedFile() {
  if (data_) ::munmap(const_cast<unsigned char*>(data_), size_);
}

void MappedFile::advise_sequential() const {
  if (data_) ::madvise(const_cast<unsigned char*>(data_), size_, MADV_SEQUENTIAL);
}

void MappedFile::advise_random() const {
  if (data_) ::madvise(const_cast<unsigned char*>(data_), size_, MADV_RANDOM);
}

void MappedFile::release(uint64_t offset, uint64_t bytes) const {
  if (!data_ || offset >= size_) return;
  const uint64_t end = std::min(size_, offset + bytes);
  // Rounded outwards to 2 MiB: a read fault also maps the neighbouring cached pages
  // ("fault-around", up to one page table's 2 MiB), which would otherwise stay resident and add
  // up over many windows. A page another window still reads is simply faulted in again from the
  // page cache (the mapping is read-only, so nothing can be lost).
  constexpr uint64_t kGranule = 2ull << 20;
  const uint64_t ps = page_size();
  const uint64_t first = offset / kGranule * kGranule;
  const uint64_t last = std::min((end + kGranule - 1) / kGranule * kGranule, (size_ + ps - 1) / ps * ps);
  if (last > first) ::madvise(const_cast<unsigned char*>(data_) + first, last - first, MADV_DONTNEED);
}

}  // namespace entropix
