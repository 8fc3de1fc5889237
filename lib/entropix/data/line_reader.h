// Reads a file line by line, plain or gzip-compressed (a name ending in ".gz", through zlib), so
// JSONL corpora such as CodeParrot's *.json.gz are read as published.
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace entropix {

class LineReader {
 public:
  // InputError when the file cannot be opened.
  explicit LineReader(const std::filesystem::path& path);
  ~LineReader();
  LineReader(const LineReader&) = delete;
  LineReader& operator=(const LineReader&) = delete;

  // The next line without its '\n'; false at the end. `had_newline` says whether a '\n' ended it
  // (the last line of a file may lack one). InputError for a corrupt compressed file.
  bool next(std::string& line, bool& had_newline);
  // Bytes of the file (compressed bytes for .gz) consumed so far.
  uint64_t file_offset() const;

 private:
  bool fill();

  std::filesystem::path path_;
  void* gz_ = nullptr;  // gzFile
  int fd_ = -1;
  std::vector<char> buf_;
  size_t pos_ = 0, end_ = 0;
  uint64_t consumed_ = 0;
  bool eof_ = false;
};

}  // namespace entropix
