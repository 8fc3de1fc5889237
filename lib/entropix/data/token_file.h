// Token files: the on-disk form of a tokenized corpus (see docs/data.md).
//
// entropix token file: a 32-byte little-endian header, then n_tokens uint16 tokens.
//   bytes  0..7   magic "ENTROPIX" (ASCII, no NUL)
//   bytes  8..11  uint32 version (= 1)
//   bytes 12..15  uint32 vocab_size (every token is below it)
//   bytes 16..23  uint64 n_tokens
//   bytes 24..27  uint32 token_bytes (= 2)
//   bytes 28..31  uint32 reserved (= 0, ignored on read)
//
// nanoGPT's train.bin / val.bin (headerless little-endian uint16) are read too.
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace entropix {

struct TokenData {
  std::vector<uint16_t> tokens;
  uint32_t vocab_size = 0;
  std::string path;  // where it was read from (for error messages)
};

// Writes an entropix token file atomically (a reader never sees half a file).
// Throws std::invalid_argument for an empty token list, vocab_size outside 1..65536
// or a token >= vocab_size: such a file could not be read back.
void write_token_file(const std::filesystem::path& path, const std::vector<uint16_t>& tokens,
                      uint32_t vocab_size);

// Reads and validates an entropix token file. Throws InputError (one line naming the
// file, what was expected and what was found) for a missing or empty file, bad magic,
// unknown version or token width, zero tokens, a size that disagrees with the header,
// or a token >= the header's vocab_size.
TokenData read_token_file(const std::filesystem::path& path);

// Reads a headerless nanoGPT .bin (uint16 little-endian). The size must be even and
// non-zero, vocab_size in 1..65536 and every token below vocab_size (the error names the
// first offending token and says to set model.vocab_size).
TokenData read_nanogpt_bin(const std::filesystem::path& path, uint32_t vocab_size);

// Reads `path` in `format` ("entropix" or "nanogpt") for a model with `vocab_size`.
// For "entropix" the file's own vocab_size must not exceed vocab_size (0 skips that
// check); the returned vocab_size is the file's. Missing file: InputError
// "<path>: no such file ...".
TokenData load_tokens(const std::filesystem::path& path, const std::string& format,
                      uint32_t vocab_size);

}  // namespace entropix
