#include "entropix/runlog/metrics_follower.h"

#include <sys/stat.h>

#include <fstream>

#include "entropix/util/error.h"

namespace entropix::runlog {
namespace fs = std::filesystem;

MetricsFollower::MetricsFollower(fs::path file) : file_(std::move(file)) {}

std::vector<nlohmann::json> MetricsFollower::poll() {
  restarted_ = false;
  std::vector<nlohmann::json> out;
  struct stat st {};
  if (::stat(file_.c_str(), &st) != 0) return out;  // not there (yet)
  const auto size = static_cast<uint64_t>(st.st_size);
  // Rewritten (a resume cuts the file back and renames a new one into place: a new inode) or
  // truncated: start over.
  const bool replaced = offset_ > 0 && static_cast<uint64_t>(st.st_ino) != inode_;
  inode_ = static_cast<uint64_t>(st.st_ino);
  if (size < offset_ || replaced) {
    offset_ = 0;
    line_ = 0;
    restarted_ = true;
  }
  if (size == offset_) return out;
  std::ifstream in(file_, std::ios::binary);
  if (!in) return out;
  in.seekg(static_cast<std::streamoff>(offset_));
  std::string chunk(static_cast<size_t>(size - offset_), '\0');
  in.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
  chunk.resize(static_cast<size_t>(in.gcount()));
  size_t start = 0;
  for (size_t nl; (nl = chunk.find('\n', start)) != std::string::npos; start = nl + 1) {
    ++line_;
    const std::string line = chunk.substr(start, nl - start);
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    nlohmann::json record = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (!record.is_object())
      throw InputError(file_.string() + ":" + std::to_string(line_) +
                       ": not a JSON object (metrics.jsonl holds one record per line, docs/logs.md)");
    out.push_back(std::move(record));
  }
  offset_ += start;  // up to the last newline; a partial line waits
  return out;
}

std::vector<nlohmann::json> read_whole_records(const fs::path& file) {
  MetricsFollower follower(file);
  return follower.poll();
}

}  // namespace entropix::runlog
