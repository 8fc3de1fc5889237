#include "entropix/data/line_reader.h"

#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <cstring>

#include "entropix/util/error.h"

namespace entropix {

namespace {
constexpr size_t kBlock = 1 << 20;
bool gzip_name(const std::filesystem::path& p) { return p.extension() == ".gz"; }
}  // namespace

LineReader::LineReader(const std::filesystem::path& path) : path_(path), buf_(kBlock) {
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) throw InputError(path.string() + ": cannot read (" + std::strerror(errno) + ")");
  if (gzip_name(path)) {
    gz_ = gzdopen(fd_, "rb");
    if (!gz_) {
      ::close(fd_);
      throw InputError(path.string() + ": cannot open as gzip");
    }
    fd_ = -1;  // owned by zlib now
    gzbuffer(static_cast<gzFile>(gz_), kBlock);
  }
}

LineReader::~LineReader() {
  if (gz_) gzclose(static_cast<gzFile>(gz_));
  if (fd_ >= 0) ::close(fd_);
}

bool LineReader::fill() {
  if (eof_) return false;
  long n;
  if (gz_) {
    n = gzread(static_cast<gzFile>(gz_), buf_.data(), static_cast<unsigned>(buf_.size()));
    if (n < 0) {
      int code = 0;
      const char* msg = gzerror(static_cast<gzFile>(gz_), &code);
      throw InputError(path_.string() + ": corrupt gzip data (" + std::string(msg ? msg : "?") + ")");
    }
  } else {
    do n = ::read(fd_, buf_.data(), buf_.size());
    while (n < 0 && errno == EINTR);
    if (n < 0) throw InputError(path_.string() + ": read error (" + std::strerror(errno) + ")");
  }
  pos_ = 0;
  end_ = static_cast<size_t>(n);
  if (n == 0) eof_ = true;
  return n > 0;
}

bool LineReader::next(std::string& line, bool& had_newline) {
  line.clear();
  had_newline = false;
  bool any = false;
  while (true) {
    if (pos_ == end_ && !fill()) return any;
    any = true;
    const char* start = buf_.data() + pos_;
    const void* nl = std::memchr(start, '\n', end_ - pos_);
    if (nl) {
      const size_t len = static_cast<const char*>(nl) - start;
      line.append(start, len);
      pos_ += len + 1;
      had_newline = true;
      return true;
    }
    line.append(start, end_ - pos_);
    pos_ = end_;
  }
}

uint64_t LineReader::file_offset() const {
  if (gz_) return static_cast<uint64_t>(gzoffset(static_cast<gzFile>(gz_)));
  const off_t at = ::lseek(fd_, 0, SEEK_CUR);
  return at < 0 ? 0 : static_cast<uint64_t>(at) - (end_ - pos_);
}

}  // namespace entropix
