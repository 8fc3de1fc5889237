#include "entropix/data/prepare.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <random>
#include <stdexcept>
#include <system_error>
#include <utility>

#include "entropix/data/token_file.h"
#include "entropix/util/error.h"
#include "entropix/util/fs.h"
#include "entropix/util/remove_tree.h"

namespace entropix {
namespace fs = std::filesystem;

namespace {

constexpr uint32_t kByteVocab = 256;
constexpr size_t kBinarySniffBytes = 8192;
constexpr uint64_t kSplitBuckets = 10000;
const char* const kOutputs[] = {"train.tok", "val.tok", "meta.json"};

// --- hashing ---------------------------------------------------------------------------

constexpr uint64_t kFnvOffset = 14695981039346656037ULL;
constexpr uint64_t kFnvPrime = 1099511628211ULL;

uint64_t fnv1a64(const std::string& bytes, uint64_t h = kFnvOffset) {
  for (unsigned char c : bytes) {
    h ^= c;
    h *= kFnvPrime;
  }
  return h;
}

std::string hex16(uint64_t value) {
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(value));
  return buf;
}

// --- finding input files ---------------------------------------------------------------

// One input file; `rel` (relative to its source root) decides its split, so the split
// does not depend on where the corpus lives on disk.
struct InputFile {
  fs::path path;
  std::string rel;
};

// Entry type queries with their own error code: a broken symlink or a file that vanished
// mid-walk is simply not a file or folder, and must not end the directory walk.
bool is_dir(const fs::directory_entry& e) {
  std::error_code ec;
  return e.is_directory(ec);
}

bool is_file(const fs::directory_entry& e) {
  std::error_code ec;
  return e.is_regular_file(ec);
}

bool is_hidden(const fs::path& p) {
  const std::string name = p.filename().string();
  return !name.empty() && name[0] == '.';
}

// Text files have no NUL bytes; UTF-16 and binaries almost always do early on.
bool looks_binary(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  char buf[kBinarySniffBytes];
  in.read(buf, sizeof(buf));
  return std::memchr(buf, '\0', static_cast<size_t>(in.gcount())) != nullptr;
}

bool same_dir(const fs::path& a, const fs::path& b_canonical) {
  std::error_code ec;
  return !b_canonical.empty() && fs::weakly_canonical(a, ec) == b_canonical && !ec;
}

void add_folder(const fs::path& root, const fs::path& out_canonical, std::vector<InputFile>& files) {
  std::error_code ec;
  fs::recursive_directory_iterator it(root, fs::directory_options::skip_permission_denied, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    const fs::path& p = it->path();
    const bool dir = is_dir(*it);
    // Skip hidden entries, and the output folder so a re-run never eats its own output.
    if (is_hidden(p) || (dir && same_dir(p, out_canonical))) {
      if (dir) it.disable_recursion_pending();
      continue;
    }
    if (dir || !is_file(*it) || looks_binary(p)) continue;
    files.push_back({p, p.lexically_relative(root).generic_string()});
  }
  if (ec) throw InputError(root.string() + ": cannot list folder (" + ec.message() + ")");
}

std::vector<InputFile> collect_sources(const std::vector<fs::path>& sources, const fs::path& out) {
  if (sources.empty()) {
    throw InputError("prepare: no sources given; pass text files or folders, or use the pystdlib corpus");
  }
  std::error_code ec;
  const fs::path out_canonical = fs::weakly_canonical(out, ec);
  std::vector<InputFile> files;
  for (const fs::path& src : sources) {
    const fs::file_status st = fs::status(src, ec);
    if (fs::is_directory(st)) {
      add_folder(src, out_canonical, files);
    } else if (fs::is_regular_file(st)) {
      files.push_back({src, src.filename().generic_string()});
    } else {
      throw InputError(src.string() + ": no such file or folder (prepare sources must be text files or folders)");
    }
  }
  return files;
}

std::vector<InputFile> collect_pystdlib(const fs::path& root) {
  std::vector<InputFile> files;
  for (const fs::path& p : list_pystdlib_files(root)) files.push_back({p, p.lexically_relative(root).generic_string()});
  return files;
}

// Processing order: sorted by generic path string; a file named twice counts once.
void sort_unique(std::vector<InputFile>& files) {
  auto key_less = [](const InputFile& a, const InputFile& b) { return a.path.generic_string() < b.path.generic_string(); };
  auto key_eq = [](const InputFile& a, const InputFile& b) { return a.path.generic_string() == b.path.generic_string(); };
  std::sort(files.begin(), files.end(), key_less);
  files.erase(std::unique(files.begin(), files.end(), key_eq), files.end());
}

std::string join_sources(const std::vector<fs::path>& sources) {
  std::string out;
  for (size_t i = 0; i < sources.size(); ++i) out += (i ? ", " : "") + sources[i].string();
  return out;
}

// --- tokenizing and splitting ----------------------------------------------------------

// Every token in processing order, plus which split each file's run of tokens belongs to.
struct Corpus {
  struct Segment {
    size_t begin, end;
    bool val;
  };
  std::vector<uint16_t> stream;
  std::vector<Segment> segments;
  uint64_t hash = kFnvOffset;
};

bool goes_to_val(const std::string& rel, double val_fraction) {
  return static_cast<double>(fnv1a64(rel) % kSplitBuckets) < val_fraction * kSplitBuckets;
}

// Byte-level tokenizer: one token per byte, plus a '\n' so files never run together.
Corpus tokenize(const std::vector<InputFile>& files, double val_fraction) {
  Corpus c;
  for (const InputFile& f : files) {
    const std::string bytes = read_file(f.path);
    if (bytes.empty()) continue;
    c.hash = fnv1a64(bytes, c.hash);
    const size_t begin = c.stream.size();
    for (unsigned char b : bytes) c.stream.push_back(b);
    if (bytes.back() != '\n') c.stream.push_back('\n');
    c.segments.push_back({begin, c.stream.size(), goes_to_val(f.rel, val_fraction)});
  }
  return c;
}

struct Split {
  std::vector<uint16_t> train, val;
};

Split split_by_file(const Corpus& c) {
  Split s;
  for (const auto& seg : c.segments) {
    auto& dst = seg.val ? s.val : s.train;
    dst.insert(dst.end(), c.stream.begin() + seg.begin, c.stream.begin() + seg.end);
  }
  return s;
}

// Fallback when the by-file split leaves a side empty: the stream's tail is val.
Split split_tail(const Corpus& c, double val_fraction) {
  const size_t n = c.stream.size();
  size_t n_val = static_cast<size_t>(std::ceil(val_fraction * static_cast<double>(n)));
  n_val = std::min(std::max<size_t>(n_val, 1), n - 1);  // both sides keep at least one token
  return {std::vector<uint16_t>(c.stream.begin(), c.stream.end() - n_val),
          std::vector<uint16_t>(c.stream.end() - n_val, c.stream.end())};
}

Split split_corpus(const Corpus& c, double val_fraction) {
  Split s = split_by_file(c);
  if (s.train.empty() || s.val.empty()) s = split_tail(c, val_fraction);
  return s;
}

// --- output ----------------------------------------------------------------------------

void check_out_dir(const fs::path& out, bool overwrite) {
  if (out.empty()) throw InputError("prepare: no output directory given (it receives train.tok, val.tok, meta.json)");
  std::error_code ec;
  if (fs::exists(out, ec) && !fs::is_directory(out, ec)) {
    throw InputError(out.string() + ": exists and is not a directory; prepare writes train.tok, val.tok and meta.json into a directory");
  }
  if (overwrite) return;
  std::string present;
  for (const char* name : kOutputs) {
    if (fs::exists(out / name, ec)) present += (present.empty() ? "" : ", ") + std::string(name);
  }
  if (!present.empty()) {
    throw InputError(out.string() + ": already holds a prepared corpus (" + present +
                     "); refusing to overwrite it: pass --overwrite or choose another output directory");
  }
}

void write_outputs(const fs::path& out, const Split& split, const PrepareResult& r, double val_fraction) {
  std::error_code ec;
  fs::create_directories(out, ec);
  if (ec) throw InputError(out.string() + ": cannot create output directory (" + ec.message() + ")");
  // meta.json marks a complete corpus: drop it first, write it last.
  fs::remove(out / "meta.json", ec);
  write_token_file(out / "train.tok", split.train, kByteVocab);
  write_token_file(out / "val.tok", split.val, kByteVocab);
  nlohmann::ordered_json meta = {
      {"format", "entropix-tokens"}, {"version", 1},  {"tokenizer", "byte"},
      {"vocab_size", kByteVocab},    {"source", r.source}, {"files", r.file_count},
      {"train_tokens", r.train_tokens}, {"val_tokens", r.val_tokens}, {"val_fraction", val_fraction},
      {"hash", r.hash}};
  write_file_atomic(out / "meta.json", meta.dump(2) + "\n");
}

// --- cache -----------------------------------------------------------------------------

std::string env_or_empty(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

bool has_py_files(const fs::path& dir) {
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->path().extension() == ".py" && is_file(*it)) return true;
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

PrepareResult prepare_corpus(const PrepareOptions& options) {
  const double f = options.val_fraction;
  if (!(f > 0.0 && f < 1.0)) {
    throw InputError("prepare: val_fraction is " + std::to_string(f) + "; it must be between 0 and 1 (exclusive)");
  }
  check_out_dir(options.out, options.overwrite);

  PrepareResult r;
  std::vector<InputFile> files;
  if (options.pystdlib) {
    const fs::path root = find_python_stdlib();
    files = collect_pystdlib(root);
    r.source = "pystdlib:" + root.string();
  } else {
    files = collect_sources(options.sources, options.out);
    r.source = join_sources(options.sources);
  }
  sort_unique(files);
  if (files.empty()) throw InputError(r.source + ": no input files found (hidden and binary files are skipped)");

  const Corpus corpus = tokenize(files, f);
  if (corpus.stream.size() < 2) {
    throw InputError(r.source + ": all " + std::to_string(files.size()) +
                     " input files are empty (or too short); prepare needs some text");
  }
  const Split split = split_corpus(corpus, f);
  r.file_count = corpus.segments.size();
  r.train_tokens = split.train.size();
  r.val_tokens = split.val.size();
  r.hash = hex16(corpus.hash);
  write_outputs(options.out, split, r, f);
  return r;
}

fs::path find_python_stdlib() {
  const fs::path lib = "/usr/lib";
  int best = -1;
  fs::path best_dir;
  std::error_code ec;
  for (fs::directory_iterator it(lib, ec), end; !ec && it != end; it.increment(ec)) {
    const int minor = python3_minor(it->path().filename().string());
    if (minor > best && is_dir(*it) && has_py_files(it->path())) {
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
    if (is_dir(*it)) {
      const std::string name = p.filename().string();
      if (name == "site-packages" || name == "dist-packages" || name == "__pycache__") it.disable_recursion_pending();
      continue;
    }
    if (p.extension() == ".py" && is_file(*it)) files.push_back(p);
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
