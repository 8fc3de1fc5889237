#include "entropix/util/fs.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "entropix/util/error.h"

namespace entropix {
namespace fs = std::filesystem;

namespace {

std::runtime_error write_error(const fs::path& path, int err) {
  return std::runtime_error("cannot write " + path.string() + ": " + std::strerror(err));
}

fs::path temp_path(const fs::path& path) { return fs::path(path.string() + ".tmp." + std::to_string(::getpid())); }

// ".../name.tmp.<digits>" -> the pid; -1 for any other name.
long temp_owner(const std::string& name) {
  const auto at = name.rfind(".tmp.");
  if (at == std::string::npos) return -1;
  const std::string digits = name.substr(at + 5);
  if (digits.empty() || digits.size() > 9 || digits.find_first_not_of("0123456789") != std::string::npos) return -1;
  return std::stol(digits);
}

// This process counts as not running: the caller cleans up before it writes anything, so a file
// with its pid is left from an earlier process that had the same pid (pids repeat in containers).
bool other_process_alive(long pid) {
  if (pid <= 0 || pid == static_cast<long>(::getpid())) return false;
  return ::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM;
}

}  // namespace

void fsync_directory(const fs::path& dir) {
  int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) return;  // best effort: some file systems refuse directory fds
  ::fsync(fd);
  ::close(fd);
}

AtomicFileWriter::AtomicFileWriter(fs::path path) : path_(std::move(path)), tmp_(temp_path(path_)) {
  fd_ = ::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0) throw write_error(path_, errno);
}

AtomicFileWriter::~AtomicFileWriter() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_) ::unlink(tmp_.c_str());
}

void AtomicFileWriter::fail(int err) noexcept {
  if (error_ == 0) error_ = err;
}

void AtomicFileWriter::append(const void* data, size_t size) noexcept {
  if (error_ != 0) return;  // the rest is discarded; commit() reports the error
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t n = ::write(fd_, p, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail(errno);
      return;
    }
    p += n;
    size -= static_cast<size_t>(n);
    bytes_ += static_cast<size_t>(n);
  }
}

void AtomicFileWriter::commit() {
  if (error_ == 0 && ::fsync(fd_) != 0) fail(errno);
  const int rc = ::close(fd_);
  fd_ = -1;
  if (error_ == 0 && rc != 0) fail(errno);
  if (error_ == 0 && ::rename(tmp_.c_str(), path_.c_str()) != 0) fail(errno);
  if (error_ != 0) {
    ::unlink(tmp_.c_str());
    throw write_error(path_, error_);
  }
  committed_ = true;
  fsync_directory(path_.parent_path());
}

void write_file_atomic(const fs::path& path, const std::string& content) {
  AtomicFileWriter writer(path);
  writer.append(content.data(), content.size());
  writer.commit();
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path.string() + ": cannot open file (" + std::strerror(errno) + ")");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<fs::path> remove_stale_temp_files(const fs::path& dir) {
  std::vector<fs::path> removed;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return removed;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const long owner = temp_owner(entry.path().filename().string());
    if (owner < 0 || other_process_alive(owner) || !entry.is_regular_file(ec)) continue;
    if (fs::remove(entry.path(), ec)) removed.push_back(entry.path());
  }
  return removed;
}

bool entry_is_directory(const std::filesystem::directory_entry& e) {
  std::error_code ec;
  return e.is_directory(ec);
}

bool entry_is_file(const std::filesystem::directory_entry& e) {
  std::error_code ec;
  return e.is_regular_file(ec);
}

}  // namespace entropix
