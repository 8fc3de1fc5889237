// Streams tokens into a token file without holding them in memory: an entropix .tok (header
// written when the count is known) or a headerless nanoGPT .bin (docs/data.md). The file is built
// under a temporary name beside the target and renamed into place by finish(), so a reader never
// sees half a file; a writer destroyed before finish() removes its temporary file.
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace entropix {

enum class TokenFileFormat { entropix, nanogpt };

class TokenStreamWriter {
 public:
  // `dir` receives the temporary file. vocab_size in 1..65536 (std::invalid_argument otherwise).
  TokenStreamWriter(const std::filesystem::path& dir, TokenFileFormat format, uint32_t vocab_size);
  ~TokenStreamWriter();
  TokenStreamWriter(const TokenStreamWriter&) = delete;
  TokenStreamWriter& operator=(const TokenStreamWriter&) = delete;

  // std::invalid_argument for a token >= vocab_size.
  void append(const uint32_t* ids, size_t n);
  uint64_t count() const { return count_; }

  // Moves this writer's last `n` tokens (n <= count()) to the end of `other`.
  void move_tail_to(uint64_t n, TokenStreamWriter& other);

  // Writes the header, fsyncs and renames to `path`. std::invalid_argument when empty.
  void finish(const std::filesystem::path& path);

 private:
  void flush();
  uint64_t header_bytes() const;

  std::filesystem::path tmp_;
  int fd_ = -1;
  TokenFileFormat format_;
  uint32_t vocab_size_;
  uint64_t count_ = 0;
  std::vector<unsigned char> buf_;
};

}  // namespace entropix
