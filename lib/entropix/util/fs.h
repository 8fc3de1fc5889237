// Small file-system helpers: atomic writes, whole-file reads, and the cleanup of temporary files
// left by a process that was killed while writing (docs/reliability.md).
//
// Every write error (ENOSPC, EIO, EFBIG, EDQUOT, a failed fsync or rename) is a
// std::runtime_error "cannot write PATH: <strerror>", one line, and the temporary file is removed
// before it is thrown: a full disk never leaves a *.tmp.<pid> file behind.
#pragma once
#include <filesystem>
#include <string>
#include <vector>

namespace entropix {

// Writes `content` to `path` atomically: a temporary file beside it (PATH.tmp.<pid>), fsync,
// rename. A reader never sees a half-written file.
void write_file_atomic(const std::filesystem::path& path, const std::string& content);

// The same for content produced in pieces (a checkpoint archive, without holding it in memory):
// append() never throws and never stops the producer; the first error is kept and reported by
// commit(). Destroying the writer without a successful commit() removes the temporary file.
class AtomicFileWriter {
 public:
  explicit AtomicFileWriter(std::filesystem::path path);  // throws when the temporary cannot be created
  ~AtomicFileWriter();
  AtomicFileWriter(const AtomicFileWriter&) = delete;
  AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;

  void append(const void* data, size_t size) noexcept;
  // fsync, close, rename into place, fsync the directory; throws the first error seen.
  void commit();
  size_t bytes() const { return bytes_; }

 private:
  void fail(int err) noexcept;  // keeps the first error, stops writing
  std::filesystem::path path_, tmp_;
  int fd_ = -1;
  int error_ = 0;
  size_t bytes_ = 0;
  bool committed_ = false;
};

// Entry type queries for directory walks, with their own error code: a broken symlink or a file
// that vanished mid-walk is simply not a directory or file, and does not end the walk.
bool entry_is_directory(const std::filesystem::directory_entry& e);
bool entry_is_file(const std::filesystem::directory_entry& e);

// Reads a whole file; throws InputError naming the path when it cannot be read.
std::string read_file(const std::filesystem::path& path);

// fsyncs a directory so a rename inside it is durable.
void fsync_directory(const std::filesystem::path& dir);

// Removes the files in `dir` (not below it) whose names hold ".tmp." followed by a process id
// that is not a running process other than this one: temporary files of writers that were killed
// or ran out of space. Call it before this process writes into `dir`. Those of another live
// process (a concurrent writer) are left alone. Returns the
// paths removed. A missing directory has none.
std::vector<std::filesystem::path> remove_stale_temp_files(const std::filesystem::path& dir);

}  // namespace entropix
