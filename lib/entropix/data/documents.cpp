#include "entropix/data/documents.h"

#include <algorithm>
#include <cstring>
#include <fstream>

#include "entropix/data/jsonl_source.h"
#include "entropix/data/prepare.h"
#include "entropix/util/error.h"
#include "entropix/util/fs.h"
#include "entropix/util/hash.h"

namespace entropix {
namespace fs = std::filesystem;

namespace {

constexpr size_t kBinarySniffBytes = 8192;

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

void add_folder(const fs::path& root, const fs::path& out_canonical, bool keep_gzip, std::vector<InputFile>& files) {
  std::error_code ec;
  fs::recursive_directory_iterator it(root, fs::directory_options::skip_permission_denied, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    const fs::path& p = it->path();
    const bool dir = entry_is_directory(*it);
    // Skip hidden entries, and the output folder so a re-run never eats its own output.
    if (is_hidden(p) || (dir && same_dir(p, out_canonical))) {
      if (dir) it.disable_recursion_pending();
      continue;
    }
    if (dir || !entry_is_file(*it)) continue;
    if (!(keep_gzip && p.extension() == ".gz") && looks_binary(p)) continue;
    files.push_back({p, p.lexically_relative(root).generic_string()});
  }
  if (ec) throw InputError(root.string() + ": cannot list folder (" + ec.message() + ")");
}

// Processing order: sorted by generic path string; a file named twice counts once.
void sort_unique(std::vector<InputFile>& files) {
  auto key_less = [](const InputFile& a, const InputFile& b) { return a.path.generic_string() < b.path.generic_string(); };
  auto key_eq = [](const InputFile& a, const InputFile& b) { return a.path.generic_string() == b.path.generic_string(); };
  std::sort(files.begin(), files.end(), key_less);
  files.erase(std::unique(files.begin(), files.end(), key_eq), files.end());
}

}  // namespace

std::vector<InputFile> collect_input_files(const std::vector<fs::path>& sources, const fs::path& out, bool jsonl) {
  if (sources.empty()) {
    throw InputError("prepare: no sources given; pass text files or folders, or use the pystdlib corpus");
  }
  std::error_code ec;
  const fs::path out_canonical = fs::weakly_canonical(out, ec);
  std::vector<InputFile> files;
  for (const fs::path& src : sources) {
    const fs::file_status st = fs::status(src, ec);
    if (fs::is_directory(st)) {
      add_folder(src, out_canonical, jsonl, files);
    } else if (fs::is_regular_file(st)) {
      files.push_back({src, src.filename().generic_string()});
    } else {
      throw InputError(src.string() + ": no such file or folder (prepare sources must be text files or folders)");
    }
  }
  sort_unique(files);
  return files;
}

std::vector<InputFile> collect_pystdlib_files(const fs::path& root) {
  std::vector<InputFile> files;
  for (const fs::path& p : list_pystdlib_files(root)) files.push_back({p, p.lexically_relative(root).generic_string()});
  return files;
}

DocumentReader::DocumentReader(const std::vector<InputFile>& files, std::string jsonl_field)
    : files_(files), field_(std::move(jsonl_field)), hash_(kFnv1aOffset) {}

bool DocumentReader::next(Document& doc) {
  const bool got = field_.empty() ? next_text_file(doc) : next_jsonl_line(doc);
  if (got) ++documents_;
  return got;
}

bool DocumentReader::next_text_file(Document& doc) {
  while (next_file_ < files_.size()) {
    const InputFile& f = files_[next_file_++];
    doc.text = read_file(f.path);
    bytes_read_ += doc.text.size();
    if (doc.text.empty()) continue;
    hash_ = fnv1a64(doc.text, hash_);
    doc.key = f.rel;
    ++files_used_;
    return true;
  }
  return false;
}

uint64_t DocumentReader::bytes_read() const { return bytes_read_ + (in_ ? in_->file_offset() : 0); }

bool DocumentReader::read_line(std::string& line) {
  bool had_newline = false;
  if (!in_->next(line, had_newline)) return false;
  hash_ = fnv1a64(line, hash_);
  if (had_newline) hash_ = fnv1a64("\n", hash_);
  return true;
}

void DocumentReader::close_current() {
  std::error_code ec;
  const auto size = std::filesystem::file_size(current_->path, ec);
  bytes_read_ += ec ? 0 : size;
  in_.reset();
  current_ = nullptr;
}

bool DocumentReader::next_jsonl_line(Document& doc) {
  std::string line;
  while (true) {
    if (!current_) {
      if (next_file_ >= files_.size()) return false;
      current_ = &files_[next_file_++];
      in_ = std::make_unique<LineReader>(current_->path);
      line_no_ = 0;
      current_used_ = false;
    }
    if (!read_line(line)) {
      close_current();
      continue;
    }
    ++line_no_;
    if (!jsonl_document(line, field_, current_->path.string(), line_no_, doc.text) || doc.text.empty()) continue;
    doc.key = current_->rel + ":" + std::to_string(line_no_);
    if (!current_used_) ++files_used_;
    current_used_ = true;
    return true;
  }
}

}  // namespace entropix
