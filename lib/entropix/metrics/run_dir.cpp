#include "entropix/metrics/run_dir.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <stdexcept>

#include "entropix/metrics/run_status.h"
#include "entropix/util/error.h"
#include "entropix/util/fs.h"
#include "entropix/util/remove_tree.h"

namespace entropix {
namespace fs = std::filesystem;

namespace {
const char* const kRunFiles[] = {"spec.yaml", "command.txt", "metrics.jsonl", "summary.json", "checkpoints"};

bool holds_run(const fs::path& dir) {
  return fs::exists(dir / "spec.yaml") || fs::exists(dir / "metrics.jsonl") || fs::exists(dir / "summary.json");
}

// Output captured around a run by `entropix sweep` (console.log) or Slurm (slurm-*.out): it may
// be in a run directory before the run starts and is never removed.
bool is_captured_output(const std::string& name) {
  return name == "console.log" || (name.rfind("slurm-", 0) == 0 && name.size() > 10 && name.substr(name.size() - 4) == ".out");
}

bool empty_but_captured_output(const fs::path& dir) {
  for (const auto& entry : fs::directory_iterator(dir))
    if (!is_captured_output(entry.path().filename().string())) return false;
  return true;
}
}  // namespace

void prepare_run_directory(const fs::path& dir, bool overwrite) {
  if (fs::exists(dir) && !fs::is_directory(dir))
    throw InputError(dir.string() + ": exists and is not a directory; choose another --out");
  if (!fs::exists(dir)) {
    std::error_code ec;  // a read-only or unwritable parent is bad input (exit 2), not a crash
    fs::create_directories(dir, ec);
    if (ec) throw InputError(dir.string() + ": cannot create the run directory (" + ec.message() + "); choose another --out");
    return;
  }
  if (empty_but_captured_output(dir)) return;
  if (!holds_run(dir))
    throw InputError(dir.string() + ": directory is not empty and holds no entropix run; choose another --out");
  if (!overwrite)
    throw InputError(dir.string() + ": already holds a run (status " + to_string(read_run_status(dir)) +
                     "); pass --overwrite to replace it or choose another --out");
  for (const char* name : kRunFiles)
    if (!remove_tree(dir / name)) throw std::runtime_error("cannot remove " + (dir / name).string());
}

MetricsWriter::MetricsWriter(const fs::path& file) : path_(file.string()) {
  fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd_ < 0) throw std::runtime_error("cannot write " + path_ + ": " + std::strerror(errno));
}

MetricsWriter::~MetricsWriter() {
  if (fd_ >= 0) ::close(fd_);
}

void MetricsWriter::write(const nlohmann::json& record) {
  // Invalid UTF-8 in messages is replaced rather than aborting a run.
  const std::string line = record.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  const off_t before = ::lseek(fd_, 0, SEEK_END);
  const char* p = line.data();
  size_t left = line.size();
  while (left > 0) {
    const ssize_t n = ::write(fd_, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      if (before >= 0 && ::ftruncate(fd_, before) != 0) {
        // Nothing more to do: resuming drops an unreadable last line.
      }
      throw std::runtime_error("cannot write " + path_ + ": " + std::strerror(err));
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
}

void write_json_atomic(const fs::path& file, const nlohmann::json& value) {
  write_file_atomic(file, value.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
}

std::vector<nlohmann::json> read_metrics(const fs::path& file) {
  std::ifstream in(file);
  if (!in) throw InputError(file.string() + ": cannot open metrics file");
  std::vector<nlohmann::json> records;
  std::string line;
  int64_t n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (line.empty()) continue;
    try {
      records.push_back(nlohmann::json::parse(line));
    } catch (const nlohmann::json::exception& e) {  // parse_error, and out_of_range for a number like 1e999
      throw InputError(file.string() + ":" + std::to_string(n) + ": not a JSON object: " + e.what());
    }
  }
  return records;
}

}  // namespace entropix
