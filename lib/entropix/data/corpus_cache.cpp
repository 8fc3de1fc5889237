// The pystdlib corpus and the cache directory it lives in (docs/data.md, "The cache directory").
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <nlohmann/json.hpp>
#include <random>
#include <stdexcept>
#include <system_error>
#include <utility>

#include "entropix/data/prepare.h"
#include "entropix/util/error.h"
#include "entropix/util/fs.h"
#include "entropix/util/remove_tree.h"
#include "entropix/util/hash.h"

namespace entropix {
namespace fs = std::filesystem;

namespace {


// --- cache -----------------------------------------------------------------------------

std::string env_or_empty(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

bool has_py_files(const fs::path& dir) {
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->path().extension() == ".py" && entry_is_file(*it)) return true;
  }
  return false;
}

// N for a name "python3.N", or -1.
int python3_minor(const std::string& name) {
  const std::string prefix = "python3.";
  if (name.size() <= prefix.size() || name.size() > prefix.size() + 4 || name.compare(0, prefix.size(), prefix) != 0) return -1;
  const std::string digits = name.substr(prefix.size());
  if (!std::all_of(digits.begin(), digits.end(), [](char ch) { return ch >= '0' && ch <= '9'; })) return -1;
  return std::stoi(digits);
}

// A corpus is complete when meta.json is there and the token files match its counts.
bool corpus_complete(const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_regular_file(dir / "meta.json", ec)) return false;
  try {
    const auto meta = nlohmann::json::parse(read_file(dir / "meta.json"));
    if (meta.value("format", std::string()) != "entropix-tokens") return false;
    const std::pair<const char*, const char*> files[] = {{"train.tok", "train_tokens"}, {"val.tok", "val_tokens"}};
    for (const auto& [name, key] : files) {
      const uint64_t n = meta.at(key).get<uint64_t>();
      if (fs::file_size(dir / name, ec) != 32 + 2 * n || ec) return false;
    }
    return true;
  } catch (const std::exception&) {
    return false;
  }
}

// A hidden, per-process, per-call unique name beside `dir` (threads of one process too).
fs::path unique_sibling(const fs::path& dir, const std::string& tag) {
  static std::atomic<uint64_t> counter{0};
  const uint64_t noise = std::random_device{}() ^ static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  return dir.parent_path() / ("." + dir.filename().string() + "." + tag + "-" + std::to_string(::getpid()) + "-" +
                              std::to_string(counter++) + "-" + hex16(noise));
}

// Renames a freshly prepared `tmp` to `dir`. If another process got there first, its
// corpus is used and ours discarded. An incomplete leftover at `dir` is moved aside.
void publish(const fs::path& tmp, const fs::path& dir) {
  std::error_code ec;
  for (int attempt = 0; attempt < 5; ++attempt) {
    fs::rename(tmp, dir, ec);  // atomic; fails when dir exists and is not empty
    if (!ec) {
      fsync_directory(dir.parent_path());
      return;
    }
    if (corpus_complete(dir)) {  // lost the race: use the winner's corpus
      remove_tree(tmp);
      return;
    }
    const fs::path stale = unique_sibling(dir, "stale");
    fs::rename(dir, stale, ec);
    if (!ec) remove_tree(stale);
  }
  remove_tree(tmp);
  throw std::runtime_error("cannot move prepared pystdlib corpus into " + dir.string());
}

}  // namespace

fs::path find_python_stdlib() {
  const fs::path lib = "/usr/lib";
  int best = -1;
  fs::path best_dir;
  std::error_code ec;
  for (fs::directory_iterator it(lib, ec), end; !ec && it != end; it.increment(ec)) {
    const int minor = python3_minor(it->path().filename().string());
    if (minor > best && entry_is_directory(*it) && has_py_files(it->path())) {
      best = minor;
      best_dir = it->path();
    }
  }
  if (best < 0) {
    throw InputError("pystdlib: no Python standard library found (looked for /usr/lib/python3.N with .py files); "
                     "install it with: apt-get install libpython3-stdlib");
  }
  return best_dir;
}

std::vector<fs::path> list_pystdlib_files(const fs::path& root) {
  std::vector<fs::path> files;
  std::error_code ec;
  fs::recursive_directory_iterator it(root, fs::directory_options::skip_permission_denied, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    const fs::path& p = it->path();
    if (entry_is_directory(*it)) {
      const std::string name = p.filename().string();
      if (name == "site-packages" || name == "dist-packages" || name == "__pycache__") it.disable_recursion_pending();
      continue;
    }
    if (p.extension() == ".py" && entry_is_file(*it)) files.push_back(p);
  }
  if (ec) throw InputError(root.string() + ": cannot list folder (" + ec.message() + ")");
  std::sort(files.begin(), files.end(),
            [](const fs::path& a, const fs::path& b) { return a.generic_string() < b.generic_string(); });
  return files;
}

fs::path cache_root() {
  if (std::string v = env_or_empty("ENTROPIX_CACHE"); !v.empty()) return v;
  if (std::string v = env_or_empty("XDG_CACHE_HOME"); !v.empty()) return fs::path(v) / "entropix";
  if (std::string v = env_or_empty("HOME"); !v.empty()) return fs::path(v) / ".cache" / "entropix";
  throw InputError("cache: cannot find a cache directory; set ENTROPIX_CACHE (or XDG_CACHE_HOME or HOME)");
}

fs::path ensure_pystdlib_corpus() {
  const fs::path stdlib = find_python_stdlib();
  const fs::path root = cache_root();
  const fs::path dir = root / ("pystdlib-" + stdlib.filename().string());
  if (corpus_complete(dir)) return dir;

  std::error_code ec;
  fs::create_directories(root, ec);
  if (ec) throw InputError(root.string() + ": cannot create cache directory (" + ec.message() + "); set ENTROPIX_CACHE to a writable directory");
  const fs::path tmp = unique_sibling(dir, "tmp");
  std::cerr << "preparing pystdlib corpus into " << dir.string() << " (from " << stdlib.string() << ")" << std::endl;
  PrepareOptions options;
  options.pystdlib = true;
  options.out = tmp;
  try {
    prepare_corpus(options);
  } catch (...) {
    remove_tree(tmp);
    throw;
  }
  publish(tmp, dir);
  return dir;
}

}  // namespace entropix
