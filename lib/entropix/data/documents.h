// The documents `prepare` reads, in a fixed order: input files found from the sources, then read
// one document per text file, or one per line of a JSONL file (jsonl_source.h).
#pragma once
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "entropix/data/line_reader.h"

namespace entropix {

// One input file; `rel` (relative to its source root) keys its split, so the split does not
// depend on where the corpus lives on disk.
struct InputFile {
  std::filesystem::path path;
  std::string rel;
};

// Text files and folders (folders: every regular file below, recursively, except hidden names
// and files with a NUL byte in their first 8 KiB, and the output folder `out`; with `jsonl`,
// gzip files (*.gz) are kept). Sorted by generic path string, a file named twice counted once.
// InputError for a missing source.
std::vector<InputFile> collect_input_files(const std::vector<std::filesystem::path>& sources,
                                           const std::filesystem::path& out, bool jsonl = false);

// The pystdlib files under `root`, keyed relative to it, sorted.
std::vector<InputFile> collect_pystdlib_files(const std::filesystem::path& root);

struct Document {
  std::string text;
  std::string key;  // the split key: the file's `rel`, or "<rel>:<line>" for a JSONL line
};

// Reads the documents of `files` in order. Empty documents (empty files, empty strings) and
// blank JSONL lines are skipped. JSONL files may be gzip-compressed (a name ending in .gz).
class DocumentReader {
 public:
  // `jsonl_field` empty: each file is one document; otherwise each file is JSONL.
  DocumentReader(const std::vector<InputFile>& files, std::string jsonl_field);
  // The next document, or false at the end.
  bool next(Document& doc);

  uint64_t bytes_read() const;  // input file bytes consumed so far (compressed bytes for .gz)
  // FNV-1a-64 over every file byte in order (the decompressed bytes of a .gz)
  uint64_t hash() const { return hash_; }
  size_t files_used() const { return files_used_; }   // files that gave at least one document
  uint64_t documents() const { return documents_; }

 private:
  bool next_text_file(Document& doc);
  bool next_jsonl_line(Document& doc);
  bool read_line(std::string& line);  // from the open JSONL file, hashing what it reads
  void close_current();

  std::vector<InputFile> files_;
  std::string field_;
  size_t next_file_ = 0;
  std::unique_ptr<LineReader> in_;  // the JSONL file being read
  const InputFile* current_ = nullptr;
  size_t line_no_ = 0;
  bool current_used_ = false;
  uint64_t bytes_read_ = 0, hash_, documents_ = 0;
  size_t files_used_ = 0;
};

}  // namespace entropix
