// Reading metrics.jsonl while a run may still be writing it: only whole lines (ending in '\n')
// count, so a line caught half-written is left for the next read instead of failing to parse.
#pragma once
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace entropix::runlog {

// Follows one metrics.jsonl from the start: each poll() returns the records of the lines completed
// since the last poll. A missing file reads as empty (the run has not opened it yet). A file that
// got shorter or was replaced by another (a resume cuts it back and renames the result into place)
// is read again from the start, and `restarted()` says so once.
class MetricsFollower {
 public:
  explicit MetricsFollower(std::filesystem::path file);

  // New whole records; throws InputError naming file:line for a whole line that is not a JSON object.
  std::vector<nlohmann::json> poll();
  // Whether the last poll started over from the beginning of a file that shrank.
  bool restarted() const { return restarted_; }

 private:
  std::filesystem::path file_;
  uint64_t offset_ = 0;   // bytes consumed (whole lines only)
  uint64_t inode_ = 0;    // of the file those bytes came from
  int64_t line_ = 0;      // lines consumed
  bool restarted_ = false;
};

// Every whole record of `file` (a last line without its newline is ignored: it is being written).
std::vector<nlohmann::json> read_whole_records(const std::filesystem::path& file);

}  // namespace entropix::runlog
