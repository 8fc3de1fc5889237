// Token corpora: one or more shards of little-endian uint16 tokens, read through memory
// mappings (see docs/data.md, "Corpora: formats, shards and memory mapping").
//
// Formats (lib/entropix/data/shard_format.h): entropix .tok (32-byte header), nanoGPT .bin
// (headerless) and llm.c shards (1024-byte header).
#pragma once
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "entropix/data/mapped_file.h"
#include "entropix/data/token_check.h"

namespace entropix {

// One shard's tokens: a view into a read-only mapping, or into memory it owns.
struct TokenShard {
  std::string path;
  std::string format;  // "entropix", "nanogpt" or "llmc" (mapped shards)
  uint64_t size = 0;  // tokens
  uint64_t offset = 0;  // bytes of header before the first token (mapped shards)
  uint32_t bound = 0;   // every token must be below it (0: not known, in-memory shards)
  // False when load_tokens left the token check to BackgroundTokenCheck (TokenCheck::deferred);
  // readers check what they read against `bound` either way (BatchSampler does).
  bool checked = true;
  std::shared_ptr<const MappedFile> file;           // mapped shards
  std::shared_ptr<const std::vector<uint16_t>> memory;  // in-memory shards

  // Token i (i < size), converted from the file's little-endian order.
  uint16_t at(uint64_t i) const;
  // Copies tokens [first, first + n) to out (host order).
  void copy(uint64_t first, uint64_t n, uint16_t* out) const;
  // Lets the pages holding tokens [first, first + n) go from this process's resident set
  // (mapped shards; a no-op in memory). Reading them again is always valid.
  void release(uint64_t first, uint64_t n) const;
};

struct TokenData {
  std::vector<TokenShard> shards;  // in the order their tokens are used
  uint32_t vocab_size = 0;         // every token is below it
  std::string path;                // as named (file, directory or glob), for error messages

  uint64_t size() const;  // tokens in all shards
  // All tokens, shard after shard, copied into RAM: for small data (tests, tools).
  std::vector<uint16_t> to_vector() const;
  // One in-memory shard holding `tokens` (tests, tools). No check against vocab_size.
  static TokenData in_memory(std::vector<uint16_t> tokens, uint32_t vocab_size, std::string path);
};

// The error line for a mapped shard holding a token >= shard.bound (`max` is its largest token):
// names the first such token, its value and what to do. Rescans the shard to find it.
std::string out_of_vocab_message(const TokenShard& shard, uint16_t max);

// A whole token file read into RAM (small files: tests, tools).
struct TokenFile {
  std::vector<uint16_t> tokens;
  uint32_t vocab_size = 0;
  std::string path;
};

// Writes an entropix token file atomically (a reader never sees half a file).
// Throws std::invalid_argument for an empty token list, vocab_size outside 1..65536
// or a token >= vocab_size: such a file could not be read back.
void write_token_file(const std::filesystem::path& path, const std::vector<uint16_t>& tokens,
                      uint32_t vocab_size);

// Reads and validates one entropix token file into RAM. Throws InputError (one line naming the
// file, what was expected and what was found) for a missing or empty file, bad magic,
// unknown version or token width, zero tokens, a size that disagrees with the header,
// or a token >= the header's vocab_size.
TokenFile read_token_file(const std::filesystem::path& path);

// Reads one headerless nanoGPT .bin (uint16 little-endian) into RAM. The size must be even and
// non-zero, vocab_size in 1..65536 and every token below vocab_size (the error names the
// first offending token and says to set model.vocab_size).
TokenFile read_nanogpt_bin(const std::filesystem::path& path, uint32_t vocab_size);

// Maps the shards `path` names (a file, a directory or a glob: list_shards) in `format`
// ("entropix", "nanogpt" or "llmc") for a model with `vocab_size`. Every shard's header is
// checked, and every token must be below the bound: the entropix header's vocab_size (which
// must not exceed vocab_size; 0 skips that comparison), else vocab_size. The bound check uses
// the sidecar cache unless `check` says scan. The returned vocab_size is the largest entropix
// header vocabulary, else vocab_size. Missing file: InputError "<path>: no such file ...".
// With TokenCheck::deferred a large shard without a matching sidecar is returned unchecked.
TokenData load_tokens(const std::filesystem::path& path, const std::string& format, uint32_t vocab_size,
                      TokenCheck check = TokenCheck::cached);

}  // namespace entropix
