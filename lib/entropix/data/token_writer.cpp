#include "entropix/data/token_writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <system_error>

#include "entropix/data/shard_format.h"
#include "entropix/util/fs.h"

namespace entropix {
namespace fs = std::filesystem;

namespace {

constexpr size_t kBufferBytes = 1 << 20;

[[noreturn]] void io_error(const std::string& what, const fs::path& p) {
  throw std::system_error(errno, std::generic_category(), what + " " + p.string());
}

void put_le(unsigned char* at, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) at[i] = static_cast<unsigned char>(v >> (8 * i));
}

void pwrite_all(int fd, const unsigned char* data, size_t n, uint64_t offset, const fs::path& p) {
  while (n > 0) {
    const ssize_t w = ::pwrite(fd, data, n, static_cast<off_t>(offset));
    if (w < 0) {
      if (errno == EINTR) continue;
      io_error("cannot write", p);
    }
    data += w;
    n -= static_cast<size_t>(w);
    offset += static_cast<uint64_t>(w);
  }
}

}  // namespace

TokenStreamWriter::TokenStreamWriter(const fs::path& dir, TokenFileFormat format, uint32_t vocab_size)
    : format_(format), vocab_size_(vocab_size) {
  if (vocab_size == 0 || vocab_size > 65536)
    throw std::invalid_argument("token file vocab_size " + std::to_string(vocab_size) + " is not in 1..65536");
  static std::atomic<uint64_t> counter{0};
  tmp_ = dir / (".tokens.tmp-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
  fd_ = ::open(tmp_.c_str(), O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0644);
  if (fd_ < 0) io_error("cannot create", tmp_);
  buf_.reserve(kBufferBytes);
  buf_.assign(header_bytes(), 0);  // the header is filled in by finish()
}

TokenStreamWriter::~TokenStreamWriter() {
  if (fd_ >= 0) {
    ::close(fd_);
    ::unlink(tmp_.c_str());
  }
}

uint64_t TokenStreamWriter::header_bytes() const { return format_ == TokenFileFormat::entropix ? kEntropixHeaderBytes : 0; }

void TokenStreamWriter::flush() {
  if (buf_.empty()) return;
  // Buffered bytes always go at the end of what the file holds (the header placeholder first).
  const off_t end = ::lseek(fd_, 0, SEEK_END);
  if (end < 0) io_error("cannot seek", tmp_);
  pwrite_all(fd_, buf_.data(), buf_.size(), static_cast<uint64_t>(end), tmp_);
  buf_.clear();
}

void TokenStreamWriter::append(const uint32_t* ids, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    if (ids[i] >= vocab_size_)
      throw std::invalid_argument("token " + std::to_string(ids[i]) + " is not below vocab_size " + std::to_string(vocab_size_));
    buf_.push_back(static_cast<unsigned char>(ids[i]));
    buf_.push_back(static_cast<unsigned char>(ids[i] >> 8));
    if (buf_.size() >= kBufferBytes) flush();
  }
  count_ += n;
}

void TokenStreamWriter::move_tail_to(uint64_t n, TokenStreamWriter& other) {
  if (n > count_) throw std::invalid_argument("move_tail_to: more tokens than written");
  flush();
  const uint64_t keep = count_ - n;
  std::vector<unsigned char> chunk;
  std::vector<uint32_t> ids;
  for (uint64_t done = 0; done < n;) {
    const uint64_t take = std::min<uint64_t>(n - done, kBufferBytes / 2);
    chunk.resize(2 * take);
    const uint64_t offset = header_bytes() + 2 * (keep + done);
    const ssize_t r = ::pread(fd_, chunk.data(), chunk.size(), static_cast<off_t>(offset));
    if (r != static_cast<ssize_t>(chunk.size())) io_error("cannot read back", tmp_);
    ids.resize(take);
    for (uint64_t i = 0; i < take; ++i) ids[i] = chunk[2 * i] | (uint32_t(chunk[2 * i + 1]) << 8);
    other.append(ids.data(), ids.size());
    done += take;
  }
  if (::ftruncate(fd_, static_cast<off_t>(header_bytes() + 2 * keep)) != 0) io_error("cannot truncate", tmp_);
  count_ = keep;
}

void TokenStreamWriter::finish(const fs::path& path) {
  if (count_ == 0) throw std::invalid_argument("token file " + path.string() + ": no tokens");
  flush();
  if (format_ == TokenFileFormat::entropix) {
    unsigned char h[kEntropixHeaderBytes] = {};
    std::memcpy(h, "ENTROPIX", 8);
    put_le(h + 8, 1, 4);  // version
    put_le(h + 12, vocab_size_, 4);
    put_le(h + 16, count_, 8);
    put_le(h + 24, 2, 4);  // token bytes
    pwrite_all(fd_, h, sizeof(h), 0, tmp_);
  }
  if (::fsync(fd_) != 0) io_error("cannot sync", tmp_);
  ::close(fd_);
  fd_ = -1;
  std::error_code ec;
  fs::rename(tmp_, path, ec);
  if (ec) {
    ::unlink(tmp_.c_str());
    throw std::system_error(ec, "cannot rename " + tmp_.string() + " to " + path.string());
  }
  fsync_directory(path.parent_path().empty() ? fs::path(".") : path.parent_path());
}

}  // namespace entropix
